"""A local emulator of the Gemini API's model-tuning service (``tunedModels``).

Same wire behaviour as the real service: an ASGI app over a SQLite store, served by uvicorn
(``tuned-models emulator``) or mounted in process as an httpx transport (``embedded``).
See ``emulator/README.md`` for what is and is not emulated.

The names below are imported on first use, so that the embedded path (``import
tuned_models_emulator.embedded``) never loads the server (uvicorn).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuned_models_emulator.app import create_app
    from tuned_models_emulator.embedded import EmbeddedTransport, embedded_transport
    from tuned_models_emulator.records import Settings
    from tuned_models_emulator.routes import Call, Endpoint, Service
    from tuned_models_emulator.server import RunningServer, main, serve_in_thread
    from tuned_models_emulator.store import Store

_HOMES = {
    "create_app": "app",
    "EmbeddedTransport": "embedded",
    "embedded_transport": "embedded",
    "Settings": "records",
    "Call": "routes",
    "Endpoint": "routes",
    "Service": "routes",
    "RunningServer": "server",
    "main": "server",
    "serve_in_thread": "server",
    "Store": "store",
}

__all__ = [
    "Call",
    "EmbeddedTransport",
    "Endpoint",
    "RunningServer",
    "Service",
    "Settings",
    "Store",
    "create_app",
    "embedded_transport",
    "main",
    "serve_in_thread",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
