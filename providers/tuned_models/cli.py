"""The ``tuned-models`` command: ``validate``, ``plan``, ``status`` and ``emulator``.

Contract:

- :func:`main` returns the exit code (the console script exits with it); it never raises for a
  user's mistake. Usage errors exit 2 (argparse).
- ``validate`` is offline: no credentials, no network, no Pulumi CLI. It prints one line per
  problem (:meth:`tuned_models.stack.Problem.line`, ``file:model:key: message``; warnings read
  ``file:model:key: warning: message``) and then one summary line per stack
  (``stacks/Pulumi.dev.yaml: 3 models, 0 errors, 1 warning``), all on stdout. It exits 1 when
  any stack has an error, else 0. ``--format json`` prints one JSON document instead. Text that
  cannot be written as UTF-8 (a lone surrogate in a model name) is printed escaped (``\\ud800``).
- ``plan`` and ``status`` call ``tuned_models.plan_cmd.run_plan(args)`` and
  ``tuned_models.status_cmd.run_status(args)``, imported when the command runs.
- ``emulator`` hands its arguments to the ``cli`` entry point of the ``tuned_models.embedded``
  group (the emulator's server); this package never imports :mod:`tuned_models_emulator`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tuned_models.gemini import find_project_root
from tuned_models.stack import STACKS_DIR, LoadedStack, list_stacks, load_stack

__all__ = ["build_parser", "main"]

_PROG = "tuned-models"
_EMULATOR_GROUP = "tuned_models.embedded"
_EXIT_UNAVAILABLE = 2

_VALIDATE_HELP = f"""\
Check stack files offline: no credentials, no network, no Pulumi CLI.

Checks the schema of every model (defaults merged under it), that every dataset file exists
inside the project, parses and is at most 4 MB, that each example has a non-empty input of at
most 40,000 and an output of at most 5,000 characters, that names and ids fit the API's
patterns, and that dependsOn names models of the same stack. Fewer than 20 examples, or
duplicate examples, are warnings.

Output: one line per problem, file:model:key: message (empty parts left out; warnings read
file:model:key: warning: message), then a summary line per stack. Exit 1 if any error, else 0.

examples:
  {_PROG} validate                     # every stack in {STACKS_DIR}/
  {_PROG} validate --stack dev
  {_PROG} validate --all --format json
"""

_PLAN_HELP = f"""\
Show what `pulumi up` would do to a stack's tuned models: create, replace (retrain), update in
place, delete, or nothing, and why. Reads the service with the stack's credentials.

examples:
  {_PROG} plan --stack dev
  {_PROG} plan --stack prod --format json
"""

_STATUS_HELP = f"""\
Show the tuned models of a stack as the service has them: state, progress, id, permissions.

examples:
  {_PROG} status --stack local
  {_PROG} status --stack prod --format json
"""

_EMULATOR_HELP = f"""\
Run the local emulator of the Gemini tuning API as an HTTP server. Every argument after
`emulator` is handed to the emulator itself; see `{_PROG} emulator --help`.

