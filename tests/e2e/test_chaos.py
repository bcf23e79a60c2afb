"""Chaos through the real Pulumi CLI: under 20% 429, 20% 503 and 5% dropped connections on every
API call, each command on three shared models (`up` to create, `up` to update one in place and
retrain another, `destroy`) converges in one run, and the retries show in its output (issue 13).

The provider waits out the faults in real time (each command's refresh included), so the
commands skip their preview; its retries come ten times sooner than the product's
(:func:`tests.support.chaos.quick_retries`: the same faults and decisions, a tenth of the
waiting; ``bench/bench_chaos.py`` runs the product's own waits), each command bounded by
``COMMAND_TIMEOUT``. `pytest tests/e2e/test_chaos.py -s` prints the figures.
"""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

from tests.e2e.conftest import Project
from tests.e2e.test_lifecycle import THREE, live, stack_config, with_key
from tests.support.chaos import calm, chaos, quick_retries
from tests.support.engine import Emulator

READER = {"user": "reader@example.com", "role": "READER"}
#: A bound on the whole run, far above what it takes.
BUDGET_SECONDS = 300.0


def shared(models: dict[str, Any]) -> dict[str, Any]:
    return {name: {**spec, "permissions": [READER]} for name, spec in models.items()}


def readers(emu: Emulator, model: str) -> list[str]:
    perms = emu.api("GET", f"/v1beta/{model}/permissions").json().get("permissions", [])
    return [p["emailAddress"] for p in perms if p["role"] == "READER"]


def test_every_up_converges_in_one_run_under_429s_503s_and_dropped_connections(
    project: Project, emu: Emulator
) -> None:
    with_key(project)
    project.env.update(quick_retries(project.env))
    started = time.monotonic()
    runs: list[subprocess.CompletedProcess[str]] = []

    def under_chaos(*args: str) -> subprocess.CompletedProcess[str]:
        chaos(emu)
        try:
            runs.append(project.pulumi(*args, check=False))
        finally:
            calm(emu)
        assert runs[-1].returncode == 0, f"pulumi {' '.join(args)} needed a second run:\n{runs[-1].stdout}"
        return runs[-1]

    # 1. create: three models, each shared with a reader.
    project.write_stack(stack_config(emu, shared(THREE)))
    under_chaos("up", "--yes", "--skip-preview")
    models = live(emu)
    assert len(models) == 3 and {m["state"] for m in models.values()} == {"ACTIVE"}
    assert all(readers(emu, name) == ["reader@example.com"] for name in models)

    # 2. update one model in place and retrain another (create before delete; its grant follows).
    old = project.outputs()["number-generator"]["name"]
    changed = {
        **THREE,
        "summarizer": {**THREE["summarizer"], "description": "Summarizes in one line"},
        "number-generator": {**THREE["number-generator"], "hyperparameters": {"epochCount": 3}},
    }
    project.write_stack(stack_config(emu, shared(changed)))
    under_chaos("up", "--yes", "--skip-preview")
    outputs = project.outputs()
    models = live(emu)
    assert models[outputs["summarizer"]["name"]]["description"] == "Summarizes in one line"
    new = outputs["number-generator"]["name"]
    assert new != old and old not in models and models[new]["state"] == "ACTIVE"
    assert readers(emu, new) == ["reader@example.com"]
    project.pulumi("preview", "--expect-no-changes")

    # 3. destroy.
    under_chaos("destroy", "--yes", "--skip-preview")
    assert live(emu) == {}
    elapsed = time.monotonic() - started

    retries = [len(re.findall(r"\. Retry \d of 4 in \d+\.\d s\.", run.stdout)) for run in runs]
    assert re.search(r": 503 UNAVAILABLE: .*\. Retry 1 of 4 in 0\.1 s\.", runs[0].stdout)  # the quick ones
    print(f"chaos e2e: {len(runs)} commands converged in one run each, {retries} retries, {elapsed:.0f} s")
    assert all(retries[:2])  # every `up` reported its retries
    creates = [e for e in emu.journal("CreateTunedModel") if e["status"] == 200]
    assert len(creates) == 4  # three models and one retrain: nothing trained twice
    assert elapsed < BUDGET_SECONDS
