"""The TunedModel lifecycle in process, on an embedded emulator with a manual clock.

The waiter's injected ``sleep`` advances the emulator's clock (its admin route), so a training
of many steps takes milliseconds, with the real lifecycle, backend, client and emulator. The
same behaviours through the real provider process are in tests/engine.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seed_examples import NUMBER_EXAMPLES
from tests.support.manual_clock import BASE_URL, ManualClock
from tuned_models.backends.gemini.backend import GeminiBackend
from tuned_models.gemini import ApiKeyAuth, GeminiClient, InvalidArgument
from tuned_models.lifecycle import ModelLifecycle
from tuned_models.model.datasets import DatasetInfo, examples_digest, read_examples
from tuned_models.model.desired import model_inputs
from tuned_models.model.spec import ModelSpec
from tuned_models.waiter import MAX_PAUSE, OutageTimeout, TuningFailed, WaitTimeout
from tuned_models_emulator.embedded import embedded_transport

STEPS = math.ceil(15 * 5 / 4)  # 15 examples, 5 epochs, batch 4


@dataclass
class Lines:
    """A log that keeps what it was told."""

    info_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def info(self, message: str) -> None:
        self.info_lines.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class Service(ManualClock):
    """The lifecycle, its backend and client on an embedded emulator whose clock moves only
    when someone sleeps (the client's retries and the lifecycle's waits alike)."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        super().__init__(transport)
        self.client = GeminiClient(
            BASE_URL,
            ApiKeyAuth("me"),
            transport=transport,
            sleep=self.sleep,
            clock=self.clock,
            random=lambda: 0.5,
        )
        self.backend = GeminiBackend(self.client)
        self.log = Lines()
        self.lifecycle = ModelLifecycle(
            lambda _name: self.backend, Path.cwd(), self.log, clock=self.clock, sleep=self.sleep
        )

    def at(self, root: Path) -> ModelLifecycle:
        """A lifecycle on the same service, clock and log, for the project at ``root``."""
        return ModelLifecycle(lambda _name: self.backend, root, self.log, clock=self.clock, sleep=self.sleep)


@pytest.fixture
def service() -> Iterator[Service]:
    transport = embedded_transport(None, step_seconds=1.0)
    try:
        yield Service(transport)
    finally:
        transport.close()


def inputs(name: str = "numbers", **spec: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "description": "Next number in a sequence",
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "hyperparameters": {"epochCount": 5, "batchSize": 4},
        "examples": NUMBER_EXAMPLES,
        "timeout": 3600,
        **spec,
    }
    model = ModelSpec.model_validate({k: v for k, v in raw.items() if v is not None})
    dataset = DatasetInfo.of(model.examples, None) if model.examples is not None else None
    return model_inputs("tuned-models", "test", name, model, dataset).to_inputs()


def test_create_submits_once_waits_for_active_and_records_the_training_spec(service: Service) -> None:
    model_id, outs = service.lifecycle.create(inputs())
    assert outs["state"] == "ACTIVE" and outs["tunedModelId"] == model_id
    assert outs["totalSteps"] == STEPS and outs["exampleCount"] == 15 and outs["backend"] == "gemini"
    assert outs["trainingSpec"] == {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "hyperparameters": {"epochCount": 5, "batchSize": 4},
        "datasetDigest": outs["datasetDigest"],
    }
    assert "examples" not in outs
    assert len(service.journal("CreateTunedModel")) == 1
    assert service.log.info_lines[0].startswith(f"numbers: submitted tunedModels/{model_id} (15 examples")
    assert service.log.info_lines[-1] == service.log.info_lines[-1].split(" (")[0] + (
        f" (step {STEPS}/{STEPS}, epoch 5/5, mean loss {outs['finalMeanLoss']:.4g})"
    )
    assert service.now[0] >= STEPS  # it waited (on the manual clock) until the last step


def test_an_interrupted_create_is_adopted_by_the_next_one_without_training_twice(service: Service) -> None:
    first = inputs()
    service.lifecycle.create({**first, "wait": False})  # submitted; the `up` "died" here
    model_id, outs = service.lifecycle.create(first)
    assert outs["state"] == "ACTIVE"
    # Found by its deterministic name: the dataset is not sent again.
    creates = service.journal("CreateTunedModel")
    assert [e["status"] for e in creates] == [200]
    assert any(line.endswith("(CREATING); adopting it") for line in service.log.info_lines)
    assert outs["lastChange"]["action"] == "adopted"
    assert [m.name for m in service.client.iter_tuned_models()] == [f"tunedModels/{model_id}"]


