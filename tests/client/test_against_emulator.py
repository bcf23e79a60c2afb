"""Every client method against the emulator: embedded (``connect("embedded")``) and over a socket
(``serve_in_thread`` + ``connect(url)``), including injected faults. Retries sleep through a fake
``sleep`` that records the waits; the emulator's clock is manual, so training moves only when a
test advances it.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seed_examples import NUMBER_EXAMPLES
from tuned_models.gemini import (
    EMBEDDED_BASE_URL,
    LOCAL_CALLER_KEY,
    AlreadyExists,
    FailedPrecondition,
    GeminiClient,
    GranteeType,
    InvalidArgument,
    NotFound,
    Operation,
    ResourceExhausted,
    RetryPolicy,
    Role,
    TransportFailure,
    TunedModelState,
    Unavailable,
    close_embedded_transports,
    connect,
    embedded_transport,
)
from tuned_models.project import STATE_DIR_NAME

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
EXAMPLES = NUMBER_EXAMPLES
ME = "me@example.com"
BOB = "bob@example.com"


def model_body(display_name: str = "number generator", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModel": BASE_MODEL,
        "displayName": display_name,
        "tuningTask": {
            "hyperparameters": {"batchSize": 4, "epochCount": 5, "learningRate": 0.001},
            "trainingData": {"examples": {"examples": EXAMPLES}},
        },
    }
    body.update(extra)
    return body


STEPS = math.ceil(len(EXAMPLES) * 5 / 4)


@dataclass
class Backend:
    mode: str
    client: GeminiClient
    admin_http: httpx.Client
    sleeps: list[float]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.admin_http.request(method, f"/_emulator/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    def advance(self, steps: int) -> None:
        self.admin("POST", "advance", {"steps": steps})

    def fault(self, **fault: Any) -> None:
        self.admin("POST", "faults", fault)

    def journal(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = self.admin("GET", "journal")["requests"]
        return requests

    def trained(self, tuned_model_id: str, display_name: str = "number generator") -> str:
        operation = self.client.create_tuned_model(model_body(display_name), tuned_model_id)
        self.advance(STEPS + 2)
        return operation.tuned_model_name


@pytest.fixture(scope="module")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tuned_models_emulator.server import serve_in_thread

    server = serve_in_thread(tmp_path_factory.mktemp("client-server") / "emulator.sqlite")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["embedded", "server"])
def emu(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    sleeps: list[float] = []
    if request.param == "embedded":
        client = connect(
            "embedded", project_root=tmp_path, emulator_step_seconds=1.0, environ={}, sleep=sleeps.append
        )
        state_dir = tmp_path / STATE_DIR_NAME
        admin_http = httpx.Client(transport=embedded_transport(state_dir), base_url=EMBEDDED_BASE_URL)
    else:
        server = request.getfixturevalue("emulator_server")
        client = connect(server.base_url, environ={}, sleep=sleeps.append)
        admin_http = httpx.Client(base_url=server.base_url, timeout=10.0)
    backend = Backend(request.param, client, admin_http, sleeps)
    backend.admin("POST", "reset")
    backend.admin("POST", "clock", {"mode": "manual"})
    try:
        yield backend
    finally:
        admin_http.request("DELETE", "/_emulator/faults")
        client.close()
        admin_http.close()
        if request.param == "embedded":
            close_embedded_transports(tmp_path / STATE_DIR_NAME)


# --- tuned models -------------------------------------------------------------------------------


def test_create_with_id_trains_to_active(emu: Backend) -> None:
    operation = emu.client.create_tuned_model(model_body(), tuned_model_id="number-gen")
    assert isinstance(operation, Operation)
    assert operation.name.startswith("tunedModels/number-gen/operations/")
    assert operation.tuned_model_name == "tunedModels/number-gen"
    assert operation.metadata is not None and operation.metadata.totalSteps == STEPS
    assert not operation.done

    creating = emu.client.get_tuned_model("number-gen")
    assert creating.state is TunedModelState.CREATING
    assert creating.baseModel == BASE_MODEL and creating.displayName == "number generator"

    emu.advance(3)
    progress = emu.client.get_operation(operation.name)
    assert progress.metadata is not None and progress.metadata.completedSteps == 3
    assert not progress.done

    emu.advance(STEPS)
    done = emu.client.get_operation(operation.name)
    assert done.done and done.error is None
    assert done.response is not None and done.response.state is TunedModelState.ACTIVE

    active = emu.client.get_tuned_model("tunedModels/number-gen")
    assert active.state is TunedModelState.ACTIVE
    assert active.tuningTask is not None and active.tuningTask.completeTime is not None
    assert active.tuningTask.snapshots[-1].step == STEPS
    assert active.tuningTask.hyperparameters is not None
    assert active.tuningTask.hyperparameters.batchSize == 4


def test_create_without_id_names_the_model_from_its_display_name(emu: Backend) -> None:
    operation = emu.client.create_tuned_model(model_body("Sentence Translator"))
    assert operation.tuned_model_name.startswith("tunedModels/sentence-translator-")
    assert emu.client.get_tuned_model(operation.tuned_model_name).id.startswith("sentence-translator-")


def test_create_taken_id_is_already_exists_on_first_attempt(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "taken")
    with pytest.raises(AlreadyExists) as caught:
        emu.client.create_tuned_model(model_body(), "taken")
    assert caught.value.code == 409 and caught.value.attempts == 1
    assert "taken" in caught.value.message


def test_get_missing_model_is_not_found_with_the_service_message(emu: Backend) -> None:
    with pytest.raises(NotFound) as caught:
        emu.client.get_tuned_model("never-made")
    assert str(caught.value) == "404 NOT_FOUND: Tuned model tunedModels/never-made does not exist."


def test_create_from_unknown_base_model_is_not_found(emu: Backend) -> None:
    with pytest.raises(NotFound):
        emu.client.create_tuned_model(model_body(baseModel="models/no-such-model"), "orphan")


def test_create_with_both_learning_rates_is_invalid_argument(emu: Backend) -> None:
    body = model_body()
    body["tuningTask"]["hyperparameters"]["learningRateMultiplier"] = 1.0
    with pytest.raises(InvalidArgument) as caught:
        emu.client.create_tuned_model(body, "both-rates")
    assert caught.value.status == "INVALID_ARGUMENT" and caught.value.message


def test_list_pages_and_iterates_every_model(emu: Backend) -> None:
    for index in range(3):
        emu.client.create_tuned_model(model_body(f"listed {index}"), f"listed-{index}")
    first, token = emu.client.list_tuned_models(page_size=2)
    assert len(first) == 2 and token
    second, last_token = emu.client.list_tuned_models(page_size=2, page_token=token)
    assert len(second) == 1 and last_token is None
    names = {m.name for m in first + second}
    assert names == {f"tunedModels/listed-{i}" for i in range(3)}
    assert {m.name for m in emu.client.iter_tuned_models(page_size=1)} == names


def test_update_patches_masked_fields_only(emu: Backend) -> None:
    name = emu.trained("patched")
    updated = emu.client.update_tuned_model(
        name,
        {"description": "Next number", "temperature": 0.3, "displayName": "ignored"},
        ["description", "temperature"],
    )
    assert updated.description == "Next number"
    assert updated.temperature == pytest.approx(0.3)
    assert updated.displayName == "number generator"
    assert emu.client.get_tuned_model(name).description == "Next number"


def test_update_rejects_an_empty_mask_locally(emu: Backend) -> None:
    with pytest.raises(ValueError):
        emu.client.update_tuned_model("x", {"description": "d"}, [])


def test_delete_then_get_is_not_found(emu: Backend) -> None:
    name = emu.trained("short-lived")
    emu.client.delete_tuned_model(name)
    with pytest.raises(NotFound):
        emu.client.get_tuned_model(name)
    with pytest.raises(NotFound):
        emu.client.delete_tuned_model(name)


# --- operations ---------------------------------------------------------------------------------


def test_list_operations_and_cancel(emu: Backend) -> None:
    operation = emu.client.create_tuned_model(model_body(), "cancel-me")
    listed = emu.client.list_operations("cancel-me")
    assert [op.name for op in listed] == [operation.name]
    emu.advance(2)
    emu.client.cancel_operation(operation.name)
    cancelled = emu.client.get_operation(operation.name)
    assert cancelled.done and cancelled.response is None
    assert cancelled.error is not None and cancelled.error.code == 1
    emu.client.cancel_operation(operation.name)  # safe to repeat


def test_missing_operation_is_not_found(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "has-ops")
    with pytest.raises(NotFound):
        emu.client.get_operation("tunedModels/has-ops/operations/zzzzzzzzzzzz")


# --- permissions --------------------------------------------------------------------------------


def test_permissions_share_update_and_revoke(emu: Backend) -> None:
    emu.admin("POST", "callers", {"key": LOCAL_CALLER_KEY, "email": ME})
    name = emu.trained("shared")
    owners = emu.client.list_permissions(name)
    assert [(p.role, p.emailAddress) for p in owners] == [(Role.OWNER, ME)]

    reader = emu.client.create_permission(
        name, grantee_type=GranteeType.USER, email_address=BOB, role="READER"
    )
    assert (reader.granteeType, reader.role, reader.emailAddress) == (GranteeType.USER, Role.READER, BOB)
    assert reader.name.startswith(f"{name}/permissions/")
    assert emu.client.get_permission(reader.name) == reader

    writer = emu.client.update_permission(reader.name, Role.WRITER)
    assert writer.role is Role.WRITER and writer.name == reader.name

    everyone = emu.client.create_permission(name, grantee_type="EVERYONE", role=Role.READER)
    assert everyone.granteeType is GranteeType.EVERYONE and everyone.emailAddress is None

    assert len(emu.client.list_permissions(name)) == 3
    emu.client.delete_permission(reader.name)
    with pytest.raises(NotFound):
        emu.client.get_permission(reader.name)
    assert {p.name for p in emu.client.list_permissions("shared")} == {owners[0].name, everyone.name}


def test_transfer_ownership_leaves_the_caller_a_writer(emu: Backend) -> None:
    emu.admin("POST", "callers", {"key": LOCAL_CALLER_KEY, "email": ME})
    name = emu.trained("handed-over")
    emu.client.transfer_ownership(name, BOB)
    roles = {p.emailAddress: p.role for p in emu.client.list_permissions(name)}
    assert roles == {BOB: Role.OWNER, ME: Role.WRITER}


# --- inference and base models ------------------------------------------------------------------


def test_generate_content_on_an_active_model(emu: Backend) -> None:
    name = emu.trained("inference")
    assert emu.client.generate_content(name, "twenty two").text == "twenty three"
    assert emu.client.generate_content("inference", "ninety nine").text == "one hundred"


def test_generate_content_while_creating_is_failed_precondition(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "still-training")
    with pytest.raises(FailedPrecondition) as caught:
        emu.client.generate_content("still-training", "1")
    assert caught.value.code == 400


def test_base_models(emu: Backend) -> None:
    models = emu.client.list_models()
    assert BASE_MODEL in {m.name for m in models}
    tunable = emu.client.get_model("gemini-1.5-flash-001-tuning")
    assert tunable.name == BASE_MODEL and tunable.tunable
    with pytest.raises(NotFound):
        emu.client.get_model("models/no-such-model")


# --- faults and retries -------------------------------------------------------------------------


def test_429_with_retry_after_then_success(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "rate-limited")
    emu.fault(method="GetTunedModel", status=429, rate=1.0, count=1, retryAfter=3)
    assert emu.client.get_tuned_model("rate-limited").name == "tunedModels/rate-limited"
    assert len(emu.sleeps) == 1 and 3.0 <= emu.sleeps[0] <= 3.6  # at least what was asked, +jitter


def test_503_twice_then_success_backs_off(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "flaky")
    emu.fault(method="GetTunedModel", status=503, rate=1.0, count=2)
    assert emu.client.get_tuned_model("flaky").name == "tunedModels/flaky"
    assert len(emu.sleeps) == 2
    assert 0.8 <= emu.sleeps[0] <= 1.2 and 1.6 <= emu.sleeps[1] <= 2.4


def test_dropped_connection_then_success_for_get(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "dropped")
    emu.fault(method="GetTunedModel", drop=True, rate=1.0, count=1)
    assert emu.client.get_tuned_model("dropped").name == "tunedModels/dropped"
    assert len(emu.sleeps) == 1


def test_dropped_connection_on_create_without_id_is_not_retried(emu: Backend) -> None:
    emu.fault(method="CreateTunedModel", drop=True, rate=1.0, count=1)
    with pytest.raises(TransportFailure) as caught:
        emu.client.create_tuned_model(model_body())
    assert caught.value.attempts == 1 and caught.value.method == "POST"
    assert caught.value.path == "/v1beta/tunedModels"
    assert emu.sleeps == []


def test_503_on_create_with_id_is_retried(emu: Backend) -> None:
    emu.fault(method="CreateTunedModel", status=503, rate=1.0, count=1)
    operation = emu.client.create_tuned_model(model_body(), "retried-create")
    assert operation.tuned_model_name == "tunedModels/retried-create"
    assert len(emu.sleeps) == 1


def test_503_on_create_without_id_is_not_retried(emu: Backend) -> None:
    emu.fault(method="CreateTunedModel", status=503, rate=1.0, count=1)
    with pytest.raises(Unavailable):
        emu.client.create_tuned_model(model_body())
    assert emu.sleeps == []
    assert emu.client.list_tuned_models()[0] == []


def test_persistent_429_gives_up_as_resource_exhausted(emu: Backend) -> None:
    emu.fault(method="ListTunedModels", status=429, rate=1.0, retryAfter=1)
    with pytest.raises(ResourceExhausted) as caught:
        emu.client.list_tuned_models()
    assert caught.value.attempts == RetryPolicy().attempts
    assert len(emu.sleeps) == RetryPolicy().attempts - 1
    assert all(s >= 1.0 for s in emu.sleeps)  # never sooner than the service asked
    assert emu.sleeps[-1] >= 8 * 0.8  # and backing off as usual beyond that


# --- secrets and concurrency --------------------------------------------------------------------


def test_the_api_key_never_reaches_the_journal_or_errors(emu: Backend, tmp_path: Path) -> None:
    secret = "journal-secret-key-42"
    if emu.mode == "embedded":
        client = connect("embedded", project_root=tmp_path, api_key=secret, environ={})
    else:
        client = connect(str(emu.admin_http.base_url), api_key=secret, environ={})
    with client, pytest.raises(NotFound) as caught:
        client.get_tuned_model("missing")
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert secret not in repr(client)
    journal = json.dumps(emu.journal())
    assert "GetTunedModel" in journal and secret not in journal


def test_one_client_serves_many_threads(emu: Backend) -> None:
    emu.client.create_tuned_model(model_body(), "busy")
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(5):
                name = emu.client.get_tuned_model("busy").name
                with lock:
                    results.append(name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == ["tunedModels/busy"] * 40


def test_unreachable_server_is_a_transport_failure_after_retries() -> None:
    sleeps: list[float] = []
    client = GeminiClient(
        "http://127.0.0.1:9", None, retry=RetryPolicy(attempts=3), sleep=sleeps.append, timeout=5.0
    )
    with client, pytest.raises(TransportFailure) as caught:
        client.get_tuned_model("anything")
    assert caught.value.error_class == "ConnectError"
    assert caught.value.attempts == 3 and len(sleeps) == 2
    assert str(caught.value).startswith("ConnectError: GET /v1beta/tunedModels/anything: ")


def test_slow_answer_times_out_and_a_get_is_retried(emulator_server: Any) -> None:
    """Over a socket the client's timeout is real: a 1 s answer against a 0.2 s timeout."""
    sleeps: list[float] = []
    with httpx.Client(base_url=emulator_server.base_url, timeout=10.0) as admin:
        admin.post("/_emulator/reset")
        client = connect(emulator_server.base_url, environ={}, timeout=0.2, sleep=sleeps.append)
        with client:
            client.create_tuned_model(model_body(), "slow")
            fault = {"method": "GetTunedModel", "latencyMs": 1000, "rate": 1.0, "count": 1}
            assert admin.post("/_emulator/faults", json=fault).status_code == 200
            assert client.get_tuned_model("slow").name == "tunedModels/slow"
        assert len(sleeps) == 1
        journal = admin.get("/_emulator/journal").json()["requests"]
        assert [r["rpc"] for r in journal].count("GetTunedModel") >= 1
        admin.delete("/_emulator/faults")


def test_the_embedded_transport_honours_the_call_timeout(tmp_path: Path) -> None:
    client = connect(
        "embedded", project_root=tmp_path, environ={}, timeout=0.3, retry=RetryPolicy(attempts=1)
    )
    admin = httpx.Client(transport=embedded_transport(tmp_path / ".tuned-models"), base_url="http://x")
    admin.post("/_emulator/faults", json={"method": "ListModels", "latencyMs": 3000, "rate": 1.0})
    with pytest.raises(TransportFailure) as caught:
        client.list_models()
    assert caught.value.error_class == "ReadTimeout"
