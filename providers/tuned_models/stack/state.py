"""What Pulumi records about a stack: its state, as ``pulumi stack export`` writes it, and its
last update, as ``pulumi stack history`` tells it. The one reader of Pulumi's records (no Pulumi
SDK), for ``plan``, ``status``, ``prune`` and ``report``.

The state says what ``pulumi up`` will refresh, compare and delete, and holds what the service
cannot keep: each model's quality gate outcome (``evaluation``) and what the last ``up`` did to
it (``lastChange``). It attributes models to a stack with certainty (a model is this stack's when
its state records it, or when it carries the exact deterministic id of a declared model; never
by the stack tag alone).

:func:`read_state` follows one set of rules, in this order:

- ``--no-state`` (``use_cli=False``, no file): nothing is read;
- ``--state FILE``: that ``pulumi stack export`` document (what CI can save next to the plan); one
  that cannot be used is an error (:class:`StateError`), as the user asked for it. It holds no
  history;
- otherwise the Pulumi CLI, run in the project root as the user runs ``pulumi``:
  ``$TUNED_MODELS_PULUMI_BIN/pulumi`` when that variable is set, else ``pulumi`` on ``PATH``;
  the caller's environment, with the project's local file backend (``.tuned-models/pulumi-state``,
  the one ``scripts/pulumi-env.sh`` uses) when ``PULUMI_BACKEND_URL`` is unset and it exists;
  no update check. A backend must have been chosen (``PULUMI_BACKEND_URL``, that local backend,
  or a ``pulumi login`` recorded in ``$PULUMI_HOME/credentials.json``): the CLI is never left to
  prompt for a login or to try a service it was not pointed at. Then
  ``pulumi stack export --stack NAME`` and, when asked (``history``),
  ``pulumi stack history --stack NAME --output json``.

Without state the result's ``state`` is None and its ``note`` is the one message saying why
(no CLI, no backend, no such stack, ...); the commands then say they are partial.

:func:`parse_export` is pure: it keeps the resources of this package's types
(:mod:`tuned_models.tokens`) and raises :class:`StateError` for a document that is not the
export of this project's stack. Secrets in an export stay encrypted; nothing here reads them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tuned_models.project import STATE_DIR_NAME
from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE, TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_TYPE

__all__ = [
    "LOCAL_BACKEND",
    "PULUMI_BIN_ENV_VAR",
    "LastUpdate",
    "PendingOperation",
    "StackState",
    "StateError",
    "StateResource",
    "StateSource",
    "parse_export",
    "parse_history",
    "pulumi_environment",
    "pulumi_executable",
    "read_state",
]

#: A directory holding the ``pulumi`` executable (scripts/install-pulumi.sh prints one).
PULUMI_BIN_ENV_VAR = "TUNED_MODELS_PULUMI_BIN"
#: The local file backend of scripts/pulumi-env.sh, under the project root.
LOCAL_BACKEND = f"{STATE_DIR_NAME}/pulumi-state"
#: How long one CLI call may take before the state counts as unavailable.
CLI_TIMEOUT = 120.0


class StateError(ValueError):
    """A state document that cannot be used; ``str()`` says why."""


@dataclass(frozen=True)
class StateResource:
    """One resource in the state: ``name`` is its Pulumi resource name (the URN's last part)."""

    urn: str
    type: str
    name: str
    id: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    parent: str | None = None
    protect: bool = False
    retain_on_delete: bool = False

    @property
    def service_name(self) -> str:
        """A model's (or grant's) name on the service, as its outputs record it."""
        return str(self.outputs.get("name") or self.id)


@dataclass(frozen=True)
class PendingOperation:
    """An operation an interrupted ``pulumi up`` left (``creating``, ``updating``, ...)."""

    kind: str
    resource: StateResource


@dataclass(frozen=True)
class LastUpdate:
    """The stack's most recent update as ``pulumi stack history`` records it (times to the second)."""

    kind: str
    result: str
    start: datetime | None
    end: datetime | None
    changes: Mapping[str, int] = field(default_factory=dict)

    def covers(self, when: datetime | None) -> bool:
        """Whether ``when`` falls inside this update (the history's times are whole seconds)."""
        if when is None or self.start is None:
            return False
        end = self.end or self.start
        return self.start.timestamp() - 1 <= when.timestamp() <= end.timestamp() + 1


@dataclass(frozen=True)
class StackState:
    """The resources of this package in one stack's state.

    ``models``: ``TunedModel`` resources by resource name; ``replaced``: models an interrupted
    replacement left marked for deletion (``pulumi up`` deletes them); ``permissions``:
    ``TunedModelPermission`` by resource name (``<model>:<grantee key>``); ``owners``:
    ``TunedModelOwner`` by resource name (``<model>:owner``); ``pending``: operations an
    interrupted run left; ``last_update``: the last update, when the history was read.
    ``source`` says where it was read.
    """

    source: str
    models: dict[str, StateResource] = field(default_factory=dict)
    replaced: tuple[StateResource, ...] = ()
    permissions: dict[str, StateResource] = field(default_factory=dict)
    owners: dict[str, StateResource] = field(default_factory=dict)
    pending: tuple[PendingOperation, ...] = ()
    last_update: LastUpdate | None = None

    def grants_of(self, model: StateResource) -> list[StateResource]:
        """The permission resources whose parent is ``model`` (or named ``<model>:...``)."""
        return [
            r
            for r in self.permissions.values()
            if r.parent == model.urn or (r.parent is None and r.name.startswith(model.name + ":"))
        ]

    def owner_of(self, model: StateResource) -> StateResource | None:
        return next(
            (r for r in self.owners.values() if r.parent == model.urn or r.name == f"{model.name}:owner"),
            None,
        )

    def outputs_of(self, resource: str) -> Mapping[str, Any]:
        """The recorded outputs of the model resource ``resource`` (empty when not recorded)."""
        recorded = self.models.get(resource)
        return recorded.outputs if recorded is not None else {}

    def records(self, resource: str, name: str) -> bool:
        """Whether the model ``name`` on the service is what the state records for ``resource``
        (the model that serves for it)."""
        recorded = self.models.get(resource)
        return recorded is not None and recorded.service_name == name

    @property
    def service_names(self) -> set[str]:
        """The service names of every model the state records (those marked for deletion too)."""
        return {m.service_name for m in (*self.models.values(), *self.replaced)}


@dataclass(frozen=True)
class StateSource:
    """What :func:`read_state` found: the state, or None and ``note``, the reason there is none."""

    state: StackState | None
    note: str


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _resource(raw: Mapping[str, Any]) -> StateResource:
    urn = str(raw.get("urn") or "")
    return StateResource(
        urn=urn,
        type=str(raw.get("type") or ""),
        name=urn.rpartition("::")[2],
        id=str(raw.get("id") or ""),
        inputs=_mapping(raw.get("inputs")),
        outputs=_mapping(raw.get("outputs")),
        parent=str(raw["parent"]) if raw.get("parent") else None,
        protect=raw.get("protect") is True,
        retain_on_delete=raw.get("retainOnDelete") is True,
    )


_OUR_TYPES = (TUNED_MODEL_TYPE, TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_OWNER_TYPE)


def parse_export(document: Any, project: str, stack: str, source: str) -> StackState:
    """The state of ``project``'s ``stack`` in a ``pulumi stack export`` document.

    Raises StateError when the document is not such an export, or is another stack's.
    """
    deployment = document.get("deployment") if isinstance(document, dict) else None
    if not isinstance(deployment, dict):
        raise StateError(f"{source}: not a `pulumi stack export` document (no deployment)")
    raw_resources = deployment.get("resources") or []
    if not isinstance(raw_resources, list):
        raise StateError(f"{source}: deployment.resources is not a list")
    wanted = f"urn:pulumi:{stack}::{project}::"
    state = StackState(source)
    replaced: list[StateResource] = []
    for raw in raw_resources:
        if not isinstance(raw, dict):
            raise StateError(f"{source}: a resource is not an object")
        resource = _resource(raw)
        if resource.urn and not resource.urn.startswith(wanted):
            other = resource.urn.split("::")[:2]
            raise StateError(
                f"{source} is the state of {other[0].removeprefix('urn:pulumi:')} in project "
                f"{other[1] if len(other) > 1 else '?'}, not of stack {stack} in project {project}"
            )
        if resource.type == TUNED_MODEL_TYPE and raw.get("delete") is True:
            replaced.append(resource)
        elif resource.type == TUNED_MODEL_TYPE:
            state.models[resource.name] = resource
        elif resource.type == TUNED_MODEL_PERMISSION_TYPE and raw.get("delete") is not True:
            state.permissions[resource.name] = resource
        elif resource.type == TUNED_MODEL_OWNER_TYPE and raw.get("delete") is not True:
            state.owners[resource.name] = resource
    pending: list[PendingOperation] = []
    for raw in deployment.get("pending_operations") or []:
        if isinstance(raw, dict) and isinstance(raw.get("resource"), dict):
            resource = _resource(raw["resource"])
            if resource.type in _OUR_TYPES:
                pending.append(PendingOperation(str(raw.get("type") or ""), resource))
    return StackState(source, state.models, tuple(replaced), state.permissions, state.owners, tuple(pending))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_history(entries: Any) -> LastUpdate | None:
    """The most recent update of a ``pulumi stack history --output json`` list (None: none)."""
    updates = [e for e in entries or [] if isinstance(e, Mapping)] if isinstance(entries, list) else []
    if not updates:
        return None
    last = max(updates, key=lambda e: str(e.get("startTime") or ""))
    changes = last.get("resourceChanges") or {}
    return LastUpdate(
        kind=str(last.get("kind") or "update"),
        result=str(last.get("result") or "unknown"),
        start=_time(last.get("startTime")),
        end=_time(last.get("endTime")),
        changes={str(k): int(v) for k, v in _mapping(changes).items() if isinstance(v, int | float)},
    )


def pulumi_executable() -> str | None:
    """The ``pulumi`` CLI to ask: in ``$TUNED_MODELS_PULUMI_BIN`` when set, else on ``PATH``; or None."""
    configured = os.environ.get(PULUMI_BIN_ENV_VAR)
    if configured:
        candidate = Path(configured) / "pulumi"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("pulumi")


def pulumi_environment(
    project_root: Path, project: str | None = None, stack: str | None = None
) -> dict[str, str]:
    """The caller's environment, with the project's local file backend (the one
    ``scripts/up-local.sh`` made) when ``PULUMI_BACKEND_URL`` is not set and either no ``pulumi
    login`` is current or the local backend holds ``project``'s ``stack``: a user logged in to
    another backend still reads its stacks there, and the local stacks locally."""
    env = dict(os.environ)
    local = project_root / LOCAL_BACKEND
    holds = stack is None or project is None or _local_holds(local, project, stack)
    if not env.get("PULUMI_BACKEND_URL") and local.is_dir() and (holds or not _backend_chosen(env)):
        env["PULUMI_BACKEND_URL"] = f"file://{local}"
        env.setdefault("PULUMI_HOME", str(project_root / STATE_DIR_NAME / "pulumi-home"))
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    return env


def _local_holds(local: Path, project: str, stack: str) -> bool:
    """Whether a file backend holds a project's stack (project-scoped, or the older flat layout)."""
    stacks = local / ".pulumi" / "stacks"
    return any(any(where.glob(f"{stack}.json*")) for where in (stacks / project, stacks) if where.is_dir())


def _backend_chosen(env: Mapping[str, str]) -> bool:
    if env.get("PULUMI_BACKEND_URL"):
        return True
    home = Path(env.get("PULUMI_HOME") or Path.home() / ".pulumi")
    try:
        credentials = json.loads((home / "credentials.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(credentials, dict) and bool(credentials.get("current"))


def _run(pulumi: str, root: Path, env: Mapping[str, str], args: list[str]) -> tuple[Any, str | None]:
    """Run ``pulumi ARGS`` in ``root``: its JSON output, or None and why there is none."""
    command = f"`pulumi {' '.join(args[:2])}`"
    try:
        proc = subprocess.run(
            [pulumi, *args, "--non-interactive"],
            cwd=root,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{command} could not run ({e})"
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        return None, lines[-1] if lines else f"{command} failed with exit code {proc.returncode}"
    try:
        return json.loads(proc.stdout), None
    except (json.JSONDecodeError, RecursionError) as e:
        return None, f"{command} printed no JSON ({e})"


def _read_file(state_file: Path, project: str, stack: str) -> StateSource:
    try:
        document = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise StateError(f"{state_file}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise StateError(f"{state_file}: not JSON ({e})") from None
    return StateSource(
        parse_export(document, project, stack, str(state_file)), f"Pulumi state from {state_file}"
    )


def read_state(
    project_root: Path,
    project: str,
    stack: str,
    *,
    state_file: Path | None = None,
    use_cli: bool = True,
    history: bool = False,
) -> StateSource:
    """The stack's state (see the module docstring for the rules); with ``history``, its last
    update too (from the CLI only). Raises StateError for a ``state_file`` that cannot be used;
    a state the CLI cannot give is not an error: the result has none and its note says why."""
    if state_file is not None:
        return _read_file(state_file, project, stack)
    if not use_cli:
        return StateSource(None, "Pulumi state not read (--no-state)")
    pulumi = pulumi_executable()
    if pulumi is None:
        where = (
            f"{PULUMI_BIN_ENV_VAR}={os.environ[PULUMI_BIN_ENV_VAR]} holds no pulumi executable"
            if os.environ.get(PULUMI_BIN_ENV_VAR)
            else f"no pulumi on PATH and {PULUMI_BIN_ENV_VAR} is not set"
        )
        return StateSource(
            None,
            f"Pulumi state not read: no Pulumi CLI ({where}; `. scripts/pulumi-env.sh` puts it on "
            "PATH); pass --state FILE to use a saved `pulumi stack export`",
        )
    env = pulumi_environment(project_root, project, stack)
    if not _backend_chosen(env):
        return StateSource(
            None,
            "Pulumi state not read: no Pulumi backend chosen (set PULUMI_BACKEND_URL, or `pulumi "
            f"login`; the local stack's is {LOCAL_BACKEND} once `scripts/up-local.sh` ran)",
        )
    document, why = _run(pulumi, project_root, env, ["stack", "export", "--stack", stack])
    if why is not None:
        if "no stack named" in why.lower() or "not found" in why.lower():
            why = f"the stack {stack} does not exist in the current Pulumi backend ({why})"
        return StateSource(None, f"Pulumi state not read: {why}")
    source = f"pulumi stack export --stack {stack}"
    try:
        state = parse_export(document, project, stack, source)
    except StateError as e:
        return StateSource(None, f"Pulumi state not read: {e}")
    if history:
        entries, _ = _run(
            pulumi, project_root, env, ["stack", "history", "--stack", stack, "--output", "json"]
        )
        state = dataclasses.replace(state, last_update=parse_history(entries))
    return StateSource(state, f"Pulumi state from `{source}`")
