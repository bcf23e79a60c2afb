"""The emulator's ASGI app (Starlette): the responses layer, shared by every service.

The APIs' paths contain colons (``tunedModels/{id}:generateContent``), so one catch-all route
dispatches through the :class:`~tuned_models_emulator.routes.Router`. Each request runs as:
body read (at most the endpoint's ``max_body``, else 413) -> decoding and the endpoint's
``prepare`` -> fault injection (latency, injected error, dropped connection) -> authentication
-> the endpoint's handler -> journal, inside one store transaction (two when latency is
injected, so the database is not locked while the request sleeps) -> rendering. Only the
transaction holds the store; decoding, preparing and rendering run outside it, in a worker
thread. A handler's writes are undone when it raises. A handler may defer the rest of its work
(:class:`~tuned_models_emulator.routes.Deferred`: an upload's bytes, a tuning job's dataset) to
after its transaction; the request is journaled once that is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from tuned_models_emulator.admin import Admin
from tuned_models_emulator.auth import Credentials
from tuned_models_emulator.backend import GeminiApi
from tuned_models_emulator.codec import json_bytes, parse_json_body
from tuned_models_emulator.errors import (
    ApiError,
    DroppedConnection,
    Internal,
    NotFound,
    PayloadTooLarge,
    error_body,
)
from tuned_models_emulator.faults import FaultDecision, decide_fault
from tuned_models_emulator.records import Caller, Settings
from tuned_models_emulator.routes import Body, Call, Deferred, Route, Router, Service, off_loop, read_body
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.storage import CloudStorage
from tuned_models_emulator.store import Store, Tx
from tuned_models_emulator.vertex import VertexAi
from tuned_models_emulator.wire import camel, format_timestamp

log = logging.getLogger("emulator")

#: The services an app serves unless told otherwise, in match order.
DEFAULT_SERVICES: tuple[Callable[[Runtime], Service], ...] = (GeminiApi, CloudStorage, VertexAi)

#: The largest body an inline endpoint's request may have to be served on the event loop.
INLINE_BODY_LIMIT = 16 * 1024

#: Query parameters that carry credentials (a resumable upload session id is one): never journaled.
_SECRET_PARAMS = frozenset({"key", "accessToken", "access_token", "uploadId"})


def parse_query(raw: str) -> dict[str, str]:
    """Query parameters by camelCase name (snake_case accepted), first value wins.

    Quirk: the official list sample builds ``?page_size=5&page_token=T?key=K``; a second ``?``
    in any value is read as another separator, so the key arrives as ``key`` (and is never
    echoed in an error message or kept in the journal as part of another value).
    """
    out: dict[str, str] = {}
    # Only a literal "?" separates: an encoded one (%3F, in a Cloud Storage object name) is data.
    for name, value in parse_qsl(raw.replace("?", "&"), keep_blank_values=True):
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


def error_response(error: ApiError, body: dict[str, Any] | None = None) -> Response:
    """An error with its HTTP code and headers; the body is Google's shape unless given."""
    return json_response(
        body if body is not None else error_body(error), error.http_code, error.headers or None
    )


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
    route: Route
    query: dict[str, str]
    body: bytes
    credentials: Credentials
    headers: dict[str, str] = field(default_factory=dict)
    base_url: str = ""

    @property
    def journal(self) -> dict[str, str]:
        """The path parameters the endpoint journals, by their journal keys."""
        params = self.route.params
        return {key: params[name] for name, key in self.route.endpoint.journal.items() if name in params}


@dataclass(frozen=True, slots=True)
class _Outcome:
    response: Response | None = None
    delay_ms: int = 0
    decision: FaultDecision | None = None
    parsed: Call | ApiError | None = None
    deferred: Deferred | None = None
    caller: str | None = None


