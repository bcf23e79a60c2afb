"""The emulated Cloud Storage JSON API (buckets, objects, uploads, downloads), enough for tuning
datasets. See ``emulator/README.md`` for what is and is not emulated."""

from __future__ import annotations

from tuned_models_emulator.storage.service import CloudStorage, read_object

__all__ = ["CloudStorage", "read_object"]
