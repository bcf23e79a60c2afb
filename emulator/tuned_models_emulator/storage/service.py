"""The Cloud Storage JSON API: buckets, objects, the three upload protocols, downloads.

:class:`CloudStorage` is a :class:`~tuned_models_emulator.routes.Service`: its endpoints are
named after the API's methods (``storage.objects.get`` ...), so faults and the journal address
them by those names. Uploads are ``stream_body`` endpoints: the handler checks the request in the
transaction, then the body is received in chunks, each stored in a short transaction of its own
(see :mod:`.tables`); downloads stream the chunks back the same way.

Generations are microsecond timestamps on the emulator's clock, strictly increasing across the
store; metageneration is 1 (object metadata cannot be patched). ``md5Hash`` and ``crc32c`` are
base64 of the MD5 digest and of the big-endian CRC32C (Castagnoli), as the API reports them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote

import google_crc32c
from starlette.responses import Response, StreamingResponse

from tuned_models_emulator.auth import Credentials, authenticate, token_accepted
from tuned_models_emulator.errors import ApiError
from tuned_models_emulator.paging import decode_page_token, encode_page_token
from tuned_models_emulator.projects import project_number
from tuned_models_emulator.records import Caller, CredentialKind
from tuned_models_emulator.routes import Body, Call, Endpoint, Service, Upload, off_loop
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.storage.errors import (
    StorageError,
    bucket_not_found,
    invalid,
    invalid_credentials,
    missing_credentials,
    object_not_found,
    precondition_failed,
    storage_error_body,
)
from tuned_models_emulator.storage.tables import (
    CHUNK_BYTES,
    BucketRecord,
    ObjectRecord,
    StorageTables,
    UploadRecord,
)
from tuned_models_emulator.store import Store, Tx

#: The project of buckets the emulator is told to pre-create (``--bucket``) without one.
DEFAULT_PROJECT = "tuned-models-local"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_OBJECT_NAME_BYTES = 1024
LIST_DEFAULT = 1000
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_CONTENT_RANGE = re.compile(r"bytes (?:(?P<start>\d+)-(?P<end>\d+)|\*)/(?P<total>\d+|\*)")
_RANGE = re.compile(r"bytes=(?P<start>\d*)-(?P<end>\d*)")
_MULTI_REGIONS = {"US", "EU", "ASIA"}


# --------------------------------------------------------------------------- rendering


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


# --------------------------------------------------------------------------- hashing and data


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


def read_data(tx: Tx, data_id: str) -> Iterator[bytes]:
    """Every chunk of ``data_id`` in order, read inside ``tx``."""
    tables = StorageTables(tx)
    for seq, _ in tables.chunk_sizes(data_id):
        chunk = tables.chunk(data_id, seq)
        if chunk is not None:
            yield chunk


def _parse_hash_header(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (value or "").split(","):
        kind, _, digest = item.strip().partition("=")
        if digest:
            out[kind.strip().lower()] = digest.strip()
    return out


def _check_hashes(md5: str, crc32c: str, expected_md5: str | None, expected_crc32c: str | None) -> None:
    if expected_md5 is not None and expected_md5 != md5:
        raise invalid(f'Provided MD5 hash "{expected_md5}" doesn\'t match calculated MD5 hash "{md5}".')
    if expected_crc32c is not None and expected_crc32c != crc32c:
        raise invalid(f'Provided CRC32C "{expected_crc32c}" doesn\'t match calculated CRC32C "{crc32c}".')


# --------------------------------------------------------------------------- preconditions


class NotModified(StorageError):
    """304: a read's ``if*NotMatch`` precondition says the client's copy is current."""


_PRECONDITIONS = (
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
)


def _precondition_values(query: Mapping[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in _PRECONDITIONS:
        raw = query.get(name)
        if raw is None:
            continue
        try:
            out[name] = int(raw)
        except ValueError:
            raise invalid(f"Invalid argument: {name} must be an integer, got {raw!r}.") from None
    return out


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


def _check_object_name(name: str | None) -> str:
    if not name:
        raise StorageError(400, "Required", "required")
    if len(name.encode("utf-8")) > MAX_OBJECT_NAME_BYTES:
        raise invalid(f"The object name is longer than {MAX_OBJECT_NAME_BYTES} bytes: {name[:64]!r}...")
    if "\r" in name or "\n" in name or name in (".", ".."):
        raise invalid(f"Invalid object name: {name!r}")
    return name


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes, str | None]:
    """(metadata, media, media content type) of a ``multipart/related`` upload body."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if len(parts) != 2:
        raise invalid("Invalid multipart request with 2 parts expected (metadata and media).")
    meta_part, media_part = parts
    raw_meta = meta_part.get_payload(decode=True)
    try:
        metadata = json.loads(raw_meta if isinstance(raw_meta, bytes) else b"{}") if raw_meta else {}
    except ValueError:
        raise invalid("Metadata part is too large or invalid JSON.") from None
    if not isinstance(metadata, dict):
        raise invalid("Metadata part must be a JSON object.")
    media = media_part.get_payload(decode=True)
    media_type = media_part.get("Content-Type") if isinstance(media_part, Message) else None
    return metadata, media if isinstance(media, bytes) else b"", media_type


