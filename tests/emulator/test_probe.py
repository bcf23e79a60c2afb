"""The attack set of ``bench/probe_emulator.py``, scaled down: on the Gemini API, Vertex AI, Cloud
Storage and the admin routes, nothing hostile is accepted, nothing answers 500, and no attack holds
up an unrelated request for long."""

from __future__ import annotations

from bench.probe_emulator import run

#: The attacks fixed in the emulator held every other request for 4 to 11 s. The 100 ms target is
#: the full probe's on a quiet machine; this bound only has to catch a request that stalls the rest.
STALL_BOUND_MS = 1000.0


def test_the_small_probe_finds_nothing_wrongly_accepted_and_no_500() -> None:
    report = run(small=True, seconds=120)
    text = "\n".join(report.lines())
    assert len(report.outcomes) > 120, text
    paths = [o.attack.path for o in report.outcomes]
    for surface in (
        "/v1beta/tunedModels",
        "/v1/projects/",
        "/upload/storage/v1/",
        "/storage/v1/b",
        "/_emulator/",
    ):
        assert sum(path.startswith(surface) for path in paths) >= 5, surface
    assert report.wrongly_accepted == [], text
    assert report.server_errors == [], text
    assert report.unexpected == [], text
    assert report.unrelated_failures == 0, text
    assert len(report.samples) > 50, text
    assert report.longest_stall[0] < STALL_BOUND_MS, text
