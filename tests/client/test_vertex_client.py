"""tuned_models.vertex.client: URLs and hosts per location, request bodies, retries and their
idempotency, finding and adopting one's own tuning job, operations, generateContent.

The service is an httpx.MockTransport here because the client's own decisions are under test
(which host, retry or not, look again or not); calls against the emulator's Vertex surface will
be added in test_vertex_against_emulator.py when it serves one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tuned_models.rest.errors import (
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    TransportFailure,
    Unavailable,
)
from tuned_models.rest.retry import RetryPolicy
from tuned_models.vertex.auth import AccessTokenAuth
from tuned_models.vertex.client import VertexClient
from tuned_models.vertex.errors import OperationTimeout
from tuned_models.vertex.labels import identity_labels
from tuned_models.vertex.types import JobState

PARENT = "projects/p/locations/us-central1"
HOST = "https://us-central1-aiplatform.googleapis.com"
JOBS = f"{HOST}/v1/{PARENT}/tuningJobs"
IDENTITY = identity_labels(
    project="tuned-models", stack="dev", resource="gen", spec_digest="ab" * 32, model_id="gen-1a2b3c4d5e6f"
)

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Service:
    """Answers each (method, URL without query) with its next scripted answer."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, url: str, *answers: Answer) -> None:
        self.answers.setdefault((method, url), []).extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, str(request.url.copy_with(query=None)))
        queue = self.answers.get(key)
        if not queue:
            return httpx.Response(
                404, json={"error": {"code": 404, "status": "NOT_FOUND", "message": f"no {key}"}}
            )
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def sent(self, method: str | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if method is None or r.method == method]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _error(code: int, status: str, message: str = "says the server", **headers: str) -> httpx.Response:
    return httpx.Response(
        code, headers=headers, json={"error": {"code": code, "status": status, "message": message}}
    )


def _job(
    job_id: str, state: str = "JOB_STATE_RUNNING", labels: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": f"{PARENT}/tuningJobs/{job_id}",
        "state": state,
        "labels": IDENTITY if labels is None else labels,
        "createTime": f"2026-11-30T10:00:{int(job_id) % 60:02d}Z",
        **extra,
    }


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(service: Service, clock: Clock) -> VertexClient:
    return VertexClient(
        "p",
        "us-central1",
        AccessTokenAuth("token-1"),
        transport=httpx.MockTransport(service),
        retry=RetryPolicy(attempts=3, initial=1.0, maximum=8.0),
        sleep=clock.sleep,
        clock=clock,
        random=lambda: 0.5,
    )


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- tuning jobs -------------------------------------------------------------------------------


def test_create_posts_the_job_to_the_regional_host(client: VertexClient, service: Service) -> None:
    service.on("POST", JOBS, httpx.Response(200, json=_job("1", "JOB_STATE_PENDING")))
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/x.jsonl"}}
    job = client.create_tuning_job(body)
    assert job.state is JobState.JOB_STATE_PENDING and job.id == "1"
    (request,) = service.sent()
    assert _body(request) == body
    assert request.headers["authorization"] == "Bearer token-1"


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (_error(500, "INTERNAL"), InternalError),
        (_error(503, "UNAVAILABLE"), Unavailable),
        (httpx.ReadTimeout("timed out"), TransportFailure),
        (httpx.RemoteProtocolError("dropped"), TransportFailure),
    ],
)
def test_create_is_not_repeated_when_it_may_have_landed(
    client: VertexClient, service: Service, failure: Answer, raised: type[Exception]
) -> None:
    service.on("POST", JOBS, failure, httpx.Response(200, json=_job("1")))
    with pytest.raises(raised):
        client.create_tuning_job({"baseModel": "m"})
    assert len(service.sent("POST")) == 1


def test_create_is_repeated_when_it_certainly_did_not_land(
    client: VertexClient, service: Service, clock: Clock
) -> None:
    service.on(
        "POST",
        JOBS,
        _error(429, "RESOURCE_EXHAUSTED", **{"retry-after": "3"}),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=_job("1")),
    )
    assert client.create_tuning_job({"baseModel": "m"}).id == "1"
    assert len(service.sent("POST")) == 3
    assert clock.sleeps[0] >= 3.0


