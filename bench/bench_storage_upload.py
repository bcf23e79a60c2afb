"""Peak memory of the emulator's server while it receives Cloud Storage uploads of growing size.

Starts ``tuned-models emulator`` (the real server, a state file in a temporary directory) in a
child process, uploads objects of SIZES MiB with a media upload and with a resumable upload in
8 MiB chunks (bodies generated on the fly, never held whole by this process either), downloads
each once, and prints the server's peak resident memory (VmHWM) after each size and the ratio
of the largest to the smallest. A ratio near 1 means the upload is streamed, not buffered.

    .venv/bin/python bench/bench_storage_upload.py [SIZE_MIB ...]   # default: 64 256
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

CHUNK = 8 * 1024 * 1024
AUTH = {"Authorization": "Bearer bench"}


def peak_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def body(size: int) -> Iterator[bytes]:
    block = hashlib.sha256(b"bench").digest() * (1024 * 1024 // 32)
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        yield piece


def main(sizes_mib: list[int]) -> None:
    with tempfile.TemporaryDirectory() as state:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tuned_models_emulator.server",
                "--port",
                "0",
                "--state",
                state,
                "--bucket",
                "bench",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip()
            peaks: list[int] = []
            with httpx.Client(base_url=base, headers=AUTH, timeout=300) as client:
                for mib in sizes_mib:
                    size = mib * 1024 * 1024
                    media = client.post(
                        "/upload/storage/v1/b/bench/o",
                        params={"uploadType": "media", "name": f"media-{mib}"},
                        content=body(size),
                    )
                    media.raise_for_status()
                    start = client.post(
                        "/upload/storage/v1/b/bench/o",
                        params={"uploadType": "resumable", "name": f"res-{mib}"},
                    )
                    session = start.headers["Location"]
                    offset = 0
                    for piece in _chunks(size):
                        end = offset + len(piece) - 1
                        total = str(size) if end == size - 1 else "*"
                        answer = client.put(
                            session, content=piece, headers={"Content-Range": f"bytes {offset}-{end}/{total}"}
                        )
                        assert answer.status_code in (200, 308), answer.text
                        offset = end + 1
                    with client.stream(
                        "GET", f"/storage/v1/b/bench/o/res-{mib}", params={"alt": "media"}
                    ) as got:
                        received = sum(len(part) for part in got.iter_bytes())
                    assert received == size
                    peaks.append(peak_kib(server.pid))
                    peak = peaks[-1] / 1024
                    print(f"{mib:6d} MiB uploaded twice and read back: server peak RSS {peak:.1f} MiB")
            ratio = peaks[-1] / peaks[0]
            print(f"peak RSS ratio, {sizes_mib[-1]} MiB vs {sizes_mib[0]} MiB uploads: {ratio:.2f}")
        finally:
            server.terminate()
            server.wait(timeout=10)


def _chunks(size: int) -> Iterator[bytes]:
    pending = b""
    for piece in body(size):
        pending += piece
        while len(pending) >= CHUNK:
            yield pending[:CHUNK]
            pending = pending[CHUNK:]
    if pending:
        yield pending


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [64, 256])
