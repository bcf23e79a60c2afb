"""The Gemini API client: HTTP only (httpx), credentials, typed errors, retries.

``connect(endpoint, ...)`` builds a :class:`GeminiClient` for the public service, a URL, or the
embedded emulator; the client's methods mirror the REST surface (tuned models, operations,
permissions, generateContent, base models), return the models of :mod:`.types` and raise the
errors of :mod:`.errors`. This package never imports the emulator.
"""

from __future__ import annotations

from .auth import API_KEY_ENV_VARS, OAUTH_SCOPES, ApiKeyAuth, OAuthAuth, resolve_auth
from .client import DEFAULT_RETRY, GeminiClient
from .endpoint import (
    EMBEDDED,
    EMBEDDED_BASE_URL,
    LOCAL_CALLER_KEY,
    PUBLIC_BASE_URL,
    close_embedded_transports,
    connect,
    embedded_transport,
)
from .errors import (
    AlreadyExists,
    CredentialsMissing,
    FailedPrecondition,
    GeminiError,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TransportFailure,
    Unauthenticated,
    Unavailable,
    from_response,
)
from .retry import RetryPolicy, send_with_retry
from .types import (
    GenerateContentResponse,
    GranteeType,
    Hyperparameters,
    Model,
    Operation,
    OperationMetadata,
    Permission,
    Role,
    Status,
    TunedModel,
    TunedModelSource,
    TunedModelState,
    TuningSnapshot,
    TuningTask,
)

__all__ = [
    "API_KEY_ENV_VARS",
    "DEFAULT_RETRY",
    "EMBEDDED",
    "EMBEDDED_BASE_URL",
    "LOCAL_CALLER_KEY",
    "OAUTH_SCOPES",
    "PUBLIC_BASE_URL",
    "AlreadyExists",
    "ApiKeyAuth",
    "CredentialsMissing",
    "FailedPrecondition",
    "GeminiClient",
    "GeminiError",
    "GenerateContentResponse",
    "GranteeType",
    "Hyperparameters",
    "InternalError",
    "InvalidArgument",
    "Model",
    "NotFound",
    "OAuthAuth",
    "Operation",
    "OperationMetadata",
    "Permission",
    "PermissionDenied",
    "ResourceExhausted",
    "RetryPolicy",
    "Role",
    "Status",
    "TransportFailure",
    "TunedModel",
    "TunedModelSource",
    "TunedModelState",
    "TuningSnapshot",
    "TuningTask",
    "Unauthenticated",
    "Unavailable",
    "close_embedded_transports",
    "connect",
    "embedded_transport",
    "from_response",
    "resolve_auth",
    "send_with_retry",
]
