"""The real CLI with a secret API key, after a `kill -9`, and with twelve models in one stack."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Project, kill_group
from tests.e2e.test_lifecycle import THREE, live, stack_config, with_key
from tests.seed_examples import NUMBER_EXAMPLES
from tests.support.engine import Emulator
from tuned_models_emulator.server import serve_in_thread

#: Easy to search for, and not shaped like a real Google key.
SECRET_KEY = "AQ.e2e-secret-" + secrets.token_hex(12)


@pytest.fixture
def keyed_emu() -> Iterator[Emulator]:
    """An emulator server that accepts SECRET_KEY only."""
    server = serve_in_thread(step_seconds=0.02, api_keys=(f"{SECRET_KEY}=owner@example.com",))
    try:
        yield Emulator(server.base_url)
    finally:
        server.stop()


def test_a_secret_api_key_never_appears_in_plain_text(
    tmp_path: Path, pulumi_dir: Path, keyed_emu: Emulator
) -> None:
    project = Project(tmp_path / "project", pulumi_dir, "e2e-secret", passphrase="e2e passphrase")
    project.init()
    project.write_stack(stack_config(keyed_emu, {"number-generator": THREE["number-generator"]}))
    outputs = [project.pulumi("config", "set", "--secret", "tuned-models:apiKey", SECRET_KEY).stdout]
    outputs.append(project.pulumi("up", "--yes").stdout)
    outputs.append(project.pulumi("stack", "output", "--json", "--show-secrets").stdout)
    outputs.append(project.pulumi("refresh", "--yes").stdout)
    outputs.append(project.pulumi("stack", "export").stdout)

    created = keyed_emu.api("GET", "/v1beta/tunedModels?pageSize=100", key=SECRET_KEY).json()
    assert [m["state"] for m in created["tunedModels"]] == ["ACTIVE"]  # the key was used
    for text in outputs:
        assert SECRET_KEY not in text
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET_KEY.encode() in p.read_bytes()]
    assert leaks == []
    assert "secure:" in project.stack_file.read_text()
    project.pulumi("destroy", "--yes")


def test_kill_9_mid_training_then_up_trains_once(project: Project, emu: Emulator) -> None:
    """The documented recovery after a killed `pulumi up`: `pulumi cancel` (the file backend's lock),
    `pulumi refresh --clear-pending-creates`, then `pulumi up`, which adopts what was submitted."""
    with_key(project)
    emu.admin("PATCH", "settings", {"stepSeconds": 0.25})
    project.write_stack(stack_config(emu, {"number-generator": THREE["number-generator"]}))
    proc = project.start("up", "--yes", "--skip-preview")
    try:
        deadline = time.monotonic() + 120
        while not [e for e in emu.journal("CreateTunedModel") if e["status"] == 200]:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the tuning job was never submitted"
            time.sleep(0.2)
        time.sleep(1.0)  # now waiting for training
        assert [m["state"] for m in live(emu).values()] == ["CREATING"]
    finally:
        kill_group(proc)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    assert '"pending_operations"' in project.state_text()

    locked = project.pulumi("up", "--yes", check=False)
    assert locked.returncode != 0 and "pulumi cancel" in locked.stdout
    project.pulumi("cancel", "--yes")
    project.pulumi("refresh", "--clear-pending-creates", "--yes")
    project.pulumi("up", "--yes")
    created = [e["status"] for e in emu.journal("CreateTunedModel")]
    assert created.count(200) == 1, created
    models = list(live(emu).values())
    assert len(models) == 1 and models[0]["state"] == "ACTIVE"
    recorded = [r for r in project.resources() if r["type"].endswith("TunedModel")]
    assert len(recorded) == 1 and recorded[0]["outputs"]["name"] == models[0]["name"]
    assert '"pending_operations"' not in project.state_text()
    project.pulumi("preview", "--expect-no-changes")


def test_twelve_models_in_one_stack(project: Project, emu: Emulator) -> None:
    """All twelve train at once (the time ratio is bench/bench_cli_parallel.py's job)."""
    with_key(project)
    models = {
        f"model-{i:02d}": {"displayName": f"model {i}", "examples": NUMBER_EXAMPLES, "temperature": 0.5}
        for i in range(12)
    }
    project.write_stack(stack_config(emu, models))
    project.pulumi("up", "--yes")
    states = [m["state"] for m in live(emu).values()]
    assert states == ["ACTIVE"] * 12
    assert sorted(project.outputs()) == sorted(models)
    project.pulumi("destroy", "--yes")
    assert live(emu) == {}