def test_get_is_retried_on_503_and_raises_not_found(
    client: VertexClient, service: Service, clock: Clock
) -> None:
    service.on(
        "GET",
        f"{JOBS}/7",
        _error(503, "UNAVAILABLE"),
        httpx.Response(200, json=_job("7", "JOB_STATE_SUCCEEDED")),
    )
    assert client.get_tuning_job("7").state is JobState.JOB_STATE_SUCCEEDED
    assert len(clock.sleeps) == 1
    with pytest.raises(NotFound, match="no"):
        client.get_tuning_job("8")


def test_list_one_page_and_every_page(client: VertexClient, service: Service) -> None:
    service.on(
        "GET",
        JOBS,
        httpx.Response(200, json={"tuningJobs": [_job("1"), _job("2")], "nextPageToken": "t2"}),
        httpx.Response(200, json={"tuningJobs": [_job("3")]}),
    )
    jobs, token = client.list_tuning_jobs(filter='state="JOB_STATE_RUNNING"', page_size=2)
    assert [j.id for j in jobs] == ["1", "2"] and token == "t2"
    assert dict(service.sent()[0].url.params) == {"filter": 'state="JOB_STATE_RUNNING"', "pageSize": "2"}
    service.answers.clear()
    service.on(
        "GET",
        JOBS,
        httpx.Response(200, json={"tuningJobs": [_job("1")], "nextPageToken": "t2"}),
        httpx.Response(200, json={"tuningJobs": [_job("3")]}),
    )
    assert [j.id for j in client.iter_tuning_jobs()] == ["1", "3"]
    assert service.sent()[-1].url.params["pageToken"] == "t2"


def test_find_checks_the_labels_itself_and_sorts_newest_first(client: VertexClient, service: Service) -> None:
    other = {**IDENTITY, "tuned_models_spec": "cd" * 16}
    service.on(
        "GET",
        JOBS,
        httpx.Response(
            200,
            json={
                "tuningJobs": [_job("1"), _job("5", labels=other), _job("3", "JOB_STATE_FAILED"), _job("4")]
            },
        ),
    )
    found = client.find_tuning_jobs(IDENTITY)
    assert [j.id for j in found] == ["4", "3", "1"]
    sent_filter = service.sent()[0].url.params["filter"]
    assert sent_filter.count(" AND ") == 4 and 'labels.tuned_models_stack="dev"' in sent_filter
    running = client.find_tuning_jobs(IDENTITY, states={JobState.JOB_STATE_RUNNING})
    assert [j.id for j in running] == ["4", "1"]


def test_find_lists_without_a_filter_the_service_refuses(client: VertexClient, service: Service) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "filter" in request.url.params:
            return _error(400, "INVALID_ARGUMENT", "Unsupported filter")
        return httpx.Response(200, json={"tuningJobs": [_job("1"), _job("2", labels={})]})

    service.on("GET", JOBS, answer)
    assert [j.id for j in client.find_tuning_jobs(IDENTITY)] == ["1"]
    assert ["filter" in r.url.params for r in service.sent()] == [True, False]


def test_submit_adopts_a_succeeded_job_of_its_own(client: VertexClient, service: Service) -> None:
    service.on(
        "GET",
        JOBS,
        httpx.Response(
            200, json={"tuningJobs": [_job("9", "JOB_STATE_RUNNING"), _job("2", "JOB_STATE_SUCCEEDED")]}
        ),
    )
    job, created = client.submit_tuning_job({"baseModel": "m", "labels": IDENTITY}, IDENTITY)
    assert (job.id, created) == ("2", False)
    assert service.sent("POST") == []


def test_submit_creates_when_its_jobs_failed_or_were_cancelled(
    client: VertexClient, service: Service
) -> None:
    service.on(
        "GET",
        JOBS,
        httpx.Response(
            200, json={"tuningJobs": [_job("1", "JOB_STATE_FAILED"), _job("2", "JOB_STATE_CANCELLED")]}
        ),
    )
    service.on("POST", JOBS, httpx.Response(200, json=_job("3", "JOB_STATE_PENDING")))
    job, created = client.submit_tuning_job(
        {"baseModel": "m", "labels": {**IDENTITY, "team": "ml"}}, IDENTITY
    )
    assert (job.id, created) == ("3", True)
    assert _body(service.sent("POST")[0])["labels"]["team"] == "ml"


