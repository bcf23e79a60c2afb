"""Chaos through the real provider server: every `up` converges in one run under 20% 429, 20% 503
and 5% dropped connections (issue 13).

Three models, each shared with a reader, go through four `up`s the way the engine plays them
(refresh, then create / update / replace / delete, the models of one `up` at the same time):
create, update in place, retrain (create before delete, the grant follows the new model),
destroy. A step that raises is one that would need a second `up`; there must be none. The
provider process waits out the injected faults in real time (its retries): about 40 s on two
busy cores; the dice are seeded. `pytest tests/engine/test_chaos.py -s` prints the figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import grpc
import pytest

from tests.support.chaos import calm, chaos
from tests.support.engine import TUNED_MODEL, Emulator, inputs
from tests.support.harness import PROVIDER_KEY, MiniEngine, serialize_provider
from tuned_models.model.spec import PermissionSpec
from tuned_models.permission import TunedModelPermissionProvider, permission_args
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE as PERMISSION

GRANTS = serialize_provider(TunedModelPermissionProvider())
MODELS = ("alpha", "beta", "gamma")
READER = {"user": "reader@example.com", "role": "READER"}
#: Generous: the provider's retries under these faults take a few seconds per `up`.
BUDGET_SECONDS = 240.0


def grant(model: str) -> dict[str, Any]:
    return {**permission_args(model, PermissionSpec.model_validate(READER)), PROVIDER_KEY: GRANTS}


class Run:
    """Plays `up`s and records every step that failed (each would need a second `up`)."""

    def __init__(self, engine: MiniEngine) -> None:
        self.engine = engine
        self.steps = 0
        self.failed: list[str] = []

    def step(self, what: str, action: Callable[[], object]) -> bool:
        """Run one step; a step that fails is recorded and run again, as a second `up` would."""
        self.steps += 1
        for attempt in range(3):
            try:
                action()
            except grpc.RpcError as e:
                self.failed.append(f"{what} (run {attempt + 1}): {e.details()}")
            else:
                return True
        return False

    def up(self, specs: dict[str, dict[str, Any]]) -> None:
        """One `up`: refresh what exists, then each model and its grant, the models in parallel."""
        eng = self.engine

        def chain(name: str) -> None:
            for urn_name, typ in ((name, TUNED_MODEL), (f"{name}:reader", PERMISSION)):
                if eng.urn(urn_name, typ) in eng.state:
                    self.step(f"refresh {urn_name}", partial(eng.refresh, urn_name, typ))
            if not self.step(f"up {name}", lambda: eng.up(name, TUNED_MODEL, specs[name])):
                return
            model = eng.outputs(name, TUNED_MODEL)["name"]
            self.step(f"up {name}:reader", lambda: eng.up(f"{name}:reader", PERMISSION, grant(model)))

        with ThreadPoolExecutor(len(specs)) as pool:
            list(pool.map(chain, specs))

    def destroy(self) -> None:
        """`pulumi destroy`: each grant, then its model, the models in parallel."""
        eng = self.engine

        def chain(name: str) -> None:
            for urn_name, typ in ((f"{name}:reader", PERMISSION), (name, TUNED_MODEL)):
                urn = eng.urn(urn_name, typ)
                if urn in eng.state and self.step(
                    f"destroy {urn_name}", partial(eng.delete, urn, eng.state[urn])
                ):
                    del eng.state[urn]

        with ThreadPoolExecutor(len(MODELS)) as pool:
            list(pool.map(chain, MODELS))


def live(emu: Emulator) -> dict[str, dict[str, Any]]:
    return {m["displayName"]: m for m in emu.models()}


def test_every_up_converges_in_one_run_under_429s_503s_and_dropped_connections(
    engine: MiniEngine, emu: Emulator
) -> None:
    specs = {n: inputs(engine.stack, n, displayName=n) for n in MODELS}
    run = Run(engine)
    started = time.monotonic()

    chaos(emu)
    run.up(specs)  # create
    calm(emu)
    assert {n: m["state"] for n, m in live(emu).items()} == dict.fromkeys(MODELS, "ACTIVE")

    chaos(emu)
    changed = {
        **specs,
        "alpha": inputs(engine.stack, "alpha", displayName="alpha", description="Counts up"),
        "beta": inputs(engine.stack, "beta", displayName="beta", temperature=0.2),
    }
    run.up(changed)  # update in place (and a same step)
    calm(emu)
    models = live(emu)
    assert models["alpha"]["description"] == "Counts up"
    assert models["beta"]["temperature"] == pytest.approx(0.2)

    chaos(emu)
    hyper = {"epochCount": 3, "batchSize": 4, "learningRate": 0.001}
    retrain = {**changed, "gamma": inputs(engine.stack, "gamma", displayName="gamma", hyperparameters=hyper)}
    old_gamma = engine.outputs("gamma", TUNED_MODEL)["name"]
    run.up(retrain)  # retrain: create before delete
    calm(emu)
    new_gamma = engine.outputs("gamma", TUNED_MODEL)["name"]
    assert new_gamma != old_gamma and live(emu)["gamma"]["name"] == new_gamma
    readers = emu.api("GET", f"/v1beta/{new_gamma}/permissions").json()["permissions"]
    assert [p.get("emailAddress") for p in readers if p["role"] == "READER"] == ["reader@example.com"]

    chaos(emu)
    run.destroy()
    calm(emu)
    elapsed = time.monotonic() - started

    first_run = run.steps - len({f.split(" (run")[0] for f in run.failed})
    print(f"chaos: {run.steps} steps, {first_run} converged in one run, {elapsed:.0f} s")
    assert run.failed == [], "\n".join(f.splitlines()[0] + " ... " + f.splitlines()[-1] for f in run.failed)
    assert emu.models() == []
    trained = [e for e in emu.journal("CreateTunedModel") if e["status"] == 200]
    assert len(trained) == len(MODELS) + 1  # no training twice: three models and gamma's retrain
    assert elapsed < BUDGET_SECONDS
