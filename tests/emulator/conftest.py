"""Fixtures for the emulator's contract tests.

Every API test runs twice: against a real server on loopback (``serve_in_thread`` over a SQLite
file) and against the embedded httpx transport (in-memory store). Both backends live for the whole
session; each test starts from ``POST /_emulator/reset`` with the clock switched to manual, so
training only moves when a test calls ``Emu.advance``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seed_examples import NUMBER_EXAMPLES

DATA = Path(__file__).parent / "data"

OWNER_KEY = "owner-key"
"""The API key of the caller that creates models in most tests."""

ADMIN_TOKEN = "admin-token-of-the-test-servers"
"""The admin token of the servers these tests start (the in-process transport needs none)."""

STEP_SECONDS = 1.0
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
OPERATION_NAME = re.compile(r"^tunedModels/([a-z0-9-]+)/operations/[a-z0-9]{12}$")
METADATA_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata"
METADATA_TYPE_V1BETA3 = "type.googleapis.com/google.ai.generativelanguage.v1beta3.CreateTunedModelMetadata"
TUNED_MODEL_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel"

UNREGISTERED_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)

EXAMPLES: list[dict[str, str]] = NUMBER_EXAMPLES
"""The seeds' fifteen examples, in camelCase."""


def data_bytes(name: str) -> bytes:
    """A request body from tests/emulator/data, byte for byte (may not be valid JSON)."""
    return (DATA / name).read_bytes()


def data_json(name: str) -> dict[str, Any]:
    """A request body from tests/emulator/data that is valid JSON."""
    loaded: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return loaded


