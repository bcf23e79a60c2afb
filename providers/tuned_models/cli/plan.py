"""``tuned-models plan --stack NAME``: exactly what ``pulumi up`` will do to a stack's models and
their sharing, for a reviewer to approve.

``pulumi up`` (with ``refresh: always``, see Pulumi.yaml) first reads every resource of the
stack's state from the service, then compares each declared resource with what it read (the
provider's ``diff``), then deletes the resources of the state the program no longer declares.
This command does the same, read-only, with the same code: the stack's state
(:mod:`tuned_models.stack.state`), the refresh (:func:`tuned_models.lifecycle.refreshed_outputs`),
the desired inputs (:func:`tuned_models.model.desired.model_inputs`) and the one planner
(:func:`tuned_models.model.planner.decide`, ``decide_unrecorded``, ``decide_grant``,
``decide_owner``).

What it says, per model (``action``; ``step`` is the step ``pulumi preview`` shows):

- ``create`` (step create): trained anew; or, when the service already has the exact
  deterministic id from an ``up`` that did not record it (interrupted, or the model failed its
  quality gate), adopted without a second training (waited for while it still trains);
- ``adopt`` (create): ``adopt: tunedModels/...`` takes over an existing model, no training;
- ``retrain`` (replace, or create when the state does not record it): with the fields that
  force it, the dataset file and its example counts, the source model whose retrain cascades,
  or the previous attempt that FAILED (deleted, then trained again); when the new id is
  already trained (its gate failed before), it replaces the serving model without training;
- ``update`` (update): the updatable fields, old and new;
- ``re-evaluate`` (update): only the quality gate changed: the same model is evaluated again,
  nothing retrains;
- ``delete`` (delete): in the state, no longer declared: removed from the service (adopted
  models included); ``forget``: the same with ``retainOnDelete``, left on the service;
- ``none`` (same).

A model with a quality gate says so: ``evaluates`` (the action runs the gate, which must pass
before the model is recorded or replaces the serving one) and ``gate`` (the declared metric and
``minScore``, and the score Pulumi recorded for the current model).

``tunedModel`` is the model's name once ``up`` is done (null for a vertex model not trained yet:
the service names its job), ``current`` its name now; for a vertex model, ``deployment`` is what
``current`` made: its tuning job, Model Registry model version and endpoint, which a retrain or
delete removes (the job stays: Vertex AI keeps every job).

``refused`` says when ``pulumi up`` will stop instead (``protect``, an adopted model that does
not exist). Models that carry the stack's tag but are neither in the state nor declared are
listed apart and are never changes: "not managed" (left by ``retainOnDelete``, an ownership
transfer, or a retrain that failed its quality gate before the spec changed again), "orphan"
(a FAILED attempt: ``tuned-models prune`` removes it), or, without state, "not attributed"
(the tag is not proof: it may be another stack's). Without state (no Pulumi
CLI, ``--no-state``) the plan is partial and says so: declared models are still matched by
their exact deterministic id, which is certain.

Exit codes: 0, or with ``--detailed-exitcode`` 0 (no changes) / 2 (changes); 1 on error.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tuned_models.cli.frame import Context, StackEntry, run_command
from tuned_models.cli.output import md_code, md_text
from tuned_models.discovery import OtherModel, Unmanaged
from tuned_models.gemini import NotFound
from tuned_models.lifecycle import refreshed_outputs
from tuned_models.model.desired import ModelInputs, creation_order, model_inputs, source_of
from tuned_models.model.evaluation import Gate, GateResult
from tuned_models.model.grants import Grant, Role
from tuned_models.model.planner import (
    GATE_FIELD,
    Action,
    FieldChange,
    GrantAction,
    decide,
    decide_grant,
    decide_owner,
    decide_unrecorded,
    grant_inputs,
    observed_from_live,
    observed_from_outputs,
    plan_grants,
    with_gate,
)
from tuned_models.model.spec import ModelSpec
from tuned_models.model.state import Deployment, LiveModel, ModelState
from tuned_models.stack.state import StateResource

__all__ = [
    "ACTION_WORDS",
    "GrantPlan",
    "ModelAction",
    "ModelPlan",
    "SharingChange",
    "StackPlan",
    "build_plan",
    "render_markdown",
    "run_plan",
]


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


_NOT_CHANGES = (SharingChange.NOT_MANAGED, SharingChange.NOT_ATTRIBUTED)


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
        return self.change not in _NOT_CHANGES

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


def _count(n: Any) -> str:
    return str(int(n)) if isinstance(n, int | float) else "?"


def _dataset_reason(inputs: ModelInputs, old_inputs: Mapping[str, Any], olds: Mapping[str, Any]) -> str:
    """Which examples changed: the file (or inline examples) and the example count, old -> new."""
    old_path = old_inputs.get("dataset")
    new_path = inputs.dataset
    old_count = _count(olds.get("exampleCount", old_inputs.get("exampleCount")))
    new_count = _count(inputs.exampleCount)
    if old_path and new_path and old_path != new_path:
        where = f"dataset {old_path} -> {new_path}"
    elif new_path:
        where = f"dataset {new_path}"
    elif old_path:
        where = f"dataset {old_path} -> inline examples"
    else:
        where = "inline examples"
    return f"{where} changed: {old_count} -> {new_count} examples"


class _Planner:
    def __init__(self, ctx: Context, progress: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.view = ctx.view
        self.state = ctx.view.state
        self.stack = ctx.stack
        self.backend = ctx.view.backend
        self.progress = progress
        self.after: dict[str, str | None] = {}  # a model's name once `pulumi up` is done
        self.retrained: set[str] = set()

    # -- declared models --------------------------------------------------------------------------

    def declared(self, name: str, spec: ModelSpec) -> ModelPlan:
        source = source_of(spec)
        source_name = self.after.get(source) if source is not None else None
        if source is not None and source_name is None:
            plan = ModelPlan(
                name,
                ModelAction.RETRAIN,
                "replace",
                None,
                reason=f"tuned from {source}, which is retrained first; its new name is known only then",
            )
            self.retrained.add(name)
            return plan
        inputs = model_inputs(
            self.ctx.project,
            self.stack.name,
            name,
            spec,
            self.stack.datasets.get(name),
            validation=self.stack.validation_datasets.get(name),
            evaluation=self.stack.evaluations.get(name),
            backend=self.stack.connection.backend,
            source_name=source_name,
        )
        recorded = self.state.models.get(name) if self.state is not None else None
        found = self._with_state(name, inputs, recorded) if recorded is not None else None
        plan = found if found is not None else self._not_recorded(name, inputs, recorded)
        if source is not None and source in self.retrained and plan.action is ModelAction.RETRAIN:
            plan.reason = "; ".join(
                x for x in (f"its source {source} is retrained, so this model is too", plan.reason) if x
            )
        if plan.action is ModelAction.RETRAIN:
            self.retrained.add(name)
        protected = spec.protect and recorded is not None and recorded.protect
        if plan.refused is None and plan.action is ModelAction.RETRAIN and protected:
            plan.refused = "protect is set: `pulumi up` refuses to replace it"
        self.after[name] = plan.tuned_model
        plan.gate = inputs.gate
        if recorded is not None and plan.current == recorded.service_name:
            result = GateResult.from_output(recorded.outputs.get(GATE_FIELD))
            plan.recorded_score = result.score if result is not None else None
        plan.permissions = self._sharing(name, spec, plan, recorded)
        return plan

    def _with_state(self, name: str, inputs: ModelInputs, recorded: StateResource) -> ModelPlan | None:
        """The plan of a model the state records, refreshed first; None when it is gone."""
        live = self.view.find(recorded.service_name)
        if live is None:
            return None
        olds = refreshed_outputs(live, recorded.outputs, self.backend.fields)
        desired = inputs.desired()
        trained = None if desired.adopt else self.view.exact(desired)
        unrecorded = trained is not None and trained.name != live.name
        target: str | None
        if trained is not None and unrecorded:
            # Trained under the desired id but not recorded (its gate failed, an interrupted up,
            # or a FAILED attempt): the replacement is what the backend's submit does with it.
            decision = decide_unrecorded(self._with_failure(trained), olds, desired)
            target = trained.name
        else:
            failure = self._with_failure(live).progress
            observed = dataclasses.replace(
                observed_from_outputs(olds, desired.fields), error=failure.error if failure else None
            )
            decision = decide(observed, desired)
            target = desired.name
        if decision.action is Action.NONE:
            return ModelPlan(name, ModelAction.NONE, "same", live.name, live.name)
        if decision.action in (Action.UPDATE, Action.EVALUATE):
            reason = decision.note
            if not decision.changes and live.state is ModelState.CREATING:
                reason = "training in progress: `pulumi up` waits for it and records the outcome"
            action = ModelAction.EVALUATE if decision.action is Action.EVALUATE else ModelAction.UPDATE
            return ModelPlan(
                name,
                action,
                "update",
                live.name,
                live.name,
                decision.changes,
                reason,
                evaluates=decision.evaluate,
            )
        fields = {c.field for c in decision.changes}
        dataset = _dataset_reason(inputs, recorded.inputs, olds) if "datasetDigest" in fields else ""
        # What happens to an unrecorded trained model comes first; else what forces the retrain.
        parts = (decision.note, dataset) if unrecorded else (dataset, decision.note)
        return ModelPlan(
            name,
            ModelAction.RETRAIN,
            "replace",
            target,
            live.name,
            decision.changes,
            "; ".join(x for x in parts if x),
            decision.delete_before_replace,
            evaluates=decision.evaluate,
        )

    def _with_failure(self, live: LiveModel) -> LiveModel:
        """``live``, with the service's message in its progress when its training FAILED."""
        if live.state is not ModelState.FAILED:
            return live
        try:
            progress = self.backend.progress(live)
        except NotFound:
            return live
        return dataclasses.replace(live, progress=progress)

    def _not_recorded(self, name: str, inputs: ModelInputs, recorded: StateResource | None) -> ModelPlan:
        """A model the state does not record (or records, but the service no longer has)."""
        desired = inputs.desired()
        gone = (
            f"{recorded.service_name} is gone from the service (deleted outside Pulumi); "
            if recorded is not None
            else ""
        )
        if desired.adopt:
            target = self.view.find(desired.adopt)
            refused = None
            if target is None:
                refused = f"{desired.adopt} does not exist: `pulumi up` fails"
            elif target.state is ModelState.FAILED:
                refused = f"{desired.adopt} FAILED: it cannot be adopted"
            note = f"takes over {desired.adopt} without training"
            changes: tuple[FieldChange, ...] = ()
            if target is not None:
                changes = decide(observed_from_live(target), desired).changes
                if changes:
                    note += " and patches " + ", ".join(c.field for c in changes)
            note = gone + with_gate(note, desired, "it is recorded")
            return ModelPlan(
                name,
                ModelAction.ADOPT,
                "create",
                desired.adopt,
                None,
                changes,
                note,
                refused=refused,
                evaluates=desired.gate is not None,
            )
        exact = self.view.exact(desired)
        if exact is not None and (self.state is not None or exact.state is ModelState.FAILED):
            # What the backend's submit finds under the desired id: a FAILED attempt is deleted
            # and trained again; a trained (or training) one is adopted without training.
            decision = decide_unrecorded(self._with_failure(exact), None, desired)
            failed = decision.action is Action.REPLACE
            return ModelPlan(
                name,
                ModelAction.RETRAIN if failed else ModelAction.CREATE,
                "create",
                exact.name,
                exact.name,
                decision.changes,
                gone + decision.note,
                delete_first=decision.delete_before_replace,
                evaluates=decision.evaluate,
            )
        if exact is not None:
            # Without state: the service shows the model this spec makes; `pulumi up` leaves it,
            # patches it, or (if the state does not record it) adopts it: never trains.
            decision = decide(observed_from_live(exact), desired)
            action = {Action.NONE: ModelAction.NONE, Action.UPDATE: ModelAction.UPDATE}.get(
                decision.action, ModelAction.CREATE
            )
            step = {ModelAction.NONE: "same", ModelAction.UPDATE: "update"}.get(action, "create")
            return ModelPlan(name, action, step, exact.name, exact.name, decision.changes, decision.note)
        examples = f"{inputs.exampleCount} examples" if inputs.exampleCount is not None else "its examples"
        where = f" from {inputs.dataset}" if inputs.dataset else " (inline)"
        reason = f"{gone}trains a new model on {examples}{where}"
        changes = ()
        if self.state is None:
            earlier = self.view.tagged_for(name)
            if earlier:
                candidate = earlier[-1]
                changes = decide(observed_from_live(candidate), desired).changes
                reason += (
                    f"; {candidate.name} has this stack's tag and resource name: if it is this stack's "
                    "earlier version, `pulumi up` deletes it once this one is trained (not certain "
                    "without Pulumi state)"
                )
        reason = with_gate(reason, desired, "it is recorded")
        return ModelPlan(
            name,
            ModelAction.CREATE,
            "create",
            desired.name,
            None,
            changes,
            reason,
            evaluates=desired.gate is not None,
        )

    # -- models the state records but the file no longer declares ---------------------------------

    def undeclared(self, recorded: StateResource) -> ModelPlan:
        live = self.view.find(recorded.service_name)
        revokes = [
            GrantPlan(
                r.name.partition(":")[2] or r.name,
                SharingChange.REVOKE,
                old_role=str(r.outputs.get("role") or "") or None,
                note="with its model",
            )
            for r in self.state.grants_of(recorded)  # type: ignore[union-attr]
        ]
        if live is None:
            return ModelPlan(
                recorded.name,
                ModelAction.NONE,
                "refresh",
                None,
                recorded.service_name,
                reason="no longer declared and already gone from the service: the refresh forgets it",
            )
        if recorded.retain_on_delete:
            return ModelPlan(
                recorded.name,
                ModelAction.FORGET,
                "delete",
                live.name,
                live.name,
                reason="no longer declared; retainOnDelete: removed from the stack, left on the service",
            )
        plan = ModelPlan(recorded.name, ModelAction.DELETE, "delete", None, live.name, permissions=revokes)
        owner = self.state.owner_of(recorded)  # type: ignore[union-attr]
        if recorded.protect:
            plan.refused = (
                "protect is set: `pulumi up` refuses to delete it (set protect: false first, "
                f"or `pulumi state unprotect '{recorded.urn}'`)"
            )
        if owner is not None and owner.outputs.get("emailAddress"):
            plan.reason = (
                f"no longer declared; its ownership was transferred to {owner.outputs['emailAddress']}, "
                "so the service refuses the delete: it stays there, no longer managed"
            )
        elif recorded.inputs.get("adopt"):
            plan.reason = f"no longer declared: the adopted model {live.name} is deleted from the service"
        else:
            plan.reason = f"no longer declared: {self.backend.fields.deleted()} from the service"
        return plan

    # -- sharing ---------------------------------------------------------------------------------

    def _live_grants(self, plan: ModelPlan) -> list[Grant] | None:
        keeps = plan.current is not None and plan.action in (
            ModelAction.NONE,
            ModelAction.UPDATE,
            ModelAction.ADOPT,
            ModelAction.CREATE,
        )
        if not keeps or self.backend.grants is None or plan.current is None:
            return None
        try:
            return self.backend.grants.list(plan.current)
        except NotFound:
            return None

    def _sharing(
        self, name: str, spec: ModelSpec, plan: ModelPlan, recorded: StateResource | None
    ) -> list[GrantPlan]:
        if self.backend.grants is None:
            return []
        model_after = plan.tuned_model or "(known after apply)"
        live = self._live_grants(plan)
        declared = [p.grant() for p in spec.permissions]
        if self.state is None:
            return self._sharing_without_state(model_after, declared, spec.owner, live)
        out: list[GrantPlan] = []
        state_grants = {
            r.name.partition(":")[2]: r for r in (self.state.grants_of(recorded) if recorded else [])
        }
        live_by_key = {g.key: g for g in live or [] if g.role is not Role.OWNER}
        for grant in declared:
            role = grant.role.value if grant.role else None
            news = grant_inputs(model_after, grant)
            r = state_grants.pop(grant.key, None)
            if r is None:
                have = live_by_key.get(grant.key)
                note = "adopts the existing grant" if have is not None and have.role is grant.role else ""
                if have is not None and have.role is not grant.role:
                    note = f"adopts the existing grant and sets its role ({have.role})"
                out.append(GrantPlan(grant.key, SharingChange.GRANT, role, note=note))
                continue
            current = (
                self.backend.grants.get(str(r.outputs.get("name") or r.id)) if live is not None else None
            )
            if current is None and live is not None:
                out.append(
                    GrantPlan(
                        grant.key, SharingChange.GRANT, role, note="revoked outside Pulumi: granted again"
                    )
                )
                continue
            olds = {
                **r.outputs,
                "role": current.role.value if current and current.role else r.outputs.get("role"),
            }
            decision = decide_grant(olds, news)
            old_role = str(olds.get("role") or "") or None
            if decision.action is Action.REPLACE:
                moved = "model" in decision.replace_fields
                out.append(
                    GrantPlan(
                        grant.key,
                        SharingChange.REGRANT,
                        role,
                        old_role,
                        "granted on the retrained model" if moved else "another grantee",
                    )
                )
            elif decision.action is Action.UPDATE:
                out.append(GrantPlan(grant.key, SharingChange.ROLE, role, old_role))
        for key, r in sorted(state_grants.items()):
            out.append(
                GrantPlan(key, SharingChange.REVOKE, old_role=str(r.outputs.get("role") or "") or None)
            )
        managed = {g.key for g in declared} | {
            str(r.name.partition(":")[2]) for r in (self.state.grants_of(recorded) if recorded else [])
        }
        owner_recorded = self.state.owner_of(recorded) if recorded is not None else None
        for key, g in sorted(live_by_key.items()):
            if key in managed:
                continue
            note = "made outside this stack; `pulumi up` leaves it"
            if owner_recorded is not None and g.role is Role.WRITER:
                note = "probably this stack's own identity, a WRITER since the ownership transfer (expected)"
            out.append(
                GrantPlan(
                    key, SharingChange.NOT_MANAGED, old_role=g.role.value if g.role else None, note=note
                )
            )
        live_owner = next((g.email for g in live or [] if g.role is Role.OWNER), None)
        if spec.owner:
            decision = decide_owner(
                {"model": model_after, "emailAddress": live_owner},
                {"model": model_after, "emailAddress": spec.owner},
            )
            if decision.action is not Action.NONE or live is None:
                out.append(GrantPlan(f"user:{spec.owner.lower()}", SharingChange.TRANSFER, Role.OWNER.value))
            elif owner_recorded is None:
                out.append(
                    GrantPlan(
                        f"user:{spec.owner.lower()}",
                        SharingChange.TRANSFER,
                        Role.OWNER.value,
                        note="already the owner: only recorded in the state",
                    )
                )
        elif owner_recorded is not None:
            out.append(
                GrantPlan(
                    f"user:{str(owner_recorded.outputs.get('emailAddress') or '').lower()}",
                    SharingChange.RELEASE,
                    Role.OWNER.value,
                    note="owner removed from the file: the service keeps this owner",
                )
            )
        return out

    def _sharing_without_state(
        self, model: str, declared: list[Grant], owner: str | None, live: list[Grant] | None
    ) -> list[GrantPlan]:
        out: list[GrantPlan] = []
        for c in plan_grants(model, declared, owner, live):
            if c.change is GrantAction.GRANT:
                out.append(GrantPlan(c.grantee, SharingChange.GRANT, c.role))
            elif c.change is GrantAction.ROLE:
                out.append(GrantPlan(c.grantee, SharingChange.ROLE, c.role, c.old_role))
            elif c.change is GrantAction.TRANSFER:
                out.append(GrantPlan(c.grantee, SharingChange.TRANSFER, c.role))
            else:
                out.append(
                    GrantPlan(
                        c.grantee,
                        SharingChange.NOT_ATTRIBUTED,
                        old_role=c.old_role,
                        note="not declared: `pulumi up` revokes it only if this stack granted it "
                        "(not known without Pulumi state)",
                    )
                )
        return out

    # -- tagged models nobody claims -------------------------------------------------------------


