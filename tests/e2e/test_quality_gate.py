"""The quality gate through the real Pulumi CLI: a passing gate records its score; a retrain that
came out worse fails ``pulumi up`` and leaves the serving model serving; the gate fixed, the next
``up`` promotes the trained model without training it again; ``status`` and ``report`` show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Project
from tests.e2e.test_lifecycle import THREE, live, stack_config, tuned_models, with_key
from tests.support.engine import Emulator
from tests.support.output import checked
from tuned_models.tokens import TUNED_MODEL_TYPE

EVAL = "stacks/datasets/number-generator-eval.jsonl"


def gated(min_score: float) -> dict[str, Any]:
    return {
        "number-generator": {
            **THREE["number-generator"],
            "evaluation": {"examples": EVAL, "metric": "exactMatch", "minScore": min_score},
        }
    }


def shift_outputs(path: Path) -> None:
    """Give every input the next example's output: a dataset that trains a worse model."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    shifted = [{**r, "output": rows[(i + 1) % len(rows)]["output"]} for i, r in enumerate(rows)]
    path.write_text("".join(json.dumps(r) + "\n" for r in shifted))


def test_a_failing_retrain_keeps_the_serving_model_and_a_fixed_gate_promotes_without_training(
    project: Project, emu: Emulator, tmp_path: Path
) -> None:
    with_key(project)
    project.write_stack(stack_config(emu, gated(0.7)))

    # 1. The gate passes: ACTIVE, with its score in the outputs.
    up = project.pulumi("up", "--yes")
    assert "number-generator: quality gate passed: exactMatch 0.75 >= minScore 0.7 on 8 examples" in up.stdout
    first = project.outputs()["number-generator"]
    assert first["state"] == "ACTIVE"
    assert first["evaluation"] == {
        "metric": "exactMatch",
        "score": 0.75,
        "minScore": 0.7,
        "passed": True,
        "examples": 8,
    }
    serving = first["name"]
    project.pulumi("preview", "--expect-no-changes")
    # A changed gate is planned as what `up` does with it: evaluate the same model again.
    project.write_stack(stack_config(emu, gated(0.8)))
    plan = tuned_models(project, "plan", "--format", "json")
    assert [(m["action"], m["changes"]) for m in checked(plan.stdout)["stacks"][0]["models"]] == [
        ("re-evaluate", [{"field": "evaluation.minScore", "old": 0.7, "new": 0.8}])
    ]
    project.write_stack(stack_config(emu, gated(0.7)))

    # 2. A retrain that came out worse: `up` fails with the score and the worst examples ...
    shift_outputs(project.root / "stacks/datasets/number-generator.jsonl")
    failed = project.pulumi("up", "--yes", check=False)
    assert failed.returncode != 0
    assert "failed its quality gate: exactMatch 0 < minScore 0.7 on 8 examples" in failed.stdout
    assert "#1 score 0: 'Twenty-two' -> " in failed.stdout
    # ... the serving model still serves, the new one is trained but not recorded.
    assert project.outputs()["number-generator"]["name"] == serving
    models = live(emu)
    assert len(models) == 2 and {m["state"] for m in models.values()} == {"ACTIVE"}
    [trained] = set(models) - {serving}
    recorded = [r for r in project.resources() if r["type"] == TUNED_MODEL_TYPE]
    assert [r["outputs"]["name"] for r in recorded] == [serving]
    assert not any(r.get("delete") for r in recorded)

    status = tuned_models(project, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    rows = {r["tunedModel"]: r for r in checked(status.stdout)["stacks"][0]["models"]}
    assert rows[serving]["serving"] is True and rows[serving]["evaluation"]["score"] == 0.75
    assert rows[trained]["serving"] is False and rows[trained]["evaluation"] is None
    table = tuned_models(project, "status").stdout
    assert "not serving" in table and "exactMatch 0.75>=0.7" in table
    plan = tuned_models(project, "plan", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    [row] = checked(plan.stdout)["stacks"][0]["models"]
    assert row["action"] == "retrain" and row["current"] == serving and row["tunedModel"] == trained
    assert row["reason"].startswith(f"{trained} is trained but not recorded (its quality gate failed")

    # 3. The gate fixed, the spec unchanged: the trained model is promoted, not trained again.
    project.write_stack(stack_config(emu, gated(0.0)))
    emu.admin("DELETE", "journal")
    promoted = project.pulumi("up", "--yes")
    assert f"found {trained} from an earlier run (ACTIVE); adopting it" in promoted.stdout
    assert emu.journal("CreateTunedModel") == []
    assert [e["rpc"] for e in emu.journal() if e["rpc"] == "DeleteTunedModel"] == ["DeleteTunedModel"]
    after = project.outputs()["number-generator"]
    assert after["name"] == trained and after["evaluation"]["passed"] is True
    assert list(live(emu)) == [trained]
    project.pulumi("preview", "--expect-no-changes")
