"""Run the real Pulumi program under ``pulumi.runtime.set_mocks`` and record what it declares."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import get_root_resource, mocks, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import Stack

from tuned_models.tokens import TUNED_MODEL_TYPE

TUNED_MODEL = TUNED_MODEL_TYPE

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Registration:
    typ: str
    name: str
    inputs: dict[str, Any]
    parent: str
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]


@dataclass
class Recorder(mocks.MockMonitor):
    """A mock monitor that also records the resource options (and, filled by the run, exports)."""

    registrations: list[Registration] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def __init__(self, m: mocks.Mocks) -> None:
        super().__init__(m)
        self.registrations = []
        self.exports = {}

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    request.type,
                    request.name,
                    {},
                    request.parent,
                    request.protect,
                    request.retainOnDelete,
                    list(request.dependencies),
                )
            )
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


class Provider(mocks.Mocks):
    """Answers like the provider would after a successful create."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        if args.typ == TUNED_MODEL:
            model_id = f"{args.name}-0000aaaaaaaa"
            return model_id, {
                **args.inputs,
                "name": f"tunedModels/{model_id}",
                "state": "ACTIVE",
                "totalSteps": 19,
                "finalMeanLoss": 0.25,
            }
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def stack_file_config(stack: str, root: Path = ROOT) -> dict[str, str]:
    """The config the Pulumi CLI hands the program: strings, structured values as JSON."""
    document = yaml.safe_load((root / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    config = document.get("config") or {}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


@dataclass
class Run:
    monitor: Recorder
    provider: Provider
    error: BaseException | None


def run_program(stack: str, config: dict[str, str], main: Callable[[], Any] | None = None) -> Run:
    """Run ``main`` (default: this project's program) as the engine would for ``stack``,
    against the mocks; the error it raised, if any, is in the result."""
    from tuned_models import program

    provider = Provider()
    monitor = Recorder(provider)
    old = settings.SETTINGS
    settings.ROOT.set(None)  # a new root stack per run, so exports do not carry over between runs
    mocks.set_mocks(provider, project="tuned-models", stack=stack, monitor=monitor)
    set_all_config(config)
    error: BaseException | None = None
    try:

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def _run() -> Any:
            (main or program.run)()
            root = get_root_resource()
            assert isinstance(root, Stack)
            return pulumi.Output.all(**root.outputs).apply(monitor.exports.update)

        _run()
    except BaseException as e:  # the program's own error is what some tests look for
        error = e
    finally:
        settings.configure(old)
        set_all_config({})
    return Run(monitor, provider, error)
