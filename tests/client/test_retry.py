"""tuned_models.gemini.retry: the retry loop, driven through the client over an httpx.MockTransport.

The mock stands in for the server only here, where the loop's decisions (when to retry, how long
to wait) are under test; every other client test runs against the emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tuned_models.gemini import (
    AlreadyExists,
    ApiKeyAuth,
    GeminiClient,
    GeminiError,
    InternalError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    RetryPolicy,
    TransportFailure,
    Unavailable,
)

KEY = "test-key-123"
OPERATION = {
    "name": "tunedModels/m-1/operations/op1",
    "metadata": {"tunedModel": "tunedModels/m-1", "totalSteps": 4},
}
MODEL = {"name": "tunedModels/m-1", "state": "ACTIVE"}

Step = httpx.Response | Exception


def _error(code: int, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": f"{status} says the server"}}


class Script:
    """A server that answers each request with the next scripted step."""

    def __init__(self, *steps: Step) -> None:
        self._steps: Iterator[Step] = iter(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = next(self._steps)
        if isinstance(step, Exception):
            raise step
        return step


def _client(
    script: Script, *, policy: RetryPolicy | None = None, random: Callable[[], float] = lambda: 0.5
) -> tuple[GeminiClient, list[float]]:
    sleeps: list[float] = []
    client = GeminiClient(
        "https://generativelanguage.googleapis.com",
        ApiKeyAuth(KEY),
        transport=httpx.MockTransport(script),
        retry=policy or RetryPolicy(),
        sleep=sleeps.append,
        random=random,
    )
    return client, sleeps


def test_honours_retry_after_header_on_429() -> None:
    script = Script(
        httpx.Response(429, json=_error(429, "RESOURCE_EXHAUSTED"), headers={"Retry-After": "3"}),
        httpx.Response(200, json=MODEL),
    )
    client, sleeps = _client(script)
    assert client.get_tuned_model("m-1").name == "tunedModels/m-1"
    assert sleeps == [pytest.approx(3.3)]  # the 3 s asked for, spread upwards by the jitter
    assert len(script.requests) == 2


def test_honours_retry_info_delay() -> None:
    body = _error(429, "RESOURCE_EXHAUSTED")
    body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]
    script = Script(httpx.Response(429, json=body), httpx.Response(200, json=MODEL))
    client, sleeps = _client(script)
    client.get_tuned_model("m-1")
    assert sleeps == [pytest.approx(13.2)]


def test_a_service_requested_wait_beyond_twice_the_maximum_gives_up_at_once() -> None:
    script = Script(
        httpx.Response(429, json=_error(429, "RESOURCE_EXHAUSTED"), headers={"Retry-After": "900"}),
        httpx.Response(200, json=MODEL),
    )
    client, sleeps = _client(script, policy=RetryPolicy(maximum=10.0))
    with pytest.raises(ResourceExhausted) as caught:
        client.get_tuned_model("m-1")
    assert caught.value.retry_after == 900 and sleeps == [] and len(script.requests) == 1


def test_a_zero_retry_after_still_backs_off() -> None:
    script = Script(
        *[
            httpx.Response(503, json=_error(503, "UNAVAILABLE"), headers={"Retry-After": "0"})
            for _ in range(3)
        ],
        httpx.Response(200, json=MODEL),
    )
    client, sleeps = _client(script)
    client.get_tuned_model("m-1")
    assert sleeps == [1.0, 2.0, 4.0]


def test_no_retry_is_made_past_the_call_deadline() -> None:
    script = Script(*[httpx.Response(503, json=_error(503, "UNAVAILABLE")) for _ in range(5)])
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = GeminiClient(
        "https://generativelanguage.googleapis.com",
        ApiKeyAuth(KEY),
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(deadline=5.0),
        sleep=sleep,
        random=lambda: 0.5,
        clock=lambda: now[0],
    )
    with pytest.raises(Unavailable) as caught:
        client.get_tuned_model("m-1")
    assert sleeps == [1.0, 2.0] and caught.value.attempts == 3  # a 4 s wait would end at 7 s


def test_an_empty_tuned_model_id_is_refused_before_any_request() -> None:
    script = Script(httpx.Response(200, json={}))
    client, _ = _client(script)
    with pytest.raises(ValueError, match="must not be empty"):
        client.create_tuned_model({"baseModel": "models/x"}, tuned_model_id="")
    assert script.requests == []


def test_paging_stops_when_a_server_pages_forever_without_results() -> None:
    class Endless:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            return httpx.Response(200, json={"permissions": None, "nextPageToken": f"t{self.calls}"})

    endless = Endless()
    client = GeminiClient(
        "https://generativelanguage.googleapis.com",
        ApiKeyAuth(KEY),
        transport=httpx.MockTransport(endless),
        sleep=lambda _s: None,
    )
    with pytest.raises(GeminiError, match="keeps paging without results"):
        client.list_permissions("tunedModels/m-1")
    assert endless.calls == 100


def test_backoff_grows_and_is_capped_then_gives_up_after_attempts() -> None:
    script = Script(*[httpx.Response(503, json=_error(503, "UNAVAILABLE")) for _ in range(6)])
    client, sleeps = _client(script, policy=RetryPolicy(attempts=6, maximum=5.0))
    with pytest.raises(Unavailable) as caught:
        client.get_tuned_model("m-1")
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(script.requests) == 6
    assert caught.value.attempts == 6
    assert caught.value.message == "UNAVAILABLE says the server"


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.999999])
def test_jitter_is_bounded(draw: float) -> None:
    policy = RetryPolicy(initial=10.0, jitter=0.2, maximum=100.0)
    delay = policy.backoff(1, lambda: draw)
    assert 8.0 <= delay <= 12.0
    assert policy.backoff(1, lambda: 0.0) == pytest.approx(8.0)
    assert policy.backoff(1, lambda: 1.0) == pytest.approx(12.0)


def test_backoff_is_capped_before_jitter() -> None:
    policy = RetryPolicy(initial=1.0, multiplier=2.0, maximum=30.0, jitter=0.2)
    assert policy.backoff(20, lambda: 0.5) == 30.0
    assert policy.backoff(20, lambda: 1.0) == pytest.approx(36.0)


def test_transport_error_on_get_is_retried() -> None:
    script = Script(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadTimeout("timed out"),
        httpx.Response(200, json=MODEL),
    )
    client, sleeps = _client(script)
    assert client.get_tuned_model("tunedModels/m-1").state == "ACTIVE"
    assert sleeps == [1.0, 2.0]


def test_transport_error_gives_up_as_transport_failure() -> None:
    script = Script(*[httpx.ConnectError("connection refused") for _ in range(3)])
    client, sleeps = _client(script, policy=RetryPolicy(attempts=3))
    with pytest.raises(TransportFailure) as caught:
        client.list_tuned_models(page_token="secret-ish-token")
    failure = caught.value
    assert (failure.error_class, failure.method, failure.path) == (
        "ConnectError",
        "GET",
        "/v1beta/tunedModels",
    )
    assert failure.attempts == 3
    assert "secret-ish-token" not in str(failure)
    assert KEY not in str(failure) and KEY not in repr(failure)
    assert len(sleeps) == 2


def test_create_without_id_is_not_retried_after_503() -> None:
    script = Script(httpx.Response(503, json=_error(503, "UNAVAILABLE")))
    client, sleeps = _client(script)
    with pytest.raises(Unavailable):
        client.create_tuned_model({"baseModel": "models/gemini-1.5-flash-001-tuning"})
    assert len(script.requests) == 1
    assert sleeps == []


def test_create_without_id_is_not_retried_after_a_dropped_connection() -> None:
    script = Script(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    client, _ = _client(script)
    with pytest.raises(TransportFailure) as caught:
        client.create_tuned_model({"baseModel": "models/b"})
    assert caught.value.attempts == 1
    assert len(script.requests) == 1


def test_create_without_id_is_retried_after_a_refused_connection() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json=OPERATION))
    client, _ = _client(script)
    assert client.create_tuned_model({"baseModel": "models/b"}).name == OPERATION["name"]
    assert len(script.requests) == 2


def test_create_without_id_is_retried_after_429() -> None:
    script = Script(
        httpx.Response(429, json=_error(429, "RESOURCE_EXHAUSTED")),
        httpx.Response(200, json=OPERATION),
    )
    client, sleeps = _client(script)
    operation = client.create_tuned_model({"baseModel": "models/b"})
    assert operation.tuned_model_name == "tunedModels/m-1"
    assert sleeps == [1.0]


def test_generate_content_is_not_retried_after_500() -> None:
    script = Script(httpx.Response(500, json=_error(500, "INTERNAL")))
    client, _ = _client(script)
    with pytest.raises(InternalError) as caught:
        client.generate_content("m-1", "1")
    assert caught.value.code == 500
    assert len(script.requests) == 1


def test_create_with_id_retried_after_503_then_409_surfaces_already_exists() -> None:
    script = Script(
        httpx.Response(503, json=_error(503, "UNAVAILABLE")),
        httpx.Response(409, json=_error(409, "ALREADY_EXISTS")),
    )
    client, sleeps = _client(script)
    with pytest.raises(AlreadyExists) as caught:
        client.create_tuned_model({"baseModel": "models/b"}, tuned_model_id="m-1")
    assert caught.value.attempts == 2
    assert sleeps == [1.0]
    assert [r.url.params["tunedModelId"] for r in script.requests] == ["m-1", "m-1"]
    # the retried attempt sent the very same body
    assert script.requests[0].content == script.requests[1].content


def test_create_with_id_retried_after_dropped_connection() -> None:
    script = Script(
        httpx.ReadError("connection reset"),
        httpx.Response(200, json=OPERATION),
    )
    client, _ = _client(script)
    assert client.create_tuned_model({"baseModel": "models/b"}, "m-1").name == OPERATION["name"]


def test_client_errors_are_not_retried() -> None:
    for status, code, cls in [
        ("NOT_FOUND", 404, NotFound),
        ("INVALID_ARGUMENT", 400, InvalidArgument),
    ]:
        script = Script(httpx.Response(code, json=_error(code, status)))
        client, sleeps = _client(script)
        with pytest.raises(cls):
            client.get_tuned_model("m-1")
        assert sleeps == [] and len(script.requests) == 1


def test_429_gives_up_after_attempts_as_resource_exhausted() -> None:
    script = Script(*[httpx.Response(429, json=_error(429, "RESOURCE_EXHAUSTED"))] * 2)
    client, _ = _client(script, policy=RetryPolicy(attempts=2))
    with pytest.raises(ResourceExhausted) as caught:
        client.delete_tuned_model("m-1")
    assert caught.value.attempts == 2


def test_attempts_one_disables_retries() -> None:
    script = Script(httpx.Response(503, json=_error(503, "UNAVAILABLE")))
    client, sleeps = _client(script, policy=RetryPolicy(attempts=1))
    with pytest.raises(Unavailable):
        client.get_tuned_model("m-1")
    assert sleeps == []


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"jitter": 1.5}, {"multiplier": 0.5}, {"initial": -1.0}],
)
def test_policy_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_policy_is_frozen_data() -> None:
    policy = RetryPolicy()
    assert (policy.attempts, policy.initial, policy.multiplier, policy.maximum, policy.jitter) == (
        5,
        1.0,
        2.0,
        30.0,
        0.2,
    )
    assert policy.retry_statuses == {429, 500, 502, 503, 504}
    with pytest.raises(AttributeError):
        policy.attempts = 3  # type: ignore[misc]


def test_each_client_logs_its_retries_on_its_own_logger(caplog: pytest.LogCaptureFixture) -> None:
    from tuned_models.vertex.client import VertexClient
    from tuned_models.vertex.storage import StorageClient

    def flaky() -> Script:
        return Script(
            httpx.Response(503, json=_error(503, "UNAVAILABLE")),
            httpx.Response(
                200, json={"name": "projects/p/locations/us-central1/tuningJobs/1", "bucket": "b"}
            ),
        )

    gemini, _ = _client(
        Script(httpx.Response(503, json=_error(503, "UNAVAILABLE")), httpx.Response(200, json=MODEL))
    )
    vertex = VertexClient(
        "p", "us-central1", None, transport=httpx.MockTransport(flaky()), sleep=lambda _: None
    )
    storage = StorageClient(None, transport=httpx.MockTransport(flaky()), sleep=lambda _: None)
    with caplog.at_level("INFO", logger="tuned_models"):
        gemini.get_tuned_model("m-1")
        vertex.get_tuning_job("1")
        storage.get_object("b", "x.jsonl")
    retries = [(r.name, r.getMessage().split(":")[0]) for r in caplog.records if "retry 1/" in r.getMessage()]
    assert retries == [
        ("tuned_models.gemini", "gemini"),
        ("tuned_models.vertex", "vertex"),
        ("tuned_models.storage", "storage"),
    ]
