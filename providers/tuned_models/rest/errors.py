"""Typed errors of the clients of Google's APIs, and the one place that builds them from a response.

The Gemini API, Vertex AI and Cloud Storage clients raise the same classes, so a caller catches
``NotFound`` whichever service answered. The exception tree::

    ServiceError                     .code (HTTP or None) .status .message .details .retry_after
                                     .transient (429, 5xx, no response: the call may succeed later)
     ├── InvalidArgument             400 INVALID_ARGUMENT (also OUT_OF_RANGE, bad API key)
     ├── FailedPrecondition          400 FAILED_PRECONDITION (also Cloud Storage's 412)
     ├── Unauthenticated             401 UNAUTHENTICATED
     │    └── CredentialsMissing     no API key and no application default credentials (local)
     ├── PermissionDenied            403 PERMISSION_DENIED (also a missing OAuth scope)
     ├── NotFound                    404 NOT_FOUND
     ├── AlreadyExists               409 ALREADY_EXISTS
     ├── ResourceExhausted           429 RESOURCE_EXHAUSTED (quota or rate)
     ├── InternalError               500 INTERNAL
     ├── Unavailable                 503 UNAVAILABLE
     └── TransportFailure            no HTTP response: connection refused/dropped, timeout

A service error carries the service's own ``message``; ``str(err)`` reads like
``404 NOT_FOUND: Tuned model tunedModels/x does not exist.``, and names the wait the service asked
for when it asked for one (``... (the service asks to retry after 120 s)``). Cloud Storage's error bodies name
no ``status``: the status is derived from the HTTP code (a create-only upload's 412 reads
``412 FAILED_PRECONDITION``), and the body's ``errors[].reason`` (``conditionNotMet``) is kept in
``details``. No error ever carries an API key or
an OAuth token: the client sends credentials only in headers, :func:`from_response` redacts any
credential the request carried from the message, and :class:`TransportFailure` names the method
and path of the request but never its query string or headers.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable
from typing import Any, ClassVar

import httpx

__all__ = [
    "TRANSIENT_CODES",
    "AlreadyExists",
    "CredentialsMissing",
    "FailedPrecondition",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "ServiceError",
    "TransportFailure",
    "Unauthenticated",
    "Unavailable",
    "error_class",
    "from_response",
    "redact",
]

#: HTTP codes of failures that pass with time: rate limited, the service failed or is unavailable.
TRANSIENT_CODES = frozenset({429, 500, 502, 503, 504})
_REDACTED = "<redacted>"
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


class ServiceError(Exception):
    """An error from a Google API (or from reaching it).

    Attributes:
        code: the HTTP status code, or ``None`` when no response was received.
        status: the service's canonical status string (``"NOT_FOUND"`` ...).
        message: the service's message, unchanged except for redacted credentials.
        details: the service's ``error.details`` list (``google.rpc.*`` objects as dicts).
        retry_after: seconds the service asked us to wait (``Retry-After`` header or
            ``google.rpc.RetryInfo.retryDelay``), else ``None``.
        attempts: how many times the request was sent before this error was raised
            (``> 1`` means earlier attempts failed and were retried).
    """

    default_code: ClassVar[int | None] = None
    default_status: ClassVar[str] = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: str | None = None,
        details: Iterable[Any] = (),
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.code: int | None = self.default_code if code is None else code
        self.status: str = status or self.default_status
        self.message: str = message
        self.details: list[Any] = list(details)
        self.retry_after: float | None = retry_after
        self.attempts: int = attempts

    def __str__(self) -> str:
        prefix = f"{self.code} {self.status}" if self.code is not None else self.status
        wait = f" (the service asks to retry after {self.retry_after:g} s)" if self.retry_after else ""
        return f"{prefix}: {self.message}{wait}"

    @property
    def transient(self) -> bool:
        """True when the same call may succeed later: rate limited (429), the service failed or
        is unavailable (500, 502, 503, 504), or no response came back."""
        return self.code in TRANSIENT_CODES

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor arguments: rebuild explicitly so errors survive pickling
        # (Pulumi's provider process and thread pools may move them across boundaries).
        return (_rebuild, (type(self), self.message, self.__getstate__()))

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rebuild(cls: type[ServiceError], message: str, state: dict[str, Any]) -> ServiceError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class InvalidArgument(ServiceError):
    """400: the request is malformed or a field is invalid (also an invalid API key)."""

    default_code = 400
    default_status = "INVALID_ARGUMENT"


class FailedPrecondition(ServiceError):
    """400 FAILED_PRECONDITION: the resource is not in a state that allows the call (an endpoint
    that still serves a model); also Cloud Storage's 412 Precondition Failed (``code`` 412: a
    create-only upload of an object that exists)."""

    default_code = 400
    default_status = "FAILED_PRECONDITION"


class Unauthenticated(ServiceError):
    """401: the credentials are missing, invalid or expired."""

    default_code = 401
    default_status = "UNAUTHENTICATED"


class CredentialsMissing(Unauthenticated):
    """No credentials could be found locally; raised before any request is sent (``code`` None)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = None


