"""TunedModel through the real provider server, played the way the engine plays it."""

from __future__ import annotations

import json
import math
import os
import re
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.support.engine import TUNED_MODEL, Emulator, config_for, inputs
from tests.support.harness import MiniEngine, ProviderProcess, wait_until
from tuned_models.model.datasets import examples_digest, read_examples
from tuned_models.model.spec import Example


def test_preview_of_a_new_model_only_checks(engine: MiniEngine, emu: Emulator) -> None:
    step = engine.preview("numbers", TUNED_MODEL, inputs(engine.stack))
    assert step.op == "create"
    assert engine.calls == ["Check"]
    assert emu.journal("CreateTunedModel") == []


def test_create_waits_for_active_and_outputs_what_the_service_returned(
    engine: MiniEngine, emu: Emulator, provider_process: ProviderProcess
) -> None:
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack)).op == "create"
    outs = engine.outputs("numbers", TUNED_MODEL)
    live = emu.api("GET", f"/v1beta/{outs['name']}").json()
    assert outs["state"] == "ACTIVE" == live["state"]
    assert outs["tunedModelId"].startswith("numbers-")
    assert outs["totalSteps"] == math.ceil(15 * 5 / 4)
    assert outs["hyperparameters"] == {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}
    assert outs["finalMeanLoss"] == live["tuningTask"]["snapshots"][-1]["meanLoss"]
    assert outs["createTime"] == live["createTime"]
    assert outs["tuningCompleteTime"] == live["tuningTask"]["completeTime"]
    assert outs["exampleCount"] == 15
    assert outs["temperature"] == live["temperature"]
    assert "examples" not in outs and "__provider" in outs
    assert any("training" in line and "step 19/19" in line for line in provider_process.stderr)


def test_up_with_no_change_is_a_same_step(engine: MiniEngine, emu: Emulator) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    # Pulumi sends every number as a float and may reorder keys: still no change.
    again = json.loads(json.dumps(inputs(engine.stack)), parse_int=float)
    assert engine.up("numbers", TUNED_MODEL, again).op == "same"
    assert len(emu.journal("CreateTunedModel")) == 1
    assert emu.journal("UpdateTunedModel") == []


def test_description_change_is_patched_in_place_with_exact_update_mask(
    engine: MiniEngine, emu: Emulator
) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    before = engine.outputs("numbers", TUNED_MODEL)
    step = engine.up("numbers", TUNED_MODEL, inputs(engine.stack, description="Counts up", temperature=0.3))
    assert step.op == "update"
    after = engine.outputs("numbers", TUNED_MODEL)
    assert after["name"] == before["name"]
    assert after["description"] == "Counts up"
    assert after["finalMeanLoss"] == before["finalMeanLoss"]  # computed outputs kept
    live = emu.api("GET", f"/v1beta/{after['name']}").json()
    assert live["description"] == "Counts up" and live["temperature"] == pytest.approx(0.3)
    patches = emu.journal("UpdateTunedModel")
    assert len(patches) == 1
    assert set(patches[0]["query"]["updateMask"].split(",")) == {"description", "temperature"}
    assert len(emu.journal("CreateTunedModel")) == 1


def test_hyperparameter_change_retrains_create_before_delete(engine: MiniEngine, emu: Emulator) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    old = engine.outputs("numbers", TUNED_MODEL)
    changed = inputs(engine.stack, hyperparameters={"epochCount": 3, "batchSize": 4, "learningRate": 0.001})
    assert engine.preview("numbers", TUNED_MODEL, changed).op == "replace"
    assert engine.up("numbers", TUNED_MODEL, changed).op == "replace-cbd"
    new = engine.outputs("numbers", TUNED_MODEL)
    assert new["name"] != old["name"] and new["state"] == "ACTIVE"
    assert new["totalSteps"] == math.ceil(15 * 3 / 4)
    assert emu.api("GET", f"/v1beta/{old['name']}").status_code == 404
    assert [m["name"] for m in emu.models()] == [new["name"]]


