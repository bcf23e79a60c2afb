"""The whole product through the real Pulumi CLI: up, no-op preview, update in place, retrain,
drift correction, protect/retain, destroy (issue 8's end-to-end list)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.e2e.conftest import Project
from tests.support.engine import API_KEY, Emulator

BASE = "models/gemini-1.5-flash-001-tuning"


def stack_config(emu: Emulator, models: dict[str, Any]) -> dict[str, Any]:
    return {
        "tuned-models:endpoint": emu.base_url,
        "tuned-models:defaults": {
            "baseModel": BASE,
            "hyperparameters": {"epochCount": 2, "batchSize": 16, "learningRate": 0.001},
            "timeout": "5m",
        },
        "tuned-models:models": models,
    }


THREE = {
    "number-generator": {
        "displayName": "number generator",
        "description": "Next number in a sequence",
        "dataset": "stacks/datasets/number-generator.jsonl",
        "hyperparameters": {"epochCount": 5, "batchSize": 4},
        "temperature": 0.7,
    },
    "support-tickets": {
        "displayName": "support ticket router",
        "description": "Routes a support message",
        "dataset": "stacks/datasets/support-tickets.jsonl",
        "temperature": 0,
    },
    "summarizer": {
        "displayName": "one-sentence summarizer",
        "description": "Summarizes a paragraph",
        "dataset": "stacks/datasets/summaries.csv",
        "topP": 0.9,
    },
}


def with_key(project: Project) -> Project:
    """The provider and the test read the emulator as one caller (GOOGLE_API_KEY, not in state)."""
    project.env["GOOGLE_API_KEY"] = API_KEY
    return project


def live(emu: Emulator) -> dict[str, dict[str, Any]]:
    """The emulator's tuned models by name."""
    return {m["name"]: m for m in emu.models()}


def changed_steps(steps: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Preview steps that change something, by resource name (refresh reads are not changes)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        if step["op"] not in ("same", "refresh", "read"):
            found.setdefault(step["urn"].split("::")[-1], []).append(step)
    return found


def changed_inputs(step: dict[str, Any]) -> set[str]:
    """The input keys a step changes (the engine's own diff of old and new inputs)."""
    old = step["oldState"]["inputs"]
    new = step["newState"]["inputs"]
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def tuned_models(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tuned_models.cli", *args, "--stack", project.stack],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_up_noop_update_in_place_retrain_and_destroy(project: Project, emu: Emulator) -> None:
    with_key(project)
    emu.admin("PATCH", "settings", {"stepSeconds": 0.05})
    project.write_stack(stack_config(emu, THREE))

    # 1. up: every model ACTIVE on the emulator, named in the outputs, progress shown by the CLI.
    up = project.pulumi("up", "--yes")
    models = live(emu)
    assert len(models) == 3 and {m["state"] for m in models.values()} == {"ACTIVE"}
    outputs = project.outputs()
    assert sorted(outputs) == sorted(THREE)
    assert {o["name"] for o in outputs.values()} == set(models)
    assert "number-generator: training" in up.stdout and "epoch" in up.stdout

    # 2. A second preview finds nothing to do (pickled provider, floats, key order).
    project.pulumi("preview", "--expect-no-changes")

    # 3a. A changed description is an update of exactly that field, patched in place.
    changed = {**THREE, "summarizer": {**THREE["summarizer"], "description": "Summarizes in one line"}}
    project.write_stack(stack_config(emu, changed))
    steps = project.preview_steps()
    changes = changed_steps(steps)
    assert list(changes) == ["summarizer"]
    assert [s["op"] for s in changes["summarizer"]] == ["update"]
    assert changed_inputs(changes["summarizer"][0]) == {"description"}
    creates_before = len(emu.journal("CreateTunedModel"))
    project.pulumi("up", "--yes")
    patches = emu.journal("UpdateTunedModel")
    assert len(patches) == 1 and "description" in str(patches[0].get("query"))
    assert len(emu.journal("CreateTunedModel")) == creates_before
    name = outputs["summarizer"]["name"]
    assert live(emu)[name]["description"] == "Summarizes in one line"

    # 3b. A changed dataset retrains: the new model is created before the old one is deleted.
    rows = (project.root / "stacks/datasets/number-generator.jsonl").read_text().splitlines()
    (project.root / "stacks/datasets/number-generator.jsonl").write_text(
        "\n".join([*rows, '{"textInput": "41", "output": "42"}']) + "\n"
    )
    steps = project.preview_steps()
    changes = changed_steps(steps)
    assert set(changes) == {"number-generator"}
    assert "replace" in [s["op"] for s in changes["number-generator"]]
    emu.admin("DELETE", "journal")
    project.pulumi("up", "--yes")
    order = [e["rpc"] for e in emu.journal() if e["rpc"] in ("CreateTunedModel", "DeleteTunedModel")]
    assert order == ["CreateTunedModel", "DeleteTunedModel"]
    old = outputs["number-generator"]["name"]
    new = project.outputs()["number-generator"]["name"]
    assert new != old and old not in live(emu) and live(emu)[new]["state"] == "ACTIVE"
    project.pulumi("preview", "--expect-no-changes")

    # 9. destroy leaves nothing of the stack on the emulator.
    project.pulumi("destroy", "--yes")
    assert live(emu) == {}
    assert [r["type"] for r in project.resources()] == []


def test_out_of_band_changes_are_corrected_by_a_plain_up_as_plan_says(
    project: Project, emu: Emulator
) -> None:
    with_key(project)
    two = {k: THREE[k] for k in ("number-generator", "summarizer")}
    project.write_stack(stack_config(emu, two))
    project.pulumi("up", "--yes")
    names = {k: v["name"] for k, v in project.outputs().items()}

    deleted = emu.api("DELETE", f"/v1beta/{names['number-generator']}")
    assert deleted.status_code == 200, deleted.text
    patched = emu.api(
        "PATCH", f"/v1beta/{names['summarizer']}?updateMask=description", {"description": "changed by hand"}
    )
    assert patched.status_code == 200, patched.text

    plan = tuned_models(project, "plan", "--format", "json")
    assert plan.returncode in (0, 2), plan.stderr
    assert '"number-generator"' in plan.stdout and '"summarizer"' in plan.stdout
    assert "create" in plan.stdout and "update" in plan.stdout

    project.pulumi("up", "--yes")
    models = live(emu)
    assert len(models) == 2 and {m["state"] for m in models.values()} == {"ACTIVE"}
    assert models[names["summarizer"]]["description"] == THREE["summarizer"]["description"]
    project.pulumi("preview", "--expect-no-changes")


def test_protect_refuses_destroy_and_retain_on_delete_keeps_the_model(
    project: Project, emu: Emulator
) -> None:
    with_key(project)
    models = {
        "number-generator": {**THREE["number-generator"], "protect": True},
        "summarizer": {**THREE["summarizer"], "retainOnDelete": True},
    }
    project.write_stack(stack_config(emu, models))
    project.pulumi("up", "--yes")
    assert len(live(emu)) == 2

    refused = project.pulumi("destroy", "--yes", check=False)
    assert refused.returncode != 0 and "protect" in refused.stdout
    assert len(live(emu)) == 2

    models["number-generator"]["protect"] = False
    project.write_stack(stack_config(emu, models))
    project.pulumi("up", "--yes")
    project.pulumi("destroy", "--yes")
    left = list(live(emu).values())
    assert [m["displayName"] for m in left] == ["one-sentence summarizer"]
