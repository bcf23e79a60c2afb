"""The pure planner: what a change means, for models and for grants (decide, then act).

Every function here is pure: no I/O. The provider's ``diff`` (and
``update``, which Pulumi does not hand the diff) and ``tuned-models plan`` call the same
functions, so ``plan`` says exactly what ``pulumi up`` decides.

Models (:func:`decide`; field behaviour comes from the backend's field table, see
:mod:`tuned_models.model.fields`):

- nothing observed -> ``CREATE`` (``ADOPT`` when the spec says ``adopt``);
- a different deterministic id (a create-only field changed) -> ``REPLACE``, naming the fields;
- an observed ``FAILED`` model -> ``REPLACE``; since the id is unchanged, delete before replace
  (never for an adopted model: it is not ours to retrain);
- a declared updatable field that differs -> ``UPDATE`` of exactly those fields;
- a model still ``CREATING`` -> ``UPDATE`` with no fields: the next ``up`` picks up the outcome;
- a recorded quality gate that differs from the declared one (``evaluation``: its metric,
  ``minScore`` or examples' digest) -> ``EVALUATE``: the same model is evaluated again, nothing
  retrains (with updatable fields that differ too: ``UPDATE`` of both). A removed gate is an
  ``UPDATE`` that drops the recorded score. Only Pulumi's outputs record a gate: the service
  keeps none, so an observation of the service alone (``in_state`` not known) shows no gate
  change;
- a model on the service under the desired id that Pulumi has not recorded (``in_state``
  False: an interrupted ``up``, or a model that failed its gate) is what the backend's
  ``submit`` finds (:func:`decide_unrecorded`): ACTIVE -> ``CREATE``, which adopts it without
  training (and runs the gate); CREATING -> ``CREATE``, which waits for it; FAILED (a vertex
  job that failed or was cancelled, or whose model or endpoint was deleted since, reads FAILED
  too) -> ``REPLACE`` deleting it first: it is deleted and trained again (the service's message
  in the note when the observation has it; what a delete removes is the backend's,
  :attr:`~tuned_models.model.fields.FieldTable.deletes`). Beside a model Pulumi records for the
  resource, the same, as the replacement of that one;
- otherwise ``NONE``. A decision whose action runs the gate says so (``evaluate``), and its
  note names the gate. An updatable field the spec does not declare is not managed: the
  service's value (e.g. the base model's default temperature) is never a change.

Numbers are compared as numbers (Pulumi sends every number as a float; the service stores
sampling parameters as float32). During a preview some inputs are unknown
(:func:`decide_inputs`): an unknown input that could replace the model means replace, any
other unknown means update.

Grants (:func:`decide_grant`, :func:`decide_owner`, :func:`plan_grants`): another model or
grantee replaces a grant (revoking first when the model stays, so that a create never adopts
the very permission about to be deleted); another role updates it; the owner is transferred
when it differs, case-insensitively.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tuned_models.backends import fields_for
from tuned_models.config import DEFAULT_BACKEND
from tuned_models.model.desired import Desired, ModelInputs
from tuned_models.model.evaluation import Gate
from tuned_models.model.fields import FieldTable
from tuned_models.model.grants import Grant, Role, grantee_key
from tuned_models.model.ids import canonical, is_legacy_id
from tuned_models.model.state import LiveModel, ModelState

__all__ = [
    "GATE_FIELD",
    "KNOWN_AFTER_APPLY",
    "Action",
    "Decision",
    "FieldChange",
    "GrantAction",
    "GrantChange",
    "Observed",
    "decide",
    "decide_grant",
    "decide_inputs",
    "decide_owner",
    "decide_unrecorded",
    "observed_from_live",
    "observed_from_outputs",
    "plan_grants",
    "same_value",
    "with_gate",
]

#: How a change shows a value that is unknown until the apply.
KNOWN_AFTER_APPLY = "(known after apply)"
#: The field of the quality gate; its changes are ``evaluation`` or ``evaluation.<key>``.
GATE_FIELD = "evaluation"


class Action(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"
    REPLACE = "replace"
    UPDATE = "update"
    EVALUATE = "evaluate"
    NONE = "none"
    DELETE = "delete"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``old`` as recorded or observed, ``new`` as declared."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Observed:
    """What is known of a model: from Pulumi outputs (``training`` recorded) or the service.

    ``model_id`` is the deterministic id the model was created under. ``training`` is the
    create-only fields as they were declared when the model was created (the provider records
    them in its outputs); ``None`` when only the live model is known, in which case
    ``live_training`` (base model, source, resolved hyperparameters) explains a retrain as well
    as the service allows. ``evaluation``: the recorded outcome of its quality gate (the
    ``evaluation`` output). ``in_state``: whether Pulumi has recorded this model (None: not
    known, as when only the service was read). ``error``: for a FAILED model, the service's
    message when it is known.
    """

    name: str
    model_id: str
    state: ModelState
    mutable: Mapping[str, Any]
    training: Mapping[str, Any] | None = None
    live_training: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] | None = None
    in_state: bool | None = None
    error: str | None = None


def is_gate_field(name: str) -> bool:
    """Whether a change's field is the quality gate (``evaluation`` or ``evaluation.<key>``)."""
    return name == GATE_FIELD or name.startswith(GATE_FIELD + ".")


