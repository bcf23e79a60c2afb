"""What the planner decides about quality gates: a changed gate re-evaluates the same model and
never retrains; a retrain or create says the gate must pass first; only Pulumi's outputs record
a gate, so a live-only observation shows no gate change."""

from __future__ import annotations

from typing import Any

from tuned_models.model.desired import ModelInputs
from tuned_models.model.evaluation import Gate
from tuned_models.model.planner import Action, decide, decide_inputs, decide_unrecorded, observed_from_live
from tuned_models.model.scoring import Metric
from tuned_models.model.state import LiveModel, ModelState, Progress

DIGEST = "sha256:" + "e" * 64
INPUTS: dict[str, Any] = {
    "project": "tuned-models",
    "stack": "dev",
    "resourceName": "numbers",
    "baseModel": "models/gemini-1.5-flash-001-tuning",
    "hyperparameters": {"epochCount": 5},
    "dataset": "stacks/datasets/numbers.jsonl",
    "datasetDigest": "sha256:" + "a" * 64,
    "description": "counts",
    "evaluation": {"examples": "stacks/datasets/eval.jsonl", "metric": "exactMatch", "minScore": 0.8},
    "evaluationDigest": DIGEST,
}


def recorded(inputs: dict[str, Any], gate: Gate | None) -> dict[str, Any]:
    """The outputs the provider recorded for ``inputs`` after its gate ``gate`` passed."""
    args = ModelInputs.model_validate(inputs)
    outs: dict[str, Any] = {
        "tunedModelId": args.model_id,
        "name": f"tunedModels/{args.model_id}",
        "state": "ACTIVE",
        "description": "counts",
        "trainingSpec": args.training_spec(),
    }
    if gate is not None:
        outs["evaluation"] = {
            "metric": gate.metric.value,
            "minScore": gate.min_score,
            "digest": gate.digest,
            "score": 0.9,
            "examples": 10,
            "passed": True,
        }
    return outs


GATE = Gate(Metric.EXACT_MATCH, 0.8, DIGEST)


def with_gate(**evaluation: Any) -> dict[str, Any]:
    return {**INPUTS, "evaluation": {**INPUTS["evaluation"], **evaluation}}


def test_an_unchanged_gate_is_no_change() -> None:
    # Pulumi sends numbers as floats.
    assert (
        decide_inputs(recorded(INPUTS, GATE), {**with_gate(minScore=0.8), "timeout": 60.0}).action
        is Action.NONE
    )


def test_a_changed_min_score_metric_or_examples_re_evaluates_the_same_model() -> None:
    cases = {
        "evaluation.minScore": with_gate(minScore=0.6),
        "evaluation.metric": with_gate(metric="similarity"),
        "evaluation.examples": {**INPUTS, "evaluationDigest": "sha256:" + "f" * 64},
    }
    for field, news in cases.items():
        decision = decide_inputs(recorded(INPUTS, GATE), news)
        assert decision.action is Action.EVALUATE, field
        assert [c.field for c in decision.changes] == [field]
        assert decision.evaluate and decision.update_fields == () and decision.replace_fields == ()
        assert "nothing retrains" in decision.note


def test_a_gate_added_to_a_recorded_model_evaluates_it_and_a_removed_one_drops_the_record() -> None:
    added = decide_inputs(recorded(INPUTS, None), INPUTS)
    assert added.action is Action.EVALUATE and added.changes[0].new == "exactMatch >= 0.8"
    plain = {k: v for k, v in INPUTS.items() if k not in ("evaluation", "evaluationDigest")}
    removed = decide_inputs(recorded(INPUTS, GATE), plain)
    assert removed.action is Action.UPDATE and not removed.evaluate
    assert removed.update_fields == ()  # nothing to patch on the service
    assert [c.field for c in removed.gate_changes] == ["evaluation"]


def test_an_updatable_field_and_the_gate_changed_together_patch_then_evaluate() -> None:
    decision = decide_inputs(recorded(INPUTS, GATE), {**with_gate(minScore=0.9), "description": "new"})
    assert decision.action is Action.UPDATE and decision.evaluate
    assert decision.update_fields == ("description",)
    assert [c.field for c in decision.gate_changes] == ["evaluation.minScore"]


