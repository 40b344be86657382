"""Focus by touch: sharpness scores in, pulses and cues out. Pure: no I/O, no clock, no numpy.

While focus mode lasts, the camera worker scores each live-view frame (see
:mod:`pitrigger.focus_score`) and the daemon hands the scores to :class:`FocusFeedback`. It
answers with cue names for the haptic sequencer:

* ``focus`` — one short pulse, repeated at a rate that rises with the score relative to the
  best seen since the mode was entered: 1 Hz far from it, 8 Hz at it, in steps of about 41 %
  (touch tells rates apart at ~18–25 %, so every step can be felt).
* ``in-focus`` — the score came back within ``in_focus_within`` of its peak after having
  passed it (a peak is only known once the score has fallen away from it).
* ``focus-lost`` — after ``in-focus``, the score fell ``lost_drop`` or more below the peak.

``focus-on`` and ``focus-off`` (entering and leaving) are the recording controller's cues: they
confirm what the camera did. This machine starts with :meth:`FocusFeedback.enter` and falls
silent with :meth:`FocusFeedback.stop`.

The score used is the median of the last ``median_of`` frames (a single noisy frame neither
makes a new best nor fires a cue). The best is per stay in the mode: re-enter to forget it
(a new subject has its own scale).

>>> fb = FocusFeedback()
>>> fb.enter(0.0)
>>> for i, score in enumerate([10, 10, 10]):
...     _ = fb.frame(score, 0.1 * i)
>>> fb.rate_hz, fb.advance(0.2), fb.next_deadline()
(8.0, ['focus'], 0.325)
>>> for i, score in enumerate([5, 5, 5]):          # turned away: half the best
...     _ = fb.frame(score, 0.3 + 0.1 * i)
>>> fb.rate_hz
2.0
>>> [c for i, s in enumerate([10, 10]) for c in fb.frame(s, 0.6 + 0.1 * i)]  # back at the peak
['in-focus']
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass

#: The cue names this module plays (they are also in :data:`pitrigger.names.CUES`).
FOCUS_CUES: tuple[str, ...] = ("focus", "focus-on", "focus-off", "in-focus", "focus-lost")

#: An ERM needs a gap of at least this between two pulses, or they smear into one buzz.
ERM_MIN_GAP_S = 0.05
#: ...and a pulse at least this long to be felt as vibration rather than a tap.
ERM_MIN_PULSE_S = 0.04


@dataclass(frozen=True)
class FocusTuning:
    """How scores become pulses. The defaults follow shared/notes/focus-by-touch.md.

    ``rates_hz`` are the pulse rates, slowest first; ``levels`` the normalised scores
    (score / best) at which each faster rate begins, so ``len(levels) == len(rates_hz) - 1``.

    >>> FocusTuning(rates_hz=(1.0, 1.1), levels=(0.5,))
    Traceback (most recent call last):
    ...
    ValueError: rate steps must be at least 20 % apart (1.0 -> 1.1 Hz)
    """

    rates_hz: tuple[float, ...] = (1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0)
    levels: tuple[float, ...] = (0.25, 0.40, 0.55, 0.70, 0.82, 0.93)
    median_of: int = 3
    passed_drop: float = 0.10  # this far below the best: the peak has been passed
    in_focus_within: float = 0.05  # back within this of the peak after passing: in-focus
    lost_drop: float = 0.30  # after in-focus, this far below the peak: focus-lost
    pulse_s: float = 0.06  # length of one ``focus`` pulse (the pattern's on-step)
    stale_after_s: float = 1.0  # no frame for this long: stop pulsing rather than lie

    def __post_init__(self) -> None:
        rates, levels = tuple(self.rates_hz), tuple(self.levels)
        object.__setattr__(self, "rates_hz", rates)
        object.__setattr__(self, "levels", levels)
        if len(rates) < 2 or len(levels) != len(rates) - 1:
            raise ValueError("need at least two rates and one level fewer than rates")
        for slow, fast in itertools.pairwise(rates):
            if fast < slow * 1.2 - 1e-9:
                raise ValueError(f"rate steps must be at least 20 % apart ({slow} -> {fast} Hz)")
        if not all(0 < a < b <= 1 for a, b in zip(levels, (*levels[1:], 1.0), strict=True)):
            raise ValueError("levels must rise strictly within (0, 1)")
        if rates[0] <= 0:
            raise ValueError("rates must be positive")
        if self.pulse_s < ERM_MIN_PULSE_S:
            raise ValueError(f"pulse_s must be at least {ERM_MIN_PULSE_S} s to be felt")
        if 1 / rates[-1] - self.pulse_s < ERM_MIN_GAP_S - 1e-9:
            raise ValueError(f"at {rates[-1]} Hz a {self.pulse_s * 1000:.0f} ms pulse leaves "
                             f"less than {ERM_MIN_GAP_S * 1000:.0f} ms off: pulses would smear")
        if self.median_of < 1:
            raise ValueError("median_of must be at least 1")
        if not 0 < self.in_focus_within < self.passed_drop < self.lost_drop < 1:
            raise ValueError("need 0 < in_focus_within < passed_drop < lost_drop < 1")

    @property
    def min_gap_s(self) -> float:
        """The stillness between two pulses at the fastest rate."""
        return 1 / self.rates_hz[-1] - self.pulse_s


class FocusFeedback:
    """The focus feedback machine for one stay in focus mode (pure, clock injected)."""

    def __init__(self, tuning: FocusTuning | None = None) -> None:
        self.tuning = tuning or FocusTuning()
        self._reset()

    def _reset(self) -> None:
        self.active = False
        self.best = 0.0
        self.score: float | None = None  # the median of the last frames
        self._recent: deque[float] = deque(maxlen=self.tuning.median_of)
        self._passed = False  # fell passed_drop below the best since the best was set
        self._in_focus = False  # in-focus fired and focus-lost has not
        self._last_frame_at = -math.inf
        self._last_pulse_at: float | None = None
        self._next_pulse: float | None = None

    # -- queries ---------------------------------------------------------------------------

    @property
    def level(self) -> float:
        """The median score over the best seen, 0..1 (0 before any frame)."""
        if self.score is None or self.best <= 0:
            return 0.0
        return min(1.0, self.score / self.best)

    @property
    def rate_hz(self) -> float:
        """The pulse rate for the current level."""
        rates, levels = self.tuning.rates_hz, self.tuning.levels
        step = sum(1 for threshold in levels if self.level >= threshold)
        return rates[step]

    @property
    def in_focus(self) -> bool:
        return self._in_focus

    def next_deadline(self) -> float | None:
        return self._next_pulse if self.active else None

    # -- inputs ----------------------------------------------------------------------------

    def enter(self, now: float) -> None:
        """The mode began (the camera sends frames): forget the last stay's best."""
        self._reset()
        self.active = True

    def stop(self) -> None:
        """The mode is ending: no more pulses or cues (``focus-off`` is the controller's)."""
        self.active = False
        self._next_pulse = None

    def frame(self, score: float, now: float) -> list[str]:
        """A frame was scored (any non-negative scale). Returns ``in-focus``/``focus-lost``."""
        if not self.active or not math.isfinite(score):
            return []
        self._recent.append(max(0.0, score))
        self._last_frame_at = now
        median = sorted(self._recent)[len(self._recent) // 2]
        self.score = median
        out: list[str] = []
        tuning = self.tuning
        if self._in_focus and median < self.best * (1 - tuning.lost_drop):
            self._in_focus = False
            out.append("focus-lost")
        elif (not self._in_focus and self._passed
              and median >= self.best * (1 - tuning.in_focus_within)):
            # Back at the peak after passing it. Checked before the best is updated: the
            # return often lands a hair above the old best (noise), and that is the same peak.
            self._in_focus = True
            self._passed = False  # fire again only after leaving the peak once more
            out.append("in-focus")
        if median > self.best:
            self.best = median
            self._passed = False  # a new peak: it has not been passed yet
        elif median < self.best * (1 - tuning.passed_drop):
            self._passed = True
        self._reschedule(now)
        return out

    def advance(self, now: float) -> list[str]:
        """Time passed: a ``focus`` pulse if one is due (never more than one per call)."""
        if not self.active or self._next_pulse is None or now < self._next_pulse:
            return []
        if now - self._last_frame_at > self.tuning.stale_after_s:
            # No fresh frame: the rate would describe an old view. Fall silent until one comes.
            self._next_pulse = None
            return []
        self._last_pulse_at = now
        self._next_pulse = now + 1 / self.rate_hz
        return ["focus"]

    def _reschedule(self, now: float) -> None:
        """A new rate takes effect at once: the next pulse is one new period after the last."""
        period = 1 / self.rate_hz
        if self._last_pulse_at is None:
            self._next_pulse = now
        else:
            self._next_pulse = max(now, self._last_pulse_at + period)
