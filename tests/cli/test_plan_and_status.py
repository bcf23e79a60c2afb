"""``tuned-models plan`` and ``status`` against the embedded emulator, after the provider
created the local stack's models."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.dynamic import Config, ConfigureRequest

from tuned_models.backends import close_backends
from tuned_models.cli import main
from tuned_models.gemini import connect
from tuned_models.model.desired import model_inputs
from tuned_models.permission import TunedModelPermissionProvider, permission_args
from tuned_models.stack import load_stack
from tuned_models.tuned_model import TunedModelProvider

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project's stacks with fast emulated training, as the current directory."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    edit_stack(tmp_path, lambda c: c.update({"tuned-models:emulatorStepSeconds": 0.001}))
    monkeypatch.chdir(tmp_path)
    for var in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path
    close_backends()


def edit_stack(root: Path, change: Any) -> None:
    path = root / "stacks" / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def up(root: Path) -> None:
    """Create every model of the local stack (and its permissions) with the real provider code."""
    loaded = load_stack(root, "local")
    assert loaded.ok, [p.line() for p in loaded.problems]
    raw = {
        "tuned-models:endpoint": "embedded",
        "tuned-models:emulatorStepSeconds": str(loaded.connection.emulator_step_seconds),
    }
    provider, grants = TunedModelProvider(), TunedModelPermissionProvider()
    for p in (provider, grants):
        p.configure(ConfigureRequest(Config(raw, "tuned-models")))
    for name, spec in loaded.models.items():
        inputs = model_inputs(
            "tuned-models",
            "local",
            name,
            spec,
            loaded.datasets[name],
            evaluation=loaded.evaluations.get(name),
        )
        created = provider.create(inputs.to_inputs())
        assert created.outs is not None and created.outs["state"] == "ACTIVE"
        for grant in spec.permissions:
            grants.create(permission_args(created.outs["name"], grant))


def plan_json(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["plan", "--stack", "local", "--format", "json", "--project-root", str(root)]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def actions(plan: dict[str, Any]) -> dict[str, str]:
    return {m["model"]: m["action"] for m in plan["models"]}


def test_plan_before_anything_exists_creates_every_model(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = plan_json(project, capsys)
    assert actions(plan) == {
        "number-generator": "create",
        "support-tickets": "create",
        "summarizer": "create",
    }
    grants = plan["models"][1]["permissions"]
    assert grants == [
        {"grantee": "user:newcomer@example.com", "change": "grant", "role": "READER", "old_role": None}
    ]


def test_plan_shows_no_change_update_retrain_create_and_delete_candidates(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    up(project)
    assert set(actions(plan_json(project, capsys)).values()) == {"no change"}

    def change(config: dict[str, Any]) -> None:
        models = config["tuned-models:models"]
        models["number-generator"]["description"] = "Counts up by one"
        models["support-tickets"]["hyperparameters"] = {"epochCount": 3}
        models["support-tickets"]["permissions"] = [
            {"user": "newcomer@example.com", "role": "WRITER"},
            {"everyone": True, "role": "READER"},
        ]
        del models["summarizer"]
        models["copy"] = {"dataset": "stacks/datasets/number-generator.jsonl"}

    edit_stack(project, change)
    plan = plan_json(project, capsys)
    assert actions(plan) == {
        "number-generator": "update in place",
        "support-tickets": "retrain",
        "copy": "create",
    }
    by_model = {m["model"]: m for m in plan["models"]}
    assert by_model["number-generator"]["changes"] == [
        {
            "field": "description",
            "old": "Next number in a sequence (the tuning tutorial's dataset)",
            "new": "Counts up by one",
        }
    ]
    assert by_model["support-tickets"]["changes"] == [
        {"field": "hyperparameters.epochCount", "old": 2, "new": 3}
    ]
    assert [d["model"] for d in plan["deleteCandidates"]] == ["summarizer"]
    assert plan["summary"] == {"update in place": 1, "retrain": 1, "create": 1, "delete candidate": 1}

    assert main(["plan", "--stack", "local", "--project-root", str(project)]) == 0
    captured = capsys.readouterr()
    markdown = captured.out
    assert "| number-generator | **update in place** |" in markdown
    assert "`hyperparameters.epochCount` 2 → 3" in markdown
    assert "- `tunedModels/summarizer-" in markdown
    assert "comparing support-tickets (2/3)" in captured.err  # progress goes to stderr


def test_plan_lists_permission_changes_beside_model_changes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    up(project)
    edit_stack(
        project,
        lambda c: c["tuned-models:models"]["support-tickets"].update(
            permissions=[
                {"user": "newcomer@example.com", "role": "WRITER"},
                {"group": "ml-team@googlegroups.com", "role": "READER"},
            ]
        ),
    )
    edit_stack(
        project,
        lambda c: c["tuned-models:models"]["number-generator"].update(
            permissions=[{"everyone": True, "role": "READER"}]
        ),
    )
    plan = plan_json(project, capsys)
    changes = {
        m["model"]: [(c["grantee"], c["change"], c["role"]) for c in m["permissions"]] for m in plan["models"]
    }
    assert changes["support-tickets"] == [
        ("user:newcomer@example.com", "role", "WRITER"),
        ("group:ml-team@googlegroups.com", "grant", "READER"),
    ]
    assert changes["number-generator"] == [("everyone", "grant", "READER")]
    assert actions(plan)["support-tickets"] == "no change"


def test_plan_shows_a_grant_made_outside_the_stack(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    up(project)
    client = connect("embedded", project_root=project)
    name = next(m.name for m in client.iter_tuned_models() if m.name.startswith("tunedModels/summarizer-"))
    client.create_permission(name, grantee_type="USER", email_address="intruder@example.com", role="WRITER")
    plan = plan_json(project, capsys)
    summarizer = next(m for m in plan["models"] if m["model"] == "summarizer")
    assert summarizer["permissions"] == [
        {"grantee": "user:intruder@example.com", "change": "not declared", "role": None, "old_role": "WRITER"}
    ]
    assert main(["plan", "--stack", "local", "--project-root", str(project)]) == 0
    assert (
        "| summarizer | `user:intruder@example.com` | not declared (WRITER): revoked if this stack "
        "granted it, else drift made outside the stack |"
    ) in capsys.readouterr().out


def test_status_shows_each_model_with_progress(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    up(project)
    assert main(["status", "--stack", "local", "--format", "json", "--project-root", str(project)]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert [r["model"] for r in rows] == ["number-generator", "support-tickets", "summarizer"]
    ng = rows[0]
    assert ng["state"] == "ACTIVE" and ng["percent"] == 100.0
    assert ng["step"] == ng["totalSteps"] == 19 and ng["epoch"] == ng["epochs"] == 5
    assert isinstance(ng["meanLoss"], float)
    assert main(["status", "--stack", "local", "--project-root", str(project)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "MODEL",
        "TUNED",
        "MODEL",
        "STATE",
        "DONE",
        "STEP",
        "EPOCH",
        "LOSS",
        "AGE",
        "GATE",
    ]
    assert table[1].split()[2:6] == ["ACTIVE", "100%", "19/19", "5/5"]


def test_status_of_a_stack_not_yet_created(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--stack", "local", "--format", "json", "--project-root", str(project)]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert {r["state"] for r in rows} == {"NOT CREATED"}


def test_plan_refuses_an_invalid_stack_with_its_problem_lines(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_stack(project, lambda c: c["tuned-models:models"]["summarizer"].update(temprature=0.3))
    assert main(["plan", "--stack", "local", "--project-root", str(project)]) == 1
    err = capsys.readouterr().err
    assert "stacks/Pulumi.local.yaml:summarizer:temprature: unknown key" in err
