"""Convergence under chaos: how many `up`s (and steps) finish in one run while the emulator
answers 20% of API calls with 429, 20% with 503 and drops 5% of connections.

Starts an emulator server and a real ``python -m pulumi.dynamic`` provider process, with the
product's own retry waits, then plays ROUNDS rounds, each on a new stack of MODELS models (on the
Gemini API each shared with a reader): create; update half of them in place and retrain one; a
no-change `up`; destroy. A step that raises is one that would need a second `up`. Prints the
counts and the wall time (the provider's retries wait in real time).
tests/engine/test_chaos.py is the one-round version in the suite (with retries ten times sooner).

Run: .venv/bin/python bench/bench_chaos.py [ROUNDS] [MODELS] [--backend gemini|vertex]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.chaos import Run, calm, chaos
from tests.support.engine import Emulator, config_for, inputs, running_emulator
from tests.support.harness import MiniEngine, ProviderProcess
from tests.support.vertex import TOKEN, vertex_config, vertex_inputs


@dataclass(frozen=True)
class Setup:
    """How the rounds are played on one backend."""

    config: Callable[[str], dict[str, Any]]  # the provider's config for an emulator's URL
    model: Callable[..., dict[str, Any]]  # a model's inputs: (stack, name, **spec)
    retrain: dict[str, Any]  # hyperparameters that retrain
    env: dict[str, str] = field(default_factory=dict)  # the provider's environment
    shared: bool = True  # each model shared with a reader


BACKENDS = {
    "gemini": Setup(config_for, inputs, {"epochCount": 3, "batchSize": 4, "learningRate": 0.001}),
    "vertex": Setup(
        vertex_config, vertex_inputs, {"epochCount": 3}, {"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN}, shared=False
    ),
}


def play(emu: Emulator, rounds: int, models: int, backend: str) -> list[Run]:
    """Play the rounds (see the module docstring) through a new provider process."""
    setup = BACKENDS[backend]
    runs: list[Run] = []
    with ProviderProcess(extra_env=setup.env) as proc:
        for round_ in range(rounds):
            eng = MiniEngine(proc, stack=f"chaos-{backend}-{round_}")
            eng.start(setup.config(emu.base_url))
            names = [f"model-{i}" for i in range(models)]
            specs = {n: setup.model(eng.stack, n) for n in names}
            changed = {n: setup.model(eng.stack, n, description=f"changed {round_}") for n in names[::2]}
            changed[names[-1]] = setup.model(eng.stack, names[-1], hyperparameters=setup.retrain)
            run = Run(eng, shared=setup.shared)
            chaos(emu, seed=round_)
            try:
                run.up(specs)
                run.up({**specs, **changed})
                run.up({**specs, **changed})
                run.destroy(names)
            finally:
                calm(emu)
            runs.append(run)
            print(f"round {round_ + 1}: {sum(run.ups)}/{len(run.ups)} ups converged in one run", flush=True)
    return runs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("models", nargs="?", type=int, default=4)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="gemini")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with running_emulator(step_seconds=0.01) as emu:
        runs = play(emu, args.rounds, args.models, args.backend)
    elapsed = time.monotonic() - started
    ups = [ok for run in runs for ok in run.ups]
    steps = sum(run.steps for run in runs)
    converged = sum(run.steps_converged for run in runs)
    print(f"backend: {args.backend}")
    print(f"ups:     {sum(ups)} of {len(ups)} converged in one run")
    print(f"steps:   {converged} of {steps} converged in one run")
    print(f"time:    {elapsed:.0f} s")
    for run in runs:
        if run.failed:
            print(run.report())
    return 0 if all(ups) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
