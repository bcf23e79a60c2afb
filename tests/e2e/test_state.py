"""The state reader with the real Pulumi CLI: with no backend chosen it uses the project's local
one (where scripts/up-local.sh keeps the local stack's state), reads a stack's export and history,
and says in one note when the stack does not exist."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Project
from tuned_models.stack.state import read_state


def test_the_local_backend_is_read_when_none_is_chosen(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in project.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PULUMI_BACKEND_URL")  # the project's own, .tuned-models/pulumi-state, is used
    monkeypatch.delenv("PULUMI_HOME")
    source = read_state(project.root, "tuned-models", project.stack, history=True)
    assert source.state is not None, source.note
    assert source.note == f"Pulumi state from `pulumi stack export --stack {project.stack}`"
    assert source.state.models == {} and source.state.last_update is None  # created, never updated

    missing = read_state(project.root, "tuned-models", "no-such-stack")
    assert missing.state is None
    assert missing.note.startswith("Pulumi state not read: the stack no-such-stack does not exist")
