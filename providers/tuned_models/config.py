"""The ``tuned-models:*`` config keys and the connection settings, parsed once.

:func:`read_connection` turns the connection keys (``backend``, ``endpoint``, ``apiKey``,
``quotaProject``, ``emulatorStepSeconds``) into a :class:`Connection` and the findings about
them. It is the one parser: the stack checker reports its findings as problems (``validate``,
the program), the provider process builds its backend from it in ``configure()``, and ``plan``
and ``status`` connect with it. Standard library only (and the pure name rules of
:mod:`tuned_models.vertex.names`), so any layer may import it.

Values may come as a stack file has them (YAML: numbers, ``{secure: ...}``) or as the engine
hands them to a provider (strings, secrets decrypted, structured values as JSON text). The API
key's value is kept only when it is plain text (the provider process); it is never part of a
message or a ``repr``.

``tuned-models:vertex`` (``{project, location, bucket}``) is read for the ``vertex`` backend;
``project`` and ``location`` fall back to :data:`PROJECT_ENV_VAR` and :data:`LOCATION_ENV_VAR`
(read once, here). A stack that relies on the environment validates with a warning where the
environment lacks them (``tuned-models validate`` in a pull-request check); the provider, which
needs them, refuses to connect without them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tuned_models.model.problems import describe, suggest
from tuned_models.vertex.names import GcsLocation, check_location

#: The Pulumi project name, which namespaces this tool's config keys.
NAMESPACE = "tuned-models"

KEY_BACKEND = f"{NAMESPACE}:backend"
KEY_ENDPOINT = f"{NAMESPACE}:endpoint"
KEY_API_KEY = f"{NAMESPACE}:apiKey"
KEY_QUOTA_PROJECT = f"{NAMESPACE}:quotaProject"
KEY_STEP_SECONDS = f"{NAMESPACE}:emulatorStepSeconds"
KEY_VERTEX = f"{NAMESPACE}:vertex"
KEY_DEFAULTS = f"{NAMESPACE}:defaults"
KEY_MODELS = f"{NAMESPACE}:models"
#: The keys :func:`read_connection` reads.
CONNECTION_KEYS: tuple[str, ...] = (
    KEY_BACKEND,
    KEY_ENDPOINT,
    KEY_API_KEY,
    KEY_QUOTA_PROJECT,
    KEY_STEP_SECONDS,
    KEY_VERTEX,
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
BACKENDS: tuple[str, ...] = ("gemini", "vertex")
#: The backend that reads ``tuned-models:vertex``.
VERTEX = "vertex"
#: The backends that take ``tuned-models:apiKey`` (Vertex AI authenticates with OAuth only).
API_KEY_BACKENDS: tuple[str, ...] = ("gemini",)
#: The keys of ``tuned-models:vertex``.
VERTEX_KEYS: tuple[str, ...] = ("project", "location", "bucket")
#: Where ``tuned-models:vertex.project`` and ``.location`` fall back to.
PROJECT_ENV_VAR = "GOOGLE_CLOUD_PROJECT"
LOCATION_ENV_VAR = "GOOGLE_CLOUD_LOCATION"
#: Locations that serve tuned models but run no tuning job.
SERVING_ONLY_LOCATIONS: tuple[str, ...] = ("global", "us", "eu")


@dataclass(frozen=True)
class VertexSettings:
    """``tuned-models:vertex``, after the environment fallbacks: the project and location jobs
    run in, and ``gs://bucket[/prefix]`` where datasets are uploaded. None where nothing says."""

    project: str | None = None
    location: str | None = None
    bucket: str | None = None

    def missing(self) -> list[str]:
        """The settings a connection to Vertex AI still lacks (``project``, ``location``, ``bucket``)."""
        return [k for k in VERTEX_KEYS if not getattr(self, k)]


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
    vertex: VertexSettings = field(default_factory=VertexSettings)

    def without_key(self) -> Connection:
        """This connection without the key's value (``plan``/``status`` read the environment)."""
        return dataclasses.replace(self, api_key=None)


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


