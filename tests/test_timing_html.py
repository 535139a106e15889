"""The HTML timeline page: well-formed, self-contained, and drawn by a real browser."""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ElementTree
import zlib
from pathlib import Path

import pytest
from test_timing import UBOOT_BOOT, shifted, write_capture

from armcheck.reports.timeline_html import COLORS, render_html
from armcheck.timing.markers import DEFAULT_MARKERS
from armcheck.timing.stages import analyse_capture
from armcheck.timing.statistics import summarize

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page(tmp_path: Path) -> str:
    captures = [
        write_capture(tmp_path / f"p{index}.cast", shifted(UBOOT_BOOT, 9.0, 0.3 * index))
        for index in range(3)
    ]
    report = summarize([analyse_capture(path, list(DEFAULT_MARKERS)) for path in captures])
    return render_html(report)


def test_html_parses_as_xml(page: str) -> None:
    root = ElementTree.fromstring(page)
    assert root.tag == "html"


def test_html_one_row_per_stage(page: str) -> None:
    svg = ElementTree.fromstring(page).find(f".//{SVG}svg")
    assert svg is not None
    rows = svg.findall(f"{SVG}g")
    assert len(rows) == 11


def test_html_kernel_whisker_spread(page: str) -> None:
    # The kernel stage lasts 1.0, 1.3 and 1.6 s: its whisker spans 0.6 s of the chart.
    svg = ElementTree.fromstring(page).find(f".//{SVG}svg")
    assert svg is not None
    kernel = next(g for g in svg.findall(f"{SVG}g") if g.findtext(f"{SVG}text") == "kernel")
    whisker = kernel.findall(f"{SVG}line")[0]
    bar = kernel.find(f"{SVG}rect")
    assert bar is not None
    width = float(whisker.get("x2", 0)) - float(whisker.get("x1", 0))
    seconds_per_pixel = 1.3 / float(bar.get("width", 1))
    assert width * seconds_per_pixel == pytest.approx(0.6, abs=0.01)


@pytest.mark.parametrize("needle", ["http://", "https://", "<script", "<link", "@import"])
def test_html_no_external_resource(page: str, needle: str) -> None:
    # The SVG namespace URI is an identifier, not a resource that is fetched.
    text = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert needle not in text


def test_html_escapes_marker_names(tmp_path: Path) -> None:
    from armcheck.timing.markers import Marker

    markers = list(DEFAULT_MARKERS) + [Marker("<b>&x", "milestone", "Scanning")]
    capture = write_capture(tmp_path / "x.cast", UBOOT_BOOT)
    root = ElementTree.fromstring(render_html(summarize([analyse_capture(capture, markers)])))
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert "<b>&x" in labels


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_html_renders_in_chromium(page: str, tmp_path: Path) -> None:
    html = tmp_path / "timeline.html"
    html.write_text(page, encoding="utf-8")
    screenshot = tmp_path / "timeline.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1100,800",
            f"--screenshot={screenshot}",
            html.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    width, height, pixels = read_png(screenshot)
    kernel = bytes.fromhex(COLORS["kernel"][1:])
    painted = sum(1 for pixel in pixels if pixel == kernel)
    # The kernel bar is 1.3 s of a 12 s chart, about 80 by 16 pixels.
    assert painted > 500


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB or RGBA PNG into (width, height, RGB pixels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8, f"unsupported PNG bit depth {depth}"
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels = []
    for row in range(height):
        start = row * (stride + 1)
        line = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        pixels.extend(bytes(line[i : i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, previous: bytearray, channels: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        up = previous[i]
        corner = previous[i - channels] if i >= channels else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            estimate = left + up - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
            if pa <= pb and pa <= pc:
                nearest = left
            elif pb <= pc:
                nearest = up
            else:
                nearest = corner
            line[i] = (line[i] + nearest) & 0xFF
    return line
