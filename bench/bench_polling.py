"""Polling cost and latency of the provider's wait, on simulated long jobs.

The embedded emulator runs on a manual clock; the waiter's ``sleep`` advances that clock, so a
four-hour tuning job is simulated in a second or two with the real waiter, client and emulator.
For each job length it prints the polling requests, requests per 20 s of training, and the delay
between the service reaching ACTIVE and the wait returning (absolute and as a share of the
training time).

Targets (issue 3): at most 1 request per 20 s of training on long jobs; delay under 10% of the
training time and under 60 s.

Run: .venv/bin/python bench/bench_polling.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuned_models.backends.gemini.backend import GeminiBackend
from tuned_models.gemini import ApiKeyAuth, GeminiClient
from tuned_models.waiter import wait_for_training
from tuned_models_emulator.embedded import embedded_transport

EXAMPLES = 100
BATCH = 4
EPOCHS = 5
STEPS = math.ceil(EXAMPLES * EPOCHS / BATCH)  # 125 steps


def run(training_seconds: float) -> dict[str, float]:
    step_seconds = training_seconds / STEPS
    transport = embedded_transport(None, step_seconds=step_seconds)
    admin = httpx.Client(transport=transport, base_url="http://bench.invalid")
    admin.post("/_emulator/clock", json={"mode": "manual"}).raise_for_status()
    client = GeminiClient("http://bench.invalid", ApiKeyAuth("bench"), transport=transport)
    examples = [{"textInput": f"q{i}", "output": f"a{i}"} for i in range(EXAMPLES)]
    op = client.create_tuned_model(
        {
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "tuningTask": {
                "hyperparameters": {"epochCount": EPOCHS, "batchSize": BATCH},
                "trainingData": {"examples": {"examples": examples}},
            },
        },
        tuned_model_id="bench-model",
    )
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        admin.post("/_emulator/advance", json={"seconds": seconds}).raise_for_status()

    admin.delete("/_emulator/journal")
    model = client.get_tuned_model("tunedModels/bench-model")
    started = model.tuningTask.startTime if model.tuningTask else None
    created = model.createTime
    offset = (started - created).total_seconds() if started and created else 0.0
    wait_for_training(
        GeminiBackend(client).track("tunedModels/bench-model", op.name, EPOCHS),
        timeout=training_seconds * 10,
        label="bench",
        log=lambda _line: None,
        clock=lambda: now[0],
        sleep=sleep,
    )
    journal = admin.get("/_emulator/journal").json()["requests"]
    polls = sum(1 for e in journal if e.get("rpc") in ("GetOperation", "GetTunedModel", "ListOperations"))
    active_at = offset + STEPS * step_seconds
    delay = max(0.0, now[0] - active_at)
    transport.close()
    return {
        "training_s": training_seconds,
        "requests": polls,
        "requests_per_20s": polls / (training_seconds / 20.0),
        "delay_s": delay,
        "delay_pct": 100.0 * delay / training_seconds,
    }


def main() -> int:
    print(f"job: {EXAMPLES} examples, batch {BATCH}, {EPOCHS} epochs = {STEPS} steps")
    print(f"{'training':>10} {'requests':>9} {'req/20s':>8} {'delay':>8} {'delay %':>8}")
    worst_rate = worst_pct = worst_delay = 0.0
    for seconds in (120.0, 600.0, 1800.0, 3600.0, 4 * 3600.0):
        r = run(seconds)
        print(
            f"{r['training_s']:>9.0f}s {r['requests']:>9.0f} {r['requests_per_20s']:>8.3f} "
            f"{r['delay_s']:>7.1f}s {r['delay_pct']:>7.2f}%"
        )
        if seconds >= 600:
            worst_rate = max(worst_rate, r["requests_per_20s"])
        worst_pct = max(worst_pct, r["delay_pct"])
        worst_delay = max(worst_delay, r["delay_s"])
    print(f"long jobs (>= 10 min): at most {worst_rate:.3f} requests per 20 s of training (target <= 1)")
    print(
        f"delay after ACTIVE: at most {worst_delay:.1f} s (target < 60 s), "
        f"{worst_pct:.2f}% of the training time (target < 10%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
