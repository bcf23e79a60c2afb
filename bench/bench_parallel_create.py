"""Wall time of 12 models created at once through the real provider server, against one.

Starts the emulator server (each training takes about TRAINING_SECONDS), starts a real
``python -m pulumi.dynamic`` provider process, plays the engine's Create calls for 1 model, then
for 12 models at once (the engine runs up to 4 x cores steps in parallel; here all 12), and
prints the ratio of the two wall times. Target (issue 3, and issue 11 for vertex): at most 1.3.
With the stock 4-worker server the ratio would be about 3.

``--backend vertex`` does the same with Vertex AI tuning jobs on the emulator's Vertex AI and
Cloud Storage (each model uploads its dataset, by digest, submits a job, waits for it to
succeed and reads its model and endpoint).

Run: .venv/bin/python bench/bench_parallel_create.py [--backend gemini|vertex]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.engine import TUNED_MODEL, config_for, inputs
from tests.support.harness import MiniEngine, ProviderProcess
from tests.support.vertex import vertex_config, vertex_inputs
from tuned_models_emulator.server import serve_in_thread

TRAINING_SECONDS = 6.0
#: Steps of one training: the engine tests' Gemini model (15 examples, batch 4, 5 epochs); the
#: vertex model (a pending step, then 2 epochs of ceil(126 / 8) steps of the emulator's batch 8).
STEPS = {"gemini": math.ceil(15 * 5 / 4), "vertex": 1 + 2 * math.ceil(126 / 8)}
BACKENDS: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[[str, str], dict[str, Any]]]] = {
    "gemini": (config_for, lambda stack, name: inputs(stack, name)),
    "vertex": (vertex_config, lambda stack, name: vertex_inputs(stack, name)),
}


def timed_up(eng: MiniEngine, names: list[str], make: Callable[[str, str], dict[str, Any]]) -> float:
    start = time.monotonic()
    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda n: eng.up(n, TUNED_MODEL, make(eng.stack, n)).op, names))
    assert results == ["create"] * len(names), results
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="gemini")
    backend = parser.parse_args(argv).backend
    config, make = BACKENDS[backend]
    server = serve_in_thread(step_seconds=TRAINING_SECONDS / STEPS[backend])
    proc = ProviderProcess()
    try:
        one = MiniEngine(proc, stack="bench-one")
        one.start(config(server.base_url))
        single = timed_up(one, ["solo"], make)
        many = MiniEngine(proc, stack="bench-twelve")
        many.start(config(server.base_url))
        twelve = timed_up(many, [f"model-{i}" for i in range(12)], make)
    finally:
        proc.close()
        server.stop()
    print(f"backend:   {backend}")
    print(f"1 model:   {single:.2f} s")
    print(f"12 models: {twelve:.2f} s")
    print(f"ratio 12/1: {twelve / single:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
