"""The emulator's errors: one class per google.rpc status, one renderer.

Every error the emulator answers is an :class:`ApiError` rendered by :func:`error_body` into the
Google JSON error shape::

    {"error": {"code": 404, "message": "...", "status": "NOT_FOUND", "details": [...]}}

Tree::

    ApiError                      (code, status, message, details, headers)
    ├── InvalidArgument           400 INVALID_ARGUMENT
    ├── FailedPrecondition        400 FAILED_PRECONDITION
    ├── Unauthenticated           401 UNAUTHENTICATED
    ├── PermissionDenied          403 PERMISSION_DENIED
    ├── NotFound                  404 NOT_FOUND
    ├── AlreadyExists             409 ALREADY_EXISTS
    ├── PayloadTooLarge           413 INVALID_ARGUMENT (a body over the endpoint's limit)
    ├── Internal                  500 INTERNAL
    └── InjectedError             any code chosen by fault injection (429 carries Retry-After + RetryInfo)

:class:`DroppedConnection` is not an API error: it makes the transport close the connection
without a complete response. :class:`RpcCode` names the google.rpc codes that an Operation's
``error`` carries.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class RpcCode(IntEnum):
    """google.rpc.Code: the numbers an Operation's ``error`` (a google.rpc.Status) carries."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


#: The status name Google uses for an HTTP code when nothing more specific applies.
HTTP_STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

#: The message the real service sends with each injected status.
DEFAULT_MESSAGES: dict[int, str] = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "Resource already exists.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    501: "Operation is not implemented, or supported, or enabled.",
    503: "The service is currently unavailable.",
    504: "Deadline expired before operation could complete.",
}

SERVICE = "generativelanguage.googleapis.com"


class ApiError(Exception):
    """An error answered to the client with its real HTTP code, status string and message."""

    code: ClassVar[int] = 500
    status: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = list(details or [])
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def http_code(self) -> int:
        """The HTTP status code of the response."""
        return self.code

    @property
    def status_name(self) -> str:
        """The google.rpc status string (``NOT_FOUND`` ...)."""
        return self.status


class InvalidArgument(ApiError):
    """A malformed or invalid request."""

    code = 400
    status = "INVALID_ARGUMENT"


class FailedPrecondition(ApiError):
    """A request the resource's current state does not allow."""

    code = 400
    status = "FAILED_PRECONDITION"


class Unauthenticated(ApiError):
    """Credentials that are present but not valid."""

    code = 401
    status = "UNAUTHENTICATED"


class PermissionDenied(ApiError):
    """A caller without the identity or the role the method needs."""

    code = 403
    status = "PERMISSION_DENIED"


class NotFound(ApiError):
    """A resource or route that does not exist."""

    code = 404
    status = "NOT_FOUND"


class AlreadyExists(ApiError):
    """A resource whose name is taken."""

    code = 409
    status = "ALREADY_EXISTS"


class PayloadTooLarge(ApiError):
    """A request body over the endpoint's limit (the real message; not retryable)."""

    code = 413
    status = "INVALID_ARGUMENT"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request payload size exceeds the limit: {limit} bytes.")


class Internal(ApiError):
    """A bug in the emulator (never raised on purpose by a rule)."""

    code = 500
    status = "INTERNAL"


class InjectedError(ApiError):
    """An error chosen by fault injection: any HTTP code, with the status and message Google uses."""

    def __init__(
        self,
        http_code: int,
        *,
        message: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            message or DEFAULT_MESSAGES.get(http_code, "Unknown error."),
            details=details,
            headers=headers,
        )
        self._http_code = http_code

    @property
    def http_code(self) -> int:
        return self._http_code

    @property
    def status_name(self) -> str:
        return HTTP_STATUS_NAMES.get(self._http_code, "UNKNOWN")


class DroppedConnection(Exception):
    """Raised after the response has started: the connection closes without a complete response."""


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    """A ``google.rpc.ErrorInfo`` detail for the Generative Language service."""
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": SERVICE, **metadata},
    }


def retry_info(seconds: float) -> dict[str, Any]:
    """A ``google.rpc.RetryInfo`` detail (``retryDelay`` as a protobuf Duration string)."""
    delay = f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:g}s"
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def bad_request(field: str, description: str) -> dict[str, Any]:
    """A ``google.rpc.BadRequest`` detail naming one field violation."""
    violation = {"field": field, "description": description} if field else {"description": description}
    return {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}


def error_body(error: ApiError) -> dict[str, Any]:
    """The JSON body Google sends for ``error``: ``{"error": {code, message, status, details}}``."""
    return {
        "error": {
            "code": error.http_code,
            "message": error.message,
            "status": error.status_name,
            "details": list(error.details),
        }
    }


def not_found_tuned_model(name: str) -> NotFound:
    """404 for a tuned model that does not exist (the real message)."""
    return NotFound(f"Tuned model {name} does not exist.")


def no_access(name: str) -> PermissionDenied:
    """403 for a caller without the role a method needs on a tuned model (the real message)."""
    return PermissionDenied(f"You do not have permission to access tuned model {name}")
