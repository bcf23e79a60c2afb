"""The Vertex AI backend (``tuned-models:backend: vertex``): supervised tuning jobs on Vertex AI.

:data:`FIELDS` (pure data) says what each field does on change; :data:`CHECKS` its offline
rules (base models, adapter sizes, labels, ``contents`` datasets and their limits);
:mod:`.backend` implements :class:`tuned_models.backends.base.Backend` over
:class:`tuned_models.vertex.client.VertexClient` and is imported only when a model is read or
written.
"""

from __future__ import annotations

from .checks import CHECKS
from .fields import FIELDS

__all__ = ["CHECKS", "FIELDS"]
