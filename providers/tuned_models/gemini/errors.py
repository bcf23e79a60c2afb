"""The Gemini API client's errors: the typed errors every client here shares
(:mod:`tuned_models.rest.errors`), under the names this client has always used.

:class:`GeminiError` is :class:`~tuned_models.rest.errors.ServiceError`, the base class.
"""

from __future__ import annotations

from tuned_models.rest.errors import (
    AlreadyExists,
    CredentialsMissing,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    TransportFailure,
    Unauthenticated,
    Unavailable,
    from_response,
    redact,
)

#: The base class of every error the Gemini client raises.
GeminiError = ServiceError

__all__ = [
    "AlreadyExists",
    "CredentialsMissing",
    "FailedPrecondition",
    "GeminiError",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "TransportFailure",
    "Unauthenticated",
    "Unavailable",
    "from_response",
    "redact",
]
