"""``TunedModel``: a tuned Gemini model as a Pulumi dynamic resource.

Schema
    Inputs (:class:`TunedModelArgs`, camelCase like the API): ``project``, ``stack``,
    ``resourceName``,
    the create-only fields ``baseModel`` | ``tunedModelSource``, ``hyperparameters``,
    ``datasetDigest`` (with ``dataset`` path or inline ``examples``, and ``exampleCount``); the
    updatable fields ``displayName``, ``description``, ``temperature``, ``topP``, ``topK``; and
    the tool's own ``timeout`` (seconds), ``wait``, ``adopt``.
    Outputs (:data:`OUTPUT_KEYS`) come from what the service returned, plus the record of the
    declared create-only fields (``trainingSpec``) that ``diff`` needs: Pulumi's Python SDK hands
    ``diff`` the old outputs, never the old inputs. Never examples, never credentials.

Lifecycle
    check   pydantic validation, one CheckFailure per bad property; unknowns pass (preview).
    diff    :func:`tuned_models.planner.decide` on (old outputs, new inputs); pure.
    create  submit under the deterministic id; adopt our own earlier submission on 409;
            wait for ACTIVE (bounded by ``timeout``) unless ``wait`` is false.
    update  PATCH exactly the changed updatable fields; or pick up a training outcome.
    read    refresh from the service; gone -> removed from state; drift shows in the next diff.
    delete  cancel a running tuning, then delete; 404 is success.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pydantic import field_validator, model_validator

from tuned_models.concurrency import raise_worker_limit
from tuned_models.datasets import DatasetError, examples_digest, read_examples
from tuned_models.gemini import AlreadyExists, GeminiClient, NotFound, PermissionDenied
from tuned_models.gemini.types import TunedModel as ApiTunedModel
from tuned_models.gemini.types import TunedModelState
from tuned_models.ids import tuned_model_id
from tuned_models.inputs import check_failures, has_unknown, plain
from tuned_models.planner import (
    Action,
    Decision,
    Desired,
    FieldChange,
    Observed,
    State,
    decide,
    same_value,
)
from tuned_models.settings import Settings, client_for
from tuned_models.spec import RESOURCE_NAME_PATTERN, UPDATABLE_FIELDS, Example, ModelFields
from tuned_models.waiter import find_operation, wait_for_training

#: Every output the provider returns (each must be declared to the SDK to be readable).
OUTPUT_KEYS: tuple[str, ...] = (
    "tunedModelId",
    "name",
    "state",
    "baseModel",
    "tunedModelSource",
    "displayName",
    "description",
    "temperature",
    "topP",
    "topK",
    "createTime",
    "updateTime",
    "tuningStartTime",
    "tuningCompleteTime",
    "totalSteps",
    "finalMeanLoss",
    "hyperparameters",
    "datasetDigest",
    "exampleCount",
    "trainingSpec",
    "operationName",
)


class TunedModelArgs(ModelFields):
    """The inputs of a ``TunedModel`` as the provider receives them (numbers may be floats)."""

    project: str
    stack: str
    resourceName: str
    datasetDigest: str | None = None
    exampleCount: int | None = None

    @field_validator("exampleCount", mode="before")
    @classmethod
    def _count(cls, v: Any) -> Any:
        return int(v) if isinstance(v, float) and v.is_integer() else v

    @field_validator("resourceName")
    @classmethod
    def _resource(cls, v: str) -> str:
        if not RESOURCE_NAME_PATTERN.match(v):
            raise ValueError(
                "a resource name is 1-26 lowercase letters, digits and hyphens, starting with a letter"
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TunedModelArgs:
        if (self.baseModel is None) == (self.tunedModelSource is None):
            raise ValueError("declare exactly one of baseModel or tunedModelSource")
        if self.dataset is not None and self.examples is not None:
            raise ValueError("declare dataset or examples, not both")
        if self.adopt is None and self.datasetDigest is None:
            raise ValueError("datasetDigest is required to train a model")
        return self

    def training_spec(self) -> dict[str, Any]:
        """The declared create-only fields: what the id's digest and a retrain decision cover."""
        spec: dict[str, Any] = {
            "hyperparameters": self.hyperparameters.declared(),
            "datasetDigest": self.datasetDigest,
        }
        if self.baseModel is not None:
            spec["baseModel"] = self.baseModel
        if self.tunedModelSource is not None:
            spec["tunedModelSource"] = self.tunedModelSource.model_dump()
        return spec

    def mutable(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in UPDATABLE_FIELDS if getattr(self, f) is not None}

    @property
    def tuned_model_id(self) -> str:
        return tuned_model_id(self.project, self.stack, self.resourceName, self.training_spec())

    def desired(self) -> Desired:
        return Desired(self.tuned_model_id, self.training_spec(), self.mutable(), self.adopt)

    @property
    def label(self) -> str:
        return self.resourceName


