"""Retry policy as data, and the one loop that applies it.

What is retried:

- a response whose HTTP code is in ``RetryPolicy.retry_statuses`` (429 and 5xx by default);
- an httpx transport error (connection refused or dropped, timeout).

Only when repeating is safe. A call is *idempotent* when sending it twice has the effect of
sending it once: GET, DELETE, PATCH with the same body, a cancel, and a create that names its
``tunedModelId`` (a 409 on a retry then means our own earlier attempt landed). Other calls (a
create without an id, generateContent) are retried only when the request certainly did not take
effect: a 429 (the service rejected it) or a failure to connect (it was never sent).

The delay before attempt ``n + 1`` is ``initial * multiplier**(n - 1)`` capped at ``maximum``,
spread by ``±jitter`` (a fraction). When the service says how long to wait (``Retry-After`` or
``RetryInfo``), that wait is used instead, capped at ``2 * maximum``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from .errors import ServiceError, TransportFailure, from_response

__all__ = ["RetryPolicy", "send_with_retry"]

#: Where retries are logged when the caller names no logger of its own.
_log = logging.getLogger("tuned_models.rest")

#: Transport errors raised before any byte of the request reached the server.
_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attributes:
        attempts: total tries, the first included (1 disables retries).
        initial: the first backoff delay, seconds.
        multiplier: growth of the delay per attempt.
        maximum: the cap on a backoff delay, seconds (a service-requested wait may reach twice it).
        jitter: the fraction by which a backoff delay is randomly spread (0.2 means ±20 %).
        retry_statuses: HTTP codes worth retrying.
        deadline: the most seconds one call may spend, retries and waits included; a retry whose
            wait would end past it is not made.
    """

    attempts: int = 5
    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.2
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    deadline: float = 300.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.initial < 0 or self.maximum < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy delays must be >= 0 and multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1")
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def backoff(self, retry: int, random: Callable[[], float]) -> float:
        """The delay before retry number ``retry`` (1 = the first retry), jitter applied.

        Returns a value in ``[base * (1 - jitter), base * (1 + jitter)]`` where
        ``base = min(initial * multiplier**(retry - 1), maximum)``.
        """
        base = min(self.initial * self.multiplier ** (retry - 1), self.maximum)
        spread = 1.0 + self.jitter * (2.0 * random() - 1.0)
        return max(0.0, base * spread)

    def delay(self, retry: int, retry_after: float | None, random: Callable[[], float]) -> float:
        """The wait before retry number ``retry``: :meth:`backoff`, but never less than the
        service's ``retry_after`` (spread upwards by the jitter so that many callers told the
        same wait do not all return at once)."""
        backoff = self.backoff(retry, random)
        if retry_after is None:
            return backoff
        requested = max(0.0, retry_after) * (1.0 + self.jitter * random())
        return max(backoff, requested)

    def waits_too_long(self, retry_after: float | None) -> bool:
        """True when the service asks for a wait beyond ``2 * maximum``: give up at once."""
        return retry_after is not None and retry_after > 2.0 * self.maximum


def send_with_retry(
    send: Callable[[], httpx.Response],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    sleep: Callable[[float], None],
    random: Callable[[], float],
    clock: Callable[[], float] = time.monotonic,
    log: logging.Logger | None = None,
) -> httpx.Response:
    """Call ``send`` until it returns a successful response or retrying is no longer allowed.

    ``send`` performs one HTTP exchange: it returns the response or raises an
    ``httpx.TransportError``. ``sleep`` and ``random`` are injected so tests never wait. Each
    retry is logged (INFO) on ``log``, the calling client's logger (``tuned_models.gemini``,
    ``tuned_models.vertex``, ``tuned_models.storage``), prefixed with its last name part.

    Returns:
        the first 2xx response (any other status is an error).
    Raises:
        ServiceError: the typed error of the last error response (``attempts`` says how many
            were made); a 409 after a retried create with an id surfaces as ``AlreadyExists``.
        TransportFailure: when the last attempt got no response.
    """
    attempt = 0
    started = clock()
    while True:
        attempt += 1
        last = attempt >= policy.attempts
        try:
            response = send()
        except httpx.RequestError as exc:
            failure = TransportFailure.from_httpx(exc, attempts=attempt)
            if last or not (idempotent or isinstance(exc, _NOT_SENT)):
                raise failure from None
            error: ServiceError = failure
        else:
            if response.is_success:
                return response
            response.read()
            error = from_response(response, attempts=attempt)
            response.close()
            retryable = response.status_code in policy.retry_statuses and (
                idempotent or response.status_code == 429
            )
            if last or not retryable:
                raise error
        wait = policy.delay(attempt, error.retry_after, random)
        if policy.waits_too_long(error.retry_after) or clock() - started + wait > policy.deadline:
            raise error
        logger = log or _log
        logger.info(
            "%s: %s; retry %d/%d in %.1fs",
            logger.name.rpartition(".")[2],
            error,
            attempt,
            policy.attempts - 1,
            wait,
        )
        sleep(wait)