def read_connection(
    config: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[Connection, list[Finding]]:
    """The connection a namespaced config map declares, and what is wrong with it.

    ``environ`` (default ``os.environ``) gives the fallbacks of ``tuned-models:vertex``. A key
    that belongs to the other backend is an error (``apiKey`` under ``vertex``, ``vertex`` under
    ``gemini``). A bad value is left at its default and reported; never raises.
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
    vertex = _vertex(config.get(KEY_VERTEX), backend, findings, os.environ if environ is None else environ)
    if backend not in API_KEY_BACKENDS and has_api_key:
        bad(
            KEY_API_KEY,
            "Vertex AI takes no API key: it authenticates with OAuth (GOOGLE_OAUTH_ACCESS_TOKEN, "
            "or application default credentials); remove the key from this stack",
        )
        api_key, has_api_key = None, False
    connection = Connection(backend, endpoint, api_key, has_api_key, quota_project, step, vertex)
    return connection, findings


def _vertex(raw: Any, backend: str, findings: list[Finding], environ: Mapping[str, str]) -> VertexSettings:
    """``tuned-models:vertex`` with its fallbacks; problems go to ``findings``."""
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        with contextlib.suppress(ValueError, RecursionError):
            raw = json.loads(raw)
    values: dict[str, str] = {}
    if raw is not None:
        if backend != VERTEX:
            findings.append(
                Finding(
                    KEY_VERTEX,
                    f"applies to the vertex backend only; this stack's backend is {backend} "
                    f"(set {KEY_BACKEND}: vertex, or remove it)",
                )
            )
            return VertexSettings()
        if not isinstance(raw, Mapping):
            findings.append(
                Finding(
                    KEY_VERTEX, f"expected a mapping of project, location and bucket, got {describe(raw)}"
                )
            )
        else:
            for key, value in raw.items():
                where = f"{KEY_VERTEX}.{key}"
                if key not in VERTEX_KEYS:
                    findings.append(
                        Finding(where, f"unknown key {str(key)!r}" + suggest(str(key), VERTEX_KEYS))
                    )
                elif value is None:
                    continue
                elif not isinstance(value, str) or not value.strip():
                    findings.append(Finding(where, f"expected a non-empty string, got {describe(value)}"))
                elif (problem := _vertex_value_problem(key, value.strip())) is not None:
                    findings.append(Finding(where, problem))
                else:
                    values[key] = value.strip()
    if backend != VERTEX:
        return VertexSettings()
    reported = {f.key for f in findings}
    for key, env in (("project", PROJECT_ENV_VAR), ("location", LOCATION_ENV_VAR)):
        if key in values or f"{KEY_VERTEX}.{key}" in reported:
            continue
        fallback = environ.get(env, "").strip()
        if fallback and _vertex_value_problem(key, fallback) is None:
            values[key] = fallback
        else:
            findings.append(
                Finding(
                    f"{KEY_VERTEX}.{key}",
                    f"no {key}: set {KEY_VERTEX}.{key}, or {env} where `pulumi up` runs "
                    "(the provider cannot reach Vertex AI without it)",
                    warning=True,
                )
            )
    if "bucket" not in values and f"{KEY_VERTEX}.bucket" not in reported:
        findings.append(
            Finding(
                f"{KEY_VERTEX}.bucket",
                "required by the vertex backend: gs://BUCKET[/PREFIX], where datasets are uploaded "
                "(named by their digest)",
            )
        )
    return VertexSettings(values.get("project"), values.get("location"), values.get("bucket"))


def _vertex_value_problem(key: str, value: str) -> str | None:
    """Why ``value`` cannot be ``tuned-models:vertex.<key>``, or None."""
    if key == "project" and not re.fullmatch(r"[a-z][a-z0-9.:-]{4,61}[a-z0-9]|\d{6,20}", value):
        return (
            f"{value!r} is not a project id: 6-30 lowercase letters, digits and hyphens, "
            "starting with a letter (or a project number)"
        )
    if key == "location":
        try:
            check_location(value)
        except ValueError as e:
            return str(e)
        if value in SERVING_ONLY_LOCATIONS:
            return f"tuning jobs run in a region (e.g. us-central1, europe-west4), not {value!r}"
    if key == "bucket":
        try:
            GcsLocation.parse(value)
        except ValueError as e:
            return str(e)
    return None


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
