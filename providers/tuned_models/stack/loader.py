"""Reading a stack file: :func:`load_stack` (a file) and :func:`parse_config` (a config map).

See :mod:`tuned_models.stack` for the contract.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tuned_models.config import KEY_API_KEY, KEY_MODELS, NAMESPACE, Connection
from tuned_models.model.problems import Problem, Severity, describe, suggest
from tuned_models.project import STACKS_DIR
from tuned_models.stack.checker import Checker
from tuned_models.stack.loaded import LoadedStack
from tuned_models.stack.yaml_loader import MAX_YAML_DEPTH, KeyMarks, StrictLoader

#: Top-level keys of a Pulumi stack settings file.
_STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def stack_path(project_root: Path, stack_name: str) -> Path:
    """The stack file of ``stack_name``: ``<project_root>/stacks/Pulumi.<stack>.yaml``."""
    return project_root / STACKS_DIR / f"Pulumi.{stack_name}.yaml"


def list_stacks(project_root: Path) -> list[str]:
    """The names of the stacks with a file in ``<project_root>/stacks``, sorted."""
    return sorted(
        p.name[len("Pulumi.") : -len(".yaml")]
        for p in (project_root / STACKS_DIR).glob("Pulumi.*.yaml")
        if p.is_file()
    )


def load_stack(project_root: Path, stack_name: str) -> LoadedStack:
    """Read and check ``stacks/Pulumi.<stack_name>.yaml`` under ``project_root``.

    Never raises for a bad or missing file: the finding is a :class:`Problem` (a YAML syntax
    error carries its line). ``path`` in the result is relative to ``project_root``.
    """
    path = stack_path(project_root, stack_name)
    display = f"{STACKS_DIR}/{path.name}"

    def failed(message: str, line: int | None = None) -> LoadedStack:
        problem = Problem(Severity.ERROR, display, "", "", message, line)
        return _empty_stack(stack_name, display, [problem])

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(list_stacks(project_root)) or "none"
        return failed(f"no such stack file (stacks: {known})")
    except (OSError, UnicodeDecodeError) as e:
        return failed(f"cannot read the stack file ({e})")
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        return failed(f"invalid YAML: {reason}", line)
    except RecursionError:  # a backstop: the loader stops at MAX_YAML_DEPTH levels
        return failed(f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep")
    finally:
        loader.dispose()

    if document is None:
        document = {}
    if not isinstance(document, dict):
        return failed(f"expected a mapping with a config key, got {describe(document)}")
    problems = [
        Problem(
            Severity.ERROR,
            display,
            "",
            "",
            f"duplicate key {key!r}; YAML keeps only the last one, so the earlier one would be ignored",
            line,
        )
        for key, line in loader.duplicates
    ]
    for key in document:
        if key not in _STACK_FILE_KEYS:
            hint = suggest(str(key), _STACK_FILE_KEYS)
            problems.append(Problem(Severity.ERROR, display, "", str(key), f"unknown stack file key{hint}"))
    config = document.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        problems.append(
            Problem(
                Severity.ERROR,
                display,
                "",
                "config",
                f"expected a mapping of config keys, got {describe(config)}",
            )
        )
        return _empty_stack(stack_name, display, problems)
    if isinstance(config.get(KEY_API_KEY), str):
        problems.append(
            Problem(
                Severity.WARNING,
                display,
                "",
                KEY_API_KEY,
                "the API key is stored in plain text; set it with `pulumi config "
                "set --secret tuned-models:apiKey` or GOOGLE_API_KEY instead",
            )
        )
    loaded = parse_config(config, source=display, project_root=project_root, name=stack_name)
    marks = KeyMarks(node)
    located = [_located(p, marks) if p.file == display else p for p in problems + loaded.problems]
    return dataclasses.replace(loaded, problems=located)


def _key_parts(key: str) -> list[str]:
    """``permissions[0].role`` -> ``["permissions", "[0]", "role"]``."""
    return [part for part in re.split(r"\.|(\[\d+\])", key) if part]


def _located(problem: Problem, marks: KeyMarks) -> Problem:
    """``problem`` with the line and column of the key it is about (or its nearest parent the
    file has), unless it has a line already."""
    if problem.line_number is not None:
        return problem
    if problem.model:
        path = ["config", KEY_MODELS, problem.model, *_key_parts(problem.key)]
    elif problem.key.startswith(NAMESPACE + ":"):
        config_key, _, rest = problem.key.partition(".")
        path = ["config", config_key, *_key_parts(rest)]
    elif problem.key:
        path = ["config", problem.key] if marks.locate(["config", problem.key]) else [problem.key]
    else:
        return problem
    mark = marks.locate(path)
    if mark is None:
        return problem
    return dataclasses.replace(problem, line_number=mark[0], column=mark[1])


def parse_config(
    config: Mapping[str, Any],
    *,
    source: str,
    project_root: Path,
    name: str | None = None,
) -> LoadedStack:
    """Check a namespaced config map (the ``config`` of a stack file) and build a LoadedStack.

    ``source`` is the display path used in problem lines; ``name`` the stack name (default: taken
    from a ``Pulumi.<stack>.yaml`` source, else empty). Values may be parsed YAML or, as the
    Pulumi runtime hands structured config to a program, JSON text. Datasets are read from
    ``project_root``. Keys of other namespaces are ignored. Never raises for bad input.
    """
    if name is None:
        m = re.search(r"Pulumi\.(.+)\.yaml$", source)
        name = m.group(1) if m else ""
    checker = Checker(source, project_root)
    return checker.run(config, name)


def _empty_stack(name: str, path: str, problems: list[Problem]) -> LoadedStack:
    return LoadedStack(name=name, path=path, connection=Connection(), models={}, problems=problems)
