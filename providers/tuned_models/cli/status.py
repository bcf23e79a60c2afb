"""``tuned-models status --stack NAME``: the stack's models on the service, as a table or JSON.

One row per model of the stack found on the service (and one per declared model not found):
state, percent done, step and epoch, the latest mean loss, and age. Progress comes from the
backend (:meth:`~tuned_models.backends.base.Backend.progress`): the running training while a
model is CREATING, what the model records otherwise. Read-only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.cli.frame import run_command
from tuned_models.discovery import find_stack_models
from tuned_models.model.state import LiveModel, iso_z
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


def model_row(backend: Backend, resource: str, model: LiveModel, now: datetime) -> dict[str, Any]:
    """One row of the status table for a live model."""
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
    }


def build_status(
    project: str,
    stack: LoadedStack,
    backend: Backend,
    progress: Callable[[str], None],
    now: datetime | None = None,
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
                }
            )
        rows.extend(model_row(backend, name, m, now) for m in models)
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
    return run_command(
        args, "status", build_status, lambda stack, rows: {"stack": stack.name, "models": rows}, render_table
    )
