"""The main job below the CLI: the `local` stack's program, its resources played through a real
provider process on the embedded emulator, then `tuned-models status` in another process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.harness import PROVIDER_KEY, MiniEngine, ProviderProcess, strip_secrets
from tests.support.program import ROOT, TUNED_MODEL, run_program, stack_file_config
from tests.support.state import engine_export, write_state
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE as PERMISSION


@pytest.fixture
def local_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["tuned-models:emulatorStepSeconds"] = 0.01
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_local_stack_up_then_status_from_another_process(local_project: Path) -> None:
    config = stack_file_config("local", local_project)
    run = run_program("local", config)
    assert run.error is None, run.error
    proc = ProviderProcess(cwd=local_project)
    try:
        engine = MiniEngine(proc, stack="local")
        engine.start(config)
        models = [r for r in run.monitor.registrations if r.typ == TUNED_MODEL]
        for reg in models:
            inputs = strip_secrets(run.provider.inputs[reg.name])
            assert engine.up(reg.name, TUNED_MODEL, inputs).op == "create"
            assert engine.outputs(reg.name, TUNED_MODEL)["state"] == "ACTIVE"
        for reg in (r for r in run.monitor.registrations if r.typ == PERMISSION):
            model = reg.name.split(":")[0]
            inputs = {
                **strip_secrets(run.provider.inputs[reg.name]),
                "model": engine.outputs(model, TUNED_MODEL)["name"],
            }
            assert PROVIDER_KEY in inputs
            assert engine.up(reg.name, PERMISSION, inputs).op == "create"
        state = write_state(local_project / "local.state.json", engine_export(engine))
    finally:
        proc.close()
    assert (local_project / ".tuned-models" / "emulator.sqlite").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    cli = [sys.executable, "-m", "tuned_models.cli"]
    out = subprocess.run(
        [*cli, "status", "--stack", "local", "--format", "json", "--state", str(state)],
        cwd=local_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = json.loads(out.stdout)["stacks"][0]["models"]
    assert [(r["model"], r["state"], r["percent"]) for r in rows] == [
        (reg.name, "ACTIVE", 100.0) for reg in models
    ]
    plan = subprocess.run(
        [*cli, "plan", "--stack", "local", "--format", "json", "--state", str(state)],
        cwd=local_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    document = json.loads(plan.stdout)
    assert document["changes"] is False
    assert {m["action"] for m in document["stacks"][0]["models"]} == {"none"}
