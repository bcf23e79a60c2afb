"""The emulator's ASGI app (Starlette): routes only parse, call the backend and render.

The API's paths contain colons (``tunedModels/{id}:generateContent``), so a catch-all route
dispatches through :data:`ROUTES` (regex, HTTP method -> RPC name). Each request runs as:
fault injection (latency, injected error, dropped connection) -> authentication -> the backend
method for the RPC -> journal, inside one store transaction (two when latency is injected, so the
database is not locked while the request sleeps).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tuned_models_emulator.admin import admin_endpoint
from tuned_models_emulator.backend import RPC_METHODS, Backend, Call, Caller, FaultDecision, Settings
from tuned_models_emulator.errors import ApiError, DroppedConnection, Internal, NotFound, error_body
from tuned_models_emulator.store import Store, Tx
from tuned_models_emulator.wire import camel, format_timestamp, json_bytes, parse_json_body

log = logging.getLogger("emulator")

#: Query parameters that carry credentials: never journaled.
_SECRET_PARAMS = frozenset({"key", "accessToken", "access_token"})

_ID = r"(?P<id>[^/:]+)"
_V_CRUD = r"(?P<v>v1beta|v1alpha|v1beta3)"
_V_ALL = r"(?P<v>v1|v1beta|v1alpha|v1beta3)"

#: (path regex, {HTTP method: RPC name}) in match order.
ROUTES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = tuple(
    (re.compile(pattern), methods)
    for pattern, methods in (
        (rf"/{_V_ALL}/models", {"GET": "ListModels"}),
        (rf"/{_V_ALL}/models/(?P<model>[^/:]+)", {"GET": "GetModel"}),
        (rf"/{_V_CRUD}/tunedModels", {"GET": "ListTunedModels", "POST": "CreateTunedModel"}),
        (
            rf"/{_V_CRUD}/tunedModels/{_ID}",
            {"GET": "GetTunedModel", "PATCH": "UpdateTunedModel", "DELETE": "DeleteTunedModel"},
        ),
        (rf"/(?P<v>v1|v1beta|v1alpha)/tunedModels/{_ID}:generateContent", {"POST": "GenerateContent"}),
        (rf"/(?P<v>v1beta|v1beta3)/tunedModels/{_ID}:generateText", {"POST": "GenerateText"}),
        (rf"/{_V_CRUD}/tunedModels/{_ID}:transferOwnership", {"POST": "TransferOwnership"}),
        (r"/(?P<v>v1)/operations", {"GET": "ListOperations"}),
        (rf"/{_V_ALL}/tunedModels/{_ID}/operations", {"GET": "ListOperations"}),
        (rf"/{_V_ALL}/tunedModels/{_ID}/operations/(?P<op>[^/:]+)", {"GET": "GetOperation"}),
        (
            r"/(?P<v>v1)/tunedModels/" + _ID + r"/operations/(?P<op>[^/:]+):cancel",
            {"POST": "CancelOperation"},
        ),
        (
            rf"/{_V_CRUD}/tunedModels/{_ID}/permissions",
            {"GET": "ListPermissions", "POST": "CreatePermission"},
        ),
        (
            rf"/{_V_CRUD}/tunedModels/{_ID}/permissions/(?P<perm>[^/:]+)",
            {"GET": "GetPermission", "PATCH": "UpdatePermission", "DELETE": "DeletePermission"},
        ),
    )
)


def match_route(method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """(rpc, version, path params) for a request, or None when no API route matches."""
    for pattern, methods in ROUTES:
        found = pattern.fullmatch(path)
        if found is not None:
            rpc = methods.get(method)
            if rpc is None:
                return None
            params = {k: v for k, v in found.groupdict().items() if v is not None}
            version = params.pop("v")
            return rpc, version, params
    return None


def parse_query(raw: str) -> dict[str, str]:
    """Query parameters by camelCase name (snake_case accepted), first value wins.

    Quirk: the official list sample builds ``?page_size=5&page_token=T?key=K``; a second ``?``
    in any value is read as another separator, so the key arrives as ``key`` (and is never
    echoed in an error message or kept in the journal as part of another value).
    """
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if "?" in value:
            value, _, rest = value.partition("?")
            for extra_name, extra_value in parse_qsl(rest, keep_blank_values=True):
                out.setdefault(camel(extra_name), extra_value)
        out.setdefault(camel(name) if not name.startswith("$") else name, value)
    return out


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response as the service sends it."""
    return Response(
        json_bytes(body),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=UTF-8",
    )


def error_response(error: ApiError) -> Response:
    """The Google error shape with the error's HTTP code and headers."""
    return json_response(error_body(error), error.http_code, error.headers or None)


