"""The vocabulary card: every haptic name, its pattern as a timeline, what it means, what to do.

Generated from the vocabulary (:data:`pitrigger.names.CUES`) and the default patterns, so a
cue added anywhere appears on the card by itself. The output is one SVG sized in millimetres
for an A6 pocket card (105 mm wide), deterministic (no dates, fixed number formatting), so
``docs/vocabulary-card.svg`` can be kept identical by a test::

    python -m pitrigger.vocabulary_card > docs/vocabulary-card.svg
    python -m pitrigger.vocabulary_card --focus > docs/vocabulary-card-focus.svg

>>> svg = card_svg()
>>> svg.startswith("<svg") and 'data-cue="recording"' in svg
True
>>> timeline_rects(DEFAULT_PATTERNS["stopped"], x=0, y=0, mm_per_s=25)
[(0.0, 0, 5.0), (10.0, 0, 5.0)]
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape

from pitrigger.haptics import DEFAULT_PATTERNS, Pattern
from pitrigger.names import CUES
from pitrigger.status_code import StatusReading, encode

__all__ = ["CUE_GUIDE", "FOCUS_CARD_CUES", "card_svg", "focus_card_svg", "timeline_rects"]

#: What each cue means and what to do about it. A cue missing here still gets its row.
CUE_GUIDE: dict[str, tuple[str, str]] = {
    "recording": ("The camera reports it records.", "Film."),
    "restarted": ("Clip hit the cap; a new one records.", "Nothing: keep filming."),
    "stopped": ("The camera reports it stopped.", "Press to record again."),
    "ready": ("Camera found, not recording.", "Press to record."),
    "busy": ("Camera busy; nothing changed.", "Wait a second, press again."),
    "refused": ("The body refuses: fix it first.", "Card, battery, movie mode."),
    "error": ("Refused or failed; nothing changed.", "Check the camera's mode."),
    "no-camera": ("No camera to talk to.", "Cable, battery, power switch."),
    "power-off": ("The remote shuts down.", "Wait 10 s before unplugging."),
    "tick": ("A hold threshold passed.", "Let go now for that action."),
    "limit-soon": ("The clip reaches its cap soon.", "Nothing, or stop at a good time."),
    "low-card": ("Card low (after stopped: full).", "Change the card soon."),
    "low-battery": ("Battery low (after stopped: empty).", "Change the battery soon."),
    "heat": ("After stopped: camera too hot.", "Let it cool, out of the sun."),
    "still": ("A still photo was taken.", "Nothing."),
    "sent": ("Sent; the camera cannot confirm.", "Look at the camera if it matters."),
    # Focus mode: on their own card (focus_card_svg), felt only inside the mode.
    "focus": ("One tap; faster = sharper (1-8 Hz).", "Turn the ring toward faster."),
    "focus-on": ("Focus mode on (magnified view).", "Sweep through focus once."),
    "focus-off": ("Focus mode off; camera put back.", "Press to record."),
    "in-focus": ("Back at the sharpest point.", "Stop turning; press to record."),
    "focus-lost": ("Turned well away from it.", "Turn back toward faster taps."),
}

#: Cues felt only in focus mode: drawn on the focus card, not the main one (A6 is full).
FOCUS_CARD_CUES: tuple[str, ...] = ("focus-on", "focus", "in-focus", "focus-lost",
                                    "focus-off")

_WIDTH_MM = 105.0
_MARGIN_MM = 5.0
_HEIGHT_MM = 148.0  # A6
_ROW_MM = 7.0  # shrinks (down to _MIN_ROW_MM) when more cues must fit on the card
_MIN_ROW_MM = 5.6  # two lines of 2.2 mm text
_BAR_MM = 3.0
_MM_PER_S = 20.0  # 700 ms = 14 mm
_NAME_MM = 19.0
_TIMELINE_MM = 26.0
#: Longest line of text that fits right of the timelines at the card's font size.
MAX_TEXT_CHARS = 38
_FONT = "font-family:DejaVu Sans,Helvetica,Arial,sans-serif"


def timeline_rects(pattern: Pattern, *, x: float, y: float, mm_per_s: float = _MM_PER_S
                   ) -> list[tuple[float, float, float]]:
    """The on-steps of ``pattern`` as ``(x, y, width)`` in mm, one per pulse."""
    rects = []
    at_ms = 0
    for i, step in enumerate(pattern.steps_ms):
        if i % 2 == 0:
            rects.append((round(x + at_ms / 1000 * mm_per_s, 2), y,
                          round(step / 1000 * mm_per_s, 2)))
        at_ms += step
    return rects


def _bars(pattern: Pattern, x: float, y: float, cue: str) -> list[str]:
    # A thin base line is the motor off; each black bar is the motor on.
    length = round(sum(pattern.steps_ms) / 1000 * _MM_PER_S, 2)
    out = [f'<g data-cue="{escape(cue)}">',
           f'<line x1="{x:g}" y1="{y + _BAR_MM:g}" x2="{x + length:g}" y2="{y + _BAR_MM:g}" '
           f'stroke="#888" stroke-width="0.2"/>']
    out += [f'<rect x="{rx:g}" y="{ry:g}" width="{w:g}" height="{_BAR_MM:g}" fill="#000"/>'
            for rx, ry, w in timeline_rects(pattern, x=x, y=y)]
    out.append("</g>")
    return out


def _text(x: float, y: float, text: str, size: float, weight: str = "normal") -> str:
    return (f'<text x="{x:g}" y="{y:g}" style="{_FONT};font-size:{size:g}px;'
            f'font-weight:{weight}">{escape(text)}</text>')


def card_svg(patterns: Mapping[str, Pattern] = DEFAULT_PATTERNS) -> str:
    """The whole card as SVG text (1 user unit = 1 mm)."""
    cues = [c for c in CUES if c in patterns and c not in FOCUS_CARD_CUES]
    cues += sorted(set(patterns) - set(CUES))
    status_examples = [
        ("status: recording, 12 min, card low", StatusReading(True, 12, True)),
        ("status: not recording, 3 min today", StatusReading(False, 3, False)),
    ]
    rows = len(cues) + len(status_examples)
    fixed = _MARGIN_MM * 2 + 12 + 8.5
    row_mm = max(_MIN_ROW_MM, min(_ROW_MM, round((_HEIGHT_MM - fixed) / rows, 2)))
    height = round(fixed + row_mm * rows, 1)
    body: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH_MM:g}mm" '
        f'height="{height:g}mm" viewBox="0 0 {_WIDTH_MM:g} {height:g}">',
        f'<rect x="0" y="0" width="{_WIDTH_MM:g}" height="{height:g}" fill="#fff" '
        f'stroke="#000" stroke-width="0.3"/>',
        _text(_MARGIN_MM, _MARGIN_MM + 4, "pitrigger: what the strap says", 4.2, "bold"),
        _text(_MARGIN_MM, _MARGIN_MM + 8, "black = motor on; 1 mm = 50 ms. "
              "Only a long buzz (14 mm) means recording.", 2.4),
    ]
    y = _MARGIN_MM + 12
    text_x = _MARGIN_MM + _NAME_MM + _TIMELINE_MM + 2
    for cue in cues:
        means, do = CUE_GUIDE.get(cue, ("(not described yet)", "see docs/haptics.md"))
        body.append(_text(_MARGIN_MM, y + 2.6, cue, 2.6, "bold"))
        body += _bars(patterns[cue], _MARGIN_MM + _NAME_MM, y + 0.2, cue)
        body.append(_text(text_x, y + 1.8, means, 2.2))
        body.append(_text(text_x, y + 4.6, "→ " + do, 2.2))
        y += row_mm
    body.append(_text(_MARGIN_MM, y + 3, "Status (hold): recording or not; then long = 5 min,",
                      2.6, "bold"))
    body.append(_text(_MARGIN_MM, y + 6.4, "short = 1 min (rounded down); dit-dit-dit: card "
                      "or battery low", 2.6, "bold"))
    y += 8.5
    for label, reading in status_examples:
        pattern = encode(reading)
        body.append(_text(_MARGIN_MM, y + 2.6, label, 2.3))
        # Status answers are long: drawn at half the scale of the cues above.
        rects = timeline_rects(pattern, x=_MARGIN_MM + 48, y=y + 0.2, mm_per_s=_MM_PER_S / 2)
        body += [f'<rect x="{rx:g}" y="{ry:g}" width="{w:g}" height="{_BAR_MM:g}" fill="#000"/>'
                 for rx, ry, w in rects]
        y += row_mm
    body.append("</svg>")
    return "\n".join(body) + "\n"


def focus_card_svg(patterns: Mapping[str, Pattern] = DEFAULT_PATTERNS) -> str:
    """Focus mode's cues and what its pulse train feels like, as a second A7-wide card."""
    rows = len(FOCUS_CARD_CUES) + 2
    height = round(_MARGIN_MM * 2 + 12 + _ROW_MM * rows, 1)
    body: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH_MM:g}mm" '
        f'height="{height:g}mm" viewBox="0 0 {_WIDTH_MM:g} {height:g}">',
        f'<rect x="0" y="0" width="{_WIDTH_MM:g}" height="{height:g}" fill="#fff" '
        f'stroke="#000" stroke-width="0.3"/>',
        _text(_MARGIN_MM, _MARGIN_MM + 4, "pitrigger: focus mode (long-hold)", 4.2, "bold"),
        _text(_MARGIN_MM, _MARGIN_MM + 8, "Taps come faster as the picture gets sharper. "
              "A press leaves and records.", 2.4),
    ]
    y = _MARGIN_MM + 12
    text_x = _MARGIN_MM + _NAME_MM + _TIMELINE_MM + 2
    for cue in FOCUS_CARD_CUES:
        means, do = CUE_GUIDE[cue]
        body.append(_text(_MARGIN_MM, y + 2.6, cue, 2.6, "bold"))
        body += _bars(patterns[cue], _MARGIN_MM + _NAME_MM, y + 0.2, cue)
        body.append(_text(text_x, y + 1.8, means, 2.2))
        body.append(_text(text_x, y + 4.6, "→ " + do, 2.2))
        y += _ROW_MM
    tap = patterns["focus"].steps_ms[0]
    for label, hz in (("far: 1 Hz", 1.0), ("sharp: 8 Hz", 8.0)):
        # One second of the train at this rate, drawn at half the scale of the cues.
        period_ms = round(1000 / hz)
        train = Pattern(tuple(([tap, period_ms - tap] * int(hz))[:-1]) if hz > 1 else (tap,))
        body.append(_text(_MARGIN_MM, y + 2.6, label, 2.3))
        rects = timeline_rects(train, x=_MARGIN_MM + _NAME_MM, y=y + 0.2,
                               mm_per_s=_MM_PER_S * 2)
        body += [f'<rect x="{rx:g}" y="{ry:g}" width="{w:g}" height="{_BAR_MM:g}" fill="#000"/>'
                 for rx, ry, w in rects]
        y += _ROW_MM
    body.append("</svg>")
    return "\n".join(body) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(focus_card_svg() if "--focus" in sys.argv[1:] else card_svg())
