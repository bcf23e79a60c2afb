"""Datasets for Vertex AI tuning: check, convert to ``contents`` JSONL, digest (and, with
:mod:`tuned_models.vertex.upload`, upload).

Contract:

- Input files are the product's examples (``{"textInput", "output"}`` records in ``.jsonl``,
  ``.csv`` with those columns, or ``.json`` holding an array or ``{"examples": [...]}``) or
  Vertex's own ``contents`` records (``.jsonl`` or a ``.json`` array; multi-turn,
  ``systemInstruction``, ``tools``). The first record decides which. Files are read by the one
  reader of their format (:mod:`tuned_models.model.readers`: UTF-8, a byte order mark skipped,
  blank JSONL lines ignored, strict JSON) and scanned through
  :func:`tuned_models.model.datasets.cached_scan` (opened only as a regular file, refused above
  1 GB before a byte is read, the result cached by the file's content hash).
- Each example becomes one line of canonical JSONL: the record as compact JSON with sorted keys
  and unescaped Unicode. An example ``{textInput: I, output: O}`` becomes
  ``{"contents":[{"parts":[{"text":I}],"role":"user"},{"parts":[{"text":O}],"role":"model"}]}``;
  a ``contents`` record keeps every field it has. The canonical file is what gets uploaded, and
  its SHA-256 is the dataset's digest: reformatting the source (spacing, key order, escapes,
  JSONL/CSV/JSON for examples) keeps it; changing any text or the order of examples changes it.
- :func:`scan_dataset` reads a file once, streaming, and returns a :class:`ContentsScan`: the
  digest, the canonical file's size and MD5, the count, and every finding, each located by the
  line its record starts on (``file:3: reason``; a ``.json`` file's wrapper form:
  ``examples[i]``). It never raises for the file's content or absence.
- The service's rules checked: roles ``user`` and ``model`` alternating, starting with ``user``
  and ending with ``model`` (its turns are the targets); every turn with parts, every part with
  exactly one kind of data, texts not empty; at most 5,000 validation examples and 10,000,000
  training examples; at most 1 GB (10^9 bytes) of JSONL (reading stops past it). An example over
  the 131,072-token limit is dropped by the service, not refused, so an example whose text
  suggests it (more than 4 characters a token) is a warning.
- :func:`tuned_models.vertex.upload.upload_dataset` uploads the canonical file to
  ``gs://bucket/prefix/<sha256 hex>.jsonl`` unless it is there already.

Pure: no HTTP client is imported (``tuned-models validate`` uses it offline).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from tuned_models.model.cache import ScanCache
from tuned_models.model.datasets import DatasetError, DatasetLimits, DatasetScan, cached_scan
from tuned_models.model.problems import Problem, error
from tuned_models.model.readers import Finding, Findings, example_fields, records

__all__ = [
    "DEFAULT_LIMITS",
    "ContentsScan",
    "DatasetError",
    "DatasetFormat",
    "DatasetKind",
    "VertexLimits",
    "example_to_contents",
    "scan_dataset",
    "scan_examples",
    "validation_set_problems",
    "write_dataset",
]

_ROLES = ("user", "model")
#: Part fields carrying data (a part has exactly one), by JSON name and proto name.
_PART_DATA = {
    "text": "text",
    "inlineData": "inlineData",
    "inline_data": "inlineData",
    "fileData": "fileData",
    "file_data": "fileData",
    "functionCall": "functionCall",
    "function_call": "functionCall",
    "functionResponse": "functionResponse",
    "function_response": "functionResponse",
    "executableCode": "executableCode",
    "executable_code": "executableCode",
    "codeExecutionResult": "codeExecutionResult",
    "code_execution_result": "codeExecutionResult",
}
_PART_OTHER = {
    "thought",
    "thoughtSignature",
    "thought_signature",
    "videoMetadata",
    "video_metadata",
    "mediaResolution",
    "media_resolution",
}
_RECORD_KEYS = {"contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config"}


class DatasetKind(StrEnum):
    """What a dataset is for; the service limits each differently."""

    TRAINING = "training"
    VALIDATION = "validation"


class DatasetFormat(StrEnum):
    """The records of a source file: the product's examples, or Vertex's ``contents``."""

    EXAMPLES = "examples"
    CONTENTS = "contents"


@dataclass(frozen=True)
class VertexLimits(DatasetLimits):
    """Vertex AI's limits (supervised tuning of Gemini 2.5 / 3.x, as documented in 2026) beside
    the reader's own bounds (:class:`~tuned_models.model.datasets.DatasetLimits`).

    Attributes:
        max_bytes: the largest JSONL file the service reads (1 GB).
        max_training_examples: text-only examples in a training set.
        max_validation_examples: examples in a validation set.
        max_example_tokens: input and output tokens of one example; longer ones are dropped.
        chars_per_token: the estimate behind the long-example warning.
        min_recommended_examples: below this a training set gets a warning (the service
            recommends 100 to 500).
    """

    max_bytes: int = 1_000_000_000
    max_training_examples: int = 10_000_000
    max_validation_examples: int = 5_000
    max_example_tokens: int = 131_072
    chars_per_token: float = 4.0
    min_recommended_examples: int = 100

    def rules_files(self) -> tuple[Path, ...]:
        return (*super().rules_files(), Path(__file__))

    def size_problem(self, size: int) -> str | None:
        # Refused without reading it: its JSONL would be about as large (larger, from CSV).
        if size <= self.max_bytes:
            return None
        return f"{size} bytes; the service reads at most {self.max_bytes} bytes (1 GB): split the dataset"


DEFAULT_LIMITS = VertexLimits()


@dataclass(frozen=True)
class ContentsScan(DatasetScan):
    """A dataset file as Vertex AI's ``contents`` JSONL: the
    :class:`~tuned_models.model.datasets.DatasetScan` (``digest``: ``sha256:<hex>`` of the
    canonical JSONL, meaningful when :attr:`ok`) with the canonical file's ``md5`` (base64, as
    Cloud Storage reports ``md5Hash``) and ``size`` in bytes, and the ``format`` of its records."""

    format: DatasetFormat | None = None
    md5: str = ""
    size: int = 0

    @property
    def file_name(self) -> str:
        """``<sha256 hex>.jsonl``: the object name of the canonical file under a prefix."""
        return f"{self.digest.removeprefix('sha256:')}.jsonl"

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "format": self.format.value if self.format else None,
            "md5": self.md5,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: Any) -> ContentsScan:
        size, md5 = data["size"], data["md5"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not isinstance(md5, str):
            raise ValueError("not a contents scan")
        form = data["format"]
        return cls(
            **cls.fields_from_json(data), format=DatasetFormat(form) if form else None, md5=md5, size=size
        )


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


# -- checking and converting -------------------------------------------------------------------


def example_to_contents(text_input: str, output: str) -> dict[str, Any]:
    """One ``{textInput, output}`` example as a ``contents`` record (a user turn, a model turn)."""
    return {
        "contents": [
            {"role": "user", "parts": [{"text": text_input}]},
            {"role": "model", "parts": [{"text": output}]},
        ]
    }


def _example_record(record: Mapping[str, Any], errors: list[str]) -> tuple[dict[str, Any], int] | None:
    fields = example_fields(record)
    if isinstance(fields, str):
        errors.append(fields)
        return None
    for name, text in zip(("textInput", "output"), fields, strict=True):
        if not text.strip():
            errors.append(f"{name} is empty")
    if errors:
        return None
    text_input, output = fields
    return example_to_contents(text_input, output), len(text_input) + len(output)


def _check_parts(parts: Any, where: str, errors: list[str], warnings: list[str]) -> int:
    """Check a ``parts`` list; return its text length."""
    if not isinstance(parts, list) or not parts:
        errors.append(f"{where}.parts must be a non-empty list")
        return 0
    chars = 0
    for index, part in enumerate(parts):
        at = f"{where}.parts[{index}]"
        if not isinstance(part, dict):
            errors.append(f"{at} must be an object")
            continue
        kinds = [key for key in part if key in _PART_DATA]
        if len(kinds) != 1:
            found = " and ".join(kinds) if kinds else "none"
            errors.append(
                f"{at} must hold exactly one kind of data (text, inlineData, fileData, functionCall, "
                f"functionResponse, executableCode, codeExecutionResult); found {found}"
            )
            continue
        unknown = sorted(set(part) - set(_PART_DATA) - _PART_OTHER)
        if unknown:
            warnings.append(f"{at}: unknown key {unknown[0]!r}; the service may refuse it")
        kind, value = _PART_DATA[kinds[0]], part[kinds[0]]
        if kind == "text":
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{at}.text must be a non-empty string")
            else:
                chars += len(value)
        elif not isinstance(value, dict):
            errors.append(f"{at}.{kinds[0]} must be an object")
        elif kind == "fileData" and not (
            isinstance(value.get("fileUri", value.get("file_uri")), str)
            and isinstance(value.get("mimeType", value.get("mime_type")), str)
        ):
            errors.append(f"{at}.{kinds[0]} needs fileUri and mimeType")
        elif kind in ("functionCall", "functionResponse") and not isinstance(value.get("name"), str):
            errors.append(f"{at}.{kinds[0]} needs a name")
    return chars


def _contents_record(
    record: Mapping[str, Any], errors: list[str], warnings: list[str]
) -> tuple[dict[str, Any], int] | None:
    unknown = sorted(set(record) - _RECORD_KEYS)
    if unknown:
        warnings.append(f"unknown key {unknown[0]!r}; the service may refuse it")
    contents = record["contents"]
    chars = 0
    if not isinstance(contents, list) or not contents:
        errors.append("contents must be a non-empty list of turns")
        return None
    previous: str | None = None
    for index, turn in enumerate(contents):
        at = f"contents[{index}]"
        if not isinstance(turn, dict):
            errors.append(f"{at} must be an object with role and parts")
            continue
        extra = sorted(set(turn) - {"role", "parts"})
        if extra:
            warnings.append(f"{at}: unknown key {extra[0]!r}; a turn has role and parts")
        role = turn.get("role")
        if role not in _ROLES:
            errors.append(f"{at}.role must be 'user' or 'model', got {role!r}")
        elif index == 0 and role != "user":
            errors.append(f"{at}.role must be 'user': a conversation starts with the user")
        elif role == previous:
            errors.append(f"{at}.role is {role!r} again; turns must alternate user and model")
        previous = role if role in _ROLES else None
        chars += _check_parts(turn.get("parts"), at, errors, warnings)
    last = contents[-1]
    if isinstance(last, dict) and last.get("role") == "user":
        errors.append("the last turn must be the model's (it is what the model learns to answer)")
    system = record.get("systemInstruction", record.get("system_instruction"))
    if "systemInstruction" in record and "system_instruction" in record:
        errors.append("give systemInstruction once (not also system_instruction)")
    elif system is not None:
        if not isinstance(system, dict):
            errors.append("systemInstruction must be an object with parts")
        else:
            chars += _check_parts(system.get("parts"), "systemInstruction", errors, warnings)
    if errors:
        return None
    return dict(record), chars


class _Converter:
    """Turns records into canonical lines, deciding the format from the first record."""

    def __init__(self, limits: VertexLimits, findings: Findings, fixed: DatasetFormat | None) -> None:
        self.limits = limits
        self.findings = findings
        self.format = fixed

    def line(self, where: str, record: Any) -> bytes | None:
        if not isinstance(record, dict):
            self.findings.error(where, "expected an object (textInput and output, or contents)")
            return None
        kind = DatasetFormat.CONTENTS if "contents" in record else DatasetFormat.EXAMPLES
        if self.format is None:
            self.format = kind
        elif kind is not self.format:
            names = {
                DatasetFormat.CONTENTS: "contents records",
                DatasetFormat.EXAMPLES: "textInput/output examples",
            }
            self.findings.error(
                where, f"one of {names[kind]} in a file of {names[self.format]}; use one format a file"
            )
            return None
        errors: list[str] = []
        warnings: list[str] = []
        if kind is DatasetFormat.CONTENTS:
            converted = _contents_record(record, errors, warnings)
        else:
            converted = _example_record(record, errors)
        for message in warnings:
            self.findings.warning(where, message)
        for message in errors:
            self.findings.error(where, message)
        if converted is None:
            return None
        canonical, chars = converted
        try:
            data = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            encoded = data.encode("utf-8") + b"\n"
        except UnicodeEncodeError as exc:
            self.findings.error(
                where,
                f"contains a lone surrogate \\u{ord(exc.object[exc.start]):04x}, which is not valid Unicode",
            )
            return None
        estimate = chars / self.limits.chars_per_token
        if estimate > self.limits.max_example_tokens:
            self.findings.warning(
                where,
                f"{chars} characters, about {estimate:.0f} tokens; the service drops examples over "
                f"{self.limits.max_example_tokens} tokens",
            )
        return encoded


def _scan_records(
    stream: io.RawIOBase,
    suffix: str,
    size: int,
    kind: DatasetKind,
    limits: VertexLimits,
    out: _Writable | None,
) -> ContentsScan:
    findings = Findings(limits.max_findings)
    read = records(stream, suffix, size, limits, findings)
    fixed = DatasetFormat.EXAMPLES if suffix == ".csv" else None
    return _convert(read, kind, limits, out, findings, fixed)


def _convert(
    read: Iterator[tuple[str, Any]],
    kind: DatasetKind,
    limits: VertexLimits,
    out: _Writable | None,
    findings: Findings,
    fixed: DatasetFormat | None,
) -> ContentsScan:
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = count = 0
    converter = _Converter(limits, findings, fixed)
    for where, record in read:
        line = converter.line(where, record)
        if line is None:
            continue
        count += 1
        size += len(line)
        if size > limits.max_bytes:
            break  # certainly refused: reading the rest would only cost time
        sha256.update(line)
        md5.update(line)
        if out is not None:
            out.write(line)
    _totals(findings, kind, count, size, limits)
    return ContentsScan(
        digest="sha256:" + sha256.hexdigest(),
        count=count,
        findings=findings.done(),
        format=converter.format,
        md5=base64.b64encode(md5.digest()).decode("ascii"),
        size=size,
    )


def _unreadable(finding: Finding) -> ContentsScan:
    return ContentsScan("", 0, (finding,), None, False)


def scan_examples(
    examples: Sequence[tuple[str, str]],
    kind: DatasetKind = DatasetKind.TRAINING,
    limits: VertexLimits = DEFAULT_LIMITS,
    out: _Writable | None = None,
) -> ContentsScan:
    """Like :func:`scan_dataset` for inline ``(textInput, output)`` examples (a stack file's
    ``examples``), located as ``example N``; writes the canonical JSONL to ``out`` when given."""
    read = (
        (f"example {i}", {"textInput": text_input, "output": output})
        for i, (text_input, output) in enumerate(examples, start=1)
    )
    return _convert(read, kind, limits, out, Findings(limits.max_findings), DatasetFormat.EXAMPLES)


def _totals(findings: Findings, kind: DatasetKind, count: int, size: int, limits: VertexLimits) -> None:
    if count == 0 and not findings.any:
        findings.error("", "the dataset has no examples")
    if size > limits.max_bytes:
        findings.error(
            "",
            f"more than {limits.max_bytes} bytes as JSONL (reading stopped there); "
            "the service reads at most 1 GB",
        )
    if kind is DatasetKind.VALIDATION and count > limits.max_validation_examples:
        findings.error(
            "", f"{count} validation examples; the service allows at most {limits.max_validation_examples}"
        )
    if kind is DatasetKind.TRAINING:
        if count > limits.max_training_examples:
            findings.error(
                "", f"{count} training examples; the service allows at most {limits.max_training_examples}"
            )
        elif 0 < count < limits.min_recommended_examples and not findings.errors:
            findings.warning(
                "",
                f"only {count} examples; the service recommends at least "
                f"{limits.min_recommended_examples} (100-500 is typical)",
            )


def _scan_file(
    path: Path, kind: DatasetKind, limits: VertexLimits, cache: ScanCache | None, out: _Writable | None
) -> ContentsScan:
    return cached_scan(
        path,
        f"vertex-{kind.value}",
        limits,
        cache,
        scan=lambda stream, suffix, size: _scan_records(stream, suffix, size, kind, limits, out),
        load=ContentsScan.from_json,
        unreadable=_unreadable,
    )


def scan_dataset(
    path: Path,
    kind: DatasetKind = DatasetKind.TRAINING,
    limits: VertexLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
) -> ContentsScan:
    """Read ``path`` once, streaming, and report its digest, counts and findings (see the
    module docstring); with ``cache``, an unchanged file costs one hash. Never raises for the
    file's content or absence."""
    return _scan_file(path, kind, limits, cache, None)


def write_dataset(
    path: Path,
    out: _Writable,
    kind: DatasetKind = DatasetKind.TRAINING,
    limits: VertexLimits = DEFAULT_LIMITS,
) -> ContentsScan:
    """Like :func:`scan_dataset` (never from the cache), writing the canonical JSONL to ``out``
    (a binary stream) as it goes. When the scan is not ``ok``, what was written lacks the
    invalid examples."""
    return _scan_file(path, kind, limits, None, out)


def validation_set_problems(training_count: int, validation_count: int) -> list[Problem]:
    """Problems of a validation set relative to its training set: one of more than 1,000
    examples may hold at most 30% of the training examples (the service's limits table; the
    emulator refuses such a job with a 400). The 5,000-example bound is checked by
    :func:`scan_dataset`."""
    if validation_count > 1000 and validation_count > 0.3 * training_count:
        return [
            error(
                f"{validation_count} validation examples is more than 30% of the {training_count} "
                "training examples; a validation set of over 1,000 examples may hold at most 30% "
                "of the training set"
            )
        ]
    return []