def test_refresh_after_out_of_band_delete_removes_it_and_next_up_recreates(
    engine: MiniEngine, emu: Emulator
) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    name = engine.outputs("numbers", TUNED_MODEL)["name"]
    assert emu.api("DELETE", f"/v1beta/{name}").status_code == 200
    assert engine.refresh("numbers", TUNED_MODEL).op == "deleted"
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack)).op == "create"
    assert emu.api("GET", f"/v1beta/{name}").json()["state"] == "ACTIVE"


def test_refresh_shows_drift_and_the_next_up_patches_it_back(engine: MiniEngine, emu: Emulator) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    name = engine.outputs("numbers", TUNED_MODEL)["name"]
    r = emu.api("PATCH", f"/v1beta/{name}?updateMask=description", {"description": "edited by hand"})
    assert r.status_code == 200, r.text
    assert engine.refresh("numbers", TUNED_MODEL).op == "refreshed"
    assert engine.outputs("numbers", TUNED_MODEL)["description"] == "edited by hand"
    assert engine.preview("numbers", TUNED_MODEL, inputs(engine.stack)).op == "update"
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack)).op == "update"
    assert emu.api("GET", f"/v1beta/{name}").json()["description"] == "Next number in a sequence"


def test_destroy_deletes_the_model_and_a_second_delete_is_success(engine: MiniEngine, emu: Emulator) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    snapshot = dict(engine.state[engine.urn("numbers", TUNED_MODEL)])
    engine.destroy("numbers", TUNED_MODEL)
    assert emu.models() == []
    engine.delete(engine.urn("numbers", TUNED_MODEL), snapshot)  # 404 counts as success


def test_failed_tuning_raises_the_service_message_and_the_next_up_retrains(
    engine: MiniEngine, emu: Emulator, provider_process: ProviderProcess
) -> None:
    """Issue 12.3: a training that FAILED during up is not in state; the next up deletes that
    attempt (the same deterministic id, so certainly its own) and trains again."""
    emu.admin(
        "POST",
        "failures",
        {"match": "numbers", "atPercent": 50, "message": "Training diverged: loss is NaN."},
    )
    with pytest.raises(grpc.RpcError) as err:
        engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    assert err.value.code() == grpc.StatusCode.UNKNOWN
    assert "Training diverged: loss is NaN." in (err.value.details() or "")
    assert engine.state == {}
    emu.admin("DELETE", "failures")
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack)).op == "create"
    outs = engine.outputs("numbers", TUNED_MODEL)
    assert outs["state"] == "ACTIVE"
    # The attempt is found by its name before any upload, deleted, then trained again.
    assert [e["status"] for e in emu.journal("CreateTunedModel")] == [200, 200]
    assert [e["rpc"] for e in emu.journal() if e["rpc"] in ("CreateTunedModel", "DeleteTunedModel")] == [
        "CreateTunedModel",
        "DeleteTunedModel",
        "CreateTunedModel",
    ]
    assert [m["name"] for m in emu.models()] == [outs["name"]]
    assert (
        f"the previous attempt, {outs['name']}, FAILED (Training diverged: loss is NaN.); "
        "deleting it and training again"
    ) in provider_process.output()


def test_recorded_failed_state_is_replaced_delete_first(engine: MiniEngine, emu: Emulator) -> None:
    emu.admin("POST", "failures", {"match": "numbers", "atPercent": 10, "message": "Quota exceeded"})
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack, wait=False)).op == "create"
    name = engine.outputs("numbers", TUNED_MODEL)["name"]
    assert wait_until(lambda: emu.api("GET", f"/v1beta/{name}").json()["state"] == "FAILED")
    assert engine.refresh("numbers", TUNED_MODEL).op == "refreshed"
    assert engine.outputs("numbers", TUNED_MODEL)["state"] == "FAILED"
    emu.admin("DELETE", "failures")
    assert engine.preview("numbers", TUNED_MODEL, inputs(engine.stack)).op == "replace"
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack)).op == "replace-dbr"
    outs = engine.outputs("numbers", TUNED_MODEL)
    assert outs["name"] == name and outs["state"] == "ACTIVE"  # same id, deleted first
    assert [e["rpc"] for e in emu.journal() if e["rpc"] in ("DeleteTunedModel", "CreateTunedModel")][-2:] == [
        "DeleteTunedModel",
        "CreateTunedModel",
    ]


