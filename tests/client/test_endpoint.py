"""tuned_models.gemini.endpoint: tuned-models:endpoint -> client (URL, public service, embedded)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuned_models.gemini import (
    EMBEDDED_BASE_URL,
    LOCAL_CALLER_KEY,
    PUBLIC_BASE_URL,
    ApiKeyAuth,
    CredentialsMissing,
    close_embedded_transports,
    connect,
    embedded_transport,
)
from tuned_models.rest import endpoint as endpoint_module


def _sent_key(client: Any) -> str | None:
    auth = client._core.auth
    assert isinstance(auth, ApiKeyAuth)
    request = next(auth.sync_auth_flow(httpx.Request("GET", "http://x.test/")))
    key: str | None = request.headers.get("x-goog-api-key")
    return key


@pytest.mark.parametrize("endpoint", [None, "", "  "])
def test_no_endpoint_is_the_public_service(endpoint: str | None) -> None:
    with connect(endpoint, environ={"GEMINI_API_KEY": "k"}) as client:
        assert client.base_url == PUBLIC_BASE_URL
        assert _sent_key(client) == "k"


def test_url_endpoint_is_used_as_given_without_trailing_slash() -> None:
    with connect("https://gemini.example.test/", api_key="k", environ={}) as client:
        assert client.base_url == "https://gemini.example.test"


@pytest.mark.parametrize("endpoint", ["ftp://x", "localhost:8471", "embeded", "http://"])
def test_bad_endpoint_is_a_value_error_naming_the_setting(endpoint: str) -> None:
    with pytest.raises(ValueError, match="tuned-models:endpoint"):
        connect(endpoint, api_key="k", environ={})


def test_loopback_emulator_url_without_key_uses_the_local_caller_key() -> None:
    with connect("http://127.0.0.1:8471", environ={}) as client:
        assert _sent_key(client) == LOCAL_CALLER_KEY


def test_loopback_emulator_url_with_env_key_sends_that_key() -> None:
    with connect("http://localhost:8471", environ={"GOOGLE_API_KEY": "mine"}) as client:
        assert _sent_key(client) == "mine"


def test_remote_endpoint_without_credentials_raises_credentials_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth
    import google.auth.exceptions

    def no_adc(**kwargs: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", no_adc)
    with pytest.raises(CredentialsMissing):
        connect(None, environ={})


class FakeTransport(httpx.BaseTransport):
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.closed = False
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.url.host} {request.headers.get('x-goog-api-key')}")
        return httpx.Response(200, json={"name": "tunedModels/m"})

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeTransport]]:
    made: list[FakeTransport] = []

    def factory(**kwargs: Any) -> FakeTransport:
        made.append(FakeTransport(**kwargs))
        return made[-1]

    monkeypatch.setattr(endpoint_module, "_load_entry_point", lambda name: factory)
    close_embedded_transports()
    yield made
    close_embedded_transports()


def test_embedded_is_created_once_per_state_dir_and_shared(
    tmp_path: Path, fake_emulator: list[FakeTransport]
) -> None:
    clients = []

    def open_client() -> None:
        clients.append(connect("embedded", project_root=tmp_path, emulator_step_seconds=0.5, environ={}))

    threads = [threading.Thread(target=open_client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_emulator) == 1
    transport = fake_emulator[0]
    assert transport.kwargs == {"state_dir": (tmp_path / ".tuned-models").resolve(), "step_seconds": 0.5}
    assert (tmp_path / ".tuned-models").is_dir()
    clients[0].get_tuned_model("m")
    assert transport.seen == [f"{httpx.URL(EMBEDDED_BASE_URL).host} {LOCAL_CALLER_KEY}"]
    # closing one client leaves the shared emulator running for the others
    clients[0].close()
    assert not transport.closed
    assert clients[1].get_tuned_model("m").name == "tunedModels/m"
    for client in clients[1:]:
        client.close()
    other = connect("embedded", project_root=tmp_path / "other", environ={})
    assert len(fake_emulator) == 2 and fake_emulator[1].kwargs["step_seconds"] == 1.0
    other.close()
    close_embedded_transports()
    assert transport.closed and fake_emulator[1].closed


def test_embedded_uses_a_configured_key(tmp_path: Path, fake_emulator: list[FakeTransport]) -> None:
    with connect("embedded", project_root=tmp_path, api_key="configured", environ={}) as client:
        client.get_tuned_model("m")
    assert fake_emulator[0].seen[0].endswith(" configured")


def test_missing_entry_point_is_a_clear_runtime_error() -> None:
    with pytest.raises(RuntimeError, match=r"tuned_models\.embedded"):
        endpoint_module._load_entry_point("no-such-entry-point")


def test_embedded_transport_function_returns_a_shared_view(
    tmp_path: Path, fake_emulator: list[FakeTransport]
) -> None:
    first = embedded_transport(tmp_path)
    second = embedded_transport(tmp_path / ".")
    first.close()
    assert len(fake_emulator) == 1 and not fake_emulator[0].closed
    assert first is not second
