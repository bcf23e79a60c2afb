"""The pure planner, table-tested directly: models against the live service (what ``plan``
sees), and grants and owners (what the permission resources' diff and ``plan`` share)."""

from __future__ import annotations

from typing import Any

import pytest

from tuned_models.model.desired import ModelInputs
from tuned_models.model.grants import Grant, GranteeType, Role
from tuned_models.model.planner import (
    KNOWN_AFTER_APPLY,
    Action,
    GrantAction,
    GrantChange,
    decide,
    decide_grant,
    decide_owner,
    observed_from_live,
    plan_grants,
)
from tuned_models.model.state import LiveModel, ModelState

INPUTS: dict[str, Any] = {
    "project": "tuned-models",
    "stack": "dev",
    "resourceName": "numbers",
    "baseModel": "models/gemini-1.5-flash-001-tuning",
    "hyperparameters": {"epochCount": 5},
    "dataset": "stacks/datasets/numbers.jsonl",
    "datasetDigest": "sha256:" + "a" * 64,
    "description": "counts",
}


def live(inputs: dict[str, Any], **changes: Any) -> LiveModel:
    """The model the service shows after creating ``inputs`` (with ``changes``)."""
    args = ModelInputs.model_validate(inputs)
    values: dict[str, Any] = {
        "name": f"tunedModels/{args.model_id}",
        "model_id": args.model_id,
        "state": ModelState.ACTIVE,
        "mutable": {"description": "counts", "temperature": 1.0},
        "training": {
            "baseModel": args.baseModel,
            "tunedModelSource": None,
            "hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001},
        },
    }
    values.update(changes)
    return LiveModel(**values)


LIVE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], Action, tuple[str, ...]]] = [
    ("the same", {}, {}, Action.NONE, ()),
    (
        "an undeclared updatable field is not managed",
        {"mutable": {"description": "counts", "temperature": 0.3, "topK": 40}},
        {},
        Action.NONE,
        (),
    ),
    ("description drifted", {"mutable": {"description": "edited"}}, {}, Action.UPDATE, ("description",)),
    ("declared temperature", {}, {"temperature": 0.2}, Action.UPDATE, ("temperature",)),
    ("still training", {"state": ModelState.CREATING}, {}, Action.UPDATE, ()),
    ("failed", {"state": ModelState.FAILED}, {}, Action.REPLACE, ("state",)),
    (
        "a declared hyperparameter against the resolved one",
        {},
        {"hyperparameters": {"epochCount": 5, "batchSize": 8}},
        Action.REPLACE,
        ("hyperparameters.batchSize",),
    ),
    (
        "an undeclared hyperparameter keeps the service's default",
        {},
        {"hyperparameters": {"epochCount": 5, "batchSize": 4}},
        Action.REPLACE,
        ("tunedModelId",),
    ),
    ("another base model", {}, {"baseModel": "models/other-001"}, Action.REPLACE, ("baseModel",)),
    ("another dataset", {}, {"datasetDigest": "sha256:" + "b" * 64}, Action.REPLACE, ("tunedModelId",)),
]


@pytest.mark.parametrize(
    ("case", "service", "declared", "action", "fields"), LIVE_CASES, ids=[c[0] for c in LIVE_CASES]
)
def test_decide_against_the_live_model(
    case: str, service: dict[str, Any], declared: dict[str, Any], action: Action, fields: tuple[str, ...]
) -> None:
    current = live(INPUTS, **service)
    desired = ModelInputs.model_validate({**INPUTS, **declared}).desired()
    decision = decide(observed_from_live(current), desired)
    assert decision.action is action, decision.summary()
    assert tuple(c.field for c in decision.changes) == fields


def test_a_retrain_against_the_live_model_says_why_when_only_the_id_shows_it() -> None:
    desired = ModelInputs.model_validate({**INPUTS, "datasetDigest": "sha256:" + "b" * 64}).desired()
    decision = decide(observed_from_live(live(INPUTS)), desired)
    assert decision.note == "the dataset or a defaulted hyperparameter changed"


