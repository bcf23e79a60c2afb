"""From the stack's ``tuned-models:endpoint`` (and credentials) to a ready :class:`GeminiClient`.

The endpoint is one of:

- unset or empty: the public service, :data:`PUBLIC_BASE_URL`;
- ``embedded``: the emulator running inside this process, its state under
  ``<project root>/.tuned-models/``; reached through the ``tuned_models.embedded`` entry point
  (``transport``) so this package never imports the emulator;
- any ``http://`` or ``https://`` URL, e.g. a running ``tuned-models emulator``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tuned_models.config import EMBEDDED, ENTRY_POINT_GROUP
from tuned_models.project import STATE_DIR_NAME, find_project_root

from .auth import API_KEY_ENV_VARS, ApiKeyAuth, resolve_auth
from .client import DEFAULT_RETRY, GeminiClient
from .retry import RetryPolicy

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
#: The base URL requests to the in-process emulator carry (never resolved: ``.invalid``).
EMBEDDED_BASE_URL = "http://embedded.tuned-models.invalid"
#: The API key sent to a local emulator when none is configured (it accepts any key by default).
LOCAL_CALLER_KEY = "tuned-models-local"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}

_embedded_lock = threading.Lock()
_embedded: dict[Path, httpx.BaseTransport] = {}


class _SharedTransport(httpx.BaseTransport):
    """A view of a process-wide transport; closing a client must not close it for the others."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


def embedded_transport(state_dir: Path, step_seconds: float = 1.0) -> httpx.BaseTransport:
    """The in-process emulator's transport for ``state_dir``, created once per process.

    Every client of the same state directory shares one emulator (one SQLite file, one clock);
    ``step_seconds`` applies when it is created. The returned transport ignores ``close()``.

    Raises:
        RuntimeError: the ``tuned_models.embedded`` entry point ``transport`` is not installed.
    """
    key = state_dir.resolve()
    with _embedded_lock:
        inner = _embedded.get(key)
        if inner is None:
            factory = _load_entry_point("transport")
            key.mkdir(parents=True, exist_ok=True)
            inner = factory(state_dir=key, step_seconds=step_seconds)
            _embedded[key] = inner
    return _SharedTransport(inner)


def close_embedded_transports(state_dir: Path | None = None) -> None:
    """Close and forget the embedded emulator of ``state_dir``, or every one of this process when
    ``state_dir`` is None (tests, shutdown). Clients still holding it fail afterwards."""
    with _embedded_lock:
        if state_dir is None:
            transports = list(_embedded.values())
            _embedded.clear()
        else:
            removed = _embedded.pop(state_dir.resolve(), None)
            transports = [removed] if removed is not None else []
    for transport in transports:
        transport.close()


def _load_entry_point(name: str) -> Callable[..., httpx.BaseTransport]:
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            factory: Callable[..., httpx.BaseTransport] = entry_point.load()
            return factory
    raise RuntimeError(
        f"the embedded emulator is not installed (no entry point {name!r} in group "
        f"{ENTRY_POINT_GROUP!r}); install the project with `pip install -e .`"
    )


def connect(
    endpoint: str | None,
    *,
    api_key: str | None = None,
    quota_project: str | None = None,
    project_root: Path | None = None,
    emulator_step_seconds: float | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
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
        sleep: how to wait between retries (tests inject a fake).

    Raises:
        ValueError: the endpoint is neither empty, ``embedded`` nor an http(s) URL.
        CredentialsMissing: a remote endpoint and no credentials anywhere.
        RuntimeError: ``embedded`` but the emulator's entry point is not installed.
    """
    if environ is None:
        environ = os.environ
    value = (endpoint or "").strip()
    policy = retry or DEFAULT_RETRY
    transport: httpx.BaseTransport | None = None
    if not value:
        base_url, local = PUBLIC_BASE_URL, False
    elif value.lower() == EMBEDDED:
        root = project_root or find_project_root()
        transport = embedded_transport(
            root / STATE_DIR_NAME,
            step_seconds=1.0 if emulator_step_seconds is None else emulator_step_seconds,
        )
        base_url, local = EMBEDDED_BASE_URL, True
    else:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "tuned-models:endpoint must be empty (the public service), 'embedded', "
                "or an http:// or https:// URL"
            )
        base_url = value.rstrip("/")
        local = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if local and not _has_key(api_key, environ):
        auth: httpx.Auth = ApiKeyAuth(LOCAL_CALLER_KEY)
    else:
        auth = resolve_auth(api_key, quota_project, environ)
    return GeminiClient(base_url, auth, transport=transport, timeout=timeout, retry=policy, sleep=sleep)


def _has_key(api_key: str | None, environ: Mapping[str, str]) -> bool:
    candidates = (api_key, *(environ.get(name) for name in API_KEY_ENV_VARS))
    return any(candidate and candidate.strip() for candidate in candidates)
