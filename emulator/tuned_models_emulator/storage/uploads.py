"""Cloud Storage uploads (``storage.objects.insert`` on ``/upload/storage/v1/b/{bucket}/o``): the
media, multipart and resumable protocols.

The handlers are ``stream_body`` endpoints: each checks the request in the transaction and returns
a :class:`~tuned_models_emulator.routes.Deferred` that receives the body afterwards, a chunk at a
time, each stored in a short transaction of its own (:class:`~.objects.ChunkWriter`). A resumable
session URI needs no credentials: its ``upload_id`` is the capability, as on the service.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from tuned_models_emulator.codec import parse_json_body
from tuned_models_emulator.errors import ApiError
from tuned_models_emulator.records import Caller
from tuned_models_emulator.routes import Body, Call, Deferred, off_loop
from tuned_models_emulator.storage.errors import StorageError, invalid
from tuned_models_emulator.storage.objects import (
    MAX_OBJECT_BYTES,
    PRECONDITIONS,
    ChunkWriter,
    Digests,
    Objects,
    check_object_name,
    check_preconditions,
    identify,
    int64_value,
    parse_hash_header,
    string_map,
    too_large,
)
from tuned_models_emulator.storage.render import render_object
from tuned_models_emulator.storage.tables import CHUNK_BYTES, StorageTables, UploadRecord
from tuned_models_emulator.store import Tx

DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: The largest multipart upload (held in memory to be parsed; larger files go resumable).
MULTIPART_LIMIT = 64 * 1024 * 1024
#: The largest metadata body of a resumable upload's first request.
METADATA_LIMIT = 64 * 1024
_CONTENT_RANGE = re.compile(
    r"bytes (?:(?P<start>[0-9]{1,18})-(?P<end>[0-9]{1,18})|\*)/(?P<total>[0-9]{1,18}|\*)"
)


def parse_metadata(raw: bytes) -> dict[str, Any]:
    """An upload's object metadata (JSON, at most :data:`METADATA_LIMIT` bytes, bounded as every
    request body is: :func:`~tuned_models_emulator.codec.parse_json_body`); ``{}`` when empty.

    Raises 400 for anything but an object whose ``name``, ``contentType``, ``md5Hash`` and
    ``crc32c`` are strings and whose ``metadata`` maps strings to strings.
    """
    metadata = parse_json_body(raw)
    if not isinstance(metadata, dict):
        raise invalid("Invalid JSON payload received: the object metadata must be a JSON object.")
    for key in ("name", "contentType", "md5Hash", "crc32c"):
        if not isinstance(metadata.get(key, ""), str):
            raise invalid(f"Invalid value for {key}: expected a string.")
    string_map(metadata.get("metadata"), "metadata")
    return metadata


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes, str | None]:
    """(metadata, media, media content type) of a ``multipart/related`` upload body. Raises 400
    when it is not two parts, or for bad metadata (:func:`parse_metadata`)."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if len(parts) != 2:
        raise invalid("Invalid multipart request with 2 parts expected (metadata and media).")
    meta_part, media_part = parts
    raw_meta = meta_part.get_payload(decode=True)
    if isinstance(raw_meta, bytes) and len(raw_meta) > METADATA_LIMIT:
        raise invalid(f"The metadata part is over {METADATA_LIMIT} bytes.")
    metadata = parse_metadata(raw_meta if isinstance(raw_meta, bytes) else b"")
    media = media_part.get_payload(decode=True)
    media_type = media_part.get("Content-Type") if isinstance(media_part, Message) else None
    return metadata, media if isinstance(media, bytes) else b"", media_type


def _body_too_large(limit: int) -> StorageError:
    return StorageError(
        413, f"The request body is over {limit} bytes; use a resumable upload.", "uploadTooLarge"
    )


