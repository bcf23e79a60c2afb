"""The frame of the commands that read the service (``plan``, ``status``): load and check the
stack, connect its backend, run the command's work, turn failures into one line on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tuned_models.backends import connect_backend
from tuned_models.backends.base import Backend
from tuned_models.config import API_KEY_BACKENDS
from tuned_models.project import find_project_root, project_name
from tuned_models.rest.errors import CredentialsMissing, ServiceError
from tuned_models.stack import LoadedStack, load_stack

T = TypeVar("T")
#: What a command does once connected: (project, stack, backend, progress) -> result.
Work = Callable[[str, LoadedStack, Backend, Callable[[str], None]], T]


def progress_printer(enabled: bool = True) -> Callable[[str], None]:
    """Progress lines for long commands, on stderr so stdout stays machine-readable."""

    def show(message: str) -> None:
        if enabled:
            print(message, file=sys.stderr, flush=True)

    return show


def load_valid_stack(project_root: Path, name: str) -> LoadedStack | None:
    """The stack, or ``None`` after printing its problems to stderr."""
    stack = load_stack(project_root, name)
    if not stack.ok:
        for p in stack.problems:
            print(p.line(), file=sys.stderr)
        print(f"{stack.path}: fix the errors above first (see `tuned-models validate`)", file=sys.stderr)
        return None
    return stack


def connect_stack(stack: LoadedStack, project_root: Path) -> Backend:
    """The backend of the stack's connection; credentials from the environment (or ADC).

    The stack file's ``apiKey`` is encrypted by Pulumi and cannot be read here: set
    ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) for ``plan`` and ``status``; a vertex stack reads
    ``GOOGLE_OAUTH_ACCESS_TOKEN`` or application default credentials, and its project and
    location fall back to ``GOOGLE_CLOUD_PROJECT`` and ``GOOGLE_CLOUD_LOCATION``.
    """
    return connect_backend(stack.connection.without_key(), project_root)


def run_command(
    args: argparse.Namespace,
    command: str,
    work: Work[T],
    render_json: Callable[[LoadedStack, T], Any],
    render_text: Callable[[T], str],
) -> int:
    """Run ``work`` against the service and print its result: ``render_json`` (a JSON-ready
    document) with ``--format json``, else ``render_text``. Returns the exit code."""
    result = run_against_service(args, command, work)
    if result is None:
        return 1
    stack, value = result
    if args.format == "json":
        print(json.dumps(render_json(stack, value), indent=2, default=str))
    else:
        print(render_text(value), end="")
    return 0


def run_against_service(
    args: argparse.Namespace, command: str, work: Work[T]
) -> tuple[LoadedStack, T] | None:
    """Load and check the stack, connect, run ``work``.

    Returns the stack and ``work``'s result, or ``None`` after one clear line on stderr (the
    stack's problems, missing credentials, or the service's error): the caller exits 1.
    """
    root = Path(args.project_root) if getattr(args, "project_root", None) else find_project_root()
    stack = load_valid_stack(root, args.stack)
    if stack is None:
        return None
    try:
        return stack, work(project_name(root), stack, connect_stack(stack, root), progress_printer())
    except CredentialsMissing as e:
        hint = (
            f" ({command} cannot read the stack's encrypted apiKey: use the environment or "
            "application default credentials)"
            if stack.connection.backend in API_KEY_BACKENDS
            else ""
        )
        print(f"tuned-models {command}: {e.message}{hint}", file=sys.stderr)
    except ServiceError as e:
        print(f"tuned-models {command}: the service answered {e}", file=sys.stderr)
    except (ValueError, RuntimeError) as e:
        # What connecting refused (a vertex stack without a project where this runs, an
        # embedded emulator that is not installed) or a backend's message for the user.
        print(f"tuned-models {command}: {e}", file=sys.stderr)
    return None
