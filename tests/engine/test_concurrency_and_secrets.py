"""Many models tune at once in one provider process; the API key never leaks."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from tests.support.engine import API_KEY, TUNED_MODEL, Emulator, config_for, inputs
from tests.support.harness import MiniEngine, ProviderProcess, wait_until


def test_twelve_creates_are_all_submitted_while_none_has_finished(emu: Emulator) -> None:
    """With the stock 4-worker server the 5th Create would queue until a training ended."""
    emu.admin("POST", "clock", {"mode": "manual"})
    proc = ProviderProcess()
    try:
        eng = MiniEngine(proc, stack="wide")
        eng.start(config_for(emu.base_url))
        with ThreadPoolExecutor(12) as pool:
            futures = [
                pool.submit(eng.up, f"model-{i}", TUNED_MODEL, inputs(eng.stack, f"model-{i}"))
                for i in range(12)
            ]
            submitted = wait_until(lambda: len(emu.journal("CreateTunedModel")) == 12, timeout=30)
            states = {m["state"] for m in emu.models()}
            emu.admin("POST", "advance", {"steps": 1000})
            results = [f.result(timeout=60).op for f in futures]
        assert submitted, f"only {len(emu.journal('CreateTunedModel'))} of 12 creates were submitted"
        assert states == {"CREATING"}
        assert results == ["create"] * 12
        assert {m["state"] for m in emu.models()} == {"ACTIVE"}
        # Check calls of other resources are not stuck behind the waiting creates either.
        t0 = time.monotonic()
        eng.preview("another", TUNED_MODEL, inputs(eng.stack, "another"))
        assert time.monotonic() - t0 < 10
    finally:
        proc.close()


def _walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *_walk_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    return [str(value)]


def test_the_api_key_appears_nowhere_in_state_outputs_logs_or_errors(emu: Emulator) -> None:
    proc = ProviderProcess()
    try:
        eng = MiniEngine(proc, stack="secrets")
        eng.start(config_for(emu.base_url))
        eng.up("numbers", TUNED_MODEL, inputs(eng.stack))
        eng.up("numbers", TUNED_MODEL, inputs(eng.stack, description="changed"))
        eng.refresh("numbers", TUNED_MODEL)
        errors: list[str] = []
        for bad in (inputs(eng.stack, "missing", adopt="tunedModels/does-not-exist", examples=None),):
            with pytest.raises(grpc.RpcError) as err:
                eng.up("missing", TUNED_MODEL, bad)
            errors.append(err.value.details() or "")
        emu.admin("POST", "faults", {"method": "GetTunedModel", "status": 503, "rate": 1.0, "count": 2})
        eng.refresh("numbers", TUNED_MODEL)  # retried through two 503s
        state = eng.state[eng.urn("numbers", TUNED_MODEL)]
        provider_blob = base64.b64decode(state["outputs"]["__provider"])
        eng.destroy("numbers", TUNED_MODEL)
        time.sleep(0.2)  # let the drain threads read the last lines of output
        haystack = "\n".join(
            [
                json.dumps(state["inputs"]),
                json.dumps(state["outputs"]),
                *errors,
                proc.output(),
                json.dumps(emu.journal()),
            ]
        )
        assert API_KEY not in haystack
        assert API_KEY.encode() not in provider_blob
        assert all(API_KEY not in s for s in _walk_strings(state))
        assert "does not exist" in errors[0]
    finally:
        proc.close()
