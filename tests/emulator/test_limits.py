"""Every number the API and the admin routes take is validated, and no model is too big to read."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from tests.emulator.conftest import Emu, assert_error, model_body

HUGE_EPOCHS = 133_334
"""With the seeds' 15 examples and batch size 1: 2,000,010 training steps."""


def _invalid_value(path: str, kind: str, shown: str) -> str:
    return f"Invalid value at '{path}' ({kind}), {shown}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"topK": 2**40}, _invalid_value("tuned_model.top_k", "TYPE_INT32", "1099511627776")),
        ({"topK": "-2147483649"}, _invalid_value("tuned_model.top_k", "TYPE_INT32", '"-2147483649"')),
        ({"temperature": 1e300}, _invalid_value("tuned_model.temperature", "TYPE_FLOAT", "1e+300")),
        (
            {"readerProjectNumbers": ["9" * 20]},
            _invalid_value("tuned_model.reader_project_numbers[0]", "TYPE_INT64", '"' + "9" * 20 + '"'),
        ),
    ],
)
def test_an_api_number_out_of_its_types_range_is_the_real_400(
    emu: Emu, extra: dict[str, Any], message: str
) -> None:
    response = emu.call("POST", "/v1beta/tunedModels", json=model_body("ranges", **extra))
    assert_error(response, 400, "INVALID_ARGUMENT", message)
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        (
            {"epochCount": 2**31},
            _invalid_value("tuned_model.tuning_task.hyperparameters.epoch_count", "TYPE_INT32", "2147483648"),
        ),
        (
            {"learningRate": 1e300},
            _invalid_value("tuned_model.tuning_task.hyperparameters.learning_rate", "TYPE_FLOAT", "1e+300"),
        ),
        (
            {"learningRate": "Infinity"},
            "tuning_task.hyperparameters.learning_rate must be positive and finite.",
        ),
        ({"learningRate": "NaN"}, "tuning_task.hyperparameters.learning_rate must be positive and finite."),
        (
            {"epochCount": 2**31 - 1, "batchSize": 1},
            "tuning_task would take 32212254705 steps (examples x epoch_count / batch_size); at most "
            "2147483647 are possible, as totalSteps is an int32.",
        ),
    ],
)
def test_hyperparameters_that_cannot_train_are_refused(
    emu: Emu, hyperparameters: dict[str, Any], message: str
) -> None:
    body = model_body("hyper", batch_size=None, epoch_count=None, learning_rate=None)
    body["tuningTask"]["hyperparameters"] = hyperparameters
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT", message)
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}


def test_a_candidate_count_beyond_int32_is_the_real_400(emu: Emu) -> None:
    model = emu.active_model(model_body("candidates"))
    body = {"contents": [{"parts": [{"text": "1"}]}], "generationConfig": {"candidateCount": 2**40}}
    response = emu.call("POST", f"/v1beta/{model['name']}:generateContent", json=body)
    message = _invalid_value("generation_config.candidate_count", "TYPE_INT32", "1099511627776")
    assert_error(response, 400, "INVALID_ARGUMENT", message)


def test_digits_that_int_refuses_are_a_400_or_ignored_never_a_500(emu: Emu) -> None:
    name = emu.create(model_body("digits"))["metadata"]["tunedModel"]
    perm = {"granteeType": "USER", "emailAddress": "a@example.com", "role": "²"}
    assert_error(emu.call("POST", f"/v1beta/{name}/permissions", json=perm), 400, "INVALID_ARGUMENT")
    stranger = {b"Authorization": b"Bearer stranger", b"x-goog-user-project": b"\xb2"}
    response = emu.http.get(f"/v1beta/{name}", headers=stranger)
    assert_error(response, 403, "PERMISSION_DENIED")


