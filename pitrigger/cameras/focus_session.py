"""Focus mode on the camera worker's thread: enter, frames scored at ``max_fps``, leave.

Frame grabbing and scoring happen here, on the worker's thread, never in the daemon's loop:
the loop only receives :class:`~pitrigger.messages.FocusScore` reports. numpy and Pillow are
imported when focus mode is first entered (``pitrigger.focus_score``), not before.

A backend offers focus mode by having three methods (both shipped backends do):
``enter_focus(zoom)``, ``focus_frame()`` (a 2-D luminance array) and ``leave_focus()``
(what did not read back as before, as a list of strings).

>>> from pitrigger.cameras.focus_session import FocusOptions
>>> FocusOptions().frame_interval_s
0.1
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pitrigger.cameras import CameraBusy, CameraError, CameraGone, CameraRefused
from pitrigger.messages import (
    CameraReport,
    Command,
    CommandFailed,
    FocusEnded,
    FocusScore,
    FocusStarted,
)

log = logging.getLogger("pitrigger.cameras")

UNAVAILABLE = "focus-unavailable"  # the refusal reason (pitrigger.names.REFUSALS)


@dataclass(frozen=True)
class FocusOptions:
    """``[focus]`` settings the worker needs (see :class:`pitrigger.config.FocusConfig`)."""

    zoom: int = 5
    max_fps: float = 10.0
    measure: str = "vol"
    crop: float = 0.5

    @property
    def frame_interval_s(self) -> float:
        return 1.0 / self.max_fps


class FocusSession:
    """One camera's focus mode, driven by the worker between its commands."""

    def __init__(self, backend: Any, options: FocusOptions,
                 report: Callable[[CameraReport], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.options = options
        self.report = report
        self.clock = clock
        self.active = False
        self.frames = 0
        self._touched = False  # enter_focus was called: leaving must put things back
        self._next_frame = 0.0
        self._score: Callable[..., float] | None = None

    def wait_s(self) -> float:
        """Seconds until the next frame is due (0: now)."""
        return max(0.0, self._next_frame - self.clock())

    def enter(self, command: Command) -> None:
        """Carry out ``focus-on``: FocusStarted, or CommandFailed (CameraGone re-raised)."""
        enter = getattr(self.backend, "enter_focus", None)
        if enter is None:
            self.report(CommandFailed(command.id, "refused", "this camera backend has no "
                                      "focus mode", reason=UNAVAILABLE))
            return
        try:
            from pitrigger.focus_score import score_luma  # numpy, Pillow: first use only
        except ImportError as exc:
            self.report(CommandFailed(command.id, "refused", f"focus mode needs numpy and "
                                      f"Pillow: pip install 'pitrigger[focus]' ({exc})",
                                      reason=UNAVAILABLE))
            return
        self._score = score_luma
        self._touched = True
        try:
            enter(self.options.zoom)
        except CameraBusy as exc:
            self.report(CommandFailed(command.id, "busy", str(exc)))
            return
        except CameraRefused as exc:
            self.report(CommandFailed(command.id, "refused", str(exc), reason=UNAVAILABLE))
            return
        except CameraGone as exc:
            self.report(CommandFailed(command.id, "lost", str(exc)))
            raise
        self.active = True
        self.frames = 0
        self._next_frame = self.clock()
        self.report(FocusStarted())

    def grab(self) -> None:
        """One frame: luminance from the backend, scored, reported. Busy skips a frame; a
        refusal ends the mode (with the settings put back); CameraGone is re-raised."""
        assert self._score is not None
        started = self.clock()
        self._next_frame = started + self.options.frame_interval_s
        try:
            luma = self.backend.focus_frame()
        except CameraBusy as exc:
            log.debug("focus frame busy: %s", exc)
            return
        except CameraRefused as exc:
            log.warning("focus frames refused: %s", exc)
            self.leave(extra=(f"frames refused: {exc}",))
            return
        score = self._score(luma, measure=self.options.measure, crop=self.options.crop)
        self.frames += 1
        self.report(FocusScore(score, self.clock()))

    def leave(self, extra: tuple[str, ...] = ()) -> None:
        """Carry out ``focus-off``: put back what the mode changed; FocusEnded(problems)."""
        problems: list[str] = list(extra)
        if self._touched:
            try:
                problems += self.backend.leave_focus()
            except CameraGone:
                self.reset()
                raise
            except CameraError as exc:
                problems.append(f"restore failed: {exc}")
        self.reset()
        self.report(FocusEnded(tuple(problems)))

    def reset(self) -> None:
        """Forget the mode (the session is gone: a new one starts unmagnified)."""
        self.active = False
        self._touched = False
