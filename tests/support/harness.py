"""Play the Pulumi engine against a real ``python -m pulumi.dynamic`` provider process.

The engine launches ``pulumi-resource-pulumi-python <engine-addr>``, which runs
``python -u -m pulumi.dynamic``; the provider prints its port on the first stdout line, then
serves gRPC. :class:`ProviderProcess` starts it the same way (cwd = the program directory,
``PULUMI_PROJECT`` set, any argv), and :class:`MiniEngine` sends the calls in the engine's order
with the engine's request shapes: secrets stripped from resource calls, numbers as doubles,
``Diff`` given the old *outputs*, ``Read``/``Delete`` given outputs and inputs, create-before-
delete or delete-before-replace for replacements, and "same" steps that keep old outputs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

PROVIDER_KEY = "__provider"
UNKNOWN = rpc.UNKNOWN
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def secret(value: Any) -> dict[str, Any]:
    """A value wrapped as the engine wraps a secret in Configure."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def strip_secrets(value: Any) -> Any:
    """What the engine sends a provider that does not accept secrets."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return strip_secrets(value["value"])
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update({k: v for k, v in strip_secrets(dict(props)).items() if v is not None})
    return s


def from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = rpc.deserialize_properties(s, keep_unknowns=True)
    return result


def serialize_provider(provider: Any) -> str:
    """Exactly what ``pulumi.dynamic.Resource.__init__`` stores as ``__provider``."""
    from pulumi.dynamic.dynamic import serialize_provider as _ser
    from pulumi.runtime._serialization import _serialize

    value, _ = _serialize(True, _ser, provider)
    return str(value)


class ProviderProcess:
    """A real dynamic-provider plugin process, started as the engine starts it."""

    def __init__(
        self,
        cwd: Path = PROJECT_ROOT,
        project: str = "tuned-models",
        extra_env: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "PULUMI_CONFIG")
        }
        env["PULUMI_PROJECT"] = project
        env["PULUMI_CONFIG"] = "{}"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd), env.get("PYTHONPATH")]))
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", "127.0.0.1:1"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = _readline(self.proc.stdout, start_timeout)
        if not line.strip().isdigit():
            raise RuntimeError(f"the provider printed no port: {line!r}")
        self.port = int(line)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=_drain, args=(stream, sink), daemon=True).start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=start_timeout)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def __enter__(self) -> ProviderProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def output(self) -> str:
        """Everything the provider printed (what the CLI would show the user)."""
        return "\n".join(self.stdout + self.stderr)

    def kill(self) -> None:
        """Die at once, as on a second Ctrl-C or SIGKILL."""
        self.channel.close()
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """SIGINT, wait 5 s, then kill: the engine's shutdown."""
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _readline(stream: IO[bytes], timeout: float) -> str:
    out: list[bytes] = []
    t = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0].decode() if out else ""


def _drain(stream: IO[bytes], sink: list[str]) -> None:
    for line in iter(stream.readline, b""):
        sink.append(line.decode(errors="replace").rstrip("\n"))


@dataclass
class Step:
    """What one engine operation did to one resource."""

    op: str
    failures: list[tuple[str, str]] = field(default_factory=list)


