"""Training datasets: reading JSONL, CSV and JSON files, and the canonical digest.

Contract:

- :func:`read_examples` returns the examples of a file in order, or raises :class:`DatasetError`
  naming the file, the line or record, and the reason. Files are UTF-8; a leading byte order
  mark (Excel's "CSV UTF-8") is skipped. Text that is not valid Unicode (a lone surrogate such
  as ``"\\ud800"`` in JSON) is an error.
- :func:`examples_digest` is the SHA-256 of the canonical form of the examples (a JSON array of
  ``[textInput, output]`` pairs, compact, UTF-8). Reformatting a file, reordering JSON keys,
  or converting JSONL to CSV keeps the digest; changing any text or the order of examples
  changes it.
- :func:`dataset_problems` lists what ``validate`` reports about examples (errors and warnings).
- :class:`DatasetInfo` is what the desired state keeps of a model's examples: path, digest, count.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

SUPPORTED_SUFFIXES = (".jsonl", ".csv", ".json")
# Column / key names accepted for the input text: the API's name first, then the seeds' snake_case.
_INPUT_KEYS = ("textInput", "text_input")


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


def dataset_path(project_root: Path, dataset: str) -> Path:
    """The file a model's ``dataset`` (or ``validationDataset``) names, under ``project_root``.

    Raises DatasetError naming the path and the reason when it cannot name a file of the
    project: empty, absolute, a NUL or lone surrogate in it, outside the project after
    resolving ``..`` and symbolic links, or a symbolic link loop.
    """
    if not dataset.strip():
        raise DatasetError("expected a path relative to the project root, got an empty string")
    if "\0" in dataset or text_problem(dataset):
        raise DatasetError(f"{dataset!r}: not a usable file name (a NUL or a lone surrogate character)")
    if Path(dataset).is_absolute():
        raise DatasetError(f"{dataset}: a dataset path is relative to the project root")
    full = project_root / dataset
    try:
        inside = full.resolve().is_relative_to(project_root.resolve())
    except RuntimeError:  # pathlib's "Symlink loop"
        raise DatasetError(f"{dataset}: cannot read (a symbolic link loop)") from None
    except OSError as e:
        raise DatasetError(f"{dataset}: cannot read ({e.strerror or e})") from None
    if not inside:
        raise DatasetError(
            f"{dataset}: outside the project (after resolving .. and symlinks); "
            "keep datasets under the project root, e.g. in stacks/datasets/"
        )
    return full


def read_examples(path: Path) -> list[Example]:
    """Read a dataset file; the format comes from its suffix (.jsonl, .csv or .json)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DatasetError(
            f"{path}: unsupported dataset format {suffix or '(none)'}; use .jsonl, .csv or .json"
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except ValueError as e:  # a NUL or an unencodable character in the name
        raise DatasetError(f"{path}: not a usable file name ({e})") from None
    if size > MAX_DATASET_BYTES:
        raise DatasetError(f"{path}: {size} bytes is over the service's 4 MB dataset limit")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if suffix == ".jsonl":
        return _from_jsonl(path, text)
    if suffix == ".csv":
        return _from_csv(path, text)
    return _from_json(path, text)


def _example(path: Path, where: str, record: Any) -> Example:
    if not isinstance(record, dict):
        raise DatasetError(f"{path}:{where}: expected an object with textInput and output")
    keys = set(record)
    input_key = next((k for k in _INPUT_KEYS if k in record), None)
    if input_key is None or "output" not in record:
        missing = [k for k, ok in (("textInput", input_key), ("output", "output" in keys)) if not ok]
        raise DatasetError(f"{path}:{where}: missing {' and '.join(missing)}")
    extra = sorted(keys - {input_key, "output"})
    if extra:
        raise DatasetError(f"{path}:{where}: unknown key {extra[0]!r}; an example has textInput and output")
    text_input, output = record[input_key], record["output"]
    if not isinstance(text_input, str) or not isinstance(output, str):
        raise DatasetError(f"{path}:{where}: textInput and output must be strings")
    for name, text in (("textInput", text_input), ("output", output)):
        problem = text_problem(text)
        if problem:
            raise DatasetError(f"{path}:{where}: {name} {problem}")
    return Example(textInput=text_input, output=output)


def _from_jsonl(path: Path, text: str) -> list[Example]:
    out: list[Example] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{n}: invalid JSON ({e.msg})") from None
        out.append(_example(path, str(n), record))
    return out


def _from_json(path: Path, text: str) -> list[Example]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None
    if isinstance(data, dict) and "examples" in data:
        data = data["examples"]
    if not isinstance(data, list):
        raise DatasetError(f'{path}: expected a JSON array of examples (or {{"examples": [...]}})')
    return [_example(path, f"[{i}]", r) for i, r in enumerate(data)]


def _from_csv(path: Path, text: str) -> list[Example]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if not any(k in header for k in _INPUT_KEYS) or "output" not in header:
        raise DatasetError(
            f"{path}:1: the header must name the columns textInput and output, "
            f"got {', '.join(header) or 'nothing'}"
        )
    out: list[Example] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise DatasetError(f"{path}:{line}: more fields than the header names")
        if any(v is None for v in row.values()):
            raise DatasetError(f"{path}:{line}: fewer fields than the header names")
        out.append(_example(path, str(line), {k: v for k, v in row.items() if k}))
    return out


def examples_digest(examples: Sequence[Example]) -> str:
    """The canonical digest of a list of examples (``sha256:<hex>``)."""
    canonical = json.dumps(
        [[e.textInput, e.output] for e in examples], ensure_ascii=False, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dataset_problems(examples: Sequence[Example], *, training: bool = True) -> list[Problem]:
    """Errors (empty or too long texts, no examples) and warnings (few or duplicate examples),
    not yet placed in a stack file (:meth:`~tuned_models.model.problems.Problem.at`); the
    message starts with the example (``example 3: output is empty``) when it is about one.
    ``training`` False: the examples of a quality gate, which the service's recommended
    training size does not concern."""
    problems: list[Problem] = []
    if not examples:
        return [error(f"the {'dataset' if training else 'evaluation'} has no examples")]
    seen: dict[tuple[str, str], int] = {}
    for i, e in enumerate(examples, start=1):
        where = f"example {i}: "
        if not e.textInput.strip():
            problems.append(error(where + "textInput is empty"))
        if not e.output.strip():
            problems.append(error(where + "output is empty"))
        if len(e.textInput) > MAX_INPUT_CHARS:
            problems.append(
                error(f"{where}textInput has {len(e.textInput)} characters; the limit is {MAX_INPUT_CHARS}")
            )
        if len(e.output) > MAX_OUTPUT_CHARS:
            problems.append(
                error(f"{where}output has {len(e.output)} characters; the limit is {MAX_OUTPUT_CHARS}")
            )
        first = seen.setdefault((e.textInput, e.output), i)
        if first != i:
            problems.append(warning(f"{where}duplicate of example {first}"))
    if training and len(examples) < MIN_RECOMMENDED_EXAMPLES:
        problems.append(
            warning(
                f"only {len(examples)} examples; the service "
                f"recommends at least {MIN_RECOMMENDED_EXAMPLES} (100-500 is typical)"
            )
        )
    return problems


def dataset_info(spec: ModelFields, project_root: Path) -> DatasetInfo | None:
    """The examples ``spec`` trains on: inline, or read from its ``dataset`` (relative to
    ``project_root``); None when it declares neither (an adopted model).

    Raises DatasetError naming the file and the reason when the file cannot be read, and
    ValueError when the examples are not fit to train on (the first error of
    :func:`dataset_problems`).
    """
    if spec.examples is not None:
        examples, path = list(spec.examples), None
    elif spec.dataset is not None:
        examples, path = read_examples(project_root / spec.dataset), spec.dataset
    else:
        return None
    errors = [p for p in dataset_problems(examples) if p.severity is Severity.ERROR]
    if errors:
        raise ValueError(f"{path or 'the inline examples'}: {errors[0].message}")
    return DatasetInfo.of(examples, path)


def evaluation_info(spec: ModelFields, project_root: Path) -> DatasetInfo | None:
    """The examples of ``spec``'s quality gate: inline, or read from its ``evaluation.examples``
    file (relative to ``project_root``); None when it declares no gate.

    Raises DatasetError naming the file and the reason when the file cannot be read, and
    ValueError when the examples cannot be scored (the first error of :func:`dataset_problems`).
    """
    if spec.evaluation is None:
        return None
    source = spec.evaluation.examples
    path = source if isinstance(source, str) else None
    examples = read_examples(project_root / source) if isinstance(source, str) else list(source)
    errors = [p for p in dataset_problems(examples, training=False) if p.severity is Severity.ERROR]
    if errors:
        raise ValueError(f"{path or 'the inline evaluation examples'}: {errors[0].message}")
    return DatasetInfo.of(examples, path)
