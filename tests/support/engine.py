"""The engine suites' emulator client and provider inputs (shared with the benchmarks)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.seed_examples import NUMBER_EXAMPLES
from tests.support.harness import PROVIDER_KEY, secret, serialize_provider
from tuned_models.model.datasets import DatasetInfo, evaluation_info, read_examples
from tuned_models.model.desired import model_inputs
from tuned_models.model.spec import ModelSpec
from tuned_models.tokens import TUNED_MODEL_TYPE
from tuned_models.tuned_model import TunedModelProvider
from tuned_models_emulator.server import serve_in_thread

__all__ = [
    "API_KEY",
    "PROVIDER",
    "TUNED_MODEL",
    "Emulator",
    "config_for",
    "fresh",
    "inputs",
    "running_emulator",
]


#: A key that is easy to search for in everything the provider writes.
API_KEY = "AQ.test-key-" + secrets.token_hex(8)
TUNED_MODEL = TUNED_MODEL_TYPE


class Emulator:
    """The emulator server under test and an admin/API client for it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30.0)

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.http.request(method, f"/_emulator/{path}", json=body)
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    def api(
        self, method: str, path: str, body: dict[str, Any] | None = None, key: str = API_KEY
    ) -> httpx.Response:
        return self.http.request(method, path, json=body, headers={"x-goog-api-key": key})

    def journal(self, rpc: str | None = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.admin("GET", "journal")["requests"]
        return [e for e in entries if rpc is None or e.get("rpc") == rpc]

    def models(self) -> list[dict[str, Any]]:
        r = self.api("GET", "/v1beta/tunedModels?pageSize=1000")
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json().get("tunedModels", [])
        return result


@contextmanager
def running_emulator(step_seconds: float) -> Iterator[Emulator]:
    """An emulator server on loopback (state in memory) for the duration of the block."""
    server = serve_in_thread(step_seconds=step_seconds)
    try:
        yield Emulator(server.base_url)
    finally:
        server.stop()


def fresh(emu: Emulator, step_seconds: float) -> Emulator:
    """``emu`` reset (no models, faults or journal) with ``step_seconds`` per training step."""
    emu.admin("POST", "reset")
    emu.admin("PATCH", "settings", {"stepSeconds": step_seconds})
    return emu


def config_for(base_url: str) -> dict[str, Any]:
    return {
        "tuned-models:endpoint": base_url,
        "tuned-models:apiKey": secret(API_KEY),
        "aws:region": "unrelated-config-is-ignored",
    }


PROVIDER = serialize_provider(TunedModelProvider())


def inputs(stack: str, name: str = "numbers", **spec: Any) -> dict[str, Any]:
    """Provider inputs for a model, built the way the program builds them."""
    raw: dict[str, Any] = {
        "displayName": "number generator",
        "description": "Next number in a sequence",
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001},
        "examples": NUMBER_EXAMPLES,
        "timeout": 120,
    }
    raw.update(spec)
    raw = {k: v for k, v in raw.items() if v is not None}
    model = ModelSpec.model_validate(raw)
    if model.examples is not None:
        dataset: DatasetInfo | None = DatasetInfo.of(model.examples, None)
    else:
        dataset = DatasetInfo.of(read_examples(Path(model.dataset)), model.dataset) if model.dataset else None
    gate = evaluation_info(model, Path.cwd())
    built = model_inputs("tuned-models", stack, name, model, dataset, evaluation=gate)
    return {**built.to_inputs(), PROVIDER_KEY: PROVIDER}
