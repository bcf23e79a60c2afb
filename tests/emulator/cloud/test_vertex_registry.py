"""What a tuning job produces, over raw HTTP: Model Registry models and versions (get, list,
patch, delete, deleteVersion), endpoints (get, list, undeployModel, delete), long-running
operations, and generateContent on tuned endpoints."""

from __future__ import annotations

import json
from typing import Any

from google.cloud import aiplatform_v1
from google.longrunning import operations_pb2
from google.protobuf import json_format

from tests.emulator.cloud.conftest import LOCATION, NUMBER_LINES, PROJECT, Cloud, assert_vertex_error
from tests.seed_examples import NUMBER_EXAMPLES


def strict(body: dict[str, Any], message: Any) -> None:
    json_format.Parse(json.dumps(body), message.pb()(), ignore_unknown_fields=False)


def endpoints_of(job: dict[str, Any]) -> list[str]:
    return [c["endpoint"] for c in job["tunedModel"]["checkpoints"]]


def undeploy_all(cloud: Cloud, endpoint_name: str) -> dict[str, Any]:
    endpoint = cloud.get(endpoint_name)
    op: dict[str, Any] = {}
    for deployed in endpoint.get("deployedModels", []):
        op = cloud.ok(
            cloud.call("POST", f"/v1/{endpoint_name}:undeployModel", json={"deployedModelId": deployed["id"]})
        )
    return op


def test_model_get_list_versions_and_deployments(cloud: Cloud) -> None:
    job = cloud.tuned(
        cloud.job_body(tunedModelDisplayName="numbers", description="next number", labels={"a": "b"})
    )
    name = job["tunedModel"]["model"].split("@")[0]
    model = cloud.get(name)
    assert model["name"] == name
    assert (model["displayName"], model["description"], model["labels"]) == (
        "numbers",
        "next number",
        {"a": "b"},
    )
    assert model["modelSourceInfo"] == {"sourceType": "GENIE"}
    assert [c["checkpointId"] for c in model["checkpoints"]] == ["1", "2"]
    assert sorted(d["endpoint"] for d in model["deployedModels"]) == sorted(endpoints_of(job))
    strict(model, aiplatform_v1.types.Model)
    assert cloud.get(f"{name}@1") == model
    assert cloud.get(f"{name}@default") == model
    assert_vertex_error(cloud.call("GET", f"/v1/{name}@7"), 404, "NOT_FOUND", f"Model {name}@7 not found.")
    listed = cloud.ok(
        cloud.call("GET", f"{cloud.parent()}/models", params={"filter": "display_name=numbers"})
    )
    assert listed == {"models": [model]}
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models", params={"filter": "labels.a=c"})) == {}


def test_patch_display_name_description_and_labels_in_place(cloud: Cloud) -> None:
    job = cloud.tuned(cloud.job_body(tunedModelDisplayName="numbers", labels={"a": "b"}))
    name = job["tunedModel"]["model"].split("@")[0]
    before = cloud.get(name)
    cloud.advance(3)
    patched = cloud.ok(
        cloud.call(
            "PATCH",
            f"/v1/{name}",
            params={"updateMask": "displayName,description,labels"},
            json={"displayName": "numbers v2", "description": "now described", "labels": {"c": "d"}},
        )
    )
    assert (patched["displayName"], patched["description"], patched["labels"]) == (
        "numbers v2",
        "now described",
        {"c": "d"},
    )
    assert patched["updateTime"] > before["updateTime"]
    assert patched["createTime"] == before["createTime"]
    assert cloud.get(name) == patched
    # Fields outside the mask do not change.
    kept = cloud.ok(
        cloud.call(
            "PATCH", f"/v1/{name}", params={"updateMask": "description"}, json={"displayName": "ignored"}
        )
    )
    assert (kept["displayName"], "description" in kept) == ("numbers v2", False)
    version = cloud.ok(
        cloud.call(
            "PATCH",
            f"/v1/{name}@1",
            params={"update_mask": "version_description"},
            json={"versionDescription": "v1"},
        )
    )
    assert version["versionDescription"] == "v1"


