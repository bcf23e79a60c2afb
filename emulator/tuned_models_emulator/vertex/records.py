"""Vertex AI records (tuning jobs, Model Registry models and versions, endpoints, operations) and
the tuning job's state machine.

A job is stored once, with the instants that decide its life: created, started (one step later),
one step per training step, and either the last step (SUCCEEDED), the failure step of a forced
failure (FAILED), or a cancellation (CANCELLING for one step, then CANCELLED). :func:`progress`
computes the state at any instant of the emulator's clock: nothing runs in the background.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from tuned_models_emulator.backend import DEFAULT_FAILURE_MESSAGE


class JobState(StrEnum):
    """google.cloud.aiplatform.v1.JobState (the values a tuning job takes)."""

    PENDING = "JOB_STATE_PENDING"
    RUNNING = "JOB_STATE_RUNNING"
    SUCCEEDED = "JOB_STATE_SUCCEEDED"
    FAILED = "JOB_STATE_FAILED"
    CANCELLING = "JOB_STATE_CANCELLING"
    CANCELLED = "JOB_STATE_CANCELLED"


#: The tuning job's state machine.
TRANSITIONS: dict[JobState, tuple[JobState, ...]] = {
    JobState.PENDING: (JobState.RUNNING, JobState.CANCELLING),
    JobState.RUNNING: (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLING),
    JobState.CANCELLING: (JobState.CANCELLED,),
    JobState.SUCCEEDED: (),
    JobState.FAILED: (),
    JobState.CANCELLED: (),
}
ENDED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})

CANCELLED_MESSAGE = "Tuning job was cancelled."
#: google.rpc.Code numbers used in TuningJob.error.
CODE_CANCELLED = 1
CODE_INTERNAL = 13


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint a job exports, and the endpoint it is deployed to."""

    checkpoint_id: str
    epoch: int
    step: int
    endpoint_id: str
    deployed_model_id: str


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A stored tuning job. Times are nanoseconds on the emulator's clock (microsecond precision).

    ``project`` is the project number; ``model_id``/``model_version`` and the checkpoints'
    endpoint ids are chosen at creation and come to exist when the job succeeds.
    """

    id: str
    project: str
    location: str
    create_ns: int
    start_ns: int
    step_ns: int
    total_steps: int
    base_model: str
    display_name: str
    description: str
    labels: Mapping[str, str]
    training_uri: str
    validation_uri: str | None
    epoch_count: int
    learning_rate_multiplier: float
    adapter_size: str
    export_last_only: bool
    model_id: str
    model_version: int
    new_model: bool
    endpoint_location: str
    checkpoints: tuple[Checkpoint, ...]
    stats: Mapping[str, Any]
    pre_tuned: Mapping[str, str] | None = None
    encryption_spec: Mapping[str, str] | None = None
    service_account: str | None = None
    evaluation_config: Any = None
    fail_at_step: int | None = None
    fail_message: str | None = None
    cancel_ns: int | None = None

    @property
    def name(self) -> str:
        """``projects/{number}/locations/{location}/tuningJobs/{id}``."""
        return f"projects/{self.project}/locations/{self.location}/tuningJobs/{self.id}"

    @property
    def model_name(self) -> str:
        """The Model Registry model the job produces (without version)."""
        return f"projects/{self.project}/locations/{self.location}/models/{self.model_id}"

    def endpoint_name(self, endpoint_id: str) -> str:
        """An endpoint the job produces."""
        return f"projects/{self.project}/locations/{self.endpoint_location}/endpoints/{endpoint_id}"

    @property
    def settle_ns(self) -> int:
        """The instant the job's outcome is final (what it produces exists from then on)."""
        if self.cancel_ns is not None:
            return self.cancel_ns + self.step_ns
        steps = self.fail_at_step if self.fail_at_step is not None else self.total_steps
        return self.start_ns + steps * self.step_ns

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRecord:
        """The inverse of :meth:`to_dict`."""
        values = dict(data)
        values["checkpoints"] = tuple(Checkpoint(**c) for c in values["checkpoints"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Progress:
    """A job as of one instant (derived, never stored)."""

    state: JobState
    start_ns: int | None
    end_ns: int | None
    update_ns: int
    error: tuple[int, str] | None = None


def progress(job: JobRecord, now_ns: int) -> Progress:
    """Where ``job`` stands at ``now_ns`` (see the module docstring)."""
    if job.cancel_ns is not None:
        started = job.start_ns if job.cancel_ns >= job.start_ns else None
        done_at = job.cancel_ns + job.step_ns
        if now_ns < done_at:
            return Progress(JobState.CANCELLING, started, None, job.cancel_ns)
        return Progress(JobState.CANCELLED, started, done_at, done_at, (CODE_CANCELLED, CANCELLED_MESSAGE))
    if now_ns < job.start_ns:
        return Progress(JobState.PENDING, None, None, job.create_ns)
    done = (now_ns - job.start_ns) // job.step_ns
    if job.fail_at_step is not None and done >= job.fail_at_step:
        end = job.start_ns + job.fail_at_step * job.step_ns
        message = job.fail_message or DEFAULT_FAILURE_MESSAGE
        return Progress(JobState.FAILED, job.start_ns, end, end, (CODE_INTERNAL, message))
    if done >= job.total_steps:
        end = job.start_ns + job.total_steps * job.step_ns
        return Progress(JobState.SUCCEEDED, job.start_ns, end, end)
    return Progress(JobState.RUNNING, job.start_ns, None, job.start_ns)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A Model Registry model (the fields shared by its versions)."""

    id: str
    project: str
    location: str
    display_name: str
    description: str
    labels: Mapping[str, str]
    create_ns: int
    update_ns: int
    next_version: int = 2

    @property
    def name(self) -> str:
        """``projects/{number}/locations/{location}/models/{id}``."""
        return f"projects/{self.project}/locations/{self.location}/models/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelRecord:
        """The inverse of :meth:`to_dict`."""
        return cls(**dict(data))


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version of a model: what a tuning job produced."""

    model_id: str
    version: int
    job_id: str
    base_model: str
    create_ns: int
    update_ns: int
    aliases: tuple[str, ...] = ()
    checkpoints: tuple[tuple[str, int, int], ...] = ()
    default_checkpoint_id: str | None = None
    version_description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionRecord:
        """The inverse of :meth:`to_dict`."""
        values = dict(data)
        values["aliases"] = tuple(values["aliases"])
        values["checkpoints"] = tuple(tuple(c) for c in values["checkpoints"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class DeployedModelRecord:
    """A model version deployed to an endpoint."""

    id: str
    model_name: str
    version: int
    checkpoint_id: str | None
    display_name: str
    create_ns: int


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    """An endpoint and what is deployed to it (``traffic``: deployed model id -> percent)."""

    id: str
    project: str
    location: str
    display_name: str
    description: str
    labels: Mapping[str, str]
    create_ns: int
    update_ns: int
    deployed: tuple[DeployedModelRecord, ...] = ()
    traffic: Mapping[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``projects/{number}/locations/{location}/endpoints/{id}``."""
        return f"projects/{self.project}/locations/{self.location}/endpoints/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointRecord:
        """The inverse of :meth:`to_dict`."""
        values = dict(data)
        values["deployed"] = tuple(DeployedModelRecord(**d) for d in values["deployed"])
        return cls(**values)


class OperationKind(StrEnum):
    """What a long-running operation does: its metadata and response message names."""

    DELETE = "DeleteOperationMetadata"
    UNDEPLOY = "UndeployModelOperationMetadata"

    @property
    def response_type(self) -> str:
        """The fully qualified response message (``{v}`` = the API version)."""
        if self is OperationKind.UNDEPLOY:
            return "google.cloud.aiplatform.{v}.UndeployModelResponse"
        return "google.protobuf.Empty"


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """A long-running operation: done from ``done_ns`` on (its effect applied at creation)."""

    name: str
    kind: OperationKind
    create_ns: int
    done_ns: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return {
            "name": self.name,
            "kind": str(self.kind),
            "create_ns": self.create_ns,
            "done_ns": self.done_ns,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationRecord:
        """The inverse of :meth:`to_dict`."""
        return cls(
            str(data["name"]), OperationKind(data["kind"]), int(data["create_ns"]), int(data["done_ns"])
        )
