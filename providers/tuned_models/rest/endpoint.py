"""From a ``tuned-models:endpoint`` value to where calls go: the one resolver every client uses.

The endpoint is one of:

- unset or empty: Google's own hosts (each client knows its hosts);
- ``embedded``: the emulator running inside this process, its state under
  ``<project root>/.tuned-models/``; reached through the ``tuned_models.embedded`` entry point
  (``transport``) so this package never imports the emulator. One emulator serves every
  service (the Gemini API, Vertex AI, Cloud Storage) of a state directory;
- any ``http://`` or ``https://`` URL, e.g. a running ``tuned-models emulator``: every service
  is served there.

An emulator (embedded, or ``http://`` on the loopback interface) is :attr:`Target.local`: the
clients then send a fixed local credential when none is configured, instead of looking for
Google credentials (an emulator accepts any unless it was started with registered ones).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tuned_models.config import EMBEDDED, ENTRY_POINT_GROUP
from tuned_models.project import STATE_DIR_NAME, find_project_root

__all__ = [
    "EMBEDDED",
    "EMBEDDED_BASE_URL",
    "LOOPBACK_HOSTS",
    "Target",
    "close_embedded_transports",
    "embedded_transport",
    "resolve_endpoint",
]

#: The base URL requests to the in-process emulator carry (never resolved: ``.invalid``).
EMBEDDED_BASE_URL = "http://embedded.tuned-models.invalid"
#: Host names of the loopback interface: an ``http://`` endpoint there is a local emulator.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

_embedded_lock = threading.Lock()
_embedded: dict[Path, httpx.BaseTransport] = {}


@dataclass(frozen=True)
class Target:
    """Where calls go: ``base_url`` None means Google's own hosts; ``transport`` the embedded
    emulator's (None: the network); ``local`` an emulator on this machine."""

    base_url: str | None
    transport: httpx.BaseTransport | None
    local: bool


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


def resolve_endpoint(
    endpoint: str | None,
    *,
    project_root: Path | None = None,
    emulator_step_seconds: float | None = None,
) -> Target:
    """Interpret a ``tuned-models:endpoint`` value (see the module docstring).

    ``project_root`` (default :func:`tuned_models.project.find_project_root`) holds the embedded
    emulator's state; ``emulator_step_seconds`` (default 1.0) is its time per training step
    when this call creates it.

    Raises:
        ValueError: neither empty, ``embedded`` nor an http(s) URL (the message names the setting).
        RuntimeError: ``embedded`` but the emulator's entry point is not installed.
    """
    value = (endpoint or "").strip()
    if not value:
        return Target(None, None, local=False)
    if value.lower() == EMBEDDED:
        root = project_root or find_project_root()
        transport = embedded_transport(
            root / STATE_DIR_NAME,
            step_seconds=1.0 if emulator_step_seconds is None else emulator_step_seconds,
        )
        return Target(EMBEDDED_BASE_URL, transport, local=True)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "tuned-models:endpoint must be empty (Google's services), 'embedded', "
            "or an http:// or https:// URL"
        )
    local = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    return Target(value.rstrip("/"), None, local=local)
