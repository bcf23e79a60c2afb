"""Admin routes under ``/_emulator/`` (outside the APIs' paths; not journaled).

Who may call them (see ``emulator/README.md``, "Trust model"): a request with an ``Origin``
header, a cross-site ``Sec-Fetch-Site``, or a body of a type an HTML form can send (the "simple"
types of CORS) is refused (403): no web page can reach them. With an admin token configured
(``tuned-models emulator`` always has one), the request must carry ``Authorization: Bearer
<token>`` (401 otherwise). Without one, an emulator on a socket accepts only loopback Host names
(``serve_in_thread`` for tests); the in-process transport accepts any.

| route | body | answer |
|---|---|---|
| ``POST /_emulator/reset`` | - | ``{}`` |
| ``POST /_emulator/seed`` | ``{"seed": 42}`` (null = random) | ``{"seed": 42}`` |
| ``GET``/``PATCH /_emulator/settings`` | ``{"stepSeconds": 0.05}`` | the settings |
| ``POST /_emulator/clock`` | ``{"mode": "manual" or "real"}`` | ``{"mode", "now"}`` |
| ``POST /_emulator/advance`` | ``{"seconds": 12.5}`` or ``{"steps": 3}`` | ``{"mode", "now"}`` |
| ``POST``/``GET``/``DELETE /_emulator/faults`` | see ``validate_fault`` | fault / ``{"faults"}`` / ``{}`` |
| ``POST``/``GET``/``DELETE /_emulator/failures`` | ``{"match", "atPercent", "message"}`` | same |
| ``POST /_emulator/callers`` | ``{"key" or "token", "email", "groups"}`` | ``{"caller"}`` |
| ``GET``/``DELETE /_emulator/journal`` | - | ``{"requests": [...]}`` / ``{}`` |
| ``GET /_emulator/time`` | - | ``{"now"}`` |

Services add routes of their own (:meth:`~tuned_models_emulator.routes.Service.admin_routes`,
e.g. ``/_emulator/buckets``). Bodies accept camelCase or snake_case keys. Errors use the API's
error shape.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from tuned_models_emulator.auth import MAX_CREDENTIAL_CHARS, register_caller
from tuned_models_emulator.codec import json_bytes, parse_json_body
from tuned_models_emulator.errors import (
    ApiError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    error_body,
)
from tuned_models_emulator.faults import validate_failure, validate_fault
from tuned_models_emulator.records import ClockMode, Settings, credential_hash
from tuned_models_emulator.routes import Router, off_loop, read_body
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.store import Tx
from tuned_models_emulator.wire import format_timestamp, normalize_free, number

AdminHandler = Callable[["Admin", Tx, dict[str, Any]], dict[str, Any] | Response]

#: The largest admin request body (bytes).
ADMIN_BODY_LIMIT = 64 * 1024


def _reset(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    admin.runtime.reset(tx)
    for service in admin.router.services:
        service.reset(tx)
    return {}


def _seed(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    seed = number(body, "seed", integer=True, minimum=-(2**63), maximum=2**64 - 1)
    admin.runtime.set_seed(tx, seed)
    return {"seed": seed}


def _settings(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    return admin.runtime.settings_json(tx)


def _update_settings(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    step = number(body, "stepSeconds")
    if step is not None:
        admin.runtime.set_step_seconds(tx, step)
    if "seed" in body:
        admin.runtime.set_seed(tx, number(body, "seed", integer=True, minimum=-(2**63), maximum=2**64 - 1))
    return admin.runtime.settings_json(tx)


def _clock(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    return admin.runtime.clock_json(tx)


def _set_clock(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    mode = str(body.get("mode") or "").lower()
    if mode not in ("manual", "real"):
        raise InvalidArgument('mode must be "manual" or "real".')
    admin.runtime.set_clock(tx, ClockMode(mode))
    return admin.runtime.clock_json(tx)


def _advance(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    seconds = number(body, "seconds")
    steps = number(body, "steps", integer=True)
    if seconds is None and steps is None:
        raise InvalidArgument('Give "seconds" or "steps".')
    admin.runtime.advance(tx, seconds=seconds, steps=steps)
    return admin.runtime.clock_json(tx)


def _add_fault(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    fault = validate_fault(body, admin.router.rpc_names)
    return {"id": tx.add_fault(fault), **fault}


def _faults(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    return {"faults": [{"id": i, **f} for i, f in tx.faults()]}


def _clear_faults(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    tx.clear_faults()
    return {}


def _add_failure(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    rule = validate_failure(body)
    tx.add_failure(rule)
    return rule


def _failures(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    return {"failures": tx.failures()}


def _clear_failures(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    tx.clear_failures()
    return {}


def _register(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    groups = body.get("groups") or []
    if not isinstance(groups, list):
        raise InvalidArgument("groups must be a list of email addresses.")
    caller = register_caller(
        admin.runtime.settings,
        tx,
        key=body.get("key"),
        token=body.get("token"),
        email=body.get("email"),
        groups=[str(g) for g in groups],
    )
    return {"caller": caller}


def _journal(admin: Admin, tx: Tx, body: dict[str, Any]) -> Response:
    # The stored entries are JSON already: joined, not decoded and encoded again.
    return Response(b'{"requests":[' + b",".join(tx.journal_json()) + b"]}", media_type="application/json")


def _clear_journal(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    tx.clear_journal()
    return {}


def _time(admin: Admin, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    return {"now": format_timestamp(admin.runtime.now_ns(tx))}


#: (HTTP method, route under /_emulator/) -> handler.
ADMIN_ROUTES: dict[tuple[str, str], AdminHandler] = {
    ("POST", "reset"): _reset,
    ("POST", "seed"): _seed,
    ("GET", "settings"): _settings,
    ("PATCH", "settings"): _update_settings,
    ("POST", "settings"): _update_settings,
    ("PUT", "settings"): _update_settings,
    ("GET", "clock"): _clock,
    ("POST", "clock"): _set_clock,
    ("POST", "advance"): _advance,
    ("POST", "faults"): _add_fault,
    ("GET", "faults"): _faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "failures"): _add_failure,
    ("GET", "failures"): _failures,
    ("DELETE", "failures"): _clear_failures,
    ("POST", "callers"): _register,
    ("GET", "journal"): _journal,
    ("DELETE", "journal"): _clear_journal,
    ("GET", "time"): _time,
}


class Admin:
    """The ``/_emulator`` endpoint of an app (see the module docstring for the routes)."""

    def __init__(self, runtime: Runtime, router: Router) -> None:
        self.runtime = runtime
        self.router = router
        self.service_routes = {
            key: handler for service in router.services for key, handler in service.admin_routes().items()
        }

    async def __call__(self, request: Request) -> Response:
        """Serve one admin request; every error is answered in the API's error shape."""
        route = request.url.path.removeprefix("/_emulator/").strip("/")
        try:
            refusal = refusal_of(self.runtime.settings, request)
            if refusal is not None:
                raise refusal
            raw = await read_body(request, ADMIN_BODY_LIMIT)
            return await off_loop(self._serve, request.method, request.url.path, route, raw)
        except ApiError as error:
            return _response(error_body(error), error.http_code)

    def _serve(self, method: str, path: str, route: str, raw: bytes) -> Response:
        try:
            body = normalize_free(parse_json_body(raw)) if raw.strip() else {}
            if not isinstance(body, dict):
                raise InvalidArgument("The body must be a JSON object.")
            handler = ADMIN_ROUTES.get((method, route))
            service_handler = self.service_routes.get((method, route))
            if handler is None and service_handler is None:
                raise NotFound(f"The requested URL {path} was not found on this server.")
            with self.runtime.store.transaction() as tx:
                if handler is not None:
                    answer = handler(self, tx, body)
                else:
                    assert service_handler is not None
                    answer = service_handler(tx, body)
            return answer if isinstance(answer, Response) else _response(answer)
        except ApiError as error:
            return _response(error_body(error), error.http_code)


