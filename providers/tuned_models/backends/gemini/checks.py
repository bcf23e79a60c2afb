"""The Gemini API backend's offline checks: its base model names, its 40-character display
names, and its datasets (``{textInput, output}`` examples, at most 4 MB; see
:mod:`tuned_models.model.datasets`). Pure: no HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tuned_models.backends.checks import DatasetRead, DatasetRole, problem
from tuned_models.config import Connection
from tuned_models.model.datasets import DatasetError, DatasetInfo, dataset_problems, read_examples
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

    def read(self, path: Path, display: str, role: DatasetRole) -> DatasetRead:
        try:
            examples = read_examples(path)
        except DatasetError as e:
            message = str(e)
            if message.startswith(str(path)):
                message = display + message[len(str(path)) :]
            return DatasetRead(None, (problem(role.value, message),))
        except OSError as e:
            return DatasetRead(None, (problem(role.value, f"{display}: cannot read ({e.strerror or e})"),))
        problems = tuple(p.at("", "", role.value, f"{display}: ") for p in dataset_problems(examples))
        return DatasetRead(DatasetInfo.of(examples, display), problems)

    def inline(self, examples: Sequence[Example]) -> DatasetRead:
        problems = tuple(p.at("", "", "examples") for p in dataset_problems(examples))
        return DatasetRead(DatasetInfo.of(examples, None), problems)

    def together(self, training: DatasetInfo | None, validation: DatasetInfo | None) -> list[Problem]:
        return []


CHECKS = GeminiChecks()