def _string_map(value: Any, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(f"Invalid value for {what}: expected an object of strings.")
    return {str(k): v for k, v in value.items()}


# --------------------------------------------------------------------------- the service

#: The caller of a request without credentials (Cloud Storage's ``allUsers``): let in, then
#: refused by every method that needs a permission (the 401 names the permission).
ANONYMOUS = Caller("", CredentialKind.ANONYMOUS, "allUsers")
#: The largest multipart upload (held in memory to be parsed; larger files go resumable).
MULTIPART_LIMIT = 64 * 1024 * 1024
#: The largest metadata body of a resumable upload's first request.
METADATA_LIMIT = 64 * 1024

_B = r"(?P<bucket>[^/]+)"
_O = r"(?P<object>.+)"


def read_object(tx: Tx, bucket: str, name: str) -> tuple[ObjectRecord, Iterator[bytes]] | None:
    """The live object and its bytes (read inside ``tx``), or None when the bucket or the object
    does not exist (for other services, e.g. a tuning job reading its dataset)."""
    tables = StorageTables(tx)
    if tables.bucket(bucket) is None:
        return None
    obj = tables.object(bucket, name)
    if obj is None:
        return None
    return obj, read_data(tx, obj.data_id)


async def _collect(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise StorageError(
                413, f"The request body is over {limit} bytes; use a resumable upload.", "uploadTooLarge"
            )
        parts.append(chunk)
    return b"".join(parts)


class CloudStorage(Service):
    """Every rule of the emulated Cloud Storage JSON API, over the emulator's store.

    Credentials: an OAuth bearer token (any, unless tokens are configured); a request without
    one is anonymous and refused with the permission the method needs. Resumable session URIs
    need no credentials: the session id is the capability, as on the real service.
    """

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.store = runtime.store
        with self.store.transaction() as tx:
            StorageTables.create(tx)
            self._configured_buckets(tx)

    def endpoints(self) -> Sequence[Endpoint]:
        """Buckets, objects, uploads (``/upload/...``) and downloads (``/download/...``)."""
        bucket, obj = {"bucket": "bucket"}, {"bucket": "bucket", "object": "object"}
        insert = "storage.objects.insert"
        return (
            Endpoint("GET", r"/storage/v1/b", "storage.buckets.list", self.list_buckets),
            Endpoint("POST", r"/storage/v1/b", "storage.buckets.insert", self.insert_bucket),
            Endpoint("GET", rf"/storage/v1/b/{_B}", "storage.buckets.get", self.get_bucket, bucket),
            Endpoint("DELETE", rf"/storage/v1/b/{_B}", "storage.buckets.delete", self.delete_bucket, bucket),
            Endpoint("GET", rf"/storage/v1/b/{_B}/o", "storage.objects.list", self.list_objects, bucket),
            Endpoint("GET", rf"/storage/v1/b/{_B}/o/{_O}", "storage.objects.get", self.get_object, obj),
            Endpoint(
                "DELETE", rf"/storage/v1/b/{_B}/o/{_O}", "storage.objects.delete", self.delete_object, obj
            ),
            Endpoint(
                "GET", rf"/download/storage/v1/b/{_B}/o/{_O}", "storage.objects.get", self.download, obj
            ),
            Endpoint("POST", rf"/upload/storage/v1/b/{_B}/o", insert, self.upload, bucket, stream_body=True),
            Endpoint(
                "PUT", rf"/upload/storage/v1/b/{_B}/o", insert, self.upload_chunk, bucket, stream_body=True
            ),
            Endpoint("DELETE", rf"/upload/storage/v1/b/{_B}/o", insert, self.cancel_upload, bucket),
        )

    def authenticate(self, tx: Tx, credentials: Credentials) -> Caller:
        """The caller behind a bearer token; :data:`ANONYMOUS` without one (an API key alone is
        anonymous to Cloud Storage); 401 ``Invalid Credentials`` for a token that is not accepted."""
        if credentials.bearer is None:
            return ANONYMOUS
        if not token_accepted(self.runtime.settings, credentials.bearer):
            raise invalid_credentials()
        token = Credentials(None, credentials.bearer, credentials.user_project)
        return authenticate(self.runtime.settings, tx, token)

    def error_body(self, error: ApiError) -> dict[str, Any]:
        """Cloud Storage's own error shape (``errors[]`` with a reason, no ``status``)."""
        return storage_error_body(error)

    def reset(self, tx: Tx) -> None:
        """Forget every bucket and object; the process's configured buckets exist again, empty."""
        StorageTables.clear(tx)
        self._configured_buckets(tx)

    def admin_routes(self) -> Mapping[tuple[str, str], Callable[[Tx, dict[str, Any]], dict[str, Any]]]:
        """``POST /_emulator/buckets`` ``{"name", "project"}`` creates a bucket if missing (idempotent);
        ``GET /_emulator/buckets`` lists the bucket names."""
        return {("POST", "buckets"): self._admin_bucket, ("GET", "buckets"): self._admin_buckets}

    # ---------------------------------------------------------------- helpers
    def _configured_buckets(self, tx: Tx) -> None:
        for name in self.runtime.settings.buckets:
            self.ensure_bucket(tx, name.removeprefix("gs://").strip("/"), DEFAULT_PROJECT)

    def _admin_bucket(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "").removeprefix("gs://").strip("/")
        if not name:
            raise invalid('Give the bucket "name".')
        bucket = self.ensure_bucket(tx, name, str(body.get("project") or DEFAULT_PROJECT))
        return {"bucket": render_bucket(bucket, "")}

    def _admin_buckets(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        return {"buckets": [b.name for b in StorageTables(tx).buckets()]}

    @staticmethod
    def _identify(caller: Caller, call: Call) -> None:
        if caller.kind is CredentialKind.ANONYMOUS:
            raise missing_credentials(call.rpc)

    def _bucket(self, tx: Tx, name: str) -> BucketRecord:
        bucket = StorageTables(tx).bucket(name)
        if bucket is None:
            raise bucket_not_found()
        return bucket

    def _next_generation(self, tx: Tx) -> int:
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
        return self._create_bucket(tx, name, project, location=location, storage_class="STANDARD", labels={})

    def _create_bucket(
        self, tx: Tx, name: str, project: str, *, location: str, storage_class: str, labels: dict[str, str]
    ) -> BucketRecord:
        if not _BUCKET_NAME.fullmatch(name) or ".." in name or name.startswith("goog"):
            raise invalid(f"Invalid bucket name: '{name}'")
        number = project_number(project)
        if number is None:
            raise invalid(f"Invalid project: '{project}'")
        now = self.runtime.now_ns(tx)
        bucket = BucketRecord(name, number, location.upper(), storage_class.upper(), now, now, 1, labels)
        StorageTables(tx).put_bucket(bucket)
        return bucket

    def _finalize(
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
            self._bucket(tx, bucket)
            tables = StorageTables(tx)
            current = tables.object(bucket, name)
            check_preconditions(current, preconditions, read=False)
            _check_hashes(digests.md5, digests.crc32c, expected_md5, expected_crc32c)
            now = self.runtime.now_ns(tx)
            obj = ObjectRecord(
                bucket=bucket,
                name=name,
                generation=self._next_generation(tx),
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

    def _discard(self, data_id: str) -> None:
        with self.store.transaction() as tx:
            StorageTables(tx).delete_data(data_id)

    # ---------------------------------------------------------------- buckets
    def insert_bucket(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.insert: ``?project=`` and a body with ``name``; 409 when it exists."""
        self._identify(caller, call)
        project = call.query.get("project")
        if not project:
            raise StorageError(400, "Required parameter: project", "required")
        body = call.body
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise StorageError(400, "Required", "required")
        name = body["name"]
        if StorageTables(tx).bucket(name) is not None:
            raise StorageError(
                409, "Your previous request to create the named bucket succeeded and you already own it."
            )
        bucket = self._create_bucket(
            tx,
            name,
            project,
            location=str(body.get("location") or "US"),
            storage_class=str(body.get("storageClass") or "STANDARD"),
            labels=_string_map(body.get("labels"), "labels") or {},
        )
        return render_bucket(bucket, call.base_url)

    def get_bucket(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.get."""
        self._identify(caller, call)
        return render_bucket(self._bucket(tx, call.params["bucket"]), call.base_url)

    def list_buckets(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.list: the buckets of ``?project=``."""
        self._identify(caller, call)
        project = call.query.get("project")
        if not project:
            raise StorageError(400, "Required parameter: project", "required")
        number = project_number(project)
        items = [
            render_bucket(b, call.base_url) for b in StorageTables(tx).buckets() if b.project_number == number
        ]
        out: dict[str, Any] = {"kind": "storage#buckets"}
        if items:
            out["items"] = items
        return out

    def delete_bucket(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.delete: only an empty bucket; 204."""
        self._identify(caller, call)
        bucket = self._bucket(tx, call.params["bucket"])
        tables = StorageTables(tx)
        if tables.has_objects(bucket.name):
            raise StorageError(409, "The bucket you tried to delete is not empty.")
        tables.delete_bucket(bucket.name)
        return Response(status_code=204)

    # ---------------------------------------------------------------- objects
    def _live_object(self, tx: Tx, call: Call) -> ObjectRecord:
        bucket, name = call.params["bucket"], call.params["object"]
        self._bucket(tx, bucket)
        obj = StorageTables(tx).object(bucket, name)
        wanted = call.query.get("generation")
        if obj is None or (wanted is not None and wanted != str(obj.generation)):
            raise object_not_found(bucket, name)
        return obj

    def get_object(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.objects.get: metadata, or the bytes with ``alt=media`` (``Range`` honoured);
        304 when an ``if*NotMatch`` precondition says the client's copy is current."""
        self._identify(caller, call)
        obj = self._live_object(tx, call)
        try:
            check_preconditions(obj, call.query, read=True)
        except NotModified:
            return Response(status_code=304)
        if call.query.get("alt") != "media":
            return render_object(obj, call.base_url)
        return self._media(tx, obj, call.headers.get("range"))

    def download(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.objects.get under ``/download/`` (an object's ``mediaLink``): the bytes."""
        return self.get_object(tx, caller, replace(call, query={**call.query, "alt": "media"}))

    def _media(self, tx: Tx, obj: ObjectRecord, range_header: str | None) -> Response:
        start, end, status = 0, obj.size - 1, 200
        headers = {
            "x-goog-generation": str(obj.generation),
            "x-goog-metageneration": str(obj.metageneration),
            "x-goog-stored-content-length": str(obj.size),
            "x-goog-stored-content-encoding": "identity",
            "x-goog-hash": f"crc32c={obj.crc32c},md5={obj.md5}",
            "ETag": etag(obj.generation, obj.metageneration),
        }
        if range_header:
            found = _RANGE.fullmatch(range_header.strip())
            if found is not None and (found["start"] or found["end"]):
                if found["start"]:
                    start = int(found["start"])
                    end = min(int(found["end"]), obj.size - 1) if found["end"] else obj.size - 1
                else:
                    start = max(0, obj.size - int(found["end"]))
                if start >= obj.size or start > end:
                    raise StorageError(
                        416, "Request range not satisfiable", headers={"Content-Range": f"bytes */{obj.size}"}
                    )
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{obj.size}"
        length = max(0, end - start + 1)
        headers["Content-Length"] = str(length)
        sizes = StorageTables(tx).chunk_sizes(obj.data_id)
        return StreamingResponse(
            self._stream(obj.data_id, sizes, start, length),
            status_code=status,
            headers=headers,
            media_type=obj.content_type,
        )

    def _chunk(self, data_id: str, seq: int) -> bytes | None:
        with self.store.transaction() as tx:
            return StorageTables(tx).chunk(data_id, seq)

    async def _stream(
        self, data_id: str, sizes: list[tuple[int, int]], start: int, length: int
    ) -> AsyncIterator[bytes]:
        offset = 0
        remaining = length
        for seq, size in sizes:
            if remaining <= 0:
                break
            if offset + size <= start:
                offset += size
                continue
            chunk = await off_loop(self._chunk, data_id, seq)
            if chunk is None:
                raise RuntimeError("object data replaced during download")
            piece = chunk[max(0, start - offset) :][:remaining]
            remaining -= len(piece)
            offset += size
            yield piece

    def list_objects(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.objects.list: ``prefix``, ``delimiter``, ``maxResults`` (1000), ``pageToken``."""
        self._identify(caller, call)
        bucket = self._bucket(tx, call.params["bucket"])
        prefix = call.query.get("prefix") or ""
        delimiter = call.query.get("delimiter") or ""
        entries: list[tuple[str, ObjectRecord | None]] = []
        seen: set[str] = set()
        for obj in StorageTables(tx).objects(bucket.name, prefix):
            rest = obj.name[len(prefix) :]
            if delimiter and delimiter in rest:
                common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                if common not in seen:
                    seen.add(common)
                    entries.append((common, None))
                continue
            entries.append((obj.name, obj))
        raw_max = call.query.get("maxResults")
        try:
            size = int(raw_max) if raw_max else LIST_DEFAULT
        except ValueError:
            raise invalid(f"Invalid value for maxResults: {raw_max}") from None
        size = max(1, min(size, LIST_DEFAULT))
        fingerprint = f"gcs:{bucket.name}:{prefix}:{delimiter}"
        token = call.query.get("pageToken")
        try:
            offset = decode_page_token(token, fingerprint) if token else 0
        except ApiError:
            raise invalid("Invalid page token.") from None
        chunk = entries[offset : offset + size]
        out: dict[str, Any] = {"kind": "storage#objects"}
        if offset + size < len(entries):
            out["nextPageToken"] = encode_page_token(offset + size, fingerprint)
        prefixes = [name for name, obj in chunk if obj is None]
        items = [render_object(obj, call.base_url) for _, obj in chunk if obj is not None]
        if prefixes:
            out["prefixes"] = prefixes
        if items:
            out["items"] = items
        return out

    def delete_object(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.objects.delete (preconditions honoured); 204."""
        self._identify(caller, call)
        obj = self._live_object(tx, call)
        check_preconditions(obj, call.query, read=False)
        tables = StorageTables(tx)
        tables.delete_object(obj.bucket, obj.name)
        tables.delete_data(obj.data_id)
        return Response(status_code=204)

    # ---------------------------------------------------------------- uploads
    def upload(self, tx: Tx, caller: Caller, call: Call) -> Body | Upload:
        """storage.objects.insert on ``/upload/storage/v1/b/{bucket}/o``: ``uploadType`` media,
        multipart or resumable (which opens a session). The bucket and the preconditions are
        checked before any byte is received, and again when the object is written."""
        self._identify(caller, call)
        bucket = call.params["bucket"]
        self._bucket(tx, bucket)
        kind = call.query.get("uploadType")
        if kind == "media":
            name = _check_object_name(call.query.get("name"))
            check_preconditions(StorageTables(tx).object(bucket, name), call.query, read=False)
            return Upload(lambda chunks: self._receive_media(call, name, chunks))
        if kind == "multipart":
            return Upload(lambda chunks: self._receive_multipart(call, chunks))
        if kind == "resumable":
            return Upload(lambda chunks: self._start_resumable(call, chunks))
        raise invalid(f"Invalid upload type: {kind!r}. Use media, multipart or resumable.")

    async def _write(self, data_id: str, chunks: AsyncIterator[bytes]) -> Digests:
        """Store ``chunks`` under ``data_id`` (nothing left behind when it fails)."""
        writer = ChunkWriter(self.store, data_id)
        try:
            async for piece in chunks:
                await off_loop(writer.write, piece)
            await off_loop(writer.close)
        except BaseException:
            await off_loop(self._discard, data_id)
            raise
        return writer.digests

    async def _receive_media(self, call: Call, name: str, chunks: AsyncIterator[bytes]) -> Body:
        data_id = secrets.token_hex(16)
        digests = await self._write(data_id, chunks)
        expected = _parse_hash_header(call.headers.get("x-goog-hash"))
        return await self._commit(
            call,
            data_id,
            bucket=call.params["bucket"],
            name=name,
            digests=digests,
            content_type=call.headers.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata=None,
            preconditions=call.query,
            expected_md5=expected.get("md5"),
            expected_crc32c=expected.get("crc32c"),
        )

    async def _commit(self, call: Call, data_id: str, **finalize: Any) -> Body:
        try:
            obj = await off_loop(functools.partial(self._finalize, data_id=data_id, **finalize))
        except ApiError:
            await off_loop(self._discard, data_id)
            raise
        return render_object(obj, call.base_url)

    async def _receive_multipart(self, call: Call, chunks: AsyncIterator[bytes]) -> Body:
        content_type = call.headers.get("content-type") or ""
        if not content_type.lower().startswith("multipart/"):
            raise invalid("Multipart uploads need a multipart/related Content-Type with a boundary.")
        metadata, media, media_type = _multipart(content_type, await _collect(chunks, MULTIPART_LIMIT))
        name = _check_object_name(call.query.get("name") or metadata.get("name"))

        async def one() -> AsyncIterator[bytes]:
            for offset in range(0, len(media), CHUNK_BYTES):
                yield media[offset : offset + CHUNK_BYTES]

        data_id = secrets.token_hex(16)
        digests = await self._write(data_id, one())
        return await self._commit(
            call,
            data_id,
            bucket=call.params["bucket"],
            name=name,
            digests=digests,
            content_type=str(metadata.get("contentType") or media_type or DEFAULT_CONTENT_TYPE),
            metadata=_string_map(metadata.get("metadata"), "metadata"),
            preconditions=call.query,
            expected_md5=metadata.get("md5Hash"),
            expected_crc32c=metadata.get("crc32c"),
        )

    async def _start_resumable(self, call: Call, chunks: AsyncIterator[bytes]) -> Body:
        raw = await _collect(chunks, METADATA_LIMIT)
        try:
            metadata = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise invalid("Invalid JSON payload received.") from None
        if not isinstance(metadata, dict):
            raise invalid("Invalid JSON payload received: expected an object.")
        bucket = call.params["bucket"]
        name = _check_object_name(call.query.get("name") or metadata.get("name"))
        declared = call.headers.get("x-upload-content-length")
        session = UploadRecord(
            id=secrets.token_urlsafe(32),
            bucket=bucket,
            name=name,
            content_type=str(
                metadata.get("contentType")
                or call.headers.get("x-upload-content-type")
                or DEFAULT_CONTENT_TYPE
            ),
            data_id=secrets.token_hex(16),
            create_ns=0,
            total=int(declared) if declared and declared.isdigit() else None,
            metadata=_string_map(metadata.get("metadata"), "metadata"),
            preconditions={k: v for k, v in call.query.items() if k in _PRECONDITIONS},
            expected_md5=metadata.get("md5Hash"),
            expected_crc32c=metadata.get("crc32c"),
        )
        await off_loop(self._open_session, session)
        location = (
            f"{call.base_url}/upload/storage/v1/b/{bucket}/o?uploadType=resumable"
            f"&name={quote(name, safe='')}&upload_id={session.id}"
        )
        return Response(status_code=200, headers={"Location": location, "X-GUploader-UploadID": session.id})

    def _open_session(self, session: UploadRecord) -> None:
        with self.store.transaction() as tx:
            self._bucket(tx, session.bucket)
            check_preconditions(
                StorageTables(tx).object(session.bucket, session.name), session.preconditions, read=False
            )
            StorageTables(tx).put_upload(replace(session, create_ns=self.runtime.now_ns(tx)))

    @staticmethod
    def _session(tx: Tx, call: Call) -> UploadRecord:
        upload_id = call.query.get("uploadId")
        if not upload_id:
            raise invalid("Missing upload_id: PUT and DELETE need a resumable session URI.")
        session = StorageTables(tx).upload(upload_id)
        if session is None or session.bucket != call.params["bucket"]:
            raise StorageError(404, "No such upload session.", "notFound")
        return session

    def upload_chunk(self, tx: Tx, caller: Caller, call: Call) -> Body | Upload:
        """PUT on a resumable session URI: append ``Content-Range: bytes a-b/total`` (total may be
        ``*`` until the last chunk), or ask for the status with ``bytes */total``. Answers 308 with
        ``Range: bytes=0-N`` while incomplete, 200 with the object once complete (again on later
        requests). Bytes the client sends again (it resumes from an earlier offset) are skipped."""
        session = self._session(tx, call)
        if session.done is not None:
            obj = StorageTables(tx).object(session.bucket, session.name)
            if obj is not None and obj.generation == session.done:
                return render_object(obj, call.base_url)
        content_range = call.headers.get("content-range")
        start: int | None = 0
        total: int | None = None
        if content_range is not None:
            found = _CONTENT_RANGE.fullmatch(content_range.strip())
            if found is None:
                raise invalid(f"Invalid Content-Range header: {content_range!r}")
            start = int(found["start"]) if found["start"] is not None else None
            total = int(found["total"]) if found["total"] != "*" else None
        # What was persisted is what the stored chunks hold: a request cut short keeps the chunks
        # it completed, and the client resumes from the offset a status query reports.
        received = sum(size for _, size in StorageTables(tx).chunk_sizes(session.data_id))
        if start is not None and start > received:
            raise invalid(
                f"Invalid request: the chunk starts at byte {start} but {received} bytes were persisted."
            )
        skip = 0 if start is None else received - start
        whole = content_range is None
        return Upload(lambda chunks: self._receive_chunk(call, session, received, skip, total, whole, chunks))

    async def _receive_chunk(
        self,
        call: Call,
        session: UploadRecord,
        received: int,
        skip: int,
        total: int | None,
        whole: bool,
        chunks: AsyncIterator[bytes],
    ) -> Body:
        async def fresh() -> AsyncIterator[bytes]:
            remaining = skip
            async for piece in chunks:
                if remaining > 0:
                    dropped = min(remaining, len(piece))
                    piece, remaining = piece[dropped:], remaining - dropped
                if piece:
                    yield piece

        writer = ChunkWriter(self.store, session.data_id)
        async for piece in fresh():
            await off_loop(writer.write, piece)
        await off_loop(writer.close)
        received += writer.digests.size
        total = received if whole else (total if total is not None else session.total)
        if total != session.total:
            session = replace(session, total=total)
            await off_loop(self._save_session, session)
        if total is not None and received > total:
            raise invalid(f"Invalid request: {received} bytes received, more than the declared {total}.")
        if total is None or received < total:
            headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
            return Response(status_code=308, headers=headers)
        return await off_loop(self._complete, call, session)

    def _save_session(self, session: UploadRecord) -> None:
        with self.store.transaction() as tx:
            if StorageTables(tx).upload(session.id) is not None:
                StorageTables(tx).put_upload(session)

    def _complete(self, call: Call, session: UploadRecord) -> Body:
        digests = Digests()
        for seq, _ in self._sizes(session.data_id):
            digests.update(self._chunk(session.data_id, seq) or b"")
        expected = _parse_hash_header(call.headers.get("x-goog-hash"))
        try:
            obj = self._finalize(
                bucket=session.bucket,
                name=session.name,
                data_id=session.data_id,
                digests=digests,
                content_type=session.content_type,
                metadata=session.metadata,
                preconditions=session.preconditions,
                expected_md5=expected.get("md5") or session.expected_md5,
                expected_crc32c=expected.get("crc32c") or session.expected_crc32c,
            )
        except ApiError:
            with self.store.transaction() as tx:
                StorageTables(tx).delete_upload(session.id)
                StorageTables(tx).delete_data(session.data_id)
            raise
        with self.store.transaction() as tx:
            StorageTables(tx).put_upload(replace(session, done=obj.generation))
        return render_object(obj, call.base_url)

    def _sizes(self, data_id: str) -> list[tuple[int, int]]:
        with self.store.transaction() as tx:
            return StorageTables(tx).chunk_sizes(data_id)

    def cancel_upload(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DELETE on a resumable session URI: the session and its data are forgotten; 499."""
        session = self._session(tx, call)
        tables = StorageTables(tx)
        tables.delete_upload(session.id)
        if session.done is None:
            tables.delete_data(session.data_id)
        return Response(status_code=499)
