"""Chaos (issue 13): the fault set the emulator injects, and `up`s played through the real
provider server that count the steps needing a second `up`.

The emulator tries its fault rules in order and the first that fires answers, so the rates are
chosen to give, over all API calls: 20% 429 RESOURCE_EXHAUSTED, 20% 503 UNAVAILABLE and 5%
dropped connections (the remaining 55% are served).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import grpc

from tests.support.engine import TUNED_MODEL, Emulator
from tests.support.harness import PROJECT_ROOT, PROVIDER_KEY, MiniEngine, serialize_provider
from tuned_models.model.spec import PermissionSpec
from tuned_models.permission import TunedModelPermissionProvider, permission_args
from tuned_models.tokens import TUNED_MODEL_PERMISSION_TYPE as PERMISSION

__all__ = ["CHAOS_FAULTS", "READER", "Run", "calm", "chaos", "quick_retries", "reader_grant"]

#: 0.2 of calls get 429; 0.25 of the remaining 0.8 get 503; 1/12 of the remaining 0.6 are dropped.
CHAOS_FAULTS: tuple[dict[str, Any], ...] = (
    {"method": "*", "status": 429, "rate": 0.2, "retryAfter": 0.2},
    {"method": "*", "status": 503, "rate": 0.25},
    {"method": "*", "drop": True, "rate": 1 / 12},
)
READER = {"user": "reader@example.com", "role": "READER"}
#: A folder whose ``sitecustomize`` makes every retry ten times sooner than the product's.
QUICK_RETRIES = Path(__file__).parent / "quick_retries"
_GRANTS = serialize_provider(TunedModelPermissionProvider())
T = TypeVar("T")


def chaos(emu: Emulator, seed: int = 13) -> None:
    """Inject :data:`CHAOS_FAULTS` (with seeded dice) into every API call from now on."""
    emu.admin("POST", "seed", {"seed": seed})
    for fault in CHAOS_FAULTS:
        emu.admin("POST", "faults", fault)


def quick_retries(env: Mapping[str, str]) -> dict[str, str]:
    """The ``PYTHONPATH`` (over ``env``'s) of Python processes (a provider server, the Pulumi
    CLI's) that retry ten times sooner than the product
    (``tests/support/quick_retries/sitecustomize.py``): the same faults and the same
    decisions, in a tenth of the waiting."""
    path = [str(QUICK_RETRIES), str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in path if p)}


def calm(emu: Emulator) -> None:
    """Remove every injected fault (so that the test's own checks are served)."""
    emu.admin("DELETE", "faults")


def reader_grant(model: str) -> dict[str, Any]:
    """The inputs of a ``TunedModelPermission`` giving :data:`READER` on ``model``."""
    return {**permission_args(model, PermissionSpec.model_validate(READER)), PROVIDER_KEY: _GRANTS}


class Run:
    """Plays `up`s of models, each shared with :data:`READER` (``<model>:reader``) when
    ``shared`` (the Gemini API; Vertex AI has no per-model sharing), the way the engine does,
    and records every step that failed: each would have needed a second `up`.

    ``steps``: steps played; ``failed``: one line per failed try; ``ups``: per `up` (or
    destroy), whether every step of it converged in one run.
    """

    def __init__(self, engine: MiniEngine, *, shared: bool = True) -> None:
        self.engine = engine
        self.shared = shared
        self.steps = 0
        self.failed: list[str] = []
        self.ups: list[bool] = []
        self._lock = threading.Lock()

    @property
    def steps_converged(self) -> int:
        """Steps that needed no second `up`."""
        return self.steps - len({line.split(" (run ")[0] for line in self.failed})

    def up(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        """One `up`: refresh what exists (all at once, as `refresh: always` does), then each model
        and its grant, the models in parallel."""
        eng = self.engine
        known = [
            (urn_name, typ)
            for name in specs
            for urn_name, typ in ((name, TUNED_MODEL), (f"{name}:reader", PERMISSION))
            if eng.urn(urn_name, typ) in eng.state
        ]

        def refresh(resource: tuple[str, str]) -> None:
            self._step(f"refresh {resource[0]}", partial(eng.refresh, *resource))

        def chain(name: str) -> None:
            if self._step(f"up {name}", lambda: eng.up(name, TUNED_MODEL, specs[name])) and self.shared:
                model = eng.outputs(name, TUNED_MODEL)["name"]
                self._step(
                    f"up {name}:reader", lambda: eng.up(f"{name}:reader", PERMISSION, reader_grant(model))
                )

        failed_before = len(self.failed)
        self._parallel(refresh, known)
        self._parallel(chain, specs)
        self.ups.append(len(self.failed) == failed_before)

    def destroy(self, names: Iterable[str]) -> None:
        """`pulumi destroy`: each grant, then its model, the models in parallel."""
        eng = self.engine

        def chain(name: str) -> None:
            for urn_name, typ in ((f"{name}:reader", PERMISSION), (name, TUNED_MODEL)):
                urn = eng.urn(urn_name, typ)
                if urn in eng.state and self._step(
                    f"destroy {urn_name}", partial(eng.delete, urn, eng.state[urn])
                ):
                    del eng.state[urn]

        failed_before = len(self.failed)
        self._parallel(chain, names)
        self.ups.append(len(self.failed) == failed_before)

    def report(self) -> str:
        """The failed tries, first and last line of each."""
        return "\n".join(f"{f.splitlines()[0]} ... {f.splitlines()[-1]}" for f in self.failed)

    @staticmethod
    def _parallel(work: Callable[[T], None], items: Iterable[T]) -> None:
        todo = list(items)
        if todo:
            with ThreadPoolExecutor(len(todo)) as pool:
                list(pool.map(work, todo))

    def _step(self, what: str, action: Callable[[], object]) -> bool:
        """Run one step; a step that fails is recorded and run again, as a second `up` would."""
        with self._lock:
            self.steps += 1
        for attempt in range(3):
            try:
                action()
            except grpc.RpcError as e:
                with self._lock:
                    self.failed.append(f"{what} (run {attempt + 1}): {e.details()}")
            else:
                return True
        return False