def test_patch_rejects_what_the_registry_rejects(cloud: Cloud) -> None:
    job = cloud.tuned()
    name = job["tunedModel"]["model"].split("@")[0]
    no_mask = cloud.call("PATCH", f"/v1/{name}", json={"displayName": "x"})
    assert_vertex_error(no_mask, 400, "INVALID_ARGUMENT", "update_mask is required.")
    other = cloud.call("PATCH", f"/v1/{name}", params={"updateMask": "versionAliases"}, json={})
    assert_vertex_error(other, 400, "INVALID_ARGUMENT")
    mismatch = cloud.call(
        "PATCH", f"/v1/{name}@1", params={"updateMask": "displayName"}, json={"displayName": "x"}
    )
    assert_vertex_error(mismatch, 400, "FAILED_PRECONDITION")
    empty = cloud.call("PATCH", f"/v1/{name}", params={"updateMask": "displayName"}, json={"displayName": ""})
    assert_vertex_error(empty, 400, "INVALID_ARGUMENT", "model.display_name is required.")
    bad_labels = cloud.call(
        "PATCH", f"/v1/{name}", params={"updateMask": "labels"}, json={"labels": {"A": "b"}}
    )
    assert_vertex_error(bad_labels, 400, "INVALID_ARGUMENT")
    assert cloud.get(name)["displayName"] == job["tunedModelDisplayName"]


