"""Who may call the ``/_emulator`` admin routes: the admin token on a server, anyone in process,
never a web page; and the bearer tokens the API accepts once credentials are configured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulator.conftest import ADMIN_TOKEN, Emu, admin_headers, assert_error, details_of, model_body
from tuned_models_emulator.embedded import embedded_transport
from tuned_models_emulator.server import main, serve_in_thread

NEEDS_TOKEN = (
    "The emulator's admin routes need its admin token: send 'Authorization: Bearer <token>' "
    "(tuned-models emulator prints the token when it starts, or takes --admin-token)."
)
CROSS_ORIGIN = (
    "The emulator's admin routes refuse requests from web pages (Origin, Sec-Fetch-Site or a form body)."
)
INVALID_TOKEN = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def _listed(emu: Emu) -> list[str]:
    return [m["name"] for m in emu.call("GET", "/v1beta/tunedModels").json().get("tunedModels", [])]


# --- the admin routes -----------------------------------------------------------------------------


def test_in_process_admin_routes_need_no_token(embedded_client: httpx.Client) -> None:
    for path in ("journal", "settings"):
        response = embedded_client.get(f"/_emulator/{path}")
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), dict)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-admin-token", f"Basic {ADMIN_TOKEN}", "Bearer " + "x" * 10_000, "owner-key"],
)
def test_a_server_refuses_admin_requests_without_its_admin_token(
    server_client: httpx.Client, authorization: str | None
) -> None:
    emu = Emu("server", server_client, admin_headers("server"))
    emu.reset()
    name = emu.create(model_body("kept"))["metadata"]["tunedModel"]
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("POST", "reset"), ("GET", "journal"), ("POST", "callers")):
        response = emu.http.request(
            method, f"/_emulator/{path}", headers=headers, json={"token": "t", "email": "e@x.com"}
        )
        assert_error(response, 401, "UNAUTHENTICATED", NEEDS_TOKEN)
    assert _listed(emu) == [name]
    assert emu.admin("GET", "journal").json()["requests"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
def test_admin_routes_refuse_web_pages_even_with_the_token(emu: Emu, headers: dict[str, str]) -> None:
    name = emu.create(model_body("kept"))["metadata"]["tunedModel"]
    for method, path in (("POST", "reset"), ("GET", "journal")):
        response = emu.http.request(
            method, f"/_emulator/{path}", headers={**emu.admin_headers, **headers}, content=b"{}"
        )
        assert_error(response, 403, "PERMISSION_DENIED", CROSS_ORIGIN)
    assert _listed(emu) == [name]


@pytest.fixture
def open_server() -> Iterator[str]:
    server = serve_in_thread()
    try:
        yield server.base_url
    finally:
        server.stop()


def test_a_server_without_admin_token_answers_only_loopback_host_names(open_server: str) -> None:
    port = httpx.URL(open_server).port
    with httpx.Client(base_url=open_server) as client:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            assert client.get("/_emulator/settings", headers={"Host": host}).status_code == 200
        for host in (f"attacker.example:{port}", "", f"127.0.0.1.attacker.example:{port}"):
            response = client.get("/_emulator/journal", headers={"Host": host})
            assert_error(
                response,
                403,
                "PERMISSION_DENIED",
                "The emulator's admin routes answer only requests addressed to a loopback host name.",
            )


def test_serving_beyond_loopback_needs_an_admin_token() -> None:
    with pytest.raises(ValueError, match="not a loopback address, needs an admin_token"):
        serve_in_thread(host="0.0.0.0")


def test_the_command_prints_its_admin_token_and_requires_it(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tuned_models_emulator.server", "--port", "0", "--state", ":memory:"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        lines = [proc.stderr.readline(), proc.stderr.readline()]
        token_line = next(line for line in lines if " admin token " in line)
        token = token_line.split(" admin token ", 1)[1].split()[0]
        assert len(token) >= 32
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            assert_error(client.get("/_emulator/settings"), 401, "UNAUTHENTICATED", NEEDS_TOKEN)
            response = client.get("/_emulator/settings", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_command_warns_when_the_address_is_not_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface of this machine: the bind fails, nothing listens.
    assert main(["--host", "192.0.2.1", "--port", "0", "--state", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        "tuned-models emulator: warning: --host 192.0.2.1 is not a loopback address: anyone who can "
        "reach it can call the API over plain HTTP (the admin routes still need the admin token)"
    )
    assert lines[1].startswith("tuned-models emulator: cannot listen on 192.0.2.1:0")


# --- bearer tokens --------------------------------------------------------------------------------


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "x-goog-user-project": "p"}


def test_an_unknown_bearer_token_is_401_once_credentials_are_configured(keyed_emu: Emu) -> None:
    for method, path in (("GET", "/v1beta/tunedModels"), ("POST", "/v1beta/tunedModels")):
        response = keyed_emu.call(method, path, key=None, headers=_as("made-up-token"), json=model_body())
        error = assert_error(response, 401, "UNAUTHENTICATED", INVALID_TOKEN)
        assert [d["reason"] for d in details_of(error, "google.rpc.ErrorInfo")] == [
            "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        ]
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="https://accounts.google.com/"')
    assert keyed_emu.call("GET", "/v1beta/tunedModels", key="good-key").json() == {}


def test_configured_tokens_are_callers_with_their_emails(keyed_emu: Emu) -> None:
    created = keyed_emu.call(
        "POST", "/v1beta/tunedModels", key=None, headers=_as("dana-token"), json=model_body()
    )
    assert created.status_code == 200, created.text
    name = created.json()["metadata"]["tunedModel"]
    permissions = keyed_emu.call("GET", f"/v1beta/{name}/permissions", key=None, headers=_as("dana-token"))
    assert [p["emailAddress"] for p in permissions.json()["permissions"]] == ["dana@example.com"]
    other = keyed_emu.call("GET", f"/v1beta/{name}", key=None, headers=_as("good-token"))
    assert_error(other, 403, "PERMISSION_DENIED")


def test_a_token_registered_through_the_admin_route_is_accepted(keyed_emu: Emu) -> None:
    assert (
        keyed_emu.call("GET", "/v1beta/tunedModels", key=None, headers=_as("late-token")).status_code == 401
    )
    keyed_emu.admin("POST", "callers", {"token": "late-token", "email": "late@example.com"})
    response = keyed_emu.call("GET", "/v1beta/tunedModels", key=None, headers=_as("late-token"))
    assert response.status_code == 200, response.text


def test_configured_tokens_alone_also_refuse_unknown_keys() -> None:
    transport = embedded_transport(None, tokens=("only-token",))
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
            emu = Emu("embedded", client)
            assert (
                emu.call("GET", "/v1beta/tunedModels", key=None, headers=_as("only-token")).status_code == 200
            )
            assert_error(
                emu.call("GET", "/v1beta/tunedModels", key=None, headers=_as("other")), 401, "UNAUTHENTICATED"
            )
            assert_error(emu.call("GET", "/v1beta/tunedModels", key="any-key"), 400, "INVALID_ARGUMENT")
    finally:
        transport.close()


def test_an_oversized_credential_is_invalid_even_when_any_is_accepted(emu: Emu) -> None:
    assert_error(
        emu.call("GET", "/v1beta/tunedModels", key=None, headers=_as("t" * 9_000)), 401, "UNAUTHENTICATED"
    )
    assert_error(emu.call("GET", "/v1beta/tunedModels", key="k" * 9_000), 400, "INVALID_ARGUMENT")
    assert emu.call("GET", "/v1beta/tunedModels", key=None, headers=_as("t" * 8_000)).status_code == 200
