"""What a backend checks offline, before any call: its rules on a spec's values and its datasets.

Each backend package exports ``CHECKS``, a :class:`SpecChecks` (pure: it reads files, never the
network, and loads no HTTP client). The stack checker (``tuned-models validate``, the program),
the library API (:func:`check_model`) and the provider's ``check`` (:func:`inputs_problems`)
all use it, so what ``validate`` rejects the provider's check rejects too, with zero API calls.
Dataset files are read through the scan cache (:func:`tuned_models.model.datasets.cached_scan`):
an unchanged file costs one hash of its bytes, in every process.

Problems are :class:`~tuned_models.model.problems.Problem` values with ``key`` set (the key path
in the model: ``hyperparameters.adapterSize``, ``validationDataset``) and ``file`` and ``model``
left empty for the caller to fill in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from tuned_models.config import Connection
from tuned_models.model.cache import ScanCache
from tuned_models.model.datasets import (
    CheckedExamples,
    DatasetError,
    DatasetInfo,
    dataset_path,
    evaluation_data,
)
from tuned_models.model.desired import ModelInputs
from tuned_models.model.fields import FieldTable
from tuned_models.model.problems import Problem, Severity, error
from tuned_models.model.spec import Example, ModelFields


class DatasetRole(StrEnum):
    """What a dataset of a model is for: the examples it trains on, or the validation set."""

    TRAINING = "dataset"
    VALIDATION = "validationDataset"


#: The input that carries the digest of each dataset (the examples' digest for a model that
#: trains on inline ``examples``).
DIGEST_INPUTS = {DatasetRole.TRAINING: "datasetDigest", DatasetRole.VALIDATION: "validationDatasetDigest"}


class SpecChecks(Protocol):
    """A backend's offline checks."""

    def spec(self, spec: ModelFields, connection: Connection) -> list[Problem]:
        """The backend's rules on the values of ``spec`` (reads no file)."""
        ...

    def read(self, path: Path, display: str, role: DatasetRole, cache: ScanCache | None) -> CheckedExamples:
        """Read and check the dataset file ``path`` (shown as ``display``) for ``role``, through
        the scan cache ``cache`` (None: none): the info of its examples as the backend digests
        them, and its problems (``key``: ``role``'s). Never raises for the file's content or
        absence."""
        ...

    def inline(self, examples: Sequence[Example]) -> CheckedExamples:
        """Check inline ``examples`` (the spec's ``examples``; ``key``: ``examples``)."""
        ...

    def together(self, training: DatasetInfo | None, validation: DatasetInfo | None) -> list[Problem]:
        """Rules across a model's datasets (a validation set's size relative to the training set),
        placed under their keys."""
        ...


def problem(key: str, message: str, severity: Severity = Severity.ERROR) -> Problem:
    """A problem at ``key`` of a model, not yet placed in a file."""
    return Problem(severity, "", "", key, message)


def declared_values(spec: ModelFields) -> dict[str, Any]:
    """The fields ``spec`` sets to something else than nothing (field name -> value)."""
    return {name: getattr(spec, name) for name in type(spec).model_fields}


def spec_problems(
    spec: ModelFields, fields: FieldTable, checks: SpecChecks, connection: Connection
) -> list[Problem]:
    """The keys of ``spec`` the backend does not take (its table's refusals), then its rules."""
    refused = [problem(key, message) for key, message in fields.refusals(declared_values(spec))]
    return refused + checks.spec(spec, connection)


def dataset_file(
    checks: SpecChecks, root: Path, path: str, role: DatasetRole, cache: ScanCache | None
) -> CheckedExamples:
    """The dataset file ``path`` (relative to the project ``root``) checked by the backend for
    ``role``: a path outside the project (:func:`~tuned_models.model.datasets.dataset_path`) is
    a problem, the file is not read. Never raises."""
    try:
        full = dataset_path(root, path)
    except DatasetError as e:
        return CheckedExamples(None, role.value, [error(str(e))])
    return checks.read(full, path, role, cache)


