"""Cloud Storage under hostile input: object size limits (413 before or while reading, nothing
kept), int64 query parameters and headers, and bounded metadata JSON."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.emulator.cloud.conftest import BUCKET, PROJECT, TOKEN, Cloud, assert_storage_error
from tests.emulator.conftest import Emu
from tuned_models_emulator.app import DEFAULT_SERVICES
from tuned_models_emulator.embedded import EmbeddedTransport
from tuned_models_emulator.records import Settings
from tuned_models_emulator.storage import CloudStorage
from tuned_models_emulator.store import Store

LIMIT = 4096
UPLOAD = f"/upload/storage/v1/b/{BUCKET}/o"


@pytest.fixture
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """An in-process emulator whose largest object is LIMIT bytes, with the bucket made."""
    services = tuple(
        functools.partial(CloudStorage, object_limit=LIMIT) if make is CloudStorage else make
        for make in DEFAULT_SERVICES
    )
    transport = EmbeddedTransport(Store.open(None), Settings.build(), services)
    try:
        with httpx.Client(transport=transport, base_url="http://emulator.invalid") as client:
            cloud = Cloud(Emu("embedded", client))
            cloud.bucket()
            yield cloud
    finally:
        transport.close()


def _chunks(size: int) -> Iterator[bytes]:
    """``size`` bytes in 1 KiB pieces, sent without a Content-Length (chunked)."""
    for offset in range(0, size, 1024):
        yield b"x" * min(1024, size - offset)


def _assert_nothing_stored(cloud: Cloud) -> None:
    assert cloud.ok(cloud.call("GET", f"/storage/v1/b/{BUCKET}/o")) == {"kind": "storage#objects"}
    # An empty bucket can be deleted: no upload left data behind.
    assert cloud.call("DELETE", f"/storage/v1/b/{BUCKET}").status_code == 204


def _too_large(response: httpx.Response) -> None:
    message = assert_storage_error(response, 413, "uploadTooLarge")
    assert message == (
        f"The object is over the emulator's limit of {LIMIT} bytes (the limit of a tuning dataset)."
    )


def test_an_object_of_the_limit_is_stored(small: Cloud) -> None:
    assert small.ok(small.upload("full.bin", b"x" * LIMIT))["size"] == str(LIMIT)


def test_a_media_upload_declaring_too_much_is_413_before_any_byte(small: Cloud) -> None:
    _too_large(small.upload("big.bin", b"x" * (LIMIT + 1)))
    _assert_nothing_stored(small)


def test_a_streamed_media_upload_is_cut_at_the_limit(small: Cloud) -> None:
    params = {"uploadType": "media", "name": "big.bin"}
    _too_large(small.call("POST", UPLOAD, params=params, content=_chunks(LIMIT + 1)))
    _assert_nothing_stored(small)
    journal = small.emu.admin("GET", "journal").json()["requests"]
    assert (journal[-3]["rpc"], journal[-3]["status"]) == ("storage.objects.insert", 413)


def _session(cloud: Cloud, **headers: str) -> httpx.Response:
    return cloud.call(
        "POST", UPLOAD, params={"uploadType": "resumable", "name": "r.bin"}, json={}, headers=headers
    )


def test_a_resumable_upload_announcing_too_much_is_413(small: Cloud) -> None:
    _too_large(_session(small, **{"X-Upload-Content-Length": str(LIMIT + 1)}))
    started = _session(small)
    location = urlsplit(started.headers["Location"])
    session = f"{location.path}?{location.query}"
    declared = small.call(
        "PUT", session, token=None, content=b"x", headers={"Content-Range": f"bytes 0-0/{LIMIT + 1}"}
    )
    _too_large(declared)
    first = small.call(
        "PUT", session, token=None, content=b"x" * 1024, headers={"Content-Range": "bytes 0-1023/*"}
    )
    assert first.status_code == 308, first.text
    rest = small.call(
        "PUT",
        session,
        token=None,
        content=_chunks(LIMIT),
        headers={"Content-Range": f"bytes 1024-{LIMIT + 1023}/*"},
    )
    _too_large(rest)
    # The session that went past the limit is cancelled with its data.
    gone = small.call("PUT", session, token=None, headers={"Content-Range": "bytes */*"})
    assert_storage_error(gone, 404, "notFound")
    _assert_nothing_stored(small)


@pytest.mark.parametrize(
    "value", ["9" * 20, "1e3", "\u00b2", "1_0", "-" + "9" * 19, "+1", " ", "0x10", "9" * 5000]
)
def test_preconditions_must_be_int64(cloud: Cloud, value: str) -> None:
    cloud.bucket()
    cloud.ok(cloud.upload("a.txt", b"a"))
    for method, path in (
        ("GET", f"/storage/v1/b/{BUCKET}/o/a.txt"),
        ("DELETE", f"/storage/v1/b/{BUCKET}/o/a.txt"),
    ):
        response = cloud.call(method, path, params={"ifGenerationMatch": value})
        message = assert_storage_error(response, 400, "invalid")
        assert message.startswith("Invalid argument: ifGenerationMatch must be an integer, got ")
    assert_storage_error(cloud.upload("b.txt", b"b", ifMetagenerationNotMatch=value), 400, "invalid")


def test_size_headers_must_be_int64(cloud: Cloud) -> None:
    cloud.bucket()
    for header in ("x-upload-content-length",):
        for value in ("abc", "1_0", "-1e3", "-1", "9" * 30):
            assert_storage_error(_session(cloud, **{header: value}), 400, "invalid")
    started = _session(cloud)
    location = urlsplit(started.headers["Location"])
    session = f"{location.path}?{location.query}"
    huge = "9" * 30
    for content_range in (f"bytes 0-{huge}/*", f"bytes */{huge}", f"bytes {huge}-1/2"):
        response = cloud.call(
            "PUT", session, token=None, content=b"x", headers={"Content-Range": content_range}
        )
        assert_storage_error(response, 400, "invalid", f"Invalid Content-Range header: {content_range!r}")


def test_an_unreadable_range_is_ignored(cloud: Cloud) -> None:
    cloud.bucket()
    cloud.ok(cloud.upload("r.txt", b"0123456789"))
    path = f"/storage/v1/b/{BUCKET}/o/r.txt"
    whole = cloud.call("GET", path, params={"alt": "media"}, headers={"Range": f"bytes={'9' * 30}-"})
    assert (whole.status_code, whole.content) == (200, b"0123456789")
    part = cloud.call("GET", path, params={"alt": "media"}, headers={"Range": "bytes=2-4"})
    assert (part.status_code, part.content) == (206, b"234")


def _multipart(metadata: bytes) -> tuple[bytes, str]:
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + metadata
        + f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--".encode()
    )
    return body, f"multipart/related; boundary={boundary}"


HOSTILE_METADATA = {
    "nested": b'{"name": "n.txt", "metadata": ' + b"[" * 200 + b"]" * 200 + b"}",
    "surrogate name": b'{"name": "\\ud800.txt"}',
    "number name": b'{"name": 12}',
    "object name": b'{"name": {"a": 1}}',
    "contentType object": b'{"name": "n.txt", "contentType": {"a": 1}}',
    "metadata values": b'{"name": "n.txt", "metadata": {"k": 1}}',
    "not an object": b'["n.txt"]',
    "huge number": b'{"name": "n.txt", "size": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("metadata", list(HOSTILE_METADATA.values()), ids=list(HOSTILE_METADATA))
def test_hostile_upload_metadata_is_400_and_stores_nothing(cloud: Cloud, metadata: bytes) -> None:
    cloud.bucket()
    body, content_type = _multipart(metadata)
    multipart = cloud.call(
        "POST",
        UPLOAD,
        params={"uploadType": "multipart"},
        content=body,
        headers={"Content-Type": content_type},
    )
    assert_storage_error(multipart, 400, "invalid")
    resumable = cloud.call(
        "POST",
        UPLOAD,
        params={"uploadType": "resumable"},
        content=metadata,
        headers={"Content-Type": "application/json"},
    )
    assert_storage_error(resumable, 400, "invalid")
    assert cloud.ok(cloud.call("GET", f"/storage/v1/b/{BUCKET}/o")) == {"kind": "storage#objects"}


def test_a_bucket_body_too_deep_or_with_a_surrogate_is_400(cloud: Cloud) -> None:
    for body in (b'{"name": "b-x", "labels": ' + b"[" * 200 + b"]" * 200 + b"}", b'{"name": "\\udc00"}'):
        response = cloud.call(
            "POST",
            "/storage/v1/b",
            params={"project": PROJECT},
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert_storage_error(response, 400, "invalid")
    assert "items" not in cloud.ok(cloud.call("GET", "/storage/v1/b", params={"project": PROJECT}))


def test_an_object_name_from_the_query_is_never_a_lone_surrogate(cloud: Cloud) -> None:
    cloud.bucket()
    response = cloud.http.post(
        f"{UPLOAD}?uploadType=media&name={quote('a')}%ED%A0%80",
        content=b"x",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    name = "a" + b"\xed\xa0\x80".decode("utf-8", errors="replace")
    assert cloud.ok(response)["name"] == name
    assert cloud.ok(cloud.call("GET", f"/storage/v1/b/{BUCKET}/o"))["items"][0]["name"] == name