def test_nothing_on_the_service_is_create_or_adopt() -> None:
    desired = ModelInputs.model_validate(INPUTS).desired()
    assert decide(None, desired).action is Action.CREATE
    adopt = {k: v for k, v in INPUTS.items() if k != "datasetDigest"}
    assert decide(None, ModelInputs.model_validate({**adopt, "adopt": "tunedModels/x"}).desired()).action is (
        Action.ADOPT
    )


GRANT = {"model": "tunedModels/m", "granteeType": "USER", "emailAddress": "a@example.com", "role": "READER"}

GRANT_CASES: list[tuple[str, dict[str, Any], frozenset[str], Action, tuple[str, ...], bool]] = [
    ("same", {}, frozenset(), Action.NONE, (), False),
    ("email case", {"emailAddress": "A@Example.com"}, frozenset(), Action.NONE, (), False),
    ("role", {"role": "WRITER"}, frozenset(), Action.UPDATE, ("role",), False),
    ("unknown role", {}, frozenset({"role"}), Action.UPDATE, ("role",), False),
    ("grantee", {"emailAddress": "b@example.com"}, frozenset(), Action.REPLACE, ("emailAddress",), True),
    ("type", {"granteeType": "GROUP"}, frozenset(), Action.REPLACE, ("granteeType",), True),
    ("model", {"model": "tunedModels/n"}, frozenset(), Action.REPLACE, ("model",), False),
    ("unknown model", {}, frozenset({"model"}), Action.REPLACE, ("model",), False),
]


@pytest.mark.parametrize(
    ("case", "change", "unknown", "action", "fields", "revoke_first"),
    GRANT_CASES,
    ids=[c[0] for c in GRANT_CASES],
)
def test_decide_grant(
    case: str,
    change: dict[str, Any],
    unknown: frozenset[str],
    action: Action,
    fields: tuple[str, ...],
    revoke_first: bool,
) -> None:
    decision = decide_grant(GRANT, {**GRANT, **change}, unknown)
    assert decision.action is action
    assert tuple(c.field for c in decision.changes) == fields
    assert decision.delete_before_replace is revoke_first


def test_decide_owner() -> None:
    old = {"model": "tunedModels/m", "emailAddress": "boss@example.com"}
    assert decide_owner(old, {**old, "emailAddress": "BOSS@example.com"}).action is Action.NONE
    assert decide_owner(old, {**old, "emailAddress": "new@example.com"}).action is Action.UPDATE
    moved = decide_owner(old, {**old, "model": "tunedModels/n"})
    assert moved.action is Action.REPLACE and moved.delete_before_replace
    assert decide_owner(old, old, frozenset({"model"})).changes[0].field == "model"
    assert KNOWN_AFTER_APPLY == "(known after apply)"


def user(email: str, role: Role | None, name: str | None = None) -> Grant:
    return Grant(GranteeType.USER, email, role, name)


def test_plan_grants_uses_the_same_decisions_as_the_resources() -> None:
    live_grants = [
        user("me@example.com", Role.OWNER, "p0"),
        user("reader@example.com", Role.READER, "p1"),
        user("Intruder@example.com", Role.WRITER, "p2"),
    ]
    declared = [user("READER@example.com", Role.WRITER), Grant(GranteeType.EVERYONE, None, Role.READER)]
    assert plan_grants("tunedModels/m", declared, "boss@example.com", live_grants) == [
        GrantChange("user:reader@example.com", GrantAction.ROLE, "WRITER", "READER"),
        GrantChange("everyone", GrantAction.GRANT, "READER"),
        GrantChange("user:intruder@example.com", GrantAction.NOT_DECLARED, None, "WRITER"),
        GrantChange("user:boss@example.com", GrantAction.TRANSFER, "OWNER"),
    ]
    assert plan_grants("tunedModels/m", [], "ME@example.com", live_grants[:1]) == []


def test_plan_grants_for_a_model_not_there_yet_grants_everything() -> None:
    declared = [user("a@example.com", Role.READER)]
    assert plan_grants("tunedModels/m", declared, None, None) == [
        GrantChange("user:a@example.com", GrantAction.GRANT, "READER")
    ]
