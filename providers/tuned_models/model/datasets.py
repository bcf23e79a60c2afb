"""Examples files (training datasets and quality gates' examples): reading JSONL, CSV and JSON
files, checking them, and the canonical digest.

Contract:

- :func:`scan_dataset` reads a file once, streaming (JSONL and CSV a line at a time; a ``.json``
  file, which is parsed whole, is refused above :attr:`DatasetLimits.max_json_bytes`), and
  returns a :class:`DatasetScan`: the canonical digest, the example count, and every finding
  (errors and warnings, at most :data:`MAX_LISTED_FINDINGS` listed, the rest counted). It never
  raises for the file's content or absence, never holds the whole file, and never blocks: a
  named pipe, a device or a directory is refused without being read (it is opened non-blocking
  and checked to be a regular file). Huge integers and deeply nested JSON are findings, not
  crashes. With a :class:`~tuned_models.model.cache.ScanCache` the result is cached by the raw
  content hash (SHA-256 of the file's bytes): an unchanged file costs one hash.
- :func:`read_examples` returns the examples of a file in order (what a create sends), or raises
  :class:`DatasetError` naming the file, the line or record, and the reason. Files are UTF-8; a
  leading byte order mark (Excel's "CSV UTF-8") is skipped. Text that is not valid Unicode (a
  lone surrogate such as ``"\\ud800"`` in JSON) is an error.
- :func:`examples_digest` is the SHA-256 of the canonical form of the examples (a JSON array of
  ``[textInput, output]`` pairs, compact, UTF-8). Reformatting a file, reordering JSON keys,
  or converting JSONL to CSV keeps the digest; changing any text or the order of examples
  changes it. :func:`scan_dataset` computes the same digest incrementally.
- :func:`dataset_problems` lists what ``validate`` reports about inline examples (errors and
  warnings), with the same rules the scan applies to a file.
- :func:`training_data` and :func:`evaluation_data` are the one check of what a spec trains on
  and of its quality gate's examples, shared by the stack checker (``validate``, the program)
  and the provider's ``check``; both go through :func:`checked_file` for a file (the same
  streaming scan and cache), a gate's without the recommended training size.
- :class:`DatasetInfo` is what the desired state keeps of a model's examples (and of its gate's):
  path, digest, count.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import json
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuned_models.model.cache import ScanCache
from tuned_models.model.problems import Problem, Severity, error, warning
from tuned_models.model.spec import (
    MAX_DATASET_BYTES,
    MAX_INPUT_CHARS,
    MAX_OUTPUT_CHARS,
    MIN_RECOMMENDED_EXAMPLES,
    Example,
    ModelFields,
    text_problem,
)

__all__ = [
    "DEFAULT_LIMITS",
    "EVALUATION_KEY",
    "MAX_LISTED_FINDINGS",
    "SUPPORTED_SUFFIXES",
    "CheckedExamples",
    "DatasetError",
    "DatasetInfo",
    "DatasetLimits",
    "DatasetScan",
    "Finding",
    "checked_file",
    "dataset_info",
    "dataset_path_problem",
    "dataset_problems",
    "evaluation_data",
    "evaluation_info",
    "examples_digest",
    "read_examples",
    "scan_dataset",
    "training_data",
]

SUPPORTED_SUFFIXES = (".jsonl", ".csv", ".json")
# Column / key names accepted for the input text: the API's name first, then the seeds' snake_case.
_INPUT_KEYS = ("textInput", "text_input")
_BOM = codecs.BOM_UTF8
_CHUNK = 1024 * 1024
#: Findings listed per dataset; further ones are counted in a last finding.
MAX_LISTED_FINDINGS = 50
#: Examples remembered for the duplicate check (a bounded memory; any Gemini API dataset fits).
MAX_TRACKED_EXAMPLES = 250_000


@functools.cache
def _rules_version() -> str:
    """A digest of this module's source: a cached scan made under other rules (or messages) is
    never used, with no version number to remember to bump."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


class DatasetError(ValueError):
    """A dataset file that cannot be read; ``str()`` names the file and the reason."""


@dataclass(frozen=True)
class DatasetInfo:
    """The examples one model trains on: ``path`` (None for inline ``examples``), digest, count."""

    path: str | None
    digest: str
    count: int

    @classmethod
    def of(cls, examples: Sequence[Example], path: str | None) -> DatasetInfo:
        """The info of ``examples`` read from ``path`` (None: inline)."""
        return cls(path, examples_digest(examples), len(examples))


