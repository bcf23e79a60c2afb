"""The Gemini API backend's offline checks: its base model names, its 40-character display
names, and its datasets (``{textInput, output}`` examples, at most 4 MB; see
:mod:`tuned_models.model.datasets`). Pure: no HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tuned_models.backends.checks import DatasetRole, problem
from tuned_models.config import Connection
from tuned_models.model.cache import ScanCache
from tuned_models.model.datasets import CheckedExamples, DatasetInfo, checked_file, dataset_problems
from tuned_models.model.problems import Problem
from tuned_models.model.spec import BASE_MODEL_PATTERN, Example, ModelFields

__all__ = ["CHECKS", "MAX_DISPLAY_NAME", "GeminiChecks"]

#: The Gemini API's limit on a tuned model's displayName.
MAX_DISPLAY_NAME = 40


class GeminiChecks:
    """:class:`tuned_models.backends.checks.SpecChecks` for the Gemini API."""

    def spec(self, spec: ModelFields, connection: Connection) -> list[Problem]:
        found: list[Problem] = []
        if spec.baseModel is not None and not BASE_MODEL_PATTERN.match(spec.baseModel):
            found.append(
                problem(
                    "baseModel",
                    f"expected models/<id>, e.g. models/gemini-1.5-flash-001-tuning, got {spec.baseModel!r}",
                )
            )
        if spec.displayName is not None and len(spec.displayName) > MAX_DISPLAY_NAME:
            found.append(
                problem(
                    "displayName",
                    f"must be at most {MAX_DISPLAY_NAME} characters, got {len(spec.displayName)}",
                )
            )
        return found

    def read(self, path: Path, display: str, role: DatasetRole, cache: ScanCache | None) -> CheckedExamples:
        return checked_file(path, display, role.value, cache=cache)

    def inline(self, examples: Sequence[Example]) -> CheckedExamples:
        return CheckedExamples(DatasetInfo.of(examples, None), "examples", dataset_problems(examples))

    def together(self, training: DatasetInfo | None, validation: DatasetInfo | None) -> list[Problem]:
        return []


CHECKS = GeminiChecks()
