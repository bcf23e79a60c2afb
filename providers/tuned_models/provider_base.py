"""What the dynamic providers here share: the connection from ``configure``, its backends,
and a log onto ``pulumi up``'s output.

A provider object is pickled into Pulumi state by reference to its module and holds no data:
its connection and credentials are built in ``configure()`` from the stack config the engine
sends (DESIGN.md decision 3).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import ConfigureRequest, ResourceProvider

from tuned_models.backends import connect_backend
from tuned_models.backends.base import Backend
from tuned_models.config import CONNECTION_KEYS, Connection, read_connection
from tuned_models.project import find_project_root


class PulumiLog:
    """:class:`tuned_models.backends.base.Log` onto ``pulumi up``'s output."""

    def info(self, message: str) -> None:
        pulumi.log.info(message)

    def warn(self, message: str) -> None:
        pulumi.log.warn(message)


def connection_from_engine(get: Any) -> Connection:
    """The connection the engine's provider config (``key -> value`` getter) declares.

    Raises ValueError listing the bad keys (never a value); the program's stack check reports
    the same findings before any resource is declared.
    """
    connection, findings = read_connection({k: v for k in CONNECTION_KEYS if (v := get(k)) is not None})
    errors = [f"{f.key}: {f.message}" for f in findings if not f.warning]
    if errors:
        raise ValueError("tuned-models: the provider config is not valid: " + "; ".join(errors))
    return connection


class ProviderBase(ResourceProvider):
    """What every provider here shares: the connection from ``configure`` and its backends."""

    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()

    def configure(self, req: ConfigureRequest) -> None:
        self._connection = connection_from_engine(req.config.get)
        self._root = find_project_root()

    def backend(self, name: str | None = None) -> Backend:
        """The connected backend ``name`` (default: the stack's)."""
        connection: Connection = getattr(self, "_connection", None) or Connection()
        if name is not None and name != connection.backend:
            connection = dataclasses.replace(connection, backend=name)
        return connect_backend(connection, self.root())

    def root(self) -> Path:
        root: Path | None = getattr(self, "_root", None)
        return root or Path.cwd()
