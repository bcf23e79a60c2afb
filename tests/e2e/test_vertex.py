"""The vertex backend through the real Pulumi CLI, against the emulator's Vertex AI, Model
Registry, endpoints and Cloud Storage (issue 11's end-to-end list): two models up (SUCCEEDED,
answering generateContent), a no-op preview, an in-place patch, a dataset change that replaces
(the old endpoints and model gone), an endpoint deleted behind Pulumi's back recreated by a plain
up, ``plan`` and ``status`` on the stack, ``destroy`` leaving no endpoint or model (the jobs
stay); and a ``kill -9`` mid-training after which the recovery trains once."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Project, kill_group
from tests.e2e.test_lifecycle import changed_inputs, changed_steps, tuned_models
from tests.support.engine import Emulator
from tests.support.output import checked
from tests.support.vertex import BUCKET, LOCATION, PROJECT, VertexEmulator

CREATE = "aiplatform.CreateTuningJob"

TWO: dict[str, Any] = {
    "support-tickets": {
        "displayName": "support ticket router",
        "description": "Routes a support message",
        "dataset": "stacks/datasets/support-tickets.jsonl",
        "labels": {"team": "support"},
    },
    "summarizer": {
        "displayName": "one-sentence summarizer",
        "description": "Summarizes a paragraph",
        "baseModel": "gemini-2.5-flash-lite",
        "dataset": "stacks/datasets/summaries.csv",
        "hyperparameters": {"learningRateMultiplier": 0.5},
    },
}


def vertex_stack(emu: Emulator, models: dict[str, Any]) -> dict[str, Any]:
    return {
        "tuned-models:backend": "vertex",
        "tuned-models:endpoint": emu.base_url,
        "tuned-models:vertex": {"project": PROJECT, "location": LOCATION, "bucket": BUCKET},
        "tuned-models:defaults": {
            "baseModel": "gemini-2.5-flash",
            "hyperparameters": {"epochCount": 2, "adapterSize": 4},
            "timeout": "5m",
        },
        "tuned-models:models": models,
    }


def _recorded(project: Project) -> dict[str, dict[str, Any]]:
    """The TunedModel resources' outputs in the stack's state, by resource name."""
    return {
        r["urn"].split("::")[-1]: r["outputs"]
        for r in project.resources()
        if r["type"].endswith("TunedModel")
    }


def test_vertex_models_up_noop_patch_retrain_drift_plan_status_and_destroy(
    project: Project, emu: Emulator
) -> None:
    vertex = VertexEmulator(emu)
    project.write_stack(vertex_stack(emu, TWO))

    # 1. up: two tuning jobs SUCCEEDED, each model's endpoint answers generateContent.
    up = project.pulumi("up", "--yes")
    recorded = _recorded(project)
    jobs = {j["name"]: j for j in vertex.jobs()}
    assert sorted(recorded) == sorted(TWO)
    for name, outs in recorded.items():
        assert outs["state"] == "ACTIVE" and jobs[outs["tuningJob"]]["state"] == "JOB_STATE_SUCCEEDED"
        assert outs["model"].endswith("@1") and outs["billableTokens"] > 0
        assert vertex.generate(outs["endpoint"], "Where is my refund?").status_code == 200, name
    assert "support-tickets: tuning job" in up.stdout and "uploaded stacks/datasets" in up.stdout
    exports = project.outputs()
    assert (
        exports["summarizer"]["state"] == "ACTIVE" and "billable tokens" in exports["summarizer"]["summary"]
    )

    # 2. Nothing to do: a second preview finds no change.
    project.pulumi("preview", "--expect-no-changes")

    # 3. `status` and `plan` read the stack's state (the same frame as on the Gemini API) and
    # its jobs; the JSON (checked against docs/output.schema.json) names what each job made.
    status = tuned_models(project, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    [entry] = checked(status.stdout)["stacks"]
    assert entry["state"]["read"] is True and entry["otherModels"] == []
    rows = {r["model"]: r for r in entry["models"]}
    assert {r["state"] for r in rows.values()} == {"ACTIVE"} and set(rows) == set(TWO)
    for name, row in rows.items():
        outs = recorded[name]
        assert (row["tunedModel"], row["serving"], row["managedBy"]) == (outs["tuningJob"], True, "state")
        assert row["deployment"] == {
            "tuningJob": outs["tuningJob"],
            "model": outs["model"],
            "endpoint": outs["endpoint"],
        }
    plan = tuned_models(project, "plan", "--format", "json", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stderr
    document = checked(plan.stdout)
    assert document["changes"] is False
    assert {m["action"] for m in document["stacks"][0]["models"]} == {"none"}

    # 4. A changed description and labels: an update in place on the model.
    patched = {**TWO, "support-tickets": {**TWO["support-tickets"], "description": "Routes tickets"}}
    patched["support-tickets"]["labels"] = {"team": "help"}
    project.write_stack(vertex_stack(emu, patched))
    changes = changed_steps(project.preview_steps())
    assert list(changes) == ["support-tickets"]
    assert [s["op"] for s in changes["support-tickets"]] == ["update"]
    assert changed_inputs(changes["support-tickets"][0]) == {"description", "labels"}
    project.pulumi("up", "--yes")
    model = vertex.get(recorded["support-tickets"]["model"].partition("@")[0]).json()
    assert model["description"] == "Routes tickets" and model["labels"]["team"] == "help"
    assert len([e for e in vertex.journal(CREATE) if e["status"] == 200]) == 2

    # 5. A changed dataset retrains (create before delete); the old endpoints and model are gone.
    old = _recorded(project)["summarizer"]
    rows_text = (project.root / "stacks/datasets/summaries.csv").read_text()
    (project.root / "stacks/datasets/summaries.csv").write_text(
        rows_text + '"A short paragraph added for the test.","A sentence."\n'
    )
    changes = changed_steps(project.preview_steps())
    assert set(changes) == {"summarizer"} and "replace" in [s["op"] for s in changes["summarizer"]]
    project.pulumi("up", "--yes")
    new = _recorded(project)["summarizer"]
    assert new["tuningJob"] != old["tuningJob"] and new["state"] == "ACTIVE"
    assert vertex.get(old["model"].partition("@")[0]).status_code == 404
    assert all(vertex.get(c["endpoint"]).status_code == 404 for c in old["checkpoints"])
    project.pulumi("preview", "--expect-no-changes")

    # 6. An endpoint deleted behind Pulumi's back: `plan` says retrain (the job's model is deleted
    # first: it is what is left), a plain up recreates it.
    drifted = _recorded(project)["support-tickets"]
    vertex.delete_endpoint(drifted["endpoint"])
    plan = tuned_models(project, "plan", "--format", "json", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    models = {m["model"]: m for m in checked(plan.stdout)["stacks"][0]["models"]}
    assert {n: m["action"] for n, m in models.items()} == {"support-tickets": "retrain", "summarizer": "none"}
    retrain = models["support-tickets"]
    assert retrain["deleteFirst"] is True and retrain["current"] == drifted["tuningJob"]
    assert "was deleted" in retrain["reason"] and "its endpoints and its model" in retrain["reason"]
    assert retrain["deployment"] == {
        "tuningJob": drifted["tuningJob"],
        "model": drifted["model"],
        "endpoint": None,
    }
    project.pulumi("up", "--yes")
    again = _recorded(project)["support-tickets"]
    assert again["state"] == "ACTIVE" and again["tuningJob"] != drifted["tuningJob"]
    assert vertex.generate(again["endpoint"], "I cannot log in").status_code == 200
    assert vertex.get(drifted["model"].partition("@")[0]).status_code == 404
    project.pulumi("preview", "--expect-no-changes")

    # 7. destroy: no endpoint and no model left; the tuning jobs stay, as on the service.
    project.pulumi("destroy", "--yes")
    assert vertex.models() == [] and vertex.endpoints() == []
    assert len(vertex.jobs()) == 4
    assert [r["type"] for r in project.resources()] == []


def test_vertex_kill_9_mid_training_then_up_trains_once(project: Project, emu: Emulator) -> None:
    """The README's recovery after a killed `pulumi up` finds the submitted job by its labels."""
    vertex = VertexEmulator(emu)
    emu.admin("PATCH", "settings", {"stepSeconds": 0.25})
    project.write_stack(vertex_stack(emu, {"support-tickets": TWO["support-tickets"]}))
    proc = project.start("up", "--yes", "--skip-preview")
    try:
        deadline = time.monotonic() + 120
        while not [e for e in vertex.journal(CREATE) if e["status"] == 200]:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the tuning job was never submitted"
            time.sleep(0.2)
        time.sleep(1.0)  # now waiting for training
        assert [j["state"] for j in vertex.jobs()] in (["JOB_STATE_PENDING"], ["JOB_STATE_RUNNING"])
    finally:
        kill_group(proc)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    project.pulumi("cancel", "--yes")
    project.pulumi("refresh", "--clear-pending-creates", "--yes")
    up = project.pulumi("up", "--yes")
    assert "from an earlier run" in up.stdout
    created = [e["status"] for e in vertex.journal(CREATE)]
    assert created.count(200) == 1, created
    jobs = vertex.jobs()
    assert len(jobs) == 1 and jobs[0]["state"] == "JOB_STATE_SUCCEEDED"
    assert _recorded(project)["support-tickets"]["tuningJob"] == jobs[0]["name"]
    project.pulumi("preview", "--expect-no-changes")
    project.pulumi("destroy", "--yes")
    assert vertex.models() == [] and vertex.endpoints() == []
