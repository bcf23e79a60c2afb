"""Convergence under chaos: how many `up`s (and steps) finish in one run while the emulator
answers 20% of API calls with 429, 20% with 503 and drops 5% of connections.

Starts an emulator server and a real ``python -m pulumi.dynamic`` provider process, then plays
ROUNDS rounds, each on a new stack of MODELS models shared with a reader: create; update half of
them in place and retrain one; a no-change `up`; destroy. A step that raises is one that would
need a second `up`. Prints the counts and the wall time (the provider's retries wait in real
time). tests/engine/test_chaos.py is the one-round version in the suite.

Run: .venv/bin/python bench/bench_chaos.py [ROUNDS] [MODELS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.chaos import Run, calm, chaos
from tests.support.engine import Emulator, config_for, inputs, running_emulator
from tests.support.harness import MiniEngine, ProviderProcess

HYPER = {"epochCount": 3, "batchSize": 4, "learningRate": 0.001}


def play(emu: Emulator, rounds: int, models: int) -> list[Run]:
    """Play the rounds (see the module docstring) through a new provider process."""
    proc = ProviderProcess()
    runs: list[Run] = []
    try:
        for round_ in range(rounds):
            eng = MiniEngine(proc, stack=f"chaos-{round_}")
            eng.start(config_for(emu.base_url))
            names = [f"model-{i}" for i in range(models)]
            specs = {n: inputs(eng.stack, n) for n in names}
            changed = {n: inputs(eng.stack, n, description=f"changed {round_}") for n in names[::2]}
            changed[names[-1]] = inputs(eng.stack, names[-1], hyperparameters=HYPER)
            run = Run(eng)
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
    finally:
        proc.close()
    return runs


def main(rounds: int = 3, models: int = 4) -> int:
    started = time.monotonic()
    with running_emulator(step_seconds=0.01) as emu:
        runs = play(emu, rounds, models)
    elapsed = time.monotonic() - started
    ups = [ok for run in runs for ok in run.ups]
    steps = sum(run.steps for run in runs)
    converged = sum(run.steps_converged for run in runs)
    print(f"ups:   {sum(ups)} of {len(ups)} converged in one run")
    print(f"steps: {converged} of {steps} converged in one run")
    print(f"time:  {elapsed:.0f} s")
    for run in runs:
        if run.failed:
            print(run.report())
    return 0 if all(ups) else 1


if __name__ == "__main__":
    raise SystemExit(main(*(int(a) for a in sys.argv[1:3])))
