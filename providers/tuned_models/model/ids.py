"""Deterministic tuned-model ids (DESIGN.md decision 1).

``tuned_model_id(project, stack, resource, training_fields)`` is
``<resource>-<stack tag><digest>``, in base 36 (``0-9a-z``):

- ``<resource>``: the model's resource name (at most 26 characters, checked by the spec);
- ``<stack tag>``: 8 characters (41 bits) of SHA-256 of ``<project>/<stack>``: it narrows what
  ``plan`` and ``status`` list to this stack's candidates. Two stacks of 10,000 share a tag with
  a probability of about 2 in 100,000, so no tag length makes it proof of ownership: a model is
  attributed to a stack by the stack's Pulumi state or by its exact deterministic id, never by
  its tag alone (see :mod:`tuned_models.cli.plan`);
- ``<digest>``: 5 characters (26 bits) of SHA-256 over the project, the stack, the resource name
  and every field that forces retraining, in canonical JSON: two stacks never share a model; a
  retrain gets a new id, so create-before-delete works; an interrupted ``up`` finds the model it
  already submitted.

The result always matches the service's ``[a-z]([a-z0-9-]{0,38}[a-z0-9])?`` (at most 40 chars):
26 + 1 + 8 + 5 = 40.

Ids made before this scheme carried a 4-hex-character tag and an 8-hex-character digest
(:func:`is_legacy_id`); such a model is retrained once, under its new id, by the first ``up``
after the upgrade (``plan`` says so).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuned_models.model.spec import RESOURCE_NAME_PATTERN, TUNED_MODEL_ID_PATTERN

TAG_LENGTH = 8
DIGEST_LENGTH = 5
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_SUFFIX = re.compile(
    rf"^(?P<resource>[a-z](?:[a-z0-9-]*[a-z0-9])?)-"
    rf"(?P<tag>[0-9a-z]{{{TAG_LENGTH}}})(?P<digest>[0-9a-z]{{{DIGEST_LENGTH}}})$"
)
_LEGACY = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?-[0-9a-f]{12}$")


def _base36(data: bytes, length: int) -> str:
    """``length`` base-36 digits of ``data`` (a hash), the least significant first."""
    value = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        value, digit = divmod(value, 36)
        out.append(_ALPHABET[digit])
    return "".join(out)


def stack_tag(project: str, stack: str) -> str:
    """The 8-character base-36 tag of a Pulumi project's stack."""
    return _base36(hashlib.sha256(f"{project}/{stack}".encode()).digest()[:16], TAG_LENGTH)


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
    JSON: the id's ``<digest>`` is 5 base-36 characters of it; a backend whose service chooses
    ids may store more of it (the Vertex AI backend's ``tuned_models_spec`` label)."""
    material = canonical(
        {"project": project, "stack": stack, "resource": resource, "training": training_fields}
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def tuned_model_id(project: str, stack: str, resource: str, training_fields: Mapping[str, Any]) -> str:
    """The id to create the model under; raises ValueError for a resource name the spec rejects."""
    if not RESOURCE_NAME_PATTERN.match(resource):
        raise ValueError(f"resource name {resource!r} does not match {RESOURCE_NAME_PATTERN.pattern}")
    digest = _base36(
        bytes.fromhex(training_digest(project, stack, resource, training_fields))[:16], DIGEST_LENGTH
    )
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


def is_legacy_id(model_id: str) -> bool:
    """Whether ``model_id`` (bare or a service name) has the shape of an id made before the
    8-character stack tag: ``<resource>-`` and 12 hexadecimal characters."""
    bare = model_id.rpartition("/")[2]
    return bool(_LEGACY.match(bare)) and parse_id(bare) is None
