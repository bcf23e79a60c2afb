"""Pydantic's validation errors, in the words of a stack file's problem lines.

:func:`explain` turns one error into the key path (``permissions[0].role``) and a reason a
person can act on ("unknown key 'temprature'; did you mean 'temperature'?").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuned_models.model.problems import describe, suggest
from tuned_models.model.spec import (
    EVALUATION_KEYS,
    EXAMPLES_UNION_TAGS,
    HYPERPARAMETER_KEYS,
    MODEL_KEYS,
    PERMISSION_KEYS,
    Example,
)

# Valid keys per mapping of a model spec, for "did you mean" suggestions (by the parent key).
_KEYS_BY_PARENT: dict[str, tuple[str, ...]] = {
    "": MODEL_KEYS,
    "hyperparameters": HYPERPARAMETER_KEYS,
    "permissions": PERMISSION_KEYS,
    "tunedModelSource": ("tunedModel", "model"),
    "examples": tuple(Example.model_fields),
    "evaluation": EVALUATION_KEYS,
}


def _number(value: Any) -> str:
    """``2.0`` -> ``2``; other values as they print."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def key_path(loc: Sequence[int | str]) -> str:
    """``('permissions', 0, 'role')`` -> ``permissions[0].role``."""
    out = ""
    for i, part in enumerate(loc):
        if part in EXAMPLES_UNION_TAGS and i and loc[i - 1] == "examples":
            continue  # the branch pydantic took for a file-or-inline value
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_TYPE_NAMES = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
    "model": "a mapping",
    "dict": "a mapping",
}


def explain(err: Mapping[str, Any]) -> tuple[str, str]:
    """The key path and a human reason for one pydantic error."""
    loc: tuple[int | str, ...] = tuple(err["loc"])
    kind: str = err["type"]
    value = err.get("input")
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    key = key_path(loc)
    if kind == "extra_forbidden":
        parent = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
        candidates = _KEYS_BY_PARENT.get(parent, ())
        word = str(loc[-1])
        return key, f"unknown key {word!r}" + suggest(word, candidates)
    if kind == "missing":
        return key, "required but missing"
    if kind == "int_from_float":
        return key, f"expected an integer, got {describe(value)}"
    for prefix, noun in _TYPE_NAMES.items():
        if kind in (f"{prefix}_type", f"{prefix}_parsing"):
            return key, f"expected {noun}, got {describe(value)}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, name = bounds[kind]
        return key, f"must be {words} {_number(ctx.get(name))}, got {describe(value)}"
    if kind == "string_too_long":
        length = len(value) if isinstance(value, str) else "more"
        return key, f"must be at most {ctx.get('max_length')} characters, got {length}"
    if kind == "literal_error":
        message = f"expected {ctx.get('expected')}, got {describe(value)}"
        if loc and loc[-1] == "role" and value == "OWNER":
            message += "; a model's owner is set with owner: <email>"
        return key, message
    if kind == "enum":
        return key, f"expected {ctx.get('expected')}, got {describe(value)}"
    if kind == "value_error":
        return key, str(ctx.get("error", err.get("msg", "")))
    return key, str(err.get("msg", kind))
