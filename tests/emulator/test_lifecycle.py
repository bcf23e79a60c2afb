"""Training lifecycle: CREATING -> ACTIVE | FAILED on the manual clock, operations, cancel, delete,
and inference on tuned models."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import (
    RFC3339,
    STEP_SECONDS,
    TUNED_MODEL_TYPE,
    Emu,
    assert_error,
    expected_epoch,
    model_body,
    model_id,
)


def _generate(emu: Emu, name: str, text: str, *, version: str = "v1beta") -> Any:
    return emu.call(
        "POST",
        f"/{version}/{name}:generateContent",
        json={"contents": [{"parts": [{"text": text}]}]},
    )


def test_new_model_is_listed_at_once_in_creating(emu: Emu) -> None:
    op = emu.create(model_body("fresh"))
    listed = emu.call("GET", "/v1beta/tunedModels").json()["tunedModels"]
    assert [(m["name"], m["state"]) for m in listed] == [(op["metadata"]["tunedModel"], "CREATING")]


def test_operation_before_first_step_has_no_progress_and_is_not_done(emu: Emu) -> None:
    op = emu.create(model_body("idle", batch_size=2))
    polled = emu.get_operation(op["name"])
    assert "done" not in polled
    assert "response" not in polled
    assert "error" not in polled
    assert "completedSteps" not in polled["metadata"]
    assert "snapshots" not in polled["metadata"]
    assert polled["metadata"]["totalSteps"] == 38


def test_manual_advance_by_steps_completes_exactly_that_many_steps(emu: Emu) -> None:
    op = emu.create(model_body("stepper", batch_size=2))
    emu.advance(steps=1)
    first = emu.get_operation(op["name"])
    meta = first["metadata"]
    assert meta["completedSteps"] == 1
    assert meta["completedPercent"] == pytest.approx(100 / 38, rel=1e-4)
    assert len(meta["snapshots"]) == 1
    step1 = meta["snapshots"][0]
    assert step1["step"] == 1
    assert "epoch" not in step1  # floor(1 * 2 / 15) == 0 is omitted, as recorded
    assert isinstance(step1["meanLoss"], float)
    assert RFC3339.match(step1["computeTime"])
    assert "done" not in first

    emu.advance(steps=7)
    eighth = emu.get_operation(op["name"])["metadata"]
    assert eighth["completedSteps"] == 8
    assert eighth["completedPercent"] == pytest.approx(800 / 38, rel=1e-4)
    assert [s["step"] for s in eighth["snapshots"]] == list(range(1, 9))
    assert eighth["snapshots"][-1]["epoch"] == 1
    assert "epoch" not in eighth["snapshots"][6]
    assert eighth["snapshots"][0] == step1

    model = emu.get_model(op["metadata"]["tunedModel"])
    assert model["state"] == "CREATING"
    assert model["tuningTask"]["snapshots"] == eighth["snapshots"]


def test_manual_advance_by_seconds_counts_whole_steps(emu: Emu) -> None:
    op = emu.create(model_body("seconds", batch_size=2))
    emu.advance(seconds=2.5 * STEP_SECONDS)
    assert emu.get_operation(op["name"])["metadata"]["completedSteps"] == 2


def test_manual_clock_freezes_progress(emu: Emu) -> None:
    op = emu.create(model_body("frozen", batch_size=2))
    emu.advance(steps=3)
    first = emu.get_operation(op["name"])
    again = emu.get_operation(op["name"])
    assert first == again
    assert first["metadata"]["completedSteps"] == 3


def test_settings_step_seconds_applies_to_models_created_afterwards(emu: Emu) -> None:
    before = emu.admin("GET", "settings").json()
    assert before["stepSeconds"] == STEP_SECONDS
    try:
        changed = emu.admin_request("PATCH", "settings", {"stepSeconds": 5.0})
        assert changed.status_code == 200, changed.text
        assert emu.admin("GET", "settings").json()["stepSeconds"] == 5.0
        op = emu.create(model_body("slow", batch_size=2))
        emu.advance(seconds=12.5)
        assert emu.get_operation(op["name"])["metadata"]["completedSteps"] == 2
    finally:
        emu.admin_request("PATCH", "settings", {"stepSeconds": STEP_SECONDS})


def test_training_ends_active_with_done_operation_and_response(emu: Emu) -> None:
    op = emu.create(model_body("finisher", batch_size=2))
    name = op["metadata"]["tunedModel"]
    emu.advance(steps=38)
    done = emu.get_operation(op["name"])
    assert done["done"] is True
    assert "error" not in done
    assert done["name"] == op["name"]
    meta = done["metadata"]
    assert meta["completedSteps"] == meta["totalSteps"] == 38
    assert meta["completedPercent"] == 100
    assert meta["tunedModel"] == name
    assert [s["step"] for s in meta["snapshots"]] == list(range(1, 39))
    for snapshot in meta["snapshots"]:
        epoch = expected_epoch(snapshot["step"], examples=15, epochs=5, batch=2)
        assert snapshot.get("epoch") == (epoch or None), snapshot
    compute_times = [s["computeTime"] for s in meta["snapshots"]]
    assert compute_times == sorted(compute_times)

    response = done["response"]
    assert response["@type"] == TUNED_MODEL_TYPE
    model = emu.get_model(name)
    assert model["state"] == "ACTIVE"
    assert RFC3339.match(model["tuningTask"]["completeTime"])
    assert model["tuningTask"]["completeTime"] >= model["tuningTask"]["startTime"]
    assert len(model["tuningTask"]["snapshots"]) == 38
    assert {k: v for k, v in response.items() if k != "@type"} == model


def test_operation_reads_the_same_under_v1_and_v1beta(emu: Emu) -> None:
    op = emu.create()
    emu.advance(steps=4)
    assert emu.get_operation(op["name"], version="v1") == emu.get_operation(op["name"], version="v1beta")


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_list_operations_of_a_model(emu: Emu, version: str) -> None:
    op = emu.create()
    name = op["metadata"]["tunedModel"]
    response = emu.call("GET", f"/{version}/{name}/operations")
    assert response.status_code == 200, response.text
    operations = response.json()["operations"]
    assert [o["name"] for o in operations] == [op["name"]]
    assert operations[0]["metadata"]["tunedModel"] == name


def test_cancel_operation_ends_it_cancelled(emu: Emu) -> None:
    op = emu.create(model_body("cancelled", batch_size=2))
    emu.advance(steps=3)
    response = emu.call("POST", f"/v1/{op['name']}:cancel", json={})
    assert response.status_code == 200, response.text
    assert response.json() == {}

    emu.advance(steps=50)
    cancelled = emu.get_operation(op["name"])
    assert cancelled["done"] is True
    assert "response" not in cancelled
    assert cancelled["error"]["code"] == 1  # google.rpc.Code.CANCELLED
    assert cancelled["metadata"]["completedSteps"] < 38
    model = emu.get_model(op["metadata"]["tunedModel"])
    assert model["state"] != "CREATING"


def test_cancel_has_no_v1beta_binding(emu: Emu) -> None:
    op = emu.create()
    response = emu.call("POST", f"/v1beta/{op['name']}:cancel", json={})
    assert_error(response, 404, "NOT_FOUND")
    assert "done" not in emu.get_operation(op["name"])


def test_cancel_missing_operation_is_not_found(emu: Emu) -> None:
    op = emu.create()
    name = op["metadata"]["tunedModel"]
    response = emu.call("POST", f"/v1/{name}/operations/zzzzzzzzzzzz:cancel", json={})
    assert_error(response, 404, "NOT_FOUND")


def test_forced_failure_ends_failed_with_operation_error(emu: Emu) -> None:
    emu.admin(
        "POST",
        "failures",
        {"match": "doomed", "atPercent": 50, "message": "Tuning failed: doomed by the test."},
    )
    doomed = emu.create(model_body("doomed model", batch_size=2))
    healthy = emu.create(model_body("healthy model", batch_size=2))
    emu.advance(steps=40)

    failed_op = emu.get_operation(doomed["name"])
    assert failed_op["done"] is True
    assert "response" not in failed_op
    assert failed_op["error"]["message"] == "Tuning failed: doomed by the test."
    assert isinstance(failed_op["error"]["code"], int)
    assert failed_op["error"]["code"] != 0
    assert failed_op["metadata"]["completedSteps"] <= 19
    failed = emu.get_model(doomed["metadata"]["tunedModel"])
    assert failed["state"] == "FAILED"

    assert emu.get_model(healthy["metadata"]["tunedModel"])["state"] == "ACTIVE"


def test_forced_failure_matches_model_id(emu: Emu) -> None:
    emu.admin("POST", "failures", {"match": "^bad-", "atPercent": 0, "message": "no"})
    op = emu.create(model_body("innocent"), tuned_model_id="bad-model")
    emu.advance(steps=40)
    assert emu.get_model(op["metadata"]["tunedModel"])["state"] == "FAILED"
    assert emu.get_operation(op["name"])["error"]["message"] == "no"


def test_forced_failure_applies_only_to_models_created_afterwards(emu: Emu) -> None:
    op = emu.create(model_body("late doomed"))
    emu.admin("POST", "failures", {"match": "doomed", "atPercent": 10, "message": "late"})
    emu.advance(steps=40)
    assert emu.get_model(op["metadata"]["tunedModel"])["state"] == "ACTIVE"


@pytest.mark.parametrize("state", ["CREATING", "ACTIVE", "FAILED"])
def test_delete_works_in_any_state(emu: Emu, state: str) -> None:
    if state == "FAILED":
        emu.admin("POST", "failures", {"match": "to-delete", "atPercent": 0, "message": "x"})
    op = emu.create(model_body("to delete"), tuned_model_id="to-delete")
    if state != "CREATING":
        emu.advance(steps=40)
    name = op["metadata"]["tunedModel"]
    assert emu.get_model(name)["state"] == state
    response = emu.call("DELETE", f"/v1beta/{name}")
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert_error(emu.call("GET", f"/v1beta/{name}"), 404, "NOT_FOUND", f"Tuned model {name} does not exist.")
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}


def test_deleted_id_can_be_reused(emu: Emu) -> None:
    emu.create(tuned_model_id="reused")
    assert emu.call("DELETE", "/v1beta/tunedModels/reused").status_code == 200
    op = emu.create(model_body("second life"), tuned_model_id="reused")
    assert emu.get_model(op["metadata"]["tunedModel"])["displayName"] == "second life"


# --- inference ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [("twenty two", "twenty three"), ("ninety nine", "one hundred"), ("twenty two please", "twenty three")],
)
def test_generate_content_answers_with_most_similar_training_example(
    emu: Emu, prompt: str, expected: str
) -> None:
    name = emu.active_model()["name"]
    response = _generate(emu, name, prompt)
    assert response.status_code == 200, response.text
    body = response.json()
    candidate = body["candidates"][0]
    assert candidate["content"] == {"parts": [{"text": expected}], "role": "model"}
    assert candidate["finishReason"] == "STOP"


def test_generate_content_under_v1(emu: Emu) -> None:
    name = emu.active_model()["name"]
    response = _generate(emu, name, "eighty", version="v1")
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "eighty one"


def test_generate_content_on_creating_model_is_failed_precondition(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    assert_error(_generate(emu, name, "1"), 400, "FAILED_PRECONDITION")


def test_generate_content_on_failed_model_is_failed_precondition(emu: Emu) -> None:
    emu.admin("POST", "failures", {"match": "broken", "atPercent": 0, "message": "x"})
    op = emu.create(model_body("broken"))
    emu.advance(steps=40)
    name = op["metadata"]["tunedModel"]
    assert emu.get_model(name)["state"] == "FAILED"
    assert_error(_generate(emu, name, "1"), 400, "FAILED_PRECONDITION")


def test_generate_text_on_palm_model_returns_candidate_outputs(emu: Emu) -> None:
    op = emu.create(model_body("palm", base_model="models/text-bison-001"), version="v1beta3")
    emu.advance(steps=40)
    name = op["metadata"]["tunedModel"]
    response = emu.call("POST", f"/v1beta3/{name}:generateText", json={"prompt": {"text": "seven"}})
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["output"] == "eight"


def test_generate_text_on_creating_model_is_failed_precondition(emu: Emu) -> None:
    op = emu.create(model_body("palm", base_model="models/text-bison-001"), version="v1beta3")
    name = op["metadata"]["tunedModel"]
    response = emu.call("POST", f"/v1beta3/{name}:generateText", json={"prompt": {"text": "1"}})
    assert_error(response, 400, "FAILED_PRECONDITION")
    assert model_id(name).startswith("palm-")