@dataclass(frozen=True)
class Decision:
    """The outcome of the planner. ``evaluate``: the action runs the quality gate."""

    action: Action
    changes: tuple[FieldChange, ...] = ()
    delete_before_replace: bool = False
    note: str = ""
    evaluate: bool = False

    @property
    def replace_fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.changes) if self.action is Action.REPLACE else ()

    @property
    def update_fields(self) -> tuple[str, ...]:
        """The updatable fields to patch (the gate's changes are not patched)."""
        if self.action is not Action.UPDATE:
            return ()
        return tuple(c.field for c in self.changes if not is_gate_field(c.field))

    @property
    def gate_changes(self) -> tuple[FieldChange, ...]:
        """The changes of the quality gate."""
        return tuple(c for c in self.changes if is_gate_field(c.field))

    def summary(self) -> str:
        """One line a reviewer can read, e.g. ``replace: hyperparameters.epochCount 5 -> 8``."""
        parts = [f"{c.field} {_show(c.old)} -> {_show(c.new)}" for c in self.changes]
        text = self.action.value + (": " + ", ".join(parts) if parts else "")
        return f"{text} ({self.note})" if self.note else text


def _show(v: Any) -> str:
    if v is None:
        return "(unset)"
    if isinstance(v, str) and len(v) > 40:
        return repr(v[:37] + "...")
    if isinstance(v, str):
        return repr(v)
    return canonical(v)


