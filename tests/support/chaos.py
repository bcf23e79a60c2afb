"""The chaos fault set (issue 13): what the emulator injects while the chaos suites run `up`s.

The emulator tries its fault rules in order and the first that fires answers, so the rates are
chosen to give, over all API calls: 20% 429 RESOURCE_EXHAUSTED, 20% 503 UNAVAILABLE and 5%
dropped connections (the remaining 55% are served).
"""

from __future__ import annotations

from typing import Any

from tests.support.engine import Emulator

__all__ = ["CHAOS_FAULTS", "calm", "chaos"]

#: 0.2 of calls get 429; 0.25 of the remaining 0.8 get 503; 1/12 of the remaining 0.6 are dropped.
CHAOS_FAULTS: tuple[dict[str, Any], ...] = (
    {"method": "*", "status": 429, "rate": 0.2, "retryAfter": 0.2},
    {"method": "*", "status": 503, "rate": 0.25},
    {"method": "*", "drop": True, "rate": 1 / 12},
)


def chaos(emu: Emulator, seed: int = 13) -> None:
    """Inject :data:`CHAOS_FAULTS` (with seeded dice) into every API call from now on."""
    emu.admin("POST", "seed", {"seed": seed})
    for fault in CHAOS_FAULTS:
        emu.admin("POST", "faults", fault)


def calm(emu: Emulator) -> None:
    """Remove every injected fault (so that the test's own checks are served)."""
    emu.admin("DELETE", "faults")
