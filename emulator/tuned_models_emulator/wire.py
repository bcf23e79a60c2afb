"""The wire edge: parsing requests into plain camelCase dicts and rendering responses.

Parsing follows the real service (proto3 JSON as Google's front end accepts it; bodies are
decoded by :mod:`tuned_models_emulator.codec`):

- field names may be lowerCamelCase or the proto's snake_case; both normalize to camelCase;
- enums may be given by name or by number; int32/int64 accept numbers, integral floats and numeric
  strings within their range, floats what a float32 holds; ``null`` means unset;
- an unknown field is a 400 with Google's message (``Unknown name "x" at 'tuned_model': ...``).

Rendering: camelCase keys, unset fields omitted, int64 as strings, Timestamps as RFC 3339 with
0, 3, 6 or 9 fractional digits (protobuf's JSON printer rule).
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
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

    kind: str  # string | int32 | int64 | float | double | bool | enum | message | any
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
    "double": "TYPE_DOUBLE",
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


def decimal(text: str, *, digits: int) -> int | None:
    """``text`` as a non-negative integer of at most ``digits`` ASCII digits, else None
    (``str.isdigit`` alone accepts characters such as ``"²"`` that ``int`` refuses)."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


#: Integer kinds: the exclusive bound of their magnitude (two's complement).
_INT_BOUNDS = {"int32": 2**31, "int64": 2**63}
#: The largest finite float32: a larger ``float`` field is out of range.
_FLOAT32_MAX = 3.4028234663852886e38
#: The spellings of the non-finite floats proto3 JSON accepts (strings only).
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


def _any(path: str, field: Field, value: Any, schema: Schema) -> Any:
    return value


def _string(path: str, field: Field, value: Any, schema: Schema) -> str:
    if not isinstance(value, str):
        raise _invalid_value(path, field, value, schema)
    return value


def _bool(path: str, field: Field, value: Any, schema: Schema) -> bool:
    if not isinstance(value, bool):
        raise _invalid_value(path, field, value, schema)
    return value


def _integer(path: str, field: Field, value: Any, schema: Schema) -> int:
    """A number, an integral float or a numeric string, within the kind's range."""
    number: int | float
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid_value(path, field, value, schema)
    if isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise _invalid_value(path, field, value, schema) from None
    else:
        number = value
    if isinstance(number, float):
        if not number.is_integer():
            raise _invalid_value(path, field, value, schema)
        number = int(number)
    bound = _INT_BOUNDS[field.kind]
    if not -bound <= number < bound:
        raise _invalid_value(path, field, value, schema)
    return number


def _float(path: str, field: Field, value: Any, schema: Schema) -> float:
    """A number or numeric string that the field's type holds: ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"`` as strings (proto3 JSON), else a finite value, within float32's range for a
    ``float`` (a literal such as ``1e400``, beyond any double, is refused too)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid_value(path, field, value, schema)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise _invalid_value(path, field, value, schema) from None
    if not math.isfinite(number) and value not in _NON_FINITE:
        raise _invalid_value(path, field, value, schema)
    if field.kind == "float" and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
        raise _invalid_value(path, field, value, schema)
    return number


def _enum(path: str, field: Field, value: Any, schema: Schema) -> str:
    names = schema.enums[field.ref]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str):
        if value in names:
            return value
        number = decimal(value, digits=3)
        if number is not None and number < len(names):
            return names[number]
    raise _invalid_value(path, field, value, schema)


_SCALARS: dict[str, Callable[[str, Field, Any, Schema], Any]] = {
    "any": _any,
    "string": _string,
    "bool": _bool,
    "int32": _integer,
    "int64": _integer,
    "float": _float,
    "double": _float,
    "enum": _enum,
}


def _scalar(path: str, field: Field, value: Any, schema: Schema = GEMINI) -> Any:
    return _SCALARS[field.kind](path, field, value, schema)


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


_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")


def number(
    body: dict[str, Any],
    key: str,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A number in a free-form (admin) body: a JSON number or numeric string, finite, within
    ``[minimum, maximum]``; None when absent.

    Raises :class:`InvalidArgument` naming ``key`` for anything else (booleans included).
    """
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidArgument(f"{key} must be a number.")
    parsed: int | float
    try:
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            parsed = int(value)
        else:
            parsed = value if isinstance(value, int) else float(value)
    except (ValueError, OverflowError):
        raise InvalidArgument(f"{key} must be a number.") from None
    if isinstance(parsed, float):
        if not math.isfinite(parsed):
            raise InvalidArgument(f"{key} must be a finite number.")
        if integer:
            if not parsed.is_integer():
                raise InvalidArgument(f"{key} must be an integer.")
            parsed = int(parsed)
    if (minimum is not None and parsed < minimum) or (maximum is not None and parsed > maximum):
        low = "" if minimum is None else f" at least {minimum:g}"
        high = "" if maximum is None else f" at most {maximum:g}"
        raise InvalidArgument(f"{key} must be{low}{' and' if low and high else ''}{high}.")
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
