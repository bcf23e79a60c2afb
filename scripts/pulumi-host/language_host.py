"""The Python language host for a Pulumi CLI built from Go modules.

Pulumi's own host (``pulumi-language-python``) is an untagged Go module that the Go module proxy
does not serve, so ``scripts/install-pulumi.sh`` installs this file in its place when it builds the
CLI. It does what that host does for a ``pulumi preview/up/refresh/destroy`` of a pip-managed
project: it serves the ``LanguageRuntime`` gRPC service on a loopback port (printed on the first
line of stdout, as the CLI expects) and runs the program with the SDK's own runner,
``pulumi-language-python-exec`` (shipped in Pulumi's ``sdk/v3`` module and installed beside this
file), under the project's virtualenv (``runtime.options.virtualenv``). It reports no required
plugins: a program of this project uses only the bundled ``pulumi-python`` dynamic provider.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

HERE = Path(__file__).resolve().parent
EXEC_SHIM = HERE / "pulumi-language-python-exec"
# The runner's exit code for "an error was already shown to the user".
SHOWN_TO_USER = 32


def _python_for(info: Any) -> str:
    """The interpreter of the project's virtualenv (relative to the project root), else ours."""
    venv = info.options["virtualenv"] if info and "virtualenv" in info.options else ""
    if venv:
        path = Path(venv)
        if not path.is_absolute():
            path = Path(info.root_directory or ".") / path
        candidate = path / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    return sys.executable


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """Serves the CLI's calls; ``Run`` starts the program in a child process and waits for it."""

    def __init__(self, engine_address: str) -> None:
        self._engine = engine_address
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def Handshake(self, request: Any, context: Any) -> Any:
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version="3.0.0")

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        return language_pb2.GetRequiredPackagesResponse()

    def About(self, request: Any, context: Any) -> Any:
        python = _python_for(request.info)
        version = subprocess.run(
            [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:
        return language_pb2.GetProgramDependenciesResponse()

    def Run(self, request: Any, context: Any) -> Any:
        info = request.info
        program = request.program or info.entry_point or "."
        argv = [
            _python_for(info), "-u", str(EXEC_SHIM),
            "--monitor", request.monitor_address,
            "--engine", self._engine,
            "--project", request.project,
            "--root_directory", info.root_directory or request.pwd,
            "--stack", request.stack,
            "--parallel", str(request.parallel),
            "--dry_run", "true" if request.dryRun else "false",
            "--organization", request.organization or "organization",
        ]  # fmt: skip
        if request.pwd:
            argv += ["--pwd", request.pwd]
        argv += [program, *request.args]
        env = dict(os.environ)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        env.pop("PYTHONHOME", None)
        child = subprocess.Popen(argv, env=env, cwd=request.pwd or None)
        with self._lock:
            self._children.add(child)
        try:
            code = child.wait()
        finally:
            with self._lock:
                self._children.discard(child)
        if code == 0:
            return language_pb2.RunResponse()
        if code == SHOWN_TO_USER:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")

    def stop_children(self) -> None:
        """Interrupt every running program (the CLI is shutting this host down)."""
        with self._lock:
            for child in self._children:
                child.send_signal(signal.SIGINT)


def main(argv: list[str]) -> int:
    """``pulumi-language-python [-flag=value ...] ENGINE_ADDRESS``: serve until the CLI stops us."""
    positional = [a for a in argv if not a.startswith("-")]
    host = LanguageHost(positional[-1] if positional else "")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    done = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        host.stop_children()
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # A CLI killed with SIGKILL sends no signal: notice that our parent is gone and stop too.
    parent = os.getppid()
    while not done.wait(1.0):
        if os.getppid() != parent:
            _stop(signal.SIGTERM, None)
    server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
