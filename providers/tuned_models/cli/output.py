"""What the commands print for machines and for pull requests: one JSON shape, and Markdown that
quotes users' text safely.

The JSON shape (``--format json`` of ``validate``, ``plan``, ``status`` and ``prune``) is
versioned and documented in ``docs/output.schema.json`` (a JSON Schema) and ``docs/ci.md``::

    {
      "schemaVersion": 1,
      "command": "validate" | "plan" | "status" | "prune",
      "ok": true,          # the command did its job and found no error
      "changes": false,    # plan: `pulumi up` would change something; prune: something to delete
      "stacks": [ {"stack": "dev", "file": "stacks/Pulumi.dev.yaml", "problems": [...], ...} ]
    }

Keys are camelCase like the rest of the product; a new key may be added within a version, a
key is never removed or changes meaning without a new ``schemaVersion``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from tuned_models.model.problems import Problem

__all__ = ["SCHEMA_VERSION", "document", "dumps", "md_code", "md_text", "problem_json"]

#: The version of the JSON shape; bumped when a key is removed or changes meaning.
SCHEMA_VERSION = 1


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem in the JSON shape (``line`` and ``column`` 1-based, null when unknown)."""
    return {
        "severity": problem.severity.value,
        "file": problem.file,
        "model": problem.model,
        "key": problem.key,
        "line": problem.line_number,
        "column": problem.column,
        "message": problem.message,
    }


def document(
    command: str, stacks: Sequence[dict[str, Any]], *, ok: bool, changes: bool = False
) -> dict[str, Any]:
    """The JSON document of one command run."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "command": command,
        "ok": ok,
        "changes": changes,
        "stacks": list(stacks),
    }


def dumps(value: Any) -> str:
    """JSON text; what UTF-8 cannot carry (a lone surrogate) is escaped, never an error."""
    return (
        json.dumps(value, indent=2, ensure_ascii=False, default=str)
        .encode("utf-8", "backslashreplace")
        .decode("utf-8")
    )


# Inside a table cell: emphasis, code, links, HTML, entities, strike-through and the cell bar.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def md_text(text: str) -> str:
    """``text`` as literal Markdown inside a table cell: every character Markdown (or HTML)
    would interpret is escaped, line breaks become spaces."""
    flat = " ".join(str(text).split("\n"))
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: str) -> str:
    """``text`` as an inline code span that is safe in a table cell: a fence longer than any
    run of backticks inside, ``|`` escaped (GitHub tables split on it even in code)."""
    flat = " ".join(str(text).split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat.replace('|', chr(92) + '|')}{pad}{fence}"
