"""The attack set of ``bench/probe_emulator.py`` on Vertex AI and Cloud Storage: uploads announcing
or streaming more than an object may hold, hostile upload metadata and preconditions, tuning job
creates with hostile bodies, numbers and labels, hostile dataset lines, unknown credentials, the
services' admin routes without the token or from a web page; and heavy but legitimate work (a
large dataset uploaded, tuned on, downloaded, answered from)."""

from __future__ import annotations

import json
from typing import Any

from bench.probe_attacks import MIB, TOKEN, Attack, as_json, hostile, legit

BUCKET = "probe-data"
PARENT = "/v1/projects/probe-project/locations/us-central1"
JOBS = f"{PARENT}/tuningJobs"
UPLOAD = f"/upload/storage/v1/b/{BUCKET}/o"
#: Cloud Storage's largest object in the emulator (1 GiB).
OBJECT_LIMIT = 1 << 30


def _cloud(**more: Any) -> dict[str, Any]:
    """What every request of these surfaces carries: a bearer token, no API key."""
    return {"key": None, "token": TOKEN, **more}


def _line(text_input: str, output: str) -> bytes:
    turns = [
        {"role": "user", "parts": [{"text": text_input}]},
        {"role": "model", "parts": [{"text": output}]},
    ]
    return as_json({"contents": turns}) + b"\n"


def dataset(size: int) -> bytes:
    """A ``contents`` JSONL dataset of about ``size`` bytes (about 130 bytes an example)."""
    lines = []
    total = 0
    index = 0
    while total < size:
        line = _line(f"question {index:08d}", f"answer {index + 1:08d}")
        lines.append(line)
        total += len(line)
        index += 1
    return b"".join(lines)


def job(uri: str, **extra: Any) -> dict[str, Any]:
    """A CreateTuningJob body for ``uri`` (two epochs unless ``extra`` says otherwise)."""
    hyper = {"epochCount": 2, **extra.pop("hyper", {})}
    return {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {"trainingDatasetUri": uri, "hyperParameters": hyper},
        **extra,
    }


def _media(name: str, data: bytes, **more: Any) -> Attack:
    return legit(
        f"upload {name} ({len(data) // 1024} KiB)",
        "POST",
        f"{UPLOAD}?uploadType=media&name={name}",
        data,
        **_cloud(**more),
    )


def _storage_attacks(small: bool) -> list[Attack]:
    deep_metadata = b'{"name": "m.txt", "metadata": ' + b"[" * 200 + b"]" * 200 + b"}"
    boundary = "b0undary"
    multipart = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + b'{"name": "\\ud800.txt"}'
        + f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--".encode()
    )
    json_type = {"Content-Type": "application/json"}
    return [
        legit("create the bucket", "POST", "/_emulator/buckets", as_json({"name": BUCKET}), admin=True),
        _media("train.jsonl", dataset(2_000)),
        _media("wide.jsonl", dataset(2 * MIB if small else 64 * MIB)),
        hostile(
            "media upload announcing 2 GiB, never sent",
            "POST",
            f"{UPLOAD}?uploadType=media&name=huge.bin",
            headers={"Content-Length": str(2 * OBJECT_LIMIT)},
            expect=413,
            raw=True,
            **_cloud(),
        ),
        hostile(
            "resumable upload announcing 2 GiB",
            "POST",
            f"{UPLOAD}?uploadType=resumable&name=huge.bin",
            b"{}",
            headers={"X-Upload-Content-Length": str(2 * OBJECT_LIMIT), **json_type},
            expect=413,
            **_cloud(),
        ),
        hostile(
            "multipart upload announcing 100 MiB",
            "POST",
            f"{UPLOAD}?uploadType=multipart",
            headers={"Content-Length": str(100 * MIB), "Content-Type": "multipart/related; boundary=x"},
            expect=413,
            raw=True,
            **_cloud(),
        ),
        hostile(
            "upload metadata 200 deep",
            "POST",
            f"{UPLOAD}?uploadType=resumable",
            deep_metadata,
            headers=json_type,
            **_cloud(),
        ),
        hostile(
            "lone surrogate in an object name",
            "POST",
            f"{UPLOAD}?uploadType=multipart",
            multipart,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
            **_cloud(),
        ),
        hostile(
            "ifGenerationMatch of 30 digits",
            "GET",
            f"/storage/v1/b/{BUCKET}/o/train.jsonl?ifGenerationMatch={'9' * 30}",
            **_cloud(),
        ),
        hostile(
            "bucket body 200 deep",
            "POST",
            "/storage/v1/b?project=probe-project",
            b'{"name": "b-2", "labels": ' + b"[" * 200 + b"]" * 200 + b"}",
            headers=json_type,
            **_cloud(),
        ),
        hostile(
            "storage, unknown token", "GET", f"/storage/v1/b/{BUCKET}", expect=401, **_cloud(token="made-up")
        ),
        hostile("storage, anonymous", "GET", f"/storage/v1/b/{BUCKET}", expect=401, **_cloud(token=None)),
        legit(
            "download the wide dataset, Range beyond int64 ignored",
            "GET",
            f"/storage/v1/b/{BUCKET}/o/wide.jsonl?alt=media",
            headers={"Range": f"bytes={'9' * 30}-"},
            **_cloud(),
        ),
    ]