def observed_from_outputs(olds: Mapping[str, Any]) -> Observed:
    """What Pulumi state records about a model (the old outputs)."""
    return Observed(
        name=str(olds.get("name") or f"tunedModels/{olds.get('tunedModelId', '')}"),
        state=State(olds.get("state") or State.STATE_UNSPECIFIED.value),
        mutable={f: olds.get(f) for f in UPDATABLE_FIELDS},
        training=olds.get("trainingSpec") or {},
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return str(text).replace("+00:00", "Z")


def live_outputs(model: ApiTunedModel) -> dict[str, Any]:
    """The outputs the service's view of ``model`` determines (``None`` where it shows nothing)."""
    task = model.tuningTask
    snapshots = list(task.snapshots) if task and task.snapshots else []
    active = model.state is TunedModelState.ACTIVE
    live: dict[str, Any] = {
        "tunedModelId": model.name.removeprefix("tunedModels/"),
        "name": model.name,
        "state": model.state.value if model.state else State.STATE_UNSPECIFIED.value,
        "baseModel": model.baseModel,
        "tunedModelSource": (
            model.tunedModelSource.model_dump(exclude_none=True) if model.tunedModelSource else None
        ),
        "createTime": _iso(model.createTime),
        "updateTime": _iso(model.updateTime),
        "tuningStartTime": _iso(task.startTime) if task else None,
        "tuningCompleteTime": _iso(task.completeTime) if task else None,
        "totalSteps": snapshots[-1].step if snapshots and active else None,
        "finalMeanLoss": snapshots[-1].meanLoss if snapshots and active else None,
        "hyperparameters": (
            task.hyperparameters.model_dump(exclude_none=True) if task and task.hyperparameters else None
        ),
    }
    live.update({f: getattr(model, f) for f in UPDATABLE_FIELDS})
    return live


def outputs_from(
    model: ApiTunedModel, args: TunedModelArgs, *, operation_name: str | None, total_steps: int | None
) -> dict[str, Any]:
    """The outputs for ``model`` as the service returned it; our records for the rest."""
    live = live_outputs(model)
    outs: dict[str, Any] = {
        **live,
        "totalSteps": total_steps or live["totalSteps"],
        "datasetDigest": args.datasetDigest,
        "exampleCount": args.exampleCount,
        "trainingSpec": args.training_spec(),
        "operationName": operation_name,
    }
    return {k: v for k, v in outs.items() if v is not None}


def load_training_examples(args: TunedModelArgs, root: Path) -> list[Example]:
    """Re-read the dataset and verify it is the one preview saw (same digest)."""
    if args.examples is not None:
        examples = list(args.examples)
        where = "the inline examples"
    elif args.dataset is not None:
        try:
            examples = read_examples(root / args.dataset)
        except DatasetError as e:
            raise RuntimeError(f"{args.label}: cannot read the dataset: {e}") from None
        where = args.dataset
    else:
        raise RuntimeError(f"{args.label}: no dataset or examples to train on")
    digest = examples_digest(examples)
    if digest != args.datasetDigest:
        raise RuntimeError(
            f"{args.label}: {where} changed since the preview (digest {digest} != "
            f"{args.datasetDigest}); nothing was submitted. Run `pulumi up` again to review the change."
        )
    return examples


def create_body(args: TunedModelArgs, examples: list[Example]) -> dict[str, Any]:
    """The TunedModel JSON to submit (to the API's field names)."""
    body: dict[str, Any] = {}
    if args.baseModel is not None:
        body["baseModel"] = args.baseModel
    if args.tunedModelSource is not None:
        body["tunedModelSource"] = {"tunedModel": args.tunedModelSource.tunedModel}
    body.update(args.mutable())
    body["tuningTask"] = {
        "hyperparameters": args.hyperparameters.declared(),
        "trainingData": {"examples": {"examples": [e.model_dump() for e in examples]}},
    }
    return body


class TunedModelProvider(ResourceProvider):
    """The dynamic provider behind :class:`TunedModel`. Holds no data: it pickles by reference
    to this module, and clients and credentials are built in :meth:`configure`."""

    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()

    # -- process setup -------------------------------------------------------------------------
    def configure(self, req: ConfigureRequest) -> None:
        self._settings = Settings.from_config(req.config.get)
        if not raise_worker_limit():
            pulumi.log.warn(
                "tuned-models: could not lift the provider server's 4-call limit; "
                "models will tune at most 4 at a time"
            )

    def _client(self) -> GeminiClient:
        settings = getattr(self, "_settings", None) or Settings()
        return client_for(settings)

    def _root(self) -> Path:
        settings = getattr(self, "_settings", None)
        return (settings.project_root if settings else None) or Path.cwd()

    # -- plan ----------------------------------------------------------------------------------
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_failures(news, TunedModelArgs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        decision = diff_decision(olds, news)
        if decision.action is Action.NONE:
            return DiffResult(changes=False)
        if decision.action is Action.REPLACE:
            return DiffResult(
                changes=True,
                replaces=list(decision.replace_fields) or ["tunedModelId"],
                delete_before_replace=decision.delete_before_replace,
            )
        return DiffResult(changes=True, replaces=[])

    # -- act -----------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        args = TunedModelArgs.model_validate(plain(props))
        client = self._client()
        if args.adopt:
            model = self._adopt(client, args)
            return CreateResult(
                model.name.removeprefix("tunedModels/"),
                outputs_from(model, args, operation_name=None, total_steps=None),
            )
        examples = load_training_examples(args, self._root())
        model_id = args.tuned_model_id
        name = f"tunedModels/{model_id}"
        operation_name: str | None = None
        total_steps: int | None = None
        try:
            op = client.create_tuned_model(create_body(args, examples), tuned_model_id=model_id)
            operation_name = op.name
            total_steps = op.metadata.totalSteps if op.metadata else None
            pulumi.log.info(
                f"{args.label}: submitted {name} ({len(examples)} examples, {total_steps or '?'} steps)"
            )
        except NotFound as e:
            source = args.baseModel or (args.tunedModelSource.tunedModel if args.tunedModelSource else "")
            raise RuntimeError(
                f"{args.label}: the service cannot tune from {source}: {e.message} (since May 2025 "
                "the public Gemini API offers no base model for tuning; take over an existing tuned "
                "model with `adopt`, or point tuned-models:endpoint at an emulator)"
            ) from None
        except AlreadyExists:
            existing = client.get_tuned_model(name)
            if existing.state is TunedModelState.FAILED:
                raise RuntimeError(
                    f"{args.label}: an earlier attempt, {name}, failed on the service. Fix the "
                    f"cause, then delete it (DELETE /v1beta/{name}) or change the spec, and run "
                    "`pulumi up` again."
                ) from None
            pulumi.log.info(
                f"{args.label}: found {name} from an earlier run "
                f"({existing.state.value if existing.state else '?'}); adopting it"
            )
        model = client.get_tuned_model(name)
        if args.wait and model.state is TunedModelState.CREATING:
            model = wait_for_training(
                client,
                name,
                operation_name=operation_name,
                timeout=args.timeout,
                label=args.label,
                log=pulumi.log.info,
                epochs=args.hyperparameters.epochCount,
            )
        elif model.state is TunedModelState.FAILED:
            raise RuntimeError(f"{args.label}: {name} failed on the service")
        return CreateResult(
            model_id, outputs_from(model, args, operation_name=operation_name, total_steps=total_steps)
        )

    def _adopt(self, client: GeminiClient, args: TunedModelArgs) -> ApiTunedModel:
        assert args.adopt is not None
        try:
            model = client.get_tuned_model(args.adopt)
        except NotFound:
            raise RuntimeError(f"{args.label}: cannot adopt {args.adopt}: it does not exist") from None
        source = model.tunedModelSource.tunedModel if model.tunedModelSource else None
        declared_source = args.tunedModelSource.tunedModel if args.tunedModelSource else None
        if (args.baseModel and model.baseModel != args.baseModel) or (
            declared_source and source != declared_source
        ):
            raise RuntimeError(
                f"{args.label}: cannot adopt {args.adopt}: it was tuned from "
                f"{model.baseModel or source}, the spec declares {args.baseModel or declared_source}"
            )
        if model.state is TunedModelState.FAILED:
            raise RuntimeError(f"{args.label}: cannot adopt {args.adopt}: its tuning FAILED")
        if args.wait and model.state is TunedModelState.CREATING:
            model = wait_for_training(
                client,
                model.name,
                operation_name=None,
                timeout=args.timeout,
                label=args.label,
                log=pulumi.log.info,
            )
        changed = {f: v for f, v in args.mutable().items() if not same_value(getattr(model, f), v)}
        if changed:
            model = client.update_tuned_model(model.name, changed, list(changed))
        pulumi.log.info(f"{args.label}: adopted {model.name}")
        return model

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = TunedModelArgs.model_validate(plain(news))
        client = self._client()
        decision = diff_decision(olds, news)
        name = str(olds.get("name") or f"tunedModels/{_id}")
        model: ApiTunedModel | None = None
        if decision.update_fields:
            fields = {f: getattr(args, f) for f in decision.update_fields}
            model = client.update_tuned_model(name, fields, list(fields))
            pulumi.log.info(f"{args.label}: updated {', '.join(fields)} of {name}")
        if model is None or model.state is TunedModelState.CREATING:
            model = client.get_tuned_model(name)
        if args.wait and model.state is TunedModelState.CREATING:
            model = wait_for_training(
                client,
                name,
                operation_name=olds.get("operationName"),
                timeout=args.timeout,
                label=args.label,
                log=pulumi.log.info,
                epochs=args.hyperparameters.epochCount,
            )
        if model.state is TunedModelState.FAILED:
            pulumi.log.warn(f"{args.label}: {name} failed on the service; the next `pulumi up` retrains it")
        outs = outputs_from(
            model, args, operation_name=olds.get("operationName"), total_steps=_int(olds.get("totalSteps"))
        )
        return UpdateResult(outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        name = str(props.get("name") or f"tunedModels/{id_}")
        try:
            model = self._client().get_tuned_model(name)
        except NotFound:
            return ReadResult("", {})
        outs = refreshed_outputs(model, props)
        return ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        name = str(props.get("name") or f"tunedModels/{_id}")
        client = self._client()
        try:
            model = client.get_tuned_model(name)
        except NotFound:
            return
        if model.state is TunedModelState.CREATING:
            op = props.get("operationName") or find_operation(client, name)
            if op:
                with contextlib.suppress(NotFound):
                    client.cancel_operation(str(op))
                    pulumi.log.info(f"cancelled the tuning of {name}")
        try:
            client.delete_tuned_model(name)
        except NotFound:
            return
        except PermissionDenied:
            # Only the owner may delete; after an ownership transfer this stack is a WRITER.
            pulumi.log.warn(
                f"{name}: this stack's credentials may not delete it (its ownership was "
                "transferred); it stays on the service and is no longer managed"
            )


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) else None


def refreshed_outputs(model: ApiTunedModel, olds: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs after a refresh: the live model's fields over our own records (a recorded
    ``totalSteps`` is kept; a field the service no longer shows is dropped)."""
    outs = {k: v for k, v in plain(olds).items() if k in OUTPUT_KEYS}
    for k, v in live_outputs(model).items():
        if k == "totalSteps" and outs.get(k):
            continue
        if v is None:
            outs.pop(k, None)
        else:
            outs[k] = v
    return outs


def diff_decision(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Decision:
    """The planner's decision for (old outputs, new inputs); unknown inputs are conservative:
    an unknown create-only field means replace, an unknown updatable field means update."""
    inputs = plain(news)
    unknown = {k for k, v in inputs.items() if has_unknown(v)}
    observed = observed_from_outputs(olds)
    create_only = {
        "baseModel",
        "tunedModelSource",
        "hyperparameters",
        "dataset",
        "datasetDigest",
        "examples",
        "stack",
        "resourceName",
        "adopt",
    }
    if unknown & create_only:
        field = sorted(unknown & create_only)[0]
        return Decision(Action.REPLACE, (FieldChange(field, None, "(known after apply)"),))
    args = TunedModelArgs.model_validate({k: v for k, v in inputs.items() if k not in unknown})
    decision = decide(observed, args.desired())
    if unknown and decision.action is Action.NONE:
        return Decision(
            Action.UPDATE,
            tuple(FieldChange(f, observed.mutable.get(f), "(unknown)") for f in sorted(unknown)),
        )
    return decision


class TunedModel(Resource, module="gemini", name="TunedModel"):
    """A tuned Gemini model (type ``pulumi-python:dynamic/gemini:TunedModel``).

    ``args`` are the camelCase inputs of :class:`TunedModelArgs`; outputs are
    :data:`OUTPUT_KEYS`, readable as attributes (``model.name``, ``model.state`` ...).
    """

    name: pulumi.Output[str]
    state: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {k: None for k in OUTPUT_KEYS}
        props.update({k: v for k, v in args.items() if v is not None})
        super().__init__(TunedModelProvider(), resource_name, props, opts)
