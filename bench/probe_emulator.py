"""Probe the emulator with hostile and heavy requests while timing an unrelated one.

Usage: ``.venv/bin/python bench/probe_emulator.py [--small] [--seconds 300]``. Starts
``tuned-models emulator`` on 127.0.0.1 (a random port, in-memory state, a key, a token and an admin
token configured), then, in a second process, GETs a small tuned model every 10 ms while this
process sends the attack set once: oversized, lenient, deeply nested and surrogate-laden bodies;
numbers out of range; unknown credentials and admin requests without the token or from a web
page; a 2-million-step model, a 100,000-example dataset and its inference, a 1,000-model list; a
backtracking failure pattern. Prints:

    requests wrongly accepted: 0    (a hostile request answered 2xx)
    500 answers: 0
    longest stall of an unrelated request: 38 ms (target <= 100) during <attack>

and exits 1 when a target is missed. ``--small`` scales the heavy requests down (for the test
suite). Every loop is bounded in count; the whole run stops after ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

KEY = "probe-key"
TOKEN = "probe-token"
EMAIL = "probe@example.com"
STALL_TARGET_MS = 100.0
#: How long the unrelated request is timed before the first attack (the machine's own noise).
BASELINE_SECONDS = 1.0
EXAMPLES = [{"textInput": str(i), "output": str(i + 1)} for i in range(15)]


def _model(
    display_name: str = "probe", examples: Sequence[dict[str, str]] = EXAMPLES, **extra: Any
) -> dict[str, Any]:
    hyper = extra.pop("hyperparameters", {"batchSize": 4, "epochCount": 5, "learningRate": 0.001})
    return {
        "displayName": display_name,
        "baseModel": "models/gemini-1.0-pro-001",
        "tuningTask": {"hyperparameters": hyper, "trainingData": {"examples": {"examples": list(examples)}}},
        **extra,
    }


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass(frozen=True)
class Attack:
    """One request and the answers it may get; a hostile one answered 2xx is wrongly accepted."""

    name: str
    method: str
    path: str
    expect: frozenset[int]
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hostile: bool = True
    admin: bool = False
    key: str | None = KEY


def hostile(name: str, method: str, path: str, body: bytes | None = None, **more: Any) -> Attack:
    """A request the emulator must refuse (400 unless ``expect`` says otherwise)."""
    expect = more.pop("expect", 400)
    return Attack(name, method, path, frozenset({expect}), body, **more)


def legit(name: str, method: str, path: str, body: bytes | None = None, **more: Any) -> Attack:
    """A request, possibly heavy, that the emulator must serve (200)."""
    return Attack(name, method, path, frozenset({200}), body, hostile=False, **more)


MIB = 1024 * 1024
CREATE = "/v1beta/tunedModels"
SMALL = "/v1beta/tunedModels/probe-small"


def _body_attacks(small: bool) -> list[Attack]:
    values = b"{}," * ((MIB if small else 4 * MIB - 4096) // 3)
    dense = b"0," * (MIB // 8 if small else 999_990 // 2)
    deep = 200_000
    surrogate_example = _json(_model()).replace(b'"textInput": "0"', b'"textInput": "\\udc00"')
    return [
        hostile("json5 fallback on 1 MiB", "POST", CREATE, _json(_model(description="d" * MIB))[:-1] + b",}"),
        hostile("json5 at its bound", "POST", CREATE, b'{"displayName": [' + b"0," * 3_990 + b"0],}"),
        hostile("json5 on 60 KiB of values", "POST", CREATE, b'{"displayName": [' + b"0," * 30_000 + b"0],}"),
        hostile("create over 4 MiB", "POST", CREATE, b'{"d": "' + b"d" * (5 * MIB) + b'"}', expect=413),
        hostile("patch over 1 MiB", "PATCH", SMALL, _json({"description": "d" * 2 * MIB}), expect=413),
        hostile(
            "admin over 64 KiB",
            "POST",
            "/_emulator/failures",
            _json({"m": "m" * 100_000}),
            expect=413,
            admin=True,
        ),
        hostile(
            "1.4 million values",
            "POST",
            CREATE,
            b'{"tuningTask": {"trainingData": {"examples": {"examples": [' + values + b"{}]}}}}",
        ),
        hostile("a million values less one", "POST", CREATE, b'{"readerProjectNumbers": [' + dense + b"0]}"),
        hostile("nesting 200,000 deep", "POST", CREATE, b'{"contents": ' + b"[" * deep + b"]" * deep + b"}"),
        hostile(
            "nesting 101 deep",
            "POST",
            f"{SMALL}:generateContent",
            b'{"contents": ' + b"[" * 101 + b"]" * 101 + b"}",
        ),
        hostile(
            "lone surrogate in displayName", "POST", CREATE, _json(_model("x")).replace(b'"x"', b'"\\ud800"')
        ),
        hostile("lone surrogate in an example", "POST", CREATE, surrogate_example),
        hostile(
            "lone surrogate in a grant",
            "POST",
            f"{SMALL}/permissions",
            b'{"role": "READER", "emailAddress": "\\ud83d@x.com"}',
        ),
    ]


def _heavy_attacks(small: bool) -> list[Attack]:
    examples = [{"textInput": f"{i:06d}", "output": "x"} for i in range(10_000 if small else 100_000)]
    wide = _model("wide", examples, hyperparameters={"batchSize": 1000, "epochCount": 1})
    huge = _model("huge", hyperparameters={"batchSize": 1, "epochCount": 133_334})
    listed = _json(_model("listed", hyperparameters={"batchSize": 1, "epochCount": 100}))
    prompt = _json({"contents": [{"parts": [{"text": "004321"}]}]})
    return [
        legit("100,000-example dataset", "POST", f"{CREATE}?tunedModelId=probe-wide", _json(wide)),
        legit("two-million-step model", "POST", f"{CREATE}?tunedModelId=probe-huge", _json(huge)),
        *(legit(f"1,500-step model {i}", "POST", CREATE, listed) for i in range(20 if small else 200)),
        legit(
            "advance a million steps", "POST", "/_emulator/advance", _json({"steps": 1_000_001}), admin=True
        ),
        legit("read the two-million-step model", "GET", "/v1beta/tunedModels/probe-huge"),
        legit("list its operation", "GET", "/v1/tunedModels/probe-huge/operations"),
        legit(
            "inference over the wide dataset",
            "POST",
            "/v1beta/tunedModels/probe-wide:generateContent",
            prompt,
        ),
        legit("list a full page", "GET", f"{CREATE}?pageSize=1000"),
        legit("quota project int() refuses", "GET", SMALL, headers={"x-goog-user-project": "\u00b2"}),
    ]


def _number_attacks() -> list[Attack]:
    def hyper(**values: Any) -> bytes:
        return _json(_model(hyperparameters=values))

    too_many = hyper(epochCount=2**31 - 1, batchSize=1)
    candidates = _json(
        {"contents": [{"parts": [{"text": "1"}]}], "generationConfig": {"candidateCount": 2**40}}
    )
    grant = _json({"granteeType": "USER", "emailAddress": "a@x.com", "role": "\u00b2"})
    return [
        hostile("topK 2^40", "POST", CREATE, _json(_model(topK=2**40))),
        hostile("temperature 1e300", "POST", CREATE, _json(_model(temperature=1e300))),
        hostile("learningRate Infinity", "POST", CREATE, hyper(learningRate="Infinity")),
        hostile("epochCount 2^31", "POST", CREATE, hyper(epochCount=2**31)),
        hostile("too many steps", "POST", CREATE, too_many),
        hostile("int64 overflow", "POST", CREATE, _json(_model(readerProjectNumbers=["9" * 20]))),
        hostile("candidateCount 2^40", "POST", f"{SMALL}:generateContent", candidates),
        hostile("pageSize 1e5", "GET", f"{CREATE}?pageSize=1e5"),
        hostile("forged page token", "GET", f"{CREATE}?pageToken=eyJvIjogLTF9"),
        hostile("role int() refuses", "POST", f"{SMALL}/permissions", grant),
    ]


def _access_attacks() -> list[Attack]:
    no_key: dict[str, Any] = {"key": None}
    bearer = {"Authorization": "Bearer made-up"}
    return [
        hostile("unknown bearer token", "GET", CREATE, headers=bearer, expect=401, **no_key),
        hostile("unknown API key", "GET", CREATE, key="made-up-key"),
        hostile(
            "9,000-character token",
            "GET",
            CREATE,
            headers={"Authorization": "Bearer " + "t" * 9_000},
            expect=401,
            **no_key,
        ),
        hostile(
            "not a bearer token", "GET", CREATE, headers={"Authorization": "Basic dTpw"}, expect=401, **no_key
        ),
        hostile("no credentials", "POST", CREATE, _json(_model()), expect=403, **no_key),
        hostile("admin reset, no token", "POST", "/_emulator/reset", expect=401, **no_key),
        hostile(
            "admin, wrong token",
            "POST",
            "/_emulator/callers",
            _json({"token": "t"}),
            headers={"Authorization": "Bearer x"},
            expect=401,
        ),
        hostile(
            "admin from a web page",
            "POST",
            "/_emulator/reset",
            headers={"Origin": "https://a.example"},
            expect=403,
            admin=True,
        ),
        hostile(
            "admin text/plain",
            "POST",
            "/_emulator/failures",
            b"{}",
            headers={"Content-Type": "text/plain"},
            expect=403,
            admin=True,
        ),
        hostile(
            "stepSeconds Infinity",
            "PATCH",
            "/_emulator/settings",
            _json({"stepSeconds": "Infinity"}),
            admin=True,
        ),
        hostile(
            "stepSeconds 1e300", "PATCH", "/_emulator/settings", _json({"stepSeconds": 1e300}), admin=True
        ),
        hostile("advance 1e12 s", "POST", "/_emulator/advance", _json({"seconds": 1e12}), admin=True),
        hostile("latencyMs 1e15", "POST", "/_emulator/faults", _json({"latencyMs": 1e15}), admin=True),
        hostile("seed 1e300", "POST", "/_emulator/seed", _json({"seed": 1e300}), admin=True),
        hostile("atPercent NaN", "POST", "/_emulator/failures", _json({"atPercent": "NaN"}), admin=True),
        hostile("pattern RE2 refuses", "POST", "/_emulator/failures", _json({"match": "(a)\\1"}), admin=True),
        legit("backtracking pattern", "POST", "/_emulator/failures", _json({"match": "^(a+)+$"}), admin=True),
        legit("create matched against it", "POST", CREATE, _json(_model("a" * 39 + "!"))),
        legit("forget the pattern", "DELETE", "/_emulator/failures", admin=True),
    ]


def _attacks(small: bool) -> list[Attack]:
    """The attack set, in order (later ones use models the earlier ones created)."""
    return [*_body_attacks(small), *_heavy_attacks(small), *_number_attacks(), *_access_attacks()]


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
            "/v1beta/tunedModels?tunedModelId=probe-small",
            json=_model("small"),
            headers={"x-goog-api-key": KEY},
        )
        made.raise_for_status()
        command = [
            sys.executable,
            __file__,
            "--prober",
            base_url,
            "/v1beta/tunedModels/probe-small",
            str(seconds),
        ]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        outcomes: list[Outcome] = []
        attacks_began = time.monotonic() + BASELINE_SECONDS
        try:
            time.sleep(BASELINE_SECONDS)
            for attack in attacks:
                if time.monotonic() - began > seconds:
                    break
                outcomes.append(_send(client, attack, admin_token))
        finally:
            output, _ = child.communicate(input="stop\n", timeout=seconds + 60)
    samples = [(float(s), float(latency), int(status)) for s, latency, status in json.loads(output or "[]")]
    return Report(outcomes, samples, time.monotonic() - began, attacks_began)


def _send(client: httpx.Client, attack: Attack, admin_token: str) -> Outcome:
    headers = dict(attack.headers)
    if attack.key is not None and not attack.path.startswith("/_emulator"):
        headers.setdefault("x-goog-api-key", attack.key)
    if attack.admin:
        headers.setdefault("Authorization", f"Bearer {admin_token}")
    if attack.body is not None:
        headers.setdefault("Content-Type", "application/json")
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    started = time.monotonic()
    try:
        response = client.request(attack.method, attack.path, content=attack.body, headers=raw)
        status: int | None = response.status_code
        detail = response.text[:200] if status not in attack.expect else ""
    except httpx.HTTPError as exc:
        status, detail = None, f"{type(exc).__name__}: {exc}"
    return Outcome(attack, status, started, time.monotonic(), detail)


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
