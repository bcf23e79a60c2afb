"""Vertex AI records (tuning jobs, Model Registry models and versions, endpoints, operations) and
the tuning job's state machine.

A job is stored once, with the instants that decide its life: created, started (one step later),
one step per training step, and either the last step (SUCCEEDED), the failure step of a forced
failure (FAILED), or a cancellation (CANCELLING for one step, then CANCELLED). The state machine
is data (:data:`MACHINE`, the shared :class:`~tuned_models_emulator.machine.StateMachine`);
:func:`progress` replays it to any instant of the emulator's clock: nothing runs in the
background.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from tuned_models_emulator.errors import RpcCode
from tuned_models_emulator.machine import StateMachine, Transition
from tuned_models_emulator.records import StoredRecord
from tuned_models_emulator.training import DEFAULT_FAILURE_MESSAGE

CANCELLED_MESSAGE = "Tuning job was cancelled."


class JobState(StrEnum):
    """google.cloud.aiplatform.v1.JobState (the values a tuning job takes)."""

    PENDING = "JOB_STATE_PENDING"
    RUNNING = "JOB_STATE_RUNNING"
    SUCCEEDED = "JOB_STATE_SUCCEEDED"
    FAILED = "JOB_STATE_FAILED"
    CANCELLING = "JOB_STATE_CANCELLING"
    CANCELLED = "JOB_STATE_CANCELLED"


#: The tuning job's state machine: each transition fires at an instant the job's record decides
#: (see :meth:`JobRecord.instant`); a cancellation wins a tie.
MACHINE: StateMachine[JobState] = StateMachine(
    JobState.PENDING,
    {
        JobState.PENDING: (
            Transition("cancel", JobState.CANCELLING),
            Transition("started", JobState.RUNNING),
        ),
        JobState.RUNNING: (
            Transition("cancel", JobState.CANCELLING),
            Transition("failed", JobState.FAILED, RpcCode.INTERNAL),
            Transition("succeeded", JobState.SUCCEEDED),
        ),
        JobState.CANCELLING: (Transition("cancelled", JobState.CANCELLED, RpcCode.CANCELLED),),
    },
)
ENDED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint a job exports, and the endpoint it is deployed to."""

    checkpoint_id: str
    epoch: int
    step: int
    endpoint_id: str
    deployed_model_id: str


@dataclass(frozen=True, slots=True)
class JobRecord(StoredRecord):
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

    def instant(self, event: str) -> int | None:
        """When an event of :data:`MACHINE` happens to the job (None: never)."""
        run = self.start_ns + (self.fail_at_step or self.total_steps) * self.step_ns
        instants = {
            "started": self.start_ns,
            "cancel": self.cancel_ns,
            "cancelled": None if self.cancel_ns is None else self.cancel_ns + self.step_ns,
            "failed": run if self.fail_at_step is not None else None,
            "succeeded": run if self.fail_at_step is None else None,
        }
        return instants[event]

    @property
    def settle_ns(self) -> int:
        """The instant the job's outcome is final (what it produces exists from then on)."""
        if self.cancel_ns is not None:
            return self.cancel_ns + self.step_ns
        steps = self.fail_at_step if self.fail_at_step is not None else self.total_steps
        return self.start_ns + steps * self.step_ns


@dataclass(frozen=True, slots=True)
class Progress:
    """A job as of one instant (derived, never stored)."""

    state: JobState
    start_ns: int | None
    end_ns: int | None
    update_ns: int
    error: tuple[int, str] | None = None


def progress(job: JobRecord, now_ns: int) -> Progress:
    """Where ``job`` stands at ``now_ns``: :data:`MACHINE` replayed over the job's instants."""
    reached = MACHINE.run(job.instant, now_ns)
    started = job.start_ns <= now_ns and (job.cancel_ns is None or job.cancel_ns > job.start_ns)
    start = job.start_ns if started else None
    state = reached.state
    if state in ENDED:
        assert reached.since_ns is not None and reached.by is not None
        error = None
        if reached.by.outcome == RpcCode.CANCELLED:
            error = (RpcCode.CANCELLED, CANCELLED_MESSAGE)
        elif reached.by.outcome == RpcCode.INTERNAL:
            error = (RpcCode.INTERNAL, job.fail_message or DEFAULT_FAILURE_MESSAGE)
        return Progress(state, start, reached.since_ns, reached.since_ns, error)
    return Progress(state, start, None, reached.since_ns if reached.since_ns is not None else job.create_ns)


@dataclass(frozen=True, slots=True)
class RegistryRecord(StoredRecord):
    """What a Model Registry model and an endpoint share: a numeric id in a project (number) and
    location, a display name, a description, labels, times. ``COLLECTION`` names them."""

    COLLECTION: ClassVar[str] = ""

    id: str
    project: str
    location: str
    display_name: str
    description: str
    labels: Mapping[str, str]
    create_ns: int
    update_ns: int

    @property
    def name(self) -> str:
        """``projects/{number}/locations/{location}/{collection}/{id}``."""
        return f"projects/{self.project}/locations/{self.location}/{self.COLLECTION}/{self.id}"


@dataclass(frozen=True, slots=True)
class ModelRecord(RegistryRecord):
    """A Model Registry model (the fields shared by its versions)."""

    COLLECTION: ClassVar[str] = "models"

    next_version: int = 2


@dataclass(frozen=True, slots=True)
class VersionRecord(StoredRecord):
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


@dataclass(frozen=True, slots=True)
class DeployedModelRecord(StoredRecord):
    """A model version deployed to an endpoint."""

    id: str
    model_name: str
    version: int
    checkpoint_id: str | None
    display_name: str
    create_ns: int


@dataclass(frozen=True, slots=True)
class EndpointRecord(RegistryRecord):
    """An endpoint and what is deployed to it (``traffic``: deployed model id -> percent)."""

    COLLECTION: ClassVar[str] = "endpoints"

    deployed: tuple[DeployedModelRecord, ...] = ()
    traffic: Mapping[str, int] = field(default_factory=dict)


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
class OperationRecord(StoredRecord):
    """A long-running operation: done from ``done_ns`` on (its effect applied at creation)."""

    name: str
    kind: OperationKind
    create_ns: int
    done_ns: int
