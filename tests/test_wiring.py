"""docs/wiring.svg is what docs/wiring.py draws from the default config, pin numbers included."""

from __future__ import annotations

import importlib.util
import re
import struct
import sys
from pathlib import Path

from pitrigger.config import parse_config

DOCS = Path(__file__).resolve().parent.parent / "docs"
spec = importlib.util.spec_from_file_location("wiring", DOCS / "wiring.py")
assert spec is not None and spec.loader is not None
wiring = importlib.util.module_from_spec(spec)
sys.modules["wiring"] = wiring
spec.loader.exec_module(wiring)


def test_committed_svg_is_what_the_default_config_draws() -> None:
    fresh = wiring.svg_text()
    assert fresh == wiring.svg_text(), "the drawing is not deterministic"
    committed = (DOCS / "wiring.svg").read_text(encoding="utf-8")
    assert committed == fresh, "docs/wiring.svg is stale: run python docs/wiring.py"


def test_pin_numbers_come_from_the_config() -> None:
    default = wiring.svg_text()
    assert "GPIO17 · pin 11" in default and "GPIO18 · pin 12" in default
    moved = wiring.svg_text(parse_config("[button]\npin = 23\n[haptics]\npin = 24\n"))
    assert "GPIO23 · pin 16" in moved and "GPIO24 · pin 18" in moved
    assert "GPIO17 · pin 11" not in moved
    wired = wiring.svg_text(parse_config("[wired]\nfocus_pin = 5\n"))
    assert "GPIO5 focus · pin 29" in wired and "GPIO22 focus" not in wired


def test_committed_png_matches_the_svg_shape() -> None:
    """The PNG is converted from the SVG (rsvg-convert at zoom 1): same aspect ratio."""
    png = (DOCS / "wiring.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    svg = (DOCS / "wiring.svg").read_text(encoding="utf-8")
    match = re.search(r'height="([\d.]+)pt" width="([\d.]+)pt"', svg)
    assert match is not None
    svg_height, svg_width = float(match.group(1)), float(match.group(2))
    assert abs(width / height - svg_width / svg_height) < 0.01, (width, height)
