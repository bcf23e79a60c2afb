"""Vertex AI responses as frozen pydantic models (from the service only; requests are plain dicts).

As in :mod:`tuned_models.gemini.types`: field names are the wire's camelCase JSON names, unknown
fields are ignored, missing fields take the proto3 default or ``None``, and int64 fields (which
the service sends as JSON strings, ``"epochCount": "10"``) parse to ``int``. Enums accept names
and, as GAPIC clients send them, proto numbers; a name this client does not know yet (the service
adds states over time) reads as the ``..._UNSPECIFIED`` member instead of failing the call.
``google.rpc.Status`` and the ``generateContent`` response are the Gemini client's own models.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from tuned_models.gemini.types import GenerateContentResponse, Status

__all__ = [
    "ADOPTABLE_STATES",
    "TERMINAL_STATES",
    "AdapterSize",
    "DeployedModel",
    "DeployedModelRef",
    "Endpoint",
    "GenerateContentResponse",
    "JobState",
    "Model",
    "ModelCheckpoint",
    "Operation",
    "PreTunedModel",
    "Status",
    "SupervisedHyperParameters",
    "SupervisedTuningDataStats",
    "SupervisedTuningSpec",
    "TunedModel",
    "TunedModelCheckpoint",
    "TuningDataStats",
    "TuningJob",
    "TuningJobMetadata",
]


class JobState(StrEnum):
    """``TuningJob.state`` (``google.cloud.aiplatform.v1.JobState``), in proto number order."""

    JOB_STATE_UNSPECIFIED = "JOB_STATE_UNSPECIFIED"
    JOB_STATE_QUEUED = "JOB_STATE_QUEUED"
    JOB_STATE_PENDING = "JOB_STATE_PENDING"
    JOB_STATE_RUNNING = "JOB_STATE_RUNNING"
    JOB_STATE_SUCCEEDED = "JOB_STATE_SUCCEEDED"
    JOB_STATE_FAILED = "JOB_STATE_FAILED"
    JOB_STATE_CANCELLING = "JOB_STATE_CANCELLING"
    JOB_STATE_CANCELLED = "JOB_STATE_CANCELLED"
    JOB_STATE_PAUSED = "JOB_STATE_PAUSED"
    JOB_STATE_EXPIRED = "JOB_STATE_EXPIRED"
    JOB_STATE_UPDATING = "JOB_STATE_UPDATING"
    JOB_STATE_PARTIALLY_SUCCEEDED = "JOB_STATE_PARTIALLY_SUCCEEDED"


#: States after which a job never changes again (the job's ``endTime`` is set).
TERMINAL_STATES: frozenset[JobState] = frozenset(
    {
        JobState.JOB_STATE_SUCCEEDED,
        JobState.JOB_STATE_FAILED,
        JobState.JOB_STATE_CANCELLED,
        JobState.JOB_STATE_EXPIRED,
    }
)
#: States of a job worth adopting instead of submitting a new one: it is training or it succeeded.
#: A job that failed, expired or is being cancelled will never produce a model.
ADOPTABLE_STATES: frozenset[JobState] = frozenset(
    {
        JobState.JOB_STATE_QUEUED,
        JobState.JOB_STATE_PENDING,
        JobState.JOB_STATE_RUNNING,
        JobState.JOB_STATE_PAUSED,
        JobState.JOB_STATE_UPDATING,
        JobState.JOB_STATE_SUCCEEDED,
    }
)


class AdapterSize(StrEnum):
    """``SupervisedHyperParameters.adapterSize``; :attr:`rank` is the size as a number."""

    ADAPTER_SIZE_UNSPECIFIED = "ADAPTER_SIZE_UNSPECIFIED"
    ADAPTER_SIZE_ONE = "ADAPTER_SIZE_ONE"
    ADAPTER_SIZE_TWO = "ADAPTER_SIZE_TWO"
    ADAPTER_SIZE_FOUR = "ADAPTER_SIZE_FOUR"
    ADAPTER_SIZE_EIGHT = "ADAPTER_SIZE_EIGHT"
    ADAPTER_SIZE_SIXTEEN = "ADAPTER_SIZE_SIXTEEN"
    ADAPTER_SIZE_THIRTY_TWO = "ADAPTER_SIZE_THIRTY_TWO"

    @property
    def rank(self) -> int | None:
        """1, 2, 4, 8, 16 or 32; ``None`` for UNSPECIFIED."""
        return _ADAPTER_RANKS.get(self)

    @classmethod
    def of_rank(cls, rank: int) -> AdapterSize:
        """The member for a size given as a number (``8`` -> ``ADAPTER_SIZE_EIGHT``).

        Raises:
            ValueError: not one of 1, 2, 4, 8, 16, 32.
        """
        for member, value in _ADAPTER_RANKS.items():
            if value == rank and not isinstance(rank, bool):
                return member
        raise ValueError(f"adapter size must be one of 1, 2, 4, 8, 16, 32, got {rank!r}")


_ADAPTER_RANKS: dict[AdapterSize, int] = {
    AdapterSize.ADAPTER_SIZE_ONE: 1,
    AdapterSize.ADAPTER_SIZE_TWO: 2,
    AdapterSize.ADAPTER_SIZE_FOUR: 4,
    AdapterSize.ADAPTER_SIZE_EIGHT: 8,
    AdapterSize.ADAPTER_SIZE_SIXTEEN: 16,
    AdapterSize.ADAPTER_SIZE_THIRTY_TWO: 32,
}

#: Proto numbers of the enums above. AdapterSize's numbers are not in size order (TWO was added
#: last, as 6).
_ENUM_NUMBERS: dict[type[StrEnum], dict[int, str]] = {
    JobState: dict(enumerate(JobState.__members__)),
    AdapterSize: {
        0: "ADAPTER_SIZE_UNSPECIFIED",
        1: "ADAPTER_SIZE_ONE",
        6: "ADAPTER_SIZE_TWO",
        2: "ADAPTER_SIZE_FOUR",
        3: "ADAPTER_SIZE_EIGHT",
        4: "ADAPTER_SIZE_SIXTEEN",
        5: "ADAPTER_SIZE_THIRTY_TWO",
    },
}


def _enum_value(enum: type[StrEnum], value: Any) -> Any:
    """A name or proto number -> the member's name; an unknown one -> the UNSPECIFIED member."""
    if value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = _ENUM_NUMBERS[enum].get(value, "")
    if isinstance(value, str) and value in enum.__members__:
        return value
    return next(iter(enum.__members__))


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SupervisedHyperParameters(_ApiModel):
    """Hyperparameters of a supervised tuning job (as submitted; unset ones are the service's)."""

    epochCount: int | None = None
    learningRateMultiplier: float | None = None
    adapterSize: AdapterSize | None = None

    @field_validator("adapterSize", mode="before")
    @classmethod
    def _adapter_size(cls, value: Any) -> Any:
        return _enum_value(AdapterSize, value)