class DropResponse(Response):
    """Starts a response, then fails: the client sees the connection close mid-response."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json; charset=UTF-8"),
                    (b"content-length", b"4096"),
                ],
            }
        )
        raise DroppedConnection("connection dropped by fault injection")


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    rpc: str
    version: str
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    api_key: str | None
    bearer: str | None
    user_project: str | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    response: Response | None = None
    delay_ms: int = 0
    decision: FaultDecision | None = None


class Api:
    """The API endpoint: one instance per app, holding the backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def __call__(self, request: Request) -> Response:
        path = request.url.path
        query = parse_query(request.url.query)
        route = match_route(request.method, path)
        if route is None:
            error = NotFound(f"The requested URL {path} was not found on this server.")
            with self.backend.store.transaction() as tx:
                self._journal(tx, request.method, path, None, error.http_code, None, None)
            return error_response(error)
        rpc, version, params = route
        authorization = request.headers.get("authorization")
        bearer: str | None = None
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            bearer = token if scheme.lower() == "bearer" else ""
        api_key = request.headers.get("x-goog-api-key")
        if api_key is None:
            api_key = query.get("key")
        req = _Request(
            request.method,
            path,
            rpc,
            version,
            params,
            query,
            await request.body(),
            api_key,
            bearer,
            request.headers.get("x-goog-user-project"),
        )
        try:
            outcome = self._phase(req, check_faults=True, decision=None)
            if outcome.response is None:
                await asyncio.sleep(outcome.delay_ms / 1000.0)
                outcome = self._phase(req, check_faults=False, decision=outcome.decision)
        except Exception:
            log.exception("emulator bug while serving %s %s", request.method, path)
            return error_response(Internal("Internal error encountered."))
        assert outcome.response is not None
        return outcome.response

    def _phase(self, req: _Request, *, check_faults: bool, decision: FaultDecision | None) -> _Outcome:
        backend = self.backend
        with backend.store.transaction() as tx:
            if check_faults:
                decision = backend.decide_fault(tx, req.rpc)
                if decision is not None and decision.latency_ms > 0:
                    return _Outcome(delay_ms=decision.latency_ms, decision=decision)
            model_id = req.params.get("id")
            if decision is not None and decision.drop:
                self._journal(tx, req.method, req.path, req.rpc, None, None, model_id, req.query)
                return _Outcome(DropResponse())
            if decision is not None and decision.error is not None:
                error = decision.error
                self._journal(tx, req.method, req.path, req.rpc, error.http_code, None, model_id, req.query)
                return _Outcome(error_response(error))
            caller: Caller | None = None
            tx.conn.execute("SAVEPOINT api_call")
            try:
                caller = backend.authenticate(
                    tx, api_key=req.api_key, bearer=req.bearer, user_project=req.user_project
                )
                call = Call(
                    req.rpc,
                    req.version,
                    req.params,
                    req.query,
                    parse_json_body(req.body),
                    "enum-encoding=int" in (req.query.get("$alt") or ""),
                )
                result = getattr(backend, RPC_METHODS[req.rpc])(tx, caller, call)
                response = json_response(result)
            except ApiError as error:
                tx.conn.execute("ROLLBACK TO api_call")
                response = error_response(error)
            tx.conn.execute("RELEASE api_call")
            email = caller.email if caller is not None else None
            self._journal(tx, req.method, req.path, req.rpc, response.status_code, email, model_id, req.query)
            return _Outcome(response)

    def _journal(
        self,
        tx: Tx,
        method: str,
        path: str,
        rpc: str | None,
        status: int | None,
        caller: str | None,
        model_id: str | None,
        query: dict[str, str] | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "time": format_timestamp(self.backend.now_ns(tx)),
            "method": method,
            "path": path,
            "rpc": rpc,
            "status": status,
            "caller": caller,
        }
        if model_id is not None:
            entry["tunedModelId"] = model_id
        shown = {k: v for k, v in (query or {}).items() if k not in _SECRET_PARAMS}
        if shown:
            entry["query"] = shown
        tx.append_journal(entry)


def create_app(store: Store, settings: Settings | None = None) -> Starlette:
    """The emulator as an ASGI app over ``store``: the Gemini API's routes, Cloud Storage and
    Vertex AI (:mod:`tuned_models_emulator.services`), plus ``/_emulator/...``."""
    backend = Backend(store, settings or Settings())
    api = Api(backend)
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]

    async def admin(request: Request) -> Response:
        return await admin_endpoint(backend, request)

    async def endpoint(request: Request) -> Response:
        return await api(request)

    # Imported here: the Cloud services' request pipeline reuses this module's responses.
    from tuned_models_emulator.services import cloud_routes

    app = Starlette(
        routes=[
            *cloud_routes(backend),
            Route("/_emulator/{rest:path}", admin, methods=methods),
            Route("/{rest:path}", endpoint, methods=methods),
        ]
    )
    app.state.backend = backend
    return app
