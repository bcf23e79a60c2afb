"""``tuned-models plan --stack NAME``: what ``pulumi up`` would do, from the stack file and the
live service (no Pulumi state, no Pulumi CLI).

For each declared model the desired state (:func:`tuned_models.model.desired.model_inputs`)
and the same pure planner as the provider's ``diff`` (:func:`tuned_models.model.planner.decide`)
compare the live model with the spec: create, retrain (with the fields that force it), update
in place (with the fields), no change. Grants are compared with the model's live grants by the
planner the permission resources' ``diff`` uses (:func:`~tuned_models.model.planner.plan_grants`).
Models of this stack on the service that the file no longer declares are listed as delete
candidates. When Pulumi's state can be read (:mod:`tuned_models.recorded`), a model trained under
the desired id that Pulumi has not recorded (its quality gate failed, or its ``up`` was
interrupted) is planned as what ``up`` does with it: adopt it without training, then the gate
(:func:`~tuned_models.model.planner.decide_unrecorded`); and a recorded gate that differs from
the declared one is a "re-evaluate". Output: Markdown for a pull-request
comment, or JSON. Exit 0 on success, 1 when the stack does not validate or the service fails.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.cli.frame import run_command
from tuned_models.discovery import find_stack_models
from tuned_models.model.desired import model_inputs
from tuned_models.model.planner import (
    Action,
    Decision,
    GrantChange,
    decide,
    decide_unrecorded,
    observed_from_live,
    plan_grants,
)
from tuned_models.model.state import ModelState
from tuned_models.project import find_project_root
from tuned_models.recorded import Recorded, read_recorded
from tuned_models.stack import LoadedStack

ACTION_LABELS = {
    Action.CREATE: "create",
    Action.ADOPT: "adopt",
    Action.REPLACE: "retrain",
    Action.UPDATE: "update in place",
    Action.EVALUATE: "re-evaluate",
    Action.NONE: "no change",
    Action.DELETE: "delete candidate",
}


@dataclass
class ModelPlan:
    """The plan for one model."""

    model: str
    action: str
    tuned_model: str
    current: str | None
    changes: list[dict[str, Any]]
    note: str
    permissions: list[GrantChange] = field(default_factory=list)


def build_plan(
    project: str,
    stack: LoadedStack,
    backend: Backend,
    progress: Callable[[str], None],
    recorded: Recorded | None = None,
) -> dict[str, Any]:
    """The plan as JSON-ready data (see :func:`render_markdown`); ``recorded``: Pulumi's state,
    when it was read."""
    live = find_stack_models(backend, project, stack, progress)
    plans: list[ModelPlan] = []
    total = len(stack.models)
    for i, (name, spec) in enumerate(stack.models.items(), start=1):
        progress(f"comparing {name} ({i}/{total}) ...")
        inputs = model_inputs(
            project,
            stack.name,
            name,
            spec,
            stack.datasets.get(name),
            backend=stack.connection.backend,
            validation=stack.validation_datasets.get(name),
            evaluation=stack.evaluations.get(name),
        )
        desired = inputs.desired()
        candidates = live.by_resource.get(name, [])
        exact = next((m for m in candidates if m.model_id == desired.model_id), None)
        fallback = candidates[-1] if candidates else None
        current = live.adopted.get(name) if spec.adopt else (exact or fallback)
        observed = None
        if current is not None:
            in_state = recorded.in_state(name, current.name) if recorded else None
            record = (recorded.models.get(name) or {}).get("evaluation") if recorded and in_state else None
            observed = observed_from_live(current, in_state=in_state, evaluation=record)
        decision: Decision = decide(observed, desired)
        if exact is not None and recorded is not None and recorded.in_state(name, exact.name) is False:
            serving = recorded.models.get(name)
            decision = decide_unrecorded(exact, serving, desired)
            current = next((m for m in candidates if serving and m.name == serving.get("name")), current)
        keeps_model = decision.action in (Action.UPDATE, Action.NONE, Action.ADOPT) and current is not None
        live_grants = (
            backend.grants.list(current.name) if keeps_model and current and backend.grants else None
        )
        perms = plan_grants(
            current.name if current else str(desired.name),
            [p.grant() for p in spec.permissions],
            spec.owner,
            live_grants,
        )
        note = decision.note
        if (
            current is not None
            and current.model_id == desired.model_id
            and current.state is ModelState.FAILED
        ):
            note = (
                "it FAILED on the service: `pulumi up` retrains it once Pulumi has recorded the "
                "failure (`pulumi refresh`); otherwise it stops and asks you to delete it first"
            )
            if current.outputs.get("error"):
                note = f"{current.outputs['error']}; {note}"
        plans.append(
            ModelPlan(
                model=name,
                action=ACTION_LABELS[decision.action],
                tuned_model=desired.name
                or (current.name if keeps_model and current is not None else "(named by the service)"),
                current=current.name if current else None,
                changes=[{"field": c.field, "old": c.old, "new": c.new} for c in decision.changes],
                note=note,
                permissions=perms,
            )
        )
    declared = set(stack.models)
    in_use = {p.tuned_model for p in plans} | {p.current for p in plans if p.current}
    delete = [
        {
            "tunedModel": m.name,
            "model": resource,
            "state": m.state.value,
            "reason": "not declared in the stack file"
            if resource not in declared
            else "an earlier version of a declared model",
        }
        for resource, models in sorted(live.by_resource.items())
        for m in models
        if m.name not in in_use
    ]
    counts: dict[str, int] = {}
    for p in plans:
        counts[p.action] = counts.get(p.action, 0) + 1
    counts["delete candidate"] = len(delete)
    return {
        "stack": stack.name,
        "file": stack.path,
        "models": [{**asdict(p), "permissions": [asdict(c) for c in p.permissions]} for p in plans],
        "deleteCandidates": delete,
        "summary": counts,
    }


def _cell(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text.replace("|", "\\|")


def render_markdown(plan: dict[str, Any]) -> str:
    """A Markdown report suitable for a pull-request comment."""
    lines = [
        f"### tuned-models plan for stack `{plan['stack']}` (`{plan['file']}`)",
        "",
        "| model | action | tuned model | why |",
        "|---|---|---|---|",
    ]
    for m in plan["models"]:
        why = ", ".join(f"`{c['field']}` {_cell(c['old'])} → {_cell(c['new'])}" for c in m["changes"])
        why = "; ".join(x for x in (why, m["note"]) if x) or "-"
        target = f"`{m['tuned_model']}`"
        if m["current"] and m["current"] != m["tuned_model"]:
            target = f"`{m['current']}` → {target}"
        action = m["action"] if m["action"] == "no change" else f"**{m['action']}**"
        lines.append(f"| {m['model']} | {action} | {target} | {why} |")
    perms = [(m["model"], c) for m in plan["models"] for c in m["permissions"]]
    if perms:
        lines += ["", "**Sharing**", "", "| model | grantee | change |", "|---|---|---|"]
        for model, c in perms:
            if c["change"] == "role":
                text = f"role {c['old_role']} → {c['role']}"
            elif c["change"] == "not declared":
                text = (
                    f"not declared ({c['old_role']}): revoked if this stack granted it, "
                    "else drift made outside the stack"
                )
            else:
                text = f"{c['change']} {c['role']}"
            lines.append(f"| {model} | `{c['grantee']}` | {text} |")
    if plan["deleteCandidates"]:
        lines += ["", "**Delete candidates** (on the service, not declared by this stack file)", ""]
        lines += [
            f"- `{d['tunedModel']}` ({d['model']}, {d['state']}): {d['reason']}"
            for d in plan["deleteCandidates"]
        ]
    summary = ", ".join(f"{n} {label}" for label, n in plan["summary"].items() if n)
    lines += ["", f"Summary: {summary or 'nothing declared'}."]
    return "\n".join(lines) + "\n"


def run_plan(args: argparse.Namespace) -> int:
    """The ``plan`` command (see the module docstring)."""
    root = Path(args.project_root) if getattr(args, "project_root", None) else find_project_root()

    def work(
        project: str, stack: LoadedStack, backend: Backend, progress: Callable[[str], None]
    ) -> dict[str, Any]:
        recorded = read_recorded(root, stack.name)
        if recorded.unavailable:
            progress(
                f"Pulumi state not read ({recorded.unavailable}): the plan is made from the service alone"
            )
        return build_plan(project, stack, backend, progress, recorded if recorded.available else None)

    return run_command(args, "plan", work, lambda _stack, plan: plan, render_markdown)
