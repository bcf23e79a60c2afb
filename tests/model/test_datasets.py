"""Examples files (datasets and gates' examples): the streaming scan, hostile files, and the scan
cache (by raw content hash)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tuned_models.model import datasets
from tuned_models.model.cache import ScanCache, project_cache
from tuned_models.model.datasets import (
    DatasetInfo,
    DatasetLimits,
    checked_file,
    evaluation_data,
    examples_digest,
    read_examples,
    scan_dataset,
)
from tuned_models.model.readers import MAX_LISTED_FINDINGS
from tuned_models.model.spec import Example, ModelFields


def _jsonl(n: int, start: int = 0) -> str:
    return "".join(json.dumps({"textInput": f"in {i}", "output": f"out {i}"}) + "\n" for i in range(start, n))


def _messages(path: Path, **kwargs: Any) -> list[str]:
    return [p.message for p in scan_dataset(path, **kwargs).problems("d")]


def test_the_scan_digest_is_the_canonical_digest_of_the_examples(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_jsonl(30), encoding="utf-8")
    scan = scan_dataset(path)
    examples = [Example(textInput=f"in {i}", output=f"out {i}") for i in range(30)]
    assert (scan.digest, scan.count, scan.findings) == (examples_digest(examples), 30, ())
    csv = tmp_path / "d.csv"
    csv.write_text("output,textInput\n" + "".join(f"out {i},in {i}\n" for i in range(30)), encoding="utf-8")
    assert scan_dataset(csv).digest == scan.digest  # the same examples in another format


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "big.jsonl",
            '{"textInput": ' + "1" * 5000 + ', "output": "x"}\n',
            "d:1: invalid JSON (an integer of 5000 digits is too large to read)",
        ),
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "d:1: invalid JSON (nested too deeply)"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "d:1: invalid JSON (nested too deeply)"),
        (
            "big.json",
            '[{"textInput": "a", "output": ' + "9" * 5000 + "}]",
            "d:1: invalid JSON (an integer of 5000 digits is too large to read)",
        ),
    ],
)
def test_huge_integers_and_deep_nesting_are_findings_not_crashes(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert _messages(path) == [message]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    found: list[list[str]] = []
    reader = threading.Thread(target=lambda: found.append(_messages(pipe)), daemon=True)
    reader.start()
    reader.join(20)  # a bound, never reached unless the scan blocks on the pipe
    assert not reader.is_alive(), "the scan blocked on a named pipe"
    assert found == [["d: not a regular file (a named pipe); a dataset is a file"]]


def test_a_directory_and_a_device_are_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    assert _messages(tmp_path / "dir.jsonl") == ["d: not a regular file (a directory); a dataset is a file"]
    if Path("/dev/zero").exists():
        link = tmp_path / "zero.jsonl"
        link.symlink_to("/dev/zero")
        assert _messages(link) == ["d: not a regular file (a character device); a dataset is a file"]


def test_findings_are_bounded_and_the_rest_counted(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"textInput": " ", "output": f"{i}"}) + "\n" for i in range(80)))
    findings = scan_dataset(path).findings
    assert len(findings) == MAX_LISTED_FINDINGS + 1
    assert findings[0].text == "example 1: textInput is empty"
    assert findings[-1].text == f"{80 - MAX_LISTED_FINDINGS} more problems not listed"
    assert findings[-1].severity == "error"


def test_a_json_file_over_its_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"textInput": f"{i}", "output": "x"} for i in range(100)]))
    limits = DatasetLimits(max_json_bytes=100)
    [message] = _messages(path, limits=limits)
    assert message.startswith("d: ") and "read whole" in message and "use JSONL" in message


def test_read_examples_streams_the_same_examples(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("\ufeff" + _jsonl(3), encoding="utf-8")
    assert [(e.textInput, e.output) for e in read_examples(path)] == [
        (f"in {i}", f"out {i}") for i in range(3)
    ]


# -- the cache -------------------------------------------------------------------------------------


class CountingScans:
    """Counts how often a file is actually parsed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = datasets._scan_stream

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(datasets, "_scan_stream", counted)


def test_a_cache_hit_skips_parsing_and_gives_the_same_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_jsonl(5) + '{"textInput": "", "output": "x"}\n', encoding="utf-8")
    cache = ScanCache(tmp_path / "cache")
    parses = CountingScans(monkeypatch)
    first = scan_dataset(path, cache=cache)
    second = scan_dataset(path, cache=cache)
    assert parses.count == 1
    assert second == first
    # (no "only 6 examples" warning beside an error: the file is not ready either way)
    assert [f.text for f in second.findings] == ["example 6: textInput is empty"]
    # The same bytes under another name are the same entry.
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(path.read_bytes())
    assert scan_dataset(copy, cache=cache) == first and parses.count == 1


