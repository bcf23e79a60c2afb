"""tuned_models.gemini.auth: where credentials come from, how they are sent, that keys never leak."""

from __future__ import annotations

import threading
from typing import Any

import google.auth.exceptions
import httpx
import pytest

from tuned_models.gemini import (
    OAUTH_SCOPES,
    ApiKeyAuth,
    CredentialsMissing,
    GeminiClient,
    NotFound,
    OAuthAuth,
    RetryPolicy,
    TransportFailure,
    Unauthenticated,
    resolve_auth,
)

KEY = "test-secret-key-0123456789abcdef"


def _no_adc(**kwargs: Any) -> tuple[Any, str | None]:
    raise google.auth.exceptions.DefaultCredentialsError("no ADC here")  # type: ignore[no-untyped-call]


class FakeCredentials:
    """google-auth credentials that hand out numbered tokens."""

    def __init__(self, quota_project_id: str | None = None) -> None:
        self.token: str | None = None
        self.valid = False
        self.refreshes = 0
        self.quota_project_id = quota_project_id
        self._lock = threading.Lock()

    def refresh(self, request: Any) -> None:
        with self._lock:
            self.refreshes += 1
            self.token = f"token-{self.refreshes}"
            self.valid = True


def _key_of(auth: httpx.Auth) -> str | None:
    request = httpx.Request("GET", "https://example.test/v1beta/tunedModels")
    flow = auth.sync_auth_flow(request)
    sent = next(flow)
    key: str | None = sent.headers.get("x-goog-api-key")
    return key


