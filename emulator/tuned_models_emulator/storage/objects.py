"""Cloud Storage objects as the emulator keeps them: buckets, generations, object data in chunks,
checksums, preconditions and the rules for names.

:class:`Objects` is what the API's handlers (:mod:`.service`, :mod:`.uploads`) share over the
store: finding a bucket, creating one, making uploaded data an object's new generation. Object
data is written by :class:`ChunkWriter` in short transactions of its own and read back one chunk
per transaction, so no object has to sit in memory.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import google_crc32c

from tuned_models_emulator.projects import project_number
from tuned_models_emulator.records import Caller, CredentialKind
from tuned_models_emulator.routes import Call
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.storage.errors import (
    StorageError,
    bucket_not_found,
    invalid,
    missing_credentials,
    precondition_failed,
)
from tuned_models_emulator.storage.tables import CHUNK_BYTES, BucketRecord, ObjectRecord, StorageTables
from tuned_models_emulator.store import Store, Tx

#: The project of buckets the emulator is told to pre-create (``--bucket``) without one.
DEFAULT_PROJECT = "tuned-models-local"
MAX_OBJECT_NAME_BYTES = 1024
#: The largest object (bytes): the Vertex AI tuning dataset limit, 1 GiB (the emulator's bound; the
#: real service stores objects of up to 5 TiB).
MAX_OBJECT_BYTES = 1 << 30
_INT64 = re.compile(r"-?[0-9]{1,19}")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
BUCKET_NAME_RULE = (
    "3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
)


def bucket_name(text: str) -> str:
    """A bucket as configured or named to the admin route (``b`` or ``gs://b``): its name."""
    return text.removeprefix("gs://").strip("/")


def bucket_name_ok(name: str) -> bool:
    """Whether ``name`` is a bucket name Cloud Storage accepts (:data:`BUCKET_NAME_RULE`, no ``..``,
    not starting with ``goog``)."""
    return bool(_BUCKET_NAME.fullmatch(name)) and ".." not in name and not name.startswith("goog")


def identify(caller: Caller, call: Call) -> None:
    """Refuse an anonymous caller with the real 401 naming the permission ``call`` needs."""
    if caller.kind is CredentialKind.ANONYMOUS:
        raise missing_credentials(call.rpc)


# --------------------------------------------------------------------------- data and checksums


class Digests:
    """MD5 and CRC32C of a byte stream, fed in pieces."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc = google_crc32c.Checksum()  # type: ignore[no-untyped-call]
        self.size = 0

    def update(self, data: bytes) -> None:
        """Feed the next bytes."""
        self._md5.update(data)
        self._crc.update(data)  # type: ignore[no-untyped-call]
        self.size += len(data)

    @property
    def md5(self) -> str:
        """base64 of the MD5 digest."""
        return base64.b64encode(self._md5.digest()).decode()

    @property
    def crc32c(self) -> str:
        """base64 of the big-endian CRC32C."""
        return base64.b64encode(self._crc.digest()).decode()  # type: ignore[no-untyped-call]


class ChunkWriter:
    """Appends bytes to ``data_id`` in CHUNK_BYTES rows, one short transaction per row."""

    def __init__(self, store: Store, data_id: str) -> None:
        self.store = store
        self.data_id = data_id
        self.digests = Digests()
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        """Buffer ``data``; full chunks go to the store."""
        self.digests.update(data)
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            self._flush(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    def close(self) -> None:
        """Store what is left in the buffer."""
        if self._buffer:
            self._flush(bytes(self._buffer))
            self._buffer.clear()

    def _flush(self, chunk: bytes) -> None:
        with self.store.transaction() as tx:
            StorageTables(tx).append_chunks(self.data_id, [chunk])


def parse_hash_header(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (value or "").split(","):
        kind, _, digest = item.strip().partition("=")
        if digest:
            out[kind.strip().lower()] = digest.strip()
    return out


def check_hashes(md5: str, crc32c: str, expected_md5: str | None, expected_crc32c: str | None) -> None:
    if expected_md5 is not None and expected_md5 != md5:
        raise invalid(f'Provided MD5 hash "{expected_md5}" doesn\'t match calculated MD5 hash "{md5}".')
    if expected_crc32c is not None and expected_crc32c != crc32c:
        raise invalid(f'Provided CRC32C "{expected_crc32c}" doesn\'t match calculated CRC32C "{crc32c}".')


# --------------------------------------------------------------------------- preconditions and names


class NotModified(StorageError):
    """304: a read's ``if*NotMatch`` precondition says the client's copy is current."""


PRECONDITIONS = (
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
)


def int64_value(name: str, raw: str) -> int:
    """A query parameter or header that is an int64 (a generation, a byte count), in decimal.

    Raises 400 naming ``name`` for anything else (a sign other than ``-``, digits beyond ASCII,
    underscores, or a value out of the int64 range).
    """
    text = raw.strip()
    if _INT64.fullmatch(text) and -(2**63) <= (value := int(text)) < 2**63:
        return value
    raise invalid(f"Invalid argument: {name} must be an integer, got {raw[:64]!r}.")


def too_large(limit: int) -> StorageError:
    """413 for an object (or a declared size) over ``limit`` bytes (the emulator's bound)."""
    return StorageError(
        413,
        f"The object is over the emulator's limit of {limit} bytes (the limit of a tuning dataset).",
        "uploadTooLarge",
    )


def _precondition_values(query: Mapping[str, str]) -> dict[str, int]:
    return {name: int64_value(name, query[name]) for name in PRECONDITIONS if name in query}


def check_preconditions(obj: ObjectRecord | None, query: Mapping[str, str], *, read: bool) -> None:
    """Evaluate ``if[Meta]generation[Not]Match``.

    ``ifGenerationMatch=0`` holds only when no live object exists. A failing ``Match`` is 412; a
    failing ``NotMatch`` is 304 on a read and 412 on a write.
    """
    values = _precondition_values(query)
    generation = obj.generation if obj is not None else 0
    if "ifGenerationMatch" in values and values["ifGenerationMatch"] != generation:
        raise precondition_failed()
    if "ifMetagenerationMatch" in values and (
        obj is None or obj.metageneration != values["ifMetagenerationMatch"]
    ):
        raise precondition_failed()
    not_modified = NotModified(304, "Not Modified")
    if "ifGenerationNotMatch" in values and values["ifGenerationNotMatch"] == generation:
        raise not_modified if read else precondition_failed()
    if (
        "ifMetagenerationNotMatch" in values
        and obj is not None
        and obj.metageneration == values["ifMetagenerationNotMatch"]
    ):
        raise not_modified if read else precondition_failed()


def check_object_name(name: str | None) -> str:
    if not name:
        raise StorageError(400, "Required", "required")
    if len(name.encode("utf-8")) > MAX_OBJECT_NAME_BYTES:
        raise invalid(f"The object name is longer than {MAX_OBJECT_NAME_BYTES} bytes: {name[:64]!r}...")
    if "\r" in name or "\n" in name or name in (".", ".."):
        raise invalid(f"Invalid object name: {name!r}")
    return name


def string_map(value: Any, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(f"Invalid value for {what}: expected an object of strings.")
    return {str(k): v for k, v in value.items()}


def find_object(tx: Tx, bucket: str, name: str) -> ObjectRecord | None:
    """The live object ``gs://bucket/name``, or None when the bucket or the object does not exist
    (for other services, e.g. a tuning job naming its dataset)."""
    tables = StorageTables(tx)
    return tables.object(bucket, name) if tables.bucket(bucket) is not None else None


class ObjectGone(Exception):
    """The data of an object being read was deleted meanwhile (a delete or a new generation)."""


def object_data(store: Store, obj: ObjectRecord) -> Iterator[bytes]:
    """The bytes of ``obj``, one chunk per transaction of its own: reading a 1 GiB object holds the
    store no longer than a chunk at a time (for other services, e.g. a tuning job reading its
    dataset after its own transaction).

    Raises :class:`ObjectGone` when the object's data is deleted before it is all read.
    """
    with store.transaction() as tx:
        sizes = StorageTables(tx).chunk_sizes(obj.data_id)
    for seq, _ in sizes:
        with store.transaction() as tx:
            chunk = StorageTables(tx).chunk(obj.data_id, seq)
        if chunk is None:
            raise ObjectGone(f"gs://{obj.bucket}/{obj.name} changed while being read")
        yield chunk


class Objects:
    """Buckets and object generations over the store (shared by the API's handlers)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store: Store = runtime.store

    def bucket(self, tx: Tx, name: str) -> BucketRecord:
        bucket = StorageTables(tx).bucket(name)
        if bucket is None:
            raise bucket_not_found()
        return bucket

    def next_generation(self, tx: Tx) -> int:
        last = int(tx.meta("gcs_generation") or "0")
        generation = max(self.runtime.now_ns(tx) // 1000, last + 1)
        tx.set_meta("gcs_generation", str(generation))
        return generation

    def ensure_bucket(self, tx: Tx, name: str, project: str, *, location: str = "US") -> BucketRecord:
        """The bucket ``name``, created (empty) if it does not exist. Raises 400 for a bad name or
        project."""
        existing = StorageTables(tx).bucket(name)
        if existing is not None:
            return existing
        return self.create_bucket(tx, name, project, location=location, storage_class="STANDARD", labels={})

    def create_bucket(
        self, tx: Tx, name: str, project: str, *, location: str, storage_class: str, labels: dict[str, str]
    ) -> BucketRecord:
        if not bucket_name_ok(name):
            raise invalid(f"Invalid bucket name: '{name}'")
        number = project_number(project)
        if number is None:
            raise invalid(f"Invalid project: '{project}'")
        now = self.runtime.now_ns(tx)
        bucket = BucketRecord(name, number, location.upper(), storage_class.upper(), now, now, 1, labels)
        StorageTables(tx).put_bucket(bucket)
        return bucket

    def finalize(
        self,
        *,
        bucket: str,
        name: str,
        data_id: str,
        digests: Digests,
        content_type: str,
        metadata: Mapping[str, str] | None,
        preconditions: Mapping[str, str],
        expected_md5: str | None,
        expected_crc32c: str | None,
    ) -> ObjectRecord:
        """Make uploaded data the object's new live generation (preconditions checked again), in a
        transaction of its own."""
        with self.store.transaction() as tx:
            self.bucket(tx, bucket)
            tables = StorageTables(tx)
            current = tables.object(bucket, name)
            check_preconditions(current, preconditions, read=False)
            check_hashes(digests.md5, digests.crc32c, expected_md5, expected_crc32c)
            now = self.runtime.now_ns(tx)
            obj = ObjectRecord(
                bucket=bucket,
                name=name,
                generation=self.next_generation(tx),
                metageneration=1,
                content_type=content_type,
                size=digests.size,
                md5=digests.md5,
                crc32c=digests.crc32c,
                create_ns=now,
                update_ns=now,
                data_id=data_id,
                metadata=metadata,
            )
            tables.put_object(obj)
            if current is not None:
                tables.delete_data(current.data_id)
            return obj

    def discard(self, data_id: str) -> None:
        with self.store.transaction() as tx:
            StorageTables(tx).delete_data(data_id)

    def chunk(self, data_id: str, seq: int) -> bytes | None:
        """One chunk of object data, read in a transaction of its own (None once it is gone)."""
        with self.store.transaction() as tx:
            return StorageTables(tx).chunk(data_id, seq)

    def sizes(self, data_id: str) -> list[tuple[int, int]]:
        """``(seq, size)`` of each chunk of ``data_id``, read in a transaction of its own."""
        with self.store.transaction() as tx:
            return StorageTables(tx).chunk_sizes(data_id)
