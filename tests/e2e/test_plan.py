"""``tuned-models plan`` against the real ``pulumi up``: the plan reads the stack's state with
``pulumi stack export`` and says what the next ``up`` does; after it, the plan is empty (issue 12)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.e2e.conftest import Project
from tests.e2e.test_lifecycle import THREE, live, stack_config, with_key
from tests.support.engine import Emulator
from tests.support.output import checked
from tests.support.stack import examples
from tuned_models.model.ids import stack_tag


def cli(project: Project, *args: str, stack: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tuned_models.cli", *args, "--stack", stack or project.stack],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def plan(project: Project, stack: str | None = None) -> dict[str, Any]:
    """The plan's stack entry; the state must have been read from `pulumi stack export`."""
    proc = cli(project, "plan", "--format", "json", stack=stack)
    assert proc.returncode == 0, proc.stderr
    entry: dict[str, Any] = checked(proc.stdout)["stacks"][0]
    assert entry["state"]["read"] is True, entry["state"]
    return entry


def actions(entry: dict[str, Any]) -> dict[str, str]:
    return {m["model"]: m["action"] for m in entry["models"]}


def preview_ops(project: Project) -> dict[str, str]:
    """``pulumi preview --json``: the step of each model that changes (refresh reads left out)."""
    ops: dict[str, str] = {}
    for step in project.preview_steps():
        name = step["urn"].split("::")[-1]
        if step["urn"].split("::")[-2].endswith("gemini:TunedModel") and step["op"] not in (
            "refresh",
            "read",
        ):
            ops.setdefault(name, step["op"])
    return ops


def test_drift_plan_then_a_plain_up_then_an_empty_plan(project: Project, emu: Emulator) -> None:
    with_key(project)
    project.write_stack(stack_config(emu, {k: THREE[k] for k in ("number-generator", "summarizer")}))
    project.pulumi("up", "--yes")
    assert cli(project, "plan", "--detailed-exitcode").returncode == 0
    names = {k: v["name"] for k, v in project.outputs().items()}
    emu.api("PATCH", f"/v1beta/{names['summarizer']}?updateMask=description", {"description": "by hand"})
    emu.api("DELETE", f"/v1beta/{names['number-generator']}")

    entry = plan(project)
    assert actions(entry) == {"number-generator": "create", "summarizer": "update"}
    assert {m["model"]: m["step"] for m in entry["models"]} == preview_ops(project)
    assert cli(project, "plan", "--detailed-exitcode").returncode == 2
    project.pulumi("up", "--yes")
    assert live(emu)[names["summarizer"]]["description"] == THREE["summarizer"]["description"]
    assert cli(project, "plan", "--detailed-exitcode").returncode == 0
    project.pulumi("preview", "--expect-no-changes")


def test_a_failed_training_is_retrained_and_an_orphan_pruned_as_the_plan_says(
    project: Project, emu: Emulator
) -> None:
    with_key(project)
    models: dict[str, Any] = {
        "numbers": {"examples": examples()},
        "broken": {"examples": examples(tag="b")},
    }
    project.write_stack(stack_config(emu, models))
    emu.admin("POST", "failures", {"match": "numbers", "atPercent": 50, "message": "Loss is NaN."})
    emu.admin("POST", "failures", {"match": "broken", "atPercent": 50, "message": "Bad data."})
    failed = project.pulumi("up", "--yes", check=False)
    assert failed.returncode != 0 and "Loss is NaN." in failed.stdout
    emu.admin("DELETE", "failures")

    project.write_stack(stack_config(emu, {"numbers": models["numbers"]}))
    entry = plan(project)
    [numbers] = entry["models"]
    assert (numbers["action"], numbers["step"]) == ("retrain", "create")
    assert (
        numbers["reason"]
        == "the previous attempt FAILED (Loss is NaN.); it will be deleted and trained again"
    )
    [orphan] = entry["otherModels"]
    assert (orphan["model"], orphan["kind"]) == ("broken", "orphan")
    assert preview_ops(project) == {"numbers": "create"}

    up = project.pulumi("up", "--yes")
    assert "FAILED (Loss is NaN.); deleting it and training again" in up.stdout
    prune = cli(project, "prune", "--yes")
    assert prune.returncode == 0 and f"deleted {orphan['tunedModel']} (FAILED)" in prune.stdout
    assert [m["state"] for m in live(emu).values()] == ["ACTIVE"]
    after = plan(project)
    assert after["changes"] is False and after["otherModels"] == []
    project.pulumi("preview", "--expect-no-changes")


