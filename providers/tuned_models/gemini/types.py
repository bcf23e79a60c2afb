"""The API's responses as frozen pydantic models (from the API only; requests are plain dicts).

Field names are the API's own camelCase JSON names, so a model reads like the wire. Unknown
fields are ignored (the service adds fields over time; ``@type`` tags are dropped); missing
fields take the proto3 default or ``None``. Enums accept the names and, as GAPIC clients send
them, the numbers. ``readerProjectNumbers`` (int64, JSON strings) parse to ``int``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = [
    "Candidate",
    "Content",
    "GenerateContentResponse",
    "GranteeType",
    "Hyperparameters",
    "Model",
    "Operation",
    "OperationMetadata",
    "Part",
    "Permission",
    "Role",
    "Status",
    "TunedModel",
    "TunedModelSource",
    "TunedModelState",
    "TuningSnapshot",
    "TuningTask",
]

TUNED_MODELS_PREFIX = "tunedModels/"


class TunedModelState(StrEnum):
    """``TunedModel.state``: CREATING while tuning, then ACTIVE or FAILED."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


class GranteeType(StrEnum):
    """``Permission.granteeType``."""

    GRANTEE_TYPE_UNSPECIFIED = "GRANTEE_TYPE_UNSPECIFIED"
    USER = "USER"
    GROUP = "GROUP"
    EVERYONE = "EVERYONE"


class Role(StrEnum):
    """``Permission.role``; concentric: READER < WRITER < OWNER."""

    ROLE_UNSPECIFIED = "ROLE_UNSPECIFIED"
    OWNER = "OWNER"
    WRITER = "WRITER"
    READER = "READER"


#: Proto enum numbers, in declaration order, for the enums above.
_ENUM_NUMBERS: dict[type[StrEnum], list[str]] = {
    TunedModelState: ["STATE_UNSPECIFIED", "CREATING", "ACTIVE", "FAILED"],
    GranteeType: ["GRANTEE_TYPE_UNSPECIFIED", "USER", "GROUP", "EVERYONE"],
    Role: ["ROLE_UNSPECIFIED", "OWNER", "WRITER", "READER"],
}


def _enum_from_number(enum: type[StrEnum], value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        names = _ENUM_NUMBERS[enum]
        if 0 <= value < len(names):
            return names[value]
    return value


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TuningSnapshot(_ApiModel):
    """One training step's record: step, epoch, mean loss, when it was computed."""

    step: int = 0
    epoch: int = 0
    meanLoss: float | None = None
    computeTime: datetime | None = None


class Hyperparameters(_ApiModel):
    """The hyperparameters the service resolved (defaults filled in)."""

    epochCount: int | None = None
    batchSize: int | None = None
    learningRate: float | None = None
    learningRateMultiplier: float | None = None


class TuningTask(_ApiModel):
    """The tuning job of a model (``trainingData`` is input-only and never returned)."""

    startTime: datetime | None = None
    completeTime: datetime | None = None
    snapshots: list[TuningSnapshot] = []
    hyperparameters: Hyperparameters | None = None


class TunedModelSource(_ApiModel):
    """Continue-tuning source: the tuned model, and (output) the base model it came from."""

    tunedModel: str | None = None
    baseModel: str | None = None


class TunedModel(_ApiModel):
    """A tuned model as the service returns it."""

    name: str
    baseModel: str | None = None
    tunedModelSource: TunedModelSource | None = None
    displayName: str | None = None
    description: str | None = None
    temperature: float | None = None
    topP: float | None = None
    topK: int | None = None
    state: TunedModelState = TunedModelState.STATE_UNSPECIFIED
    createTime: datetime | None = None
    updateTime: datetime | None = None
    tuningTask: TuningTask | None = None
    readerProjectNumbers: list[int] = []

    @field_validator("state", mode="before")
    @classmethod
    def _state_number(cls, value: Any) -> Any:
        return _enum_from_number(TunedModelState, value)

    @property
    def id(self) -> str:
        """The id part of ``name`` (after ``tunedModels/``)."""
        return self.name.removeprefix(TUNED_MODELS_PREFIX)

    @property
    def source_base_model(self) -> str | None:
        """The foundation model behind this model, directly or through its source."""
        if self.baseModel:
            return self.baseModel
        return self.tunedModelSource.baseModel if self.tunedModelSource else None


class Status(_ApiModel):
    """``google.rpc.Status``: the error of a failed operation."""

    code: int = 0
    message: str = ""
    details: list[dict[str, Any]] = []


class OperationMetadata(_ApiModel):
    """``CreateTunedModelMetadata``: progress of a tuning operation."""

    tunedModel: str | None = None
    totalSteps: int | None = None
    completedSteps: int | None = None
    completedPercent: float | None = None
    snapshots: list[TuningSnapshot] = []


class Operation(_ApiModel):
    """A long-running tuning operation; ``done`` with ``response`` or ``error`` when finished."""

    name: str
    done: bool = False
    metadata: OperationMetadata | None = None
    response: TunedModel | None = None
    error: Status | None = None

    @property
    def tuned_model_name(self) -> str:
        """The tuned model this operation creates (``metadata.tunedModel``, else from ``name``)."""
        if self.metadata is not None and self.metadata.tunedModel:
            return self.metadata.tunedModel
        return self.name.partition("/operations/")[0]


class Permission(_ApiModel):
    """Who may use a tuned model, and how."""

    name: str
    granteeType: GranteeType | None = None
    emailAddress: str | None = None
    role: Role | None = None

    @field_validator("granteeType", mode="before")
    @classmethod
    def _grantee_number(cls, value: Any) -> Any:
        return _enum_from_number(GranteeType, value)

    @field_validator("role", mode="before")
    @classmethod
    def _role_number(cls, value: Any) -> Any:
        return _enum_from_number(Role, value)


class Model(_ApiModel):
    """A base model (``models/...``)."""

    name: str
    baseModelId: str | None = None
    version: str | None = None
    displayName: str | None = None
    description: str | None = None
    inputTokenLimit: int | None = None
    outputTokenLimit: int | None = None
    supportedGenerationMethods: list[str] = []
    temperature: float | None = None
    maxTemperature: float | None = None
    topP: float | None = None
    topK: int | None = None

    @property
    def tunable(self) -> bool:
        """Whether the service offers tuning on this model (``createTunedModel``)."""
        return "createTunedModel" in self.supportedGenerationMethods


class Part(_ApiModel):
    """One part of a content; only text is modelled."""

    text: str | None = None


class Content(_ApiModel):
    parts: list[Part] = []
    role: str | None = None


class Candidate(_ApiModel):
    content: Content | None = None
    finishReason: str | None = None
    index: int = 0
    safetyRatings: list[dict[str, Any]] = []


class GenerateContentResponse(_ApiModel):
    """The answer of ``generateContent``; :attr:`text` is the first candidate's text."""

    candidates: list[Candidate] = []
    promptFeedback: dict[str, Any] | None = None
    usageMetadata: dict[str, Any] | None = None
    modelVersion: str | None = None

    @property
    def text(self) -> str:
        """The first candidate's text parts joined; ``""`` when there is no candidate."""
        if not self.candidates or self.candidates[0].content is None:
            return ""
        return "".join(part.text or "" for part in self.candidates[0].content.parts)