@dataclass(frozen=True)
class DatasetLimits:
    """The bounds a dataset file is read and checked under.

    ``max_bytes``: the largest file the backend's service takes (the Gemini API: 4 MB).
    ``max_json_bytes``: the largest ``.json`` file (parsed whole; JSONL streams).
    ``max_line_bytes``: the longest JSONL line or CSV record.
    """

    max_bytes: int = MAX_DATASET_BYTES
    max_json_bytes: int = 64 * 1024 * 1024
    max_line_bytes: int = 64 * 1024 * 1024

    def fingerprint(self) -> str:
        """What a cached scan depends on besides the file's content and the suffix."""
        return f"{_rules_version()}-{self.max_bytes}-{self.max_json_bytes}-{self.max_line_bytes}"


DEFAULT_LIMITS = DatasetLimits()


@dataclass(frozen=True)
class Finding:
    """One finding of a scan, not yet placed: ``where`` is a line (``"3"``), a record (``"[4]"``)
    or empty (the whole file, or an example: then ``text`` starts with ``example N:``)."""

    severity: Severity
    where: str
    text: str

    def message(self, display: str) -> str:
        """The message for the file shown as ``display`` (``file:3: reason`` or ``file: reason``)."""
        return f"{display}:{self.where}: {self.text}" if self.where else f"{display}: {self.text}"


@dataclass(frozen=True)
class DatasetScan:
    """What reading a dataset file found: the digest and count of its examples (meaningful when
    :attr:`ok`), its findings, and ``content_hash``, the SHA-256 of the bytes read (None when
    the file was not read, e.g. too large)."""

    digest: str
    count: int
    findings: tuple[Finding, ...] = ()
    content_hash: str | None = None
    readable: bool = True

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def problems(self, display: str) -> list[Problem]:
        """The findings as problems whose message starts with ``display`` (the file as shown)."""
        return [Problem(f.severity, "", "", "", f.message(display)) for f in self.findings]

    def info(self, path: str) -> DatasetInfo:
        return DatasetInfo(path, self.digest, self.count)

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "count": self.count,
            "findings": [[f.severity.value, f.where, f.text] for f in self.findings],
            "contentHash": self.content_hash,
            "readable": self.readable,
        }

    @classmethod
    def from_json(cls, data: Any) -> DatasetScan:
        """The scan a :meth:`to_json` document holds; raises ValueError (or KeyError, TypeError)
        for anything else."""
        findings = tuple(Finding(Severity(s), str(w), str(t)) for s, w, t in data["findings"])
        digest, count = data["digest"], data["count"]
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise ValueError("not a digest")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("not a count")
        content = data.get("contentHash")
        return cls(
            digest, count, findings, content if isinstance(content, str) else None, data["readable"] is True
        )


# -- reading ---------------------------------------------------------------------------------------


class _ReadError(Exception):
    """Reading stops here: ``where`` is the line or record, ``text`` the reason."""

    def __init__(self, where: str, text: str) -> None:
        super().__init__(text)
        self.where = where
        self.text = text


def _open_regular(path: Path) -> tuple[io.FileIO, int]:
    """The file opened for reading, and its size. Opened without blocking (a named pipe with no
    writer would block an ordinary open forever) and refused unless it is a regular file.

    Raises _ReadError for a missing, unusable or non-regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _ReadError("", "file not found") from None
    except ValueError as e:  # a NUL or an unencodable character in the name
        raise _ReadError("", f"not a usable file name ({e})") from None
    except OSError as e:
        raise _ReadError("", f"cannot read ({e.strerror or e})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _ReadError("", f"not a regular file ({_file_kind(info.st_mode)}); a dataset is a file")
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


class _Hashing(io.RawIOBase):
    """A raw stream over ``source`` that hashes every byte read."""

    def __init__(self, source: io.RawIOBase) -> None:
        super().__init__()
        self._source = source
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        # The buffered and text wrappers close their raw stream when they are dropped; the hash
        # goes on over the rest of the file (see _scan_stream), so closing is the source's job.
        pass

    def readinto(self, buffer: Any) -> int:
        n = self._source.readinto(buffer)
        if n:
            self.sha256.update(memoryview(buffer)[:n])
        return int(n or 0)


#: The longest integer read from JSON (Python itself converts at most 4,300 digits).
MAX_INTEGER_DIGITS = 4300


class _TooLong(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise _TooLong(f"an integer of {len(text.lstrip('-'))} digits is too large to read")
    return int(text)


_DECODER = json.JSONDecoder(parse_int=_parse_int)


def _json_value(text: str, where: str) -> Any:
    """Parse one JSON document; raises _ReadError for invalid JSON, integers longer than Python
    converts and nesting deeper than Python recurses."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise _ReadError(where or str(e.lineno), f"invalid JSON ({e.msg})") from None
    except RecursionError:
        raise _ReadError(where, "invalid JSON (nested too deeply)") from None
    except ValueError as e:  # _TooLong, or an integer Python refuses to convert
        raise _ReadError(
            where, f"invalid JSON ({e if isinstance(e, _TooLong) else 'a number too large'})"
        ) from None


