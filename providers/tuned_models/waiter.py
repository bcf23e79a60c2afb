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

Polling (:class:`PollSchedule`) is frequent at first, then spaced in proportion to the estimated
remaining time: the next delay is half the estimated remaining time, never more than 8% of the
estimated total training time nor :data:`MAX_DELAY`, never less than :data:`MIN_DELAY`. On long
jobs this is about one request a minute; the delay between the service finishing and the wait
returning stays a small fraction of the training time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tuned_models.backends.base import Tracker
from tuned_models.model.state import LiveModel, ModelState

MIN_DELAY = 0.1
MAX_DELAY = 55.0
#: Delays tried while no progress has been observed yet.
_EARLY = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
#: A progress line at least every this many seconds, and at every 10 percent.
PROGRESS_INTERVAL = 30.0


class TuningFailed(RuntimeError):
    """The service reports the tuning failed; the message is the service's."""


class WaitTimeout(TimeoutError):
    """The timeout passed while the model was still training."""


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
    docstring). ``label`` names the model in progress lines and errors."""
    start = clock()
    deadline = start + timeout
    schedule = PollSchedule(started=start)
    last_logged_percent = -100.0
    last_logged_at = -1e18
    last_status: str | None = None
    while True:
        progress = tracker.poll()
        percent = progress.percent or 0.0
        if progress.done:
            model = tracker.result()
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
