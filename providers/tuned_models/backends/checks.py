"""What a backend checks offline, before any call: its rules on a spec's values and its datasets.

Each backend package exports ``CHECKS``, a :class:`SpecChecks` (pure: it reads files, never the
network, and loads no HTTP client). The stack checker (``tuned-models validate``, the program)
and the provider's ``check`` both use it (the provider through :func:`check_model`), so
what ``validate`` rejects the provider's check rejects too, with zero API calls.

Problems are :class:`~tuned_models.model.problems.Problem` values with ``key`` set (the key path
in the model: ``hyperparameters.adapterSize``, ``validationDataset``) and ``file`` and ``model``
left empty for the caller to fill in.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from tuned_models.config import Connection
from tuned_models.model.datasets import DatasetError, DatasetInfo, dataset_path
from tuned_models.model.fields import FieldTable
from tuned_models.model.problems import Problem, Severity
from tuned_models.model.spec import Example, ModelFields


class DatasetRole(StrEnum):
    """What a dataset of a model is for: the examples it trains on, or the validation set."""

    TRAINING = "dataset"
    VALIDATION = "validationDataset"


@dataclass(frozen=True)
class DatasetRead:
    """A dataset as a backend read it: its info (None when it cannot be trained on) and the
    problems found (their messages start with the dataset's path)."""

    info: DatasetInfo | None
    problems: tuple[Problem, ...] = ()


class SpecChecks(Protocol):
    """A backend's offline checks."""

    def spec(self, spec: ModelFields, connection: Connection) -> list[Problem]:
        """The backend's rules on the values of ``spec`` (reads no file)."""
        ...

    def read(self, path: Path, display: str, role: DatasetRole) -> DatasetRead:
        """Read and check the dataset file ``path`` (shown as ``display``) for ``role``.

        Never raises for the file's content or absence."""
        ...

    def inline(self, examples: Sequence[Example]) -> DatasetRead:
        """Check inline ``examples`` (the spec's ``examples``)."""
        ...

    def together(self, training: DatasetInfo | None, validation: DatasetInfo | None) -> list[Problem]:
        """Rules across a model's datasets (a validation set's size relative to the training set)."""
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


_cache_lock = threading.Lock()
_read_cache: dict[tuple[str, str, str, int, int], DatasetRead] = {}


def read_cached(checks: SpecChecks, backend: str, path: Path, display: str, role: DatasetRole) -> DatasetRead:
    """:meth:`SpecChecks.read`, remembered in this process while the file's size and
    modification time stay the same (a provider process checks every model of a preview)."""
    try:
        stat = path.stat()
    except OSError:
        return checks.read(path, display, role)
    key = (backend, str(path.resolve()), role.value, stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        cached = _read_cache.get(key)
    if cached is None:
        cached = checks.read(path, display, role)
        with _cache_lock:
            _read_cache[key] = cached
    return dataclasses.replace(
        cached, info=dataclasses.replace(cached.info, path=display) if cached.info else None
    )


@dataclass(frozen=True)
class ModelCheck:
    """What the backend's checks found in one model: its problems (warnings included) and the
    info of the datasets that could be read, by role."""

    problems: tuple[Problem, ...]
    datasets: dict[DatasetRole, DatasetInfo]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


def check_model(
    spec: ModelFields, fields: FieldTable, checks: SpecChecks, connection: Connection, root: Path
) -> ModelCheck:
    """Every problem the backend finds in ``spec`` and its datasets (read under ``root``,
    remembered per file while it is unchanged): what the provider's ``check`` reports (its
    errors), and the datasets' info the library API builds inputs from."""
    found = spec_problems(spec, fields, checks, connection)
    infos: dict[DatasetRole, DatasetInfo] = {}
    for role in DatasetRole:
        if role.value not in fields.accepted:
            continue
        value = getattr(spec, role.value)
        if role is DatasetRole.TRAINING and spec.examples is not None:
            read = checks.inline(spec.examples)
        elif isinstance(value, str):
            try:
                full = dataset_path(root, value)
            except DatasetError as e:
                found.append(problem(role.value, str(e)))
                continue
            read = read_cached(checks, fields.backend, full, value, role)
        else:
            continue
        found += read.problems
        if read.info is not None:
            infos[role] = read.info
    found += checks.together(infos.get(DatasetRole.TRAINING), infos.get(DatasetRole.VALIDATION))
    return ModelCheck(tuple(found), infos)