class MiniEngine:
    """The engine's call sequence for pulumi-python dynamic resources.

    ``state``: ``{urn: {"id", "inputs", "outputs", "type"}}``; inputs/outputs include
    ``__provider``. ``calls`` lists every RPC sent, in order.
    """

    PROVIDER_TYPE = "pulumi:providers:pulumi-python"

    def __init__(self, proc: ProviderProcess, project: str = "tuned-models", stack: str = "test") -> None:
        self.proc, self.stub, self.project, self.stack = proc, proc.stub, project, stack
        self.state: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def urn(self, name: str, typ: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{typ}::{name}"

    def _record(self, call: str) -> None:
        with self._lock:
            self.calls.append(call)

    # -- startup ---------------------------------------------------------------------------------
    def start(self, config: Mapping[str, Any]) -> None:
        """Handshake, GetPluginInfo, CheckConfig, Configure (whole stack config, secrets wrapped)."""
        try:
            self.stub.Handshake(provider_pb2.ProviderHandshakeRequest(engine_address="127.0.0.1:1"))
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNIMPLEMENTED
        self.stub.GetPluginInfo(empty_pb2.Empty())
        purn = self.urn("default", self.PROVIDER_TYPE)
        try:
            self.stub.CheckConfig(provider_pb2.CheckRequest(urn=purn, news=to_struct({})))
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNIMPLEMENTED
        args = struct_pb2.Struct()
        args.update(dict(config))
        resp = self.stub.Configure(
            provider_pb2.ConfigureRequest(
                args=args,
                variables={},
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                type=self.PROVIDER_TYPE,
                name="default",
                urn=purn,
                id="00000000-0000-0000-0000-000000000000",
            )
        )
        assert resp.acceptSecrets is False and resp.supportsPreview is False

    # -- raw calls -------------------------------------------------------------------------------
    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self._record("Check")
        r = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn,
                name=urn.split("::")[-1],
                type=urn.split("::")[-2],
                olds=to_struct(olds),
                news=to_struct(news),
            )
        )
        return from_struct(r.inputs), [(f.property, f.reason) for f in r.failures]

    def diff(self, urn: str, old: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        self._record("Diff")
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=old["id"],
                urn=urn,
                name=urn.split("::")[-1],
                type=urn.split("::")[-2],
                olds=to_struct(old["outputs"]),
                old_inputs=to_struct(old["inputs"]),
                news=to_struct(news),
            )
        )

    def create(self, urn: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        self._record("Create")
        r = self.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn,
                name=urn.split("::")[-1],
                type=urn.split("::")[-2],
                properties=to_struct(inputs),
                timeout=0.0,
                preview=False,
            )
        )
        return r.id, from_struct(r.properties)

    def update(self, urn: str, old: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        self._record("Update")
        r = self.stub.Update(
            provider_pb2.UpdateRequest(
                id=old["id"],
                urn=urn,
                olds=to_struct(old["outputs"]),
                news=to_struct(news),
                old_inputs=to_struct(old["inputs"]),
                timeout=0.0,
                preview=False,
            )
        )
        return from_struct(r.properties)

    def read(self, urn: str, old: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        self._record("Read")
        r = self.stub.Read(
            provider_pb2.ReadRequest(
                id=old["id"], urn=urn, properties=to_struct(old["outputs"]), inputs=to_struct(old["inputs"])
            )
        )
        return r.id, from_struct(r.properties)

    def delete(self, urn: str, old: Mapping[str, Any]) -> None:
        self._record("Delete")
        self.stub.Delete(
            provider_pb2.DeleteRequest(
                id=old["id"],
                urn=urn,
                properties=to_struct(old["outputs"]),
                old_inputs=to_struct(old["inputs"]),
                timeout=0.0,
            )
        )

    # -- engine operations -----------------------------------------------------------------------
    def _decide(self, urn: str, old: Mapping[str, Any], checked: Mapping[str, Any]) -> tuple[str, Any]:
        d = self.diff(urn, old, checked)
        if d.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
            some = strip_secrets(dict(old["inputs"])) != strip_secrets(dict(checked))
            return ("update" if some else "same"), d
        if d.changes == provider_pb2.DiffResponse.DIFF_NONE:
            return "same", d
        return ("replace" if list(d.replaces) else "update"), d

    def preview(self, name: str, typ: str, news: Mapping[str, Any]) -> Step:
        """``pulumi preview``: Check and Diff only."""
        urn = self.urn(name, typ)
        old = self.state.get(urn)
        checked, failures = self.check(urn, old["inputs"] if old else {}, news)
        if failures:
            return Step("check-failed", failures)
        if old is None:
            return Step("create")
        return Step(self._decide(urn, old, checked)[0])

    def up(
        self, name: str, typ: str, news: Mapping[str, Any], delete_before_replace: bool | None = None
    ) -> Step:
        """One resource's step of ``pulumi up``."""
        urn = self.urn(name, typ)
        old = self.state.get(urn)
        checked, failures = self.check(urn, old["inputs"] if old else {}, news)
        if failures:
            return Step("check-failed", failures)
        if old is None:
            id_, outs = self.create(urn, checked)
            self.state[urn] = {"id": id_, "inputs": checked, "outputs": outs, "type": typ}
            return Step("create")
        op, d = self._decide(urn, old, checked)
        if op == "same":
            # The engine stores the new inputs but keeps the old outputs.
            self.state[urn] = {**old, "inputs": checked}
            return Step("same")
        if op == "update":
            outs = self.update(urn, old, checked)
            self.state[urn] = {"id": old["id"], "inputs": checked, "outputs": outs, "type": typ}
            return Step("update")
        checked, _ = self.check(urn, {}, news)
        dbr = d.deleteBeforeReplace if delete_before_replace is None else delete_before_replace
        if dbr:
            self.delete(urn, old)
            del self.state[urn]
            id_, outs = self.create(urn, checked)
        else:
            id_, outs = self.create(urn, checked)
            self.delete(urn, old)
        self.state[urn] = {"id": id_, "inputs": checked, "outputs": outs, "type": typ}
        return Step("replace-dbr" if dbr else "replace-cbd")

    def refresh(self, name: str, typ: str) -> Step:
        urn = self.urn(name, typ)
        old = self.state[urn]
        id_, outs = self.read(urn, old)
        if not id_:
            del self.state[urn]
            return Step("deleted")
        self.state[urn] = {**old, "id": id_, "outputs": outs}
        return Step("refreshed")

    def destroy(self, name: str, typ: str) -> Step:
        urn = self.urn(name, typ)
        old = self.state.pop(urn)
        self.delete(urn, old)
        return Step("deleted")

    def outputs(self, name: str, typ: str) -> dict[str, Any]:
        result: dict[str, Any] = self.state[self.urn(name, typ)]["outputs"]
        return result


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` (for cross-process observations only, never for timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
