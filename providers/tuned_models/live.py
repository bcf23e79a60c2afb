"""What a stack has on the service, found without Pulumi state.

The deterministic ids (:mod:`tuned_models.ids`) carry the stack's tag, so the models of a stack
are the caller's models whose id parses with that tag; the resource name is the id's prefix.
Used by ``plan`` and ``status``. Performs reads only.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from tuned_models.gemini import CredentialsMissing, GeminiClient, GeminiError, NotFound, find_project_root
from tuned_models.gemini.types import TunedModel
from tuned_models.ids import parse_id, stack_tag
from tuned_models.settings import Settings, client_for
from tuned_models.stack import LoadedStack, load_stack


def progress_printer(enabled: bool = True) -> Callable[[str], None]:
    """Progress lines for long commands, on stderr so stdout stays machine-readable."""

    def show(message: str) -> None:
        if enabled:
            print(message, file=sys.stderr, flush=True)

    return show


@dataclass
class StackModels:
    """The live models of one stack, by resource name (several when a retrain is pending)."""

    by_resource: dict[str, list[TunedModel]] = field(default_factory=dict)
    adopted: dict[str, TunedModel] = field(default_factory=dict)


def client_for_stack(stack: LoadedStack, project_root: Path) -> GeminiClient:
    """A client for the stack's endpoint; credentials from the environment (or ADC).

    The stack file's ``apiKey`` is encrypted by Pulumi and cannot be read here: set
    ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) for ``plan`` and ``status``.
    """
    return client_for(
        Settings(
            endpoint=stack.endpoint,
            quota_project=stack.quota_project,
            emulator_step_seconds=stack.emulator_step_seconds,
            project_root=project_root,
        )
    )


def project_name(project_root: Path) -> str:
    """The Pulumi project's name, from ``Pulumi.yaml`` (part of every model's id)."""
    document = yaml.safe_load((project_root / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(document["name"])


def find_stack_models(
    client: GeminiClient, project: str, stack: LoadedStack, progress: Callable[[str], None]
) -> StackModels:
    """List the caller's models and keep this stack's; fetch the models declared with ``adopt``."""
    tag = stack_tag(project, stack.name)
    found = StackModels()
    progress(f"listing tuned models on the service for stack {stack.name} ...")
    count = 0
    for model in client.iter_tuned_models():
        count += 1
        parsed = parse_id(model.name)
        if parsed is not None and parsed.tag == tag:
            found.by_resource.setdefault(parsed.resource, []).append(model)
    progress(
        f"listed {count} tuned models; {sum(map(len, found.by_resource.values()))} "
        f"belong to stack {stack.name}"
    )
    for name, spec in stack.models.items():
        if spec.adopt:
            with contextlib.suppress(NotFound):
                found.adopted[name] = client.get_tuned_model(spec.adopt)
    return found


def load_valid_stack(project_root: Path, name: str) -> LoadedStack | None:
    """The stack, or ``None`` after printing its problems to stderr."""
    stack = load_stack(project_root, name)
    if not stack.ok:
        for p in stack.problems:
            print(p.line(), file=sys.stderr)
        print(f"{stack.path}: fix the errors above first (see `tuned-models validate`)", file=sys.stderr)
        return None
    return stack


T = TypeVar("T")


def run_against_service(
    args: argparse.Namespace,
    command: str,
    work: Callable[[str, LoadedStack, GeminiClient, Callable[[str], None]], T],
) -> tuple[LoadedStack, T] | None:
    """The frame of ``plan`` and ``status``: load and check the stack, connect, run ``work``.

    Returns the stack and ``work``'s result, or ``None`` after one clear line on stderr (the
    stack's problems, missing credentials, or the service's error): the caller exits 1.
    """
    root = Path(args.project_root) if getattr(args, "project_root", None) else find_project_root()
    stack = load_valid_stack(root, args.stack)
    if stack is None:
        return None
    try:
        return stack, work(project_name(root), stack, client_for_stack(stack, root), progress_printer())
    except CredentialsMissing as e:
        print(
            f"tuned-models {command}: {e.message} ({command} cannot read the stack's encrypted "
            "apiKey: use the environment or application default credentials)",
            file=sys.stderr,
        )
    except GeminiError as e:
        print(f"tuned-models {command}: the service answered {e}", file=sys.stderr)
    return None
