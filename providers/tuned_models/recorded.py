"""What Pulumi has recorded about a stack, read through the Pulumi CLI (no Pulumi SDK).

The provider records in each model's outputs what the service cannot keep: the outcome of its
quality gate (``evaluation``) and what the last ``pulumi up`` did to it (``lastChange``).
``status`` and ``report`` read them here, with ``pulumi stack export --stack NAME`` (the
checkpoint's resources) and ``pulumi stack history --output json`` (when the last update ran and
what it counted), run in the project root as the user runs ``pulumi``:

- the CLI is ``$TUNED_MODELS_PULUMI_BIN/pulumi`` when set, else ``pulumi`` on ``PATH``;
- the environment is the caller's; when ``PULUMI_BACKEND_URL`` is unset and the project has the
  local file backend ``scripts/pulumi-env.sh`` uses (``.tuned-models/pulumi-state``), that one
  (and its ``PULUMI_HOME``); no update check;
- a backend must have been chosen (``PULUMI_BACKEND_URL``, that local backend, or a
  ``pulumi login`` recorded in ``$PULUMI_HOME/credentials.json``): the CLI is never left to
  prompt for a login or to try a service it was not pointed at.

Nothing here raises for a missing CLI, a stack without state or a backend that cannot be
reached: :func:`read_recorded` returns a :class:`Recorded` whose ``unavailable`` says why, and
the commands degrade to what the service alone shows.
"""

from __future__ import annotations

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
from tuned_models.tokens import TUNED_MODEL_TYPE

#: The local file backend of scripts/pulumi-env.sh, under the project root.
LOCAL_BACKEND = f"{STATE_DIR_NAME}/pulumi-state"
#: How long one CLI call may take before it counts as unavailable.
CLI_TIMEOUT = 30.0


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
class Recorded:
    """The recorded outputs of a stack's ``TunedModel`` resources, by resource name.

    ``pending_delete``: service names of replaced models Pulumi still has to delete.
    ``unavailable``: why the state could not be read (then ``models`` is empty).
    """

    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pending_delete: frozenset[str] = frozenset()
    last_update: LastUpdate | None = None
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def in_state(self, resource: str, name: str) -> bool | None:
        """Whether the model ``name`` is what Pulumi records for ``resource`` (None: unknown)."""
        if not self.available:
            return None
        outputs = self.models.get(resource)
        return outputs is not None and outputs.get("name") == name


def find_pulumi() -> Path | None:
    """The Pulumi CLI to run: ``$TUNED_MODELS_PULUMI_BIN/pulumi``, else ``pulumi`` on PATH."""
    configured = os.environ.get("TUNED_MODELS_PULUMI_BIN")
    if configured and (Path(configured) / "pulumi").is_file():
        return Path(configured) / "pulumi"
    found = shutil.which("pulumi")
    return Path(found) if found else None


def pulumi_environment(project_root: Path) -> dict[str, str]:
    """The caller's environment, with the project's local file backend when none is chosen."""
    env = dict(os.environ)
    local = project_root / LOCAL_BACKEND
    if "PULUMI_BACKEND_URL" not in env and local.is_dir():
        env["PULUMI_BACKEND_URL"] = f"file://{local}"
        env.setdefault("PULUMI_HOME", str(project_root / STATE_DIR_NAME / "pulumi-home"))
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    return env


def backend_chosen(env: Mapping[str, str]) -> bool:
    """Whether ``env`` points the CLI at a backend (see the module doc)."""
    if env.get("PULUMI_BACKEND_URL"):
        return True
    home = Path(env.get("PULUMI_HOME") or Path.home() / ".pulumi")
    try:
        credentials = json.loads((home / "credentials.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(credentials, dict) and bool(credentials.get("current"))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_export(document: Mapping[str, Any]) -> tuple[dict[str, Mapping[str, Any]], frozenset[str]]:
    """The ``TunedModel`` outputs of a ``pulumi stack export`` document, by resource name, and
    the names of replaced models still pending deletion."""
    models: dict[str, Mapping[str, Any]] = {}
    pending: set[str] = set()
    for resource in (document.get("deployment") or {}).get("resources") or []:
        if resource.get("type") != TUNED_MODEL_TYPE:
            continue
        outputs = resource.get("outputs") or {}
        if resource.get("delete"):
            if outputs.get("name"):
                pending.add(str(outputs["name"]))
            continue
        models[str(resource.get("urn", "")).rsplit("::", 1)[-1]] = outputs
    return models, frozenset(pending)


def parse_history(entries: Any) -> LastUpdate | None:
    """The most recent update of a ``pulumi stack history --output json`` list."""
    updates = [e for e in entries or [] if isinstance(e, Mapping)]
    if not updates:
        return None
    last = max(updates, key=lambda e: str(e.get("startTime") or ""))
    changes = last.get("resourceChanges") or {}
    return LastUpdate(
        kind=str(last.get("kind") or "update"),
        result=str(last.get("result") or "unknown"),
        start=_time(last.get("startTime")),
        end=_time(last.get("endTime")),
        changes={str(k): int(v) for k, v in changes.items() if isinstance(v, int | float)},
    )


def _run(pulumi: Path, root: Path, env: Mapping[str, str], args: list[str]) -> tuple[Any, str | None]:
    """Run ``pulumi ARGS`` in ``root``; its JSON output, or None and why it failed."""
    try:
        proc = subprocess.run(
            [str(pulumi), *args, "--non-interactive"],
            cwd=root,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"`pulumi {args[0]} {args[1]}` did not run ({e})"
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return None, f"`pulumi {args[0]} {args[1]}` failed: {lines[-1] if lines else proc.returncode}"
    try:
        return json.loads(proc.stdout), None
    except json.JSONDecodeError:
        return None, f"`pulumi {args[0]} {args[1]}` printed no JSON"


def read_recorded(project_root: Path, stack: str) -> Recorded:
    """What Pulumi records for ``stack`` (see the module doc); never raises for an unreadable
    state, it says why in :attr:`Recorded.unavailable`."""
    pulumi = find_pulumi()
    if pulumi is None:
        return Recorded(
            unavailable="no Pulumi CLI (put it on PATH, e.g. `. scripts/pulumi-env.sh`, or set "
            "TUNED_MODELS_PULUMI_BIN)"
        )
    env = pulumi_environment(project_root)
    if not backend_chosen(env):
        return Recorded(
            unavailable="no Pulumi backend chosen (set PULUMI_BACKEND_URL, or `pulumi login`; "
            f"the local stack's is {LOCAL_BACKEND} once `scripts/up-local.sh` ran)"
        )
    exported, why = _run(pulumi, project_root, env, ["stack", "export", "--stack", stack])
    if why is not None or not isinstance(exported, Mapping):
        return Recorded(unavailable=why or "`pulumi stack export` printed no state")
    models, pending = parse_export(exported)
    args = ["stack", "history", "--stack", stack, "--output", "json"]
    history, _ = _run(pulumi, project_root, env, args)
    return Recorded(models, pending, parse_history(history))