def test_an_endpoint_with_deployed_models_cannot_be_deleted(cloud: Cloud) -> None:
    job = cloud.tuned()
    endpoint_name = job["tunedModel"]["endpoint"]
    refused = cloud.call("DELETE", f"/v1/{endpoint_name}")
    message = assert_vertex_error(refused, 400, "FAILED_PRECONDITION")
    assert message.startswith(f"Endpoint {endpoint_name} has deployed models")
    op = undeploy_all(cloud, endpoint_name)
    assert op["done"] is True
    assert op["name"].startswith(f"{endpoint_name}/operations/")
    assert (
        op["metadata"]["@type"]
        == "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelOperationMetadata"
    )
    assert op["response"] == {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelResponse"}
    emptied = cloud.get(endpoint_name)
    assert "deployedModels" not in emptied and "trafficSplit" not in emptied
    deleted = cloud.ok(cloud.call("DELETE", f"/v1/{endpoint_name}"))
    assert (
        deleted["metadata"]["@type"]
        == "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata"
    )
    assert deleted["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    json_format.Parse(json.dumps(deleted), operations_pb2.Operation())  # the Any types resolve
    assert_vertex_error(
        cloud.call("GET", f"/v1/{endpoint_name}"), 404, "NOT_FOUND", f"Endpoint {endpoint_name} not found."
    )
    # The operation outlives its endpoint.
    assert cloud.get(deleted["name"]) == deleted
    assert cloud.get(deleted["name"], "v1beta1")["metadata"]["@type"].endswith(
        "v1beta1.DeleteOperationMetadata"
    )


def test_a_deployed_model_cannot_be_deleted(cloud: Cloud) -> None:
    job = cloud.tuned()
    model_name = job["tunedModel"]["model"].split("@")[0]
    refused = cloud.call("DELETE", f"/v1/{model_name}")
    message = assert_vertex_error(refused, 400, "FAILED_PRECONDITION")
    assert message.startswith(f"Model {model_name} is deployed or being deployed at the following endpoints:")
    for endpoint_name in endpoints_of(job)[:-1]:
        undeploy_all(cloud, endpoint_name)
    assert_vertex_error(cloud.call("DELETE", f"/v1/{model_name}"), 400, "FAILED_PRECONDITION")
    undeploy_all(cloud, endpoints_of(job)[-1])
    op = cloud.ok(cloud.call("DELETE", f"/v1/{model_name}"))
    assert op["done"] is True and op["name"].startswith(f"{model_name}/operations/")
    assert_vertex_error(cloud.call("GET", f"/v1/{model_name}"), 404, "NOT_FOUND")
    # The job keeps naming what it produced.
    assert cloud.get(job["name"])["tunedModel"] == job["tunedModel"]


def test_delete_version_rules(cloud: Cloud) -> None:
    first = cloud.tuned()
    model_name = first["tunedModel"]["model"].split("@")[0]
    only = cloud.call("DELETE", f"/v1/{model_name}@1:deleteVersion")
    assert_vertex_error(
        only,
        400,
        "FAILED_PRECONDITION",
        "Deleting the only version in the Model is not allowed. "
        "Use DeleteModel for deleting the Model instead.",
    )
    body = {
        "preTunedModel": {"tunedModelName": first["tunedModel"]["model"]},
        "supervisedTuningSpec": {"trainingDatasetUri": first["supervisedTuningSpec"]["trainingDatasetUri"]},
    }
    second = cloud.finish(cloud.create_job(body))
    assert second["tunedModel"]["model"] == f"{model_name}@2"
    no_version = cloud.call("DELETE", f"/v1/{model_name}:deleteVersion")
    assert_vertex_error(no_version, 400, "INVALID_ARGUMENT")
    default = cloud.call("DELETE", f"/v1/{model_name}@1:deleteVersion")
    assert_vertex_error(default, 400, "FAILED_PRECONDITION")
    deployed = cloud.call("DELETE", f"/v1/{model_name}@2:deleteVersion")
    assert_vertex_error(deployed, 400, "FAILED_PRECONDITION")
    for endpoint_name in endpoints_of(second):
        undeploy_all(cloud, endpoint_name)
    op = cloud.ok(cloud.call("DELETE", f"/v1/{model_name}@2:deleteVersion"))
    assert op["done"] is True
    assert_vertex_error(cloud.call("GET", f"/v1/{model_name}@2"), 404, "NOT_FOUND")
    assert cloud.get(model_name)["versionId"] == "1"


def test_operations_can_take_time(cloud: Cloud) -> None:
    assert cloud.emu.admin("GET", "vertex").json() == {"operationSeconds": 0.0}
    assert cloud.emu.admin("PATCH", "vertex", {"operationSeconds": 5}).json() == {"operationSeconds": 5.0}
    job = cloud.tuned()
    endpoint_name = job["tunedModel"]["endpoint"]
    op = undeploy_all(cloud, endpoint_name)
    assert "done" not in op and "response" not in op
    cloud.emu.advance(seconds=4.9)
    assert "done" not in cloud.get(op["name"])
    cloud.emu.advance(seconds=0.2)
    finished = cloud.get(op["name"])
    assert finished["done"] is True
    assert (
        finished["metadata"]["genericMetadata"]["updateTime"]
        > finished["metadata"]["genericMetadata"]["createTime"]
    )
    cloud.emu.reset()
    assert cloud.emu.admin("GET", "vertex").json() == {"operationSeconds": 0.0}


def test_endpoints_list_and_undeploy_errors(cloud: Cloud) -> None:
    job = cloud.tuned(cloud.job_body(labels={"stack": "dev"}))
    listed = cloud.ok(cloud.call("GET", f"{cloud.parent()}/endpoints", params={"filter": "labels.stack=dev"}))
    assert sorted(e["name"] for e in listed["endpoints"]) == sorted(endpoints_of(job))
    for endpoint in listed["endpoints"]:
        strict(endpoint, aiplatform_v1.types.Endpoint)
    endpoint_name = job["tunedModel"]["endpoint"]
    unknown = cloud.call("POST", f"/v1/{endpoint_name}:undeployModel", json={"deployedModelId": "123"})
    assert_vertex_error(
        unknown, 404, "NOT_FOUND", f"DeployedModel 123 not found on Endpoint {endpoint_name}."
    )
    missing_id = cloud.call("POST", f"/v1/{endpoint_name}:undeployModel", json={})
    assert_vertex_error(missing_id, 400, "INVALID_ARGUMENT", "deployed_model_id is required.")
    missing = cloud.call("GET", f"{cloud.parent()}/endpoints/42")
    assert_vertex_error(
        missing, 404, "NOT_FOUND", f"Endpoint projects/{PROJECT}/locations/{LOCATION}/endpoints/42 not found."
    )


def test_generate_content_answers_with_the_most_similar_training_output(cloud: Cloud) -> None:
    job = cloud.tuned()
    path = f"/v1/{job['tunedModel']['endpoint']}:generateContent"
    for example in NUMBER_EXAMPLES:
        body = {"contents": [{"role": "user", "parts": [{"text": example["textInput"]}]}]}
        answer = cloud.ok(cloud.call("POST", path, json=body))
        assert answer["candidates"][0]["content"] == {"role": "model", "parts": [{"text": example["output"]}]}
    # Held-out prompts close to a training input get its output (what a quality gate relies on).
    near = cloud.ok(
        cloud.call("POST", path, json={"contents": [{"role": "user", "parts": [{"text": "Twenty  Two"}]}]})
    )
    assert near["candidates"][0]["content"]["parts"][0]["text"] == "twenty three"
    several = cloud.ok(
        cloud.call(
            "POST",
            path,
            json={"contents": [{"parts": [{"text": "thirteen"}]}], "generationConfig": {"candidateCount": 2}},
        )
    )
    assert [c["content"]["parts"][0]["text"] for c in several["candidates"]] == ["fourteen", "four"]
    assert [c.get("index") for c in several["candidates"]] == [None, 1]
    assert several["candidates"][0]["finishReason"] == "STOP"
    usage = several["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    strict(near, aiplatform_v1.types.GenerateContentResponse)
    # Every checkpoint endpoint serves.
    first = endpoints_of(job)[0]
    answer = cloud.ok(
        cloud.call("POST", f"/v1/{first}:generateContent", json={"contents": [{"parts": [{"text": "8"}]}]})
    )
    assert answer["candidates"][0]["content"]["parts"][0]["text"] == "9"


def test_generate_content_reads_every_chunk_of_a_large_dataset(cloud: Cloud) -> None:
    """The pairs are stored a few thousand a row and read a row a transaction: the first, a middle
    and the last example of a dataset of several rows all answer."""
    count = 3 * 4096 + 17
    records = [
        {
            "contents": [
                {"role": "user", "parts": [{"text": f"question {i:06d}"}]},
                {"role": "model", "parts": [{"text": f"answer {i:06d}"}]},
            ]
        }
        for i in range(count)
    ]
    job = cloud.tuned(cloud.job_body(cloud.dataset(records, name="large.jsonl"), epochs=1))
    path = f"/v1/{job['tunedModel']['endpoint']}:generateContent"
    for i in (0, 5000, count - 1):
        body = {"contents": [{"role": "user", "parts": [{"text": f"question {i:06d}"}]}]}
        answer = cloud.ok(cloud.call("POST", path, json=body))
        assert answer["candidates"][0]["content"]["parts"][0]["text"] == f"answer {i:06d}"


def test_generate_content_errors(cloud: Cloud) -> None:
    job = cloud.tuned()
    endpoint_name = job["tunedModel"]["endpoint"]
    empty = cloud.call("POST", f"/v1/{endpoint_name}:generateContent", json={"contents": []})
    assert_vertex_error(
        empty,
        400,
        "INVALID_ARGUMENT",
        "Unable to submit request because at least one contents field is required. Learn more: "
        "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini",
    )
    model_name = job["tunedModel"]["model"].split("@")[0]
    on_model = cloud.call(
        "POST", f"/v1/{model_name}:generateContent", json={"contents": [{"parts": [{"text": "1"}]}]}
    )
    assert_vertex_error(
        on_model,
        400,
        "INVALID_ARGUMENT",
        f"The Model name {model_name} is malformed and it should be in form of "
        "projects/{project}/locations/{location}/publishers/google/models/{model}",
    )
    undeploy_all(cloud, endpoint_name)
    idle = cloud.call(
        "POST", f"/v1/{endpoint_name}:generateContent", json={"contents": [{"parts": [{"text": "1"}]}]}
    )
    assert_vertex_error(idle, 400, "FAILED_PRECONDITION")
    unknown = cloud.call("POST", f"/v1/{endpoint_name}:generateContent", json={"prompt": "1"})
    assert_vertex_error(unknown, 400, "INVALID_ARGUMENT")


def test_multi_turn_datasets_answer_each_model_turn(cloud: Cloud) -> None:
    record = {
        "systemInstruction": {"parts": [{"text": "Count."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "start at five"}]},
            {"role": "model", "parts": [{"text": "5"}]},
            {"role": "user", "parts": [{"text": "and the next one"}]},
            {"role": "model", "parts": [{"text": "6"}]},
        ],
    }
    job = cloud.tuned(cloud.job_body(cloud.dataset([record, *NUMBER_LINES])))
    path = f"/v1/{job['tunedModel']['endpoint']}:generateContent"
    turn = {"contents": [{"role": "user", "parts": [{"text": "and the next one"}]}]}
    assert (
        cloud.ok(cloud.call("POST", path, json=turn))["candidates"][0]["content"]["parts"][0]["text"] == "6"
    )
