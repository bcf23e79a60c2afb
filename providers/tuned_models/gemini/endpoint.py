"""From the stack's ``tuned-models:endpoint`` (and credentials) to a ready :class:`GeminiClient`.

The endpoint is resolved by :func:`tuned_models.rest.endpoint.resolve_endpoint`, the resolver
every client shares; for the Gemini API it is one of:

- unset or empty: the public service, :data:`PUBLIC_BASE_URL`;
- ``embedded``: the emulator running inside this process, its state under
  ``<project root>/.tuned-models/``; reached through the ``tuned_models.embedded`` entry point
  (``transport``) so this package never imports the emulator;
- any ``http://`` or ``https://`` URL, e.g. a running ``tuned-models emulator``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Unpack

import httpx

from tuned_models.rest.core import CallOptions
from tuned_models.rest.endpoint import (
    EMBEDDED,
    EMBEDDED_BASE_URL,
    close_embedded_transports,
    embedded_transport,
    resolve_endpoint,
)

from .auth import API_KEY_ENV_VARS, ApiKeyAuth, resolve_auth
from .client import GeminiClient

__all__ = [
    "EMBEDDED",
    "EMBEDDED_BASE_URL",
    "LOCAL_CALLER_KEY",
    "PUBLIC_BASE_URL",
    "close_embedded_transports",
    "connect",
    "embedded_transport",
]

PUBLIC_BASE_URL = "https://generativelanguage.googleapis.com"
#: The API key sent to a local emulator when none is configured (it accepts any key by default).
LOCAL_CALLER_KEY = "tuned-models-local"


def connect(
    endpoint: str | None,
    *,
    api_key: str | None = None,
    quota_project: str | None = None,
    project_root: Path | None = None,
    emulator_step_seconds: float | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Unpack[CallOptions],
) -> GeminiClient:
    """Build the client for a ``tuned-models:endpoint`` value.

    Credentials follow :func:`~tuned_models.gemini.auth.resolve_auth` (``api_key``, then
    ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``, then application default credentials). For the
    embedded emulator, and for an ``http://`` URL on the loopback interface, a missing key is
    replaced by :data:`LOCAL_CALLER_KEY` instead of looking for Google credentials: a local
    emulator accepts any key unless it was started with ``--api-key``.

    Args:
        endpoint: ``None``/``""`` (public service), ``"embedded"`` or an http(s) URL.
        project_root: where ``.tuned-models/`` lives for ``embedded``; default
            :func:`tuned_models.project.find_project_root`.
        emulator_step_seconds: seconds per training step of a newly created embedded emulator
            (default 1.0).
        environ: where to read ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``; ``None`` means
            ``os.environ`` at call time (not a default value, so no signature shows a key).
        options: the client's ``timeout``, ``retry``, ``sleep``, ``random`` and ``clock`` (as for
            :class:`tuned_models.rest.RestClient`; tests inject them).

    Raises:
        ValueError: the endpoint is neither empty, ``embedded`` nor an http(s) URL.
        CredentialsMissing: a remote endpoint and no credentials anywhere.
        RuntimeError: ``embedded`` but the emulator's entry point is not installed.
    """
    if environ is None:
        environ = os.environ
    target = resolve_endpoint(
        endpoint, project_root=project_root, emulator_step_seconds=emulator_step_seconds
    )
    base_url, local = target.base_url or PUBLIC_BASE_URL, target.local
    if local and not _has_key(api_key, environ):
        auth: httpx.Auth = ApiKeyAuth(LOCAL_CALLER_KEY)
    else:
        auth = resolve_auth(api_key, quota_project, environ)
    return GeminiClient(base_url, auth, transport=target.transport, **options)


def _has_key(api_key: str | None, environ: Mapping[str, str]) -> bool:
    candidates = (api_key, *(environ.get(name) for name in API_KEY_ENV_VARS))
    return any(candidate and candidate.strip() for candidate in candidates)
