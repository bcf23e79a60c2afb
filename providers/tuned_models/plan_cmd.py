"""``tuned-models plan --stack NAME``: what ``pulumi up`` would do, from the stack file and the
live service (no Pulumi state, no Pulumi CLI).

For each declared model the same pure planner as the provider's ``diff``
(:func:`tuned_models.planner.decide`) compares the live model with the spec: create, retrain
(with the fields that force it), update in place (with the fields), no change. Permissions are
compared with the model's live permissions. Models of this stack on the service that the file
no longer declares are listed as delete candidates. Output: Markdown for a pull-request
comment, or JSON. Exit 0 on success, 1 when the stack does not validate or the service fails.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tuned_models.gemini import GeminiClient
from tuned_models.gemini.types import Permission, TunedModel, TunedModelState
from tuned_models.live import find_stack_models, run_against_service
from tuned_models.planner import Action, Decision, Observed, State, decide
from tuned_models.program import model_args
from tuned_models.spec import UPDATABLE_FIELDS, ModelSpec
from tuned_models.stack import LoadedStack
from tuned_models.tuned_model import TunedModelArgs

ACTION_LABELS = {
    Action.CREATE: "create",
    Action.ADOPT: "adopt",
    Action.REPLACE: "retrain",
    Action.UPDATE: "update in place",
    Action.NONE: "no change",
    Action.DELETE: "delete candidate",
}


@dataclass(frozen=True)
class PermissionChange:
    """One sharing change: ``change`` is ``grant``, ``role``, ``transfer ownership``, or
    ``not declared``: a live grant the file does not declare. Without Pulumi state, plan cannot
    tell a grant this stack made and the file dropped (``pulumi up`` revokes it) from one made
    outside the stack (``pulumi up`` leaves it: drift for the reviewer)."""

    grantee: str
    change: str
    role: str | None = None
    old_role: str | None = None


@dataclass
class ModelPlan:
    """The plan for one model."""

    model: str
    action: str
    tuned_model: str
    current: str | None
    changes: list[dict[str, Any]]
    note: str
    permissions: list[PermissionChange] = field(default_factory=list)


def observed_from_live(model: TunedModel) -> Observed:
    """What the service shows of a model, in the planner's terms."""
    task = model.tuningTask
    source = model.tunedModelSource
    return Observed(
        name=model.name,
        state=State(model.state.value if model.state else State.STATE_UNSPECIFIED.value),
        mutable={f: getattr(model, f) for f in UPDATABLE_FIELDS},
        training=None,
        live_training={
            "baseModel": model.baseModel,
            "tunedModelSource": {"tunedModel": source.tunedModel} if source and source.tunedModel else None,
            "hyperparameters": (
                task.hyperparameters.model_dump(exclude_none=True) if task and task.hyperparameters else {}
            ),
        },
    )


def _grantee(p: Permission) -> str:
    kind = p.granteeType.value.lower() if p.granteeType else "?"
    return "everyone" if kind == "everyone" else f"{kind}:{(p.emailAddress or '').lower()}"


def plan_permissions(spec: ModelSpec, live: Sequence[Permission] | None) -> list[PermissionChange]:
    """Compare declared permissions and owner with the live ones (``None``: model not there yet)."""
    changes: list[PermissionChange] = []
    current = {_grantee(p): p for p in live or [] if p.role is None or p.role.value != "OWNER"}
    owner = next((p.emailAddress for p in live or [] if p.role is not None and p.role.value == "OWNER"), None)
    for grant in spec.permissions:
        have = current.pop(grant.key, None)
        if have is None:
            changes.append(PermissionChange(grant.key, "grant", grant.role))
        elif have.role is None or have.role.value != grant.role:
            changes.append(
                PermissionChange(grant.key, "role", grant.role, have.role.value if have.role else None)
            )
    for key, p in sorted(current.items()):
        changes.append(PermissionChange(key, "not declared", None, p.role.value if p.role else None))
    if spec.owner and (owner or "").lower() != spec.owner.lower():
        changes.append(PermissionChange(f"user:{spec.owner.lower()}", "transfer ownership", "OWNER"))
    return changes


def build_plan(
    project: str, stack: LoadedStack, client: GeminiClient, progress: Callable[[str], None]
) -> dict[str, Any]:
    """The plan as JSON-ready data (see :func:`render_markdown`)."""
    live = find_stack_models(client, project, stack, progress)
    plans: list[ModelPlan] = []
    total = len(stack.models)
    for i, (name, spec) in enumerate(stack.models.items(), start=1):
        progress(f"comparing {name} ({i}/{total}) ...")
        dataset = stack.datasets.get(name)
        args = TunedModelArgs.model_validate(
            model_args(
                project,
                stack.name,
                name,
                spec,
                dataset_digest=dataset.digest if dataset else None,
                example_count=dataset.count if dataset else None,
            )
        )
        desired = args.desired()
        candidates = live.by_resource.get(name, [])
        exact = next((m for m in candidates if m.name == desired.name), None)
        fallback = candidates[-1] if candidates else None
        current = live.adopted.get(name) if spec.adopt else (exact or fallback)
        decision: Decision = decide(observed_from_live(current) if current else None, desired)
        keeps_model = decision.action in (Action.UPDATE, Action.NONE, Action.ADOPT) and current is not None
        perms = plan_permissions(
            spec, client.list_permissions(current.name) if keeps_model and current else None
        )
        note = decision.note
        if current is not None and current.name == desired.name and current.state is TunedModelState.FAILED:
            note = (
                "it FAILED on the service: `pulumi up` retrains it once Pulumi has recorded the "
                "failure (`pulumi refresh`); otherwise it stops and asks you to delete it first"
            )
        plans.append(
            ModelPlan(
                model=name,
                action=ACTION_LABELS[decision.action],
                tuned_model=desired.name,
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
            "state": m.state.value if m.state else "?",
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
    result = run_against_service(args, "plan", build_plan)
    if result is None:
        return 1
    _, plan = result
    if args.format == "json":
        print(json.dumps(plan, indent=2, default=str))
    else:
        print(render_markdown(plan), end="")
    return 0
