"""The attack set of ``bench/probe_emulator.py`` on the Gemini API and the admin routes: what a
request is (:class:`Attack`), which answers it may get, and the attacks themselves (oversized,
lenient, deeply nested and surrogate-laden bodies; numbers out of range; unknown credentials and
admin requests without the token or from a web page; heavy but legitimate work)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

KEY = "probe-key"
TOKEN = "probe-token"
EMAIL = "probe@example.com"
MIB = 1024 * 1024
EXAMPLES = [{"textInput": str(i), "output": str(i + 1)} for i in range(15)]
SMALL_MODEL_ID = "probe-small"


def model(
    display_name: str = "probe", examples: Sequence[dict[str, str]] = EXAMPLES, **extra: Any
) -> dict[str, Any]:
    hyper = extra.pop("hyperparameters", {"batchSize": 4, "epochCount": 5, "learningRate": 0.001})
    return {
        "displayName": display_name,
        "baseModel": "models/gemini-1.0-pro-001",
        "tuningTask": {"hyperparameters": hyper, "trainingData": {"examples": {"examples": list(examples)}}},
        **extra,
    }


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass(frozen=True)
class Attack:
    """One request and the answers it may get; a hostile one answered 2xx is wrongly accepted.

    ``key`` is sent as ``x-goog-api-key``, ``token`` as a bearer token, the admin token when
    ``admin``. ``raw``: only the request's head is sent, over a socket of its own (a body announced
    by its headers but never sent). ``save``: the answer's JSON is kept under that name, for later
    attacks whose path or body hold ``<<name.field.0.field>>``.
    """

    name: str
    method: str
    path: str
    expect: frozenset[int]
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hostile: bool = True
    admin: bool = False
    key: str | None = KEY
    token: str | None = None
    raw: bool = False
    save: str | None = None


def hostile(name: str, method: str, path: str, body: bytes | None = None, **more: Any) -> Attack:
    """A request the emulator must refuse (400 unless ``expect`` says otherwise)."""
    expect = more.pop("expect", 400)
    return Attack(name, method, path, frozenset({expect}), body, **more)


def legit(name: str, method: str, path: str, body: bytes | None = None, **more: Any) -> Attack:
    """A request, possibly heavy, that the emulator must serve (200)."""
    return Attack(name, method, path, frozenset({200}), body, hostile=False, **more)


CREATE = "/v1beta/tunedModels"
SMALL = f"/v1beta/tunedModels/{SMALL_MODEL_ID}"


def _body_attacks(small: bool) -> list[Attack]:
    values = b"{}," * ((MIB if small else 4 * MIB - 4096) // 3)
    dense = b"0," * (MIB // 8 if small else 999_990 // 2)
    deep = 200_000
    surrogate_example = as_json(model()).replace(b'"textInput": "0"', b'"textInput": "\\udc00"')
    return [
        hostile(
            "json5 fallback on 1 MiB", "POST", CREATE, as_json(model(description="d" * MIB))[:-1] + b",}"
        ),
        hostile("json5 at its bound", "POST", CREATE, b'{"displayName": [' + b"0," * 3_990 + b"0],}"),
        hostile("json5 on 60 KiB of values", "POST", CREATE, b'{"displayName": [' + b"0," * 30_000 + b"0],}"),
        hostile("create over 4 MiB", "POST", CREATE, b'{"d": "' + b"d" * (5 * MIB) + b'"}', expect=413),
        hostile("patch over 1 MiB", "PATCH", SMALL, as_json({"description": "d" * 2 * MIB}), expect=413),
        hostile(
            "admin over 64 KiB",
            "POST",
            "/_emulator/failures",
            as_json({"m": "m" * 100_000}),
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
            "lone surrogate in displayName", "POST", CREATE, as_json(model("x")).replace(b'"x"', b'"\\ud800"')
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
    wide = model("wide", examples, hyperparameters={"batchSize": 1000, "epochCount": 1})
    huge = model("huge", hyperparameters={"batchSize": 1, "epochCount": 133_334})
    listed = as_json(model("listed", hyperparameters={"batchSize": 1, "epochCount": 100}))
    prompt = as_json({"contents": [{"parts": [{"text": "004321"}]}]})
    return [
        legit("100,000-example dataset", "POST", f"{CREATE}?tunedModelId=probe-wide", as_json(wide)),
        legit("two-million-step model", "POST", f"{CREATE}?tunedModelId=probe-huge", as_json(huge)),
        *(legit(f"1,500-step model {i}", "POST", CREATE, listed) for i in range(20 if small else 200)),
        legit(
            "advance a million steps", "POST", "/_emulator/advance", as_json({"steps": 1_000_001}), admin=True
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
        return as_json(model(hyperparameters=values))

    too_many = hyper(epochCount=2**31 - 1, batchSize=1)
    candidates = as_json(
        {"contents": [{"parts": [{"text": "1"}]}], "generationConfig": {"candidateCount": 2**40}}
    )
    grant = as_json({"granteeType": "USER", "emailAddress": "a@x.com", "role": "\u00b2"})
    return [
        hostile("topK 2^40", "POST", CREATE, as_json(model(topK=2**40))),
        hostile("temperature 1e300", "POST", CREATE, as_json(model(temperature=1e300))),
        hostile("learningRate Infinity", "POST", CREATE, hyper(learningRate="Infinity")),
        hostile("epochCount 2^31", "POST", CREATE, hyper(epochCount=2**31)),
        hostile("too many steps", "POST", CREATE, too_many),
        hostile("int64 overflow", "POST", CREATE, as_json(model(readerProjectNumbers=["9" * 20]))),
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
        hostile("no credentials", "POST", CREATE, as_json(model()), expect=403, **no_key),
        hostile("admin reset, no token", "POST", "/_emulator/reset", expect=401, **no_key),
        hostile(
            "admin, wrong token",
            "POST",
            "/_emulator/callers",
            as_json({"token": "t"}),
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
            as_json({"stepSeconds": "Infinity"}),
            admin=True,
        ),
        hostile(
            "stepSeconds 1e300", "PATCH", "/_emulator/settings", as_json({"stepSeconds": 1e300}), admin=True
        ),
        hostile("advance 1e12 s", "POST", "/_emulator/advance", as_json({"seconds": 1e12}), admin=True),
        hostile("latencyMs 1e15", "POST", "/_emulator/faults", as_json({"latencyMs": 1e15}), admin=True),
        hostile("seed 1e300", "POST", "/_emulator/seed", as_json({"seed": 1e300}), admin=True),
        hostile("atPercent NaN", "POST", "/_emulator/failures", as_json({"atPercent": "NaN"}), admin=True),
        hostile(
            "pattern RE2 refuses", "POST", "/_emulator/failures", as_json({"match": "(a)\\1"}), admin=True
        ),
        legit(
            "backtracking pattern", "POST", "/_emulator/failures", as_json({"match": "^(a+)+$"}), admin=True
        ),
        legit("create matched against it", "POST", CREATE, as_json(model("a" * 39 + "!"))),
        legit("forget the pattern", "DELETE", "/_emulator/failures", admin=True),
    ]


def gemini_attacks(small: bool) -> list[Attack]:
    """The Gemini API's and the admin routes' attacks, in order (later ones use models the earlier
    ones created; the probe makes ``probe-small`` first)."""
    return [*_body_attacks(small), *_heavy_attacks(small), *_number_attacks(), *_access_attacks()]