class Api:
    """The API endpoint of an app: every service's routes, one pipeline.

    The event loop only reads the request and writes the answer: parsing, the transaction and
    rendering run in worker threads, so a costly request never holds up the others.
    """

    def __init__(self, runtime: Runtime, router: Router) -> None:
        self.runtime = runtime
        self.router = router

    async def __call__(self, request: Request) -> Response:
        # The scope's path is already percent-decoded; Starlette's URL re-parses it, which would
        # cut a Cloud Storage object name holding "?" or "#".
        path = str(request.scope["path"])
        query = parse_query(request.url.query)
        route = self.router.match(request.method, path)
        if route is None:
            error = NotFound(f"The requested URL {path} was not found on this server.")
            await off_loop(self._journal_only, request.method, path, None, error.http_code, {}, None)
            return error_response(error)
        try:
            body = b"" if route.endpoint.stream_body else await read_body(request, route.endpoint.max_body)
        except PayloadTooLarge as error:
            journal = _Request(request.method, path, route, query, b"", Credentials()).journal
            await off_loop(self._journal_only, request.method, path, route.endpoint.rpc, 413, journal, query)
            return error_response(error, route.service.error_body(error))
        headers = {name.lower(): value for name, value in request.headers.items()}
        base_url = str(request.base_url).rstrip("/")
        req = _Request(
            request.method, path, route, query, body, _credentials(request, query), headers, base_url
        )
        try:
            outcome = await self._run(req, None)
            if outcome.response is None and outcome.deferred is None:
                await asyncio.sleep(outcome.delay_ms / 1000.0)
                outcome = await self._run(req, outcome)
            if outcome.deferred is not None:
                return await self._receive(req, outcome.deferred, outcome.caller, request)
        except Exception:
            log.exception("emulator bug while serving %s %s", request.method, path)
            return error_response(Internal("Internal error encountered."))
        assert outcome.response is not None
        return outcome.response

    async def _receive(
        self, req: _Request, deferred: Deferred, caller: str | None, request: Request
    ) -> Response:
        """The rest of a request whose handler deferred it, after its transaction: it gets the
        body's chunks (as they arrive for a ``stream_body`` endpoint, else the body read already);
        then the journal."""
        service = req.route.service
        chunks = request.stream() if req.route.endpoint.stream_body else _once(req.body)
        try:
            body = await deferred.receive(chunks)
            response, status = _respond(body), _status(body)
        except ApiError as error:
            response, status = error_response(error, service.error_body(error)), error.http_code
        rpc = req.route.endpoint.rpc
        await off_loop(self._journal_only, req.method, req.path, rpc, status, req.journal, req.query, caller)
        return response

    async def _run(self, req: _Request, previous: _Outcome | None) -> _Outcome:
        """:meth:`_serve` in a worker thread, or on the loop for an inline endpoint with a small
        body when the store is free (a few milliseconds at most)."""
        if req.route.endpoint.inline and len(req.body) <= INLINE_BODY_LIMIT:
            with self.runtime.store.claim() as held:
                if held:
                    return self._serve(req, previous)
        return await off_loop(self._serve, req, previous)

    def _parse(self, req: _Request) -> Call | ApiError:
        """The call the handler gets (decoded, then prepared), or the error to answer after auth."""
        endpoint, route = req.route.endpoint, req.route
        try:
            body = req.body if endpoint.raw_body else parse_json_body(req.body)
            enum_int = "enum-encoding=int" in (req.query.get("$alt") or "")
            call = Call(
                endpoint.rpc,
                route.version,
                route.params,
                req.query,
                body,
                enum_int,
                req.headers,
                req.base_url,
            )
            return endpoint.prepare(call) if endpoint.prepare is not None else call
        except ApiError as error:
            return error

    def _serve(self, req: _Request, previous: _Outcome | None) -> _Outcome:
        """One pass of the pipeline; a first pass may stop at an injected latency, which the
        caller sleeps before the second pass (``previous``) goes on without rolling the dice."""
        parsed = previous.parsed if previous is not None else self._parse(req)
        decision = previous.decision if previous is not None else None
        endpoint, service = req.route.endpoint, req.route.service
        journal = req.journal
        body: Body | Deferred | None = None
        with self.runtime.store.transaction() as tx:
            if previous is None:
                decision = decide_fault(self.runtime, tx, endpoint.rpc)
                if decision is not None and decision.latency_ms > 0:
                    return _Outcome(delay_ms=decision.latency_ms, decision=decision, parsed=parsed)
            if decision is not None and decision.drop:
                self._journal(tx, req.method, req.path, endpoint.rpc, None, None, journal, req.query)
                return _Outcome(DropResponse())
            if decision is not None and decision.error is not None:
                error = decision.error
                self._journal(
                    tx, req.method, req.path, endpoint.rpc, error.http_code, None, journal, req.query
                )
                return _Outcome(error_response(error, service.error_body(error)))
            caller: Caller | None = None
            failure: ApiError | None = None
            try:
                with tx.savepoint():
                    caller = service.authenticate(tx, req.credentials)
                    if isinstance(parsed, ApiError):
                        raise parsed
                    assert parsed is not None
                    body = endpoint.handler(tx, caller, parsed)
            except ApiError as error:
                failure = error
            email = caller.email if caller is not None else None
            if isinstance(body, Deferred):
                return _Outcome(deferred=body, caller=email)  # journaled once the body is received
            status = failure.http_code if failure is not None else _status(body)
            self._journal(tx, req.method, req.path, endpoint.rpc, status, email, journal, req.query)
        if failure is not None:
            return _Outcome(error_response(failure, service.error_body(failure)))
        assert body is not None and not isinstance(body, Deferred)
        return _Outcome(_respond(body))

    def _journal_only(
        self,
        method: str,
        path: str,
        rpc: str | None,
        status: int,
        params: dict[str, str],
        query: dict[str, str] | None,
        caller: str | None = None,
    ) -> None:
        with self.runtime.store.transaction() as tx:
            self._journal(tx, method, path, rpc, status, caller, params, query)

    def _journal(
        self,
        tx: Tx,
        method: str,
        path: str,
        rpc: str | None,
        status: int | None,
        caller: str | None,
        params: dict[str, str],
        query: dict[str, str] | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "time": format_timestamp(self.runtime.now_ns(tx)),
            "method": method,
            "path": path,
            "rpc": rpc,
            "status": status,
            "caller": caller,
            **params,
        }
        shown = {k: v for k, v in (query or {}).items() if k not in _SECRET_PARAMS}
        if shown:
            entry["query"] = shown
        tx.append_journal(entry)


