"""Vertex AI tuning datasets: ``contents`` JSONL validated line by line as the service does, and the
``tuningDataStats`` computed from it (counts, token distributions, dropped examples)."""

from __future__ import annotations

import pytest

from tests.emulator.cloud.conftest import (
    BUCKET,
    NUMBER_LINES,
    Cloud,
    contents_line,
    jsonl,
    refused,
    steps_for,
    tokens,
)
from tests.seed_examples import NUMBER_EXAMPLES


def test_data_stats_are_computed_from_the_dataset(cloud: Cloud) -> None:
    job = cloud.create_job(cloud.job_body(epochs=2))
    cloud.advance(1)
    stats = cloud.get(job["name"])["tuningDataStats"]["supervisedTuningDataStats"]
    inputs = sorted(tokens(e["textInput"]) for e in NUMBER_EXAMPLES)
    outputs = sorted(tokens(e["output"]) for e in NUMBER_EXAMPLES)
    characters = sum(len(e["textInput"]) + len(e["output"]) for e in NUMBER_EXAMPLES)
    assert stats["tuningDatasetExampleCount"] == "15"
    assert stats["totalTuningCharacterCount"] == str(characters)
    assert stats["totalBillableTokenCount"] == str(sum(inputs) + sum(outputs))
    assert stats["tuningStepCount"] == str(steps_for(15, 2))
    assert stats["userInputTokenDistribution"]["sum"] == str(sum(inputs))
    assert (stats["userInputTokenDistribution"]["min"], stats["userInputTokenDistribution"]["max"]) == (
        inputs[0],
        inputs[-1],
    )
    assert sum(b["count"] for b in stats["userOutputTokenDistribution"]["buckets"]) == 15
    assert stats["userMessagePerExampleDistribution"] == {
        "sum": "30",
        "min": 2,
        "max": 2,
        "mean": 2,
        "median": 2,
        "p5": 2,
        "p95": 2,
        "buckets": [{"count": 15, "left": 2, "right": 2}],
    }
    assert stats["userDatasetExamples"] == [c for line in NUMBER_LINES[:3] for c in line["contents"]]
    assert "totalTruncatedExampleCount" not in stats


def test_examples_over_the_token_limit_are_dropped_not_fatal(cloud: Cloud) -> None:
    records = [*NUMBER_LINES[:3], contents_line("x" * 600_000, "y")]
    job = cloud.create_job(cloud.job_body(cloud.dataset(records)))
    cloud.advance(1)
    stats = cloud.get(job["name"])["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == "4"
    assert stats["totalTruncatedExampleCount"] == "1"
    assert stats["truncatedExampleIndices"] == ["4"]


def test_the_distribution_buckets_follow_the_recorded_response(cloud: Cloud) -> None:
    # Six equal-width buckets over [min, max], empty ones left out, as in the recorded job of the
    # reference (25..2932 -> 25-509, 510-994, 995-1478, 1479-1963, 2449-2932).
    lengths = [25, 509, 510, 994, 995, 1478, 1479, 1963, 2449, 2932]
    records = [contents_line("u" * (4 * n), "ok") for n in lengths]
    job = cloud.create_job(cloud.job_body(cloud.dataset(records)))
    cloud.advance(1)
    stats = cloud.get(job["name"])["tuningDataStats"]["supervisedTuningDataStats"]
    buckets = stats["userInputTokenDistribution"]["buckets"]
    assert [(b["left"], b["right"], b["count"]) for b in buckets] == [
        (25, 509, 2),
        (510, 994, 2),
        (995, 1478, 2),
        (1479, 1963, 2),
        (2449, 2932, 2),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"not json", "the line is not valid JSON (Expecting value)"),
        (b'{"text_input": "1", "output": "2"}', '"contents" is required'),
        (
            b'{"messages": [{"role": "user", "content": "1"}]}',
            'expected "contents" (the "messages" format is not accepted)',
        ),
        (
            b'{"contents": [{"role": "assistant", "parts": [{"text": "2"}]}]}',
            'contents[0].role must be "user" or "model", got "assistant"',
        ),
        (
            b'{"contents": [{"role": "user", "parts": [{"text": "1"}]}]}',
            'contents needs at least one "model" turn (the target)',
        ),
        (
            b'{"contents": [{"role": "model", "parts": [{"text": "1"}]}, '
            b'{"role": "user", "parts": [{"text": "2"}]}]}',
            'the last turn of contents must have role "model"',
        ),
        (b'{"contents": [{"role": "user", "parts": []}]}', "contents[0].parts must be a non-empty list"),
        (b'{"contents": []}', "contents must be a non-empty list"),
    ],
)
def test_the_dataset_must_be_valid_contents_jsonl(cloud: Cloud, line: bytes, problem: str) -> None:
    cloud.bucket()
    data = jsonl(NUMBER_LINES[:2]) + b"\n" + line + b"\n"
    assert cloud.upload("bad.jsonl", data).status_code == 200
    uri = f"gs://{BUCKET}/bad.jsonl"
    refused(cloud, cloud.job_body(uri), f"Invalid dataset {uri}: line 4: {problem}.")


def test_validation_dataset_limits(cloud: Cloud) -> None:
    train = cloud.dataset(NUMBER_LINES * 100, "train.jsonl")  # 1500 examples
    validation = cloud.dataset(NUMBER_LINES[:1] * 1001, "validation.jsonl")
    body = cloud.job_body(train)
    body["supervisedTuningSpec"]["validationDatasetUri"] = validation
    refused(
        cloud,
        body,
        "The validation dataset has 1001 examples; at most 5000 are allowed, and at most 30% of the training "
        "examples when it has more than 1000.",
    )
    small = cloud.dataset(NUMBER_LINES[:5], "small-validation.jsonl")
    body["supervisedTuningSpec"]["validationDatasetUri"] = small
    job = cloud.create_job(body)
    assert job["supervisedTuningSpec"]["validationDatasetUri"] == small
