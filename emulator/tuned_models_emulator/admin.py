"""Admin routes under ``/_emulator/`` (outside the API's paths; no auth, not journaled).

| route | body | answer |
|---|---|---|
| ``POST /_emulator/reset`` | - | ``{}`` |
| ``POST /_emulator/seed`` | ``{"seed": 42}`` (null = random) | ``{"seed": 42}`` |
| ``GET``/``PATCH /_emulator/settings`` | ``{"stepSeconds": 0.05}`` | the settings |
| ``POST /_emulator/clock`` | ``{"mode": "manual" or "real"}`` | ``{"mode", "now"}`` |
| ``POST /_emulator/advance`` | ``{"seconds": 12.5}`` or ``{"steps": 3}`` | ``{"mode", "now"}`` |
| ``POST``/``GET``/``DELETE /_emulator/faults`` | see :func:`_fault` | the fault / ``{"faults"}`` / ``{}`` |
| ``POST``/``GET``/``DELETE /_emulator/failures`` | ``{"match", "atPercent", "message"}`` | same |
| ``POST /_emulator/callers`` | ``{"key" or "token", "email", "groups"}`` | ``{"caller"}`` |
| ``GET``/``DELETE /_emulator/journal`` | - | ``{"requests": [...]}`` / ``{}`` |

Bodies accept camelCase or snake_case keys. Errors use the API's error shape.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from tuned_models_emulator.errors import ApiError, InvalidArgument, NotFound, error_body
from tuned_models_emulator.store import Tx
from tuned_models_emulator.wire import format_timestamp, json_bytes, normalize_free, parse_json_body

if TYPE_CHECKING:
    from tuned_models_emulator.backend import Backend


def _response(body: Any, status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type="application/json")


def _number(body: dict[str, Any], key: str, *, integer: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidArgument(f"{key} must be a number.")
    try:
        number = float(value)
    except ValueError:
        raise InvalidArgument(f"{key} must be a number.") from None
    if integer:
        if not number.is_integer():
            raise InvalidArgument(f"{key} must be an integer.")
        return int(number)
    return number


def _fault(body: dict[str, Any], rpc_names: set[str]) -> dict[str, Any]:
    """Validate a fault: ``method`` (one of ``rpc_names`` or ``*``), ``status`` (HTTP code),
    ``rate`` (0..1, default 1), ``count`` (times it fires, default unlimited), ``retryAfter``
    (seconds, 429 only, default 2), ``latencyMs``, ``drop``, ``message``."""
    method = str(body.get("method") or body.get("rpc") or "*")
    if method != "*" and method not in rpc_names:
        raise InvalidArgument(f"Unknown method {method!r}: use '*' or one of {', '.join(sorted(rpc_names))}.")
    status = _number(body, "status", integer=True)
    if status is not None and not 400 <= status <= 599:
        raise InvalidArgument("status must be an HTTP error code (400-599).")
    rate = _number(body, "rate")
    rate = 1.0 if rate is None else rate
    if not 0.0 <= rate <= 1.0:
        raise InvalidArgument("rate must be between 0 and 1.")
    count = _number(body, "count", integer=True)
    if count is not None and count < 1:
        raise InvalidArgument("count must be at least 1.")
    latency = _number(body, "latencyMs", integer=True) or 0
    if latency < 0:
        raise InvalidArgument("latencyMs must not be negative.")
    drop = bool(body.get("drop", False))
    retry_after = _number(body, "retryAfter")
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


def _failure(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a forced-failure rule: ``match`` (regex on id or displayName), ``atPercent``
    (0..100; the model fails once that share of steps completed, at least one step), ``message``."""
    match = str(body.get("match") or ".*")
    try:
        re.compile(match)
    except re.error as exc:
        raise InvalidArgument(f"match is not a valid regular expression: {exc}") from None
    percent = _number(body, "atPercent")
    percent = 0.0 if percent is None else percent
    if not 0.0 <= percent <= 100.0:
        raise InvalidArgument("atPercent must be between 0 and 100.")
    rule: dict[str, Any] = {"match": match, "atPercent": percent}
    if body.get("message"):
        rule["message"] = str(body["message"])
    return rule


def _clock(backend: Backend, tx: Tx) -> dict[str, Any]:
    return backend.settings_json(tx)["clock"]  # type: ignore[no-any-return]


async def admin_endpoint(backend: Backend, request: Request) -> Response:
    """Serve one admin request; see the module docstring for the routes."""
    from tuned_models_emulator.backend import ClockMode

    route = request.url.path.removeprefix("/_emulator/").strip("/")
    method = request.method
    try:
        raw = await request.body()
        body = normalize_free(parse_json_body(raw)) if raw.strip() else {}
        if not isinstance(body, dict):
            raise InvalidArgument("The body must be a JSON object.")
        with backend.store.transaction() as tx:
            if (method, route) == ("POST", "reset"):
                backend.reset(tx)
                return _response({})
            if (method, route) == ("POST", "seed"):
                seed = _number(body, "seed", integer=True)
                backend.set_seed(tx, seed)
                return _response({"seed": seed})
            if route == "settings" and method == "GET":
                return _response(backend.settings_json(tx))
            if route == "settings" and method in ("PATCH", "POST", "PUT"):
                step = _number(body, "stepSeconds")
                if step is not None:
                    backend.set_step_seconds(tx, step)
                if "seed" in body:
                    backend.set_seed(tx, _number(body, "seed", integer=True))
                return _response(backend.settings_json(tx))
            if (method, route) == ("POST", "clock"):
                mode = str(body.get("mode") or "").lower()
                if mode not in ("manual", "real"):
                    raise InvalidArgument('mode must be "manual" or "real".')
                backend.set_clock(tx, ClockMode(mode))
                return _response(_clock(backend, tx))
            if route == "clock" and method == "GET":
                return _response(_clock(backend, tx))
            if (method, route) == ("POST", "advance"):
                seconds = _number(body, "seconds")
                steps = _number(body, "steps", integer=True)
                if seconds is None and steps is None:
                    raise InvalidArgument('Give "seconds" or "steps".')
                backend.advance(tx, seconds=seconds, steps=steps)
                return _response(_clock(backend, tx))
            if route == "faults":
                if method == "POST":
                    fault = _fault(body, backend.rpc_names)
                    fault_id = tx.add_fault(fault)
                    return _response({"id": fault_id, **fault})
                if method == "GET":
                    return _response({"faults": [{"id": i, **f} for i, f in tx.faults()]})
                if method == "DELETE":
                    tx.clear_faults()
                    return _response({})
            if route == "failures":
                if method == "POST":
                    rule = _failure(body)
                    tx.add_failure(rule)
                    return _response(rule)
                if method == "GET":
                    return _response({"failures": tx.failures()})
                if method == "DELETE":
                    tx.clear_failures()
                    return _response({})
            if (method, route) == ("POST", "callers"):
                groups = body.get("groups") or []
                if not isinstance(groups, list):
                    raise InvalidArgument("groups must be a list of email addresses.")
                caller = backend.register_caller(
                    tx,
                    key=body.get("key"),
                    token=body.get("token"),
                    email=body.get("email"),
                    groups=[str(g) for g in groups],
                )
                return _response({"caller": caller})
            if route == "journal":
                if method == "GET":
                    return _response({"requests": tx.journal()})
                if method == "DELETE":
                    tx.clear_journal()
                    return _response({})
            if (method, route) == ("GET", "time"):
                return _response({"now": format_timestamp(backend.now_ns(tx))})
        raise NotFound(f"The requested URL {request.url.path} was not found on this server.")
    except ApiError as error:
        return _response(error_body(error), error.http_code)
