"""tuned_models.vertex.storage: create-only uploads (media and resumable), offsets and recovery,
progress, MD5 checks, metadata and delete, against the upload-protocol fake of vertex_fakes.

The fake stands in for the service only where the client's own protocol handling is under test;
the same scenarios run against the emulator's Cloud Storage surface once it serves one (add it
to the ``storage`` fixture's params).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client.vertex_fakes import BASE, FakeStorage
from tuned_models.rest.errors import NotFound, ServiceError, TransportFailure
from tuned_models.rest.retry import RetryPolicy
from tuned_models.vertex.auth import AccessTokenAuth
from tuned_models.vertex.storage import CHUNK_GRANULARITY, GcsLocation, StorageClient

TOKEN = "ya29.test-token-0123456789"
CHUNK = CHUNK_GRANULARITY  # the smallest chunk the protocol allows keeps the files small


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeStorage:
    return FakeStorage()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(fake: FakeStorage, clock: Clock) -> Iterator[StorageClient]:
    client = StorageClient(
        AccessTokenAuth(TOKEN, "quota-proj"),
        transport=fake.transport(),
        chunk_size=CHUNK,
        resumable_threshold=CHUNK,
        sleep=clock.sleep,
        clock=clock,
        random=lambda: 0.5,
        retry=RetryPolicy(attempts=4, initial=1.0, maximum=8.0),
    )
    yield client
    client.close()


def _file(tmp_path: Path, size: int, name: str = "data.jsonl") -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def _puts(fake: FakeStorage) -> list[str]:
    return [r.headers["content-range"] for r in fake.requests if r.method == "PUT"]


# -- GcsLocation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix", "name"),
    [
        ("gs://my-bucket", "my-bucket", "", "abc.jsonl"),
        ("gs://my-bucket/", "my-bucket", "", "abc.jsonl"),
        ("gs://my-bucket/tuned-models", "my-bucket", "tuned-models", "tuned-models/abc.jsonl"),
        ("gs://my.bucket.example.com/a/b/", "my.bucket.example.com", "a/b", "a/b/abc.jsonl"),
    ],
)
def test_gcs_location_parses_bucket_and_prefix(uri: str, bucket: str, prefix: str, name: str) -> None:
    where = GcsLocation.parse(uri)
    assert (where.bucket, where.prefix) == (bucket, prefix)
    assert where.object_name("abc.jsonl") == name
    assert where.uri("abc.jsonl") == f"gs://{bucket}/{name}"


@pytest.mark.parametrize(
    "uri",
    [
        "my-bucket",
        "s3://my-bucket",
        "gs://",
        "gs://My-Bucket",
        "gs://ab",
        "gs://-bucket",
        "gs://b..x",
        "gs://bkt/a//b",
    ],
)
def test_gcs_location_refuses_malformed_uris(uri: str) -> None:
    with pytest.raises(ValueError, match=r"gs://|bucket|prefix"):
        GcsLocation.parse(uri)


# -- media upload ------------------------------------------------------------------------------


def test_small_file_goes_in_one_create_only_media_upload(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    path, data = _file(tmp_path, 1000)
    progress: list[tuple[int, int]] = []
    result = storage.upload_file(
        path, "bkt", "ds/abc.jsonl", on_progress=lambda s, t: progress.append((s, t))
    )
    assert result.uploaded is True
    assert result.object is not None and result.object.size == 1000 and result.object.generation is not None
    assert fake.objects[("bkt", "ds/abc.jsonl")].data == data
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.url.path == "/upload/storage/v1/b/bkt/o"
    assert dict(request.url.params) == {
        "uploadType": "media",
        "name": "ds/abc.jsonl",
        "ifGenerationMatch": "0",
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-goog-user-project"] == "quota-proj"
    assert progress == [(1000, 1000)]


def test_existing_object_is_success_with_nothing_uploaded(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    fake.put_object("bkt", "abc.jsonl", b"already")
    path, _ = _file(tmp_path, 10)
    result = storage.upload_file(path, "bkt", "abc.jsonl")
    assert result.uploaded is False
    assert result.object is not None and result.object.size == len(b"already")
    assert fake.objects[("bkt", "abc.jsonl")].data == b"already"


def test_media_upload_is_retried_and_a_landed_first_attempt_reads_as_existing(
    storage: StorageClient, fake: FakeStorage, clock: Clock, tmp_path: Path
) -> None:
    path, data = _file(tmp_path, 100)

    def lost_answer(request: httpx.Request) -> Exception | None:
        # The service stores the object, but the answer never arrives.
        fake._start(request, "bkt")
        return httpx.ReadTimeout("read timed out", request=request)

    fake.faults.append(lost_answer)
    result = storage.upload_file(path, "bkt", "abc.jsonl")
    assert result.uploaded is False  # the retry got 412: our own first attempt landed
    assert fake.objects[("bkt", "abc.jsonl")].data == data
    assert len(clock.sleeps) == 1


def test_missing_bucket_is_not_found(storage: StorageClient, tmp_path: Path) -> None:
    path, _ = _file(tmp_path, 10)
    with pytest.raises(NotFound, match="bucket does not exist"):
        storage.upload_file(path, "nope", "abc.jsonl")


def test_md5_mismatch_is_reported_as_data_loss(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    fake.report_md5 = lambda data: "AAAAAAAAAAAAAAAAAAAAAA=="
    path, _ = _file(tmp_path, 10)
    with pytest.raises(ServiceError, match="MD5") as caught:
        storage.upload_file(path, "bkt", "abc.jsonl")
    assert caught.value.status == "DATA_LOSS"


# -- resumable upload --------------------------------------------------------------------------


def test_large_file_goes_in_chunks_with_progress(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    size = 2 * CHUNK + 1234
    path, data = _file(tmp_path, size)
    progress: list[tuple[int, int]] = []
    result = storage.upload_file(path, "bkt", "big.jsonl", on_progress=lambda s, t: progress.append((s, t)))
    assert result.uploaded is True
    assert fake.objects[("bkt", "big.jsonl")].data == data
    start = fake.requests[0]
    assert start.method == "POST"
    assert start.url.params["uploadType"] == "resumable"
    assert start.url.params["ifGenerationMatch"] == "0"
    assert start.headers["x-upload-content-length"] == str(size)
    assert _puts(fake) == [
        f"bytes 0-{CHUNK - 1}/{size}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{size}",
        f"bytes {2 * CHUNK}-{size - 1}/{size}",
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert progress == [(0, size), (CHUNK, size), (2 * CHUNK, size), (size, size)]


def test_a_chunk_the_service_kept_only_partly_is_resent_from_its_offset(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    size = 2 * CHUNK
    path, data = _file(tmp_path, size)
    fake.keep_per_put = CHUNK // 2
    progress: list[int] = []
    storage.upload_file(path, "bkt", "big.jsonl", on_progress=lambda s, t: progress.append(s))
    assert fake.objects[("bkt", "big.jsonl")].data == data
    half = CHUNK // 2
    assert _puts(fake) == [
        f"bytes 0-{CHUNK - 1}/{size}",
        f"bytes {half}-{half + CHUNK - 1}/{size}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{size}",
        f"bytes {3 * half}-{2 * CHUNK - 1}/{size}",
    ]
    assert progress == [0, half, CHUNK, 3 * half, size]


def test_a_failed_chunk_asks_for_the_offset_and_resumes(
    storage: StorageClient, fake: FakeStorage, clock: Clock, tmp_path: Path
) -> None:
    size = 3 * CHUNK
    path, data = _file(tmp_path, size)
    failed: list[str] = []

    def drop_second_chunk(request: httpx.Request) -> Exception | None:
        if (
            request.method == "PUT"
            and request.headers["content-range"].startswith(f"bytes {CHUNK}-")
            and not failed
        ):
            failed.append("x")
            fake._chunk(request)  # the service kept the chunk; the answer was lost
            return httpx.RemoteProtocolError("peer closed connection", request=request)
        return None

    fake.faults.append(drop_second_chunk)
    result = storage.upload_file(path, "bkt", "big.jsonl")
    assert result.uploaded is True
    assert fake.objects[("bkt", "big.jsonl")].data == data
    assert _puts(fake) == [
        f"bytes 0-{CHUNK - 1}/{size}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{size}",
        f"bytes */{size}",
        f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{size}",
    ]
    assert clock.sleeps == [1.0]


def test_a_503_on_a_chunk_honours_retry_after(
    storage: StorageClient, fake: FakeStorage, clock: Clock, tmp_path: Path
) -> None:
    path, data = _file(tmp_path, 2 * CHUNK)
    fake.faults.append(
        lambda r: (
            httpx.Response(
                503, headers={"retry-after": "5"}, json={"error": {"code": 503, "message": "busy"}}
            )
            if r.method == "PUT"
            else None
        )
    )
    storage.upload_file(path, "bkt", "big.jsonl")
    assert fake.objects[("bkt", "big.jsonl")].data == data
    assert clock.sleeps and clock.sleeps[0] >= 5.0


def test_chunk_failures_without_progress_give_up_after_the_policy_attempts(
    storage: StorageClient, fake: FakeStorage, clock: Clock, tmp_path: Path
) -> None:
    path, _ = _file(tmp_path, 2 * CHUNK)

    def always(request: httpx.Request) -> Exception | None:
        if request.method == "PUT":
            fake.faults.append(always)
            return httpx.ReadError("connection reset", request=request)
        return None

    fake.faults.append(always)
    with pytest.raises(TransportFailure) as caught:
        storage.upload_file(path, "bkt", "big.jsonl")
    assert caught.value.error_class == "ReadError"
    assert TOKEN not in str(caught.value) and "upload_id" not in str(caught.value)
    assert len(clock.sleeps) == 3  # attempts=4: the first try and 3 more after waits
    assert ("bkt", "big.jsonl") not in fake.objects


def test_an_object_created_meanwhile_ends_the_resumable_upload_as_existing(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    path, _ = _file(tmp_path, 2 * CHUNK)

    def racer(request: httpx.Request) -> None:
        if request.method == "PUT" and request.headers["content-range"].startswith(f"bytes {CHUNK}-"):
            fake.put_object("bkt", "big.jsonl", b"someone else")
        return None

    fake.faults.append(racer)
    result = storage.upload_file(path, "bkt", "big.jsonl")
    assert result.uploaded is False
    assert fake.objects[("bkt", "big.jsonl")].data == b"someone else"


def test_existing_object_stops_the_resumable_upload_before_any_byte(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    fake.put_object("bkt", "big.jsonl", b"x")
    path, _ = _file(tmp_path, 3 * CHUNK)
    assert storage.upload_file(path, "bkt", "big.jsonl").uploaded is False
    assert _puts(fake) == []


def test_a_session_on_another_host_is_refused_before_sending_the_token(
    fake: FakeStorage, tmp_path: Path
) -> None:
    evil = FakeStorage(base="https://evil.example")
    evil.buckets = fake.buckets
    with StorageClient(
        AccessTokenAuth(TOKEN), transport=evil.transport(), chunk_size=CHUNK, resumable_threshold=CHUNK
    ) as client:
        path, _ = _file(tmp_path, 2 * CHUNK)
        with pytest.raises(ServiceError, match="not on the storage host"):
            client.upload_file(path, "bkt", "big.jsonl")
    assert [r.method for r in evil.requests] == ["POST"]


def test_chunk_size_must_be_a_multiple_of_256_kib() -> None:
    with pytest.raises(ValueError, match="multiple of 262144"):
        StorageClient(None, chunk_size=1000)


# -- metadata and delete -----------------------------------------------------------------------


def test_get_find_and_delete_an_object_with_a_slash_in_its_name(
    storage: StorageClient, fake: FakeStorage
) -> None:
    fake.put_object("bkt", "a/b c.jsonl", b"12345")
    stored = storage.get_object("bkt", "a/b c.jsonl")
    assert (stored.name, stored.size) == ("a/b c.jsonl", 5)
    assert fake.requests[-1].url.raw_path == b"/storage/v1/b/bkt/o/a%2Fb%20c.jsonl"
    storage.delete_object("bkt", "a/b c.jsonl")
    assert storage.find_object("bkt", "a/b c.jsonl") is None
    with pytest.raises(NotFound):
        storage.get_object("bkt", "a/b c.jsonl")


def test_repr_never_shows_the_token() -> None:
    client = StorageClient(AccessTokenAuth(TOKEN), base_url=BASE)
    assert TOKEN not in repr(client)
    client.close()


def test_a_file_that_shrinks_during_the_upload_is_an_error(
    storage: StorageClient, fake: FakeStorage, tmp_path: Path
) -> None:
    path, _ = _file(tmp_path, 3 * CHUNK)

    def shrink(request: httpx.Request) -> None:
        if request.method == "PUT":
            path.write_bytes(b"short")
        return None

    fake.faults.append(shrink)
    with pytest.raises(OSError, match="changed size"):
        storage.upload_file(path, "bkt", "big.jsonl")
    assert ("bkt", "big.jsonl") not in fake.objects