def build_plan(ctx: Context, progress: Callable[[str], None]) -> StackPlan:
    """The plan of the stack ``ctx`` names (see the module docstring)."""
    planner = _Planner(ctx, progress)
    stack = ctx.stack
    state = ctx.view.state
    result = StackPlan(**StackEntry.fields_of(ctx))
    by_name: dict[str, ModelPlan] = {}
    order = creation_order(stack.models)
    for i, name in enumerate(order, start=1):
        progress(f"comparing {name} ({i}/{len(order)}) ...")
        by_name[name] = planner.declared(name, stack.models[name])
    result.models = [by_name[n] for n in stack.models]
    if state is not None:
        for name, recorded in state.models.items():
            if name not in stack.models:
                result.models.append(planner.undeclared(recorded))
        for replaced in state.replaced:
            if ctx.view.find(replaced.service_name) is not None:
                result.models.append(
                    ModelPlan(
                        replaced.name,
                        ModelAction.DELETE,
                        "delete-replaced",
                        None,
                        replaced.service_name,
                        reason="replaced by an earlier `pulumi up` that stopped before deleting it: "
                        "`pulumi up` deletes it now",
                    )
                )
        for pending in state.pending:
            result.notes.append(
                f"the last `pulumi up` was interrupted while {pending.kind.lower()} {pending.resource.name}: "
                "`pulumi up` refuses to run until `pulumi cancel` (if the run was killed) and "
                "`pulumi refresh --clear-pending-creates`; it then finds what was submitted"
            )
    for m in result.models:
        live = ctx.view.find(m.current) if m.current else None
        m.deployment = live.deployment if live is not None else None
    claimed = {p.current for p in result.models} | {p.tuned_model for p in result.models}
    result.others = ctx.view.others({n for n in claimed if n is not None})
    if state is None:
        result.notes.append(
            f"partial plan: {ctx.view.state_note}. Declared models are matched by their exact "
            "deterministic id; what `pulumi up` deletes cannot be known without the stack's state."
        )
    return result