def _jsonl(stream: io.BufferedReader[io.RawIOBase], limits: DatasetLimits) -> Iterator[tuple[str, Any]]:
    number = 0
    while True:
        raw = stream.readline(limits.max_line_bytes + 1)
        if not raw:
            return
        number += 1
        where = str(number)
        if len(raw) > limits.max_line_bytes and not raw.endswith(b"\n"):
            raise _ReadError(where, f"the line is longer than {limits.max_line_bytes} bytes")
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _ReadError(
                where, f"not UTF-8 text ({e.reason} at byte {e.start + 1} of the line)"
            ) from None
        if not text.strip():
            continue
        yield where, _json_value(text, where)


def _csv(stream: io.BufferedReader[io.RawIOBase], limits: DatasetLimits) -> Iterator[tuple[str, Any]]:
    # The csv module's per-field limit is process-wide; it is only ever raised, to the line bound.
    if csv.field_size_limit() < limits.max_line_bytes:
        csv.field_size_limit(limits.max_line_bytes)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None) or []
        if not any(k in header for k in _INPUT_KEYS) or "output" not in header:
            raise _ReadError(
                "1",
                "the header must name the columns textInput and output, "
                f"got {', '.join(header) or 'nothing'}",
            )
        for row in reader:
            if not row:
                continue
            where = str(reader.line_num)
            if len(row) > len(header):
                raise _ReadError(where, "more fields than the header names")
            if len(row) < len(header):
                raise _ReadError(where, "fewer fields than the header names")
            yield where, {k: v for k, v in zip(header, row, strict=True) if k}
    except UnicodeDecodeError as e:
        raise _ReadError(str(reader.line_num + 1), f"not UTF-8 text ({e.reason})") from None
    except csv.Error as e:
        raise _ReadError(str(reader.line_num), f"unreadable CSV ({e})") from None
    finally:
        text.detach()


def _json(
    stream: io.BufferedReader[io.RawIOBase], size: int, limits: DatasetLimits
) -> Iterator[tuple[str, Any]]:
    if size > limits.max_json_bytes:
        raise _ReadError(
            "",
            f"{size} bytes; a .json file is read whole and the limit is {limits.max_json_bytes} "
            "bytes: use JSONL (one example a line) for large datasets",
        )
    data = stream.read().removeprefix(_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _ReadError("", f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    value = _json_value(text, "")
    if isinstance(value, dict) and "examples" in value:
        value = value["examples"]
    if not isinstance(value, list):
        raise _ReadError("", 'expected a JSON array of examples (or {"examples": [...]})')
    for i, record in enumerate(value):
        yield f"[{i}]", record


def _pair(where: str, record: Any) -> tuple[str, str]:
    """``(textInput, output)`` of one record; raises _ReadError when it is not an example."""
    if not isinstance(record, dict):
        raise _ReadError(where, "expected an object with textInput and output")
    input_key = next((k for k in _INPUT_KEYS if k in record), None)
    if input_key is None or "output" not in record:
        missing = [k for k, ok in (("textInput", input_key), ("output", "output" in record)) if not ok]
        raise _ReadError(where, f"missing {' and '.join(missing)}")
    extra = sorted(set(record) - {input_key, "output"})
    if extra:
        raise _ReadError(where, f"unknown key {extra[0]!r}; an example has textInput and output")
    text_input, output = record[input_key], record["output"]
    if not isinstance(text_input, str) or not isinstance(output, str):
        raise _ReadError(where, "textInput and output must be strings")
    for name, text in (("textInput", text_input), ("output", output)):
        problem = text_problem(text)
        if problem:
            raise _ReadError(where, f"{name} {problem}")
    return text_input, output


def _records(
    stream: io.RawIOBase, suffix: str, size: int, limits: DatasetLimits
) -> Iterator[tuple[str, str]]:
    """Every example of the file as ``(textInput, output)``, in order; raises _ReadError."""
    buffered = io.BufferedReader(stream, _CHUNK)
    if suffix == ".jsonl":
        records = _jsonl(buffered, limits)
    elif suffix == ".csv":
        records = _csv(buffered, limits)
    else:
        records = _json(buffered, size, limits)
    for where, record in records:
        yield _pair(where, record)


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _ReadError("", f"unsupported dataset format {suffix or '(none)'}; use .jsonl, .csv or .json")
    return suffix


def _check_size(size: int, limits: DatasetLimits) -> None:
    if size > limits.max_bytes:
        limit = (
            "the service's 4 MB dataset limit"
            if limits.max_bytes == MAX_DATASET_BYTES
            else f"the {limits.max_bytes}-byte limit"
        )
        raise _ReadError("", f"{size} bytes is over {limit}")


def read_examples(path: Path, limits: DatasetLimits = DEFAULT_LIMITS) -> list[Example]:
    """Read a dataset file; the format comes from its suffix (.jsonl, .csv or .json).

    Raises DatasetError (``<path>:<line>: reason`` or ``<path>: reason``) for a file that cannot
    be read as examples. Content rules (empty texts, lengths) are :func:`scan_dataset`'s.
    """
    try:
        suffix = _check_suffix(path)
        stream, size = _open_regular(path)
        with stream:
            _check_size(size, limits)
            return [
                Example.model_construct(textInput=i, output=o)
                for i, o in _records(stream, suffix, size, limits)
            ]
    except _ReadError as e:
        raise DatasetError(Finding(Severity.ERROR, e.where, e.text).message(str(path))) from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror or e})") from None


