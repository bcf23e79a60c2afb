"""The frame of the commands that read the service (``plan``, ``status``, ``prune``, ``report``):
load and check the stack, read its Pulumi state (:func:`tuned_models.stack.state.read_state`, by
the same rules for all of them), connect its backend, list the models that carry its tag, run
the command's work, and turn failures into one clear line on stderr (and, with ``--format
json``, a JSON document with ``ok: false``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tuned_models.backends import connect_backend
from tuned_models.backends.base import Backend
from tuned_models.cli.output import document, dumps, problem_json
from tuned_models.config import API_KEY_BACKENDS
from tuned_models.discovery import StackView, observe
from tuned_models.model.desired import ModelInputs, stack_inputs
from tuned_models.project import find_project_root, project_name
from tuned_models.rest.errors import CredentialsMissing, ServiceError
from tuned_models.stack import LoadedStack, load_stack
from tuned_models.stack.state import StateError, read_state

T = TypeVar("T")

#: Exit codes of the commands that read the service.
EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@dataclass(frozen=True)
class Context:
    """What a command works on: the project, the checked stack, and what it has (state, tagged
    models, the backend: ``view.backend``)."""

    project: str
    root: Path
    stack: LoadedStack
    view: StackView

    def declared_inputs(self) -> dict[str, ModelInputs]:
        """The desired inputs of the stack's models, a source reference resolved to the name
        the state records for it (:func:`tuned_models.model.desired.stack_inputs`)."""
        state = self.view.state
        return stack_inputs(
            self.project,
            self.stack.name,
            self.stack.models,
            self.stack.datasets,
            validations=self.stack.validation_datasets,
            evaluations=self.stack.evaluations,
            backend=self.stack.connection.backend,
            names={n: r.service_name for n, r in (state.models.items() if state else [])},
        )


@dataclass
class StackEntry:
    """What the result of a command that reads the service says of its stack first: the stack,
    its file, and where its Pulumi state was read (``partial``: it was not, ``state_note`` why)."""

    stack: str
    file: str
    state_note: str
    partial: bool

    @classmethod
    def fields_of(cls, ctx: Context) -> dict[str, Any]:
        """The entry's fields for the stack ``ctx`` names (``Result(**StackEntry.fields_of(ctx))``)."""
        return {
            "stack": ctx.stack.name,
            "file": ctx.stack.path,
            "state_note": ctx.view.state_note,
            "partial": ctx.view.state is None,
        }

    def entry_json(self) -> dict[str, Any]:
        """The first keys of the stack's entry in the JSON document."""
        return {
            "stack": self.stack,
            "file": self.file,
            "state": {"read": not self.partial, "source": self.state_note},
            "partial": self.partial,
        }


#: What a command does once connected: (context, progress) -> result.
Work = Callable[[Context, Callable[[str], None]], T]


def progress_printer(enabled: bool = True) -> Callable[[str], None]:
    """Progress lines for long commands, on stderr so stdout stays machine-readable."""

    def show(message: str) -> None:
        if enabled:
            print(message, file=sys.stderr, flush=True)

    return show


