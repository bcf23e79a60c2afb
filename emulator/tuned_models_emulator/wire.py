"""The wire edge: parsing requests into plain camelCase dicts and rendering responses.

Parsing follows the real service (proto3 JSON as Google's front end accepts it; bodies are
decoded by :mod:`tuned_models_emulator.codec`):

- field names may be lowerCamelCase or the proto's snake_case; both normalize to camelCase;
- enums may be given by name or by number; int32/int64 accept numbers, integral floats and numeric
  strings; ``null`` means unset;
- an unknown field is a 400 with Google's message (``Unknown name "x" at 'tuned_model': ...``).

Rendering: camelCase keys, unset fields omitted, int64 as strings, Timestamps as RFC 3339 with
0, 3, 6 or 9 fractional digits (protobuf's JSON printer rule).
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from tuned_models_emulator.errors import InvalidArgument, bad_request


def camel(name: str) -> str:
    """``tuning_task`` -> ``tuningTask`` (camelCase input is returned unchanged)."""
    if "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """``tuningTask`` -> ``tuning_task``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message: its kind, and the message or enum it refers to."""

    kind: str  # string | int32 | int64 | float | bool | enum | message | any
    ref: str = ""
    repeated: bool = False


ENUMS: dict[str, tuple[str, ...]] = {
    # index = enum number
    "TunedModel.State": ("STATE_UNSPECIFIED", "CREATING", "ACTIVE", "FAILED"),
    "Permission.GranteeType": ("GRANTEE_TYPE_UNSPECIFIED", "USER", "GROUP", "EVERYONE"),
    "Permission.Role": ("ROLE_UNSPECIFIED", "OWNER", "WRITER", "READER"),
}

MESSAGES: dict[str, dict[str, Field]] = {
    "TunedModel": {
        "name": Field("string"),
        "tunedModelSource": Field("message", "TunedModelSource"),
        "baseModel": Field("string"),
        "displayName": Field("string"),
        "description": Field("string"),
        "temperature": Field("float"),
        "topP": Field("float"),
        "topK": Field("int32"),
        "state": Field("enum", "TunedModel.State"),
        "createTime": Field("string"),
        "updateTime": Field("string"),
        "tuningTask": Field("message", "TuningTask"),
        "readerProjectNumbers": Field("int64", repeated=True),
    },
    "TunedModelSource": {"tunedModel": Field("string"), "baseModel": Field("string")},
    "TuningTask": {
        "startTime": Field("string"),
        "completeTime": Field("string"),
        "snapshots": Field("any", repeated=True),
        "trainingData": Field("message", "Dataset"),
        "hyperparameters": Field("message", "Hyperparameters"),
    },
    "Hyperparameters": {
        "learningRate": Field("float"),
        "learningRateMultiplier": Field("float"),
        "epochCount": Field("int32"),
        "batchSize": Field("int32"),
    },
    "Dataset": {"examples": Field("message", "TuningExamples")},
    "TuningExamples": {"examples": Field("message", "TuningExample", repeated=True)},
    "TuningExample": {"textInput": Field("string"), "output": Field("string")},
    "Permission": {
        "name": Field("string"),
        "granteeType": Field("enum", "Permission.GranteeType"),
        "emailAddress": Field("string"),
        "role": Field("enum", "Permission.Role"),
    },
    "TransferOwnershipRequest": {"emailAddress": Field("string")},
    "GenerateContentRequest": {
        "model": Field("string"),
        "contents": Field("any", repeated=True),
        "systemInstruction": Field("any"),
        "tools": Field("any", repeated=True),
        "toolConfig": Field("any"),
        "safetySettings": Field("any", repeated=True),
        "generationConfig": Field("any"),
        "cachedContent": Field("string"),
    },
    "GenerateTextRequest": {
        "model": Field("string"),
        "prompt": Field("message", "TextPrompt"),
        "temperature": Field("float"),
        "candidateCount": Field("int32"),
        "maxOutputTokens": Field("int32"),
        "topP": Field("float"),
        "topK": Field("int32"),
        "safetySettings": Field("any", repeated=True),
        "stopSequences": Field("string", repeated=True),
    },
    "TextPrompt": {"text": Field("string")},
    "CancelOperationRequest": {"name": Field("string")},
}


@dataclass(frozen=True, slots=True)
class Schema:
    """The messages and enums one API's bodies are read against, and the proto package its
    enum types are named in (error messages)."""

    messages: dict[str, dict[str, Field]]
    enums: dict[str, tuple[str, ...]]
    package: str


GEMINI = Schema(MESSAGES, ENUMS, "google.ai.generativelanguage.v1beta")

_PROTO_TYPE = {
    "string": "TYPE_STRING",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float": "TYPE_FLOAT",
    "bool": "TYPE_BOOL",
}


def _invalid_value(path: str, field: Field, value: Any, schema: Schema = GEMINI) -> InvalidArgument:
    kind = (
        f"type.googleapis.com/{schema.package}.{field.ref}"
        if field.kind == "enum"
        else _PROTO_TYPE.get(field.kind, "TYPE_MESSAGE")
    )
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    message = f"Invalid value at '{path}' ({kind}), {shown}"
    return InvalidArgument(message, details=[bad_request(path, message)])


def int32_value(path: str, value: Any) -> int:
    """``value`` as an int32 field the way the service reads one (numbers or numeric strings);
    raises InvalidArgument naming ``path`` (snake_case, as the service does) otherwise."""
    result: int = _scalar(path, Field("int32"), value)
    return result


def _scalar(path: str, field: Field, value: Any, schema: Schema = GEMINI) -> Any:
    kind = field.kind
    if kind == "any":
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid_value(path, field, value, schema)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid_value(path, field, value, schema)
        return value
    if kind in ("int32", "int64"):
        if isinstance(value, bool):
            raise _invalid_value(path, field, value, schema)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                raise _invalid_value(path, field, value, schema) from None
            if isinstance(number, float):
                if not number.is_integer():
                    raise _invalid_value(path, field, value, schema)
                return int(number)
            return number
        raise _invalid_value(path, field, value, schema)
    if kind == "float":
        if isinstance(value, bool):
            raise _invalid_value(path, field, value, schema)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _invalid_value(path, field, value, schema) from None
        raise _invalid_value(path, field, value, schema)
    if kind == "enum":
        names = schema.enums[field.ref]
        if isinstance(value, bool):
            raise _invalid_value(path, field, value, schema)
        if isinstance(value, int) and 0 <= value < len(names):
            return names[value]
        if isinstance(value, str):
            if value in names:
                return value
            if value.isdigit() and int(value) < len(names):
                return names[int(value)]
        raise _invalid_value(path, field, value, schema)
    raise AssertionError(kind)


def normalize(message: str, data: Any, path: str, schema: Schema = GEMINI) -> dict[str, Any]:
    """Validate ``data`` against ``message`` and return it with camelCase keys and canonical values.

    ``path`` is the proto path used in error messages (``tuned_model``; empty for a request's
    top level); ``schema`` the API the message belongs to (the Gemini API's by default). Raises
    :class:`InvalidArgument` for unknown fields and values of the wrong type.
    """
    if not isinstance(data, dict):
        where = f" at '{path}'" if path else ""
        text = f"Invalid JSON payload received. Expected an object{where}."
        raise InvalidArgument(text, details=[bad_request(path, text)])
    fields = schema.messages[message]
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = camel(key) if isinstance(key, str) else str(key)
        field = fields.get(name)
        if field is None:
            where = f" at '{path}'" if path else ""
            text = f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.'
            raise InvalidArgument(text, details=[bad_request(path, text)])
        if value is None:
            continue
        child = f"{path}.{snake(name)}" if path else snake(name)
        if field.repeated:
            if not isinstance(value, list):
                value = [value] if field.kind != "any" else value
            if isinstance(value, list):
                out[name] = [_one(f"{child}[{i}]", field, item, schema) for i, item in enumerate(value)]
            else:
                out[name] = value
        else:
            out[name] = _one(child, field, value, schema)
    return out


def _one(path: str, field: Field, value: Any, schema: Schema) -> Any:
    if field.kind == "message":
        return normalize(field.ref, value, path, schema)
    return _scalar(path, field, value, schema)


def normalize_free(data: Any) -> Any:
    """Recursively camelCase the keys of a free-form body (admin routes, generateContent parts)."""
    if isinstance(data, dict):
        return {camel(str(k)): normalize_free(v) for k, v in data.items()}
    if isinstance(data, list):
        return [normalize_free(v) for v in data]
    return data


def number(body: dict[str, Any], key: str, *, integer: bool = False) -> Any:
    """A number in a free-form (admin) body: JSON numbers or numeric strings; None when absent.

    Raises :class:`InvalidArgument` naming ``key`` for anything else (booleans included).
    """
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidArgument(f"{key} must be a number.")
    try:
        parsed = float(value)
    except ValueError:
        raise InvalidArgument(f"{key} must be a number.") from None
    if integer:
        if not parsed.is_integer():
            raise InvalidArgument(f"{key} must be an integer.")
        return int(parsed)
    return parsed


# --------------------------------------------------------------------------- rendering


def format_timestamp(ns: int) -> str:
    """RFC 3339 UTC with protobuf's fraction rule: none, 3, 6 or 9 digits as precision needs."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        return base + "Z"
    if nanos % 1_000_000 == 0:
        return f"{base}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{base}.{nanos // 1_000:06d}Z"
    return f"{base}.{nanos:09d}Z"


@lru_cache(maxsize=65536)
def float32(value: float) -> float:
    """The shortest decimal that round-trips through float32, as the service prints floats
    (an ``int`` when the value is whole)."""
    if math.isnan(value) or math.isinf(value):
        return value
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(6, 10):
        candidate = float(f"{single:.{digits}g}")
        if struct.unpack("f", struct.pack("f", candidate))[0] == single:
            break
    else:
        candidate = float(single)
    # The service prints a whole float without a fraction: 1, 100 (not 1.0, 100.0).
    return int(candidate) if candidate.is_integer() and abs(candidate) < 2**53 else candidate
