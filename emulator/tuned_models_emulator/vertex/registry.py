"""The Model Registry models and the endpoints that tuning jobs produce, their long-running
operations, and generation on tuned endpoints (the output of the most similar training example,
as the Gemini API emulator answers)."""

from __future__ import annotations

import itertools
import re
import string
from dataclasses import replace
from typing import Any

from tuned_models_emulator.codec import decode
from tuned_models_emulator.errors import FailedPrecondition, InvalidArgument, NotFound
from tuned_models_emulator.generation import most_similar, prompt_of
from tuned_models_emulator.records import Caller
from tuned_models_emulator.routes import Body, Call
from tuned_models_emulator.store import Tx
from tuned_models_emulator.vertex.base import VertexBase
from tuned_models_emulator.vertex.catalog import MAX_DISPLAY_NAME
from tuned_models_emulator.vertex.dataset import tokens
from tuned_models_emulator.vertex.records import (
    DeployedModelRecord,
    EndpointRecord,
    ModelRecord,
    OperationKind,
    VersionRecord,
)
from tuned_models_emulator.vertex.render import (
    FINISH_STOP,
    enum,
    render_endpoint,
    render_model,
    render_operation,
)
from tuned_models_emulator.vertex.rules import check_labels, matches, parse_filter
from tuned_models_emulator.vertex.schema import schema
from tuned_models_emulator.vertex.tables import VertexTables
from tuned_models_emulator.wire import decimal, format_timestamp, int32_value, normalize

EMPTY_CONTENTS = (
    "Unable to submit request because at least one contents field is required. Learn more: "
    "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini"
)
_BASE64URL = string.ascii_letters + string.digits + "-_"


