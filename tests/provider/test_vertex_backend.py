"""The vertex backend in process, on an embedded emulator (Vertex AI and Cloud Storage) with a
manual clock: the behaviours the engine suites do not reach, with the real backend, clients and
emulator (the lifecycle through the real provider process is tests/engine/test_vertex_lifecycle.py).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.provider.test_lifecycle import Lines
from tests.support.harness import PROJECT_ROOT, PROVIDER_KEY
from tests.support.manual_clock import BASE_URL, ManualClock
from tests.support.vertex import BUCKET, LOCATION, PROJECT, TOKEN, vertex_inputs
from tuned_models.backends.vertex.backend import VertexBackend
from tuned_models.lifecycle import ModelLifecycle
from tuned_models.model.desired import ModelInputs
from tuned_models.model.ids import stack_tag
from tuned_models.model.planner import Action, decide_unrecorded
from tuned_models.model.state import ModelState
from tuned_models.rest.core import DEFAULT_RETRY
from tuned_models.vertex.auth import AccessTokenAuth
from tuned_models.vertex.client import VertexClient
from tuned_models.vertex.names import GcsLocation
from tuned_models.vertex.storage import CHUNK_GRANULARITY, StorageClient
from tuned_models.waiter import MAX_PAUSE
from tuned_models_emulator.embedded import embedded_transport


@dataclass
class Vertex:
    clock: ManualClock
    transport: httpx.BaseTransport
    backend: VertexBackend
    log: Lines
    lifecycle: ModelLifecycle
    root: Path

    @property
    def admin(self) -> httpx.Client:
        return self.clock.admin

    def journal(self, rpc: str) -> list[dict[str, Any]]:
        return self.clock.journal(rpc)

    def get(self, name: str) -> httpx.Response:
        return self.admin.get(f"/v1/{name}", headers={"authorization": f"Bearer {TOKEN}"})


def _connect(transport: httpx.BaseTransport, root: Path, clock: ManualClock, *, local: bool) -> VertexBackend:
    """The backend on the emulator; every wait (the clients' retries, the backend's polls) is a
    sleep on ``clock``."""
    auth = AccessTokenAuth(TOKEN)
    waits: dict[str, Any] = {"sleep": clock.sleep, "clock": clock.clock, "random": lambda: 0.5}
    client = VertexClient(
        PROJECT, LOCATION, auth, base_url=BASE_URL, transport=transport, retry=DEFAULT_RETRY, **waits
    )
    # Small chunks, so that a dataset of a few hundred kilobytes goes in a resumable upload.
    storage = StorageClient(
        auth,
        base_url=BASE_URL,
        transport=transport,
        chunk_size=CHUNK_GRANULARITY,
        resumable_threshold=CHUNK_GRANULARITY,
        **waits,
    )
    return VertexBackend(
        client, storage, GcsLocation.parse(BUCKET), root, local=local, sleep=clock.sleep, clock=clock.clock
    )


@pytest.fixture
def vertex(tmp_path: Path) -> Iterator[Vertex]:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "stacks" / "datasets", root / "stacks" / "datasets")
    transport = embedded_transport(None, step_seconds=1.0)
    clock = ManualClock(transport)
    backend = _connect(transport, root, clock, local=True)
    log = Lines()
    lifecycle = ModelLifecycle(lambda _name: backend, root, log, clock=clock.clock, sleep=clock.sleep)
    try:
        yield Vertex(clock, transport, backend, log, lifecycle, root)
    finally:
        transport.close()


def _inputs(vertex: Vertex, name: str = "tickets", **spec: Any) -> dict[str, Any]:
    """The resource inputs (what the lifecycle gets: the engine's, less ``__provider``)."""
    inputs = vertex_inputs("dev", name, root=vertex.root, **spec)
    del inputs[PROVIDER_KEY]
    return inputs


def test_a_large_dataset_is_uploaded_in_chunks_with_progress_lines(vertex: Vertex) -> None:
    rows = [
        {"textInput": f"ticket {i}: " + "the printer is on fire " * 8, "output": "hardware"}
        for i in range(2000)
    ]
    (vertex.root / "stacks" / "datasets" / "big.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    vertex.lifecycle.create(_inputs(vertex, dataset="stacks/datasets/big.jsonl", timeout=3600))
    prefix = "tickets: uploading stacks/datasets/big.jsonl: "
    progress = [line.removeprefix(prefix) for line in vertex.log.info_lines if line.startswith(prefix)]
    size = int(progress[-1].split(" of ")[1].split()[0])
    chunks = math.ceil(size / CHUNK_GRANULARITY)
    # One line per confirmed chunk (every 10% at least), ending at 100%.
    assert chunks >= 3 and [p.split("%")[0] for p in progress] == [
        str(100 * min(size, CHUNK_GRANULARITY * i) // size) for i in range(1, chunks + 1)
    ]
    assert len(vertex.journal("storage.objects.insert")) > 1  # a session and its chunks


def test_a_model_is_found_by_its_deterministic_id_and_listed_by_its_stack(vertex: Vertex) -> None:
    model_id, outputs = vertex.lifecycle.create(_inputs(vertex))
    found = vertex.backend.find(model_id)
    assert found is not None and found.name == outputs["name"] and found.state is ModelState.ACTIVE
    inputs = ModelInputs.model_validate(_inputs(vertex))
    tag = stack_tag(inputs.project, inputs.stack)
    assert [m.name for m in vertex.backend.list_models(tag)] == [outputs["name"]]
    assert list(vertex.backend.list_models("ffffffff")) == []


def test_a_job_whose_products_are_all_gone_is_no_longer_listed(vertex: Vertex) -> None:
    model_id, outputs = vertex.lifecycle.create(_inputs(vertex))
    vertex.lifecycle.delete(model_id, outputs)
    assert vertex.backend.find(outputs["name"]) is not None  # the job stays, FAILED in our terms
    inputs = ModelInputs.model_validate(_inputs(vertex))
    assert list(vertex.backend.list_models(stack_tag(inputs.project, inputs.stack))) == []


def _jobs(vertex: Vertex, model_id: str) -> list[dict[str, Any]]:
    """The tuning jobs carrying ``model_id`` (its identity label), oldest first."""
    r = vertex.get(f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs")
    jobs = [
        j for j in r.json().get("tuningJobs", []) if j.get("labels", {}).get("tuned_models_id") == model_id
    ]
    return sorted(jobs, key=lambda j: str(j["createTime"]))


def test_a_failed_attempt_is_replaced_by_a_new_job_and_said_so_with_the_services_message(
    vertex: Vertex,
) -> None:
    """The submit contract (backends/base.py), as the Gemini backend keeps it: an earlier attempt
    under the same id that FAILED is replaced; the log says so with the service's message; the
    planner says the same before the up (decide_unrecorded)."""
    fault = {"match": "tuned_models_resource=tickets", "atPercent": 50, "message": "Dataset rejected."}
    vertex.admin.post("/_emulator/failures", json=fault).raise_for_status()
    inputs = _inputs(vertex)
    with pytest.raises(RuntimeError, match=r"Dataset rejected\."):
        vertex.lifecycle.create(inputs)
    vertex.admin.delete("/_emulator/failures").raise_for_status()
    desired = ModelInputs.model_validate(inputs).desired()
    failed = vertex.backend.find(desired.model_id)
    assert failed is not None and failed.state is ModelState.FAILED
    decision = decide_unrecorded(failed, None, desired)
    assert (decision.action, decision.delete_before_replace) == (Action.REPLACE, True)
    assert decision.note.startswith(
        "the previous attempt FAILED (Dataset rejected.); it will be deleted (its endpoints and its "
        "model; the tuning job stays, as Vertex AI keeps every job) and trained again"
    )
    model_id, outputs = vertex.lifecycle.create(inputs)
    assert outputs["state"] == "ACTIVE" and outputs["name"] != failed.name
    assert [j["state"] for j in _jobs(vertex, model_id)] == ["JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED"]
    [warning] = vertex.log.warnings
    assert warning == (
        f"tickets: the previous attempt, {failed.name}, FAILED (Dataset rejected.); "
        "deleting what it left and training again"
    )


def test_an_attempt_whose_endpoint_was_deleted_is_replaced_and_its_model_deleted(vertex: Vertex) -> None:
    """A succeeded job whose endpoint is gone reads FAILED; the next create (Pulumi recorded
    nothing: its state was lost) deletes the model it left and trains a new job."""
    inputs = _inputs(vertex)
    model_id, outputs = vertex.lifecycle.create(inputs)
    headers = {"authorization": f"Bearer {TOKEN}"}
    for deployed in vertex.get(outputs["endpoint"]).json()["deployedModels"]:
        undeploy = {"deployedModelId": deployed["id"]}
        vertex.admin.post(f"/v1/{outputs['endpoint']}:undeployModel", json=undeploy, headers=headers)
    vertex.admin.delete(f"/v1/{outputs['endpoint']}", headers=headers).raise_for_status()
    spent = vertex.backend.find(model_id)
    assert spent is not None and spent.state is ModelState.FAILED
    assert spent.progress is not None and "was deleted" in str(spent.progress.error)
    _, again = vertex.lifecycle.create(inputs)
    assert again["state"] == "ACTIVE" and again["name"] != outputs["name"]
    assert vertex.get(outputs["model"].partition("@")[0]).status_code == 404
    assert vertex.log.warnings[0].startswith(
        f"tickets: the previous attempt, {outputs['name']}, SUCCEEDED (its"
    )


def test_a_refused_delete_is_reported_with_what_is_left(vertex: Vertex) -> None:
    model_id, outputs = vertex.lifecycle.create(_inputs(vertex))
    fault = {
        "method": "aiplatform.DeleteModel",
        "status": 403,
        "message": "Permission 'aiplatform.models.delete' denied.",
    }
    vertex.admin.post("/_emulator/faults", json=fault).raise_for_status()
    vertex.lifecycle.delete(model_id, outputs)
    [warning] = vertex.log.warnings
    model = outputs["model"].partition("@")[0]
    assert warning.startswith(
        f"{outputs['name']}: Vertex AI refused to delete {model} (403 PERMISSION_DENIED"
    )
    assert "no longer managed" in warning
    assert vertex.get(model).status_code == 200
    assert all(vertex.get(c["endpoint"]).status_code == 404 for c in outputs["checkpoints"])


def test_patching_a_model_still_training_says_when_it_can_be_patched(vertex: Vertex) -> None:
    _, outputs = vertex.lifecycle.create(_inputs(vertex, wait=False))
    with pytest.raises(
        RuntimeError, match=r"has no model to update yet \(JOB_STATE_PENDING\).*run `pulumi up` again"
    ):
        vertex.backend.update(outputs["name"], {"description": "new"})


def test_a_missing_bucket_on_google_cloud_is_an_error_that_says_so(vertex: Vertex) -> None:
    remote = _connect(vertex.transport, vertex.root, vertex.clock, local=False)
    inputs = ModelInputs.model_validate(_inputs(vertex))
    with pytest.raises(RuntimeError, match=r"The specified bucket does not exist\..*create the bucket first"):
        remote.submit(inputs, vertex.root, vertex.log)
    assert vertex.journal("aiplatform.CreateTuningJob") == []


def test_a_changed_dataset_is_refused_before_anything_is_sent(vertex: Vertex) -> None:
    inputs = _inputs(vertex)
    path = vertex.root / "stacks" / "datasets" / "support-tickets.jsonl"
    path.write_text(path.read_text() + json.dumps({"textInput": "new", "output": "other"}) + "\n")
    with pytest.raises(RuntimeError, match="changed since the preview"):
        vertex.lifecycle.create(inputs)
    assert (
        vertex.journal("storage.objects.insert") == [] and vertex.journal("aiplatform.CreateTuningJob") == []
    )


# -- outages: every step of a vertex model rides them out, as on the Gemini API -----------------


def _failed_steps(vertex: Vertex) -> set[str]:
    """The steps that failed and were tried again (each a line ``<label>: <step> failed (...)``)."""
    return {line.split(" failed (")[0] for line in vertex.log.info_lines if " failed (" in line}


def test_outages_while_submitting_training_and_evaluating_are_ridden_out_and_train_once(
    vertex: Vertex,
) -> None:
    gate = {"examples": "stacks/datasets/support-tickets-eval.jsonl", "metric": "exactMatch", "minScore": 0.9}
    vertex.clock.outage(start=0, seconds=100)  # the job lookup, the upload and the job's create
    vertex.clock.outage(start=150, seconds=600)  # ten minutes while it trains
    vertex.clock.outage(start=0, seconds=900, method="aiplatform.GenerateContent")
    _, outs = vertex.lifecycle.create(_inputs(vertex, evaluation=gate, timeout=3600))
    assert outs["state"] == "ACTIVE" and outs["evaluation"]["passed"] is True
    assert vertex.clock.now[0] >= 900
    assert [e["status"] for e in vertex.journal("aiplatform.CreateTuningJob")] == [200]
    steps = _failed_steps(vertex)
    assert {"tickets: submitting the training", "tickets: reading the training's progress"} <= steps
    assert {s for s in steps if "asking example" in s} and all(s.startswith("tickets: ") for s in steps), (
        steps
    )
    assert max(vertex.clock.sleeps) <= MAX_PAUSE * 1.2


def test_update_read_and_delete_ride_out_an_outage_and_delete_leaves_nothing(vertex: Vertex) -> None:
    model_id, outs = vertex.lifecycle.create(_inputs(vertex))
    clock = vertex.clock
    clock.outage(start=clock.now[0], seconds=90)
    updated = vertex.lifecycle.update(model_id, outs, _inputs(vertex, description="Routes tickets"))
    assert updated["description"] == "Routes tickets"
    clock.outage(start=clock.now[0], seconds=90)
    assert vertex.lifecycle.read(model_id, updated) == updated
    # The endpoints' deletes fail after the model's endpoints were read: not a refusal, an outage.
    clock.outage(start=clock.now[0], seconds=90, method="aiplatform.DeleteEndpoint")
    vertex.lifecycle.delete(model_id, updated)
    assert vertex.log.warnings == []
    assert vertex.get(outs["model"].partition("@")[0]).status_code == 404
    assert all(vertex.get(c["endpoint"]).status_code == 404 for c in outs["checkpoints"])
    job = outs["name"]
    assert _failed_steps(vertex) == {
        "tickets: updating description",
        f"{job}: reading it",
        f"{job}: deleting it",
    }


def test_an_earlier_job_still_training_is_adopted_without_wait_and_patched_by_the_next_up(
    vertex: Vertex,
) -> None:
    earlier = ModelInputs.model_validate(_inputs(vertex))
    vertex.backend.submit(earlier, vertex.root, vertex.log)  # the `up` that submitted it died
    declared = _inputs(vertex, description="Routes tickets", wait=False)
    model_id, outs = vertex.lifecycle.create(declared)  # the job has no model to patch yet
    assert outs["state"] == "CREATING" and outs["description"] == earlier.description
    assert len(vertex.journal("aiplatform.CreateTuningJob")) == 1
    assert vertex.lifecycle.diff(outs, declared).update_fields == ("description",)
    vertex.clock.sleep(600)  # it trains
    updated = vertex.lifecycle.update(model_id, outs, declared)
    assert updated["state"] == "ACTIVE" and updated["description"] == "Routes tickets"
