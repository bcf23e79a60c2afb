"""Wire fidelity: spellings, response shape, names and ids, errors, base models, patch, list."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.emulator.conftest import (
    METADATA_TYPE,
    OPERATION_NAME,
    RFC3339,
    Emu,
    assert_error,
    model_body,
    total_steps,
)

# --- create -------------------------------------------------------------------------------------


def test_create_returns_only_name_and_metadata(emu: Emu) -> None:
    op = emu.create(model_body("number generator model", batch_size=2))
    assert set(op) == {"name", "metadata"}
    assert OPERATION_NAME.match(op["name"])
    assert op["metadata"] == {
        "@type": METADATA_TYPE,
        "totalSteps": 38,
        "tunedModel": op["name"].split("/operations/")[0],
    }


@pytest.mark.parametrize(
    ("examples", "epochs", "batch", "expected"),
    [(15, 5, 2, 38), (15, 5, 4, 19), (15, 3, 2, 23), (15, 3, 4, 12), (4, 1, 4, 1), (5, 2, 3, 4)],
)
def test_total_steps_is_ceil_of_examples_times_epochs_over_batch(
    emu: Emu, examples: int, epochs: int, batch: int, expected: int
) -> None:
    assert total_steps(examples, epochs, batch) == expected
    body = model_body(
        "steps",
        batch_size=batch,
        epoch_count=epochs,
        examples=[{"textInput": f"in {i}", "output": f"out {i}"} for i in range(examples)],
    )
    assert emu.create(body)["metadata"]["totalSteps"] == expected


def test_name_is_generated_from_display_name_words(emu: Emu) -> None:
    op = emu.create(model_body("number generator model"))
    name = op["metadata"]["tunedModel"]
    assert re.fullmatch(r"tunedModels/number-generator-model-[a-z0-9]{5,12}", name), name
    second = emu.create(model_body("number generator model"))["metadata"]["tunedModel"]
    assert second != name


def test_name_without_display_name_or_id_is_random(emu: Emu) -> None:
    name = emu.create(model_body(None))["metadata"]["tunedModel"]
    assert re.fullmatch(r"tunedModels/[a-z0-9][a-z0-9-]*", name), name


@pytest.mark.parametrize("tuned_model_id", ["a", "my-model-1", "x" * 40, "a-b"])
def test_valid_tuned_model_id_names_the_model(emu: Emu, tuned_model_id: str) -> None:
    op = emu.create(tuned_model_id=tuned_model_id)
    assert op["metadata"]["tunedModel"] == f"tunedModels/{tuned_model_id}"
    assert re.fullmatch(rf"tunedModels/{tuned_model_id}/operations/[a-z0-9]{{12}}", op["name"])
    assert emu.get_model(f"tunedModels/{tuned_model_id}")["name"] == f"tunedModels/{tuned_model_id}"


@pytest.mark.parametrize(
    "tuned_model_id", ["My-Model", "1model", "model-", "-model", "x" * 41, "under_score", "a.b"]
)
def test_invalid_tuned_model_id_is_rejected(emu: Emu, tuned_model_id: str) -> None:
    response = emu.call(
        "POST", "/v1beta/tunedModels", json=model_body(), params={"tunedModelId": tuned_model_id}
    )
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}


def test_duplicate_tuned_model_id_is_already_exists(emu: Emu) -> None:
    emu.create(tuned_model_id="delete-this-model")
    response = emu.call(
        "POST",
        "/v1beta/tunedModels",
        json=model_body("other"),
        params={"tunedModelId": "delete-this-model"},
    )
    assert_error(response, 409, "ALREADY_EXISTS")
    assert emu.get_model("tunedModels/delete-this-model")["displayName"] == "number generator"


def test_tuned_model_id_accepted_in_snake_case(emu: Emu) -> None:
    response = emu.call(
        "POST", "/v1beta/tunedModels", json=model_body(), params={"tuned_model_id": "snake-id"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["tunedModel"] == "tunedModels/snake-id"


def test_unknown_base_model_is_not_found(emu: Emu) -> None:
    response = emu.call("POST", "/v1beta/tunedModels", json=model_body(base_model="models/no-such-model-001"))
    error = assert_error(response, 404, "NOT_FOUND")
    assert error["message"].startswith("models/no-such-model-001 is not found for API version v1beta"), error[
        "message"
    ]
    assert emu.call("GET", "/v1beta/tunedModels").json() == {}


def test_base_model_that_cannot_be_tuned_is_rejected(emu: Emu) -> None:
    models = emu.call("GET", "/v1beta/models", params={"pageSize": 1000}).json()["models"]
    untunable = [
        m["name"] for m in models if "createTunedModel" not in m.get("supportedGenerationMethods", [])
    ]
    if not untunable:
        pytest.skip("the emulator lists only tunable base models")
    response = emu.call("POST", "/v1beta/tunedModels", json=model_body(base_model=untunable[0]))
    assert response.status_code in (400, 404), response.text
    assert_error(response, response.status_code, response.json()["error"]["status"])


def test_camel_and_snake_case_bodies_create_the_same_model(emu: Emu) -> None:
    snake = {
        "display_name": "spelled",
        "base_model": "models/gemini-1.0-pro-001",
        "tuning_task": {
            "hyperparameters": {"batch_size": 2, "learning_rate": 0.001, "epoch_count": 5},
            "training_data": {
                "examples": {
                    "examples": [
                        {"text_input": e["textInput"], "output": e["output"]}
                        for e in model_body()["tuningTask"]["trainingData"]["examples"]["examples"]
                    ]
                }
            },
        },
    }
    camel = model_body("spelled", batch_size=2)
    a = emu.get_model(emu.create(snake)["metadata"]["tunedModel"])
    b = emu.get_model(emu.create(camel)["metadata"]["tunedModel"])
    for field in ("displayName", "baseModel", "state", "temperature", "topP", "topK"):
        assert a[field] == b[field], field
    assert (
        a["tuningTask"]["hyperparameters"]
        == b["tuningTask"]["hyperparameters"]
        == {
            "batchSize": 2,
            "learningRate": 0.001,
            "epochCount": 5,
        }
    )


def test_creating_model_echoes_resolved_defaults_and_hides_training_data(emu: Emu) -> None:
    op = emu.create(model_body(None, batch_size=None, epoch_count=None, learning_rate=None))
    model = emu.get_model(op["metadata"]["tunedModel"])
    assert model["state"] == "CREATING"
    assert "displayName" not in model
    assert "description" not in model
    assert "readerProjectNumbers" not in model
    assert (model["temperature"], model["topP"], model["topK"]) == (0.9, 1.0, 1)
    task = model["tuningTask"]
    assert "trainingData" not in task
    assert "snapshots" not in task
    assert "completeTime" not in task
    assert RFC3339.match(task["startTime"])
    hyper = task["hyperparameters"]
    assert hyper["epochCount"] == 5
    assert hyper["batchSize"] in (4, 16)
    assert hyper["learningRate"] in (0.001, 0.0002)
    assert "learningRateMultiplier" not in hyper
    assert op["metadata"]["totalSteps"] == total_steps(15, 5, hyper["batchSize"])
    assert model["createTime"] == model["updateTime"]
    assert RFC3339.match(model["createTime"])


def test_explicit_sampling_parameters_override_base_defaults(emu: Emu) -> None:
    body = model_body("sampled", temperature=0.2, topP=0.5, top_k=7, description="d")
    model = emu.get_model(emu.create(body)["metadata"]["tunedModel"])
    assert (model["temperature"], model["topP"], model["topK"]) == (0.2, 0.5, 7)
    assert model["description"] == "d"


def test_gemini_15_flash_tuning_defaults_come_from_its_base_model(emu: Emu) -> None:
    base = emu.call("GET", "/v1beta/models/gemini-1.5-flash-001-tuning").json()
    body = model_body("flash", base_model="models/gemini-1.5-flash-001-tuning")
    model = emu.get_model(emu.create(body)["metadata"]["tunedModel"])
    assert model["baseModel"] == "models/gemini-1.5-flash-001-tuning"
    assert (model["temperature"], model["topP"], model["topK"]) == (
        base["temperature"],
        base["topP"],
        base["topK"],
    )


def test_reader_project_numbers_are_int64_strings(emu: Emu) -> None:
    body = model_body("readers", readerProjectNumbers=[123456789012, "42"])
    model = emu.get_model(emu.create(body)["metadata"]["tunedModel"])
    assert model["readerProjectNumbers"] == ["123456789012", "42"]


def test_learning_rate_and_multiplier_together_are_invalid(emu: Emu) -> None:
    body = model_body()
    body["tuningTask"]["hyperparameters"]["learningRateMultiplier"] = 1.0
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")


def test_learning_rate_multiplier_alone_is_echoed(emu: Emu) -> None:
    body = model_body(learning_rate=None)
    body["tuningTask"]["hyperparameters"]["learningRateMultiplier"] = 2.0
    model = emu.get_model(emu.create(body)["metadata"]["tunedModel"])
    assert model["tuningTask"]["hyperparameters"]["learningRateMultiplier"] == 2.0
    assert "learningRate" not in model["tuningTask"]["hyperparameters"]


def test_missing_tuning_task_is_invalid(emu: Emu) -> None:
    body = {"displayName": "x", "baseModel": "models/gemini-1.0-pro-001"}
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")


def test_missing_training_examples_is_invalid(emu: Emu) -> None:
    body = model_body(examples=[])
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")


def test_base_model_and_tuned_model_source_together_are_invalid(emu: Emu) -> None:
    body = model_body(tunedModelSource={"tunedModel": "tunedModels/whatever"})
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")


def test_display_name_over_40_characters_is_invalid(emu: Emu) -> None:
    body = model_body("x" * 41)
    assert_error(emu.call("POST", "/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")


def test_malformed_json_body_is_invalid(emu: Emu) -> None:
    response = emu.call("POST", "/v1beta/tunedModels", content=b'{"displayName": ')
    assert_error(response, 400, "INVALID_ARGUMENT")


def test_trailing_commas_in_body_are_accepted(emu: Emu) -> None:
    content = (
        b'{"baseModel": "models/gemini-1.0-pro-001", "tuningTask": {"hyperparameters": '
        b'{"epochCount": 1, "batchSize": 1,}, "trainingData": {"examples": {"examples": '
        b'[{"textInput": "a", "output": "b",},]}}},}'
    )
    response = emu.call("POST", "/v1beta/tunedModels", content=content)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["totalSteps"] == 1


# --- get / errors -------------------------------------------------------------------------------


def test_get_missing_tuned_model_is_not_found_with_real_message(emu: Emu) -> None:
    response = emu.call("GET", "/v1beta/tunedModels/generate-num-2946")
    assert_error(response, 404, "NOT_FOUND", "Tuned model tunedModels/generate-num-2946 does not exist.")


def test_delete_missing_tuned_model_is_not_found(emu: Emu) -> None:
    response = emu.call("DELETE", "/v1beta/tunedModels/x")
    assert_error(response, 404, "NOT_FOUND", "Tuned model tunedModels/x does not exist.")


def test_patch_missing_tuned_model_is_not_found(emu: Emu) -> None:
    response = emu.call(
        "PATCH",
        "/v1beta/tunedModels/x",
        json={"description": "d"},
        params={"updateMask": "description"},
    )
    assert_error(response, 404, "NOT_FOUND", "Tuned model tunedModels/x does not exist.")


def test_generate_content_on_missing_tuned_model_is_not_found(emu: Emu) -> None:
    response = emu.call(
        "POST",
        "/v1beta/tunedModels/x:generateContent",
        json={"contents": [{"parts": [{"text": "1"}]}]},
    )
    assert_error(response, 404, "NOT_FOUND")


def test_operation_of_missing_model_is_not_found(emu: Emu) -> None:
    response = emu.call("GET", "/v1/tunedModels/x/operations/abcdefghijkl")
    assert_error(response, 404, "NOT_FOUND")


def test_get_model_and_list_never_return_training_data(emu: Emu) -> None:
    op = emu.create()
    emu.finish(op)
    model = emu.get_model(op["metadata"]["tunedModel"])
    listed = emu.call("GET", "/v1beta/tunedModels").json()["tunedModels"]
    done = emu.get_operation(op["name"])
    for shown in (model, listed[0], done["response"]):
        assert "trainingData" not in shown["tuningTask"], shown
        assert "training_data" not in str(shown)


# --- base models --------------------------------------------------------------------------------


def test_list_models_offers_tunable_base_models(emu: Emu) -> None:
    response = emu.call("GET", "/v1beta/models", params={"pageSize": 1000})
    assert response.status_code == 200, response.text
    models = {m["name"]: m for m in response.json()["models"]}
    for name in ("models/gemini-1.5-flash-001-tuning", "models/gemini-1.0-pro-001"):
        assert "createTunedModel" in models[name]["supportedGenerationMethods"], name


def test_get_model_returns_base_model_defaults(emu: Emu) -> None:
    response = emu.call("GET", "/v1beta/models/gemini-1.0-pro-001")
    assert response.status_code == 200, response.text
    model = response.json()
    assert model["name"] == "models/gemini-1.0-pro-001"
    assert "createTunedModel" in model["supportedGenerationMethods"]
    assert (model["temperature"], model["topP"], model["topK"]) == (0.9, 1.0, 1)
    flash = emu.call("GET", "/v1beta/models/gemini-1.5-flash-001-tuning").json()
    assert flash["name"] == "models/gemini-1.5-flash-001-tuning"
    assert "createTunedModel" in flash["supportedGenerationMethods"]


def test_get_unknown_base_model_is_not_found(emu: Emu) -> None:
    assert_error(emu.call("GET", "/v1beta/models/no-such-model"), 404, "NOT_FOUND")


# --- list ---------------------------------------------------------------------------------------


def test_list_is_empty_object_when_no_models(emu: Emu) -> None:
    response = emu.call("GET", "/v1beta/tunedModels")
    assert response.status_code == 200
    assert response.json() == {}


def test_list_default_page_size_is_10(emu: Emu) -> None:
    for i in range(12):
        emu.create(model_body(f"m {i}"))
    page = emu.call("GET", "/v1beta/tunedModels").json()
    assert len(page["tunedModels"]) == 10
    assert page["nextPageToken"]


def test_list_pages_with_camel_case_parameters(emu: Emu) -> None:
    names = {emu.create(model_body(f"camel {i}"))["metadata"]["tunedModel"] for i in range(5)}
    seen: list[str] = []
    token: str | None = None
    for _ in range(5):
        params: dict[str, str | int] = {"pageSize": 2}
        if token:
            params["pageToken"] = token
        page = emu.call("GET", "/v1beta/tunedModels", params=params).json()
        seen += [m["name"] for m in page["tunedModels"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert sorted(seen) == sorted(names)
    assert len(seen) == 5


def test_list_filter_searches_display_name_and_description(emu: Emu) -> None:
    apple = emu.create(model_body("apple sorter"))["metadata"]["tunedModel"]
    pear = emu.create(model_body("other", description="sorts pears"))["metadata"]["tunedModel"]
    emu.create(model_body("banana"))
    by_name = emu.call("GET", "/v1beta/tunedModels", params={"filter": "apple"}).json()
    assert [m["name"] for m in by_name["tunedModels"]] == [apple]
    by_description = emu.call("GET", "/v1beta/tunedModels", params={"filter": "pears"}).json()
    assert [m["name"] for m in by_description["tunedModels"]] == [pear]
    assert emu.call("GET", "/v1beta/tunedModels", params={"filter": "kiwi"}).json() == {}


def test_list_with_invalid_page_token_is_invalid(emu: Emu) -> None:
    response = emu.call("GET", "/v1beta/tunedModels", params={"pageToken": "not-a-token!"})
    assert_error(response, 400, "INVALID_ARGUMENT")


# --- patch --------------------------------------------------------------------------------------


def _patch(emu: Emu, name: str, body: dict[str, Any], mask: str) -> dict[str, Any]:
    response = emu.call("PATCH", f"/v1beta/{name}", json=body, params={"updateMask": mask})
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


def test_patch_updates_masked_fields_and_bumps_update_time(emu: Emu) -> None:
    name = emu.create(model_body("before"))["metadata"]["tunedModel"]
    emu.advance(seconds=0.5)
    patched = _patch(emu, name, {"description": "after", "displayName": "renamed"}, "description,displayName")
    assert patched["description"] == "after"
    assert patched["displayName"] == "renamed"
    assert patched["name"] == name
    assert patched["updateTime"] > patched["createTime"]
    assert emu.get_model(name)["description"] == "after"


def test_patch_ignores_fields_outside_the_mask(emu: Emu) -> None:
    name = emu.create(model_body("kept"))["metadata"]["tunedModel"]
    full = emu.get_model(name)
    full.update({"description": "new", "displayName": "ignored", "state": "ACTIVE"})
    patched = _patch(emu, name, full, "description")
    assert patched["description"] == "new"
    assert patched["displayName"] == "kept"
    assert patched["state"] == "CREATING"
    assert "trainingData" not in patched["tuningTask"]


def test_patch_accepts_snake_case_mask_and_body(emu: Emu) -> None:
    name = emu.create(model_body("snake"))["metadata"]["tunedModel"]
    patched = _patch(emu, name, {"display_name": "snaked", "top_k": 3}, "display_name,top_k")
    assert patched["displayName"] == "snaked"
    assert patched["topK"] == 3


def test_patch_of_immutable_field_is_invalid(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    response = emu.call(
        "PATCH",
        f"/v1beta/{name}",
        json={"baseModel": "models/gemini-1.5-flash-001-tuning"},
        params={"updateMask": "baseModel"},
    )
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert emu.get_model(name)["baseModel"] == "models/gemini-1.0-pro-001"


def test_patch_under_v1beta3_updates_description(emu: Emu) -> None:
    body = model_body("palm", base_model="models/text-bison-001")
    name = emu.create(body, version="v1beta3")["metadata"]["tunedModel"]
    response = emu.call(
        "PATCH",
        f"/v1beta3/{name}",
        json={"description": "palm"},
        params={"updateMask": "description"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "palm"


def test_patch_under_v1beta3_without_update_mask_is_invalid(emu: Emu) -> None:
    body = model_body("palm", base_model="models/text-bison-001")
    name = emu.create(body, version="v1beta3")["metadata"]["tunedModel"]
    response = emu.call("PATCH", f"/v1beta3/{name}", json={"description": "palm"})
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert "description" not in emu.get_model(name)


def test_v1_has_no_tuned_model_crud(emu: Emu) -> None:
    name = emu.create()["metadata"]["tunedModel"]
    assert_error(emu.call("GET", "/v1/tunedModels"), 404, "NOT_FOUND")
    assert_error(emu.call("DELETE", f"/v1/{name}"), 404, "NOT_FOUND")
    assert emu.get_model(name)["name"] == name


def test_int32_fields_accepted_as_json_strings(emu: Emu) -> None:
    body = model_body("strings")
    body["tuningTask"]["hyperparameters"] = {"epochCount": "2", "batchSize": "4"}
    op = emu.create(body)
    assert op["metadata"]["totalSteps"] == 8
    hyper = emu.get_model(op["metadata"]["tunedModel"])["tuningTask"]["hyperparameters"]
    assert (hyper["epochCount"], hyper["batchSize"]) == (2, 4)
