"""``tuned-models prune --stack NAME [--yes]``: delete the stack's FAILED attempts that nothing
will ever remove.

A training that FAILED during ``pulumi up`` is not recorded in the state. While its model stays
declared with the same spec, the next ``up`` deletes that attempt and trains again; once the
model is removed from the file (or its spec changed), the attempt stays on the service. Those
are what this command deletes: models that carry the stack's tag, are FAILED, are not in the
stack's state, and are not the exact deterministic id of any declared model. It needs the
state (``pulumi`` reachable, or ``--state FILE``): without it, nothing is certain and nothing is
deleted. What a delete removes is the backend's: a vertex attempt's endpoints and model go, its
job stays (Vertex AI keeps every job; a FAILED job with nothing left is no longer listed).
Without ``--yes`` it only lists them (a dry run). ``--detailed-exitcode``: 2 when there is
something to delete (dry run) or something was deleted.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuned_models.cli.frame import Context, ProgressLog, StackEntry, run_command
from tuned_models.model.ids import parse_id
from tuned_models.model.state import LiveModel, ModelState


@dataclass
class Pruned(StackEntry):
    """The FAILED attempts found, and those deleted (empty in a dry run)."""

    dry_run: bool = True
    candidates: list[LiveModel] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: str | None = None
    #: What deleting a model removes, when more than the model (the backend's field table).
    deletes: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            **self.entry_json(),
            "dryRun": self.dry_run,
            "refused": self.refused,
            "candidates": [
                {
                    "tunedModel": m.name,
                    "model": (p.resource if (p := parse_id(m.model_id)) else ""),
                    "state": m.state.value,
                    "deployment": m.deployment.to_json() if m.deployment else None,
                }
                for m in self.candidates
            ],
            "deleted": self.deleted,
        }


def failed_attempts(ctx: Context) -> list[LiveModel]:
    """The stack's FAILED attempts that neither the state nor a declared model claims."""
    state = ctx.view.state
    assert state is not None
    declared = ctx.declared_inputs()
    ids = {i.model_id for i in declared.values()}
    return [
        m
        for m in sorted(ctx.view.tagged.values(), key=lambda m: m.name)
        if m.state is ModelState.FAILED and m.name not in state.service_names and m.model_id not in ids
    ]


def build_prune(args: argparse.Namespace) -> Callable[[Context, Callable[[str], None]], Pruned]:
    def work(ctx: Context, progress: Callable[[str], None]) -> Pruned:
        result = Pruned(
            **StackEntry.fields_of(ctx), dry_run=not args.yes, deletes=ctx.view.backend.fields.deletes
        )
        if ctx.view.state is None:
            result.refused = (
                f"prune needs the stack's Pulumi state to be certain ({ctx.view.state_note}); "
                "nothing was deleted"
            )
            return result
        result.candidates = failed_attempts(ctx)
        if args.yes:
            for model in result.candidates:
                progress(f"deleting {model.name} (FAILED) ...")
                ctx.view.backend.delete(model, None, ProgressLog(progress))
                result.deleted.append(model.name)
        return result

    return work


def render_text(result: Pruned) -> str:
    if result.refused:
        return f"{result.refused}\n"
    if not result.candidates:
        return f"{result.file}: no FAILED attempts to prune\n"
    verb = "would delete" if result.dry_run else "deleted"
    what = f" ({result.deletes})" if result.deletes else ""
    lines = [f"{verb} {m.name} (FAILED){what}" for m in result.candidates]
    if result.dry_run:
        lines.append(f"dry run: run `tuned-models prune --stack {result.stack} --yes` to delete them")
    return "\n".join(lines) + "\n"


def run_prune(args: argparse.Namespace) -> int:
    """The ``prune`` command (see the module docstring)."""
    code = run_command(
        args,
        "prune",
        build_prune(args),
        lambda r: r.to_json(),
        render_text,
        changes=lambda r: bool(r.candidates),
    )
    return code
