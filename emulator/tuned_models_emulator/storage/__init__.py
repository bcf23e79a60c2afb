"""The emulated Cloud Storage JSON API (buckets, objects, uploads, downloads), enough for tuning
datasets. See ``emulator/README.md`` for what is and is not emulated."""

from __future__ import annotations

from tuned_models_emulator.storage.objects import read_object
from tuned_models_emulator.storage.service import CloudStorage

__all__ = ["CloudStorage", "read_object"]
