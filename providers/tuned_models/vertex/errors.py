"""Errors of the Vertex AI and Cloud Storage clients.

They are the typed errors every client here shares (:mod:`tuned_models.rest.errors`): the same
classes, the same parsing of Google's ``{"error": {...}}`` envelope, the same redaction of
credentials, so a caller catches ``NotFound`` whichever service raised it. This module adds what only long-
running operations need: the error a failed operation carries (a ``google.rpc.Status`` with a
gRPC code, not an HTTP response) becomes the matching class, and waiting past a deadline raises
:class:`OperationTimeout`.
"""

from __future__ import annotations

from tuned_models.gemini.types import Status
from tuned_models.rest.errors import ServiceError, error_class

__all__ = ["OperationTimeout", "error_from_status"]

#: gRPC code -> canonical status (google.rpc.Code); its class is the one an HTTP error of that
#: status gets (:func:`tuned_models.rest.errors.error_class`).
_GRPC: dict[int, str] = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}


class OperationTimeout(TimeoutError):
    """A long-running operation was not done when the wait's timeout passed.

    ``name`` is the operation's name: it keeps running on the service and can be waited for again.
    """

    def __init__(self, name: str, timeout: float) -> None:
        super().__init__(f"operation {name} not done after {timeout:g}s")
        self.name = name
        self.timeout = timeout


def error_from_status(status: Status, *, context: str = "") -> ServiceError:
    """The typed error for a failed operation's ``google.rpc.Status``.

    ``code`` is the HTTP code conventionally paired with the gRPC code (``None`` for codes with
    none), ``status`` the canonical name; the message is the service's, after ``context``
    (e.g. the operation's name) when given.
    """
    canonical = _GRPC.get(status.code, "UNKNOWN")
    cls = error_class(canonical)
    message = status.message or canonical
    if context:
        message = f"{context}: {message}"
    return cls(message, code=cls.default_code, status=canonical, details=status.details)
