"""Waiting for a training: adaptive polling, bounded by a timeout, with progress lines.

Contract of :func:`wait_for_training`: poll the backend's :class:`~tuned_models.backends.base.
Tracker` until the training is done, then return the model. It raises :class:`TuningFailed`
(with the service's message) when training fails, and :class:`WaitTimeout` when ``timeout``
seconds pass first; in both cases the model is left as it is on the service, so a later ``up``
can adopt it and resume.

Progress lines (``log``): one at the first poll, then whenever the percentage grew by 10 points,
the status changed (a service that reports no percentage, e.g. a tuning job going from pending
to running) or :data:`PROGRESS_INTERVAL` seconds passed since the last line, and a last one when
the training is done.

An outage does not end the wait: a poll that fails transiently (the service unavailable or
rate limited, the connection lost: a :class:`~tuned_models.rest.errors.ServiceError` whose
``transient`` is true) is tried again by :class:`Patience` until the timeout, with a line saying
what failed and when the next try is.

Polling (:class:`PollSchedule`) is frequent at first, then spaced in proportion to the estimated
remaining time: the next delay is half the estimated remaining time, never more than 8% of the
estimated total training time nor :data:`MAX_DELAY`, never less than :data:`MIN_DELAY`. On long
jobs this is about one request a minute; the delay between the service finishing and the wait
returning stays a small fraction of the training time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tuned_models.backends.base import Tracker
from tuned_models.model.state import LiveModel, ModelState
from tuned_models.rest.errors import ServiceError
from tuned_models.rest.retry import RetryPolicy

T = TypeVar("T")

MIN_DELAY = 0.1
MAX_DELAY = 55.0
#: Delays tried while no progress has been observed yet.
_EARLY = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
#: A progress line at least every this many seconds, and at every 10 percent.
PROGRESS_INTERVAL = 30.0


#: The first pause before trying a failed step again; it doubles up to :data:`MAX_PAUSE`.
FIRST_PAUSE = 2.0
MAX_PAUSE = 60.0
#: The pauses of :class:`Patience` (only the policy's backoff applies: a step is tried until
#: the deadline, not a number of times).
PATIENCE = RetryPolicy(initial=FIRST_PAUSE, multiplier=2.0, maximum=MAX_PAUSE, jitter=0.2)
#: How long a step with no timeout of its own (read, delete, a grant) rides out an outage.
OUTAGE_TIMEOUT = 600.0


class TuningFailed(RuntimeError):
    """The service reports the tuning failed; the message is the service's."""


class WaitTimeout(TimeoutError):
    """The timeout passed while the model was still training."""


class OutageTimeout(TimeoutError):
    """The service kept failing (or asked to wait) past the deadline; the last error is the
    ``__cause__``."""


def _transient(error: BaseException) -> ServiceError | None:
    """``error`` as a failure that may pass with time, or None."""
    return error if isinstance(error, ServiceError) and error.transient else None


@dataclass
class Patience:
    """Rides out an outage of the service until ``deadline`` (seconds on ``clock``).

    :meth:`call` runs a step and, while it fails transiently, logs what failed and when the
    next try is, pauses, and runs it again. Pauses are the backoff of :data:`PATIENCE` (read
    when a pause is chosen): they start at :data:`FIRST_PAUSE`, double up to :data:`MAX_PAUSE`
    (spread by ``random``, ±20%), and are never shorter than the wait the service asked for.
    Steps must be safe to run again: they read, or find what an earlier try did before acting.
    """

    label: str
    deadline: float
    log: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random

    @classmethod
    def for_seconds(
        cls,
        seconds: float,
        label: str,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Patience:
        """Patience until ``seconds`` from now."""
        return cls(label, clock() + seconds, log, clock, sleep)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - self.clock())

    def call(self, what: str, step: Callable[[], T]) -> T:
        """``step()``'s result, trying again after transient failures (``what`` names the step
        in the log, e.g. "reading the training's progress").

        Raises:
            OutageTimeout: the next try would start past the deadline; the message names the
                step, the last error and, when the service asked for one, its wait.
            whatever ``step`` raises that is not transient, at once.
        """
        failures = 0
        first_failure: float | None = None
        while True:
            try:
                return step()
            except Exception as exc:
                error = _transient(exc)
                if error is None:
                    raise
                now = self.clock()
                failures += 1
                first_failure = now if first_failure is None else first_failure
                pause = self._pause(failures, error.retry_after)
                if now + pause > self.deadline:
                    raise OutageTimeout(self._give_up(what, exc, now - first_failure, now)) from exc
                self.log(f"{self.label}: {what} failed ({exc}); next try in {_seconds(pause)}")
                self.sleep(pause)

    def _pause(self, failures: int, retry_after: float | None) -> float:
        return max(PATIENCE.backoff(failures, self.random), retry_after or 0.0)

    def _give_up(self, what: str, error: BaseException, failing_for: float, now: float) -> str:
        left = max(0.0, self.deadline - now)
        wait = error.retry_after if isinstance(error, ServiceError) else None
        if wait and wait > left:
            why = f"{what} failed ({error}), a wait longer than the {_seconds(left)} left of the timeout"
        else:
            why = f"{what} kept failing for {_seconds(failing_for)}, until the timeout ({error})"
        return (
            f"{self.label}: {why}. Run `pulumi up` again once the service answers (a submitted "
            "training goes on there and is adopted), or raise the model's timeout."
        )


