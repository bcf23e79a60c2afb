"""One finding about a stack file or a dataset: :class:`Problem`, with its :class:`Severity`.

The dataset checks (:func:`tuned_models.model.datasets.dataset_problems`) return problems
without a file, model or key; the stack checker fills those in with :meth:`Problem.at`. :func:`describe` and
:func:`suggest` word what a message says about a value.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a :class:`Problem` is: errors fail ``validate`` (exit 1), warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding about a stack file.

    ``file`` is the display path of the stack file; ``model`` the resource name (empty for the
    file or a top-level config key); ``key`` the key path inside the model (``hyperparameters.
    batchSize``, ``permissions[0].role``) or the config key; ``line_number`` and ``column``
    (1-based) where the stack file says it, when known: YAML syntax errors and repeated keys, and
    the key a schema error is about. ``severity`` is a str enum, so it compares equal to
    ``"error"`` / ``"warning"``.
    """

    severity: Severity
    file: str
    model: str
    key: str
    message: str
    line_number: int | None = None
    column: int | None = None

    def line(self, *, severity: bool = True) -> str:
        """``file:model:key: message``; empty parts are left out together with their colon. A
        problem of the file as a whole (no model, no key: a YAML syntax error) shows its line,
        ``file:line: message``. A warning says so (``file:model:key: warning: message``) unless
        ``severity`` is false, for a channel that labels it already (Pulumi's ``log.warn``)."""
        parts = [self.file]
        if self.line_number is not None and not self.model and not self.key:
            parts.append(str(self.line_number))
        parts.extend(p for p in (self.model, self.key) if p)
        prefix = "warning: " if severity and self.severity is Severity.WARNING else ""
        return f"{':'.join(parts)}: {prefix}{self.message}"

    def at(self, file: str, model: str, key: str, prefix: str = "") -> Problem:
        """This problem placed in a stack file: ``file``, ``model`` and ``key`` set, ``prefix``
        put before the message (e.g. the dataset's path)."""
        return dataclasses.replace(self, file=file, model=model, key=key, message=prefix + self.message)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping: severity, file, model, key, line and column (or null), message."""
        return {
            "severity": self.severity.value,
            "file": self.file,
            "model": self.model,
            "key": self.key,
            "line": self.line_number,
            "column": self.column,
            "message": self.message,
        }


def error(message: str) -> Problem:
    """An error not yet placed in a file (see :meth:`Problem.at`)."""
    return Problem(Severity.ERROR, "", "", "", message)


def warning(message: str) -> Problem:
    """A warning not yet placed in a file (see :meth:`Problem.at`)."""
    return Problem(Severity.WARNING, "", "", "", message)


def describe(value: Any) -> str:
    """A short description of a value for messages ("nothing", "a list", "'four'", "5.5")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(word: str, candidates: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    if not candidates:
        return ""
    camel = re.sub(r"[_-]([a-z])", lambda m: m.group(1).upper(), word)
    if camel in candidates and camel != word:
        return f"; did you mean '{camel}'?"
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"; did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if len(candidates) <= 6:
        return "; expected one of " + ", ".join(candidates)
    return ""
