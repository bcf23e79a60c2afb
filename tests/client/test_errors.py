"""tuned_models.gemini.errors: the service's error JSON -> typed errors that keep its message."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from tuned_models.gemini import errors
from tuned_models.gemini.errors import (
    AlreadyExists,
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

SECRET_KEY = "test-very-secret-key-0123456789"


def _response(
    code: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    request_headers: dict[str, str] | None = None,
) -> httpx.Response:
    request = httpx.Request(
        "GET",
        "https://generativelanguage.googleapis.com/v1beta/tunedModels/x?pageToken=abc",
        headers=request_headers or {"x-goog-api-key": SECRET_KEY},
    )
    if content is not None:
        return httpx.Response(code, content=content, headers=headers, request=request)
    return httpx.Response(code, json=body, headers=headers, request=request)


def _error(code: int, status: str, message: str, details: list[Any] | None = None) -> Any:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


# Real error bodies (reference: gemini-tuning-api.md section 5).
CASES = [
    (
        _error(404, "NOT_FOUND", "Tuned model tunedModels/generate-num-2946 does not exist."),
        404,
        NotFound,
        "NOT_FOUND",
        "Tuned model tunedModels/generate-num-2946 does not exist.",
    ),
    (
        _error(
            404,
            "NOT_FOUND",
            "models/gemini-1.5-flash-001-tuning is not found for API version v1beta, or is not "
            "supported for generateContent. Call ListModels to see the list of available models "
            "and their supported methods.",
        ),
        404,
        NotFound,
        "NOT_FOUND",
        "models/gemini-1.5-flash-001-tuning is not found for API version v1beta, or is not "
        "supported for generateContent. Call ListModels to see the list of available models "
        "and their supported methods.",
    ),
    (
        _error(409, "ALREADY_EXISTS", "Tuned model tunedModels/delete-this-model already exists."),
        409,
        AlreadyExists,
        "ALREADY_EXISTS",
        "Tuned model tunedModels/delete-this-model already exists.",
    ),
    (
        _error(
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ],
        ),
        403,
        PermissionDenied,
        "PERMISSION_DENIED",
        "Request had insufficient authentication scopes.",
    ),
    (
        _error(403, "PERMISSION_DENIED", "You do not have permission to access tuned model tunedModels/x"),
        403,
        PermissionDenied,
        "PERMISSION_DENIED",
        "You do not have permission to access tuned model tunedModels/x",
    ),
    (
        _error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        ),
        401,
        Unauthenticated,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
    ),
    (
        _error(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        ),
        400,
        InvalidArgument,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
    ),
    (
        _error(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
        400,
        FailedPrecondition,
        "FAILED_PRECONDITION",
        "User location is not supported for the API use.",
    ),
    (
        _error(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "35s"},
            ],
        ),
        429,
        ResourceExhausted,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
    ),
    (
        _error(500, "INTERNAL", "An internal error has occurred."),
        500,
        InternalError,
        "INTERNAL",
        "An internal error has occurred.",
    ),
    (
        _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        503,
        Unavailable,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
    ),
    # A status the client has no class for keeps the base class (409 ABORTED is no AlreadyExists).
    (
        _error(409, "ABORTED", "Concurrent modification."),
        409,
        GeminiError,
        "ABORTED",
        "Concurrent modification.",
    ),
    # No status in the body: the HTTP code decides.
    (
        {"error": {"code": 404, "message": "gone"}},
        404,
        NotFound,
        "NOT_FOUND",
        "gone",
    ),
]


@pytest.mark.parametrize(("body", "code", "cls", "status", "message"), CASES)
def test_error_body_maps_to_class_code_status_and_message(
    body: Any, code: int, cls: type[GeminiError], status: str, message: str
) -> None:
    err = from_response(_response(code, body))
    assert type(err) is cls
    assert (err.code, err.status, err.message) == (code, status, message)
    assert str(err) == f"{code} {status}: {message}"
    assert err.details == body["error"].get("details", [])


def test_a_cloud_storage_412_is_a_failed_precondition_keeping_its_reason() -> None:
    # Cloud Storage's JSON API names no status; its reasons come in an ``errors`` list.
    reason = {"domain": "global", "reason": "conditionNotMet", "message": "Precondition Failed"}
    body = {
        "error": {
            "code": 412,
            "message": "At least one of the pre-conditions you specified did not hold.",
            "errors": [reason],
        }
    }
    err = from_response(_response(412, body))
    assert type(err) is FailedPrecondition
    assert (
        str(err) == "412 FAILED_PRECONDITION: At least one of the pre-conditions you specified did not hold."
    )
    assert err.details == [reason]


def test_str_matches_the_documented_shape() -> None:
    err = from_response(_response(404, _error(404, "NOT_FOUND", "Tuned model tunedModels/x does not exist.")))
    assert str(err) == "404 NOT_FOUND: Tuned model tunedModels/x does not exist."


@pytest.mark.parametrize(
    ("code", "content", "cls", "status"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", Unavailable, "UNAVAILABLE"),
        (503, b"upstream connect error", Unavailable, "UNAVAILABLE"),
        (404, b"", NotFound, "NOT_FOUND"),
        (500, b"\xff\xfe not utf-8", InternalError, "INTERNAL"),
        (418, b"[1, 2]", GeminiError, "UNKNOWN"),
    ],
)
def test_non_json_bodies_map_by_http_code(
    code: int, content: bytes, cls: type[GeminiError], status: str
) -> None:
    err = from_response(_response(code, content=content))
    assert type(err) is cls
    assert (err.code, err.status) == (code, status)
    assert err.message.startswith(httpx.codes.get_reason_phrase(code))
    if content.startswith(b"<html>"):
        assert "Bad Gateway" in err.message


def test_oauth_style_error_body_keeps_its_description() -> None:
    body = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    err = from_response(_response(400, body))
    assert isinstance(err, InvalidArgument)
    assert err.message == "Token has been expired or revoked."


def test_retry_after_from_retry_info_wins_over_header() -> None:
    body = _error(
        429,
        "RESOURCE_EXHAUSTED",
        "quota",
        [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}],
    )
    err = from_response(_response(429, body, headers={"Retry-After": "9"}))
    assert err.retry_after == 1.5


def test_retry_after_from_header_seconds() -> None:
    err = from_response(_response(503, _error(503, "UNAVAILABLE", "busy"), headers={"Retry-After": "7"}))
    assert err.retry_after == 7.0


def test_retry_after_from_header_http_date_in_the_past_is_zero() -> None:
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    err = from_response(_response(503, _error(503, "UNAVAILABLE", "busy"), headers=headers))
    assert err.retry_after == 0.0


def test_retry_after_absent_or_garbage_is_none() -> None:
    assert from_response(_response(503, _error(503, "UNAVAILABLE", "x"))).retry_after is None
    garbage = from_response(_response(503, _error(503, "UNAVAILABLE", "x"), headers={"Retry-After": "soon"}))
    assert garbage.retry_after is None


def test_retry_delay_as_seconds_and_nanos_object() -> None:
    body = _error(
        429,
        "RESOURCE_EXHAUSTED",
        "q",
        [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": {"seconds": 2, "nanos": 500_000_000},
            }
        ],
    )
    assert from_response(_response(429, body)).retry_after == 2.5


def test_message_echoing_the_api_key_is_redacted() -> None:
    body = _error(400, "INVALID_ARGUMENT", f"API key {SECRET_KEY} not valid.")
    err = from_response(_response(400, body))
    assert SECRET_KEY not in str(err)
    assert SECRET_KEY not in repr(err)
    assert err.message == "API key <redacted> not valid."


def test_message_echoing_a_bearer_token_is_redacted() -> None:
    token = "ya29.a0-secret-token"
    body = _error(401, "UNAUTHENTICATED", f"token {token} expired")
    err = from_response(_response(401, body, request_headers={"authorization": f"Bearer {token}"}))
    assert token not in str(err)


def test_transport_failure_keeps_class_method_and_path_never_query_or_headers() -> None:
    request = httpx.Request(
        "GET",
        "https://generativelanguage.googleapis.com/v1beta/tunedModels?pageToken=tok&filter=q",
        headers={"x-goog-api-key": SECRET_KEY},
    )
    exc = httpx.ConnectError(f"failed to reach {request.url} with {SECRET_KEY}", request=request)
    failure = TransportFailure.from_httpx(exc, attempts=3)
    text = str(failure) + repr(failure) + failure.message
    assert failure.error_class == "ConnectError"
    assert (failure.method, failure.path, failure.attempts) == ("GET", "/v1beta/tunedModels", 3)
    assert failure.code is None
    assert str(failure).startswith("ConnectError: GET /v1beta/tunedModels: ")
    assert "pageToken" not in text and "tok&" not in text
    assert SECRET_KEY not in text


def test_errors_survive_pickling() -> None:
    err = from_response(_response(404, _error(404, "NOT_FOUND", "missing")), attempts=2)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is NotFound
    assert (copy.code, copy.status, copy.message, copy.attempts) == (404, "NOT_FOUND", "missing", 2)


def test_every_class_is_a_gemini_error_and_exported() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, GeminiError)