# -- rendering -------------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if v is None:
        return "(unset)"
    text = v if isinstance(v, str) else str(v)
    if len(text) > 60:
        text = text[:57] + "..."
    return md_code(text)


def _change_text(g: GrantPlan) -> str:
    if g.change is SharingChange.ROLE:
        text = f"role {g.old_role} → {g.role}"
    elif g.change is SharingChange.REVOKE:
        text = f"revoke ({g.old_role})" if g.old_role else "revoke"
    elif g.change in _NOT_CHANGES:
        text = f"{g.change.value} ({g.old_role})" if g.old_role else g.change.value
    else:
        text = f"{g.change.value} {g.role}" if g.role else g.change.value
    return md_text(text + (f": {g.note}" if g.note else ""))


def _gate_text(m: ModelPlan) -> str:
    """The gate cell: the declared gate, the score recorded for the current model, and whether
    this action evaluates (``exactMatch ≥ 0.8, last 0.75; evaluated``)."""
    if m.gate is None:
        return "-"
    parts = [md_text(f"{m.gate.metric.value} ≥ {m.gate.min_score:g}")]
    if m.recorded_score is not None:
        parts.append(f"last {m.recorded_score:.4g}")
    if m.evaluates:
        parts.append("**evaluated**")
    return ", ".join(parts)