examples:
  {_PROG} emulator --port 8471 --state .tuned-models/emulator
  {_PROG} emulator --api-key test-key=dev@example.com --step-seconds 0.1
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tuned-models`` (each subcommand sets ``handler``)."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Fine-tuned Gemini models declared per environment in "
        f"{STACKS_DIR}/Pulumi.<stack>.yaml and reconciled by Pulumi.",
        epilog=f"Run `{_PROG} <command> --help` for a command's options and examples.",
    )
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    validate = _command(commands, "validate", "check stack files offline", _VALIDATE_HELP)
    which = validate.add_mutually_exclusive_group()
    which.add_argument("--stack", metavar="NAME", help="check stacks/Pulumi.NAME.yaml only")
    which.add_argument("--all", action="store_true", help="check every stack (the default)")
    validate.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default): one line per problem; json: for machines",
    )
    _project_root_argument(validate)
    validate.set_defaults(handler=_run_validate)

    plan = _command(commands, "plan", "show what `pulumi up` would change", _PLAN_HELP)
    plan.add_argument("--stack", metavar="NAME", required=True, help="the stack to plan")
    plan.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="markdown (default, for a pull request comment) or json",
    )
    _project_root_argument(plan)
    plan.set_defaults(handler=_lazy("tuned_models.plan_cmd", "run_plan", "plan"))

    status = _command(commands, "status", "show a stack's models on the service", _STATUS_HELP)
    status.add_argument("--stack", metavar="NAME", required=True, help="the stack to show")
    status.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json"
    )
    _project_root_argument(status)
    status.set_defaults(handler=_lazy("tuned_models.status_cmd", "run_status", "status"))

    emulator = _command(commands, "emulator", "run the local tuning API emulator", _EMULATOR_HELP)
    emulator.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the emulator")
    emulator.set_defaults(handler=lambda args: _run_emulator(args.args))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``tuned-models`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "emulator":
        # Everything after `emulator`, --help included, belongs to the emulator.
        return _run_emulator(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _command(commands: Any, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _project_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-root",
        metavar="DIR",
        type=Path,
        default=None,
        help="the directory holding Pulumi.yaml and stacks/ "
        "(default: the nearest one at or above the current directory)",
    )


# -- validate ------------------------------------------------------------------------------------


def _run_validate(args: argparse.Namespace) -> int:
    root: Path = args.project_root or find_project_root()
    names = [args.stack] if args.stack else list_stacks(root)
    stacks = [load_stack(root, name) for name in names]
    errors = sum(len(s.errors) for s in stacks)
    warnings = sum(len(s.warnings) for s in stacks)
    no_stacks = not names
    if args.format == "json":
        document = {
            "ok": errors == 0 and not no_stacks,
            "errors": errors,
            "warnings": warnings,
            "stacks": [_stack_json(s) for s in stacks],
        }
        print(json.dumps(document, indent=2))
    else:
        if no_stacks:
            _print(f"{STACKS_DIR}/: no stack files (Pulumi.<stack>.yaml) under {root}")
        for stack in stacks:
            for problem in stack.problems:
                _print(problem.line())
            _print(_summary(stack))
    return 1 if errors or no_stacks else 0


def _print(line: str) -> None:
    """Print ``line``, with what UTF-8 cannot encode (lone surrogates) as backslash escapes."""
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"))


def _summary(stack: LoadedStack) -> str:
    return (
        f"{stack.path}: {_count(len(stack.model_names), 'model')}, "
        f"{_count(len(stack.errors), 'error')}, {_count(len(stack.warnings), 'warning')}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _stack_json(stack: LoadedStack) -> dict[str, Any]:
    """One stack in ``validate --format json``; never carries the API key."""
    return {
        "stack": stack.name,
        "file": stack.path,
        "ok": stack.ok,
        "endpoint": stack.endpoint,
        "models": list(stack.model_names),
        "errors": len(stack.errors),
        "warnings": len(stack.warnings),
        "problems": [p.to_json() for p in stack.problems],
        "datasets": {
            name: {"path": info.path, "digest": info.digest, "examples": info.count}
            for name, info in stack.datasets.items()
        },
    }


# -- plan, status --------------------------------------------------------------------------------


def _lazy(module: str, function: str, command: str) -> Callable[[argparse.Namespace], int]:
    """A handler importing ``module.function`` when it runs, so the CLI works without it."""

    def handler(args: argparse.Namespace) -> int:
        try:
            target = getattr(importlib.import_module(module), function)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            print(f"{_PROG} {command}: not available yet", file=sys.stderr)
            return _EXIT_UNAVAILABLE
        result: int = target(args)
        return result

    return handler


# -- emulator ------------------------------------------------------------------------------------


def _run_emulator(argv: Sequence[str]) -> int:
    """Hand ``argv`` to the emulator's ``cli`` entry point; exit 2 when it is not installed."""
    found = [ep for ep in entry_points(group=_EMULATOR_GROUP) if ep.name == "cli"]
    target: Callable[[list[str]], int] | None = None
    if found:
        try:
            target = found[0].load()
        except ImportError:
            target = None
    if target is None:
        if any(a in ("-h", "--help") for a in argv):
            print(_EMULATOR_HELP, end="")
            return 0
        print(f"{_PROG} emulator: not available (no '{_EMULATOR_GROUP}' entry point 'cli')", file=sys.stderr)
        return _EXIT_UNAVAILABLE
    code = target(list(argv))
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
