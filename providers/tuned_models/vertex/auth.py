"""Credentials for Vertex AI and Cloud Storage, as ``httpx.Auth`` objects.

The order they are looked up in:

1. ``GOOGLE_OAUTH_ACCESS_TOKEN`` (the convention of Google's Terraform provider): an access token
   obtained elsewhere (``gcloud auth print-access-token``), sent as it is and never refreshed;
2. application default credentials (google-auth) with the ``cloud-platform`` scope, refreshed
   when they expire (the Gemini client's :class:`~tuned_models.gemini.auth.OAuthAuth`).

Both send ``x-goog-user-project`` when a quota project is known. An emulator accepts any bearer
token. No auth object shows its token in ``repr`` or can be pickled; errors redact tokens (see
:mod:`tuned_models.gemini.errors`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping
from typing import Any

import google.auth
import google.auth.exceptions
import httpx

from tuned_models.gemini.auth import OAuthAuth
from tuned_models.gemini.errors import CredentialsMissing

__all__ = [
    "ACCESS_TOKEN_ENV_VAR",
    "CLOUD_PLATFORM_SCOPE",
    "AccessTokenAuth",
    "resolve_auth",
]

#: The environment variable holding a ready access token.
ACCESS_TOKEN_ENV_VAR = "GOOGLE_OAUTH_ACCESS_TOKEN"
#: The scope requested from application default credentials (Vertex AI and Cloud Storage).
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class AccessTokenAuth(httpx.Auth):
    """Sends a fixed access token (``Authorization: Bearer``) and the quota project.

    The token cannot be refreshed: a 401 answer is raised as
    :class:`~tuned_models.gemini.errors.Unauthenticated` by the client, with the service's
    message (an expired token is the usual cause).
    """

    def __init__(self, token: str, quota_project: str | None = None) -> None:
        if not token or not token.strip():
            raise ValueError("access token is empty")
        self._token = token.strip()
        self.quota_project = quota_project or None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["authorization"] = f"Bearer {self._token}"
        if self.quota_project:
            request.headers["x-goog-user-project"] = self.quota_project
        yield request

    def __repr__(self) -> str:
        return f"AccessTokenAuth(token=<redacted>, quota_project={self.quota_project!r})"

    def __reduce__(self) -> Any:
        raise TypeError("AccessTokenAuth holds a secret and is not picklable")


def resolve_auth(
    quota_project: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    default_credentials: Callable[..., tuple[Any, str | None]] | None = None,
) -> httpx.Auth:
    """Choose the credentials: ``GOOGLE_OAUTH_ACCESS_TOKEN``, else application default
    credentials (``default_credentials`` defaults to ``google.auth.default``) with the
    ``cloud-platform`` scope; ``quota_project`` (else the ADC's own quota project) is sent as
    ``x-goog-user-project``.

    Empty strings count as absent. ``environ=None`` means ``os.environ`` at call time.

    Returns:
        an :class:`AccessTokenAuth` or a :class:`~tuned_models.gemini.auth.OAuthAuth`.
    Raises:
        CredentialsMissing: no token and no application default credentials; the message says
            how to provide them.
    """
    if environ is None:
        environ = os.environ
    token = environ.get(ACCESS_TOKEN_ENV_VAR, "")
    if token.strip():
        return AccessTokenAuth(token, quota_project)
    default = default_credentials or google.auth.default
    try:
        credentials, _project = default(scopes=[CLOUD_PLATFORM_SCOPE], quota_project_id=quota_project)
    except google.auth.exceptions.DefaultCredentialsError:
        raise CredentialsMissing(
            "No credentials for Vertex AI. Provide one of: "
            f"(1) the environment variable {ACCESS_TOKEN_ENV_VAR} "
            "(e.g. from `gcloud auth print-access-token`); "
            "(2) application default credentials "
            "(gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS naming a "
            "service account key file) and tuned-models:quotaProject."
        ) from None
    return OAuthAuth(credentials, quota_project)
