"""A small on-disk cache of dataset scans, keyed by the raw content hash (DESIGN.md decision 2).

:class:`ScanCache` keeps one JSON file per key under ``<project root>/.tuned-models/cache/datasets``
(outside the tracked files: ``.tuned-models/`` is ignored by git). So an unchanged dataset costs
one hash of its bytes per ``validate``, ``plan`` or preview, whatever its size.

Contract:

- :meth:`ScanCache.get` returns the stored JSON value, or None when there is none or it cannot
  be read (a corrupt or foreign file is ignored, then overwritten by the next :meth:`put`).
- :meth:`ScanCache.put` writes atomically (a temporary file in the same folder, then
  ``os.replace``), so concurrent processes never read half an entry; the last writer wins, and
  entries for one key are equal by construction. It never raises: a read-only checkout simply
  has no cache.
- The cache is bounded: past ``max_entries`` files, the least recently used (by modification
  time, which a hit refreshes) are removed. Entries are small (a digest, a count, at most 50
  findings).
- ``TUNED_MODELS_CACHE=off`` in the environment disables it (:func:`project_cache` returns None).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tuned_models.project import STATE_DIR_NAME

__all__ = ["CACHE_ENV_VAR", "ScanCache", "project_cache"]

#: Set to ``off`` to read every dataset afresh.
CACHE_ENV_VAR = "TUNED_MODELS_CACHE"
_MAX_ENTRY_BYTES = 1024 * 1024


class ScanCache:
    """JSON values by key in ``directory`` (created on the first :meth:`put`)."""

    def __init__(self, directory: Path, max_entries: int = 2048) -> None:
        self.directory = directory
        self.max_entries = max_entries

    def _path(self, key: str) -> Path:
        if not key or any(c in key for c in "/\\\0") or key.startswith("."):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None."""
        path = self._path(key)
        try:
            with path.open("rb") as f:
                data = f.read(_MAX_ENTRY_BYTES + 1)
            if len(data) > _MAX_ENTRY_BYTES:
                return None
            value = json.loads(data)
        except (OSError, ValueError, RecursionError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-ready) under ``key``; never raises."""
        path = self._path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(value, f, separators=(",", ":"))
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            self._prune()
        except (OSError, TypeError, ValueError):
            return

    def _prune(self) -> None:
        try:
            entries = [e for e in os.scandir(self.directory) if e.name.endswith(".json")]
        except OSError:
            return
        if len(entries) <= self.max_entries:
            return
        dated: list[tuple[float, str]] = []
        for entry in entries:
            with contextlib.suppress(OSError):
                dated.append((entry.stat().st_mtime, entry.path))
        dated.sort()
        for _, path in dated[: len(dated) - self.max_entries]:
            with contextlib.suppress(OSError):  # another process may have pruned it already
                os.unlink(path)


def project_cache(project_root: Path) -> ScanCache | None:
    """The dataset cache of the project at ``project_root``, or None when disabled."""
    if os.environ.get(CACHE_ENV_VAR, "").lower() in ("off", "0", "false", "no"):
        return None
    return ScanCache(project_root / STATE_DIR_NAME / "cache" / "datasets")
