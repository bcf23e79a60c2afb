"""The Cloud Storage JSON API: buckets, objects, the three upload protocols, downloads.

:class:`CloudStorage` is a :class:`~tuned_models_emulator.routes.Service`: its endpoints are
named after the API's methods (``storage.objects.get`` ...), so faults and the journal address
them by those names. Buckets, objects and downloads are here; uploads in :mod:`.uploads`, the
shared object rules in :mod:`.objects`, the resources' JSON in :mod:`.render`. Downloads stream
an object's chunks back one short transaction each (see :mod:`.tables`).

Generations are microsecond timestamps on the emulator's clock, strictly increasing across the
store; metageneration is 1 (object metadata cannot be patched). ``md5Hash`` and ``crc32c`` are
base64 of the MD5 digest and of the big-endian CRC32C (Castagnoli), as the API reports them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from starlette.responses import Response, StreamingResponse

from tuned_models_emulator.auth import Credentials, caller_of, token_digest
from tuned_models_emulator.errors import ApiError
from tuned_models_emulator.paging import decode_page_token, encode_page_token
from tuned_models_emulator.projects import project_number
from tuned_models_emulator.records import Caller, CredentialKind
from tuned_models_emulator.routes import Body, Call, Endpoint, Service, off_loop
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.storage.errors import (
    StorageError,
    invalid,
    invalid_credentials,
    object_not_found,
    storage_error_body,
)
from tuned_models_emulator.storage.objects import (
    BUCKET_NAME_RULE,
    DEFAULT_PROJECT,
    MAX_OBJECT_BYTES,
    NotModified,
    Objects,
    bucket_name,
    bucket_name_ok,
    check_preconditions,
    identify,
    string_map,
)
from tuned_models_emulator.storage.render import etag, render_bucket, render_object
from tuned_models_emulator.storage.tables import SCHEMA, TABLES, ObjectRecord, StorageTables
from tuned_models_emulator.storage.uploads import Uploads
from tuned_models_emulator.store import Tx

LIST_DEFAULT = 1000
#: A byte range (an unparsable one, or one beyond int64, is ignored as HTTP allows).
_RANGE = re.compile(r"bytes=(?P<start>[0-9]{0,18})-(?P<end>[0-9]{0,18})")

#: The caller of a request without credentials (Cloud Storage's ``allUsers``): let in, then
#: refused by every method that needs a permission (the 401 names the permission).
ANONYMOUS = Caller("", CredentialKind.ANONYMOUS, "allUsers")

_B = r"(?P<bucket>[^/]+)"
_O = r"(?P<object>.+)"


class CloudStorage(Service):
    """Every rule of the emulated Cloud Storage JSON API, over the emulator's store.

    Credentials: an OAuth bearer token (by the rule of :func:`~tuned_models_emulator.auth.token_digest`);
    a request without one is anonymous and refused with the permission the method needs.
    Resumable session URIs need no credentials: the session id is the capability, as on the real
    service. ``object_limit``: the largest object in bytes (1 GiB; see :class:`~.uploads.Uploads`).
    Raises ValueError when a configured bucket (``--bucket``) has an invalid name.
    """

    def __init__(self, runtime: Runtime, *, object_limit: int = MAX_OBJECT_BYTES) -> None:
        super().__init__(runtime)
        bad = [name for name in runtime.settings.buckets if not bucket_name_ok(bucket_name(name))]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid bucket name: {BUCKET_NAME_RULE}")
        self.objects = Objects(runtime)
        self.uploads = Uploads(self.objects, limit=object_limit)
        with runtime.store.transaction() as tx:
            tx.create_tables(SCHEMA)
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
            Endpoint(
                "POST", rf"/upload/storage/v1/b/{_B}/o", insert, self.uploads.upload, bucket, stream_body=True
            ),
            Endpoint(
                "PUT",
                rf"/upload/storage/v1/b/{_B}/o",
                insert,
                self.uploads.upload_chunk,
                bucket,
                stream_body=True,
            ),
            Endpoint("DELETE", rf"/upload/storage/v1/b/{_B}/o", insert, self.uploads.cancel_upload, bucket),
        )

    def authenticate(self, tx: Tx, credentials: Credentials) -> Caller:
        """The caller behind a bearer token; :data:`ANONYMOUS` without one (an API key alone is
        anonymous to Cloud Storage); 401 ``Invalid Credentials`` for a token that
        :func:`~tuned_models_emulator.auth.token_digest` refuses."""
        if credentials.bearer is None:
            return ANONYMOUS
        settings = self.runtime.settings
        digest = token_digest(settings, tx, credentials.bearer)
        if digest is None:
            raise invalid_credentials()
        return caller_of(settings, tx, digest, CredentialKind.TOKEN, credentials.user_project)

    def error_body(self, error: ApiError) -> dict[str, Any]:
        """Cloud Storage's own error shape (``errors[]`` with a reason, no ``status``)."""
        return storage_error_body(error)

    def reset(self, tx: Tx) -> None:
        """Forget every bucket and object; the process's configured buckets exist again, empty."""
        tx.clear_tables(TABLES)
        self._configured_buckets(tx)

    def admin_routes(self) -> Mapping[tuple[str, str], Callable[[Tx, dict[str, Any]], dict[str, Any]]]:
        """``POST /_emulator/buckets`` ``{"name", "project"}`` creates a bucket if missing (idempotent);
        ``GET /_emulator/buckets`` lists the bucket names."""
        return {("POST", "buckets"): self._admin_bucket, ("GET", "buckets"): self._admin_buckets}

    # ---------------------------------------------------------------- helpers
    def _configured_buckets(self, tx: Tx) -> None:
        for name in self.runtime.settings.buckets:
            self.objects.ensure_bucket(tx, bucket_name(name), DEFAULT_PROJECT)

    def _admin_bucket(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        name = bucket_name(str(body.get("name") or ""))
        if not name:
            raise invalid('Give the bucket "name".')
        bucket = self.objects.ensure_bucket(tx, name, str(body.get("project") or DEFAULT_PROJECT))
        return {"bucket": render_bucket(bucket, "")}

    def _admin_buckets(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        return {"buckets": [b.name for b in StorageTables(tx).buckets()]}

    # ---------------------------------------------------------------- buckets
    def insert_bucket(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.insert: ``?project=`` and a body with ``name``; 409 when it exists."""
        identify(caller, call)
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
        bucket = self.objects.create_bucket(
            tx,
            name,
            project,
            location=str(body.get("location") or "US"),
            storage_class=str(body.get("storageClass") or "STANDARD"),
            labels=string_map(body.get("labels"), "labels") or {},
        )
        return render_bucket(bucket, call.base_url)

    def get_bucket(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.get."""
        identify(caller, call)
        return render_bucket(self.objects.bucket(tx, call.params["bucket"]), call.base_url)

    def list_buckets(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.buckets.list: the buckets of ``?project=``."""
        identify(caller, call)
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
        identify(caller, call)
        bucket = self.objects.bucket(tx, call.params["bucket"])
        tables = StorageTables(tx)
        if tables.has_objects(bucket.name):
            raise StorageError(409, "The bucket you tried to delete is not empty.")
        tables.delete_bucket(bucket.name)
        return Response(status_code=204)

    # ---------------------------------------------------------------- objects
    def _live_object(self, tx: Tx, call: Call) -> ObjectRecord:
        bucket, name = call.params["bucket"], call.params["object"]
        self.objects.bucket(tx, bucket)
        obj = StorageTables(tx).object(bucket, name)
        wanted = call.query.get("generation")
        if obj is None or (wanted is not None and wanted != str(obj.generation)):
            raise object_not_found(bucket, name)
        return obj

    def get_object(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.objects.get: metadata, or the bytes with ``alt=media`` (``Range`` honoured);
        304 when an ``if*NotMatch`` precondition says the client's copy is current."""
        identify(caller, call)
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
            chunk = await off_loop(self.objects.chunk, data_id, seq)
            if chunk is None:
                raise RuntimeError("object data replaced during download")
            piece = chunk[max(0, start - offset) :][:remaining]
            remaining -= len(piece)
            offset += size
            yield piece

    def list_objects(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """storage.objects.list: ``prefix``, ``delimiter``, ``maxResults`` (1000), ``pageToken``."""
        identify(caller, call)
        bucket = self.objects.bucket(tx, call.params["bucket"])
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
        identify(caller, call)
        obj = self._live_object(tx, call)
        check_preconditions(obj, call.query, read=False)
        tables = StorageTables(tx)
        tables.delete_object(obj.bucket, obj.name)
        tables.delete_data(obj.data_id)
        return Response(status_code=204)