def model_body(
    display_name: str | None = "number generator",
    *,
    base_model: str = "models/gemini-1.0-pro-001",
    batch_size: int | None = 4,
    epoch_count: int | None = 5,
    learning_rate: float | None = 0.001,
    examples: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A camelCase CreateTunedModel body (the seeds' dataset unless ``examples`` is given)."""
    hyper: dict[str, Any] = {}
    if batch_size is not None:
        hyper["batchSize"] = batch_size
    if epoch_count is not None:
        hyper["epochCount"] = epoch_count
    if learning_rate is not None:
        hyper["learningRate"] = learning_rate
    task: dict[str, Any] = {
        "trainingData": {"examples": {"examples": examples if examples is not None else EXAMPLES}}
    }
    if hyper:
        task["hyperparameters"] = hyper
    body: dict[str, Any] = {"baseModel": base_model, "tuningTask": task}
    if display_name is not None:
        body["displayName"] = display_name
    body.update(extra)
    return body


def total_steps(examples: int, epochs: int, batch: int) -> int:
    """The service's step count: ceil(examples * epochs / batch)."""
    return math.ceil(examples * epochs / batch)


def expected_epoch(step: int, *, examples: int, epochs: int, batch: int) -> int:
    """The epoch the service reports at ``step``: min(epochs, floor(step * batch / examples))."""
    return min(epochs, step * batch // examples)


def assert_error(
    response: httpx.Response, code: int, status: str, message: str | None = None
) -> dict[str, Any]:
    """Assert a Google JSON error with the given HTTP code, status and (if given) message."""
    assert response.status_code == code, response.text
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "status", "details"}, error
    assert error["code"] == code
    assert error["status"] == status
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    if message is not None:
        assert error["message"] == message
    return error


def details_of(error: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
    """The ``error["details"]`` entries of ``@type`` ``type.googleapis.com/<type_name>``."""
    url = f"type.googleapis.com/{type_name}"
    return [d for d in error["details"] if d.get("@type") == url]


def model_id(name: str) -> str:
    """``tunedModels/abc`` or ``tunedModels/abc/operations/x`` -> ``abc``."""
    return name.split("/")[1]


@dataclass
class Emu:
    """One emulator backend plus helpers; ``http`` talks to both the API and the admin routes."""

    mode: str
    http: httpx.Client
    admin_headers: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = OWNER_KEY,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """An API request sending ``x-goog-api-key: key`` (no credentials if ``key`` is None)."""
        all_headers: dict[str, str] = {}
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        if key is not None:
            all_headers["x-goog-api-key"] = key
        all_headers.update(headers or {})
        return self.http.request(method, path, json=json, content=content, params=params, headers=all_headers)

    def admin_request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """An admin request under ``/_emulator``, with the admin token when the emulator has one."""
        return self.http.request(method, f"/_emulator/{path}", json=body, headers=self.admin_headers)

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """:meth:`admin_request`, asserting it succeeded."""
        response = self.admin_request(method, path, body)
        assert response.status_code == 200, response.text
        return response

    def reset(self) -> None:
        self.admin("POST", "reset")

    def manual_clock(self) -> None:
        self.admin("POST", "clock", {"mode": "manual"})

    def advance(self, *, steps: int | None = None, seconds: float | None = None) -> None:
        """Move the manual clock by ``steps`` training steps or by ``seconds``."""
        body: dict[str, Any] = {}
        if steps is not None:
            body["steps"] = steps
        if seconds is not None:
            body["seconds"] = seconds
        self.admin("POST", "advance", body)

    def register(self, key: str, email: str, groups: list[str] | None = None) -> None:
        """Tell the emulator who the caller with ``key`` is."""
        self.admin("POST", "callers", {"key": key, "email": email, "groups": groups or []})

    def create(
        self,
        body: dict[str, Any] | None = None,
        *,
        key: str = OWNER_KEY,
        version: str = "v1beta",
        tuned_model_id: str | None = None,
    ) -> dict[str, Any]:
        """CreateTunedModel; asserts 200 and returns the Operation."""
        params = {"tunedModelId": tuned_model_id} if tuned_model_id else None
        response = self.call(
            "POST", f"/{version}/tunedModels", key=key, json=body or model_body(), params=params
        )
        assert response.status_code == 200, response.text
        op: dict[str, Any] = response.json()
        return op

    def get_model(self, name: str, *, key: str = OWNER_KEY) -> dict[str, Any]:
        response = self.call("GET", f"/v1beta/{name}", key=key)
        assert response.status_code == 200, response.text
        model: dict[str, Any] = response.json()
        return model

    def get_operation(self, name: str, *, version: str = "v1") -> dict[str, Any]:
        response = self.call("GET", f"/{version}/{name}")
        assert response.status_code == 200, response.text
        op: dict[str, Any] = response.json()
        return op

    def finish(self, op: dict[str, Any]) -> dict[str, Any]:
        """Advance the clock past the end of training; returns the finished Operation."""
        self.advance(steps=op["metadata"]["totalSteps"] + 2)
        done = self.get_operation(op["name"])
        assert done.get("done") is True, done
        return done

    def active_model(self, body: dict[str, Any] | None = None, *, key: str = OWNER_KEY) -> dict[str, Any]:
        """Create a model and train it to the end; returns the ACTIVE TunedModel."""
        op = self.create(body, key=key)
        self.finish(op)
        model = self.get_model(op["metadata"]["tunedModel"], key=key)
        assert model["state"] == "ACTIVE", model
        return model


def admin_headers(mode: str) -> dict[str, str]:
    """What admin requests carry: the token for the test servers, nothing in process."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"} if mode == "server" else {}


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tuned_models_emulator.server import serve_in_thread

    state = tmp_path_factory.mktemp("server") / "emulator.sqlite"
    server = serve_in_thread(state, step_seconds=STEP_SECONDS, admin_token=ADMIN_TOKEN)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server_client(emulator_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_server.base_url, timeout=10.0) as client:
        yield client


def _embedded(api_keys: tuple[str, ...] = (), tokens: tuple[str, ...] = ()) -> Iterator[httpx.Client]:
    """A client over an in-memory embedded emulator, closed afterwards."""
    from tuned_models_emulator.embedded import embedded_transport

    transport = embedded_transport(None, step_seconds=STEP_SECONDS, api_keys=api_keys, tokens=tokens)
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid", timeout=10.0) as client:
            yield client
    finally:
        transport.close()


@pytest.fixture(scope="session")
def embedded_client() -> Iterator[httpx.Client]:
    yield from _embedded()


@pytest.fixture(params=["server", "embedded"])
def emu(request: pytest.FixtureRequest) -> Iterator[Emu]:
    """A clean emulator (reset, manual clock) on either backend."""
    client: httpx.Client = request.getfixturevalue(f"{request.param}_client")
    backend = Emu(mode=request.param, http=client, admin_headers=admin_headers(request.param))
    backend.reset()
    backend.manual_clock()
    yield backend
    backend.admin_request("DELETE", "faults")
    backend.admin_request("POST", "reset")


CONFIGURED_KEYS = ("good-key", "alice-key=alice@example.com")
CONFIGURED_TOKENS = ("good-token", "dana-token=dana@example.com")


@pytest.fixture(scope="module")
def keyed_server_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from tuned_models_emulator.server import serve_in_thread

    state = tmp_path_factory.mktemp("keyed") / "emulator.sqlite"
    server = serve_in_thread(
        state,
        step_seconds=STEP_SECONDS,
        api_keys=CONFIGURED_KEYS,
        tokens=CONFIGURED_TOKENS,
        admin_token=ADMIN_TOKEN,
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def keyed_embedded_client() -> Iterator[httpx.Client]:
    yield from _embedded(CONFIGURED_KEYS, CONFIGURED_TOKENS)


@pytest.fixture(params=["server", "embedded"])
def keyed_emu(request: pytest.FixtureRequest) -> Iterator[Emu]:
    """An emulator configured with API keys ``good-key`` and ``alice-key=alice@example.com`` and
    bearer tokens ``good-token`` and ``dana-token=dana@example.com``."""
    client: httpx.Client = request.getfixturevalue(f"keyed_{request.param}_client")
    backend = Emu(mode=request.param, http=client, admin_headers=admin_headers(request.param))
    backend.reset()
    backend.manual_clock()
    yield backend
    backend.admin_request("POST", "reset")
