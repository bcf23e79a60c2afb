"""``tuned-models report --stack NAME [--out PATH]``: one self-contained HTML page about a stack.

Per declared model: its state, base model, hyperparameters (declared and as the service
resolved them), dataset (path, digest, example count), the loss curve by step and epoch of each
of its models on the service (what the service reports: the Gemini API's
``tuningTask.snapshots``), the quality gate (score against ``minScore``, worst examples) and
what the last ``pulumi up`` did to it. Models of the stack the file no longer declares are listed
at the end.

Where each fact comes from:

- the stack file (validated as ``validate`` does): what is declared;
- the service (the stack's backend, found by the deterministic ids as ``status`` finds them):
  state, resolved hyperparameters, loss curves;
- Pulumi's state (:mod:`tuned_models.recorded`, through the Pulumi CLI): which model serves, the
  gate's recorded outcome, ``lastChange`` and the last update's time and counts. When the state
  cannot be read the page says why, and shows what the service alone tells.

A model on the service under the id the spec wants but not recorded by Pulumi (it failed its gate,
or its ``up`` was interrupted) is evaluated against the declared gate by this command (read-only:
``generateContent`` only), unless ``--no-evaluate``; the page says the score is the report's own.

Exit 0 when the page was written, 1 when the stack does not validate or the service fails, 2 on
a usage error (or when the charting library is not installed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.cli.frame import run_against_service
from tuned_models.discovery import find_stack_models
from tuned_models.gate import evaluate
from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.desired import ModelInputs, model_inputs
from tuned_models.model.evaluation import Gate, GateResult
from tuned_models.model.spec import ModelSpec
from tuned_models.model.state import LiveModel, ModelState
from tuned_models.project import STATE_DIR_NAME, find_project_root
from tuned_models.recorded import LastUpdate, Recorded, read_recorded
from tuned_models.stack import LoadedStack

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


class _Quiet:
    """A log for the report's own evaluations: progress lines on stderr."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        self._progress = progress

    def info(self, message: str) -> None:
        self._progress(message)

    def warn(self, message: str) -> None:
        self._progress(f"warning: {message}")


def _last_change_time(recorded: dict[str, Any]) -> datetime | None:
    change = recorded.get("lastChange")
    when = change.get("time") if isinstance(change, dict) else None
    try:
        return datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else None
    except ValueError:
        return None


def _version(
    backend: Backend,
    resource: str,
    model: LiveModel,
    recorded: Recorded,
    inputs: ModelInputs | None,
    root: Path,
    progress: Callable[[str], None],
    evaluate_unrecorded: bool,
) -> Version:
    serving = recorded.in_state(resource, model.name)
    if serving:
        result = GateResult.from_output(recorded.models[resource].get("evaluation"))
        return Version(model, True, result, "recorded by `pulumi up`" if result else "")
    wanted = inputs is not None and inputs.gate is not None and model.model_id == inputs.model_id
    if serving is False and wanted and evaluate_unrecorded and model.state is ModelState.ACTIVE:
        assert inputs is not None
        result = evaluate(backend, model.name, inputs, root, _Quiet(progress))
        return Version(model, False, result, "evaluated by this report (Pulumi has not recorded this model)")
    return Version(model, serving)


def build_report(
    project: str,
    stack: LoadedStack,
    backend: Backend,
    progress: Callable[[str], None],
    *,
    root: Path,
    recorded: Recorded,
    evaluate_unrecorded: bool = True,
    now: datetime | None = None,
) -> StackReport:
    """The report's data: the stack file, the service and Pulumi's state (see the module doc)."""
    live = find_stack_models(backend, project, stack, progress)
    found = {
        r: sorted(ms, key=lambda m: m.create_time or datetime.min.replace(tzinfo=UTC))
        for r, ms in live.by_resource.items()
    }
    for resource, adopted in live.adopted.items():
        found.setdefault(resource, []).insert(0, adopted)
    last_update = recorded.last_update

    def report(name: str, spec: ModelSpec | None) -> ModelReport:
        inputs = None
        if spec is not None:
            inputs = model_inputs(
                project,
                stack.name,
                name,
                spec,
                stack.datasets.get(name),
                backend=stack.connection.backend,
                evaluation=stack.evaluations.get(name),
            )
        versions = tuple(
            _version(backend, name, m, recorded, inputs, root, progress, evaluate_unrecorded)
            for m in found.get(name, [])
        )
        outputs = dict(recorded.models.get(name) or {})
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

    models = tuple(report(name, spec) for name, spec in stack.models.items())
    undeclared = tuple(report(name, None) for name in sorted(set(found) - set(stack.models)))
    return StackReport(
        project=project,
        stack=stack.name,
        file=stack.path,
        backend=stack.connection.backend,
        generated=now or datetime.now(UTC),
        models=models,
        undeclared=undeclared,
        last_update=last_update,
        state_note=recorded.unavailable,
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
    root = Path(args.project_root) if getattr(args, "project_root", None) else find_project_root()

    def work(
        project: str, stack: LoadedStack, backend: Backend, progress: Callable[[str], None]
    ) -> StackReport:
        progress(f"reading Pulumi's state of stack {stack.name} ...")
        recorded = read_recorded(root, stack.name)
        if recorded.unavailable:
            progress(f"Pulumi state not read: {recorded.unavailable}")
        return build_report(
            project,
            stack,
            backend,
            progress,
            root=root,
            recorded=recorded,
            evaluate_unrecorded=not args.no_evaluate,
        )

    result = run_against_service(args, "report", work)
    if result is None:
        return 1
    _, data = result
    out = Path(args.out) if args.out else default_out(root, args.stack)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    print(out)
    return 0
