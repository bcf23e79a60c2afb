"""The seeds' recorded flows, replayed against the emulator with the seeds' own request bodies."""

from __future__ import annotations

import re
from typing import Any

from tests.emulator.conftest import (
    METADATA_TYPE,
    METADATA_TYPE_V1BETA3,
    OPERATION_NAME,
    RFC3339,
    TUNED_MODEL_TYPE,
    Emu,
    assert_error,
    data_bytes,
    data_json,
    expected_epoch,
    model_body,
    model_id,
)

SEED_OUTPUTS = {
    example["output"]
    for example in data_json("seed001_python_create.json")["tuning_task"]["training_data"]["examples"][
        "examples"
    ]
}


def _poll_v1_until_done(emu: Emu, op: dict[str, Any], *, step_batch: int = 5) -> dict[str, Any]:
    """The seeds' polling loop on /v1, with the manual clock instead of time.sleep."""
    percents: list[float] = []
    current = op
    for _ in range(100):
        if "response" in current or "error" in current:
            break
        emu.advance(steps=step_batch)
        current = emu.get_operation(op["name"], version="v1")
        percent = current["metadata"].get("completedPercent")
        if percent is not None:
            percents.append(percent)
            assert current["metadata"]["snapshots"][-1]["step"] == current["metadata"]["completedSteps"]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    return current


def test_seed001_curl_flow_lists_creates_polls_generates_and_deletes(emu: Emu) -> None:
    listed = emu.call("GET", "/v1beta/tunedModels", headers={"Content-Type": "application/json"})
    assert listed.status_code == 200, listed.text
    assert listed.json() == {}

    created = emu.call(
        "POST",
        "/v1beta/tunedModels",
        key=None,
        content=data_bytes("seed001_curl_create.json"),
        headers={"Authorization": "Bearer seed-token", "x-goog-user-project": "my-project-id"},
    )
    assert created.status_code == 200, created.text
    op = created.json()
    assert set(op) == {"name", "metadata"}
    assert OPERATION_NAME.match(op["name"]), op["name"]
    assert op["metadata"] == {
        "@type": METADATA_TYPE,
        "totalSteps": 38,
        "tunedModel": op["metadata"]["tunedModel"],
    }
    name = op["metadata"]["tunedModel"]
    assert re.fullmatch(r"tunedModels/number-generator-model-[a-z0-9]{5,12}", name), name
    assert op["name"].startswith(name + "/operations/")

    bearer = {"Authorization": "Bearer seed-token", "x-goog-user-project": "my-project-id"}
    creating = emu.call("GET", f"/v1beta/{name}", key=None, headers=bearer)
    assert creating.status_code == 200, creating.text
    assert creating.json()["state"] == "CREATING"

    done = op
    for _ in range(20):
        emu.advance(steps=5)
        polled = emu.call("GET", f"/v1/{op['name']}", key=None, headers=bearer)
        assert polled.status_code == 200, polled.text
        done = polled.json()
        if done.get("done"):
            break
    assert done["done"] is True
    assert "error" not in done
    assert done["response"]["@type"] == TUNED_MODEL_TYPE
    assert done["response"]["name"] == name
    assert done["response"]["state"] == "ACTIVE"
    assert done["metadata"]["completedSteps"] == 38
    assert done["metadata"]["completedPercent"] == 100
    assert len(done["metadata"]["snapshots"]) == 38

    active = emu.call("GET", f"/v1beta/{name}", key=None, headers=bearer)
    assert active.json()["state"] == "ACTIVE"

    generated = emu.call(
        "POST",
        f"/v1beta/{name}:generateContent",
        key=None,
        content=data_bytes("seed001_curl_generate.json"),
        headers=bearer,
    )
    assert generated.status_code == 200, generated.text
    candidate = generated.json()["candidates"][0]
    assert candidate["content"]["role"] == "model"
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["parts"][0]["text"] in SEED_OUTPUTS

    deleted = emu.call("DELETE", f"/v1beta/{name}", key=None, headers=bearer)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {}
    gone = emu.call("GET", f"/v1beta/{name}", key=None, headers=bearer)
    assert_error(gone, 404, "NOT_FOUND", f"Tuned model {name} does not exist.")