def test_wait_false_returns_at_once_and_refresh_picks_up_the_outcome(
    engine: MiniEngine, emu: Emulator
) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack, wait=False)).op == "create"
    outs = engine.outputs("numbers", TUNED_MODEL)
    assert outs["state"] == "CREATING"
    assert engine.preview("numbers", TUNED_MODEL, inputs(engine.stack, wait=False)).op == "update"
    emu.admin("POST", "advance", {"steps": 1000})
    assert engine.refresh("numbers", TUNED_MODEL).op == "refreshed"
    assert engine.outputs("numbers", TUNED_MODEL)["state"] == "ACTIVE"


def test_timeout_leaves_the_model_training_and_the_next_up_resumes(engine: MiniEngine, emu: Emulator) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    with pytest.raises(grpc.RpcError) as err:
        engine.up("numbers", TUNED_MODEL, inputs(engine.stack, timeout="1s"))
    assert "still training after 1 s" in (err.value.details() or "")
    assert engine.state == {}
    emu.admin("POST", "advance", {"steps": 1000})
    assert engine.up("numbers", TUNED_MODEL, inputs(engine.stack)).op == "create"
    assert engine.outputs("numbers", TUNED_MODEL)["state"] == "ACTIVE"
    assert len([e for e in emu.journal("CreateTunedModel") if e["status"] == 200]) == 1


def test_interrupted_create_is_adopted_by_the_next_up_without_training_twice(emu: Emulator) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    first = ProviderProcess()
    eng = MiniEngine(first, stack="interrupted")
    eng.start(config_for(emu.base_url))
    errors: list[BaseException] = []

    def up() -> None:
        try:
            eng.up("numbers", TUNED_MODEL, inputs(eng.stack))
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=up, daemon=True)
    t.start()
    assert wait_until(lambda: len(emu.journal("GetOperation")) >= 1)
    first.kill()  # the CLI dies mid-create: nothing reaches state
    t.join(10)
    assert eng.state == {} and errors
    second = ProviderProcess()
    try:
        eng2 = MiniEngine(second, stack="interrupted")
        eng2.start(config_for(emu.base_url))
        finisher = threading.Timer(0.5, lambda: emu.admin("POST", "advance", {"steps": 1000}))
        finisher.start()
        edited = inputs(eng2.stack, description="Edited while it trained", temperature=0.3)
        assert eng2.up("numbers", TUNED_MODEL, edited).op == "create"
        finisher.join()
        outs = eng2.outputs("numbers", TUNED_MODEL)
        assert outs["state"] == "ACTIVE" and outs["description"] == "Edited while it trained"
        creates = emu.journal("CreateTunedModel")
        assert [e["status"] for e in creates] == [200]  # found by its name, not submitted again
        [model] = emu.models()
        assert (model["description"], model["temperature"]) == ("Edited while it trained", pytest.approx(0.3))
        assert "adopting it" in second.output()
        assert eng2.preview("numbers", TUNED_MODEL, edited).op == "same"  # one `up` converged
    finally:
        second.close()


@pytest.mark.parametrize("operation_recorded", [True, False])
def test_deleting_a_model_still_training_cancels_then_deletes(
    engine: MiniEngine, emu: Emulator, operation_recorded: bool
) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack, wait=False))
    if not operation_recorded:  # e.g. a model adopted after an interrupted up
        engine.state[engine.urn("numbers", TUNED_MODEL)]["outputs"].pop("operationName")
    engine.destroy("numbers", TUNED_MODEL)
    rpcs = [e["rpc"] for e in emu.journal() if e["rpc"] in ("CancelOperation", "DeleteTunedModel")]
    assert rpcs == ["CancelOperation", "DeleteTunedModel"]
    assert emu.models() == []


