"""Fixtures for the Cloud Storage and Vertex AI surfaces.

Tests use the parent folder's ``emu`` fixture (a real server on loopback and the embedded
transport, reset, manual clock) through :class:`Cloud`, which sends an OAuth bearer token and
knows the surfaces' paths. :class:`HttpxAdapter` lets ``requests``-based Google clients
(google-cloud-storage) talk to the embedded transport.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from tests.emulator.conftest import Emu
from tests.seed_examples import NUMBER_EXAMPLES

TOKEN = "ya29.test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROJECT = "tuning-project"
LOCATION = "us-central1"
BUCKET = "tuning-datasets"
#: Examples per tuning step in the emulator (the service does not document its batch size).
BATCH = 8


def contents_line(text_input: str, output: str) -> dict[str, Any]:
    """One supervised-tuning example in Vertex AI's ``contents`` format."""
    return {
        "contents": [
            {"role": "user", "parts": [{"text": text_input}]},
            {"role": "model", "parts": [{"text": output}]},
        ]
    }


NUMBER_LINES: list[dict[str, Any]] = [contents_line(e["textInput"], e["output"]) for e in NUMBER_EXAMPLES]
"""The seeds' fifteen examples as ``contents`` JSONL records."""


def jsonl(records: list[dict[str, Any]]) -> bytes:
    """Records as JSONL bytes."""
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode("utf-8")


