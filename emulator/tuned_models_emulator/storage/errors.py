"""Cloud Storage JSON API errors: the API's own error shape, not the google.rpc one.

::

    {"error": {"code": 404, "message": "No such object: b/o",
               "errors": [{"message": "No such object: b/o", "domain": "global", "reason": "notFound"}]}}

:class:`StorageError` carries the HTTP code, the ``reason`` and, for header problems, the
``location``. Any other :class:`ApiError` (an injected fault, an emulator bug) is drawn in the same
shape with the reason Google uses for its HTTP code.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tuned_models_emulator.auth import INVALID_TOKEN_CHALLENGE
from tuned_models_emulator.codec import json_bytes
from tuned_models_emulator.errors import ApiError

#: The ``reason`` Cloud Storage reports with each HTTP code when nothing more specific applies.
REASONS: dict[int, str] = {
    400: "invalid",
    401: "required",
    403: "forbidden",
    404: "notFound",
    409: "conflict",
    412: "conditionNotMet",
    416: "requestedRangeNotSatisfiable",
    429: "rateLimitExceeded",
    499: "clientClosedRequest",
    500: "backendError",
    503: "backendError",
}

PRECONDITION_FAILED = "At least one of the pre-conditions you specified did not hold."


class StorageError(ApiError):
    """An error as Cloud Storage reports it: HTTP code, message, reason, optional location."""

    def __init__(
        self,
        http_code: int,
        message: str,
        reason: str | None = None,
        *,
        location: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, headers=headers)
        self._http_code = http_code
        self.reason = reason or REASONS.get(http_code, "backendError")
        self.location = location

    @property
    def http_code(self) -> int:
        return self._http_code


def bucket_not_found() -> StorageError:
    """404 for a bucket that does not exist (the real message)."""
    return StorageError(404, "The specified bucket does not exist.")


def object_not_found(bucket: str, name: str) -> StorageError:
    """404 for an object that does not exist (the real message)."""
    return StorageError(404, f"No such object: {bucket}/{name}")


def precondition_failed() -> StorageError:
    """412 for an ``if*Match`` query parameter that does not hold (the real message)."""
    return StorageError(412, PRECONDITION_FAILED, location="If-Match")


def invalid(message: str) -> StorageError:
    """400 ``invalid``."""
    return StorageError(400, message)


def storage_error_body(error: ApiError) -> dict[str, Any]:
    """The JSON body Cloud Storage sends for ``error``."""
    reason = error.reason if isinstance(error, StorageError) else REASONS.get(error.http_code, "backendError")
    item: dict[str, Any] = {"message": error.message, "domain": "global", "reason": reason}
    location = error.location if isinstance(error, StorageError) else None
    if location is not None:
        item["locationType"] = "header"
        item["location"] = location
    return {"error": {"code": error.http_code, "message": error.message, "errors": [item]}}


def render_storage_error(error: ApiError) -> Response:
    """The HTTP response for ``error`` (304 has no body)."""
    if error.http_code == 304:
        return Response(b"", status_code=304, headers=error.headers or None)
    return Response(
        json_bytes(storage_error_body(error)),
        status_code=error.http_code,
        headers=error.headers or None,
        media_type="application/json; charset=UTF-8",
    )


#: The IAM permission each method needs (named in the 401 for anonymous callers).
PERMISSIONS: dict[str, str] = {
    "storage.buckets.insert": "storage.buckets.create",
    "storage.buckets.get": "storage.buckets.get",
    "storage.buckets.list": "storage.buckets.list",
    "storage.buckets.delete": "storage.buckets.delete",
    "storage.objects.insert": "storage.objects.create",
    "storage.objects.get": "storage.objects.get",
    "storage.objects.list": "storage.objects.list",
    "storage.objects.delete": "storage.objects.delete",
}


def missing_credentials(rpc: str) -> StorageError:
    """401 for an anonymous caller (the real message names the permission)."""
    permission = PERMISSIONS.get(rpc, "storage.objects.get")
    kind = "bucket" if ".buckets." in permission else "object"
    message = (
        f"Anonymous caller does not have {permission} access to the Google Cloud Storage {kind}. "
        f"Permission '{permission}' denied on resource (or it may not exist)."
    )
    return StorageError(401, message, "required", location="Authorization")


def invalid_credentials() -> StorageError:
    """401 for a bearer token that is not accepted (the real message)."""
    return StorageError(
        401,
        "Invalid Credentials",
        "authError",
        location="Authorization",
        headers=INVALID_TOKEN_CHALLENGE,
    )