CROSS_ORIGIN = (
    "The emulator's admin routes refuse requests from web pages (Origin, Sec-Fetch-Site or a form body)."
)
NEEDS_TOKEN = (
    "The emulator's admin routes need its admin token: send 'Authorization: Bearer <token>' "
    "(tuned-models emulator prints the token when it starts, or takes --admin-token)."
)
WRONG_HOST = "The emulator's admin routes answer only requests addressed to a loopback host name."
#: Content types a web page can send cross-origin without a preflight (CORS "simple" requests).
_FORM_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def refusal_of(settings: Settings, request: Request) -> ApiError | None:
    """Why an admin request is refused (403 from a web page or to a non-loopback Host name, 401
    without the admin token), or None when it may go on."""
    headers = request.headers
    content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if (
        "origin" in headers
        or headers.get("sec-fetch-site", "none") not in ("none", "same-origin")
        or content_type in _FORM_TYPES
    ):
        return PermissionDenied(CROSS_ORIGIN)
    if settings.admin_token_hash is not None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        given = credential_hash(token) if token and len(token) <= MAX_CREDENTIAL_CHARS else ""
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, settings.admin_token_hash):
            return Unauthenticated(NEEDS_TOKEN)
    elif settings.admin_hosts is not None:
        try:
            host = urlsplit("//" + headers.get("host", "")).hostname or ""
        except ValueError:
            host = ""
        if host not in settings.admin_hosts:
            return PermissionDenied(WRONG_HOST)
    return None


def _response(body: Any, status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type="application/json")
