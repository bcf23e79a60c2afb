"""How a local stack's bucket comes to exist, and registered access tokens, on every surface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulator.cloud.conftest import PROJECT, Cloud, assert_storage_error, assert_vertex_error
from tests.emulator.conftest import Emu, assert_error
from tuned_models_emulator.server import build_parser

TOKENS = ("good-token", "alice-token=alice@example.com")
BUCKETS = ("gs://stack-datasets", "other-bucket")


def test_the_admin_route_creates_a_bucket_once(cloud: Cloud) -> None:
    first = cloud.http.post("/_emulator/buckets", json={"name": "gs://local-stack"})
    assert first.status_code == 200, first.text
    bucket = first.json()["bucket"]
    assert bucket["name"] == "local-stack"
    cloud.ok(cloud.upload("x.jsonl", b"x", bucket="local-stack"))
    again = cloud.http.post("/_emulator/buckets", json={"name": "local-stack", "project": PROJECT})
    assert again.json()["bucket"] == bucket  # unchanged, objects kept
    assert cloud.call("GET", "/storage/v1/b/local-stack/o/x.jsonl", params={"alt": "media"}).content == b"x"
    assert cloud.http.get("/_emulator/buckets").json() == {"buckets": ["local-stack"]}
    bad = cloud.http.post("/_emulator/buckets", json={"name": "Bad_Name!"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "Invalid bucket name: 'Bad_Name!'"


@pytest.fixture(scope="module", params=["server", "embedded"])
def configured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emu]:
    """An emulator started with access tokens and buckets configured."""
    if request.param == "server":
        from tuned_models_emulator.server import serve_in_thread

        state: Path = tmp_path_factory.mktemp("configured") / "emulator.sqlite"
        server = serve_in_thread(state, access_tokens=TOKENS, buckets=BUCKETS)
        try:
            with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
                yield Emu("server", client)
        finally:
            server.stop()
    else:
        from tuned_models_emulator.embedded import embedded_transport

        transport = embedded_transport(None, access_tokens=TOKENS, buckets=BUCKETS)
        try:
            with httpx.Client(
                transport=transport, base_url="http://emulator.invalid", timeout=10.0
            ) as client:
                yield Emu("embedded", client)
        finally:
            transport.close()


def test_configured_buckets_exist_from_the_start_and_after_reset(configured: Emu) -> None:
    cloud = Cloud(configured)
    for name in ("stack-datasets", "other-bucket"):
        assert cloud.ok(cloud.call("GET", f"/storage/v1/b/{name}", token="good-token"))["name"] == name
    stored = cloud.call(
        "POST",
        "/upload/storage/v1/b/stack-datasets/o",
        token="good-token",
        params={"uploadType": "media", "name": "x.jsonl"},
        content=b"x",
    )
    assert stored.status_code == 200, stored.text
    configured.reset()
    assert (
        cloud.ok(cloud.call("GET", "/storage/v1/b/stack-datasets", token="good-token"))["name"]
        == "stack-datasets"
    )
    gone = cloud.call("GET", "/storage/v1/b/stack-datasets/o/x.jsonl", token="good-token")
    assert_storage_error(gone, 404, "notFound")


def test_only_registered_tokens_are_accepted_on_every_surface(configured: Emu) -> None:
    cloud = Cloud(configured)
    configured.reset()
    assert configured.admin("GET", "settings").json()["accessTokensConfigured"] is True
    vertex = cloud.call("GET", f"{cloud.parent()}/tuningJobs", token="stolen-token")
    message = assert_vertex_error(vertex, 401, "UNAUTHENTICATED")
    assert message.startswith("Request had invalid authentication credentials.")
    storage = cloud.call("GET", "/storage/v1/b/other-bucket", token="stolen-token")
    assert_storage_error(storage, 401, "authError", "Invalid Credentials")
    gemini = configured.call(
        "GET", "/v1beta/tunedModels", key=None, headers={"Authorization": "Bearer stolen-token"}
    )
    assert_error(gemini, 401, "UNAUTHENTICATED")

    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/tuningJobs", token="good-token")) == {}
    configured.admin("DELETE", "journal")
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models", token="alice-token")) == {}
    entry = configured.admin("GET", "journal").json()["requests"][-1]
    assert (entry["rpc"], entry["caller"]) == ("aiplatform.ListModels", "alice@example.com")


def test_command_line_options() -> None:
    args = build_parser().parse_args(
        [
            "--access-token",
            "t1",
            "--access-token",
            "t2=bob@example.com",
            "--bucket",
            "a",
            "--bucket",
            "gs://b",
        ]
    )
    assert args.access_token == ["t1", "t2=bob@example.com"]
    assert args.bucket == ["a", "gs://b"]
