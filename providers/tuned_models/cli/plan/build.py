"""Building a stack's plan from its state, the refresh and the one planner (see
:mod:`tuned_models.cli.plan`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from tuned_models.cli.frame import Context, StackEntry
from tuned_models.cli.plan.shapes import (
    GrantPlan,
    ModelAction,
    ModelPlan,
    SharingChange,
    StackPlan,
)
from tuned_models.gemini import NotFound
from tuned_models.lifecycle import refreshed_outputs
from tuned_models.model.desired import ModelInputs, creation_order, model_inputs, source_of
from tuned_models.model.evaluation import GateResult
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
from tuned_models.model.state import LiveModel, ModelState
from tuned_models.stack.state import StateResource


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
