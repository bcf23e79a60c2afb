"""A stack's Pulumi state, as ``pulumi stack export`` writes it: what ``pulumi up`` will refresh,
compare and delete.

``plan``, ``status`` and ``prune`` read it to attribute models to a stack with certainty (a model
is this stack's when its state records it, or when it carries the exact deterministic id of a
declared model; never by the stack tag alone). :func:`read_state` gets it:

- ``--state FILE``: a ``pulumi stack export`` document (what CI can save next to the plan);
- otherwise ``pulumi stack export --stack NAME`` when a Pulumi CLI is reachable
  (``TUNED_MODELS_PULUMI_BIN``, else ``pulumi`` on ``PATH``) and the stack exists in the
  current backend (``PULUMI_BACKEND_URL`` or the CLI's login);
- otherwise (or with ``--no-state``) no state: the result says why, and ``plan`` is partial.

:func:`parse_export` is pure: it keeps the resources of this package's types
(:mod:`tuned_models.tokens`) and raises :class:`StateError` for a document that is not the
export of this project's stack. Secrets in an export stay encrypted; nothing here reads them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE, TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_TYPE

__all__ = [
    "PULUMI_BIN_ENV_VAR",
    "PendingOperation",
    "StackState",
    "StateError",
    "StateResource",
    "StateSource",
    "parse_export",
    "pulumi_executable",
    "read_state",
]

#: A directory holding the ``pulumi`` executable (scripts/install-pulumi.sh prints one).
PULUMI_BIN_ENV_VAR = "TUNED_MODELS_PULUMI_BIN"
_EXPORT_TIMEOUT = 300.0


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
class StackState:
    """The resources of this package in one stack's state.

    ``models``: ``TunedModel`` resources by resource name; ``permissions``:
    ``TunedModelPermission`` by resource name (``<model>:<grantee key>``); ``owners``:
    ``TunedModelOwner`` by resource name (``<model>:owner``); ``pending``: operations an
    interrupted run left. ``source`` says where it was read.
    """

    source: str
    models: dict[str, StateResource] = field(default_factory=dict)
    permissions: dict[str, StateResource] = field(default_factory=dict)
    owners: dict[str, StateResource] = field(default_factory=dict)
    pending: tuple[PendingOperation, ...] = ()

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

    @property
    def service_names(self) -> set[str]:
        """The service names of every model the state records."""
        return {m.service_name for m in self.models.values()}


@dataclass(frozen=True)
class StateSource:
    """What :func:`read_state` found: the state, or None and the reason there is none."""

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
    state = StackState(source)
    wanted = f"urn:pulumi:{stack}::{project}::"
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
        if resource.type == TUNED_MODEL_TYPE:
            state.models[resource.name] = resource
        elif resource.type == TUNED_MODEL_PERMISSION_TYPE:
            state.permissions[resource.name] = resource
        elif resource.type == TUNED_MODEL_OWNER_TYPE:
            state.owners[resource.name] = resource
    pending: list[PendingOperation] = []
    for raw in deployment.get("pending_operations") or []:
        if isinstance(raw, dict) and isinstance(raw.get("resource"), dict):
            resource = _resource(raw["resource"])
            if resource.type in (TUNED_MODEL_TYPE, TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_OWNER_TYPE):
                pending.append(PendingOperation(str(raw.get("type") or ""), resource))
    return StackState(source, state.models, state.permissions, state.owners, tuple(pending))


def pulumi_executable() -> str | None:
    """The ``pulumi`` CLI to ask: in ``$TUNED_MODELS_PULUMI_BIN``, else on ``PATH``; or None."""
    configured = os.environ.get(PULUMI_BIN_ENV_VAR)
    if configured:
        candidate = Path(configured) / "pulumi"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("pulumi")


def read_state(
    project_root: Path,
    project: str,
    stack: str,
    *,
    state_file: Path | None = None,
    use_cli: bool = True,
) -> StateSource:
    """The stack's state from ``state_file``, else from ``pulumi stack export`` (see the module
    docstring). Raises StateError for a ``state_file`` that cannot be used; a CLI that cannot
    give the state is not an error: the result carries no state and says why."""
    if state_file is not None:
        try:
            document = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise StateError(f"{state_file}: cannot read ({getattr(e, 'strerror', None) or e})") from None
        except (json.JSONDecodeError, RecursionError) as e:
            raise StateError(f"{state_file}: not JSON ({e})") from None
        state = parse_export(document, project, stack, str(state_file))
        return StateSource(state, f"Pulumi state from {state_file}")
    if not use_cli:
        return StateSource(None, "no Pulumi state read (--no-state)")
    pulumi = pulumi_executable()
    if pulumi is None:
        return StateSource(
            None, "no Pulumi CLI found (PATH or TUNED_MODELS_PULUMI_BIN); pass --state FILE to use a state"
        )
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        proc = subprocess.run(
            [pulumi, "stack", "export", "--stack", stack, "--non-interactive"],
            cwd=project_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=_EXPORT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return StateSource(None, f"`pulumi stack export` could not run ({e})")
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        if "no stack named" in reason.lower() or "not found" in reason.lower():
            reason = f"the stack {stack} does not exist in the current Pulumi backend ({reason})"
        return StateSource(None, f"no Pulumi state: {reason}")
    try:
        document = json.loads(proc.stdout)
    except (json.JSONDecodeError, RecursionError) as e:
        return StateSource(None, f"`pulumi stack export` printed no JSON ({e})")
    try:
        state = parse_export(document, project, stack, f"pulumi stack export --stack {stack}")
    except StateError as e:
        return StateSource(None, f"no usable Pulumi state: {e}")
    return StateSource(state, f"Pulumi state from `pulumi stack export --stack {stack}`")