def test_seed001_python_flow_batch4_ends_at_step_19_epoch_5(emu: Emu) -> None:
    op = emu.create(data_json("seed001_python_create.json"))
    assert op["metadata"]["totalSteps"] == 19
    name = op["metadata"]["tunedModel"]
    assert re.fullmatch(r"tunedModels/number-generator-[a-z0-9]{5,12}", name), name

    model = emu.get_model(name)
    assert model["displayName"] == "number generator"
    assert model["state"] == "CREATING"

    done = _poll_v1_until_done(emu, op)
    last = done["metadata"]["snapshots"][-1]
    assert last["step"] == 19
    assert last["epoch"] == 5
    assert isinstance(last["meanLoss"], float)
    assert RFC3339.match(last["computeTime"])
    assert done["metadata"]["completedPercent"] == 100
    steps = [s["step"] for s in done["metadata"]["snapshots"]]
    assert steps == list(range(1, 20))
    for snapshot in done["metadata"]["snapshots"]:
        epoch = expected_epoch(snapshot["step"], examples=15, epochs=5, batch=4)
        assert snapshot.get("epoch") == (epoch or None), snapshot

    generated = emu.call(
        "POST", f"/v1beta/{name}:generateContent", json=data_json("seed001_python_generate.json")
    )
    assert generated.status_code == 200, generated.text
    text = generated.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert text in SEED_OUTPUTS


def test_seed003_api_key_flow_on_gemini_15_flash_tuning(emu: Emu) -> None:
    key = "seed003-key"
    created = emu.http.post(
        f"/v1beta/tunedModels?key={key}",
        content=data_bytes("seed003_curl_create.json"),
        headers={"Content-Type": "application/json"},
    )
    assert created.status_code == 200, created.text
    op = created.json()
    assert op["metadata"]["totalSteps"] == 38
    assert op["metadata"]["@type"] == METADATA_TYPE

    done: dict[str, Any] = op
    for _ in range(20):
        emu.advance(steps=4)
        polled = emu.http.get(f"/v1/{op['name']}?key={key}")
        assert polled.status_code == 200, polled.text
        done = polled.json()
        if done.get("done"):
            break
    assert done["done"] is True
    assert done["metadata"]["completedPercent"] == 100

    modelname = op["metadata"]["tunedModel"]
    model = emu.http.get(f"/v1beta/{modelname}?key={key}")
    assert model.status_code == 200
    assert model.json()["state"] == "ACTIVE"
    assert model.json()["baseModel"] == "models/gemini-1.5-flash-001-tuning"

    generated = emu.http.post(
        f"/v1beta/{modelname}:generateContent?key={key}",
        content=data_bytes("seed003_curl_generate.json"),
        headers={"Content-Type": "application/json"},
    )
    assert generated.status_code == 200, generated.text
    assert generated.json()["candidates"][0]["content"]["parts"][0]["text"] in SEED_OUTPUTS

    deleted = emu.http.delete(f"/v1beta/{modelname}?key={key}")
    assert deleted.status_code == 200
    assert deleted.json() == {}
    again = emu.http.delete(f"/v1beta/{modelname}?key={key}")
    assert_error(again, 404, "NOT_FOUND", f"Tuned model {modelname} does not exist.")


def test_seed003_list_pages_with_snake_case_page_size_and_token(emu: Emu) -> None:
    names = {emu.create(model_body(f"paged {i}"))["metadata"]["tunedModel"] for i in range(7)}

    first = emu.call("GET", "/v1beta/tunedModels?page_size=5")
    assert first.status_code == 200, first.text
    page1 = first.json()
    assert len(page1["tunedModels"]) == 5
    token = page1["nextPageToken"]
    assert isinstance(token, str)
    assert token

    second = emu.call("GET", f"/v1beta/tunedModels?page_size=5&page_token={token}")
    assert second.status_code == 200, second.text
    page2 = second.json()
    assert len(page2["tunedModels"]) == 2
    assert "nextPageToken" not in page2
    seen = [m["name"] for m in page1["tunedModels"] + page2["tunedModels"]]
    assert sorted(seen) == sorted(names)
    for model in page1["tunedModels"] + page2["tunedModels"]:
        assert "trainingData" not in model["tuningTask"]