class Registry(VertexBase):
    """The handlers of models, endpoints, their operations and generation."""

    # ---------------------------------------------------------------- models
    def _model(self, tx: Tx, call: Call) -> tuple[ModelRecord, str | None, str]:
        """(model, version reference after ``@`` or None, the name as requested)."""
        project, location = self.parent(call)
        raw = call.params["model"]
        model_id, _, ref = raw.partition("@")
        name = f"projects/{call.params['project']}/locations/{location}/models/{raw}"
        model = VertexTables(tx).model(model_id)
        if model is None or model.project != project or model.location != location:
            raise NotFound(f"Model {name} not found.")
        return model, (ref or None), name

    def _deployments(self, tx: Tx, model: ModelRecord) -> list[tuple[EndpointRecord, DeployedModelRecord]]:
        out = []
        for endpoint in VertexTables(tx).endpoints(model.project):
            for deployed in endpoint.deployed:
                if deployed.model_name == model.name:
                    out.append((endpoint, deployed))
        return out

    def _render_model(
        self, tx: Tx, model: ModelRecord, version: VersionRecord, *, enum_int: bool = False
    ) -> dict[str, Any]:
        deployed = [
            (endpoint, d.id) for endpoint, d in self._deployments(tx, model) if d.version == version.version
        ]
        return render_model(model, version, deployed, enum_int=enum_int)

    def get_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetModel: the default version, or ``@version`` / ``@alias``."""
        self.settle(tx)
        model, ref, name = self._model(tx, call)
        version = self.version(VertexTables(tx), model, ref, name)
        return self._render_model(tx, model, version, enum_int=call.enum_int)

    def list_models(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListModels: each model's default version, newest first; ``filter`` on ``labels.KEY``
        and ``display_name``; paged."""
        self.settle(tx)
        project, location = self.parent(call)
        terms = parse_filter(call.query.get("filter"), ("display_name",))
        tables = VertexTables(tx)
        rendered = []
        for model in tables.models(project, location):
            if not matches(terms, {"display_name": model.display_name}, model.labels):
                continue
            version = self.version(tables, model, None, model.name)
            rendered.append(self._render_model(tx, model, version, enum_int=call.enum_int))
        return self.page("models", rendered, call, project, location)

    def list_model_versions(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListModelVersions: every version of a model, oldest first; paged."""
        self.settle(tx)
        model, _, _ = self._model(tx, call)
        versions = VertexTables(tx).versions(model.id)
        rendered = [self._render_model(tx, model, v, enum_int=call.enum_int) for v in versions]
        return self.page("models", rendered, call, model.project, f"{model.location}/{model.id}")

    def update_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """UpdateModel (PATCH with ``updateMask``): on the model, ``displayName``, ``description``
        and ``labels``; on a version (``@N``), ``versionDescription`` and ``labels``. Returns the
        Model."""
        self.settle(tx)
        model, ref, name = self._model(tx, call)
        tables = VertexTables(tx)
        version = self.version(tables, model, ref, name)
        body = normalize("Model", call.body, "model", schema(call.version))
        mask = [p.strip() for p in (call.query.get("updateMask") or "").split(",") if p.strip()]
        if not mask:
            raise InvalidArgument("update_mask is required.")
        version_level = ref is not None and ref != "-"
        model_fields = {"displayName": "display_name", "description": "description", "labels": "labels"}
        version_fields = {"versionDescription": "version_description", "labels": "labels"}
        changes: dict[str, Any] = {}
        version_changes: dict[str, Any] = {}
        for path in mask:
            field_name = re.sub(r"_([a-z])", lambda m: m[1].upper(), path)
            if field_name not in model_fields and field_name not in version_fields:
                raise InvalidArgument(
                    f"Invalid update mask path {path!r}: the fields that can be updated are display_name, "
                    "description, labels and version_description."
                )
            allowed = version_fields if version_level else model_fields
            if field_name not in allowed:
                takes = (
                    "a model version takes version_description and labels."
                    if version_level
                    else "a model takes display_name, description and labels (version_description needs @N)."
                )
                raise FailedPrecondition(f"Field {path!r} cannot be updated on {name}: {takes}")
            value = body.get(field_name)
            if field_name == "displayName":
                text = str(value or "")
                if not text:
                    raise InvalidArgument("model.display_name is required.")
                if len(text) > MAX_DISPLAY_NAME:
                    raise InvalidArgument(
                        f"model.display_name can be at most {MAX_DISPLAY_NAME} characters long."
                    )
                changes["display_name"] = text
            elif field_name == "description":
                changes["description"] = str(value or "")
            elif field_name == "versionDescription":
                version_changes["version_description"] = str(value or "")
            else:
                labels = check_labels(value, "model.labels")
                (version_changes if version_level else changes)["labels"] = labels
        now = self.now(tx)
        if changes:
            model = replace(model, **changes, update_ns=now)
            tables.put_model(model)
        if version_changes:
            version = replace(version, **version_changes, update_ns=now)
            tables.put_version(version)
        return self._render_model(tx, model, version, enum_int=call.enum_int)

    def delete_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteModel (long-running): every version goes; refused while any is deployed."""
        self.settle(tx)
        model, _, name = self._model(tx, call)
        deployments = self._deployments(tx, model)
        if deployments:
            where = ", ".join(sorted({e.name for e, _ in deployments}))
            raise FailedPrecondition(
                f"Model {name} is deployed or being deployed at the following endpoints: {where}. "
                "Undeploy the model from them before deleting it."
            )
        VertexTables(tx).delete_model(model.id)
        op = self.operation(tx, model.name, OperationKind.DELETE)
        return render_operation(op, call.version, self.now(tx))

    def delete_model_version(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteModelVersion (long-running): ``models/{m}@{version}``; not the only version, not
        the one holding the ``default`` alias, not a deployed one."""
        self.settle(tx)
        model, ref, name = self._model(tx, call)
        if ref is None or decimal(ref, digits=18) is None:
            raise InvalidArgument(f"The name {name} must specify a version id: models/{{model}}@{{version}}.")
        tables = VertexTables(tx)
        version = self.version(tables, model, ref, name)
        if len(tables.versions(model.id)) == 1:
            raise FailedPrecondition(
                "Deleting the only version in the Model is not allowed. Use DeleteModel for deleting the "
                "Model instead."
            )
        if "default" in version.aliases:
            raise FailedPrecondition(
                f"Version {version.version} of {model.name} holds the default alias; move the alias before "
                "deleting it."
            )
        deployed = [e.name for e, d in self._deployments(tx, model) if d.version == version.version]
        if deployed:
            raise FailedPrecondition(
                f"Model {name} is deployed or being deployed at the following endpoints: "
                f"{', '.join(deployed)}."
            )
        tables.delete_version(model.id, version.version)
        op = self.operation(tx, model.name, OperationKind.DELETE)
        return render_operation(op, call.version, self.now(tx))

    def generate_on_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """generateContent on a Model Registry name: the service's 400 (use the endpoint)."""
        params = call.params
        name = f"projects/{params['project']}/locations/{params['location']}/models/{params['model']}"
        raise InvalidArgument(
            f"The Model name {name} is malformed and it should be in form of "
            "projects/{project}/locations/{location}/publishers/google/models/{model}"
        )

    # ---------------------------------------------------------------- endpoints
    def _endpoint(self, tx: Tx, call: Call) -> EndpointRecord:
        project, location = self.parent(call)
        endpoint = VertexTables(tx).endpoint(call.params["endpoint"])
        if endpoint is None or endpoint.project != project or endpoint.location != location:
            name = (
                f"projects/{call.params['project']}/locations/{location}/endpoints/{call.params['endpoint']}"
            )
            raise NotFound(f"Endpoint {name} not found.")
        return endpoint

    def get_endpoint(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetEndpoint."""
        self.settle(tx)
        endpoint = self._endpoint(tx, call)
        return render_endpoint(endpoint)

    def list_endpoints(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListEndpoints: newest first; ``filter`` on ``labels.KEY`` and ``display_name``; paged."""
        self.settle(tx)
        project, location = self.parent(call)
        terms = parse_filter(call.query.get("filter"), ("display_name",))
        rendered = [
            render_endpoint(e)
            for e in VertexTables(tx).endpoints(project, location)
            if matches(terms, {"display_name": e.display_name}, e.labels)
        ]
        return self.page("endpoints", rendered, call, project, location)

    def undeploy_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """UndeployModel (long-running): a deployed model leaves the endpoint if it carries no
        traffic, the request's ``trafficSplit`` takes its traffic away, or it is the last one."""
        self.settle(tx)
        endpoint = self._endpoint(tx, call)
        body = normalize("UndeployModelRequest", call.body, "", schema(call.version))
        deployed_id = str(body.get("deployedModelId") or "")
        if not deployed_id:
            raise InvalidArgument("deployed_model_id is required.")
        target = next((d for d in endpoint.deployed if d.id == deployed_id), None)
        if target is None:
            raise NotFound(f"DeployedModel {deployed_id} not found on Endpoint {endpoint.name}.")
        remaining = tuple(d for d in endpoint.deployed if d.id != deployed_id)
        split = body.get("trafficSplit")
        if split is not None:
            if not isinstance(split, dict):
                raise InvalidArgument("traffic_split must be a map of deployed model ids to percentages.")
            traffic = {str(k): v for k, v in _traffic_split(split).items() if v}
        else:
            traffic = {k: v for k, v in endpoint.traffic.items() if k != deployed_id}
        if remaining:
            if traffic.get(deployed_id, 0) or (split is None and endpoint.traffic.get(deployed_id, 0)):
                raise FailedPrecondition(
                    f"DeployedModel {deployed_id} has traffic assigned on {endpoint.name}: give its traffic "
                    "to the "
                    "other deployed models in traffic_split, or undeploy them first."
                )
            known = {d.id for d in remaining}
            if any(k not in known for k in traffic) or (traffic and sum(traffic.values()) != 100):
                raise InvalidArgument(
                    "traffic_split must name deployed models of the endpoint and add up to 100."
                )
            traffic.pop(deployed_id, None)
        else:
            traffic = {}
        now = self.now(tx)
        VertexTables(tx).put_endpoint(replace(endpoint, deployed=remaining, traffic=traffic, update_ns=now))
        op = self.operation(tx, endpoint.name, OperationKind.UNDEPLOY)
        return render_operation(op, call.version, now)

    def delete_endpoint(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteEndpoint (long-running): refused while models are deployed to it."""
        self.settle(tx)
        endpoint = self._endpoint(tx, call)
        if endpoint.deployed:
            ids = ", ".join(d.id for d in endpoint.deployed)
            raise FailedPrecondition(
                f"Endpoint {endpoint.name} has deployed models ({ids}); undeploy them before deleting the "
                "endpoint."
            )
        VertexTables(tx).delete_endpoint(endpoint.id)
        op = self.operation(tx, endpoint.name, OperationKind.DELETE)
        return render_operation(op, call.version, self.now(tx))

    def generate_content(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GenerateContent on a tuned endpoint: the output of the training example whose input is most
        similar to the prompt (the last non-model turn), as the Gemini API emulator answers."""
        self.settle(tx)
        body = normalize("GenerateContentRequest", call.body, "", schema(call.version))
        endpoint = self._endpoint(tx, call)
        contents = body.get("contents") or []
        if not contents:
            raise InvalidArgument(EMPTY_CONTENTS)
        if not endpoint.deployed:
            raise FailedPrecondition(f"Endpoint {endpoint.name} has no deployed model to serve the request.")
        serving = max(endpoint.deployed, key=lambda d: endpoint.traffic.get(d.id, 0))
        tables = VertexTables(tx)
        model = tables.model(serving.model_name.rsplit("/", 1)[-1])
        version = None
        if model is not None:
            version = next((v for v in tables.versions(model.id) if v.version == serving.version), None)
        job_id = version.job_id if version is not None else None
        prompt = prompt_of(contents)
        config = body.get("generationConfig") or {}
        count = 1
        if isinstance(config, dict):
            raw = config.get("candidateCount", config.get("candidate_count", 1))
            count = max(1, min(8, int32_value("generation_config.candidate_count", raw or 1)))
        system = body.get("systemInstruction") or {}
        prompt_tokens = tokens(prompt) + tokens(
            _text(system.get("parts") if isinstance(system, dict) else None)
        )
        rng = self.runtime.rng(tx)
        head = {
            "createTime": format_timestamp(self.now(tx)),
            "responseId": "".join(rng.choice(_BASE64URL) for _ in range(23)),
        }
        finish = enum(FINISH_STOP, call.enum_int)

        def answer() -> dict[str, Any]:
            # After the transaction: the pairs are read a chunk a transaction, and the search over
            # them holds no lock.
            outputs = most_similar(self._pairs(job_id), prompt, count)
            output_tokens = sum(tokens(o) for o in outputs)
            candidates = []
            for index, text in enumerate(outputs):
                candidate: dict[str, Any] = {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": finish,
                }
                if index:
                    candidate["index"] = index
                candidates.append(candidate)
            usage = {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": prompt_tokens + output_tokens,
            }
            return {"candidates": candidates, "usageMetadata": usage, **head}

        return answer

    def _pairs(self, job_id: str | None) -> list[dict[str, str]]:
        """The training pairs of a job (none for None), each chunk read in a transaction of its
        own: a large dataset never holds the store (or the interpreter) for long."""
        pairs: list[dict[str, str]] = []
        if job_id is None:
            return pairs
        for seq in itertools.count():
            with self.runtime.store.transaction() as tx:
                chunk = VertexTables(tx).pair_chunk(job_id, seq)
            if chunk is None:
                break
            pairs.extend(decode("[" + chunk + "]"))
        return pairs

    def get_operation(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetOperation of a model or endpoint operation (kept after the resource is gone)."""
        self.settle(tx)
        project, location = self.parent(call)
        name = (
            f"projects/{project}/locations/{location}/{call.params['collection']}/{call.params['parent']}"
            f"/operations/{call.params['op']}"
        )
        op = VertexTables(tx).operation(name)
        if op is None:
            raise NotFound(f"Operation {name} not found.")
        return render_operation(op, call.version, self.now(tx))


def _traffic_split(split: dict[str, Any]) -> dict[str, int]:
    """A ``trafficSplit`` map: percentages (int32 values from 0 to 100); 400 otherwise."""
    out = {}
    for key, value in split.items():
        percent = int32_value(f"traffic_split[{key}]", value)
        if not 0 <= percent <= 100:
            raise InvalidArgument(f"traffic_split[{key}] must be a percentage from 0 to 100, got {percent}.")
        out[key] = percent
    return out


def _text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
