"""How a local stack's bucket comes to exist, and registered bearer tokens, on every surface."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulator.cloud.conftest import PROJECT, Cloud, assert_storage_error, assert_vertex_error
from tests.emulator.conftest import ADMIN_TOKEN, Emu, admin_headers, assert_error
from tuned_models_emulator.embedded import embedded_transport
from tuned_models_emulator.server import build_parser

TOKENS = ("good-token", "alice-token=alice@example.com")
BUCKETS = ("gs://stack-datasets", "other-bucket")


def test_the_admin_route_creates_a_bucket_once(cloud: Cloud) -> None:
    first = cloud.emu.admin("POST", "buckets", {"name": "gs://local-stack"})
    bucket = first.json()["bucket"]
    assert bucket["name"] == "local-stack"
    cloud.ok(cloud.upload("x.jsonl", b"x", bucket="local-stack"))
    again = cloud.emu.admin("POST", "buckets", {"name": "local-stack", "project": PROJECT})
    assert again.json()["bucket"] == bucket  # unchanged, objects kept
    assert cloud.call("GET", "/storage/v1/b/local-stack/o/x.jsonl", params={"alt": "media"}).content == b"x"
    assert cloud.emu.admin("GET", "buckets").json() == {"buckets": ["local-stack"]}
    bad = cloud.emu.admin_request("POST", "buckets", {"name": "Bad_Name!"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "Invalid bucket name: 'Bad_Name!'"


@pytest.fixture(scope="module", params=["server", "embedded"])
def configured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emu]:
    """An emulator started with bearer tokens and buckets configured."""
    if request.param == "server":
        from tuned_models_emulator.server import serve_in_thread

        state: Path = tmp_path_factory.mktemp("configured") / "emulator.sqlite"
        server = serve_in_thread(state, tokens=TOKENS, buckets=BUCKETS, admin_token=ADMIN_TOKEN)
        try:
            with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
                yield Emu("server", client, admin_headers("server"))
        finally:
            server.stop()
    else:
        transport = embedded_transport(None, tokens=TOKENS, buckets=BUCKETS)
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
    assert configured.admin("GET", "settings").json()["tokensConfigured"] is True
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
            "--token",
            "t1",
            "--token",
            "t2=bob@example.com",
            "--bucket",
            "a",
            "--bucket",
            "gs://b",
        ]
    )
    assert args.token == ["t1", "t2=bob@example.com"]
    assert args.bucket == ["a", "gs://b"]


# --- one token rule for every surface -------------------------------------------------------------

CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'


def _refused_everywhere(emu: Emu, authorization: str) -> None:
    """A request with this ``Authorization`` header gets each surface's own 401, with the bearer
    challenge."""
    cloud = Cloud(emu)
    auth = {"Authorization": authorization}
    vertex = cloud.call("GET", f"{cloud.parent()}/tuningJobs", token=None, headers=auth)
    assert assert_vertex_error(vertex, 401, "UNAUTHENTICATED").startswith(
        "Request had invalid authentication credentials."
    )
    storage = cloud.call("GET", "/storage/v1/b/any-bucket", token=None, headers=auth)
    assert_storage_error(storage, 401, "authError", "Invalid Credentials")
    gemini = emu.call("GET", "/v1beta/tunedModels", key=None, headers=auth)
    assert_error(gemini, 401, "UNAUTHENTICATED")
    for response in (vertex, storage, gemini):
        assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_configured_keys_alone_make_unknown_tokens_401_on_every_surface() -> None:
    transport = embedded_transport(None, api_keys=("only-key",))
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
            emu = Emu("embedded", client)
            _refused_everywhere(emu, "Bearer made-up-token")
            assert emu.admin("GET", "settings").json()["tokensConfigured"] is False
            emu.admin("POST", "callers", {"token": "late-token", "email": "late@example.com"})
            cloud = Cloud(emu)
            assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/endpoints", token="late-token")) == {}
            bucket = cloud.call("GET", "/storage/v1/b/missing-bucket", token="late-token")
            assert_storage_error(bucket, 404, "notFound")
            journal = emu.admin("GET", "journal").json()["requests"]
            assert [e["caller"] for e in journal[-2:]] == ["late@example.com", "late@example.com"]
    finally:
        transport.close()


def test_keyed_emulators_refuse_unknown_and_accept_configured_tokens(keyed_emu: Emu) -> None:
    _refused_everywhere(keyed_emu, "Bearer made-up-token")
    cloud = Cloud(keyed_emu)
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models", token="dana-token")) == {}
    made = cloud.call(
        "POST", "/storage/v1/b", token="dana-token", params={"project": PROJECT}, json={"name": "b-1"}
    )
    assert cloud.ok(made)["name"] == "b-1"
    entry = keyed_emu.admin("GET", "journal").json()["requests"][-1]
    assert (entry["rpc"], entry["caller"]) == ("storage.buckets.insert", "dana@example.com")


def test_an_oversized_token_or_another_scheme_is_refused_even_when_any_is_accepted(cloud: Cloud) -> None:
    for authorization in ("Bearer " + "t" * 9_000, "Basic dTpw"):
        _refused_everywhere(cloud.emu, authorization)
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models", token="t" * 8_000)) == {}


# --- the services' admin routes are protected like the others ------------------------------------

SERVICE_ADMIN = (("POST", "buckets", {"name": "planted"}), ("PATCH", "vertex", {"operationSeconds": 60}))


def test_the_services_admin_routes_need_the_admin_token(server_client: httpx.Client) -> None:
    emu = Emu("server", server_client, admin_headers("server"))
    emu.reset()
    for authorization in ({}, {"Authorization": "Bearer not-the-admin-token"}):
        for method, path, body in SERVICE_ADMIN:
            response = server_client.request(method, f"/_emulator/{path}", json=body, headers=authorization)
            assert_error(response, 401, "UNAUTHENTICATED")
        assert server_client.get("/_emulator/buckets", headers=authorization).status_code == 401
    assert emu.admin("GET", "buckets").json() == {"buckets": []}
    assert emu.admin("GET", "vertex").json() == {"operationSeconds": 0.0}


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://attacker.example"}, {"Content-Type": "text/plain"}],
    ids=["origin", "form"],
)
def test_the_services_admin_routes_refuse_web_pages(cloud: Cloud, headers: dict[str, str]) -> None:
    for method, path, body in SERVICE_ADMIN:
        response = cloud.http.request(
            method,
            f"/_emulator/{path}",
            content=json.dumps(body).encode(),
            headers={**cloud.emu.admin_headers, **headers},
        )
        assert_error(response, 403, "PERMISSION_DENIED")
    assert cloud.emu.admin("GET", "buckets").json() == {"buckets": []}
    assert cloud.emu.admin("GET", "vertex").json() == {"operationSeconds": 0.0}