def tokens(text: str) -> int:
    """The emulator's documented token count: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


def steps_for(examples: int, epochs: int) -> int:
    """Training steps of a job: epochs x ceil(examples / 8)."""
    return epochs * math.ceil(examples / BATCH)


@dataclass
class Cloud:
    """Helpers over one emulator backend for the Google Cloud surfaces."""

    emu: Emu

    @property
    def http(self) -> httpx.Client:
        return self.emu.http

    @property
    def mode(self) -> str:
        return self.emu.mode

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = TOKEN,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A request with ``Authorization: Bearer token`` (none when ``token`` is None); an iterable
        ``content`` is sent chunked, without a Content-Length."""
        all_headers: dict[str, str] = {}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        return self.http.request(method, path, json=json, content=content, params=params, headers=all_headers)

    def ok(self, response: httpx.Response) -> Any:
        """The JSON body of a 200 response (asserts the status)."""
        assert response.status_code == 200, response.text
        return response.json()

    # storage --------------------------------------------------------------
    def bucket(self, name: str = BUCKET) -> dict[str, Any]:
        """Pre-create a bucket through the admin route; returns the Bucket resource."""
        response = self.emu.admin("POST", "buckets", {"name": name, "project": PROJECT})
        bucket: dict[str, Any] = response.json()["bucket"]
        return bucket

    def upload(self, name: str, data: bytes, *, bucket: str = BUCKET, **params: str | int) -> httpx.Response:
        """A media upload of ``data`` as ``gs://bucket/name``."""
        query: dict[str, str | int] = {"uploadType": "media", "name": name, **params}
        return self.call("POST", f"/upload/storage/v1/b/{bucket}/o", content=data, params=query)

    def dataset(self, records: list[dict[str, Any]] | None = None, name: str = "train.jsonl") -> str:
        """Upload a JSONL dataset (the seeds' examples by default) into BUCKET; returns its gs:// URI."""
        self.bucket()
        response = self.upload(name, jsonl(NUMBER_LINES if records is None else records))
        assert response.status_code == 200, response.text
        return f"gs://{BUCKET}/{name}"

    # vertex ---------------------------------------------------------------
    @staticmethod
    def parent(version: str = "v1", location: str = LOCATION, project: str = PROJECT) -> str:
        """``/{version}/projects/{project}/locations/{location}``."""
        return f"/{version}/projects/{project}/locations/{location}"

    def job_body(self, uri: str | None = None, *, epochs: int | None = 2, **extra: Any) -> dict[str, Any]:
        """A CreateTuningJob body for gemini-2.5-flash on ``uri`` (a fresh seeds' dataset if None)."""
        spec: dict[str, Any] = {"trainingDatasetUri": uri or self.dataset()}
        if epochs is not None:
            spec["hyperParameters"] = {"epochCount": epochs}
        body: dict[str, Any] = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec}
        body.update(extra)
        return body

    def create_job(
        self, body: dict[str, Any] | None = None, *, version: str = "v1", **kwargs: Any
    ) -> dict[str, Any]:
        """CreateTuningJob; asserts 200 and returns the TuningJob."""
        job: dict[str, Any] = self.ok(
            self.call("POST", f"{self.parent(version, **kwargs)}/tuningJobs", json=body or self.job_body())
        )
        return job

    def get(self, name: str, version: str = "v1") -> dict[str, Any]:
        """GET ``/{version}/{name}``; asserts 200."""
        got: dict[str, Any] = self.ok(self.call("GET", f"/{version}/{name}"))
        return got

    def advance(self, steps: int) -> None:
        """Move the manual clock by ``steps`` training steps."""
        self.emu.advance(steps=steps)

    def finish(self, job: dict[str, Any]) -> dict[str, Any]:
        """Advance past the end of training; returns the SUCCEEDED job."""
        self.advance(1)
        running = self.get(job["name"])
        steps = int(running["tuningDataStats"]["supervisedTuningDataStats"]["tuningStepCount"])
        self.advance(steps)
        done = self.get(job["name"])
        assert done["state"] == "JOB_STATE_SUCCEEDED", done
        return done

    def tuned(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a job and train it to the end; returns the SUCCEEDED job."""
        return self.finish(self.create_job(body))


@pytest.fixture
def cloud(emu: Emu) -> Iterator[Cloud]:
    """The Google Cloud surfaces of a clean emulator (server or embedded, manual clock)."""
    yield Cloud(emu)


class HttpxAdapter(HTTPAdapter):
    """A ``requests`` adapter that sends through an httpx client (the embedded transport)."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body: Any = request.body
        if body is not None and hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {k: v if isinstance(v, str) else v.decode("latin-1") for k, v in request.headers.items()}
        reply = self.client.request(
            str(request.method), str(request.url), headers=headers, content=body or b""
        )
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(reply.content),
            headers=urllib3.HTTPHeaderDict(list(reply.headers.multi_items())),
            status=reply.status_code,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


def oauth_credentials(token: str = TOKEN) -> Any:
    """google-auth credentials holding a fixed access token (never refreshed)."""
    from google.oauth2.credentials import Credentials

    return Credentials(token=token)  # type: ignore[no-untyped-call]


def crc32c_b64(data: bytes) -> str:
    """base64 of the big-endian CRC32C of ``data``, as Cloud Storage reports it."""
    import google_crc32c

    digest: bytes = google_crc32c.Checksum(data).digest()  # type: ignore[no-untyped-call]
    return base64.b64encode(digest).decode()


def assert_vertex_error(response: httpx.Response, code: int, status: str, message: str | None = None) -> str:
    """Assert Vertex AI's error shape (no empty ``details``); returns the message."""
    assert response.status_code == code, response.text
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert error["code"] == code
    assert error["status"] == status
    assert set(error) <= {"code", "message", "status", "details"}
    assert "details" not in error or error["details"], error
    if message is not None:
        assert error["message"] == message
    text: str = error["message"]
    return text


def refused(cloud: Cloud, body: dict[str, Any], message: str | re.Pattern[str], version: str = "v1") -> None:
    """CreateTuningJob with ``body`` is a 400 INVALID_ARGUMENT with ``message`` (a string, or a
    pattern the whole message matches), and no job exists."""
    response = cloud.call("POST", f"{cloud.parent(version)}/tuningJobs", json=body)
    text = assert_vertex_error(response, 400, "INVALID_ARGUMENT")
    if isinstance(message, str):
        assert text == message
    else:
        assert message.fullmatch(text), text
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/tuningJobs")) == {}


def assert_storage_error(response: httpx.Response, code: int, reason: str, message: str | None = None) -> str:
    """Assert the Cloud Storage JSON API's error shape; returns the message."""
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "errors"}, error
    assert error["code"] == code
    assert error["errors"][0]["reason"] == reason
    assert error["errors"][0]["message"] == error["message"]
    assert error["errors"][0]["domain"] == "global"
    if message is not None:
        assert error["message"] == message
    text: str = error["message"]
    return text
