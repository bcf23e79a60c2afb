"""``tuned-models plan`` and ``status`` against the embedded emulator, after the provider
created the local stack's models."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.dynamic import Config, ConfigureRequest

from tests.support.output import checked
from tests.support.state import Recorded, export_document, write_state
from tuned_models.backends import close_backends
from tuned_models.cli import main
from tuned_models.gemini import connect
from tuned_models.model.desired import model_inputs
from tuned_models.permission import TunedModelPermissionProvider, permission_args
from tuned_models.stack import load_stack
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_TYPE
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


def up(root: Path) -> list[Recorded]:
    """Create every model of the local stack (and its permissions) with the real provider code;
    the resources as the state records them."""
    loaded = load_stack(root, "local")
    assert loaded.ok, [p.line() for p in loaded.problems]
    raw = {
        "tuned-models:endpoint": "embedded",
        "tuned-models:emulatorStepSeconds": str(loaded.connection.emulator_step_seconds),
    }
    provider, grants = TunedModelProvider(), TunedModelPermissionProvider()
    for p in (provider, grants):
        p.configure(ConfigureRequest(Config(raw, "tuned-models")))
    recorded: list[Recorded] = []
    for name, spec in loaded.models.items():
        inputs = model_inputs(
            "tuned-models",
            "local",
            name,
            spec,
            loaded.datasets[name],
            evaluation=loaded.evaluations.get(name),
        ).to_inputs()
        created = provider.create(inputs)
        assert created.outs is not None and created.outs["state"] == "ACTIVE"
        recorded.append(Recorded(name, TUNED_MODEL_TYPE, created.id, inputs, created.outs))
        for grant in spec.permissions:
            args = permission_args(created.outs["name"], grant)
            made = grants.create(args)
            assert made.outs is not None
            recorded.append(
                Recorded(f"{name}:{grant.key}", TUNED_MODEL_PERMISSION_TYPE, made.id, args, made.outs)
            )
    return recorded


def save_state(root: Path, recorded: list[Recorded]) -> Path:
    return write_state(root / "local.state.json", export_document("tuned-models", "local", recorded))


def plan_json(root: Path, capsys: pytest.CaptureFixture[str], *state: str) -> dict[str, Any]:
    """The plan's entry for the local stack (``state``: --state FILE, or --no-state by default)."""
    args = ["plan", "--stack", "local", "--format", "json", "--project-root", str(root)]
    assert main([*args, *(state or ["--no-state"])]) == 0
    document = checked(capsys.readouterr().out)
    assert document["schemaVersion"] == 1 and document["command"] == "plan" and document["ok"] is True
    [entry] = document["stacks"]
    assert document["changes"] is entry["changes"]
    result: dict[str, Any] = entry
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
    assert plan["partial"] is True and plan["changes"] is True
    grants = plan["models"][1]["permissions"]
    assert grants == [
        {
            "grantee": "user:newcomer@example.com",
            "change": "grant",
            "role": "READER",
            "oldRole": None,
            "note": "",
            "isChange": True,
        }
    ]


def _change_the_stack(config: dict[str, Any]) -> None:
    models = config["tuned-models:models"]
    models["number-generator"]["description"] = "Counts up by one"
    models["support-tickets"]["hyperparameters"] = {"epochCount": 3}
    models["support-tickets"]["permissions"] = [
        {"user": "newcomer@example.com", "role": "WRITER"},
        {"everyone": True, "role": "READER"},
    ]
    del models["summarizer"]
    models["copy"] = {"dataset": "stacks/datasets/number-generator.jsonl"}


