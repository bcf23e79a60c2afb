"""Datasets on a no-op preview: 100 models with 1 MB datasets each, against one hash of the bytes.

Generates a temporary project (100 models, a distinct ~1 MB JSONL dataset each, 100 MB in all)
and prints, each measured in a fresh subprocess (wall time, best of 3; peak RSS from
``os.wait4``):

- the time to hash the 100 MB once (SHA-256 in this process, files in the page cache), wall
  and CPU;
- ``tuned-models validate`` cold (no cache) and warm (cache filled), time and peak RSS;
- the warm program load: what the Pulumi program does before declaring resources (importing
  ``tuned_models.program`` and ``parse_config`` on the stack's config as the runtime hands it);
- start-up: the same two commands on the same project with tiny datasets (20 examples each),
  warm: interpreter, imports, the stack file and 100 model specs, i.e. everything that does not
  grow with the data. The warm ratio is ``(warm - start-up) / hash`` (target: at most 1.5),
  on CPU time (what a shared machine disturbs least) and on wall time; each is the best of 9
  runs, warm and start-up alternating;
- the peak RSS of a cold validate of 10 such models, to show it does not grow with the total;
- the peak RSS and time of a cold scan of one 1 GB JSONL dataset (the Vertex AI limit), read
  with the 1 GB limit (the Gemini API's is 4 MB, which validate enforces first).

``--backend vertex`` runs the same on a vertex stack: its datasets go through the same readers
and the same cache, converted to Vertex AI's ``contents`` JSONL (whose digest they carry), and
the 1 GB dataset through the vertex scan (whose own limit is 1 GB).

    .venv/bin/python bench/bench_datasets.py [--backend gemini|vertex] [--skip-1gb]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MODELS = 100
DATASET_BYTES = 1_000_000
PYTHON = sys.executable


def write_dataset(path: Path, target: int, seed: str, *, contents: bool = False) -> int:
    """A JSONL dataset of at most ``target`` bytes with distinct examples; returns its size.
    ``contents``: as Vertex AI's canonical ``contents`` records (then the JSONL the vertex scan
    converts it to is the file itself, byte for byte)."""
    size = 0
    with path.open("w", encoding="utf-8") as f:
        i = 0
        while True:
            text = hashlib.sha256(f"{seed}-{i}".encode()).hexdigest()
            record: dict[str, object] = {"textInput": f"{i} " + text * 6, "output": text[:40]}
            if contents:
                turns = [("user", record["textInput"]), ("model", record["output"])]
                record = {"contents": [{"parts": [{"text": t}], "role": r} for r, t in turns]}
            line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
            if size + len(line.encode()) > target:
                return size
            f.write(line)
            size += len(line.encode())
            i += 1


def make_project(root: Path, models: int, dataset_bytes: int, backend: str = "gemini") -> None:
    (root / "stacks").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "Pulumi.yaml").write_text("name: tuned-models\nruntime: python\nstackConfigDir: stacks\n")
    specs = {}
    for i in range(models):
        name = f"model-{i:03d}"
        if dataset_bytes:
            write_dataset(root / "datasets" / f"{name}.jsonl", dataset_bytes, name)
        else:
            rows = [{"textInput": f"{name} in {n}", "output": f"out {n}"} for n in range(20)]
            (root / "datasets" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        specs[name] = {"dataset": f"datasets/{name}.jsonl"}
    config: dict[str, object] = {
        "tuned-models:endpoint": "embedded",
        "tuned-models:defaults": {"baseModel": "models/gemini-1.5-flash-001-tuning"},
        "tuned-models:models": specs,
    }
    if backend == "vertex":
        config["tuned-models:backend"] = "vertex"
        config["tuned-models:vertex"] = {
            "project": "bench-project",
            "location": "us-central1",
            "bucket": "gs://bench-data",
        }
        config["tuned-models:defaults"] = {"baseModel": "gemini-2.5-flash"}
    (root / "stacks" / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


@dataclass(frozen=True)
class Timing:
    """One command: best wall seconds, best CPU seconds (user + system, from ``os.wait4``: the
    machine is shared, and CPU time is what others' load disturbs least), largest peak RSS (MB)."""

    wall: float
    cpu: float
    rss: float


def run(argv: list[str], cwd: Path) -> Timing:
    """One subprocess."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{argv} exited {code}: {stderr}")
    return Timing(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def best_pair(argv: list[str], first: Path, second: Path, times: int = 9) -> tuple[Timing, Timing]:
    """``argv`` run ``times`` times in each of two projects, alternating (so that a burst of load
    on the machine hits both alike); the best of each."""
    runs: dict[Path, list[Timing]] = {first: [], second: []}
    for _ in range(times):
        for where in (first, second):
            runs[where].append(run(argv, where))

    def best(timings: list[Timing]) -> Timing:
        return Timing(min(t.wall for t in timings), min(t.cpu for t in timings), max(t.rss for t in timings))

    return best(runs[first]), best(runs[second])


VALIDATE = [PYTHON, "-m", "tuned_models.cli", "validate", "--stack", "bench"]
PROGRAM_LOAD = [
    PYTHON,
    "-c",
    textwrap.dedent(
        """
        import json, pathlib, yaml
        import tuned_models.program  # what the program imports (Pulumi included)
        from tuned_models.stack import parse_config
        config = yaml.safe_load(pathlib.Path("stacks/Pulumi.bench.yaml").read_text())["config"]
        # The runtime hands structured config values to the program as JSON text.
        config = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in config.items()}
        loaded = parse_config(
            config, source="stacks/Pulumi.bench.yaml", project_root=pathlib.Path("."), name="bench"
        )
        assert loaded.ok and len(loaded.datasets) == len(loaded.models), [p.line() for p in loaded.errors]
        """
    ),
]


def hash_seconds(root: Path) -> tuple[float, float, int]:
    """Best wall and CPU seconds of hashing every dataset once, and their total size."""
    files = sorted((root / "datasets").glob("*.jsonl"))
    total = sum(f.stat().st_size for f in files)
    walls, cpus = [], []
    for _ in range(9):
        start, cpu = time.monotonic(), time.process_time()
        for f in files:
            with f.open("rb") as stream:
                hashlib.file_digest(stream, "sha256")
        walls.append(time.monotonic() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), total


def clear_cache(root: Path) -> None:
    shutil.rmtree(root / ".tuned-models" / "cache", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("gemini", "vertex"), default="gemini")
    parser.add_argument("--skip-1gb", action="store_true", help="leave out the 1 GB dataset")
    args = parser.parse_args()
    env_path = os.pathsep.join([str(ROOT / "providers"), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"] = env_path
    with tempfile.TemporaryDirectory() as tmp:
        big, tiny, few = Path(tmp) / "big", Path(tmp) / "tiny", Path(tmp) / "few"
        make_project(big, MODELS, DATASET_BYTES, args.backend)
        make_project(tiny, MODELS, 0, args.backend)
        make_project(few, 10, DATASET_BYTES, args.backend)
        hash_wall, hash_cpu, total = hash_seconds(big)
        print(
            f"backend {args.backend}; datasets: {MODELS} x {DATASET_BYTES / 1e6:.0f} MB "
            f"= {total / 1e6:.0f} MB"
        )
        print(f"hash the bytes once (SHA-256, page cache): {hash_wall:.3f} s wall, {hash_cpu:.3f} s CPU")

        clear_cache(big)
        cold = run(VALIDATE, big)
        print(f"validate cold: {cold.wall:.2f} s, peak RSS {cold.rss:.0f} MB")
        run(VALIDATE, tiny)  # fill the tiny project's cache
        for label, argv in (("validate", VALIDATE), ("program load", PROGRAM_LOAD)):
            warm, startup = best_pair(argv, big, tiny)
            print(
                f"{label} warm: {warm.wall:.3f} s wall, {warm.cpu:.3f} s CPU, peak RSS {warm.rss:.0f} MB; "
                f"start-up (20-example datasets): {startup.wall:.3f} s wall, {startup.cpu:.3f} s CPU"
            )
            cpu_ratio = (warm.cpu - startup.cpu) / hash_cpu
            wall_ratio = (warm.wall - startup.wall) / hash_wall
            print(
                f"{label} warm ratio (warm - start-up) / hash: {cpu_ratio:.2f} CPU, "
                f"{wall_ratio:.2f} wall (target <= 1.5)"
            )

        clear_cache(few)
        few_cold = run(VALIDATE, few)
        print(
            f"validate cold peak RSS: {cold.rss:.0f} MB for 100 MB of datasets, "
            f"{few_cold.rss:.0f} MB for 10 MB"
        )

        if not args.skip_1gb:
            gb = Path(tmp) / "gb.jsonl"
            # At most the 10^9-byte limit (for vertex, as contents JSONL: the size it uploads).
            size = write_dataset(gb, 10**9, "gb", contents=args.backend == "vertex")
            scanner = (
                "from tuned_models.vertex.datasets import scan_dataset; s = scan_dataset(path); "
                if args.backend == "vertex"
                else "from tuned_models.model.datasets import DatasetLimits, scan_dataset; "
                "s = scan_dataset(path, DatasetLimits(max_bytes=10**9)); "
            )
            scan = [
                PYTHON,
                "-c",
                "import sys, pathlib; path = pathlib.Path(sys.argv[1]); "
                + scanner
                + "assert s.readable and s.count > 0 and s.ok, s.findings",
                str(gb),
            ]
            scanned = run(scan, Path(tmp))
            print(
                f"cold scan of one {size / 1e9:.2f} GB JSONL dataset: {scanned.wall:.1f} s, "
                f"peak RSS {scanned.rss:.0f} MB"
            )


if __name__ == "__main__":
    main()
