"""The vocabulary card in docs/ is generated from the vocabulary and kept in sync."""

from __future__ import annotations

import doctest
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

import pitrigger.vocabulary_card as vocabulary_card
from pitrigger.haptics import DEFAULT_PATTERNS, Pattern
from pitrigger.names import CUES
from pitrigger.vocabulary_card import (
    CUE_GUIDE,
    FOCUS_CARD_CUES,
    MAX_TEXT_CHARS,
    card_svg,
    focus_card_svg,
)

CARD = Path(__file__).resolve().parent.parent / "docs" / "vocabulary-card.svg"
FOCUS_CARD = CARD.with_name("vocabulary-card-focus.svg")
SVG = "{http://www.w3.org/2000/svg}"


def test_docs_card_is_the_generated_one() -> None:
    # Regenerate with: python -m pitrigger.vocabulary_card > docs/vocabulary-card.svg
    assert CARD.read_text(encoding="utf-8") == card_svg()
    # and: python -m pitrigger.vocabulary_card --focus > docs/vocabulary-card-focus.svg
    assert FOCUS_CARD.read_text(encoding="utf-8") == focus_card_svg()


def test_generation_is_deterministic() -> None:
    assert card_svg() == card_svg()


def test_every_cue_is_drawn_as_its_pattern_on_one_of_the_two_cards() -> None:
    drawn = []
    for svg in (card_svg(), focus_card_svg()):
        root = ET.fromstring(svg)
        groups = {g.get("data-cue"): g for g in root.iter(f"{SVG}g")}
        drawn.append(list(groups))
        for cue, group in groups.items():
            assert cue is not None
            widths = [float(r.get("width", "0")) for r in group.iter(f"{SVG}rect")]
            ons = DEFAULT_PATTERNS[cue].steps_ms[::2]
            assert widths == [round(on / 1000 * 20, 2) for on in ons], cue
    # Focus mode's cues are felt only inside the mode: they have their own card.
    assert drawn[0] == [c for c in CUES if c not in FOCUS_CARD_CUES]
    assert drawn[1] == list(FOCUS_CARD_CUES) and set(FOCUS_CARD_CUES) <= set(CUES)


def test_a_new_cue_appears_by_itself() -> None:
    patterns = {**DEFAULT_PATTERNS, "brand-new": Pattern((90, 100, 90))}
    svg = card_svg(patterns)
    assert 'data-cue="brand-new"' in svg and "(not described yet)" in svg


def test_every_cue_has_a_meaning_and_an_action_that_fit_the_card() -> None:
    assert set(CUE_GUIDE) >= set(CUES) - {"sent", "refused"}  # neighbours describe their own
    for cue, (means, do) in CUE_GUIDE.items():
        assert means and do, cue
        assert len(means) <= MAX_TEXT_CHARS and len("→ " + do) <= MAX_TEXT_CHARS, cue


@pytest.mark.parametrize("make", [card_svg, focus_card_svg])
def test_it_prints_as_an_a6_pocket_card(make: Callable[[], str]) -> None:
    root = ET.fromstring(make())
    width = float(root.get("width", "").removesuffix("mm"))
    height = float(root.get("height", "").removesuffix("mm"))
    assert (width, height) <= (105.0, 148.0)
    # Nothing drawn beyond the right edge.
    for rect in root.iter(f"{SVG}rect"):
        assert float(rect.get("x", "0")) + float(rect.get("width", "0")) <= width
    sizes = {float(m) for m in re.findall(r"font-size:([\d.]+)px", make())}
    assert min(sizes) >= 2.2  # 2.2 mm capitals: about 6 pt, readable in print


def test_docstring_examples() -> None:
    result = doctest.testmod(vocabulary_card, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
