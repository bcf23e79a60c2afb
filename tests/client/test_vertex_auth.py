"""tuned_models.vertex.auth and .endpoint: where credentials come from, how they are sent, that
tokens never leak, and which endpoint each tuned-models:endpoint value selects."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import google.auth.exceptions
import httpx
import pytest

from tuned_models.gemini import EMBEDDED_BASE_URL, close_embedded_transports
from tuned_models.gemini import connect as gemini_connect
from tuned_models.gemini.auth import OAuthAuth
from tuned_models.rest import endpoint as rest_endpoint
from tuned_models.rest.endpoint import resolve_endpoint
from tuned_models.rest.errors import CredentialsMissing, TransportFailure, Unauthenticated
from tuned_models.rest.retry import RetryPolicy
from tuned_models.vertex.auth import CLOUD_PLATFORM_SCOPE, AccessTokenAuth, resolve_auth
from tuned_models.vertex.client import VertexClient
from tuned_models.vertex.endpoint import LOCAL_CALLER_TOKEN, connect, connect_storage
from tuned_models.vertex.storage import StorageClient

TOKEN = "ya29.a0-secret-token-0123456789"


def _no_adc(**kwargs: Any) -> tuple[Any, str | None]:
    raise google.auth.exceptions.DefaultCredentialsError("no ADC here")  # type: ignore[no-untyped-call]


class FakeCredentials:
    def __init__(self, quota_project_id: str | None = None) -> None:
        self.token: str | None = None
        self.valid = False
        self.quota_project_id = quota_project_id
        self.refreshes = 0
        self._lock = threading.Lock()

    def refresh(self, request: Any) -> None:
        with self._lock:
            self.refreshes += 1
            self.token = f"adc-token-{self.refreshes}"
            self.valid = True


def _sent(auth: httpx.Auth | None) -> httpx.Request:
    assert auth is not None
    return next(
        auth.sync_auth_flow(httpx.Request("GET", "https://us-central1-aiplatform.googleapis.com/v1/x"))
    )


def test_the_access_token_variable_comes_first() -> None:
    def adc(**kwargs: Any) -> tuple[Any, str | None]:
        raise AssertionError("ADC must not be consulted")

    auth = resolve_auth("billing-proj", {"GOOGLE_OAUTH_ACCESS_TOKEN": f" {TOKEN}\n"}, default_credentials=adc)
    sent = _sent(auth)
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["x-goog-user-project"] == "billing-proj"


def test_adc_with_the_cloud_platform_scope_and_quota_project() -> None:
    calls: list[dict[str, Any]] = []

    def adc(**kwargs: Any) -> tuple[Any, str | None]:
        calls.append(kwargs)
        return FakeCredentials(kwargs.get("quota_project_id")), "proj"

    auth = resolve_auth("billing-proj", {"GOOGLE_OAUTH_ACCESS_TOKEN": "  "}, default_credentials=adc)
    assert isinstance(auth, OAuthAuth)
    assert calls == [{"scopes": [CLOUD_PLATFORM_SCOPE], "quota_project_id": "billing-proj"}]
    sent = _sent(auth)
    assert sent.headers["authorization"] == "Bearer adc-token-1"
    assert sent.headers["x-goog-user-project"] == "billing-proj"


def test_no_credentials_says_how_to_provide_them() -> None:
    with pytest.raises(CredentialsMissing) as caught:
        resolve_auth(None, {}, default_credentials=_no_adc)
    message = str(caught.value)
    assert "GOOGLE_OAUTH_ACCESS_TOKEN" in message and "gcloud auth application-default login" in message


def test_an_access_token_never_shows_and_never_pickles() -> None:
    auth = AccessTokenAuth(TOKEN, "q")
    assert TOKEN not in repr(auth) and TOKEN not in str(auth)
    with pytest.raises(TypeError):
        pickle.dumps(auth)
    client = VertexClient("p", "us-central1", auth)
    assert TOKEN not in repr(client)
    client.close()
    with pytest.raises(ValueError):
        AccessTokenAuth(" ")


def test_a_token_echoed_by_the_service_is_redacted_from_the_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        body = {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": f"token {token} expired"}}
        return httpx.Response(401, json=body)

    with (
        VertexClient(
            "p", "us-central1", AccessTokenAuth(TOKEN), transport=httpx.MockTransport(handler)
        ) as client,
        pytest.raises(Unauthenticated) as caught,
    ):
        client.get_tuning_job("1")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert "token <redacted> expired" in str(caught.value)


def test_a_transport_failure_names_the_call_but_not_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending {request.headers['authorization']}", request=request)

    client = VertexClient(
        "p",
        "us-central1",
        AccessTokenAuth(TOKEN),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(TransportFailure) as caught:
        client.get_tuning_job("1")
    assert TOKEN not in str(caught.value)
    assert caught.value.path == "/v1/projects/p/locations/us-central1/tuningJobs/1"
    client.close()


# -- endpoints ---------------------------------------------------------------------------------


def test_public_endpoint_needs_credentials_and_a_project(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GOOGLE_CLOUD_PROJECT"):
        connect(None, location="us-central1", environ={})
    with pytest.raises(ValueError, match="GOOGLE_CLOUD_LOCATION"):
        connect(None, project="p", environ={})
    client = connect(
        None,
        environ={
            "GOOGLE_CLOUD_PROJECT": "p",
            "GOOGLE_CLOUD_LOCATION": "europe-west4",
            "GOOGLE_OAUTH_ACCESS_TOKEN": "t",
        },
    )
    assert (client.project, client.location, client.base_url) == ("p", "europe-west4", None)
    assert client.url("projects/p/locations/us/endpoints/1").startswith(
        "https://aiplatform.us.rep.googleapis.com/v1/"
    )
    client.close()


def test_a_loopback_emulator_gets_the_local_token_without_google_credentials() -> None:
    target = resolve_endpoint("http://127.0.0.1:8471/")
    assert (target.base_url, target.transport, target.local) == ("http://127.0.0.1:8471", None, True)
    client = connect("http://127.0.0.1:8471", project="p", location="us-central1", environ={})
    assert client.base_url == "http://127.0.0.1:8471"
    assert client.url("projects/p/locations/us/endpoints/1") == (
        "http://127.0.0.1:8471/v1/projects/p/locations/us/endpoints/1"
    )
    assert _sent(client._core.auth).headers["authorization"] == f"Bearer {LOCAL_CALLER_TOKEN}"
    client.close()
    storage = connect_storage("http://localhost:8471", environ={"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN})
    assert isinstance(storage, StorageClient) and storage.base_url == "http://localhost:8471"
    assert _sent(storage._core.auth).headers["authorization"] == f"Bearer {TOKEN}"
    storage.close()


def test_a_url_off_the_loopback_interface_is_not_local() -> None:
    assert resolve_endpoint("https://emulator.example.com:8471").local is False
    assert resolve_endpoint("http://10.0.0.5:8471").local is False
    assert resolve_endpoint("https://127.0.0.1:8471").local is False


@pytest.mark.parametrize("value", ["ftp://x", "localhost:8471", "embedded-ish", "http://"])
def test_bad_endpoint_values(value: str) -> None:
    with pytest.raises(ValueError, match="tuned-models:endpoint"):
        resolve_endpoint(value)


class RecordingEmulator(httpx.BaseTransport):
    """Stands in for the embedded emulator's transport: records what reaches it."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.seen: list[tuple[str, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.host, request.url.path, request.headers.get("authorization")))
        return httpx.Response(200, json={"name": "projects/p/locations/us/endpoints/1", "bucket": "b"})


