"""tuned_models.vertex.datasets: conversion to contents JSONL, the canonical digest, the service's
rules with line numbers, limits, streaming memory, and the content-addressed upload.

Dataset files are real files (tests/client/data/vertex/ and generated ones); the upload runs
against the upload-protocol fake of vertex_fakes (the emulator's Cloud Storage later).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client.vertex_fakes import FakeStorage
from tuned_models.model.readers import Finding
from tuned_models.vertex.datasets import (
    ContentsScan,
    DatasetError,
    DatasetFormat,
    DatasetKind,
    VertexLimits,
    example_to_contents,
    scan_dataset,
    validation_set_problems,
    write_dataset,
)
from tuned_models.vertex.storage import CHUNK_GRANULARITY, StorageClient
from tuned_models.vertex.upload import upload_dataset

DATA = Path(__file__).parent / "data" / "vertex"
SMALL = VertexLimits(min_recommended_examples=1)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _converted(path: Path, limits: VertexLimits = SMALL) -> tuple[bytes, str]:
    out = io.BytesIO()
    scan = write_dataset(path, out, limits=limits)
    assert scan.ok, scan.problems
    return out.getvalue(), scan.digest


def _errors(path: Path, kind: DatasetKind = DatasetKind.TRAINING, limits: VertexLimits = SMALL) -> list[str]:
    scan = scan_dataset(path, kind, limits)
    return [f.message("") for f in scan.errors]


# -- conversion and digest ---------------------------------------------------------------------


def test_examples_become_a_user_turn_and_a_model_turn() -> None:
    data, digest = _converted(DATA / "examples.jsonl")
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == (
        '{"contents":[{"parts":[{"text":"1, 2, 3"}],"role":"user"},{"parts":[{"text":"4"}],"role":"model"}]}'
    )
    assert [json.loads(line) for line in lines] == [
        example_to_contents("1, 2, 3", "4"),
        example_to_contents("Ünïcode ⇒ ok", "sí"),
        example_to_contents("multi\nline", "two\tparts"),
    ]
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()


def test_jsonl_csv_and_json_of_the_same_examples_share_the_digest() -> None:
    scans = [
        scan_dataset(DATA / name, limits=SMALL)
        for name in ("examples.jsonl", "examples.csv", "examples.json")
    ]
    assert {s.digest for s in scans} == {scans[0].digest}
    assert all(s.format is DatasetFormat.EXAMPLES and s.count == 3 and s.ok for s in scans)


def test_reformatting_keeps_the_digest_and_content_changes_change_it(tmp_path: Path) -> None:
    base = scan_dataset(DATA / "examples.jsonl", limits=SMALL).digest
    reformatted = _write(
        tmp_path,
        "a.jsonl",
        '\ufeff  { "output" : "4",\t"textInput":"1, 2, 3" }  \r\n'
        '{"textInput":"\\u00dcn\\u00efcode \\u21d2 ok","output":"s\\u00ed"}\n\n\n'
        '{"text_input":"multi\\nline","output":"two\\tparts"}',
    )
    assert scan_dataset(reformatted, limits=SMALL).digest == base
    edited = _write(tmp_path, "b.jsonl", (DATA / "examples.jsonl").read_text().replace('"4"', '"5"'))
    assert scan_dataset(edited, limits=SMALL).digest != base
    lines = (DATA / "examples.jsonl").read_text().splitlines()
    reordered = _write(tmp_path, "c.jsonl", "\n".join([lines[1], lines[0], *lines[2:]]))
    assert scan_dataset(reordered, limits=SMALL).digest != base


def test_contents_records_pass_through_with_every_field(tmp_path: Path) -> None:
    data, _ = _converted(DATA / "contents.jsonl")
    source = [json.loads(line) for line in (DATA / "contents.jsonl").read_text().splitlines()]
    converted = [json.loads(line) for line in data.decode().splitlines()]
    assert converted == source
    assert converted[2]["contents"][1]["parts"][0]["functionCall"]["args"]["count"] == 1.5
    scan = scan_dataset(DATA / "contents.jsonl", limits=SMALL)
    assert (scan.format, scan.count, scan.findings) == (DatasetFormat.CONTENTS, 4, ())
    pretty = _write(tmp_path, "pretty.json", json.dumps(source, indent=2, ensure_ascii=True))
    assert scan_dataset(pretty, limits=SMALL).digest == scan.digest


def located(finding: Finding) -> tuple[str, str, str]:
    """(severity, where, text) of a finding: ``where`` is the line its record starts on."""
    return finding.severity.value, finding.where, finding.text


# -- the service's rules -----------------------------------------------------------------------


def test_contents_rules_with_line_numbers() -> None:
    scan = scan_dataset(DATA / "contents_bad.jsonl", limits=SMALL)
    found = [located(f) for f in scan.findings]
    expected = [
        ("error", "2", "contents must be a non-empty list"),
        ("error", "3", "contents[0].role must be 'user': a conversation starts with the user"),
        ("error", "4", "contents[1].role is 'user' again; turns must alternate user and model"),
        ("error", "5", "the last turn must be the model's"),
        ("error", "6", "contents[0].role must be 'user' or 'model', got 'assistant'"),
        ("error", "7", "contents[0].parts must be a non-empty list"),
        ("error", "8", "contents[0].parts[0].text must be a non-empty string"),
        ("error", "9", "contents[0].parts[0] must hold exactly one kind of data"),
        ("error", "10", "contents[0].parts[0].fileData needs fileUri and mimeType"),
        ("error", "11", "systemInstruction must be an object with parts"),
        ("warning", "12", "unknown key 'generationConfig'"),
        ("error", "13", "one of textInput/output examples in a file of contents records"),
        ("error", "14", "expected an object"),
        ("error", "15", "invalid JSON (Expecting ',' delimiter"),
    ]
    assert len(found) == len(expected)
    for (severity, where, message), (want_severity, want_where, want) in zip(found, expected, strict=True):
        assert (severity, where) == (want_severity, want_where) and want in message
    assert scan.count == 2 and not scan.ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"textInput": "a"}', "1: missing output"),
        ('{"output": "a"}', "1: missing textInput"),
        ('{"textInput": "a", "output": "b", "note": "x"}', "1: unknown key 'note'"),
        ('{"textInput": 1, "output": "b"}', "1: textInput and output must be strings"),
        ('{"textInput": " ", "output": "b"}', "1: textInput is empty"),
        ('{"textInput": "a", "output": NaN}', "1: invalid JSON (NaN is not a JSON number)"),
        ('{"textInput": "a", "output": 1e999}', "1: invalid JSON (the number 1e999 is out of range)"),
        (
            '{"textInput": "a", "textInput": "b", "output": "c"}',
            "1: invalid JSON (the key 'textInput' appears twice",
        ),
        ('{"textInput": "\\ud800", "output": "b"}', "1: contains a lone surrogate \\ud800"),
        ('{"textInput": "a", "output": "b"} x', "1: invalid JSON (Extra data"),
        ('"just a string"', "1: expected an object"),
        ("[" * 100_000, "1: invalid JSON (nested too deeply)"),
        (
            '{"textInput": "a", "output": "b"}\n{"contents": [{"role": "user", "parts": [{"text": "q"}]}]}',
            "2: one of contents",
        ),
    ],
)
def test_example_problems(tmp_path: Path, text: str, message: str) -> None:
    errors = _errors(_write(tmp_path, "d.jsonl", text))
    assert any(e.startswith(message) for e in errors), errors


def test_bytes_that_are_not_utf8_are_a_problem_of_their_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "d.jsonl", b'{"textInput": "a", "output": "b"}\n{"textInput": "\xff", "output": "b"}\n'
    )
    assert _errors(path) == ["2: not UTF-8 text (invalid start byte at byte 16 of the line)"]


def test_csv_problems_name_the_line_a_record_starts_on(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", 'textInput,output\n"multi\nline",ok\na,b,c\nx\n"",y\n')
    assert _errors(path) == [
        "4: more fields than the header names",
        "5: fewer fields than the header names",
        "6: textInput is empty",
    ]
    assert _errors(_write(tmp_path, "h.csv", "input,output\na,b\n")) == [
        "1: the header must name the columns textInput and output, got input, output"
    ]


def test_json_arrays_report_the_line_of_each_element(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "d.json",
        '[\n  {"textInput": "a", "output": "b"},\n\n  {"textInput": "a"},\n'
        '  {"output": "b",\n   "textInput": ""}\n]\n',
    )
    assert _errors(path) == ["4: missing output", "5: textInput is empty"]
    wrapped = _write(
        tmp_path, "w.json", '{"examples": [{"textInput": "a", "output": "b"}, {"textInput": "a"}]}'
    )
    assert _errors(wrapped) == ["examples[1]: missing output"]
    assert _errors(_write(tmp_path, "t.json", '[{"textInput": "a", "output": "b"}] []')) == [
        "1: text after the JSON array"
    ]
    assert _errors(_write(tmp_path, "o.json", '{"rows": []}')) == [
        'expected a JSON array of examples (or {"examples": [...]})'
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "file not found"),
        ("d.txt", "x", "unsupported dataset format .txt; use .jsonl, .csv or .json"),
        ("empty.jsonl", "\n\n", "the dataset has no examples"),
        ("empty.csv", "", "the dataset has no examples"),
    ],
)
def test_files_that_cannot_be_used(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name if content is None else _write(tmp_path, name, content)
    assert _errors(path) == [message]


def test_a_directory_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").mkdir()
    assert _errors(tmp_path / "d.jsonl") == ["not a regular file (a directory); a dataset is a file"]


# -- limits ------------------------------------------------------------------------------------


def _examples_file(tmp_path: Path, count: int, name: str = "n.jsonl", text: str = "x") -> Path:
    lines = [json.dumps({"textInput": f"{text} {i}", "output": str(i)}) for i in range(count)]
    return _write(tmp_path, name, "\n".join(lines))


def test_example_count_limits_per_kind(tmp_path: Path) -> None:
    limits = VertexLimits(max_validation_examples=3, max_training_examples=5, min_recommended_examples=4)
    path = _examples_file(tmp_path, 4)
    assert _errors(path, DatasetKind.VALIDATION, limits) == [
        "4 validation examples; the service allows at most 3"
    ]
    assert _errors(path, DatasetKind.TRAINING, limits) == []
    assert _errors(_examples_file(tmp_path, 6), DatasetKind.TRAINING, limits) == [
        "6 training examples; the service allows at most 5"
    ]
    few = scan_dataset(_examples_file(tmp_path, 3), DatasetKind.TRAINING, limits)
    assert few.ok and [f.text for f in few.findings] == [
        "only 3 examples; the service recommends at least 4 (100-500 is typical)"
    ]


def test_the_size_limit_applies_to_the_converted_jsonl(tmp_path: Path) -> None:
    path = _examples_file(tmp_path, 10)
    size = scan_dataset(path, limits=SMALL).size
    over = VertexLimits(max_bytes=size - 1, min_recommended_examples=1)
    assert _errors(path, limits=over) == [
        f"more than {size - 1} bytes as JSONL (reading stopped there); the service reads at most 1 GB"
    ]
    assert scan_dataset(path, limits=VertexLimits(max_bytes=size, min_recommended_examples=1)).ok


def test_a_line_over_the_bound_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    long = json.dumps({"textInput": "x" * 5000, "output": "y"})
    path = _write(tmp_path, "d.jsonl", f'{long}\n{{"textInput": "a", "output": "b"}}\n')
    scan = scan_dataset(path, limits=VertexLimits(max_line_bytes=1000, min_recommended_examples=1))
    assert [f.message("") for f in scan.errors] == ["1: the line is longer than 1000 bytes"]
    assert scan.count == 1


def test_a_very_long_example_is_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.jsonl", json.dumps({"textInput": "x" * 100, "output": "y" * 21}))
    scan = scan_dataset(path, limits=VertexLimits(max_example_tokens=30, min_recommended_examples=1))
    assert scan.ok
    assert [located(f) for f in scan.findings] == [
        ("warning", "1", "121 characters, about 30 tokens; the service drops examples over 30 tokens")
    ]


def test_problems_beyond_the_bound_are_counted(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.jsonl", "\n".join(["{}"] * 30))
    scan = scan_dataset(path, limits=VertexLimits(max_findings=10))
    assert len(scan.findings) == 11 and not scan.ok
    assert located(scan.findings[-1]) == ("error", "", "20 more problems not listed")


def test_a_json_file_is_refused_above_its_bound(tmp_path: Path) -> None:
    path = _examples_file(tmp_path, 50, name="d.json")
    path.write_text(
        json.dumps([json.loads(line) for line in _examples_file(tmp_path, 50).read_text().splitlines()])
    )
    errors = _errors(path, limits=VertexLimits(max_json_bytes=100, min_recommended_examples=1))
    assert len(errors) == 1 and "use JSONL" in errors[0]


def test_validation_set_relative_to_training_set() -> None:
    assert validation_set_problems(10_000, 1_000) == []
    assert validation_set_problems(2_000, 900) == []
    (problem,) = validation_set_problems(2_000, 1_500)
    assert problem.severity == "error" and "30%" in problem.message


# -- streaming ---------------------------------------------------------------------------------


def _traced_peak(run: Callable[[], ContentsScan]) -> tuple[ContentsScan, int]:
    tracemalloc.start()
    try:
        scan = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return scan, peak


def test_a_50_mb_file_is_converted_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        for i in range(10_000):
            stream.write(json.dumps({"textInput": f"{i} " + "x" * 5000, "output": "y" * 200}) + "\n")
    assert path.stat().st_size > 50_000_000
    out = tmp_path / "out.jsonl"
    with out.open("wb") as sink:
        written, peak = _traced_peak(lambda: write_dataset(path, sink))
    assert written.ok and written.count == 10_000
    assert written.digest == "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest()
    assert peak < 1_000_000, f"peak {peak} bytes while converting a {path.stat().st_size} byte file"


def test_a_csv_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["textInput", "output"])
        for i in range(2_000):
            writer.writerow([f"{i} " + "x" * 5000, "y" * 200])
    scan, peak = _traced_peak(lambda: scan_dataset(path))
    assert scan.ok and scan.count == 2_000
    assert peak < 1_000_000, f"peak {peak} bytes while reading a {path.stat().st_size} byte file"


# -- upload ------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeStorage:
    return FakeStorage()


@pytest.fixture
def storage(fake: FakeStorage) -> StorageClient:
    return StorageClient(
        None, transport=fake.transport(), chunk_size=CHUNK_GRANULARITY, resumable_threshold=CHUNK_GRANULARITY
    )


def test_upload_is_content_addressed_and_a_rerun_uploads_nothing(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    first = upload_dataset(
        storage, DATA / "examples.csv", "gs://bkt/tuned-models", limits=SMALL, work_dir=tmp_path
    )
    hex_digest = first.digest.removeprefix("sha256:")
    assert first.uploaded and first.uri == f"gs://bkt/tuned-models/{hex_digest}.jsonl" and first.count == 3
    stored = fake.objects[("bkt", f"tuned-models/{hex_digest}.jsonl")].data
    assert hashlib.sha256(stored).hexdigest() == hex_digest
    assert stored == _converted(DATA / "examples.jsonl")[0]
    assert list(tmp_path.iterdir()) == []  # the converted copy is gone
    posts = len([r for r in fake.requests if r.method == "POST"])
    again = upload_dataset(storage, DATA / "examples.json", "gs://bkt/tuned-models", limits=SMALL)
    assert (again.uri, again.uploaded) == (first.uri, False)
    assert len([r for r in fake.requests if r.method == "POST"]) == posts


def test_a_large_dataset_goes_up_in_chunks_with_progress(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    path = _examples_file(tmp_path, 20_000, text="y" * 40)
    progress: list[int] = []
    result = upload_dataset(storage, path, "gs://bkt", on_progress=lambda sent, total: progress.append(sent))
    assert result.uploaded and result.size > 2 * CHUNK_GRANULARITY
    assert progress[0] == 0 and progress[-1] == result.size and progress == sorted(progress)
    assert len([r for r in fake.requests if r.method == "PUT"]) == -(-result.size // CHUNK_GRANULARITY)


def test_an_object_with_other_content_under_the_digest_name_is_an_error(
    storage: StorageClient, fake: FakeStorage
) -> None:
    scan = scan_dataset(DATA / "examples.jsonl", limits=SMALL)
    fake.put_object("bkt", scan.file_name, b"tampered")
    with pytest.raises(DatasetError, match="holds other content"):
        upload_dataset(storage, DATA / "examples.jsonl", "gs://bkt", limits=SMALL, scan=scan)
    assert base64.b64decode(scan.md5)  # the MD5 compared is a real base64 digest


def test_a_dataset_with_errors_is_never_uploaded(storage: StorageClient, fake: FakeStorage) -> None:
    with pytest.raises(DatasetError, match=r"contents_bad.jsonl:2: contents must be a non-empty list"):
        upload_dataset(storage, DATA / "contents_bad.jsonl", "gs://bkt")
    assert fake.requests == []
    with pytest.raises(ValueError, match="gs://"):
        upload_dataset(storage, DATA / "examples.jsonl", "bkt/prefix")
