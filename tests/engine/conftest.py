"""Fixtures for engine tests: an emulator server, a real provider process, a mini engine."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.support.engine import API_KEY, TUNED_MODEL, Emulator, config_for, fresh, inputs, running_emulator
from tests.support.harness import MiniEngine, ProviderProcess

__all__ = ["API_KEY", "TUNED_MODEL", "Emulator", "config_for", "inputs"]


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    with running_emulator(step_seconds=0.01) as emu:
        yield emu


@pytest.fixture
def emu(emulator_server: Emulator) -> Emulator:
    return fresh(emulator_server, 0.01)


@pytest.fixture(scope="session")
def provider_process() -> Iterator[ProviderProcess]:
    proc = ProviderProcess()
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture
def engine(provider_process: ProviderProcess, emulator_server: Emulator) -> MiniEngine:
    eng = MiniEngine(provider_process, stack="test-" + secrets.token_hex(3))
    eng.start(config_for(emulator_server.base_url))
    return eng