@dataclass(frozen=True)
class ModelCheck:
    """What the checks found in one model: its problems (warnings included; each under its key,
    in no file yet), the info of the datasets that could be read, by role, and of its quality
    gate's examples (``evaluation``)."""

    problems: tuple[Problem, ...]
    datasets: dict[DatasetRole, DatasetInfo]
    evaluation: DatasetInfo | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


def check_datasets(
    spec: ModelFields | None,
    values: Mapping[str, Any],
    fields: FieldTable,
    checks: SpecChecks,
    read: Callable[[str, DatasetRole], CheckedExamples],
) -> ModelCheck:
    """The datasets a model declares, checked as its backend reads them: its inline examples
    (``spec``, when it validated) or the files ``values`` names (``dataset``,
    ``validationDataset``: the spec's, or the stack file's when the spec did not validate),
    each read by ``read(path, role)``; then the backend's rules across them. ``datasets`` has
    the info of those that can be trained on (read, no errors)."""
    found: list[Problem] = []
    infos: dict[DatasetRole, DatasetInfo] = {}
    for role in DatasetRole:
        if role.value not in fields.accepted:
            continue
        if role is DatasetRole.TRAINING and spec is not None and spec.examples is not None:
            data = checks.inline(spec.examples)
        else:
            value = values.get(role.value)
            if not isinstance(value, str):
                continue
            data = read(value, role)
        found += [p.at("", "", data.key) for p in data.problems]
        if data.info is not None and not data.errors:
            infos[role] = data.info
    if spec is not None:
        found += checks.together(infos.get(DatasetRole.TRAINING), infos.get(DatasetRole.VALIDATION))
    return ModelCheck(tuple(found), infos)


def check_model(
    spec: ModelFields,
    fields: FieldTable,
    checks: SpecChecks,
    connection: Connection,
    root: Path,
    cache: ScanCache | None = None,
) -> ModelCheck:
    """Every problem the backend finds in ``spec``, its datasets and its quality gate's examples
    (read under ``root``, through the scan cache ``cache``): what the provider's ``check``
    reports (its errors), and the examples' info the library API builds inputs from."""
    found = spec_problems(spec, fields, checks, connection)
    datasets = check_datasets(
        spec,
        declared_values(spec),
        fields,
        checks,
        lambda path, role: dataset_file(checks, root, path, role, cache),
    )
    gate = evaluation_data(spec, root, cache=cache)
    gate_problems = [p.at("", "", gate.key) for p in gate.problems]
    return ModelCheck((*found, *datasets.problems, *gate_problems), datasets.datasets, gate.info)


def inputs_problems(
    inputs: ModelInputs, checks: SpecChecks, connection: Connection, root: Path, cache: ScanCache | None
) -> list[Problem]:
    """What the provider's ``check`` refuses in a model's inputs, with no call to the service:
    the errors :func:`check_model` finds, and a dataset digest (``datasetDigest``,
    ``validationDatasetDigest``, ``evaluationDigest``) that is not the digest of the examples
    it names (they changed since the program read them)."""
    checked = check_model(inputs, inputs.fields, checks, connection, root, cache)
    found = checked.errors
    if found:
        return found
    declared = [
        (DIGEST_INPUTS[role], getattr(inputs, DIGEST_INPUTS[role]), info)
        for role, info in checked.datasets.items()
    ]
    if checked.evaluation is not None:
        declared.append(("evaluationDigest", inputs.evaluationDigest, checked.evaluation))
    for key, digest, info in declared:
        if info.digest != digest:
            what = info.path or (
                "the inline evaluation examples" if key == "evaluationDigest" else "the inline examples"
            )
            found.append(
                problem(
                    key,
                    f"{digest} is not the digest of {what} ({info.digest}): the examples changed since "
                    "the program read them; run the command again",
                )
            )
    return found
