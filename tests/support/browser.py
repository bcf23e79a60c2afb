"""Headless Chromium for the report's browser tests: render a page to a PNG, read what it logged,
and find out whether its charts show anything.

Chromium is Debian's ``chromium`` (``scripts/install-chromium.sh``). Without it the browser tests
skip, unless ``TUNED_MODELS_REQUIRE_BROWSER=1`` (CI), which makes them fail.

How the charts are checked: the page is rendered twice, as is and with every inline ``<svg>``
replaced by one of the same size filled with :data:`MARKER` (magenta). The marker's regions in the
second screenshot are where the charts are; in the first, those regions must hold enough "ink"
(pixels that are not the white card behind them). A page whose charts are blank has none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: The flags every render uses: no GPU, sandbox, network, first-run or background work; a
#: resolver that resolves nothing, so any attempt to fetch from the network fails (and shows).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
)
MARKER = (255, 0, 255)
WIDTH = 1200
_SVG = re.compile(r"<svg\b([^>]*)>.*?</svg>", re.DOTALL)


def chromium() -> str:
    """The Chromium binary; skips the test (fails it in CI) when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("TUNED_MODELS_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium: run scripts/install-chromium.sh")
        pytest.skip("no chromium (scripts/install-chromium.sh installs it)")
    return found


@dataclass(frozen=True)
class Rendered:
    """A screenshot and what the page logged to its console."""

    image: np.ndarray
    console: list[str]


def render(page: Path, out: Path, height: int = 6000) -> Rendered:
    """Render ``page`` (a file) at :data:`WIDTH` x ``height`` into ``out`` (PNG)."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        proc = subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{height}",
                f"--screenshot={out}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0 and out.exists(), proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(np.asarray(Image.open(out).convert("RGB")), console)


def with_charts_replaced(html: str, body: str) -> str:
    """``html`` with each inline ``<svg>`` kept at its size (attributes) but holding ``body``."""
    return _SVG.sub(lambda m: f"<svg{m.group(1)}>{body}</svg>", html)


def marked(html: str) -> str:
    """Every chart as a magenta box of its own size."""
    r, g, b = MARKER
    return with_charts_replaced(html, f'<rect width="100%" height="100%" fill="rgb({r},{g},{b})"/>')


def blanked(html: str) -> str:
    """Every chart empty (the negative control)."""
    return with_charts_replaced(html, "")


def chart_count(html: str) -> int:
    return len(_SVG.findall(html))


def regions(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(top, bottom, left, right)`` of the marker colour, one per horizontal band of rows
    that holds it (the report stacks its charts vertically)."""
    mask = np.all(image == np.array(MARKER, dtype=image.dtype), axis=2)
    rows = np.flatnonzero(mask.any(axis=1))
    boxes: list[tuple[int, int, int, int]] = []
    if rows.size == 0:
        return boxes
    start = previous = int(rows[0])
    for row in [*map(int, rows[1:]), None]:
        if row is not None and row == previous + 1:
            previous = row
            continue
        cols = np.flatnonzero(mask[start : previous + 1].any(axis=0))
        boxes.append((start, previous + 1, int(cols[0]), int(cols[-1]) + 1))
        if row is not None:
            start = previous = row
    return boxes


def ink(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """The share of pixels in ``box`` that are not white (the card behind the charts)."""
    top, bottom, left, right = box
    part = image[top:bottom, left:right]
    return float(np.any(part < 245, axis=2).mean())


@dataclass(frozen=True)
class ChartCheck:
    """What :func:`check_page` found: the chart regions and the ink in each, the console lines."""

    boxes: list[tuple[int, int, int, int]]
    inks: list[float]
    console: list[str]


def check_page(page: Path, workdir: Path) -> ChartCheck:
    """Render ``page`` as is and with its charts marked; measure the ink where the charts are."""
    html = page.read_text(encoding="utf-8")
    control = workdir / f"{page.stem}-marked.html"
    control.write_text(marked(html), encoding="utf-8")
    shown = render(page, workdir / f"{page.stem}.png")
    located = render(control, workdir / f"{page.stem}-marked.png")
    boxes = regions(located.image)
    return ChartCheck(boxes, [ink(shown.image, b) for b in boxes], shown.console)
