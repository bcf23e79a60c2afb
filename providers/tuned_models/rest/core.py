"""``RestClient``: JSON over HTTP with retries, the machinery every client of a Google API shares.

One synchronous ``httpx.Client`` per client (user agent, a timeout on every exchange, no
redirects, proxies from the environment only when talking to the network), every call through
:func:`~tuned_models.rest.retry.send_with_retry` with the client's policy, errors from
:func:`~tuned_models.rest.errors.from_response`, JSON objects only, bounded paging. The Gemini
API, Vertex AI and Cloud Storage clients are :class:`ServiceClient` subclasses built on it; each
names its ``service``, which is its logger (``tuned_models.<service>``) and the prefix of its log
lines, and passes on the options of :class:`ClientOptions`.

Safe to use from many threads at once.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from typing import Any, ClassVar, Self, TypedDict, TypeVar, Unpack

import httpx
import pydantic

from .errors import ServiceError
from .retry import RetryPolicy, send_with_retry

__all__ = [
    "DEFAULT_RETRY",
    "CallOptions",
    "ClientOptions",
    "RestClient",
    "ServiceClient",
    "parse",
    "query_params",
    "user_agent",
]

#: The retry policy a client uses unless told otherwise.
DEFAULT_RETRY = RetryPolicy()
#: Page size used by the methods that read every page.
PAGE_SIZE = 100
#: Bounds on following ``nextPageToken``: a misbehaving server must not page forever.
_MAX_PAGES = 10_000
_MAX_EMPTY_PAGES = 100
_M = TypeVar("_M", bound=pydantic.BaseModel)


def user_agent() -> str:
    """``tuned-models/<version> httpx/<version>``."""
    try:
        version = metadata.version("tuned-models")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"tuned-models/{version} httpx/{httpx.__version__}"


def query_params(**values: Any) -> dict[str, Any]:
    """The query parameters that have a value (``None`` and ``""`` left out)."""
    return {key: value for key, value in values.items() if value is not None and value != ""}


def parse(model: type[_M], data: Any) -> _M:
    """Build a response model; a response of the wrong shape becomes a :class:`ServiceError`."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise ServiceError(
            f"unexpected {model.__name__} in the response: {where}: {first['msg']}",
            status="UNKNOWN",
        ) from None


class CallOptions(TypedDict, total=False):
    """How a client makes its calls: the keyword arguments of :class:`RestClient` that a service's
    client and its ``connect`` pass on unchanged (see :class:`RestClient` for each)."""

    timeout: float
    retry: RetryPolicy | None
    sleep: Callable[[float], None]
    random: Callable[[], float]
    clock: Callable[[], float]


class ClientOptions(CallOptions, total=False):
    """:class:`CallOptions` and the ``transport`` (the embedded emulator's, or None: the network)."""

    transport: httpx.BaseTransport | None