def test_seed000_palm_curl_flow_under_v1beta3(emu: Emu) -> None:
    bearer = {"Authorization": "Bearer palm-token", "x-goog-user-project": "project-id"}
    created = emu.call(
        "POST",
        "/v1beta3/tunedModels",
        key=None,
        content=data_bytes("seed000_curl_create.json"),
        headers=bearer,
    )
    assert created.status_code == 200, created.text
    op = created.json()
    assert set(op) == {"name", "metadata"}
    assert op["metadata"] == {
        "@type": METADATA_TYPE_V1BETA3,
        "totalSteps": 23,
        "tunedModel": op["metadata"]["tunedModel"],
    }
    name = op["metadata"]["tunedModel"]
    assert re.fullmatch(r"tunedModels/number-generator-model-[a-z0-9]{5,12}", name), name

    creating = emu.call("GET", f"/v1beta3/{name}", key=None, headers=bearer)
    assert creating.status_code == 200, creating.text
    assert creating.json()["state"] == "CREATING"

    emu.advance(steps=25)
    model = emu.call("GET", f"/v1beta3/{name}", key=None, headers=bearer).json()
    assert model["state"] == "ACTIVE"
    snapshots = model["tuningTask"]["snapshots"]
    assert [s["step"] for s in snapshots] == list(range(1, 24))
    # Recorded (number-generator-model-kctlevca1g3q): step 7 has no epoch, step 8 epoch 1,
    # step 15 epoch 2, step 23 epoch 3.
    by_step = {s["step"]: s for s in snapshots}
    assert "epoch" not in by_step[7]
    assert by_step[8]["epoch"] == 1
    assert by_step[14]["epoch"] == 1
    assert by_step[15]["epoch"] == 2
    assert by_step[23]["epoch"] == 3
    assert RFC3339.match(model["tuningTask"]["completeTime"])

    generated = emu.call(
        "POST",
        f"/v1beta3/{name}:generateText",
        key=None,
        content=data_bytes("seed000_curl_generate_text.json"),
        headers=bearer,
    )
    assert generated.status_code == 200, generated.text
    candidates = generated.json()["candidates"]
    assert candidates
    assert all(isinstance(c["output"], str) for c in candidates)


def test_seed000_palm_python_flow_creating_get_matches_recording(emu: Emu) -> None:
    op = emu.create(data_json("seed000_python_create.json"), version="v1beta3")
    assert op["metadata"]["totalSteps"] == 12
    name = op["metadata"]["tunedModel"]

    response = emu.call("GET", f"/v1beta3/{name}")
    assert response.status_code == 200, response.text
    model = response.json()
    # Recorded CREATING GET: exactly these keys, no snapshots, no trainingData.
    assert set(model) == {
        "name",
        "baseModel",
        "displayName",
        "state",
        "createTime",
        "updateTime",
        "tuningTask",
        "temperature",
        "topP",
        "topK",
    }
    assert model["name"] == name
    assert model["baseModel"] == "models/text-bison-001"
    assert model["displayName"] == "number generator"
    assert model["state"] == "CREATING"
    assert model["createTime"] == model["updateTime"]
    assert RFC3339.match(model["createTime"])
    assert set(model["tuningTask"]) == {"startTime", "hyperparameters"}
    assert RFC3339.match(model["tuningTask"]["startTime"])
    assert model["tuningTask"]["hyperparameters"] == {
        "epochCount": 3,
        "batchSize": 4,
        "learningRate": 0.001,
    }
    assert (model["temperature"], model["topP"], model["topK"]) == (0.7, 0.95, 40)

    emu.advance(steps=14)
    done = emu.get_operation(op["name"], version="v1")
    assert done["done"] is True
    assert done["metadata"]["snapshots"][-1]["step"] == 12
    assert done["metadata"]["snapshots"][-1]["epoch"] == 3

    generated = emu.call(
        "POST", f"/v1beta3/{name}:generateText", json=data_json("seed000_python_generate_text.json")
    )
    assert generated.status_code == 200, generated.text
    assert generated.json()["candidates"][0]["output"] in SEED_OUTPUTS

    assert emu.call("DELETE", f"/v1beta3/{name}").json() == {}
    assert_error(emu.call("GET", f"/v1beta3/{name}"), 404, "NOT_FOUND", f"Tuned model {name} does not exist.")
    assert model_id(name).startswith("number-generator-")
