"""The one reader of Pulumi's records (tuned_models.stack.state): what an export document holds,
the last update of a history, and the rules that decide whether the Pulumi CLI is asked at all.
The CLI itself is asked in tests/e2e (test_state.py, test_plan.py, test_report.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.state import Recorded, export_document, urn, write_state
from tuned_models.stack.state import (
    LOCAL_BACKEND,
    PULUMI_BIN_ENV_VAR,
    StateError,
    parse_export,
    parse_history,
    pulumi_environment,
    read_state,
)
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_TYPE

PROJECT, STACK = "tuned-models", "dev"


def model(name: str, service: str, **outputs: object) -> Recorded:
    return Recorded(
        name, TUNED_MODEL_TYPE, service.removeprefix("tunedModels/"), {}, {"name": service, **outputs}
    )


def test_an_export_keeps_this_packages_resources_and_a_replaced_model_apart() -> None:
    gate = {"metric": "exactMatch", "minScore": 0.7, "score": 0.75, "passed": True, "digest": "sha256:x"}
    document = export_document(
        PROJECT,
        STACK,
        [
            model("numbers", "tunedModels/numbers-new", evaluation=gate),
            Recorded("numbers:everyone", TUNED_MODEL_PERMISSION_TYPE, "p1", {}, {"role": "READER"}),
        ],
    )
    # An interrupted replacement leaves the old model marked for deletion under the same name.
    old = {
        "urn": urn(PROJECT, STACK, TUNED_MODEL_TYPE, "numbers"),
        "type": TUNED_MODEL_TYPE,
        "id": "numbers-old",
        "outputs": {"name": "tunedModels/numbers-old"},
        "delete": True,
    }
    document["deployment"]["resources"].append(old)
    state = parse_export(document, PROJECT, STACK, "export.json")
    assert list(state.models) == ["numbers"] and list(state.permissions) == ["numbers:everyone"]
    assert state.records("numbers", "tunedModels/numbers-new")
    assert not state.records("numbers", "tunedModels/numbers-old")
    assert [r.service_name for r in state.replaced] == ["tunedModels/numbers-old"]
    assert state.service_names == {"tunedModels/numbers-new", "tunedModels/numbers-old"}
    assert state.outputs_of("numbers")["evaluation"] == gate and state.outputs_of("other") == {}


def test_another_stacks_export_or_no_export_is_refused() -> None:
    other = export_document(PROJECT, "prod", [model("numbers", "tunedModels/numbers-x")])
    with pytest.raises(StateError, match="is the state of prod in project tuned-models, not of stack dev"):
        parse_export(other, PROJECT, STACK, "prod.json")
    with pytest.raises(StateError, match=r"not a `pulumi stack export` document"):
        parse_export({"version": 3}, PROJECT, STACK, "x.json")


def test_the_last_update_is_the_latest_in_the_history() -> None:
    entries = [
        {"kind": "update", "result": "succeeded", "startTime": "2026-01-01T10:00:00Z"},
        {
            "kind": "update",
            "result": "failed",
            "startTime": "2026-01-02T10:00:00Z",
            "endTime": "2026-01-02T10:01:00Z",
            "resourceChanges": {"same": 2, "create": 1},
        },
    ]
    last = parse_history(entries)
    assert last is not None and (last.result, dict(last.changes)) == ("failed", {"same": 2, "create": 1})
    assert last.covers(datetime(2026, 1, 2, 10, 0, 30, tzinfo=UTC))
    assert not last.covers(datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC))
    assert parse_history([]) is None and parse_history({"not": "a list"}) is None


def test_no_state_and_an_unusable_state_file(tmp_path: Path) -> None:
    source = read_state(tmp_path, PROJECT, STACK, use_cli=False)
    assert (source.state, source.note) == (None, "Pulumi state not read (--no-state)")
    bad = tmp_path / "state.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(StateError, match=r"state.json: not JSON"):
        read_state(tmp_path, PROJECT, STACK, state_file=bad)
    good = write_state(
        tmp_path / "good.json", export_document(PROJECT, STACK, [model("a", "tunedModels/a-x")])
    )
    read = read_state(tmp_path, PROJECT, STACK, state_file=good, use_cli=False)
    assert read.state is not None and list(read.state.models) == ["a"]
    assert read.note == f"Pulumi state from {good}"


def test_without_a_cli_the_note_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PULUMI_BIN_ENV_VAR, str(tmp_path))
    source = read_state(tmp_path, PROJECT, STACK)
    assert source.state is None
    assert source.note.startswith(
        f"Pulumi state not read: no Pulumi CLI ({PULUMI_BIN_ENV_VAR}={tmp_path} holds"
    )
    monkeypatch.delenv(PULUMI_BIN_ENV_VAR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "no pulumi on PATH" in read_state(tmp_path, PROJECT, STACK).note


def test_the_cli_is_not_run_before_a_backend_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text("#!/bin/sh\necho ran >&2\nexit 3\n", encoding="utf-8")
    pulumi.chmod(0o755)
    monkeypatch.setenv(PULUMI_BIN_ENV_VAR, str(bin_dir))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    source = read_state(tmp_path, PROJECT, STACK)
    assert source.state is None and source.note.startswith("Pulumi state not read: no Pulumi backend chosen")
    # A `pulumi login` recorded in PULUMI_HOME chooses one: the CLI is run, and its failure said.
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "credentials.json").write_text(json.dumps({"current": "https://api.pulumi.com"}))
    assert read_state(tmp_path, PROJECT, STACK).note == "Pulumi state not read: ran"


def test_the_projects_local_backend_is_used_when_none_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    assert "PULUMI_BACKEND_URL" not in pulumi_environment(tmp_path)
    (tmp_path / LOCAL_BACKEND).mkdir(parents=True)
    env = pulumi_environment(tmp_path)
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path / LOCAL_BACKEND}"
    assert env["PULUMI_HOME"] == str(tmp_path / ".tuned-models" / "pulumi-home")
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://bucket")
    assert pulumi_environment(tmp_path)["PULUMI_BACKEND_URL"] == "s3://bucket"


def test_a_pulumi_login_wins_for_stacks_the_local_backend_does_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "credentials.json").write_text(json.dumps({"current": "https://api.pulumi.com"}))
    monkeypatch.setenv("PULUMI_HOME", str(home))
    stacks = tmp_path / LOCAL_BACKEND / ".pulumi" / "stacks" / PROJECT
    stacks.mkdir(parents=True)
    (stacks / "local.json").write_text("{}")
    # the logged-in backend for a stack only it can hold, the local one for the local stack
    assert "PULUMI_BACKEND_URL" not in pulumi_environment(tmp_path, PROJECT, "prod")
    assert pulumi_environment(tmp_path, PROJECT, "prod")["PULUMI_HOME"] == str(home)
    local = pulumi_environment(tmp_path, PROJECT, "local")
    assert local["PULUMI_BACKEND_URL"] == f"file://{tmp_path / LOCAL_BACKEND}"