def _job_attacks() -> list[Attack]:
    train = f"gs://{BUCKET}/train.jsonl"

    def create(name: str, body: bytes, **more: Any) -> Attack:
        return hostile(
            name, "POST", JOBS, body, headers={"Content-Type": "application/json"}, **_cloud(**more)
        )

    def bad_hyper(**hyper: Any) -> bytes:
        return as_json(job(train, hyper=hyper))

    base = (
        b'{"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": "' + train.encode()
    )
    return [
        create("job body over 1 MiB", as_json(job(train, description="d" * 2 * MIB)), expect=413),
        create("job labels 200 deep", base + b'"}, "labels": ' + b"[" * 200 + b"]" * 200 + b"}"),
        create("lone surrogate in a display name", base + b'"}, "tunedModelDisplayName": "\\ud800"}'),
        create("lone surrogate in a label value", base + b'"}, "labels": {"team": "\\udc00"}}'),
        create("epochCount beyond int64", bad_hyper(epochCount="9" * 20)),
        create("epochCount 2^40", bad_hyper(epochCount=2**40)),
        create("epochCount 2^30 (2^31 steps)", bad_hyper(epochCount=2**30)),
        create("learningRateMultiplier Infinity", bad_hyper(learningRateMultiplier="Infinity")),
        create(
            "learningRateMultiplier 1e400",
            base + b'", "hyperParameters": {"learningRateMultiplier": 1e400}}}',
        ),
        create("adapterSize 2^40", bad_hyper(adapterSize=2**40)),
        create("label value of 65 characters", as_json(job(train, labels={"team": "x" * 65}))),
        create("65 labels", as_json(job(train, labels={f"k{i}": "v" for i in range(65)}))),
        create("uppercase label key", as_json(job(train, labels={"Team": "ml"}))),
        _media("deep.jsonl", _line("a", "b") + b'{"contents": ' + b"[" * 200 + b"]" * 200 + b"}\n"),
        create("dataset line 200 deep", as_json(job(f"gs://{BUCKET}/deep.jsonl"))),
        _media("digits.jsonl", b'{"contents": [], "n": ' + b"9" * 5000 + b"}\n"),
        create("dataset line with 5000 digits", as_json(job(f"gs://{BUCKET}/digits.jsonl"))),
        create("vertex, API key only", as_json(job(train)), expect=401, key="probe-key", token=None),
        create("vertex, unknown token", as_json(job(train)), expect=401, token="made-up"),
        hostile("tuning jobs pageSize 1e5", "GET", f"{JOBS}?pageSize=1e5", **_cloud()),
        hostile("tuning jobs forged page token", "GET", f"{JOBS}?pageToken=eyJvIjogLTF9", **_cloud()),
        hostile("tuning jobs filter garbage", "GET", f"{JOBS}?filter=labels.a%3D(", **_cloud()),
    ]