def test_a_changed_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_jsonl(25), encoding="utf-8")
    cache = ScanCache(tmp_path / "cache")
    parses = CountingScans(monkeypatch)
    before = scan_dataset(path, cache=cache)
    stat = path.stat()
    same_size = _jsonl(25).replace('"in 8", "output": "out 8"', '"in 7", "output": "out 7"')
    path.write_text(same_size, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same times
    after = scan_dataset(path, cache=cache)
    assert parses.count == 2
    assert after.digest != before.digest
    assert [f.text for f in after.findings] == ["example 9: duplicate of example 8"]


@pytest.mark.parametrize(
    "corruption",
    [b"", b"{not json", b"[]", b'{"digest": 5, "count": 1, "findings": []}', b"\xff\xfe", b"[" * 100_000],
)
def test_a_corrupt_cache_entry_is_ignored_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corruption: bytes
) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_jsonl(25), encoding="utf-8")
    cache = ScanCache(tmp_path / "cache")
    good = scan_dataset(path, cache=cache)
    [entry] = (tmp_path / "cache").iterdir()
    entry.write_bytes(corruption)
    parses = CountingScans(monkeypatch)
    assert scan_dataset(path, cache=cache) == good
    assert parses.count == 1
    assert json.loads(entry.read_text())["digest"] == good.digest  # rewritten


def test_the_cache_is_bounded_and_keeps_the_recently_used(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "cache", max_entries=3)
    for i in range(3):
        cache.put(f"k{i}", {"i": i})
        os.utime(tmp_path / "cache" / f"k{i}.json", (1000 + i, 1000 + i))
    assert cache.get("k0") == {"i": 0}  # used: now the most recent
    cache.put("k3", {"i": 3})
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k0.json", "k2.json", "k3.json"]


def test_a_cache_that_cannot_be_written_is_no_cache(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    cache = ScanCache(tmp_path / "file" / "cache")
    cache.put("k", {"v": 1})
    assert cache.get("k") is None
    path = tmp_path / "d.jsonl"
    path.write_text(_jsonl(25), encoding="utf-8")
    assert scan_dataset(path, cache=cache).count == 25


def test_concurrent_writers_never_leave_a_partial_entry(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "cache")
    value = {"findings": ["x" * 1000] * 50}
    errors: list[object] = []

    def write_and_read() -> None:
        for _ in range(50):
            cache.put("same", value)
            got = cache.get("same")
            if got != value:
                errors.append(got)

    threads = [threading.Thread(target=write_and_read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["same.json"]


def test_the_project_cache_lives_under_the_ignored_state_folder_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = project_cache(tmp_path)
    assert cache is not None and cache.directory == tmp_path / ".tuned-models" / "cache" / "datasets"
    monkeypatch.setenv("TUNED_MODELS_CACHE", "off")
    assert project_cache(tmp_path) is None


def test_a_gates_examples_file_is_scanned_and_cached_like_a_dataset_but_kept_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "eval.jsonl").write_text(_jsonl(3), encoding="utf-8")
    spec = ModelFields.model_validate(
        {
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "dataset": "eval.jsonl",
            "evaluation": {"examples": "eval.jsonl", "minScore": 0.5},
        }
    )
    cache = ScanCache(tmp_path / "cache")
    parses = CountingScans(monkeypatch)
    gate = evaluation_data(spec, tmp_path, cache=cache)
    assert gate.key == "evaluation.examples" and gate.problems == []  # no recommended size for a gate
    assert gate.info == DatasetInfo("eval.jsonl", examples_digest(read_examples(tmp_path / "eval.jsonl")), 3)
    assert evaluation_data(spec, tmp_path, cache=cache) == gate and parses.count == 1
    # The same bytes as training data: the same reader, its own entry (the rules differ).
    training = checked_file(tmp_path / "eval.jsonl", "eval.jsonl", "dataset", cache=cache)
    assert training.info == gate.info and parses.count == 2
    assert [p.message for p in training.problems] == [
        "eval.jsonl: only 3 examples; the service recommends at least 20 (100-500 is typical)"
    ]
    outside = ModelFields.model_validate(
        {**spec.model_dump(exclude_none=True), "evaluation": {"examples": "../eval.jsonl", "minScore": 0.5}}
    )
    [problem] = evaluation_data(outside, tmp_path).problems
    assert problem.message.startswith("../eval.jsonl: outside the project")
