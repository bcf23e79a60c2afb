"""The desired state of one tuned model: built once, the same way, by the program, ``plan``,
the library API and the provider.

:func:`model_inputs` turns (project, stack, resource name, spec, dataset info, backend) into
:class:`ModelInputs`, the ``TunedModel`` resource's inputs; the provider validates the inputs
the engine sends back into the same class. :meth:`ModelInputs.desired` reduces them to the
:class:`Desired` state the planner compares with what is recorded or observed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import field_validator, model_validator

from tuned_models.backends import fields_for
from tuned_models.config import DEFAULT_BACKEND
from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.evaluation import Gate
from tuned_models.model.fields import FieldTable
from tuned_models.model.ids import training_digest, tuned_model_id
from tuned_models.model.spec import Integer, ModelFields, ResourceName


@dataclass(frozen=True)
class Desired:
    """What the spec declares for one model, reduced to what decides an action.

    ``model_id`` is the deterministic id (:func:`tuned_models.model.ids.tuned_model_id`);
    ``name`` the model's service name when it is known before it exists (the adopted name, or
    the name the backend gives an id it lets the client choose), else None. ``gate``: the
    quality gate the model must pass before it serves, if it declares one.
    """

    model_id: str
    training: Mapping[str, Any]
    mutable: Mapping[str, Any]
    fields: FieldTable
    adopt: str | None = None
    name: str | None = None
    gate: Gate | None = None


class ModelInputs(ModelFields):
    """The inputs of a ``TunedModel`` resource (numbers may arrive as floats from the engine)."""

    project: str
    stack: str
    resourceName: ResourceName
    backend: str = DEFAULT_BACKEND
    datasetDigest: str | None = None
    exampleCount: Integer | None = None
    validationDatasetDigest: str | None = None
    validationExampleCount: Integer | None = None
    evaluationDigest: str | None = None

    @field_validator("backend")
    @classmethod
    def _backend(cls, v: str) -> str:
        fields_for(v)  # raises ValueError naming the backends there are
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ModelInputs:
        problem = self.sources_problem()
        if problem:
            raise ValueError(problem)
        if self.adopt is None and self.datasetDigest is None:
            raise ValueError("datasetDigest is required to train a model")
        if self.validationDataset is not None and self.validationDatasetDigest is None:
            raise ValueError("validationDatasetDigest is required with a validationDataset")
        if self.tunedModelSource is not None and self.tunedModelSource.tunedModel is None:
            raise ValueError(
                "tunedModelSource.model names a model of the stack: the program passes that "
                "model's name as tunedModelSource.tunedModel"
            )
        if self.evaluation is not None and self.evaluationDigest is None:
            raise ValueError("evaluationDigest is required for a model with an evaluation")
        return self

    @property
    def fields(self) -> FieldTable:
        """The field table of this model's backend."""
        return fields_for(self.backend)

    def training_spec(self) -> dict[str, Any]:
        """The declared create-only fields: what the id's digest and a retrain decision cover."""
        return self.fields.training_spec({name: getattr(self, name) for name in self.fields.training})

    def mutable(self) -> dict[str, Any]:
        """The declared updatable fields (undeclared ones are not managed)."""
        values = {f: getattr(self, f) for f in self.fields.updatable}
        return {f: v for f, v in values.items() if v is not None}

    @property
    def model_id(self) -> str:
        """The deterministic id (DESIGN.md decision 1)."""
        return tuned_model_id(self.project, self.stack, self.resourceName, self.training_spec())

    @property
    def spec_digest(self) -> str:
        """The full SHA-256 (hex) of the training spec, whose 5 base-36 characters end :attr:`model_id`."""
        return training_digest(self.project, self.stack, self.resourceName, self.training_spec())

    @property
    def gate(self) -> Gate | None:
        """The declared quality gate, or None."""
        if self.evaluation is None or self.evaluationDigest is None:
            return None
        return Gate(self.evaluation.metric, self.evaluation.minScore, self.evaluationDigest)

    def desired(self) -> Desired:
        model_id = self.model_id
        name = self.adopt or self.fields.model_name(model_id)
        return Desired(
            model_id, self.training_spec(), self.mutable(), self.fields, self.adopt, name, self.gate
        )

    @property
    def label(self) -> str:
        """How progress lines and errors name this model: its resource name."""
        return self.resourceName

    def to_inputs(self) -> dict[str, Any]:
        """The resource inputs as the engine stores them: camelCase, unset fields absent."""
        values: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        if not self.hyperparameters.declared():
            values["hyperparameters"] = {}
        return values


