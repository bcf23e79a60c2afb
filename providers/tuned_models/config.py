"""The ``tuned-models:*`` config keys and the connection settings, parsed once.

:func:`read_connection` turns the connection keys (``backend``, ``endpoint``, ``apiKey``,
``quotaProject``, ``emulatorStepSeconds``) into a :class:`Connection` and the findings about
them. It is the one parser: the stack checker reports its findings as problems (``validate``,
the program), the provider process builds its backend from it in ``configure()``, and ``plan``
and ``status`` connect with it. Standard library only, so any layer may import it.

Values may come as a stack file has them (YAML: numbers, ``{secure: ...}``) or as the engine
hands them to a provider (strings, secrets decrypted). The API key's value is kept only when it
is plain text (the provider process); it is never part of a message or a ``repr``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tuned_models.model.problems import describe, suggest

#: The Pulumi project name, which namespaces this tool's config keys.
NAMESPACE = "tuned-models"

KEY_BACKEND = f"{NAMESPACE}:backend"
KEY_ENDPOINT = f"{NAMESPACE}:endpoint"
KEY_API_KEY = f"{NAMESPACE}:apiKey"
KEY_QUOTA_PROJECT = f"{NAMESPACE}:quotaProject"
KEY_STEP_SECONDS = f"{NAMESPACE}:emulatorStepSeconds"
KEY_DEFAULTS = f"{NAMESPACE}:defaults"
KEY_MODELS = f"{NAMESPACE}:models"
#: The keys :func:`read_connection` reads.
CONNECTION_KEYS: tuple[str, ...] = (
    KEY_BACKEND,
    KEY_ENDPOINT,
    KEY_API_KEY,
    KEY_QUOTA_PROJECT,
    KEY_STEP_SECONDS,
)
#: Every config key this tool reads; any other ``tuned-models:*`` key is an error.
CONFIG_KEYS: tuple[str, ...] = (*CONNECTION_KEYS, KEY_DEFAULTS, KEY_MODELS)

#: The endpoint value that selects the in-process emulator.
EMBEDDED = "embedded"
#: The entry-point group through which the provider reaches the emulator (never by import).
ENTRY_POINT_GROUP = "tuned_models.embedded"
#: The backend of a stack that does not set ``tuned-models:backend``.
DEFAULT_BACKEND = "gemini"
#: The backends ``tuned-models:backend`` accepts.
BACKENDS: tuple[str, ...] = ("gemini",)


@dataclass(frozen=True)
class Connection:
    """Which service a stack's models live on and how to reach it. ``repr`` never shows the key.

    ``api_key`` is the key's value when the config holds it in plain text (the provider process
    gets secrets decrypted); ``has_api_key`` says whether the config sets one at all (a stack
    file holds it encrypted, as ``{secure: ...}``).
    """

    backend: str = DEFAULT_BACKEND
    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)
    has_api_key: bool = False
    quota_project: str | None = None
    emulator_step_seconds: float | None = None

    def without_key(self) -> Connection:
        """This connection without the key's value (``plan``/``status`` read the environment)."""
        return Connection(
            self.backend,
            self.endpoint,
            None,
            self.has_api_key,
            self.quota_project,
            self.emulator_step_seconds,
        )


@dataclass(frozen=True)
class Finding:
    """Something wrong (or dubious, when ``warning``) with one config key's value."""

    key: str
    message: str
    warning: bool = False


def endpoint_problem(value: str) -> str | None:
    """Why ``value`` is not an endpoint (``embedded`` or an http(s) URL with a host), or None."""
    if value == EMBEDDED:
        return None
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname and not any(c.isspace() for c in value):
        return None
    return f"expected 'embedded' or an http(s) URL, got {value!r}{suggest(value, (EMBEDDED,))}"


def read_connection(config: Mapping[str, Any]) -> tuple[Connection, list[Finding]]:
    """The connection a namespaced config map declares, and what is wrong with it.

    A bad value is left at its default and reported; never raises.
    """
    findings: list[Finding] = []

    def bad(key: str, message: str) -> None:
        findings.append(Finding(key, message))

    backend = DEFAULT_BACKEND
    raw_backend = config.get(KEY_BACKEND)
    if raw_backend is not None:
        if raw_backend in BACKENDS:
            backend = str(raw_backend)
        else:
            bad(KEY_BACKEND, f"unknown backend {describe(raw_backend)}; expected {' or '.join(BACKENDS)}")

    endpoint: str | None = None
    raw_endpoint = config.get(KEY_ENDPOINT)
    if raw_endpoint is not None:
        if not isinstance(raw_endpoint, str):
            bad(KEY_ENDPOINT, f"expected 'embedded' or an http(s) URL, got {describe(raw_endpoint)}")
        elif (problem := endpoint_problem(raw_endpoint)) is not None:
            bad(KEY_ENDPOINT, problem)
        else:
            endpoint = raw_endpoint

    api_key, has_api_key = _api_key(config.get(KEY_API_KEY), findings)

    quota_project: str | None = None
    raw_quota = config.get(KEY_QUOTA_PROJECT)
    if raw_quota is not None:
        if isinstance(raw_quota, str) and raw_quota:
            quota_project = raw_quota
        else:
            bad(KEY_QUOTA_PROJECT, f"expected a non-empty string, got {describe(raw_quota)}")

    step = _step_seconds(config.get(KEY_STEP_SECONDS), findings)
    if step is not None and endpoint is None:
        findings.append(
            Finding(KEY_STEP_SECONDS, "applies to the emulator only; the public service ignores it", True)
        )
    connection = Connection(backend, endpoint, api_key, has_api_key, quota_project, step)
    return connection, findings


def _api_key(value: Any, findings: list[Finding]) -> tuple[str | None, bool]:
    # The value is a secret: messages describe its shape, never its content.
    if value is None:
        return None, False
    if isinstance(value, str) and value:
        return value, True
    if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
        return None, True
    findings.append(
        Finding(
            KEY_API_KEY,
            "expected a string or {secure: ...} "
            "(set it with `pulumi config set --secret tuned-models:apiKey`)",
        )
    )
    return None, False


def _step_seconds(value: Any, findings: list[Finding]) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        findings.append(
            Finding(KEY_STEP_SECONDS, f"expected a positive number of seconds, got {describe(value)}")
        )
        return None
    return float(value)
