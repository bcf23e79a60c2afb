"""The plan as Markdown, for a pull-request comment."""

from __future__ import annotations

from typing import Any

from tuned_models.cli.output import md_code, md_text
from tuned_models.cli.plan.shapes import (
    ACTION_WORDS,
    NOT_CHANGES,
    GrantPlan,
    ModelAction,
    ModelPlan,
    SharingChange,
    StackPlan,
)
from tuned_models.discovery import Unmanaged


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
    elif g.change in NOT_CHANGES:
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
