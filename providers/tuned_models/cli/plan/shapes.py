"""The plan's shapes: what ``pulumi up`` does to each model (:class:`ModelPlan`) and grantee
(:class:`GrantPlan`) of a stack (:class:`StackPlan`), and their JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tuned_models.cli.frame import StackEntry
from tuned_models.discovery import OtherModel, Unmanaged
from tuned_models.model.evaluation import Gate
from tuned_models.model.planner import (
    FieldChange,
)
from tuned_models.model.state import Deployment


class ModelAction(StrEnum):
    """What ``pulumi up`` does to one model (see the module docstring)."""

    CREATE = "create"
    ADOPT = "adopt"
    RETRAIN = "retrain"
    UPDATE = "update"
    EVALUATE = "re-evaluate"
    DELETE = "delete"
    FORGET = "forget"
    NONE = "none"


#: How the Markdown names each action.
ACTION_WORDS = {
    ModelAction.CREATE: "create",
    ModelAction.ADOPT: "adopt",
    ModelAction.RETRAIN: "retrain",
    ModelAction.UPDATE: "update in place",
    ModelAction.EVALUATE: "re-evaluate",
    ModelAction.DELETE: "delete",
    ModelAction.FORGET: "forget (stays on the service)",
    ModelAction.NONE: "no change",
}


class SharingChange(StrEnum):
    """What ``pulumi up`` does to one grantee of a model. The last three are not changes."""

    GRANT = "grant"
    ROLE = "role"
    REGRANT = "regrant"
    REVOKE = "revoke"
    TRANSFER = "transfer ownership"
    RELEASE = "stop managing ownership"
    NOT_MANAGED = "not managed"
    NOT_ATTRIBUTED = "not attributed"


#: The sharing entries a plan shows that are not changes.
NOT_CHANGES = (SharingChange.NOT_MANAGED, SharingChange.NOT_ATTRIBUTED)


@dataclass
class GrantPlan:
    """One grantee's sharing change."""

    grantee: str
    change: SharingChange
    role: str | None = None
    old_role: str | None = None
    note: str = ""

    @property
    def is_change(self) -> bool:
        return self.change not in NOT_CHANGES

    def to_json(self) -> dict[str, Any]:
        return {
            "grantee": self.grantee,
            "change": self.change.value,
            "role": self.role,
            "oldRole": self.old_role,
            "note": self.note,
            "isChange": self.is_change,
        }


@dataclass
class ModelPlan:
    """What ``pulumi up`` does to one model and its sharing."""

    model: str
    action: ModelAction
    step: str
    tuned_model: str | None
    current: str | None = None
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""
    delete_first: bool = False
    refused: str | None = None
    evaluates: bool = False
    gate: Gate | None = None
    recorded_score: float | None = None
    permissions: list[GrantPlan] = field(default_factory=list)
    deployment: Deployment | None = None

    @property
    def is_change(self) -> bool:
        return self.action is not ModelAction.NONE or any(g.is_change for g in self.permissions)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "action": self.action.value,
            "step": self.step,
            "tunedModel": self.tuned_model,
            "current": self.current,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
            "reason": self.reason,
            "deleteFirst": self.delete_first,
            "refused": self.refused,
            "evaluates": self.evaluates,
            "gate": None
            if self.gate is None
            else {
                "metric": self.gate.metric.value,
                "minScore": self.gate.min_score,
                "recordedScore": self.recorded_score,
            },
            "permissions": [g.to_json() for g in self.permissions],
            "deployment": self.deployment.to_json() if self.deployment else None,
        }


@dataclass
class StackPlan(StackEntry):
    """The plan of one stack."""

    models: list[ModelPlan] = field(default_factory=list)
    others: list[OtherModel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return any(m.is_change for m in self.models)

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in ModelAction}
        for m in self.models:
            counts[m.action.value] += 1
        counts["sharing"] = sum(g.is_change for m in self.models for g in m.permissions)
        for kind in Unmanaged:
            counts[kind.value] = sum(o.kind is kind for o in self.others)
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            **self.entry_json(),
            "changes": self.changes,
            "models": [m.to_json() for m in self.models],
            "otherModels": [o.to_json() for o in self.others],
            "notes": self.notes,
            "summary": self.summary(),
        }


# -- building the plan -----------------------------------------------------------------------------
