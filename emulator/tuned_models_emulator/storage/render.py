"""The Cloud Storage JSON API's resources as it renders them: Bucket and Object, timestamps with
milliseconds, ETags."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tuned_models_emulator.storage.tables import BucketRecord, ObjectRecord

_MULTI_REGIONS = {"US", "EU", "ASIA"}


def gcs_time(ns: int) -> str:
    """RFC 3339 with milliseconds, as Cloud Storage prints every timestamp."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos // 1_000_000:03d}Z"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def etag(generation: int | None, metageneration: int) -> str:
    """The ETag Cloud Storage sends: base64 of a tiny protobuf (generation, metageneration)."""
    raw = b""
    if generation is not None:
        raw += b"\x08" + _varint(generation)
    raw += b"\x10" + _varint(metageneration)
    return base64.b64encode(raw).decode()


def render_bucket(bucket: BucketRecord, base_url: str) -> dict[str, Any]:
    """The Bucket resource."""
    out: dict[str, Any] = {
        "kind": "storage#bucket",
        "selfLink": f"{base_url}/storage/v1/b/{bucket.name}",
        "id": bucket.name,
        "name": bucket.name,
        "projectNumber": bucket.project_number,
        "metageneration": str(bucket.metageneration),
        "location": bucket.location,
        "storageClass": bucket.storage_class,
        "etag": etag(None, bucket.metageneration),
        "timeCreated": gcs_time(bucket.create_ns),
        "updated": gcs_time(bucket.update_ns),
        "locationType": "multi-region" if bucket.location in _MULTI_REGIONS else "region",
    }
    if bucket.labels:
        out["labels"] = dict(bucket.labels)
    return out


def render_object(obj: ObjectRecord, base_url: str) -> dict[str, Any]:
    """The Object resource (int64 fields as strings)."""
    quoted = quote(obj.name, safe="")
    out: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{obj.bucket}/{obj.name}/{obj.generation}",
        "selfLink": f"{base_url}/storage/v1/b/{obj.bucket}/o/{quoted}",
        "mediaLink": f"{base_url}/download/storage/v1/b/{obj.bucket}/o/{quoted}"
        f"?generation={obj.generation}&alt=media",
        "name": obj.name,
        "bucket": obj.bucket,
        "generation": str(obj.generation),
        "metageneration": str(obj.metageneration),
        "contentType": obj.content_type,
        "storageClass": "STANDARD",
        "size": str(obj.size),
        "md5Hash": obj.md5,
        "crc32c": obj.crc32c,
        "etag": etag(obj.generation, obj.metageneration),
        "timeCreated": gcs_time(obj.create_ns),
        "updated": gcs_time(obj.update_ns),
        "timeStorageClassUpdated": gcs_time(obj.create_ns),
        "timeFinalized": gcs_time(obj.create_ns),
    }
    if obj.metadata:
        out["metadata"] = dict(obj.metadata)
    return out
