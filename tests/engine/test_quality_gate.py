"""The quality gate through the real provider process, played the way the engine plays it.

A retrain whose gate fails fails the ``up`` and records nothing: the engine keeps the serving
model (create before delete never reached the delete), the new model stays trained on the
service, and the next ``up`` with the gate fixed promotes it without training it again.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from tests.engine.conftest import TUNED_MODEL, Emulator, inputs
from tests.seed_examples import NUMBER_EXAMPLES
from tests.support.harness import MiniEngine

#: Held-out inputs close to training inputs: the emulator answers each one right.
CLOSE = [
    {"textInput": "Twenty-two", "output": "twenty three"},
    {"textInput": "ninety-nine", "output": "one hundred"},
    {"textInput": "Eighty", "output": "eighty one"},
    {"textInput": "seven!", "output": "eight"},
]
#: The training data with every output moved to the next input: a retrain that came out worse.
SHIFTED = [
    {"textInput": e["textInput"], "output": NUMBER_EXAMPLES[(i + 1) % len(NUMBER_EXAMPLES)]["output"]}
    for i, e in enumerate(NUMBER_EXAMPLES)
]


def gated(stack: str, min_score: float, **spec: Any) -> dict[str, Any]:
    return inputs(
        stack, evaluation={"examples": CLOSE, "metric": "exactMatch", "minScore": min_score}, **spec
    )


def test_a_model_whose_gate_passes_is_active_with_its_score_in_the_outputs(
    engine: MiniEngine, emu: Emulator
) -> None:
    assert engine.up("numbers", TUNED_MODEL, gated(engine.stack, 0.75)).op == "create"
    outs = engine.outputs("numbers", TUNED_MODEL)
    assert outs["state"] == "ACTIVE"
    assert outs["evaluation"]["score"] == 1.0 and outs["evaluation"]["passed"] is True
    assert outs["evaluation"]["examples"] == len(CLOSE) and "examples" not in outs
    assert len(emu.journal("GenerateContent")) == len(CLOSE)
    # No change after: the recorded gate is the declared one.
    assert engine.up("numbers", TUNED_MODEL, gated(engine.stack, 0.75)).op == "same"


def test_a_retrain_that_fails_its_gate_keeps_the_serving_model_and_a_fixed_gate_promotes_it(
    engine: MiniEngine, emu: Emulator
) -> None:
    engine.up("numbers", TUNED_MODEL, gated(engine.stack, 0.75))
    serving = engine.outputs("numbers", TUNED_MODEL)["name"]

    worse = gated(engine.stack, 0.75, examples=SHIFTED)
    assert engine.preview("numbers", TUNED_MODEL, worse).op == "replace"
    with pytest.raises(grpc.RpcError) as failed:
        engine.up("numbers", TUNED_MODEL, worse)
    message = str(failed.value.details())
    assert "failed its quality gate: exactMatch 0 < minScore 0.75 on 4 examples" in message
    assert "#1 score 0: 'Twenty-two' -> " in message
    # Nothing recorded: the engine still has the serving model, which still serves.
    assert engine.outputs("numbers", TUNED_MODEL)["name"] == serving
    live = {m["name"]: m["state"] for m in emu.models()}
    assert live[serving] == "ACTIVE" and len(live) == 2
    [trained] = set(live) - {serving}
    assert live[trained] == "ACTIVE"
    assert emu.journal("DeleteTunedModel") == []

    # The same spec with the gate lowered: the trained model is adopted, evaluated and promoted.
    fixed = gated(engine.stack, 0.0, examples=SHIFTED)
    assert engine.up("numbers", TUNED_MODEL, fixed).op == "replace-cbd"
    outs = engine.outputs("numbers", TUNED_MODEL)
    assert outs["name"] == trained and outs["evaluation"]["passed"] is True
    assert outs["evaluation"]["score"] == 0.0 and outs["lastChange"]["action"] == "adopted"
    assert [m["name"] for m in emu.models()] == [trained]
    assert [e["status"] for e in emu.journal("CreateTunedModel")] == [200, 200]  # no third training
