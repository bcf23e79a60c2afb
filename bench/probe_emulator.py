"""Probe the emulator with hostile and heavy requests while timing an unrelated one.

Usage: ``.venv/bin/python bench/probe_emulator.py [--small] [--seconds 300]``. Starts
``tuned-models emulator`` on 127.0.0.1 (a random port, in-memory state, a key, a token and an admin
token configured), then, in a second process, GETs a small tuned model every 10 ms while this
process sends the attack set once, on every surface:

- the Gemini API and the admin routes (``bench/probe_attacks.py``): oversized, lenient, deeply
  nested and surrogate-laden bodies; numbers out of range; unknown credentials and admin requests
  without the token or from a web page; a 2-million-step model, a 100,000-example dataset and
  its inference, a 1,000-model list; a backtracking failure pattern;
- Vertex AI and Cloud Storage (``bench/probe_cloud.py``): uploads announcing 2 GiB, hostile
  upload metadata and preconditions; tuning job creates with hostile bodies, numbers, labels and
  dataset lines; unknown credentials; the services' admin routes unprotected; a 64 MiB dataset
  uploaded, tuned on, downloaded and answered from.

Prints::

    requests wrongly accepted: 0    (a hostile request answered 2xx)
    500 answers: 0
    longest stall of an unrelated request: 38 ms (target <= 100) during <attack>

and exits 1 when a target is missed. ``--small`` scales the heavy requests down (for the test
suite). Every loop is bounded in count; the whole run stops after ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import select
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.probe_attacks import (
    EMAIL,
    KEY,
    SMALL_MODEL_ID,
    TOKEN,
    Attack,
    as_json,
    gemini_attacks,
    model,
)
from bench.probe_cloud import cloud_attacks

STALL_TARGET_MS = 100.0
#: How long the unrelated request is timed before the first attack (the machine's own noise).
BASELINE_SECONDS = 1.0


def _attacks(small: bool) -> list[Attack]:
    """The attack set, in order (later ones use what the earlier ones made)."""
    return [*gemini_attacks(small), *cloud_attacks(small)]


@dataclass
class Outcome:
    """What one attack got."""

    attack: Attack
    status: int | None
    started: float
    ended: float
    detail: str = ""


@contextmanager
def emulator(admin_token: str) -> Iterator[str]:
    """``tuned-models emulator`` on 127.0.0.1 in a child process; yields its base URL."""
    command = [
        sys.executable, "-m", "tuned_models_emulator.server", "--host", "127.0.0.1", "--port", "0",
        "--state", ":memory:", "--api-key", f"{KEY}={EMAIL}", "--token", f"{TOKEN}={EMAIL}",
        "--admin-token", admin_token,
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the emulator did not start")
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def prober(base_url: str, path: str, seconds: float) -> None:
    """Child process: GET ``path`` every 10 ms until stdin has a line (or ``seconds`` pass);
    prints ``[[monotonic start, latency ms, status or 0], ...]`` as JSON."""
    samples: list[list[float]] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, headers={"x-goog-api-key": KEY}, timeout=60.0) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status = client.get(path).status_code
            except httpx.HTTPError:
                status = 0
            samples.append([started, (time.monotonic() - started) * 1000.0, status])
            if select.select([sys.stdin], [], [], 0.01)[0]:
                break
    print(json.dumps(samples))


@dataclass
class Report:
    """The probe's figures."""

    outcomes: list[Outcome]
    samples: list[tuple[float, float, int]]
    seconds: float
    attacks_began: float = 0.0

    @property
    def wrongly_accepted(self) -> list[Outcome]:
        """Hostile requests answered 2xx."""
        return [
            o for o in self.outcomes if o.attack.hostile and o.status is not None and 200 <= o.status < 300
        ]

    @property
    def server_errors(self) -> list[Outcome]:
        """Answers 500 or above, and dropped connections."""
        return [o for o in self.outcomes if o.status is None or o.status >= 500]

    @property
    def unrelated_failures(self) -> int:
        """Unrelated requests that did not get 200."""
        return sum(1 for _, _, status in self.samples if status != 200)

    @property
    def unexpected(self) -> list[Outcome]:
        """Answers outside the attack's expected statuses."""
        return [o for o in self.outcomes if o.status not in o.attack.expect]

    @property
    def baseline(self) -> list[float]:
        """Latencies (ms) of the unrelated requests made before the first attack."""
        return [latency for started, latency, _ in self.samples if started < self.attacks_began]

    @property
    def longest_stall(self) -> tuple[float, str]:
        """The slowest unrelated request (ms) made once the attacks began, and the attacks in
        flight meanwhile."""
        during_attacks = [sample for sample in self.samples if sample[0] >= self.attacks_began]
        if not during_attacks:
            return 0.0, ""
        started, latency, _ = max(during_attacks, key=lambda sample: sample[1])
        during = [
            o.attack.name
            for o in self.outcomes
            if o.started <= started + latency / 1000.0 and o.ended >= started
        ]
        return latency, ", ".join(during) or "no attack"

    def lines(self) -> list[str]:
        """The report as printed."""
        stall, during = self.longest_stall
        latencies = [latency for started, latency, _ in self.samples if started >= self.attacks_began]
        median = statistics.median(latencies) if latencies else 0.0
        baseline = self.baseline
        before = (
            f"median {statistics.median(baseline):.1f} ms, longest {max(baseline):.0f} ms"
            if baseline
            else "none"
        )
        out = [
            f"attacks: {len(self.outcomes)} in {self.seconds:.1f} s",
            f"requests wrongly accepted: {len(self.wrongly_accepted)}",
            f"500 answers: {len(self.server_errors)}",
            f"unrelated requests that failed: {self.unrelated_failures}",
            f"unexpected answers: {len(self.unexpected)}",
            f"unrelated requests before the attacks: {len(baseline)}, {before}",
            f"unrelated requests during the attacks: {len(latencies)}, median {median:.1f} ms",
            f"longest stall of an unrelated request: {stall:.0f} ms (target <= {STALL_TARGET_MS:.0f})",
            f"  during: {during}",
        ]
        out += [
            f"  {o.attack.name}: {o.status} (expected {sorted(o.attack.expect)}) {o.detail}"
            for o in self.unexpected
        ]
        return out

    @property
    def ok(self) -> bool:
        """Whether every target is met."""
        return (
            not self.wrongly_accepted
            and not self.server_errors
            and not self.unrelated_failures
            and self.longest_stall[0] <= STALL_TARGET_MS
        )


