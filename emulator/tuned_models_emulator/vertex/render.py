"""Vertex AI resources as the API returns them: proto3 JSON (camelCase, unset fields omitted,
int64 as strings, enums by name, Timestamps with 0/3/6/9 fractional digits, whole doubles without
a fraction)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tuned_models_emulator.vertex.records import (
    EndpointRecord,
    JobRecord,
    JobState,
    ModelRecord,
    OperationKind,
    OperationRecord,
    Progress,
    VersionRecord,
)
from tuned_models_emulator.vertex.schema import ENUMS
from tuned_models_emulator.wire import format_timestamp

#: Enum numbers for ``$alt=json;enum-encoding=int``.
_JOB_STATES = {name: number for number, name in enumerate(ENUMS["JobState"])}
_ADAPTER_SIZES = {name: number for number, name in enumerate(ENUMS["SupervisedHyperParameters.AdapterSize"])}
MODEL_SOURCE_GENIE = ("GENIE", 5)
FINISH_STOP = ("STOP", 1)


def enum(name_and_number: tuple[str, int], enum_int: bool) -> str | int:
    """An enum value by name, or by number when the client asked for numbers."""
    return name_and_number[1] if enum_int else name_and_number[0]


def double(value: float) -> int | float:
    """A double as proto3 JSON prints it: ``1`` rather than ``1.0``."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def experiment_name(job: JobRecord) -> str:
    """The Vertex AI Experiments context a job logs to (named after its creation instant)."""
    moment = datetime.fromtimestamp(job.create_ns / 1e9, tz=UTC)
    return (
        f"projects/{job.project}/locations/{job.location}/metadataStores/default/contexts/"
        f"tuning-experiment-{moment:%Y%m%d%H%M%S}{moment.microsecond:06d}"
    )


def render_job(job: JobRecord, prog: Progress, *, enum_int: bool = False) -> dict[str, Any]:
    """The TuningJob resource at one instant (enums as numbers with ``enum_int``)."""
    out: dict[str, Any] = {"name": job.name, "tunedModelDisplayName": job.display_name}
    if job.description:
        out["description"] = job.description
    if job.pre_tuned is not None:
        pre = {k: v for k, v in job.pre_tuned.items() if v}
        out["preTunedModel"] = {**pre, "baseModel": job.base_model}
    else:
        out["baseModel"] = job.base_model
    spec: dict[str, Any] = {"trainingDatasetUri": job.training_uri}
    if job.validation_uri:
        spec["validationDatasetUri"] = job.validation_uri
    spec["hyperParameters"] = {
        "epochCount": str(job.epoch_count),
        "learningRateMultiplier": double(job.learning_rate_multiplier),
        "adapterSize": _ADAPTER_SIZES[job.adapter_size] if enum_int else job.adapter_size,
    }
    if job.export_last_only:
        spec["exportLastCheckpointOnly"] = True
    if job.evaluation_config is not None:
        spec["evaluationConfig"] = job.evaluation_config
    out["supervisedTuningSpec"] = spec
    out["state"] = _JOB_STATES[prog.state] if enum_int else str(prog.state)
    out["createTime"] = format_timestamp(job.create_ns)
    if prog.start_ns is not None:
        out["startTime"] = format_timestamp(prog.start_ns)
    if prog.end_ns is not None:
        out["endTime"] = format_timestamp(prog.end_ns)
    out["updateTime"] = format_timestamp(prog.update_ns)
    if prog.error is not None:
        out["error"] = {"code": prog.error[0], "message": prog.error[1]}
    if job.labels:
        out["labels"] = dict(job.labels)
    if prog.start_ns is not None:
        out["experiment"] = experiment_name(job)
    if prog.state is JobState.SUCCEEDED:
        tuned: dict[str, Any] = {
            "model": f"{job.model_name}@{job.model_version}",
            "endpoint": job.endpoint_name(job.checkpoints[-1].endpoint_id),
        }
        if not job.export_last_only:
            tuned["checkpoints"] = [
                {
                    "checkpointId": c.checkpoint_id,
                    "epoch": str(c.epoch),
                    "step": str(c.step),
                    "endpoint": job.endpoint_name(c.endpoint_id),
                }
                for c in job.checkpoints
            ]
        out["tunedModel"] = tuned
    if prog.start_ns is not None:
        out["tuningDataStats"] = dict(job.stats)
    if job.encryption_spec:
        out["encryptionSpec"] = dict(job.encryption_spec)
    if job.service_account:
        out["serviceAccount"] = job.service_account
    return out


