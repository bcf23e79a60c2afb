"""Fixtures for engine tests: an emulator server, a real provider process, a mini engine."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.support.engine import API_KEY, TUNED_MODEL, Emulator, config_for, inputs
from tests.support.harness import MiniEngine, ProviderProcess
from tuned_models_emulator.server import serve_in_thread

__all__ = ["API_KEY", "TUNED_MODEL", "Emulator", "config_for", "inputs"]


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    server = serve_in_thread(step_seconds=0.01)
    try:
        yield Emulator(server.base_url)
    finally:
        server.stop()


@pytest.fixture
def emu(emulator_server: Emulator) -> Emulator:
    emulator_server.admin("POST", "reset")
    emulator_server.admin("PATCH", "settings", {"stepSeconds": 0.01})
    return emulator_server


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