def run(*, small: bool, seconds: float) -> Report:
    """Start an emulator, run the attack set once against it with the prober running; bounded by
    ``seconds`` (attacks not sent by then are left out)."""
    admin_token = secrets.token_urlsafe(24)
    attacks = _attacks(small)
    began = time.monotonic()
    with emulator(admin_token) as base_url, httpx.Client(base_url=base_url, timeout=120.0) as client:
        client.post(
            "/_emulator/clock", json={"mode": "manual"}, headers={"Authorization": f"Bearer {admin_token}"}
        ).raise_for_status()
        made = client.post(
            f"/v1beta/tunedModels?tunedModelId={SMALL_MODEL_ID}",
            content=as_json(model("small")),
            headers={"x-goog-api-key": KEY},
        )
        made.raise_for_status()
        command = [
            sys.executable,
            __file__,
            "--prober",
            base_url,
            f"/v1beta/tunedModels/{SMALL_MODEL_ID}",
            str(seconds),
        ]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        outcomes: list[Outcome] = []
        saved: dict[str, Any] = {}
        attacks_began = time.monotonic() + BASELINE_SECONDS
        try:
            time.sleep(BASELINE_SECONDS)
            for attack in attacks:
                if time.monotonic() - began > seconds:
                    break
                outcomes.append(_send(client, attack, admin_token, saved))
        finally:
            output, _ = child.communicate(input="stop\n", timeout=seconds + 60)
    samples = [(float(s), float(latency), int(status)) for s, latency, status in json.loads(output or "[]")]
    return Report(outcomes, samples, time.monotonic() - began, attacks_began)


_SAVED = re.compile(r"<<([A-Za-z_]+)((?:\.[A-Za-z0-9_]+)*)>>")


def _fill(text: str, saved: dict[str, Any]) -> str:
    """``text`` with each ``<<name.field.0>>`` replaced by that value of a saved answer (an empty
    string when it is missing: the attack then fails visibly)."""

    def value(found: re.Match[str]) -> str:
        current: Any = saved.get(found[1])
        for step in filter(None, found[2].split(".")):
            if isinstance(current, list) and step.isdigit() and int(step) < len(current):
                current = current[int(step)]
            elif isinstance(current, dict):
                current = current.get(step)
            else:
                current = None
        return "" if current is None else str(current)

    return _SAVED.sub(value, text)


def _send(client: httpx.Client, attack: Attack, admin_token: str, saved: dict[str, Any]) -> Outcome:
    headers = dict(attack.headers)
    if attack.key is not None and not attack.path.startswith("/_emulator"):
        headers.setdefault("x-goog-api-key", attack.key)
    if attack.token is not None:
        headers.setdefault("Authorization", f"Bearer {attack.token}")
    if attack.admin:
        headers.setdefault("Authorization", f"Bearer {admin_token}")
    if attack.body is not None:
        headers.setdefault("Content-Type", "application/json")
    path = _fill(attack.path, saved)
    body = (
        attack.body
        if attack.body is None or b"<<" not in attack.body
        else _fill(attack.body.decode(), saved).encode()
    )
    started = time.monotonic()
    detail = ""
    status: int | None
    try:
        if attack.raw:
            status = _send_head(str(client.base_url), attack.method, path, headers)
        else:
            raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
            response = client.request(attack.method, path, content=body, headers=raw)
            status = response.status_code
            detail = response.text[:200] if status not in attack.expect else ""
            if attack.save is not None and status == 200:
                saved[attack.save] = response.json()
    except (httpx.HTTPError, OSError) as exc:
        status, detail = None, f"{type(exc).__name__}: {exc}"
    return Outcome(attack, status, started, time.monotonic(), detail)


def _send_head(base_url: str, method: str, path: str, headers: dict[str, str]) -> int | None:
    """Send only a request's head (its headers may announce a body that never comes) over a
    socket of its own; the answer's status (None when the connection closes without one)."""
    url = httpx.URL(base_url)
    lines = [
        f"{method} {httpx.URL(base_url + path).raw_path.decode()} HTTP/1.1",
        f"Host: {url.host}:{url.port}",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((url.host, url.port or 80), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = b""
        while b"\r\n" not in answer:
            piece = sock.recv(4096)
            if not piece:
                return None
            answer += piece
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def main(argv: list[str] | None = None) -> int:
    """Run the probe; print the report; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="scale the heavy requests down")
    parser.add_argument("--seconds", type=float, default=300.0, help="the whole run's bound (300)")
    parser.add_argument("--prober", nargs=3, metavar=("URL", "PATH", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prober:
        prober(args.prober[0], args.prober[1], float(args.prober[2]))
        return 0
    report = run(small=args.small, seconds=args.seconds)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