class PermissionDenied(ServiceError):
    """403: the caller may not do this (no access to the tuned model, missing OAuth scope)."""

    default_code = 403
    default_status = "PERMISSION_DENIED"


class NotFound(ServiceError):
    """404: the tuned model, operation, permission or base model does not exist."""

    default_code = 404
    default_status = "NOT_FOUND"


class AlreadyExists(ServiceError):
    """409: a resource with this id exists (a create with a ``tunedModelId`` that is taken)."""

    default_code = 409
    default_status = "ALREADY_EXISTS"


class ResourceExhausted(ServiceError):
    """429: quota or rate limit; ``retry_after`` says how long the service asked us to wait."""

    default_code = 429
    default_status = "RESOURCE_EXHAUSTED"


class InternalError(ServiceError):
    """500: the service failed."""

    default_code = 500
    default_status = "INTERNAL"


class Unavailable(ServiceError):
    """503: the service is overloaded or down; safe calls are retried before this is raised."""

    default_code = 503
    default_status = "UNAVAILABLE"


class TransportFailure(ServiceError):
    """No HTTP response: the connection failed, was dropped, or timed out (after retries).

    ``error_class`` is the name of the httpx exception (``ConnectError``, ``ReadTimeout`` ...);
    ``method`` and ``path`` say which request failed. The query string is never kept.
    """

    default_status = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        error_class: str,
        method: str,
        path: str,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.error_class = error_class
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.error_class}: {self.method} {self.path}: {self.message}"

    @property
    def transient(self) -> bool:
        """Always: no response came back (the connection failed, was dropped or timed out)."""
        return True

    @classmethod
    def from_httpx(cls, exc: httpx.RequestError, *, attempts: int = 1) -> TransportFailure:
        """Wrap an httpx transport error, keeping its class name, method and path only."""
        method, path, secrets = "?", "?", []
        try:
            request = exc.request
        except RuntimeError:  # httpx raises when the error was built without a request
            request = None
        if request is not None:
            method, path = request.method, request.url.path
            secrets = [str(request.url), request.url.query.decode("ascii", "replace")]
            secrets += _request_secrets(request)
        text = redact(str(exc) or type(exc).__name__, secrets)
        return cls(text, error_class=type(exc).__name__, method=method, path=path, attempts=attempts)


