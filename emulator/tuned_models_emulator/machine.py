"""Long-running jobs as state machines declared as data and evaluated on read.

Nothing runs in the background. A job's record stores the instants at which things happen to it
(created, cancelled, its last step due ...); a :class:`StateMachine` declares, per state, the
transitions it can take and the event that triggers each, and :meth:`StateMachine.run` replays
them up to "now". So a job behaves the same in a server, in another process reading the same
file, and after a restart, and a manual clock moves every job at once.

Example (a job that is QUEUED, then RUNNING, then DONE or CANCELLED)::

    MACHINE = StateMachine(
        Job.QUEUED,
        {
            Job.QUEUED: (Transition("cancelled", Job.CANCELLED), Transition("started", Job.RUNNING)),
            Job.RUNNING: (Transition("cancelled", Job.CANCELLED), Transition("finished", Job.DONE)),
        },
    )
    state, since, last = MACHINE.run(lambda event: instants.get(event), now_ns)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """``-> target`` when ``event`` happens; ``outcome`` is free data for the caller (an error code)."""

    event: str
    target: S
    outcome: object = None


@dataclass(frozen=True, slots=True)
class Reached(Generic[S]):
    """Where a job stands: its state, the instant it entered it, and the transition that got it
    there (None while it is still in the initial state)."""

    state: S
    since_ns: int | None
    by: Transition[S] | None


class StateMachine(Generic[S]):
    """States and their transitions, as data: a graph without cycles (raises ValueError otherwise,
    so :meth:`run` always ends). A state with no transitions is final."""

    def __init__(self, initial: S, transitions: Mapping[S, tuple[Transition[S], ...]]) -> None:
        _check_acyclic(transitions)
        self.initial = initial
        self.transitions = dict(transitions)

    def run(self, instant: Callable[[str], int | None], now_ns: int) -> Reached[S]:
        """Replay the transitions up to ``now_ns``.

        ``instant(event)`` is the instant an event happens (None when it never does). From each
        state the earliest event at or before ``now_ns`` (and not before the state was entered)
        fires; on a tie the transition declared first wins.
        """
        state, since, by = self.initial, None, None
        while True:
            fired: list[tuple[int, int, Transition[S]]] = []
            for order, transition in enumerate(self.transitions.get(state, ())):
                at = instant(transition.event)
                if at is not None and at <= now_ns and (since is None or at >= since):
                    fired.append((at, order, transition))
            if not fired:
                return Reached(state, since, by)
            at, _, transition = min(fired, key=lambda item: (item[0], item[1]))
            state, since, by = transition.target, at, transition


def _check_acyclic(transitions: Mapping[S, tuple[Transition[S], ...]]) -> None:
    done: set[S] = set()

    def visit(state: S, path: tuple[S, ...]) -> None:
        if state in path:
            raise ValueError(f"the transitions loop: {' -> '.join(map(str, (*path, state)))}")
        if state not in done:
            for transition in transitions.get(state, ()):
                visit(transition.target, (*path, state))
            done.add(state)

    for state in transitions:
        visit(state, ())
