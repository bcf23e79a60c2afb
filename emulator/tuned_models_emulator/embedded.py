"""The emulator in process: a synchronous, thread-safe httpx transport over the same ASGI app.

An asyncio event loop runs in a daemon thread (a transport that is never closed cannot keep the
interpreter from exiting); each request is handed to ``httpx.ASGITransport`` on that loop. No
socket is opened. A dropped-connection fault surfaces as ``httpx.RemoteProtocolError``, as it
would over a socket.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

from tuned_models_emulator.app import DEFAULT_SERVICES, create_app
from tuned_models_emulator.errors import DroppedConnection
from tuned_models_emulator.records import Settings
from tuned_models_emulator.routes import Service
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.store import Store

STATE_FILE = "emulator.sqlite"


class EmbeddedTransport(httpx.BaseTransport):
    """``httpx.BaseTransport`` serving the emulator app in this process (see module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        services: Sequence[Callable[[Runtime], Service]] = DEFAULT_SERVICES,
    ) -> None:
        self.store = store
        self.app = create_app(store, settings, services)
        self._asgi = httpx.ASGITransport(app=self.app)
        self._loop: asyncio.AbstractEventLoop | None = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="emulator-embedded", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Serve one request within the request's read timeout.

        Raises ``httpx.RemoteProtocolError`` for a dropped connection, ``httpx.ReadTimeout``
        when the timeout passes, ``httpx.ReadError`` when the transport is closed meanwhile.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError("The embedded emulator transport is closed.")
        body = request.read()
        inner = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )
        timeout = (request.extensions.get("timeout") or {}).get("read")
        future = asyncio.run_coroutine_threadsafe(self._send(inner), loop)
        try:
            status, headers, content = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout(
                "The embedded emulator did not answer in time.", request=request
            ) from None
        except concurrent.futures.CancelledError:
            raise httpx.ReadError(
                "The embedded emulator was closed during the request.", request=request
            ) from None
        except DroppedConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
        return response.status_code, headers, content

    def close(self) -> None:
        """Stop the event loop thread and close the store (idempotent)."""
        with self._lock:
            loop, self._loop = self._loop, None
            if loop is None:
                return

            def stop() -> None:
                for task in asyncio.all_tasks(loop):
                    task.cancel()  # a caller waiting on it gets ReadError, not a hang
                loop.call_soon(loop.stop)

            loop.call_soon_threadsafe(stop)
            self._thread.join(timeout=10)
            loop.close()
            self.store.close()

    def __enter__(self) -> EmbeddedTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


def embedded_transport(
    state_dir: str | Path | None = None,
    *,
    step_seconds: float = 1.0,
    api_keys: Iterable[str] = (),
    tokens: Iterable[str] = (),
    seed: int | None = None,
    buckets: Iterable[str] = (),
) -> EmbeddedTransport:
    """A transport running the emulator in process.

    ``state_dir=None`` keeps state in memory; otherwise the SQLite file is
    ``<state_dir>/emulator.sqlite`` (created if needed). ``api_keys`` (``KEY`` or ``KEY=EMAIL``)
    and ``tokens`` (``TOKEN`` or ``TOKEN=EMAIL``): the accepted credentials on every surface; with
    neither, any key or token is accepted. ``buckets``: Cloud Storage buckets that exist from the
    start and again after a reset. The admin routes need no token: only code in this process
    reaches them. Call ``.close()`` when done. Raises ValueError for a bad step time, an empty
    credential or an invalid bucket name.
    """
    settings = Settings.build(
        step_seconds=step_seconds, api_keys=api_keys, tokens=tokens, seed=seed, buckets=buckets
    )
    path = None if state_dir is None else Path(state_dir) / STATE_FILE
    store = Store.open(path)
    try:
        return EmbeddedTransport(store, settings)
    except ValueError:
        store.close()
        raise