def test_a_retrain_says_the_gate_must_pass_before_the_new_model_serves() -> None:
    retrain = {**INPUTS, "hyperparameters": {"epochCount": 6}}
    decision = decide_inputs(recorded(INPUTS, GATE), retrain)
    assert decision.action is Action.REPLACE and decision.evaluate
    assert decision.replace_fields == ("hyperparameters.epochCount",)
    assert "quality gate (exactMatch >= 0.8) must pass before it replaces the serving model" in decision.note
    create = decide(None, ModelInputs.model_validate(INPUTS).desired())
    assert create.action is Action.CREATE and create.evaluate
    assert "quality gate (exactMatch >= 0.8)" in create.note


def _live(**changes: Any) -> LiveModel:
    args = ModelInputs.model_validate(INPUTS)
    values: dict[str, Any] = {
        "name": f"tunedModels/{args.model_id}",
        "model_id": args.model_id,
        "state": ModelState.ACTIVE,
        "mutable": {"description": "counts"},
        "training": {"baseModel": args.baseModel, "hyperparameters": {"epochCount": 5}},
    }
    return LiveModel(**{**values, **changes})


def test_the_service_keeps_no_gate_so_a_live_model_shows_no_gate_change_without_pulumis_record() -> None:
    desired = ModelInputs.model_validate(with_gate(minScore=0.5)).desired()
    assert decide(observed_from_live(_live()), desired).action is Action.NONE
    record = recorded(INPUTS, GATE)["evaluation"]
    known = decide(observed_from_live(_live(), in_state=True, evaluation=record), desired)
    assert known.action is Action.EVALUATE and [c.field for c in known.changes] == ["evaluation.minScore"]


def test_a_trained_model_pulumi_has_not_recorded_is_created_by_adopting_it() -> None:
    desired = ModelInputs.model_validate(INPUTS).desired()
    decision = decide(observed_from_live(_live(), in_state=False), desired)
    assert decision.action is Action.CREATE and decision.evaluate
    assert "adopts it without training" in decision.note and "its quality gate failed" in decision.note


def test_a_trained_model_not_recorded_beside_a_serving_one_replaces_it_without_training() -> None:
    retrain = {**INPUTS, "hyperparameters": {"epochCount": 6}}
    desired = ModelInputs.model_validate(retrain).desired()
    trained = LiveModel(f"tunedModels/{desired.model_id}", desired.model_id, ModelState.ACTIVE)
    decision = decide_unrecorded(trained, recorded(INPUTS, GATE), desired)
    assert decision.action is Action.REPLACE and decision.evaluate
    assert decision.replace_fields == ("hyperparameters.epochCount",)
    assert decision.note.startswith(f"{trained.name} is trained but not recorded (its quality gate failed")
    assert "must pass before it replaces the serving model" in decision.note
    alone = decide_unrecorded(trained, None, desired)
    assert alone.action is Action.CREATE and "adopts it without training" in alone.note


def test_a_failed_or_training_attempt_not_recorded_is_what_submit_does_with_it() -> None:
    desired = ModelInputs.model_validate(INPUTS).desired()
    failed = _live(state=ModelState.FAILED, progress=Progress(done=True, error="Loss is NaN."))
    decision = decide_unrecorded(failed, None, desired)
    assert decision.action is Action.REPLACE and decision.delete_before_replace and decision.evaluate
    assert decision.note == (
        "the previous attempt FAILED (Loss is NaN.); it will be deleted and trained again; then the "
        "quality gate (exactMatch >= 0.8) must pass before it is recorded"
    )
    training = decide_unrecorded(_live(state=ModelState.CREATING), None, desired)
    assert (
        training.action is Action.CREATE and "`pulumi up` waits for it (no second training)" in training.note
    )
    retrain = {**INPUTS, "hyperparameters": {"epochCount": 6}}
    beside = ModelInputs.model_validate(retrain).desired()
    trained = LiveModel(
        f"tunedModels/{beside.model_id}", beside.model_id, ModelState.FAILED, progress=Progress(error="Bad.")
    )
    replaced = decide_unrecorded(trained, recorded(INPUTS, GATE), beside)
    assert replaced.action is Action.REPLACE and not replaced.delete_before_replace
    assert replaced.note.startswith(
        "the previous attempt FAILED (Bad.); it will be deleted and trained again; "
    )
