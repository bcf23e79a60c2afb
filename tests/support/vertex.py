"""Vertex AI on the emulator, for the engine and end-to-end suites and the benchmarks: the
provider config of a vertex stack, provider inputs built as the program builds them, and a
client of the emulator's Vertex AI, Model Registry and Cloud Storage routes (what a person would
see in the console, and how they would delete something behind Pulumi's back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.engine import PROVIDER, Emulator
from tests.support.harness import PROJECT_ROOT, PROVIDER_KEY
from tuned_models.backends import checks_for, fields_for
from tuned_models.backends.checks import DatasetRole, check_model
from tuned_models.config import Connection, VertexSettings
from tuned_models.model.desired import model_inputs
from tuned_models.model.spec import ModelSpec

__all__ = [
    "BUCKET",
    "LOCATION",
    "PROJECT",
    "TOKEN",
    "VertexEmulator",
    "vertex_config",
    "vertex_inputs",
]

PROJECT = "tuned-models-test"
LOCATION = "us-central1"
BUCKET = "gs://tuned-models-test/datasets"
TOKEN = "ya29.test-token-of-the-vertex-suites"
#: The shipped dataset the vertex models train on by default (126 examples).
DATASET = "stacks/datasets/support-tickets.jsonl"


def vertex_config(base_url: str, **vertex: str) -> dict[str, Any]:
    """The provider config of a vertex stack against the emulator at ``base_url``."""
    settings = {"project": PROJECT, "location": LOCATION, "bucket": BUCKET, **vertex}
    return {
        "tuned-models:backend": "vertex",
        "tuned-models:endpoint": base_url,
        "tuned-models:vertex": settings,
        "aws:region": "unrelated-config-is-ignored",
    }


def vertex_inputs(
    stack: str, name: str = "tickets", root: Path = PROJECT_ROOT, **spec: Any
) -> dict[str, Any]:
    """Provider inputs for a vertex model, built the way the program builds them (the datasets
    read and digested by the vertex backend's checks)."""
    raw: dict[str, Any] = {
        "displayName": "support ticket router",
        "description": "Routes a support message to one of six queues",
        "baseModel": "gemini-2.5-flash",
        "hyperparameters": {"epochCount": 2, "adapterSize": 4},
        "dataset": DATASET,
        "labels": {"team": "support"},
        "timeout": 120,
    }
    raw.update(spec)
    model = ModelSpec.model_validate({k: v for k, v in raw.items() if v is not None})
    connection = Connection(backend="vertex", vertex=VertexSettings(PROJECT, LOCATION, BUCKET))
    checked = check_model(model, fields_for("vertex"), checks_for("vertex"), connection, root)
    assert not checked.errors, checked.errors
    inputs = model_inputs(
        "tuned-models",
        stack,
        name,
        model,
        checked.datasets.get(DatasetRole.TRAINING),
        backend="vertex",
        validation=checked.datasets.get(DatasetRole.VALIDATION),
        evaluation=checked.evaluation,
    )
    return {**inputs.to_inputs(), PROVIDER_KEY: PROVIDER}


class VertexEmulator:
    """The emulator's Vertex AI and Cloud Storage, as a person with a token sees them."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = httpx.Client(
            base_url=emu.base_url, timeout=30.0, headers={"authorization": f"Bearer {TOKEN}"}
        )

    @property
    def parent(self) -> str:
        return f"/v1/projects/{PROJECT}/locations/{LOCATION}"

    def get(self, name: str) -> httpx.Response:
        return self.http.get(f"/v1/{name}")

    def items(self, collection: str, location: str = LOCATION) -> list[dict[str, Any]]:
        """Every tuning job, model or endpoint in ``location``."""
        r = self.http.get(
            f"/v1/projects/{PROJECT}/locations/{location}/{collection}", params={"pageSize": 1000}
        )
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json().get(collection, [])
        return found

    def jobs(self) -> list[dict[str, Any]]:
        return self.items("tuningJobs")

    def models(self) -> list[dict[str, Any]]:
        return self.items("models")

    def endpoints(self) -> list[dict[str, Any]]:
        return self.items("endpoints")

    def generate(self, endpoint: str, text: str) -> httpx.Response:
        body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        return self.http.post(f"/v1/{endpoint}:generateContent", json=body)

    def delete_endpoint(self, endpoint: str) -> None:
        """Undeploy whatever it serves, then delete it (``Endpoint.delete(force=True)``)."""
        deployed = self.get(endpoint).json().get("deployedModels", [])
        for d in deployed:
            r = self.http.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": d["id"]})
            assert r.status_code == 200, r.text
        r = self.http.delete(f"/v1/{endpoint}")
        assert r.status_code == 200, r.text

    def objects(self) -> list[str]:
        """The object names in the stack's bucket."""
        bucket = BUCKET.removeprefix("gs://").partition("/")[0]
        r = self.http.get(f"/storage/v1/b/{bucket}/o")
        if r.status_code == 404:
            return []
        assert r.status_code == 200, r.text
        return [o["name"] for o in r.json().get("items", [])]

    def journal(self, rpc: str) -> list[dict[str, Any]]:
        return self.emu.journal(rpc)
