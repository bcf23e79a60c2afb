"""The Vertex AI backend's conversions, named by direction: :func:`job_to_api` builds the
``TuningJob`` to create from a model's desired inputs; :func:`live_from_job` reads a job (and the
model and endpoint it made) into :class:`~tuned_models.model.state.LiveModel`, with
:func:`state_of` and :func:`progress_of` for the job alone. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tuned_models.model.desired import ModelInputs
from tuned_models.model.state import Deployment, LiveModel, ModelState, Progress, iso_z
from tuned_models.vertex.labels import ID_LABEL, RESERVED_PREFIX
from tuned_models.vertex.types import AdapterSize, Endpoint, JobState, Model, TuningJob

__all__ = [
    "_RUNNING",
    "hyperparameters_to_api",
    "job_to_api",
    "live_from_job",
    "progress_of",
    "state_of",
    "user_labels",
]

#: The job states in which a job is still going (it may yet train, or be cancelled).
_RUNNING = frozenset(
    {
        JobState.JOB_STATE_QUEUED,
        JobState.JOB_STATE_PENDING,
        JobState.JOB_STATE_RUNNING,
        JobState.JOB_STATE_PAUSED,
        JobState.JOB_STATE_UPDATING,
        JobState.JOB_STATE_UNSPECIFIED,
    }
)


def hyperparameters_to_api(declared: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's hyperparameters as ``supervisedTuningSpec.hyperParameters`` (adapter size by name)."""
    out: dict[str, Any] = {}
    if declared.get("epochCount") is not None:
        out["epochCount"] = int(declared["epochCount"])
    if declared.get("learningRateMultiplier") is not None:
        out["learningRateMultiplier"] = float(declared["learningRateMultiplier"])
    if declared.get("adapterSize") is not None:
        out["adapterSize"] = AdapterSize.of_rank(int(declared["adapterSize"])).value
    return out


def job_to_api(
    inputs: ModelInputs, identity: Mapping[str, str], training_uri: str, validation_uri: str | None
) -> dict[str, Any]:
    """The ``TuningJob`` to create for ``inputs``, its datasets uploaded at the given URIs."""
    spec: dict[str, Any] = {"trainingDatasetUri": training_uri}
    if validation_uri is not None:
        spec["validationDatasetUri"] = validation_uri
    hyper = hyperparameters_to_api(inputs.hyperparameters.declared())
    if hyper:
        spec["hyperParameters"] = hyper
    body: dict[str, Any] = {"baseModel": inputs.baseModel, "supervisedTuningSpec": spec}
    if inputs.displayName is not None:
        body["tunedModelDisplayName"] = inputs.displayName
    if inputs.description is not None:
        body["description"] = inputs.description
    body["labels"] = {**(inputs.labels or {}), **identity}
    return body


def user_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels a user declared: everything but the product's own (``tuned_models_*``)."""
    return {k: v for k, v in labels.items() if not k.startswith(RESERVED_PREFIX)}


def state_of(job: TuningJob) -> ModelState:
    """The neutral state of a job alone (a succeeded one is ACTIVE if its products exist)."""
    if job.state in _RUNNING:
        return ModelState.CREATING
    if job.state is JobState.JOB_STATE_SUCCEEDED:
        return ModelState.ACTIVE
    return ModelState.FAILED


def progress_of(job: TuningJob) -> Progress:
    """Where the job's training is: steps when the service says (``tuningJobMetadata``), else
    its state (Vertex AI reports no step count while a job runs, only the total)."""
    stats = job.data_stats
    total = stats.tuningStepCount if stats else None
    epochs = (
        job.supervisedTuningSpec.hyperParameters.epochCount
        if job.supervisedTuningSpec and job.supervisedTuningSpec.hyperParameters
        else None
    )
    meta = job.tuningJobMetadata
    done = job.ended
    error = (
        job.error.message if job.error is not None and job.state is not JobState.JOB_STATE_SUCCEEDED else None
    )
    if done and job.state is JobState.JOB_STATE_SUCCEEDED:
        return Progress(100.0, total or 0, total, epochs or 0, epochs, None, True)
    if meta is not None and meta.completedStepCount is not None and total:
        step = meta.completedStepCount
        return Progress(
            100.0 * step / total, step, total, meta.completedEpochCount or 0, epochs, None, done, error
        )
    words = job.state.value.removeprefix("JOB_STATE_").lower()
    detail = f", {total} steps" + (f" over {epochs} epochs" if epochs else "") if total else ""
    return Progress(None, 0, total, 0, epochs, None, done, error, status=f"tuning job {words}{detail}")


