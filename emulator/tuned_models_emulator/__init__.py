"""A local emulator of the Gemini API's model-tuning service (``tunedModels``).

Same wire behaviour as the real service: an ASGI app over a SQLite store, served by uvicorn
(``tuned-models emulator``) or mounted in process as an httpx transport (``embedded``).
See ``emulator/README.md`` for what is and is not emulated.
"""

from __future__ import annotations

from tuned_models_emulator.app import create_app
from tuned_models_emulator.backend import Settings
from tuned_models_emulator.embedded import EmbeddedTransport, embedded_transport
from tuned_models_emulator.server import RunningServer, main, serve_in_thread
from tuned_models_emulator.store import Store

__all__ = [
    "EmbeddedTransport",
    "RunningServer",
    "Settings",
    "Store",
    "create_app",
    "embedded_transport",
    "main",
    "serve_in_thread",
]
