"""``tuned-models status --stack NAME``: the stack's models on the service, as a table or JSON.

One row per model of the stack found on the service (and one per declared model not found):
state, percent done, step and epoch, the latest mean loss, age, and its quality gate. Progress
comes from the backend (:meth:`~tuned_models.backends.base.Backend.progress`): the running
training while a model is CREATING, what the model records otherwise. The gate's score is
recorded by ``pulumi up`` in Pulumi state, not on the service: it is read with the Pulumi CLI
when it can be (:mod:`tuned_models.recorded`); a model on the service that Pulumi has not
recorded is "not serving" (trained, then its gate failed, or its ``up`` was interrupted).
Read-only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.cli.frame import run_command
from tuned_models.discovery import find_stack_models
from tuned_models.model.evaluation import GateResult
from tuned_models.model.state import LiveModel, iso_z
from tuned_models.project import find_project_root
from tuned_models.recorded import Recorded, read_recorded
from tuned_models.stack import LoadedStack

COLUMNS = ("MODEL", "TUNED MODEL", "STATE", "DONE", "STEP", "EPOCH", "LOSS", "AGE", "GATE")


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def gate_cell(serving: bool | None, record: Any) -> dict[str, Any] | None:
    """The ``evaluation`` of a status row: the recorded gate's ``{metric, score, minScore,
    passed}``, or None when none is recorded (or the model is not the one Pulumi records)."""
    result = GateResult.from_output(record) if serving else None
    if result is None:
        return None
    return {
        "metric": result.gate.metric.value,
        "score": result.score,
        "minScore": result.gate.min_score,
        "passed": result.passed,
    }


def model_row(
    backend: Backend, resource: str, model: LiveModel, now: datetime, recorded: Recorded | None = None
) -> dict[str, Any]:
    """One row of the status table for a live model (``recorded``: Pulumi's state, if read)."""
    progress = backend.progress(model)
    serving = recorded.in_state(resource, model.name) if recorded else None
    outputs = recorded.models.get(resource, {}) if recorded else {}
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
        "evaluation": gate_cell(serving, outputs.get("evaluation")),
    }


def build_status(
    project: str,
    stack: LoadedStack,
    backend: Backend,
    progress: Callable[[str], None],
    now: datetime | None = None,
    recorded: Recorded | None = None,
) -> list[dict[str, Any]]:
    """The status rows, in stack-file order, then models no longer declared."""
    now = now or datetime.now(UTC)
    live = find_stack_models(backend, project, stack, progress)
    rows: list[dict[str, Any]] = []
    found = {r: list(ms) for r, ms in live.by_resource.items()}
    for r, m in live.adopted.items():
        found.setdefault(r, []).insert(0, m)
    names = list(stack.models) + sorted(set(found) - set(stack.models))
    for i, name in enumerate(names, start=1):
        progress(f"reading {name} ({i}/{len(names)}) ...")
        models = found.get(name, [])
        if not models:
            rows.append(
                {
                    "model": name,
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
                }
            )
        rows.extend(model_row(backend, name, m, now, recorded) for m in models)
    return rows


def _gate_text(r: dict[str, Any]) -> str:
    if r["serving"] is False:
        return "not serving"
    gate = r["evaluation"]
    if gate is None:
        return "-"
    sign = ">=" if gate["passed"] else "<"
    return f"{gate['metric']} {gate['score']:.4g}{sign}{gate['minScore']:g}"


def render_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width text table."""

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
    return (
        "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table)
        + "\n"
    )


def run_status(args: argparse.Namespace) -> int:
    """The ``status`` command (see the module docstring)."""
    root = Path(args.project_root) if getattr(args, "project_root", None) else find_project_root()

    def work(
        project: str, stack: LoadedStack, backend: Backend, progress: Callable[[str], None]
    ) -> list[dict[str, Any]]:
        recorded = read_recorded(root, stack.name)
        if recorded.unavailable:
            print(f"gate scores not shown: Pulumi state not read: {recorded.unavailable}", file=sys.stderr)
        return build_status(project, stack, backend, progress, recorded=recorded)

    return run_command(
        args, "status", work, lambda stack, rows: {"stack": stack.name, "models": rows}, render_table
    )