# -- checking --------------------------------------------------------------------------------------


class _Checker:
    """The rules over a sequence of examples, applied one example at a time: the digest, the
    count, and the findings (bounded). ``training`` False: the examples of a quality gate, which
    the service's recommended training size does not concern."""

    def __init__(self, *, training: bool = True) -> None:
        self.training = training
        self._sha = hashlib.sha256(b"[")
        self.count = 0
        self._listed: list[Finding] = []
        self._unlisted = 0
        self._unlisted_errors = False
        self._seen: dict[bytes, int] = {}

    def add(self, severity: Severity, where: str, text: str) -> None:
        if len(self._listed) < MAX_LISTED_FINDINGS:
            self._listed.append(Finding(severity, where, text))
        else:
            self._unlisted += 1
            self._unlisted_errors = self._unlisted_errors or severity is Severity.ERROR

    def example(self, text_input: str, output: str) -> None:
        encoded = json.dumps([text_input, output], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._sha.update(b"," + encoded if self.count else encoded)
        self.count += 1
        where = f"example {self.count}: "
        if not text_input.strip():
            self.add(Severity.ERROR, "", where + "textInput is empty")
        if not output.strip():
            self.add(Severity.ERROR, "", where + "output is empty")
        if len(text_input) > MAX_INPUT_CHARS:
            self.add(
                Severity.ERROR,
                "",
                f"{where}textInput has {len(text_input)} characters; the limit is {MAX_INPUT_CHARS}",
            )
        if len(output) > MAX_OUTPUT_CHARS:
            self.add(
                Severity.ERROR,
                "",
                f"{where}output has {len(output)} characters; the limit is {MAX_OUTPUT_CHARS}",
            )
        key = hashlib.blake2b(encoded, digest_size=16).digest()
        first = self._seen.get(key)
        if first is not None:
            self.add(Severity.WARNING, "", f"{where}duplicate of example {first}")
        elif len(self._seen) < MAX_TRACKED_EXAMPLES:
            self._seen[key] = self.count

    def finish(self, read_error: Finding | None = None, content_hash: str | None = None) -> DatasetScan:
        """The scan, after the last example (or the error that stopped reading)."""
        self._sha.update(b"]")
        if read_error is not None:
            findings = [read_error]
        else:
            findings = list(self._listed)
            if self.count == 0:
                what = "dataset" if self.training else "evaluation"
                findings = [Finding(Severity.ERROR, "", f"the {what} has no examples")]
            elif self.training and self.count < MIN_RECOMMENDED_EXAMPLES:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "",
                        f"only {self.count} examples; the service recommends at least "
                        f"{MIN_RECOMMENDED_EXAMPLES} (100-500 is typical)",
                    )
                )
            if self._unlisted:
                findings.append(
                    Finding(
                        Severity.ERROR if self._unlisted_errors else Severity.WARNING,
                        "",
                        f"{self._unlisted} more problems not listed",
                    )
                )
        return DatasetScan(
            "sha256:" + self._sha.hexdigest(), self.count, tuple(findings), content_hash, read_error is None
        )