class SupervisedTuningSpec(_ApiModel):
    """What a supervised job trains on: ``gs://`` URIs of JSONL files, and hyperparameters."""

    trainingDatasetUri: str | None = None
    validationDatasetUri: str | None = None
    hyperParameters: SupervisedHyperParameters | None = None
    exportLastCheckpointOnly: bool = False


class PreTunedModel(_ApiModel):
    """The source of a continuous-tuning job: a tuned model (``...models/M[@version]``)."""

    tunedModelName: str | None = None
    checkpointId: str | None = None
    baseModel: str | None = None


class TunedModelCheckpoint(_ApiModel):
    """One checkpoint of a tuned model, with the endpoint it is deployed to."""

    checkpointId: str | None = None
    epoch: int | None = None
    step: int | None = None
    endpoint: str | None = None


class TunedModel(_ApiModel):
    """What a job produced: the Model Registry version (``...models/M@1``) and its endpoints.

    ``endpoint`` serves the default checkpoint; it is empty while tuning and when deploying
    failed (a FAILED job can still leave a model behind).
    """

    model: str | None = None
    endpoint: str | None = None
    checkpoints: list[TunedModelCheckpoint] = []

    @property
    def endpoints(self) -> list[str]:
        """Every endpoint this job deployed to, the default first, without repeats."""
        names = [self.endpoint, *(c.endpoint for c in self.checkpoints)]
        return list(dict.fromkeys(n for n in names if n))