@pytest.mark.parametrize(
    ("api_key", "environ", "expected"),
    [
        ("from-config", {"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "m"}, "from-config"),
        (None, {"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "m"}, "g"),
        (None, {"GEMINI_API_KEY": "m"}, "m"),
        ("", {"GOOGLE_API_KEY": "", "GEMINI_API_KEY": "m"}, "m"),
        ("  ", {"GOOGLE_API_KEY": "g"}, "g"),
    ],
)
def test_api_key_resolution_order(api_key: str | None, environ: dict[str, str], expected: str) -> None:
    auth = resolve_auth(api_key, None, environ, default_credentials=_no_adc)
    assert isinstance(auth, ApiKeyAuth)
    assert _key_of(auth) == expected


def test_falls_back_to_adc_with_tuning_scope_and_quota_project() -> None:
    seen: dict[str, Any] = {}
    credentials = FakeCredentials()

    def adc(**kwargs: Any) -> tuple[Any, str | None]:
        seen.update(kwargs)
        return credentials, "adc-project"

    auth = resolve_auth(None, "billing-project", {}, default_credentials=adc)
    assert isinstance(auth, OAuthAuth)
    assert seen["scopes"] == list(OAUTH_SCOPES)
    assert "https://www.googleapis.com/auth/generative-language.tuning" in seen["scopes"]
    assert seen["quota_project_id"] == "billing-project"
    assert auth.quota_project == "billing-project"


def test_no_credentials_anywhere_raises_credentials_missing_listing_the_three_ways() -> None:
    with pytest.raises(CredentialsMissing) as caught:
        resolve_auth(None, None, {}, default_credentials=_no_adc)
    message = str(caught.value)
    assert "tuned-models:apiKey" in message
    assert "GOOGLE_API_KEY" in message and "GEMINI_API_KEY" in message
    assert "application default credentials" in message
    assert isinstance(caught.value, Unauthenticated)
    assert caught.value.code is None


def test_api_key_goes_in_the_header_never_the_query_and_never_in_repr() -> None:
    auth = ApiKeyAuth(KEY)
    request = httpx.Request("GET", "https://example.test/v1beta/tunedModels?pageSize=2")
    sent = next(auth.sync_auth_flow(request))
    assert sent.headers["x-goog-api-key"] == KEY
    assert KEY not in str(sent.url)
    assert KEY not in repr(auth) and KEY not in str(auth)
    client = GeminiClient("https://example.test", auth)
    assert KEY not in repr(client)
    client.close()


def test_auth_objects_refuse_pickling() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(ApiKeyAuth(KEY))
    with pytest.raises(TypeError):
        pickle.dumps(OAuthAuth(FakeCredentials()))


def test_empty_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        ApiKeyAuth("  ")


def test_errors_from_a_keyed_request_never_show_the_key() -> None:
    def echo_key(request: httpx.Request) -> httpx.Response:
        key = request.headers["x-goog-api-key"]
        return httpx.Response(
            404,
            json={"error": {"code": 404, "status": "NOT_FOUND", "message": f"no model for {key}"}},
        )

    client = GeminiClient("https://example.test", ApiKeyAuth(KEY), transport=httpx.MockTransport(echo_key))
    with pytest.raises(NotFound) as caught:
        client.get_tuned_model("m")
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in caught.value.message


def test_oauth_sends_bearer_and_user_project_and_refreshes_once_across_threads() -> None:
    credentials = FakeCredentials()
    auth = OAuthAuth(credentials, "billing-project")
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.append((request.headers["authorization"], request.headers["x-goog-user-project"]))
        return httpx.Response(200, json={"name": "tunedModels/m"})

    client = GeminiClient("https://example.test", auth, transport=httpx.MockTransport(handler))
    threads = [threading.Thread(target=client.get_tuned_model, args=("m",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert credentials.refreshes == 1
    assert set(seen) == {("Bearer token-1", "billing-project")}
    assert len(seen) == 8
    assert "token-1" not in repr(auth)


def test_oauth_refreshes_and_resends_once_on_401() -> None:
    credentials = FakeCredentials()
    auth = OAuthAuth(credentials)
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["authorization"])
        if len(tokens) == 1:
            return httpx.Response(
                401, json={"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "x"}}
            )
        return httpx.Response(200, json={"name": "tunedModels/m"})

    client = GeminiClient(
        "https://example.test",
        auth,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    )
    assert client.get_tuned_model("m").name == "tunedModels/m"
    assert tokens == ["Bearer token-1", "Bearer token-2"]


def test_oauth_quota_project_defaults_to_the_credentials_own() -> None:
    auth = OAuthAuth(FakeCredentials(quota_project_id="from-adc"))
    assert auth.quota_project == "from-adc"


def test_environment_is_read_at_call_time_and_never_shown_in_a_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import inspect

    from tuned_models.gemini import connect

    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    assert _key_of(resolve_auth(default_credentials=_no_adc)) == KEY
    for function in (connect, resolve_auth):
        assert KEY not in str(inspect.signature(function))


class _RefusingCredentials(FakeCredentials):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        raise self.error


def _oauth_client(credentials: Any) -> tuple[GeminiClient, list[float], list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"name": "tunedModels/m"})

    sleeps: list[float] = []
    client = GeminiClient(
        "https://generativelanguage.googleapis.com",
        OAuthAuth(credentials),
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        random=lambda: 0.5,
    )
    return client, sleeps, sent


def test_a_refused_token_refresh_is_a_typed_unauthenticated_error() -> None:
    refused = google.auth.exceptions.RefreshError("invalid_grant: Token has been expired.")  # type: ignore[no-untyped-call]
    credentials = _RefusingCredentials(refused)
    client, sleeps, sent = _oauth_client(credentials)
    with pytest.raises(Unauthenticated, match="application-default login"):
        client.get_tuned_model("m")
    assert sent == [] and sleeps == [] and credentials.refreshes == 1


def test_an_unreachable_token_endpoint_is_retried_then_a_transport_failure() -> None:
    unreachable = google.auth.exceptions.TransportError("connection refused")  # type: ignore[no-untyped-call]
    credentials = _RefusingCredentials(unreachable)
    client, sleeps, sent = _oauth_client(credentials)
    with pytest.raises(TransportFailure) as caught:
        client.get_tuned_model("m")
    assert sent == [] and len(sleeps) == 4 and credentials.refreshes == 5
    assert caught.value.error_class == "ConnectError"
