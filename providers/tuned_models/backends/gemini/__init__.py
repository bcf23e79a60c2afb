"""The Gemini API backend (``tuned-models:backend: gemini``, the default).

:data:`FIELDS` (pure data) says what each field does on change; :data:`CHECKS` its offline
rules (base model names, display names, datasets); :mod:`.backend` implements
:class:`tuned_models.backends.base.Backend` over :class:`tuned_models.gemini.GeminiClient`
and is imported only when a model is read or written.
"""

from __future__ import annotations

from .checks import CHECKS
from .fields import FIELDS

__all__ = ["CHECKS", "FIELDS"]
