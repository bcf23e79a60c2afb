"""What Vertex AI supervised tuning accepts: base models, adapter sizes, regions, limits.

From Google's supervised-tuning documentation (limits table, 2025-2026; see
``shared/reference/vertex-tuning-api.md`` section 3). Gemini 2.0 Flash(-Lite) left the 2026
supported list but is kept here: existing stacks name it, and the real service's current answer for
it is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

#: AdapterSize enum names -> adapter size (the enum's *numbers* differ: TWO is 6).
ADAPTER_SIZES: Final[dict[str, int]] = {
    "ADAPTER_SIZE_ONE": 1,
    "ADAPTER_SIZE_TWO": 2,
    "ADAPTER_SIZE_FOUR": 4,
    "ADAPTER_SIZE_EIGHT": 8,
    "ADAPTER_SIZE_SIXTEEN": 16,
    "ADAPTER_SIZE_THIRTY_TWO": 32,
}
ADAPTER_NAMES: Final[dict[int, str]] = {size: name for name, size in ADAPTER_SIZES.items()}

#: The service's message for an adapter size the base model does not take (python-genai #908).
ADAPTER_SIZE_UNSUPPORTED: Final = "The adapter size is not supported for this base model."

MAX_EXAMPLE_TOKENS: Final = 131_072
MAX_DATASET_BYTES: Final = 1 << 30
MAX_VALIDATION_EXAMPLES: Final = 5000
MAX_DISPLAY_NAME: Final = 128
#: A region name (``us-central1``); multi-regions (``us``, ``eu``) and ``global`` only serve.
REGION: Final = re.compile(r"[a-z]+-[a-z]+\d+")
MULTI_REGIONS: Final = ("us", "eu")
#: Examples per tuning step (the service does not document its batch size for Gemini models).
BATCH_SIZE: Final = 8
DEFAULT_EPOCHS: Final = 3
#: At most this many intermediate checkpoints (plus the final one) per job.
MAX_CHECKPOINTS: Final = 10


@dataclass(frozen=True, slots=True)
class TunableModel:
    """A base model supervised tuning accepts.

    ``regions``: where it can be tuned (None = any tuning region); ``serving``: for models served
    only from a multi-region, the endpoint location per tuning region.
    """

    id: str
    adapter_sizes: tuple[int, ...]
    default_adapter_size: int = 4
    regions: tuple[str, ...] | None = None
    serving: dict[str, str] = field(default_factory=dict)

    def endpoint_location(self, location: str) -> str:
        """Where the endpoints of a model tuned in ``location`` live."""
        return self.serving.get(location, location)


_GEMINI_3 = {"us-central1": "us", "europe-west4": "eu"}

TUNABLE_MODELS: Final[tuple[TunableModel, ...]] = (
    TunableModel("gemini-2.5-pro", (1, 2, 4, 8)),
    TunableModel("gemini-2.5-flash", (1, 2, 4, 8, 16)),
    TunableModel("gemini-2.5-flash-lite", (1, 2, 4, 8, 16)),
    TunableModel("gemini-2.0-flash-001", (1, 2, 4, 8)),
    TunableModel("gemini-2.0-flash-lite-001", (1, 2, 4, 8)),
    TunableModel("gemini-3.1-flash-lite", (1, 2, 4, 8, 16), regions=tuple(_GEMINI_3), serving=_GEMINI_3),
    TunableModel("gemini-3.5-flash", (1, 2, 4, 8, 16), regions=tuple(_GEMINI_3), serving=_GEMINI_3),
)


def tunable_model(name: str) -> TunableModel | None:
    """The tunable model ``name`` names (``gemini-2.5-flash`` or
    ``publishers/google/models/gemini-2.5-flash``), or None."""
    model_id = name.removeprefix("publishers/google/models/")
    return next((m for m in TUNABLE_MODELS if m.id == model_id), None)
