"""The backend seam: the services that tune models, behind one interface.

A backend is a package ``tuned_models.backends.<name>`` with

- ``FIELDS``: its :class:`~tuned_models.model.fields.FieldTable` (pure data, imported cheaply
  by ``validate``, the planner and the schema);
- ``CHECKS``: its :class:`~tuned_models.backends.checks.SpecChecks` (its rules on a spec's
  values and its datasets, offline: ``validate``, the program and the provider's ``check``);
- a module ``backend`` with ``connect(connection, project_root) -> Backend``, the
  implementation of :class:`tuned_models.backends.base.Backend` (imported only when a model is
  read or written).

:func:`fields_for` and :func:`connect_backend` find them by the name ``tuned-models:backend``
gives (:data:`tuned_models.config.BACKENDS`). Nothing outside a backend's package asks which
backend it is talking to.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tuned_models.config import BACKENDS, Connection
from tuned_models.model.fields import FieldTable

if TYPE_CHECKING:
    from tuned_models.backends.base import Backend
    from tuned_models.backends.checks import SpecChecks

__all__ = ["checks_for", "close_backends", "connect_backend", "fields_for"]


def _package(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected {' or '.join(BACKENDS)}")
    return f"{__name__}.{name}"


def fields_for(name: str) -> FieldTable:
    """The field table of backend ``name``. Raises ValueError for an unknown backend."""
    table: FieldTable = importlib.import_module(_package(name)).FIELDS
    return table


def checks_for(name: str) -> SpecChecks:
    """The offline checks of backend ``name``. Raises ValueError for an unknown backend."""
    checks: SpecChecks = importlib.import_module(_package(name)).CHECKS
    return checks


_lock = threading.Lock()
_connected: dict[tuple[Connection, Path], Backend] = {}


def connect_backend(connection: Connection, project_root: Path) -> Backend:
    """One shared, thread-safe backend per distinct connection in this process.

    Raises ValueError for an unknown backend, and what the backend's ``connect`` raises
    (e.g. missing credentials).
    """
    key = (connection, project_root)
    with _lock:
        backend = _connected.get(key)
        if backend is None:
            module = importlib.import_module(_package(connection.backend) + ".backend")
            backend = module.connect(connection, project_root)
            _connected[key] = backend
        return backend


def close_backends() -> None:
    """Forget every connected backend of this process (tests; the next call connects anew)."""
    with _lock:
        _connected.clear()
