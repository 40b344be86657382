"""The clip limit, and why the camera stopped by itself: pure, clock-injected.

The 5D Mark II ends a clip by itself when its file reaches the FAT32 cap (just under 4 GiB,
about 12 minutes of 1080p), at 29:59, when the card is full, when the battery gives out,
when it overheats, or when someone presses its own record button. It does not start a new
file, and over PTP it does not say *why* it stopped. :class:`ClipWatch` works it out from
what the camera does report:

* the **expected end** of a clip: the earliest of the size cap at the current bit rate, the
  body's 29:59, and ``cap_s`` from the config (a body or firmware with a shorter cap);
* ``limit-soon`` once, ``warn_before_s`` before that end;
* :meth:`ClipWatch.classify_stop` when the camera stops by itself: the new file's size at
  the cap, or the elapsed time at the cap (within ``tolerance_s``), means the cap; a card
  with less than ``card_full_bytes`` free means a full card; the battery at its lowest
  level means the battery; a temperature warning seen from the body means heat; anything
  else was the body's own button (or a stop we cannot name: the journal says which facts
  were used).

>>> watch = ClipWatch(bytes_per_s=5_000_000, cap_bytes=50_000_000, warn_before_s=3.0)
>>> watch.started(100.0)
>>> watch.expected_end, watch.next_deadline()
(110.0, 107.0)
>>> watch.advance(106.9), watch.advance(107.0), watch.advance(108.0)
([], ['limit-soon'], [])
>>> watch.classify_stop(110.1).reason
'clip-limit'
>>> watch.started(200.0); watch.classify_stop(203.0).reason
'body-button'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BODY_MAX_CLIP_S",
    "FAT32_CAP_BYTES",
    "STOP_REASONS",
    "ClipWatch",
    "StopFacts",
    "StopVerdict",
]

#: The body ends a clip just under 4 GiB (FAT32); the virtual 5D uses this very figure.
FAT32_CAP_BYTES = 0xFFFF0000
#: The body's own time limit for one clip.
BODY_MAX_CLIP_S = 29 * 60 + 59
#: 1080p H.264 on the 5D Mark II: 4 GB in about 12 minutes (the body's documented figure).
DEFAULT_BYTES_PER_S = FAT32_CAP_BYTES / 720

StopReason = Literal["clip-limit", "card-full", "battery", "heat", "body-button"]
#: Every way a clip can end without a press of ours, in the order they are checked.
STOP_REASONS: tuple[StopReason, ...] = ("clip-limit", "card-full", "battery", "heat",
                                        "body-button")


@dataclass(frozen=True, slots=True)
class StopFacts:
    """What was known about the camera when it stopped by itself (``None``: not known)."""

    file_size: int | None = None
    card_free_bytes: int | None = None
    battery_percent: float | None = None
    temperature_warning: bool = False


@dataclass(frozen=True, slots=True)
class StopVerdict:
    """Why the clip ended, and the facts that decided it (for the journal)."""

    reason: StopReason
    elapsed_s: float
    evidence: dict[str, float | int | bool] = field(default_factory=dict)

    @property
    def at_cap(self) -> bool:
        return self.reason == "clip-limit"


class ClipWatch:
    """Knows when the running clip should hit its cap, and why a clip ended.

    :param bytes_per_s: the movie bit rate in bytes per second (refined by :meth:`learn_rate`).
    :param cap_bytes: the file-size cap (FAT32).
    :param cap_s: a time cap from the config (``None``: only the body's own limits).
    :param warn_before_s: play ``limit-soon`` this long before the expected end (0: never).
    :param tolerance_s: a stop this close to the expected end counts as the cap.
    :param card_full_bytes: less free space than this after a stop means the card is full.
    :param battery_empty_percent: a battery at or below this after a stop means the battery.
    """

    def __init__(
        self,
        *,
        bytes_per_s: float = DEFAULT_BYTES_PER_S,
        cap_bytes: int = FAT32_CAP_BYTES,
        cap_s: float | None = None,
        warn_before_s: float = 30.0,
        tolerance_s: float = 2.0,
        size_tolerance: float = 0.01,
        card_full_bytes: int = 64 * 1024 * 1024,
        battery_empty_percent: float = 5.0,
    ) -> None:
        for name, value in (("bytes_per_s", bytes_per_s), ("cap_bytes", cap_bytes)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if cap_s is not None and not (math.isfinite(cap_s) and cap_s > 0):
            raise ValueError(f"cap_s must be a finite number > 0 or None, got {cap_s!r}")
        if not (math.isfinite(warn_before_s) and warn_before_s >= 0):
            raise ValueError(f"warn_before_s must be a finite number >= 0, got {warn_before_s!r}")
        self.bytes_per_s = float(bytes_per_s)
        self.cap_bytes = cap_bytes
        self.cap_s = cap_s
        self.warn_before_s = warn_before_s
        self.tolerance_s = tolerance_s
        self.size_tolerance = size_tolerance
        self.card_full_bytes = card_full_bytes
        self.battery_empty_percent = battery_empty_percent
        self.started_at: float | None = None
        self._warned = False

    # -- the running clip --------------------------------------------------------------

    def started(self, now: float) -> None:
        """A clip began at ``now`` (the camera reported Card)."""
        self.started_at = now
        self._warned = False

    def ended(self) -> None:
        """No clip runs any more (after :meth:`classify_stop`, or a stop we asked for)."""
        self.started_at = None

    @property
    def clip_length_s(self) -> float:
        """The expected length of a clip that runs to its cap."""
        by_size = self.cap_bytes / self.bytes_per_s
        return min(by_size, BODY_MAX_CLIP_S, self.cap_s if self.cap_s is not None else math.inf)

    @property
    def expected_end(self) -> float | None:
        if self.started_at is None:
            return None
        return self.started_at + self.clip_length_s

    def elapsed(self, now: float) -> float:
        """Seconds into the running clip (0 when none runs)."""
        return 0.0 if self.started_at is None else max(0.0, now - self.started_at)

    def next_deadline(self) -> float | None:
        end = self.expected_end
        if end is None or self._warned or self.warn_before_s <= 0:
            return None
        return max(self.started_at or 0.0, end - self.warn_before_s)

    def advance(self, now: float) -> list[str]:
        """``['limit-soon']`` once, when the warning time is reached; else nothing."""
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return []
        self._warned = True
        return ["limit-soon"]

    def learn_rate(self, size: int, length_s: float) -> None:
        """Refine the bit rate from a finished clip (ignored if too short to tell)."""
        if length_s >= 2.0 and size > 0:
            self.bytes_per_s = size / length_s

    # -- why it stopped ----------------------------------------------------------------

    def classify_stop(self, now: float, facts: StopFacts = StopFacts()) -> StopVerdict:
        """Why the running clip ended by itself at ``now``, from ``facts``."""
        elapsed = self.elapsed(now)
        evidence: dict[str, float | int | bool] = {"elapsed_s": round(elapsed, 3)}
        if facts.file_size is not None:
            evidence["file_size"] = facts.file_size
            if facts.file_size >= self.cap_bytes * (1 - self.size_tolerance):
                return StopVerdict("clip-limit", elapsed, evidence)
        if self.started_at is not None and elapsed >= self.clip_length_s - self.tolerance_s:
            evidence["expected_s"] = round(self.clip_length_s, 3)
            return StopVerdict("clip-limit", elapsed, evidence)
        if facts.card_free_bytes is not None:
            evidence["card_free_bytes"] = facts.card_free_bytes
            if facts.card_free_bytes < self.card_full_bytes:
                return StopVerdict("card-full", elapsed, evidence)
        if facts.battery_percent is not None:
            evidence["battery_percent"] = facts.battery_percent
            if facts.battery_percent <= self.battery_empty_percent:
                return StopVerdict("battery", elapsed, evidence)
        if facts.temperature_warning:
            evidence["temperature_warning"] = True
            return StopVerdict("heat", elapsed, evidence)
        return StopVerdict("body-button", elapsed, evidence)
