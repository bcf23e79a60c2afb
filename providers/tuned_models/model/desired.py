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
from pathlib import Path
from typing import Any

from pydantic import field_validator, model_validator

from tuned_models.backends import fields_for
from tuned_models.config import DEFAULT_BACKEND
from tuned_models.model.cache import ScanCache
from tuned_models.model.datasets import DatasetInfo, training_data
from tuned_models.model.fields import FieldTable
from tuned_models.model.ids import tuned_model_id
from tuned_models.model.spec import Integer, ModelFields, ResourceName


@dataclass(frozen=True)
class Desired:
    """What the spec declares for one model, reduced to what decides an action.

    ``model_id`` is the deterministic id (:func:`tuned_models.model.ids.tuned_model_id`);
    ``name`` the model's service name when it is known before it exists (the adopted name, or
    the name the backend gives an id it lets the client choose), else None.
    """

    model_id: str
    training: Mapping[str, Any]
    mutable: Mapping[str, Any]
    fields: FieldTable
    adopt: str | None = None
    name: str | None = None


class ModelInputs(ModelFields):
    """The inputs of a ``TunedModel`` resource (numbers may arrive as floats from the engine)."""

    project: str
    stack: str
    resourceName: ResourceName
    backend: str = DEFAULT_BACKEND
    datasetDigest: str | None = None
    exampleCount: Integer | None = None

    @field_validator("backend")
    @classmethod
    def _backend(cls, v: str) -> str:
        fields_for(v)  # raises ValueError naming the backends there are
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ModelInputs:
        problem = self.sources_problem(trains=self.dataset is not None or self.examples is not None)
        if problem:
            raise ValueError(problem)
        if self.adopt is None and self.datasetDigest is None:
            raise ValueError("datasetDigest is required to train a model")
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

    def desired(self) -> Desired:
        model_id = self.model_id
        name = self.adopt or self.fields.model_name(model_id)
        return Desired(model_id, self.training_spec(), self.mutable(), self.fields, self.adopt, name)

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


def inputs_problems(
    inputs: ModelInputs, project_root: Path, cache: ScanCache | None = None
) -> list[tuple[str, str]]:
    """What is wrong with the examples ``inputs`` train on, as ``(input name, reason)`` pairs:
    the rules ``validate`` applies (:func:`tuned_models.model.datasets.training_data`: the file
    exists in the project, is a regular file, parses, has examples with non-empty texts within
    the length limits), and a ``datasetDigest`` that is not the digest of those examples (the
    file changed since the program read it). Reads the dataset (cached by content); no API call.
    """
    data = training_data(inputs, project_root, cache=cache)
    found = [(data.key, p.message) for p in data.errors]
    if not found and data.info is not None and data.info.digest != inputs.datasetDigest:
        where = inputs.dataset or "the inline examples"
        found.append(
            (
                "datasetDigest",
                f"{inputs.datasetDigest} is not the digest of {where} ({data.info.digest}): the "
                "examples changed since the program read them; run the command again",
            )
        )
    return found


def model_inputs(
    project: str,
    stack: str,
    name: str,
    spec: ModelFields,
    dataset: DatasetInfo | None,
    *,
    backend: str = DEFAULT_BACKEND,
) -> ModelInputs:
    """The ``TunedModel`` inputs for one spec: the one desired-state builder.

    Inline ``examples`` are inputs (they are in the stack file already); a ``dataset`` file is
    passed by path and digest only, never its examples. Raises ValueError (a pydantic
    ValidationError) when the spec cannot train: no dataset info for a model that is not adopted.
    """
    values: dict[str, Any] = {
        "project": project,
        "stack": stack,
        "resourceName": name,
        "backend": backend,
        **{f: getattr(spec, f) for f in ModelFields.model_fields},
        "datasetDigest": dataset.digest if dataset else None,
        "exampleCount": dataset.count if dataset else None,
    }
    return ModelInputs.model_validate({k: v for k, v in values.items() if v is not None})
