"""Reading dataset files a record at a time: JSONL and CSV streamed a line at a time, JSON parsed
whole (bounded), every record located by line, every failure collected as a problem.

Each reader yields ``(where, record)`` pairs (``where`` is ``line N``, or ``examples[i]`` for the
``{"examples": [...]}`` JSON form) and reports what it cannot read to a :class:`Problems`,
then goes on with the next line where that is possible. JSON is strict: no NaN or Infinity, no
numbers out of the float range, no key twice in one object (the canonical form would otherwise
depend on which duplicate wins). Files are UTF-8; a byte order mark is skipped.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tuned_models.model.problems import Problem, error, warning

__all__ = ["INPUT_KEYS", "READERS", "Problems", "Reader"]

#: Column / key names accepted for the input text: the API's name, then the seeds' snake_case.
INPUT_KEYS = ("textInput", "text_input")
_BOM = b"\xef\xbb\xbf"
_SKIP_BLOCK = 1024 * 1024


def located(severity: str, where: str, message: str) -> Problem:
    """A dataset problem (``severity`` is ``"error"`` or ``"warning"``) at ``where`` (e.g.
    ``line 4``, or empty for the whole file), not yet placed in a stack file."""
    text = f"{where}: {message}" if where else message
    return error(text) if severity == "error" else warning(text)


class Problems:
    """Collects problems up to a bound, counting the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.listed: list[Problem] = []
        self.unlisted = 0
        self.unlisted_errors = False

    def add(self, severity: str, where: str, message: str) -> None:
        if len(self.listed) < self.limit:
            self.listed.append(located(severity, where, message))
        else:
            self.unlisted += 1
            self.unlisted_errors = self.unlisted_errors or severity == "error"

    def error(self, where: str, message: str) -> None:
        self.add("error", where, message)

    def warning(self, where: str, message: str) -> None:
        self.add("warning", where, message)


class _InvalidJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _InvalidJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _InvalidJson(f"the number {text} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _InvalidJson(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_constant=_reject_constant, parse_float=_finite_float
)


def _loads(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no out-of-range numbers, no repeated keys."""
    value, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
    if _skip_ws(text, end) != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _invalid(exc: Exception) -> str:
    """The message for JSON that parses but is refused (or nests deeper than Python recurses)."""
    return f"invalid JSON ({exc if isinstance(exc, _InvalidJson) else 'nested too deep'})"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _jsonl_records(
    path: Path, problems: Problems, max_line_bytes: int, max_json_bytes: int
) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as stream:
        number = 0
        while True:
            raw = stream.readline(max_line_bytes + 1)
            if not raw:
                return
            number += 1
            where = f"line {number}"
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                problems.error(where, f"the line is longer than {max_line_bytes} bytes")
                while raw and not raw.endswith(b"\n"):
                    raw = stream.readline(_SKIP_BLOCK)
                continue
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.error(where, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)")
                continue
            if not text.strip():
                continue
            try:
                record = _loads(text)
            except json.JSONDecodeError as exc:
                problems.error(where, f"invalid JSON ({exc.msg} at character {exc.pos + 1})")
                continue
            except (_InvalidJson, RecursionError) as exc:
                problems.error(where, _invalid(exc))
                continue
            yield where, record


def _csv_records(
    path: Path, problems: Problems, max_line_bytes: int, max_json_bytes: int
) -> Iterator[tuple[str, Any]]:
    # The csv module's per-field limit is process-wide; it is only ever raised, to the line bound.
    if csv.field_size_limit() < max_line_bytes:
        csv.field_size_limit(max_line_bytes)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        try:
            header = next(reader, None)
            if header is None:
                return
            if not any(k in header for k in INPUT_KEYS) or "output" not in header:
                problems.error(
                    "line 1",
                    "the header must name the columns textInput and output, "
                    f"got {', '.join(header) or 'nothing'}",
                )
                return
            last = reader.line_num
            for row in reader:
                where = f"line {last + 1}"
                last = reader.line_num
                if not row:
                    continue
                if len(row) != len(header):
                    more = "more" if len(row) > len(header) else "fewer"
                    problems.error(where, f"{more} fields than the header names")
                    continue
                yield where, {k: v for k, v in zip(header, row, strict=True) if k}
        except UnicodeDecodeError as exc:
            problems.error(f"line {reader.line_num + 1}", f"not UTF-8 text ({exc.reason}); reading stopped")
        except csv.Error as exc:
            problems.error(f"line {reader.line_num}", f"unreadable CSV ({exc}); reading stopped")


def _json_records(
    path: Path, problems: Problems, max_line_bytes: int, max_json_bytes: int
) -> Iterator[tuple[str, Any]]:
    size = path.stat().st_size
    if size > max_json_bytes:
        problems.error(
            "",
            f"{size} bytes; .json files are read whole and the limit is {max_json_bytes} "
            "bytes: use JSONL (one example a line) for large datasets",
        )
        return
    try:
        text = path.read_bytes().removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.error("", f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})")
        return
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        try:
            data = _loads(text)
        except json.JSONDecodeError as exc:
            problems.error(f"line {exc.lineno}", f"invalid JSON ({exc.msg})")
            return
        except (_InvalidJson, RecursionError) as exc:
            problems.error("", _invalid(exc))
            return
        if not (isinstance(data, dict) and isinstance(data.get("examples"), list)):
            problems.error("", 'expected a JSON array of examples (or {"examples": [...]})')
            return
        for index, record in enumerate(data["examples"]):
            yield f"examples[{index}]", record
        return
    # A top-level array is read element by element, so each example gets its line number.
    line, counted = 1, 0
    pos = _skip_ws(text, pos + 1)
    first = True
    while True:
        if text.startswith("]", pos):
            pos = _skip_ws(text, pos + 1)
            if pos != len(text):
                problems.error(
                    f"line {line + text.count(chr(10), counted, pos)}", "text after the JSON array"
                )
            return
        if not first:
            if not text.startswith(",", pos):
                line += text.count("\n", counted, pos)
                problems.error(f"line {line}", "invalid JSON (expected ',' or ']')")
                return
            pos = _skip_ws(text, pos + 1)
        first = False
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            record, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            problems.error(f"line {exc.lineno}", f"invalid JSON ({exc.msg})")
            return
        except (_InvalidJson, RecursionError) as exc:
            problems.error(f"line {line}", _invalid(exc))
            return
        yield f"line {line}", record
        pos = _skip_ws(text, end)


#: ``reader(path, problems, max_line_bytes, max_json_bytes)`` -> ``(where, record)`` pairs.
Reader = Callable[[Path, Problems, int, int], Iterator[tuple[str, Any]]]
#: The reader of each supported file suffix.
READERS: dict[str, Reader] = {
    ".jsonl": _jsonl_records,
    ".csv": _csv_records,
    ".json": _json_records,
}
