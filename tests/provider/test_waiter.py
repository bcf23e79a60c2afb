"""The waiter's schedule, its progress-line contract and its fallbacks, with an injected
clock and sleep."""

from __future__ import annotations

from typing import Any

import pytest

from tuned_models.backends.gemini.backend import GeminiTracker
from tuned_models.gemini import NotFound
from tuned_models.gemini.types import Operation, TunedModel
from tuned_models.model.state import LiveModel, ModelState, Progress
from tuned_models.waiter import (
    MAX_DELAY,
    MIN_DELAY,
    PROGRESS_INTERVAL,
    PollSchedule,
    TuningFailed,
    WaitTimeout,
    wait_for_training,
)


def test_schedule_is_frequent_at_first_then_proportional_to_the_remaining_time() -> None:
    schedule = PollSchedule(started=0.0)
    assert schedule.next_delay(0.0, 0, 100) == 0.25  # no progress seen yet
    # 10 steps in 100 s: 90 steps (900 s) remain; half of it, capped at 8% of ~1000 s
    assert schedule.next_delay(100.0, 10, 100) == pytest.approx(MAX_DELAY)
    near_end = schedule.next_delay(990.0, 99, 100)
    assert MIN_DELAY <= near_end <= 5.0


class _GoneOperation:
    """A service that lists an operation it then cannot find, and keeps the model training."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def list_operations(self, name: str) -> list[Operation]:
        self.calls.append("ListOperations")
        return [Operation(name=f"{name}/operations/x")]

    def get_operation(self, name: str) -> Operation:
        self.calls.append("GetOperation")
        raise NotFound("gone", code=404, status="NOT_FOUND")

    def get_tuned_model(self, name: str) -> TunedModel:
        self.calls.append("GetTunedModel")
        return TunedModel(name=name, state="CREATING")


def test_an_operation_that_vanishes_falls_back_to_the_model_and_still_sleeps() -> None:
    client: Any = _GoneOperation()
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with pytest.raises(WaitTimeout):
        wait_for_training(
            GeminiTracker(client, "tunedModels/m", None, None),
            timeout=60,
            label="m",
            log=lambda _line: None,
            clock=lambda: now[0],
            sleep=sleep,
        )
    assert client.calls[:3] == ["ListOperations", "GetOperation", "GetTunedModel"]
    assert client.calls.count("ListOperations") == 1 and client.calls.count("GetOperation") == 1
    assert len(client.calls) - 2 == len(sleeps) + 1  # one model read per sleep, then the deadline


class _ScriptedTraining:
    """A tracker over a training of ``total`` steps at one step per ``seconds_per_step`` of the
    injected clock; records every poll as (time, percent)."""

    def __init__(self, now: list[float], total: int, pace: float, fail: str | None = None) -> None:
        self.name = "tunedModels/m"
        self._now, self._total, self._pace, self._fail = now, total, pace, fail
        self.polls: list[tuple[float, float]] = []

    def poll(self) -> Progress:
        step = min(self._total, int(self._now[0] / self._pace))
        percent = 100.0 * step / self._total
        self.polls.append((self._now[0], percent))
        done = step >= self._total
        return Progress(percent, step, self._total, 1, 1, 0.5, done, self._fail if done else None)

    def result(self) -> LiveModel:
        state = ModelState.FAILED if self._fail else ModelState.ACTIVE
        return LiveModel(self.name, "m", state)


def _wait(training: _ScriptedTraining, now: list[float], timeout: float = 1e6) -> list[str]:
    lines: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    wait_for_training(
        training, timeout=timeout, label="m", log=lines.append, clock=lambda: now[0], sleep=sleep
    )
    return lines


@pytest.mark.parametrize("seconds_per_step", [0.05, 1.0, 30.0])
def test_a_progress_line_at_the_first_poll_every_10_percent_and_every_30_seconds(
    seconds_per_step: float,
) -> None:
    now = [0.0]
    training = _ScriptedTraining(now, 100, seconds_per_step)
    lines = _wait(training, now)
    # The rule, replayed over the polls the waiter made: a line when the percentage grew by 10
    # points or 30 s passed since the last line; then the last line when it is done.
    expected: list[str] = []
    last_percent, last_at = -100.0, -1e18
    for at, percent in training.polls[:-1]:
        if percent - last_percent >= 10 or at - last_at >= PROGRESS_INTERVAL:
            expected.append(f"m: training {percent:.0f}% (step {int(percent)}/100, epoch 1/1, mean loss 0.5)")
            last_percent, last_at = percent, at
    assert lines[:-1] == expected
    assert lines[0] == "m: training 0% (step 0/100, epoch 1/1, mean loss 0.5)"
    assert lines[-1] == "m: training 100% (step 100/100, epoch 1/1, mean loss 0.5)"
    assert len(lines) <= 1 + 10 + training.polls[-1][0] / PROGRESS_INTERVAL + 1


def test_a_failed_training_raises_with_the_services_message() -> None:
    now = [0.0]
    with pytest.raises(TuningFailed, match=r"^m: tuning tunedModels/m ended FAILED: out of quota$"):
        _wait(_ScriptedTraining(now, 4, 1.0, fail="out of quota"), now)


def test_the_timeout_says_how_far_the_training_got() -> None:
    now = [0.0]
    with pytest.raises(WaitTimeout, match=r"^m: tunedModels/m is still training after 50 s \(50% done\)"):
        _wait(_ScriptedTraining(now, 100, 1.0), now, timeout=50)


class _StatusOnly:
    """A service that reports no percentage, only a status (Vertex AI's tuning jobs)."""

    name = "projects/p/locations/l/tuningJobs/1"

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def poll(self) -> Progress:
        status = self.statuses.pop(0)
        return Progress(status=status, done=status == "done")

    def result(self) -> LiveModel:
        return LiveModel(self.name, "m-1", ModelState.ACTIVE)


def test_a_status_change_is_a_progress_line_when_no_percentage_is_known() -> None:
    lines: list[str] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 1.0

    tracker = _StatusOnly(
        ["tuning job pending", "tuning job pending", "tuning job running", "tuning job running", "done"]
    )
    wait_for_training(tracker, timeout=60, label="m", log=lines.append, clock=lambda: now[0], sleep=sleep)
    assert lines == ["m: tuning job pending", "m: tuning job running", "m: training done"]
