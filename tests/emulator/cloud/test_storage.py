"""The Cloud Storage JSON API over raw HTTP: buckets, the three upload protocols, downloads,
listing, deletion, generations, preconditions, checksums, auth and errors."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from urllib.parse import quote, urlsplit

import pytest

from tests.emulator.cloud.conftest import BUCKET, PROJECT, Cloud, assert_storage_error, crc32c_b64

PRECONDITION = "At least one of the pre-conditions you specified did not hold."


def md5_of(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def crc32c_of(data: bytes) -> str:
    return crc32c_b64(data)


def object_path(name: str, bucket: str = BUCKET) -> str:
    return f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}"


def test_bucket_insert_get_and_the_real_errors(cloud: Cloud) -> None:
    created = cloud.ok(
        cloud.call("POST", "/storage/v1/b", params={"project": PROJECT}, json={"name": "my-data"})
    )
    assert created["kind"] == "storage#bucket"
    assert created["name"] == created["id"] == "my-data"
    assert re.fullmatch(r"\d{12}", created["projectNumber"])
    assert (created["location"], created["storageClass"], created["metageneration"]) == (
        "US",
        "STANDARD",
        "1",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["timeCreated"])
    assert cloud.ok(cloud.call("GET", "/storage/v1/b/my-data")) == created

    again = cloud.call("POST", "/storage/v1/b", params={"project": PROJECT}, json={"name": "my-data"})
    assert_storage_error(
        again,
        409,
        "conflict",
        "Your previous request to create the named bucket succeeded and you already own it.",
    )
    missing = cloud.call("GET", "/storage/v1/b/no-such-bucket")
    assert_storage_error(missing, 404, "notFound", "The specified bucket does not exist.")
    listed = cloud.ok(cloud.call("GET", "/storage/v1/b", params={"project": PROJECT}))
    assert [b["name"] for b in listed["items"]] == ["my-data"]


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({}, {"name": "my-data"}, "Required parameter: project"),
        ({"project": PROJECT}, {"name": "UPPER"}, "Invalid bucket name: 'UPPER'"),
        ({"project": PROJECT}, {"name": "ab"}, "Invalid bucket name: 'ab'"),
        ({"project": PROJECT}, {}, "Required"),
    ],
)
def test_bucket_insert_rejects_bad_input(
    cloud: Cloud, params: dict[str, str], body: dict[str, str], message: str
) -> None:
    response = cloud.call("POST", "/storage/v1/b", params=params, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == message
    assert cloud.call("GET", "/storage/v1/b", params={"project": PROJECT}).json() == {
        "kind": "storage#buckets"
    }


def test_media_upload_then_metadata_and_bytes(cloud: Cloud) -> None:
    cloud.bucket()
    data = b'{"contents": []}\n' * 100
    obj = cloud.ok(cloud.upload("datasets/train.jsonl", data))
    assert obj["kind"] == "storage#object"
    assert (obj["bucket"], obj["name"], obj["size"]) == (BUCKET, "datasets/train.jsonl", str(len(data)))
    assert obj["md5Hash"] == md5_of(data)
    assert obj["crc32c"] == crc32c_of(data)
    assert re.fullmatch(r"\d{16}", obj["generation"])
    assert obj["metageneration"] == "1"
    assert obj["contentType"] == "application/octet-stream"
    assert obj["id"] == f"{BUCKET}/datasets/train.jsonl/{obj['generation']}"

    meta = cloud.ok(cloud.call("GET", object_path("datasets/train.jsonl")))
    assert meta == obj
    media = cloud.call("GET", object_path("datasets/train.jsonl"), params={"alt": "media"})
    assert media.status_code == 200
    assert media.content == data
    assert media.headers["x-goog-hash"] == f"crc32c={obj['crc32c']},md5={obj['md5Hash']}"
    assert media.headers["x-goog-generation"] == obj["generation"]
    # The mediaLink points back at the emulator, as the client used it.
    link = urlsplit(obj["mediaLink"])
    assert link.path == f"/download/storage/v1/b/{BUCKET}/o/datasets%2Ftrain.jsonl"
    via_link = cloud.call("GET", f"{link.path}?{link.query}")
    assert via_link.content == data


def test_object_names_are_any_utf8_with_slashes(cloud: Cloud) -> None:
    cloud.bucket()
    name = "a dir/sub/ü & %?.jsonl"
    obj = cloud.ok(cloud.upload(name, b"x"))
    assert obj["name"] == name
    assert cloud.ok(cloud.call("GET", object_path(name)))["name"] == name
    assert cloud.call("GET", object_path(name), params={"alt": "media"}).content == b"x"


def test_multipart_upload_keeps_binary_bytes_and_metadata(cloud: Cloud) -> None:
    cloud.bucket()
    data = bytes(range(256)) + b"\r\n--not-the-boundary\r\n" + os.urandom(4096)
    boundary = "===============7330845974216740156=="
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            '{"name": "blob.bin", "contentType": "application/jsonl", "metadata": {"digest": "abc"}}\r\n'
            f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--".encode()
    )
    response = cloud.call(
        "POST",
        f"/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "multipart"},
        content=body,
        headers={"Content-Type": f'multipart/related; boundary="{boundary}"'},
    )
    obj = cloud.ok(response)
    assert (obj["name"], obj["contentType"], obj["metadata"]) == (
        "blob.bin",
        "application/jsonl",
        {"digest": "abc"},
    )
    assert obj["md5Hash"] == md5_of(data)
    assert cloud.call("GET", object_path("blob.bin"), params={"alt": "media"}).content == data


def _start_session(cloud: Cloud, name: str, **params: str) -> str:
    response = cloud.call(
        "POST",
        f"/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "resumable", "name": name, **params},
        json={"contentType": "application/jsonl"},
    )
    assert response.status_code == 200, response.text
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.path == f"/upload/storage/v1/b/{BUCKET}/o"
    assert "upload_id=" in parts.query
    return f"{parts.path}?{parts.query}"


def test_resumable_upload_in_chunks_with_status_queries(cloud: Cloud) -> None:
    cloud.bucket()
    data = os.urandom(3 * 262_144 + 1000)
    session = _start_session(cloud, "big.jsonl")
    first = cloud.call(
        "PUT", session, token=None, content=data[:524_288], headers={"Content-Range": "bytes 0-524287/*"}
    )
    assert first.status_code == 308, first.text
    assert first.headers["Range"] == "bytes=0-524287"
    status = cloud.call("PUT", session, token=None, headers={"Content-Range": "bytes */*"})
    assert status.status_code == 308
    assert status.headers["Range"] == "bytes=0-524287"
    # The client resends from an earlier offset: the overlap is ignored.
    last = cloud.call(
        "PUT",
        session,
        token=None,
        content=data[262_144:],
        headers={"Content-Range": f"bytes 262144-{len(data) - 1}/{len(data)}"},
    )
    obj = cloud.ok(last)
    assert (obj["size"], obj["contentType"]) == (str(len(data)), "application/jsonl")
    assert obj["crc32c"] == crc32c_of(data)
    assert obj["md5Hash"] == md5_of(data)
    assert cloud.call("GET", object_path("big.jsonl"), params={"alt": "media"}).content == data
    # A completed session answers with the object again.
    assert cloud.ok(cloud.call("PUT", session, token=None, headers={"Content-Range": "bytes */*"})) == obj


def test_resumable_session_can_be_cancelled(cloud: Cloud) -> None:
    cloud.bucket()
    session = _start_session(cloud, "gone.jsonl")
    assert (
        cloud.call(
            "PUT", session, token=None, content=b"abc", headers={"Content-Range": "bytes 0-2/*"}
        ).status_code
        == 308
    )
    assert cloud.call("DELETE", session, token=None).status_code == 499
    after = cloud.call("PUT", session, token=None, headers={"Content-Range": "bytes */*"})
    assert_storage_error(after, 404, "notFound")
    assert_storage_error(
        cloud.call("GET", object_path("gone.jsonl")), 404, "notFound", f"No such object: {BUCKET}/gone.jsonl"
    )


def test_resumable_precondition_is_checked_at_start_and_completion(cloud: Cloud) -> None:
    cloud.bucket()
    session = _start_session(cloud, "race.jsonl", ifGenerationMatch="0")
    cloud.ok(cloud.upload("race.jsonl", b"someone else"))  # the object appears meanwhile
    done = cloud.call("PUT", session, token=None, content=b"mine", headers={"Content-Range": "bytes 0-3/4"})
    assert_storage_error(done, 412, "conditionNotMet", PRECONDITION)
    assert cloud.call("GET", object_path("race.jsonl"), params={"alt": "media"}).content == b"someone else"
    start = cloud.call(
        "POST",
        f"/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "resumable", "name": "race.jsonl", "ifGenerationMatch": "0"},
    )
    assert_storage_error(start, 412, "conditionNotMet", PRECONDITION)


def test_generations_and_preconditions(cloud: Cloud) -> None:
    cloud.bucket()
    first = cloud.ok(cloud.upload("d.jsonl", b"one", ifGenerationMatch=0))
    again = cloud.upload("d.jsonl", b"two", ifGenerationMatch=0)
    error = assert_storage_error(again, 412, "conditionNotMet", PRECONDITION)
    assert error == PRECONDITION
    assert again.json()["error"]["errors"][0]["location"] == "If-Match"

    second = cloud.ok(cloud.upload("d.jsonl", b"two", ifGenerationMatch=first["generation"]))
    assert int(second["generation"]) > int(first["generation"])
    stale = cloud.upload("d.jsonl", b"three", ifGenerationMatch=first["generation"])
    assert_storage_error(stale, 412, "conditionNotMet")

    not_modified = cloud.call(
        "GET", object_path("d.jsonl"), params={"ifGenerationNotMatch": second["generation"]}
    )
    assert not_modified.status_code == 304
    old = cloud.call("GET", object_path("d.jsonl"), params={"generation": first["generation"]})
    assert_storage_error(old, 404, "notFound")
    wrong_delete = cloud.call(
        "DELETE", object_path("d.jsonl"), params={"ifGenerationMatch": first["generation"]}
    )
    assert_storage_error(wrong_delete, 412, "conditionNotMet")
    assert cloud.call("GET", object_path("d.jsonl"), params={"alt": "media"}).content == b"two"


def test_checksum_mismatch_is_400_and_stores_nothing(cloud: Cloud) -> None:
    cloud.bucket()
    wrong = md5_of(b"something else")
    response = cloud.call(
        "POST",
        f"/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "media", "name": "x.jsonl"},
        content=b"payload",
        headers={"x-goog-hash": f"md5={wrong}"},
    )
    message = assert_storage_error(response, 400, "invalid")
    assert (
        message == f'Provided MD5 hash "{wrong}" doesn\'t match calculated MD5 hash "{md5_of(b"payload")}".'
    )
    assert_storage_error(cloud.call("GET", object_path("x.jsonl")), 404, "notFound")


def test_list_with_prefix_delimiter_and_pages(cloud: Cloud) -> None:
    cloud.bucket()
    for name in ("a/1.jsonl", "a/2.jsonl", "a/sub/3.jsonl", "b.jsonl", "c.jsonl"):
        cloud.ok(cloud.upload(name, name.encode()))
    listed = cloud.ok(
        cloud.call("GET", f"/storage/v1/b/{BUCKET}/o", params={"prefix": "a/", "delimiter": "/"})
    )
    assert [o["name"] for o in listed["items"]] == ["a/1.jsonl", "a/2.jsonl"]
    assert listed["prefixes"] == ["a/sub/"]
    names: list[str] = []
    token: str | None = None
    for _ in range(5):
        params = {"maxResults": "2", **({"pageToken": token} if token else {})}
        page = cloud.ok(cloud.call("GET", f"/storage/v1/b/{BUCKET}/o", params=params))
        names += [o["name"] for o in page["items"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert names == ["a/1.jsonl", "a/2.jsonl", "a/sub/3.jsonl", "b.jsonl", "c.jsonl"]


def test_delete_object_then_bucket(cloud: Cloud) -> None:
    cloud.bucket()
    cloud.ok(cloud.upload("x.jsonl", b"x"))
    not_empty = cloud.call("DELETE", f"/storage/v1/b/{BUCKET}")
    assert_storage_error(not_empty, 409, "conflict", "The bucket you tried to delete is not empty.")
    deleted = cloud.call("DELETE", object_path("x.jsonl"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert_storage_error(cloud.call("DELETE", object_path("x.jsonl")), 404, "notFound")
    assert cloud.call("DELETE", f"/storage/v1/b/{BUCKET}").status_code == 204
    assert_storage_error(cloud.call("GET", f"/storage/v1/b/{BUCKET}"), 404, "notFound")


def test_range_downloads(cloud: Cloud) -> None:
    cloud.bucket()
    data = bytes(range(100))
    cloud.ok(cloud.upload("r.bin", data))
    part = cloud.call("GET", object_path("r.bin"), params={"alt": "media"}, headers={"Range": "bytes=10-19"})
    assert (part.status_code, part.content) == (206, data[10:20])
    assert part.headers["Content-Range"] == "bytes 10-19/100"
    tail = cloud.call("GET", object_path("r.bin"), params={"alt": "media"}, headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    beyond = cloud.call("GET", object_path("r.bin"), params={"alt": "media"}, headers={"Range": "bytes=200-"})
    assert_storage_error(beyond, 416, "requestedRangeNotSatisfiable")


def test_objects_larger_than_a_chunk_round_trip(cloud: Cloud) -> None:
    cloud.bucket()
    data = os.urandom((1 << 20) * 2 + 12345)
    obj = cloud.ok(cloud.upload("big.bin", data))
    assert obj["crc32c"] == crc32c_of(data)
    assert cloud.call("GET", object_path("big.bin"), params={"alt": "media"}).content == data
    middle = cloud.call(
        "GET", object_path("big.bin"), params={"alt": "media"}, headers={"Range": "bytes=1048570-1048590"}
    )
    assert middle.content == data[1_048_570:1_048_591]


def test_upload_into_a_missing_bucket_is_404(cloud: Cloud) -> None:
    response = cloud.upload("x.jsonl", b"x", bucket="never-created")
    assert_storage_error(response, 404, "notFound", "The specified bucket does not exist.")


def test_upload_type_is_required(cloud: Cloud) -> None:
    cloud.bucket()
    response = cloud.call("POST", f"/upload/storage/v1/b/{BUCKET}/o", params={"name": "x"}, content=b"x")
    assert_storage_error(response, 400, "invalid")


def test_credentials(cloud: Cloud) -> None:
    cloud.bucket()
    anonymous = cloud.call("GET", object_path("x.jsonl"), token=None)
    assert_storage_error(
        anonymous,
        401,
        "required",
        "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. "
        "Permission 'storage.objects.get' denied on resource (or it may not exist).",
    )
    with_key = cloud.call("GET", f"/storage/v1/b/{BUCKET}", token=None, params={"key": "an-api-key"})
    assert_storage_error(with_key, 401, "required")
    basic = cloud.call("GET", f"/storage/v1/b/{BUCKET}", token=None, headers={"Authorization": "Basic eDp5"})
    assert_storage_error(basic, 401, "authError", "Invalid Credentials")


def test_journal_faults_and_reset_cover_storage(cloud: Cloud) -> None:
    cloud.bucket()
    cloud.emu.admin("DELETE", "journal")
    cloud.emu.admin("POST", "faults", {"method": "storage.objects.get", "status": 503, "count": 1})
    failed = cloud.call("GET", object_path("x.jsonl"))
    assert_storage_error(failed, 503, "backendError", "The service is currently unavailable.")
    assert_storage_error(cloud.call("GET", object_path("x.jsonl")), 404, "notFound")
    cloud.ok(cloud.upload("x.jsonl", b"x"))
    entries = cloud.emu.admin("GET", "journal").json()["requests"]
    assert [(e["rpc"], e["status"]) for e in entries] == [
        ("storage.objects.get", 503),
        ("storage.objects.get", 404),
        ("storage.objects.insert", 200),
    ]
    assert (entries[0]["bucket"], entries[0]["object"]) == (BUCKET, "x.jsonl")
    assert (entries[-1]["bucket"], entries[-1]["query"]["name"]) == (BUCKET, "x.jsonl")
    assert entries[-1]["caller"].endswith("@emulator.local")
    cloud.emu.reset()
    assert_storage_error(cloud.call("GET", f"/storage/v1/b/{BUCKET}"), 404, "notFound")
