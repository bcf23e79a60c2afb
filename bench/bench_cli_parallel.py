"""`pulumi up` wall time of 12 models in one stack against 1 model, through the real Pulumi CLI.

Each model trains for about 5 s on an emulator server (19 steps of 0.25 s). Prints both times and
the ratio (target: at most 1.3). Needs the CLI: TUNED_MODELS_PULUMI_BIN or `pulumi` on PATH
(scripts/install-pulumi.sh provides one). ``--backend vertex``: Vertex AI tuning jobs on the
emulator instead (each about 5 s too: 21 steps of 0.25 s, on a dataset of 40 inline examples).

    .venv/bin/python bench/bench_cli_parallel.py [--backend gemini|vertex] [--parallel N]

The CLI runs in the project's own environment (tests/e2e's Project, as scripts/pulumi-env.sh):
PULUMI_PARALLEL=64. ``--parallel N`` is passed to `pulumi up` instead; Pulumi's own default is
4 x CPU cores steps at once (8 on 2 cores, so 12 models then train in two waves whatever the
provider does: ``--parallel 8`` shows it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import Project, pulumi_bin
from tests.e2e.test_lifecycle import stack_config, with_key
from tests.e2e.test_vertex import vertex_stack
from tests.seed_examples import NUMBER_EXAMPLES
from tests.support.engine import Emulator
from tests.support.vertex import VertexEmulator
from tuned_models_emulator.server import serve_in_thread

STEP_SECONDS = 0.25


#: 40 inline examples: 5 batches of the emulator's 8 for Vertex AI (4 epochs: 20 steps and a pending one).
VERTEX_EXAMPLES = [{"textInput": f"count from {i}", "output": f"{i + 1}"} for i in range(40)]


def up_seconds(emu: Emulator, pulumi_dir: Path, count: int, backend: str, parallel: int | None) -> float:
    """Wall time of `pulumi up --yes --skip-preview` creating ``count`` models in a new stack."""
    with tempfile.TemporaryDirectory() as tmp:
        project = with_key(Project(Path(tmp) / "project", pulumi_dir, f"bench-{backend}-{count}"))
        project.init()
        if backend == "vertex":
            spec = {"examples": VERTEX_EXAMPLES, "hyperparameters": {"epochCount": 4}}
            models = {f"model-{i:02d}": spec for i in range(count)}
            project.write_stack(vertex_stack(emu, models))
        else:
            spec = {"examples": NUMBER_EXAMPLES, "hyperparameters": {"epochCount": 5, "batchSize": 4}}
            models = {f"model-{i:02d}": spec for i in range(count)}
            project.write_stack(stack_config(emu, models))
        start = time.monotonic()
        project.pulumi("up", "--yes", "--skip-preview", *(("--parallel", str(parallel)) if parallel else ()))
        elapsed = time.monotonic() - start
        if backend == "vertex":
            assert len(VertexEmulator(emu).endpoints()) == 4 * count  # one per checkpoint (epoch)
        else:
            assert len(emu.models()) == count
        project.pulumi("destroy", "--yes", "--skip-preview")
        return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("gemini", "vertex"), default="gemini")
    parser.add_argument("--parallel", type=int, default=None, help="pulumi up --parallel N")
    args = parser.parse_args(argv)
    backend, parallel = args.backend, args.parallel
    found = pulumi_bin()
    if found is None:
        print("no Pulumi CLI: run scripts/install-pulumi.sh", file=sys.stderr)
        return 1
    server = serve_in_thread(step_seconds=STEP_SECONDS)
    try:
        emu = Emulator(server.base_url)
        one = up_seconds(emu, found, 1, backend, parallel)
        twelve = up_seconds(emu, found, 12, backend, parallel)
    finally:
        server.stop()
    steps = (
        f"pulumi up --parallel {parallel}" if parallel else "PULUMI_PARALLEL=64 (the project's environment)"
    )
    print(f"backend: {backend}, {steps}")
    print(f"pulumi up, 1 model:   {one:6.2f} s")
    print(f"pulumi up, 12 models: {twelve:6.2f} s")
    print(f"ratio 12/1: {twelve / one:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