def test_submit_after_a_lost_answer_finds_the_job_instead_of_training_twice(
    client: VertexClient, service: Service, clock: Clock
) -> None:
    service.on(
        "GET",
        JOBS,
        httpx.Response(200, json={"tuningJobs": []}),  # nothing before the create
        httpx.Response(200, json={"tuningJobs": []}),  # not listed yet
        httpx.Response(200, json={"tuningJobs": [_job("4", "JOB_STATE_PENDING")]}),
    )
    service.on("POST", JOBS, httpx.ReadTimeout("the answer was lost"))
    job, created = client.submit_tuning_job({"baseModel": "m", "labels": IDENTITY}, IDENTITY)
    assert (job.id, created) == ("4", True)
    assert len(service.sent("POST")) == 1
    assert clock.sleeps == [1.0, 2.0]


def test_submit_raises_the_create_failure_when_the_job_never_appears(
    client: VertexClient, service: Service, clock: Clock
) -> None:
    service.on("GET", JOBS, httpx.Response(200, json={"tuningJobs": []}))
    service.on("POST", JOBS, _error(500, "INTERNAL", "backend error"))
    with pytest.raises(InternalError, match="backend error"):
        client.submit_tuning_job({"baseModel": "m", "labels": IDENTITY}, IDENTITY)
    assert len(service.sent("POST")) == 1
    assert len(service.sent("GET")) == 4 and len(clock.sleeps) == 3


def test_submit_does_not_look_again_after_a_plain_refusal(
    client: VertexClient, service: Service, clock: Clock
) -> None:
    service.on("GET", JOBS, httpx.Response(200, json={}))
    service.on(
        "POST",
        JOBS,
        _error(400, "INVALID_ARGUMENT", "The adapter size is not supported for this base model."),
    )
    with pytest.raises(InvalidArgument, match="adapter size"):
        client.submit_tuning_job({"baseModel": "m", "labels": IDENTITY}, IDENTITY)
    assert len(service.sent("GET")) == 1 and clock.sleeps == []


def test_submit_needs_the_identity_in_the_jobs_labels(client: VertexClient, service: Service) -> None:
    with pytest.raises(ValueError, match="identity labels"):
        client.submit_tuning_job({"baseModel": "m", "labels": {"team": "ml"}}, IDENTITY)
    assert service.requests == []


def test_cancel_posts_an_empty_body_and_is_retried(client: VertexClient, service: Service) -> None:
    service.on("POST", f"{JOBS}/5:cancel", _error(503, "UNAVAILABLE"), httpx.Response(200, json={}))
    client.cancel_tuning_job(f"{PARENT}/tuningJobs/5")
    assert [_body(r) for r in service.sent("POST")] == [{}, {}]


# -- models and endpoints ----------------------------------------------------------------------


def test_update_model_patches_model_level_fields(client: VertexClient, service: Service) -> None:
    url = f"{HOST}/v1/{PARENT}/models/9"
    service.on("PATCH", url, httpx.Response(200, json={"name": f"{PARENT}/models/9", "displayName": "new"}))
    model = client.update_model(f"{PARENT}/models/9@2", display_name="new", labels={**IDENTITY, "team": "ml"})
    assert model.displayName == "new"
    (request,) = service.sent()
    assert request.url.params["updateMask"] == "displayName,labels"
    assert _body(request) == {
        "name": f"{PARENT}/models/9",
        "displayName": "new",
        "labels": {**IDENTITY, "team": "ml"},
    }
    with pytest.raises(ValueError):
        client.update_model("9")


def test_delete_model_and_version(client: VertexClient, service: Service) -> None:
    op = {"name": f"{PARENT}/models/9/operations/1"}
    service.on("DELETE", f"{HOST}/v1/{PARENT}/models/9", httpx.Response(200, json=op))
    service.on("DELETE", f"{HOST}/v1/{PARENT}/models/9@2:deleteVersion", httpx.Response(200, json=op))
    assert client.delete_model("9@1").name == op["name"]
    assert client.delete_model_version("9@2").name == op["name"]
    with pytest.raises(ValueError, match="versioned"):
        client.delete_model_version("9")


def test_endpoints_go_to_their_own_locations_host(client: VertexClient, service: Service) -> None:
    us = "https://aiplatform.us.rep.googleapis.com/v1/projects/p/locations/us/endpoints"
    endpoint = {"name": "projects/p/locations/us/endpoints/3", "deployedModels": [{"id": "77"}]}
    service.on("GET", f"{us}/3", httpx.Response(200, json=endpoint))
    service.on("GET", us, httpx.Response(200, json={"endpoints": [endpoint]}))
    service.on(
        "POST",
        f"{us}/3:undeployModel",
        httpx.Response(200, json={"name": "projects/p/locations/us/operations/1"}),
    )
    service.on(
        "DELETE", f"{us}/3", httpx.Response(200, json={"name": "projects/p/locations/us/operations/2"})
    )
    got = client.get_endpoint("projects/p/locations/us/endpoints/3")
    assert got.deployedModels[0].id == "77"
    assert [e.id for e in client.iter_endpoints(location="us")] == ["3"]
    client.undeploy_model(got.name, "77")
    client.delete_endpoint(got.name)
    assert _body(service.sent("POST")[0]) == {"deployedModelId": "77"}
    assert [r.url.host for r in service.requests] == ["aiplatform.us.rep.googleapis.com"] * 4


