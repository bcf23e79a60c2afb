"""Cloud Storage state in the emulator's SQLite file: buckets, objects, upload sessions, and object
data as numbered chunks (at most :data:`CHUNK_BYTES` each).

Object data never has to sit in memory: uploads append chunks in short transactions of their own,
downloads read one chunk per transaction. An object points at its data by ``data_id``; a new
generation gets new data and the old chunks are deleted with the old generation. An upload
session's data becomes the object's data when the upload completes (no copy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tuned_models_emulator.records import StoredRecord
from tuned_models_emulator.store import Tx

CHUNK_BYTES = 1 << 20

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS gcs_buckets (name TEXT PRIMARY KEY, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS gcs_objects (bucket TEXT NOT NULL, name TEXT NOT NULL, "
    "record TEXT NOT NULL, PRIMARY KEY (bucket, name))",
    "CREATE TABLE IF NOT EXISTS gcs_chunks (data_id TEXT NOT NULL, seq INTEGER NOT NULL, "
    "data BLOB NOT NULL, PRIMARY KEY (data_id, seq))",
    "CREATE TABLE IF NOT EXISTS gcs_uploads (id TEXT PRIMARY KEY, record TEXT NOT NULL)",
)
TABLES = ("gcs_buckets", "gcs_objects", "gcs_chunks", "gcs_uploads")


@dataclass(frozen=True, slots=True)
class BucketRecord(StoredRecord):
    """A stored bucket. Times are nanoseconds on the emulator's clock."""

    name: str
    project_number: str
    location: str
    storage_class: str
    create_ns: int
    update_ns: int
    metageneration: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectRecord(StoredRecord):
    """A stored object's live generation; its bytes are the chunks of ``data_id``."""

    bucket: str
    name: str
    generation: int
    metageneration: int
    content_type: str
    size: int
    md5: str
    crc32c: str
    create_ns: int
    update_ns: int
    data_id: str
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class UploadRecord(StoredRecord):
    """A resumable upload session: where the object goes and what it will carry (what arrived
    is what the chunks of ``data_id`` hold).

    ``preconditions`` are the ``if*Match`` query parameters of the initiating request (checked
    again when the upload completes); ``expected_md5`` / ``expected_crc32c`` the hashes the
    client declared in the object metadata; ``done`` the object generation once complete.
    """

    id: str
    bucket: str
    name: str
    content_type: str
    data_id: str
    create_ns: int
    total: int | None = None
    metadata: Mapping[str, str] | None = None
    preconditions: Mapping[str, str] = field(default_factory=dict)
    expected_md5: str | None = None
    expected_crc32c: str | None = None
    done: int | None = None