class SupervisedTuningDataStats(_ApiModel):
    """Statistics of the training data, computed by the service once the job runs."""

    tuningDatasetExampleCount: int | None = None
    totalTuningCharacterCount: int | None = None
    totalBillableTokenCount: int | None = None
    tuningStepCount: int | None = None
    totalTruncatedExampleCount: int | None = None
    truncatedExampleIndices: list[int] = []
    droppedExampleReasons: list[str] = []


class TuningJobMetadata(_ApiModel):
    """``tuningJobMetadata``: how far a running job got (the service shows it while it runs; not
    in the public protos yet)."""

    completedEpochCount: int | None = None
    completedStepCount: int | None = None


class TuningDataStats(_ApiModel):
    supervisedTuningDataStats: SupervisedTuningDataStats | None = None


class TuningJob(_ApiModel):
    """A tuning job as the service returns it (create returns the job itself, not an operation)."""

    name: str
    baseModel: str | None = None
    preTunedModel: PreTunedModel | None = None
    supervisedTuningSpec: SupervisedTuningSpec | None = None
    tunedModelDisplayName: str | None = None
    description: str | None = None
    state: JobState = JobState.JOB_STATE_UNSPECIFIED
    createTime: datetime | None = None
    startTime: datetime | None = None
    endTime: datetime | None = None
    updateTime: datetime | None = None
    error: Status | None = None
    labels: dict[str, str] = {}
    experiment: str | None = None
    tunedModel: TunedModel | None = None
    tuningDataStats: TuningDataStats | None = None
    tuningJobMetadata: TuningJobMetadata | None = None
    serviceAccount: str | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> Any:
        return _enum_value(JobState, value)

    @property
    def id(self) -> str:
        """The last segment of ``name``."""
        return self.name.rsplit("/", 1)[-1]

    @property
    def ended(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.state in TERMINAL_STATES

    @property
    def data_stats(self) -> SupervisedTuningDataStats | None:
        """``tuningDataStats.supervisedTuningDataStats``, when the service computed it."""
        return self.tuningDataStats.supervisedTuningDataStats if self.tuningDataStats else None


class ModelCheckpoint(_ApiModel):
    """``Model.checkpoints[]``: a checkpoint of a model version."""

    checkpointId: str | None = None
    epoch: int | None = None
    step: int | None = None


class DeployedModelRef(_ApiModel):
    """``Model.deployedModels[]``: where a model version is deployed."""

    endpoint: str | None = None
    deployedModelId: str | None = None
    checkpointId: str | None = None


class Model(_ApiModel):
    """A Model Registry model; ``GET .../models/M`` returns its default version."""

    name: str
    versionId: str | None = None
    versionAliases: list[str] = []
    displayName: str | None = None
    description: str | None = None
    versionDescription: str | None = None
    labels: dict[str, str] = {}
    createTime: datetime | None = None
    updateTime: datetime | None = None
    deployedModels: list[DeployedModelRef] = []
    defaultCheckpointId: str | None = None
    checkpoints: list[ModelCheckpoint] = []
    etag: str | None = None

    @property
    def id(self) -> str:
        """The model id (the last segment of ``name``, without ``@version``)."""
        return self.name.rsplit("/", 1)[-1].partition("@")[0]


class DeployedModel(_ApiModel):
    """``Endpoint.deployedModels[]``: one model (version, checkpoint) served by the endpoint."""

    id: str
    model: str | None = None
    modelVersionId: str | None = None
    displayName: str | None = None
    checkpointId: str | None = None
    createTime: datetime | None = None


class Endpoint(_ApiModel):
    """An endpoint; tuned models are served from Google's shared public endpoints."""

    name: str
    displayName: str | None = None
    description: str | None = None
    deployedModels: list[DeployedModel] = []
    trafficSplit: dict[str, int] = {}
    labels: dict[str, str] = {}
    createTime: datetime | None = None
    updateTime: datetime | None = None
    etag: str | None = None

    @property
    def id(self) -> str:
        """The last segment of ``name``."""
        return self.name.rsplit("/", 1)[-1]


class Operation(_ApiModel):
    """A long-running operation (deletes, undeploys); ``done`` with ``response`` or ``error``.

    ``metadata`` and ``response`` are kept as the service sent them (``@type``-tagged dicts).
    """

    name: str
    done: bool = False
    metadata: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    error: Status | None = None
