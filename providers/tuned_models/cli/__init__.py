"""The ``tuned-models`` command: ``validate``, ``plan``, ``status``, ``prune``, ``report`` and
``emulator``.

Contract:

- :func:`main` returns the exit code (the console script exits with it); it never raises for a
  user's mistake. Usage errors exit 2 (argparse).
- ``validate`` is offline: no credentials, no network, no Pulumi CLI. It prints one line per
  problem (:meth:`tuned_models.stack.Problem.line`, ``file:model:key: message``; warnings read
  ``file:model:key: warning: message``) and then one summary line per stack
  (``stacks/Pulumi.dev.yaml: 3 models, 0 errors, 1 warning``), all on stdout. It exits 1 when
  any stack has an error, else 0. ``--format json`` prints one JSON document instead. Text that
  cannot be written as UTF-8 (a lone surrogate in a model name) is printed escaped (``\\ud800``).
- ``validate``, ``plan``, ``status``, ``prune`` and ``report`` live in :mod:`.validate`,
  :mod:`.plan`, :mod:`.status`, :mod:`.prune` and :mod:`.report`; those that read the service
  (which need the API client, and ``report`` its charting library) are imported when the
  command runs, so ``validate`` stays offline and light. They read the stack's Pulumi state by
  one set of rules (``--state FILE``, ``--no-state``, else the Pulumi CLI when it can:
  :func:`tuned_models.stack.state.read_state`). The JSON output of all but ``report`` shares one
  versioned shape (:mod:`.output`).
- ``emulator`` hands its arguments to the ``cli`` entry point of the ``tuned_models.embedded``
  group (the emulator's server); this package never imports :mod:`tuned_models_emulator`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tuned_models.cli.validate import run_validate
from tuned_models.config import ENTRY_POINT_GROUP
from tuned_models.project import STACKS_DIR

__all__ = ["build_parser", "main"]

_PROG = "tuned-models"
_EXIT_UNAVAILABLE = 2

_VALIDATE_HELP = f"""\
Check stack files offline: no credentials, no network, no Pulumi CLI.

Checks the schema of every model (defaults merged under it), that every dataset file (and each
quality gate's examples file) exists inside the project, parses and is at most 4 MB, that each
example has a non-empty input of at most 40,000 and an output of at most 5,000 characters, that
names and ids fit the API's patterns, and that dependsOn names models of the same stack. Fewer
than 20 training examples, or duplicate examples, are warnings. A vertex stack
(tuned-models:backend: vertex) is held to what Vertex AI refuses instead: its keys only, base
model ids, the adapter sizes each base model takes, label rules, contents JSONL of at most 1 GB,
validation sets of at most 5,000 examples.

Output: one line per problem, file:model:key: message (empty parts left out; warnings read
file:model:key: warning: message), then a summary line per stack. Exit 1 if any error, else 0.

examples:
  {_PROG} validate                     # every stack in {STACKS_DIR}/
  {_PROG} validate --stack dev
  {_PROG} validate --all --format json
"""

_PLAN_HELP = f"""\
Show exactly what `pulumi up` will do to a stack's tuned models and their sharing: create,
adopt, retrain, update in place, re-evaluate (a changed quality gate), delete, or nothing, and
why. Reads the stack's Pulumi state (--state FILE, else `pulumi stack export` when a Pulumi CLI
is reachable and a backend chosen) and the service (with GOOGLE_API_KEY / GEMINI_API_KEY or
application default credentials). Without state the plan is partial: deletes cannot be known,
and it says so.

exit codes: 0 success (with --detailed-exitcode: no changes), 2 changes (--detailed-exitcode),
1 error.

examples:
  {_PROG} plan --stack dev
  {_PROG} plan --stack prod --format json --detailed-exitcode
  pulumi stack export --stack prod > prod.state.json && {_PROG} plan --stack prod --state prod.state.json
"""

_STATUS_HELP = f"""\
Show the tuned models of a stack as the service has them: state, progress, age, and the quality
gate's score Pulumi recorded (GATE; "not serving": trained, but not what Pulumi records). The
stack's models are those its Pulumi state records and those carrying a declared model's exact id.

examples:
  {_PROG} status --stack local
  {_PROG} status --stack prod --format json
"""

_PRUNE_HELP = f"""\
Delete the stack's FAILED attempts that nothing else removes: models with the stack's tag that
FAILED, are not in its Pulumi state and are no declared model's exact id (a training that failed
during `pulumi up`, for a model since removed or changed). Needs the stack's state. Without
--yes, only lists them.

examples:
  {_PROG} prune --stack dev
  {_PROG} prune --stack dev --yes
