"""The request messages of the emulated Vertex AI RPCs, for :func:`tuned_models_emulator.wire.normalize`.

Field names and kinds follow ``google/cloud/aiplatform/{v1,v1beta1}/tuning_job.proto``,
``model.proto`` and ``endpoint_service.proto``. Output-only fields are accepted in requests and
ignored; an unknown field is the front end's 400 (``Unknown name "x" at 'tuning_job'``). v1beta1
adds the fields the v1 API does not have (other tuning specs, ``customBaseModel``,
``learningRate``, ``batchSize``, ``tuningMode``).
"""

from __future__ import annotations

from tuned_models_emulator.wire import Field, Schema

#: Enum names by number (index = number).
ENUMS: dict[str, tuple[str, ...]] = {
    "JobState": (
        "JOB_STATE_UNSPECIFIED",
        "JOB_STATE_QUEUED",
        "JOB_STATE_PENDING",
        "JOB_STATE_RUNNING",
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLING",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_PAUSED",
        "JOB_STATE_EXPIRED",
        "JOB_STATE_UPDATING",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    ),
    "SupervisedHyperParameters.AdapterSize": (
        "ADAPTER_SIZE_UNSPECIFIED",
        "ADAPTER_SIZE_ONE",
        "ADAPTER_SIZE_FOUR",
        "ADAPTER_SIZE_EIGHT",
        "ADAPTER_SIZE_SIXTEEN",
        "ADAPTER_SIZE_THIRTY_TWO",
        "ADAPTER_SIZE_TWO",
    ),
    "SupervisedTuningSpec.TuningMode": (
        "TUNING_MODE_UNSPECIFIED",
        "TUNING_MODE_FULL",
        "TUNING_MODE_PEFT_ADAPTER",
    ),
}

_ANY = Field("any")
_STRING = Field("string")

_TUNING_JOB_V1: dict[str, Field] = {
    "baseModel": _STRING,
    "preTunedModel": Field("message", "PreTunedModel"),
    "supervisedTuningSpec": Field("message", "SupervisedTuningSpec"),
    "name": _STRING,
    "tunedModelDisplayName": _STRING,
    "description": _STRING,
    "state": Field("enum", "JobState"),
    "createTime": _STRING,
    "startTime": _STRING,
    "endTime": _STRING,
    "updateTime": _STRING,
    "error": _ANY,
    "labels": _ANY,
    "experiment": _STRING,
    "tunedModel": _ANY,
    "tuningDataStats": _ANY,
    "encryptionSpec": Field("message", "EncryptionSpec"),
    "serviceAccount": _STRING,
    "evaluateDatasetRuns": Field("any", repeated=True),
}
_TUNING_JOB_V1BETA1_EXTRA: dict[str, Field] = {
    "distillationSpec": _ANY,
    "partnerModelTuningSpec": _ANY,
    "veoTuningSpec": _ANY,
    "veoLoraTuningSpec": _ANY,
    "customBaseModel": _STRING,
    "outputUri": _STRING,
    "pipelineJob": _STRING,
}
_SPEC_V1: dict[str, Field] = {
    "trainingDatasetUri": _STRING,
    "validationDatasetUri": _STRING,
    "hyperParameters": Field("message", "SupervisedHyperParameters"),
    "exportLastCheckpointOnly": Field("bool"),
    "evaluationConfig": _ANY,
}
_HYPER_V1: dict[str, Field] = {
    "epochCount": Field("int64"),
    "learningRateMultiplier": Field("double"),
    "adapterSize": Field("enum", "SupervisedHyperParameters.AdapterSize"),
}
_MODEL_FIELDS = (
    "name versionId versionAliases versionCreateTime versionUpdateTime displayName description "
    "versionDescription defaultCheckpointId predictSchemata metadataSchemaUri metadata "
    "supportedExportFormats trainingPipeline pipelineJob containerSpec artifactUri "
    "supportedDeploymentResourcesTypes supportedInputStorageFormats supportedOutputStorageFormats "
    "createTime updateTime deployedModels explanationSpec etag labels dataStats encryptionSpec "
    "modelSourceInfo originalModelInfo metadataArtifact baseModelSource satisfiesPzs satisfiesPzi "
    "checkpoints"
)
_MODEL: dict[str, Field] = {name: _ANY for name in _MODEL_FIELDS.split()} | {
    "displayName": _STRING,
    "description": _STRING,
    "versionDescription": _STRING,
}
_GENERATE: dict[str, Field] = {
    "model": _STRING,
    "contents": Field("any", repeated=True),
    "systemInstruction": _ANY,
    "cachedContent": _STRING,
    "tools": Field("any", repeated=True),
    "toolConfig": _ANY,
    "labels": _ANY,
    "safetySettings": Field("any", repeated=True),
    "modelArmorConfig": _ANY,
    "generationConfig": _ANY,
}
_COMMON: dict[str, dict[str, Field]] = {
    "PreTunedModel": {"tunedModelName": _STRING, "checkpointId": _STRING, "baseModel": _STRING},
    "EncryptionSpec": {"kmsKeyName": _STRING},
    "Model": _MODEL,
    "UndeployModelRequest": {"endpoint": _STRING, "deployedModelId": _STRING, "trafficSplit": _ANY},
    "CancelTuningJobRequest": {"name": _STRING},
    "GenerateContentRequest": _GENERATE,
}

V1 = Schema(
    {
        **_COMMON,
        "TuningJob": _TUNING_JOB_V1,
        "SupervisedTuningSpec": _SPEC_V1,
        "SupervisedHyperParameters": _HYPER_V1,
    },
    ENUMS,
    "google.cloud.aiplatform.v1",
)
V1BETA1 = Schema(
    {
        **_COMMON,
        "TuningJob": _TUNING_JOB_V1 | _TUNING_JOB_V1BETA1_EXTRA,
        "SupervisedTuningSpec": _SPEC_V1 | {"tuningMode": Field("enum", "SupervisedTuningSpec.TuningMode")},
        "SupervisedHyperParameters": _HYPER_V1
        | {"learningRate": Field("double"), "batchSize": Field("int64")},
    },
    ENUMS,
    "google.cloud.aiplatform.v1beta1",
)


def schema(version: str) -> Schema:
    """The schema of ``/v1`` or ``/v1beta1``."""
    return V1 if version == "v1" else V1BETA1
