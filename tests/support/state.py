"""A stack's state as `pulumi stack export` writes it, made from what a test recorded.

``plan --state FILE`` reads such a file; the engine harness keeps its state in the same terms
(:class:`tests.support.harness.MiniEngine`), so a test can hand the plan exactly the state the
real provider process produced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.harness import MiniEngine


@dataclass(frozen=True)
class Recorded:
    """One resource of a state: its name, type token, id, inputs and outputs."""

    name: str
    type: str
    id: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    parent: str | None = None
    protect: bool = False
    retain_on_delete: bool = False


def urn(project: str, stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def export_document(project: str, stack: str, resources: Iterable[Recorded]) -> dict[str, Any]:
    """The ``pulumi stack export`` document (version 3) of ``resources``."""
    entries: list[dict[str, Any]] = [
        {
            "urn": urn(project, stack, "pulumi:pulumi:Stack", f"{project}-{stack}"),
            "custom": False,
            "type": "pulumi:pulumi:Stack",
        }
    ]
    for r in resources:
        entry: dict[str, Any] = {
            "urn": urn(project, stack, r.type, r.name),
            "custom": True,
            "id": r.id,
            "type": r.type,
            "inputs": dict(r.inputs),
            "outputs": dict(r.outputs),
        }
        if r.parent is not None:
            entry["parent"] = r.parent
        if r.protect:
            entry["protect"] = True
        if r.retain_on_delete:
            entry["retainOnDelete"] = True
        entries.append(entry)
    return {"version": 3, "deployment": {"manifest": {"time": "2026-01-01T00:00:00Z"}, "resources": entries}}


def engine_export(
    engine: MiniEngine, *, retain: Iterable[str] = (), protect: Iterable[str] = ()
) -> dict[str, Any]:
    """The export of the harness engine's state (``retain``/``protect``: resource names so marked)."""
    resources = [
        Recorded(
            urn_.rpartition("::")[2],
            entry["type"],
            entry["id"],
            entry["inputs"],
            entry["outputs"],
            protect=urn_.rpartition("::")[2] in set(protect),
            retain_on_delete=urn_.rpartition("::")[2] in set(retain),
        )
        for urn_, entry in engine.state.items()
    ]
    return export_document(engine.project, engine.stack, resources)


def write_state(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
