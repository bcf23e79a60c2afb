"""tuned_models.vertex.types: the wire's JSON (int64 strings, enum names or numbers, omitted
defaults, unknown fields) to frozen models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from tuned_models.vertex.types import AdapterSize, Endpoint, JobState, Model, Operation, TuningJob

#: The shape of a real failed job (a captured REST response, Nov 2024), trimmed.
FAILED_JOB: dict[str, Any] = {
    "name": "projects/646763706049/locations/us-central1/tuningJobs/6284765961371254784",
    "tunedModelDisplayName": "summarizer",
    "baseModel": "gemini-1.5-pro-002",
    "supervisedTuningSpec": {
        "trainingDatasetUri": "gs://bkt/train.jsonl",
        "hyperParameters": {
            "epochCount": "10",
            "learningRateMultiplier": 1,
            "adapterSize": "ADAPTER_SIZE_FOUR",
        },
    },
    "state": "JOB_STATE_FAILED",
    "createTime": "2024-11-03T21:08:07.734198Z",
    "startTime": "2024-11-03T21:08:30.123456789Z",
    "endTime": "2024-11-03T21:40:37.1Z",
    "error": {"code": 13, "message": "Failed to create endpoint."},
    "tunedModel": {"model": "projects/646763706049/locations/us-central1/models/1402067540926005248@1"},
    "tuningDataStats": {
        "supervisedTuningDataStats": {
            "tuningDatasetExampleCount": "500",
            "totalBillableTokenCount": "255243",
            "tuningStepCount": "312",
            "truncatedExampleIndices": ["3", "17"],
            "userInputTokenDistribution": {"sum": "233592", "mean": 467.18},
        }
    },
    "experiment": "projects/646763706049/locations/us-central1/metadataStores/default/contexts/x",
    "satisfiesPzs": False,
    "someFieldFromTheFuture": {"x": 1},
}


def test_a_real_failed_job_parses() -> None:
    job = TuningJob.model_validate(FAILED_JOB)
    assert job.id == "6284765961371254784"
    assert job.state is JobState.JOB_STATE_FAILED and job.ended
    assert job.error is not None and job.error.code == 13
    spec = job.supervisedTuningSpec
    assert spec is not None and spec.hyperParameters is not None
    assert spec.hyperParameters.epochCount == 10
    assert spec.hyperParameters.adapterSize is AdapterSize.ADAPTER_SIZE_FOUR
    assert job.tunedModel is not None and job.tunedModel.endpoints == []
    stats = job.data_stats
    assert stats is not None
    assert (stats.tuningDatasetExampleCount, stats.totalBillableTokenCount) == (500, 255243)
    assert stats.truncatedExampleIndices == [3, 17]
    assert job.startTime == datetime(2024, 11, 3, 21, 8, 30, 123456, tzinfo=UTC)
    assert job.labels == {}


def test_a_succeeded_job_lists_every_endpoint_once_default_first() -> None:
    job = TuningJob.model_validate(
        {
            "name": "projects/p/locations/us-central1/tuningJobs/1",
            "state": 4,
            "tunedModel": {
                "model": "projects/p/locations/us-central1/models/9@1",
                "endpoint": "projects/p/locations/us/endpoints/3",
                "checkpoints": [
                    {
                        "checkpointId": "1",
                        "epoch": "1",
                        "step": "10",
                        "endpoint": "projects/p/locations/us/endpoints/2",
                    },
                    {
                        "checkpointId": "2",
                        "epoch": "2",
                        "step": "20",
                        "endpoint": "projects/p/locations/us/endpoints/3",
                    },
                ],
            },
        }
    )
    assert job.state is JobState.JOB_STATE_SUCCEEDED
    assert job.tunedModel is not None
    assert job.tunedModel.endpoints == [
        "projects/p/locations/us/endpoints/3",
        "projects/p/locations/us/endpoints/2",
    ]
    assert job.tunedModel.checkpoints[0].step == 10


@pytest.mark.parametrize(
    ("wire", "state"),
    [
        ("JOB_STATE_RUNNING", JobState.JOB_STATE_RUNNING),
        (3, JobState.JOB_STATE_RUNNING),
        (7, JobState.JOB_STATE_CANCELLED),
        (11, JobState.JOB_STATE_PARTIALLY_SUCCEEDED),
        ("JOB_STATE_FROM_THE_FUTURE", JobState.JOB_STATE_UNSPECIFIED),
        (99, JobState.JOB_STATE_UNSPECIFIED),
    ],
)
def test_job_states_by_name_or_number_and_unknown_ones(wire: Any, state: JobState) -> None:
    job = TuningJob.model_validate({"name": "projects/p/locations/l/tuningJobs/1", "state": wire})
    assert job.state is state


@pytest.mark.parametrize(
    ("number", "size", "rank"),
    [
        (1, "ADAPTER_SIZE_ONE", 1),
        (6, "ADAPTER_SIZE_TWO", 2),
        (2, "ADAPTER_SIZE_FOUR", 4),
        (5, "ADAPTER_SIZE_THIRTY_TWO", 32),
    ],
)
def test_adapter_size_numbers_are_not_in_size_order(number: int, size: str, rank: int) -> None:
    job = TuningJob.model_validate(
        {
            "name": "projects/p/locations/l/tuningJobs/1",
            "supervisedTuningSpec": {"hyperParameters": {"adapterSize": number}},
        }
    )
    assert job.supervisedTuningSpec is not None and job.supervisedTuningSpec.hyperParameters is not None
    adapter = job.supervisedTuningSpec.hyperParameters.adapterSize
    assert adapter == size and adapter is not None and adapter.rank == rank
    assert AdapterSize.of_rank(rank) is adapter


@pytest.mark.parametrize("rank", [0, 3, 64, True])
def test_adapter_size_of_an_unsupported_rank(rank: int) -> None:
    with pytest.raises(ValueError, match="1, 2, 4, 8, 16, 32"):
        AdapterSize.of_rank(rank)


def test_model_endpoint_and_operation() -> None:
    model = Model.model_validate(
        {
            "name": "projects/p/locations/us-central1/models/9@2",
            "versionId": "2",
            "versionAliases": ["default"],
            "displayName": "x",
            "deployedModels": [{"endpoint": "projects/p/locations/us/endpoints/3", "deployedModelId": "77"}],
            "labels": {"tuned_models_stack": "dev"},
        }
    )
    assert model.id == "9" and model.deployedModels[0].deployedModelId == "77"
    endpoint = Endpoint.model_validate(
        {
            "name": "projects/p/locations/us/endpoints/3",
            "deployedModels": [
                {"id": "77", "model": "projects/p/locations/us-central1/models/9", "modelVersionId": "2"}
            ],
            "trafficSplit": {"77": 100},
        }
    )
    assert (
        endpoint.id == "3" and endpoint.deployedModels[0].id == "77" and endpoint.trafficSplit == {"77": 100}
    )
    operation = Operation.model_validate(
        {
            "name": "projects/p/locations/us/endpoints/3/operations/5",
            "metadata": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata"},
            "done": True,
            "error": {"code": 9, "message": "deployed"},
        }
    )
    assert operation.done and operation.error is not None and operation.error.code == 9


def test_models_are_frozen() -> None:
    job = TuningJob.model_validate({"name": "projects/p/locations/l/tuningJobs/1"})
    with pytest.raises(pydantic.ValidationError):
        job.name = "x"  # type: ignore[misc]
