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
from tuned_models.rest.errors import (
    AlreadyExists,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
)

__all__ = ["OperationTimeout", "error_from_status"]

#: gRPC code -> (canonical status, class). Codes without a class of their own use the base class.
_GRPC: dict[int, tuple[str, type[ServiceError]]] = {
    1: ("CANCELLED", ServiceError),
    2: ("UNKNOWN", ServiceError),
    3: ("INVALID_ARGUMENT", InvalidArgument),
    4: ("DEADLINE_EXCEEDED", ServiceError),
    5: ("NOT_FOUND", NotFound),
    6: ("ALREADY_EXISTS", AlreadyExists),
    7: ("PERMISSION_DENIED", PermissionDenied),
    8: ("RESOURCE_EXHAUSTED", ResourceExhausted),
    9: ("FAILED_PRECONDITION", FailedPrecondition),
    10: ("ABORTED", ServiceError),
    11: ("OUT_OF_RANGE", InvalidArgument),
    12: ("UNIMPLEMENTED", ServiceError),
    13: ("INTERNAL", InternalError),
    14: ("UNAVAILABLE", Unavailable),
    15: ("DATA_LOSS", ServiceError),
    16: ("UNAUTHENTICATED", Unauthenticated),
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
    canonical, cls = _GRPC.get(status.code, ("UNKNOWN", ServiceError))
    message = status.message or canonical
    if context:
        message = f"{context}: {message}"
    return cls(message, code=cls.default_code, status=canonical, details=status.details)
