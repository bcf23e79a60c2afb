"""The emulator as a server: ``tuned-models emulator`` and :func:`serve_in_thread`.

Both serve the same ASGI app as the embedded transport, with uvicorn, on a socket bound before
the server starts so the printed / returned base URL carries the real port (``--port 0`` works).
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from tuned_models_emulator.app import create_app
from tuned_models_emulator.embedded import STATE_FILE
from tuned_models_emulator.errors import DroppedConnection
from tuned_models_emulator.records import Settings
from tuned_models_emulator.store import Store

DEFAULT_STATE = Path(".tuned-models") / STATE_FILE


class _QuietDrops(logging.Filter):
    """Dropped connections are injected on purpose: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


def resolve_state(path: str | Path | None) -> Path | None:
    """The SQLite file for ``--state``: None or ``:memory:`` = in memory; a directory holds
    ``emulator.sqlite``; anything else is the file itself."""
    if path is None or str(path) == ":memory:":
        return None
    resolved = Path(path)
    if resolved.is_dir() or (not resolved.suffix and not resolved.exists()):
        return resolved / STATE_FILE
    return resolved


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Without this, sockets accepted from a pre-bound listener wait on delayed ACKs (~40 ms each).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _server(store: Store, settings: Settings) -> uvicorn.Server:
    _install_log_filter()
    config = uvicorn.Config(
        create_app(store, settings),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


@dataclass
class RunningServer:
    """An emulator served by uvicorn in a background thread."""

    base_url: str
    server: uvicorn.Server
    thread: threading.Thread
    store: Store
    sock: socket.socket
    _stopped: bool = field(default=False)

    def stop(self) -> None:
        """Stop serving, join the thread and close the store (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        self.store.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *args: object) -> None:
        self.stop()


def serve_in_thread(
    state_path: str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    step_seconds: float = 1.0,
    api_keys: Iterable[str] = (),
    seed: int | None = None,
    access_tokens: Iterable[str] = (),
    buckets: Iterable[str] = (),
) -> RunningServer:
    """Serve the emulator in a background thread; returns once it accepts connections.

    ``state_path=None`` keeps state in memory. The returned ``.base_url`` has the bound port.
    ``access_tokens`` and ``buckets`` as for :func:`tuned_models_emulator.embedded.embedded_transport`.
    """
    store = Store.open(resolve_state(state_path))
    settings = Settings.build(
        step_seconds=step_seconds,
        api_keys=tuple(api_keys),
        seed=seed,
        access_tokens=tuple(access_tokens),
        buckets=tuple(buckets),
    )
    sock = _bind(host, port)
    server = _server(store, settings)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="emulator-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            store.close()
            raise RuntimeError("The emulator server did not start.")
        time.sleep(0.01)
    return RunningServer(_url(host, sock), server, thread, store, sock)


def build_parser() -> argparse.ArgumentParser:
    """The ``tuned-models emulator`` command line."""
    parser = argparse.ArgumentParser(
        prog="tuned-models emulator",
        description="Serve a local emulator of the Gemini API's model-tuning service, Vertex AI tuning "
        "(jobs, Model Registry, endpoints) and the Cloud Storage JSON API, on one port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8471, help="port (8471; 0 = any free port)")
    parser.add_argument(
        "--state",
        default=str(DEFAULT_STATE),
        help=f"SQLite file or directory (default {DEFAULT_STATE}; ':memory:' keeps nothing)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY[=EMAIL]",
        help="accept only these API keys (repeatable); without it any key is accepted",
    )
    parser.add_argument(
        "--access-token",
        action="append",
        default=[],
        metavar="TOKEN[=EMAIL]",
        help="accept only these OAuth bearer tokens (repeatable); without it any token is accepted",
    )
    parser.add_argument(
        "--bucket",
        action="append",
        default=[],
        metavar="NAME",
        help="a Cloud Storage bucket that exists from the start and after every reset (repeatable)",
    )
    parser.add_argument(
        "--step-seconds", type=float, default=1.0, help="simulated time per training step (1.0)"
    )
    parser.add_argument("--seed", type=int, default=None, help="deterministic ids and losses")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``tuned-models emulator``: print the base URL on stdout, serve until interrupted."""
    args = build_parser().parse_args(argv)
    if args.step_seconds <= 0:
        print("--step-seconds must be positive", file=sys.stderr)
        return 2
    state = resolve_state(args.state)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    store = Store.open(state)
    settings = Settings.build(
        step_seconds=args.step_seconds,
        api_keys=tuple(args.api_key),
        seed=args.seed,
        access_tokens=tuple(args.access_token),
        buckets=tuple(args.bucket),
    )
    server = _server(store, settings)
    print(_url(args.host, sock), flush=True)
    print(
        f"tuned-models emulator: state {state or 'in memory'}, "
        f"{args.step_seconds:g}s per training step; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
