"""``tuned-models validate``: check stack files offline (see :mod:`tuned_models.cli`)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tuned_models.cli.output import document, dumps, problem_json
from tuned_models.model.datasets import DatasetInfo
from tuned_models.project import STACKS_DIR, find_project_root
from tuned_models.stack import LoadedStack, list_stacks, load_stack


def run_validate(args: argparse.Namespace) -> int:
    """The ``validate`` command (see :mod:`tuned_models.cli`); returns the exit code."""
    root: Path = args.project_root or find_project_root()
    names = [args.stack] if args.stack else list_stacks(root)
    stacks = [load_stack(root, name) for name in names]
    errors = sum(len(s.errors) for s in stacks)
    no_stacks = not names
    if args.format == "json":
        ok = errors == 0 and not no_stacks
        print(dumps(document("validate", [_stack_json(s) for s in stacks], ok=ok)))
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
        "backend": stack.connection.backend,
        "endpoint": stack.connection.endpoint,
        "models": list(stack.model_names),
        "errors": len(stack.errors),
        "warnings": len(stack.warnings),
        "problems": [problem_json(p) for p in stack.problems],
        "datasets": _examples_json(stack.datasets),
        "validationDatasets": _examples_json(stack.validation_datasets),
        "evaluations": _examples_json(stack.evaluations),
    }


def _examples_json(infos: Mapping[str, DatasetInfo]) -> dict[str, Any]:
    """Each model's examples (its training data, validation set, or its quality gate's): path,
    digest (as its backend digests them), count."""
    return {name: {"path": i.path, "digest": i.digest, "examples": i.count} for name, i in infos.items()}
