"""Credentials for the Gemini API as ``httpx.Auth`` objects, and the order they are looked up in.

1. an API key given explicitly (the stack secret ``tuned-models:apiKey``);
2. the ``GOOGLE_API_KEY`` environment variable, then ``GEMINI_API_KEY``;
3. OAuth through google-auth application default credentials (ADC) with the tuning scope,
   billed to ``tuned-models:quotaProject`` (``x-goog-user-project``).

An API key travels only in the ``x-goog-api-key`` header, never in the query string, so URLs
in logs and errors never carry it; no auth object shows its secret in ``repr``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator, Mapping
from typing import Any

import google.auth
import google.auth.exceptions
import google.auth.transport
import httpx

from .errors import CredentialsMissing, Unauthenticated

__all__ = [
    "API_KEY_ENV_VARS",
    "OAUTH_SCOPES",
    "ApiKeyAuth",
    "OAuthAuth",
    "resolve_auth",
]

#: Environment variables holding an API key, in the order they are read.
API_KEY_ENV_VARS: tuple[str, ...] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
#: Scopes requested from application default credentials.
OAUTH_SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/generative-language.tuning",
    "https://www.googleapis.com/auth/cloud-platform",
)


class ApiKeyAuth(httpx.Auth):
    """Sends an API key in the ``x-goog-api-key`` header."""

    def __init__(self, key: str) -> None:
        if not key or not key.strip():
            raise ValueError("API key is empty")
        self._key = key.strip()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-goog-api-key"] = self._key
        yield request

    def __repr__(self) -> str:
        return "ApiKeyAuth(key=<redacted>)"

    def __reduce__(self) -> Any:
        raise TypeError("ApiKeyAuth holds a secret and is not picklable")


#: Seconds one token-endpoint exchange may take (google-auth passes none of its own).
_REFRESH_TIMEOUT = 20.0


class OAuthAuth(httpx.Auth):
    """Sends a google-auth access token (``Authorization: Bearer``) and the quota project.

    The token is refreshed when missing or expired, under a lock so that many threads sharing
    one client refresh it once; a 401 answer triggers one refresh and one resend.
    """

    def __init__(
        self,
        credentials: Any,
        quota_project: str | None = None,
        *,
        refresh_request: Callable[..., Any] | None = None,
    ) -> None:
        self._credentials = credentials
        self.quota_project = quota_project or getattr(credentials, "quota_project_id", None)
        self._lock = threading.Lock()
        self._refresh_request = refresh_request or _HttpxAuthRequest()

    def _token(self, request: httpx.Request, *, rejected: str | None = None) -> str:
        """A valid token; refreshed when expired or when it is the one the service rejected.

        Raises :class:`Unauthenticated` when the refresh is refused, and ``httpx.ConnectError``
        (retried like any unsent request) when the token endpoint cannot be reached.
        """
        with self._lock:
            credentials = self._credentials
            if not credentials.valid or not credentials.token or credentials.token == rejected:
                try:
                    credentials.refresh(self._refresh_request)
                except google.auth.exceptions.RefreshError as exc:
                    raise Unauthenticated(
                        f"refreshing the OAuth access token was refused: {type(exc).__name__}; "
                        "run `gcloud auth application-default login` again",
                        code=401,
                        status="UNAUTHENTICATED",
                    ) from None
                except google.auth.exceptions.TransportError:
                    raise httpx.ConnectError(
                        "the OAuth token endpoint could not be reached", request=request
                    ) from None
            return str(credentials.token)

    def _apply(self, request: httpx.Request, token: str) -> None:
        request.headers["authorization"] = f"Bearer {token}"
        if self.quota_project:
            request.headers["x-goog-user-project"] = self.quota_project

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sent_token = self._token(request)
        self._apply(request, sent_token)
        response = yield request
        if response.status_code == 401:
            self._apply(request, self._token(request, rejected=sent_token))
            yield request

    def __repr__(self) -> str:
        kind = type(self._credentials).__name__
        return f"OAuthAuth(credentials={kind}, quota_project={self.quota_project!r})"

    def __reduce__(self) -> Any:
        raise TypeError("OAuthAuth holds credentials and is not picklable")


class _HttpxAuthResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class _HttpxAuthRequest(google.auth.transport.Request):
    """google-auth's token-refresh transport over httpx (the ``requests`` package is not used)."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _HttpxAuthResponse:
        try:
            response = httpx.request(
                method, url, content=body, headers=headers, timeout=timeout or _REFRESH_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(  # type: ignore[no-untyped-call]
                f"token refresh failed: {type(exc).__name__}"
            ) from None
        return _HttpxAuthResponse(response)


def resolve_auth(
    api_key: str | None = None,
    quota_project: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    default_credentials: Callable[..., tuple[Any, str | None]] | None = None,
) -> httpx.Auth:
    """Choose the credentials: ``api_key``, else ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY``,
    else application default credentials (``default_credentials`` defaults to
    ``google.auth.default``) with :data:`OAUTH_SCOPES` and ``quota_project``.

    Empty strings count as absent. ``environ=None`` means ``os.environ`` at call time (never a
    default value: a signature shown by ``help()`` or docs must not carry a key).

    Returns:
        an :class:`ApiKeyAuth` or an :class:`OAuthAuth`.
    Raises:
        CredentialsMissing: no key and no application default credentials; the message lists
            the ways to provide credentials.
    """
    if environ is None:
        environ = os.environ
    for candidate in (api_key, *(environ.get(name) for name in API_KEY_ENV_VARS)):
        if candidate and candidate.strip():
            return ApiKeyAuth(candidate)
    default = default_credentials or google.auth.default
    try:
        credentials, _project = default(scopes=list(OAUTH_SCOPES), quota_project_id=quota_project)
    except google.auth.exceptions.DefaultCredentialsError:
        raise CredentialsMissing(
            "No credentials for the Gemini API. Provide one of: "
            "(1) the stack secret tuned-models:apiKey "
            "(pulumi config set --secret tuned-models:apiKey ...); "
            "(2) the environment variable GOOGLE_API_KEY or GEMINI_API_KEY; "
            "(3) application default credentials with the generative-language.tuning scope "
            "(gcloud auth application-default login --scopes="
            + ",".join(OAUTH_SCOPES)
            + ") and tuned-models:quotaProject."
        ) from None
    return OAuthAuth(credentials, quota_project)
