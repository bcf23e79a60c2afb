"""Hostile request bodies get the real 400 or 413 and change nothing: lone surrogates, deep
nesting, oversized bodies, lenient JSON beyond its bound."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.emulator.conftest import EXAMPLES, Emu, assert_error, model_body
from tuned_models_emulator import codec


def _create_raw(emu: Emu, content: bytes) -> Any:
    return emu.call("POST", "/v1beta/tunedModels", content=content)


def _names(emu: Emu) -> list[str]:
    listed = emu.call("GET", "/v1beta/tunedModels")
    assert listed.status_code == 200, listed.text
    return [m["name"] for m in listed.json().get("tunedModels", [])]


@pytest.mark.parametrize(
    ("field", "escape", "reason"),
    [
        ("displayName", "\\ud800", "Missing low surrogate."),
        ("description", "x\\udbff", "Missing low surrogate."),
        ("description", "\\udc00y", "Invalid unicode code point."),
    ],
)
def test_a_lone_surrogate_in_a_string_field_is_the_real_400(
    emu: Emu, field: str, escape: str, reason: str
) -> None:
    body = json.dumps(model_body("surrogate")).replace('"displayName": "surrogate"', f'"{field}": "{escape}"')
    assert escape in body
    error = assert_error(_create_raw(emu, body.encode()), 400, "INVALID_ARGUMENT")
    assert error["message"] == f"Invalid JSON payload received. {reason}"
    assert _names(emu) == []


def test_a_lone_surrogate_anywhere_is_refused_and_a_valid_pair_is_kept(emu: Emu) -> None:
    name = emu.create(model_body("pairs"))["metadata"]["tunedModel"]
    lone = b'{"granteeType": "USER", "emailAddress": "a\\ud83d@example.com", "role": "READER"}'
    assert_error(emu.call("POST", f"/v1beta/{name}/permissions", content=lone), 400, "INVALID_ARGUMENT")
    patched = emu.call(
        "PATCH",
        f"/v1beta/{name}",
        content=b'{"description": "smile \\ud83d\\ude00"}',
        params={"updateMask": "description"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "smile \U0001f600"
    assert emu.get_model(name)["description"] == "smile \U0001f600"
    assert len(emu.call("GET", f"/v1beta/{name}/permissions").json()["permissions"]) == 1


def test_deeply_nested_json_is_the_real_400_not_a_500(emu: Emu) -> None:
    for depth in (101, 5_000, 200_000):
        content = b'{"contents": ' + b"[" * depth + b"]" * depth + b"}"
        error = assert_error(_create_raw(emu, content), 400, "INVALID_ARGUMENT")
        assert error["message"].startswith("Invalid JSON payload received. Message too deep."), error
    nested: dict[str, Any] = {"a": {"b": 1}}
    for _ in range(120):
        nested = {"x": nested}
    response = emu.admin_request("POST", "failures", nested)
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert emu.admin("GET", "failures").json() == {"failures": []}


def test_nesting_at_the_limit_is_accepted(emu: Emu) -> None:
    model = emu.active_model(model_body("nest"))
    contents: Any = [{"parts": [{"text": "1"}]}]
    generation_config: Any = {"candidateCount": 1}
    deep: Any = "leaf"
    for _ in range(codec.MAX_DEPTH - 3):
        deep = [deep]
    body = {"contents": contents, "generationConfig": generation_config, "safetySettings": deep}
    response = emu.call("POST", f"/v1beta/{model['name']}:generateContent", json=body)
    assert response.status_code == 200, response.text


def test_a_create_body_over_4_mib_is_413_and_creates_nothing(emu: Emu) -> None:
    filler = [{"textInput": "x" * 30_000, "output": "y"} for _ in range(150)]
    content = json.dumps(model_body("too big", examples=filler)).encode()
    assert len(content) > 4 * 1024 * 1024
    response = _create_raw(emu, content)
    error = assert_error(response, 413, "INVALID_ARGUMENT")
    assert error["message"] == "Request payload size exceeds the limit: 4194304 bytes."
    assert _names(emu) == []
    journal = emu.admin("GET", "journal").json()["requests"]
    assert [(e["rpc"], e["status"]) for e in journal][:1] == [("CreateTunedModel", 413)]


def test_a_large_valid_create_body_under_the_limit_is_accepted(emu: Emu) -> None:
    examples = [{"textInput": f"{i} " + "x" * 30_000, "output": str(i)} for i in range(120)]
    op = emu.create(model_body("big but fine", examples=examples, batch_size=8, epoch_count=1))
    assert op["metadata"]["totalSteps"] == 15


def test_other_rpcs_take_at_most_1_mib_and_admin_routes_64_kib(emu: Emu) -> None:
    name = emu.create(model_body("small bodies"))["metadata"]["tunedModel"]
    big = json.dumps({"description": "d" * (1024 * 1024)}).encode()
    response = emu.call("PATCH", f"/v1beta/{name}", content=big, params={"updateMask": "description"})
    assert_error(response, 413, "INVALID_ARGUMENT", "Request payload size exceeds the limit: 1048576 bytes.")
    assert "description" not in emu.get_model(name)
    admin = emu.admin_request("POST", "failures", {"match": "x", "message": "m" * 70_000})
    assert_error(admin, 413, "INVALID_ARGUMENT", "Request payload size exceeds the limit: 65536 bytes.")


@pytest.mark.parametrize(
    "examples",
    [
        [{"textInput": str(i), "output": "z" * 100} for i in range(200)],
        [{"textInput": str(i), "output": "z"} for i in range(1_500)],
    ],
    ids=["over-16-kib", "over-4000-values"],
)
def test_lenient_json_is_read_only_in_small_bodies(emu: Emu, examples: list[dict[str, str]]) -> None:
    lenient = json.dumps(model_body("lenient", examples=examples))[:-1] + ",}"
    assert len(lenient) > codec.JSON5_LIMIT or lenient.count(",") > codec.JSON5_VALUES
    error = assert_error(_create_raw(emu, lenient.encode()), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Invalid JSON payload received. Unexpected token."
    assert _create_raw(emu, lenient[:-2].encode() + b"}").status_code == 200
    small = json.dumps(model_body("lenient small"))[:-1] + ",}"
    assert _create_raw(emu, small.encode()).status_code == 200


def test_a_body_with_many_values_reads_the_same_through_the_slower_parser(
    emu: Emu, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = model_body("many values", examples=EXAMPLES * 20)
    fast = emu.create(body, tuned_model_id="fast-path")
    monkeypatch.setattr(codec, "FAST_DECODE_LIMIT", 10)
    slow = emu.create(body, tuned_model_id="slow-path")
    assert slow["metadata"]["totalSteps"] == fast["metadata"]["totalSteps"] == 375
    emu.advance(steps=380)
    prompt = {"contents": [{"parts": [{"text": "seven"}]}]}
    answers = [
        emu.call("POST", f"/v1beta/tunedModels/{i}:generateContent", json=prompt).json()
        for i in ("fast-path", "slow-path")
    ]
    assert answers[0] == answers[1]
    assert answers[0]["candidates"][0]["content"]["parts"][0]["text"] == "eight"


def test_a_body_of_a_million_values_is_refused_before_it_is_decoded(emu: Emu) -> None:
    values = b"{}," * (codec.MAX_VALUES // 2)
    content = b'{"tuningTask": {"trainingData": {"examples": {"examples": [' + values + b"{}]}}}}"
    assert len(content) < 4 * 1024 * 1024
    error = assert_error(_create_raw(emu, content), 400, "INVALID_ARGUMENT")
    assert error["message"] == (
        "Invalid JSON payload received. Too many values: "
        "more than 1000000 commas, colons and opening brackets."
    )
    assert _names(emu) == []
