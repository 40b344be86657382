"""Status by touch: the pulses, played by the real sequencer, decode back to the numbers."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pitrigger.status_code as status_code
from pitrigger.haptics import HapticSequencer, Pattern
from pitrigger.status_code import (
    MAX_SHOWN_MINUTES,
    StatusDecodeError,
    StatusReading,
    StatusShape,
    decode_levels,
    decode_steps,
    encode,
    shown_minutes,
)


def played(pattern: Pattern, *, strength_kick_s: float = 0.04, at: float = 3.25
           ) -> list[tuple[float, float]]:
    """Drive the real sequencer as the daemon does and keep every level change."""
    seq = HapticSequencer({"status": pattern}, kick_s=strength_kick_s)
    seq.play("status", at)
    timeline = [(at, seq.advance(at))]
    while (deadline := seq.next_deadline()) is not None:
        timeline.append((deadline, seq.advance(deadline)))
    return timeline


minutes = st.floats(min_value=0, max_value=24 * 60, allow_nan=False)


@given(recording=st.booleans(), elapsed=minutes, warning=st.booleans(),
       strength=st.sampled_from([1.0, 0.6]))
def test_pulses_decode_to_the_numbers(recording: bool, elapsed: float, warning: bool,
                                      strength: float) -> None:
    reading = StatusReading(recording, shown_minutes(elapsed), warning)
    pattern = encode(reading)
    # A weaker motor gets a kick at full power first: still one pulse per element.
    timeline = played(Pattern(pattern.steps_ms, strength=strength))
    assert decode_levels(timeline) == reading


@given(elapsed=minutes)
def test_rounding_rules(elapsed: float) -> None:
    shown = shown_minutes(elapsed)
    assert shown <= elapsed  # never runs ahead
    if elapsed < 15:
        assert shown == int(elapsed)
    elif elapsed < MAX_SHOWN_MINUTES:
        assert shown % 5 == 0 and elapsed - shown < 5
    else:
        assert shown == MAX_SHOWN_MINUTES


@given(recording=st.booleans(), shown=st.sampled_from(
    sorted({shown_minutes(m) for m in range(0, 40)})), warning=st.booleans())
def test_few_elements(recording: bool, shown: int, warning: bool) -> None:
    head = 1 if recording else 2
    pulses = encode(StatusReading(recording, shown, warning)).pulses
    assert pulses - head - (3 if warning else 0) <= 6


def test_examples_by_hand() -> None:
    # 12 minutes into a clip, card low: buzz ... dah dah dit dit ... dit-dit-dit
    assert encode(StatusReading(True, 12, True)).steps_ms == (
        700, 700, 250, 300, 250, 300, 80, 300, 80, 700, 80, 100, 80, 100, 80)
    # Idle, 3 minutes recorded today, all fine: dit-dit ... dit dit dit (slow)
    assert encode(StatusReading(False, 3, False)).steps_ms == (
        100, 120, 100, 700, 80, 300, 80, 300, 80)


def test_three_minutes_and_a_warning_do_not_collide() -> None:
    # Both are three short pulses after the head: only the tempo tells them apart.
    three = encode(StatusReading(False, 3, False))
    warn = encode(StatusReading(False, 0, True))
    assert three.steps_ms != warn.steps_ms
    assert decode_steps(three.steps_ms).minutes == 3
    assert decode_steps(warn.steps_ms) == StatusReading(False, 0, True)


def test_the_status_head_is_the_known_cue() -> None:
    assert encode(StatusReading(True, 0, False)).steps_ms == (700,)
    assert encode(StatusReading(False, 0, False)).steps_ms == (100, 120, 100)


@pytest.mark.parametrize("steps", [(300,), (100, 120, 100, 700, 80, 50, 80),
                                   (700, 700, 80, 300, 250), (700, 700)])
def test_garbage_is_refused(steps: tuple[int, ...]) -> None:
    with pytest.raises(StatusDecodeError):
        decode_steps(steps)


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not a shown value"):
        encode(StatusReading(True, 17, False))
    with pytest.raises(ValueError, match="finite number"):
        shown_minutes(float("nan"))
    with pytest.raises(ValueError, match="section_gap_ms"):
        StatusShape(section_gap_ms=200)
    with pytest.raises(ValueError, match="under half"):
        StatusShape(warning=(80, 200, 80))


def test_docstring_examples() -> None:
    result = doctest.testmod(status_code, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
