"""The Gemini API backend: :class:`GeminiBackend` over :class:`tuned_models.gemini.GeminiClient`.

Identity: the deterministic id is the client-chosen ``tunedModelId``, so the model's name is
``tunedModels/<id>`` before it exists. ``submit`` looks that name up first: a model found there
(or a create the service answers 409) is our own earlier submission, adopted when it is ACTIVE
(trained, e.g. its quality gate failed) or CREATING (waited for), deleted and submitted again
when it FAILED. Training is tracked
through its long-running operation (falling back to the model's state when the operation cannot
be found). Delete cancels a running tuning first; after an ownership transfer the service
refuses the delete, which is reported, not raised.

Conversions are named by direction: ``*_to_api`` builds request bodies, ``*_from_api`` reads
responses into the neutral terms of :mod:`tuned_models.model.state`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tuned_models.backends.base import EVALUATION_SEED, Log, Submission
from tuned_models.backends.gemini.fields import FIELDS
from tuned_models.config import Connection
from tuned_models.gemini import (
    AlreadyExists,
    GeminiClient,
    NotFound,
    PermissionDenied,
)
from tuned_models.gemini import (
    connect as connect_client,
)
from tuned_models.gemini.types import (
    TUNED_MODELS_PREFIX,
    Operation,
    Permission,
    TunedModel,
    TunedModelState,
)
from tuned_models.gemini.types import Role as ApiRole
from tuned_models.model.datasets import DatasetError, dataset_path, examples_digest, read_examples
from tuned_models.model.desired import ModelInputs
from tuned_models.model.grants import Grant, GranteeType, Role
from tuned_models.model.ids import parse_id
from tuned_models.model.spec import Example
from tuned_models.model.state import LiveModel, LossPoint, ModelState, Progress, iso_z

__all__ = ["GeminiBackend", "GeminiGrants", "connect", "live_from_api", "model_to_api"]


def connect(connection: Connection, project_root: Path) -> GeminiBackend:
    """The backend for a stack's connection (credentials as :func:`tuned_models.gemini.connect`)."""
    client = connect_client(
        connection.endpoint,
        api_key=connection.api_key,
        quota_project=connection.quota_project,
        project_root=project_root,
        emulator_step_seconds=connection.emulator_step_seconds,
    )
    return GeminiBackend(client)


def load_training_examples(inputs: ModelInputs, root: Path) -> list[Example]:
    """Re-read the dataset and verify it is the one preview saw (same digest).

    Raises RuntimeError naming the model when it cannot be read or its digest changed.
    """
    if inputs.examples is not None:
        examples = list(inputs.examples)
        where = "the inline examples"
    elif inputs.dataset is not None:
        try:
            examples = read_examples(dataset_path(root, inputs.dataset))
        except DatasetError as e:
            raise RuntimeError(f"{inputs.label}: cannot read the dataset: {e}") from None
        where = inputs.dataset
    else:
        raise RuntimeError(f"{inputs.label}: no dataset or examples to train on")
    digest = examples_digest(examples)
    if digest != inputs.datasetDigest:
        raise RuntimeError(
            f"{inputs.label}: {where} changed since the preview (digest {digest} != "
            f"{inputs.datasetDigest}); nothing was submitted. Run `pulumi up` again to review the change."
        )
    return examples


# -- conversions ---------------------------------------------------------------------------------


def model_to_api(inputs: ModelInputs, examples: Sequence[Example]) -> dict[str, Any]:
    """The ``TunedModel`` JSON to submit for ``inputs`` trained on ``examples``."""
    body: dict[str, Any] = {}
    if inputs.baseModel is not None:
        body["baseModel"] = inputs.baseModel
    if inputs.tunedModelSource is not None:
        body["tunedModelSource"] = {"tunedModel": inputs.tunedModelSource.tunedModel}
    body.update(inputs.mutable())
    body["tuningTask"] = {
        "hyperparameters": inputs.hyperparameters.declared(),
        "trainingData": {"examples": {"examples": [e.model_dump() for e in examples]}},
    }
    return body


def state_from_api(state: TunedModelState | None) -> ModelState:
    return ModelState(state.value) if state else ModelState.STATE_UNSPECIFIED


def progress_from_operation(op: Operation, epochs: int | None) -> Progress:
    """A tuning operation's progress (done with the service's error message once it ended)."""
    meta = op.metadata
    total = (meta.totalSteps if meta else None) or 0
    done = (meta.completedSteps if meta else None) or 0
    percent = (meta.completedPercent if meta else None) or (100.0 * done / total if total else 0.0)
    last = meta.snapshots[-1] if meta and meta.snapshots else None
    return Progress(
        percent=percent,
        step=done,
        total_steps=total,
        epoch=last.epoch if last else 0,
        epochs=epochs,
        mean_loss=last.meanLoss if last else None,
        done=op.done,
        error=op.error.message if op.error is not None else None,
    )


