"""An embedded emulator on its manual clock, for the in-process suites: time moves only when
someone sleeps (a client's retries, the lifecycle's waits, a backend's polls alike), and
outages are scheduled on that clock, so an outage of minutes takes milliseconds."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["BASE_URL", "ManualClock"]

BASE_URL = "http://emulator.invalid"


class ManualClock:
    """The emulator behind ``transport`` with its clock in manual mode; :meth:`sleep` advances it.

    ``now``: the seconds slept so far (the clock of everything injected with :meth:`clock`);
    ``sleeps``: every sleep, in order.
    """

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self.admin = httpx.Client(transport=transport, base_url=BASE_URL)
        self.admin.post("/_emulator/clock", json={"mode": "manual"}).raise_for_status()
        self.now = [0.0]
        self.sleeps: list[float] = []
        #: (start, end, fault): faults injected while the clock is in [start, end).
        self.outages: list[tuple[float, float, dict[str, Any]]] = []

    def clock(self) -> float:
        return self.now[0]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now[0] += seconds
        self.admin.post("/_emulator/advance", json={"seconds": seconds}).raise_for_status()
        self._faults()

    def journal(self, rpc: str) -> list[dict[str, Any]]:
        """The emulator's journal entries of ``rpc``, oldest first."""
        entries: list[dict[str, Any]] = self.admin.get("/_emulator/journal").json()["requests"]
        return [e for e in entries if e.get("rpc") == rpc]

    def outage(self, start: float, seconds: float, **fault: Any) -> None:
        """Every API call fails as ``fault`` says (503 by default) from ``start`` for ``seconds``."""
        self.outages.append((start, start + seconds, {"method": "*", "status": 503, **fault}))
        self._faults()

    def calm(self) -> None:
        """End every outage now."""
        self.outages.clear()
        self.admin.delete("/_emulator/faults").raise_for_status()

    def _faults(self) -> None:
        """The faults of the outages under way (once a test has outages, they are all the faults)."""
        if not self.outages:
            return
        self.admin.delete("/_emulator/faults").raise_for_status()
        for start, end, fault in self.outages:
            if start <= self.now[0] < end:
                self.admin.post("/_emulator/faults", json=fault).raise_for_status()
