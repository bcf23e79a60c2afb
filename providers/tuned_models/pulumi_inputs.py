"""How a dynamic provider reads the inputs the engine sends: shared by every resource here.

The engine hands ``check``/``diff`` the inputs with ``__provider`` among them and, during
preview, unresolved values as ``pulumi.output.Unknown``. :func:`plain` drops ``__provider``;
:func:`has_unknown` finds unknowns at any depth; :func:`check_failures` validates the known
inputs against a pydantic model and returns one ``CheckFailure`` per bad property, letting
unknown properties (and cross-field rules that involve them) pass. :func:`split_unknown` gives
the planner what it takes: the known inputs and the names of the unknown ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure
from pydantic import BaseModel, ValidationError

PROVIDER_KEY = "__provider"


def plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs without the serialized provider."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def has_unknown(value: Any) -> bool:
    """True when ``value`` is, or contains, a preview-time unknown."""
    if isinstance(value, pulumi.output.Unknown):
        return True
    if isinstance(value, Mapping):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def split_unknown(props: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """The inputs without ``__provider``, and the names of those unknown during a preview."""
    inputs = plain(props)
    return inputs, frozenset(k for k, v in inputs.items() if has_unknown(v))


def check_failures(news: Mapping[str, Any], model: type[BaseModel]) -> list[CheckFailure]:
    """One CheckFailure per property of ``news`` that ``model`` rejects (``where: reason``)."""
    known = {k: v for k, v in plain(news).items() if not has_unknown(v)}
    unknown = set(plain(news)) - set(known)
    try:
        model.model_validate(known)
    except ValidationError as e:
        failures: list[CheckFailure] = []
        for err in e.errors():
            loc = [str(p) for p in err["loc"]]
            if (loc and loc[0] in unknown) or (not loc and unknown):
                continue  # unknown now; a cross-field rule cannot be judged yet either
            reason = err["msg"].removeprefix("Value error, ")
            failures.append(
                CheckFailure(loc[0] if loc else "inputs", f"{'.'.join(loc)}: {reason}" if loc else reason)
            )
        return failures
    return []
