"""The pure planner: what a change to a model's spec means (decide, then act).

:func:`decide` is a pure function of what is recorded or observed about a model and what the
spec now declares. The provider's ``diff`` feeds it the old outputs from Pulumi state;
``tuned-models plan`` feeds it the live model from the service. Nothing here performs I/O.

Rules (fields are declared in :mod:`tuned_models.spec`):

- nothing observed -> ``CREATE`` (``ADOPT`` when the spec says ``adopt``);
- a different ``tunedModelId`` (a create-only field changed) -> ``REPLACE``, naming the fields;
- an observed ``FAILED`` model -> ``REPLACE``; since the id is unchanged, delete before replace
  (never for an adopted model: it is not ours to retrain);
- a declared updatable field that differs -> ``UPDATE`` of exactly those fields;
- a model still ``CREATING`` -> ``UPDATE`` with no fields: the next ``up`` picks up the outcome;
- otherwise ``NONE``. An updatable field the spec does not declare is not managed: the
  service's value (e.g. the base model's default temperature) is never a change.
Numbers are compared as numbers (Pulumi sends every number as a float; the service stores
sampling parameters as float32).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tuned_models.ids import canonical
from tuned_models.spec import CREATE_ONLY_FIELDS, UPDATABLE_FIELDS


class Action(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"
    REPLACE = "replace"
    UPDATE = "update"
    NONE = "none"
    DELETE = "delete"


class State(StrEnum):
    """A tuned model's state as the service reports it."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``old`` as recorded or observed, ``new`` as declared."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Desired:
    """What the spec declares for one model, reduced to what decides an action."""

    tuned_model_id: str
    training: Mapping[str, Any]
    mutable: Mapping[str, Any]
    adopt: str | None = None

    @property
    def name(self) -> str:
        return self.adopt or f"tunedModels/{self.tuned_model_id}"


@dataclass(frozen=True)
class Observed:
    """What is known of a model: from Pulumi outputs (``training`` recorded) or the service.

    ``training`` is the create-only fields as they were declared when the model was created
    (the provider records them in its outputs); ``None`` when only the live model is known, in
    which case ``live_training`` (base model, source, resolved hyperparameters) explains a
    retrain as well as the service allows.
    """

    name: str
    state: State
    mutable: Mapping[str, Any]
    training: Mapping[str, Any] | None = None
    live_training: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tuned_model_id(self) -> str:
        return self.name.removeprefix("tunedModels/")


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`."""

    action: Action
    changes: tuple[FieldChange, ...] = ()
    delete_before_replace: bool = False
    note: str = ""

    @property
    def replace_fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.changes) if self.action is Action.REPLACE else ()

    @property
    def update_fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.changes) if self.action is Action.UPDATE else ()

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


def _training_changes(observed: Observed, desired: Desired) -> tuple[FieldChange, ...]:
    if observed.training is not None:
        changes: list[FieldChange] = []
        for f in CREATE_ONLY_FIELDS:
            old, new = observed.training.get(f), desired.training.get(f)
            if f == "hyperparameters":
                old_h: Mapping[str, Any] = old or {}
                new_h: Mapping[str, Any] = new or {}
                for k in sorted(set(old_h) | set(new_h)):
                    if not same_value(old_h.get(k), new_h.get(k)):
                        changes.append(FieldChange(f"hyperparameters.{k}", old_h.get(k), new_h.get(k)))
            elif not same_value(old, new):
                changes.append(FieldChange(f, old, new))
        return tuple(changes)
    # Only the live model is known: compare what the service shows; declared hyperparameters
    # against the resolved ones (an undeclared one takes the service's default).
    live = observed.live_training
    changes = []
    for f in ("baseModel", "tunedModelSource"):
        if desired.training.get(f) is not None and not same_value(live.get(f), desired.training.get(f)):
            changes.append(FieldChange(f, live.get(f), desired.training.get(f)))
    live_h: Mapping[str, Any] = live.get("hyperparameters") or {}
    for k, v in sorted((desired.training.get("hyperparameters") or {}).items()):
        if not same_value(live_h.get(k), v):
            changes.append(FieldChange(f"hyperparameters.{k}", live_h.get(k), v))
    return tuple(changes)


def decide(observed: Observed | None, desired: Desired) -> Decision:
    """Decide what reconciling ``desired`` against ``observed`` takes. Pure; never raises."""
    if observed is None:
        if desired.adopt:
            return Decision(Action.ADOPT, note=f"take over {desired.adopt} without training")
        return Decision(Action.CREATE, note="not on the service yet")
    if desired.adopt and observed.name != desired.adopt:
        return Decision(Action.REPLACE, (FieldChange("adopt", observed.name, desired.adopt),))
    if not desired.adopt and observed.tuned_model_id != desired.tuned_model_id:
        changes = _training_changes(observed, desired)
        if not changes:
            note = (
                "the dataset or a defaulted hyperparameter changed"
                if observed.training is None
                else "the model id changed"
            )
            changes = (FieldChange("tunedModelId", observed.tuned_model_id, desired.tuned_model_id),)
            return Decision(Action.REPLACE, changes, note=note)
        return Decision(Action.REPLACE, changes)
    if observed.state is State.FAILED and not desired.adopt:
        return Decision(
            Action.REPLACE,
            (FieldChange("state", State.FAILED.value, State.ACTIVE.value),),
            delete_before_replace=True,
            note="the recorded training failed; retrain",
        )
    changes = tuple(
        FieldChange(f, observed.mutable.get(f), desired.mutable[f])
        for f in UPDATABLE_FIELDS
        if desired.mutable.get(f) is not None and not same_value(observed.mutable.get(f), desired.mutable[f])
    )
    if changes:
        return Decision(Action.UPDATE, changes)
    if observed.state is State.CREATING:
        return Decision(Action.UPDATE, note="training in progress; the outcome is recorded")
    return Decision(Action.NONE)