def examples_digest(examples: Iterable[Example]) -> str:
    """The canonical digest of a list of examples (``sha256:<hex>``)."""
    sha = hashlib.sha256(b"[")
    for i, e in enumerate(examples):
        encoded = json.dumps([e.textInput, e.output], ensure_ascii=False, separators=(",", ":"))
        sha.update((("," if i else "") + encoded).encode("utf-8"))
    sha.update(b"]")
    return "sha256:" + sha.hexdigest()


def _scan_examples(examples: Iterable[Example], *, training: bool = True) -> DatasetScan:
    checker = _Checker(training=training)
    for e in examples:
        checker.example(e.textInput, e.output)
    return checker.finish()


def _problems(scan: DatasetScan) -> list[Problem]:
    return [error(f.text) if f.severity is Severity.ERROR else warning(f.text) for f in scan.findings]


def dataset_problems(examples: Sequence[Example], *, training: bool = True) -> list[Problem]:
    """Errors (empty or too long texts, no examples) and warnings (few or duplicate examples),
    not yet placed in a stack file (:meth:`~tuned_models.model.problems.Problem.at`); the
    message starts with the example (``example 3: output is empty``) when it is about one.
    ``training`` False: the examples of a quality gate (no recommended size)."""
    return _problems(_scan_examples(examples, training=training))


def _content_hash(stream: io.FileIO) -> str:
    return hashlib.file_digest(stream, "sha256").hexdigest()


def scan_dataset(
    path: Path,
    limits: DatasetLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
    *,
    training: bool = True,
) -> DatasetScan:
    """Read and check the examples file ``path`` (see the module docstring). ``cache``: a
    :class:`~tuned_models.model.cache.ScanCache` (None: no cache). ``training`` False: the
    examples of a quality gate (no recommended size). Never raises."""
    try:
        suffix = _check_suffix(path)
        stream, size = _open_regular(path)
    except _ReadError as e:
        return _unreadable(Finding(Severity.ERROR, e.where, e.text))
    with stream:
        try:
            _check_size(size, limits)
            key = None
            if cache is not None:
                purpose = "train" if training else "eval"
                key = f"{_content_hash(stream)}-{suffix.lstrip('.')}-{purpose}-{limits.fingerprint()}"
                cached = _from_cache(cache.get(key))
                if cached is not None:
                    return cached
                stream.seek(0)
            scan = _scan_stream(stream, suffix, size, limits, _Checker(training=training))
            if cache is not None and key is not None and key.startswith(str(scan.content_hash)):
                cache.put(key, scan.to_json())  # else the file changed while it was read
            return scan
        except _ReadError as e:
            return _unreadable(Finding(Severity.ERROR, e.where, e.text))
        except OSError as e:
            return _unreadable(Finding(Severity.ERROR, "", f"cannot read ({e.strerror or e})"))


def _from_cache(value: Any) -> DatasetScan | None:
    if value is None:
        return None
    try:
        return DatasetScan.from_json(value)
    except (ValueError, KeyError, TypeError):  # another shape: scanned again, then overwritten
        return None


def _unreadable(finding: Finding) -> DatasetScan:
    return DatasetScan("", 0, (finding,), None, False)


def _scan_stream(
    stream: io.FileIO, suffix: str, size: int, limits: DatasetLimits, checker: _Checker
) -> DatasetScan:
    hashing = _Hashing(stream)
    failure: Finding | None = None
    try:
        for text_input, output in _records(hashing, suffix, size, limits):
            checker.example(text_input, output)
    except _ReadError as e:
        failure = Finding(Severity.ERROR, e.where, e.text)
    while hashing.read(_CHUNK):  # the rest of the file, for the content hash
        pass
    return checker.finish(failure, hashing.sha256.hexdigest())


# -- what a spec trains and is evaluated on -------------------------------------------------------


@dataclass(frozen=True)
class CheckedExamples:
    """The examples a spec declares, checked: what it trains on (``key``: ``dataset`` or
    ``examples``) or its quality gate's (``evaluation.examples``). ``info`` is None when it
    declares none, or when the file's examples could not be read; ``problems`` are placed in no
    file yet (the message starts with the file's path for a file)."""

    info: DatasetInfo | None
    key: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


#: The key of a quality gate's examples in a model's spec.
EVALUATION_KEY = "evaluation.examples"