def live_from_api(model: TunedModel) -> LiveModel:
    """The neutral view of a tuned model as the service returned it."""
    task = model.tuningTask
    snapshots = list(task.snapshots) if task and task.snapshots else []
    state = state_from_api(model.state)
    hyperparameters = (
        task.hyperparameters.model_dump(exclude_none=True) if task and task.hyperparameters else None
    )
    source = model.tunedModelSource
    last = snapshots[-1] if snapshots else None
    outputs: dict[str, Any] = {
        "tunedModelId": model.id,
        "name": model.name,
        "state": state.value,
        "baseModel": model.baseModel,
        "tunedModelSource": source.model_dump(exclude_none=True) if source else None,
        "createTime": iso_z(model.createTime),
        "updateTime": iso_z(model.updateTime),
        "tuningStartTime": iso_z(task.startTime) if task else None,
        "tuningCompleteTime": iso_z(task.completeTime) if task else None,
        "totalSteps": last.step if last and state is ModelState.ACTIVE else None,
        "finalMeanLoss": last.meanLoss if last and state is ModelState.ACTIVE else None,
        "hyperparameters": hyperparameters,
    }
    mutable = {f: getattr(model, f) for f in FIELDS.updatable}
    outputs.update(mutable)
    return LiveModel(
        name=model.name,
        model_id=model.id,
        state=state,
        mutable=mutable,
        training={
            "baseModel": model.baseModel,
            "tunedModelSource": {"tunedModel": source.tunedModel} if source and source.tunedModel else None,
            "hyperparameters": hyperparameters or {},
        },
        outputs=outputs,
        progress=Progress(
            percent=100.0 if state is ModelState.ACTIVE else None,
            step=last.step if last else 0,
            total_steps=last.step if last else None,
            epoch=last.epoch if last else 0,
            epochs=task.hyperparameters.epochCount if task and task.hyperparameters else None,
            mean_loss=last.meanLoss if last else None,
            done=state is not ModelState.CREATING,
        ),
        create_time=model.createTime,
        source=model.baseModel or (source.tunedModel if source else None),
        loss_curve=tuple(LossPoint(s.step, s.epoch, s.meanLoss) for s in snapshots if s.meanLoss is not None),
    )


def grant_from_api(p: Permission) -> Grant:
    """A permission as a neutral grant (an unspecified grantee type or role becomes None)."""
    kind = p.granteeType.value if p.granteeType else ""
    role = p.role.value if p.role else ""
    return Grant(
        GranteeType(kind) if kind in GranteeType.__members__ else None,
        p.emailAddress,
        Role(role) if role in Role.__members__ else None,
        p.name,
    )


# -- the backend ---------------------------------------------------------------------------------