def test_adopted_removal_retain_and_ownership_transfer_match_the_engine(
    project: Project, emu: Emulator
) -> None:
    with_key(project)
    body = {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "tuningTask": {"trainingData": {"examples": {"examples": examples(3)}}},
    }
    assert emu.api("POST", "/v1beta/tunedModels?tunedModelId=hand-made", body).status_code == 200
    models: dict[str, Any] = {
        "taken": {"adopt": "tunedModels/hand-made", "baseModel": "models/gemini-1.5-flash-001-tuning"},
        "kept": {"examples": examples(tag="k"), "retainOnDelete": True},
        "shared": {"examples": examples(tag="s"), "owner": "new-owner@example.com"},
    }
    project.write_stack(stack_config(emu, models))
    first = plan(project)
    assert actions(first) == {"taken": "adopt", "kept": "create", "shared": "create"}
    project.pulumi("up", "--yes")
    after = plan(project)
    assert after["changes"] is False, after  # the stack's identity, now a WRITER, is expected
    project.pulumi("preview", "--expect-no-changes")

    kept = project.outputs()["kept"]["name"]
    project.write_stack(stack_config(emu, {"shared": models["shared"]}))
    entry = plan(project)
    assert actions(entry) == {"shared": "none", "taken": "delete", "kept": "forget"}
    assert preview_ops(project) == {"taken": "delete", "kept": "delete"}
    project.pulumi("up", "--yes")
    assert "tunedModels/hand-made" not in live(emu) and kept in live(emu)
    final = plan(project)
    assert final["changes"] is False
    assert [(o["tunedModel"], o["kind"]) for o in final["otherModels"]] == [(kept, "not managed")]
    project.pulumi("preview", "--expect-no-changes")


def test_a_source_retrain_cascades_and_stacks_sharing_a_tag_stay_apart(
    project: Project, emu: Emulator
) -> None:
    with_key(project)
    models: dict[str, Any] = {
        "base": {"examples": examples()},
        "child": {"baseModel": None, "tunedModelSource": {"model": "base"}, "examples": examples(tag="c")},
    }
    project.write_stack(stack_config(emu, models))
    project.pulumi("up", "--yes")
    before = {k: v["name"] for k, v in project.outputs().items()}
    models["base"]["examples"] = examples(21)
    project.write_stack(stack_config(emu, models))
    entry = plan(project)
    assert actions(entry) == {"base": "retrain", "child": "retrain"}
    assert preview_ops(project) == {"base": "replace", "child": "replace"}
    project.pulumi("up", "--yes")
    after = {k: v["name"] for k, v in project.outputs().items()}
    assert after["base"] != before["base"] and after["child"] != before["child"]
    assert live(emu)[after["child"]]["tunedModelSource"]["tunedModel"] == after["base"]
    assert plan(project)["changes"] is False

    # Two more stacks of the same project and backend whose 8-character tags collide.
    pair = ("pr-372963", "pr-594948")
    assert stack_tag("tuned-models", pair[0]) == stack_tag("tuned-models", pair[1])
    for i, name in enumerate(pair):
        other = Project.__new__(Project)
        other.__dict__.update(project.__dict__)
        other.stack, other.stack_file = name, project.root / "stacks" / f"Pulumi.{name}.yaml"
        other.init()
        other.write_stack(stack_config(emu, {"numbers": {"examples": examples(tag=str(i))}}))
        other.pulumi("up", "--yes")
    for name in pair:
        entry = plan(project, stack=name)
        assert entry["changes"] is False and actions(entry) == {"numbers": "none"}
        assert {o["kind"] for o in entry["otherModels"]} == {"not managed"}  # the other stack's
        status = cli(project, "status", "--format", "json", stack=name)
        rows = checked(status.stdout)["stacks"][0]["models"]
        assert [r["model"] for r in rows] == ["numbers"]
