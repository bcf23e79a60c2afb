"""Issue 12's six situations: ``plan`` says exactly what ``up`` then does, through the real
provider process (the engine's state handed to ``plan`` as ``pulumi stack export`` writes it)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import API_KEY, Emulator, config_for
from tests.support.harness import MiniEngine, ProviderProcess
from tests.support.stack import BASE, PlayedStack, actions, examples
from tuned_models.model.ids import stack_tag


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOOGLE_API_KEY", API_KEY)  # plan reads as the provider's caller
    return tmp_path


@pytest.fixture
def played(project: Path, emu: Emulator) -> Iterator[PlayedStack]:
    proc = ProviderProcess(cwd=project)
    try:
        engine = MiniEngine(proc, stack="plan-" + secrets.token_hex(3))
        engine.start(config_for(emu.base_url))
        yield PlayedStack(project, engine, emu)
    finally:
        proc.close()


def live_names(emu: Emulator) -> set[str]:
    return {m["name"] for m in emu.models()}


# 1. Every delete `up` performs is in the plan: an adopted model removed from the file ------------


def test_removing_an_adopted_model_is_a_delete_in_the_plan_and_up_deletes_it(
    played: PlayedStack, emu: Emulator
) -> None:
    body: dict[str, Any] = {
        "baseModel": BASE,
        "tuningTask": {"trainingData": {"examples": {"examples": examples(3)}}},
    }
    assert emu.api("POST", "/v1beta/tunedModels?tunedModelId=hand-made", body).status_code == 200
    models = {"numbers": {"examples": examples()}, "taken": {"adopt": "tunedModels/hand-made"}}
    played.write(models)
    first = played.plan()
    assert actions(first) == {"numbers": "create", "taken": "adopt"}
    assert [m["step"] for m in first["models"]] == ["create", "create"]
    assert played.up() == {"numbers": "create", "taken": "create"}
    assert played.plan()["changes"] is False

    played.write({"numbers": models["numbers"]})
    plan = played.plan()
    taken = next(m for m in plan["models"] if m["model"] == "taken")
    assert (taken["action"], taken["step"], taken["current"]) == ("delete", "delete", "tunedModels/hand-made")
    assert (
        taken["reason"]
        == "no longer declared: the adopted model tunedModels/hand-made is deleted from the service"
    )
    assert plan["changes"] is True
    assert played.up()["taken"] == "delete"
    assert "tunedModels/hand-made" not in live_names(emu)
    assert played.plan()["changes"] is False


# 2. Drift: plan and a plain `up` (refresh: always) agree --------------------------------------------


def test_drift_is_an_update_in_the_plan_and_a_plain_up_patches_it_back(
    played: PlayedStack, emu: Emulator
) -> None:
    played.write(
        {
            "numbers": {"examples": examples(), "description": "counts"},
            "words": {"examples": examples(tag="w")},
        }
    )
    played.up()
    numbers = played.engine.outputs("numbers", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    words = played.engine.outputs("words", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    patched = emu.api("PATCH", f"/v1beta/{numbers}?updateMask=description", {"description": "by hand"})
    assert patched.status_code == 200
    assert emu.api("DELETE", f"/v1beta/{words}").status_code == 200

    plan = played.plan()
    by_model = {m["model"]: m for m in plan["models"]}
    assert (by_model["numbers"]["action"], by_model["numbers"]["changes"]) == (
        "update",
        [{"field": "description", "old": "by hand", "new": "counts"}],
    )
    assert by_model["words"]["action"] == "create"
    assert by_model["words"]["reason"].startswith(
        f"{words} is gone from the service (deleted outside Pulumi)"
    )
    steps = played.up()
    assert (steps["numbers"], steps["words"]) == ("update", "create")
    assert emu.api("GET", f"/v1beta/{numbers}").json()["description"] == "counts"
    assert played.plan()["changes"] is False


# 3. A training that FAILED during up: retrained by the next up; an orphan is pruned -------------


def test_a_failed_attempt_is_retrained_by_the_next_up_as_the_plan_says(
    played: PlayedStack, emu: Emulator
) -> None:
    played.write({"numbers": {"examples": examples()}})
    emu.admin("POST", "failures", {"match": "numbers", "atPercent": 50, "message": "Loss is NaN."})
    with pytest.raises(Exception, match="Loss is NaN"):
        played.up()
    emu.admin("DELETE", "failures")
    plan = played.plan()
    [numbers] = plan["models"]
    assert (numbers["action"], numbers["step"], numbers["deleteFirst"]) == ("retrain", "create", True)
    assert numbers["reason"] == (
        "the previous attempt FAILED (Loss is NaN.); it will be deleted and trained again"
    )
    assert played.up() == {"numbers": "create"}
    assert [m["state"] for m in emu.models()] == ["ACTIVE"]
    assert played.plan()["changes"] is False


def test_a_failed_attempt_of_a_removed_model_is_an_orphan_that_prune_deletes(
    played: PlayedStack, emu: Emulator
) -> None:
    played.write({"numbers": {"examples": examples()}, "broken": {"examples": examples(tag="b")}})
    emu.admin("POST", "failures", {"match": "broken", "atPercent": 50, "message": "Bad data."})
    with pytest.raises(Exception, match="Bad data"):
        played.up()
    emu.admin("DELETE", "failures")
    played.write({"numbers": {"examples": examples()}})
    plan = played.plan()
    assert plan["changes"] is False
    [orphan] = plan["otherModels"]
    assert (orphan["model"], orphan["state"], orphan["kind"]) == ("broken", "FAILED", "orphan")
    assert f"`tuned-models prune --stack {played.name} --yes` deletes it" in orphan["note"]

    dry = played.prune()
    assert [c["tunedModel"] for c in dry["candidates"]] == [orphan["tunedModel"]] and dry["deleted"] == []
    assert orphan["tunedModel"] in live_names(emu)
    done = played.prune("--yes")
    assert done["deleted"] == [orphan["tunedModel"]]
    assert orphan["tunedModel"] not in live_names(emu)
    assert played.plan()["otherModels"] == []
    assert [m["state"] for m in emu.models()] == ["ACTIVE"]  # numbers, untouched


# 4. Stacks whose tags collide never see each other's models as their own -----------------------


@pytest.mark.parametrize(
    "names",
    [
        ("pr-41", "pr-56"),  # share a tag under the old 4-hex scheme
        ("pr-372963", "pr-594948"),  # share the 8-character tag, found by brute force
    ],
)
def test_stacks_with_colliding_tags_plan_and_status_only_their_own(
    project: Path, emu: Emulator, names: tuple[str, str]
) -> None:
    if names[0] == "pr-372963":
        assert stack_tag("tuned-models", names[0]) == stack_tag("tuned-models", names[1])
    stacks: list[PlayedStack] = []
    procs = [ProviderProcess(cwd=project) for _ in names]
    try:
        for name, proc in zip(names, procs, strict=True):
            engine = MiniEngine(proc, stack=name)
            engine.start(config_for(emu.base_url))
            stacks.append(PlayedStack(project, engine, emu))
        for i, played in enumerate(stacks):
            played.write(
                {"numbers": {"examples": examples(tag=str(i))}, f"only-{i}": {"examples": examples()}}
            )
            played.up()
        for i, played in enumerate(stacks):
            mine = {
                played.engine.outputs(n, "pulumi-python:dynamic/gemini:TunedModel")["name"]
                for n in ("numbers", f"only-{i}")
            }
            plan = played.plan()
            assert plan["changes"] is False and set(actions(plan).values()) == {"none"}
            assert {m["current"] for m in plan["models"]} == mine
            assert {o["kind"] for o in plan["otherModels"]} <= {"not managed"}
            status = played.status()
            assert {r["tunedModel"] for r in status["models"]} == mine
            # Without state: the other stack's models are never this stack's deletes.
            partial = played.plan(state=False)
            assert partial["changes"] is False and partial["partial"] is True
            assert {o["kind"] for o in partial["otherModels"]} <= {"not attributed"}
            assert {m["action"] for m in partial["models"]} == {"none"}
            assert {r["tunedModel"] for r in played.status(state=False)["models"]} == mine
    finally:
        for proc in procs:
            proc.close()


# 5. A model tuned from another model of the stack follows its retrain ----------------------------


def test_retraining_a_source_model_retrains_its_dependent_in_the_plan_and_in_up(
    played: PlayedStack, emu: Emulator
) -> None:
    models: dict[str, Any] = {
        "child": {"tunedModelSource": {"model": "base"}, "baseModel": None, "examples": examples(tag="c")},
        "base": {"examples": examples()},
    }
    played.write(models)
    assert played.up() == {"base": "create", "child": "create"}
    base_before = played.engine.outputs("base", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    child = played.engine.outputs("child", "pulumi-python:dynamic/gemini:TunedModel")
    assert emu.api("GET", f"/v1beta/{child['name']}").json()["tunedModelSource"]["tunedModel"] == base_before
    assert played.plan()["changes"] is False

    models["base"]["examples"] = examples(21)
    played.write(models)
    plan = played.plan()
    by_model = {m["model"]: m for m in plan["models"]}
    assert (by_model["base"]["action"], by_model["child"]["action"]) == ("retrain", "retrain")
    assert by_model["base"]["reason"] == "inline examples changed: 20 -> 21 examples"
    [change] = by_model["child"]["changes"]
    assert change["field"] == "tunedModelSource" and change["old"] == {"tunedModel": base_before}
    assert change["new"] == {"tunedModel": by_model["base"]["tunedModel"]}
    assert by_model["child"]["reason"].startswith("its source base is retrained, so this model is too")
    assert played.up() == {"base": "replace-cbd", "child": "replace-cbd"}
    base_after = played.engine.outputs("base", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    child_after = played.engine.outputs("child", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    assert base_after == by_model["base"]["tunedModel"] and child_after == by_model["child"]["tunedModel"]
    assert emu.api("GET", f"/v1beta/{child_after}").json()["tunedModelSource"]["tunedModel"] == base_after
    assert played.plan()["changes"] is False


# 6. After a successful up the plan is empty: ownership transfer, retainOnDelete -----------------


def test_after_an_ownership_transfer_and_a_retained_removal_the_plan_is_empty(
    played: PlayedStack, emu: Emulator
) -> None:
    models: dict[str, Any] = {
        "shared": {
            "examples": examples(),
            "owner": "new-owner@example.com",
            "permissions": [{"user": "reader@example.com", "role": "READER"}],
        },
        "kept": {"examples": examples(tag="k"), "retainOnDelete": True},
    }
    played.write(models)
    played.up()
    plan = played.plan()
    assert plan["changes"] is False, plan
    shared = next(m for m in plan["models"] if m["model"] == "shared")
    [me] = [g for g in shared["permissions"] if not g["isChange"]]
    assert (me["change"], me["oldRole"]) == ("not managed", "WRITER")
    assert "this stack's own identity" in me["note"]

    kept = played.engine.outputs("kept", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    played.write({"shared": models["shared"]})
    plan = played.plan()
    forget = next(m for m in plan["models"] if m["model"] == "kept")
    assert (forget["action"], forget["step"]) == ("forget", "delete")
    assert played.up()["kept"] == "forget"
    assert kept in live_names(emu)
    after = played.plan()
    assert after["changes"] is False
    assert [(o["tunedModel"], o["kind"]) for o in after["otherModels"]] == [(kept, "not managed")]

    # Removing the transferred model: the service refuses the delete; up warns; then not managed.
    shared_name = played.engine.outputs("shared", "pulumi-python:dynamic/gemini:TunedModel")["name"]
    played.write({})
    plan = played.plan()
    gone = next(m for m in plan["models"] if m["model"] == "shared")
    assert (
        gone["action"] == "delete" and "ownership was transferred to new-owner@example.com" in gone["reason"]
    )
    played.up()
    assert shared_name in live_names(emu)
    final = played.plan()
    assert final["changes"] is False
    assert {o["tunedModel"]: o["kind"] for o in final["otherModels"]} == {
        kept: "not managed",
        shared_name: "not managed",
    }
