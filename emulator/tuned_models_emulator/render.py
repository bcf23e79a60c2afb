"""The JSON the API returns for each record (proto3 JSON as the real service prints it).

camelCase keys, unset fields omitted (``epoch: 0``, empty ``snapshots``, ``done: false`` never
appear), int64 as strings, timestamps RFC 3339, floats at float32 precision, enums by name (or by
number when the request asked for ``$alt=json;enum-encoding=int``). ``trainingData`` is never
returned.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tuned_models_emulator.records import BaseModel, GranteeType, PermissionRecord, TunedModelRecord
from tuned_models_emulator.training import (
    Progress,
    compute_ns,
    epoch_at,
    mean_loss,
    snapshot_steps,
)
from tuned_models_emulator.wire import ENUMS, float32, format_timestamp

API_TYPE = "type.googleapis.com/google.ai.generativelanguage"


def type_version(version: str) -> str:
    """The proto package of @type URLs: v1beta3 under /v1beta3, else v1beta (also under /v1)."""
    return "v1beta3" if version == "v1beta3" else "v1beta"


def _enum(enum: str, value: str, enum_int: bool) -> str | int:
    return ENUMS[enum].index(value) if enum_int else value


def _us(ns: int) -> int:
    return ns - ns % 1_000


def render_base_model(model: BaseModel) -> dict[str, Any]:
    """The Model resource of a foundation model."""
    out: dict[str, Any] = {
        "name": f"models/{model.id}",
        "version": model.version,
        "displayName": model.display_name,
        "description": model.description,
        "inputTokenLimit": model.input_token_limit,
        "outputTokenLimit": model.output_token_limit,
        "supportedGenerationMethods": list(model.methods),
        "temperature": float32(model.temperature),
        "topP": float32(model.top_p),
        "topK": model.top_k,
    }
    if model.max_temperature is not None:
        out["maxTemperature"] = float32(model.max_temperature)
    return out


def render_hyperparameters(model: TunedModelRecord) -> dict[str, Any]:
    """epochCount, batchSize and the learning-rate option as requested (a proto oneof): the
    resolved ``learningRate``, or ``learningRateMultiplier`` when the request gave one."""
    out: dict[str, Any] = {"epochCount": model.epoch_count, "batchSize": model.batch_size}
    if model.learning_rate_multiplier is not None:
        out["learningRateMultiplier"] = float32(model.learning_rate_multiplier)
    else:
        out["learningRate"] = float32(model.learning_rate)
    return out


def render_snapshots(model: TunedModelRecord, completed: int) -> list[dict[str, Any]]:
    """The TuningSnapshots once ``completed`` steps are done (``epoch`` omitted when 0).

    The returned dicts are shared between calls (cached): treat them as read-only.
    """
    return list(_snapshots(model, completed)) if completed > 0 else []


@lru_cache(maxsize=64)
def _snapshots(model: TunedModelRecord, completed: int) -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for step in snapshot_steps(completed):
        snap: dict[str, Any] = {"step": step}
        epoch = epoch_at(model, step)
        if epoch:
            snap["epoch"] = epoch
        snap["meanLoss"] = float32(mean_loss(model, step))
        snap["computeTime"] = format_timestamp(compute_ns(model, step))
        out.append(snap)
    return tuple(out)


def render_tuned_model(model: TunedModelRecord, prog: Progress, *, enum_int: bool = False) -> dict[str, Any]:
    """The TunedModel resource."""
    out: dict[str, Any] = {"name": model.name}
    if model.source_tuned_model:
        out["tunedModelSource"] = {
            "tunedModel": model.source_tuned_model,
            "baseModel": model.base_model,
        }
    else:
        out["baseModel"] = model.base_model
    if model.display_name:
        out["displayName"] = model.display_name
    if model.description:
        out["description"] = model.description
    out["state"] = _enum("TunedModel.State", prog.state, enum_int)
    out["createTime"] = format_timestamp(model.create_ns)
    update_ns = model.update_ns
    task: dict[str, Any] = {"startTime": format_timestamp(model.start_ns)}
    if prog.end_ns is not None:
        end = _us(prog.end_ns)
        update_ns = max(update_ns, end)
        task["completeTime"] = format_timestamp(end)
    out["updateTime"] = format_timestamp(update_ns)
    snapshots = render_snapshots(model, prog.completed_steps)
    if snapshots:
        task["snapshots"] = snapshots
    task["hyperparameters"] = render_hyperparameters(model)
    out["tuningTask"] = task
    if model.temperature is not None:
        out["temperature"] = float32(model.temperature)
    if model.top_p is not None:
        out["topP"] = float32(model.top_p)
    if model.top_k is not None:
        out["topK"] = model.top_k
    if model.reader_project_numbers and model.api_version != "v1beta3":
        out["readerProjectNumbers"] = [str(n) for n in model.reader_project_numbers]
    return out


def render_metadata(model: TunedModelRecord, prog: Progress | None, version: str) -> dict[str, Any]:
    """CreateTunedModelMetadata: totalSteps, then progress once a step completed."""
    meta: dict[str, Any] = {
        "@type": f"{API_TYPE}.{type_version(version)}.CreateTunedModelMetadata",
        "totalSteps": model.total_steps,
    }
    if prog is not None and prog.completed_steps:
        meta["completedSteps"] = prog.completed_steps
        meta["completedPercent"] = float32(prog.completed_steps / model.total_steps * 100.0)
        meta["snapshots"] = render_snapshots(model, prog.completed_steps)
    meta["tunedModel"] = model.name
    return meta


def render_created(model: TunedModelRecord, version: str) -> dict[str, Any]:
    """The Operation CreateTunedModel answers: only ``name`` and ``metadata``."""
    return {"name": model.operation_name, "metadata": render_metadata(model, None, version)}


def render_operation(
    model: TunedModelRecord, prog: Progress, version: str, *, enum_int: bool = False
) -> dict[str, Any]:
    """The long-running Operation of a tuned model's training: progress, then done with the
    TunedModel (``response``) or a google.rpc.Status (``error``)."""
    op: dict[str, Any] = {"name": model.operation_name, "metadata": render_metadata(model, prog, version)}
    if prog.end_ns is not None:
        op["done"] = True
        if prog.error_code is not None:
            op["error"] = {"code": int(prog.error_code), "message": prog.error_message or ""}
        else:
            op["response"] = {
                "@type": f"{API_TYPE}.{type_version(version)}.TunedModel",
                **render_tuned_model(model, prog, enum_int=enum_int),
            }
    return op


def render_permission(model_id: str, perm: PermissionRecord, *, enum_int: bool = False) -> dict[str, Any]:
    """The Permission resource."""
    out: dict[str, Any] = {"name": f"tunedModels/{model_id}/permissions/{perm.id}"}
    out["granteeType"] = _enum("Permission.GranteeType", perm.grantee_type, enum_int)
    if perm.email and perm.grantee_type is not GranteeType.EVERYONE:
        out["emailAddress"] = perm.email
    out["role"] = _enum("Permission.Role", perm.role, enum_int)
    return out
