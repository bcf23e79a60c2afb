"""The SQLite store: a server restarted on the same file, and two processes on one directory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.emulator.conftest import OWNER_KEY, Emu, model_body

SLOW_STEP_SECONDS = 3600.0
"""So slow that real time never completes a step during a test."""


@contextmanager
def _server(state: Path, step_seconds: float = SLOW_STEP_SECONDS) -> Iterator[Emu]:
    from tuned_models_emulator.server import serve_in_thread

    server = serve_in_thread(state, step_seconds=step_seconds)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            yield Emu(mode="server", http=client)
    finally:
        server.stop()


def test_restarted_server_keeps_models_and_progress(tmp_path: Path) -> None:
    state = tmp_path / "emulator.sqlite"
    with _server(state) as first:
        creating = first.create(model_body("survivor", batch_size=2))
        finished = first.create(model_body("finished", batch_size=4))
        first.manual_clock()
        first.advance(steps=25)
        before_creating = first.get_operation(creating["name"])
        before_finished = first.get_operation(finished["name"])
        model_before = first.get_model(finished["metadata"]["tunedModel"])
        assert before_creating["metadata"]["completedSteps"] == 25
        assert before_finished["done"] is True
        assert model_before["state"] == "ACTIVE"
    assert state.exists()

    with _server(state) as second:
        after_finished = second.get_operation(finished["name"])
        assert after_finished == before_finished
        assert second.get_model(finished["metadata"]["tunedModel"]) == model_before
        after_creating = second.get_operation(creating["name"])
        assert after_creating["metadata"]["completedSteps"] >= 25
        assert after_creating["metadata"]["snapshots"][:25] == before_creating["metadata"]["snapshots"]
        listed = second.call("GET", "/v1beta/tunedModels").json()["tunedModels"]
        assert sorted(m["displayName"] for m in listed) == ["finished", "survivor"]


def test_restarted_server_continues_training_from_stored_timestamps(tmp_path: Path) -> None:
    state = tmp_path / "emulator.sqlite"
    with _server(state) as first:
        op = first.create(model_body("continues", batch_size=2))
        model_before = first.get_model(op["metadata"]["tunedModel"])
        assert model_before["state"] == "CREATING"
    with _server(state) as second:
        assert second.get_model(op["metadata"]["tunedModel"]) == model_before
        second.manual_clock()
        second.advance(steps=38)
        done = second.get_operation(op["name"])
        assert done["done"] is True
        assert done["metadata"]["completedSteps"] == 38
        assert second.get_model(op["metadata"]["tunedModel"])["state"] == "ACTIVE"


_CHILD = textwrap.dedent(
    """
    import json, sys
    import httpx
    from tuned_models_emulator.embedded import embedded_transport

    state_dir, name, key = sys.argv[1], sys.argv[2], sys.argv[3]
    transport = embedded_transport(state_dir, step_seconds={step})
    with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
        got = client.get(f"/v1beta/{{name}}", headers={{"x-goog-api-key": key}})
        deleted = client.delete(f"/v1beta/{{name}}", headers={{"x-goog-api-key": key}})
        print(json.dumps({{"get": [got.status_code, got.json()],
                          "delete": [deleted.status_code, deleted.json()]}}))
    transport.close()
    """
).format(step=SLOW_STEP_SECONDS)


def test_second_process_reads_and_deletes_a_model_from_the_same_directory(
    tmp_path: Path,
) -> None:
    from tuned_models_emulator.embedded import embedded_transport

    transport = embedded_transport(tmp_path, step_seconds=SLOW_STEP_SECONDS)
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
            emu = Emu(mode="embedded", http=client)
            op = emu.create(model_body("shared"))
            name = op["metadata"]["tunedModel"]
            mine = emu.get_model(name)
            assert (tmp_path / "emulator.sqlite").exists()

            child = subprocess.run(
                [sys.executable, "-c", _CHILD, str(tmp_path), name, OWNER_KEY],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert child.returncode == 0, child.stderr
            result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
            assert result["get"] == [200, mine]
            assert result["delete"] == [200, {}]

            gone = emu.call("GET", f"/v1beta/{name}")
            assert gone.status_code == 404
            assert gone.json()["error"]["message"] == f"Tuned model {name} does not exist."
    finally:
        transport.close()