def render_model(
    model: ModelRecord,
    version: VersionRecord,
    deployed: Iterable[tuple[EndpointRecord, str]],
    *,
    enum_int: bool = False,
) -> dict[str, Any]:
    """The Model resource of one version; ``deployed`` = (endpoint, deployed model id) for every
    deployment of this version. Labels are the model's merged with the version's."""
    out: dict[str, Any] = {
        "name": model.name,
        "versionId": str(version.version),
    }
    if version.aliases:
        out["versionAliases"] = list(version.aliases)
    out["versionCreateTime"] = format_timestamp(version.create_ns)
    out["versionUpdateTime"] = format_timestamp(version.update_ns)
    out["displayName"] = model.display_name
    if model.description:
        out["description"] = model.description
    if version.version_description:
        out["versionDescription"] = version.version_description
    if version.default_checkpoint_id:
        out["defaultCheckpointId"] = version.default_checkpoint_id
    out["createTime"] = format_timestamp(model.create_ns)
    out["updateTime"] = format_timestamp(max(model.update_ns, version.update_ns))
    refs = [{"endpoint": endpoint.name, "deployedModelId": deployed_id} for endpoint, deployed_id in deployed]
    if refs:
        out["deployedModels"] = refs
    labels = {**model.labels, **version.labels}
    if labels:
        out["labels"] = labels
    out["modelSourceInfo"] = {"sourceType": enum(MODEL_SOURCE_GENIE, enum_int)}
    if version.checkpoints:
        out["checkpoints"] = [
            {"checkpointId": cp, "epoch": str(epoch), "step": str(step)}
            for cp, epoch, step in version.checkpoints
        ]
    return out


def render_endpoint(endpoint: EndpointRecord) -> dict[str, Any]:
    """The Endpoint resource."""
    out: dict[str, Any] = {"name": endpoint.name, "displayName": endpoint.display_name}
    if endpoint.description:
        out["description"] = endpoint.description
    if endpoint.deployed:
        out["deployedModels"] = [
            {
                "id": d.id,
                "model": d.model_name,
                "modelVersionId": str(d.version),
                "displayName": d.display_name,
                "createTime": format_timestamp(d.create_ns),
                **({"checkpointId": d.checkpoint_id} if d.checkpoint_id else {}),
            }
            for d in endpoint.deployed
        ]
    if endpoint.traffic:
        out["trafficSplit"] = dict(endpoint.traffic)
    if endpoint.labels:
        out["labels"] = dict(endpoint.labels)
    out["createTime"] = format_timestamp(endpoint.create_ns)
    out["updateTime"] = format_timestamp(endpoint.update_ns)
    return out


def render_operation(op: OperationRecord, version: str, now_ns: int) -> dict[str, Any]:
    """The google.longrunning.Operation (``@type`` URLs in the request's API version)."""
    done = now_ns >= op.done_ns
    package = f"google.cloud.aiplatform.{version}"
    out: dict[str, Any] = {
        "name": op.name,
        "metadata": {
            "@type": f"type.googleapis.com/{package}.{op.kind}",
            "genericMetadata": {
                "createTime": format_timestamp(op.create_ns),
                "updateTime": format_timestamp(op.done_ns if done else op.create_ns),
            },
        },
    }
    if done:
        out["done"] = True
        response_type = op.kind.response_type.format(v=version)
        out["response"] = {"@type": f"type.googleapis.com/{response_type}"}
    return out


__all__ = [
    "FINISH_STOP",
    "MODEL_SOURCE_GENIE",
    "OperationKind",
    "double",
    "enum",
    "experiment_name",
    "render_endpoint",
    "render_job",
    "render_model",
    "render_operation",
]
