"""JSON in and out, bounded so that no body can stall the other requests.

Decoding follows the real front end: strict JSON first; when that fails, JSON5 (the trailing
commas of the official curl samples, ``"epoch_count":5,}``), but only for bodies up to
:data:`JSON5_LIMIT` (the JSON5 parser costs about 6 us a byte). Nesting deeper than
:data:`MAX_DEPTH` and lone UTF-16 surrogates (``"\\ud800"``, which no response could carry) are
the real parser's 400s.

Both directions keep each uninterrupted stretch of C work short: the C JSON parser holds the
interpreter for its whole run (0.1 s for 4 MiB of ``[0,0,...]``), so a body with many values is
parsed by the standard library's pure-Python scanner, and responses are encoded a list item at a
time.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from typing import Any

import json5

from tuned_models_emulator.errors import InvalidArgument, bad_request

#: The largest body the JSON5 fallback reads.
JSON5_LIMIT = 64 * 1024
#: Bodies with more structural characters than this are decoded by the pure-Python scanner.
FAST_DECODE_LIMIT = 200_000
#: The deepest nesting of objects and arrays a body may have (protobuf's JSON parser's limit).
MAX_DEPTH = 100

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INVALID = "Invalid JSON payload received."


def _invalid(reason: str) -> InvalidArgument:
    message = f"{_INVALID} {reason}"
    return InvalidArgument(message, details=[bad_request("", message)])


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body (``{}`` when it is empty).

    Raises :class:`InvalidArgument` with the real parser's message for invalid UTF-8, JSON that
    neither parser accepts, nesting deeper than :data:`MAX_DEPTH` and lone surrogates.
    """
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{_INVALID} Invalid UTF-8.") from exc
    try:
        value = decode(text)
    except RecursionError:
        raise _invalid(f"Message too deep. Max recursion depth is {MAX_DEPTH}.") from None
    except ValueError:
        if len(raw) > JSON5_LIMIT:
            raise _invalid("Unexpected token.") from None
        try:
            value = json5.loads(text)
        except RecursionError:
            raise _invalid(f"Message too deep. Max recursion depth is {MAX_DEPTH}.") from None
        except Exception:  # json5 raises ValueError and friends
            raise _invalid("Unexpected token.") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH or _SURROGATE_ESCAPE.search(raw):
        _check_tree(value)
    return value


def decode(text: str) -> Any:
    """Strict JSON, by the C parser when the text has few values, else by the pure-Python scanner
    (which lets other threads run). Raises ValueError for invalid JSON, RecursionError for very
    deep nesting."""
    structural = text.count(",") + text.count(":") + text.count("[") + text.count("{")
    if structural <= FAST_DECODE_LIMIT:
        return json.loads(text)
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def _check_tree(value: Any) -> None:
    """Raise the real 400 for nesting deeper than MAX_DEPTH or a lone surrogate anywhere."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, key = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_DEPTH:
            raise _invalid(f"Message too deep. Max recursion depth reached for key '{key}'")
        if isinstance(item, dict):
            for name, child in item.items():
                _check_text(name)
                stack.append((child, depth + 1, name))
        elif isinstance(item, list):
            stack.extend((child, depth + 1, key) for child in item)
        elif isinstance(item, str):
            _check_text(item)


def _check_text(text: str) -> None:
    if text.isascii():
        return
    found = _SURROGATE.search(text)
    if found is not None:
        if found.group() <= "\udbff":
            raise _invalid("Missing low surrogate.")
        raise _invalid("Invalid unicode code point.")


def json_bytes(body: Any) -> bytes:
    """A compact UTF-8 JSON response body (non-ASCII kept); long lists are encoded an item at a time."""
    return json_text(body).encode("utf-8")


def json_text(value: Any) -> str:
    """Compact JSON text of ``value``: one C call, unless a list within its first two levels has
    more than :data:`CHUNK_ITEMS` items; such a list is encoded an item at a time."""
    return _encode(value) if not _long(value, 2) else "".join(_pieces(value, 2))


#: Lists longer than this (in a body's first levels) are encoded an item at a time.
CHUNK_ITEMS = 256
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _long(value: Any, depth: int) -> bool:
    if isinstance(value, list):
        return len(value) > CHUNK_ITEMS or (depth > 0 and any(_long(item, depth - 1) for item in value))
    if isinstance(value, dict) and depth > 0:
        return any(_long(item, depth - 1) for item in value.values())
    return False


def _pieces(value: Any, depth: int) -> Any:
    if isinstance(value, list) and len(value) > CHUNK_ITEMS:
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _pieces(item, depth - 1) if depth > 0 and _long(item, depth - 1) else (_encode(item),)
        yield "]"
    elif depth > 0 and _long(value, depth):
        opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
        items = value if isinstance(value, list) else value.items()
        yield opening
        for index, item in enumerate(items):
            if index:
                yield ","
            if isinstance(value, dict):
                name, item = item
                yield _encode(name) + ":"
            yield from _pieces(item, depth - 1)
        yield closing
    else:
        yield _encode(value)