def _credentials(request: Request, query: dict[str, str]) -> Credentials:
    authorization = request.headers.get("authorization")
    bearer: str | None = None
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        bearer = token if scheme.lower() == "bearer" else ""
    api_key = request.headers.get("x-goog-api-key")
    if api_key is None:
        api_key = query.get("key")
    return Credentials(api_key, bearer, request.headers.get("x-goog-user-project"))


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _status(body: Body | None) -> int:
    return body.status_code if isinstance(body, Response) else 200


def _respond(body: Body) -> Response:
    if isinstance(body, Response):
        return body
    return json_response(body() if callable(body) else body)


def create_app(
    store: Store,
    settings: Settings | None = None,
    services: Sequence[Callable[[Runtime], Service]] = DEFAULT_SERVICES,
) -> Starlette:
    """The emulator as an ASGI app over ``store``: every service's routes plus ``/_emulator/...``.

    ``services`` are built over one shared :class:`Runtime`; their endpoints form one route table,
    matched in the order given.
    """
    runtime = Runtime(store, settings or Settings())
    router = Router([make(runtime) for make in services])
    api = Api(runtime, router)
    admin = Admin(runtime, router)
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]

    async def admin_endpoint(request: Request) -> Response:
        return await admin(request)

    async def api_endpoint(request: Request) -> Response:
        return await api(request)

    app = Starlette(
        routes=[
            StarletteRoute("/_emulator/{rest:path}", admin_endpoint, methods=methods),
            StarletteRoute("/{rest:path}", api_endpoint, methods=methods),
        ]
    )
    app.state.runtime = runtime
    return app
