"""The HTTP core the Vertex AI and Cloud Storage clients share with the Gemini client.

One synchronous ``httpx.Client`` (user agent, timeouts, no redirects, proxies from the
environment only when talking to the network), every call through
:func:`~tuned_models.gemini.retry.send_with_retry` with its policy, errors from
:func:`~tuned_models.gemini.errors.from_response`, JSON objects only, bounded paging. It is the
Gemini client's own machinery, used with absolute URLs (a Vertex call's host depends on the
resource's location); this adapter is the one place that reaches into it.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
import pydantic

from tuned_models.gemini.client import DEFAULT_RETRY, GeminiClient
from tuned_models.gemini.client import _parse as _parse_model
from tuned_models.gemini.retry import RetryPolicy, send_with_retry

_M = TypeVar("_M", bound=pydantic.BaseModel)


class HttpCore:
    """JSON calls with retries over one connection pool; safe to share between threads.

    Args:
        base_url: the default base URL (relative URLs resolve against it).
        auth, transport, timeout, retry, sleep, random, clock: as for
            :class:`~tuned_models.gemini.client.GeminiClient`.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = GeminiClient(
            base_url,
            auth,
            transport=transport,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            random=random,
            clock=clock,
        )
        self.retry = retry
        self.sleep = sleep
        self.random = random
        self.clock = clock
        self.auth = auth

    @property
    def http(self) -> httpx.Client:
        """The underlying ``httpx.Client`` (for exchanges whose success is not a 2xx)."""
        return self._client._http

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

        ``idempotent`` defaults to True for GET, PATCH and DELETE. Raises the typed errors.
        """
        return self._client._call(method, url, params=params, json=json, idempotent=idempotent)

    def send(self, build: Callable[[], httpx.Request], *, idempotent: bool) -> httpx.Response:
        """Send the request ``build`` makes (a fresh one per attempt) with retries; the 2xx
        response, unread bodies included (for headers such as ``Location``)."""
        return send_with_retry(
            lambda: self.http.send(build()),
            policy=self.retry,
            idempotent=idempotent,
            sleep=self.sleep,
            random=self.random,
            clock=self.clock,
        )

    def pages(self, url: str, key: str, *, page_size: int = 100, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` across pages (bounded, as the Gemini client pages)."""
        return self._client._pages(url, key, page_size=page_size, **params)

    def close(self) -> None:
        self._client.close()


def parse(model: type[_M], data: Any) -> _M:
    """Build a response model; a response of the wrong shape becomes a ``GeminiError``."""
    return _parse_model(model, data)
