"""``tuned-models report --stack NAME [--out PATH]``: one self-contained HTML page about a stack.

Per declared model: its state, base model, hyperparameters (declared and as the service
resolved them), dataset (path, digest, example count), the loss curve by step and epoch of each
of its models on the service (what the service reports: the Gemini API's
``tuningTask.snapshots``), the quality gate (score against ``minScore``, worst examples) and
what the last ``pulumi up`` did to it. Models of the stack the file no longer declares are listed
at the end.

Where each fact comes from:

- the stack file (validated as ``validate`` does): what is declared;
- the service (the stack's backend; the stack's models found as ``status`` finds them:
  :meth:`tuned_models.discovery.StackView.stack_models`): state, resolved hyperparameters, loss
  curves;
- the stack's Pulumi state and history (:mod:`tuned_models.stack.state`, by the rules every
  command follows: ``--state FILE``, ``--no-state``, else the Pulumi CLI): which model serves,
  the gate's recorded outcome, ``lastChange`` and the last update's time and counts. When the
  state cannot be read the page says why, and shows what the service alone tells.

A model on the service under the id the spec wants but not recorded by Pulumi (it failed its gate,
or its ``up`` was interrupted) is evaluated against the declared gate by this command (read-only:
``generateContent`` only), unless ``--no-evaluate``; the page says the score is the report's own.

Exit 0 when the page was written, 1 when the stack does not validate or the service fails, 2 on
a usage error (or when the charting library is not installed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.cli.frame import Context, ProgressLog, run_against_service
from tuned_models.discovery import StackModel
from tuned_models.gate import evaluate
from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.desired import ModelInputs
from tuned_models.model.evaluation import Gate, GateResult
from tuned_models.model.planner import GATE_FIELD
from tuned_models.model.spec import ModelSpec
from tuned_models.model.state import LiveModel, ModelState
from tuned_models.project import STATE_DIR_NAME
from tuned_models.stack.state import LastUpdate

__all__ = ["ModelReport", "StackReport", "Version", "build_report", "default_out", "run_report"]

_EXIT_UNAVAILABLE = 2


@dataclass(frozen=True)
class Version:
    """One model on the service for a declared resource.

    ``serving``: it is what Pulumi records for the resource (None: unknown, the state was not
    read). ``evaluation``: its gate's outcome, with ``evaluation_source`` saying whose it is.
    """

    model: LiveModel
    serving: bool | None
    evaluation: GateResult | None = None
    evaluation_source: str = ""


@dataclass(frozen=True)
class ModelReport:
    """Everything the page says about one resource of the stack."""

    name: str
    spec: ModelSpec | None
    gate: Gate | None
    dataset: DatasetInfo | None
    versions: tuple[Version, ...]
    recorded: dict[str, Any] = field(default_factory=dict)
    changed_by_last_up: bool | None = None

    @property
    def serving(self) -> Version | None:
        """The version Pulumi records for this resource, if known."""
        return next((v for v in self.versions if v.serving), None)


@dataclass(frozen=True)
class StackReport:
    """The whole page's data."""

    project: str
    stack: str
    file: str
    backend: str
    generated: datetime
    models: tuple[ModelReport, ...]
    undeclared: tuple[ModelReport, ...]
    last_update: LastUpdate | None
    state_note: str | None


def _last_change_time(recorded: dict[str, Any]) -> datetime | None:
    change = recorded.get("lastChange")
    when = change.get("time") if isinstance(change, dict) else None
    try:
        return datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else None
    except ValueError:
        return None


def _version(
    backend: Backend,
    found: StackModel,
    recorded: Mapping[str, Any],
    inputs: ModelInputs | None,
    root: Path,
    progress: Callable[[str], None],
    evaluate_unrecorded: bool,
) -> Version:
    model = found.model
    if found.serving:
        result = GateResult.from_output(recorded.get(GATE_FIELD))
        return Version(model, True, result, "recorded by `pulumi up`" if result else "")
    wanted = inputs is not None and inputs.gate is not None and model.model_id == inputs.model_id
    if found.serving is False and wanted and evaluate_unrecorded and model.state is ModelState.ACTIVE:
        assert inputs is not None
        result = evaluate(backend, model.name, inputs, root, ProgressLog(progress))
        return Version(model, False, result, "evaluated by this report (Pulumi has not recorded this model)")
    return Version(model, found.serving)


def build_report(
    ctx: Context,
    progress: Callable[[str], None],
    *,
    evaluate_unrecorded: bool = True,
    now: datetime | None = None,
) -> StackReport:
    """The report's data: the stack file, the service and Pulumi's state (see the module doc)."""
    stack, view = ctx.stack, ctx.view
    state = view.state
    declared = ctx.declared_inputs()
    found = view.stack_models(
        {n: (declared[n].desired() if n in declared else None) for n in stack.models}, progress
    )
    last_update = state.last_update if state is not None else None

    def report(name: str, spec: ModelSpec | None) -> ModelReport:
        inputs = declared.get(name) if spec is not None else None
        outputs = dict(state.outputs_of(name)) if state is not None else {}
        by_age = sorted(
            found.get(name, []), key=lambda m: m.model.create_time or datetime.min.replace(tzinfo=UTC)
        )
        versions = tuple(
            _version(view.backend, m, outputs, inputs, ctx.root, progress, evaluate_unrecorded)
            for m in by_age
        )
        changed = None
        if last_update is not None and outputs:
            changed = last_update.covers(_last_change_time(outputs))
        return ModelReport(
            name,
            spec,
            inputs.gate if inputs else None,
            stack.datasets.get(name),
            versions,
            outputs,
            changed,
        )

    return StackReport(
        project=ctx.project,
        stack=stack.name,
        file=stack.path,
        backend=stack.connection.backend,
        generated=now or datetime.now(UTC),
        models=tuple(report(name, spec) for name, spec in stack.models.items()),
        undeclared=tuple(report(name, None) for name in found if name not in stack.models),
        last_update=last_update,
        state_note=view.state_note if state is None else None,
    )


def default_out(root: Path, stack: str) -> Path:
    """Where the page goes without ``--out``: ``.tuned-models/report-<stack>.html``."""
    return root / STATE_DIR_NAME / f"report-{stack}.html"


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` command (see the module docstring)."""
    try:
        from tuned_models.cli.report_html import render
    except ImportError as e:
        print(
            f"tuned-models report: the charting library is not installed ({e.name}); "
            "install the report extra: pip install 'tuned-models[report]'",
            file=sys.stderr,
        )
        return _EXIT_UNAVAILABLE
    outcome = run_against_service(
        args,
        "report",
        lambda ctx, progress: (
            ctx.root,
            build_report(ctx, progress, evaluate_unrecorded=not args.no_evaluate),
        ),
        history=True,
    )
    if isinstance(outcome, int):
        return outcome
    _, (root, data) = outcome
    out = Path(args.out) if args.out else default_out(root, args.stack)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    print(out)
    return 0
