"""The emulated Cloud Storage JSON API (buckets, objects, uploads, downloads), enough for tuning
datasets. See ``emulator/README.md`` for what is and is not emulated."""

from __future__ import annotations

from tuned_models_emulator.storage.objects import ObjectGone, find_object, object_data
from tuned_models_emulator.storage.service import CloudStorage
from tuned_models_emulator.storage.tables import ObjectRecord

__all__ = ["CloudStorage", "ObjectGone", "ObjectRecord", "find_object", "object_data"]
