"""Wall time of 12 models created at once through the real provider server, against one.

Starts the emulator server (each training takes about TRAINING_SECONDS), starts a real
``python -m pulumi.dynamic`` provider process, plays the engine's Create calls for 1 model, then
for 12 models at once (the engine runs up to 4 x cores steps in parallel; here all 12), and
prints the ratio of the two wall times. Target (issue 3): at most 1.3. With the stock 4-worker
server the ratio would be about 3.

Run: .venv/bin/python bench/bench_parallel_create.py
"""

from __future__ import annotations

import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.engine import TUNED_MODEL, config_for, inputs
from tests.support.harness import MiniEngine, ProviderProcess
from tuned_models_emulator.server import serve_in_thread

TRAINING_SECONDS = 6.0
STEPS = math.ceil(15 * 5 / 4)  # the engine tests' model: 15 examples, batch 4, 5 epochs


def timed_up(eng: MiniEngine, names: list[str]) -> float:
    start = time.monotonic()
    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda n: eng.up(n, TUNED_MODEL, inputs(eng.stack, n)).op, names))
    assert results == ["create"] * len(names), results
    return time.monotonic() - start


def main() -> int:
    server = serve_in_thread(step_seconds=TRAINING_SECONDS / STEPS)
    proc = ProviderProcess()
    try:
        one = MiniEngine(proc, stack="bench-one")
        one.start(config_for(server.base_url))
        single = timed_up(one, ["solo"])
        many = MiniEngine(proc, stack="bench-twelve")
        many.start(config_for(server.base_url))
        twelve = timed_up(many, [f"model-{i}" for i in range(12)])
    finally:
        proc.close()
        server.stop()
    print(f"1 model:   {single:.2f} s")
    print(f"12 models: {twelve:.2f} s")
    print(f"ratio 12/1: {twelve / single:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
