"""``tuned-models validate`` checks a model's quality gate: its keys, and its examples like a
dataset's (except the training-size recommendation); ``defaults`` may hold part of a gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tuned_models.cli import main

ROOT = Path(__file__).resolve().parents[2]
BASE = "models/gemini-1.5-flash-001-tuning"


def validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], models: dict[str, Any], **defaults: Any
) -> tuple[int, list[str]]:
    """Run ``validate`` on a stack ``t`` with ``models`` (and ``defaults``) in a copy of the project."""
    if not (tmp_path / "Pulumi.yaml").exists():
        shutil.copy2(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
        shutil.copytree(ROOT / "stacks" / "datasets", tmp_path / "stacks" / "datasets")
    config = {"tuned-models:defaults": {"baseModel": BASE, **defaults}, "tuned-models:models": models}
    (tmp_path / "stacks" / "Pulumi.t.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    code = main(["validate", "--stack", "t", "--project-root", str(tmp_path)])
    return code, capsys.readouterr().out.splitlines()


def model(**evaluation: Any) -> dict[str, Any]:
    return {"dataset": "stacks/datasets/support-tickets.jsonl", "evaluation": evaluation}


def test_a_gate_file_is_read_and_checked_like_a_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks" / "datasets").mkdir(parents=True)
    rows = [
        {"textInput": "a", "output": ""},
        {"textInput": "b", "output": "x"},
        {"textInput": "b", "output": "x"},
    ]
    (tmp_path / "stacks" / "datasets" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    shutil.copy2(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy2(ROOT / "stacks" / "datasets" / "support-tickets.jsonl", tmp_path / "stacks" / "datasets")
    code, lines = validate(
        tmp_path,
        capsys,
        {
            "router": model(examples="stacks/datasets/eval.jsonl", minScore=0.8),
            "missing": model(examples="stacks/datasets/nope.jsonl", minScore=0.8),
        },
    )
    f = "stacks/Pulumi.t.yaml"
    assert code == 1
    assert lines == [
        f"{f}:router:evaluation.examples: stacks/datasets/eval.jsonl: example 1: output is empty",
        f"{f}:router:evaluation.examples: warning: stacks/datasets/eval.jsonl: "
        "example 3: duplicate of example 2",
        f"{f}:missing:evaluation.examples: stacks/datasets/nope.jsonl: file not found",
        f"{f}: 2 models, 2 errors, 1 warning",
    ]


def test_the_gates_keys_are_checked_with_the_key_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inline = [{"textInput": "my card was charged twice", "output": "billing"}]
    code, lines = validate(
        tmp_path,
        capsys,
        {
            "a": model(examples=3, minScore=0.5),
            "b": model(examples=inline, metric="exact", minScore=0.5),
            "c": model(examples=inline, minScore=1.5),
            "d": model(examples=inline, minScor=0.5),
            "e": model(examples=[{"textInput": "x"}], minScore=0.5),
            "f": {**model(examples=inline, minScore=0.5), "wait": False},
        },
    )
    f = "stacks/Pulumi.t.yaml"
    assert code == 1
    assert lines == [
        f"{f}:a:evaluation.examples: expected a file path or a list of {{textInput, output}} examples",
        f"{f}:b:evaluation.metric: expected 'exactMatch', 'contains' or 'similarity', got 'exact'",
        f"{f}:c:evaluation.minScore: must be at most 1, got 1.5",
        f"{f}:d:evaluation.minScore: required but missing",
        f"{f}:d:evaluation.minScor: unknown key 'minScor'; did you mean 'minScore'?",
        f"{f}:e:evaluation.examples[0].output: required but missing",
        f"{f}:f: evaluation needs wait: true: the gate runs when training ends, before the model replaces "
        "the serving one",
        f"{f}: 6 models, 7 errors, 0 warnings",
    ]


def test_defaults_may_hold_part_of_a_gate_merged_key_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inline = [{"textInput": "my card was charged twice", "output": "billing"}]
    code, lines = validate(
        tmp_path,
        capsys,
        {"router": model(examples=inline), "strict": model(examples=inline, minScore=None)},
        evaluation={"metric": "contains", "minScore": 0.7},
    )
    f = "stacks/Pulumi.t.yaml"
    assert code == 1
    # null removes the default minScore from that model only.
    assert lines == [
        f"{f}:strict:evaluation.minScore: required but missing",
        f"{f}: 2 models, 1 error, 0 warnings",
    ]
