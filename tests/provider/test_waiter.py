"""The waiter's schedule and its fallbacks, with an injected clock and sleep."""

from __future__ import annotations

from typing import Any

import pytest

from tuned_models.backends.gemini.backend import GeminiTracker
from tuned_models.gemini import NotFound
from tuned_models.gemini.types import Operation, TunedModel
from tuned_models.waiter import MAX_DELAY, MIN_DELAY, PollSchedule, WaitTimeout, wait_for_training


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
