"""``tuned-models status --stack NAME``: the stack's models on the service, as a table or JSON.

One row per model of the stack found on the service (and one per declared model not found):
state, percent done, step and epoch, the latest mean loss, and age. Progress is read from the
tuning operation while a model is CREATING, from its snapshots otherwise. Read-only.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tuned_models.gemini import GeminiClient
from tuned_models.gemini.types import TunedModel, TunedModelState
from tuned_models.live import find_stack_models, run_against_service
from tuned_models.stack import LoadedStack

COLUMNS = ("MODEL", "TUNED MODEL", "STATE", "DONE", "STEP", "EPOCH", "LOSS", "AGE")


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def model_row(client: GeminiClient, resource: str, model: TunedModel, now: datetime) -> dict[str, Any]:
    """One row of the status table for a live model."""
    task = model.tuningTask
    snapshots = list(task.snapshots) if task and task.snapshots else []
    epochs = task.hyperparameters.epochCount if task and task.hyperparameters else None
    total = snapshots[-1].step if snapshots else None
    percent: float | None = 100.0 if model.state is TunedModelState.ACTIVE else None
    if model.state is TunedModelState.CREATING:
        running = [op for op in client.list_operations(model.name) if not op.done]
        meta = running[0].metadata if running else None
        if meta is not None:
            total = meta.totalSteps
            percent = meta.completedPercent or 0.0
            snapshots = list(meta.snapshots) or snapshots
    last = snapshots[-1] if snapshots else None
    return {
        "model": resource,
        "tunedModel": model.name,
        "state": model.state.value if model.state else "?",
        "percent": percent,
        "step": last.step if last else 0,
        "totalSteps": total,
        "epoch": last.epoch if last else 0,
        "epochs": epochs,
        "meanLoss": last.meanLoss if last else None,
        "createTime": model.createTime.isoformat().replace("+00:00", "Z") if model.createTime else None,
        "age": _age(model.createTime, now),
    }


def build_status(
    project: str,
    stack: LoadedStack,
    client: GeminiClient,
    progress: Callable[[str], None],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The status rows, in stack-file order, then models no longer declared."""
    now = now or datetime.now(UTC)
    live = find_stack_models(client, project, stack, progress)
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
                }
            )
        rows.extend(model_row(client, name, m, now) for m in models)
    return rows


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
        ]

    table = [list(COLUMNS), *(cells(r) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    return (
        "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table)
        + "\n"
    )


def run_status(args: argparse.Namespace) -> int:
    """The ``status`` command (see the module docstring)."""
    result = run_against_service(args, "status", build_status)
    if result is None:
        return 1
    stack, rows = result
    if args.format == "json":
        print(json.dumps({"stack": stack.name, "models": rows}, indent=2, default=str))
    else:
        print(render_table(rows), end="")
    return 0
