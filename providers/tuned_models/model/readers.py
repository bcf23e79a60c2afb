"""Reading examples files a record at a time: one reader per file format, shared by every backend.

Contract:

- :func:`open_regular` opens a file without blocking (a named pipe with no writer would block an
  ordinary open forever) and refuses anything but a regular file (a directory, a pipe, a device)
  without reading it.
- :func:`records` yields ``(where, record)`` pairs from a binary stream: JSONL and CSV a line at
  a time (memory bounded by the longest line), ``.json`` parsed whole (refused above
  ``max_json_bytes``, before a byte is read). ``where`` is the line a record starts on (``"3"``),
  or ``examples[i]`` for the ``{"examples": [...]}`` form of a ``.json`` file. What cannot be read
  goes to a :class:`Findings` and reading goes on where that is possible (the next JSONL line,
  the next CSV record); a CSV file that is not UTF-8 or not CSV, and a ``.json`` file that does
  not parse, stop there.
- JSON is strict: no NaN or Infinity, no number out of the float range, no integer of more than
  :data:`MAX_INTEGER_DIGITS` digits, no key twice in one object (a canonical form would depend
  on which duplicate wins), nesting no deeper than Python recurses. Files are UTF-8; a leading
  byte order mark (Excel's "CSV UTF-8") is skipped.
- :class:`Hashing` wraps a raw stream so that the bytes read are hashed on the way (the content
  hash a scan is cached by, :mod:`tuned_models.model.cache`).
- :func:`example_fields` is the ``{textInput, output}`` shape of one record (the seeds'
  ``text_input`` accepted), shared by every backend that reads such examples.

What a record means beyond that (an example's texts, Vertex AI's ``contents`` rules) is the
caller's: :mod:`tuned_models.model.datasets` and :mod:`tuned_models.vertex.datasets`.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tuned_models.model.problems import Problem, Severity

__all__ = [
    "INPUT_KEYS",
    "MAX_INTEGER_DIGITS",
    "MAX_LISTED_FINDINGS",
    "SUPPORTED_SUFFIXES",
    "Bounds",
    "Finding",
    "Findings",
    "Hashing",
    "ReadError",
    "check_suffix",
    "example_fields",
    "open_regular",
    "records",
]

SUPPORTED_SUFFIXES = (".jsonl", ".csv", ".json")
#: Column / key names accepted for the input text: the API's name first, then the seeds' snake_case.
INPUT_KEYS = ("textInput", "text_input")
#: Findings listed per file; further ones are counted in a last finding.
MAX_LISTED_FINDINGS = 50
#: The longest integer read from JSON (Python itself converts at most 4,300 digits).
MAX_INTEGER_DIGITS = 4300
_BOM = codecs.BOM_UTF8
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Finding:
    """One finding of a scan, not yet placed: ``where`` is a line (``"3"``), a record
    (``"examples[4]"``) or empty (the whole file, or an example: then ``text`` starts with
    ``example N:``)."""

    severity: Severity
    where: str
    text: str

    def message(self, display: str) -> str:
        """The message for the file shown as ``display`` (``file:3: reason`` or ``file: reason``;
        with no file, as for inline examples: ``example 3: reason`` or ``reason``)."""
        if not display:
            return f"{self.where}: {self.text}" if self.where else self.text
        return f"{display}:{self.where}: {self.text}" if self.where else f"{display}: {self.text}"

    def problem(self, display: str) -> Problem:
        """This finding as a problem (placed in no stack file yet) about the file ``display``."""
        return Problem(self.severity, "", "", "", self.message(display))


class Findings:
    """Collects findings up to ``limit``, counting the rest (``done`` adds one finding for them)."""

    def __init__(self, limit: int = MAX_LISTED_FINDINGS) -> None:
        self.limit = limit
        self.listed: list[Finding] = []
        self._unlisted = 0
        self._unlisted_errors = False
        #: Whether any error was added (listed or not).
        self.errors = False

    def add(self, severity: Severity, where: str, text: str) -> None:
        self.errors = self.errors or severity is Severity.ERROR
        if len(self.listed) < self.limit:
            self.listed.append(Finding(severity, where, text))
        else:
            self._unlisted += 1
            self._unlisted_errors = self._unlisted_errors or severity is Severity.ERROR

    def error(self, where: str, text: str) -> None:
        self.add(Severity.ERROR, where, text)

    def warning(self, where: str, text: str) -> None:
        self.add(Severity.WARNING, where, text)

    @property
    def any(self) -> bool:
        return bool(self.listed)

    def done(self) -> tuple[Finding, ...]:
        """The findings, then ``N more problems not listed`` (an error if any of them was)."""
        if not self._unlisted:
            return tuple(self.listed)
        severity = Severity.ERROR if self._unlisted_errors else Severity.WARNING
        return (*self.listed, Finding(severity, "", f"{self._unlisted} more problems not listed"))


class ReadError(Exception):
    """A file that cannot be read at all: ``where`` and ``text`` as a :class:`Finding`'s."""

    def __init__(self, where: str, text: str) -> None:
        super().__init__(text)
        self.where = where
        self.text = text

    def finding(self) -> Finding:
        return Finding(Severity.ERROR, self.where, self.text)


