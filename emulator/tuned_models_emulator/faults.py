"""Injected faults and forced training failures: stored rules the admin routes manage.

A fault targets an RPC (or ``*``) and, when it fires (``rate`` dice, ``count`` times), adds
latency, answers an HTTP error with the status and message Google uses, or drops the
connection. A forced-failure rule makes matching models created afterwards end FAILED at a share
of their steps; its pattern is an RE2 regular expression, matched in time linear in the text
(Python's ``re`` can backtrack for minutes on a pattern such as ``(a+)+$``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import re2

from tuned_models_emulator.errors import ApiError, InjectedError, InvalidArgument, retry_info
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.store import Tx
from tuned_models_emulator.wire import number

#: The longest forced-failure pattern (characters).
MAX_PATTERN_CHARS = 256
_RE2 = re2.Options()
_RE2.log_errors = False
_RE2.max_mem = 1 << 20

#: A fault's largest count, latency (10 minutes) and Retry-After (a day).
MAX_COUNT = 1_000_000_000
MAX_LATENCY_MS = 600_000
MAX_RETRY_AFTER = 86_400


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What an injected fault does to one request."""

    latency_ms: int = 0
    error: ApiError | None = None
    drop: bool = False


def decide_fault(runtime: Runtime, tx: Tx, rpc: str) -> FaultDecision | None:
    """The first stored fault matching ``rpc`` that fires (dice per ``rate``), or None.

    A fault with a ``count`` is used up as it fires.
    """
    for fault_id, fault in tx.faults():
        if fault.get("method", "*") not in ("*", rpc):
            continue
        rate = float(fault.get("rate", 1.0))
        if rate < 1.0 and runtime.rng(tx).random() >= rate:
            continue
        count = fault.get("count")
        if count is not None:
            if int(count) <= 1:
                tx.delete_fault(fault_id)
            else:
                tx.update_fault(fault_id, {**fault, "count": int(count) - 1})
        status = fault.get("status")
        error = None if status is None else injected_error(int(status), fault)
        return FaultDecision(int(fault.get("latencyMs") or 0), error, bool(fault.get("drop")))
    return None


def injected_error(status: int, fault: Mapping[str, Any]) -> ApiError:
    """The error a fault answers: 429 with Retry-After and RetryInfo, 503 with Retry-After when
    the fault gives one, any other code with Google's status and message for it."""
    message = fault.get("message")
    if status == 429:
        retry_after = fault.get("retryAfter", 2)
        retry_after = 2 if retry_after is None else retry_after
        shown = int(retry_after) if float(retry_after).is_integer() else retry_after
        return InjectedError(
            429,
            message=message,
            details=[retry_info(float(retry_after))],
            headers={"Retry-After": str(math.ceil(float(shown)))},
        )
    headers: dict[str, str] = {}
    if status == 503 and fault.get("retryAfter") is not None:
        headers["Retry-After"] = str(math.ceil(float(fault["retryAfter"])))
    return InjectedError(status, message=message, headers=headers)


def validate_fault(body: dict[str, Any], rpc_names: Collection[str]) -> dict[str, Any]:
    """A fault from an admin body: ``method`` (an RPC name or ``*``), ``status`` (HTTP code),
    ``rate`` (0..1, default 1), ``count`` (times it fires, default unlimited), ``retryAfter``
    (seconds, 429 only, default 2), ``latencyMs``, ``drop``, ``message``.

    Raises :class:`InvalidArgument` naming the bad field.
    """
    method = str(body.get("method") or body.get("rpc") or "*")
    if method != "*" and method not in rpc_names:
        raise InvalidArgument(f"Unknown method {method!r}: use '*' or one of {', '.join(sorted(rpc_names))}.")
    status = number(body, "status", integer=True)
    if status is not None and not 400 <= status <= 599:
        raise InvalidArgument("status must be an HTTP error code (400-599).")
    rate = number(body, "rate")
    rate = 1.0 if rate is None else rate
    if not 0.0 <= rate <= 1.0:
        raise InvalidArgument("rate must be between 0 and 1.")
    count = number(body, "count", integer=True, minimum=1, maximum=MAX_COUNT)
    latency = number(body, "latencyMs", integer=True, minimum=0, maximum=MAX_LATENCY_MS) or 0
    drop = bool(body.get("drop", False))
    retry_after = number(body, "retryAfter", minimum=0, maximum=MAX_RETRY_AFTER)
    if status is None and not drop and latency == 0:
        status = 503
    fault: dict[str, Any] = {
        "method": method,
        "status": status,
        "rate": rate,
        "count": count,
        "retryAfter": retry_after if retry_after is not None else (2 if status == 429 else None),
        "latencyMs": latency,
        "drop": drop,
    }
    if body.get("message"):
        fault["message"] = str(body["message"])
    return fault


def validate_failure(body: dict[str, Any]) -> dict[str, Any]:
    """A forced-failure rule from an admin body: ``match`` (an RE2 regular expression searched in
    the id and the displayName, at most :data:`MAX_PATTERN_CHARS` characters), ``atPercent``
    (0..100; the model fails once that share of steps completed, at least one step), ``message``.
    Raises :class:`InvalidArgument` naming the bad field."""
    match = str(body.get("match") or ".*")
    if len(match) > MAX_PATTERN_CHARS:
        raise InvalidArgument(f"match must be at most {MAX_PATTERN_CHARS} characters.")
    try:
        re2.compile(match, options=_RE2)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        )
        raise InvalidArgument(f"match is not a valid RE2 regular expression: {reason}") from None
    percent = number(body, "atPercent")
    percent = 0.0 if percent is None else percent
    if not 0.0 <= percent <= 100.0:
        raise InvalidArgument("atPercent must be between 0 and 100.")
    rule: dict[str, Any] = {"match": match, "atPercent": percent}
    if body.get("message"):
        rule["message"] = str(body["message"])
    return rule


def forced_failure(
    tx: Tx, model_id: str, display_name: str, total: int, *, also: Iterable[str] = ()
) -> tuple[int | None, str | None]:
    """The step at which a new model (or job) must fail and the message, from the first rule whose
    ``match`` is found in its id, its display name or one of ``also`` (a tuning job's ``key=value``
    labels); ``(None, None)`` when none matches."""
    subjects = [model_id, display_name, *also]
    for rule in tx.failures():
        pattern = str(rule.get("match") or "")
        try:
            regex = re2.compile(pattern, options=_RE2)
        except re2.error:
            continue
        if any(subject and regex.search(subject) for subject in subjects):
            percent = float(rule.get("atPercent") or 0.0)
            at = min(total, max(1, math.ceil(total * percent / 100.0)))
            return at, rule.get("message") or None
    return None, None
