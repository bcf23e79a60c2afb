"""What a Pulumi program reads from the runtime: this stack's ``tuned-models:*`` config."""

from __future__ import annotations

from typing import Any

from pulumi.runtime.config import CONFIG, get_config_env

from tuned_models.config import KEY_API_KEY, NAMESPACE, Connection, read_connection


def stack_config() -> dict[str, Any]:
    """This stack's ``tuned-models:*`` config as the Pulumi runtime hands it to the program.

    The API key's value is never read here: the provider process gets it from the engine.
    """
    merged = {**(get_config_env() or {}), **CONFIG.get()}
    config = {k: v for k, v in merged.items() if k.startswith(NAMESPACE + ":")}
    if KEY_API_KEY in config:
        config[KEY_API_KEY] = {"secure": "(set)"}
    return config


def stack_connection() -> Connection:
    """The connection this stack's config declares (defaults for keys it does not set or that
    are not valid; the program's stack check reports those)."""
    return read_connection(stack_config())[0]
