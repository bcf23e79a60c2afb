"""The ``TunedModel`` lifecycle, written once over :class:`tuned_models.backends.base.Backend`.

No Pulumi here: :class:`tuned_models.tuned_model.TunedModelProvider` hands the engine's calls
to :class:`ModelLifecycle` and wraps the results; tests drive it in process.

    diff    :func:`tuned_models.model.planner.decide_inputs` on (old outputs, new inputs); pure.
    create  submit under the deterministic id (the backend re-reads the datasets and checks
            they are the ones the preview saw, and adopts its own earlier submission instead of
            training twice); wait for ACTIVE, bounded by ``timeout``, unless ``wait`` is false. With
            ``adopt``: take over an existing model, patch the declared updatable fields.
    update  patch exactly the changed updatable fields; or pick up a training's outcome.
    gate    once a model with an ``evaluation`` is ACTIVE (created, adopted, or its gate changed),
            :mod:`tuned_models.gate` evaluates it; below ``minScore`` the call fails, so a create
            records nothing (the trained model stays on the service; with create-before-delete
            the serving model stays too) and the next ``up`` adopts and re-evaluates it.
    read    refresh from the service; gone -> None (removed from state).
    delete  the backend removes the model and what its training made; gone is success.

Outputs come from what the service returned (:attr:`LiveModel.outputs`), plus our records:
the declared create-only fields (``trainingSpec``: Pulumi's Python SDK hands ``diff`` the old
outputs, never the old inputs), ``datasetDigest``, ``exampleCount``, ``backend``, the
``operationName``, the gate's outcome (``evaluation``: scores and the worst few examples, see
:class:`tuned_models.model.evaluation.GateResult`) and what this call did (``lastChange``).
Never the examples, never credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Set
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from tuned_models.backends.base import Backend, Log
from tuned_models.config import DEFAULT_BACKEND
from tuned_models.gate import enforce, evaluate
from tuned_models.model.desired import ModelInputs
from tuned_models.model.fields import FieldTable
from tuned_models.model.planner import GATE_FIELD, Decision, decide_inputs, same_value
from tuned_models.model.state import LiveModel, ModelState, iso_z
from tuned_models.waiter import wait_for_training


class LastAction(StrEnum):
    """What a create or update did to a model (the ``lastChange`` output's ``action``)."""

    TRAINED = "trained"
    ADOPTED = "adopted"
    UPDATED = "updated"
    EVALUATED = "evaluated"
    RECORDED = "recorded"


def last_change(action: LastAction, detail: str) -> dict[str, Any]:
    """The ``lastChange`` output: ``{action, detail, time}`` (time in UTC, RFC 3339)."""
    return {"action": action.value, "detail": detail, "time": iso_z(datetime.now(UTC))}


def outputs_from_live(
    model: LiveModel, inputs: ModelInputs, *, operation: str | None, total_steps: int | None
) -> dict[str, Any]:
    """The outputs for ``model`` as the service returned it; our records for the rest."""
    outs: dict[str, Any] = {
        **model.outputs,
        "totalSteps": total_steps or model.outputs.get("totalSteps"),
        "backend": inputs.backend,
        "datasetDigest": inputs.datasetDigest,
        "exampleCount": inputs.exampleCount,
        "trainingSpec": inputs.training_spec(),
        "operationName": operation,
    }
    return {k: v for k, v in outs.items() if v is not None}


def refreshed_outputs(model: LiveModel, olds: Mapping[str, Any], fields: FieldTable) -> dict[str, Any]:
    """Outputs after a refresh: the live model's fields over our own records (a recorded
    ``totalSteps`` is kept; a field the service no longer shows is dropped)."""
    outs = {k: v for k, v in olds.items() if k in fields.outputs}
    for k, v in model.outputs.items():
        if k == "totalSteps" and outs.get(k):
            continue
        if v is None:
            outs.pop(k, None)
        else:
            outs[k] = v
    return outs


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) else None


