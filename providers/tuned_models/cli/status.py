"""``tuned-models status --stack NAME``: the stack's models on the service, as a table or JSON.

The stack's models are those its Pulumi state records and those carrying the exact
deterministic id of a declared model (see :mod:`tuned_models.cli.plan`); one row per model found
(and one per declared model not found): state, percent done, step and epoch, the latest mean
loss, age, its quality gate, and (``deployment``, vertex) its tuning job, Model Registry model
version and endpoint. Models that only carry the stack's tag are listed after the table, never
as rows. Progress comes from the backend
(:meth:`~tuned_models.backends.base.Backend.progress`): the running training while a model is
CREATING, what the model records otherwise.

The gate's score is recorded by ``pulumi up`` in the stack's state, not on the service
(:mod:`tuned_models.stack.state`): a row's ``serving`` says whether the model is the one the
state records for its resource (None without state), and ``evaluation`` is that record's
``{metric, score, minScore, passed}``. A model under a declared id that the state does not record
is "not serving" (trained, then its gate failed, or its ``up`` was interrupted). Read-only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.cli.frame import Context, StackEntry, run_command
from tuned_models.discovery import ManagedBy, OtherModel
from tuned_models.model.evaluation import GateResult
from tuned_models.model.planner import GATE_FIELD
from tuned_models.model.state import LiveModel, iso_z

COLUMNS = ("MODEL", "TUNED MODEL", "STATE", "DONE", "STEP", "EPOCH", "LOSS", "AGE", "GATE")


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def gate_cell(record: Any) -> dict[str, Any] | None:
    """The ``evaluation`` of a status row: a recorded gate's ``{metric, score, minScore,
    passed}``, or None when none is recorded."""
    result = GateResult.from_output(record)
    if result is None:
        return None
    return {
        "metric": result.gate.metric.value,
        "score": result.score,
        "minScore": result.gate.min_score,
        "passed": result.passed,
    }


def model_row(
    backend: Backend,
    resource: str,
    model: LiveModel,
    now: datetime,
    serving: bool | None = None,
    gate: Any = None,
) -> dict[str, Any]:
    """One row of the status table for a live model: ``serving``, whether the stack's state
    records it (None: not read); ``gate``, the ``evaluation`` output recorded for it."""
    progress = backend.progress(model)
    return {
        "model": resource,
        "tunedModel": model.name,
        "state": model.state.value,
        "percent": progress.percent if progress else None,
        "step": progress.step if progress else 0,
        "totalSteps": progress.total_steps if progress else None,
        "epoch": progress.epoch if progress else 0,
        "epochs": progress.epochs if progress else None,
        "meanLoss": progress.mean_loss if progress else None,
        "createTime": iso_z(model.create_time),
        "age": _age(model.create_time, now),
        "serving": serving,
        "evaluation": gate_cell(gate),
        "deployment": model.deployment.to_json() if model.deployment else None,
    }


@dataclass
class StackStatus(StackEntry):
    """The rows of one stack: its models (the state's, and declared ids), then models that
    carry its tag but that it does not manage (``others``, never counted as its own)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    others: list[OtherModel] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.entry_json(),
            "models": self.rows,
            "otherModels": [o.to_json() for o in self.others],
        }


def _missing(resource: str, why: str) -> dict[str, Any]:
    return {
        "model": resource,
        "tunedModel": None,
        "state": "NOT CREATED",
        "percent": None,
        "step": 0,
        "totalSteps": None,
        "epoch": 0,
        "epochs": None,
        "meanLoss": None,
        "createTime": None,
        "age": "-",
        "serving": None,
        "evaluation": None,
        "deployment": None,
        "managedBy": why,
    }


def build_status(ctx: Context, progress: Callable[[str], None], now: datetime | None = None) -> StackStatus:
    """The status of the stack ``ctx`` names: for each declared model, the model its state
    records and the one carrying its exact deterministic id (when they differ, both); then the
    state's models the file no longer declares. Models with only the stack's tag are listed
    apart (``others``)."""
    now = now or datetime.now(UTC)
    view, stack = ctx.view, ctx.stack
    state = view.state
    desired = ctx.declared_inputs()
    result = StackStatus(**StackEntry.fields_of(ctx))
    shown: set[str] = set()
    declared = {n: (desired[n].desired() if n in desired else None) for n in stack.models}
    for name, models in view.stack_models(declared, progress).items():
        if not models and name in stack.models:
            result.rows.append(_missing(name, ManagedBy.DECLARED_ID.value))
        for found in models:
            shown.add(found.model.name)
            gate = state.outputs_of(name).get(GATE_FIELD) if state is not None and found.serving else None
            row = model_row(view.backend, name, found.model, now, found.serving, gate)
            result.rows.append({**row, "managedBy": found.managed_by.value})
    result.others = view.others(shown)
    return result


def _gate_text(r: dict[str, Any]) -> str:
    if r["serving"] is False:
        return "not serving"
    gate = r["evaluation"]
    if gate is None:
        return "-"
    sign = ">=" if gate["passed"] else "<"
    return f"{gate['metric']} {gate['score']:.4g}{sign}{gate['minScore']:g}"


def render_table(status: StackStatus) -> str:
    """A fixed-width text table, then a line per model with the stack's tag that it does not manage."""
    rows = status.rows

    def cells(r: dict[str, Any]) -> list[str]:
        step = f"{r['step']}/{r['totalSteps']}" if r["totalSteps"] else "-"
        epoch = f"{r['epoch']}/{r['epochs']}" if r["epochs"] else (str(r["epoch"]) if r["epoch"] else "-")
        return [
            r["model"],
            r["tunedModel"] or "-",
            r["state"],
            f"{r['percent']:.0f}%" if r["percent"] is not None else "-",
            step,
            epoch,
            f"{r['meanLoss']:.4g}" if r["meanLoss"] is not None else "-",
            r["age"],
            _gate_text(r),
        ]

    table = [list(COLUMNS), *(cells(r) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    for other in status.others:
        lines.append(
            f"({other.kind.value}: {other.tuned_model} {other.state} has this stack's tag; "
            "see `tuned-models plan`)"
        )
    if status.partial:
        lines.append(f"(partial: {status.state_note})")
    return "\n".join(lines) + "\n"


def run_status(args: argparse.Namespace) -> int:
    """The ``status`` command (see the module docstring)."""
    return run_command(args, "status", build_status, lambda status: status.to_json(), render_table)
