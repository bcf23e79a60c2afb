"""Vertex AI tuning jobs over raw HTTP: create, validation, the state machine on the manual clock,
list/filter/paging, cancel, forced failures, faults, journal, auth, and the JSON checked strictly
against Google's own protos (google-cloud-aiplatform's types). Datasets: test_vertex_datasets.py."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from google.cloud import aiplatform_v1, aiplatform_v1beta1
from google.protobuf import json_format

from tests.emulator.cloud.conftest import (
    BUCKET,
    LOCATION,
    PROJECT,
    Cloud,
    assert_vertex_error,
    refused,
    steps_for,
)
from tests.seed_examples import NUMBER_EXAMPLES

JOB_NAME = re.compile(r"projects/(\d{12})/locations/us-central1/tuningJobs/(\d{19})")
MODEL_NAME = re.compile(r"projects/\d{12}/locations/us-central1/models/(\d{19})@1")
ENDPOINT_NAME = re.compile(r"projects/\d{12}/locations/(us-central1|us|eu)/endpoints/(\d{19})")
ADAPTER_MESSAGE = "The adapter size is not supported for this base model."


def strict(body: dict[str, Any], message: Any) -> None:
    """Parse ``body`` as the proto ``message`` with unknown fields refused (field names, kinds and
    enum names must be the real ones)."""
    json_format.Parse(json.dumps(body), message.pb()(), ignore_unknown_fields=False)


def test_create_returns_the_pending_job_with_resolved_hyperparameters(cloud: Cloud) -> None:
    body = cloud.job_body(tunedModelDisplayName="numbers", labels={"stack": "dev", "model": "numbers"})
    job = cloud.create_job(body)
    found = JOB_NAME.fullmatch(job["name"])
    assert found is not None, job["name"]
    assert job == {
        "name": job["name"],
        "tunedModelDisplayName": "numbers",
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {
            "trainingDatasetUri": f"gs://{BUCKET}/train.jsonl",
            "hyperParameters": {
                "epochCount": "2",
                "learningRateMultiplier": 1,
                "adapterSize": "ADAPTER_SIZE_FOUR",
            },
        },
        "state": "JOB_STATE_PENDING",
        "createTime": job["createTime"],
        "updateTime": job["createTime"],
        "labels": {"stack": "dev", "model": "numbers"},
    }
    strict(job, aiplatform_v1.types.TuningJob)
    # The project is answered by number, and the id and the number both address the job.
    by_id = cloud.get(f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/{found[2]}")
    assert by_id == cloud.get(job["name"]) == job


def test_the_job_runs_on_the_manual_clock_and_produces_model_and_endpoints(cloud: Cloud) -> None:
    job = cloud.create_job(cloud.job_body(epochs=3))
    steps = steps_for(len(NUMBER_EXAMPLES), 3)
    cloud.advance(1)
    running = cloud.get(job["name"])
    assert running["state"] == "JOB_STATE_RUNNING"
    assert running["startTime"] > running["createTime"]
    assert running["updateTime"] == running["startTime"]
    assert running["experiment"].startswith(
        job["name"].split("/tuningJobs/")[0] + "/metadataStores/default/contexts/tuning-experiment-"
    )
    assert running["tuningDataStats"]["supervisedTuningDataStats"]["tuningStepCount"] == str(steps)
    assert "tunedModel" not in running and "endTime" not in running
    model_list = cloud.ok(cloud.call("GET", f"{cloud.parent()}/models"))
    assert model_list == {}

    cloud.advance(steps - 1)
    assert cloud.get(job["name"])["state"] == "JOB_STATE_RUNNING"
    cloud.advance(1)
    done = cloud.get(job["name"])
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert done["endTime"] == done["updateTime"] > done["startTime"]
    tuned = done["tunedModel"]
    assert MODEL_NAME.fullmatch(tuned["model"])
    per_epoch = steps // 3
    assert [(c["checkpointId"], c["epoch"], c["step"]) for c in tuned["checkpoints"]] == [
        ("1", "1", str(per_epoch)),
        ("2", "2", str(2 * per_epoch)),
        ("3", "3", str(3 * per_epoch)),
    ]
    assert tuned["endpoint"] == tuned["checkpoints"][-1]["endpoint"]
    assert len({c["endpoint"] for c in tuned["checkpoints"]}) == 3
    strict(done, aiplatform_v1.types.TuningJob)
    strict(done, aiplatform_v1beta1.types.TuningJob)

    model = cloud.get(tuned["model"].split("@")[0])
    assert (model["versionId"], model["versionAliases"]) == ("1", ["default"])
    assert model["createTime"] == done["endTime"]
    assert model["defaultCheckpointId"] == "3"
    for checkpoint in tuned["checkpoints"]:
        endpoint = cloud.get(checkpoint["endpoint"])
        assert endpoint["createTime"] == done["endTime"]
        assert [d["checkpointId"] for d in endpoint["deployedModels"]] == [checkpoint["checkpointId"]]
        assert endpoint["deployedModels"][0]["model"] == model["name"]
        assert endpoint["trafficSplit"] == {endpoint["deployedModels"][0]["id"]: 100}


def test_camel_or_snake_case_and_int64_as_string_are_accepted(cloud: Cloud) -> None:
    uri = cloud.dataset()
    body = {
        "base_model": "gemini-2.5-pro",
        "supervised_tuning_spec": {
            "training_dataset_uri": uri,
            "hyper_parameters": {
                "epoch_count": "4",
                "adapter_size": "ADAPTER_SIZE_EIGHT",
                "learning_rate_multiplier": 0.5,
            },
        },
    }
    job = cloud.create_job(body)
    assert job["supervisedTuningSpec"]["hyperParameters"] == {
        "epochCount": "4",
        "learningRateMultiplier": 0.5,
        "adapterSize": "ADAPTER_SIZE_EIGHT",
    }
    assert job["baseModel"] == "gemini-2.5-pro"


def test_adapter_sizes_are_checked_per_base_model_with_the_service_message(cloud: Cloud) -> None:
    uri = cloud.dataset()
    spec = {"trainingDatasetUri": uri, "hyperParameters": {"adapterSize": "ADAPTER_SIZE_THIRTY_TWO"}}
    refused(cloud, {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec}, ADAPTER_MESSAGE)
    spec = {"trainingDatasetUri": uri, "hyperParameters": {"adapterSize": "ADAPTER_SIZE_SIXTEEN"}}
    refused(cloud, {"baseModel": "gemini-2.5-pro", "supervisedTuningSpec": spec}, ADAPTER_MESSAGE)
    job = cloud.create_job({"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec})
    assert job["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_SIXTEEN"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"preTunedModel": {"tunedModelName": "projects/p/locations/us-central1/models/1"}},
            "Only one of base_model and pre_tuned_model may be set (oneof source_model).",
        ),
        ({"baseModel": None}, "base_model or pre_tuned_model is required."),
        (
            {"baseModel": "gemini-1.5-flash-002"},
            re.compile(
                r"Base model gemini-1\.5-flash-002 is not supported for supervised tuning\. "
                r".*gemini-2\.5-flash.*"
            ),
        ),
        ({"supervisedTuningSpec": None}, "supervised_tuning_spec is required."),
        ({"supervisedTuningSpec": {}}, "supervised_tuning_spec.training_dataset_uri is required."),
        (
            {"supervisedTuningSpec": {"trainingDatasetUri": "/local/train.jsonl"}},
            "supervised_tuning_spec.training_dataset_uri must be a Cloud Storage URI "
            "(gs://bucket/object.jsonl), got '/local/train.jsonl'.",
        ),
        (
            {"supervisedTuningSpec": {"trainingDatasetUri": f"gs://{BUCKET}/missing.jsonl"}},
            f"supervised_tuning_spec.training_dataset_uri: gs://{BUCKET}/missing.jsonl does not exist.",
        ),
        (
            {"supervisedTuningSpec": {"trainingDatasetUri": "gs://no-such-bucket/train.jsonl"}},
            "supervised_tuning_spec.training_dataset_uri: gs://no-such-bucket/train.jsonl does not exist.",
        ),
        (
            {"tuningJobId": "x"},
            "Invalid JSON payload received. Unknown name \"tuningJobId\" at 'tuning_job': Cannot find field.",
        ),
        (
            {"supervisedTuningSpec": {"hyperParameters": {"adapterSize": "ADAPTER_SIZE_HUGE"}}},
            "Invalid value at 'tuning_job.supervised_tuning_spec.hyper_parameters.adapter_size' "
            "(type.googleapis.com/google.cloud.aiplatform.v1.SupervisedHyperParameters.AdapterSize), "
            '"ADAPTER_SIZE_HUGE"',
        ),
        (
            {"supervisedTuningSpec": {"hyperParameters": {"learningRate": 0.1}}},
            'Invalid JSON payload received. Unknown name "learningRate" at '
            "'tuning_job.supervised_tuning_spec.hyper_parameters': Cannot find field.",
        ),
        (
            {"supervisedTuningSpec": {"hyperParameters": {"epochCount": -1}}},
            "hyper_parameters.epoch_count must be positive.",
        ),
        (
            {"supervisedTuningSpec": {"hyperParameters": {"learningRateMultiplier": 0}}},
            "hyper_parameters.learning_rate_multiplier must be positive.",
        ),
        ({"labels": {"Team": "ml"}}, re.compile(r"Label key 'Team' violates format constraints\..*")),
        (
            {"labels": {"team": "ML"}},
            re.compile(r"Label value 'ML' of key 'team' violates format constraints\..*"),
        ),
        ({"labels": {"team": "x" * 65}}, re.compile(r"Label value .x{65}. of key .team. violates .*")),
        ({"labels": {f"k{i}": "v" for i in range(65)}}, "labels has 65 entries; at most 64 are allowed."),
        (
            {"tunedModelDisplayName": "n" * 129},
            "tuned_model_display_name is 129 characters long; at most 128 are allowed.",
        ),
    ],
)
def test_create_rejects_what_the_service_rejects(cloud: Cloud, change: dict[str, Any], message: Any) -> None:
    body = cloud.job_body()
    for key, value in change.items():
        if key == "supervisedTuningSpec" and isinstance(value, dict) and "trainingDatasetUri" not in value:
            if value:
                body[key] = {**body[key], **value, "hyperParameters": {**value.get("hyperParameters", {})}}
            else:
                body[key] = value
        elif value is None:
            body.pop(key)
        else:
            body[key] = value
    refused(cloud, body, message)


def test_international_lowercase_labels_are_accepted(cloud: Cloud) -> None:
    labels = {"équipe": "données-ü_1", "k": "", "long": "x" * 64, "y" * 64: "v"}
    job = cloud.create_job(cloud.job_body(labels=labels))
    assert job["labels"] == labels


def test_v1beta1_open_model_fields_are_refused_for_gemini(cloud: Cloud) -> None:
    body = cloud.job_body()
    body["supervisedTuningSpec"]["hyperParameters"] = {"learningRate": 0.001}
    refused(
        cloud,
        body,
        "hyper_parameters.learning_rate is only supported for open models, not for gemini-2.5-flash.",
        "v1beta1",
    )


def test_regions(cloud: Cloud) -> None:
    uri = cloud.dataset()
    body = {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri}}
    response = cloud.call("POST", f"{cloud.parent(location='europe-west1')}/tuningJobs", json=body)
    assert_vertex_error(
        response,
        400,
        "INVALID_ARGUMENT",
        "Base model gemini-3.5-flash can only be tuned in us-central1 and europe-west4, not in europe-west1.",
    )
    response = cloud.call("POST", f"{cloud.parent(location='global')}/tuningJobs", json=cloud.job_body(uri))
    assert_vertex_error(
        response,
        400,
        "INVALID_ARGUMENT",
        "Tuning jobs run in a region (such as us-central1), not in location 'global'.",
    )
    job = cloud.create_job(body, location="europe-west4")
    cloud.advance(1)
    steps = int(cloud.get(job["name"])["tuningDataStats"]["supervisedTuningDataStats"]["tuningStepCount"])
    cloud.advance(steps)
    done = cloud.get(job["name"])
    # Gemini 3.x models are served from the multi-region of their tuning region.
    endpoint = ENDPOINT_NAME.fullmatch(done["tunedModel"]["endpoint"])
    assert endpoint is not None and endpoint[1] == "eu"
    assert "/locations/europe-west4/models/" in done["tunedModel"]["model"]
    assert (
        cloud.get(done["tunedModel"]["endpoint"])["deployedModels"][0]["model"]
        == done["tunedModel"]["model"].split("@")[0]
    )


def test_list_filters_pages_and_orders_newest_first(cloud: Cloud) -> None:
    uri = cloud.dataset()
    first = cloud.create_job(cloud.job_body(uri, labels={"team": "a"}))
    second = cloud.create_job(cloud.job_body(uri, labels={"team": "b"}))
    third = cloud.create_job(cloud.job_body(uri, labels={"team": "a", "env": "prod"}))
    listed = cloud.ok(cloud.call("GET", f"{cloud.parent()}/tuningJobs"))
    assert [j["name"] for j in listed["tuningJobs"]] == [third["name"], second["name"], first["name"]]
    by_label = cloud.ok(
        cloud.call("GET", f"{cloud.parent()}/tuningJobs", params={"filter": 'labels.team="a"'})
    )
    assert [j["name"] for j in by_label["tuningJobs"]] == [third["name"], first["name"]]
    both = cloud.ok(
        cloud.call("GET", f"{cloud.parent()}/tuningJobs", params={"filter": "labels.team=a AND labels.env:*"})
    )
    assert [j["name"] for j in both["tuningJobs"]] == [third["name"]]
    cloud.call("POST", f"/v1/{second['name']}:cancel")
    cloud.advance(1)
    running = cloud.ok(
        cloud.call("GET", f"{cloud.parent()}/tuningJobs", params={"filter": "state=JOB_STATE_RUNNING"})
    )
    assert [j["name"] for j in running["tuningJobs"]] == [third["name"], first["name"]]

    page = cloud.ok(cloud.call("GET", f"{cloud.parent()}/tuningJobs", params={"pageSize": 2}))
    assert len(page["tuningJobs"]) == 2
    rest = cloud.ok(
        cloud.call(
            "GET", f"{cloud.parent()}/tuningJobs", params={"pageSize": 2, "pageToken": page["nextPageToken"]}
        )
    )
    assert [j["name"] for j in rest["tuningJobs"]] == [first["name"]]
    assert "nextPageToken" not in rest
    bad = cloud.call("GET", f"{cloud.parent()}/tuningJobs", params={"filter": "create_time>1"})
    assert_vertex_error(bad, 400, "INVALID_ARGUMENT")
    other_region = cloud.ok(cloud.call("GET", f"{cloud.parent(location='europe-west4')}/tuningJobs"))
    assert other_region == {}


def test_cancel_goes_through_cancelling_to_cancelled(cloud: Cloud) -> None:
    job = cloud.create_job()
    cloud.advance(2)
    assert cloud.ok(cloud.call("POST", f"/v1/{job['name']}:cancel", json={})) == {}
    cancelling = cloud.get(job["name"])
    assert cancelling["state"] == "JOB_STATE_CANCELLING"
    assert "endTime" not in cancelling and "error" not in cancelling
    assert cloud.ok(cloud.call("POST", f"/v1/{job['name']}:cancel")) == {}
    cloud.advance(1)
    cancelled = cloud.get(job["name"])
    assert cancelled["state"] == "JOB_STATE_CANCELLED"
    assert cancelled["error"] == {"code": 1, "message": "Tuning job was cancelled."}
    assert cancelled["endTime"] == cancelled["updateTime"]
    assert "tunedModel" not in cancelled
    strict(cancelled, aiplatform_v1.types.TuningJob)
    cloud.advance(100)
    assert cloud.get(job["name"])["state"] == "JOB_STATE_CANCELLED"
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models")) == {}
    again = cloud.call("POST", f"/v1/{job['name']}:cancel")
    assert_vertex_error(
        again,
        400,
        "FAILED_PRECONDITION",
        f"Tuning job {job['name']} is in state JOB_STATE_CANCELLED and cannot be cancelled.",
    )


def test_cancelling_a_succeeded_job_is_refused(cloud: Cloud) -> None:
    done = cloud.tuned()
    response = cloud.call("POST", f"/v1/{done['name']}:cancel")
    assert_vertex_error(response, 400, "FAILED_PRECONDITION")
    assert cloud.get(done["name"])["state"] == "JOB_STATE_SUCCEEDED"


def test_forced_failure_fails_the_job_at_its_percent(cloud: Cloud) -> None:
    cloud.emu.admin(
        "POST", "failures", {"match": "^model=doomed$", "atPercent": 50, "message": "Out of capacity."}
    )
    doomed = cloud.create_job(cloud.job_body(epochs=4, labels={"model": "doomed"}))
    spared = cloud.create_job(cloud.job_body(epochs=4, labels={"model": "spared"}))
    total = steps_for(15, 4)
    cloud.advance(1 + math.ceil(total / 2) - 1)
    assert cloud.get(doomed["name"])["state"] == "JOB_STATE_RUNNING"
    cloud.advance(1)
    failed = cloud.get(doomed["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert failed["error"] == {"code": 13, "message": "Out of capacity."}
    assert "tunedModel" not in failed
    cloud.advance(total)
    assert cloud.get(spared["name"])["state"] == "JOB_STATE_SUCCEEDED"
    models = cloud.ok(cloud.call("GET", f"{cloud.parent()}/models"))["models"]
    assert len(models) == 1


def test_faults_hit_vertex_rpcs_by_name(cloud: Cloud) -> None:
    job = cloud.create_job()
    cloud.emu.admin(
        "POST", "faults", {"method": "aiplatform.GetTuningJob", "status": 429, "count": 1, "retryAfter": 3}
    )
    limited = cloud.call("GET", f"/v1/{job['name']}")
    assert_vertex_error(limited, 429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
    assert limited.headers["Retry-After"] == "3"
    assert cloud.get(job["name"])["name"] == job["name"]
    unknown = cloud.emu.admin_request("POST", "faults", {"method": "GetTuningJob"})
    assert unknown.status_code == 400
    assert "aiplatform.GetTuningJob" in unknown.json()["error"]["message"]


def test_journal_records_vertex_calls(cloud: Cloud) -> None:
    uri = cloud.dataset()
    cloud.emu.admin("DELETE", "journal")
    response = cloud.call(
        "POST",
        f"{cloud.parent()}/tuningJobs",
        json=cloud.job_body(uri),
        headers={"x-goog-user-project": "billing-proj"},
    )
    job = cloud.ok(response)
    cloud.call("GET", f"/v1beta1/{job['name']}")
    entries = cloud.emu.admin("GET", "journal").json()["requests"]
    assert [(e["method"], e["rpc"], e["status"]) for e in entries] == [
        ("POST", "aiplatform.CreateTuningJob", 200),
        ("GET", "aiplatform.GetTuningJob", 200),
    ]
    assert "tuningJob" not in entries[0]
    assert entries[1]["tuningJob"] == job["name"].rsplit("/", 1)[1]
    assert entries[0]["caller"].endswith("@emulator.local")


def test_credentials_are_oauth_tokens(cloud: Cloud) -> None:
    missing = cloud.call("GET", f"{cloud.parent()}/tuningJobs", token=None)
    assert_vertex_error(
        missing,
        401,
        "UNAUTHENTICATED",
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
        "or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )
    assert missing.json()["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    keyed = cloud.call("GET", f"{cloud.parent()}/tuningJobs", token=None, headers={"x-goog-api-key": "k"})
    message = assert_vertex_error(keyed, 401, "UNAUTHENTICATED")
    assert message.startswith("API keys are not supported by this API.")
    empty = cloud.call("GET", f"{cloud.parent()}/tuningJobs", token=None, headers={"Authorization": "Bearer"})
    assert_vertex_error(empty, 401, "UNAUTHENTICATED")


def test_missing_job_and_unknown_routes(cloud: Cloud) -> None:
    missing = cloud.call("GET", f"{cloud.parent()}/tuningJobs/1234567890123456789")
    assert_vertex_error(
        missing,
        404,
        "NOT_FOUND",
        f"TuningJob projects/{PROJECT}/locations/{LOCATION}/tuningJobs/1234567890123456789 not found.",
    )
    job = cloud.create_job()
    for method, path in (("DELETE", f"/v1/{job['name']}"), ("PATCH", f"/v1/{job['name']}")):
        unknown = cloud.call(method, path)
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["error"]["message"] == f"The requested URL {path} was not found on this server."
    assert cloud.get(job["name"])["state"] == "JOB_STATE_PENDING"


def test_export_last_checkpoint_only_makes_one_endpoint(cloud: Cloud) -> None:
    body = cloud.job_body(epochs=3)
    body["supervisedTuningSpec"]["exportLastCheckpointOnly"] = True
    done = cloud.tuned(body)
    assert set(done["tunedModel"]) == {"model", "endpoint"}
    assert done["supervisedTuningSpec"]["exportLastCheckpointOnly"] is True
    endpoints = cloud.ok(cloud.call("GET", f"{cloud.parent()}/endpoints"))["endpoints"]
    assert [e["name"] for e in endpoints] == [done["tunedModel"]["endpoint"]]


def test_more_than_ten_epochs_export_ten_checkpoints(cloud: Cloud) -> None:
    done = cloud.tuned(cloud.job_body(epochs=25))
    epochs = [int(c["epoch"]) for c in done["tunedModel"]["checkpoints"]]
    assert len(epochs) == 10
    assert epochs[-1] == 25
    assert epochs == sorted(set(epochs))


def test_continuous_tuning_adds_a_version_or_a_new_model(cloud: Cloud) -> None:
    first = cloud.tuned(cloud.job_body(tunedModelDisplayName="numbers"))
    parent_model = first["tunedModel"]["model"]
    body = {
        "preTunedModel": {"tunedModelName": parent_model, "checkpointId": "2"},
        "supervisedTuningSpec": {"trainingDatasetUri": first["supervisedTuningSpec"]["trainingDatasetUri"]},
    }
    job = cloud.create_job(body)
    assert job["preTunedModel"] == {
        "tunedModelName": parent_model,
        "checkpointId": "2",
        "baseModel": "gemini-2.5-flash",
    }
    assert "baseModel" not in job
    assert job["tunedModelDisplayName"] == "numbers"
    done = cloud.finish(job)
    model_id = parent_model.split("/models/")[1].split("@")[0]
    assert done["tunedModel"]["model"].endswith(f"/models/{model_id}@2")
    versions = cloud.ok(cloud.call("GET", f"{cloud.parent()}/models/{model_id}:listVersions"))["models"]
    assert [(v["versionId"], v.get("versionAliases")) for v in versions] == [("1", ["default"]), ("2", None)]

    renamed = cloud.finish(cloud.create_job({**body, "tunedModelDisplayName": "numbers v2"}))
    assert renamed["tunedModel"]["model"].endswith("@1")
    assert model_id not in renamed["tunedModel"]["model"]

    missing = {
        **body,
        "preTunedModel": {"tunedModelName": f"projects/{PROJECT}/locations/{LOCATION}/models/42"},
    }
    response = cloud.call("POST", f"{cloud.parent()}/tuningJobs", json=missing)
    assert_vertex_error(
        response, 404, "NOT_FOUND", f"Model projects/{PROJECT}/locations/{LOCATION}/models/42 not found."
    )


def test_enums_as_numbers_on_request(cloud: Cloud) -> None:
    job = cloud.create_job()
    got = cloud.ok(cloud.call("GET", f"/v1/{job['name']}", params={"$alt": "json;enum-encoding=int"}))
    assert got["state"] == 2
    assert got["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == 2
    strict(got, aiplatform_v1.types.TuningJob)


def test_reset_forgets_the_vertex_state(cloud: Cloud) -> None:
    done = cloud.tuned()
    cloud.emu.reset()
    cloud.emu.manual_clock()
    assert_vertex_error(cloud.call("GET", f"/v1/{done['name']}"), 404, "NOT_FOUND")
    assert_vertex_error(cloud.call("GET", f"/v1/{done['tunedModel']['endpoint']}"), 404, "NOT_FOUND")
    assert cloud.ok(cloud.call("GET", f"{cloud.parent()}/models")) == {}