def test_adopt_takes_over_an_existing_model_without_training(engine: MiniEngine, emu: Emulator) -> None:
    body: dict[str, Any] = {
        "displayName": "hand made",
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "a", "output": "b"}]}}},
    }
    r = emu.api("POST", "/v1beta/tunedModels?tunedModelId=hand-made", body)
    assert r.status_code == 200, r.text
    assert wait_until(lambda: emu.api("GET", "/v1beta/tunedModels/hand-made").json()["state"] == "ACTIVE")
    emu.admin("DELETE", "journal")
    spec = inputs(engine.stack, adopt="tunedModels/hand-made", examples=None, displayName="adopted")
    assert engine.up("numbers", TUNED_MODEL, spec).op == "create"
    outs = engine.outputs("numbers", TUNED_MODEL)
    assert outs["name"] == "tunedModels/hand-made" and outs["displayName"] == "adopted"
    assert emu.journal("CreateTunedModel") == []
    wrong = inputs(
        engine.stack, adopt="tunedModels/hand-made", examples=None, baseModel="models/gemini-1.0-pro-001"
    )
    with pytest.raises(grpc.RpcError) as err:
        engine.up("other", TUNED_MODEL, wrong)
    assert "tuned from models/gemini-1.5-flash-001-tuning" in (err.value.details() or "")


