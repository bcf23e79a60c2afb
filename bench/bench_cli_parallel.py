"""`pulumi up` wall time of 12 models in one stack against 1 model, through the real Pulumi CLI.

Each model trains for about 5 s on an emulator server (19 steps of 0.25 s). Prints both times and
the ratio (target: at most 1.3). Needs the CLI: TUNED_MODELS_PULUMI_BIN or `pulumi` on PATH
(scripts/install-pulumi.sh provides one).

    .venv/bin/python bench/bench_cli_parallel.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import Project, pulumi_bin
from tests.e2e.test_lifecycle import stack_config, with_key
from tests.seed_examples import NUMBER_EXAMPLES
from tests.support.engine import Emulator
from tuned_models_emulator.server import serve_in_thread

STEP_SECONDS = 0.25


def up_seconds(emu: Emulator, pulumi_dir: Path, count: int) -> float:
    """Wall time of `pulumi up --yes --skip-preview` creating ``count`` models in a new stack."""
    with tempfile.TemporaryDirectory() as tmp:
        project = with_key(Project(Path(tmp) / "project", pulumi_dir, f"bench-{count}"))
        project.init()
        spec = {"examples": NUMBER_EXAMPLES, "hyperparameters": {"epochCount": 5, "batchSize": 4}}
        models = {f"model-{i:02d}": spec for i in range(count)}
        project.write_stack(stack_config(emu, models))
        start = time.monotonic()
        project.pulumi("up", "--yes", "--skip-preview")
        elapsed = time.monotonic() - start
        assert len(emu.models()) == count
        project.pulumi("destroy", "--yes", "--skip-preview")
        return elapsed


def main() -> int:
    found = pulumi_bin()
    if found is None:
        print("no Pulumi CLI: run scripts/install-pulumi.sh", file=sys.stderr)
        return 1
    server = serve_in_thread(step_seconds=STEP_SECONDS)
    try:
        emu = Emulator(server.base_url)
        one = up_seconds(emu, found, 1)
        twelve = up_seconds(emu, found, 12)
    finally:
        server.stop()
    print(f"pulumi up, 1 model:   {one:6.2f} s")
    print(f"pulumi up, 12 models: {twelve:6.2f} s")
    print(f"ratio 12/1: {twelve / one:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
