"""What every client of a Google API here shares: the HTTP core, typed errors, retries, and the
endpoint resolver.

- :mod:`.core`: :class:`RestClient`, JSON over one ``httpx.Client`` with retries and paging, and
  :class:`ServiceClient`, the base of each service's client (its lifecycle and options);
- :mod:`.errors`: the typed errors (:class:`ServiceError` and its subclasses) and the one parser
  of Google's ``{"error": {...}}`` bodies (Cloud Storage's included);
- :mod:`.retry`: the retry policy as data and the one loop that applies it;
- :mod:`.endpoint`: ``tuned-models:endpoint`` -> Google's hosts, a URL, or the embedded emulator.

The Gemini API client (:mod:`tuned_models.gemini`) and the Vertex AI and Cloud Storage clients
(:mod:`tuned_models.vertex`) are built on it. Service-neutral: it knows no API's paths.
"""

from __future__ import annotations

from .core import (
    DEFAULT_RETRY,
    CallOptions,
    ClientOptions,
    RestClient,
    ServiceClient,
    parse,
    query_params,
    user_agent,
)
from .endpoint import (
    EMBEDDED_BASE_URL,
    LOOPBACK_HOSTS,
    Target,
    close_embedded_transports,
    embedded_transport,
    resolve_endpoint,
)
from .errors import (
    TRANSIENT_CODES,
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
    error_class,
    from_response,
    redact,
)
from .retry import RetryPolicy, log_retry, send_with_retry

__all__ = [
    "DEFAULT_RETRY",
    "EMBEDDED_BASE_URL",
    "LOOPBACK_HOSTS",
    "TRANSIENT_CODES",
    "AlreadyExists",
    "CallOptions",
    "ClientOptions",
    "CredentialsMissing",
    "FailedPrecondition",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "RestClient",
    "RetryPolicy",
    "ServiceClient",
    "ServiceError",
    "Target",
    "TransportFailure",
    "Unauthenticated",
    "Unavailable",
    "close_embedded_transports",
    "embedded_transport",
    "error_class",
    "from_response",
    "log_retry",
    "parse",
    "query_params",
    "redact",
    "resolve_endpoint",
    "send_with_retry",
    "user_agent",
]
