"""JSON in and out, bounded so that no body can stall the other requests.

Decoding follows the real front end: strict JSON first (a body of more than :data:`MAX_VALUES`
values is refused before it is decoded); when that fails, JSON5 (the trailing
commas of the official curl samples, ``"epoch_count":5,}``), but only for small bodies
(:data:`JSON5_LIMIT` bytes, :data:`JSON5_VALUES` values): the JSON5 parser costs about 6 us a byte
and 20 us a value, CPU time every other request would share. Nesting deeper than
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
from collections.abc import Iterator
from typing import Any

import json5

from tuned_models_emulator.errors import InvalidArgument, bad_request

#: The largest body the JSON5 fallback reads (bytes), and the most structural characters
#: (``,:[{``) it may hold: about 0.1 s of parsing at most.
JSON5_LIMIT = 16 * 1024
JSON5_VALUES = 4_000
#: Bodies with more structural characters than this are decoded by the pure-Python scanner.
FAST_DECODE_LIMIT = 200_000
#: Bodies with more structural characters than this are refused before decoding: a 4 MiB dataset
#: of the smallest examples has about 725,000; a body of a million empty objects costs seconds.
MAX_VALUES = 1_000_000
#: The deepest nesting of objects and arrays a body may have (protobuf's JSON parser's limit).
MAX_DEPTH = 100

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INVALID = "Invalid JSON payload received."


def _invalid(reason: str) -> InvalidArgument:
    message = f"{_INVALID} {reason}"
    return InvalidArgument(message, details=[bad_request("", message)])


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body (``{}`` when it is empty).

    Raises :class:`InvalidArgument` with the real parser's message for invalid UTF-8, JSON that
    neither parser accepts, more than :data:`MAX_VALUES` values, nesting deeper than
    :data:`MAX_DEPTH` and lone surrogates.
    """
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{_INVALID} Invalid UTF-8.") from exc
    try:
        return strict_json(text)
    except ValueError:
        if len(raw) > JSON5_LIMIT or _structural(text) > JSON5_VALUES:
            raise _invalid("Unexpected token.") from None
    try:
        value = json5.loads(text)
    except RecursionError:
        raise _invalid(f"Message too deep. Max recursion depth is {MAX_DEPTH}.") from None
    except Exception:  # json5 raises ValueError and friends
        raise _invalid("Unexpected token.") from None
    _check_bounds(text, value)
    return value


def strict_json(text: str) -> Any:
    """Strict JSON, bounded as every request body is (no JSON5 fallback): also for data that is not
    a request body, such as a line of a tuning dataset.

    Raises ValueError (``json.JSONDecodeError`` for a syntax error) for text that is not JSON, and
    :class:`InvalidArgument` with the real parser's message for more than :data:`MAX_VALUES`
    values, nesting deeper than :data:`MAX_DEPTH` and lone surrogates.
    """
    if _structural(text) > MAX_VALUES:
        raise _invalid(f"Too many values: more than {MAX_VALUES} commas, colons and opening brackets.")
    try:
        value = decode(text)
    except RecursionError:
        raise _invalid(f"Message too deep. Max recursion depth is {MAX_DEPTH}.") from None
    _check_bounds(text, value)
    return value


def _check_bounds(text: str, value: Any) -> None:
    """Walk ``value`` for depth and lone surrogates when its text could hold either."""
    if text.count("[") + text.count("{") > MAX_DEPTH or _SURROGATE_ESCAPE.search(text):
        _check_tree(value)


def decode(text: str) -> Any:
    """Strict JSON, by the C parser when the text has few values, else by the pure-Python scanner
    (which lets other threads run). Raises ValueError for invalid JSON, RecursionError for very
    deep nesting."""
    if _structural(text) <= FAST_DECODE_LIMIT:
        return json.loads(text)
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def _structural(text: str) -> int:
    """How many ``,:[{`` characters ``text`` holds: a bound on its values (strings included)."""
    return text.count(",") + text.count(":") + text.count("[") + text.count("{")


def _check_tree(value: Any) -> None:
    """Raise the real 400 for nesting deeper than MAX_DEPTH or a lone surrogate anywhere.

    Depth first over a stack of generators: the objects alive at once are bounded by the depth,
    not the size (a stack of one tuple per value makes the garbage collector hold up every thread).
    """
    if not isinstance(value, dict | list):
        if isinstance(value, str):
            _check_text(value)
        return
    stack = [_children(value, "")]
    while stack:
        for key, child in stack[-1]:
            if isinstance(child, dict | list):
                if len(stack) >= MAX_DEPTH:
                    raise _invalid(f"Message too deep. Max recursion depth reached for key '{key}'")
                stack.append(_children(child, key))
                break
            if isinstance(child, str):
                _check_text(child)
        else:
            stack.pop()


def _children(container: dict[str, Any] | list[Any], key: str) -> Iterator[tuple[str, Any]]:
    """``(key, child)`` for each child: the member name in an object (checked), the enclosing key in
    an array."""
    if isinstance(container, dict):
        for name, child in container.items():
            _check_text(name)
            yield name, child
    else:
        for child in container:
            yield key, child


def _check_text(text: str) -> None:
    if text.isascii():
        return
    found = _SURROGATE.search(text)
    if found is not None:
        if found.group() <= "\udbff":
            raise _invalid("Missing low surrogate.")
        raise _invalid("Invalid unicode code point.")


def json_bytes(body: Any) -> bytes:
    """A compact UTF-8 JSON response body (non-ASCII kept), encoded in short stretches (:func:`json_text`)."""
    return json_text(body).encode("utf-8")


def json_text(value: Any) -> str:
    """Compact JSON text of ``value``: one C call when it has at most :data:`CHUNK_NODES` values,
    else its members and items are encoded one by one (recursively), so each C call stays short."""
    return _encode(value) if _within(value, CHUNK_NODES) else "".join(_pieces(value))


#: The most values (objects, arrays and scalars) one uninterrupted C encoding call handles.
CHUNK_NODES = 8192
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _within(value: Any, budget: int) -> bool:
    """Whether ``value`` holds at most ``budget`` values (stops counting beyond)."""
    stack = [value]
    count = 0
    while stack:
        item = stack.pop()
        count += 1
        if count > budget:
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _pieces(value: Any) -> Iterator[str]:
    if _within(value, CHUNK_NODES):
        yield _encode(value)
    elif isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _pieces(item)
        yield "]"
    else:
        yield "{"
        for index, (name, item) in enumerate(value.items()):
            yield ("," if index else "") + _encode(name) + ":"
            yield from _pieces(item)
        yield "}"
