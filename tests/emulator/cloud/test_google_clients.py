"""Google's own clients, unmodified, against the emulator: google-genai in Vertex mode,
google-cloud-storage, and google-cloud-aiplatform over its REST transport.

genai and storage run on both backends (the embedded transport is reached through genai's
``httpx_client`` and a ``requests`` adapter); aiplatform builds its own ``requests`` session, so it
runs against the server.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import google.cloud.storage as storage
import httpx
import pytest
from google.api_core import exceptions
from google.auth.transport.requests import AuthorizedSession
from google.genai import Client as GenaiClient
from google.genai import types

from tests.emulator.cloud.conftest import (
    BUCKET,
    LOCATION,
    NUMBER_LINES,
    PROJECT,
    Cloud,
    HttpxAdapter,
    jsonl,
    oauth_credentials,
)
from tests.emulator.conftest import Emu, admin_headers


def genai_client(cloud: Cloud) -> GenaiClient:
    options = types.HttpOptions(base_url=str(cloud.http.base_url))
    if cloud.mode == "embedded":
        options = types.HttpOptions(base_url=str(cloud.http.base_url), httpx_client=cloud.http)
    return GenaiClient(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=oauth_credentials(),
        http_options=options,
    )


def storage_client(cloud: Cloud) -> storage.Client:
    credentials = oauth_credentials()
    base = str(cloud.http.base_url).rstrip("/")
    if cloud.mode == "server":
        return storage.Client(project=PROJECT, credentials=credentials, client_options={"api_endpoint": base})
    session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    session.mount(base, HttpxAdapter(cloud.http))
    return storage.Client(
        project=PROJECT, credentials=credentials, client_options={"api_endpoint": base}, _http=session
    )


@pytest.fixture(autouse=True)
def _quiet_sdk_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDKs' "experimental" and deprecation notices
        yield


def test_genai_tunes_waits_lists_generates_and_cancels(cloud: Cloud) -> None:
    uri = cloud.dataset()
    client = genai_client(cloud)
    job = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(
            epoch_count=2, tuned_model_display_name="numbers", labels={"stack": "test", "model": "numbers"}
        ),
    )
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.name is not None and not job.has_ended
    for _ in range(20):
        if job.has_ended:
            break
        cloud.advance(1)
        job = client.tunings.get(name=job.name)
    assert job.has_succeeded, job
    assert job.tuned_model is not None and job.tuned_model.endpoint is not None
    assert job.tuned_model.model is not None and job.tuned_model.model.endswith("@1")
    assert [c.epoch for c in job.tuned_model.checkpoints or []] == [1, 2]
    stats = job.tuning_data_stats
    assert stats is not None and stats.supervised_tuning_data_stats is not None
    assert stats.supervised_tuning_data_stats.tuning_dataset_example_count == 15

    listed = list(client.tunings.list(config=types.ListTuningJobsConfig(filter="labels.model=numbers")))
    assert [j.name for j in listed] == [job.name]

    answer = client.models.generate_content(model=job.tuned_model.endpoint, contents="twenty two")
    assert answer.text == "twenty three"
    assert answer.usage_metadata is not None and answer.usage_metadata.total_token_count

    other = client.tunings.tune(
        base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri)
    )
    assert other.name is not None
    client.tunings.cancel(name=other.name)
    assert client.tunings.get(name=other.name).state == types.JobState.JOB_STATE_CANCELLING
    cloud.advance(1)
    cancelled = client.tunings.get(name=other.name)
    assert cancelled.state == types.JobState.JOB_STATE_CANCELLED and cancelled.has_ended
    assert cancelled.error is not None and cancelled.error.code == 1


def test_genai_surfaces_the_service_errors(cloud: Cloud) -> None:
    uri = cloud.dataset()
    client = genai_client(cloud)
    with pytest.raises(Exception) as raised:
        client.tunings.tune(
            base_model="gemini-2.5-flash",
            training_dataset=types.TuningDataset(gcs_uri=uri),
            config=types.CreateTuningJobConfig(adapter_size=types.AdapterSize.ADAPTER_SIZE_THIRTY_TWO),
        )
    assert getattr(raised.value, "code", None) == 400
    assert "The adapter size is not supported for this base model." in str(raised.value)


def test_storage_uploads_downloads_and_honours_generation_preconditions(cloud: Cloud) -> None:
    client = storage_client(cloud)
    bucket = client.create_bucket(BUCKET)
    assert bucket.project_number is not None
    data = jsonl(NUMBER_LINES)
    blob = bucket.blob("datasets/3f2a.jsonl")
    blob.upload_from_string(data, content_type="application/jsonl", if_generation_match=0)
    assert blob.generation is not None and blob.size == len(data)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("datasets/3f2a.jsonl").upload_from_string(b"other", if_generation_match=0)
    fetched = client.bucket(BUCKET).get_blob("datasets/3f2a.jsonl")
    assert fetched is not None and fetched.generation == blob.generation
    assert fetched.download_as_bytes() == data

    large = os.urandom(2 * 1024 * 1024 + 3)
    chunked = bucket.blob("big.bin", chunk_size=1024 * 1024)  # resumable, three chunks
    chunked.upload_from_string(large)
    assert client.bucket(BUCKET).blob("big.bin").download_as_bytes() == large
    assert [b.name for b in client.list_blobs(BUCKET, prefix="datasets/")] == ["datasets/3f2a.jsonl"]
    with pytest.raises(exceptions.NotFound):
        client.get_bucket("no-such-bucket")
    with pytest.raises(exceptions.PreconditionFailed):
        fetched.delete(if_generation_match=int(fetched.generation) + 1)


def test_storage_upload_then_tune_on_it(cloud: Cloud) -> None:
    client = storage_client(cloud)
    client.create_bucket(BUCKET).blob("train.jsonl").upload_from_string(jsonl(NUMBER_LINES))
    tuning = genai_client(cloud)  # kept: a genai Client closes its transport when collected
    job = tuning.tunings.tune(
        base_model="gemini-2.5-flash-lite",
        training_dataset=types.TuningDataset(gcs_uri=f"gs://{BUCKET}/train.jsonl"),
    )
    assert job.state == types.JobState.JOB_STATE_PENDING


@pytest.fixture
def server_cloud(emulator_server: Any, server_client: httpx.Client) -> Iterator[Cloud]:
    """The server backend only (a clean emulator, manual clock)."""
    emu = Emu(mode="server", http=server_client, admin_headers=admin_headers("server"))
    emu.reset()
    emu.manual_clock()
    yield Cloud(emu)
    emu.admin_request("POST", "reset")


def test_aiplatform_rest_reads_the_job_and_deletes_what_it_made(server_cloud: Cloud) -> None:
    from google.cloud import aiplatform
    from vertexai.tuning import sft

    cloud = server_cloud
    done = cloud.tuned(cloud.job_body(epochs=2))
    aiplatform.init(
        project=PROJECT,
        location=LOCATION,
        credentials=oauth_credentials(),
        api_endpoint=str(cloud.http.base_url),
        api_transport="rest",
    )
    job = sft.SupervisedTuningJob(done["name"])
    assert job.has_ended and job.state.name == "JOB_STATE_SUCCEEDED"
    assert job.tuned_model_name == done["tunedModel"]["model"]
    assert job.tuned_model_endpoint_name == done["tunedModel"]["endpoint"]

    model = aiplatform.Model(done["tunedModel"]["model"])
    # FAILED_PRECONDITION is HTTP 400, which api_core's REST mapping raises as BadRequest.
    with pytest.raises(
        exceptions.BadRequest, match="is deployed or being deployed at the following endpoints"
    ):
        model.delete()
    with pytest.raises(exceptions.BadRequest, match="has deployed models"):
        aiplatform.Endpoint(done["tunedModel"]["endpoint"]).delete()
    for checkpoint in done["tunedModel"]["checkpoints"]:
        aiplatform.Endpoint(checkpoint["endpoint"]).delete(force=True)
    model.delete()
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/endpoints")) == {}
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models")) == {}
    # The job stays, naming what it produced, as on the real service.
    assert cloud.get(done["name"])["tunedModel"] == done["tunedModel"]
