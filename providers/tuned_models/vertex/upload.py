"""Uploading a dataset: the canonical ``contents`` JSONL to ``gs://bucket/prefix/<sha256 hex>.jsonl``.

Content-addressed and create-only: the object's name is the digest of what it holds, so a re-run
finds it and uploads nothing (after checking the stored object's size and MD5), and the upload
itself is create-only (``ifGenerationMatch=0``), so two runs racing never overwrite each other.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuned_models.rest.errors import PermissionDenied, ServiceError

from .datasets import (
    DEFAULT_LIMITS,
    ContentsScan,
    DatasetError,
    DatasetKind,
    VertexLimits,
    scan_dataset,
    write_dataset,
)
from .storage import GcsLocation, StorageClient, StorageObject

__all__ = ["UploadedDataset", "upload_dataset"]


@dataclass(frozen=True)
class UploadedDataset:
    """A dataset in Cloud Storage: its ``gs://`` URI and whether this call uploaded it."""

    uri: str
    digest: str
    count: int
    size: int
    uploaded: bool


def _problem_text(path: Path, scan: ContentsScan) -> str:
    lines = [f.message(str(path)) for f in scan.errors[:5]]
    if len(scan.errors) > 5:
        lines.append(f"... and {len(scan.errors) - 5} more errors")
    return "\n".join(lines)


def _check_stored(stored: StorageObject, scan: ContentsScan, uri: str) -> None:
    """The object named by the digest must hold the canonical bytes (same size and MD5)."""
    if (stored.size is not None and stored.size != scan.size) or (
        stored.md5Hash is not None and stored.md5Hash != scan.md5
    ):
        raise DatasetError(
            f"{uri} exists but holds other content (size {stored.size}, MD5 {stored.md5Hash}; "
            f"expected {scan.size} bytes, MD5 {scan.md5}); delete it and run again"
        )


def upload_dataset(
    storage: StorageClient,
    path: Path,
    destination: GcsLocation | str,
    *,
    kind: DatasetKind = DatasetKind.TRAINING,
    limits: VertexLimits = DEFAULT_LIMITS,
    scan: ContentsScan | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    work_dir: Path | None = None,
) -> UploadedDataset:
    """Upload the canonical JSONL of ``path`` to ``destination`` (``gs://bucket/prefix``) as
    ``<sha256 hex>.jsonl``, unless that object exists already.

    ``scan`` may be passed when the caller just scanned the unchanged file (it saves a pass).
    The canonical file is written to a temporary directory (``work_dir``, default the system's)
    and removed afterwards; ``on_progress(sent, total)`` follows the upload.

    Returns:
        the object's URI and whether this call uploaded it.
    Raises:
        DatasetError: the dataset has errors (the first few are listed), it changed while being
            read, or the object exists with other content.
        ValueError: ``destination`` is not a ``gs://`` URI. ServiceError, TransportFailure: the
            service's refusal or failure.
    """
    where = GcsLocation.parse(destination) if isinstance(destination, str) else destination
    scan = scan if scan is not None else scan_dataset(path, kind, limits)
    if not scan.ok:
        raise DatasetError(_problem_text(path, scan))
    name = where.object_name(scan.file_name)
    uri = where.uri(scan.file_name)
    try:
        existing = storage.find_object(where.bucket, name)
    except PermissionDenied:
        existing = None  # may create without reading: the create-only upload tells
    if existing is not None:
        _check_stored(existing, scan, uri)
        return UploadedDataset(uri, scan.digest, scan.count, scan.size, uploaded=False)
    with tempfile.TemporaryDirectory(prefix="tuned-models-", dir=work_dir) as tmp:
        canonical = Path(tmp) / scan.file_name
        with canonical.open("wb") as out:
            written = write_dataset(path, out, kind, limits)
        if written.digest != scan.digest or not written.ok:
            raise DatasetError(f"{path}: the file changed while being read; run again")
        result = storage.upload_file(canonical, where.bucket, name, on_progress=on_progress)
    if result.object is not None:
        try:
            _check_stored(result.object, scan, uri)
        except DatasetError:
            if result.uploaded:
                raise ServiceError(
                    f"{uri}: the stored object differs from the file sent", status="DATA_LOSS"
                ) from None
            raise
    return UploadedDataset(uri, scan.digest, scan.count, scan.size, uploaded=result.uploaded)
