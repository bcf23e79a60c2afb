"""The emulator as a server: ``tuned-models emulator`` and :func:`serve_in_thread`.

Both serve the same ASGI app as the embedded transport, with uvicorn, on a socket bound before
the server starts so the printed / returned base URL carries the real port (``--port 0`` works).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import secrets
import socket
import sqlite3
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
from tuned_models_emulator.records import MAX_STEP_SECONDS, Settings
from tuned_models_emulator.storage.objects import BUCKET_NAME_RULE, bucket_name, bucket_name_ok
from tuned_models_emulator.store import Store

DEFAULT_STATE = Path(".tuned-models") / STATE_FILE
PROG = "tuned-models emulator"
SWITCH_INTERVAL = 0.001


class _QuietDrops(logging.Filter):
    """Dropped connections are injected on purpose: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


#: Host names that always mean this machine.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address to bind) is reachable from this machine only."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


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
    admin_token: str | None = None
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
    tokens: Iterable[str] = (),
    seed: int | None = None,
    admin_token: str | None = None,
    buckets: Iterable[str] = (),
) -> RunningServer:
    """Serve the emulator in a background thread (for tests and benchmarks); returns once it
    accepts connections.

    ``state_path=None`` keeps state in memory. The returned ``.base_url`` has the bound port.
    ``api_keys``/``tokens`` as for :func:`embedded_transport`. With ``admin_token`` the admin
    routes need ``Authorization: Bearer <admin_token>``; without one they answer only requests
    addressed to a loopback host name, and ``host`` must be a loopback address (ValueError
    otherwise). ``buckets`` as for :func:`tuned_models_emulator.embedded.embedded_transport`
    (ValueError for an invalid name).
    """
    if admin_token is None and not is_loopback(host):
        raise ValueError(f"serving on {host}, which is not a loopback address, needs an admin_token")
    settings = Settings.build(
        step_seconds=step_seconds,
        api_keys=api_keys,
        tokens=tokens,
        seed=seed,
        admin_token=admin_token,
        admin_hosts=None if admin_token is not None else {*LOOPBACK_NAMES, host},
        buckets=buckets,
    )
    store = Store.open(resolve_state(state_path))
    try:
        server = _server(store, settings)
    except ValueError:
        store.close()
        raise
    sock = _bind(host, port)
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
    return RunningServer(_url(host, sock), server, thread, store, sock, admin_token)


def build_parser() -> argparse.ArgumentParser:
    """The ``tuned-models emulator`` command line."""
    parser = argparse.ArgumentParser(
        prog=PROG,
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
        "--token",
        action="append",
        default=[],
        metavar="TOKEN[=EMAIL]",
        help="accept these bearer tokens (repeatable); with --api-key or --token, other keys and "
        "tokens are refused (400/401) on every surface, without either any is accepted",
    )
    parser.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help="the token the /_emulator admin routes need (default: a random one, printed at start)",
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


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run ``tuned-models emulator``: print the base URL on stdout, serve until interrupted.

    Returns 2 after one line on stderr for a bad argument or an unusable ``--state``, 1 when the
    address cannot be bound, 0 after Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    # A request waiting for the interpreter behind a costly one waits up to this long per turn
    # (Python's default is 5 ms; a request needs several turns). This process is the server's own.
    sys.setswitchinterval(SWITCH_INTERVAL)
    if not 0 <= args.port <= 65535:
        return _fail(f"--port must be between 0 and 65535, got {args.port}")
    if not 0 < args.step_seconds <= MAX_STEP_SECONDS:
        return _fail(
            f"--step-seconds must be positive and at most {MAX_STEP_SECONDS:g}, got {args.step_seconds}"
        )
    for flag, entries, name in (("--api-key", args.api_key, "KEY"), ("--token", args.token, "TOKEN")):
        if any(not entry.strip() or entry.strip().startswith("=") for entry in entries):
            return _fail(f"{flag} needs a non-empty {name.lower()}: {flag} {name} or {flag} {name}=EMAIL")
    if args.admin_token is not None and not args.admin_token.strip():
        return _fail("--admin-token must not be empty")
    for bucket in args.bucket:
        if not bucket_name_ok(bucket_name(bucket)):
            return _fail(f"--bucket {bucket!r} is not a valid bucket name: {BUCKET_NAME_RULE}")
    admin_token = args.admin_token or secrets.token_urlsafe(24)
    settings = Settings.build(
        step_seconds=args.step_seconds,
        api_keys=args.api_key,
        tokens=args.token,
        seed=args.seed,
        admin_token=admin_token,
        buckets=args.bucket,
    )
    if not is_loopback(args.host):
        print(
            f"{PROG}: warning: --host {args.host} is not a loopback address: anyone who can reach it "
            "can call the API over plain HTTP (the admin routes still need the admin token)",
            file=sys.stderr,
            flush=True,
        )
    state = resolve_state(args.state)
    try:
        store = Store.open(state)
    except (OSError, sqlite3.Error) as exc:
        return _fail(f"--state {args.state} is not a usable SQLite database: {exc}")
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        store.close()
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc}", 1)
    server = _server(store, settings)
    print(_url(args.host, sock), flush=True)
    print(
        f"{PROG}: state {state or 'in memory'}, {args.step_seconds:g}s per training step; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    if args.admin_token is None:
        print(
            f"{PROG}: admin token {admin_token} (send 'Authorization: Bearer <token>' to /_emulator/...)",
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