def render_markdown(plan: StackPlan) -> str:
    """A Markdown report for a pull-request comment; what it quotes from users is escaped."""
    counts = plan.summary()
    lines = [
        f"### tuned-models plan for stack {md_code(plan.stack)} ({md_code(plan.file)})",
        "",
    ]
    for note in plan.notes:
        lines.append(f"> **Note:** {md_text(note)}")
        lines.append("")
    gated = any(m.gate is not None for m in plan.models)
    if gated:
        lines += ["| model | action | tuned model | quality gate | why |", "|---|---|---|---|---|"]
    else:
        lines += ["| model | action | tuned model | why |", "|---|---|---|---|"]
    for m in plan.models:
        why_parts = [f"{md_code(c.field)} {_value(c.old)} → {_value(c.new)}" for c in m.changes]
        if m.reason:
            why_parts.append(md_text(m.reason))
        if m.refused:
            why_parts.append(f"**refused:** {md_text(m.refused)}")
        why = "; ".join(why_parts) or "-"
        target = md_code(m.tuned_model) if m.tuned_model else "-"
        if m.tuned_model is None and m.action in (ModelAction.CREATE, ModelAction.RETRAIN):
            target = "(named by the service)"
        if m.current and m.current != m.tuned_model:
            target = f"{md_code(m.current)} → {target}"
        word = ACTION_WORDS[m.action]
        action = word if m.action is ModelAction.NONE else f"**{word}**"
        gate = f" {_gate_text(m)} |" if gated else ""
        lines.append(f"| {md_text(m.model)} | {action} | {target} |{gate} {why} |")
    grants = [(m.model, g) for m in plan.models for g in m.permissions]
    if grants:
        lines += ["", "**Sharing**", "", "| model | grantee | change |", "|---|---|---|"]
        for model, g in grants:
            change = _change_text(g)
            lines.append(
                f"| {md_text(model)} | {md_code(g.grantee)} | {f'**{change}**' if g.is_change else change} |"
            )
    if plan.others:
        lines += ["", "**Not this stack's changes** (carry the stack's tag; `pulumi up` leaves them)", ""]
        lines += [
            f"- {md_code(o.tuned_model)} ({md_text(o.model)}, {o.state}): "
            f"**{o.kind.value}**, {md_text(o.note)}"
            for o in plan.others
        ]
    parts = [f"{counts[a.value]} {ACTION_WORDS[a]}" for a in ModelAction if counts[a.value]]
    if counts["sharing"]:
        parts.append(f"{counts['sharing']} sharing change" + ("s" if counts["sharing"] != 1 else ""))
    for kind in Unmanaged:
        if counts[kind.value]:
            parts.append(f"{counts[kind.value]} {kind.value}")
    verdict = "`pulumi up` changes something." if plan.changes else "No changes."
    lines += ["", f"Summary: {', '.join(parts) or 'nothing declared'}. {verdict}"]
    return "\n".join(lines) + "\n"


def run_plan(args: argparse.Namespace) -> int:
    """The ``plan`` command (see the module docstring)."""
    return run_command(
        args,
        "plan",
        build_plan,
        lambda plan: plan.to_json(),
        render_markdown,
        changes=lambda plan: plan.changes,
    )
