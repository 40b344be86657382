"""Named vibration patterns to timed motor levels: a pure, clock-driven sequencer.

The sequencer never touches a pin or a clock. :meth:`HapticSequencer.play` queues a pattern;
:meth:`HapticSequencer.advance` returns the motor level that must hold from ``now`` until
:meth:`HapticSequencer.next_deadline`. Patterns never overlap, are separated by at least
``min_gap_s`` of stillness (so two patterns are felt as two) and always end with the motor off.
:meth:`HapticSequencer.pop_started` tells which patterns started, and when.

An ERM motor below full drive may not start spinning, so an on-step with ``strength < 1``
begins with a kick at 1.0 for ``kick_s``.

Example::

    >>> seq = HapticSequencer(DEFAULT_PATTERNS)
    >>> seq.play("stopped", 0.0)
    >>> seq.advance(0.0), seq.next_deadline()
    (1.0, 0.2)
    >>> seq.advance(0.2), seq.next_deadline()
    (0.0, 0.4)
    >>> seq.advance(0.4), seq.next_deadline()
    (1.0, 0.6)
    >>> seq.advance(0.6), seq.next_deadline() is None
    (0.0, True)
    >>> seq.pop_started()
    [PatternStarted(name='stopped', at=0.0)]
    >>> render(DEFAULT_PATTERNS["recording"])
    '███████'
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from pitrigger.names import CUES

__all__ = [
    "DEFAULT_PATTERNS",
    "VOCABULARY",
    "HapticSequencer",
    "Pattern",
    "PatternStarted",
    "render",
]

#: The pattern names are the interface between the daemon and the config file.
VOCABULARY: tuple[str, ...] = CUES


@dataclass(frozen=True)
class Pattern:
    """Alternating on/off durations in ms, starting and ending with an on-step.

    >>> Pattern((100, 120, 100)).duration_s
    0.32
    >>> Pattern((100, 120))
    Traceback (most recent call last):
    ...
    ValueError: steps_ms must have an odd number of steps (on, off, ..., on), got 2
    """

    steps_ms: tuple[int, ...]
    strength: float = 1.0

    def __post_init__(self) -> None:
        steps = tuple(self.steps_ms)
        object.__setattr__(self, "steps_ms", steps)
        if len(steps) % 2 == 0:
            raise ValueError(
                f"steps_ms must have an odd number of steps (on, off, ..., on), got {len(steps)}"
            )
        for step in steps:
            if not isinstance(step, int) or isinstance(step, bool) or step <= 0:
                raise ValueError(f"steps_ms must be positive whole milliseconds, got {step!r}")
        strength = self.strength
        if (
            not isinstance(strength, int | float)
            or isinstance(strength, bool)
            or not 0.0 < strength <= 1.0
        ):
            raise ValueError(f"strength must be in (0, 1], got {strength!r}")

    @property
    def duration_s(self) -> float:
        """Total length in seconds."""
        return sum(self.steps_ms) / 1000

    @property
    def pulses(self) -> int:
        """Number of on-steps."""
        return (len(self.steps_ms) + 1) // 2


# Families by rhythm, so that a confusion inside a family is harmless (see docs/haptics.md):
# one long pulse = recording, and nothing else is long; pairs = not recording; triples = trouble
# or shutting down; one tap = a hold threshold under the finger.
DEFAULT_PATTERNS: dict[str, Pattern] = {
    "ready": Pattern((100, 120, 100)),  # dit-dit: up, camera found, not recording
    "recording": Pattern((700,)),  # one long buzz: the camera reports it records
    "stopped": Pattern((200, 200, 200)),  # dah-dah: the camera reports it stopped
    "error": Pattern((80, 100, 80, 100, 80)),  # dit-dit-dit: refused / failed
    "no-camera": Pattern((250, 120, 80, 120, 80)),  # dah-dit-dit: no camera to talk to
    "busy": Pattern((100, 350, 100)),  # dit . . dit: camera busy, still trying
    "refused": Pattern((80, 100, 80, 100, 250)),  # dit-dit-dah: the body refuses: fix it
    "tick": Pattern((80,)),  # tap: a hold threshold was crossed
    "power-off": Pattern((250, 200, 250, 200, 250)),  # dah-dah-dah: shutting down
    # The day's news. `restarted` ends in the recording buzz because it means recording.
    "limit-soon": Pattern((80, 120, 250, 120, 250)),  # dit-dah-dah: the clip ends soon
    "restarted": Pattern((100, 150, 700)),  # dit-buzz: a new clip began after the cap
    "low-card": Pattern((250, 120, 80, 120, 250)),  # dah-dit-dah: card running out
    "low-battery": Pattern((80, 120, 250, 120, 80)),  # dit-dah-dit: battery running out
    "heat": Pattern((250, 120, 250, 120, 80)),  # dah-dah-dit: the camera stopped, too hot
    "still": Pattern((250,)),  # one dah: a still photo was taken
    # dit-dah: sent, but the camera cannot confirm it (half-press / wired trigger paths).
    "sent": Pattern((80, 150, 250)),
    # Focus mode. `focus` is one element of a pulse train whose *rate* is the message (1-8 Hz,
    # 60 ms on leaves >= 65 ms off even at 8 Hz: no smear); it is never played on its own.
    "focus": Pattern((60,)),
    "focus-on": Pattern((250, 120, 80)),  # dah-dit: focus mode begins, the train follows
    "focus-off": Pattern((250, 250, 80)),  # dah ... dit: focus mode ends, settings put back
    "in-focus": Pattern((350,)),  # one long dah, six times a tap: back at the sharpest
    "focus-lost": Pattern((150, 100, 150)),  # a soft pair: moved well away from it
}


@dataclass(frozen=True, slots=True)
class PatternStarted:
    """A pattern began driving the motor at ``at``."""

    name: str
    at: float


class _Playing:
    # A plain slotted class, not a dataclass: one less class to generate at import on a Pi Zero.
    __slots__ = ("index", "name", "segments")

    def __init__(self, name: str, segments: list[tuple[float, float]]) -> None:
        self.name = name
        # (start time, level) per segment; the last one is the 0.0 that ends the pattern.
        self.segments = segments
        self.index = 0

    @property
    def ends(self) -> float:
        return self.segments[-1][0]


class HapticSequencer:
    """Plays named patterns one after another on a single motor. Pure: no I/O, no clock.

    :param patterns: name to :class:`Pattern`, e.g. :data:`DEFAULT_PATTERNS`.
    :param kick_s: full-drive start of each on-step when ``strength < 1`` (0 disables).
    :param min_gap_s: stillness between the end of one pattern and the start of the next.
    :param repeat_gap_s: for a pattern that follows *itself* (a pulse train such as focus mode's
        ``focus``), this shorter gap instead of ``min_gap_s``: the train is one message, and
        its rate is the message. Any other pattern still gets ``min_gap_s``.
    :param max_queue: patterns waiting behind the playing one; on overflow the oldest waiting
        pattern is dropped, the newest kept (the latest news matters most).

    >>> seq = HapticSequencer({"soft": Pattern((100,), strength=0.5)}, kick_s=0.04)
    >>> seq.play("soft", 1.0)
    >>> seq.advance(1.0), seq.next_deadline()
    (1.0, 1.04)
    >>> seq.advance(1.04), seq.next_deadline()
    (0.5, 1.1)
    >>> seq.advance(1.1), seq.playing
    (0.0, None)
    """

    def __init__(
        self,
        patterns: Mapping[str, Pattern],
        *,
        kick_s: float = 0.04,
        min_gap_s: float = 0.15,
        max_queue: int = 8,
        repeat_gap_s: Mapping[str, float] | None = None,
    ) -> None:
        for name, value in (("kick_s", kick_s), ("min_gap_s", min_gap_s)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue!r}")
        self.patterns: dict[str, Pattern] = dict(patterns)
        self.kick_s = kick_s
        self.min_gap_s = min_gap_s
        self.max_queue = max_queue
        self.repeat_gap_s: dict[str, float] = dict(repeat_gap_s or {})
        for name, gap in self.repeat_gap_s.items():
            if not (math.isfinite(gap) and gap >= 0):
                raise ValueError(f"repeat_gap_s[{name!r}] must be a finite number >= 0")
        self._last_started: str | None = None
        self._queue: deque[tuple[str, Pattern]] = deque()
        self._playing: _Playing | None = None
        self._level = 0.0
        self._idle_since = -math.inf  # when the motor last went still after a pattern
        self._now = -math.inf
        # Bounded so that a daemon that never asks cannot grow it without limit.
        self._started: deque[PatternStarted] = deque(maxlen=64)

    @property
    def level(self) -> float:
        """The motor level set by the last :meth:`advance` (or :meth:`stop`)."""
        return self._level

    @property
    def playing(self) -> str | None:
        """The pattern driving the motor now, ``None`` between patterns."""
        return self._playing.name if self._playing is not None else None

    @property
    def queued(self) -> tuple[str, ...]:
        """Patterns waiting, oldest first."""
        return tuple(name for name, _ in self._queue)

    def play(self, name: str, now: float, pattern: Pattern | None = None) -> None:
        """Queue pattern ``name``; call :meth:`advance` to start it. Unknown name: KeyError.

        ``pattern`` plays a pattern made for this moment (the status answer) under ``name``.
        """
        if pattern is None:
            if name not in self.patterns:
                raise KeyError(f"unknown haptic pattern {name!r}; known: "
                               f"{', '.join(self.patterns)}")
            pattern = self.patterns[name]
        self._clock(now)
        if len(self._queue) >= self.max_queue:
            self._queue.popleft()
        self._queue.append((name, pattern))

    def can_start(self, name: str, now: float) -> bool:
        """Would ``name``, played now, start at once (nothing playing or waiting, its gap
        over)? For a pulse train that must be dropped rather than queued behind others.

        >>> seq = HapticSequencer(DEFAULT_PATTERNS, repeat_gap_s={"focus": 0.06})
        >>> seq.play("focus", 0.0); seq.advance(0.0)
        1.0
        >>> seq.can_start("focus", 0.1), seq.can_start("focus", 0.12), seq.can_start("tick", 0.12)
        (False, True, False)
        """
        now = max(now, self._now)
        if self._queue:
            return False
        idle_since, last = self._idle_since, self._last_started
        if self._playing is not None:
            if self._playing.ends > now:
                return False
            idle_since = self._playing.ends  # over, though advance() has not said so yet
        gap = self.repeat_gap_s.get(name, self.min_gap_s) if name == last else self.min_gap_s
        return idle_since + gap <= now

    def stop(self, now: float) -> float:
        """Cancel the playing and queued patterns; the motor goes off. Returns ``0.0``."""
        now = self._clock(now)
        if self._playing is not None or self._level:
            self._idle_since = now  # the next pattern still gets its gap
        self._queue.clear()
        self._playing = None
        self._level = 0.0
        return 0.0

    def next_deadline(self) -> float | None:
        """When :meth:`advance` next changes something; ``None`` when idle with the motor off."""
        playing = self._playing
        if playing is not None:
            return playing.segments[playing.index + 1][0]
        if self._queue:
            return max(self._now, self._idle_since + self._gap_before(self._queue[0][0]))
        return None

    def advance(self, now: float) -> float:
        """Run the timeline up to ``now``; return the motor level that must hold from ``now``."""
        now = self._clock(now)
        while True:
            playing = self._playing
            if playing is not None:
                following = playing.segments[playing.index + 1][0]
                if following > now:
                    break
                playing.index += 1
                if playing.index == len(playing.segments) - 1:
                    self._idle_since = playing.ends
                    self._playing = None
                continue
            if not self._queue:
                break
            start = self._idle_since + self._gap_before(self._queue[0][0])
            if start > now:
                break
            # Start at `now`, the moment the motor is really driven: a late wake-up delays a
            # pattern rather than cutting its beginning off.
            self._start(*self._queue.popleft(), now)
        playing = self._playing
        self._level = playing.segments[playing.index][1] if playing is not None else 0.0
        return self._level

    def pop_started(self) -> list[PatternStarted]:
        """Patterns that started since the last call, oldest first (for the log and benches)."""
        started = list(self._started)
        self._started.clear()
        return started

    # -- internals ---------------------------------------------------------------------------

    def _clock(self, now: float) -> float:
        if now > self._now:
            self._now = now
        return self._now

    def _gap_before(self, name: str) -> float:
        if name == self._last_started and name in self.repeat_gap_s:
            return self.repeat_gap_s[name]
        return self.min_gap_s

    def _start(self, name: str, pattern: Pattern, at: float) -> None:
        self._last_started = name
        segments: list[tuple[float, float]] = []
        elapsed_ms = 0  # summed in whole ms so that step boundaries do not drift
        kick = self.kick_s if pattern.strength < 1.0 else 0.0
        for i, step_ms in enumerate(pattern.steps_ms):
            t = at + elapsed_ms / 1000
            step_s = step_ms / 1000
            if i % 2:
                segments.append((t, 0.0))
            elif kick > 0:
                segments.append((t, 1.0))
                if kick < step_s:
                    segments.append((t + kick, pattern.strength))
            else:
                segments.append((t, pattern.strength))
            elapsed_ms += step_ms
        segments.append((at + elapsed_ms / 1000, 0.0))
        self._playing = _Playing(name, segments)
        self._started.append(PatternStarted(name, at))


def render(pattern: Pattern, *, unit_ms: int = 100) -> str:
    """Draw a pattern as text, one character per ``unit_ms`` (at least one per step).

    Full blocks are full strength, lower blocks weaker; ``▁`` is the motor off.

    >>> render(Pattern((100, 120, 300)))
    '█▁███'
    >>> render(Pattern((200,), strength=0.5))
    '▄▄'
    """
    on = "█" if pattern.strength >= 0.75 else "▄" if pattern.strength >= 0.4 else "▂"
    return "".join(
        ("▁" if i % 2 else on) * max(1, int(step_ms / unit_ms + 0.5))
        for i, step_ms in enumerate(pattern.steps_ms)
    )
