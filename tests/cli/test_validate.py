"""``tuned-models validate`` on a corpus of broken stack files: the exact line, the exit code.

Each case of ``tests/cli/corpus/stacks/Pulumi.<case>.yaml`` is a valid one-model stack with one
thing wrong; its datasets are in ``tests/cli/corpus/datasets/``. Cases whose data is too big to
check in (over 4 MB, over 40,000 characters) are written to ``tmp_path`` at test time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.output import checked
from tuned_models.cli import main
from tuned_models.model.spec import MAX_DATASET_BYTES, MAX_INPUT_CHARS, MAX_OUTPUT_CHARS
from tuned_models.stack import list_stacks

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
BASE = "models/gemini-1.5-flash-001-tuning"


@dataclass(frozen=True)
class Case:
    stack: str
    line: str
    code: int = 1
    models: int = 1

    @property
    def summary(self) -> str:
        errors, warnings = ("1 error", "0 warnings") if self.code else ("0 errors", "1 warning")
        models = f"{self.models} model" + ("" if self.models == 1 else "s")
        return f"stacks/Pulumi.{self.stack}.yaml: {models}, {errors}, {warnings}"


def _f(stack: str) -> str:
    return f"stacks/Pulumi.{stack}.yaml"


CASES: list[Case] = [
    Case(
        "unknown-config-key",
        f"{_f('unknown-config-key')}:tuned-models:emulatorStepSecs: unknown config key; "
        "did you mean 'tuned-models:emulatorStepSeconds'?",
    ),
    Case(
        "unknown-file-key",
        f"{_f('unknown-file-key')}:secretprovider: unknown stack file key; did you mean 'secretsprovider'?",
    ),
    Case(
        "model-key-typo",
        f"{_f('model-key-typo')}:counter:temprature: unknown key 'temprature'; did you mean 'temperature'?",
    ),
    Case(
        "wrong-type", f"{_f('wrong-type')}:counter:hyperparameters.batchSize: expected an integer, got 'four'"
    ),
    Case(
        "dataset-and-examples",
        f"{_f('dataset-and-examples')}:counter: declare dataset (a file) or examples (inline), not both",
    ),
    Case(
        "no-dataset",
        f"{_f('no-dataset')}:counter: declare a dataset (a file) or examples (inline); "
        "only a model taken over with adopt may have neither",
    ),
    Case(
        "no-base-model",
        f"{_f('no-base-model')}:counter: declare exactly one of baseModel or tunedModelSource",
    ),
    Case(
        "both-learning-rates",
        f"{_f('both-learning-rates')}:counter:hyperparameters: set learningRate or "
        "learningRateMultiplier, not both",
    ),
    Case(
        "bad-base-model",
        f"{_f('bad-base-model')}:counter:baseModel: expected models/<id>, e.g. "
        "models/gemini-1.5-flash-001-tuning, got 'gemini-1.5-flash-001-tuning'",
    ),
    Case("bad-adopt", f"{_f('bad-adopt')}:counter:adopt: expected tunedModels/<id>, got 'counter-model-x1'"),
    Case(
        "name-too-long",
        f"{_f('name-too-long')}:number-generator-for-testing: the resource name has 28 "
        "characters; the limit is 26, so that the tunedModelId (the name, a stack tag and a "
        "digest) fits the service's 40",
    ),
    Case(
        "name-invalid",
        f"{_f('name-invalid')}:Number_Generator: invalid resource name: use lowercase letters, "
        "digits and hyphens, starting with a letter and ending with a letter or digit",
    ),
    Case(
        "display-name-too-long",
        f"{_f('display-name-too-long')}:counter:displayName: must be at most 40 characters, got 59",
    ),
    Case(
        "temperature-out-of-range",
        f"{_f('temperature-out-of-range')}:counter:temperature: must be at most 2, got 2.5",
    ),
    Case(
        "missing-dataset", f"{_f('missing-dataset')}:counter:dataset: datasets/missing.jsonl: file not found"
    ),
    Case(
        "unsupported-suffix",
        f"{_f('unsupported-suffix')}:counter:dataset: datasets/examples.txt: unsupported "
        "dataset format .txt; use .jsonl, .csv or .json",
    ),
    Case(
        "invalid-jsonl",
        f"{_f('invalid-jsonl')}:counter:dataset: datasets/invalid-line.jsonl:3: invalid JSON "
        "(Expecting ',' delimiter)",
    ),
    Case(
        "csv-no-header",
        f"{_f('csv-no-header')}:counter:dataset: datasets/no-header.csv:1: the header must "
        "name the columns textInput and output, got zero, one",
    ),
    Case(
        "empty-input",
        f"{_f('empty-input')}:counter:dataset: datasets/empty-input.jsonl: example 4: textInput is empty",
    ),
    Case(
        "duplicates",
        f"{_f('duplicates')}:counter:dataset: warning: datasets/duplicates.jsonl: example 21: "
        "duplicate of example 3",
        code=0,
    ),
    Case(
        "few-examples",
        f"{_f('few-examples')}:counter:dataset: warning: datasets/few.jsonl: only 5 examples; "
        "the service recommends at least 20 (100-500 is typical)",
        code=0,
    ),
    Case(
        "depends-on-unknown",
        f"{_f('depends-on-unknown')}:counter:dependsOn[0]: no model named 'sumarizer' in this "
        "stack; did you mean 'summarizer'?",
        models=2,
    ),
    Case(
        "depends-on-cycle",
        f"{_f('depends-on-cycle')}:counter:dependsOn: dependency cycle: counter -> summarizer -> counter",
        models=2,
    ),
    Case(
        "permission-email-and-everyone",
        f"{_f('permission-email-and-everyone')}:counter:permissions[0]: everyone: true takes "
        "no email; remove user",
    ),
    Case(
        "permission-no-grantee",
        f"{_f('permission-no-grantee')}:counter:permissions[0]: a permission needs one "
        "grantee: user, group or everyone: true",
    ),
    Case(
        "permission-owner-role",
        f"{_f('permission-owner-role')}:counter:permissions[0].role: expected 'READER' or "
        "'WRITER', got 'OWNER'; a model's owner is set with owner: <email>",
    ),
    Case(
        "owner-not-email", f"{_f('owner-not-email')}:counter:owner: 'platform team' is not an email address"
    ),
    Case(
        "defaults-wrong-type",
        f"{_f('defaults-wrong-type')}:tuned-models:defaults.hyperparameters.epochCount: "
        "expected an integer, got 'many'",
        models=2,
    ),
    Case(
        "api-key-plain",
        f"{_f('api-key-plain')}:tuned-models:apiKey: warning: the API key is stored in plain "
        "text; set it with `pulumi config set --secret tuned-models:apiKey` or GOOGLE_API_KEY "
        "instead",
        code=0,
    ),
    Case(
        "duplicate-model",
        f"{_f('duplicate-model')}:8: duplicate key 'counter'; YAML keeps only the last one, so "
        "the earlier one would be ignored",
    ),
    Case(
        "permission-unknown-key",
        f"{_f('permission-unknown-key')}:counter:permissions[0].email: unknown key 'email'; "
        "expected one of user, group, everyone, role",
    ),
    Case(
        "yaml-syntax",
        f"{_f('yaml-syntax')}:7: invalid YAML: expected <block end>, but found '<block mapping start>'",
        models=0,
    ),
    Case(
        "recursive-alias",
        f"{_f('recursive-alias')}:4: invalid YAML: recursive alias *d: it is used inside the "
        "value &d names, so that value would contain itself",
        models=0,
    ),
    Case(
        "dataset-surrogate",
        f"{_f('dataset-surrogate')}:counter:dataset: datasets/surrogate.json:18: output "
        "contains a lone surrogate \\ud800 at character 1, which is not valid Unicode text",
    ),
    Case(
        "examples-surrogate",
        f"{_f('examples-surrogate')}:counter:examples[0].textInput: contains a lone surrogate "
        "\\ud800 at character 1, which is not valid Unicode text",
    ),
    Case(
        "dataset-nul",
        f"{_f('dataset-nul')}:counter:dataset: 'datasets/good\\x00.jsonl': not a usable file "
        "name (a NUL or a lone surrogate character)",
    ),
    Case(
        "namespace-typo",
        f"{_f('namespace-typo')}:tuned-model:models: unknown namespace 'tuned-model'; this tool "
        "reads 'tuned-models:*' keys only: did you mean 'tuned-models:models'?",
        models=0,
    ),
    Case("bool-temperature", f"{_f('bool-temperature')}:counter:temperature: expected a number, got true"),
    Case(
        "dataset-outside",
        f"{_f('dataset-outside')}:counter:dataset: ../outside.jsonl: outside the project (after "
        "resolving .. and symlinks); keep datasets under the project root, e.g. in "
        "stacks/datasets/",
    ),
    Case(
        "defaults-base-model",
        f"{_f('defaults-base-model')}:counter: declare exactly one of baseModel or "
        "tunedModelSource; baseModel comes from tuned-models:defaults: set baseModel: null in "
        "this model to remove that default",
    ),
    Case(
        "owner-in-permissions",
        f"{_f('owner-in-permissions')}:counter:owner: lead@example.com is the owner and also "
        "listed in permissions; the owner has every role: remove that permission",
    ),
    Case(
        "duplicate-grantee",
        f"{_f('duplicate-grantee')}:counter:permissions: the same grantee is listed twice: "
        "user:analyst@example.com",
    ),
    Case(
        "config-not-mapping",
        f"{_f('config-not-mapping')}:config: expected a mapping of config keys, got false",
        models=0,
    ),
    Case(
        "csv-short-row",
        f"{_f('csv-short-row')}:counter:dataset: datasets/short-row.csv:7: fewer fields than "
        "the header names",
    ),
    Case(
        "timeout-infinite",
        f"{_f('timeout-infinite')}:counter:timeout: a timeout must be a finite duration, got .inf",
    ),
    Case(
        "model-name-yes",
        f"{_f('model-name-yes')}:true: YAML reads an unquoted yes, no, on, off, true or false "
        "as a boolean, not as a name: quote the resource name (e.g. 'yes':)",
    ),
]


def _validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["validate", *argv])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("case", CASES, ids=[c.stack for c in CASES])
def test_each_broken_stack_prints_exactly_its_problem_line(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _validate(capsys, "--project-root", str(CORPUS), "--stack", case.stack)
    assert lines == [case.line, case.summary]
    assert code == case.code


def test_the_corpus_has_a_test_for_every_case() -> None:
    assert sorted(c.stack for c in CASES) == list_stacks(CORPUS)


def test_validate_all_on_the_corpus_fails_and_lists_every_case(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = _validate(capsys, "--project-root", str(CORPUS), "--all")
    assert code == 1
    for case in CASES:
        assert case.line in lines
        assert case.summary in lines


def test_a_plain_api_key_is_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "plain-text-test-key-0123456789"
    main(["validate", "--project-root", str(CORPUS), "--stack", "api-key-plain"])
    main(["validate", "--project-root", str(CORPUS), "--stack", "api-key-plain", "--format", "json"])
    assert secret not in capsys.readouterr().out


# -- cases written at test time ------------------------------------------------------------------


def _project(tmp_path: Path, dataset_name: str, dataset_text: str) -> Path:
    """A one-model project in ``tmp_path`` training on ``datasets/<dataset_name>``."""
    (tmp_path / "stacks").mkdir(parents=True)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / dataset_name).write_text(dataset_text, encoding="utf-8")
    (tmp_path / "stacks" / "Pulumi.case.yaml").write_text(
        "config:\n"
        "  tuned-models:endpoint: embedded\n"
        "  tuned-models:models:\n"
        "    counter:\n"
        f"      baseModel: {BASE}\n"
        f"      dataset: datasets/{dataset_name}\n",
        encoding="utf-8",
    )
    return tmp_path


def _examples_jsonl(n: int, number: int = 0, **fields: str) -> str:
    """``n`` distinct examples as JSONL; example ``number`` (1-based) gets ``fields``."""
    rows = [{"textInput": f"input {i}", "output": f"output {i}"} for i in range(1, n + 1)]
    if number:
        rows[number - 1].update(fields)
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_a_dataset_over_4_mb_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = json.dumps({"textInput": "x" * 1000, "output": "y"}) + "\n"
    text = row * (MAX_DATASET_BYTES // len(row) + 1)
    size = len(text.encode())
    root = _project(tmp_path, "huge.jsonl", text)
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines == [
        f"stacks/Pulumi.case.yaml:counter:dataset: datasets/huge.jsonl: {size} bytes is over "
        "the service's 4 MB dataset limit",
        "stacks/Pulumi.case.yaml: 1 model, 1 error, 0 warnings",
    ]
    assert code == 1


def test_an_output_over_5000_characters_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _examples_jsonl(20, 2, output="y" * (MAX_OUTPUT_CHARS + 1))
    root = _project(tmp_path, "long-output.jsonl", text)
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines[0] == (
        "stacks/Pulumi.case.yaml:counter:dataset: datasets/long-output.jsonl: "
        "example 2: output has 5001 characters; the limit is 5000"
    )
    assert len(lines) == 2
    assert code == 1


def test_an_input_over_40000_characters_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _examples_jsonl(20, 7, textInput="x" * (MAX_INPUT_CHARS + 1))
    root = _project(tmp_path, "long-input.jsonl", text)
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines[0] == (
        "stacks/Pulumi.case.yaml:counter:dataset: datasets/long-input.jsonl: "
        "example 7: textInput has 40001 characters; the limit is 40000"
    )
    assert len(lines) == 2
    assert code == 1


def test_an_unknown_stack_names_the_stacks_there_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, "good.jsonl", _examples_jsonl(20))
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "staging")
    assert lines == [
        "stacks/Pulumi.staging.yaml: no such stack file (stacks: case)",
        "stacks/Pulumi.staging.yaml: 0 models, 1 error, 0 warnings",
    ]
    assert code == 1


def test_a_project_without_stack_files_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _validate(capsys, "--project-root", str(tmp_path), "--all")
    assert lines == [f"stacks/: no stack files (Pulumi.<stack>.yaml) under {tmp_path}"]
    assert code == 1


# -- the shipped stacks --------------------------------------------------------------------------


def test_validate_all_passes_on_the_shipped_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _validate(capsys, "--project-root", str(ROOT), "--all")
    assert code == 0, "\n".join(lines)
    assert not [line for line in lines if ": warning: " not in line and " 0 errors, " not in line]
    summaries = [line for line in lines if " models, " in line]
    assert summaries == [
        *(f"stacks/Pulumi.{s}.yaml: 3 models, 0 errors, 1 warning" for s in ("dev", "local", "prod")),
        "stacks/Pulumi.vertex-local.yaml: 2 models, 0 errors, 0 warnings",
    ]


def test_validate_defaults_to_every_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code_all, lines_all = _validate(capsys, "--project-root", str(ROOT), "--all")
    code_default, lines_default = _validate(capsys, "--project-root", str(ROOT))
    assert (code_default, lines_default) == (code_all, lines_all)


def test_validate_finds_the_project_root_from_a_subdirectory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "stacks" / "datasets")
    code, lines = _validate(capsys, "--stack", "local")
    assert code == 0
    assert lines[-1] == "stacks/Pulumi.local.yaml: 3 models, 0 errors, 1 warning"


# -- --format json -------------------------------------------------------------------------------


def test_json_format_reports_every_problem_with_its_parts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", "--project-root", str(CORPUS), "--stack", "wrong-type", "--format", "json"])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 1
    text = (CORPUS / "stacks" / "Pulumi.wrong-type.yaml").read_text().splitlines()
    line_no = next(i for i, line in enumerate(text, start=1) if "batchSize" in line)
    column = text[line_no - 1].index("batchSize") + 1
    assert document == {
        "schemaVersion": 1,
        "command": "validate",
        "ok": False,
        "changes": False,
        "stacks": [
            {
                "stack": "wrong-type",
                "file": "stacks/Pulumi.wrong-type.yaml",
                "ok": False,
                "backend": "gemini",
                "endpoint": "embedded",
                "models": ["counter"],
                "errors": 1,
                "warnings": 0,
                "problems": [
                    {
                        "severity": "error",
                        "file": "stacks/Pulumi.wrong-type.yaml",
                        "model": "counter",
                        "key": "hyperparameters.batchSize",
                        "line": line_no,
                        "column": column,
                        "message": "expected an integer, got 'four'",
                    }
                ],
                "datasets": {},
                "validationDatasets": {},
                "evaluations": {},
            }
        ],
    }


def test_schema_errors_carry_the_line_and_column_of_their_key(capsys: pytest.CaptureFixture[str]) -> None:
    """For CI annotations: a key's own position, else its nearest parent's (a value error of the
    model as a whole is placed on the model's name)."""
    expected = {
        "model-key-typo": ("counter", "temprature"),
        "permission-owner-role": ("counter", "permissions[0].role"),
        "no-base-model": ("counter", ""),
        "unknown-config-key": ("", "tuned-models:emulatorStepSecs"),
    }
    for case, (model, key) in expected.items():
        main(["validate", "--project-root", str(CORPUS), "--stack", case, "--format", "json"])
        [problem] = json.loads(capsys.readouterr().out)["stacks"][0]["problems"]
        assert (problem["model"], problem["key"]) == (model, key)
        text = (CORPUS / "stacks" / f"Pulumi.{case}.yaml").read_text().splitlines()
        line = text[problem["line"] - 1]
        word = (key.split(".")[-1].split("[")[0] or model) if key or model else ""
        assert line[problem["column"] - 1 :].startswith(word) or line.strip().startswith("- "), (case, line)


def test_json_format_lists_the_dataset_digest_of_each_valid_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", "--project-root", str(ROOT), "--all", "--format", "json"])
    document = checked(capsys.readouterr().out)
    assert code == 0
    assert document["ok"] is True and document["schemaVersion"] == 1 and document["command"] == "validate"
    assert [s["stack"] for s in document["stacks"]] == ["dev", "local", "prod", "vertex-local"]
    assert {s["errors"] for s in document["stacks"]} == {0}
    local = next(s for s in document["stacks"] if s["stack"] == "local")
    assert local["datasets"]["number-generator"]["path"] == "stacks/datasets/number-generator.jsonl"
    assert local["datasets"]["number-generator"]["examples"] == 15
    assert local["datasets"]["support-tickets"]["digest"].startswith("sha256:")
    warning = local["problems"][0]
    assert (warning["severity"], warning["model"], warning["key"]) == (
        "warning",
        "number-generator",
        "dataset",
    )


def test_a_yaml_error_carries_its_line_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", "--project-root", str(CORPUS), "--stack", "yaml-syntax", "--format", "json"])
    problem = json.loads(capsys.readouterr().out)["stacks"][0]["problems"][0]
    assert (problem["line"], problem["model"], problem["key"]) == (7, "", "")


def test_the_corpus_copies_cleanly_to_another_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dataset paths are relative to the project root, wherever that is.
    shutil.copytree(CORPUS, tmp_path / "corpus")
    code, lines = _validate(capsys, "--project-root", str(tmp_path / "corpus"), "--stack", "empty-input")
    assert code == 1
    assert lines[0] == next(c.line for c in CASES if c.stack == "empty-input")


@pytest.mark.parametrize("case", CASES, ids=[c.stack for c in CASES])
def test_json_format_reports_the_same_problems_as_the_text_lines(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--project-root", str(CORPUS), "--stack", case.stack]
    code_text, lines = _validate(capsys, *argv)
    code_json = main(["validate", *argv, "--format", "json"])
    document = checked(capsys.readouterr().out)
    assert code_json == code_text
    rebuilt = []
    for p in document["stacks"][0]["problems"]:
        whole_file = not p["model"] and not p["key"]  # only those show their line in text
        parts = [
            p["file"],
            *([str(p["line"])] if p["line"] is not None and whole_file else []),
            *(x for x in (p["model"], p["key"]) if x),
        ]
        warning = "warning: " if p["severity"] == "warning" else ""
        rebuilt.append(f"{':'.join(parts)}: {warning}{p['message']}")
    # The text output escapes what UTF-8 cannot carry; JSON carries the text itself.
    assert [r.encode("utf-8", "backslashreplace").decode() for r in rebuilt] == lines[:-1]


# -- hostile YAML and files, written at test time -------------------------------------------------


def _stack_file(tmp_path: Path, text: str, stack: str = "case") -> Path:
    (tmp_path / "stacks").mkdir(exist_ok=True)
    (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_deeply_nested_yaml_is_one_problem_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _stack_file(tmp_path, "config:\n  tuned-models:models: " + "[" * 5000 + "]" * 5000 + "\n")
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines == [
        "stacks/Pulumi.case.yaml:2: invalid YAML: nested more than 64 levels deep",
        "stacks/Pulumi.case.yaml: 0 models, 1 error, 0 warnings",
    ]
    assert code == 1
    assert main(["validate", "--project-root", str(root), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["stacks"][0]["errors"] == 1


def test_a_recursive_alias_inside_a_model_is_one_problem_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _stack_file(
        tmp_path,
        "config:\n  tuned-models:models:\n    counter:\n"
        f"      baseModel: {BASE}\n      hyperparameters: &h {{a: *h}}\n",
    )
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines == [
        "stacks/Pulumi.case.yaml:5: invalid YAML: recursive alias *h: it is used "
        "inside the value &h names, so that value would contain itself",
        "stacks/Pulumi.case.yaml: 0 models, 1 error, 0 warnings",
    ]
    assert code == 1


def _alias_chain(levels: int, link: str) -> str:
    """Defaults where each of ``levels`` anchors refers to the previous one twice."""
    lines = ["config:", "  tuned-models:defaults:", "    l0: &l0 {a: 1}"]
    lines += [f"    l{i}: &l{i} " + link.format(prev=f"*l{i - 1}", i=i) for i in range(1, levels + 1)]
    lines += [
        f"    hyperparameters: *l{levels}",
        "  tuned-models:models:",
        "    counter:",
        f"      baseModel: {BASE}",
        "      examples: [{textInput: a, output: b}]",
        f"      hyperparameters: *l{levels}",
        f"      description: *l{levels}",
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "link",
    ["{{a: {prev}, b: {prev}}}", "[{prev}, {prev}]", "{{<<: [{prev}, {prev}], k{i}: 1}}"],
    ids=["mapping", "list", "merge-key"],
)
def test_aliases_sharing_values_validate_in_linear_time(
    link: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2**23 paths through 23 shared values: any walk that does not share work never ends.
    root = _stack_file(tmp_path, _alias_chain(23, link))
    started = time.monotonic()
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert time.monotonic() - started < 1.0
    assert code == 1
    assert "stacks/Pulumi.case.yaml:tuned-models:defaults.l23: unknown key 'l23'" in lines
    assert (
        "stacks/Pulumi.case.yaml:counter:description: expected a string, got a "
        + ("list" if link.startswith("[") else "mapping")
        in lines
    )


def test_a_symlink_out_of_the_project_is_an_error_on_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside.jsonl"
    outside.write_text(_examples_jsonl(20), encoding="utf-8")
    root = _project(tmp_path / "project", "local.jsonl", _examples_jsonl(20))
    (root / "datasets" / "link.jsonl").symlink_to(outside)
    text = (root / "stacks" / "Pulumi.case.yaml").read_text(encoding="utf-8")
    (root / "stacks" / "Pulumi.case.yaml").write_text(
        text.replace("local.jsonl", "link.jsonl"), encoding="utf-8"
    )
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines == [
        "stacks/Pulumi.case.yaml:counter:dataset: datasets/link.jsonl: outside the project "
        "(after resolving .. and symlinks); keep datasets under the project root, e.g. in "
        "stacks/datasets/",
        "stacks/Pulumi.case.yaml: 1 model, 1 error, 0 warnings",
    ]
    assert code == 1


def test_a_symlink_inside_the_project_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "real.jsonl", _examples_jsonl(20))
    (root / "datasets" / "alias.jsonl").symlink_to(root / "datasets" / "real.jsonl")
    text = (root / "stacks" / "Pulumi.case.yaml").read_text(encoding="utf-8")
    (root / "stacks" / "Pulumi.case.yaml").write_text(
        text.replace("real.jsonl", "alias.jsonl"), encoding="utf-8"
    )
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert (code, lines) == (0, ["stacks/Pulumi.case.yaml: 1 model, 0 errors, 0 warnings"])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bom.jsonl", _examples_jsonl(20)),
        ("bom.csv", "textInput,output\n" + "".join(f"input {i},output {i}\n" for i in range(1, 21))),
    ],
)
def test_a_utf8_byte_order_mark_is_skipped(
    name: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, name, "\ufeff" + text)
    code = main(["validate", "--project-root", str(root), "--stack", "case", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0, document
    plain = main(
        [
            "validate",
            "--project-root",
            str(_project(tmp_path / "plain", name, text)),
            "--stack",
            "case",
            "--format",
            "json",
        ]
    )
    assert plain == 0
    digest = json.loads(capsys.readouterr().out)["stacks"][0]["datasets"]["counter"]["digest"]
    assert document["stacks"][0]["datasets"]["counter"]["digest"] == digest


def test_a_lone_surrogate_in_a_model_name_is_printed_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _stack_file(
        tmp_path,
        'config:\n  tuned-models:models:\n    "a\\ud800":\n'
        f"      baseModel: {BASE}\n      examples: [{{textInput: a, output: b}}]\n",
    )
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert code == 1
    assert lines[0].startswith("stacks/Pulumi.case.yaml:a\\ud800: invalid resource name")
    main(["validate", "--project-root", str(root), "--stack", "case", "--format", "json"])
    problem = json.loads(capsys.readouterr().out)["stacks"][0]["problems"][0]
    assert problem["model"] == "a\ud800"


# -- the README's example ------------------------------------------------------------------------


def _readme_stack_example() -> str:
    """The YAML block of README.md's "Stack files" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Stack files", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_stack_example_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = _readme_stack_example()
    assert "tuned-models:models:" in example
    (tmp_path / "stacks" / "datasets").mkdir(parents=True)
    for dataset in re.findall(r"(?:dataset|examples): (stacks/\S+)", example):  # a gate's examples too
        shutil.copy(ROOT / dataset, tmp_path / dataset)
    (tmp_path / "stacks" / "Pulumi.readme.yaml").write_text(example, encoding="utf-8")
    code, lines = _validate(capsys, "--project-root", str(tmp_path), "--stack", "readme")
    assert code == 0, "\n".join(lines)
    assert [line for line in lines if ": warning: " not in line] == [
        "stacks/Pulumi.readme.yaml: 2 models, 0 errors, 1 warning"
    ]


# -- hostile input (issue 13): a clear line, never a traceback, never a hang -----------------------


def test_a_5000_digit_integer_in_the_stack_file_is_a_yaml_error_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, "good.jsonl", _examples_jsonl(20))
    stack = root / "stacks" / "Pulumi.case.yaml"
    stack.write_text(stack.read_text() + "      topK: " + "7" * 5000 + "\n", encoding="utf-8")
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines == [
        "stacks/Pulumi.case.yaml:7: invalid YAML: an integer of 5000 digits is too large to read",
        "stacks/Pulumi.case.yaml: 0 models, 1 error, 0 warnings",
    ]
    assert code == 1


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        (
            "big.jsonl",
            '{"textInput": "a", "output": ' + "7" * 5000 + "}\n",
            ":1: invalid JSON (an integer of 5000 digits is too large to read)",
        ),
        ("deep.json", "[" * 100_000 + "]" * 100_000, ":1: invalid JSON (nested too deeply)"),
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", ":1: invalid JSON (nested too deeply)"),
    ],
)
def test_huge_integers_and_deep_json_in_a_dataset_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, reason: str
) -> None:
    root = _project(tmp_path, name, text)
    code, lines = _validate(capsys, "--project-root", str(root), "--stack", "case")
    assert lines == [
        f"stacks/Pulumi.case.yaml:counter:dataset: datasets/{name}{reason}",
        "stacks/Pulumi.case.yaml: 1 model, 1 error, 0 warnings",
    ]
    assert code == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_dataset_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, "good.jsonl", _examples_jsonl(20))
    os.mkfifo(root / "datasets" / "pipe.jsonl")
    stack = root / "stacks" / "Pulumi.case.yaml"
    stack.write_text(stack.read_text().replace("good.jsonl", "pipe.jsonl"), encoding="utf-8")
    result: list[int] = []
    runner = threading.Thread(
        target=lambda: result.append(main(["validate", "--project-root", str(root), "--stack", "case"])),
        daemon=True,
    )
    runner.start()
    runner.join(20)  # a bound, never reached unless validate blocks on the pipe
    assert not runner.is_alive(), "validate blocked on a named pipe"
    assert result == [1]
    assert capsys.readouterr().out.splitlines() == [
        "stacks/Pulumi.case.yaml:counter:dataset: datasets/pipe.jsonl: not a regular file (a named pipe); "
        "a dataset is a file",
        "stacks/Pulumi.case.yaml: 1 model, 1 error, 0 warnings",
    ]