def _heavy_attacks() -> list[Attack]:
    return [
        legit(
            "tune on the small dataset",
            "POST",
            JOBS,
            as_json(job(f"gs://{BUCKET}/train.jsonl")),
            save="small",
            **_cloud(),
        ),
        legit(
            "tune on the wide dataset",
            "POST",
            JOBS,
            as_json(job(f"gs://{BUCKET}/wide.jsonl")),
            save="wide",
            **_cloud(),
        ),
        legit(
            "advance until the jobs end",
            "POST",
            "/_emulator/advance",
            as_json({"steps": 2_000_000}),
            admin=True,
        ),
        legit("read the wide job", "GET", "/v1/<<wide.name>>", save="wide_done", **_cloud()),
        legit("read the small job", "GET", "/v1/<<small.name>>", save="small_done", **_cloud()),
        legit(
            "generate on the wide job's endpoint",
            "POST",
            "/v1/<<wide_done.tunedModel.endpoint>>:generateContent",
            as_json({"contents": [{"role": "user", "parts": [{"text": "question 00004321"}]}]}),
            **_cloud(),
        ),
        legit(
            "read an endpoint", "GET", "/v1/<<small_done.tunedModel.endpoint>>", save="endpoint", **_cloud()
        ),
        hostile(
            "traffic split of text",
            "POST",
            "/v1/<<small_done.tunedModel.endpoint>>:undeployModel",
            b'{"deployedModelId": "<<endpoint.deployedModels.0.id>>", "trafficSplit": {"x": "abc"}}',
            **_cloud(),
        ),
        hostile(
            "traffic split of -50 and 150",
            "POST",
            "/v1/<<small_done.tunedModel.endpoint>>:undeployModel",
            b'{"deployedModelId": "<<endpoint.deployedModels.0.id>>", "trafficSplit": {"x": 150, "y": -50}}',
            **_cloud(),
        ),
        hostile(
            "model version \u00b2", "GET", "/v1/<<small_done.tunedModel.model>>\u00b2", expect=404, **_cloud()
        ),
        hostile(
            "model version \u00b2 deleted",
            "DELETE",
            "/v1/<<small_done.tunedModel.model>>\u00b2:deleteVersion",
            **_cloud(),
        ),
    ]


def _admin_attacks() -> list[Attack]:
    seconds = {"Content-Type": "application/json"}
    return [
        hostile(
            "operationSeconds Infinity",
            "PATCH",
            "/_emulator/vertex",
            as_json({"operationSeconds": "Infinity"}),
            admin=True,
        ),
        hostile(
            "operationSeconds 1e300",
            "PATCH",
            "/_emulator/vertex",
            as_json({"operationSeconds": 1e300}),
            admin=True,
        ),
        hostile(
            "vertex admin, no token",
            "PATCH",
            "/_emulator/vertex",
            b"{}",
            headers=seconds,
            expect=401,
            key=None,
        ),
        hostile(
            "buckets admin, no token",
            "POST",
            "/_emulator/buckets",
            as_json({"name": "x-1"}),
            expect=401,
            key=None,
        ),
        hostile(
            "buckets admin from a web page",
            "POST",
            "/_emulator/buckets",
            as_json({"name": "x-2"}),
            headers={"Origin": "https://a.example"},
            expect=403,
            admin=True,
        ),
        hostile(
            "vertex admin text/plain",
            "PATCH",
            "/_emulator/vertex",
            json.dumps({"operationSeconds": 5}).encode(),
            headers={"Content-Type": "text/plain"},
            expect=403,
            admin=True,
        ),
    ]


def cloud_attacks(small: bool) -> list[Attack]:
    """The Vertex AI and Cloud Storage attacks, in order (later ones use what earlier ones made)."""
    return [*_storage_attacks(small), *_job_attacks(), *_heavy_attacks(), *_admin_attacks()]
