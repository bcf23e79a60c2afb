"""Table tests of the pure diff (planner) and of check, as the provider sees its inputs."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from tuned_models.model.desired import ModelInputs
from tuned_models.model.planner import Action, Decision, decide_inputs
from tuned_models.pulumi_inputs import check_failures, plain, split_unknown

UNKNOWN: Any = Unknown()  # type: ignore[no-untyped-call]  # the SDK's preview sentinel

BASE: dict[str, Any] = {
    "project": "tuned-models",
    "stack": "dev",
    "resourceName": "number-generator",
    "displayName": "number generator",
    "description": "Next number in a sequence",
    "baseModel": "models/gemini-1.5-flash-001-tuning",
    "hyperparameters": {"epochCount": 5.0, "batchSize": 2.0, "learningRate": 0.001},
    "dataset": "stacks/datasets/number-generator.jsonl",
    "datasetDigest": "sha256:" + "a" * 64,
    "exampleCount": 15.0,
    "temperature": 0.7,
    "timeout": 3600.0,
    "wait": True,
}


def diff_decision(olds: dict[str, Any], news: dict[str, Any]) -> Decision:
    """What the provider's diff decides: the engine's inputs split into known and unknown."""
    known, unknown = split_unknown(news)
    return decide_inputs(plain(olds), known, unknown)


def recorded(inputs: dict[str, Any], **service: Any) -> dict[str, Any]:
    """Old outputs as the provider records them after creating from ``inputs``."""
    args = ModelInputs.model_validate(inputs)
    outs: dict[str, Any] = {
        "tunedModelId": args.model_id,
        "name": f"tunedModels/{args.model_id}",
        "state": "ACTIVE",
        "baseModel": args.baseModel,
        "displayName": args.displayName,
        "description": args.description,
        "temperature": args.temperature if args.temperature is not None else 1.0,
        "topP": 0.95,
        "topK": 64,
        "hyperparameters": {"epochCount": 5, "batchSize": 2, "learningRate": 0.001},
        "trainingSpec": args.training_spec(),
        "datasetDigest": args.datasetDigest,
        "__provider": "old-provider-string",
    }
    outs.update(service)
    return outs


def with_(**changes: Any) -> dict[str, Any]:
    new = {**BASE, **changes}
    return {k: v for k, v in new.items() if v is not None}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], Action, tuple[str, ...]]] = [
    ("identical", {}, with_(), Action.NONE, ()),
    ("only __provider changed", {}, {**with_(), "__provider": "new-provider-string"}, Action.NONE, ()),
    (
        "numbers as ints instead of floats",
        {},
        with_(hyperparameters={"epochCount": 5, "batchSize": 2, "learningRate": 0.001}, exampleCount=15),
        Action.NONE,
        (),
    ),
    (
        "key order of hyperparameters",
        {},
        with_(hyperparameters={"learningRate": 0.001, "batchSize": 2.0, "epochCount": 5.0}),
        Action.NONE,
        (),
    ),
    ("timeout and wait are tool settings", {}, with_(timeout=60.0, wait=False), Action.NONE, ()),
    ("temperature stored as float32", {"temperature": 0.699999988079071}, with_(), Action.NONE, ()),
    ("undeclared topK is not managed", {"topK": 40}, with_(), Action.NONE, ()),
    ("description", {}, with_(description="Counts up"), Action.UPDATE, ("description",)),
    ("displayName", {}, with_(displayName="numbers"), Action.UPDATE, ("displayName",)),
    ("temperature", {}, with_(temperature=0.2), Action.UPDATE, ("temperature",)),
    ("topP and topK", {}, with_(topP=0.5, topK=10.0), Action.UPDATE, ("topP", "topK")),
    (
        "drift of description on the service",
        {"description": "edited by hand"},
        with_(),
        Action.UPDATE,
        ("description",),
    ),
    (
        "epochCount",
        {},
        with_(hyperparameters={"epochCount": 8.0, "batchSize": 2.0, "learningRate": 0.001}),
        Action.REPLACE,
        ("hyperparameters.epochCount",),
    ),
    (
        "learning rate removed",
        {},
        with_(hyperparameters={"epochCount": 5.0, "batchSize": 2.0}),
        Action.REPLACE,
        ("hyperparameters.learningRate",),
    ),
    ("dataset digest", {}, with_(datasetDigest="sha256:" + "b" * 64), Action.REPLACE, ("datasetDigest",)),
    ("base model", {}, with_(baseModel="models/gemini-1.0-pro-001"), Action.REPLACE, ("baseModel",)),
    (
        "source tuned model instead of base",
        {},
        with_(baseModel=None, tunedModelSource={"tunedModel": "tunedModels/parent-model"}),
        Action.REPLACE,
        ("baseModel", "tunedModelSource"),
    ),
    ("recorded FAILED", {"state": "FAILED"}, with_(), Action.REPLACE, ("state",)),
    ("recorded CREATING", {"state": "CREATING"}, with_(), Action.UPDATE, ()),
    (
        "an adopted model that FAILED is not retrained",
        {"state": "FAILED", "name": "tunedModels/theirs", "tunedModelId": "theirs"},
        with_(adopt="tunedModels/theirs"),
        Action.NONE,
        (),
    ),
]


@pytest.mark.parametrize(("case", "service", "news", "action", "fields"), CASES, ids=[c[0] for c in CASES])
def test_diff_table(
    case: str, service: dict[str, Any], news: dict[str, Any], action: Action, fields: tuple[str, ...]
) -> None:
    decision = diff_decision(recorded(BASE, **service), news)
    assert decision.action is action, decision.summary()
    changed = decision.replace_fields if action is Action.REPLACE else decision.update_fields
    assert changed == fields


def test_replacing_a_failed_model_deletes_it_first_because_the_id_is_reused() -> None:
    decision = diff_decision(recorded(BASE, state="FAILED"), with_())
    assert decision.delete_before_replace is True
    retrain = diff_decision(recorded(BASE), with_(datasetDigest="sha256:" + "c" * 64))
    assert retrain.delete_before_replace is False


def test_a_retrain_gets_a_new_id_within_the_service_pattern() -> None:
    a = ModelInputs.model_validate(with_()).model_id
    b = ModelInputs.model_validate(with_(datasetDigest="sha256:" + "d" * 64)).model_id
    c = ModelInputs.model_validate(with_(stack="prod")).model_id
    d = ModelInputs.model_validate(with_(project="another-project")).model_id
    assert len({a, b, c, d}) == 4
    assert a.startswith("number-generator-") and len(a) <= 40


def test_unknown_create_only_input_in_preview_means_replace() -> None:
    decision = diff_decision(recorded(BASE), {**with_(), "datasetDigest": UNKNOWN})
    assert decision.action is Action.REPLACE
    assert decision.replace_fields == ("datasetDigest",)


def test_unknown_updatable_input_in_preview_means_update() -> None:
    decision = diff_decision(recorded(BASE), {**with_(), "description": UNKNOWN})
    assert decision.action is Action.UPDATE
    assert decision.update_fields == ("description",)


def test_adopting_compares_the_adopted_name() -> None:
    adopted = with_(adopt="tunedModels/existing-model", datasetDigest=None, dataset=None)
    outs = recorded(BASE, name="tunedModels/existing-model", tunedModelId="existing-model")
    assert diff_decision(outs, adopted).action is Action.NONE
    other = {**adopted, "adopt": "tunedModels/another-model"}
    assert diff_decision(outs, other).replace_fields == ("adopt",)


CHECKS: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("valid", with_(), []),
    (
        "batchSize not an integer",
        with_(hyperparameters={"batchSize": 2.5}),
        [
            (
                "hyperparameters",
                "hyperparameters.batchSize: Input should be a valid integer, got a "
                "number with a fractional part",
            )
        ],
    ),
    (
        "unknown key",
        {**with_(), "temprature": 0.5},
        [("temprature", "temprature: Extra inputs are not permitted")],
    ),
    (
        "temperature out of range",
        with_(temperature=3.0),
        [("temperature", "temperature: Input should be less than or equal to 2")],
    ),
    (
        "both learning rates",
        with_(hyperparameters={"learningRate": 0.1, "learningRateMultiplier": 2.0}),
        [("hyperparameters", "hyperparameters: set learningRate or learningRateMultiplier, not both")],
    ),
    (
        "no base model",
        with_(baseModel=None),
        [("inputs", "declare exactly one of baseModel or tunedModelSource")],
    ),
    ("bad adopt", with_(adopt="models/x"), [("adopt", "adopt: expected tunedModels/<id>, got 'models/x'")]),
    (
        "bad timeout",
        with_(timeout="soon"),
        [("timeout", "timeout: expected a duration such as 90s, 30m or 2h, got 'soon'")],
    ),
]


@pytest.mark.parametrize(("case", "news", "expected"), CHECKS, ids=[c[0] for c in CHECKS])
def test_check_table(case: str, news: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    failures = [(f.property, f.reason) for f in check_failures({**news, "__provider": "x"}, ModelInputs)]
    assert failures == expected


def test_check_lets_unknown_values_pass_during_preview() -> None:
    news = {**with_(), "datasetDigest": UNKNOWN, "description": UNKNOWN}
    assert check_failures(news, ModelInputs) == []


def test_the_owner_may_not_also_be_listed_in_permissions() -> None:
    from tuned_models.model.spec import ModelSpec

    with pytest.raises(ValueError, match="is the owner and also listed in permissions"):
        ModelSpec.model_validate(
            {
                "baseModel": "models/gemini-1.5-flash-001-tuning",
                "dataset": "d.jsonl",
                "owner": "Boss@example.com",
                "permissions": [{"user": "boss@example.com", "role": "WRITER"}],
            }
        )
