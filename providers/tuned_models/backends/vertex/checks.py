"""The Vertex AI backend's offline checks: what the service would refuse, found before any call.

- ``baseModel``: a Vertex AI model id (``gemini-2.5-flash``, or
  ``publishers/google/models/gemini-2.5-flash``), not the Gemini API's ``models/...``; a model
  not in :data:`TUNABLE_MODELS` is a warning (the list changes every few months: the service
  decides);
- ``hyperparameters.adapterSize``: one the base model takes (e.g. not 16 on Gemini 2.5 Pro;
  no Gemini model takes 32);
- the 3.x models tune only in ``us-central1`` and ``europe-west4``;
- ``labels``: Google Cloud's label rules, at most 60 (4 are the product's identity labels),
  keys starting with ``tuned_models_`` reserved;
- datasets (:mod:`tuned_models.vertex.datasets`): ``{textInput, output}`` examples or valid
  ``contents`` records, at most 1 GB of JSONL; a validation set of at most 5,000 examples (and
  at most 30% of the training set when over 1,000).

Pure: no HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuned_models.backends.checks import DatasetRole, problem
from tuned_models.config import Connection
from tuned_models.model.cache import ScanCache
from tuned_models.model.datasets import CheckedExamples, DatasetInfo
from tuned_models.model.problems import Problem, Severity
from tuned_models.model.spec import Example, ModelFields
from tuned_models.vertex.datasets import DatasetKind, scan_dataset, scan_examples, validation_set_problems
from tuned_models.vertex.labels import label_problems

__all__ = ["CHECKS", "PUBLISHER_PREFIX", "TUNABLE_MODELS", "TunableModel", "VertexChecks", "tunable_model"]

#: The long form of a Google base model's name.
PUBLISHER_PREFIX = "publishers/google/models/"
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_KINDS = {DatasetRole.TRAINING: DatasetKind.TRAINING, DatasetRole.VALIDATION: DatasetKind.VALIDATION}


@dataclass(frozen=True)
class TunableModel:
    """A base model Vertex AI's supervised tuning takes, as documented (2025-2026):
    the adapter sizes it allows and the regions it tunes in (empty: any tuning region)."""

    id: str
    adapter_sizes: tuple[int, ...]
    regions: tuple[str, ...] = field(default=())


_GEMINI_3_REGIONS = ("us-central1", "europe-west4")

#: Google's supervised-tuning limits table (``shared/reference/vertex-tuning-api.md`` section 3).
TUNABLE_MODELS: tuple[TunableModel, ...] = (
    TunableModel("gemini-2.5-pro", (1, 2, 4, 8)),
    TunableModel("gemini-2.5-flash", (1, 2, 4, 8, 16)),
    TunableModel("gemini-2.5-flash-lite", (1, 2, 4, 8, 16)),
    TunableModel("gemini-2.0-flash-001", (1, 2, 4, 8)),
    TunableModel("gemini-2.0-flash-lite-001", (1, 2, 4, 8)),
    TunableModel("gemini-3.1-flash-lite", (1, 2, 4, 8, 16), _GEMINI_3_REGIONS),
    TunableModel("gemini-3.5-flash", (1, 2, 4, 8, 16), _GEMINI_3_REGIONS),
)


def tunable_model(base_model: str) -> TunableModel | None:
    """The documented tunable model ``base_model`` names (short or long form), or None."""
    model_id = base_model.removeprefix(PUBLISHER_PREFIX)
    return next((m for m in TUNABLE_MODELS if m.id == model_id), None)


def _sizes(sizes: Sequence[int]) -> str:
    return ", ".join(map(str, sizes))


class VertexChecks:
    """:class:`tuned_models.backends.checks.SpecChecks` for Vertex AI."""

    def spec(self, spec: ModelFields, connection: Connection) -> list[Problem]:
        found: list[Problem] = []
        base = spec.baseModel
        if base is not None:
            if base.startswith("models/") or not _MODEL_ID.match(base.removeprefix(PUBLISHER_PREFIX)):
                found.append(
                    problem(
                        "baseModel",
                        f"expected a Vertex AI model id such as gemini-2.5-flash, got {base!r}"
                        + (
                            "; models/<id> names the Gemini API's models"
                            if base.startswith("models/")
                            else ""
                        ),
                    )
                )
            else:
                found += self._base_model(base, spec, connection)
        if spec.labels:
            found += [problem("labels", message) for message in label_problems(spec.labels)]
        return found

    def _base_model(self, base: str, spec: ModelFields, connection: Connection) -> list[Problem]:
        model = tunable_model(base)
        if model is None:
            return [
                problem(
                    "baseModel",
                    f"{base} is not a base model Vertex AI is documented to tune ("
                    + ", ".join(m.id for m in TUNABLE_MODELS)
                    + "); the service decides",
                    Severity.WARNING,
                )
            ]
        found: list[Problem] = []
        size = spec.hyperparameters.adapterSize
        if size is not None and size not in model.adapter_sizes:
            found.append(
                problem(
                    "hyperparameters.adapterSize",
                    f"{model.id} takes adapter sizes {_sizes(model.adapter_sizes)}, not {size} "
                    "(the service answers: The adapter size is not supported for this base model.)",
                )
            )
        location = connection.vertex.location
        if model.regions and location and location not in model.regions:
            found.append(
                problem(
                    "baseModel",
                    f"{model.id} is tuned only in {' and '.join(model.regions)}, not {location} "
                    "(tuned-models:vertex.location)",
                )
            )
        return found

    def read(self, path: Path, display: str, role: DatasetRole, cache: ScanCache | None) -> CheckedExamples:
        scan = scan_dataset(path, _KINDS[role], cache=cache)
        return CheckedExamples(
            scan.info(display) if scan.readable else None, role.value, scan.problems(display)
        )

    def inline(self, examples: Sequence[Example]) -> CheckedExamples:
        scan = scan_examples([(e.textInput, e.output) for e in examples])
        return CheckedExamples(scan.info(None), "examples", scan.problems(""))

    def together(self, training: DatasetInfo | None, validation: DatasetInfo | None) -> list[Problem]:
        if training is None or validation is None:
            return []
        return [
            p.at("", "", DatasetRole.VALIDATION.value, f"{validation.path}: ")
            for p in validation_set_problems(training.count, validation.count)
        ]


CHECKS = VertexChecks()
