"""What checking a stack gives: :class:`LoadedStack`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuned_models.config import Connection
from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.problems import Problem, Severity
from tuned_models.model.spec import ModelSpec


@dataclass(frozen=True)
class LoadedStack:
    """A stack file, parsed and checked.

    ``connection`` is the stack's service settings (never the key's value from a stack file).
    ``models`` holds the models whose spec validated (in file order); ``model_names`` every
    declared resource name. ``datasets`` has an entry for every valid model whose examples could
    be read (content problems such as empty inputs are still listed in ``problems``);
    ``validation_datasets`` the same for ``validationDataset`` (the vertex backend), and
    ``evaluations`` for the examples of each declared quality gate. The stack is usable only
    when :attr:`ok` (no errors).
    """

    name: str
    path: str
    connection: Connection
    models: dict[str, ModelSpec]
    problems: list[Problem]
    datasets: dict[str, DatasetInfo] = field(default_factory=dict)
    model_names: tuple[str, ...] = ()
    validation_datasets: dict[str, DatasetInfo] = field(default_factory=dict)
    evaluations: dict[str, DatasetInfo] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors
