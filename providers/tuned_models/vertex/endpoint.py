"""From ``tuned-models:endpoint`` (and the ``tuned-models:vertex`` settings) to ready clients.

The endpoint is resolved by :func:`tuned_models.rest.endpoint.resolve_endpoint`, the resolver
every client shares:

- unset or empty: Google's hosts: Vertex AI on the host of each resource's location, Cloud
  Storage on ``storage.googleapis.com``;
- ``embedded``: the emulator inside this process (the same one that serves the Gemini API,
  reached through the ``tuned_models.embedded`` entry point), state under
  ``<project root>/.tuned-models/``;
- an ``http://`` or ``https://`` URL, e.g. a running ``tuned-models emulator``: every Vertex
  location and Cloud Storage are served there.

Credentials follow :func:`.auth.resolve_auth`. For the embedded emulator and an ``http://`` URL
on the loopback interface, without ``GOOGLE_OAUTH_ACCESS_TOKEN`` the token
:data:`LOCAL_CALLER_TOKEN` is sent instead of looking for Google credentials (an emulator
accepts any bearer token unless it was started with registered ones).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Unpack

import httpx

from tuned_models.config import LOCATION_ENV_VAR, PROJECT_ENV_VAR
from tuned_models.rest.core import CallOptions
from tuned_models.rest.endpoint import Target, resolve_endpoint

from .auth import ACCESS_TOKEN_ENV_VAR, AccessTokenAuth, resolve_auth
from .client import VertexClient
from .storage import PUBLIC_STORAGE_URL, StorageClient

__all__ = [
    "LOCAL_CALLER_TOKEN",
    "LOCATION_ENV_VAR",
    "PROJECT_ENV_VAR",
    "connect",
    "connect_storage",
    "endpoint_auth",
]

#: The bearer token sent to a local emulator when none is configured.
LOCAL_CALLER_TOKEN = "tuned-models-local"


def endpoint_auth(
    target: Target,
    auth: httpx.Auth | None,
    quota_project: str | None,
    environ: Mapping[str, str],
) -> httpx.Auth:
    """The credentials to send to ``target``: ``auth`` when given; for a local emulator without
    ``GOOGLE_OAUTH_ACCESS_TOKEN``, :data:`LOCAL_CALLER_TOKEN`; else :func:`.auth.resolve_auth`.

    Raises CredentialsMissing (Google's hosts, no credentials anywhere)."""
    if auth is not None:
        return auth
    if target.local and not environ.get(ACCESS_TOKEN_ENV_VAR, "").strip():
        return AccessTokenAuth(LOCAL_CALLER_TOKEN)
    return resolve_auth(quota_project, environ)


def _setting(value: str | None, env_var: str, environ: Mapping[str, str], what: str) -> str:
    chosen = (value or "").strip() or environ.get(env_var, "").strip()
    if not chosen:
        raise ValueError(f"no Vertex AI {what}: set tuned-models:vertex.{what} or {env_var}")
    return chosen


def connect(
    endpoint: str | None,
    *,
    project: str | None = None,
    location: str | None = None,
    quota_project: str | None = None,
    auth: httpx.Auth | None = None,
    project_root: Path | None = None,
    emulator_step_seconds: float | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Unpack[CallOptions],
) -> VertexClient:
    """Build the Vertex AI client for an endpoint value, project and location.

    ``project`` and ``location`` fall back to ``GOOGLE_CLOUD_PROJECT`` and
    ``GOOGLE_CLOUD_LOCATION``. ``auth`` (e.g. shared with :func:`connect_storage`) replaces the
    credential lookup. ``environ=None`` means ``os.environ`` at call time. ``options``: the
    client's ``timeout``, ``retry``, ``sleep``, ``random`` and ``clock`` (as for
    :class:`tuned_models.rest.RestClient`).

    Raises:
        ValueError: a bad endpoint, or no project or location anywhere, or a malformed location.
        CredentialsMissing: Google's hosts and no credentials anywhere.
        RuntimeError: ``embedded`` but the emulator's entry point is not installed.
    """
    if environ is None:
        environ = os.environ
    chosen_project = _setting(project, PROJECT_ENV_VAR, environ, "project")
    chosen_location = _setting(location, LOCATION_ENV_VAR, environ, "location")
    target = resolve_endpoint(
        endpoint, project_root=project_root, emulator_step_seconds=emulator_step_seconds
    )
    return VertexClient(
        chosen_project,
        chosen_location,
        endpoint_auth(target, auth, quota_project, environ),
        base_url=target.base_url,
        transport=target.transport,
        **options,
    )


def connect_storage(
    endpoint: str | None,
    *,
    quota_project: str | None = None,
    auth: httpx.Auth | None = None,
    project_root: Path | None = None,
    emulator_step_seconds: float | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Unpack[CallOptions],
) -> StorageClient:
    """Build the Cloud Storage client for an endpoint value (see :func:`connect`).

    Raises:
        ValueError: a bad endpoint. CredentialsMissing, RuntimeError: as for :func:`connect`.
    """
    if environ is None:
        environ = os.environ
    target = resolve_endpoint(
        endpoint, project_root=project_root, emulator_step_seconds=emulator_step_seconds
    )
    return StorageClient(
        endpoint_auth(target, auth, quota_project, environ),
        base_url=target.base_url or PUBLIC_STORAGE_URL,
        transport=target.transport,
        **options,
    )
