"""The Gemini API client's errors: the typed errors every client here shares
(:mod:`tuned_models.rest.errors`, every name of it), under the names this client has always used.

:class:`GeminiError` is :class:`~tuned_models.rest.errors.ServiceError`, the base class.
"""

from __future__ import annotations

from tuned_models.rest import errors as _shared
from tuned_models.rest.errors import *  # noqa: F403 - this module is the shared errors under this client's name
from tuned_models.rest.errors import ServiceError

#: The base class of every error the Gemini client raises.
GeminiError = ServiceError

__all__ = ["GeminiError"]
__all__ += _shared.__all__
