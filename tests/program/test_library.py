"""The library API: a user's own Pulumi program declares tuned models in Python, without YAML
(docs/examples/library), run under ``pulumi.runtime.set_mocks``."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import tuned_models
from tests.support.program import ROOT, run_program
from tuned_models.model.datasets import examples_digest, read_examples

EXAMPLE = ROOT / "docs" / "examples" / "library"


@pytest.fixture
def in_example(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(EXAMPLE)  # where Pulumi.yaml is: datasets are relative to it
    return EXAMPLE


def test_the_example_program_declares_models_grants_and_options(in_example: Path) -> None:
    run = run_program("dev", {}, lambda: runpy.run_path(str(in_example / "__main__.py")))
    assert run.error is None, run.error
    regs = {r.name: r for r in run.monitor.registrations}
    assert regs["greeter"].typ == tuned_models.TUNED_MODEL_TYPE == "pulumi-python:dynamic/gemini:TunedModel"
    assert regs["greeter"].protect is True and regs["counter"].protect is False
    assert any(d.endswith("::greeter") for d in regs["counter"].dependencies)
    grants = sorted(name for name, r in regs.items() if r.typ == tuned_models.TUNED_MODEL_PERMISSION_TYPE)
    assert grants == ["greeter:group:ml-team@googlegroups.com", "greeter:user:analyst@example.com"]
    assert all(regs[g].parent.endswith("::greeter") for g in grants)
    greeter = run.provider.inputs["greeter"]
    assert (greeter["project"], greeter["stack"], greeter["resourceName"]) == (
        "tuned-models",
        "dev",
        "greeter",
    )
    assert greeter["backend"] == "gemini"
    examples = read_examples(in_example / "datasets" / "greetings.jsonl")
    assert greeter["datasetDigest"] == examples_digest(examples) and greeter["exampleCount"] == len(examples)
    assert "examples" not in greeter  # a dataset file travels by path and digest
    counter = run.provider.inputs["counter"]
    assert len(counter["examples"]) == 20 and counter["wait"] is False
    assert run.provider.inputs["greeter:user:analyst@example.com"]["model"].startswith("tunedModels/greeter-")
    assert set(run.monitor.exports) == {"greeter", "counter"}


def test_a_dataset_that_cannot_train_fails_the_program_naming_the_file(in_example: Path) -> None:
    def program() -> None:
        tuned_models.TunedModel(
            "broken",
            tuned_models.TunedModelArgs(
                baseModel="models/gemini-1.5-flash-001-tuning", dataset="datasets/nope.jsonl"
            ),
        )

    run = run_program("dev", {}, program)
    assert run.error is not None and "datasets/nope.jsonl: file not found" in str(run.error)


def test_typed_arguments_reject_what_a_stack_file_rejects() -> None:
    with pytest.raises(ValueError, match="declare exactly one of baseModel or tunedModelSource"):
        tuned_models.TunedModelArgs(dataset="d.jsonl")
    with pytest.raises(ValueError, match="is not an email address"):
        tuned_models.Permission(user="not-an-email", role="READER")


def test_importing_the_package_loads_neither_pulumi_nor_the_http_client() -> None:
    code = (
        "import sys, tuned_models\n"
        "light = not any(m in sys.modules for m in ('pulumi', 'httpx', 'google.auth'))\n"
        "args = tuned_models.TunedModelArgs\n"
        "still = not any(m in sys.modules for m in ('pulumi', 'httpx'))\n"
        "print(light, still, sorted(tuned_models.__all__) == sorted(set(tuned_models.__all__)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "True"]


def test_every_public_name_resolves() -> None:
    for name in tuned_models.__all__:
        assert getattr(tuned_models, name) is not None
    with pytest.raises(AttributeError):
        _ = tuned_models.no_such_name