def same_value(a: Any, b: Any) -> bool:
    """Equality as the service sees it: numbers by value (float32 tolerance), dicts by content."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = {k for k, v in a.items() if v is not None} | {k for k, v in b.items() if v is not None}
        return all(same_value(a.get(k), b.get(k)) for k in keys)
    return bool(a == b)


def observed_from_outputs(olds: Mapping[str, Any], fields: FieldTable) -> Observed:
    """What Pulumi state records about a model (the old outputs)."""
    model_id = str(olds.get("tunedModelId") or "")
    name = str(olds.get("name") or fields.model_name(model_id) or model_id)
    try:
        state = ModelState(olds.get("state") or ModelState.STATE_UNSPECIFIED.value)
    except ValueError:
        state = ModelState.STATE_UNSPECIFIED
    return Observed(
        name=name,
        model_id=model_id or name.rpartition("/")[2],
        state=state,
        mutable={f: olds.get(f) for f in fields.updatable},
        training=olds.get("trainingSpec") or {},
        evaluation=olds.get(GATE_FIELD) if isinstance(olds.get(GATE_FIELD), Mapping) else None,
        in_state=True,
    )


def observed_from_live(
    model: LiveModel, *, in_state: bool | None = None, evaluation: Mapping[str, Any] | None = None
) -> Observed:
    """What the service shows of a model, in the planner's terms (no recorded training spec;
    ``in_state``: whether Pulumi records it, when the caller knows; ``evaluation``: then the
    gate Pulumi recorded for it; ``error``: the message of a FAILED training, from the model's
    progress when the backend filled it in)."""
    return Observed(
        name=model.name,
        model_id=model.model_id,
        state=model.state,
        mutable=model.mutable,
        training=None,
        live_training=model.training,
        evaluation=evaluation,
        in_state=in_state,
        error=model.progress.error if model.progress is not None else None,
    )


def _gate_changes(observed: Observed, desired: Desired) -> tuple[FieldChange, ...]:
    """How the declared gate differs from the recorded one (nothing unless Pulumi records the
    model: the service keeps no gate)."""
    if not observed.in_state:
        return ()
    old, new = Gate.from_record(observed.evaluation), desired.gate
    if old is None or new is None:
        if old is None and new is None:
            return ()
        return (FieldChange(GATE_FIELD, old.describe() if old else None, new.describe() if new else None),)
    changes: list[FieldChange] = []
    if old.metric is not new.metric:
        changes.append(FieldChange(f"{GATE_FIELD}.metric", old.metric.value, new.metric.value))
    if not same_value(old.min_score, new.min_score):
        changes.append(FieldChange(f"{GATE_FIELD}.minScore", old.min_score, new.min_score))
    if old.digest != new.digest:
        changes.append(FieldChange(f"{GATE_FIELD}.examples", old.digest, new.digest))
    return tuple(changes)


def with_gate(note: str, desired: Desired, before: str) -> str:
    """``note``, then what the gate will do (when the model declares one)."""
    if desired.gate is None:
        return note
    gate = f"then the quality gate ({desired.gate.describe()}) must pass before {before}"
    return f"{note}; {gate}" if note else gate


def _training_changes(observed: Observed, desired: Desired) -> tuple[FieldChange, ...]:
    fields = desired.fields
    changes: list[FieldChange] = []
    if observed.training is not None:
        for f in fields.training:
            old, new = observed.training.get(f), desired.training.get(f)
            if fields[f].by_key:
                changes.extend(_by_key(f, old or {}, new or {}, sorted(set(old or {}) | set(new or {}))))
            elif not same_value(old, new):
                changes.append(FieldChange(f, old, new))
        return tuple(changes)
    # Only the live model is known: compare what the service shows; declared values of a mapping
    # against the resolved ones (an undeclared one takes the service's default).
    live = observed.live_training
    for f in fields.training:
        if f not in live:
            continue
        new = desired.training.get(f)
        if fields[f].by_key:
            changes.extend(_by_key(f, live.get(f) or {}, new or {}, sorted(new or {})))
        elif new is not None and not same_value(live.get(f), new):
            changes.append(FieldChange(f, live.get(f), new))
    return tuple(changes)


def _by_key(f: str, old: Mapping[str, Any], new: Mapping[str, Any], keys: list[str]) -> list[FieldChange]:
    return [
        FieldChange(f"{f}.{k}", old.get(k), new.get(k))
        for k in keys
        if not same_value(old.get(k), new.get(k))
    ]


def decide(observed: Observed | None, desired: Desired) -> Decision:
    """Decide what reconciling ``desired`` against ``observed`` takes (see the module doc)."""
    gated = desired.gate is not None
    if observed is None:
        if desired.adopt:
            note = with_gate(f"take over {desired.adopt} without training", desired, "it is recorded")
            return Decision(Action.ADOPT, note=note, evaluate=gated)
        note = with_gate("not on the service yet", desired, "it is recorded")
        return Decision(Action.CREATE, note=note, evaluate=gated)
    serving = "it replaces the serving model (which stays if the gate fails)"
    if desired.adopt and observed.name != desired.adopt:
        adopted = (FieldChange("adopt", observed.name, desired.adopt),)
        return Decision(Action.REPLACE, adopted, note=with_gate("", desired, serving), evaluate=gated)
    if not desired.adopt and observed.model_id != desired.model_id:
        changes = _training_changes(observed, desired)
        note = ""
        if not changes:
            note = (
                "the dataset or a defaulted hyperparameter changed"
                if observed.training is None
                else "the model id changed"
            )
            if is_legacy_id(observed.model_id):
                note = (
                    "made before ids had an 8-character stack tag: retrained once under its new id "
                    "(create before delete)"
                )
            changes = (FieldChange("tunedModelId", observed.model_id, desired.model_id),)
        return Decision(Action.REPLACE, changes, note=with_gate(note, desired, serving), evaluate=gated)
    if observed.in_state is False:
        return _unrecorded(observed, desired)
    if observed.state is ModelState.FAILED and not desired.adopt:
        return Decision(
            Action.REPLACE,
            (FieldChange("state", ModelState.FAILED.value, ModelState.ACTIVE.value),),
            delete_before_replace=True,
            note=with_gate(
                f"the recorded training FAILED{f' ({observed.error})' if observed.error else ''}; it is "
                f"{desired.fields.deleted()}, then trained again",
                desired,
                "it is recorded",
            ),
            evaluate=gated,
        )
    updated = tuple(
        FieldChange(f, observed.mutable.get(f), desired.mutable[f])
        for f in desired.fields.updatable
        if desired.mutable.get(f) is not None and not same_value(observed.mutable.get(f), desired.mutable[f])
    )
    gate_changes = _gate_changes(observed, desired)
    if gate_changes and desired.gate is not None:
        note = f"the same model is evaluated against the changed gate ({desired.gate.describe()})"
        if updated:
            return Decision(Action.UPDATE, updated + gate_changes, note=f"then {note}", evaluate=True)
        return Decision(Action.EVALUATE, gate_changes, note=f"{note}; nothing retrains", evaluate=True)
    if updated or gate_changes:
        note = "the gate is removed: its recorded score is dropped" if gate_changes else ""
        return Decision(Action.UPDATE, updated + gate_changes, note=note)
    if observed.state is ModelState.CREATING:
        return Decision(Action.UPDATE, note="training in progress; the outcome is recorded")
    return Decision(Action.NONE)


def _unrecorded_note(trained: Observed, fields: FieldTable) -> str:
    """What ``pulumi up`` does with ``trained``, a model under the desired id that Pulumi has not
    recorded (the backend's ``submit`` finds it before training)."""
    if trained.state is ModelState.FAILED:
        why = f" ({trained.error})" if trained.error else ""
        return f"the previous attempt FAILED{why}; it will be {fields.deleted()} and trained again"
    if trained.state is ModelState.CREATING:
        return (
            f"{trained.name} is still training, submitted by an earlier `up` that did not record "
            "it: `pulumi up` waits for it (no second training)"
        )
    return (
        f"{trained.name} is trained but not recorded (its quality gate failed, or its `up` was "
        "interrupted): `pulumi up` adopts it without training"
    )


def _unrecorded(trained: Observed, desired: Desired) -> Decision:
    gated = desired.gate is not None
    note = with_gate(_unrecorded_note(trained, desired.fields), desired, "it is recorded")
    if trained.state is ModelState.FAILED:
        failed = (FieldChange("state", ModelState.FAILED.value, ModelState.ACTIVE.value),)
        return Decision(Action.REPLACE, failed, delete_before_replace=True, note=note, evaluate=gated)
    return Decision(Action.CREATE, note=note, evaluate=gated)


def decide_unrecorded(trained: LiveModel, serving: Mapping[str, Any] | None, desired: Desired) -> Decision:
    """The decision for ``trained``, a model on the service under the desired id that Pulumi has
    not recorded (its quality gate failed, its ``up`` was interrupted, or its training FAILED):
    what the backend's ``submit`` does with it (adopt it without training, wait for it, or delete
    and train it again), as a create, or as the replacement of the model Pulumi records for the
    resource (``serving``: that one's recorded outputs)."""
    if serving is None:
        return decide(observed_from_live(trained, in_state=False), desired)
    decision = decide(observed_from_outputs(serving, desired.fields), desired)
    note = _unrecorded_note(observed_from_live(trained, in_state=False), desired.fields)
    return dataclasses.replace(decision, note="; ".join(filter(None, [note, decision.note])))


def decide_inputs(
    olds: Mapping[str, Any], news: Mapping[str, Any], unknown: Set[str] = frozenset()
) -> Decision:
    """The decision for a ``TunedModel`` given its old outputs and new inputs, some of which
    (``unknown``, during a preview) are not known yet: an unknown input that could replace the
    model means replace; otherwise the known inputs decide, and an unknown one that would
    leave nothing to do still means update.

    Raises pydantic's ValidationError for known inputs that do not validate (the provider's
    ``check`` has reported them before any diff).
    """
    known = {k: v for k, v in news.items() if k not in unknown}
    backend = known.get("backend")
    replacing = unknown & set(fields_for(backend if isinstance(backend, str) else DEFAULT_BACKEND).replacing)
    if replacing:
        return Decision(Action.REPLACE, (FieldChange(sorted(replacing)[0], None, KNOWN_AFTER_APPLY),))
    inputs = ModelInputs.model_validate(known)
    observed = observed_from_outputs(olds, inputs.fields)
    decision = decide(observed, inputs.desired())
    if unknown and decision.action is Action.NONE:
        return Decision(
            Action.UPDATE,
            tuple(FieldChange(f, observed.mutable.get(f), "(unknown)") for f in sorted(unknown)),
        )
    return decision


# -- grants --------------------------------------------------------------------------------------

#: The inputs of a grant that identify it (a change replaces it), in the order diff reports them.
GRANT_IDENTITY = ("model", "granteeType", "emailAddress")


def _fold(v: Any) -> str | None:
    """A grant's identity field as the service compares it (emails are case-insensitive)."""
    return str(v).lower() if v else None


def decide_grant(old: Mapping[str, Any], new: Mapping[str, Any], unknown: Set[str] = frozenset()) -> Decision:
    """What a change of a ``TunedModelPermission``'s inputs (``model``, ``granteeType``,
    ``emailAddress``, ``role``) takes: replace for another model or grantee (revoking first
    when the model is the same), update for another role, else nothing."""
    replaces = tuple(
        FieldChange(k, old.get(k), new.get(k))
        for k in GRANT_IDENTITY
        if k in unknown or _fold(old.get(k)) != _fold(new.get(k))
    )
    if replaces:
        return Decision(
            Action.REPLACE, replaces, delete_before_replace="model" not in {c.field for c in replaces}
        )
    if "role" in unknown or old.get("role") != new.get("role"):
        return Decision(Action.UPDATE, (FieldChange("role", old.get("role"), new.get("role")),))
    return Decision(Action.NONE)


def decide_owner(old: Mapping[str, Any], new: Mapping[str, Any], unknown: Set[str] = frozenset()) -> Decision:
    """What a change of a ``TunedModelOwner``'s inputs (``model``, ``emailAddress``) takes:
    another model replaces it (the old one keeps its owner); another owner transfers again."""
    if "model" in unknown or old.get("model") != new.get("model"):
        return Decision(
            Action.REPLACE,
            (FieldChange("model", old.get("model"), new.get("model")),),
            delete_before_replace=True,
        )
    if "emailAddress" in unknown or _fold(old.get("emailAddress")) != _fold(new.get("emailAddress")):
        return Decision(
            Action.UPDATE, (FieldChange("emailAddress", old.get("emailAddress"), new.get("emailAddress")),)
        )
    return Decision(Action.NONE)


class GrantAction(StrEnum):
    """A sharing change in a plan. ``NOT_DECLARED``: a live grant the file does not declare.
    Without Pulumi state, plan cannot tell a grant this stack made and the file dropped
    (``pulumi up`` revokes it) from one made outside the stack (``pulumi up`` leaves it)."""

    GRANT = "grant"
    ROLE = "role"
    NOT_DECLARED = "not declared"
    TRANSFER = "transfer ownership"


@dataclass(frozen=True)
class GrantChange:
    """One sharing change of a plan."""

    grantee: str
    change: GrantAction
    role: str | None = None
    old_role: str | None = None


def grant_inputs(model: str, grant: Grant) -> dict[str, Any]:
    """The inputs of the ``TunedModelPermission`` for ``grant`` on ``model``."""
    return {
        "model": model,
        "granteeType": grant.grantee_type.value if grant.grantee_type else None,
        "emailAddress": grant.email,
        "role": grant.role.value if grant.role else None,
    }


def plan_grants(
    model: str, declared: Sequence[Grant], owner: str | None, live: Sequence[Grant] | None
) -> list[GrantChange]:
    """The sharing changes ``pulumi up`` makes to ``model``: each declared grant against the live
    grant of the same grantee (:func:`decide_grant`), live grants the file does not declare,
    and the owner (:func:`decide_owner`). ``live`` None: the model is not there yet."""
    changes: list[GrantChange] = []
    current = {g.key: g for g in live or [] if g.role is not Role.OWNER}
    live_owner = next((g.email for g in live or [] if g.role is Role.OWNER), None)
    for grant in declared:
        have = current.pop(grant.key, None)
        role = grant.role.value if grant.role else None
        if have is None:
            changes.append(GrantChange(grant.key, GrantAction.GRANT, role))
            continue
        decision = decide_grant(grant_inputs(model, have), grant_inputs(model, grant))
        if decision.action is not Action.NONE:
            changes.append(
                GrantChange(grant.key, GrantAction.ROLE, role, have.role.value if have.role else None)
            )
    for key, g in sorted(current.items()):
        changes.append(GrantChange(key, GrantAction.NOT_DECLARED, None, g.role.value if g.role else None))
    if owner:
        decision = decide_owner(
            {"model": model, "emailAddress": live_owner}, {"model": model, "emailAddress": owner}
        )
        if decision.action is not Action.NONE:
            changes.append(GrantChange(grantee_key("user", owner), GrantAction.TRANSFER, Role.OWNER.value))
    return changes
