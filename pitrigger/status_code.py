"""Status by touch: "am I recording, for how long, and is anything running low?" as pulses.

A pure encoder (and its decoder, which the tests use to prove the code unambiguous). The
status gesture plays one :class:`~pitrigger.haptics.Pattern` made of up to three
*sections*, each separated by a long stillness (``section_gap_ms``, 700 ms by default):

1. **The head: recording or not.** The ``recording`` buzz (one 700 ms pulse) if the camera
   reports that it records, the ``ready`` dit-dit if it does not. The same shapes the user
   already knows.
2. **The minutes, Taptic-Time style** (left out when under one minute): *long* pulses
   (250 ms) count five minutes each, then *short* pulses (80 ms) one minute each, a slow
   300 ms between elements so they can be counted. While recording: the minutes of this
   clip. Not recording: the minutes recorded since the session began.
3. **A warning** (only when the card or the battery is low): the ``error`` rhythm, a fast
   dit-dit-dit (80 ms pulses, 100 ms apart) — "something is wrong", three times faster
   than the count, so it is never read as three minutes.

Rounding (:func:`shown_minutes`), so that the count never exceeds six elements:

* whole minutes, rounded **down** (a clock never runs ahead): 0:59 is 0, 1:00 is 1;
* under 15 minutes: exact (14 = two long + four short, six elements);
* 15 to 29 minutes: rounded down to a multiple of five (15, 20, 25: long pulses only);
* 30 minutes or more: six long pulses, read as "30 or more".

Why it cannot be misread (the decoder in this module relies on exactly these rules): the
sections are split by the long stillness, which never occurs inside a section; the head
comes first; a count element and a warning element differ in tempo (300 ms vs 100 ms gaps),
so a lone section after the head is always one or the other.

>>> encode(StatusReading(recording=True, minutes=7, warning=False)).steps_ms
(700, 700, 250, 300, 80, 300, 80)
>>> decode_steps(encode(StatusReading(recording=False, minutes=0, warning=True)).steps_ms)
StatusReading(recording=False, minutes=0, warning=True)
>>> shown_minutes(12.9), shown_minutes(19.5), shown_minutes(600)
(12, 15, 30)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pitrigger.haptics import DEFAULT_PATTERNS, Pattern

__all__ = [
    "MAX_SHOWN_MINUTES",
    "StatusDecodeError",
    "StatusReading",
    "StatusShape",
    "decode_levels",
    "decode_steps",
    "encode",
    "shown_minutes",
]

#: Six long pulses: the top of the scale, read as "this many minutes or more".
MAX_SHOWN_MINUTES = 30
_EXACT_BELOW = 15  # under this, every minute is told (at most 2 long + 4 short)


def shown_minutes(minutes: float) -> int:
    """The number the pulses tell for ``minutes`` (see the module's rounding rules).

    >>> [shown_minutes(m) for m in (0.0, 0.99, 1.0, 14.99, 15.0, 24.9, 29.99, 31.0)]
    [0, 0, 1, 14, 15, 20, 25, 30]
    >>> shown_minutes(-1)
    Traceback (most recent call last):
    ...
    ValueError: minutes must be a finite number >= 0, got -1
    """
    if not (isinstance(minutes, int | float) and math.isfinite(minutes) and minutes >= 0):
        raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
    whole = int(minutes)
    if whole < _EXACT_BELOW:
        return whole
    return min(MAX_SHOWN_MINUTES, whole - whole % 5)


@dataclass(frozen=True, slots=True)
class StatusReading:
    """What the status pattern says: recording or not, the minutes shown, any warning."""

    recording: bool
    minutes: int
    warning: bool


@dataclass(frozen=True, slots=True)
class StatusShape:
    """The timings of the status code, in ms. The defaults follow docs/haptics.md.

    ``head_recording``/``head_idle`` are the steps of the ``recording``/``ready`` patterns
    (the daemon passes the configured ones, so a re-tuned vocabulary stays consistent).
    """

    head_recording: tuple[int, ...] = DEFAULT_PATTERNS["recording"].steps_ms
    head_idle: tuple[int, ...] = DEFAULT_PATTERNS["ready"].steps_ms
    five_ms: int = 250
    one_ms: int = 80
    element_gap_ms: int = 300
    section_gap_ms: int = 700
    warning: tuple[int, ...] = DEFAULT_PATTERNS["error"].steps_ms

    def __post_init__(self) -> None:
        inner_gaps = [*self.head_recording[1::2], *self.head_idle[1::2], *self.warning[1::2],
                      self.element_gap_ms]
        if self.section_gap_ms <= max(inner_gaps):
            raise ValueError("section_gap_ms must be longer than every gap inside a section")
        if self.five_ms <= self.one_ms:
            raise ValueError("five_ms must be longer than one_ms")
        warning_gaps = self.warning[1::2]
        if warning_gaps and max(warning_gaps) * 2 > self.element_gap_ms:
            # The tempo is what tells a warning from a count: keep it at least twice as fast.
            raise ValueError("the warning's gaps must be under half of element_gap_ms")
        if not warning_gaps and self.warning[0] in (self.five_ms, self.one_ms):
            raise ValueError("a one-pulse warning must differ from the count pulses")
        if self.head_recording == self.head_idle:
            raise ValueError("the recording and idle heads must differ")


DEFAULT_SHAPE = StatusShape()


def encode(reading: StatusReading, shape: StatusShape = DEFAULT_SHAPE) -> Pattern:
    """The pattern that tells ``reading`` (its minutes must already be a shown value).

    >>> encode(StatusReading(False, 0, False)).steps_ms == DEFAULT_PATTERNS["ready"].steps_ms
    True
    >>> encode(StatusReading(True, 17, False))
    Traceback (most recent call last):
    ...
    ValueError: 17 minutes is not a shown value; pass shown_minutes(17) (it is 15)
    """
    if shown_minutes(reading.minutes) != reading.minutes or isinstance(reading.minutes, bool):
        raise ValueError(f"{reading.minutes!r} minutes is not a shown value; pass "
                         f"shown_minutes({reading.minutes!r}) (it is "
                         f"{shown_minutes(reading.minutes)})")
    steps: list[int] = list(shape.head_recording if reading.recording else shape.head_idle)
    fives, ones = divmod(reading.minutes, 5)
    count = [shape.five_ms] * fives + [shape.one_ms] * ones
    if count:
        steps.append(shape.section_gap_ms)
        for i, pulse in enumerate(count):
            if i:
                steps.append(shape.element_gap_ms)
            steps.append(pulse)
    if reading.warning:
        steps += [shape.section_gap_ms, *shape.warning]
    return Pattern(tuple(steps))


class StatusDecodeError(ValueError):
    """The pulses do not follow the status grammar."""


def decode_steps(steps_ms: Sequence[float], shape: StatusShape = DEFAULT_SHAPE
                 ) -> StatusReading:
    """Read a status pattern back from its on/off durations (ms, starting with on)."""
    if len(steps_ms) % 2 == 0:
        raise StatusDecodeError(f"expected on/off/.../on, got {len(steps_ms)} steps")
    # Split into sections at every stillness longer than any gap inside a section.
    split_at = (shape.section_gap_ms + max(shape.element_gap_ms,
                                           *shape.head_recording[1::2] or (0,),
                                           *shape.head_idle[1::2] or (0,))) / 2
    sections: list[list[float]] = [[steps_ms[0]]]
    for gap, pulse in zip(steps_ms[1::2], steps_ms[2::2], strict=True):
        if gap >= split_at:
            sections.append([pulse])
        else:
            sections[-1] += [gap, pulse]
    head, rest = sections[0], sections[1:]
    if _close(head, shape.head_recording):
        recording = True
    elif _close(head, shape.head_idle):
        recording = False
    else:
        raise StatusDecodeError(f"the first section {head} is neither head")
    minutes, warning = 0, False
    if rest and _is_count(rest[0], shape):
        minutes = _count(rest.pop(0), shape)
    if rest and _close(rest[0], shape.warning):
        warning = True
        rest.pop(0)
    if rest:
        raise StatusDecodeError(f"unexpected sections after the status: {rest}")
    return StatusReading(recording, minutes, warning)


def decode_levels(timeline: Sequence[tuple[float, float]], shape: StatusShape = DEFAULT_SHAPE
                  ) -> StatusReading:
    """Read a status pattern from what a motor was driven with: ``(time_s, level)`` changes.

    ``level > 0`` is on (a kick followed by a weaker level is one pulse). The timeline must
    end with the motor off.
    """
    steps: list[float] = []
    on_since: float | None = None
    off_since: float | None = None
    for t, level in timeline:
        if level > 0 and on_since is None:
            if off_since is not None:
                steps.append((t - off_since) * 1000)
            on_since, off_since = t, None
        elif level <= 0 and on_since is not None:
            steps.append((t - on_since) * 1000)
            on_since, off_since = None, t
    if on_since is not None or not steps:
        raise StatusDecodeError("the timeline must hold at least one pulse and end off")
    return decode_steps(steps, shape)


def _close(section: Sequence[float], steps: Sequence[int], tolerance_ms: float = 1.0) -> bool:
    return len(section) == len(steps) and all(
        abs(a - b) <= tolerance_ms for a, b in zip(section, steps, strict=True))


def _is_count(section: Sequence[float], shape: StatusShape) -> bool:
    gaps = section[1::2]
    return all(abs(g - shape.element_gap_ms) <= 1.0 for g in gaps) and all(
        abs(p - shape.five_ms) <= 1.0 or abs(p - shape.one_ms) <= 1.0 for p in section[::2])


def _count(section: Sequence[float], shape: StatusShape) -> int:
    pulses = [5 if abs(p - shape.five_ms) <= 1.0 else 1 for p in section[::2]]
    if pulses != sorted(pulses, reverse=True):
        raise StatusDecodeError(f"long pulses must come before short ones: {section}")
    return sum(pulses)
