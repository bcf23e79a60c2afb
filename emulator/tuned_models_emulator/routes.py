"""How an emulated API surface plugs into the emulator: services, endpoints, calls, one route table.

A *service* (the Gemini API's tuning surface is :class:`~tuned_models_emulator.backend.GeminiApi`;
Vertex AI tuning jobs or the Cloud Storage JSON API would sit beside it) subclasses
:class:`Service` and declares its endpoints as data: an HTTP method, a path pattern, the RPC name
and the handler. ``create_app(store, settings, services=(GeminiApi, MyService))`` serves them all
on one port, over one store; the first endpoint whose pattern and method match wins, in service
order. What a service gets without writing it:

- one store transaction per request (:class:`~tuned_models_emulator.store.Tx`); a handler that
  raises :class:`~tuned_models_emulator.errors.ApiError` leaves no write behind;
- authentication (:meth:`Service.authenticate`; the default is the shared API-key / bearer-token
  rules of :mod:`tuned_models_emulator.auth`), then the handler gets the :class:`Caller`;
- faults, the journal and their admin routes, by RPC name (``POST /_emulator/faults`` with
  ``{"method": "<rpc>"}`` targets that endpoint's RPC);
- the clock, the seed and the step time through ``self.runtime``
  (:class:`~tuned_models_emulator.runtime.Runtime`: ``now_ns(tx)``, ``rng(tx)``, ...);
- reset: ``POST /_emulator/reset`` empties the store (every table, the generic records included)
  and calls :meth:`Service.reset` for anything the service keeps elsewhere.

Example::

    class Storage(Service):
        def endpoints(self) -> tuple[Endpoint, ...]:
            return (
                Endpoint("GET", r"/storage/v1/b/(?P<bucket>[^/]+)", "GetBucket", self.get_bucket),
            )

        def get_bucket(self, tx: Tx, caller: Caller, call: Call) -> Body:
            record = tx.record("storage.bucket", call.params["bucket"])
            if record is None:
                raise NotFound(f"The specified bucket does not exist.")
            return lambda: render_bucket(record)   # built after the transaction commits
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from tuned_models_emulator.auth import Credentials, authenticate
from tuned_models_emulator.errors import ApiError, PayloadTooLarge, error_body
from tuned_models_emulator.records import Caller
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.store import Tx

Body = dict[str, Any] | Callable[[], dict[str, Any]] | Response
"""What a handler returns: the JSON body of a 200 answer; or a function that builds it, called
after the transaction has committed (for bodies that are costly to render: it must not raise);
or a complete Starlette response (non-JSON answers such as a media download)."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """What a handler returns when the rest of its work must not hold the store: ``receive(chunks)``,
    awaited after the handler's transaction has committed, with the request body's chunks (as
    they arrive for a ``stream_body`` endpoint, such as a Cloud Storage upload of any size; the
    body already read, in one piece, otherwise: a tuning job reading its dataset ignores it). It
    opens its own short transactions (so a large body or object holds no lock), returns the
    answer's :data:`Body`, or raises :class:`ApiError`; the request is journaled afterwards."""

    receive: Callable[[AsyncIterator[bytes]], Awaitable[Body]]


@dataclass(frozen=True, slots=True)
class Call:
    """One API call as the HTTP layer parsed it.

    ``params`` are the pattern's named groups except ``v``, the API version (``""`` for a pattern
    without one); ``query`` has the query parameters by camelCase name; ``body`` is the decoded
    JSON (``{}`` when empty), or the raw bytes for an endpoint with ``raw_body``; ``headers`` the
    request's headers (lower-case names); ``base_url`` the scheme and host the client used (for
    links in answers, such as a Cloud Storage object's ``mediaLink``).
    """

    rpc: str
    version: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    enum_int: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    base_url: str = ""


Handler = Callable[[Tx, Caller, Call], Body | Deferred]
AdminHandler = Callable[[Tx, dict[str, Any]], dict[str, Any]]
Prepare = Callable[[Call], Call]

#: The default largest request body of an endpoint (bytes).
BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route: ``method`` on a path matching ``pattern`` (a full-match regex) is ``rpc``.

    ``journal`` maps path parameters to the keys under which the journal records them
    (``{"id": "tunedModelId"}``); ``raw_body`` hands the handler the body's bytes instead of
    decoded JSON; a larger body than ``max_body`` bytes is a 413. ``prepare`` is the request's
    pure parsing and validation: it runs before the transaction (so costly checks of a large
    body hold no lock), returns the call the handler gets, and its ApiError is answered after
    authentication, as if the handler had raised it. ``inline`` says the endpoint's work is
    small and bounded whatever the stored data (a get, not a list): it may then run on the event
    loop, skipping the hop to a worker thread, when its body is small and the store is free.
    ``stream_body``: the body is not read before the handler; the handler returns an
    :class:`Deferred` that receives it (uploads of any size).
    """

    method: str
    pattern: str
    rpc: str
    handler: Handler
    journal: Mapping[str, str] = field(default_factory=dict)
    raw_body: bool = False
    max_body: int = BODY_LIMIT
    prepare: Prepare | None = None
    inline: bool = False
    stream_body: bool = False


class Service:
    """One emulated API surface over the shared :class:`Runtime` (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def endpoints(self) -> Sequence[Endpoint]:
        """The service's route table, in match order."""
        raise NotImplementedError

    def authenticate(self, tx: Tx, credentials: Credentials) -> Caller:
        """The caller behind a request's credentials (raises the service's 401/403/400)."""
        return authenticate(self.runtime.settings, tx, credentials)

    def error_body(self, error: ApiError) -> dict[str, Any]:
        """The JSON body of an error answer (Google's ``{"error": {...}}`` shape by default)."""
        return error_body(error)

    def reset(self, tx: Tx) -> None:
        """Forget what the service keeps outside the store (the store itself is emptied by reset)."""

    def admin_routes(self) -> Mapping[tuple[str, str], AdminHandler]:
        """The service's own admin routes: (HTTP method, route under ``/_emulator/``) -> handler of
        the admin transaction and the request's JSON object, returning the answer's JSON."""
        return {}


@dataclass(frozen=True, slots=True)
class Route:
    """A matched request: the endpoint, the service it belongs to, and its path parameters."""

    endpoint: Endpoint
    service: Service
    version: str
    params: dict[str, str]


class Router:
    """The one route table of an app: every endpoint of every service, in match order."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.services = tuple(services)
        self._table: list[tuple[re.Pattern[str], Endpoint, Service]] = [
            (re.compile(endpoint.pattern), endpoint, service)
            for service in self.services
            for endpoint in service.endpoints()
        ]

    @property
    def rpc_names(self) -> frozenset[str]:
        """Every RPC name served (what faults may target)."""
        return frozenset(endpoint.rpc for _, endpoint, _ in self._table)

    def match(self, method: str, path: str) -> Route | None:
        """The first endpoint for ``method`` whose pattern matches ``path``, or None."""
        for pattern, endpoint, service in self._table:
            if endpoint.method != method:
                continue
            found = pattern.fullmatch(path)
            if found is not None:
                params = {k: v for k, v in found.groupdict().items() if v is not None}
                version = params.pop("v", "")
                return Route(endpoint, service, version, params)
        return None


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body; raises :class:`PayloadTooLarge` as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length") or ""
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


T = TypeVar("T")

#: The threads that parse, run transactions and render, for every app in the process (the event
#: loop only reads requests and writes answers). Started on demand.
_WORKERS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="emulator-worker")


async def off_loop(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread, awaited from the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, functools.partial(function, *args))
