"""Provider settings from stack config, and the process-wide API client built from them.

The provider object pickled into Pulumi state holds no data (DESIGN.md decision 3): every
provider process rebuilds its settings in ``configure()`` from the stack config the engine
sends (namespaced keys, secrets in plaintext, every value a string) and the environment.

Keys read: ``tuned-models:endpoint`` (unset: the public service; a URL; or ``embedded``),
``tuned-models:apiKey`` (secret), ``tuned-models:quotaProject``,
``tuned-models:emulatorStepSeconds`` (embedded emulator only).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuned_models.gemini import GeminiClient, connect, find_project_root

NAMESPACE = "tuned-models"


@dataclass(frozen=True)
class Settings:
    """Where and as whom the provider talks to the API. ``repr`` never shows the key."""

    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)
    quota_project: str | None = None
    emulator_step_seconds: float | None = None
    project_root: Path | None = None

    @classmethod
    def from_config(cls, get: Any) -> Settings:
        """Settings from a ``key -> value`` getter over namespaced config (e.g. ``Config.get``)."""

        def value(key: str) -> str | None:
            v = get(f"{NAMESPACE}:{key}")
            return None if v in (None, "") else str(v)

        step = value("emulatorStepSeconds")
        return cls(
            endpoint=value("endpoint"),
            api_key=value("apiKey"),
            quota_project=value("quotaProject"),
            emulator_step_seconds=float(step) if step is not None else None,
            project_root=find_project_root(),
        )

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Settings:
        return cls.from_config(config.get)


_clients: dict[Settings, GeminiClient] = {}
_lock = threading.Lock()


def client_for(settings: Settings) -> GeminiClient:
    """One shared, thread-safe client per distinct settings in this process."""
    with _lock:
        client = _clients.get(settings)
        if client is None:
            client = connect(
                settings.endpoint,
                api_key=settings.api_key,
                quota_project=settings.quota_project,
                project_root=settings.project_root,
                emulator_step_seconds=settings.emulator_step_seconds,
            )
            _clients[settings] = client
        return client