async def _collect(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _body_too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def _bounded(chunks: AsyncIterator[bytes], limit: int, *, already: int = 0) -> AsyncIterator[bytes]:
    """``chunks`` until the object would hold more than ``limit`` bytes (``already`` are stored):
    then 413 (:func:`~.objects.too_large`)."""
    size = already
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        yield chunk


def _declared(call: Call, header: str) -> int | None:
    """A size header of the request (``Content-Length``, ``X-Upload-Content-Length``); None when
    absent. Raises 400 for a value that is not a non-negative int64."""
    raw = call.headers.get(header)
    if raw is None:
        return None
    value = int64_value(header, raw)
    if value < 0:
        raise invalid(f"Invalid argument: {header} must not be negative, got {raw[:64]!r}.")
    return value


class Uploads:
    """The upload handlers of :class:`~.service.CloudStorage`, over its :class:`~.objects.Objects`.

    ``limit``: the largest object (bytes); a request declaring more is a 413 before any byte is
    read, one sending more a 413 once it has (nothing is kept, and a resumable session that goes
    past it is cancelled).
    """

    def __init__(self, objects: Objects, *, limit: int = MAX_OBJECT_BYTES) -> None:
        self.objects = objects
        self.limit = limit

    def upload(self, tx: Tx, caller: Caller, call: Call) -> Body | Deferred:
        """storage.objects.insert on ``/upload/storage/v1/b/{bucket}/o``: ``uploadType`` media,
        multipart or resumable (which opens a session). The bucket and the preconditions are
        checked before any byte is received, and again when the object is written."""
        identify(caller, call)
        bucket = call.params["bucket"]
        self.objects.bucket(tx, bucket)
        kind = call.query.get("uploadType")
        length = _declared(call, "content-length") or 0
        if kind == "multipart" and length > MULTIPART_LIMIT:
            raise _body_too_large(MULTIPART_LIMIT)
        if (kind == "media" and length > self.limit) or (
            kind == "resumable" and (_declared(call, "x-upload-content-length") or 0) > self.limit
        ):
            raise too_large(self.limit)
        if kind == "media":
            name = check_object_name(call.query.get("name"))
            check_preconditions(StorageTables(tx).object(bucket, name), call.query, read=False)
            return Deferred(lambda chunks: self._receive_media(call, name, chunks))
        if kind == "multipart":
            return Deferred(lambda chunks: self._receive_multipart(call, chunks))
        if kind == "resumable":
            return Deferred(lambda chunks: self._start_resumable(call, chunks))
        raise invalid(f"Invalid upload type: {kind!r}. Use media, multipart or resumable.")

    async def _write(self, data_id: str, chunks: AsyncIterator[bytes]) -> Digests:
        """Store ``chunks`` under ``data_id`` (nothing left behind when it fails)."""
        writer = ChunkWriter(self.objects.store, data_id)
        try:
            async for piece in _bounded(chunks, self.limit):
                await off_loop(writer.write, piece)
            await off_loop(writer.close)
        except BaseException:
            await off_loop(self.objects.discard, data_id)
            raise
        return writer.digests

    async def _store(
        self,
        call: Call,
        name: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        metadata: Mapping[str, str] | None,
        expected: Mapping[str, Any],
    ) -> Body:
        """Store ``chunks`` as the new generation of ``name`` in the call's bucket, under the call's
        preconditions and the ``expected`` hashes (``md5``, ``crc32c``); nothing left behind when
        it fails."""
        data_id = secrets.token_hex(16)
        digests = await self._write(data_id, chunks)
        finalize = functools.partial(
            self.objects.finalize,
            bucket=call.params["bucket"],
            name=name,
            data_id=data_id,
            digests=digests,
            content_type=content_type,
            metadata=metadata,
            preconditions=call.query,
            expected_md5=expected.get("md5"),
            expected_crc32c=expected.get("crc32c"),
        )
        try:
            obj = await off_loop(finalize)
        except ApiError:
            await off_loop(self.objects.discard, data_id)
            raise
        return render_object(obj, call.base_url)

    async def _receive_media(self, call: Call, name: str, chunks: AsyncIterator[bytes]) -> Body:
        return await self._store(
            call,
            name,
            chunks,
            content_type=call.headers.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata=None,
            expected=parse_hash_header(call.headers.get("x-goog-hash")),
        )

    async def _receive_multipart(self, call: Call, chunks: AsyncIterator[bytes]) -> Body:
        content_type = call.headers.get("content-type") or ""
        if not content_type.lower().startswith("multipart/"):
            raise invalid("Multipart uploads need a multipart/related Content-Type with a boundary.")
        body = await _collect(chunks, MULTIPART_LIMIT)
        metadata, media, media_type = await off_loop(parse_multipart, content_type, body)
        name = check_object_name(call.query.get("name") or metadata.get("name"))

        async def one() -> AsyncIterator[bytes]:
            for offset in range(0, len(media), CHUNK_BYTES):
                yield media[offset : offset + CHUNK_BYTES]

        return await self._store(
            call,
            name,
            one(),
            content_type=str(metadata.get("contentType") or media_type or DEFAULT_CONTENT_TYPE),
            metadata=string_map(metadata.get("metadata"), "metadata"),
            expected={"md5": metadata.get("md5Hash"), "crc32c": metadata.get("crc32c")},
        )

    async def _start_resumable(self, call: Call, chunks: AsyncIterator[bytes]) -> Body:
        metadata = await off_loop(parse_metadata, await _collect(chunks, METADATA_LIMIT))
        bucket = call.params["bucket"]
        name = check_object_name(call.query.get("name") or metadata.get("name"))
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
            total=_declared(call, "x-upload-content-length"),
            metadata=string_map(metadata.get("metadata"), "metadata"),
            preconditions={k: v for k, v in call.query.items() if k in PRECONDITIONS},
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
        with self.objects.store.transaction() as tx:
            self.objects.bucket(tx, session.bucket)
            check_preconditions(
                StorageTables(tx).object(session.bucket, session.name), session.preconditions, read=False
            )
            StorageTables(tx).put_upload(replace(session, create_ns=self.objects.runtime.now_ns(tx)))

    @staticmethod
    def _session(tx: Tx, call: Call) -> UploadRecord:
        upload_id = call.query.get("uploadId")
        if not upload_id:
            raise invalid("Missing upload_id: PUT and DELETE need a resumable session URI.")
        session = StorageTables(tx).upload(upload_id)
        if session is None or session.bucket != call.params["bucket"]:
            raise StorageError(404, "No such upload session.", "notFound")
        return session

    def upload_chunk(self, tx: Tx, caller: Caller, call: Call) -> Body | Deferred:
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
            if total is not None and total > self.limit:
                raise too_large(self.limit)
        # What was persisted is what the stored chunks hold: a request cut short keeps the chunks
        # it completed, and the client resumes from the offset a status query reports.
        received = sum(size for _, size in StorageTables(tx).chunk_sizes(session.data_id))
        if start is not None and start > received:
            raise invalid(
                f"Invalid request: the chunk starts at byte {start} but {received} bytes were persisted."
            )
        skip = 0 if start is None else received - start
        whole = content_range is None
        return Deferred(
            lambda chunks: self._receive_chunk(call, session, received, skip, total, whole, chunks)
        )

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

        writer = ChunkWriter(self.objects.store, session.data_id)
        try:
            async for piece in _bounded(fresh(), self.limit, already=received):
                await off_loop(writer.write, piece)
        except StorageError:
            await off_loop(self._cancel, session)
            raise
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

    def _cancel(self, session: UploadRecord) -> None:
        with self.objects.store.transaction() as tx:
            StorageTables(tx).delete_upload(session.id)
            StorageTables(tx).delete_data(session.data_id)

    def _save_session(self, session: UploadRecord) -> None:
        with self.objects.store.transaction() as tx:
            if StorageTables(tx).upload(session.id) is not None:
                StorageTables(tx).put_upload(session)

    def _complete(self, call: Call, session: UploadRecord) -> Body:
        digests = Digests()
        for seq, _ in self.objects.sizes(session.data_id):
            digests.update(self.objects.chunk(session.data_id, seq) or b"")
        expected = parse_hash_header(call.headers.get("x-goog-hash"))
        try:
            obj = self.objects.finalize(
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
            self._cancel(session)
            raise
        with self.objects.store.transaction() as tx:
            StorageTables(tx).put_upload(replace(session, done=obj.generation))
        return render_object(obj, call.base_url)

    def cancel_upload(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DELETE on a resumable session URI: the session and its data are forgotten; 499."""
        session = self._session(tx, call)
        tables = StorageTables(tx)
        tables.delete_upload(session.id)
        if session.done is None:
            tables.delete_data(session.data_id)
        return Response(status_code=499)
