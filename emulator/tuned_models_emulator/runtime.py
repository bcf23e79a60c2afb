"""What every emulated service shares: the store, the process settings, the clock and the seed.

The clock is real time, or a manual clock stored in the database (so that a server, another
process on the same file and a restart agree on it). The seed makes ids, suffixes, losses and
fault dice deterministic; its sequence is kept in the store too.
"""

from __future__ import annotations

import random
import secrets
import time
from typing import Any

from tuned_models_emulator.errors import InvalidArgument
from tuned_models_emulator.records import MAX_STEP_SECONDS, NS, ClockMode, Settings
from tuned_models_emulator.store import Store, Tx
from tuned_models_emulator.wire import format_timestamp

#: The manual clock never passes this instant, so every time the API prints stays a valid
#: RFC 3339 timestamp (year 9999 at most).
CLOCK_LIMIT_NS = 253_370_764_800 * NS  # 9999-01-01T00:00:00Z


class Runtime:
    """The shared state of one emulator app: ``store``, ``settings``, clock, seed and step time.

    Every method takes the request's open transaction, so what it reads and writes is part of
    that request's atomic unit.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def now_ns(self, tx: Tx) -> int:
        """The emulator's clock: real time, or the stored manual clock."""
        if tx.meta("clock_mode") == ClockMode.MANUAL:
            return int(tx.meta("clock_ns") or time.time_ns())
        return time.time_ns()

    def step_seconds(self, tx: Tx) -> float:
        """Time per training step for models created now."""
        value = tx.meta("step_seconds")
        return float(value) if value is not None else self.settings.step_seconds

    def seed(self, tx: Tx) -> int | None:
        """The seed of deterministic ids, suffixes, losses and fault dice (None = random)."""
        value = tx.meta("seed")
        return int(value) if value is not None else self.settings.seed

    def rng(self, tx: Tx) -> random.Random:
        """A random source: seeded (and advanced in the store) when a seed is set."""
        seed = self.seed(tx)
        if seed is None:
            return random.Random(secrets.randbits(64))
        counter = tx.next_counter("rng_counter")
        return random.Random(f"{seed}:{counter}")

    def clock_json(self, tx: Tx) -> dict[str, Any]:
        """``{"mode", "now"}``: the admin view of the clock."""
        mode = ClockMode(tx.meta("clock_mode") or ClockMode.REAL)
        return {"mode": str(mode), "now": format_timestamp(self.now_ns(tx))}

    def settings_json(self, tx: Tx) -> dict[str, Any]:
        """The admin view of the settings."""
        return {
            "stepSeconds": self.step_seconds(tx),
            "seed": self.seed(tx),
            "clock": self.clock_json(tx),
            "apiKeysConfigured": bool(self.settings.key_hashes),
            "tokensConfigured": bool(self.settings.token_hashes),
        }

    def set_step_seconds(self, tx: Tx, seconds: float) -> None:
        """Time per step for models created afterwards; raises InvalidArgument unless it is in
        (0, :data:`MAX_STEP_SECONDS`]."""
        if not 0 < seconds <= MAX_STEP_SECONDS:
            raise InvalidArgument(f"stepSeconds must be positive and at most {MAX_STEP_SECONDS:g}.")
        tx.set_meta("step_seconds", repr(float(seconds)))

    def set_seed(self, tx: Tx, seed: int | None) -> None:
        """Make ids, suffixes, losses and dice deterministic from now on (None = random)."""
        tx.set_meta("seed", None if seed is None else str(int(seed)))
        tx.set_meta("rng_counter", "0")

    def set_clock(self, tx: Tx, mode: ClockMode) -> None:
        """Manual freezes the clock at the current instant; real returns to real time."""
        if mode is ClockMode.MANUAL:
            if tx.meta("clock_mode") != ClockMode.MANUAL:
                tx.set_meta("clock_ns", str(time.time_ns()))
            tx.set_meta("clock_mode", str(ClockMode.MANUAL))
        else:
            tx.set_meta("clock_mode", str(ClockMode.REAL))
            tx.set_meta("clock_ns", None)

    def advance(self, tx: Tx, *, seconds: float | None = None, steps: int | None = None) -> None:
        """Move the manual clock forward (switching to manual first if the clock is real).

        Raises InvalidArgument for a move backwards or past :data:`CLOCK_LIMIT_NS`.
        """
        delta = 0
        if seconds is not None:
            delta += round(float(seconds) * NS)
        if steps is not None:
            delta += int(steps) * round(self.step_seconds(tx) * NS)
        if delta < 0:
            raise InvalidArgument("The clock only moves forward.")
        now = self.now_ns(tx)
        if now + delta > CLOCK_LIMIT_NS:
            raise InvalidArgument(
                f"The clock cannot move past {format_timestamp(CLOCK_LIMIT_NS)}: it is "
                f"{format_timestamp(now)}, so it can move {(CLOCK_LIMIT_NS - now) // NS} seconds at most."
            )
        tx.set_meta("clock_mode", str(ClockMode.MANUAL))
        tx.set_meta("clock_ns", str(now + delta))

    def reset(self, tx: Tx) -> None:
        """Forget everything stored (every service's records, callers, faults, failures, journal);
        the clock back to real, the step time back to the process setting, the seed's sequence
        restarted (the seed itself is kept)."""
        tx.reset()
        tx.set_meta("clock_mode", None)
        tx.set_meta("clock_ns", None)
        tx.set_meta("step_seconds", None)
        tx.set_meta("rng_counter", "0")