#: Canonical status string -> class. Known statuses without a class of their own map to the base
#: class so that, e.g., 409 ABORTED is never mistaken for ALREADY_EXISTS.
_BY_STATUS: dict[str, type[ServiceError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "OUT_OF_RANGE": InvalidArgument,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "INTERNAL": InternalError,
    "UNAVAILABLE": Unavailable,
    "ABORTED": ServiceError,
    "CANCELLED": ServiceError,
    "DATA_LOSS": ServiceError,
    "DEADLINE_EXCEEDED": ServiceError,
    "UNIMPLEMENTED": ServiceError,
    "UNKNOWN": ServiceError,
}

#: HTTP code -> class, used when the body names no known status.
_BY_CODE: dict[int, type[ServiceError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: AlreadyExists,
    412: FailedPrecondition,
    429: ResourceExhausted,
    500: InternalError,
    503: Unavailable,
}

#: The canonical status of an HTTP code when the body gives none (google.rpc code mapping).
_STATUS_OF_CODE: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_class(status: str) -> type[ServiceError]:
    """The class of a canonical status (``"NOT_FOUND"`` -> :class:`NotFound`):
    :class:`ServiceError` itself for a status without a class of its own, or an unknown one."""
    return _BY_STATUS.get(status, ServiceError)


def from_response(response: httpx.Response, *, attempts: int = 1) -> ServiceError:
    """Turn an error response into the matching :class:`ServiceError` subclass.

    The class is chosen by ``error.status`` first, then by the HTTP code (Cloud Storage names
    no status; its ``errors`` list is kept as the details). The service's
    ``error.message`` and ``error.details`` are kept; a body that is not the Google JSON error
    shape (HTML from a proxy, plain text, empty) becomes a message built from the HTTP reason
    phrase and the start of the body. Credentials the request carried are redacted from the
    message. Never raises.
    """
    code = response.status_code
    body = _read_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    status: str | None = None
    message: str | None = None
    details: list[Any] = []
    if isinstance(error, dict):
        if isinstance(error.get("status"), str) and error["status"]:
            status = error["status"]
        if isinstance(error.get("message"), str):
            message = error["message"]
        if isinstance(error.get("details"), list):
            details = error["details"]
        elif isinstance(error.get("errors"), list):
            # Cloud Storage: {"errors": [{"reason": "conditionNotMet", ...}]} instead of details.
            details = error["errors"]
    elif isinstance(error, str):
        # OAuth endpoints answer {"error": "invalid_grant", "error_description": "..."}.
        message = str(body.get("error_description") or error)
    if message is None:
        message = _fallback_message(response)
    derived = status or _STATUS_OF_CODE.get(code)
    cls = _BY_STATUS.get(derived or "") or _BY_CODE.get(code) or ServiceError
    secrets = _request_secrets(response.request) if _has_request(response) else []
    if secrets and details:
        details = json.loads(redact(json.dumps(details), [json.dumps(s)[1:-1] for s in secrets]))
    return cls(
        redact(message, secrets),
        code=code,
        status=derived or cls.default_status,
        details=details,
        retry_after=_retry_after(response, details),
        attempts=attempts,
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every non-empty secret replaced by ``<redacted>``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - httpx raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def _request_secrets(request: httpx.Request) -> list[str]:
    """The credential values a request carries (API key header, bearer token)."""
    secrets = []
    key = request.headers.get("x-goog-api-key")
    if key:
        secrets.append(key)
    authorization = request.headers.get("authorization", "")
    if authorization:
        secrets.append(authorization)
        _, _, token = authorization.partition(" ")
        if token:
            secrets.append(token)
    key_param = request.url.params.get("key")
    if key_param:
        secrets.append(key_param)
    return secrets


def _read_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def _fallback_message(response: httpx.Response) -> str:
    reason = response.reason_phrase or "HTTP error"
    text = response.content[:200].decode("utf-8", "replace").strip()
    text = " ".join(text.split())
    return f"{reason} (non-JSON body: {text})" if text else reason


def _retry_after(response: httpx.Response, details: list[Any]) -> float | None:
    """Seconds from ``RetryInfo.retryDelay`` (preferred) or the ``Retry-After`` header."""
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO_TYPE:
            seconds = _parse_duration(detail.get("retryDelay"))
            if seconds is not None:
                return seconds
    header = response.headers.get("retry-after")
    if header is None:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _parse_duration(value: Any) -> float | None:
    """A protobuf Duration in JSON (``"35s"``, ``"1.5s"``) or as ``{seconds, nanos}``."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        return float(match.group(1)) if match else None
    if isinstance(value, dict):
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return None