def check_suffix(path: Path) -> str:
    """The file's format (its suffix, lowercase); raises ReadError for one no reader takes."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadError("", f"unsupported dataset format {suffix or '(none)'}; use .jsonl, .csv or .json")
    return suffix


def open_regular(path: Path) -> tuple[io.FileIO, int]:
    """The file opened for reading, and its size. Opened without blocking and refused unless it
    is a regular file.

    Raises ReadError for a missing, unusable or non-regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ReadError("", "file not found") from None
    except ValueError as e:  # a NUL or an unencodable character in the name
        raise ReadError("", f"not a usable file name ({e})") from None
    except OSError as e:
        raise ReadError("", f"cannot read ({e.strerror or e})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadError("", f"not a regular file ({_file_kind(info.st_mode)}); a dataset is a file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return io.FileIO(fd, "rb", closefd=True), info.st_size
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


class Hashing(io.RawIOBase):
    """A raw stream over ``source`` that hashes (SHA-256) every byte read."""

    def __init__(self, source: io.RawIOBase) -> None:
        super().__init__()
        self._source = source
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        # The buffered and text wrappers close their raw stream when they are dropped; the hash
        # goes on over the rest of the file (see finish), so closing is the source's job.
        pass

    def readinto(self, buffer: Any) -> int:
        n = self._source.readinto(buffer)
        if n:
            self.sha256.update(memoryview(buffer)[:n])
        return int(n or 0)

    def finish(self) -> str:
        """Read what is left of the source (a reader may stop early) and return the hex digest
        of every byte."""
        while self.read(_CHUNK):
            pass
        return self.sha256.hexdigest()


# -- strict JSON -----------------------------------------------------------------------------------


class _Refused(ValueError):
    """JSON that parses but is refused (the message says why)."""


def _reject_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits is too large to read")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
    parse_int=_bounded_int,
)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _decode(text: str, pos: int = 0) -> tuple[Any, int]:
    """One JSON value at ``pos`` and where it ends; raises ReadError (``where`` empty: the
    caller places it) for invalid or refused JSON."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as e:
        raise ReadError("", f"invalid JSON ({e.msg})") from None
    except RecursionError:
        raise ReadError("", "invalid JSON (nested too deeply)") from None
    except ValueError as e:  # _Refused, or an integer Python refuses to convert
        raise ReadError(
            "", f"invalid JSON ({e if isinstance(e, _Refused) else 'a number too large'})"
        ) from None


def _document(text: str) -> Any:
    """The one JSON document ``text`` holds; raises ReadError as :func:`_decode`."""
    value, end = _decode(text, _skip_ws(text, 0))
    if _skip_ws(text, end) != len(text):
        raise ReadError("", "invalid JSON (Extra data)")
    return value


# -- the readers -----------------------------------------------------------------------------------


def _jsonl(
    stream: io.BufferedReader[io.RawIOBase], findings: Findings, max_line_bytes: int
) -> Iterator[tuple[str, Any]]:
    number = 0
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        where = str(number)
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            findings.error(where, f"the line is longer than {max_line_bytes} bytes")
            while raw and not raw.endswith(b"\n"):  # the rest of the line, a block at a time
                raw = stream.readline(_CHUNK)
            continue
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            findings.error(where, f"not UTF-8 text ({e.reason} at byte {e.start + 1} of the line)")
            continue
        if not text.strip():
            continue
        try:
            record = _document(text)
        except ReadError as e:
            findings.error(where, e.text)
            continue
        yield where, record


def _csv(
    stream: io.BufferedReader[io.RawIOBase], findings: Findings, max_line_bytes: int
) -> Iterator[tuple[str, Any]]:
    # The csv module's per-field limit is process-wide; it is only ever raised, to the line bound.
    if csv.field_size_limit() < max_line_bytes:
        csv.field_size_limit(max_line_bytes)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            return
        if not any(k in header for k in INPUT_KEYS) or "output" not in header:
            findings.error(
                "1",
                "the header must name the columns textInput and output, "
                f"got {', '.join(header) or 'nothing'}",
            )
            return
        last = reader.line_num
        for row in reader:
            where = str(last + 1)  # the line the record starts on (a quoted field may span lines)
            last = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                more = "more" if len(row) > len(header) else "fewer"
                findings.error(where, f"{more} fields than the header names")
                continue
            yield where, {k: v for k, v in zip(header, row, strict=True) if k}
    except UnicodeDecodeError as e:
        findings.error(str(reader.line_num + 1), f"not UTF-8 text ({e.reason}); reading stopped")
    except csv.Error as e:
        findings.error(str(reader.line_num), f"unreadable CSV ({e}); reading stopped")
    finally:
        text.detach()


def _json(
    stream: io.BufferedReader[io.RawIOBase], findings: Findings, size: int, max_json_bytes: int
) -> Iterator[tuple[str, Any]]:
    if size > max_json_bytes:
        findings.error(
            "",
            f"{size} bytes; a .json file is read whole and the limit is {max_json_bytes} bytes: "
            "use JSONL (one example a line) for large datasets",
        )
        return
    try:
        text = stream.read().removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as e:
        findings.error("", f"not UTF-8 text ({e.reason} at byte {e.start + 1})")
        return
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        try:
            data = _document(text)
        except ReadError as e:
            findings.error("", e.text)
            return
        if not (isinstance(data, dict) and isinstance(data.get("examples"), list)):
            findings.error("", 'expected a JSON array of examples (or {"examples": [...]})')
            return
        for index, record in enumerate(data["examples"]):
            yield f"examples[{index}]", record
        return
    # A top-level array is read element by element, so each record gets its line number.
    line, counted = 1, 0
    pos = _skip_ws(text, pos + 1)
    first = True
    while True:
        if text.startswith("]", pos):
            end = _skip_ws(text, pos + 1)
            if end != len(text):
                findings.error(str(line + text.count("\n", counted, end)), "text after the JSON array")
            return
        if not first:
            if not text.startswith(",", pos):
                findings.error(
                    str(line + text.count("\n", counted, pos)), "invalid JSON (expected ',' or ']')"
                )
                return
            pos = _skip_ws(text, pos + 1)
        first = False
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            record, pos = _decode(text, pos)
        except ReadError as e:
            findings.error(str(line), e.text)
            return
        yield str(line), record
        pos = _skip_ws(text, pos)


class Bounds(Protocol):
    """The reader's bounds (:class:`tuned_models.model.datasets.DatasetLimits` has them):
    the longest JSONL line or CSV record, the largest ``.json`` file."""

    @property
    def max_line_bytes(self) -> int: ...

    @property
    def max_json_bytes(self) -> int: ...


def records(
    stream: io.RawIOBase, suffix: str, size: int, bounds: Bounds, findings: Findings
) -> Iterator[tuple[str, Any]]:
    """Every record of the file ``stream`` reads (``suffix``: its format, ``size``: its bytes),
    as ``(where, record)``, within ``bounds``; what cannot be read goes to ``findings`` (see the
    module doc)."""
    buffered = io.BufferedReader(stream, _CHUNK)
    if suffix == ".jsonl":
        return _jsonl(buffered, findings, bounds.max_line_bytes)
    if suffix == ".csv":
        return _csv(buffered, findings, bounds.max_line_bytes)
    return _json(buffered, findings, size, bounds.max_json_bytes)


def example_fields(record: Any) -> tuple[str, str] | str:
    """``(textInput, output)`` of an example record, or why it is not one (a message)."""
    if not isinstance(record, dict):
        return "expected an object with textInput and output"
    input_key = next((k for k in INPUT_KEYS if k in record), None)
    if input_key is None or "output" not in record:
        missing = [k for k, ok in (("textInput", input_key), ("output", "output" in record)) if not ok]
        return f"missing {' and '.join(missing)}"
    extra = sorted(set(record) - {input_key, "output"})
    if extra:
        return f"unknown key {extra[0]!r}; an example has textInput and output"
    text_input, output = record[input_key], record["output"]
    if not isinstance(text_input, str) or not isinstance(output, str):
        return "textInput and output must be strings"
    return text_input, output