def test_a_create_answered_409_adopts_what_another_run_submitted_in_between(service: Service) -> None:
    first = inputs()
    service.lifecycle.create({**first, "wait": False})
    # The lookup misses it (as when another run submits between our lookup and our create).
    service.admin.post("/_emulator/faults", json={"method": "GetTunedModel", "status": 404, "count": 1})
    model_id, outs = service.lifecycle.create(first)
    assert outs["state"] == "ACTIVE"
    assert [e["status"] for e in service.journal("CreateTunedModel")] == [200, 409]
    assert [m.name for m in service.client.iter_tuned_models()] == [f"tunedModels/{model_id}"]


def test_adopting_an_earlier_submission_applies_the_values_declared_now(service: Service) -> None:
    service.lifecycle.create(inputs(displayName="first run", temperature=0.9, wait=False))  # the `up` died
    declared = inputs(displayName="second run", description="Counts up", temperature=0.2, topK=7)
    model_id, outs = service.lifecycle.create(declared)
    live = service.client.get_tuned_model(model_id)
    assert (live.displayName, live.description, live.temperature, live.topK) == (
        "second run",
        "Counts up",
        0.2,
        7,
    )
    assert (outs["displayName"], outs["description"], outs["temperature"], outs["topK"]) == (
        "second run",
        "Counts up",
        0.2,
        7,
    )
    assert (
        outs["state"] == "ACTIVE" and len(service.journal("CreateTunedModel")) == 1
    )  # found, not sent again
    [patch] = service.journal("UpdateTunedModel")
    assert set(patch["query"]["updateMask"].split(",")) == {
        "displayName",
        "description",
        "temperature",
        "topK",
    }
    assert any(
        line.endswith(f"displayName, description, temperature, topK of {live.name}")
        for line in service.log.info_lines
    )


def test_adopting_an_unchanged_earlier_submission_patches_nothing(service: Service) -> None:
    service.lifecycle.create(inputs(wait=False))
    service.lifecycle.create(inputs())
    assert service.journal("UpdateTunedModel") == []


