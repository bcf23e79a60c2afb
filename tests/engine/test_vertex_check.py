"""The provider's ``check`` refuses the vertex corpus's bad specs as ``validate`` does, through
the real provider process, without a single call to the service.

Every case of :mod:`tests.cli.vertex_cases` whose bad value is a resource input (config keys are
the provider's ``configure``'s, and sharing is no input) is sent as a program that skipped the
stack checker would send it (the library API, or another program); the provider runs in a copy
of the corpus, so the datasets are read where the stack file names them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.vertex_cases import CASES, VertexCase, corpus, provider_inputs, stack_config
from tests.support.engine import PROVIDER, TUNED_MODEL, Emulator
from tests.support.harness import MiniEngine, ProviderProcess

CHECKED = [c for c in CASES if c.checked]


class Providers:
    """One provider process per distinct stack config: a dynamic provider process configures its
    provider object once (it is cached with the first config it was given), as under Pulumi,
    where one process serves one stack."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.running: dict[str, ProviderProcess] = {}

    def engine(self, emu: Emulator, case: VertexCase) -> MiniEngine:
        config: dict[str, Any] = {
            k: v
            for k, v in stack_config(self.root, case).items()
            if k not in ("tuned-models:models", "tuned-models:defaults")
        }
        config["tuned-models:endpoint"] = emu.base_url
        key = json.dumps(config, sort_keys=True)
        if key not in self.running:
            self.running[key] = ProviderProcess(cwd=self.root)
        engine = MiniEngine(self.running[key], stack="check-" + secrets.token_hex(3))
        engine.start(config)
        return engine

    def close(self) -> None:
        for proc in self.running.values():
            proc.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus(tmp_path_factory.mktemp("vertex-check") / "project")


@pytest.fixture(scope="module")
def providers(project: Path) -> Iterator[Providers]:
    running = Providers(project)
    try:
        yield running
    finally:
        running.close()


def test_at_least_20_vertex_cases_reach_the_provider_check() -> None:
    assert len([c for c in CHECKED if not c.stack.startswith("gemini-")]) >= 20


@pytest.mark.parametrize("case", CHECKED, ids=[c.stack for c in CHECKED])
def test_the_provider_check_refuses_what_validate_refuses_with_no_call(
    case: VertexCase, providers: Providers, project: Path, emu: Emulator
) -> None:
    engine = providers.engine(emu, case)
    step = engine.preview("counter", TUNED_MODEL, provider_inputs(project, case, engine.stack, PROVIDER))
    assert step.op == "check-failed"
    # The property named is the key (pydantic names the top-level one: hyperparameters).
    [(prop, reason)] = step.failures
    assert prop in (case.key, case.key.split(".")[0])
    assert reason.startswith(f"{case.key}: ")
    if case.same_words:
        assert [reason] == [f"{case.key}: {m}" for m in case.messages]
    assert engine.calls == ["Check"]
    assert emu.journal() == []


def test_a_good_vertex_spec_passes_the_check(providers: Providers, project: Path, emu: Emulator) -> None:
    case = next(c for c in CASES if c.stack == "temperature")
    engine = providers.engine(emu, case)
    inputs = provider_inputs(project, case, engine.stack, PROVIDER)
    del inputs["temperature"]
    assert engine.preview("counter", TUNED_MODEL, inputs).op == "create"
    assert emu.journal() == []
