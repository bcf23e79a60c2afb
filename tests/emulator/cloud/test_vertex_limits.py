"""Vertex AI under hostile input: bodies over 1 MiB, too deep or with lone surrogates, numbers out
of their type's range, hostile dataset lines, traffic splits and version references; nothing
answers 500 and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.emulator.cloud.conftest import (
    BUCKET,
    NUMBER_LINES,
    Cloud,
    assert_vertex_error,
    contents_line,
    jsonl,
)
from tuned_models_emulator.vertex import dataset

MIB = 1024 * 1024


def _create(cloud: Cloud, content: bytes) -> tuple[int, str]:
    """POST a raw CreateTuningJob body; (status, message)."""
    response = cloud.call(
        "POST",
        f"{cloud.parent()}/tuningJobs",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    if response.status_code == 200:
        return 200, ""
    return response.status_code, assert_vertex_error(response, response.status_code, "INVALID_ARGUMENT")


def _no_job(cloud: Cloud) -> None:
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/tuningJobs")) == {}


def _body(cloud: Cloud, **hyper: Any) -> dict[str, Any]:
    body = cloud.job_body(cloud.dataset())
    body["supervisedTuningSpec"]["hyperParameters"].update(hyper)
    return body


def test_a_create_body_over_1_mib_is_413(cloud: Cloud) -> None:
    body = json.dumps(cloud.job_body(cloud.dataset(), description="d" * MIB)).encode()
    assert _create(cloud, body) == (413, f"Request payload size exceeds the limit: {MIB} bytes.")
    _no_job(cloud)


HOSTILE_BODIES = {
    "nested labels": (b'"labels": ' + b"[" * 200 + b"]" * 200, "Message too deep"),
    "surrogate display name": (b'"tunedModelDisplayName": "\\ud800"', "Missing low surrogate"),
    "surrogate label value": (b'"labels": {"team": "\\udc00"}', "Invalid unicode code point"),
    "int64 overflow": (
        b'"supervisedTuningSpec": {"hyperParameters": {"epochCount": "99999999999999999999"}}',
        None,
    ),
    "multiplier beyond a double": (
        b'"supervisedTuningSpec": {"hyperParameters": {"learningRateMultiplier": 1e400}}',
        None,
    ),
    "adapter size 2^40": (
        b'"supervisedTuningSpec": {"hyperParameters": {"adapterSize": 1099511627776}}',
        None,
    ),
    "a million commas": (b'"labels": [' + b"," * 1_000_001 + b"]", "Too many values"),
}


@pytest.mark.parametrize("member", [v[0] for v in HOSTILE_BODIES.values()], ids=list(HOSTILE_BODIES))
def test_hostile_create_bodies_are_400(cloud: Cloud, member: bytes) -> None:
    cloud.dataset()
    status, message = _create(cloud, b'{"baseModel": "gemini-2.5-flash", ' + member + b"}")
    assert status == 400, message
    expected = next(v[1] for v in HOSTILE_BODIES.values() if v[0] == member)
    if expected is not None:
        assert expected in message
    else:
        assert message.startswith("Invalid value at 'tuning_job.supervised_tuning_spec.hyper_parameters."), (
            message
        )
    _no_job(cloud)


@pytest.mark.parametrize(
    ("hyper", "message"),
    [
        (
            {"learningRateMultiplier": "Infinity"},
            "hyper_parameters.learning_rate_multiplier must be positive.",
        ),
        ({"learningRateMultiplier": "NaN"}, "hyper_parameters.learning_rate_multiplier must be positive."),
        (
            {"epochCount": 2**40},
            "hyper_parameters.epoch_count: 1099511627776 epochs are more steps than the emulator runs "
            "(at most 2147483647).",
        ),
        (
            {"epochCount": 2**30},
            "hyper_parameters.epoch_count: 1073741824 epochs of 2 steps are 2147483648 steps; the emulator "
            "runs at most 2147483647.",
        ),
    ],
)
def test_numbers_out_of_bounds_are_400(cloud: Cloud, hyper: dict[str, Any], message: str) -> None:
    response = cloud.call("POST", f"{cloud.parent()}/tuningJobs", json=_body(cloud, **hyper))
    assert assert_vertex_error(response, 400, "INVALID_ARGUMENT") == message
    _no_job(cloud)


def test_a_job_that_would_end_after_the_clock_is_400(cloud: Cloud) -> None:
    cloud.emu.admin("PATCH", "settings", {"stepSeconds": 86_400})
    response = cloud.call("POST", f"{cloud.parent()}/tuningJobs", json=_body(cloud, epochCount=10**7))
    message = assert_vertex_error(response, 400, "INVALID_ARGUMENT")
    assert message.startswith("The job would end after 9999-01-01T00:00:00Z")
    _no_job(cloud)
    assert cloud.ok(cloud.call("POST", f"{cloud.parent()}/tuningJobs", json=_body(cloud, epochCount=10**5)))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"contents": ' + b"[" * 200 + b"]" * 200 + b"}", "the line is not valid JSON (Message too deep."),
        (b'{"contents": [], "n": ' + b"9" * 5000 + b"}", "the line is not valid JSON (Exceeds the limit"),
        (
            b'{"contents": [{"role": "user", "parts": [{"text": "\\ud800"}]}]}',
            "the line is not valid JSON (Missing low surrogate.)",
        ),
        (b'{"contents": "' + b"x" * (8 * MIB + 1) + b'"}', "the line is longer than 8388608 bytes"),
    ],
    ids=["nested", "5000 digits", "surrogate", "9 MiB line"],
)
def test_hostile_dataset_lines_are_400(cloud: Cloud, line: bytes, problem: str) -> None:
    cloud.bucket()
    assert cloud.upload("bad.jsonl", jsonl(NUMBER_LINES[:2]) + line + b"\n").status_code == 200
    uri = f"gs://{BUCKET}/bad.jsonl"
    response = cloud.call("POST", f"{cloud.parent()}/tuningJobs", json=cloud.job_body(uri))
    message = assert_vertex_error(response, 400, "INVALID_ARGUMENT")
    assert message.startswith(f"Invalid dataset {uri}: line 3: {problem}"), message
    _no_job(cloud)


def test_a_dataset_without_a_newline_longer_than_a_line_is_400(cloud: Cloud) -> None:
    cloud.bucket()
    assert cloud.upload("one.jsonl", b" " * (8 * MIB + 2)).status_code == 200
    uri = f"gs://{BUCKET}/one.jsonl"
    response = cloud.call("POST", f"{cloud.parent()}/tuningJobs", json=cloud.job_body(uri))
    message = assert_vertex_error(response, 400, "INVALID_ARGUMENT")
    assert message == f"Invalid dataset {uri}: line 1: the line is longer than 8388608 bytes."


def pairs_of(stats: dataset.DatasetStats) -> list[dict[str, str]]:
    """The pairs a dataset kept, every chunk of them in order."""
    return [pair for chunk in stats.chunks() for pair in json.loads("[" + chunk + "]")]


def test_the_pairs_kept_for_generation_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset, "MAX_PAIR_CHARS", 10)
    stats = dataset.read_dataset("gs://b/o", [jsonl(NUMBER_LINES)], keep_pairs=True)
    assert stats.example_count == len(NUMBER_LINES)
    pairs = pairs_of(stats)
    assert 0 < len(pairs) == stats.pair_count < len(NUMBER_LINES)
    assert stats.pair_chars == sum(len(p["textInput"]) + len(p["output"]) for p in pairs) >= 10
    assert sum(len(p["textInput"]) + len(p["output"]) for p in pairs[:-1]) < 10


@pytest.mark.parametrize(
    "split",
    [{"x": "abc"}, {"x": 1.5}, {"x": 150, "y": -50}, {"x": 2**40}, {"x": [1]}],
    ids=["text", "fraction", "negative", "2^40", "list"],
)
def test_a_traffic_split_holds_percentages(cloud: Cloud, split: dict[str, Any]) -> None:
    job = cloud.tuned()
    endpoint = job["tunedModel"]["endpoint"]
    deployed = cloud.get(endpoint)["deployedModels"][0]["id"]
    body = {"deployedModelId": deployed, "trafficSplit": split}
    response = cloud.call("POST", f"/v1/{endpoint}:undeployModel", json=body)
    assert_vertex_error(response, 400, "INVALID_ARGUMENT")
    assert cloud.get(endpoint)["deployedModels"][0]["id"] == deployed


def test_version_references_are_ascii_numbers_or_aliases(cloud: Cloud) -> None:
    job = cloud.tuned()
    model = job["tunedModel"]["model"].rsplit("@", 1)[0]
    assert_vertex_error(cloud.call("GET", f"/v1/{model}@\u00b2"), 404, "NOT_FOUND")
    assert_vertex_error(cloud.call("GET", f"/v1/{model}@{'9' * 30}"), 404, "NOT_FOUND")
    deleted = cloud.call("DELETE", f"/v1/{model}@\u00b2:deleteVersion")
    assert_vertex_error(deleted, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("value", ["Infinity", 1e300, -1, True, "NaN", 86_401])
def test_operation_seconds_are_bounded(cloud: Cloud, value: Any) -> None:
    response = cloud.emu.admin_request("PATCH", "vertex", {"operationSeconds": value})
    assert response.status_code == 400, response.text
    assert cloud.emu.admin("GET", "vertex").json() == {"operationSeconds": 0.0}
    assert cloud.emu.admin("PATCH", "vertex", {"operationSeconds": 86_400}).json() == {
        "operationSeconds": 86_400.0
    }


def test_jobs_settle_after_the_clock_passes_2262(cloud: Cloud) -> None:
    # Nanoseconds past 2262-04-11 do not fit an SQLite integer; the emulator's clock goes to 9999.
    job = cloud.create_job()
    cloud.emu.advance(seconds=300 * 365 * 86_400)
    done = cloud.get(job["name"])
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert done["endTime"] < "2030"
    assert cloud.get(done["tunedModel"]["model"])["versionId"] == "1"


def test_the_pairs_kept_are_every_model_turn_in_order() -> None:
    lines = [contents_line(f"q{i}", f"a{i}") for i in range(10_000)]
    stats = dataset.read_dataset("gs://b/o", [jsonl(lines)], keep_pairs=True)
    pairs = pairs_of(stats)
    assert pairs == [{"textInput": f"q{i}", "output": f"a{i}"} for i in range(10_000)]
    assert dataset.read_dataset("gs://b/o", [jsonl(lines)], keep_pairs=False).chunks() == []