def test_an_emulator_base_url_serves_every_location(service: Service) -> None:
    service.on(
        "GET",
        "http://127.0.0.1:8471/v1/projects/p/locations/eu/endpoints/3",
        httpx.Response(200, json={"name": "n"}),
    )
    client = VertexClient(
        "p", "us-central1", None, base_url="http://127.0.0.1:8471/", transport=httpx.MockTransport(service)
    )
    assert client.get_endpoint("projects/p/locations/eu/endpoints/3").name == "n"
    client.close()


# -- operations --------------------------------------------------------------------------------


def test_wait_operation_polls_until_done(client: VertexClient, service: Service, clock: Clock) -> None:
    name = "projects/p/locations/us/endpoints/3/operations/9"
    url = f"https://aiplatform.us.rep.googleapis.com/v1/{name}"
    service.on(
        "GET",
        url,
        httpx.Response(200, json={"name": name}),
        httpx.Response(200, json={"name": name, "done": False}),
        httpx.Response(200, json={"name": name, "done": True, "response": {"@type": "x"}}),
    )
    done = client.wait_operation(name)
    assert done.done and done.response == {"@type": "x"}
    assert clock.sleeps == [0.5, 1.0]


def test_a_failed_operation_raises_its_typed_error(client: VertexClient, service: Service) -> None:
    name = f"{PARENT}/models/9/operations/1"
    failed = {"name": name, "done": True, "error": {"code": 9, "message": "Model is deployed to endpoint 3."}}
    service.on("GET", f"{HOST}/v1/{name}", httpx.Response(200, json=failed))
    with pytest.raises(FailedPrecondition, match="deployed to endpoint 3") as caught:
        client.wait_operation(name)
    assert caught.value.status == "FAILED_PRECONDITION"
    assert client.wait_operation(name, raise_on_error=False).error is not None


def test_wait_operation_times_out_on_the_injected_clock(
    client: VertexClient, service: Service, clock: Clock
) -> None:
    name = f"{PARENT}/operations/1"
    service.on("GET", f"{HOST}/v1/{name}", httpx.Response(200, json={"name": name}))
    with pytest.raises(OperationTimeout) as caught:
        client.wait_operation(name, timeout=30)
    assert caught.value.name == name
    assert sum(clock.sleeps) == pytest.approx(30)


# -- generateContent ---------------------------------------------------------------------------


def test_generate_content_on_a_tuned_endpoint(client: VertexClient, service: Service) -> None:
    url = "https://aiplatform.us.rep.googleapis.com/v1/projects/p/locations/us/endpoints/3:generateContent"
    answer = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "4"}]}}],
        "usageMetadata": {"x": 1},
    }
    service.on("POST", url, httpx.Response(200, json=answer))
    response = client.generate_content(
        "projects/p/locations/us/endpoints/3",
        "1 2 3",
        system_instruction="count",
        generation_config={"temperature": 0},
    )
    assert response.text == "4"
    assert _body(service.sent()[0]) == {
        "contents": [{"role": "user", "parts": [{"text": "1 2 3"}]}],
        "systemInstruction": {"parts": [{"text": "count"}]},
        "generationConfig": {"temperature": 0},
    }


def test_generate_content_is_not_repeated_after_a_5xx(client: VertexClient, service: Service) -> None:
    url = f"{HOST}/v1/{PARENT}/endpoints/3:generateContent"
    service.on("POST", url, _error(500, "INTERNAL"), _error(429, "RESOURCE_EXHAUSTED"))
    with pytest.raises(InternalError):
        client.generate_content("3", "x")
    assert len(service.sent()) == 1
    service.answers[("POST", url)] = [_error(429, "RESOURCE_EXHAUSTED")]
    with pytest.raises(ResourceExhausted):
        client.generate_content("3", [{"role": "user", "parts": [{"text": "x"}]}])
    assert len(service.sent()) == 1 + 3  # 429s are retried up to the policy's attempts