class LoseAnswers(httpx.BaseTransport):
    """The emulator's transport, except that the first ``times`` answers to ``method path`` are
    lost after the service acted on the request (the connection drops on the way back)."""

    def __init__(self, inner: httpx.BaseTransport, method: str, path: str, times: int = 1) -> None:
        self._inner, self._method, self._path, self._left = inner, method, path, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if self._left and (request.method, request.url.path) == (self._method, self._path):
            self._left -= 1
            response.read()
            raise httpx.RemoteProtocolError("peer closed connection without a response", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


def test_a_create_whose_answer_is_lost_is_adopted_not_trained_twice() -> None:
    transport = LoseAnswers(embedded_transport(None, step_seconds=1.0), "POST", "/v1beta/tunedModels")
    try:
        service = Service(transport)
        model_id, outs = service.lifecycle.create(inputs())
        assert outs["state"] == "ACTIVE"
        assert [e["status"] for e in service.journal("CreateTunedModel")] == [200, 409]
        assert [m.name for m in service.client.iter_tuned_models()] == [f"tunedModels/{model_id}"]
        assert service.log.info_lines[0] == (
            f"numbers: submitted tunedModels/{model_id} (the service's answer was lost; found it)"
        )
        assert service.journal("UpdateTunedModel") == []  # its values are the declared ones
    finally:
        transport.close()


def test_a_failed_training_raises_and_the_next_create_deletes_it_and_trains_again(service: Service) -> None:
    service.admin.post("/_emulator/failures", json={"match": "numbers", "atPercent": 50, "message": "boom"})
    with pytest.raises(TuningFailed, match=r"numbers: tuning tunedModels/numbers-\w+ ended FAILED: boom"):
        service.lifecycle.create(inputs())
    service.admin.delete("/_emulator/failures").raise_for_status()
    model_id, outs = service.lifecycle.create(inputs())
    assert outs["state"] == "ACTIVE" and outs["name"] == f"tunedModels/{model_id}"
    assert service.log.warnings == [
        f"numbers: the previous attempt, tunedModels/{model_id}, FAILED (boom); "
        "deleting it and training again"
    ]
    calls = [e["status"] for e in service.journal("CreateTunedModel")]
    # Found by its name before any upload (no 409), deleted, then trained again.
    assert calls == [200, 200] and len(service.journal("DeleteTunedModel")) == 1


def test_the_timeout_leaves_the_model_training_and_an_update_resumes_the_wait(service: Service) -> None:
    with pytest.raises(WaitTimeout, match="still training after 5 s"):
        service.lifecycle.create(inputs(timeout=5))
    [model] = list(service.client.iter_tuned_models())
    olds = {"name": model.name, "tunedModelId": model.id, "state": "CREATING", "trainingSpec": {}}
    outs = service.lifecycle.update(model.id, olds, inputs())
    assert outs["state"] == "ACTIVE"
    assert len(service.journal("CreateTunedModel")) == 1


def test_update_patches_exactly_the_changed_fields(service: Service) -> None:
    model_id, outs = service.lifecycle.create(inputs())
    new = service.lifecycle.update(model_id, outs, inputs(description="Counts up", temperature=0.3))
    assert new["description"] == "Counts up" and new["temperature"] == pytest.approx(0.3)
    assert new["finalMeanLoss"] == outs["finalMeanLoss"]
    [patch] = service.journal("UpdateTunedModel")
    assert set(patch["query"]["updateMask"].split(",")) == {"description", "temperature"}


def test_read_of_a_model_deleted_behind_our_back_is_none_and_deleting_it_again_is_success(
    service: Service,
) -> None:
    model_id, outs = service.lifecycle.create(inputs())
    assert service.lifecycle.read(model_id, outs) == {**outs}
    service.client.delete_tuned_model(outs["name"])
    assert service.lifecycle.read(model_id, outs) is None
    service.lifecycle.delete(model_id, outs)
    assert len(service.journal("DeleteTunedModel")) == 1  # ours, out of band; none from the lifecycle


def test_deleting_a_model_still_training_cancels_its_training_first(service: Service) -> None:
    model_id, outs = service.lifecycle.create(inputs(wait=False))
    assert outs["state"] == "CREATING"
    service.lifecycle.delete(model_id, outs)
    assert [e["status"] for e in service.journal("CancelOperation")] == [200]
    assert list(service.client.iter_tuned_models()) == []
    assert service.log.info_lines[-1] == f"cancelled the tuning of tunedModels/{model_id}"


def test_adopt_takes_over_an_existing_model_and_patches_the_declared_fields(service: Service) -> None:
    model_id, _ = service.lifecycle.create(inputs("original"))
    adopted_id, outs = service.lifecycle.create(
        inputs("taker", examples=None, adopt=f"tunedModels/{model_id}", description="Taken over")
    )
    assert adopted_id == model_id and outs["description"] == "Taken over"
    assert len(service.journal("CreateTunedModel")) == 1
    with pytest.raises(RuntimeError, match="cannot adopt tunedModels/missing: it does not exist"):
        service.lifecycle.create(inputs("taker", examples=None, adopt="tunedModels/missing"))


# -- outages: ridden out up to the model's timeout, each retry reported -------------------------


def failures(service: Service) -> list[str]:
    return [line for line in service.log.info_lines if " failed (" in line]


def test_a_ten_minute_outage_while_training_is_ridden_out(service: Service) -> None:
    service.outage(start=5, seconds=600)  # forty times the retries one call makes
    _, outs = service.lifecycle.create(inputs())
    assert outs["state"] == "ACTIVE" and service.now[0] >= 605
    assert [e["status"] for e in service.journal("CreateTunedModel")] == [200]
    lines = failures(service)
    assert lines[0].startswith("numbers: reading the training's progress failed (503 UNAVAILABLE: ")
    assert all(re.search(r"\); next try in (\d+\.\d s|\d+ s|\dm\d\ds)$", line) for line in lines), lines
    assert max(service.sleeps) <= MAX_PAUSE * 1.2


def test_an_outage_while_submitting_is_ridden_out_and_trains_once(service: Service) -> None:
    service.outage(start=0, seconds=100)
    model_id, outs = service.lifecycle.create(inputs())
    assert outs["state"] == "ACTIVE" and service.now[0] >= 100
    assert [e["status"] for e in service.journal("CreateTunedModel")] == [200]
    assert failures(service)[0].startswith("numbers: submitting the training failed (503 UNAVAILABLE: ")
    assert [m.name for m in service.client.iter_tuned_models()] == [f"tunedModels/{model_id}"]


def test_a_429_asking_to_wait_120_s_is_honoured_within_the_timeout(service: Service) -> None:
    service.outage(start=0, seconds=1, method="GetOperation", status=429, retryAfter=120)
    _, outs = service.lifecycle.create(inputs())
    assert outs["state"] == "ACTIVE"
    assert 120.0 in service.sleeps and len(service.journal("GetOperation")) >= 2
    [line] = failures(service)
    assert "(the service asks to retry after 120 s)" in line and line.endswith("; next try in 2m00s")


def test_a_429_asking_to_wait_past_the_timeout_fails_naming_the_wait_and_the_next_up_adopts(
    service: Service,
) -> None:
    service.outage(start=0, seconds=1, method="GetOperation", status=429, retryAfter=120)
    with pytest.raises(OutageTimeout) as caught:
        service.lifecycle.create(inputs(timeout=60))
    message = str(caught.value)
    assert message.startswith("numbers: reading the training's progress failed (429 RESOURCE_EXHAUSTED: ")
    assert (
        "(the service asks to retry after 120 s)), a wait longer than the 60 s left of the timeout" in message
    )
    assert service.now[0] < 60  # it did not wait for nothing
    service.calm()
    _, outs = service.lifecycle.create(inputs(timeout=60))
    assert outs["state"] == "ACTIVE"
    assert [e["status"] for e in service.journal("CreateTunedModel")] == [
        200
    ]  # found by its name, not sent again


def test_an_outage_past_the_timeout_fails_saying_how_long_the_service_kept_failing(service: Service) -> None:
    service.outage(start=5, seconds=10_000)
    with pytest.raises(OutageTimeout, match=r"^numbers: reading the training's progress kept failing for "):
        service.lifecycle.create(inputs(timeout=300))
    assert 300 - MAX_PAUSE * 1.2 <= service.now[0] <= 300 + 60  # up to the timeout (and one call's retries)


def test_update_read_and_delete_ride_out_an_outage(service: Service) -> None:
    model_id, outs = service.lifecycle.create(inputs())
    service.outage(start=service.now[0], seconds=90)
    updated = service.lifecycle.update(model_id, outs, inputs(description="Counts up"))
    assert updated["description"] == "Counts up"
    service.outage(start=service.now[0], seconds=90)
    assert service.lifecycle.read(model_id, updated) == updated
    service.outage(start=service.now[0], seconds=90)
    service.lifecycle.delete(model_id, updated)
    assert list(service.client.iter_tuned_models()) == []
    steps = {line.split(" failed (")[0] for line in failures(service)}
    assert steps == {
        "numbers: updating description",
        f"tunedModels/{model_id}: reading it",
        f"tunedModels/{model_id}: deleting it",
    }


def test_an_error_that_waiting_cannot_fix_fails_at_once(service: Service) -> None:
    service.outage(start=0, seconds=10_000, status=400)
    with pytest.raises(InvalidArgument):
        service.lifecycle.create(inputs())
    assert service.sleeps == [] and failures(service) == []


def test_a_dataset_changed_after_check_is_refused_at_create(service: Service, tmp_path: Path) -> None:
    path = tmp_path / "numbers.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in NUMBER_EXAMPLES))
    spec = {k: v for k, v in inputs().items() if k != "examples"}
    spec["dataset"] = "numbers.jsonl"
    spec["datasetDigest"] = examples_digest(read_examples(path))
    path.write_text(path.read_text() + json.dumps({"textInput": "x", "output": "y"}) + "\n")
    with pytest.raises(RuntimeError, match="changed since the preview"):
        service.at(tmp_path).create(spec)
    assert service.journal("CreateTunedModel") == []
