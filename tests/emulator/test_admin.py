"""The ``/_emulator`` admin routes: faults, latency, dropped connections, seed, reset, journal."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import Emu, assert_error, details_of, model_body

STATUS_NAMES = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _fault(emu: Emu, **fault: Any) -> None:
    emu.admin("POST", "faults", fault)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_fault_returns_the_status_then_clears_after_count(emu: Emu, status: int) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    _fault(emu, method="GetTunedModel", status=status, rate=1.0, count=2)
    for _ in range(2):
        assert_error(emu.call("GET", f"/v1beta/{name}"), status, STATUS_NAMES[status])
    after = emu.call("GET", f"/v1beta/{name}")
    assert after.status_code == 200, after.text
    assert after.json()["name"] == name


def test_429_fault_carries_retry_after_header_and_retry_info(emu: Emu) -> None:
    _fault(emu, method="ListTunedModels", status=429, rate=1.0, count=1, retryAfter=7)
    response = emu.call("GET", "/v1beta/tunedModels")
    error = assert_error(response, 429, "RESOURCE_EXHAUSTED")
    assert response.headers["Retry-After"] == "7"
    retry = details_of(error, "google.rpc.RetryInfo")
    assert len(retry) == 1, error["details"]
    assert retry[0]["retryDelay"] == "7s"


def test_fault_targets_only_its_rpc(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    _fault(emu, method="GetTunedModel", status=503, rate=1.0)
    assert_error(emu.call("GET", f"/v1beta/{name}"), 503, "UNAVAILABLE")
    listed = emu.call("GET", "/v1beta/tunedModels")
    assert listed.status_code == 200, listed.text
    assert [m["name"] for m in listed.json()["tunedModels"]] == [name]


def test_wildcard_fault_hits_every_rpc(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    _fault(emu, method="*", status=500, rate=1.0)
    assert_error(emu.call("GET", f"/v1beta/{name}"), 500, "INTERNAL")
    assert_error(emu.call("GET", "/v1beta/tunedModels"), 500, "INTERNAL")
    assert_error(emu.call("GET", "/v1beta/models"), 500, "INTERNAL")
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=model_body()), 500, "INTERNAL")


def test_fault_on_create_does_not_create(emu: Emu) -> None:
    _fault(emu, method="CreateTunedModel", status=503, rate=1.0, count=1)
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=model_body()), 503, "UNAVAILABLE")
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}


def test_deleting_faults_restores_service(emu: Emu) -> None:
    _fault(emu, method="*", status=503, rate=1.0)
    assert emu.call("GET", "/v1beta/tunedModels").status_code == 503
    emu.admin("DELETE", "faults")
    response = emu.call("GET", "/v1beta/tunedModels")
    assert response.status_code == 200, response.text
    assert response.json() == {}


def test_latency_fault_delays_the_response(emu: Emu) -> None:
    _fault(emu, method="ListTunedModels", latencyMs=300, rate=1.0)
    started = time.monotonic()
    response = emu.call("GET", "/v1beta/tunedModels")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed >= 0.29
    started = time.monotonic()
    assert emu.call("GET", "/v1beta/models").status_code == 200
    assert time.monotonic() - started < 0.29


def test_dropped_connection_is_a_transport_error(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    _fault(emu, method="GetTunedModel", drop=True, rate=1.0, count=1)
    with pytest.raises(httpx.TransportError):
        emu.call("GET", f"/v1beta/{name}")
    after = emu.call("GET", f"/v1beta/{name}")
    assert after.status_code == 200, after.text


def _statuses_with_seed(emu: Emu, seed: int) -> tuple[list[int], str, str]:
    emu.reset()
    emu.manual_clock()
    emu.admin("POST", "seed", {"seed": seed})
    op = emu.create(model_body("seeded model", batch_size=2))
    emu.advance(steps=38)
    snapshots = emu.get_operation(op["name"])["metadata"]["snapshots"]
    losses = json.dumps([s["meanLoss"] for s in snapshots])
    _fault(emu, method="ListTunedModels", status=503, rate=0.5)
    statuses = [emu.call("GET", "/v1beta/tunedModels").status_code for _ in range(24)]
    emu.admin("DELETE", "faults")
    return statuses, op["name"], losses


def test_seed_makes_names_losses_and_fault_dice_deterministic(emu: Emu) -> None:
    first = _statuses_with_seed(emu, 42)
    second = _statuses_with_seed(emu, 42)
    assert first == second
    statuses = first[0]
    assert set(statuses) == {200, 503}  # rate 0.5 over 24 rolls: both outcomes
    other = _statuses_with_seed(emu, 7)
    assert other[1] != first[1]


def test_reset_forgets_models_faults_and_journal(emu: Emu) -> None:
    emu.create()
    _fault(emu, method="GetTunedModel", status=500, rate=1.0)
    emu.reset()
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}
    assert emu.call("GET", "/v1beta/tunedModels/x").status_code == 404
    assert [e["rpc"] for e in _api_entries(emu)] == ["ListTunedModels", "GetTunedModel"]


def test_reset_puts_the_clock_back_to_real(emu: Emu) -> None:
    emu.advance(seconds=10_000)
    ahead = emu.get_model(emu.create(model_body("ahead"))["metadata"]["tunedModel"])
    emu.reset()
    now = datetime.now(UTC)
    fresh = emu.get_model(emu.create(model_body("fresh"))["metadata"]["tunedModel"])
    assert _parse(ahead["createTime"]) - now > timedelta(seconds=9_000)
    assert abs(_parse(fresh["createTime"]) - now) < timedelta(seconds=60)


def _parse(stamp: str) -> datetime:
    """RFC 3339 with up to 9 fractional digits -> aware datetime (microsecond precision)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")