def dataset_path_problem(dataset: str, project_root: Path) -> str | None:
    """Why ``dataset`` (a path relative to the project root) cannot name an examples file of
    the project, or None: empty, absolute, an unusable name, or outside the project after ``..``
    and symlinks are resolved."""
    if not dataset.strip():
        return "expected a path relative to the project root, got an empty string"
    if "\0" in dataset or text_problem(dataset):
        return f"{dataset!r}: not a usable file name (a NUL or a lone surrogate character)"
    if Path(dataset).is_absolute():
        return f"{dataset}: a dataset path is relative to the project root"
    try:
        inside = (project_root / dataset).resolve().is_relative_to(project_root.resolve())
    except RuntimeError:  # pathlib's "Symlink loop"
        return f"{dataset}: cannot read (a symbolic link loop)"
    except OSError as e:
        return f"{dataset}: cannot read ({e.strerror or e})"
    if not inside:
        return (
            f"{dataset}: outside the project (after resolving .. and symlinks); "
            "keep datasets under the project root, e.g. in stacks/datasets/"
        )
    return None


def checked_file(
    path: str,
    project_root: Path,
    key: str,
    *,
    limits: DatasetLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
) -> CheckedExamples:
    """Check the examples file ``path`` (relative to ``project_root``) declared under ``key``
    (``dataset``, or :data:`EVALUATION_KEY`: a gate's, with no recommended size): streamed by
    :func:`scan_dataset`, cached by content. Never raises."""
    problem = dataset_path_problem(path, project_root)
    if problem is not None:
        return CheckedExamples(None, key, [error(problem)])
    scan = scan_dataset(project_root / path, limits, cache, training=key != EVALUATION_KEY)
    return CheckedExamples(scan.info(path) if scan.readable else None, key, scan.problems(path))


def training_data(
    spec: ModelFields | None,
    project_root: Path,
    *,
    dataset: str | None = None,
    limits: DatasetLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
) -> CheckedExamples:
    """Check what ``spec`` trains on: its inline ``examples`` or its ``dataset`` file (relative
    to ``project_root``; ``dataset`` names the file when the spec itself did not validate).
    Never raises; see :class:`CheckedExamples`."""
    if spec is not None and spec.examples is not None:
        scan = _scan_examples(spec.examples)
        return CheckedExamples(DatasetInfo(None, scan.digest, scan.count), "examples", _problems(scan))
    path = spec.dataset if spec is not None else dataset
    if path is None:
        return CheckedExamples(None)
    return checked_file(path, project_root, "dataset", limits=limits, cache=cache)


def evaluation_data(
    spec: ModelFields,
    project_root: Path,
    *,
    limits: DatasetLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
) -> CheckedExamples:
    """Check the examples of ``spec``'s quality gate (``evaluation.examples``: inline, or a file
    read like a dataset, with no recommended size); ``info`` None when it declares no gate.
    Never raises; see :class:`CheckedExamples`."""
    if spec.evaluation is None:
        return CheckedExamples(None)
    source = spec.evaluation.examples
    if isinstance(source, str):
        return checked_file(source, project_root, EVALUATION_KEY, limits=limits, cache=cache)
    scan = _scan_examples(source, training=False)
    return CheckedExamples(DatasetInfo(None, scan.digest, scan.count), EVALUATION_KEY, _problems(scan))


def _info(data: CheckedExamples, inline: str) -> DatasetInfo | None:
    if data.errors:
        message = data.errors[0].message
        raise ValueError(message if data.info is None or data.info.path else f"{inline}: {message}")
    return data.info


def dataset_info(spec: ModelFields, project_root: Path, cache: ScanCache | None = None) -> DatasetInfo | None:
    """The examples ``spec`` trains on: inline, or read from its ``dataset`` (relative to
    ``project_root``); None when it declares neither (an adopted model).

    Raises ValueError naming the file and the reason when the examples cannot be read or are
    not fit to train on (the first error :func:`training_data` finds).
    """
    return _info(training_data(spec, project_root, cache=cache), "the inline examples")


def evaluation_info(
    spec: ModelFields, project_root: Path, cache: ScanCache | None = None
) -> DatasetInfo | None:
    """The examples of ``spec``'s quality gate (see :func:`evaluation_data`); None when it
    declares no gate.

    Raises ValueError naming the file and the reason when they cannot be read or scored (the
    first error :func:`evaluation_data` finds).
    """
    return _info(evaluation_data(spec, project_root, cache=cache), "the inline evaluation examples")