class GeminiBackend:
    """:class:`tuned_models.backends.base.Backend` for the Gemini API (``tunedModels``)."""

    fields = FIELDS

    def __init__(self, client: GeminiClient) -> None:
        self.client = client
        self.grants = GeminiGrants(client)

    def find(self, name: str) -> LiveModel | None:
        try:
            return live_from_api(self.client.get_tuned_model(name))
        except NotFound:
            return None

    def list_models(self, tag: str) -> Iterator[LiveModel]:
        for model in self.client.iter_tuned_models():
            parsed = parse_id(model.name)
            if parsed is not None and parsed.tag == tag:
                yield live_from_api(model)

    def submit(self, inputs: ModelInputs, root: Path, log: Log) -> Submission:
        name = f"{TUNED_MODELS_PREFIX}{inputs.model_id}"
        # Our own earlier submission (an interrupted `up`, or a model its quality gate kept from
        # serving) is found first, so the dataset is not sent again; a create answered 409 is one
        # that another run submitted in between.
        earlier = self.find(name)
        if earlier is None:
            try:
                return self._create(inputs, root, name, log)
            except AlreadyExists as e:
                if e.attempts > 1:
                    # The create was retried after a lost answer and found its id taken: by
                    # this very create, which landed (the lookup just before found nothing).
                    log.info(f"{inputs.label}: submitted {name} (the service's answer was lost; found it)")
                    return Submission(name)
                earlier = live_from_api(self.client.get_tuned_model(name))
        if earlier.state is not ModelState.FAILED:
            return Submission(name, earlier=earlier)
        # The same deterministic id: certainly this stack's own earlier attempt, and useless.
        progress = self.progress(earlier)
        why = f" ({progress.error})" if progress is not None and progress.error else ""
        log.warn(f"{inputs.label}: the previous attempt, {name}, FAILED{why}; deleting it and training again")
        with contextlib.suppress(NotFound):
            self.client.delete_tuned_model(name)
        return self._create(inputs, root, name, log)

    def _create(self, inputs: ModelInputs, root: Path, name: str, log: Log) -> Submission:
        examples = load_training_examples(inputs, root)
        try:
            op = self.client.create_tuned_model(
                model_to_api(inputs, examples), tuned_model_id=inputs.model_id
            )
        except NotFound as e:
            source = inputs.baseModel or (
                inputs.tunedModelSource.tunedModel if inputs.tunedModelSource else ""
            )
            raise RuntimeError(
                f"{inputs.label}: the service cannot tune from {source}: {e.message} (since May 2025 "
                "the public Gemini API offers no base model for tuning; take over an existing tuned "
                "model with `adopt`, or point tuned-models:endpoint at an emulator)"
            ) from None
        total_steps = op.metadata.totalSteps if op.metadata else None
        log.info(f"{inputs.label}: submitted {name} ({len(examples)} examples, {total_steps or '?'} steps)")
        return Submission(name, op.name, total_steps)

    def track(self, name: str, operation: str | None, epochs: int | None) -> GeminiTracker:
        return GeminiTracker(self.client, name, operation, epochs)

    def progress(self, model: LiveModel) -> Progress | None:
        progress = model.progress
        if model.state is ModelState.FAILED:
            failed = [
                op for op in self.client.list_operations(model.name) if op.done and op.error is not None
            ]
            if failed and failed[0].error is not None:
                progress = dataclasses.replace(progress or Progress(done=True), error=failed[0].error.message)
        if model.state is ModelState.CREATING:
            running = [op for op in self.client.list_operations(model.name) if not op.done]
            meta = running[0].metadata if running else None
            if meta is not None:
                last = meta.snapshots[-1] if meta.snapshots else None
                base = progress or Progress()
                progress = dataclasses.replace(
                    base,
                    percent=meta.completedPercent or 0.0,
                    total_steps=meta.totalSteps,
                    step=last.step if last else base.step,
                    epoch=last.epoch if last else base.epoch,
                    mean_loss=last.meanLoss if last else base.mean_loss,
                )
        return progress

    def update(self, name: str, fields: Mapping[str, Any]) -> LiveModel:
        return live_from_api(self.client.update_tuned_model(name, dict(fields), list(fields)))

    def generate(self, name: str, prompt: str) -> str:
        # No temperature, topP or topK: the model's own apply. The seed makes sampling repeatable
        # where the service honours it (generationConfig.seed).
        config = {"candidateCount": 1, "seed": EVALUATION_SEED}
        return self.client.generate_content(
            name, prompt, generation_config=config, retry_server_errors=True
        ).text

    def delete(self, model: LiveModel, operation: str | None, log: Log) -> None:
        if model.state is ModelState.CREATING:
            op = operation or find_operation(self.client, model.name)
            if op:
                with contextlib.suppress(NotFound):
                    self.client.cancel_operation(op)
                    log.info(f"cancelled the tuning of {model.name}")
        try:
            self.client.delete_tuned_model(model.name)
        except NotFound:
            return
        except PermissionDenied:
            # Only the owner may delete; after an ownership transfer this stack is a WRITER.
            log.warn(
                f"{model.name}: this stack's credentials may not delete it (its ownership was "
                "transferred); it stays on the service and is no longer managed"
            )


def find_operation(client: GeminiClient, model_name: str) -> str | None:
    """The name of the model's unfinished tuning operation, if the service lists one."""
    ops = client.list_operations(model_name)
    for op in ops:
        if not op.done:
            return op.name
    return ops[0].name if ops else None


class GeminiTracker:
    """Tracks a training through its operation; when the operation cannot be found (or
    vanishes), through the model's state."""

    def __init__(self, client: GeminiClient, name: str, operation: str | None, epochs: int | None) -> None:
        self._client = client
        self.name = name
        self._operation = operation
        self._epochs = epochs
        self._looked_up = False
        self._model: TunedModel | None = None

    def poll(self) -> Progress:
        while True:
            if self._operation is None and not self._looked_up:
                self._operation = find_operation(self._client, self.name)
                self._looked_up = True
            if self._operation is None:
                model = self._client.get_tuned_model(self.name)
                if model.state is not TunedModelState.CREATING:
                    self._model = model
                    return Progress(epochs=self._epochs, done=True)
                return Progress(percent=0.0, total_steps=0, epochs=self._epochs)
            try:
                op = self._client.get_operation(self._operation)
            except NotFound:
                # Gone (or never listed): read the model's state from now on.
                self._operation, self._looked_up = None, True
                continue
            return progress_from_operation(op, self._epochs)

    def result(self) -> LiveModel:
        model = self._model or self._client.get_tuned_model(self.name)
        return live_from_api(model)


class GeminiGrants:
    """:class:`tuned_models.backends.base.Grants` over the API's ``permissions``."""

    def __init__(self, client: GeminiClient) -> None:
        self._client = client

    def list(self, model: str) -> list[Grant]:
        return [grant_from_api(p) for p in self._client.list_permissions(model)]

    def create(self, model: str, grant: Grant) -> Grant:
        assert grant.grantee_type is not None and grant.role is not None
        perm = self._client.create_permission(
            model, grantee_type=grant.grantee_type.value, email_address=grant.email, role=grant.role.value
        )
        return grant_from_api(perm)

    def set_role(self, name: str, role: Role) -> Grant:
        return grant_from_api(self._client.update_permission(name, ApiRole(role.value)))

    def get(self, name: str) -> Grant | None:
        try:
            return grant_from_api(self._client.get_permission(name))
        except NotFound:
            return None

    def delete(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self._client.delete_permission(name)

    def transfer(self, model: str, email: str) -> None:
        self._client.transfer_ownership(model, email)