class ProgressLog:
    """A backend's :class:`~tuned_models.backends.base.Log` for a command: its lines go to the
    command's progress (stderr), warnings marked."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        self._progress = progress

    def info(self, message: str) -> None:
        self._progress(message)

    def warn(self, message: str) -> None:
        self._progress(f"warning: {message}")


def connect_stack(stack: LoadedStack, project_root: Path) -> Backend:
    """The backend of the stack's connection; credentials from the environment (or ADC).

    The stack file's ``apiKey`` is encrypted by Pulumi and cannot be read here: set
    ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) for ``plan`` and ``status``; a vertex stack reads
    ``GOOGLE_OAUTH_ACCESS_TOKEN`` or application default credentials, and its project and
    location fall back to ``GOOGLE_CLOUD_PROJECT`` and ``GOOGLE_CLOUD_LOCATION``.
    """
    return connect_backend(stack.connection.without_key(), project_root)


def _fail(args: argparse.Namespace, command: str, message: str, stack: LoadedStack | None = None) -> int:
    print(
        f"tuned-models {command}: {message}" if not message.startswith("stacks/") else message,
        file=sys.stderr,
    )
    if getattr(args, "format", None) == "json":
        entry: dict[str, Any] = {"stack": args.stack, "error": message}
        if stack is not None:
            entry.update(file=stack.path, problems=[problem_json(p) for p in stack.problems])
        print(dumps(document(command, [entry], ok=False)))
    return EXIT_ERROR


def run_against_service(
    args: argparse.Namespace, command: str, work: Work[T], *, history: bool = False
) -> tuple[LoadedStack, T] | int:
    """Load and check the stack, connect, read its Pulumi state (``--state FILE``, ``--no-state``,
    else the Pulumi CLI: :func:`tuned_models.stack.state.read_state`; ``history``: the last
    update too), list the models with its tag, run ``work``.

    Returns the stack and ``work``'s result, or the exit code (1) after one clear line on stderr
    (and with ``--format json`` a document with ``ok: false``): the stack's problems, a state
    file that cannot be used, missing credentials, or the service's error.
    """
    root = Path(args.project_root) if getattr(args, "project_root", None) else find_project_root()
    stack = load_stack(root, args.stack)
    if not stack.ok:
        for p in stack.problems:
            print(p.line(), file=sys.stderr)
        return _fail(
            args, command, f"{stack.path}: fix the errors above first (see `tuned-models validate`)", stack
        )
    progress = progress_printer()
    try:
        project = project_name(root)
        backend = connect_stack(stack, root)  # first: missing credentials fail fast
        source = read_state(
            root,
            project,
            stack.name,
            state_file=getattr(args, "state", None),
            use_cli=not getattr(args, "no_state", False),
            history=history,
        )
        progress(source.note)
        view = observe(backend, project, stack.name, source.state, source.note, progress)
        return stack, work(Context(project, root, stack, view), progress)
    except StateError as e:
        return _fail(args, command, str(e), stack)
    except CredentialsMissing as e:
        hint = (
            f" ({command} cannot read the stack's encrypted apiKey: use the environment or "
            "application default credentials)"
            if stack.connection.backend in API_KEY_BACKENDS
            else ""
        )
        return _fail(args, command, f"{e.message}{hint}", stack)
    except ServiceError as e:
        return _fail(args, command, f"the service answered {e}", stack)
    except (OSError, KeyError, TypeError) as e:  # Pulumi.yaml missing or naming no project
        return _fail(args, command, f"cannot read the project ({e})", stack)
    except (ValueError, RuntimeError) as e:
        # What connecting refused (a vertex stack without a project where this runs, an
        # embedded emulator that is not installed) or a backend's message for the user.
        return _fail(args, command, str(e), stack)


def run_command(
    args: argparse.Namespace,
    command: str,
    work: Work[T],
    to_json: Callable[[T], dict[str, Any]],
    render_text: Callable[[T], str],
    *,
    changes: Callable[[T], bool] | None = None,
) -> int:
    """Run ``work`` against the service (:func:`run_against_service`) and print its result: the
    JSON document (``to_json`` gives the stack's entry) with ``--format json``, else
    ``render_text``. Returns the exit code: 1 on any failure; with ``--detailed-exitcode``, 2
    when ``changes`` says there are some."""
    outcome = run_against_service(args, command, work)
    if isinstance(outcome, int):
        return outcome
    stack, result = outcome
    has_changes = bool(changes and changes(result))
    if args.format == "json":
        entry = {**to_json(result), "problems": [problem_json(p) for p in stack.problems]}
        print(dumps(document(command, [entry], ok=True, changes=has_changes)))
    else:
        print(render_text(result), end="")
    if getattr(args, "detailed_exitcode", False) and has_changes:
        return EXIT_CHANGES
    return EXIT_OK