def test_a_model_with_two_million_steps_reads_in_constant_time_and_memory(emu: Emu) -> None:
    op = emu.create(model_body("huge", batch_size=1, epoch_count=HUGE_EPOCHS))
    assert op["metadata"]["totalSteps"] == 2_000_010
    emu.advance(steps=1_000_001)
    tracemalloc.start()
    try:
        model = emu.get_model(op["metadata"]["tunedModel"])
        polled = emu.get_operation(op["name"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert polled["metadata"]["completedSteps"] == 1_000_001
    steps = [s["step"] for s in model["tuningTask"]["snapshots"]]
    assert len(steps) == 1000
    assert steps[-1] == 1_000_001 and steps[0] > 1
    assert steps == sorted(set(steps))
    assert [s["step"] for s in polled["metadata"]["snapshots"]] == steps


def test_up_to_a_thousand_snapshots_every_step_is_listed(emu: Emu) -> None:
    op = emu.create(model_body("thousand", batch_size=1, epoch_count=100))
    emu.advance(steps=1000)
    snapshots = emu.get_operation(op["name"])["metadata"]["snapshots"]
    assert [s["step"] for s in snapshots] == list(range(1, 1001))


# --- admin numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("settings", {"stepSeconds": "Infinity"}),
        ("settings", {"stepSeconds": "nan"}),
        ("settings", {"stepSeconds": 1e300}),
        ("settings", {"stepSeconds": 0}),
        ("settings", {"seed": 1e300}),
        ("seed", {"seed": "9" * 30}),
        ("advance", {"seconds": 1e12}),
        ("advance", {"seconds": "inf"}),
        ("advance", {"steps": 10**15}),
        ("advance", {"seconds": -1}),
        ("faults", {"method": "*", "latencyMs": 1e15}),
        ("faults", {"method": "*", "count": 0}),
        ("faults", {"method": "*", "status": 429, "retryAfter": "Infinity"}),
        ("faults", {"method": "*", "rate": "nan"}),
        ("failures", {"match": "x", "atPercent": "nan"}),
    ],
)
def test_an_admin_number_out_of_range_is_a_400_and_changes_nothing(
    emu: Emu, path: str, body: dict[str, Any]
) -> None:
    before = emu.admin("GET", "settings").json()
    method = "PATCH" if path == "settings" else "POST"
    error = assert_error(emu.admin_request(method, path, body), 400, "INVALID_ARGUMENT")
    key = next(iter(body.keys() - {"method", "match", "status"}))
    assert key in error["message"] or "clock" in error["message"], error
    assert emu.admin("GET", "settings").json() == before
    assert emu.admin("GET", "faults").json() == {"faults": []}
    assert emu.admin("GET", "failures").json() == {"failures": []}
    created = emu.create(model_body("still fine"))
    assert emu.get_operation(created["name"])["metadata"]["totalSteps"] == 19


def test_the_clock_moves_up_to_year_9999_and_no_further(emu: Emu) -> None:
    now = emu.admin("GET", "clock").json()["now"]
    error = assert_error(emu.admin_request("POST", "advance", {"seconds": 1e12}), 400, "INVALID_ARGUMENT")
    assert error["message"].startswith("The clock cannot move past 9999-01-01T00:00:00Z")
    assert emu.admin("GET", "clock").json()["now"] == now


# --- forced-failure patterns ----------------------------------------------------------------------


def test_a_backtracking_failure_pattern_is_matched_in_linear_time(emu: Emu) -> None:
    emu.admin("POST", "failures", {"match": "^(a+)+$", "atPercent": 0, "message": "never"})
    # Both test clients time out after 10 s; Python's re would backtrack for hours on this name.
    created = emu.call("POST", "/v1beta/tunedModels", json=model_body("a" * 39 + "!"))
    assert created.status_code == 200, created.text
    emu.advance(steps=1)
    assert "done" not in emu.get_operation(created.json()["name"])
    matched = emu.create(model_body("a" * 40))
    emu.advance(steps=1)
    assert emu.get_operation(matched["name"])["error"]["message"] == "never"


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?<=x)y", "a" * 257])
def test_a_failure_pattern_re2_cannot_run_or_too_long_is_a_400(emu: Emu, pattern: str) -> None:
    error = assert_error(emu.admin_request("POST", "failures", {"match": pattern}), 400, "INVALID_ARGUMENT")
    assert error["message"].startswith(
        ("match is not a valid RE2 regular expression: ", "match must be at most 256")
    )
    assert emu.admin("GET", "failures").json() == {"failures": []}
