"""Benchmark the emulator: simple GETs per second over loopback, and the emulator suite's run time.

Usage: ``.venv/bin/python bench/bench_emulator.py [--requests N] [--no-suite]``. Prints
``gets_per_second: X (target >= 500)`` and ``emulator_suite_seconds: Y (target < 30)``; exits 0
(the figures are reported, not enforced).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key"
EXAMPLES = [{"textInput": str(i), "output": str(i + 1)} for i in range(15)]
BODY = {
    "displayName": "bench model",
    "baseModel": "models/gemini-1.0-pro-001",
    "tuningTask": {
        "hyperparameters": {"batchSize": 2, "epochCount": 5, "learningRate": 0.001},
        "trainingData": {"examples": {"examples": EXAMPLES}},
    },
}


def gets_per_second(requests: int) -> float:
    """Start a server on a temp SQLite file, create one model, time ``requests`` sequential GETs."""
    from tuned_models_emulator.server import serve_in_thread

    with tempfile.TemporaryDirectory() as tmp:
        server = serve_in_thread(Path(tmp) / "emulator.sqlite", step_seconds=0.05)
        try:
            headers = {"x-goog-api-key": KEY}
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=10.0) as client:
                created = client.post("/v1beta/tunedModels", json=BODY)
                created.raise_for_status()
                path = "/v1beta/" + created.json()["metadata"]["tunedModel"]
                for _ in range(50):  # warm-up
                    client.get(path).raise_for_status()
                started = time.perf_counter()
                for _ in range(requests):
                    response = client.get(path)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {path} -> {response.status_code}: {response.text}")
                elapsed = time.perf_counter() - started
        finally:
            server.stop()
    return requests / elapsed


def suite_seconds() -> tuple[float, int]:
    """Run ``pytest tests/emulator -q``; returns (wall seconds, exit code)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/emulator", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        print(completed.stdout[-4000:])
    return elapsed, completed.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-suite", action="store_true", help="skip timing the test suite")
    args = parser.parse_args(argv)

    rate = gets_per_second(args.requests)
    print(f"gets_per_second: {rate:.0f} (target >= 500)")
    if not args.no_suite:
        seconds, code = suite_seconds()
        print(f"emulator_suite_seconds: {seconds:.1f} (target < 30)")
        print(f"emulator_suite_exit_code: {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
