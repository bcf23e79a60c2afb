"""The request pipeline of the Google Cloud surfaces served beside the Gemini API (Vertex AI and
Cloud Storage).

A surface declares its routes as data (:class:`CloudRoute`: a path regex, and per HTTP method an
RPC name and a handler) and how its errors look (:class:`Surface`). Every request then runs as a
Gemini API request does: fault injection (latency, injected error, dropped connection) ->
authentication (OAuth bearer tokens; API keys are refused as Google Cloud APIs refuse them) ->
the handler -> journal. A plain handler runs inside the request's one store transaction (rolled
back to a savepoint when it raises); a streaming handler (uploads) gets the request body as a
stream and opens its own short transactions, so a large upload never holds the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tuned_models_emulator.backend import Backend, Caller, FaultDecision, credential_hash
from tuned_models_emulator.errors import ApiError, Internal, NotFound
from tuned_models_emulator.store import Tx
from tuned_models_emulator.wire import camel, format_timestamp, json_bytes

log = logging.getLogger("emulator")

#: Query parameters that carry credentials: never journaled.
SECRET_PARAMS = frozenset({"key", "accessToken", "access_token", "uploadId"})


@dataclass(frozen=True, slots=True)
class CloudRequest:
    """One request as a handler sees it: the matched route, the parsed query (camelCase names,
    first value wins), lower-case headers, the raw body (plain handlers only), the caller
    (None on routes without authentication) and the base URL the client used."""

    method: str
    path: str
    rpc: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    caller: Caller | None
    base_url: str

    @property
    def enum_int(self) -> bool:
        """Whether the client asked for enums as numbers (``$alt=json;enum-encoding=int``, as
        Google's REST GAPIC clients do)."""
        return "enum-encoding=int" in (self.query.get("$alt") or "")


@dataclass(slots=True)
class Reply:
    """A handler's answer: a JSON ``body`` (or ``content`` bytes, or a ``stream`` of bytes),
    status, headers, and the resource it was about (journal)."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    media_type: str = "application/json; charset=UTF-8"
    resource: str | None = None


Handler = Callable[[Tx, CloudRequest], Reply]
StreamHandler = Callable[[CloudRequest, Request], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Method:
    """What one HTTP method on a route does: its RPC name (faults, journal) and handler."""

    rpc: str
    handler: Handler | None = None
    stream_handler: StreamHandler | None = None
    auth: bool = True


@dataclass(frozen=True, slots=True)
class CloudRoute:
    """A path regex (named groups become ``params``) and its methods."""

    pattern: re.Pattern[str]
    methods: Mapping[str, Method]


def route(pattern: str, **methods: Method) -> CloudRoute:
    """A :class:`CloudRoute` from a regex and ``GET=Method(...)``-style keywords."""
    return CloudRoute(re.compile(pattern), dict(methods))


@dataclass(frozen=True)
class Surface:
    """One Google Cloud API served by the emulator.

    ``prefixes`` are the path prefixes it owns (mounted ahead of the Gemini API's catch-all);
    ``render_error`` draws an :class:`ApiError` in the API's error shape; ``missing_credentials``
    and ``api_key_refused`` build the 401 for a request without a bearer token / with an API key
    (by RPC, since some APIs name the permission).
    """

    name: str
    prefixes: tuple[str, ...]
    routes: tuple[CloudRoute, ...]
    render_error: Callable[[ApiError], Response]
    missing_credentials: Callable[[str], ApiError]
    invalid_credentials: Callable[[], ApiError]
    api_key_refused: Callable[[str], ApiError]
    resource_of: Callable[[Mapping[str, str]], str | None] = lambda params: None

    @property
    def rpc_names(self) -> set[str]:
        """Every RPC name of the surface (fault targets)."""
        return {m.rpc for r in self.routes for m in r.methods.values()}

    def match(self, method: str, path: str) -> tuple[Method, dict[str, str]] | None:
        """The method and path params for a request, or None when no route matches."""
        for candidate in self.routes:
            found = candidate.pattern.fullmatch(path)
            if found is not None:
                chosen = candidate.methods.get(method)
                if chosen is None:
                    return None
                return chosen, {k: v for k, v in found.groupdict().items() if v is not None}
        return None


_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


def project_number(project: str) -> str | None:
    """The project number Google answers with for a project id or number (a number is itself).

    Google Cloud resource names carry the project *number* whatever the request used; the
    emulator derives a stable 12-digit number from the id. None when ``project`` is neither a
    project id (6-30 characters, lowercase letters, digits and hyphens) nor a number.
    """
    if project.isdigit() and len(project) <= 20:
        return str(int(project))
    if not _PROJECT_ID.fullmatch(project):
        return None
    digest = hashlib.sha256(project.encode("utf-8")).digest()
    return str(100_000_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000_000)


def parse_cloud_query(raw: str) -> dict[str, str]:
    """Query parameters by camelCase name (snake_case accepted), first value wins."""
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        out.setdefault(camel(name), value)
    return out


def reply_response(reply: Reply) -> Response:
    """The Starlette response for a handler's reply."""
    if reply.stream is not None:
        return StreamingResponse(
            reply.stream, status_code=reply.status, headers=reply.headers, media_type=reply.media_type
        )
    if reply.content is not None:
        return Response(
            reply.content, status_code=reply.status, headers=reply.headers, media_type=reply.media_type
        )
    if reply.body is None:
        return Response(b"", status_code=reply.status, headers=reply.headers)
    return Response(
        json_bytes(reply.body), status_code=reply.status, headers=reply.headers, media_type=reply.media_type
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    response: Response | None = None
    delay_ms: int = 0
    decision: FaultDecision | None = None
    request: CloudRequest | None = None


class CloudApi:
    """The ASGI endpoint of one surface (see the module docstring for the pipeline)."""

    def __init__(self, backend: Backend, surface: Surface) -> None:
        self.backend = backend
        self.surface = surface

    async def __call__(self, request: Request) -> Response:
        # The ASGI scope's path is already percent-decoded; Starlette's URL re-parses it, which
        # breaks object names holding "?" or "%".
        path = str(request.scope["path"])
        query = parse_cloud_query(request.url.query)
        headers = {k.lower(): v for k, v in request.headers.items()}
        found = self.surface.match(request.method, path)
        if found is None:
            error = NotFound(f"The requested URL {path} was not found on this server.")
            with self.backend.store.transaction() as tx:
                self._journal(tx, request.method, path, None, error.http_code, None, query, headers, None)
            return self.surface.render_error(error)
        method, params = found
        base_url = str(request.base_url).rstrip("/")
        body = b"" if method.stream_handler is not None else await request.body()
        req = CloudRequest(request.method, path, method.rpc, params, query, headers, body, None, base_url)
        try:
            outcome = self._phase(req, method, check_faults=True, decision=None)
            if outcome.response is None and outcome.request is None:
                await asyncio.sleep(outcome.delay_ms / 1000.0)
                outcome = self._phase(req, method, check_faults=False, decision=outcome.decision)
            if outcome.response is not None:
                return outcome.response
            assert outcome.request is not None and method.stream_handler is not None
            return await self._stream(outcome.request, method.stream_handler, request)
        except Exception:
            log.exception("emulator bug while serving %s %s", request.method, path)
            return self.surface.render_error(Internal("Internal error encountered."))

    def _phase(
        self, req: CloudRequest, method: Method, *, check_faults: bool, decision: FaultDecision | None
    ) -> _Outcome:
        backend = self.backend
        surface = self.surface
        resource = surface.resource_of(req.params)
        with backend.store.transaction() as tx:
            if check_faults:
                decision = backend.decide_fault(tx, req.rpc)
                if decision is not None and decision.latency_ms > 0:
                    return _Outcome(delay_ms=decision.latency_ms, decision=decision)
            if decision is not None and decision.drop:
                # Imported here: app imports the services that import this module.
                from tuned_models_emulator.app import DropResponse

                self._journal(tx, req.method, req.path, req.rpc, None, None, req.query, req.headers, resource)
                return _Outcome(DropResponse())
            if decision is not None and decision.error is not None:
                error = decision.error
                self._journal(
                    tx, req.method, req.path, req.rpc, error.http_code, None, req.query, req.headers, resource
                )
                return _Outcome(surface.render_error(error))
            caller: Caller | None = None
            tx.conn.execute("SAVEPOINT cloud_call")
            try:
                if method.auth:
                    caller = self._authenticate(tx, req)
                authed = CloudRequest(
                    req.method,
                    req.path,
                    req.rpc,
                    req.params,
                    req.query,
                    req.headers,
                    req.body,
                    caller,
                    req.base_url,
                )
                if method.stream_handler is not None:
                    tx.conn.execute("RELEASE cloud_call")
                    return _Outcome(request=authed)
                assert method.handler is not None
                reply = method.handler(tx, authed)
                response = reply_response(reply)
                resource = reply.resource or resource
            except ApiError as error:
                tx.conn.execute("ROLLBACK TO cloud_call")
                response = surface.render_error(error)
            tx.conn.execute("RELEASE cloud_call")
            email = caller.email if caller is not None else None
            self._journal(
                tx,
                req.method,
                req.path,
                req.rpc,
                response.status_code,
                email,
                req.query,
                req.headers,
                resource,
            )
            return _Outcome(response)

    async def _stream(self, req: CloudRequest, handler: StreamHandler, request: Request) -> Response:
        resource = self.surface.resource_of(req.params)
        try:
            reply = await handler(req, request)
            response = reply_response(reply)
            resource = reply.resource or resource
        except ApiError as error:
            response = self.surface.render_error(error)
        email = req.caller.email if req.caller is not None else None
        with self.backend.store.transaction() as tx:
            self._journal(
                tx,
                req.method,
                req.path,
                req.rpc,
                response.status_code,
                email,
                req.query,
                req.headers,
                resource,
            )
        return response

    def _authenticate(self, tx: Tx, req: CloudRequest) -> Caller:
        """The caller behind ``Authorization: Bearer``; 401 without one, for an API key, for an
        empty token, and (when tokens are configured) for a token that is not configured."""
        authorization = req.headers.get("authorization")
        if authorization is None:
            if req.headers.get("x-goog-api-key") or req.query.get("key"):
                raise self.surface.api_key_refused(req.rpc)
            raise self.surface.missing_credentials(req.rpc)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise self.surface.invalid_credentials()
        token_hashes = self.backend.settings.token_hashes
        if token_hashes and credential_hash(token) not in token_hashes:
            raise self.surface.invalid_credentials()
        return self.backend.authenticate(
            tx, api_key=None, bearer=token, user_project=req.headers.get("x-goog-user-project")
        )

    def _journal(
        self,
        tx: Tx,
        method: str,
        path: str,
        rpc: str | None,
        status: int | None,
        caller: str | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        resource: str | None,
    ) -> None:
        entry: dict[str, Any] = {
            "time": format_timestamp(self.backend.now_ns(tx)),
            "method": method,
            "path": path,
            "rpc": rpc,
            "status": status,
            "caller": caller,
        }
        if resource is not None:
            entry["resource"] = resource
        shown = {k: v for k, v in query.items() if k not in SECRET_PARAMS}
        if shown:
            entry["query"] = shown
        project = headers.get("x-goog-user-project")
        if project:
            entry["userProject"] = project
        tx.append_journal(entry)


__all__ = [
    "SECRET_PARAMS",
    "CloudApi",
    "CloudRequest",
    "CloudRoute",
    "Handler",
    "Method",
    "Reply",
    "StreamHandler",
    "Surface",
    "parse_cloud_query",
    "project_number",
    "reply_response",
    "route",
]