def model_inputs(
    project: str,
    stack: str,
    name: str,
    spec: ModelFields,
    dataset: DatasetInfo | None,
    *,
    backend: str = DEFAULT_BACKEND,
    validation: DatasetInfo | None = None,
    evaluation: DatasetInfo | None = None,
    source_name: str | None = None,
) -> ModelInputs:
    """The ``TunedModel`` inputs for one spec: the one desired-state builder.

    Inline ``examples`` are inputs (they are in the stack file already); a ``dataset`` file (and
    a ``validationDataset``) is passed by path and digest only, never its examples; so are the
    examples of the quality gate (``evaluation``: their info). The dataset digests are the
    backend's (its :class:`~tuned_models.backends.checks.SpecChecks` reads them).
    ``source_name``: the service name of the model a ``tunedModelSource: {model: ...}`` names (it
    becomes ``tunedModelSource.tunedModel``, so the id, and a retrain, follow that model).
    Raises ValueError (a pydantic ValidationError) when the spec cannot train: no dataset info
    for a model that is not adopted, no validation info for a declared validation set, no
    evaluation info for a model with a gate, or a ``tunedModelSource.model`` without
    ``source_name``.
    """
    values: dict[str, Any] = {
        "project": project,
        "stack": stack,
        "resourceName": name,
        "backend": backend,
        **{f: getattr(spec, f) for f in ModelFields.model_fields},
        "datasetDigest": dataset.digest if dataset else None,
        "exampleCount": dataset.count if dataset else None,
        "validationDatasetDigest": validation.digest if validation else None,
        "validationExampleCount": validation.count if validation else None,
        "evaluationDigest": evaluation.digest if evaluation else None,
    }
    source = spec.tunedModelSource
    if source is not None and source.model is not None and source_name is not None:
        values["tunedModelSource"] = {"tunedModel": source_name}
    return ModelInputs.model_validate({k: v for k, v in values.items() if v is not None})


def source_of(spec: ModelFields) -> str | None:
    """The resource name of the stack's model ``spec`` is tuned from (``tunedModelSource.model``)."""
    return spec.tunedModelSource.model if spec.tunedModelSource is not None else None


def creation_order(specs: Mapping[str, Any]) -> list[str]:
    """The resource names of ``specs`` (name -> a spec with ``dependsOn`` and maybe a
    ``tunedModelSource``) with every model after those it depends on or is tuned from; file
    order otherwise. Unknown names and cycles (which ``validate`` reports) are ignored."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return
        visiting.add(name)
        spec = specs[name]
        for dep in [*getattr(spec, "dependsOn", []), source_of(spec)]:
            if dep is not None and dep in specs:
                visit(dep)
        visiting.discard(name)
        order.append(name)

    for name in specs:
        visit(name)
    return order


def stack_inputs(
    project: str,
    stack: str,
    specs: Mapping[str, ModelFields],
    datasets: Mapping[str, DatasetInfo],
    *,
    validations: Mapping[str, DatasetInfo] | None = None,
    evaluations: Mapping[str, DatasetInfo] | None = None,
    backend: str = DEFAULT_BACKEND,
    names: Mapping[str, str] | None = None,
) -> dict[str, ModelInputs]:
    """The inputs of every model of a stack, in :func:`creation_order`, each source reference
    (``tunedModelSource.model``) resolved to that model's name as the program passes it: the
    source's desired name when the backend knows it before the model exists, else
    ``names[source]`` (e.g. what the state records). ``datasets``, ``validations``,
    ``evaluations``: the info of each model's examples, validation set and gate examples. A
    model whose source's name is not known is left out. Raises ValueError as
    :func:`model_inputs` does."""
    known = dict(names or {})
    result: dict[str, ModelInputs] = {}
    for name in creation_order(specs):
        spec = specs[name]
        source = source_of(spec)
        source_name = None
        if source is not None:
            source_name = known.get(source)
            if source_name is None:
                continue
        inputs = model_inputs(
            project,
            stack,
            name,
            spec,
            datasets.get(name),
            validation=(validations or {}).get(name),
            evaluation=(evaluations or {}).get(name),
            backend=backend,
            source_name=source_name,
        )
        desired_name = inputs.desired().name
        if desired_name is not None:
            known[name] = desired_name  # what the program passes when the name is known before
        result[name] = inputs
    return result