class ModelLifecycle:
    """Create, update, read and delete tuned models through the backend a model names.

    ``backends`` gives the connected backend of a name (``tuned-models:backend``); ``root`` is
    the project root datasets are read from; ``log`` receives progress lines and warnings;
    ``clock`` and ``sleep`` pace the wait (tests inject a manual clock).
    """

    def __init__(
        self,
        backends: Callable[[str], Backend],
        root: Path,
        log: Log,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._backends = backends
        self._root = root
        self._log = log
        self._clock = clock
        self._sleep = sleep

    # -- plan ----------------------------------------------------------------------------------

    @staticmethod
    def diff(olds: Mapping[str, Any], news: Mapping[str, Any], unknown: Set[str] = frozenset()) -> Decision:
        """The planner's decision (see :func:`tuned_models.model.planner.decide_inputs`)."""
        return decide_inputs(olds, news, unknown)

    # -- act -----------------------------------------------------------------------------------

    def create(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Make the model ``props`` (the resource inputs) declare; returns its id and outputs.

        Raises RuntimeError (with the service's message where there is one),
        :class:`tuned_models.waiter.TuningFailed` or :class:`~tuned_models.waiter.WaitTimeout`.
        """
        inputs = ModelInputs.model_validate(props)
        backend = self._backends(inputs.backend)
        if inputs.adopt:
            model = self._adopt(backend, inputs)
            outputs = outputs_from_live(model, inputs, operation=None, total_steps=None)
            change = last_change(LastAction.ADOPTED, f"took over {model.name}")
            return model.model_id, self._gated(backend, model, inputs, {**outputs, "lastChange": change})
        submission = backend.submit(inputs, self._root, self._log)
        if submission.earlier is not None:
            self._log.info(
                f"{inputs.label}: found {submission.name} from an earlier run "
                f"({submission.earlier.state.value}); adopting it"
            )
        model = self._get(backend, submission.name)
        if inputs.wait and model.state is ModelState.CREATING:
            model = self._wait(backend, submission.name, submission.operation, inputs)
        elif model.state is ModelState.FAILED:
            raise RuntimeError(f"{inputs.label}: {submission.name} failed on the service")
        outputs = outputs_from_live(
            model, inputs, operation=submission.operation, total_steps=submission.total_steps
        )
        if submission.earlier is not None:
            change = last_change(LastAction.ADOPTED, f"adopted {model.name}, trained by an earlier run")
        else:
            change = last_change(
                LastAction.TRAINED, f"trained {model.name} on {inputs.exampleCount} examples"
            )
        return inputs.model_id, self._gated(backend, model, inputs, {**outputs, "lastChange": change})

    def _gated(
        self,
        backend: Backend,
        model: LiveModel,
        inputs: ModelInputs,
        outputs: dict[str, Any],
        *,
        serving: bool = False,
    ) -> dict[str, Any]:
        """``outputs`` with the outcome of the model's quality gate, when it declares one and
        the model is ACTIVE. Raises :class:`tuned_models.gate.GateFailed` below ``minScore``."""
        if inputs.gate is None or model.state is not ModelState.ACTIVE:
            return outputs
        result = evaluate(backend, model.name, inputs, self._root, self._log)
        enforce(result, inputs.label, self._log, serving=serving)
        return {**outputs, GATE_FIELD: result.to_output()}

    def _adopt(self, backend: Backend, inputs: ModelInputs) -> LiveModel:
        assert inputs.adopt is not None
        model = backend.find(inputs.adopt)
        if model is None:
            raise RuntimeError(f"{inputs.label}: cannot adopt {inputs.adopt}: it does not exist")
        base = model.training.get("baseModel")
        source = (model.training.get("tunedModelSource") or {}).get("tunedModel")
        declared_source = inputs.tunedModelSource.tunedModel if inputs.tunedModelSource else None
        if (inputs.baseModel and base != inputs.baseModel) or (declared_source and source != declared_source):
            raise RuntimeError(
                f"{inputs.label}: cannot adopt {inputs.adopt}: it was tuned from "
                f"{base or source}, the spec declares {inputs.baseModel or declared_source}"
            )
        if model.state is ModelState.FAILED:
            raise RuntimeError(f"{inputs.label}: cannot adopt {inputs.adopt}: its tuning FAILED")
        if inputs.wait and model.state is ModelState.CREATING:
            model = wait_for_training(
                backend.track(model.name, None, None),
                timeout=inputs.timeout,
                label=inputs.label,
                log=self._log.info,
                clock=self._clock,
                sleep=self._sleep,
            )
        changed = {f: v for f, v in inputs.mutable().items() if not same_value(model.mutable.get(f), v)}
        if changed:
            model = backend.update(model.name, changed)
        self._log.info(f"{inputs.label}: adopted {model.name}")
        return model

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Patch the changed updatable fields (or pick up a training's outcome); returns the
        new outputs."""
        inputs = ModelInputs.model_validate(news)
        backend = self._backends(inputs.backend)
        decision = decide_inputs(olds, news)
        name = model_name(id_, olds, backend.fields)
        model: LiveModel | None = None
        if decision.update_fields:
            fields = {f: getattr(inputs, f) for f in decision.update_fields}
            model = backend.update(name, fields)
            self._log.info(f"{inputs.label}: updated {', '.join(fields)} of {name}")
        if model is None or model.state is ModelState.CREATING:
            model = self._get(backend, name)
        operation = olds.get("operationName")
        if inputs.wait and model.state is ModelState.CREATING:
            model = self._wait(backend, name, operation, inputs)
        if model.state is ModelState.FAILED:
            self._log.warn(f"{inputs.label}: {name} failed on the service; the next `pulumi up` retrains it")
        outputs = outputs_from_live(
            model, inputs, operation=operation, total_steps=_int(olds.get("totalSteps"))
        )
        return self._after_update(backend, model, inputs, olds, decision, outputs)

    def _after_update(
        self,
        backend: Backend,
        model: LiveModel,
        inputs: ModelInputs,
        olds: Mapping[str, Any],
        decision: Decision,
        outputs: dict[str, Any],
    ) -> dict[str, Any]:
        """``outputs`` of an update with the gate's outcome (evaluated again when the decision
        says so, else the recorded one while the gate stays) and ``lastChange``."""
        done = [f"updated {', '.join(decision.update_fields)}"] if decision.update_fields else []
        action = LastAction.UPDATED if decision.update_fields else LastAction.RECORDED
        if decision.evaluate and inputs.gate is not None:
            outputs = self._gated(backend, model, inputs, outputs, serving=True)
            done.append(f"evaluated against {inputs.gate.describe()}")
            action = action if decision.update_fields else LastAction.EVALUATED
        elif inputs.gate is not None and isinstance(olds.get(GATE_FIELD), Mapping):
            outputs[GATE_FIELD] = olds[GATE_FIELD]
        detail = "; ".join(done) or f"recorded {model.name} {model.state.value}"
        return {**outputs, "lastChange": last_change(action, detail)}

    def read(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        """The outputs refreshed from the service, or None when the model is gone."""
        backend = self._backends(props.get("backend") or DEFAULT_BACKEND)
        model = backend.find(model_name(id_, props, backend.fields))
        return None if model is None else refreshed_outputs(model, props, backend.fields)

    def delete(self, id_: str, props: Mapping[str, Any]) -> None:
        """Delete the model (a running training is stopped first); gone is success."""
        backend = self._backends(props.get("backend") or DEFAULT_BACKEND)
        model = backend.find(model_name(id_, props, backend.fields))
        if model is not None:
            backend.delete(model, props.get("operationName"), self._log)

    # -- helpers -------------------------------------------------------------------------------

    def _get(self, backend: Backend, name: str) -> LiveModel:
        model = backend.find(name)
        if model is None:
            raise RuntimeError(f"{name} is not on the service (deleted while this `up` ran?)")
        return model

    def _wait(self, backend: Backend, name: str, operation: str | None, inputs: ModelInputs) -> LiveModel:
        return wait_for_training(
            backend.track(name, operation, inputs.hyperparameters.epochCount),
            timeout=inputs.timeout,
            label=inputs.label,
            log=self._log.info,
            clock=self._clock,
            sleep=self._sleep,
        )


def model_name(id_: str, props: Mapping[str, Any], fields: FieldTable) -> str:
    """The service name of the model with Pulumi id ``id_``: as recorded in its outputs, else
    what the backend names that id."""
    return str(props.get("name") or fields.model_name(id_) or id_)
