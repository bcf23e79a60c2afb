"""``StorageClient``: the part of the Cloud Storage JSON API that datasets need.

Uploads are create-only (``ifGenerationMatch=0`` by default): when the object already exists
the service answers 412 and nothing is written; :meth:`StorageClient.upload_file` reports that
as success with ``uploaded=False``. Small files go in one media upload; larger ones in a
resumable upload, chunk by chunk from disk (one chunk in memory), with a progress callback and
recovery from a failed chunk by asking the service how much it kept. The MD5 the service
reports is checked against the bytes sent.

Errors are the typed errors of :mod:`tuned_models.rest.errors` (a Cloud Storage error body
has no ``status``; the class follows the HTTP code: a 412 is a ``FailedPrecondition`` with
``code == 412``). Retries are logged on ``tuned_models.storage``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, Unpack
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from tuned_models.rest.core import ClientOptions, ServiceClient, parse
from tuned_models.rest.errors import AlreadyExists, NotFound, ServiceError, TransportFailure, from_response
from tuned_models.rest.retry import log_retry

from .names import GcsLocation

__all__ = [
    "CHUNK_GRANULARITY",
    "DEFAULT_CHUNK_SIZE",
    "PUBLIC_STORAGE_URL",
    "GcsLocation",
    "StorageClient",
    "StorageObject",
    "UploadResult",
]

log = logging.getLogger("tuned_models.storage")

PUBLIC_STORAGE_URL = "https://storage.googleapis.com"
#: Resumable upload chunks (but the last) must be a multiple of this many bytes.
CHUNK_GRANULARITY = 256 * 1024
DEFAULT_CHUNK_SIZE = 32 * CHUNK_GRANULARITY  # 8 MiB
_PRECONDITION_FAILED = 412
_RESUME_INCOMPLETE = 308
_RANGE = re.compile(r"^bytes=0-(\d+)$")

ProgressCallback = Callable[[int, int], None]


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


class StorageObject(BaseModel):
    """An object's metadata (``generation`` and ``size`` are int64 strings on the wire)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bucket: str
    name: str
    generation: int | None = None
    metageneration: int | None = None
    size: int | None = None
    md5Hash: str | None = None
    crc32c: str | None = None
    contentType: str | None = None
    timeCreated: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class _Upload:
    """One :meth:`StorageClient.upload_file`: the open file, its size, the object it becomes, and
    the generation precondition (0: create only)."""

    stream: BinaryIO
    size: int
    bucket: str
    name: str
    content_type: str
    if_generation_match: int | None


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: ``uploaded`` is False when the object was already there (412).

    ``object`` is the stored object's metadata (``None`` only when it exists but could not be
    read back).
    """

    object: StorageObject | None
    uploaded: bool


class StorageClient(ServiceClient):
    """A client of the Cloud Storage JSON API (or of an emulator of it).

    Args:
        auth: an ``httpx.Auth`` from :mod:`.auth` (the same credentials as Vertex AI).
        base_url: ``https://storage.googleapis.com`` or an emulator's base URL.
        chunk_size: bytes per resumable chunk (a multiple of 256 KiB).
        resumable_threshold: files larger than this use a resumable upload.
        options: ``transport`` (the embedded emulator's), ``timeout``, ``retry``, ``sleep``,
            ``random``, ``clock``, as for :class:`tuned_models.rest.RestClient`.
    """

    def __init__(
        self,
        auth: httpx.Auth | None,
        *,
        base_url: str = PUBLIC_STORAGE_URL,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        resumable_threshold: int = DEFAULT_CHUNK_SIZE,
        **options: Unpack[ClientOptions],
    ) -> None:
        if chunk_size <= 0 or chunk_size % CHUNK_GRANULARITY:
            raise ValueError(f"chunk_size must be a positive multiple of {CHUNK_GRANULARITY}")
        super().__init__(base_url, auth, service="storage", **options)
        self.base_url = self._core.base_url
        self.chunk_size = chunk_size
        self.resumable_threshold = resumable_threshold

    # -- buckets -----------------------------------------------------------------------------

    def create_bucket(self, bucket: str, project: str) -> bool:
        """``POST /storage/v1/b?project=P``: create ``bucket`` in ``project``.

        Returns True when this call created it, False when it exists already (409). Used against
        an emulator only: on Google Cloud the bucket is the user's prerequisite (its location,
        retention and access are theirs to choose).

        Raises:
            ValueError: not a valid bucket name. PermissionDenied, InvalidArgument.
        """
        GcsLocation.parse(f"gs://{bucket}")
        try:
            self._core.call(
                "POST",
                f"{self.base_url}/storage/v1/b",
                params={"project": project},
                json={"name": bucket},
                idempotent=True,
            )
        except AlreadyExists:
            return False
        return True

    # -- objects -----------------------------------------------------------------------------

    def _object_url(self, bucket: str, name: str) -> str:
        return f"{self.base_url}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"

    def get_object(self, bucket: str, name: str) -> StorageObject:
        """``GET /storage/v1/b/BUCKET/o/NAME``: the object's metadata. Raises NotFound."""
        return parse(StorageObject, self._core.call("GET", self._object_url(bucket, name)))

    def find_object(self, bucket: str, name: str) -> StorageObject | None:
        """The object's metadata, or None when it (or the bucket) does not exist."""
        try:
            return self.get_object(bucket, name)
        except NotFound:
            return None

    def delete_object(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> None:
        """``DELETE /storage/v1/b/BUCKET/o/NAME`` (only that generation when given).

        Raises NotFound (also when a retried attempt already deleted it), or a 412
        ``ServiceError`` when the generation does not match.
        """
        params = {"ifGenerationMatch": str(if_generation_match)} if if_generation_match is not None else None
        self._core.call("DELETE", self._object_url(bucket, name), params=params)

    # -- uploads -----------------------------------------------------------------------------

    def upload_file(
        self,
        path: Path,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        if_generation_match: int | None = 0,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Upload the file at ``path`` as ``gs://bucket/name``.

        With ``if_generation_match=0`` (the default) the upload only creates: an existing object
        is left alone and reported with ``uploaded=False`` (its metadata read back). Files up to
        ``resumable_threshold`` bytes go in one request; larger ones in ``chunk_size`` chunks,
        read from disk one at a time. ``on_progress(sent, total)`` is called with the bytes the
        service confirmed, from 0 to the file size (a media upload reports only its end; nothing
        when nothing was uploaded). The file must not change meanwhile.

        Raises:
            ServiceError: the service refused (NotFound: no such bucket; PermissionDenied), or
                the MD5 it computed differs from the file's (``status`` DATA_LOSS).
            TransportFailure: the service could not be reached (after retries).
            OSError: the file cannot be read.
        """
        size = path.stat().st_size
        with path.open("rb") as stream:
            upload = _Upload(stream, size, bucket, name, content_type, if_generation_match)
            if size <= self.resumable_threshold:
                result = self._media_upload(upload)
            else:
                result = self._resumable_upload(upload, on_progress)
        if on_progress is not None and size <= self.resumable_threshold and result.uploaded:
            on_progress(size, size)
        return result

    def _start_upload(
        self,
        upload: _Upload,
        kind: str,
        *,
        idempotent: bool,
        headers: dict[str, str],
        content: bytes | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """``POST /upload/storage/v1/b/BUCKET/o?uploadType=KIND&name=NAME[&ifGenerationMatch=G]``
        with retries. Raises the typed errors (a 412: the object exists and the upload is
        create-only)."""
        url = f"{self.base_url}/upload/storage/v1/b/{quote(upload.bucket, safe='')}/o"
        params = {"uploadType": kind, "name": upload.name}
        if upload.if_generation_match is not None:
            params["ifGenerationMatch"] = str(upload.if_generation_match)
        return self._core.send(
            lambda: self._core.http.build_request(
                "POST", url, params=params, content=content, json=json, headers=headers
            ),
            idempotent=idempotent,
        )

    def _media_upload(self, upload: _Upload) -> UploadResult:
        data = upload.stream.read(upload.size + 1)
        if len(data) != upload.size:
            raise OSError(f"{upload.name}: the file changed size while being uploaded")
        try:
            # Create-only (ifGenerationMatch) makes a repeat safe: it gets 412 if the first landed.
            response = self._start_upload(
                upload,
                "media",
                idempotent=upload.if_generation_match is not None,
                headers={"content-type": upload.content_type},
                content=data,
            )
        except ServiceError as exc:
            return self._existing(exc, upload)
        stored = parse(StorageObject, response.json())
        _check_md5(stored, hashlib.md5(data, usedforsecurity=False).digest())
        return UploadResult(stored, True)

    def _existing(self, error: ServiceError, upload: _Upload) -> UploadResult:
        """A 412 on a create-only upload: the object exists; read its metadata back."""
        if error.code != _PRECONDITION_FAILED:
            raise error
        log.info("storage: gs://%s/%s already exists; nothing uploaded", upload.bucket, upload.name)
        try:
            return UploadResult(self.get_object(upload.bucket, upload.name), False)
        except ServiceError:
            return UploadResult(None, False)

    def _resumable_upload(self, upload: _Upload, on_progress: ProgressCallback | None) -> UploadResult:
        headers = {
            "content-type": "application/json; charset=UTF-8",
            "x-upload-content-type": upload.content_type,
            "x-upload-content-length": str(upload.size),
        }
        try:
            # Starting a session has no effect until bytes are sent: safe to repeat.
            response = self._start_upload(
                upload,
                "resumable",
                idempotent=True,
                headers=headers,
                json={"name": upload.name, "contentType": upload.content_type},
            )
        except ServiceError as exc:
            return self._existing(exc, upload)
        session = self._session_url(response)
        response.close()
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            stored = self._send_chunks(session, upload, on_progress, md5)
        except ServiceError as exc:
            return self._existing(exc, upload)
        _check_md5(stored, md5.digest())
        return UploadResult(stored, True)

    def _session_url(self, response: httpx.Response) -> str:
        """The session URI from ``Location``; it must be on the storage host (it is sent the
        bearer token)."""
        location = str(response.headers.get("location", ""))
        expected, got = urlsplit(self.base_url), urlsplit(location)
        if not location or (got.scheme, got.netloc) != (expected.scheme, expected.netloc):
            raise ServiceError(
                "the resumable upload session is not on the storage host "
                f"(expected {expected.scheme}://{expected.netloc}, got {got.scheme}://{got.netloc})",
                code=response.status_code,
                status="UNKNOWN",
            )
        return location

    def _send_chunks(
        self, session: str, upload: _Upload, on_progress: ProgressCallback | None, md5: _Digest
    ) -> StorageObject:
        """PUT the file chunk by chunk from the offset the service confirmed; after a failed
        chunk, wait as the retry policy says and ask the service for its offset. Consecutive
        failures are bounded by the policy's attempts and deadline; progress resets them.
        ``md5`` is fed every byte of the file once, in order."""
        stream, size, content_type = upload.stream, upload.size, upload.content_type
        policy, offset, failures, hashed = self._core.retry, 0, 0, 0
        since_progress = self._core.clock()
        if on_progress is not None:
            on_progress(0, size)
        query_offset = False
        while True:
            try:
                if query_offset:
                    response = self._put(session, b"", f"bytes */{size}", content_type)
                else:
                    stream.seek(offset)
                    want = min(self.chunk_size, size - offset)
                    chunk = stream.read(want)
                    if len(chunk) != want:
                        raise OSError("the file changed size while being uploaded")
                    if offset + len(chunk) > hashed:
                        md5.update(chunk[hashed - offset :])
                        hashed = offset + len(chunk)
                    end = offset + len(chunk) - 1
                    response = self._put(session, chunk, f"bytes {offset}-{end}/{size}", content_type)
            except httpx.RequestError as exc:
                error: ServiceError = TransportFailure.from_httpx(exc, attempts=failures + 1)
            else:
                if response.status_code in (200, 201):
                    stored = parse(StorageObject, response.json())
                    if on_progress is not None:
                        on_progress(size, size)
                    return stored
                if response.status_code == _RESUME_INCOMPLETE:
                    confirmed = _confirmed(response)
                    query_offset = False
                    if confirmed > offset:
                        failures, since_progress = 0, self._core.clock()
                        if on_progress is not None:
                            on_progress(confirmed, size)
                    offset = confirmed
                    continue
                error = from_response(response, attempts=failures + 1)
                if response.status_code not in policy.retry_statuses:
                    raise error
            failures += 1
            wait = policy.delay(failures, error.retry_after, self._core.random)
            elapsed = self._core.clock() - since_progress
            if (
                failures >= policy.attempts
                or policy.waits_too_long(error.retry_after)
                or (elapsed + wait > policy.deadline)
            ):
                raise error
            failed = f"upload of the chunk at byte {offset}: {error}"
            log_retry(log, failed, failures, policy.attempts - 1, wait)
            self._core.sleep(wait)
            query_offset = True

    def _put(self, session: str, body: bytes, content_range: str, content_type: str) -> httpx.Response:
        headers = {"content-range": content_range}
        if body:
            headers["content-type"] = content_type
        request = self._core.http.build_request("PUT", session, content=body, headers=headers)
        response = self._core.http.send(request)
        response.read()
        return response


def _confirmed(response: httpx.Response) -> int:
    """Bytes the service kept, from a 308's ``Range: bytes=0-N`` (none without the header)."""
    header = response.headers.get("range")
    if header is None:
        return 0
    match = _RANGE.match(header.strip())
    if match is None:
        raise ServiceError(f"unexpected Range header in a resumable upload: {header!r}", status="UNKNOWN")
    return int(match.group(1)) + 1


def _check_md5(stored: StorageObject, expected: bytes) -> None:
    """Raise when the service reports an MD5 other than the bytes sent (no MD5: no check)."""
    if stored.md5Hash is None:
        return
    if stored.md5Hash != base64.b64encode(expected).decode("ascii"):
        raise ServiceError(
            f"gs://{stored.bucket}/{stored.name}: the stored object's MD5 {stored.md5Hash} "
            f"differs from the file's {base64.b64encode(expected).decode('ascii')}",
            status="DATA_LOSS",
        )
