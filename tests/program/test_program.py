"""The Pulumi program under ``pulumi.runtime.set_mocks``, for every shipped stack."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import dill
import pytest

from tests.support.program import ROOT, TUNED_MODEL, Run, run_program, stack_file_config
from tuned_models.stack import list_stacks, load_stack
from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE as OWNER
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE as PERMISSION
from tuned_models.tuned_model import TunedModelProvider


@pytest.fixture(params=list_stacks(ROOT))
def shipped(request: pytest.FixtureRequest) -> Iterator[tuple[str, Run]]:
    stack = str(request.param)
    yield stack, run_program(stack, stack_file_config(stack))


def test_every_shipped_stack_declares_its_models_options_and_exports(shipped: tuple[str, Run]) -> None:
    stack, run = shipped
    assert run.error is None, run.error
    loaded = load_stack(ROOT, stack)
    models = {r.name: r for r in run.monitor.registrations if r.typ == TUNED_MODEL}
    assert set(models) == set(loaded.models)
    for name, spec in loaded.models.items():
        reg = models[name]
        assert reg.protect is spec.protect
        assert reg.retain_on_delete is spec.retainOnDelete
        inputs = run.provider.inputs[name]
        assert inputs["stack"] == stack and inputs["resourceName"] == name
        if spec.dataset is not None:
            assert inputs["dataset"] == spec.dataset
            assert inputs["datasetDigest"] == loaded.datasets[name].digest
            assert "examples" not in inputs
        assert run.monitor.exports[name] == {
            "name": f"tunedModels/{name}-0000aaaaaaaa",
            "state": "ACTIVE",
            "summary": run.monitor.exports[name]["summary"],
        }
        assert run.monitor.exports[name]["summary"].startswith("ACTIVE, 19 steps")
        grants = [
            r for r in run.monitor.registrations if r.typ == PERMISSION and r.name.startswith(f"{name}:")
        ]
        assert sorted(g.name for g in grants) == sorted(f"{name}:{p.key}" for p in spec.permissions)
        for g in grants:
            assert g.parent.endswith(f"{TUNED_MODEL}::{name}")
            # a plain, known name (not an unknown output during preview) and a real dependency
            assert run.provider.inputs[g.name]["model"].startswith(f"tunedModels/{name}-")
            assert any(d.endswith(f"{TUNED_MODEL}::{name}") for d in g.dependencies)
        owners = [r for r in run.monitor.registrations if r.typ == OWNER and r.name == f"{name}:owner"]
        assert len(owners) == (1 if spec.owner else 0)


def test_the_provider_is_pickled_by_reference_and_holds_no_data(shipped: tuple[str, Run]) -> None:
    _, run = shipped
    first = next(iter(v for k, v in run.provider.inputs.items() if "__provider" in v and ":" not in k))
    blob = first["__provider"]
    blob = blob.get("value", blob) if isinstance(blob, dict) else blob
    raw = base64.b64decode(blob)
    assert b"tuned_models.tuned_model" in raw and len(raw) < 200
    provider = dill.loads(raw)
    assert isinstance(provider, TunedModelProvider) and vars(provider) == {}


def test_reordering_permissions_changes_no_resource_name() -> None:
    config = stack_file_config("local")
    models = json.loads(config["tuned-models:models"])
    name = next(n for n, m in models.items() if len(m.get("permissions", [])) >= 1)
    models[name]["permissions"] = [*models[name]["permissions"], {"user": "x@example.com", "role": "READER"}]
    a = run_program("local", {**config, "tuned-models:models": json.dumps(models)})
    models[name]["permissions"].reverse()
    b = run_program("local", {**config, "tuned-models:models": json.dumps(models)})
    names_a = sorted(r.name for r in a.monitor.registrations)
    names_b = sorted(r.name for r in b.monitor.registrations)
    assert a.error is None and names_a == names_b


def test_depends_on_becomes_a_resource_dependency() -> None:
    config = stack_file_config("local")
    models = json.loads(config["tuned-models:models"])
    first, second = list(models)[:2]
    models[second]["dependsOn"] = [first]
    run = run_program("local", {**config, "tuned-models:models": json.dumps(models)})
    assert run.error is None
    reg = next(r for r in run.monitor.registrations if r.name == second and r.typ == TUNED_MODEL)
    assert any(d.endswith(f"{TUNED_MODEL}::{first}") for d in reg.dependencies)


def test_an_invalid_stack_fails_before_any_resource_with_the_problem_line() -> None:
    config = stack_file_config("local")
    models = json.loads(config["tuned-models:models"])
    name = next(iter(models))
    models[name]["temprature"] = 0.5
    run = run_program("local", {**config, "tuned-models:models": json.dumps(models)})
    assert run.error is not None
    assert f"stacks/Pulumi.local.yaml:{name}:temprature: unknown key" in str(run.error)
    assert [r for r in run.monitor.registrations if r.typ == TUNED_MODEL] == []


def test_a_warning_reaches_the_cli_once_labelled(caplog: pytest.LogCaptureFixture) -> None:
    """Pulumi's warning channel labels the line itself (``warning: ...``); the program's own
    line must not say it a second time."""
    config = stack_file_config("local")
    run = run_program("local", {**config, "tuned-models:models": "{}"})
    assert run.error is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["stacks/Pulumi.local.yaml:tuned-models:models: no models declared"]