def test_embedded_vertex_storage_and_gemini_share_one_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[RecordingEmulator] = []

    def factory(**kwargs: Any) -> RecordingEmulator:
        made.append(RecordingEmulator(**kwargs))
        return made[-1]

    monkeypatch.setattr(rest_endpoint, "_load_entry_point", lambda name: factory)
    close_embedded_transports()
    try:
        vertex = connect("embedded", project="p", location="us-central1", project_root=tmp_path, environ={})
        storage = connect_storage("embedded", project_root=tmp_path, environ={})
        gemini = gemini_connect("embedded", project_root=tmp_path, environ={})
        vertex.get_endpoint("projects/p/locations/us/endpoints/1")
        storage.get_object("b", "x.jsonl")
        for client in (vertex, storage, gemini):
            client.close()
    finally:
        close_embedded_transports()
    assert len(made) == 1 and made[0].kwargs["state_dir"] == (tmp_path / ".tuned-models").resolve()
    host = httpx.URL(EMBEDDED_BASE_URL).host
    assert made[0].seen == [
        (host, "/v1/projects/p/locations/us/endpoints/1", f"Bearer {LOCAL_CALLER_TOKEN}"),
        (host, "/storage/v1/b/b/o/x.jsonl", f"Bearer {LOCAL_CALLER_TOKEN}"),
    ]