def test_plan_with_state_shows_update_retrain_create_and_the_delete(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = save_state(project, up(project))
    before = plan_json(project, capsys, "--state", str(state))
    assert set(actions(before).values()) == {"none"} and before["changes"] is False
    assert before["partial"] is False and before["otherModels"] == []

    dataset = project / "stacks" / "datasets" / "number-generator.jsonl"
    dataset.write_text(dataset.read_text() + '{"textInput": "41", "output": "42"}\n')
    grown = plan_json(project, capsys, "--state", str(state))
    [retrain] = [m for m in grown["models"] if m["action"] != "none"]
    assert (retrain["model"], retrain["action"]) == ("number-generator", "retrain")
    assert retrain["reason"] == (
        "dataset stacks/datasets/number-generator.jsonl changed: 15 -> 16 examples; then the quality "
        "gate (exactMatch >= 0.7) must pass before it replaces the serving model (which stays if the "
        "gate fails)"
    )
    assert retrain["evaluates"] is True
    dataset.write_text("".join(dataset.read_text().splitlines(keepends=True)[:-1]))

    edit_stack(project, _change_the_stack)
    plan = plan_json(project, capsys, "--state", str(state))
    assert actions(plan) == {
        "number-generator": "update",
        "support-tickets": "retrain",
        "copy": "create",
        "summarizer": "delete",
    }
    by_model = {m["model"]: m for m in plan["models"]}
    assert [(m["step"]) for m in plan["models"]] == ["update", "replace", "create", "delete"]
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
    assert by_model["summarizer"]["reason"] == "no longer declared: deleted from the service"
    sharing = [(g["grantee"], g["change"], g["note"]) for g in by_model["support-tickets"]["permissions"]]
    assert sharing == [
        ("user:newcomer@example.com", "regrant", "granted on the retrained model"),
        ("everyone", "grant", ""),
    ]
    assert plan["summary"] == {
        "create": 1,
        "adopt": 0,
        "retrain": 1,
        "update": 1,
        "re-evaluate": 0,
        "delete": 1,
        "forget": 0,
        "none": 0,
        "sharing": 2,
        "orphan": 0,
        "not managed": 0,
        "not attributed": 0,
    }

    code = main(["plan", "--stack", "local", "--project-root", str(project), "--state", str(state)])
    assert code == 0
    captured = capsys.readouterr()
    markdown = captured.out
    assert "| number-generator | **update in place** |" in markdown
    assert "`hyperparameters.epochCount` `2` → `3`" in markdown
    assert "| summarizer | **delete** | `tunedModels/summarizer-" in markdown
    assert "Summary: 1 create, 1 retrain, 1 update in place, 1 delete, 2 sharing changes." in markdown
    assert "comparing support-tickets (2/3)" in captured.err  # progress goes to stderr


def test_plan_without_state_never_calls_a_tagged_model_this_stacks_delete(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    up(project)
    edit_stack(project, _change_the_stack)
    plan = plan_json(project, capsys)
    assert plan["partial"] is True
    assert actions(plan) == {"number-generator": "update", "support-tickets": "create", "copy": "create"}
    others = {o["model"]: o["kind"] for o in plan["otherModels"]}
    assert others == {"summarizer": "not attributed", "support-tickets": "not attributed"}
    retrain = next(m for m in plan["models"] if m["model"] == "support-tickets")
    assert "if it is this stack's earlier version" in retrain["reason"]
    assert any(n.startswith("partial plan: Pulumi state not read (--no-state)") for n in plan["notes"])


def test_detailed_exitcode_says_whether_up_changes_anything(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = save_state(project, up(project))
    args = ["plan", "--stack", "local", "--project-root", str(project), "--detailed-exitcode"]
    assert main([*args, "--state", str(state)]) == 0
    edit_stack(project, lambda c: c["tuned-models:models"]["summarizer"].update(topK=7))
    assert main([*args, "--state", str(state)]) == 2
    assert main([*args, "--state", str(project / "missing.json")]) == 1
    assert "missing.json: cannot read" in capsys.readouterr().err


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
    assert actions(plan)["support-tickets"] == "none"
    assert plan["summary"]["sharing"] == 3


def test_plan_shows_a_grant_made_outside_the_stack(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = save_state(project, up(project))
    client = connect("embedded", project_root=project)
    name = next(m.name for m in client.iter_tuned_models() if m.name.startswith("tunedModels/summarizer-"))
    client.create_permission(name, grantee_type="USER", email_address="intruder@example.com", role="WRITER")
    plan = plan_json(project, capsys, "--state", str(state))
    summarizer = next(m for m in plan["models"] if m["model"] == "summarizer")
    assert summarizer["permissions"] == [
        {
            "grantee": "user:intruder@example.com",
            "change": "not managed",
            "role": None,
            "oldRole": "WRITER",
            "note": "made outside this stack; `pulumi up` leaves it",
            "isChange": False,
        }
    ]
    assert plan["changes"] is False
    assert main(["plan", "--stack", "local", "--project-root", str(project), "--state", str(state)]) == 0
    assert (
        "| summarizer | `user:intruder@example.com` | not managed (WRITER): made outside this stack; "
        "\\`pulumi up\\` leaves it |"
    ) in capsys.readouterr().out


def test_markdown_escapes_what_it_quotes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = save_state(project, up(project))
    hostile = "Sum <img src=x> | **bold** `tick` [link](http://x)\nnext"
    edit_stack(project, lambda c: c["tuned-models:models"]["summarizer"].update(description=hostile))
    assert main(["plan", "--stack", "local", "--project-root", str(project), "--state", str(state)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| summarizer |"))
    assert row.count(" | ") == 4  # the user's | does not make a new cell (the stack has gates)
    # Quoted in a code span (HTML, emphasis and links are literal there), the | escaped.
    assert "→ ``Sum <img src=x> \\| **bold** `tick` [link](http://x) next`` |" in row


def test_status_shows_each_model_with_progress(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = save_state(project, up(project))
    args = ["status", "--stack", "local", "--project-root", str(project), "--state", str(state)]
    assert main([*args, "--format", "json"]) == 0
    [entry] = checked(capsys.readouterr().out)["stacks"]
    rows = entry["models"]
    assert {r["managedBy"] for r in rows} == {"state"}
    assert [r["model"] for r in rows] == ["number-generator", "support-tickets", "summarizer"]
    ng = rows[0]
    assert ng["state"] == "ACTIVE" and ng["percent"] == 100.0
    assert ng["step"] == ng["totalSteps"] == 19 and ng["epoch"] == ng["epochs"] == 5
    assert isinstance(ng["meanLoss"], float)
    assert main(args) == 0
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


def gate_of(records: list[Recorded], model: str) -> dict[str, Any]:
    """The ``evaluation`` output the provider recorded for ``model``."""
    gate: dict[str, Any] = next(r for r in records if r.name == model).outputs["evaluation"]
    return gate


def test_a_changed_gate_is_a_re_evaluation_and_status_shows_the_recorded_score(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = up(project)
    state = save_state(project, records)
    score = gate_of(records, "number-generator")["score"]
    args = ["status", "--stack", "local", "--project-root", str(project), "--state", str(state)]
    assert main([*args, "--format", "json"]) == 0
    ng = checked(capsys.readouterr().out)["stacks"][0]["models"][0]
    assert ng["serving"] is True
    assert ng["evaluation"] == {"metric": "exactMatch", "score": score, "minScore": 0.7, "passed": True}
    assert main(args) == 0
    assert f"exactMatch {score:.4g}>=0.7" in capsys.readouterr().out.splitlines()[1]

    edit_stack(
        project, lambda c: c["tuned-models:models"]["number-generator"]["evaluation"].update(minScore=0.5)
    )
    plan = plan_json(project, capsys, "--state", str(state))
    ng = plan["models"][0]
    assert (ng["action"], ng["step"], ng["evaluates"]) == ("re-evaluate", "update", True)
    assert ng["changes"] == [{"field": "evaluation.minScore", "old": 0.7, "new": 0.5}]
    assert ng["reason"] == (
        "the same model is evaluated against the changed gate (exactMatch >= 0.5); nothing retrains"
    )
    assert ng["gate"] == {"metric": "exactMatch", "minScore": 0.5, "recordedScore": score}
    assert plan["summary"]["re-evaluate"] == 1 and plan["changes"] is True
    assert main(["plan", "--stack", "local", "--project-root", str(project), "--state", str(state)]) == 0
    row = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("| number-generator |")
    )
    assert row.startswith("| number-generator | **re-evaluate** | `tunedModels/number-generator-")
    assert f"| exactMatch ≥ 0.5, last {score:.4g}, **evaluated** |" in row


def test_a_model_trained_but_not_recorded_is_adopted_by_the_plan_and_not_serving_in_status(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = up(project)
    # As Pulumi's state is after an `up` whose gate failed (or that was interrupted): the trained
    # model is on the service, and the state does not record it.
    state = save_state(project, [r for r in records if not r.name.startswith("number-generator")])
    trained = next(r for r in records if r.name == "number-generator").outputs["name"]
    plan = plan_json(project, capsys, "--state", str(state))
    ng = plan["models"][0]
    assert (ng["action"], ng["step"], ng["tunedModel"], ng["evaluates"]) == (
        "create",
        "create",
        trained,
        True,
    )
    assert ng["reason"] == (
        f"{trained} is trained but not recorded (its quality gate failed, or its `up` was interrupted): "
        "`pulumi up` adopts it without training; then the quality gate (exactMatch >= 0.7) must pass "
        "before it is recorded"
    )
    assert ng["gate"] == {"metric": "exactMatch", "minScore": 0.7, "recordedScore": None}
    args = ["status", "--stack", "local", "--project-root", str(project), "--state", str(state)]
    assert main([*args, "--format", "json"]) == 0
    row = checked(capsys.readouterr().out)["stacks"][0]["models"][0]
    assert (row["tunedModel"], row["managedBy"], row["serving"], row["evaluation"]) == (
        trained,
        "declared id",
        False,
        None,
    )
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("not serving")


def test_status_of_a_stack_not_yet_created(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["status", "--stack", "local", "--format", "json", "--project-root", str(project), "--no-state"]
    assert main(args) == 0
    rows = checked(capsys.readouterr().out)["stacks"][0]["models"]
    assert {r["state"] for r in rows} == {"NOT CREATED"}


def test_plan_refuses_an_invalid_stack_with_its_problem_lines(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_stack(project, lambda c: c["tuned-models:models"]["summarizer"].update(temprature=0.3))
    assert main(["plan", "--stack", "local", "--project-root", str(project)]) == 1
    err = capsys.readouterr().err
    assert "stacks/Pulumi.local.yaml:summarizer:temprature: unknown key" in err