def _seconds(value: float) -> str:
    """``45 s``, ``2m05s``, ``1h02m``: a duration for a log line."""
    whole = round(value)
    if value < 10:
        return f"{value:.1f} s"
    if whole < 120:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


@dataclass
class PollSchedule:
    """Chooses the delay before the next poll from the progress seen so far."""

    started: float
    first_steps: int | None = None
    first_seen: float | None = None
    polls: int = 0
    _early: list[float] = field(default_factory=lambda: list(_EARLY))

    def next_delay(self, now: float, completed: int, total: int) -> float:
        """The seconds to wait before the next poll, given ``completed`` of ``total`` steps."""
        self.polls += 1
        if self.first_steps is None or self.first_seen is None:
            self.first_steps, self.first_seen = completed, now
        progressed = completed - self.first_steps
        span = now - self.first_seen
        if progressed <= 0 or span <= 0 or total <= 0:
            return self._early.pop(0) if len(self._early) > 1 else self._early[0]
        rate = progressed / span
        remaining = max(0.0, (total - completed) / rate)
        estimated_total = (now - self.started) + remaining
        ceiling = min(MAX_DELAY, max(MIN_DELAY, 0.08 * estimated_total))
        return max(MIN_DELAY, min(ceiling, remaining / 2))


def wait_for_training(
    tracker: Tracker,
    *,
    timeout: float,
    label: str,
    log: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LiveModel:
    """Poll ``tracker`` until the training ends; return the model when ACTIVE (see the module
    docstring). ``label`` names the model in progress lines and errors.

    Raises TuningFailed, WaitTimeout, or OutageTimeout when the service kept failing until the
    timeout (the training may go on there)."""
    start = clock()
    deadline = start + timeout
    patience = Patience(label, deadline, log, clock, sleep)
    schedule = PollSchedule(started=start)
    last_logged_percent = -100.0
    last_logged_at = -1e18
    last_status: str | None = None
    while True:
        progress = patience.call("reading the training's progress", tracker.poll)
        percent = progress.percent or 0.0
        if progress.done:
            model = patience.call("reading the trained model", tracker.result)
            log(progress.line(label) if progress.total_steps else f"{label}: training done")
            if model.state is ModelState.ACTIVE:
                return model
            raise TuningFailed(
                f"{label}: tuning {model.name} ended {model.state.value}"
                + (f": {progress.error}" if progress.error else "")
            )
        now = clock()
        if (
            percent - last_logged_percent >= 10
            or now - last_logged_at >= PROGRESS_INTERVAL
            or progress.status != last_status
        ):
            log(progress.line(label))
            last_logged_percent, last_logged_at, last_status = percent, now, progress.status
        if now >= deadline:
            raise WaitTimeout(
                f"{label}: {tracker.name} is still training after {timeout:.0f} s "
                f"({percent:.0f}% done). It keeps training on the service; run "
                "`pulumi up` again to resume waiting, or raise the model's timeout."
            )
        delay = schedule.next_delay(now, progress.step, progress.total_steps or 0)
        sleep(max(0.0, min(delay, deadline - now)))