class RestClient:
    """JSON calls with retries over one connection pool, for one service.

    Args:
        base_url: relative paths resolve against it (absolute URLs are used as given).
        auth: an ``httpx.Auth`` (``None`` sends no credentials).
        service: the short name of the service (``gemini``, ``vertex``, ``storage``): the
            client logs on ``tuned_models.<service>``.
        transport: an httpx transport to use instead of the network (the embedded emulator).
        timeout: seconds allowed for each HTTP exchange (connect, read, write, pool).
        retry: the retry policy; ``None``: :data:`DEFAULT_RETRY` as it is when the client is made.
        sleep: how to wait between retries (injected by tests).
        random: a source of floats in ``[0, 1)`` for retry jitter (injected by tests).
        clock: monotonic seconds, for the retry policy's per-call deadline (injected by tests).

    Raises:
        ValueError: ``timeout`` is not positive.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        service: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.service = service
        self.log = logging.getLogger(f"tuned_models.{service}")
        self.retry = DEFAULT_RETRY if retry is None else retry
        self.timeout = timeout
        self.sleep = sleep
        self.random = random
        self.clock = clock
        self.http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"user-agent": user_agent()},
            follow_redirects=False,
            trust_env=transport is None,
        )

    def close(self) -> None:
        """Close the connection pool (and the transport, unless it is shared)."""
        self.http.close()

    def send(self, build: Callable[[], httpx.Request], *, idempotent: bool) -> httpx.Response:
        """Send the request ``build`` makes (a fresh one per attempt) with retries.

        Returns the first 2xx response, its body read (headers such as ``Location`` included).
        Raises the typed errors.
        """
        return self._with_retry(lambda: self.http.send(build()), idempotent)

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """One call with retries; its JSON object (``{}`` for an empty body).

        ``url`` is a path under ``base_url`` or an absolute URL. ``idempotent`` defaults to
        True for GET, PATCH and DELETE and False otherwise (see :mod:`.retry`).

        Raises:
            ServiceError: the service's error (its subclass), or a response that is not a JSON
                object. TransportFailure: no response (after retries).
        """
        if idempotent is None:
            idempotent = method in ("GET", "PATCH", "DELETE")

        def send() -> httpx.Response:
            request = self.http.build_request(method, url, params=params, json=json)
            response = self.http.send(request)
            self.log.debug("%s: %s %s -> %d", self.service, method, request.url.path, response.status_code)
            return response

        response = self._with_retry(send, idempotent)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise ServiceError(
                f"{method} {response.url.path}: the response is not JSON",
                code=response.status_code,
                status="UNKNOWN",
            ) from None
        if not isinstance(data, dict):
            raise ServiceError(
                f"{method} {response.url.path}: the response is not a JSON object",
                code=response.status_code,
                status="UNKNOWN",
            )
        return data

    def page(
        self,
        url: str,
        key: str,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        **params: Any,
    ) -> tuple[list[Any], str | None]:
        """One page of a list call: the items under ``key`` and the next page token (``None`` on
        the last page). ``params`` are further query parameters (those without a value left out).

        Raises:
            ServiceError: as :meth:`call`, or ``key`` is not a list, or the token not a string.
        """
        data = self.call("GET", url, params=query_params(pageSize=page_size, pageToken=page_token, **params))
        items = data.get(key) or []
        if not isinstance(items, list):
            raise ServiceError(f"GET {url}: {key} is not a list", status="UNKNOWN")
        next_token = data.get("nextPageToken") or None
        if next_token is not None and not isinstance(next_token, str):
            raise ServiceError(f"GET {url}: nextPageToken is not a string", status="UNKNOWN")
        return items, next_token

    def pages(
        self, url: str, key: str, *, page_size: int = PAGE_SIZE, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` across pages, following ``nextPageToken`` (bounded: a
        service that keeps paging without results, or repeats a token, is an error)."""
        token: str | None = None
        seen: set[str] = set()
        empty = 0
        for _ in range(_MAX_PAGES):
            items, next_token = self.page(url, key, page_size=page_size, page_token=token, **params)
            yield from items
            empty = 0 if items else empty + 1
            if next_token is None:
                return
            if next_token in seen or empty >= _MAX_EMPTY_PAGES:
                raise ServiceError(f"GET {url}: the service keeps paging without results", status="UNKNOWN")
            seen.add(next_token)
            token = next_token
        raise ServiceError(f"GET {url}: more than {_MAX_PAGES} pages", status="UNKNOWN")

    def _with_retry(self, attempt: Callable[[], httpx.Response], idempotent: bool) -> httpx.Response:
        return send_with_retry(
            attempt,
            policy=self.retry,
            idempotent=idempotent,
            sleep=self.sleep,
            random=self.random,
            clock=self.clock,
            log=self.log,
        )


class ServiceClient:
    """The base of a client of one service over its own :class:`RestClient` (``_core``): closing it,
    using it as a context manager (closed on exit), and its ``repr`` (the attributes
    :attr:`_repr_attributes` names, then the credentials, whose own ``repr`` hides secrets).

    Args:
        base_url, auth, service: as for :class:`RestClient`.
        options: the rest of :class:`RestClient`'s keyword arguments (:class:`ClientOptions`).

    Raises:
        ValueError: as :class:`RestClient`.
    """

    #: The attributes the ``repr`` shows before the credentials.
    _repr_attributes: ClassVar[tuple[str, ...]] = ("base_url",)

    def __init__(
        self, base_url: str, auth: httpx.Auth | None, *, service: str, **options: Unpack[ClientOptions]
    ) -> None:
        self._core = RestClient(base_url, auth, service=service, **options)

    def close(self) -> None:
        """Close the connection pool (a shared embedded transport stays open)."""
        self._core.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = [f"{name}={getattr(self, name)!r}" for name in self._repr_attributes]
        return f"{type(self).__name__}({', '.join([*shown, f'auth={self._core.auth!r}'])})"
