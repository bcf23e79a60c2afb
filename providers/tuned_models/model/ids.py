"""Deterministic tuned-model ids (DESIGN.md decision 1).

``tuned_model_id(project, stack, resource, training_fields)`` is
``<resource>-<stack tag><digest>``:

- ``<resource>``: the model's resource name (at most 26 characters, checked by the spec);
- ``<stack tag>``: 4 hex characters of SHA-256 of ``<project>/<stack>``, so ``plan`` can tell
  this stack's models on the service from others';
- ``<digest>``: 8 hex characters of SHA-256 over the project, the stack, the resource name and
  every field that forces retraining, in canonical JSON: two stacks (of this project or another
  Pulumi project on the same Google project) never share a model; a retrain gets a new id, so
  create-before-delete works; an interrupted ``up`` finds the model it already submitted.

The result always matches the service's ``[a-z]([a-z0-9-]{0,38}[a-z0-9])?`` (at most 40 chars).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuned_models.model.spec import RESOURCE_NAME_PATTERN, TUNED_MODEL_ID_PATTERN

_SUFFIX = re.compile(
    r"^(?P<resource>[a-z](?:[a-z0-9-]*[a-z0-9])?)-(?P<tag>[0-9a-f]{4})(?P<digest>[0-9a-f]{8})$"
)


def stack_tag(project: str, stack: str) -> str:
    """The 4-hex-character tag of a Pulumi project's stack."""
    return hashlib.sha256(f"{project}/{stack}".encode()).hexdigest()[:4]


def canonical(value: Any) -> str:
    """Compact, key-sorted JSON with integral floats as ints (Pulumi sends 5 as 5.0)."""
    return json.dumps(_normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return str(value)


def training_digest(project: str, stack: str, resource: str, training_fields: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of the project, stack, resource name and training fields in canonical
    JSON: the id's ``<digest>`` is its first 8 characters; a backend whose service chooses ids
    may store more of it (the Vertex AI backend's ``tuned_models_spec`` label)."""
    material = canonical(
        {"project": project, "stack": stack, "resource": resource, "training": training_fields}
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def tuned_model_id(project: str, stack: str, resource: str, training_fields: Mapping[str, Any]) -> str:
    """The id to create the model under; raises ValueError for a resource name the spec rejects."""
    if not RESOURCE_NAME_PATTERN.match(resource):
        raise ValueError(f"resource name {resource!r} does not match {RESOURCE_NAME_PATTERN.pattern}")
    digest = training_digest(project, stack, resource, training_fields)[:8]
    result = f"{resource}-{stack_tag(project, stack)}{digest}"
    assert TUNED_MODEL_ID_PATTERN.match(result), result
    return result


@dataclass(frozen=True)
class ParsedId:
    """The parts of an id made by :func:`tuned_model_id`."""

    resource: str
    tag: str
    digest: str


def parse_id(model_id: str) -> ParsedId | None:
    """Split an id made by :func:`tuned_model_id` (bare, or the last segment of a service name
    such as ``tunedModels/<id>``); ``None`` for any other id."""
    m = _SUFFIX.match(model_id.rpartition("/")[2])
    if not m:
        return None
    return ParsedId(m.group("resource"), m.group("tag"), m.group("digest"))
