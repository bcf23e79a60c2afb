"""``tuned-models validate`` on the vertex corpus: what Vertex AI would refuse, found offline.

The cases are in :mod:`tests.cli.vertex_cases` (the provider's ``check`` is held to the same
cases in tests/engine/test_vertex_check.py). Also: the shipped vertex stack, the JSON Schema's
view of both backends (checked by a real JSON Schema validator), and that ``validate`` of a
vertex stack loads no HTTP client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.cli.vertex_cases import CASES, CORPUS, VertexCase, corpus
from tests.support.output import checked
from tuned_models.cli import main
from tuned_models.stack import list_stacks, schema_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus(tmp_path_factory.mktemp("vertex") / "project")


def _validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["validate", *argv])
    return code, capsys.readouterr().out.splitlines()


def test_the_corpus_holds_at_least_20_vertex_cases_and_a_test_for_each() -> None:
    assert sorted(c.stack for c in CASES) == list_stacks(CORPUS)
    vertex = [c for c in CASES if not c.stack.startswith("gemini-")]
    assert len(vertex) >= 20
    assert len({c.lines for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.stack for c in CASES])
def test_each_broken_vertex_stack_prints_exactly_its_problem_lines(
    case: VertexCase, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _validate(capsys, "--project-root", str(project), "--stack", case.stack)
    errors = len(case.lines)
    summary = f"{case.file}: 1 model, {errors} error{'s' if errors > 1 else ''}, 0 warnings"
    assert lines == [*(f"{case.file}:{line}" for line in case.lines), summary]
    assert code == 1


def test_the_json_format_places_each_problem_at_its_model_and_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["validate", "--project-root", str(project), "--stack", "adapter-size-pro", "--format", "json"])
    [problem] = checked(capsys.readouterr().out)["stacks"][0]["problems"]
    assert (problem["severity"], problem["model"], problem["key"]) == (
        "error",
        "counter",
        "hyperparameters.adapterSize",
    )


def test_the_shipped_vertex_stack_validates_with_contents_and_csv_datasets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = _validate(
        capsys, "--project-root", str(ROOT), "--stack", "vertex-local", "--format", "json"
    )
    document = checked("\n".join(lines))
    assert code == 0 and document["ok"] is True
    [stack] = document["stacks"]
    assert (stack["backend"], stack["errors"], stack["warnings"]) == ("vertex", 0, 0)
    datasets = stack["datasets"]
    assert datasets["support-tickets"]["examples"] == 126
    assert datasets["summarizer"]["examples"] == 105


def test_a_contents_dataset_with_system_instructions_and_turns_is_valid(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = project / "stacks" / "Pulumi.chat.yaml"
    stack.write_text(
        (project / "stacks" / "Pulumi.temperature.yaml")
        .read_text()
        .replace("datasets/counting.jsonl", "datasets/conversations.jsonl")
        .replace("temperature: 0.5", "validationDataset: datasets/validation.jsonl"),
        encoding="utf-8",
    )
    try:
        code, lines = _validate(capsys, "--project-root", str(project), "--stack", "chat")
        assert (code, lines) == (0, ["stacks/Pulumi.chat.yaml: 1 model, 0 errors, 0 warnings"])
        code, lines = _validate(capsys, "--project-root", str(project), "--stack", "chat", "--format", "json")
    finally:
        stack.unlink()
    [entry] = checked("\n".join(lines))["stacks"]
    assert entry["validationDatasets"]["counter"]["path"] == "datasets/validation.jsonl"
    assert entry["validationDatasets"]["counter"]["digest"] != entry["datasets"]["counter"]["digest"]


def test_a_stack_relying_on_the_environment_for_project_and_location_warns_without_it(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = project / "stacks" / "Pulumi.env.yaml"
    stack.write_text(
        "config:\n  tuned-models:backend: vertex\n  tuned-models:vertex: {bucket: gs://b-1}\n"
        "  tuned-models:models:\n"
        "    counter: {baseModel: gemini-2.5-flash, dataset: datasets/counting.jsonl}\n",
        encoding="utf-8",
    )
    try:
        monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
        monkeypatch.delenv("GOOGLE_CLOUD_LOCATION", raising=False)
        code, lines = _validate(capsys, "--project-root", str(project), "--stack", "env")
        assert code == 0
        assert lines[0] == (
            "stacks/Pulumi.env.yaml:tuned-models:vertex.project: warning: no project: set "
            "tuned-models:vertex.project, or GOOGLE_CLOUD_PROJECT where `pulumi up` runs (the provider "
            "cannot reach Vertex AI without it)"
        )
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-env")
        monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
        assert _validate(capsys, "--project-root", str(project), "--stack", "env") == (
            0,
            ["stacks/Pulumi.env.yaml: 1 model, 0 errors, 0 warnings"],
        )
    finally:
        stack.unlink()


def test_validating_a_vertex_stack_loads_no_http_client() -> None:
    code = (
        "import sys\n"
        "from tuned_models.cli import main\n"
        f"code = main(['validate', '--project-root', {str(ROOT)!r}, '--stack', 'vertex-local'])\n"
        "print(code, any(m in sys.modules for m in ('httpx', 'pulumi', 'google.auth')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "0 False"


# -- the JSON Schema ---------------------------------------------------------------------------


def _schema_errors(document: object) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(schema_text()))
    return sorted(
        "/".join(map(str, e.absolute_path)) + ": " + e.message for e in validator.iter_errors(document)
    )


def test_every_shipped_stack_matches_the_schema() -> None:
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        assert _schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path.name


@pytest.mark.parametrize(
    ("stack", "flagged"),
    [
        ("temperature", "counter: Additional properties are not allowed ('temperature' was unexpected)"),
        ("batch-size", "counter/hyperparameters: {'epochCount': 3, 'batchSize': 8} is not valid"),
        ("api-key", "config: False schema does not allow {'secure'"),
        ("no-bucket", "'bucket' is a required property"),
        ("adapter-size-3", "counter/hyperparameters: {'adapterSize': 3} is not valid"),
        ("gemini-labels", "counter: Additional properties are not allowed ('labels' was unexpected)"),
        ("gemini-adapter-size", "counter/hyperparameters: {'adapterSize': 4} is not valid"),
        ("gemini-vertex-settings", "config: False schema does not allow {'project'"),
        ("gemini-base-model", "counter/baseModel: 'models/gemini-1.5-flash-001-tuning' is not valid"),
        ("display-name-too-long", "counter/displayName: 'counter counter"),
    ],
)
def test_the_schema_refuses_a_key_of_the_other_backend(stack: str, flagged: str) -> None:
    document = yaml.safe_load((CORPUS / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    errors = _schema_errors(document)
    assert errors and any(flagged in e for e in errors), errors
