"""Waiting for a tuning job: adaptive polling, bounded by a timeout, with progress lines.

Contract of :func:`wait_for_training`: poll the tuning operation until it is done, then return
the tuned model. It raises :class:`TuningFailed` (with the service's message) when training
fails, and :class:`WaitTimeout` when ``timeout`` seconds pass first; in both cases the model is
left as it is on the service, so a later ``up`` can adopt it and resume.

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

from tuned_models.gemini import GeminiClient, NotFound
from tuned_models.gemini.types import Operation, TunedModel, TunedModelState

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


@dataclass(frozen=True)
class Progress:
    """One observation of a tuning job."""

    percent: float
    step: int
    total_steps: int
    epoch: int
    epochs: int | None
    mean_loss: float | None

    def line(self, label: str) -> str:
        epoch = f", epoch {self.epoch}/{self.epochs}" if self.epochs else f", epoch {self.epoch}"
        loss = f", mean loss {self.mean_loss:.4g}" if self.mean_loss is not None else ""
        return f"{label}: training {self.percent:.0f}% (step {self.step}/{self.total_steps}{epoch}{loss})"


def progress_of(op: Operation, epochs: int | None) -> Progress:
    meta = op.metadata
    total = (meta.totalSteps if meta else None) or 0
    done = (meta.completedSteps if meta else None) or 0
    percent = (meta.completedPercent if meta else None) or (100.0 * done / total if total else 0.0)
    last = meta.snapshots[-1] if meta and meta.snapshots else None
    return Progress(percent, done, total, last.epoch if last else 0, epochs, last.meanLoss if last else None)


def find_operation(client: GeminiClient, model_name: str) -> str | None:
    """The name of the model's unfinished tuning operation, if the service lists one."""
    ops = client.list_operations(model_name)
    for op in ops:
        if not op.done:
            return op.name
    return ops[0].name if ops else None


def wait_for_training(
    client: GeminiClient,
    model_name: str,
    *,
    operation_name: str | None,
    timeout: float,
    label: str,
    log: Callable[[str], None],
    epochs: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TunedModel:
    """Wait until the model leaves CREATING; return it when ACTIVE (see the module docstring)."""
    start = clock()
    deadline = start + timeout
    schedule = PollSchedule(started=start)
    last_logged_percent = -100.0
    last_logged_at = -1e18
    op_name = operation_name
    looked_up = False
    while True:
        if op_name is None and not looked_up:
            op_name = find_operation(client, model_name)
            looked_up = True
        if op_name is None:
            # No operation to read progress from: fall back to the model's state.
            model = client.get_tuned_model(model_name)
            if model.state is not TunedModelState.CREATING:
                return _finished(model, None, label)
            progress = Progress(0.0, 0, 0, 0, epochs, None)
        else:
            try:
                op = client.get_operation(op_name)
            except NotFound:
                # Gone (or never listed): read the model's state from now on.
                op_name, looked_up = None, True
                continue
            progress = progress_of(op, epochs)
            if op.done:
                model = client.get_tuned_model(model_name)
                log(progress.line(label) if progress.total_steps else f"{label}: training done")
                return _finished(model, op, label)
        now = clock()
        if progress.percent - last_logged_percent >= 10 or now - last_logged_at >= PROGRESS_INTERVAL:
            log(progress.line(label))
            last_logged_percent, last_logged_at = progress.percent, now
        if now >= deadline:
            raise WaitTimeout(
                f"{label}: {model_name} is still training after {timeout:.0f} s "
                f"({progress.percent:.0f}% done). It keeps training on the service; run "
                "`pulumi up` again to resume waiting, or raise the model's timeout."
            )
        delay = schedule.next_delay(now, progress.step, progress.total_steps)
        sleep(max(0.0, min(delay, deadline - now)))


def _finished(model: TunedModel, op: Operation | None, label: str) -> TunedModel:
    if model.state is TunedModelState.ACTIVE:
        return model
    reason = op.error.message if op is not None and op.error is not None else None
    raise TuningFailed(
        f"{label}: tuning {model.name} ended {model.state.value if model.state else 'unknown'}"
        + (f": {reason}" if reason else "")
    )