def test_an_unknown_base_model_fails_with_the_service_message_and_a_remedy(
    engine: MiniEngine, emu: Emulator
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        engine.up("numbers", TUNED_MODEL, inputs(engine.stack, baseModel="models/gemini-9-ultra"))
    details = err.value.details() or ""
    assert "models/gemini-9-ultra is not found for API version v1beta" in details
    assert "take over an existing tuned model with `adopt`" in details
    assert engine.state == {} and emu.models() == []


def test_check_failures_name_the_property_and_the_reason(engine: MiniEngine, emu: Emulator) -> None:
    bad = {**inputs(engine.stack), "temperature": 5.0, "hyperparameters": {"batchSize": 2.5}}
    step = engine.up("numbers", TUNED_MODEL, bad)
    assert step.op == "check-failed"
    assert ("temperature", "temperature: Input should be less than or equal to 2") in step.failures
    assert any(p == "hyperparameters" for p, _ in step.failures)
    assert emu.journal("CreateTunedModel") == []


def test_a_dataset_changed_since_the_program_read_it_fails_check(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: tuned-models\nruntime: python\n")
    path = tmp_path / "numbers.jsonl"
    lines = [json.dumps({"textInput": str(i), "output": str(i + 1)}) + "\n" for i in range(20)]
    path.write_text("".join(lines))
    spec = {k: v for k, v in inputs("changed").items() if k != "examples"}
    spec.update(dataset="numbers.jsonl", datasetDigest=examples_digest(read_examples(path)), exampleCount=20)
    path.write_text(path.read_text() + json.dumps({"textInput": "x", "output": "y"}) + "\n")
    proc = ProviderProcess(cwd=tmp_path)
    try:
        engine = MiniEngine(proc, stack="changed")
        engine.start(config_for(emu.base_url))
        step = engine.up("numbers", TUNED_MODEL, spec)
        assert step.op == "check-failed"
        [(prop, reason)] = step.failures
        assert prop == "datasetDigest" and "changed since the program read them" in reason
        assert emu.journal("CreateTunedModel") == []
    finally:
        proc.close()


def _without(values: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in keys}


def _bad_inputs(stack: str, tmp_path: Path) -> dict[str, tuple[dict[str, Any], tuple[str, str]]]:
    """Inputs validate refuses, each with the failure check must give (property, reason start)."""
    good = inputs(stack)
    long_input = [{"textInput": "x" * 40_001, "output": "y"}, *good["examples"][1:]]
    empty_text = [*good["examples"][:2], {"textInput": "   ", "output": "y"}]
    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('{"textInput": "a", "output": "b"}\n{"textInput": \n')
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    gate = {"examples": [{"textInput": "a", "output": " "}], "metric": "exactMatch", "minScore": 0.5}
    held_out = [{"textInput": "Eighty", "output": "eighty one"}]
    digest = examples_digest([Example.model_validate(e) for e in held_out])
    return {
        "empty examples": ({**good, "examples": []}, ("examples", "examples: the dataset has no examples")),
        "a 40,001-character input": (
            {**good, "examples": long_input},
            ("examples", "examples: example 1: textInput has 40001 characters; the limit is 40000"),
        ),
        "an empty text": (
            {**good, "examples": empty_text},
            ("examples", "examples: example 3: textInput is empty"),
        ),
        "neither examples nor dataset": (
            _without(good, "examples"),
            ("inputs", "declare a dataset (a file) or examples (inline)"),
        ),
        "a dataset line that is not JSON": (
            {**_without(good, "examples"), "dataset": "bad.jsonl"},
            ("dataset", "dataset: bad.jsonl:2: invalid JSON (Expecting value)"),
        ),
        "a named pipe": (
            {**_without(good, "examples"), "dataset": "pipe.jsonl"},
            ("dataset", "dataset: pipe.jsonl: not a regular file (a named pipe)"),
        ),
        "an empty text in the gate's examples": (
            {**good, "evaluation": gate, "evaluationDigest": digest},
            ("evaluation.examples", "evaluation.examples: example 1: output is empty"),
        ),
        "gate examples changed since the program read them": (
            {**good, "evaluation": {**gate, "examples": held_out}, "evaluationDigest": "sha256:" + "0" * 64},
            (
                "evaluationDigest",
                "evaluationDigest: sha256:"
                + "0" * 64
                + " is not the digest of the inline evaluation examples",
            ),
        ),
    }


def test_check_rejects_what_validate_rejects_with_no_api_call(emu: Emulator, tmp_path: Path) -> None:
    """Issue 13: empty examples, a 40,001-character input, an empty text, no data at all, an
    unreadable dataset, a named pipe, and the same for a quality gate's examples fail the
    provider's check; the service sees no request."""
    proc = ProviderProcess(cwd=tmp_path)
    try:
        (tmp_path / "Pulumi.yaml").write_text("name: tuned-models\nruntime: python\n")
        engine = MiniEngine(proc, stack="check")
        engine.start(config_for(emu.base_url))
        emu.admin("DELETE", "journal")
        for case, (news, (prop, reason)) in _bad_inputs(engine.stack, tmp_path).items():
            step = engine.up("numbers", TUNED_MODEL, news)
            assert step.op == "check-failed", case
            assert [p for p, _ in step.failures] == [prop], (case, step.failures)
            assert step.failures[0][1].startswith(reason), (case, step.failures)
        assert emu.journal() == []
        assert engine.calls == ["Check"] * 8
    finally:
        proc.close()


def test_retries_are_reported_in_the_output_with_what_failed_and_the_next_try(
    engine: MiniEngine, emu: Emulator, provider_process: ProviderProcess
) -> None:
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    name = engine.outputs("numbers", TUNED_MODEL)["name"]
    emu.admin("POST", "faults", {"method": "GetTunedModel", "status": 503, "count": 2})
    assert engine.refresh("numbers", TUNED_MODEL).op == "refreshed"
    failed = f"GET /v1beta/{name}: 503 UNAVAILABLE: The service is currently unavailable"
    assert wait_until(lambda: f"{failed}. Retry 2 of 4 in" in provider_process.output())
    lines = [line for line in provider_process.output().splitlines() if failed in line]
    assert len(lines) == 2 and re.search(r"Retry 1 of 4 in \d\.\d s\.$", lines[0]), lines