def live_from_job(
    job: TuningJob, model: Model | None, endpoint: Endpoint | None, *, checked: bool
) -> LiveModel:
    """The neutral view of a job and what it produced.

    ``checked``: ``model`` and ``endpoint`` were read (None there means deleted); a succeeded
    job is then ACTIVE only when both exist and the endpoint serves a model.
    """
    state = state_of(job)
    problem = job.error.message if job.error is not None else None
    tuned = job.tunedModel
    if state is ModelState.ACTIVE and checked:
        if model is None:
            state, problem = ModelState.FAILED, f"its model {tuned.model if tuned else ''} was deleted"
        elif endpoint is None or not endpoint.deployedModels:
            where = tuned.endpoint if tuned else ""
            state, problem = ModelState.FAILED, f"its endpoint {where} was deleted or serves nothing"
    spec = job.supervisedTuningSpec
    hyper = spec.hyperParameters if spec else None
    hyperparameters = {
        "epochCount": hyper.epochCount if hyper else None,
        "learningRateMultiplier": hyper.learningRateMultiplier if hyper else None,
        "adapterSize": hyper.adapterSize.rank if hyper and hyper.adapterSize else None,
    }
    hyperparameters = {k: v for k, v in hyperparameters.items() if v is not None}
    # The job's copies are immutable: the model's displayName, description and labels are what
    # an update patches, so they are what the service shows once the model exists.
    mutable = {
        "displayName": model.displayName if model is not None else job.tunedModelDisplayName,
        "description": model.description if model is not None else job.description,
        "labels": user_labels(model.labels if model is not None else job.labels),
    }
    stats = job.data_stats
    model_id = job.labels.get(ID_LABEL) or job.id
    base = job.baseModel
    outputs: dict[str, Any] = {
        "tunedModelId": model_id,
        "name": job.name,
        "tuningJob": job.name,
        "state": state.value,
        "baseModel": base,
        "hyperparameters": hyperparameters or None,
        "model": tuned.model if tuned else None,
        "endpoint": tuned.endpoint if tuned else None,
        "checkpoints": [{k: v for k, v in c.model_dump().items() if v is not None} for c in tuned.checkpoints]
        if tuned and tuned.checkpoints
        else None,
        "trainingDatasetUri": spec.trainingDatasetUri if spec else None,
        "validationDatasetUri": spec.validationDatasetUri if spec else None,
        "tuningExampleCount": stats.tuningDatasetExampleCount if stats else None,
        "billableTokens": stats.totalBillableTokenCount if stats else None,
        "tuningSteps": stats.tuningStepCount if stats else None,
        "totalSteps": stats.tuningStepCount if stats and state is ModelState.ACTIVE else None,
        "createTime": iso_z(job.createTime),
        "updateTime": iso_z(job.updateTime),
        "tuningStartTime": iso_z(job.startTime),
        "tuningCompleteTime": iso_z(job.endTime),
        "error": problem if state is ModelState.FAILED else None,
        **mutable,
    }
    progress = progress_of(job)
    if state is ModelState.FAILED and progress.error is None and problem:
        progress = dataclasses.replace(progress, error=problem)
    return LiveModel(
        name=job.name,
        model_id=model_id,
        state=state,
        mutable=mutable,
        training={"baseModel": base, "hyperparameters": hyperparameters},
        outputs=outputs,
        progress=progress,
        create_time=job.createTime,
        source=base,
        deployment=Deployment(
            job.name,
            tuned.model if tuned and (model is not None or not checked) else None,
            tuned.endpoint if tuned and (endpoint is not None or not checked) else None,
        ),
    )
