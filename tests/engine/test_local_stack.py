"""The main job below the CLI: the `local` stack's program (and `vertex-local`'s, on the embedded
emulator's Vertex AI and Cloud Storage), its resources played through a real provider process on
the embedded emulator, then `tuned-models status` and `plan` in another process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.harness import PROVIDER_KEY, MiniEngine, ProviderProcess, strip_secrets
from tests.support.output import checked
from tests.support.program import ROOT, TUNED_MODEL, run_program, stack_file_config
from tests.support.state import engine_export, write_state
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE as PERMISSION


@pytest.fixture(params=["local", "vertex-local"])
def local_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    (tmp_path / "STACK").write_text(str(request.param))
    path = tmp_path / "stacks" / f"Pulumi.{request.param}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["tuned-models:emulatorStepSeconds"] = 0.01
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_local_stack_up_then_status_from_another_process(local_project: Path) -> None:
    stack = (local_project / "STACK").read_text()
    config = stack_file_config(stack, local_project)
    run = run_program(stack, config)
    assert run.error is None, run.error
    proc = ProviderProcess(cwd=local_project)
    try:
        engine = MiniEngine(proc, stack=stack)
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
        state = write_state(local_project / f"{stack}.state.json", engine_export(engine))
        recorded = {reg.name: engine.outputs(reg.name, TUNED_MODEL) for reg in models}
    finally:
        proc.close()
    assert (local_project / ".tuned-models" / "emulator.sqlite").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}

    def cli(command: str, *args: str) -> str:
        """The command's stdout, run on the stack in another process, the state read from the file."""
        argv = [sys.executable, "-m", "tuned_models.cli", command, "--stack", stack, "--state", str(state)]
        run = subprocess.run(
            [*argv, *args],
            cwd=local_project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return run.stdout

    rows = checked(cli("status", "--format", "json"))["stacks"][0]["models"]
    assert [(r["model"], r["state"], r["percent"], r["serving"]) for r in rows] == [
        (reg.name, "ACTIVE", 100.0, True) for reg in models
    ]
    # What a vertex job made, as the state records it (null on the Gemini API).
    assert [r["deployment"] for r in rows] == [
        {"tuningJob": o["tuningJob"], "model": o["model"], "endpoint": o["endpoint"]}
        if stack == "vertex-local"
        else None
        for o in recorded.values()
    ]
    document = checked(cli("plan", "--format", "json"))
    assert document["changes"] is False
    assert {m["action"] for m in document["stacks"][0]["models"]} == {"none"}
    page = local_project / "report.html"
    cli("report", "--out", str(page), "--no-evaluate")
    text = page.read_text()
    assert all(o["name"] in text for o in recorded.values())
    if stack == "vertex-local":
        assert all(o["endpoint"] in text and o["model"] in text for o in recorded.values())
