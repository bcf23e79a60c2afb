"""Vertex AI tuned models through the real provider server, played the way the engine plays it,
against the emulator's Vertex AI, Model Registry, endpoints and Cloud Storage.

Issue 11's list: create two models (SUCCEEDED, their endpoints answer generateContent), a no-op,
an in-place patch, a dataset change that replaces (the old endpoints and model gone after), an
endpoint deleted behind Pulumi's back recreated by a plain up, an interrupted create that trains
once, a destroy that leaves no endpoint or model (the jobs stay); and ``wait: false``,
``timeout``, a FAILED job replaced, a running job cancelled by a destroy.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.support.engine import TUNED_MODEL, Emulator
from tests.support.harness import MiniEngine, ProviderProcess, wait_until
from tests.support.vertex import BUCKET, TOKEN, VertexEmulator, vertex_config, vertex_inputs

CREATE = "aiplatform.CreateTuningJob"
UPLOAD = "storage.objects.insert"


@pytest.fixture
def vertex(emu: Emulator) -> VertexEmulator:
    return VertexEmulator(emu)


@pytest.fixture(scope="module")
def vertex_provider() -> Iterator[ProviderProcess]:
    # Against the emulator over loopback the provider sends this token (never in state).
    proc = ProviderProcess(extra_env={"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN})
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture
def engine(
    vertex_provider: ProviderProcess, emulator_server: Emulator, request: pytest.FixtureRequest
) -> MiniEngine:
    eng = MiniEngine(vertex_provider, stack="vtx-" + request.node.name[-20:].strip("_[]").replace("_", "-"))
    eng.start(vertex_config(emulator_server.base_url))
    return eng


def _ok_jobs(vertex: VertexEmulator) -> list[dict[str, Any]]:
    return [e for e in vertex.journal(CREATE) if e["status"] == 200]


def _uploads(vertex: VertexEmulator) -> list[dict[str, Any]]:
    """Uploads that stored an object (after a reset the bucket is made on a first 404)."""
    return [e for e in vertex.journal(UPLOAD) if e["status"] == 200]


def test_two_models_train_succeed_and_answer_on_their_endpoints(
    engine: MiniEngine, vertex: VertexEmulator, vertex_provider: ProviderProcess
) -> None:
    tickets = vertex_inputs(engine.stack, "tickets")
    summaries = vertex_inputs(
        engine.stack,
        "summaries",
        displayName="one-sentence summarizer",
        description="Summarizes a paragraph",
        baseModel="gemini-2.5-flash-lite",
        dataset="stacks/datasets/summaries.csv",
        hyperparameters={"epochCount": 3, "learningRateMultiplier": 0.5},
        labels=None,
    )
    assert engine.up("tickets", TUNED_MODEL, tickets).op == "create"
    assert engine.up("summaries", TUNED_MODEL, summaries).op == "create"
    jobs = {j["name"]: j for j in vertex.jobs()}
    for name, prompt in (
        ("tickets", "I was charged twice for my Premium plan this month."),
        ("summaries", "The city council voted to extend the library's opening hours."),
    ):
        outs = engine.outputs(name, TUNED_MODEL)
        job = jobs[outs["name"]]
        assert outs["state"] == "ACTIVE" and job["state"] == "JOB_STATE_SUCCEEDED"
        assert outs["tuningJob"] == job["name"] == outs["name"]
        assert outs["model"] == job["tunedModel"]["model"] and outs["model"].endswith("@1")
        assert outs["endpoint"] == job["tunedModel"]["endpoint"]
        assert [c["endpoint"] for c in outs["checkpoints"]] == [
            c["endpoint"] for c in job["tunedModel"]["checkpoints"]
        ]
        stats = job["tuningDataStats"]["supervisedTuningDataStats"]
        assert outs["tuningExampleCount"] == int(stats["tuningDatasetExampleCount"]) == outs["exampleCount"]
        assert outs["billableTokens"] == int(stats["totalBillableTokenCount"]) > 0
        assert (
            outs["tunedModelId"].startswith(f"{name}-")
            and job["labels"]["tuned_models_id"] == outs["tunedModelId"]
        )
        digest = outs["datasetDigest"].removeprefix("sha256:")
        assert outs["trainingDatasetUri"] == f"{BUCKET}/{digest}.jsonl"
        answer = vertex.generate(outs["endpoint"], prompt)
        assert answer.status_code == 200, answer.text
        assert answer.json()["candidates"][0]["content"]["parts"][0]["text"]
    tickets_outs = engine.outputs("tickets", TUNED_MODEL)
    assert tickets_outs["labels"] == {"team": "support"}
    assert tickets_outs["hyperparameters"] == {"epochCount": 2, "learningRateMultiplier": 1, "adapterSize": 4}
    answer = vertex.generate(tickets_outs["endpoint"], "I was charged twice for my Premium plan this month.")
    assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] == "billing"
    assert sorted(vertex.objects()) == sorted(
        f"datasets/{engine.outputs(n, TUNED_MODEL)['datasetDigest'].removeprefix('sha256:')}.jsonl"
        for n in ("tickets", "summaries")
    )
    assert any("tickets: tuning job" in line for line in vertex_provider.stderr)
    assert TOKEN not in json.dumps(engine.state) and TOKEN not in vertex_provider.output()


def test_no_change_is_a_same_step_and_a_rerun_uploads_nothing(
    engine: MiniEngine, vertex: VertexEmulator
) -> None:
    engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack))
    again = json.loads(json.dumps(vertex_inputs(engine.stack)), parse_int=float)
    assert engine.up("tickets", TUNED_MODEL, again).op == "same"
    assert len(_ok_jobs(vertex)) == 1 and len(_uploads(vertex)) == 1
    # Another model on the same dataset: the object named by its digest is there already.
    engine.up("tickets-2", TUNED_MODEL, vertex_inputs(engine.stack, "tickets-2"))
    assert len(_ok_jobs(vertex)) == 2 and len(_uploads(vertex)) == 1


def test_description_and_labels_are_patched_in_place_on_the_model(
    engine: MiniEngine, vertex: VertexEmulator
) -> None:
    engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack))
    before = engine.outputs("tickets", TUNED_MODEL)
    changed = vertex_inputs(
        engine.stack, description="Routes tickets", labels={"team": "help", "tier": "gold"}
    )
    assert engine.preview("tickets", TUNED_MODEL, changed).op == "update"
    assert engine.up("tickets", TUNED_MODEL, changed).op == "update"
    after = engine.outputs("tickets", TUNED_MODEL)
    assert after["name"] == before["name"] and after["model"] == before["model"]
    model = vertex.get(after["model"].partition("@")[0]).json()
    assert model["description"] == "Routes tickets"
    assert model["labels"]["team"] == "help" and model["labels"]["tier"] == "gold"
    assert model["labels"]["tuned_models_id"] == after["tunedModelId"]  # identity kept
    patches = vertex.journal("aiplatform.UpdateModel")
    assert len(patches) == 1 and set(patches[0]["query"]["updateMask"].split(",")) == {
        "description",
        "labels",
    }
    assert after["description"] == "Routes tickets" and after["labels"] == {"team": "help", "tier": "gold"}
    assert len(_ok_jobs(vertex)) == 1


def test_a_dataset_change_retrains_and_removes_the_old_endpoints_and_model(
    engine: MiniEngine, vertex: VertexEmulator
) -> None:
    engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack))
    old = engine.outputs("tickets", TUNED_MODEL)
    changed = vertex_inputs(engine.stack, dataset="stacks/datasets/summaries.csv")
    assert engine.preview("tickets", TUNED_MODEL, changed).op == "replace"
    assert engine.up("tickets", TUNED_MODEL, changed).op == "replace-cbd"
    new = engine.outputs("tickets", TUNED_MODEL)
    assert new["name"] != old["name"] and new["state"] == "ACTIVE"
    assert vertex.get(old["model"].partition("@")[0]).status_code == 404
    for c in old["checkpoints"]:
        assert vertex.get(c["endpoint"]).status_code == 404
    assert [m["name"] for m in vertex.models()] == [new["model"].partition("@")[0]]
    assert {e["name"] for e in vertex.endpoints()} == {c["endpoint"] for c in new["checkpoints"]}
    assert {j["name"] for j in vertex.jobs()} == {old["name"], new["name"]}  # jobs cannot be deleted


def test_an_endpoint_deleted_behind_pulumis_back_is_recreated_by_a_plain_up(
    engine: MiniEngine, vertex: VertexEmulator
) -> None:
    engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack))
    old = engine.outputs("tickets", TUNED_MODEL)
    vertex.delete_endpoint(old["endpoint"])
    assert engine.refresh("tickets", TUNED_MODEL).op == "refreshed"
    refreshed = engine.outputs("tickets", TUNED_MODEL)
    assert refreshed["state"] == "FAILED" and "was deleted" in refreshed["error"]
    assert engine.preview("tickets", TUNED_MODEL, vertex_inputs(engine.stack)).op == "replace"
    assert engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack)).op == "replace-dbr"
    new = engine.outputs("tickets", TUNED_MODEL)
    assert new["state"] == "ACTIVE" and new["name"] != old["name"]
    assert vertex.generate(new["endpoint"], "My card was charged twice").status_code == 200
    # What was left of the old one (its model, the other checkpoints' endpoints) is gone.
    assert vertex.get(old["model"].partition("@")[0]).status_code == 404
    assert [m["name"] for m in vertex.models()] == [new["model"].partition("@")[0]]
    assert len(_ok_jobs(vertex)) == 2


def test_an_interrupted_create_trains_once(emu: Emulator, vertex: VertexEmulator) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    env = {"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN}
    first = ProviderProcess(extra_env=env)
    eng = MiniEngine(first, stack="vtx-interrupted")
    eng.start(vertex_config(emu.base_url))
    errors: list[BaseException] = []

    def up() -> None:
        try:
            eng.up("tickets", TUNED_MODEL, vertex_inputs(eng.stack))
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=up, daemon=True)
    thread.start()
    assert wait_until(lambda: len(vertex.journal("aiplatform.GetTuningJob")) >= 1)
    first.kill()  # the CLI dies mid-create: nothing reaches state
    thread.join(10)
    assert eng.state == {} and errors
    second = ProviderProcess(extra_env=env)
    try:
        again = MiniEngine(second, stack="vtx-interrupted")
        again.start(vertex_config(emu.base_url))
        emu.admin("POST", "advance", {"steps": 1000})
        assert again.up("tickets", TUNED_MODEL, vertex_inputs(again.stack)).op == "create"
        assert again.outputs("tickets", TUNED_MODEL)["state"] == "ACTIVE"
        assert "from an earlier run" in second.output()
    finally:
        second.close()
    assert len(_ok_jobs(vertex)) == 1 and len(_uploads(vertex)) == 1


def test_destroy_leaves_no_endpoint_or_model_and_the_jobs_stay(
    engine: MiniEngine, vertex: VertexEmulator
) -> None:
    engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack))
    engine.up(
        "summaries",
        TUNED_MODEL,
        vertex_inputs(engine.stack, "summaries", dataset="stacks/datasets/summaries.csv"),
    )
    assert len(vertex.endpoints()) == 4  # one per checkpoint (2 epochs each)
    snapshot = dict(engine.state[engine.urn("tickets", TUNED_MODEL)])
    engine.destroy("tickets", TUNED_MODEL)
    engine.destroy("summaries", TUNED_MODEL)
    assert vertex.models() == [] and vertex.endpoints() == []
    assert len(vertex.jobs()) == 2
    engine.delete(engine.urn("tickets", TUNED_MODEL), snapshot)  # gone already: success


def test_a_failed_job_fails_the_up_and_a_recorded_failure_is_replaced(
    emu: Emulator, engine: MiniEngine, vertex: VertexEmulator
) -> None:
    emu.admin(
        "POST",
        "failures",
        {"match": "tuned_models_resource=tickets", "atPercent": 50, "message": "Dataset rejected."},
    )
    with pytest.raises(grpc.RpcError) as err:
        engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack))
    assert "Dataset rejected." in (err.value.details() or "")
    assert engine.state == {}
    # wait: false records the FAILED job; the next up replaces it with a new one.
    assert engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack, wait=False)).op == "create"
    outs = engine.outputs("tickets", TUNED_MODEL)
    assert outs["state"] in ("CREATING", "FAILED")
    assert wait_until(lambda: vertex.get(outs["name"]).json()["state"] == "JOB_STATE_FAILED")
    emu.admin("DELETE", "failures")
    assert engine.refresh("tickets", TUNED_MODEL).op == "refreshed"
    assert engine.outputs("tickets", TUNED_MODEL)["state"] == "FAILED"
    assert engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack)).op == "replace-dbr"
    new = engine.outputs("tickets", TUNED_MODEL)
    assert new["state"] == "ACTIVE" and new["name"] != outs["name"]


def test_wait_false_returns_at_once_and_a_refresh_records_the_outcome(
    emu: Emulator, engine: MiniEngine
) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    assert engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack, wait=False)).op == "create"
    assert engine.outputs("tickets", TUNED_MODEL)["state"] == "CREATING"
    assert engine.preview("tickets", TUNED_MODEL, vertex_inputs(engine.stack, wait=False)).op == "update"
    emu.admin("POST", "advance", {"steps": 1000})
    assert engine.refresh("tickets", TUNED_MODEL).op == "refreshed"
    assert engine.outputs("tickets", TUNED_MODEL)["state"] == "ACTIVE"


def test_a_timeout_leaves_the_job_training_and_the_next_up_resumes(
    emu: Emulator, engine: MiniEngine, vertex: VertexEmulator
) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    with pytest.raises(grpc.RpcError) as err:
        engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack, timeout="1s"))
    assert "still training after 1 s" in (err.value.details() or "")
    emu.admin("POST", "advance", {"steps": 1000})
    assert engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack)).op == "create"
    assert engine.outputs("tickets", TUNED_MODEL)["state"] == "ACTIVE"
    assert len(_ok_jobs(vertex)) == 1


def test_destroying_a_training_model_cancels_its_job(
    emu: Emulator, engine: MiniEngine, vertex: VertexEmulator
) -> None:
    emu.admin("POST", "clock", {"mode": "manual"})
    engine.up("tickets", TUNED_MODEL, vertex_inputs(engine.stack, wait=False))
    name = engine.outputs("tickets", TUNED_MODEL)["name"]
    done = threading.Event()

    def destroy() -> None:
        engine.destroy("tickets", TUNED_MODEL)
        done.set()

    threading.Thread(target=destroy, daemon=True).start()
    assert wait_until(lambda: len(vertex.journal("aiplatform.CancelTuningJob")) == 1)
    emu.admin("POST", "advance", {"steps": 5})  # CANCELLING lasts a step
    assert done.wait(30)
    assert vertex.get(name).json()["state"] == "JOB_STATE_CANCELLED"
    assert vertex.models() == [] and vertex.endpoints() == []


def test_the_quality_gate_asks_the_endpoint_and_a_failed_gate_trains_once(
    engine: MiniEngine, vertex: VertexEmulator
) -> None:
    wrong = [{"textInput": "I was charged twice for my Premium plan.", "output": "shipping"}]
    right = "stacks/datasets/support-tickets-eval.jsonl"

    def gated(examples: Any) -> dict[str, Any]:
        gate = {"examples": examples, "metric": "exactMatch", "minScore": 0.9}
        return vertex_inputs(engine.stack, evaluation=gate)

    # The emulator answers with the training output nearest the prompt ("billing" here): the
    # gate fails, the up fails, nothing is recorded, the trained model stays on the service.
    with pytest.raises(grpc.RpcError) as err:
        engine.up("tickets", TUNED_MODEL, gated(wrong))
    assert "quality gate" in (err.value.details() or "")
    assert engine.state == {}
    assert len(vertex.journal("aiplatform.GenerateContent")) == 1
    # A gate it passes (held-out tickets): the next up adopts the trained model (no second job).
    assert engine.up("tickets", TUNED_MODEL, gated(right)).op == "create"
    outs = engine.outputs("tickets", TUNED_MODEL)
    assert outs["evaluation"]["passed"] is True and outs["evaluation"]["score"] == 1
    assert len(_ok_jobs(vertex)) == 1
