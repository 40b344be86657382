"""The day's bookkeeping for the recording controller: clip cap, card, battery, status answer.

Pure and clock-injected, like the controller that owns one. The controller tells it when
the camera starts and stops and what the body reports about its card and battery; it
answers with cue names and journal fields, and says whether a camera-side stop should be
followed by an automatic restart. It keeps:

* the running clip's :class:`~pitrigger.cliplimit.ClipWatch` (``limit-soon``, why it ended);
* a :class:`~pitrigger.supply.SupplyWatch` (``low-card``, ``low-battery``, once each);
* the seconds recorded since the daemon started (for the status answer when idle).

>>> day = DayKeeper(ClipWatch(cap_s=60.0, warn_before_s=10.0))
>>> day.clip_started(0.0)
>>> day.advance(50.0)
['limit-soon']
>>> stop = day.camera_stopped(60.2)
>>> stop.reason, stop.restart, stop.cues
('clip-limit', True, [])
>>> day.status(120.0, recording=False)
StatusReading(recording=False, minutes=1, warning=False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pitrigger.cliplimit import ClipWatch, StopFacts
from pitrigger.messages import SupplyReport
from pitrigger.status_code import StatusReading, shown_minutes
from pitrigger.supply import Supply, SupplyWatch, card_minutes

__all__ = ["CameraStop", "DayKeeper", "FileVerdict"]

# After a camera-side stop, the cue that says why (``stopped`` plays first).
_REASON_CUES = {"card-full": "low-card", "battery": "low-battery", "heat": "heat"}


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """What a finished clip's size says: it was the cap after all, and whether to restart."""

    cap_after_all: bool = False
    restart: bool = False


@dataclass(frozen=True, slots=True)
class CameraStop:
    """What to do about a clip the camera ended by itself."""

    reason: str  # one of cliplimit.STOP_REASONS
    restart: bool  # start a new clip at once (the cap, with auto_restart on)
    cues: list[str]  # after ``stopped`` (empty when restarting: ``restarted`` will tell)
    record: dict[str, Any] = field(default_factory=dict)  # the ``clip-end`` journal fields


class DayKeeper:
    """Clip cap, supply warnings and the minutes for the status answer. Pure.

    :param clip: the clip-cap watch (its bit rate is refined from each finished clip).
    :param supply: card and battery thresholds.
    :param auto_restart: restart at once when the camera stops at its cap.
    """

    def __init__(self, clip: ClipWatch | None = None, supply: SupplyWatch | None = None, *,
                 auto_restart: bool = True) -> None:
        self.clip = clip if clip is not None else ClipWatch()
        self.supply = supply if supply is not None else SupplyWatch()
        self.auto_restart = auto_restart
        self.recorded_s = 0.0  # finished clips since the daemon started
        self._last: SupplyReport | None = None
        # The clip that ended last, until its file arrives: (when, length, how it ended).
        self._ended: tuple[float, float, str] | None = None

    # -- the running clip --------------------------------------------------------------

    def clip_started(self, now: float) -> None:
        self.clip.started(now)

    def stopped_by_us(self, now: float) -> dict[str, Any]:
        """The camera confirmed a stop we asked for: the ``clip-end`` journal fields."""
        return self._end(now, "press")

    def camera_stopped(self, now: float) -> CameraStop:
        """The camera ended the clip by itself: why, and whether to restart."""
        last = self._last
        facts = StopFacts(
            card_free_bytes=last.card_free_bytes if last else None,
            battery_percent=last.battery_percent if last else None,
            temperature_warning=bool(last and last.temperature_warning),
        )
        verdict = self.clip.classify_stop(now, facts)
        record = self._end(now, verdict.reason)
        record.update(verdict.evidence)
        restart = verdict.at_cap and self.auto_restart
        record["restart"] = restart
        cues = [] if restart else [c for c in (_REASON_CUES.get(verdict.reason),) if c]
        return CameraStop(verdict.reason, restart, cues, record)

    def lost_while_recording(self, now: float) -> None:
        """The camera vanished mid-clip: count what was seen, stop watching the cap."""
        if self.clip.started_at is not None:
            self.recorded_s += self.clip.elapsed(now)
        self.clip.ended()

    def clip_file(self, size: int | None, now: float, *, within_s: float = 10.0
                  ) -> FileVerdict:
        """The file of the clip that ended last arrived with ``size`` (bytes, if known).

        It refines the bit rate (so the next cap is expected at the right time), and a file
        at the size cap shows that a camera-side stop taken for something else was the cap
        after all (the bit rate was higher than thought): restart, if ``auto_restart``.
        """
        ended, self._ended = self._ended, None
        if size is None or ended is None:
            return FileVerdict()
        when, length, how = ended
        self.clip.learn_rate(size, length)
        at_cap = size >= self.clip.cap_bytes * (1 - self.clip.size_tolerance)
        if how in ("press", "clip-limit") or not at_cap or now - when > within_s:
            return FileVerdict()
        return FileVerdict(cap_after_all=True, restart=self.auto_restart)

    def _end(self, now: float, how: str) -> dict[str, Any]:
        elapsed = self.clip.elapsed(now)
        if self.clip.started_at is not None:
            self.recorded_s += elapsed
        self.clip.ended()
        self._ended = (now, elapsed, how)
        return {"how": how, "elapsed_s": round(elapsed, 3)}

    # -- time --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        return self.clip.next_deadline()

    def advance(self, now: float) -> list[str]:
        return self.clip.advance(now)

    # -- the body's supply -------------------------------------------------------------

    def supply_report(self, report: SupplyReport) -> list[str]:
        """Cues for a reading of card and battery (``low-card``/``low-battery``, or none)."""
        self._last = report
        minutes = (None if report.card_free_bytes is None
                   else card_minutes(report.card_free_bytes, self.clip.bytes_per_s))
        return self.supply.reading(Supply(report.battery_percent, minutes),
                                   connected=report.connected)

    # -- the status answer -------------------------------------------------------------

    def status(self, now: float, recording: bool) -> StatusReading:
        """Recording or not, the minutes (this clip, or the session), and any warning."""
        seconds = self.clip.elapsed(now) if recording else self.recorded_s
        return StatusReading(recording, shown_minutes(seconds / 60), self.supply.low)
