"""Authentication (API keys, bearer tokens) and authorization (owner, permissions, roles)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.emulator.conftest import (
    OWNER_KEY,
    UNREGISTERED_MESSAGE,
    Emu,
    assert_error,
    details_of,
    model_body,
)

OWNER_EMAIL = "owner@example.com"
BOB_KEY = "bob-key"
BOB_EMAIL = "bob@example.com"
EVE_KEY = "eve-key"
EVE_EMAIL = "eve@example.com"
PERMISSION_NAME = re.compile(r"^tunedModels/[a-z0-9-]+/permissions/[a-z0-9]+$")


def _denied(name: str) -> str:
    return f"You do not have permission to access tuned model {name}"


def _people(emu: Emu) -> None:
    emu.register(OWNER_KEY, OWNER_EMAIL)
    emu.register(BOB_KEY, BOB_EMAIL)
    emu.register(EVE_KEY, EVE_EMAIL)


def _grant(
    emu: Emu,
    name: str,
    role: str,
    *,
    grantee_type: str = "USER",
    email: str | None = BOB_EMAIL,
    key: str = OWNER_KEY,
) -> dict[str, Any]:
    body: dict[str, Any] = {"granteeType": grantee_type, "role": role}
    if email is not None:
        body["emailAddress"] = email
    response = emu.call("POST", f"/v1beta/{name}/permissions", json=body, key=key)
    assert response.status_code == 200, response.text
    permission: dict[str, Any] = response.json()
    return permission


def _permissions(emu: Emu, name: str, *, key: str = OWNER_KEY) -> list[dict[str, Any]]:
    response = emu.call("GET", f"/v1beta/{name}/permissions", key=key)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json().get("permissions", [])
    return listed


def _generate(emu: Emu, name: str, key: str) -> Any:
    return emu.call(
        "POST",
        f"/v1beta/{name}:generateContent",
        key=key,
        json={"contents": [{"parts": [{"text": "one"}]}]},
    )


def _patch(emu: Emu, name: str, key: str) -> Any:
    return emu.call(
        "PATCH",
        f"/v1beta/{name}",
        key=key,
        json={"description": f"by {key}"},
        params={"updateMask": "description"},
    )


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1beta/tunedModels"),
        ("POST", "/v1beta/tunedModels"),
        ("GET", "/v1beta/tunedModels/some-model"),
        ("GET", "/v1/tunedModels/some-model/operations/abcdefghijkl"),
        ("GET", "/v1beta/models"),
    ],
)
def test_request_without_credentials_is_permission_denied(emu: Emu, method: str, path: str) -> None:
    body = model_body() if method == "POST" else None
    response = emu.call(method, path, key=None, json=body)
    assert_error(response, 403, "PERMISSION_DENIED", UNREGISTERED_MESSAGE)
    if method == "POST":
        assert emu.call("GET", "/v1beta/tunedModels").json() == {}


def test_api_key_in_query_and_in_header_is_the_same_caller(emu: Emu) -> None:
    created = emu.http.post("/v1beta/tunedModels?key=k1", json=model_body("by query"))
    assert created.status_code == 200, created.text
    name = created.json()["metadata"]["tunedModel"]
    by_header = emu.call("GET", f"/v1beta/{name}", key="k1")
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["displayName"] == "by query"


def test_bearer_token_with_user_project_is_a_caller(emu: Emu) -> None:
    headers = {"Authorization": "Bearer token-a", "x-goog-user-project": "my-project-id"}
    created = emu.call("POST", "/v1beta/tunedModels", key=None, json=model_body(), headers=headers)
    assert created.status_code == 200, created.text
    name = created.json()["metadata"]["tunedModel"]
    listed = emu.call("GET", "/v1beta/tunedModels", key=None, headers=headers)
    assert [m["name"] for m in listed.json()["tunedModels"]] == [name]


def test_distinct_bearer_tokens_are_distinct_callers(emu: Emu) -> None:
    a = {"Authorization": "Bearer token-a", "x-goog-user-project": "p"}
    b = {"Authorization": "Bearer token-b", "x-goog-user-project": "p"}
    created = emu.call("POST", "/v1beta/tunedModels", key=None, json=model_body(), headers=a)
    name = created.json()["metadata"]["tunedModel"]
    response = emu.call("GET", f"/v1beta/{name}", key=None, headers=b)
    assert_error(response, 403, "PERMISSION_DENIED", _denied(name))


def test_any_key_is_accepted_when_no_keys_are_configured(emu: Emu) -> None:
    response = emu.call("GET", "/v1beta/tunedModels", key="anything-at-all")
    assert response.status_code == 200, response.text
    assert response.json() == {}


def test_unknown_api_key_is_invalid_when_keys_are_configured(keyed_emu: Emu) -> None:
    for response in (
        keyed_emu.call("GET", "/v1beta/tunedModels", key="wrong-key"),
        keyed_emu.http.get("/v1beta/tunedModels?key=wrong-key"),
    ):
        error = assert_error(
            response, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
        )
        infos = details_of(error, "google.rpc.ErrorInfo")
        assert len(infos) == 1, error["details"]
        assert infos[0]["reason"] == "API_KEY_INVALID"


def test_configured_keys_are_accepted(keyed_emu: Emu) -> None:
    for key in ("good-key", "alice-key"):
        response = keyed_emu.call("GET", "/v1beta/tunedModels", key=key)
        assert response.status_code == 200, response.text
        assert response.json() == {}


def test_configured_key_email_is_the_callers_identity(keyed_emu: Emu) -> None:
    op = keyed_emu.create(key="good-key")
    name = op["metadata"]["tunedModel"]
    assert_error(
        keyed_emu.call("GET", f"/v1beta/{name}", key="alice-key"),
        403,
        "PERMISSION_DENIED",
        _denied(name),
    )
    _grant(keyed_emu, name, "READER", email="alice@example.com", key="good-key")
    response = keyed_emu.call("GET", f"/v1beta/{name}", key="alice-key")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name


def test_alice_owns_with_her_configured_email(keyed_emu: Emu) -> None:
    name = keyed_emu.create(key="alice-key")["metadata"]["tunedModel"]
    owners = [p for p in _permissions(keyed_emu, name, key="alice-key") if p["role"] == "OWNER"]
    assert [p.get("emailAddress") for p in owners] == ["alice@example.com"]


# --- ownership ------------------------------------------------------------------------------------


def test_model_belongs_to_its_creator(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    message = _denied(name)
    assert_error(emu.call("GET", f"/v1beta/{name}", key=EVE_KEY), 403, "PERMISSION_DENIED", message)
    assert_error(_patch(emu, name, EVE_KEY), 403, "PERMISSION_DENIED", message)
    assert_error(_generate(emu, name, EVE_KEY), 403, "PERMISSION_DENIED", message)
    assert_error(emu.call("DELETE", f"/v1beta/{name}", key=EVE_KEY), 403, "PERMISSION_DENIED", message)
    assert_error(emu.call("GET", f"/v1beta/{name}/permissions", key=EVE_KEY), 403, "PERMISSION_DENIED")
    assert emu.call("GET", "/v1beta/tunedModels", key=EVE_KEY).json() == {}
    assert emu.get_model(name)["name"] == name


def test_creator_holds_an_owner_permission(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    permissions = _permissions(emu, name)
    assert len(permissions) == 1
    owner = permissions[0]
    assert PERMISSION_NAME.match(owner["name"])
    assert owner["name"].startswith(f"{name}/permissions/")
    assert owner["role"] == "OWNER"
    assert owner["granteeType"] == "USER"
    assert owner["emailAddress"] == OWNER_EMAIL


# --- permissions CRUD -----------------------------------------------------------------------------


def test_permission_create_get_list_patch_delete(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    created = _grant(emu, name, "READER")
    assert PERMISSION_NAME.match(created["name"])
    assert created["name"].startswith(f"{name}/permissions/")
    assert {k: created[k] for k in ("granteeType", "emailAddress", "role")} == {
        "granteeType": "USER",
        "emailAddress": BOB_EMAIL,
        "role": "READER",
    }

    got = emu.call("GET", f"/v1beta/{created['name']}")
    assert got.status_code == 200, got.text
    assert got.json() == created

    listed = _permissions(emu, name)
    assert sorted(p["role"] for p in listed) == ["OWNER", "READER"]
    assert created in listed

    patched = emu.call(
        "PATCH",
        f"/v1beta/{created['name']}",
        json={"role": "WRITER"},
        params={"updateMask": "role"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**created, "role": "WRITER"}

    deleted = emu.call("DELETE", f"/v1beta/{created['name']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {}
    assert_error(emu.call("GET", f"/v1beta/{created['name']}"), 404, "NOT_FOUND")
    assert [p["role"] for p in _permissions(emu, name)] == ["OWNER"]


def test_permission_enums_accepted_as_numbers(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    response = emu.call(
        "POST",
        f"/v1beta/{name}/permissions",
        json={"granteeType": 3, "role": 3},
    )
    assert response.status_code == 200, response.text
    permission = response.json()
    assert permission["granteeType"] == "EVERYONE"
    assert permission["role"] == "READER"
    assert "emailAddress" not in permission


def test_permission_accepts_snake_case_fields(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    response = emu.call(
        "POST",
        f"/v1beta/{name}/permissions",
        json={"grantee_type": "GROUP", "email_address": "team@googlegroups.com", "role": "WRITER"},
    )
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in ("granteeType", "emailAddress", "role")} == {
        "granteeType": "GROUP",
        "emailAddress": "team@googlegroups.com",
        "role": "WRITER",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"granteeType": "EVERYONE", "emailAddress": "x@example.com", "role": "READER"},
        {"granteeType": "USER", "role": "READER"},
        {"granteeType": "USER", "emailAddress": "x@example.com"},
    ],
    ids=["everyone-with-email", "user-without-email", "without-role"],
)
def test_invalid_permission_is_rejected(emu: Emu, body: dict[str, Any]) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    response = emu.call("POST", f"/v1beta/{name}/permissions", json=body)
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert len(_permissions(emu, name)) == 1


def test_update_permission_other_than_role_is_invalid(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    created = _grant(emu, name, "READER")
    response = emu.call(
        "PATCH",
        f"/v1beta/{created['name']}",
        json={"emailAddress": "other@example.com"},
        params={"updateMask": "emailAddress"},
    )
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert emu.call("GET", f"/v1beta/{created['name']}").json()["emailAddress"] == BOB_EMAIL


def test_get_missing_permission_is_not_found(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    assert_error(emu.call("GET", f"/v1beta/{name}/permissions/nosuchperm"), 404, "NOT_FOUND")


# --- roles ----------------------------------------------------------------------------------------


def test_reader_can_get_and_generate_but_not_patch_share_or_delete(emu: Emu) -> None:
    _people(emu)
    name = emu.active_model()["name"]
    _grant(emu, name, "READER")

    got = emu.call("GET", f"/v1beta/{name}", key=BOB_KEY)
    assert got.status_code == 200, got.text
    assert got.json()["name"] == name
    generated = _generate(emu, name, BOB_KEY)
    assert generated.status_code == 200, generated.text
    assert generated.json()["candidates"][0]["content"]["parts"][0]["text"] == "two"

    assert_error(_patch(emu, name, BOB_KEY), 403, "PERMISSION_DENIED")
    share = emu.call(
        "POST",
        f"/v1beta/{name}/permissions",
        key=BOB_KEY,
        json={"granteeType": "USER", "emailAddress": EVE_EMAIL, "role": "READER"},
    )
    assert_error(share, 403, "PERMISSION_DENIED")
    assert_error(emu.call("DELETE", f"/v1beta/{name}", key=BOB_KEY), 403, "PERMISSION_DENIED")
    assert emu.get_model(name)["state"] == "ACTIVE"
    assert "description" not in emu.get_model(name)


def test_writer_can_patch_and_manage_permissions_but_not_delete_or_transfer(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    _grant(emu, name, "WRITER")

    patched = _patch(emu, name, BOB_KEY)
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == f"by {BOB_KEY}"
    shared = _grant(emu, name, "READER", email=EVE_EMAIL, key=BOB_KEY)
    assert shared["emailAddress"] == EVE_EMAIL
    assert len(_permissions(emu, name, key=BOB_KEY)) == 3
    assert emu.call("GET", f"/v1beta/{name}", key=EVE_KEY).status_code == 200

    assert_error(emu.call("DELETE", f"/v1beta/{name}", key=BOB_KEY), 403, "PERMISSION_DENIED")
    transfer = emu.call(
        "POST",
        f"/v1beta/{name}:transferOwnership",
        key=BOB_KEY,
        json={"emailAddress": BOB_EMAIL},
    )
    assert_error(transfer, 403, "PERMISSION_DENIED")
    assert emu.get_model(name)["name"] == name


def test_owner_transfers_ownership_and_becomes_writer(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    response = emu.call("POST", f"/v1beta/{name}:transferOwnership", json={"emailAddress": BOB_EMAIL})
    assert response.status_code == 200, response.text
    assert response.json() == {}

    roles = {p.get("emailAddress"): p["role"] for p in _permissions(emu, name, key=BOB_KEY)}
    assert roles == {BOB_EMAIL: "OWNER", OWNER_EMAIL: "WRITER"}
    assert_error(emu.call("DELETE", f"/v1beta/{name}", key=OWNER_KEY), 403, "PERMISSION_DENIED")
    assert _patch(emu, name, OWNER_KEY).status_code == 200
    deleted = emu.call("DELETE", f"/v1beta/{name}", key=BOB_KEY)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {}


def test_transfer_ownership_without_email_is_invalid(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    response = emu.call("POST", f"/v1beta/{name}:transferOwnership", json={})
    assert_error(response, 400, "INVALID_ARGUMENT")


def test_group_grant_matches_the_callers_groups(emu: Emu) -> None:
    _people(emu)
    emu.register("carol-key", "carol@example.com", ["team@googlegroups.com"])
    name = emu.create()["metadata"]["tunedModel"]
    _grant(emu, name, "READER", grantee_type="GROUP", email="team@googlegroups.com")
    assert emu.call("GET", f"/v1beta/{name}", key="carol-key").status_code == 200
    assert_error(emu.call("GET", f"/v1beta/{name}", key=EVE_KEY), 403, "PERMISSION_DENIED", _denied(name))


def test_everyone_grant_lets_any_caller_read(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    assert emu.call("GET", f"/v1beta/{name}", key="stranger").status_code == 403
    _grant(emu, name, "READER", grantee_type="EVERYONE", email=None)
    response = emu.call("GET", f"/v1beta/{name}", key="stranger")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name
    assert_error(_patch(emu, name, "stranger"), 403, "PERMISSION_DENIED")


def test_revoked_permission_removes_access(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    permission = _grant(emu, name, "READER")
    assert emu.call("GET", f"/v1beta/{name}", key=BOB_KEY).status_code == 200
    assert emu.call("DELETE", f"/v1beta/{permission['name']}").status_code == 200
    assert_error(emu.call("GET", f"/v1beta/{name}", key=BOB_KEY), 403, "PERMISSION_DENIED", _denied(name))


def test_bearer_token_caller_gets_its_registered_email(emu: Emu) -> None:
    emu.admin("POST", "callers", {"token": "dana-token", "email": "dana@example.com", "groups": []})
    name = emu.create()["metadata"]["tunedModel"]
    dana = {"Authorization": "Bearer dana-token", "x-goog-user-project": "p"}
    assert_error(
        emu.call("GET", f"/v1beta/{name}", key=None, headers=dana),
        403,
        "PERMISSION_DENIED",
        _denied(name),
    )
    _grant(emu, name, "READER", email="dana@example.com")
    response = emu.call("GET", f"/v1beta/{name}", key=None, headers=dana)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name


def test_other_caller_cannot_read_list_or_cancel_operations(emu: Emu) -> None:
    _people(emu)
    op = emu.create()
    name = op["metadata"]["tunedModel"]
    message = _denied(name)
    for method, path in (
        ("GET", f"/v1/{op['name']}"),
        ("GET", f"/v1beta/{op['name']}"),
        ("GET", f"/v1/{name}/operations"),
        ("POST", f"/v1/{op['name']}:cancel"),
    ):
        assert_error(emu.call(method, path, key=EVE_KEY), 403, "PERMISSION_DENIED", message)
    assert "done" not in emu.get_operation(op["name"])


def test_reader_sees_the_shared_model_in_its_list(emu: Emu) -> None:
    _people(emu)
    name = emu.create()["metadata"]["tunedModel"]
    assert emu.call("GET", "/v1beta/tunedModels", key=BOB_KEY).json() == {}
    _grant(emu, name, "READER")
    listed = emu.call("GET", "/v1beta/tunedModels", key=BOB_KEY).json()
    assert [m["name"] for m in listed["tunedModels"]] == [name]


def test_list_leaves_out_models_shared_with_everyone_by_default(emu: Emu) -> None:
    # ListTunedModelsRequest.filter: "By default, results will not include tuned models shared
    # with everyone."
    name = emu.create()["metadata"]["tunedModel"]
    _grant(emu, name, "READER", grantee_type="EVERYONE", email=None)
    assert emu.call("GET", "/v1beta/tunedModels", key="stranger").json() == {}
    assert emu.call("GET", f"/v1beta/{name}", key="stranger").status_code == 200
