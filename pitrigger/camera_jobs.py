"""The camera worker's background jobs: card and battery readings, live-view power, copies.

They run on the camera worker's thread (the only one that may talk to the camera), only
between commands, and each does one short piece of work per call, so a press never waits
for more than one piece (one chunk of a copy, one storage-info read).

* **Supply**: every ``supply_interval_s`` (and at once after a connection) the battery level
  and the card's free space are read and reported as a :class:`SupplyReport`.
* **Live view between clips** (``[camera] live_view_between_clips``): ``keep`` leaves it on
  the PC output; ``off`` turns it off when a clip ends (and at connection); ``off-after-s``
  turns it off after ``live_view_off_after_s`` without recording. The start path of the
  backend turns it on again first (it checks before every start).
* **Copies**: finished ``.MOV`` files reported by the camera are queued on a
  :class:`~pitrigger.copier.ClipCopier`; a chunk is copied only while the camera does not
  record, and progress is reported as :class:`CopyReport`.

Example (a fake backend; the worker calls these methods)::

    >>> class Body:
    ...     def read_supply(self): return (50.0, 8_000_000_000)
    ...     def set_live_view(self, on): print("live view", on)
    >>> reports = []
    >>> jobs = DayJobs(Body(), reports.append, live_view="off", clock=lambda: 0.0)
    >>> jobs.connected(recording=False)
    >>> jobs.wait_s()
    0.0
    >>> jobs.step()
    live view False
    >>> reports[0].battery_percent, reports[0].card_free_bytes, reports[0].connected
    (50.0, 8000000000, True)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from pitrigger.copier import ClipCopier
from pitrigger.messages import CameraState, ClipSaved, CopyReport, StillResult, SupplyReport

log = logging.getLogger(__name__)

__all__ = ["LIVE_VIEW_POLICIES", "CopyReport", "DayJobs", "StillResult", "SupplyReport"]

LiveViewPolicy = Literal["keep", "off", "off-after-s"]
LIVE_VIEW_POLICIES: tuple[LiveViewPolicy, ...] = ("keep", "off", "off-after-s")


class DayJobs:
    """One short piece of background work at a time, for the camera worker.

    :param backend: the camera backend; optional abilities (``read_supply``,
        ``set_live_view``) are used only if it has them.
    :param report: where reports go (the daemon's inbox).
    :param copier: a :class:`ClipCopier` reading from the same backend, or ``None``.
    """

    def __init__(
        self,
        backend: Any,
        report: Callable[[object], None],
        *,
        supply_interval_s: float = 30.0,
        live_view: LiveViewPolicy = "keep",
        live_view_off_after_s: float = 60.0,
        copier: ClipCopier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if live_view not in LIVE_VIEW_POLICIES:
            raise ValueError(f"live_view must be one of {LIVE_VIEW_POLICIES}, got {live_view!r}")
        self.backend = backend
        self.report = report
        self.supply_interval_s = supply_interval_s
        self.live_view = live_view
        self.live_view_off_after_s = live_view_off_after_s
        self.copier = copier
        self.clock = clock
        self.recording = False
        self._next_supply: float | None = None
        self._live_view_off_due: float | None = None

    # -- events from the worker --------------------------------------------------------

    def connected(self, recording: bool) -> None:
        """A session opened: read the supply now, apply the live-view policy."""
        self.recording = recording
        self._read_supply(connected=True)
        if not recording:
            self._schedule_live_view_off(after_clip=False)

    def observed(self, report: object) -> None:
        """A report the worker is forwarding: follow recording, queue finished clips."""
        if isinstance(report, CameraState):
            was, self.recording = self.recording, report.recording
            if was and not report.recording:
                self._schedule_live_view_off(after_clip=True)
                self._next_supply = self.clock()  # a clip used card and battery: look now
            elif report.recording:
                self._live_view_off_due = None
        elif (isinstance(report, ClipSaved) and self.copier is not None
              and report.path.upper().endswith(".MOV")):
            self.copier.add(report.path)

    # -- the work ----------------------------------------------------------------------

    def wait_s(self) -> float | None:
        """Seconds until :meth:`step` has something to do (0: now); ``None``: nothing."""
        now = self.clock()
        due = [t for t in (self._next_supply, self._live_view_off_due) if t is not None]
        if self.copier is not None and self.copier.busy and not self.recording:
            due.append(now)
        return max(0.0, min(due) - now) if due else None

    def step(self) -> None:
        """Do the most urgent piece of due work (one at most)."""
        now = self.clock()
        if self._live_view_off_due is not None and now >= self._live_view_off_due:
            self._live_view_off_due = None
            if not self.recording and hasattr(self.backend, "set_live_view"):
                log.info("live view off between clips (%s)", self.live_view)
                self.backend.set_live_view(False)
            return
        if self._next_supply is not None and now >= self._next_supply:
            self._read_supply(connected=False)
            return
        if self.copier is not None and not self.recording and self.copier.busy:
            self.copier.step()

    # -- internals ---------------------------------------------------------------------

    def _read_supply(self, connected: bool) -> None:
        self._next_supply = self.clock() + self.supply_interval_s
        if not hasattr(self.backend, "read_supply"):
            return
        battery, free = self.backend.read_supply()
        self.report(SupplyReport(battery, free, connected,
                                 bool(getattr(self.backend, "temperature_warning", False))))

    def _schedule_live_view_off(self, *, after_clip: bool) -> None:
        if self.live_view == "off":
            self._live_view_off_due = self.clock()
        elif self.live_view == "off-after-s":
            self._live_view_off_due = self.clock() + self.live_view_off_after_s
