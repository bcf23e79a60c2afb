"""The seams other surfaces build on: a second service beside the Gemini API on one app, and the
data-declared state machine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import Emu, assert_error, model_body
from tuned_models_emulator.auth import derived_email
from tuned_models_emulator.backend import GeminiApi
from tuned_models_emulator.embedded import EmbeddedTransport
from tuned_models_emulator.errors import NotFound
from tuned_models_emulator.machine import StateMachine, Transition
from tuned_models_emulator.records import Caller, Settings, credential_hash
from tuned_models_emulator.routes import Body, Call, Endpoint, Service
from tuned_models_emulator.store import Store, Tx

NOTES = "notes.note"


class Notes(Service):
    """A toy surface: notes kept in the store's generic records."""

    def endpoints(self) -> Sequence[Endpoint]:
        note = r"/(?P<v>v9)/notes/(?P<note>[a-z]+)"
        return (
            Endpoint("PUT", note, "PutNote", self.put_note, journal={"note": "noteId"}),
            Endpoint("GET", note, "GetNote", self.get_note, journal={"note": "noteId"}),
        )

    def put_note(self, tx: Tx, caller: Caller, call: Call) -> Body:
        record = {"text": str(call.body.get("text", "")), "by": caller.email, "version": call.version}
        tx.put_record(NOTES, call.params["note"], record)
        return record

    def get_note(self, tx: Tx, caller: Caller, call: Call) -> Body:
        record = tx.record(NOTES, call.params["note"])
        if record is None:
            raise NotFound(f"Note {call.params['note']} does not exist.")
        return lambda: {**record, "rendered": True}


@pytest.fixture
def both() -> Iterator[Emu]:
    transport = EmbeddedTransport(Store.open(None), Settings(), (GeminiApi, Notes))
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
            emu = Emu(mode="embedded", http=client)
            emu.manual_clock()
            yield emu
    finally:
        transport.close()


def _put(emu: Emu, text: str, key: str | None = "k") -> httpx.Response:
    return emu.call("PUT", "/v9/notes/first", json={"text": text}, key=key)


def test_a_second_service_serves_its_routes_beside_the_gemini_api(both: Emu) -> None:
    put = _put(both, "hello")
    assert put.status_code == 200, put.text
    assert put.json() == {"text": "hello", "by": derived_email(credential_hash("k")), "version": "v9"}
    got = both.call("GET", "/v9/notes/first", key="k")
    assert got.json() == {**put.json(), "rendered": True}
    assert both.create(model_body("beside notes"))["metadata"]["totalSteps"] == 19


def test_a_second_service_gets_authentication_faults_and_the_journal(both: Emu) -> None:
    assert_error(_put(both, "anonymous", key=None), 403, "PERMISSION_DENIED")
    both.admin("POST", "faults", {"method": "GetNote", "status": 503, "count": 1})
    _put(both, "faulted")
    assert_error(both.call("GET", "/v9/notes/first", key="k"), 503, "UNAVAILABLE")
    assert both.call("GET", "/v9/notes/first", key="k").status_code == 200
    entries: list[dict[str, Any]] = both.admin("GET", "journal").json()["requests"]
    assert [(e["rpc"], e["status"], e.get("noteId")) for e in entries] == [
        ("PutNote", 403, "first"),
        ("PutNote", 200, "first"),
        ("GetNote", 503, "first"),
        ("GetNote", 200, "first"),
    ]


def test_reset_forgets_a_second_services_records(both: Emu) -> None:
    _put(both, "to forget")
    both.reset()
    assert_error(both.call("GET", "/v9/notes/first", key="k"), 404, "NOT_FOUND", "Note first does not exist.")


def test_a_handler_that_raises_leaves_no_write_behind(both: Emu) -> None:
    class Failing(Notes):
        def put_note(self, tx: Tx, caller: Caller, call: Call) -> Body:
            super().put_note(tx, caller, call)
            raise NotFound("after the write")

    transport = EmbeddedTransport(Store.open(None), Settings(), (Failing,))
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
            emu = Emu(mode="embedded", http=client)
            assert_error(_put(emu, "never kept"), 404, "NOT_FOUND", "after the write")
            assert_error(emu.call("GET", "/v9/notes/first", key="k"), 404, "NOT_FOUND")
    finally:
        transport.close()


def test_faults_can_target_a_second_services_rpc_only_by_its_name(both: Emu) -> None:
    response = both.admin_request("POST", "faults", {"method": "NoSuchRpc"})
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "GetNote" in error["message"] and "GetTunedModel" in error["message"]


# --- the state machine --------------------------------------------------------------------------

JOB = StateMachine(
    "queued",
    {
        "queued": (Transition("cancelled", "cancelled"), Transition("started", "running")),
        "running": (Transition("cancelled", "cancelled"), Transition("finished", "done", "ok")),
    },
)


@pytest.mark.parametrize(
    ("instants", "now", "expected"),
    [
        ({"started": 10, "finished": 20}, 5, ("queued", None, None)),
        ({"started": 10, "finished": 20}, 10, ("running", 10, "started")),
        ({"started": 10, "finished": 20}, 25, ("done", 20, "finished")),
        ({"started": 10, "finished": 20, "cancelled": 15}, 25, ("cancelled", 15, "cancelled")),
        ({"started": 10, "finished": 20, "cancelled": 5}, 25, ("cancelled", 5, "cancelled")),
        ({"started": 10, "cancelled": 10}, 25, ("cancelled", 10, "cancelled")),
    ],
)
def test_the_state_machine_replays_the_earliest_transitions_up_to_now(
    instants: dict[str, int], now: int, expected: tuple[str, int | None, str | None]
) -> None:
    reached = JOB.run(instants.get, now)
    assert (reached.state, reached.since_ns, reached.by and reached.by.event) == expected


def test_a_state_machine_with_a_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="loop: a -> b -> a"):
        StateMachine("a", {"a": (Transition("x", "b"),), "b": (Transition("y", "a"),)})


def test_importing_the_embedded_emulator_does_not_load_the_server() -> None:
    code = "import sys, tuned_models_emulator.embedded; print('uvicorn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
