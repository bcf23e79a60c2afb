"""The quality gate in process: the real lifecycle, backend, client and embedded emulator.

The emulator answers with the output of the training example whose input is most similar to
the prompt, so an evaluation set close to the training inputs passes and an unrelated one fails,
on purpose. The same flows through the real provider process and the real CLI are in
tests/engine/test_quality_gate.py and tests/e2e/test_quality_gate.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.provider.test_lifecycle import Service
from tests.provider.test_lifecycle import service as service  # the fixture
from tests.seed_examples import NUMBER_EXAMPLES
from tuned_models.gate import GateFailed
from tuned_models.model.datasets import DatasetInfo, evaluation_info, examples_digest
from tuned_models.model.desired import model_inputs
from tuned_models.model.spec import Example, ModelSpec

#: Held-out inputs close to training inputs: the emulator answers each one right.
CLOSE = [
    {"textInput": "Twenty-two", "output": "twenty three"},
    {"textInput": "ninety-nine", "output": "one hundred"},
    {"textInput": "Eighty", "output": "eighty one"},
    {"textInput": "two hundred.", "output": "two hundred one"},
    {"textInput": "seven!", "output": "eight"},
]
#: Inputs unlike any training input: the emulator's nearest example answers each one wrong.
FAR = [
    {"textInput": "5", "output": "6"},
    {"textInput": "forty", "output": "forty one"},
    {"textInput": "six", "output": "seven"},
    {"textInput": "2,000", "output": "2,001"},
]


def gated(
    examples: list[dict[str, str]] | str,
    min_score: float,
    metric: str = "exactMatch",
    root: Path | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """Inputs of the number generator with a quality gate, built as the program builds them
    (a gate's examples file is read under the project ``root``, default the working directory)."""
    raw: dict[str, Any] = {
        "description": "Next number in a sequence",
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "hyperparameters": {"epochCount": 5, "batchSize": 4},
        "examples": NUMBER_EXAMPLES,
        "timeout": 3600,
        "evaluation": {"examples": examples, "metric": metric, "minScore": min_score},
        **spec,
    }
    model = ModelSpec.model_validate({k: v for k, v in raw.items() if v is not None})
    assert model.examples is not None
    dataset = DatasetInfo.of(model.examples, None)
    gate = evaluation_info(model, root or Path.cwd())
    return model_inputs("tuned-models", "test", "numbers", model, dataset, evaluation=gate).to_inputs()


def test_a_model_whose_gate_passes_is_active_with_its_score_recorded(service: Service) -> None:
    model_id, outs = service.lifecycle.create(gated(CLOSE, 0.8))
    assert outs["state"] == "ACTIVE"
    record = outs["evaluation"]
    assert record == {
        "metric": "exactMatch",
        "minScore": 0.8,
        "score": 1.0,
        "examples": len(CLOSE),
        "passed": True,
        "digest": examples_digest([Example.model_validate(e) for e in CLOSE]),
        "model": f"tunedModels/{model_id}",
        "worst": [],
        "evaluatedAt": record["evaluatedAt"],
    }
    assert record["evaluatedAt"].endswith("Z")
    assert len(service.journal("GenerateContent")) == len(CLOSE)
    assert any(
        line.startswith("numbers: quality gate passed: exactMatch 1 >= minScore 0.8")
        for line in service.log.info_lines
    )
    assert outs["lastChange"]["action"] == "trained"


def test_a_failing_gate_fails_the_create_names_the_worst_examples_and_leaves_the_model_trained(
    service: Service,
) -> None:
    with pytest.raises(GateFailed) as failed:
        service.lifecycle.create(gated(FAR, 0.5))
    message = str(failed.value)
    assert "failed its quality gate: exactMatch 0 < minScore 0.5 on 4 examples" in message
    assert "#1 score 0: '5' -> '2' (expected '6')" in message
    assert "trained but not serving" in message
    assert failed.value.result.score == 0.0 and len(failed.value.result.worst) == len(FAR)
    [model] = list(service.client.iter_tuned_models())
    assert model.state.value == "ACTIVE"
    assert service.journal("DeleteTunedModel") == []


def test_the_next_create_with_a_fixed_gate_adopts_the_trained_model_without_training(
    service: Service,
) -> None:
    with pytest.raises(GateFailed):
        service.lifecycle.create(gated(FAR + CLOSE, 0.9))
    # 5 of 9 right: lowering the bar evaluates the same model again, nothing is trained.
    _, outs = service.lifecycle.create(gated(FAR + CLOSE, 0.5))
    assert outs["evaluation"]["score"] == pytest.approx(5 / 9, abs=1e-4)
    assert outs["evaluation"]["passed"] is True
    assert [w["textInput"] for w in outs["evaluation"]["worst"]] == [e["textInput"] for e in FAR]
    assert [e["status"] for e in service.journal("CreateTunedModel")] == [200]
    assert outs["lastChange"]["action"] == "adopted"
    assert len(service.journal("GenerateContent")) == 2 * len(FAR + CLOSE)


def test_changing_only_the_gate_re_evaluates_the_same_model(service: Service) -> None:
    model_id, outs = service.lifecycle.create(gated(CLOSE, 0.8))
    new = gated(CLOSE + FAR[:1], 0.8, metric="similarity")
    decision = service.lifecycle.diff(outs, new)
    assert decision.action.value == "evaluate" and decision.evaluate
    assert {c.field for c in decision.changes} == {"evaluation.metric", "evaluation.examples"}
    after = service.lifecycle.update(model_id, outs, new)
    assert after["name"] == outs["name"]
    assert after["evaluation"]["metric"] == "similarity" and after["evaluation"]["examples"] == 6
    # chrF: "2" for "6" shares no character n-gram (0); the five others are exact (1).
    assert after["evaluation"]["score"] == pytest.approx(5 / 6, abs=1e-4)
    assert after["lastChange"]["action"] == "evaluated"
    assert len(service.journal("CreateTunedModel")) == 1
    assert service.journal("UpdateTunedModel") == []


def test_a_changed_gate_the_serving_model_fails_fails_the_update_and_keeps_it(service: Service) -> None:
    model_id, outs = service.lifecycle.create(gated(CLOSE, 0.8))
    with pytest.raises(GateFailed, match=r"the serving model tunedModels/.* fails its changed quality gate"):
        service.lifecycle.update(model_id, outs, gated(FAR, 0.8))
    assert [m.name for m in service.client.iter_tuned_models()] == [outs["name"]]


def test_an_update_of_other_fields_keeps_the_recorded_score_without_evaluating(service: Service) -> None:
    model_id, outs = service.lifecycle.create(gated(CLOSE, 0.8))
    asked = len(service.journal("GenerateContent"))
    after = service.lifecycle.update(model_id, outs, gated(CLOSE, 0.8, description="Counts up"))
    assert after["evaluation"] == outs["evaluation"]
    assert after["lastChange"]["action"] == "updated"
    assert len(service.journal("GenerateContent")) == asked


def test_removing_the_gate_drops_the_recorded_score(service: Service) -> None:
    model_id, outs = service.lifecycle.create(gated(CLOSE, 0.8))
    asked = len(service.journal("GenerateContent"))
    plain = gated(CLOSE, 0.8, evaluation=None)
    assert service.lifecycle.diff(outs, plain).action.value == "update"
    after = service.lifecycle.update(model_id, outs, plain)
    assert "evaluation" not in after
    assert len(service.journal("GenerateContent")) == asked


def test_an_evaluation_file_changed_since_the_preview_is_refused_before_any_question(
    service: Service, tmp_path: Path
) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text('{"textInput": "Eighty", "output": "eighty one"}\n')
    props = gated("eval.jsonl", 0.5, root=tmp_path)
    path.write_text('{"textInput": "Eighty", "output": "eighty two"}\n')
    with pytest.raises(RuntimeError, match=r"eval.jsonl changed since the preview"):
        service.at(tmp_path).create(props)
    assert service.journal("GenerateContent") == []


def test_an_outage_while_evaluating_is_ridden_out_and_the_gate_judges_every_example(service: Service) -> None:
    service.outage(start=0, seconds=300, method="GenerateContent")  # training goes on meanwhile
    _, outs = service.lifecycle.create(gated(CLOSE, 0.8))
    assert outs["evaluation"]["score"] == 1.0 and outs["evaluation"]["examples"] == len(CLOSE)
    assert service.now[0] >= 300
    asked = [line for line in service.log.info_lines if " failed (" in line]
    assert asked and all(line.startswith("numbers: asking example ") for line in asked)
    assert {e["status"] for e in service.journal("GenerateContent")} == {200, 503}
