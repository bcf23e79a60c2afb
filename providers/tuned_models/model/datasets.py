"""Examples files (``{textInput, output}`` datasets and quality gates' examples): checking them,
the canonical digest, and the scan cache every backend's datasets go through.

Contract:

- Files are read by the one reader of their format (:mod:`tuned_models.model.readers`).
- :func:`cached_scan` is how any backend scans a dataset file: opened without blocking and only
  when it is a regular file, refused above the limits' size before a byte is read, otherwise
  streamed once through the backend's scan, and the result cached by the raw content hash
  (SHA-256 of the file's bytes, with the format, the purpose and the rules' fingerprint) in a
  :class:`~tuned_models.model.cache.ScanCache`: an unchanged file costs one hash.
- :func:`scan_dataset` is the Gemini API's scan of an examples file: the canonical digest, the
  example count, and every finding (errors and warnings, at most
  :data:`~tuned_models.model.readers.MAX_LISTED_FINDINGS` listed, the rest counted). It never
  raises for the file's content or absence, never holds the whole file (a ``.json`` file, parsed
  whole, is refused above :attr:`DatasetLimits.max_json_bytes`), and never blocks on a pipe.
- :func:`read_examples` returns the examples of a file in order (what a create sends), or raises
  :class:`DatasetError` naming the file, the line or record, and the reason of the first
  problem reading found. Content rules (empty texts, lengths) are :func:`scan_dataset`'s.
- :func:`examples_digest` is the SHA-256 of the canonical form of the examples (a JSON array of
  ``[textInput, output]`` pairs, compact, UTF-8). Reformatting a file, reordering JSON keys,
  or converting JSONL to CSV keeps the digest; changing any text or the order of examples
  changes it. :func:`scan_dataset` computes the same digest incrementally.
- :func:`dataset_problems` lists what ``validate`` reports about inline examples (errors and
  warnings), with the same rules the scan applies to a file.
- :func:`checked_file` and :func:`evaluation_data` check an examples file and a quality gate's
  examples (with no recommended size), for the stack checker and the provider's ``check``; a
  backend's :class:`~tuned_models.backends.checks.SpecChecks` checks what a model trains on.
- :func:`dataset_path` is the one rule on a dataset's path: relative, inside the project.
- :class:`DatasetInfo` is what the desired state keeps of a model's examples (and of its gate's):
  path, digest, count.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tuned_models.model import readers
from tuned_models.model.cache import ScanCache
from tuned_models.model.problems import Problem, Severity, error, warning
from tuned_models.model.readers import (
    MAX_LISTED_FINDINGS,
    Finding,
    Findings,
    Hashing,
    ReadError,
    check_suffix,
    example_fields,
    open_regular,
    records,
)
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
    "CheckedExamples",
    "DatasetError",
    "DatasetInfo",
    "DatasetLimits",
    "DatasetScan",
    "cached_scan",
    "checked_file",
    "dataset_path",
    "dataset_problems",
    "evaluation_data",
    "evaluation_info",
    "examples_digest",
    "read_examples",
    "scan_dataset",
]

#: Examples remembered for the duplicate check (a bounded memory; any Gemini API dataset fits).
MAX_TRACKED_EXAMPLES = 250_000


@functools.cache
def _source_digest(*files: Path) -> str:
    """A digest of the rules' source files: a cached scan made under other rules (or messages)
    is never used, with no version number to remember to bump."""
    sha = hashlib.sha256()
    for f in files:
        sha.update(f.read_bytes())
    return sha.hexdigest()


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
    """The bounds a dataset file is read and checked under (a backend's limits extend these).

    ``max_bytes``: the largest file the backend's service takes (the Gemini API: 4 MB).
    ``max_json_bytes``: the largest ``.json`` file (parsed whole; JSONL streams).
    ``max_line_bytes``: the longest JSONL line or CSV record.
    ``max_findings``: findings listed; further ones are counted.
    """

    max_bytes: int = MAX_DATASET_BYTES
    max_json_bytes: int = 64 * 1024 * 1024
    max_line_bytes: int = 64 * 1024 * 1024
    max_findings: int = MAX_LISTED_FINDINGS

    def rules_files(self) -> tuple[Path, ...]:
        """The source files of the rules a scan under these limits applies."""
        return (Path(readers.__file__), Path(__file__))

    def fingerprint(self) -> str:
        """What a cached scan depends on besides the file's content, the suffix and the purpose:
        the rules' source and these limits."""
        text = f"{_source_digest(*self.rules_files())}:{dataclasses.astuple(self)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def size_problem(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused before it is read, or None."""
        if size <= self.max_bytes:
            return None
        limit = (
            "the service's 4 MB dataset limit"
            if self.max_bytes == MAX_DATASET_BYTES
            else f"the {self.max_bytes}-byte limit"
        )
        return f"{size} bytes is over {limit}"


DEFAULT_LIMITS = DatasetLimits()


@dataclass(frozen=True)
class DatasetScan:
    """What reading a dataset file found: the digest and count of its examples (meaningful when
    :attr:`ok`), its findings, ``content_hash``, the SHA-256 of the bytes read (None when the
    file was not read, e.g. too large), and ``readable``: whether the file could be read at all.
    A backend's scan may extend it (:class:`tuned_models.vertex.datasets.ContentsScan`)."""

    digest: str
    count: int
    findings: tuple[Finding, ...] = ()
    content_hash: str | None = None
    readable: bool = True

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    def problems(self, display: str) -> list[Problem]:
        """The findings as problems whose message starts with ``display`` (the file as shown)."""
        return [f.problem(display) for f in self.findings]

    def info(self, path: str | None) -> DatasetInfo:
        return DatasetInfo(path, self.digest, self.count)

    def to_json(self) -> dict[str, Any]:
        """The scan as a JSON document (what the cache stores)."""
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
        return cls(**cls.fields_from_json(data))

    @classmethod
    def fields_from_json(cls, data: Any) -> dict[str, Any]:
        """The constructor's arguments a :meth:`to_json` document holds (see :meth:`from_json`)."""
        findings = tuple(Finding(Severity(s), str(w), str(t)) for s, w, t in data["findings"])
        digest, count = data["digest"], data["count"]
        if not isinstance(digest, str) or not (digest.startswith("sha256:") or not digest):
            raise ValueError("not a digest")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("not a count")
        content = data.get("contentHash")
        return {
            "digest": digest,
            "count": count,
            "findings": findings,
            "content_hash": content if isinstance(content, str) else None,
            "readable": data["readable"] is True,
        }


S = TypeVar("S", bound=DatasetScan)


def cached_scan(
    path: Path,
    purpose: str,
    limits: DatasetLimits,
    cache: ScanCache | None,
    *,
    scan: Callable[[io.RawIOBase, str, int], S],
    load: Callable[[Any], S],
    unreadable: Callable[[Finding], S],
) -> S:
    """Scan the file ``path`` once, or take the scan cached for its bytes (see the module doc).

    ``purpose`` tells scans of the same bytes under other rules apart (a gate's examples, a
    vertex validation set). ``scan(stream, suffix, size)`` reads the stream (a
    :class:`~tuned_models.model.readers.Hashing` stream: whatever it leaves unread is hashed
    afterwards) and may raise :class:`~tuned_models.model.readers.ReadError`; ``load`` turns a
    cached document back into a scan (raising ValueError, KeyError or TypeError for another
    shape, which is then scanned again and overwritten); ``unreadable`` is the scan of a file
    that cannot be read (missing, not a regular file, too large, an unknown format). Never
    raises for the file's content or absence.
    """
    try:
        suffix = check_suffix(path)
        stream, size = open_regular(path)
    except ReadError as e:
        return unreadable(e.finding())
    with stream:
        try:
            problem = limits.size_problem(size)
            if problem is not None:
                return unreadable(Finding(Severity.ERROR, "", problem))
            key = None
            if cache is not None:
                content = hashlib.file_digest(stream, "sha256").hexdigest()
                key = f"{content}-{suffix.lstrip('.')}-{purpose}-{limits.fingerprint()}"
                cached = cache.get(key)
                if cached is not None:
                    try:
                        return load(cached)
                    except (ValueError, KeyError, TypeError):
                        pass  # another shape: scanned again, then overwritten
                stream.seek(0)
            hashing = Hashing(stream)
            result = scan(hashing, suffix, size)
            result = dataclasses.replace(result, content_hash=hashing.finish())
            if cache is not None and key is not None and key.startswith(str(result.content_hash)):
                cache.put(key, result.to_json())  # else the file changed while it was read
            return result
        except ReadError as e:
            return unreadable(e.finding())
        except OSError as e:
            return unreadable(Finding(Severity.ERROR, "", f"cannot read ({e.strerror or e})"))


# -- the Gemini API's examples ---------------------------------------------------------------------


class _Checker:
    """The rules over a sequence of examples, applied one example at a time: the digest, the
    count, and the findings (bounded). ``training`` False: the examples of a quality gate, which
    the service's recommended training size does not concern."""

    def __init__(self, findings: Findings, *, training: bool = True) -> None:
        self.findings = findings
        self.training = training
        self._sha = hashlib.sha256(b"[")
        self.count = 0
        self._seen: dict[bytes, int] = {}

    def example(self, text_input: str, output: str) -> None:
        encoded = json.dumps([text_input, output], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._sha.update(b"," + encoded if self.count else encoded)
        self.count += 1
        where = f"example {self.count}: "
        add = self.findings.add
        if not text_input.strip():
            add(Severity.ERROR, "", where + "textInput is empty")
        if not output.strip():
            add(Severity.ERROR, "", where + "output is empty")
        if len(text_input) > MAX_INPUT_CHARS:
            add(
                Severity.ERROR,
                "",
                f"{where}textInput has {len(text_input)} characters; the limit is {MAX_INPUT_CHARS}",
            )
        if len(output) > MAX_OUTPUT_CHARS:
            add(
                Severity.ERROR,
                "",
                f"{where}output has {len(output)} characters; the limit is {MAX_OUTPUT_CHARS}",
            )
        key = hashlib.blake2b(encoded, digest_size=16).digest()
        first = self._seen.get(key)
        if first is not None:
            add(Severity.WARNING, "", f"{where}duplicate of example {first}")
        elif len(self._seen) < MAX_TRACKED_EXAMPLES:
            self._seen[key] = self.count

    def finish(self) -> DatasetScan:
        """The scan, after the last example."""
        self._sha.update(b"]")
        if self.count == 0 and not self.findings.any:
            what = "dataset" if self.training else "evaluation"
            self.findings.error("", f"the {what} has no examples")
        elif self.training and 0 < self.count < MIN_RECOMMENDED_EXAMPLES and not self.findings.errors:
            # Not beside errors: the file is not ready either way (and a line that could not
            # be read is an example not counted).
            self.findings.warning(
                "",
                f"only {self.count} examples; the service recommends at least "
                f"{MIN_RECOMMENDED_EXAMPLES} (100-500 is typical)",
            )
        return DatasetScan("sha256:" + self._sha.hexdigest(), self.count, self.findings.done())


def _pairs(
    stream: io.RawIOBase, suffix: str, size: int, limits: DatasetLimits, findings: Findings
) -> Iterable[tuple[str, str]]:
    """The ``(textInput, output)`` examples of a file, in order; what is not one goes to
    ``findings``."""
    for where, record in records(stream, suffix, size, limits, findings):
        fields = example_fields(record)
        if isinstance(fields, str):
            findings.error(where, fields)
            continue
        bad = [
            (name, p)
            for name, text in zip(("textInput", "output"), fields, strict=True)
            if (p := text_problem(text))
        ]
        if bad:
            findings.error(where, f"{bad[0][0]} {bad[0][1]}")
            continue
        yield fields


def _scan_stream(
    stream: io.RawIOBase, suffix: str, size: int, limits: DatasetLimits, *, training: bool
) -> DatasetScan:
    findings = Findings(limits.max_findings)
    checker = _Checker(findings, training=training)
    for text_input, output in _pairs(stream, suffix, size, limits, findings):
        checker.example(text_input, output)
    return checker.finish()


def _unreadable(finding: Finding) -> DatasetScan:
    return DatasetScan("", 0, (finding,), None, False)


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
    return cached_scan(
        path,
        "train" if training else "eval",
        limits,
        cache,
        scan=lambda stream, suffix, size: _scan_stream(stream, suffix, size, limits, training=training),
        load=DatasetScan.from_json,
        unreadable=_unreadable,
    )


def read_examples(path: Path, limits: DatasetLimits = DEFAULT_LIMITS) -> list[Example]:
    """Read a dataset file; the format comes from its suffix (.jsonl, .csv or .json).

    Raises DatasetError (``<path>:<line>: reason`` or ``<path>: reason``) for a file that cannot
    be read as examples. Content rules (empty texts, lengths) are :func:`scan_dataset`'s.
    """
    findings = Findings(1)
    try:
        suffix = check_suffix(path)
        stream, size = open_regular(path)
        with stream:
            problem = limits.size_problem(size)
            if problem is not None:
                raise ReadError("", problem)
            examples = [
                Example.model_construct(textInput=i, output=o)
                for i, o in _pairs(stream, suffix, size, limits, findings)
            ]
    except ReadError as e:
        raise DatasetError(e.finding().message(str(path))) from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror or e})") from None
    if findings.any:
        raise DatasetError(findings.listed[0].message(str(path)))
    return examples


