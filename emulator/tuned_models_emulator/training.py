"""Training: the state machine of a tuned model, its step arithmetic and its loss curve.

Everything here is O(1) in the number of steps: a step's loss and timing are computed on their
own, and at most :data:`MAX_SNAPSHOTS` snapshots are listed.

A model is CREATING from its creation; step k completes at ``create + k x stepSeconds``. Three
events end training, declared with their outcome in :data:`TRAINING`:

- ``cancelled`` (at ``cancel_ns``): FAILED, the operation's error is CANCELLED;
- ``failed`` (at the step a forced-failure rule chose): FAILED, error INTERNAL;
- ``trained`` (at the last step): ACTIVE.

:func:`progress` replays that machine up to "now" on every read; nothing runs in the background.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from tuned_models_emulator.errors import RpcCode
from tuned_models_emulator.machine import StateMachine, Transition
from tuned_models_emulator.records import State, TunedModelRecord

CANCELLED_MESSAGE = "Operation cancelled."
DEFAULT_FAILURE_MESSAGE = "Tuning failed: the training job did not complete."


class Event(StrEnum):
    """What can happen to a model in training."""

    CANCELLED = "cancelled"
    FAILED = "failed"
    TRAINED = "trained"


#: The training state machine: CREATING ends in FAILED or ACTIVE; the outcome is the operation's
#: error code. On a tie, the transition declared first wins.
TRAINING: StateMachine[State] = StateMachine(
    State.CREATING,
    {
        State.CREATING: (
            Transition(Event.CANCELLED, State.FAILED, RpcCode.CANCELLED),
            Transition(Event.FAILED, State.FAILED, RpcCode.INTERNAL),
            Transition(Event.TRAINED, State.ACTIVE),
        ),
        State.ACTIVE: (),
        State.FAILED: (),
    },
)


@dataclass(frozen=True, slots=True)
class Progress:
    """A tuned model's training as of one instant (derived, never stored)."""

    state: State
    completed_steps: int
    end_ns: int | None
    error_code: RpcCode | None = None
    error_message: str | None = None


def total_steps(n_examples: int, epoch_count: int, batch_size: int) -> int:
    """ceil(examples x epochs / batch size), as the service reports ``totalSteps``."""
    return max(1, math.ceil(n_examples * epoch_count / batch_size))


def event_ns(model: TunedModelRecord, event: str) -> int | None:
    """The instant ``event`` happens to ``model`` (None: it never does)."""
    if event == Event.CANCELLED:
        return model.cancel_ns
    if event == Event.FAILED:
        return None if model.fail_at_step is None else model.create_ns + model.fail_at_step * model.step_ns
    if event == Event.TRAINED:
        return model.create_ns + model.total_steps * model.step_ns
    raise ValueError(event)


def steps_at(model: TunedModelRecord, at_ns: int) -> int:
    """Steps completed by ``at_ns`` (at most the total)."""
    return min(model.total_steps, max(0, (at_ns - model.create_ns) // model.step_ns))


def progress(model: TunedModelRecord, now_ns: int) -> Progress:
    """Where training stands at ``now_ns``, replaying :data:`TRAINING`."""
    reached = TRAINING.run(lambda event: event_ns(model, event), now_ns)
    if reached.by is None or reached.since_ns is None:
        return Progress(reached.state, steps_at(model, now_ns), None)
    end = reached.since_ns
    code = reached.by.outcome
    if not isinstance(code, RpcCode):
        return Progress(reached.state, steps_at(model, end), end)
    if reached.by.event == Event.CANCELLED:
        message = CANCELLED_MESSAGE
    else:
        message = model.fail_message or DEFAULT_FAILURE_MESSAGE
    return Progress(reached.state, steps_at(model, end), end, code, message)


def epoch_at(model: TunedModelRecord, step: int) -> int:
    """The epoch reported with a snapshot: whole passes over the data, capped at epochCount."""
    return min(model.epoch_count, step * model.batch_size // model.n_examples)


#: At most this many TuningSnapshots are returned; beyond, an evenly spaced selection that ends at
#: the last completed step (the emulator's bound: a response never grows with the step count).
MAX_SNAPSHOTS = 1000

_MASK = (1 << 64) - 1


def _mix(value: int) -> int:
    """splitmix64's finalizer: a well-spread 64-bit hash of ``value``."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _unit(loss_seed: int, step: int, stream: int) -> float:
    """A deterministic number in [0, 1) for one step of one model (``stream`` separates uses)."""
    return _mix(loss_seed ^ _mix(2 * step + stream)) / 2.0**64


@lru_cache(maxsize=4096)
def _curve(loss_seed: int) -> tuple[float, float, float]:
    """The loss curve's start, end and decay rate (drawn once per model)."""
    rng = random.Random(loss_seed)
    return 4.0 + 6.0 * rng.random(), 0.005 + 0.3 * rng.random(), 3.0 + 3.0 * rng.random()


def mean_loss(model: TunedModelRecord, step: int) -> float:
    """The mean loss reported at ``step``: a noisy exponential decay, deterministic per model,
    computed in O(1) whatever the number of steps."""
    start, final, decay = _curve(model.loss_seed)
    mean = final + (start - final) * math.exp(-decay * step / model.total_steps)
    noisy = mean * (1.0 + 0.35 * (2.0 * _unit(model.loss_seed, step, 0) - 1.0))
    return max(noisy, 1e-6)


def compute_ns(model: TunedModelRecord, step: int) -> int:
    """When ``step``'s metrics were computed: a fraction of a step before the step's instant."""
    max_jitter = max(2, min(model.step_ns // 10, 500_000_000))
    jitter = 1 + int(_unit(model.loss_seed, step, 1) * (max_jitter - 1))
    return model.create_ns + step * model.step_ns - jitter


def snapshot_steps(completed: int) -> range | list[int]:
    """The steps whose TuningSnapshot is returned once ``completed`` steps are done: every one,
    or :data:`MAX_SNAPSHOTS` evenly spaced ones ending at ``completed``."""
    if completed <= MAX_SNAPSHOTS:
        return range(1, completed + 1)
    return [(i * completed + MAX_SNAPSHOTS - 1) // MAX_SNAPSHOTS for i in range(1, MAX_SNAPSHOTS + 1)]