class StorageTables:
    """Rows in, rows out, inside one transaction. Rules live in :mod:`.service`."""

    def __init__(self, tx: Tx) -> None:
        self.conn = tx.conn

    # buckets --------------------------------------------------------------
    def bucket(self, name: str) -> BucketRecord | None:
        """A stored bucket, or None."""
        row = self.conn.execute("SELECT record FROM gcs_buckets WHERE name = ?", (name,)).fetchone()
        return None if row is None else BucketRecord.from_dict(json.loads(row[0]))

    def buckets(self) -> list[BucketRecord]:
        """Every bucket by name."""
        rows = self.conn.execute("SELECT record FROM gcs_buckets ORDER BY name").fetchall()
        return [BucketRecord.from_dict(json.loads(row[0])) for row in rows]

    def put_bucket(self, bucket: BucketRecord) -> None:
        """Insert or replace a bucket."""
        self.conn.execute(
            "INSERT OR REPLACE INTO gcs_buckets (name, record) VALUES (?, ?)",
            (bucket.name, json.dumps(bucket.to_dict())),
        )

    def delete_bucket(self, name: str) -> None:
        """Remove a bucket (its objects must be gone)."""
        self.conn.execute("DELETE FROM gcs_buckets WHERE name = ?", (name,))

    def has_objects(self, bucket: str) -> bool:
        """Whether the bucket holds any object."""
        row = self.conn.execute("SELECT 1 FROM gcs_objects WHERE bucket = ? LIMIT 1", (bucket,)).fetchone()
        return row is not None

    # objects --------------------------------------------------------------
    def object(self, bucket: str, name: str) -> ObjectRecord | None:
        """The live generation of an object, or None."""
        row = self.conn.execute(
            "SELECT record FROM gcs_objects WHERE bucket = ? AND name = ?", (bucket, name)
        ).fetchone()
        return None if row is None else ObjectRecord.from_dict(json.loads(row[0]))

    def objects(self, bucket: str, prefix: str = "") -> list[ObjectRecord]:
        """The bucket's objects whose name starts with ``prefix``, by name (code point order)."""
        rows = self.conn.execute(
            "SELECT record FROM gcs_objects WHERE bucket = ? AND substr(name, 1, ?) = ? ORDER BY name",
            (bucket, len(prefix), prefix),
        ).fetchall()
        return [ObjectRecord.from_dict(json.loads(row[0])) for row in rows]

    def put_object(self, obj: ObjectRecord) -> None:
        """Insert or replace an object's live generation."""
        self.conn.execute(
            "INSERT OR REPLACE INTO gcs_objects (bucket, name, record) VALUES (?, ?, ?)",
            (obj.bucket, obj.name, json.dumps(obj.to_dict())),
        )

    def delete_object(self, bucket: str, name: str) -> None:
        """Remove an object's row (its data separately, see :meth:`delete_data`)."""
        self.conn.execute("DELETE FROM gcs_objects WHERE bucket = ? AND name = ?", (bucket, name))

    # data -----------------------------------------------------------------
    def append_chunks(self, data_id: str, chunks: Iterable[bytes]) -> None:
        """Append chunks (each at most CHUNK_BYTES) after the data's last one."""
        row = self.conn.execute("SELECT MAX(seq) FROM gcs_chunks WHERE data_id = ?", (data_id,)).fetchone()
        seq = -1 if row is None or row[0] is None else int(row[0])
        for chunk in chunks:
            seq += 1
            self.conn.execute(
                "INSERT INTO gcs_chunks (data_id, seq, data) VALUES (?, ?, ?)", (data_id, seq, chunk)
            )

    def chunk_sizes(self, data_id: str) -> list[tuple[int, int]]:
        """(seq, length) of each chunk, in order."""
        rows = self.conn.execute(
            "SELECT seq, length(data) FROM gcs_chunks WHERE data_id = ? ORDER BY seq", (data_id,)
        ).fetchall()
        return [(int(seq), int(size)) for seq, size in rows]

    def chunk(self, data_id: str, seq: int) -> bytes | None:
        """One chunk, or None when it is gone (the object was replaced meanwhile)."""
        row = self.conn.execute(
            "SELECT data FROM gcs_chunks WHERE data_id = ? AND seq = ?", (data_id, seq)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def delete_data(self, data_id: str) -> None:
        """Forget every chunk of ``data_id``."""
        self.conn.execute("DELETE FROM gcs_chunks WHERE data_id = ?", (data_id,))

    # upload sessions ------------------------------------------------------
    def upload(self, upload_id: str) -> UploadRecord | None:
        """A resumable upload session, or None."""
        row = self.conn.execute("SELECT record FROM gcs_uploads WHERE id = ?", (upload_id,)).fetchone()
        return None if row is None else UploadRecord.from_dict(json.loads(row[0]))

    def put_upload(self, upload: UploadRecord) -> None:
        """Insert or replace an upload session."""
        self.conn.execute(
            "INSERT OR REPLACE INTO gcs_uploads (id, record) VALUES (?, ?)",
            (upload.id, json.dumps(upload.to_dict())),
        )

    def delete_upload(self, upload_id: str) -> None:
        """Forget an upload session (not its data)."""
        self.conn.execute("DELETE FROM gcs_uploads WHERE id = ?", (upload_id,))
