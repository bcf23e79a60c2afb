"""Datasets for Vertex AI tuning: read, check, convert to ``contents`` JSONL, digest, upload.

Contract:

- Input files are the product's examples (``{"textInput", "output"}`` records in ``.jsonl``,
  ``.csv`` with those columns, or ``.json`` holding an array or ``{"examples": [...]}``) or
  Vertex's own ``contents`` records (``.jsonl`` or a ``.json`` array; multi-turn,
  ``systemInstruction``, ``tools``). The first record decides which; files are UTF-8 (a byte
  order mark is skipped); blank JSONL lines are ignored.
- Each example becomes one line of canonical JSONL: the record as compact JSON with sorted keys
  and unescaped Unicode. An example ``{textInput: I, output: O}`` becomes
  ``{"contents":[{"parts":[{"text":I}],"role":"user"},{"parts":[{"text":O}],"role":"model"}]}``;
  a ``contents`` record keeps every field it has. The canonical file is what gets uploaded, and
  its SHA-256 is the dataset's digest: reformatting the source (spacing, key order, escapes,
  JSONL/CSV/JSON for examples) keeps it; changing any text or the order of examples changes it.
- :func:`scan_dataset` reads a file once, streaming (JSONL and CSV a line at a time; JSON files,
  which are parsed whole, are refused above ``DatasetLimits.max_json_bytes``), and returns the
  digest, counts and every :class:`~tuned_models.model.problems.Problem` found, each located as
  ``line N`` (a file's ``.json`` wrapper form: ``examples[i]``). It never raises for the file's
  content; a missing file is a problem too.
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
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from tuned_models.model.datasets import DatasetError
from tuned_models.model.problems import Problem

from ._readers import INPUT_KEYS, READERS, Problems, located

__all__ = [
    "DEFAULT_LIMITS",
    "DatasetError",
    "DatasetFormat",
    "DatasetKind",
    "DatasetLimits",
    "DatasetScan",
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
class DatasetLimits:
    """The service's limits (supervised tuning of Gemini 2.5 / 3.x, as documented in 2026) and
    the reader's own bounds.

    Attributes:
        max_bytes: the largest JSONL file the service reads (1 GB).
        max_training_examples: text-only examples in a training set.
        max_validation_examples: examples in a validation set.
        max_example_tokens: input and output tokens of one example; longer ones are dropped.
        chars_per_token: the estimate behind the long-example warning.
        min_recommended_examples: below this a training set gets a warning (the service
            recommends 100 to 500).
        max_line_bytes: the longest JSONL line (or CSV field) read; longer lines are problems.
        max_json_bytes: the largest ``.json`` file read (it is parsed whole: use JSONL).
        max_problems: problems listed; further ones are only counted.
    """

    max_bytes: int = 1_000_000_000
    max_training_examples: int = 10_000_000
    max_validation_examples: int = 5_000
    max_example_tokens: int = 131_072
    chars_per_token: float = 4.0
    min_recommended_examples: int = 100
    max_line_bytes: int = 64 * 1024 * 1024
    max_json_bytes: int = 64 * 1024 * 1024
    max_problems: int = 100


DEFAULT_LIMITS = DatasetLimits()


@dataclass(frozen=True)
class DatasetScan:
    """What reading a dataset file found.

    Attributes:
        digest: ``sha256:<hex>`` of the canonical JSONL (meaningful when :attr:`ok`).
        md5: the canonical JSONL's MD5, base64 (as Cloud Storage reports ``md5Hash``).
        size: bytes of the canonical JSONL.
        problems: errors and warnings, in file order, at most ``max_problems``.
        unlisted: how many more problems were found but not listed.
        unlisted_errors: whether any of those was an error.
    """

    path: Path
    kind: DatasetKind
    format: DatasetFormat | None
    digest: str
    md5: str
    example_count: int
    size: int
    problems: tuple[Problem, ...] = ()
    unlisted: int = 0
    unlisted_errors: bool = False

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors and not self.unlisted_errors

    @property
    def file_name(self) -> str:
        """``<sha256 hex>.jsonl``: the object name of the canonical file under a prefix."""
        return f"{self.digest.removeprefix('sha256:')}.jsonl"


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
    input_key = next((k for k in INPUT_KEYS if k in record), None)
    if input_key is None or "output" not in record:
        missing = [k for k, ok in (("textInput", input_key), ("output", "output" in record)) if not ok]
        errors.append(f"missing {' and '.join(missing)}")
        return None
    extra = sorted(set(record) - {input_key, "output"})
    if extra:
        errors.append(f"unknown key {extra[0]!r}; an example has textInput and output")
        return None
    text_input, output = record[input_key], record["output"]
    if not isinstance(text_input, str) or not isinstance(output, str):
        errors.append("textInput and output must be strings")
        return None
    for name, text in (("textInput", text_input), ("output", output)):
        if not text.strip():
            errors.append(f"{name} is empty")
    if errors:
        return None
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

    def __init__(self, limits: DatasetLimits, problems: Problems, fixed: DatasetFormat | None) -> None:
        self.limits = limits
        self.problems = problems
        self.format = fixed

    def line(self, where: str, record: Any) -> bytes | None:
        if not isinstance(record, dict):
            self.problems.error(where, "expected an object (textInput and output, or contents)")
            return None
        kind = DatasetFormat.CONTENTS if "contents" in record else DatasetFormat.EXAMPLES
        if self.format is None:
            self.format = kind
        elif kind is not self.format:
            names = {
                DatasetFormat.CONTENTS: "contents records",
                DatasetFormat.EXAMPLES: "textInput/output examples",
            }
            self.problems.error(
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
            self.problems.warning(where, message)
        for message in errors:
            self.problems.error(where, message)
        if converted is None:
            return None
        canonical, chars = converted
        try:
            data = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            encoded = data.encode("utf-8") + b"\n"
        except UnicodeEncodeError as exc:
            self.problems.error(
                where,
                f"contains a lone surrogate \\u{ord(exc.object[exc.start]):04x}, which is not valid Unicode",
            )
            return None
        estimate = chars / self.limits.chars_per_token
        if estimate > self.limits.max_example_tokens:
            self.problems.warning(
                where,
                f"{chars} characters, about {estimate:.0f} tokens; the service drops examples over "
                f"{self.limits.max_example_tokens} tokens",
            )
        return encoded


def _convert(path: Path, kind: DatasetKind, limits: DatasetLimits, out: _Writable | None) -> DatasetScan:
    problems = Problems(limits.max_problems)
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        problems.error("", f"unsupported dataset format {suffix or '(none)'}; use .jsonl, .csv or .json")
        return _scan_records(
            path, iter(()), kind, limits, out, problems, DatasetFormat.EXAMPLES, readable=False
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        problems.error("", "file not found")
        return _scan_records(path, iter(()), kind, limits, out, problems, None, readable=False)
    except OSError as exc:
        problems.error("", f"cannot read ({exc.strerror or exc})")
        return _scan_records(path, iter(()), kind, limits, out, problems, None, readable=False)
    if size > limits.max_bytes:
        # Refused without reading it: its JSONL would be about as large (larger, from CSV).
        problems.error(
            "", f"{size} bytes; the service reads at most {limits.max_bytes} bytes (1 GB): split the dataset"
        )
        return _scan_records(path, iter(()), kind, limits, out, problems, None, readable=False)
    records = reader(path, problems, limits.max_line_bytes, limits.max_json_bytes)
    fixed = DatasetFormat.EXAMPLES if suffix == ".csv" else None
    return _scan_records(path, records, kind, limits, out, problems, fixed, readable=True)


def _scan_records(
    path: Path,
    records: Iterator[tuple[str, Any]],
    kind: DatasetKind,
    limits: DatasetLimits,
    out: _Writable | None,
    problems: Problems,
    fixed: DatasetFormat | None,
    *,
    readable: bool,
) -> DatasetScan:
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = count = 0
    converter = _Converter(limits, problems, fixed)
    try:
        for where, record in records:
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
    except FileNotFoundError:
        problems.error("", "file not found")
    except IsADirectoryError:
        problems.error("", "is a directory, not a file")
    except OSError as exc:
        problems.error("", f"cannot read ({exc.strerror or exc})")
    _totals(problems, kind, count, size, limits, readable)
    return DatasetScan(
        path=path,
        kind=kind,
        format=converter.format,
        digest="sha256:" + sha256.hexdigest(),
        md5=base64.b64encode(md5.digest()).decode("ascii"),
        example_count=count,
        size=size,
        problems=tuple(problems.listed),
        unlisted=problems.unlisted,
        unlisted_errors=problems.unlisted_errors,
    )


def scan_examples(
    examples: Sequence[tuple[str, str]],
    kind: DatasetKind = DatasetKind.TRAINING,
    limits: DatasetLimits = DEFAULT_LIMITS,
    out: _Writable | None = None,
) -> DatasetScan:
    """Like :func:`scan_dataset` for inline ``(textInput, output)`` examples (a stack file's
    ``examples``), located as ``example N``; writes the canonical JSONL to ``out`` when given."""
    problems = Problems(limits.max_problems)
    records = (
        (f"example {i}", {"textInput": text_input, "output": output})
        for i, (text_input, output) in enumerate(examples, start=1)
    )
    return _scan_records(
        Path("<inline examples>"), records, kind, limits, out, problems, DatasetFormat.EXAMPLES, readable=True
    )


def _totals(
    problems: Problems, kind: DatasetKind, count: int, size: int, limits: DatasetLimits, readable: bool
) -> None:
    if readable and count == 0 and not problems.listed:
        problems.error("", "the dataset has no examples")
    if size > limits.max_bytes:
        problems.error(
            "",
            f"more than {limits.max_bytes} bytes as JSONL (reading stopped there); "
            "the service reads at most 1 GB",
        )
    if kind is DatasetKind.VALIDATION and count > limits.max_validation_examples:
        problems.error(
            "", f"{count} validation examples; the service allows at most {limits.max_validation_examples}"
        )
    if kind is DatasetKind.TRAINING:
        if count > limits.max_training_examples:
            problems.error(
                "", f"{count} training examples; the service allows at most {limits.max_training_examples}"
            )
        elif 0 < count < limits.min_recommended_examples:
            problems.warning(
                "",
                f"only {count} examples; the service recommends at least "
                f"{limits.min_recommended_examples} (100-500 is typical)",
            )


def scan_dataset(
    path: Path, kind: DatasetKind = DatasetKind.TRAINING, limits: DatasetLimits = DEFAULT_LIMITS
) -> DatasetScan:
    """Read ``path`` once, streaming, and report its digest, counts and problems (see the
    module docstring). Never raises for the file's content or absence."""
    return _convert(path, kind, limits, None)


def write_dataset(
    path: Path,
    out: _Writable,
    kind: DatasetKind = DatasetKind.TRAINING,
    limits: DatasetLimits = DEFAULT_LIMITS,
) -> DatasetScan:
    """Like :func:`scan_dataset`, writing the canonical JSONL to ``out`` (a binary stream) as it
    goes. When the scan is not ``ok``, what was written lacks the invalid examples."""
    return _convert(path, kind, limits, out)


def validation_set_problems(training_count: int, validation_count: int) -> list[Problem]:
    """Problems of a validation set relative to its training set: one of more than 1,000
    examples may hold at most 30% of the training examples (the service's limits table; the
    emulator refuses such a job with a 400). The 5,000-example bound is checked by
    :func:`scan_dataset`."""
    if validation_count > 1000 and validation_count > 0.3 * training_count:
        return [
            located(
                "error",
                "",
                f"{validation_count} validation examples is more than 30% of the {training_count} "
                "training examples; a validation set of over 1,000 examples may hold at most 30% "
                "of the training set",
            )
        ]
    return []
