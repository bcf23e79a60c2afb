"""The TunedModel lifecycle in process, on an embedded emulator with a manual clock.

The waiter's injected ``sleep`` advances the emulator's clock (its admin route), so a training
of many steps takes milliseconds, with the real lifecycle, backend, client and emulator. The
same behaviours through the real provider process are in tests/engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seed_examples import NUMBER_EXAMPLES
from tuned_models.backends.gemini.backend import GeminiBackend
from tuned_models.gemini import ApiKeyAuth, GeminiClient
from tuned_models.lifecycle import ModelLifecycle
from tuned_models.model.datasets import DatasetInfo, examples_digest, read_examples
from tuned_models.model.desired import model_inputs
from tuned_models.model.spec import ModelSpec
from tuned_models.waiter import TuningFailed, WaitTimeout
from tuned_models_emulator.embedded import embedded_transport

BASE_URL = "http://emulator.invalid"
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


@dataclass
class Service:
    admin: httpx.Client
    client: GeminiClient
    backend: GeminiBackend
    log: Lines
    lifecycle: ModelLifecycle
    now: list[float]
    sleep: Callable[[float], None]

    def at(self, root: Path) -> ModelLifecycle:
        """A lifecycle on the same service, clock and log, for the project at ``root``."""
        return ModelLifecycle(
            lambda _name: self.backend, root, self.log, clock=lambda: self.now[0], sleep=self.sleep
        )

    def journal(self, rpc: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.admin.get("/_emulator/journal").json()["requests"]
        return [e for e in entries if e.get("rpc") == rpc]


@pytest.fixture
def service() -> Iterator[Service]:
    transport = embedded_transport(None, step_seconds=1.0)
    admin = httpx.Client(transport=transport, base_url=BASE_URL)
    admin.post("/_emulator/clock", json={"mode": "manual"}).raise_for_status()
    client = GeminiClient(BASE_URL, ApiKeyAuth("me"), transport=transport)
    backend = GeminiBackend(client)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        admin.post("/_emulator/advance", json={"seconds": seconds}).raise_for_status()

    log = Lines()
    lifecycle = ModelLifecycle(lambda _name: backend, Path.cwd(), log, clock=lambda: now[0], sleep=sleep)
    try:
        yield Service(admin, client, backend, log, lifecycle, now, sleep)
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
