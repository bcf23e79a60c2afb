"""The field table: one declaration per field, and everything derived from it agrees."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tuned_models.backends import fields_for
from tuned_models.backends.gemini import FIELDS
from tuned_models.config import BACKENDS
from tuned_models.model.desired import ModelInputs
from tuned_models.model.fields import Behaviour, FieldRule, FieldTable
from tuned_models.model.ids import tuned_model_id
from tuned_models.model.spec import ModelSpec

BASE: dict[str, Any] = {
    "project": "tuned-models",
    "stack": "dev",
    "resourceName": "numbers",
    "baseModel": "models/gemini-1.5-flash-001-tuning",
    "hyperparameters": {"epochCount": 5, "batchSize": 2},
    "dataset": "stacks/datasets/number-generator.jsonl",
    "datasetDigest": "sha256:" + "a" * 64,
    "exampleCount": 15,
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_stack_file_keys_are_the_tables_declared_fields(backend: str) -> None:
    assert set(fields_for(backend).declared) == set(ModelSpec.model_fields)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_resource_inputs_are_the_tables_input_fields(backend: str) -> None:
    assert set(fields_for(backend).inputs) == set(ModelInputs.model_fields)


def test_the_gemini_table_says_what_each_field_does() -> None:
    assert FIELDS.training == ("backend", "baseModel", "tunedModelSource", "hyperparameters", "datasetDigest")
    assert FIELDS.updatable == ("displayName", "description", "temperature", "topP", "topK")
    assert set(FIELDS.replacing) == {
        "project",
        "stack",
        "resourceName",
        "backend",
        "baseModel",
        "tunedModelSource",
        "hyperparameters",
        "dataset",
        "examples",
        "datasetDigest",
        "adopt",
    }
    assert FIELDS["timeout"].behaviour is Behaviour.SETTING and "timeout" not in FIELDS.outputs
    assert FIELDS.model_name("numbers-1234abcdabcd") == "tunedModels/numbers-1234abcdabcd"


def test_every_output_the_provider_returns_is_declared() -> None:
    # What create returns: the live outputs plus the records (see lifecycle.outputs_from_live),
    # the quality gate's outcome and what the call did.
    records = {
        "backend",
        "datasetDigest",
        "exampleCount",
        "trainingSpec",
        "operationName",
        "totalSteps",
        "evaluation",
        "lastChange",
    }
    live = {
        "tunedModelId",
        "name",
        "state",
        "baseModel",
        "tunedModelSource",
        "createTime",
        "updateTime",
        "tuningStartTime",
        "tuningCompleteTime",
        "finalMeanLoss",
        "hyperparameters",
        *FIELDS.updatable,
    }
    assert records | live == set(FIELDS.outputs)


def test_the_training_spec_is_what_the_id_digest_covers_and_keeps_ids_made_before_backends() -> None:
    inputs = ModelInputs.model_validate(BASE)
    assert inputs.training_spec() == {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "hyperparameters": {"epochCount": 5, "batchSize": 2},
        "datasetDigest": "sha256:" + "a" * 64,
    }
    # The default backend is left out of the digest: the ids of models created before the
    # backend key existed stay the same (no retrain on upgrade).
    before = {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "tunedModelSource": None,
        "hyperparameters": {"epochCount": 5, "batchSize": 2},
        "datasetDigest": "sha256:" + "a" * 64,
    }
    assert inputs.model_id == tuned_model_id("tuned-models", "dev", "numbers", before)


def test_another_backend_changes_the_training_spec_so_it_retrains() -> None:
    table = FieldTable("gemini", FIELDS.rules)
    values = {"backend": "elsewhere", "baseModel": "models/x", "datasetDigest": "d"}
    assert table.training_spec(values)["backend"] == "elsewhere"
    assert "backend" not in table.training_spec({**values, "backend": "gemini"})


def test_a_field_declared_twice_is_refused() -> None:
    rule = FieldRule("topK", Behaviour.UPDATE)
    with pytest.raises(ValueError, match="declared twice: topK"):
        FieldTable("x", (rule, rule))


def test_an_unknown_backend_is_refused_by_the_inputs() -> None:
    with pytest.raises(ValueError, match="unknown backend 'elsewhere'; expected gemini"):
        ModelInputs.model_validate({**BASE, "backend": "elsewhere"})


def _readme_key_table(header: str = "| key | meaning | on change |") -> dict[str, str]:
    """A README key table: each backticked key of a row (its root before a dot) -> the row's
    "on change" text."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split(header, 1)[1].split("\n\n", 1)[0]
    rows: dict[str, str] = {}
    for line in table.strip().splitlines()[1:]:
        keys, _meaning, on_change = (cell.strip() for cell in line.strip("|").split(" | "))
        for key in re.findall(r"`([A-Za-z.]+)", keys):
            rows.setdefault(key.split(".")[0], on_change.replace("\u2013", "-"))
    return rows


@pytest.mark.parametrize(
    ("backend", "header"),
    [("gemini", "| key | meaning | on change |"), ("vertex", "| key (vertex) | meaning | on change |")],
)
def test_the_readme_key_table_says_what_the_field_table_declares(backend: str, header: str) -> None:
    rows = _readme_key_table(header)
    table = fields_for(backend)
    for name in table.accepted:
        assert name in rows, f"README key table lacks {name}"
        assert rows[name].startswith(table[name].on_change), (name, rows[name], table[name].on_change)