def _api_entries(emu: Emu) -> list[dict[str, Any]]:
    """Journal entries of API requests (admin requests, if journaled, are left out)."""
    entries: list[dict[str, Any]] = emu.admin("GET", "journal").json()["requests"]
    return [e for e in entries if not e["path"].startswith("/_emulator")]


def test_journal_records_requests_without_credentials(emu: Emu) -> None:
    secret_key = "secret-key-0123456789"
    secret_token = "secret-token-abcdef"
    emu.admin("DELETE", "journal")
    created = emu.http.post(f"/v1beta/tunedModels?key={secret_key}", json=model_body("journaled"))
    assert created.status_code == 200, created.text
    name = created.json()["metadata"]["tunedModel"]
    emu.http.get(f"/v1beta/{name}", headers={"x-goog-api-key": secret_key})
    emu.http.get(
        "/v1beta/tunedModels",
        headers={"Authorization": f"Bearer {secret_token}", "x-goog-user-project": "p"},
    )
    emu.http.get("/v1beta/tunedModels/missing-one", headers={"x-goog-api-key": secret_key})

    response = emu.admin("GET", "journal")
    assert secret_key not in response.text
    assert secret_token not in response.text
    entries = _api_entries(emu)
    assert [(e["method"], e["rpc"], e["status"]) for e in entries] == [
        ("POST", "CreateTunedModel", 200),
        ("GET", "GetTunedModel", 200),
        ("GET", "ListTunedModels", 200),
        ("GET", "GetTunedModel", 404),
    ]
    assert entries[0]["path"] == "/v1beta/tunedModels"
    assert entries[1]["path"] == f"/v1beta/{name}"
    assert entries[1]["tunedModelId"] == name.split("/")[1]
    assert entries[3]["tunedModelId"] == "missing-one"
    for entry in entries:
        assert {"time", "method", "path", "rpc", "status", "caller"} <= set(entry)
    assert entries[0]["caller"] == entries[1]["caller"]
    assert entries[0]["caller"] != entries[2]["caller"]

    emu.admin("DELETE", "journal")
    assert _api_entries(emu) == []


def test_journal_names_every_rpc(emu: Emu) -> None:
    emu.register("owner-key", "owner@example.com")
    emu.admin("DELETE", "journal")
    op = emu.create()
    name = op["metadata"]["tunedModel"]
    emu.call("GET", "/v1beta/models")
    emu.call("GET", "/v1beta/models/gemini-1.0-pro-001")
    emu.call("GET", "/v1beta/tunedModels")
    emu.call("GET", f"/v1beta/{name}")
    emu.call("PATCH", f"/v1beta/{name}", json={"description": "d"}, params={"updateMask": "description"})
    emu.call("GET", f"/v1/{op['name']}")
    emu.call("GET", f"/v1/{name}/operations")
    perm = emu.call(
        "POST",
        f"/v1beta/{name}/permissions",
        json={"granteeType": "USER", "emailAddress": "b@example.com", "role": "READER"},
    ).json()
    emu.call("GET", f"/v1beta/{perm['name']}")
    emu.call("GET", f"/v1beta/{name}/permissions")
    emu.call("PATCH", f"/v1beta/{perm['name']}", json={"role": "WRITER"}, params={"updateMask": "role"})
    emu.call("DELETE", f"/v1beta/{perm['name']}")
    emu.advance(steps=40)
    emu.call("POST", f"/v1beta/{name}:generateContent", json={"contents": [{"parts": [{"text": "1"}]}]})
    emu.call("POST", f"/v1beta/{name}:transferOwnership", json={"emailAddress": "b@example.com"})
    palm = emu.create(model_body("palm", base_model="models/text-bison-001"), version="v1beta3")
    emu.call("POST", f"/v1/{palm['name']}:cancel", json={})
    emu.call(
        "POST", f"/v1beta3/{palm['metadata']['tunedModel']}:generateText", json={"prompt": {"text": "1"}}
    )
    emu.call("DELETE", f"/v1beta/{name}", key="other-key")

    rpcs = [e["rpc"] for e in _api_entries(emu)]
    assert rpcs == [
        "CreateTunedModel",
        "ListModels",
        "GetModel",
        "ListTunedModels",
        "GetTunedModel",
        "UpdateTunedModel",
        "GetOperation",
        "ListOperations",
        "CreatePermission",
        "GetPermission",
        "ListPermissions",
        "UpdatePermission",
        "DeletePermission",
        "GenerateContent",
        "TransferOwnership",
        "CreateTunedModel",
        "CancelOperation",
        "GenerateText",
        "DeleteTunedModel",
    ]