"""

_REPORT_HELP = f"""\
Write one self-contained HTML page about a stack's models: state, base model, hyperparameters,
dataset digest and example count, the loss curve by step and epoch, the quality gate's score
against minScore with the worst examples, and what the last `pulumi up` changed. Reads the stack
file, the service (the stack's credentials, as plan and status) and the stack's Pulumi state and
history as plan does (--state FILE, --no-state, else the Pulumi CLI when it can); says what it
could not read. A model trained but not serving (its gate failed) is evaluated against the
declared gate (generateContent only) unless --no-evaluate. Prints the page's path. Needs
matplotlib (pip install 'tuned-models[report]').

examples:
  {_PROG} report --stack local                      # .tuned-models/report-local.html
  {_PROG} report --stack prod --out prod-report.html
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
    validate.set_defaults(handler=run_validate)

    plan = _service_command(
        commands,
        "plan",
        "show what `pulumi up` would change",
        _PLAN_HELP,
        "the stack to plan",
        _run_plan,
        formats=("markdown", "json"),
        format_help="markdown (default, for a pull request comment) or json",
        without_state="a partial plan: what `pulumi up` deletes cannot be known",
    )
    _detailed_exitcode(plan, "exit 2 when `pulumi up` would change something, 0 when not")
    _service_command(
        commands,
        "status",
        "show a stack's models on the service",
        _STATUS_HELP,
        "the stack to show",
        _run_status,
        formats=("table", "json"),
        format_help="table (default) or json",
        without_state="declared models by their exact id only, no gate scores",
    )
    prune = _service_command(
        commands,
        "prune",
        "delete a stack's FAILED attempts nothing else removes",
        _PRUNE_HELP,
        "the stack to prune",
        _run_prune,
        formats=("text", "json"),
        format_help="text (default) or json",
        without_state="nothing is deleted: only the state proves what is the stack's",
    )
    prune.add_argument("--yes", action="store_true", help="delete them (default: only list them)")
    _detailed_exitcode(prune, "exit 2 when there is something to delete (or was deleted), 0 when not")

    report = _command(commands, "report", "write an HTML page about a stack's models", _REPORT_HELP)
    report.add_argument("--stack", metavar="NAME", required=True, help="the stack to report on")
    add_state_arguments(report, "no scores from Pulumi, no last change")
    report.add_argument(
        "--out",
        metavar="PATH",
        default=None,
        help="where to write the page (default: .tuned-models/report-NAME.html)",
    )
    report.add_argument(
        "--no-evaluate",
        action="store_true",
        help="do not evaluate models that are trained but not serving (no generateContent calls)",
    )
    _project_root_argument(report)
    report.set_defaults(handler=_run_report)

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
        code = e.code if isinstance(e.code, int) else 2
        # With --detailed-exitcode, 2 means "changes": a usage error is then an error like any other.
        return 1 if code == 2 and "--detailed-exitcode" in argv else code
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


def _service_command(
    commands: Any,
    name: str,
    summary: str,
    description: str,
    stack_help: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    formats: tuple[str, str],
    format_help: str,
    without_state: str,
) -> argparse.ArgumentParser:
    """A command that reads the service: ``--stack`` (required), ``--format``, ``--state`` or
    ``--no-state``, ``--project-root``."""
    parser = _command(commands, name, summary, description)
    parser.add_argument("--stack", metavar="NAME", required=True, help=stack_help)
    parser.add_argument("--format", choices=formats, default=formats[0], help=format_help)
    add_state_arguments(parser, without_state)
    _project_root_argument(parser)
    parser.set_defaults(handler=handler)
    return parser


def add_state_arguments(parser: argparse.ArgumentParser, without_state: str) -> None:
    """``--state FILE`` and ``--no-state``, shared by the commands that read a stack's state;
    ``without_state`` says what the command gives up without it."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        default=None,
        help="the stack's state as `pulumi stack export --stack NAME` wrote it "
        "(default: ask the Pulumi CLI when one is reachable)",
    )
    which.add_argument(
        "--no-state",
        action="store_true",
        help=f"do not read the stack's state ({without_state})",
    )


def _detailed_exitcode(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--detailed-exitcode", action="store_true", help=text + " (1: error)")


def _project_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-root",
        metavar="DIR",
        type=Path,
        default=None,
        help="the directory holding Pulumi.yaml and stacks/ "
        "(default: the nearest one at or above the current directory)",
    )


# -- plan, status, prune, report (imported when they run: they need the API client) -------------


def _run_plan(args: argparse.Namespace) -> int:
    from tuned_models.cli.plan import run_plan

    return run_plan(args)


def _run_status(args: argparse.Namespace) -> int:
    from tuned_models.cli.status import run_status

    return run_status(args)


def _run_prune(args: argparse.Namespace) -> int:
    from tuned_models.cli.prune import run_prune

    return run_prune(args)


def _run_report(args: argparse.Namespace) -> int:
    from tuned_models.cli.report import run_report

    return run_report(args)


# -- emulator ------------------------------------------------------------------------------------


def _run_emulator(argv: Sequence[str]) -> int:
    """Hand ``argv`` to the emulator's ``cli`` entry point; exit 2 when it is not installed."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "cli"]
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
        print(
            f"{_PROG} emulator: not available (no '{ENTRY_POINT_GROUP}' entry point 'cli')", file=sys.stderr
        )
        return _EXIT_UNAVAILABLE
    code = target(list(argv))
    return int(code or 0)