def examples_digest(examples: Iterable[Example]) -> str:
    """The canonical digest of a list of examples (``sha256:<hex>``)."""
    sha = hashlib.sha256(b"[")
    for i, e in enumerate(examples):
        encoded = json.dumps([e.textInput, e.output], ensure_ascii=False, separators=(",", ":"))
        sha.update((("," if i else "") + encoded).encode("utf-8"))
    sha.update(b"]")
    return "sha256:" + sha.hexdigest()


def _scan_examples(examples: Iterable[Example], *, training: bool = True) -> DatasetScan:
    checker = _Checker(Findings(), training=training)
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


# -- what a spec declares ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedExamples:
    """The examples a spec declares, checked: what it trains on (``key``: ``dataset``,
    ``examples`` or ``validationDataset``) or its quality gate's (``evaluation.examples``).
    ``info`` is None when it declares none, or when the file could not be read; ``problems``
    are placed in no file and under no key yet (the message starts with the file's path for a
    file)."""

    info: DatasetInfo | None
    key: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


#: The key of a quality gate's examples in a model's spec.
EVALUATION_KEY = "evaluation.examples"


def dataset_path(project_root: Path, dataset: str) -> Path:
    """The file a model's ``dataset`` (or ``validationDataset``, or a gate's examples) names,
    under ``project_root``.

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


def checked_file(
    path: Path,
    display: str,
    key: str,
    *,
    limits: DatasetLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
) -> CheckedExamples:
    """Check the ``{textInput, output}`` examples file ``path`` (shown as ``display``) declared
    under ``key`` (``dataset``, or :data:`EVALUATION_KEY`: a gate's, with no recommended size):
    streamed by :func:`scan_dataset`, cached by content. Never raises."""
    scan = scan_dataset(path, limits, cache, training=key != EVALUATION_KEY)
    return CheckedExamples(scan.info(display) if scan.readable else None, key, scan.problems(display))


def evaluation_data(
    spec: ModelFields,
    project_root: Path,
    *,
    limits: DatasetLimits = DEFAULT_LIMITS,
    cache: ScanCache | None = None,
) -> CheckedExamples:
    """Check the examples of ``spec``'s quality gate (``evaluation.examples``: inline, or a file
    under ``project_root`` read like a dataset, with no recommended size), whatever the backend;
    ``info`` None when it declares no gate. Never raises; see :class:`CheckedExamples`."""
    if spec.evaluation is None:
        return CheckedExamples(None)
    source = spec.evaluation.examples
    if isinstance(source, str):
        try:
            full = dataset_path(project_root, source)
        except DatasetError as e:
            return CheckedExamples(None, EVALUATION_KEY, [error(str(e))])
        return checked_file(full, source, EVALUATION_KEY, limits=limits, cache=cache)
    scan = _scan_examples(source, training=False)
    return CheckedExamples(DatasetInfo(None, scan.digest, scan.count), EVALUATION_KEY, _problems(scan))


def evaluation_info(
    spec: ModelFields, project_root: Path, cache: ScanCache | None = None
) -> DatasetInfo | None:
    """The examples of ``spec``'s quality gate (see :func:`evaluation_data`); None when it
    declares no gate.

    Raises ValueError naming the file and the reason when they cannot be read or scored (the
    first error :func:`evaluation_data` finds).
    """
    data = evaluation_data(spec, project_root, cache=cache)
    if data.errors:
        message = data.errors[0].message
        inline = data.info is not None and data.info.path is None
        raise ValueError(f"the inline evaluation examples: {message}" if inline else message)
    return data.info
