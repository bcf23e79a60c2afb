"""The stack loader: defaults merging, config keys, datasets info, the JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tuned_models.model.datasets import DatasetError, examples_digest, read_examples
from tuned_models.model.spec import Hyperparameters, parse_duration
from tuned_models.stack import (
    SCHEMA_FILE,
    LoadedStack,
    Problem,
    Severity,
    json_schema,
    load_stack,
    parse_config,
    schema_text,
)

ROOT = Path(__file__).resolve().parents[2]
BASE = "models/gemini-1.5-flash-001-tuning"
DATASET = "stacks/datasets/support-tickets.jsonl"
SOURCE = "stacks/Pulumi.test.yaml"


def _parse(config: dict[str, Any]) -> LoadedStack:
    return parse_config(config, source=SOURCE, project_root=ROOT)


def _lines(stack: LoadedStack) -> list[str]:
    return [p.line() for p in stack.problems]


# -- defaults ------------------------------------------------------------------------------------


def test_defaults_merge_under_each_model_key_by_key_and_the_model_wins() -> None:
    stack = _parse(
        {
            "tuned-models:defaults": {
                "baseModel": BASE,
                "hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001},
                "temperature": 0.2,
            },
            "tuned-models:models": {
                "a": {"dataset": DATASET, "hyperparameters": {"batchSize": 2}},
                "b": {"dataset": DATASET, "temperature": 0.9},
            },
        }
    )
    assert stack.ok, _lines(stack)
    assert stack.models["a"].hyperparameters == Hyperparameters(epochCount=5, batchSize=2, learningRate=0.001)
    assert stack.models["a"].temperature == 0.2
    assert stack.models["b"].hyperparameters.batchSize == 4
    assert stack.models["b"].temperature == 0.9


def test_a_model_null_removes_a_default() -> None:
    stack = _parse(
        {
            "tuned-models:defaults": {"baseModel": BASE, "hyperparameters": {"learningRate": 0.001}},
            "tuned-models:models": {
                "continued": {
                    "baseModel": None,
                    "tunedModelSource": {"tunedModel": "tunedModels/counter-abc"},
                    "dataset": DATASET,
                    "hyperparameters": {"learningRate": None, "learningRateMultiplier": 2},
                },
            },
        }
    )
    assert stack.ok, _lines(stack)
    spec = stack.models["continued"]
    assert spec.baseModel is None
    assert spec.hyperparameters.learningRate is None
    assert spec.hyperparameters.learningRateMultiplier == 2


def test_a_bad_default_is_reported_once_not_per_model() -> None:
    stack = _parse(
        {
            "tuned-models:defaults": {"baseModel": BASE, "temprature": 0.5},
            "tuned-models:models": {"a": {"dataset": DATASET}, "b": {"dataset": DATASET}},
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:tuned-models:defaults.temprature: unknown key 'temprature'; did you mean 'temperature'?"
    ]
    assert sorted(stack.models) == ["a", "b"]


def test_defaults_need_not_name_a_base_model_or_dataset() -> None:
    stack = _parse(
        {
            "tuned-models:defaults": {"hyperparameters": {"epochCount": 3}},
            "tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET}},
        }
    )
    assert stack.ok, _lines(stack)
    assert stack.models["a"].hyperparameters.epochCount == 3


# -- config keys ---------------------------------------------------------------------------------


def test_stack_settings_are_read_and_other_namespaces_ignored() -> None:
    stack = _parse(
        {
            "tuned-models:endpoint": "embedded",
            "tuned-models:apiKey": {"secure": "v1:abc"},
            "tuned-models:quotaProject": "my-project",
            "tuned-models:emulatorStepSeconds": 0.25,
            "aws:region": "eu-west-1",
            "tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET}},
        }
    )
    assert stack.problems == []
    assert (stack.name, stack.path, stack.connection.endpoint) == ("test", SOURCE, "embedded")
    connection = stack.connection
    assert (connection.has_api_key, connection.quota_project, connection.emulator_step_seconds) == (
        True,
        "my-project",
        0.25,
    )
    assert stack.model_names == ("a",)


def test_structured_config_as_the_pulumi_runtime_hands_it_is_accepted() -> None:
    # The Pulumi runtime gives a program structured config as JSON text and numbers as strings.
    stack = _parse(
        {
            "tuned-models:emulatorStepSeconds": "0.5",
            "tuned-models:defaults": json.dumps({"baseModel": BASE}),
            "tuned-models:models": json.dumps(
                {"a": {"dataset": DATASET, "hyperparameters": {"epochCount": 3.0}}}
            ),
        }
    )
    assert stack.ok, _lines(stack)
    assert stack.connection.emulator_step_seconds == 0.5
    assert stack.models["a"].hyperparameters.epochCount == 3


def test_an_unnamespaced_config_key_suggests_the_namespace() -> None:
    stack = _parse({"endpoint": "embedded", "tuned-models:models": {}})
    assert _lines(stack) == [
        f"{SOURCE}:endpoint: config keys are namespaced: did you mean 'tuned-models:endpoint'?",
        f"{SOURCE}:tuned-models:models: warning: no models declared",
    ]


def test_a_misspelled_endpoint_suggests_embedded() -> None:
    stack = _parse(
        {
            "tuned-models:endpoint": "embeded",
            "tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET}},
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:tuned-models:endpoint: expected 'embedded' or an "
        "http(s) URL, got 'embeded'; did you mean 'embedded'?"
    ]


def test_a_malformed_api_key_is_an_error_that_never_shows_the_value() -> None:
    stack = _parse(
        {
            "tuned-models:apiKey": {"secure": 12345, "extra": "AIza-secret"},
            "tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET}},
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:tuned-models:apiKey: expected a string or {{secure: ...}}"
        " (set it with `pulumi config set --secret tuned-models:apiKey`)"
    ]
    assert not stack.connection.has_api_key


def test_emulator_step_seconds_against_the_public_service_is_a_warning() -> None:
    stack = _parse(
        {
            "tuned-models:emulatorStepSeconds": 1,
            "tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET}},
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:tuned-models:emulatorStepSeconds: warning: applies to "
        "the emulator only; the public service ignores it"
    ]


def test_snake_case_keys_suggest_the_api_json_name() -> None:
    stack = _parse(
        {
            "tuned-models:models": {
                "a": {"baseModel": BASE, "dataset": DATASET, "hyperparameters": {"batch_size": 4}}
            }
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:a:hyperparameters.batch_size: unknown key 'batch_size'; did you mean 'batchSize'?"
    ]


def test_a_model_depending_on_itself_is_an_error() -> None:
    stack = _parse(
        {"tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET, "dependsOn": ["a"]}}}
    )
    assert _lines(stack) == [f"{SOURCE}:a:dependsOn[0]: a model cannot depend on itself"]


def test_inline_examples_are_checked_under_the_examples_key() -> None:
    stack = _parse(
        {
            "tuned-models:models": {
                "a": {
                    "baseModel": BASE,
                    "examples": [
                        {"textInput": f"in {i}", "output": "" if i == 3 else f"out {i}"} for i in range(1, 21)
                    ],
                }
            }
        }
    )
    assert _lines(stack) == [f"{SOURCE}:a:examples: example 3: output is empty"]


# -- datasets info -------------------------------------------------------------------------------


def test_each_model_records_its_dataset_path_digest_and_count() -> None:
    stack = load_stack(ROOT, "local")
    expected = read_examples(ROOT / DATASET)
    info = stack.datasets["support-tickets"]
    assert (info.path, info.digest, info.count) == (DATASET, examples_digest(expected), len(expected))
    assert len(expected) >= 100


def test_inline_examples_record_a_digest_without_a_path() -> None:
    examples = [{"textInput": f"in {i}", "output": f"out {i}"} for i in range(20)]
    stack = _parse({"tuned-models:models": {"a": {"baseModel": BASE, "examples": examples}}})
    info = stack.datasets["a"]
    assert info.path is None and info.count == 20
    assert info.digest == examples_digest(stack.models["a"].examples or [])


def test_the_shipped_datasets_are_realistic_sizes_without_duplicates() -> None:
    for name, minimum in (("support-tickets.jsonl", 120), ("summaries.csv", 100)):
        examples = read_examples(ROOT / "stacks" / "datasets" / name)
        assert len(examples) >= minimum
        assert len({e.textInput for e in examples}) == len(examples)
    seed = read_examples(ROOT / "stacks" / "datasets" / "number-generator.jsonl")
    assert [(e.textInput, e.output) for e in seed][:3] == [("1", "2"), ("3", "4"), ("-3", "-2")]
    assert len(seed) == 15


# -- problem lines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "line"),
    [
        (Problem(Severity.ERROR, "f.yaml", "m", "k.x", "bad"), "f.yaml:m:k.x: bad"),
        (Problem(Severity.ERROR, "f.yaml", "m", "", "bad"), "f.yaml:m: bad"),
        (Problem(Severity.ERROR, "f.yaml", "", "tuned-models:x", "bad"), "f.yaml:tuned-models:x: bad"),
        (Problem(Severity.ERROR, "f.yaml", "", "", "bad", 7), "f.yaml:7: bad"),
        (Problem(Severity.WARNING, "f.yaml", "m", "dataset", "few"), "f.yaml:m:dataset: warning: few"),
    ],
)
def test_problem_lines_keep_the_file_first_and_leave_out_empty_parts(problem: Problem, line: str) -> None:
    assert problem.line() == line


# -- JSON Schema ---------------------------------------------------------------------------------


def test_the_checked_in_schema_is_up_to_date() -> None:
    current = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert current == schema_text(), "run: python -m tuned_models.stack --write-schema"


def test_the_schema_describes_models_defaults_and_settings() -> None:
    schema = json_schema()
    config = schema["properties"]["config"]
    assert sorted(config["properties"]) == sorted(
        [
            "tuned-models:backend",
            "tuned-models:endpoint",
            "tuned-models:apiKey",
            "tuned-models:quotaProject",
            "tuned-models:emulatorStepSeconds",
            "tuned-models:vertex",
            "tuned-models:defaults",
            "tuned-models:models",
        ]
    )
    assert config["additionalProperties"] is False
    gemini, vertex = schema["$defs"]["GeminiModelSpec"], schema["$defs"]["VertexModelSpec"]
    assert gemini["additionalProperties"] is False and vertex["additionalProperties"] is False
    assert "temperature" in gemini["properties"] and "permissions" in gemini["properties"]
    assert "labels" not in gemini["properties"] and "validationDataset" not in gemini["properties"]
    assert "labels" in vertex["properties"] and "validationDataset" in vertex["properties"]
    assert "temperature" not in vertex["properties"] and "permissions" not in vertex["properties"]
    assert set(schema["$defs"]["VertexHyperparameters"]["properties"]) == {
        "epochCount",
        "learningRateMultiplier",
        "adapterSize",
    }
    # The models take the spec of the stack's backend.
    assert config["if"]["properties"]["tuned-models:backend"] == {"const": "vertex"}
    then, otherwise = config["then"]["allOf"][0], config["else"]["allOf"][0]
    assert then["properties"]["tuned-models:models"]["additionalProperties"] == {
        "$ref": "#/$defs/VertexModelSpec"
    }
    assert otherwise["properties"]["tuned-models:models"]["additionalProperties"] == {
        "$ref": "#/$defs/GeminiModelSpec"
    }


def test_every_shipped_stack_points_editors_at_the_schema() -> None:
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./tuned-models.schema.json", path.name


# -- review regressions --------------------------------------------------------------------------


def _one(**fields: Any) -> dict[str, Any]:
    """A config with one model ``a``: a base model, a dataset, and ``fields``."""
    return {"tuned-models:models": {"a": {"baseModel": BASE, "dataset": DATASET, **fields}}}


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"temperature": True}, "a:temperature: expected a number, got true"),
        ({"topP": False}, "a:topP: expected a number, got false"),
        ({"topK": True}, "a:topK: expected an integer, got true"),
        (
            {"hyperparameters": {"batchSize": True}},
            "a:hyperparameters.batchSize: expected an integer, got true",
        ),
        (
            {"hyperparameters": {"epochCount": False}},
            "a:hyperparameters.epochCount: expected an integer, got false",
        ),
        (
            {"hyperparameters": {"learningRate": True}},
            "a:hyperparameters.learningRate: expected a number, got true",
        ),
        (
            {"hyperparameters": {"learningRateMultiplier": True}},
            "a:hyperparameters.learningRateMultiplier: expected a number, got true",
        ),
    ],
)
def test_a_boolean_is_not_a_number(fields: dict[str, Any], line: str) -> None:
    assert _lines(_parse(_one(**fields))) == [f"{SOURCE}:{line}"]


def test_integral_floats_still_become_integers() -> None:
    # Pulumi hands the provider every number as a float.
    stack = _parse(_one(topK=40.0, hyperparameters={"batchSize": 4.0, "epochCount": 2.0}))
    assert stack.ok, _lines(stack)
    spec = stack.models["a"]
    assert (spec.topK, spec.hyperparameters.batchSize, spec.hyperparameters.epochCount) == (40, 4, 2)
    assert isinstance(spec.topK, int)


@pytest.mark.parametrize("timeout", [float("inf"), float("-inf"), float("nan")])
def test_an_infinite_or_nan_timeout_is_rejected(timeout: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        parse_duration(timeout)
    [line] = _lines(_parse(_one(timeout=timeout)))
    assert line.startswith(f"{SOURCE}:a:timeout: a timeout must be a finite duration, got ")


@pytest.mark.parametrize("value", ["nan", "inf", float("inf"), float("nan")])
def test_emulator_step_seconds_must_be_finite(value: Any) -> None:
    [line] = _lines(
        _parse({"tuned-models:endpoint": "embedded", "tuned-models:emulatorStepSeconds": value, **_one()})
    )
    assert line.startswith(
        f"{SOURCE}:tuned-models:emulatorStepSeconds: expected a positive number of seconds, got "
    )


def test_a_learning_rate_from_the_defaults_gets_a_hint() -> None:
    stack = _parse(
        {
            "tuned-models:defaults": {"hyperparameters": {"learningRate": 0.001}},
            **_one(hyperparameters={"learningRateMultiplier": 2}),
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:a:hyperparameters: set learningRate or learningRateMultiplier, not both; "
        "hyperparameters.learningRate comes from tuned-models:defaults: set hyperparameters: "
        "{learningRate: null} in this model to remove that default"
    ]


def test_no_hint_when_the_model_itself_sets_both() -> None:
    stack = _parse(
        {
            "tuned-models:defaults": {"hyperparameters": {"learningRate": 0.001}},
            **_one(hyperparameters={"learningRate": 0.01, "learningRateMultiplier": 2}),
        }
    )
    assert _lines(stack) == [
        f"{SOURCE}:a:hyperparameters: set learningRate or learningRateMultiplier, not both"
    ]


@pytest.mark.parametrize(
    "key", ["tuned-model:models", "tuned_models:models", "Tuned-Models:models", "tuned-modles:models"]
)
def test_a_misspelled_namespace_is_an_error_with_the_right_key(key: str) -> None:
    stack = _parse({key: {"a": {"baseModel": BASE, "dataset": DATASET}}})
    namespace = key.split(":")[0]
    assert _lines(stack) == [
        f"{SOURCE}:{key}: unknown namespace {namespace!r}; this tool reads "
        "'tuned-models:*' keys only: did you mean 'tuned-models:models'?"
    ]
    assert not stack.ok


def test_a_misspelled_namespace_of_another_key_suggests_that_key() -> None:
    stack = _parse({"tuned_models:endpoint": "embedded", **_one()})
    assert _lines(stack) == [
        f"{SOURCE}:tuned_models:endpoint: unknown namespace "
        "'tuned_models'; this tool reads 'tuned-models:*' keys only: did "
        "you mean 'tuned-models:endpoint'?"
    ]


@pytest.mark.parametrize("key", ["aws:region", "tuned:x", "gcp:project", "models:x"])
def test_other_namespaces_are_still_left_alone(key: str) -> None:
    assert _parse({key: "x", **_one()}).problems == []


@pytest.mark.parametrize(
    ("text", "described"), [("false", "false"), ("''", "''"), ("[]", "a list"), ("5", "5")]
)
def test_a_config_that_is_not_a_mapping_is_an_error(text: str, described: str, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.x.yaml").write_text(f"config: {text}\n", encoding="utf-8")
    stack = load_stack(tmp_path, "x")
    assert _lines(stack) == [
        f"stacks/Pulumi.x.yaml:config: expected a mapping of config keys, got {described}"
    ]


def test_an_empty_config_still_only_warns() -> None:
    assert _lines(_parse({})) == [f"{SOURCE}:tuned-models:models: warning: no models declared"]


def test_a_self_containing_mapping_handed_to_parse_config_is_a_problem_not_a_crash() -> None:
    # YAML from load_stack cannot contain itself (a recursive alias is a YAML error), but
    # parse_config is public: it must not walk a value without end.
    loop: dict[str, Any] = {"baseModel": BASE}
    loop["hyperparameters"] = loop
    stack = _parse({"tuned-models:defaults": loop, "tuned-models:models": {"a": loop}})
    assert not stack.ok
    assert (
        f"{SOURCE}:a:hyperparameters.baseModel: unknown key 'baseModel'; expected one of "
        "epochCount, batchSize, learningRate, learningRateMultiplier, adapterSize" in _lines(stack)
    )


def test_merge_keys_resolve_as_yaml_defines_them(tmp_path: Path) -> None:
    (tmp_path / "stacks" / "datasets").mkdir(parents=True)
    (tmp_path / DATASET).write_bytes((ROOT / DATASET).read_bytes())
    (tmp_path / "stacks" / "Pulumi.x.yaml").write_text(
        "config:\n"
        "  tuned-models:models:\n"
        f"    a: &a {{baseModel: {BASE}, dataset: {DATASET}, temperature: 0.5}}\n"
        "    b: {<<: *a, temperature: 0.9}\n",
        encoding="utf-8",
    )
    stack = load_stack(tmp_path, "x")
    assert stack.ok, _lines(stack)
    assert (stack.models["a"].temperature, stack.models["b"].temperature) == (0.5, 0.9)


@pytest.mark.parametrize("spec", ["GeminiModelSpec", "VertexModelSpec"])
def test_the_schema_accepts_null_for_every_model_key(spec: str) -> None:
    model = json_schema()["$defs"][spec]
    for key, prop in model["properties"].items():
        assert {"type": "null"} in prop.get("anyOf", []) or key == "hyperparameters", key
        assert prop["description"], key


def test_the_schema_accepts_emulator_step_seconds_as_pulumi_config_set_writes_it() -> None:
    prop = json_schema()["properties"]["config"]["properties"]["tuned-models:emulatorStepSeconds"]
    pattern = next(o["pattern"] for o in prop["anyOf"] if o.get("type") == "string")
    assert {"type": "number", "exclusiveMinimum": 0} in prop["anyOf"]
    for text in ("0.5", "2", ".25", "1e-3"):
        assert re.match(pattern, text), text
    for text in ("abc", "-1", "", "0.5s"):
        assert not re.match(pattern, text), text


def test_read_examples_turns_an_unusable_file_name_into_a_dataset_error() -> None:
    with pytest.raises(DatasetError, match="not a usable file name"):
        read_examples(ROOT / "stacks" / "datasets" / "a\0.jsonl")


def test_the_backend_key_accepts_gemini_and_refuses_others_clearly() -> None:
    assert _parse({"tuned-models:backend": "gemini", **_one()}).connection.backend == "gemini"
    assert _parse(_one()).connection.backend == "gemini"
    assert _lines(_parse({"tuned-models:backend": "vertexai", **_one()})) == [
        f"{SOURCE}:tuned-models:backend: unknown backend 'vertexai'; expected gemini or vertex"
    ]


def test_an_endpoint_without_a_host_is_an_error() -> None:
    [line] = _lines(_parse({"tuned-models:endpoint": "http://:80", **_one()}))
    assert line.startswith(
        f"{SOURCE}:tuned-models:endpoint: expected 'embedded' or an http(s) URL, got 'http://:80'"
    )


# -- tunedModelSource by resource name ------------------------------------------------------------


def _source_stack(models: dict[str, Any]) -> LoadedStack:
    return _parse({"tuned-models:defaults": {"baseModel": BASE}, "tuned-models:models": models})


def test_a_source_reference_names_a_model_of_the_stack() -> None:
    examples = [{"textInput": f"in {i}", "output": f"out {i}"} for i in range(20)]
    ok = _source_stack(
        {
            "child": {"baseModel": None, "tunedModelSource": {"model": "base"}, "examples": examples},
            "base": {"examples": examples},
        }
    )
    assert ok.ok, _lines(ok)
    assert ok.models["child"].tunedModelSource is not None
    assert ok.models["child"].tunedModelSource.model == "base"
    unknown = _source_stack(
        {
            "child": {"baseModel": None, "tunedModelSource": {"model": "bsae"}, "examples": examples},
            "base": {"examples": examples},
        }
    )
    assert _lines(unknown) == [
        f"{SOURCE}:child:tunedModelSource.model: no model named 'bsae' in this stack; did you mean 'base'?"
    ]
    itself = _source_stack(
        {"a": {"baseModel": None, "tunedModelSource": {"model": "a"}, "examples": examples}}
    )
    assert _lines(itself) == [f"{SOURCE}:a:tunedModelSource.model: a model cannot be tuned from itself"]
    cycle = _source_stack(
        {
            "a": {"baseModel": None, "tunedModelSource": {"model": "b"}, "examples": examples},
            "b": {"examples": examples, "dependsOn": ["a"]},
        }
    )
    assert _lines(cycle) == [f"{SOURCE}:a:dependsOn: dependency cycle: a -> b -> a"]
    both = _source_stack(
        {
            "a": {
                "baseModel": None,
                "tunedModelSource": {"model": "b", "tunedModel": "tunedModels/x"},
                "examples": examples,
            }
        }
    )
    assert _lines(both) == [
        f"{SOURCE}:a:tunedModelSource: declare one of tunedModel (tunedModels/<id>) "
        "or model (a model of this stack)"
    ]
