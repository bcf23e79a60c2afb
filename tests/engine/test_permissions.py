"""Sharing as code through the real provider server, with the effect checked as a second caller."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.engine import API_KEY, TUNED_MODEL, Emulator, inputs
from tests.support.harness import PROVIDER_KEY, MiniEngine, serialize_provider, wait_until
from tuned_models.model.spec import PermissionSpec
from tuned_models.permission import TunedModelOwnerProvider, TunedModelPermissionProvider, permission_args
from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE as OWNER
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE as PERMISSION

GRANTS = serialize_provider(TunedModelPermissionProvider())
OWNERS = serialize_provider(TunedModelOwnerProvider())
READER_KEY, OTHER_KEY, MEMBER_KEY = "reader-key", "stranger-key", "member-key"


@pytest.fixture
def shared(engine: MiniEngine, emu: Emulator) -> str:
    """A trained model owned by the stack's caller; the callers' identities registered."""
    emu.admin("POST", "callers", {"key": API_KEY, "email": "owner@example.com"})
    emu.admin("POST", "callers", {"key": READER_KEY, "email": "reader@example.com"})
    emu.admin("POST", "callers", {"key": OTHER_KEY, "email": "stranger@example.com"})
    emu.admin(
        "POST",
        "callers",
        {"key": MEMBER_KEY, "email": "member@example.com", "groups": ["ml-team@googlegroups.com"]},
    )
    engine.up("numbers", TUNED_MODEL, inputs(engine.stack))
    return str(engine.outputs("numbers", TUNED_MODEL)["name"])


def grant(model: str, **entry: Any) -> dict[str, Any]:
    return {**permission_args(model, PermissionSpec.model_validate(entry)), PROVIDER_KEY: GRANTS}


def generate(emu: Emulator, model: str, key: str) -> int:
    r = emu.api(
        "POST",
        f"/v1beta/{model}:generateContent",
        {"contents": [{"parts": [{"text": "twenty two"}]}]},
        key=key,
    )
    return r.status_code


def roles(emu: Emulator, model: str) -> dict[str | None, str]:
    """Who has which role on ``model`` (as the reader sees it)."""
    perms = emu.api("GET", f"/v1beta/{model}/permissions", key=READER_KEY).json()["permissions"]
    return {p.get("emailAddress"): p["role"] for p in perms}


def test_a_granted_reader_can_generate_and_loses_access_when_the_grant_is_removed(
    engine: MiniEngine, emu: Emulator, shared: str
) -> None:
    assert generate(emu, shared, READER_KEY) == 403
    assert (
        engine.up(
            "numbers:user:reader@example.com",
            PERMISSION,
            grant(shared, user="reader@example.com", role="READER"),
        ).op
        == "create"
    )
    outs = engine.outputs("numbers:user:reader@example.com", PERMISSION)
    assert outs["name"].startswith(f"{shared}/permissions/")
    grantee = (outs["granteeType"], outs["emailAddress"], outs["role"])
    assert grantee == ("USER", "reader@example.com", "READER")
    assert generate(emu, shared, READER_KEY) == 200
    assert generate(emu, shared, OTHER_KEY) == 403
    r = emu.api("PATCH", f"/v1beta/{shared}?updateMask=description", {"description": "x"}, key=READER_KEY)
    assert r.status_code == 403
    engine.destroy("numbers:user:reader@example.com", PERMISSION)
    assert generate(emu, shared, READER_KEY) == 403


def test_a_role_change_is_patched_in_place(engine: MiniEngine, emu: Emulator, shared: str) -> None:
    engine.up("p", PERMISSION, grant(shared, user="reader@example.com", role="READER"))
    name = engine.outputs("p", PERMISSION)["name"]
    writer = grant(shared, user="reader@example.com", role="WRITER")
    assert engine.preview("p", PERMISSION, writer).op == "update"
    assert engine.up("p", PERMISSION, writer).op == "update"
    assert engine.outputs("p", PERMISSION)["name"] == name
    live = emu.api("GET", f"/v1beta/{name}").json()
    assert live["role"] == "WRITER"
    r = emu.api(
        "PATCH", f"/v1beta/{shared}?updateMask=description", {"description": "by a writer"}, key=READER_KEY
    )
    assert r.status_code == 200, r.text


def test_a_grantee_change_replaces_the_grant(engine: MiniEngine, emu: Emulator, shared: str) -> None:
    engine.up("p", PERMISSION, grant(shared, user="reader@example.com", role="READER"))
    old = engine.outputs("p", PERMISSION)["name"]
    step = engine.up("p", PERMISSION, grant(shared, group="ml-team@googlegroups.com", role="READER"))
    assert step.op == "replace-dbr"  # revoke first: create must never adopt what is deleted next
    new = engine.outputs("p", PERMISSION)
    assert new["name"] != old and new["granteeType"] == "GROUP"
    assert emu.api("GET", f"/v1beta/{old}").status_code == 404
    assert generate(emu, shared, READER_KEY) == 403
    assert generate(emu, shared, MEMBER_KEY) == 200


def test_changing_only_the_case_of_an_email_changes_nothing(
    engine: MiniEngine, emu: Emulator, shared: str
) -> None:
    engine.up("p", PERMISSION, grant(shared, user="reader@example.com", role="READER"))
    assert engine.up("p", PERMISSION, grant(shared, user="Reader@Example.com", role="READER")).op == "same"
    assert generate(emu, shared, READER_KEY) == 200


def test_a_grant_removed_outside_pulumi_disappears_on_refresh_and_comes_back_on_up(
    engine: MiniEngine, emu: Emulator, shared: str
) -> None:
    args = grant(shared, user="reader@example.com", role="READER")
    engine.up("p", PERMISSION, args)
    name = engine.outputs("p", PERMISSION)["name"]
    assert emu.api("DELETE", f"/v1beta/{name}").status_code == 200
    assert generate(emu, shared, READER_KEY) == 403
    assert engine.refresh("p", PERMISSION).op == "deleted"
    assert engine.up("p", PERMISSION, args).op == "create"
    assert generate(emu, shared, READER_KEY) == 200


def test_a_role_changed_outside_pulumi_shows_as_drift(engine: MiniEngine, emu: Emulator, shared: str) -> None:
    args = grant(shared, user="reader@example.com", role="READER")
    engine.up("p", PERMISSION, args)
    name = engine.outputs("p", PERMISSION)["name"]
    r = emu.api("PATCH", f"/v1beta/{name}?updateMask=role", {"role": "WRITER"})
    assert r.status_code == 200, r.text
    assert engine.refresh("p", PERMISSION).op == "refreshed"
    assert engine.preview("p", PERMISSION, args).op == "update"
    assert engine.up("p", PERMISSION, args).op == "update"
    assert emu.api("GET", f"/v1beta/{name}").json()["role"] == "READER"


def test_everyone_lets_any_caller_read(engine: MiniEngine, emu: Emulator, shared: str) -> None:
    assert generate(emu, shared, OTHER_KEY) == 403
    engine.up("everyone", PERMISSION, grant(shared, everyone=True, role="READER"))
    outs = engine.outputs("everyone", PERMISSION)
    assert outs["granteeType"] == "EVERYONE" and "emailAddress" not in outs
    assert generate(emu, shared, OTHER_KEY) == 200


def test_an_earlier_grant_for_the_same_grantee_is_adopted(
    engine: MiniEngine, emu: Emulator, shared: str
) -> None:
    r = emu.api(
        "POST",
        f"/v1beta/{shared}/permissions",
        {"granteeType": "USER", "emailAddress": "reader@example.com", "role": "READER"},
    )
    assert r.status_code == 200, r.text
    engine.up("p", PERMISSION, grant(shared, user="reader@example.com", role="WRITER"))
    assert engine.outputs("p", PERMISSION)["name"] == r.json()["name"]
    perms = emu.api("GET", f"/v1beta/{shared}/permissions").json()["permissions"]
    assert sorted((p.get("emailAddress"), p["role"]) for p in perms) == [
        ("owner@example.com", "OWNER"),
        ("reader@example.com", "WRITER"),
    ]


@pytest.mark.parametrize(
    ("args", "failure"),
    [
        (
            {"granteeType": "EVERYONE", "emailAddress": "a@example.com", "role": "READER"},
            "a permission for EVERYONE takes no emailAddress",
        ),
        ({"granteeType": "USER", "role": "READER"}, "a USER permission needs an emailAddress"),
        (
            {"granteeType": "USER", "emailAddress": "a@example.com", "role": "OWNER"},
            "role: role must be READER or WRITER, got 'OWNER'; "
            "make someone the OWNER with the model's owner key",
        ),
    ],
)
def test_bad_grants_fail_check_and_call_nothing(
    engine: MiniEngine, emu: Emulator, shared: str, args: dict[str, Any], failure: str
) -> None:
    emu.admin("DELETE", "journal")
    step = engine.up("bad", PERMISSION, {"model": shared, **args, PROVIDER_KEY: GRANTS})
    assert step.op == "check-failed"
    assert [reason for _, reason in step.failures] == [failure]
    assert emu.journal("CreatePermission") == []


def test_ownership_transfer_makes_the_previous_owner_a_writer(
    engine: MiniEngine, emu: Emulator, shared: str
) -> None:
    args = {"model": shared, "emailAddress": "reader@example.com", PROVIDER_KEY: OWNERS}
    assert engine.up("numbers:owner", OWNER, args).op == "create"
    assert roles(emu, shared) == {"reader@example.com": "OWNER", "owner@example.com": "WRITER"}
    assert engine.up("numbers:owner", OWNER, args).op == "same"
    assert engine.refresh("numbers:owner", OWNER).op == "refreshed"
    # The stack's caller can still patch, but no longer delete the model.
    r = emu.api("PATCH", f"/v1beta/{shared}?updateMask=description", {"description": "still a writer"})
    assert r.status_code == 200
    assert emu.api("DELETE", f"/v1beta/{shared}").status_code == 403
    engine.destroy("numbers:owner", OWNER)  # stops managing ownership; changes nothing
    assert emu.api("GET", f"/v1beta/{shared}", key=READER_KEY).status_code == 200
    # Destroying the model now leaves it with its new owner instead of failing forever.
    engine.destroy("numbers", TUNED_MODEL)
    assert emu.api("GET", f"/v1beta/{shared}", key=READER_KEY).status_code == 200
    assert wait_until(lambda: "ownership was transferred" in engine.proc.output())


@pytest.mark.parametrize("fault", [{"status": 503}, {"drop": True}], ids=["503", "dropped"])
def test_a_grant_whose_answer_is_lost_is_tried_again_and_granted_once(
    engine: MiniEngine, emu: Emulator, shared: str, fault: dict[str, Any]
) -> None:
    # Granting twice is not idempotent, so the client does not retry it; the provider looks
    # for the grant again before it grants again.
    emu.admin("POST", "faults", {"method": "CreatePermission", "count": 1, **fault})
    assert engine.up("p", PERMISSION, grant(shared, user="reader@example.com", role="READER")).op == "create"
    perms = emu.api("GET", f"/v1beta/{shared}/permissions").json()["permissions"]
    assert sorted((p.get("emailAddress"), p["role"]) for p in perms) == [
        ("owner@example.com", "OWNER"),
        ("reader@example.com", "READER"),
    ]
    assert [e["status"] for e in emu.journal("CreatePermission")][-1] == 200
    assert wait_until(lambda: f"{shared}: granting user:reader@example.com failed (" in engine.proc.output())


def test_an_ownership_transfer_whose_answer_is_lost_is_tried_again_and_made_once(
    engine: MiniEngine, emu: Emulator, shared: str
) -> None:
    emu.admin("POST", "faults", {"method": "TransferOwnership", "status": 503, "count": 1})
    args = {"model": shared, "emailAddress": "reader@example.com", PROVIDER_KEY: OWNERS}
    assert engine.up("numbers:owner", OWNER, args).op == "create"
    assert roles(emu, shared) == {"reader@example.com": "OWNER", "owner@example.com": "WRITER"}
