"""Small Vertex AI rules shared by its resources: labels, list filters, checkpoint epochs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tuned_models_emulator.errors import InvalidArgument
from tuned_models_emulator.vertex.catalog import MAX_CHECKPOINTS

MAX_LABELS = 64
MAX_LABEL_CHARS = 64
_FILTER_TERM = re.compile(
    r'\s*(?P<field>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>!=|=|:)\s*(?P<value>"[^"]*"|[^\s"()]+)\s*'
)


def _label_char_ok(char: str, *, first: bool) -> bool:
    if char.islower() or (char.isalpha() and not char.isupper()):
        return True
    return not first and (char.isdigit() or char in "_-")


def check_labels(labels: Any, field_name: str = "labels") -> dict[str, str]:
    """The TuningJob proto's label rules: at most 64 labels; keys of 1-64 characters starting with a
    lowercase letter, values of up to 64; lowercase letters (international ones too), digits, ``_``
    and ``-``."""
    if labels is None:
        return {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InvalidArgument(f"{field_name} must be a map of strings to strings.")
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(f"{field_name} has {len(labels)} entries; at most {MAX_LABELS} are allowed.")
    for key, value in labels.items():
        if (
            not key
            or len(key) > MAX_LABEL_CHARS
            or not all(_label_char_ok(c, first=i == 0) for i, c in enumerate(key))
        ):
            raise InvalidArgument(
                f"Label key {key!r} violates format constraints. The key must start with a lowercase "
                "character, "
                "can only contain lowercase letters, numeric characters, underscores and dashes, and can "
                "be at most "
                f"{MAX_LABEL_CHARS} characters long. International characters are allowed."
            )
        if len(value) > MAX_LABEL_CHARS or not all(_label_char_ok(c, first=False) for c in value):
            raise InvalidArgument(
                f"Label value {value!r} of key {key!r} violates format constraints. The value can only "
                "contain "
                f"lowercase letters, numeric characters, underscores and dashes, and can be at most "
                f"{MAX_LABEL_CHARS} characters long. International characters are allowed."
            )
    return dict(labels)


@dataclass(frozen=True, slots=True)
class FilterTerm:
    """One ``field op value`` of a list filter (``labels.team=ml``, ``state!=JOB_STATE_FAILED``)."""

    field: str
    op: str
    value: str


def parse_filter(text: str | None, fields: Iterable[str]) -> list[FilterTerm]:
    """The terms of an AIP-160 filter joined by ``AND`` (or spaces); ``fields`` are the plain fields
    the collection supports besides ``labels.KEY``. Raises 400 for anything else."""
    terms: list[FilterTerm] = []
    rest = (text or "").strip()
    allowed = set(fields)
    while rest:
        found = _FILTER_TERM.match(rest)
        if found is None:
            raise InvalidArgument(f"Invalid filter: {text!r} (expected terms like labels.key=value).")
        name = found["field"]
        plain = re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)
        if not plain.startswith("labels.") and plain not in allowed:
            supported = ", ".join(sorted(allowed | {"labels.<key>"}))
            raise InvalidArgument(f"Unsupported filter field {name!r}; supported: {supported}.")
        value = found["value"].strip('"')
        terms.append(FilterTerm(plain, found["op"], value))
        rest = rest[found.end() :]
        keyword = re.match(r"(AND)\s+|(OR|NOT)\b", rest)
        if keyword is not None:
            if keyword[2]:
                raise InvalidArgument(f"Invalid filter: {keyword[2]} is not supported by the emulator.")
            rest = rest[keyword.end() :]
    return terms


def matches(terms: list[FilterTerm], values: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether a resource with plain field ``values`` and ``labels`` passes every term."""
    for term in terms:
        if term.field.startswith("labels."):
            key = term.field.removeprefix("labels.")
            actual = labels.get(key)
            if term.op == ":" and term.value == "*":
                ok = actual is not None
            elif term.op == "!=":
                ok = actual != term.value
            else:
                ok = actual == term.value
        else:
            actual = values.get(term.field)
            ok = actual != term.value if term.op == "!=" else actual == term.value
        if not ok:
            return False
    return True


def checkpoint_epochs(epochs: int, *, last_only: bool) -> list[int]:
    """The epochs a job exports a checkpoint at: each epoch up to 10 epochs, else 10 evenly spaced
    ones ending with the last (Google's checkpoint documentation); only the last with
    ``exportLastCheckpointOnly``."""
    if last_only:
        return [epochs]
    if epochs <= MAX_CHECKPOINTS:
        return list(range(1, epochs + 1))
    return sorted({round(i * epochs / MAX_CHECKPOINTS) for i in range(1, MAX_CHECKPOINTS + 1)})
