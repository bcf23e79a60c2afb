"""Chaos through the real provider server: every `up` converges in one run under 20% 429, 20% 503
and 5% dropped connections (issue 13).

Three models, each shared with a reader, go through three `up`s the way the engine plays them
(refresh, then create / update / replace / delete, the models of one `up` at the same time):
create; update two in place and retrain the third (create before delete, its grant follows the
new model); destroy. Two Vertex AI models go through the same (one patched, one retrained), with
every call to Vertex AI and Cloud Storage under the same faults. A step that raises is one that
would need a second `up`; there must be none. The
provider process waits out the injected faults in real time, its retries ten times sooner than
the product's (:func:`tests.support.chaos.quick_retries`: the same faults and decisions, a tenth
of the waiting; ``bench/bench_chaos.py`` runs the product's own waits); the dice are seeded.
`pytest tests/engine/test_chaos.py -s` prints the figures.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.chaos import Run, calm, chaos, quick_retries
from tests.support.engine import TUNED_MODEL, Emulator, config_for, engine_on, inputs
from tests.support.harness import MiniEngine, ProviderProcess
from tests.support.vertex import TOKEN, VertexEmulator, vertex_config, vertex_inputs

MODELS = ("alpha", "beta", "gamma")
#: Generous: the provider's retries under these faults take a few seconds per `up`.
BUDGET_SECONDS = 120.0


@contextmanager
def quick_engine(config: Mapping[str, Any], **env: str) -> Iterator[MiniEngine]:
    """An engine on a provider process of its own (``env`` added), whose retries are the quick
    ones."""
    with ProviderProcess(extra_env={**env, **quick_retries(os.environ)}) as proc:
        yield engine_on(proc, config)


@pytest.fixture
def engine(emulator_server: Emulator) -> Iterator[MiniEngine]:
    with quick_engine(config_for(emulator_server.base_url)) as eng:
        yield eng


def assert_converged(run: Run, engine: MiniEngine, started: float, label: str) -> None:
    """Print the figures; every step converged in one run, within the budget, and the
    provider's retries were the quick ones (a 503's first after 0.1 s, not 1 s), reported."""
    elapsed = time.monotonic() - started
    print(
        f"{label}: {len(run.ups)} ups, {sum(run.ups)} converged in one run; {run.steps} steps, "
        f"{run.steps_converged} converged in one run; {elapsed:.0f} s"
    )
    assert run.failed == [], run.report()
    assert re.search(r": 503 UNAVAILABLE: .*\. Retry 1 of 4 in 0\.1 s\.", engine.proc.output())
    assert elapsed < BUDGET_SECONDS


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
    hyper = {"epochCount": 3, "batchSize": 4, "learningRate": 0.001}
    changed = {
        "alpha": inputs(engine.stack, "alpha", displayName="alpha", description="Counts up"),
        "beta": inputs(engine.stack, "beta", displayName="beta", temperature=0.2),
        "gamma": inputs(engine.stack, "gamma", displayName="gamma", hyperparameters=hyper),
    }
    old_gamma = engine.outputs("gamma", TUNED_MODEL)["name"]
    run.up(changed)  # update two in place, retrain one (create before delete)
    calm(emu)
    models = live(emu)
    assert models["alpha"]["description"] == "Counts up"
    assert models["beta"]["temperature"] == pytest.approx(0.2)
    new_gamma = engine.outputs("gamma", TUNED_MODEL)["name"]
    assert new_gamma != old_gamma and models["gamma"]["name"] == new_gamma
    readers = emu.api("GET", f"/v1beta/{new_gamma}/permissions").json()["permissions"]
    assert [p.get("emailAddress") for p in readers if p["role"] == "READER"] == ["reader@example.com"]

    chaos(emu)
    run.destroy(MODELS)
    calm(emu)

    assert_converged(run, engine, started, "chaos")
    assert emu.models() == []
    trained = [e for e in emu.journal("CreateTunedModel") if e["status"] == 200]
    assert len(trained) == len(MODELS) + 1  # nothing trained twice: each model, and gamma's retrain


def test_every_vertex_up_converges_in_one_run_under_the_same_faults(
    emulator_server: Emulator, emu: Emulator
) -> None:
    vertex = VertexEmulator(emu)
    with quick_engine(vertex_config(emulator_server.base_url), GOOGLE_OAUTH_ACCESS_TOKEN=TOKEN) as engine:
        specs = {n: vertex_inputs(engine.stack, n) for n in ("tickets", "triage")}
        run = Run(engine, shared=False)
        started = time.monotonic()

        chaos(emu)
        run.up(specs)  # create: look for a job, upload the dataset, submit, wait, read the products
        calm(emu)
        assert sorted(j["state"] for j in vertex.jobs()) == ["JOB_STATE_SUCCEEDED"] * 2

        chaos(emu)
        changed = {
            "tickets": vertex_inputs(engine.stack, "tickets", description="Routes tickets"),
            "triage": vertex_inputs(engine.stack, "triage", hyperparameters={"epochCount": 3}),
        }
        old_triage = engine.outputs("triage", TUNED_MODEL)
        run.up(changed)  # patch one model, retrain the other (create before delete)
        calm(emu)
        tickets = engine.outputs("tickets", TUNED_MODEL)
        assert vertex.get(tickets["model"]).json()["description"] == "Routes tickets"
        assert engine.outputs("triage", TUNED_MODEL)["name"] != old_triage["name"]
        assert vertex.get(old_triage["endpoint"]).status_code == 404

        chaos(emu)
        run.destroy(specs)  # cancel nothing, undeploy and delete every endpoint, delete the models
        calm(emu)
        assert_converged(run, engine, started, "chaos (vertex)")
    assert vertex.models() == [] and vertex.endpoints() == []
    created = [e for e in vertex.journal("aiplatform.CreateTuningJob") if e["status"] == 200]
    assert len(created) == 3  # nothing trained twice: each model, and triage's retrain
