"""A stand-in for the Cloud Storage JSON API's upload protocol, served through httpx.MockTransport.

It exists for the tests of the storage client's own behaviour (chunking, offsets, recovery,
preconditions, progress), where the service must misbehave on cue: ``faults`` answer or fail a
request before the fake does, and ``keep_per_put`` makes the fake keep fewer bytes of a chunk
than were sent, as the real service may. It follows the documented protocol: media and
resumable uploads, ``Content-Range``, 308 with ``Range: bytes=0-N``, ``ifGenerationMatch`` (412)
checked when a session starts and when it completes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

BASE = "https://storage.googleapis.com"
Fault = Callable[[httpx.Request], httpx.Response | Exception | None]
_CONTENT_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")


@dataclass
class StoredObject:
    data: bytes
    generation: int
    content_type: str


@dataclass
class Session:
    bucket: str
    name: str
    content_type: str
    if_generation_match: int | None
    received: bytearray = field(default_factory=bytearray)


class FakeStorage:
    """The fake service; call it with a request (it is the MockTransport handler)."""

    def __init__(self, base: str = BASE, buckets: tuple[str, ...] = ("bkt",)) -> None:
        self.base = base
        self.buckets = set(buckets)
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.sessions: dict[str, Session] = {}
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self.keep_per_put: int | None = None
        self.report_md5: Callable[[bytes], str] | None = None
        self._ids = itertools.count(1)
        self._generations = itertools.count(1_700_000_000_000_000)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def put_object(self, bucket: str, name: str, data: bytes) -> None:
        self.objects[(bucket, name)] = StoredObject(data, next(self._generations), "application/octet-stream")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        request.read()
        for fault in list(self.faults):
            outcome = fault(request)
            if outcome is None:
                continue
            self.faults.remove(fault)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        path = request.url.path
        if request.method == "POST" and path.startswith("/upload/storage/v1/b/"):
            return self._start(request, unquote(path.split("/")[5]))
        if request.method == "PUT" and path.startswith("/upload/storage/v1/b/"):
            return self._chunk(request)
        if path.startswith("/storage/v1/b/"):
            parts = request.url.raw_path.decode("ascii").partition("?")[0].split("/")
            bucket, name = unquote(parts[4]), unquote(parts[6])
            stored = self.objects.get((bucket, name))
            if stored is None:
                return _error(404, "No such object: " + f"{bucket}/{name}")
            if request.method == "GET":
                return httpx.Response(200, json=self._resource(bucket, name, stored))
            if request.method == "DELETE":
                del self.objects[(bucket, name)]
                return httpx.Response(204)
        return _error(404, f"no route for {request.method} {path}")

    # -- protocol ----------------------------------------------------------------------------

    def _precondition(self, bucket: str, name: str, match: int | None) -> httpx.Response | None:
        if match is None:
            return None
        current = self.objects.get((bucket, name))
        if (match == 0 and current is not None) or (
            match != 0 and (current is None or current.generation != match)
        ):
            return _error(412, "At least one of the pre-conditions you specified did not hold.")
        return None

    def _start(self, request: httpx.Request, bucket: str) -> httpx.Response:
        if bucket not in self.buckets:
            return _error(404, "The specified bucket does not exist.")
        params = request.url.params
        name = params["name"]
        match = int(params["ifGenerationMatch"]) if "ifGenerationMatch" in params else None
        refused = self._precondition(bucket, name, match)
        if refused is not None:
            return refused
        if params["uploadType"] == "media":
            content_type = request.headers.get("content-type", "application/octet-stream")
            return self._store(bucket, name, bytes(request.content), content_type)
        assert params["uploadType"] == "resumable"
        content_type = request.headers.get("x-upload-content-type", "application/octet-stream")
        upload_id = f"session-{next(self._ids)}"
        self.sessions[upload_id] = Session(bucket, name, content_type, match)
        location = f"{self.base}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
        return httpx.Response(200, headers={"location": location})

    def _chunk(self, request: httpx.Request) -> httpx.Response:
        session = self.sessions.get(request.url.params.get("upload_id", ""))
        if session is None:
            return _error(404, "No such upload session.")
        match = _CONTENT_RANGE.match(request.headers.get("content-range", ""))
        assert match is not None, request.headers.get("content-range")
        first, last, total = match.groups()
        body = bytes(request.content)
        if first is not None:
            start = int(first)
            assert int(last) - start + 1 == len(body)
            assert start <= len(session.received), "a chunk may not skip bytes"
            fresh = body[len(session.received) - start :]
            if self.keep_per_put is not None:
                fresh = fresh[: self.keep_per_put]
            session.received += fresh
        if total != "*" and len(session.received) == int(total):
            refused = self._precondition(session.bucket, session.name, session.if_generation_match)
            if refused is not None:
                return refused
            return self._store(session.bucket, session.name, bytes(session.received), session.content_type)
        headers = {"range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
        return httpx.Response(308, headers=headers)

    def _store(self, bucket: str, name: str, data: bytes, content_type: str) -> httpx.Response:
        stored = StoredObject(data, next(self._generations), content_type)
        self.objects[(bucket, name)] = stored
        return httpx.Response(200, json=self._resource(bucket, name, stored))

    def _resource(self, bucket: str, name: str, stored: StoredObject) -> dict[str, Any]:
        md5 = (self.report_md5 or _md5)(stored.data)
        return {
            "kind": "storage#object",
            "bucket": bucket,
            "name": name,
            "generation": str(stored.generation),
            "metageneration": "1",
            "size": str(len(stored.data)),
            "md5Hash": md5,
            "contentType": stored.content_type,
            "timeCreated": "2026-11-30T10:00:00.123Z",
        }


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _error(code: int, message: str) -> httpx.Response:
    # Cloud Storage's error body: code, message and errors[], no status string.
    body = {"error": {"code": code, "message": message, "errors": [{"message": message, "reason": "x"}]}}
    return httpx.Response(code, json=body)
