"""Labels: the identity of a tuning job of one's own, and the rules labels must follow.

A Vertex tuning job has no client-chosen id, so the product recognises its own jobs by labels,
which the service copies to the Model and the Endpoints the job produces:

==========================  ========================================================
``tuned_models_project``    the Pulumi project
``tuned_models_stack``      the Pulumi stack
``tuned_models_resource``   the resource (model) name in the stack
``tuned_models_spec``       the first 32 hex digits of the digest of every field that retrains
``tuned_models_id``         the model's deterministic id (:func:`tuned_models.model.ids.tuned_model_id`)
==========================  ========================================================

Values are :func:`label_value` of the names: a name that is already a valid label value is kept
as it is; any other (uppercase, dots, too long) is lowercased, its other characters become
``-``, and ``-`` plus 8 hex digits of its SHA-256 are appended, so two different names never
share a value. Keys use ``_``, not ``-``: the list filter (``labels.KEY="VALUE"``) is then
unambiguous.

Label rules (Google Cloud's, stricter than the tuning proto's "64 characters"): at most 64
labels; keys 1-63 characters, starting with a lowercase letter, then lowercase letters, digits,
``_`` and ``-``; values 0-63 of those. International (non-ASCII) lowercase and caseless letters
are allowed.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping

__all__ = [
    "IDENTITY_KEYS",
    "ID_LABEL",
    "MAX_LABELS",
    "MAX_LABEL_LENGTH",
    "PROJECT_LABEL",
    "RESERVED_PREFIX",
    "RESOURCE_LABEL",
    "SPEC_LABEL",
    "STACK_LABEL",
    "has_labels",
    "identity_labels",
    "label_problems",
    "label_value",
    "labels_filter",
]

RESERVED_PREFIX = "tuned_models_"
PROJECT_LABEL = "tuned_models_project"
STACK_LABEL = "tuned_models_stack"
RESOURCE_LABEL = "tuned_models_resource"
SPEC_LABEL = "tuned_models_spec"
ID_LABEL = "tuned_models_id"
IDENTITY_KEYS: tuple[str, ...] = (PROJECT_LABEL, STACK_LABEL, RESOURCE_LABEL, SPEC_LABEL, ID_LABEL)
MAX_LABELS = 64
MAX_LABEL_LENGTH = 63
_SPEC_HEX_DIGITS = 32
_SUFFIX_HEX_DIGITS = 8


def _is_lower_letter(char: str) -> bool:
    # Lowercase (Ll) or caseless (Lo: CJK, Arabic ...) letters; never an uppercase one.
    return unicodedata.category(char) in ("Ll", "Lo")


def _is_value_char(char: str) -> bool:
    return _is_lower_letter(char) or unicodedata.category(char) in ("Nd",) or char in "_-"


def _value_problem(value: str) -> str | None:
    if len(value) > MAX_LABEL_LENGTH:
        return f"has {len(value)} characters; the limit is {MAX_LABEL_LENGTH}"
    bad = next((c for c in value if not _is_value_char(c)), None)
    if bad is not None:
        return f"contains {bad!r}; use lowercase letters, digits, '_' and '-'"
    return None


def _key_problem(key: str) -> str | None:
    if not key:
        return "is empty"
    if not _is_lower_letter(key[0]):
        return "must start with a lowercase letter"
    return _value_problem(key)


def label_value(name: str) -> str:
    """``name`` as a label value, kept when already valid, else sanitised with a hash suffix.

    The result is always a valid value, and different names give different values (except for
    a SHA-256 prefix collision).
    """
    if _value_problem(name) is None:
        return name
    lowered = "".join(c if _is_value_char(c) else "-" for c in name.lower())
    suffix = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_SUFFIX_HEX_DIGITS]
    head = lowered[: MAX_LABEL_LENGTH - _SUFFIX_HEX_DIGITS - 1]
    return f"{head}-{suffix}"


def identity_labels(
    *, project: str, stack: str, resource: str, spec_digest: str, model_id: str
) -> dict[str, str]:
    """The labels that identify one model's tuning job (see the module docstring).

    ``spec_digest`` is ``sha256:<hex>`` or bare hex of at least 32 digits; ``model_id`` the
    deterministic id (a valid label value: lowercase letters, digits and hyphens).

    Raises:
        ValueError: an empty name, a malformed digest, or an id that is not a label value.
    """
    if _value_problem(model_id) or not model_id:
        raise ValueError(f"identity_labels: model_id must be a label value, got {model_id!r}")
    for what, value in (("project", project), ("stack", stack), ("resource", resource)):
        if not value:
            raise ValueError(f"identity_labels: empty {what}")
    hex_digits = spec_digest.removeprefix("sha256:").lower()
    if len(hex_digits) < _SPEC_HEX_DIGITS or any(c not in "0123456789abcdef" for c in hex_digits):
        raise ValueError(f"identity_labels: spec_digest must be sha256 hex, got {spec_digest!r}")
    return {
        PROJECT_LABEL: label_value(project),
        STACK_LABEL: label_value(stack),
        RESOURCE_LABEL: label_value(resource),
        SPEC_LABEL: hex_digits[:_SPEC_HEX_DIGITS],
        ID_LABEL: model_id,
    }


def label_problems(labels: Mapping[str, object], *, reserved: int = len(IDENTITY_KEYS)) -> list[str]:
    """Why a user's ``labels`` cannot be sent, one message per problem (empty when they can).

    ``reserved`` labels are added by the product (the identity labels), so at most
    ``MAX_LABELS - reserved`` may be given; keys starting with :data:`RESERVED_PREFIX` are the
    product's own.
    """
    problems: list[str] = []
    if len(labels) > MAX_LABELS - reserved:
        problems.append(
            f"{len(labels)} labels; at most {MAX_LABELS - reserved} "
            f"(the service allows {MAX_LABELS}, {reserved} are the product's own)"
        )
    for key, value in labels.items():
        if not isinstance(key, str):
            problems.append(f"label key {key!r} must be a string")
            continue
        key_problem = _key_problem(key)
        if key_problem:
            problems.append(f"label key {key!r} {key_problem}")
        elif key.startswith(RESERVED_PREFIX):
            problems.append(f"label key {key!r}: keys starting with {RESERVED_PREFIX!r} are reserved")
        if not isinstance(value, str):
            problems.append(f"label {key!r}: the value must be a string, got {type(value).__name__}")
            continue
        value_problem = _value_problem(value)
        if value_problem:
            problems.append(f"label {key!r}: the value {value_problem}")
    return problems


def labels_filter(labels: Mapping[str, str]) -> str:
    """A list filter matching resources that carry every label: ``labels.k="v" AND ...``.

    Raises:
        ValueError: a key that is not a valid label key (it could not be written unquoted).
    """
    terms = []
    for key, value in sorted(labels.items()):
        if _key_problem(key):
            raise ValueError(f"invalid label key {key!r}")
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        terms.append(f'labels.{key}="{escaped}"')
    return " AND ".join(terms)


def has_labels(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether ``labels`` carries every key of ``wanted`` with the same value."""
    return all(labels.get(key) == value for key, value in wanted.items())
