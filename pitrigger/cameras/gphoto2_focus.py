"""Focus mode on a Canon EOS over libgphoto2: magnified live-view frames, everything put back.

Entering:

1. Read what the mode will touch: ``output`` (EVFOutputDevice 0xD1B0: where live view goes),
   ``evfmode`` (EVFMode 0xD1B1) and ``movierecordtarget`` (0xD1B8), as libgphoto2 last heard
   them from the camera.
2. One ``capture_preview()``: on EOS it sets EVFMode = 1 and the output to the PC if they are
   not so already (camlibs/ptp2/library.c), which is why they must be put back.
3. ``eoszoom`` = 5 or 10 and ``eoszoomposition`` = the centre. A body without magnification
   keeps going at 1× (less precise, still useful); a refused position leaves the body's own,
   which is the centre unless someone moved it.

Frames: ``capture_preview()`` returns the live-view JPEG; only its luminance is decoded.

Leaving: ``eoszoom`` = 1, then ``evfmode`` and ``output`` set back where they differ, then
the camera's events are drained (libgphoto2 writes our own values into its cache at once;
the camera's property events replace them with what the body really holds) and every value is
read back and compared. The differences are returned; an empty list means all restored.
libgphoto2's ``eoszoom`` widget always reads "0", so the zoom cannot be read back from a
real body: it is set to 1, and the virtual 5D's control port is what checks it in tests.

>>> mode = Gphoto2FocusMode(camera, zoom=5)   # doctest: +SKIP
>>> mode.enter(); luma = mode.frame(); mode.leave()   # doctest: +SKIP
[]
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import gphoto2 as gp

from pitrigger.cameras import CameraError, CameraRefused

if TYPE_CHECKING:
    from pitrigger.cameras.gphoto2 import Gphoto2Camera

log = logging.getLogger(__name__)

#: What the mode may change, in the order they are put back (zoom first, output last).
WATCHED_WIDGETS = ("evfmode", "output", "movierecordtarget")
#: The 5D Mark II sensor's centre, for eoszoomposition (an assumption about its units).
DEFAULT_ZOOM_POSITION = "2808,1872"


class Gphoto2FocusMode:
    """One stay in focus mode on a connected :class:`Gphoto2Camera`."""

    def __init__(self, camera: Gphoto2Camera, *, zoom: int = 5,
                 zoom_position: str = DEFAULT_ZOOM_POSITION) -> None:
        self.camera = camera
        self.zoom = zoom
        self.zoom_position = zoom_position
        self.saved: dict[str, str] = {}
        self.magnified = False

    def enter(self) -> None:
        self.saved = {name: value for name in WATCHED_WIDGETS
                      if (value := self._read(name)) is not None}
        self.preview_jpeg()  # live view to the PC, EVFMode 1: libgphoto2 does both
        if self.zoom > 1:
            try:
                self.camera._set("eoszoom", str(self.zoom))
                self.magnified = True
            except CameraRefused as exc:
                log.warning("no magnified view (%s): focusing at 1x", exc)
            if self.magnified and self.zoom_position:
                try:
                    self.camera._set("eoszoomposition", self.zoom_position)
                except CameraRefused as exc:
                    log.warning("zoom position %s refused (%s): the body's own is used",
                                self.zoom_position, exc)
        log.info("focus mode: magnification %sx, saved %s", self.zoom if self.magnified else 1,
                 self.saved)

    def preview_jpeg(self) -> bytes:
        """One live-view frame as the camera sent it."""
        camera = self.camera._require()
        try:
            preview = camera.capture_preview()
            return bytes(memoryview(preview.get_data_and_size()))
        except gp.GPhoto2Error as exc:
            from pitrigger.cameras.gphoto2 import _translate

            raise _translate(exc, "capture_preview", generic_is_gone=False) from exc

    def frame(self) -> Any:
        """The next frame's luminance (a numpy array), decoded at full size."""
        from pitrigger.focus_score import luma_from_jpeg

        return luma_from_jpeg(self.preview_jpeg())

    def leave(self) -> list[str]:
        """Put back what the mode changed; return what still differs ("name: before -> now")."""
        problems: list[str] = []
        if self.magnified:
            try:
                self.camera._set("eoszoom", "1")
            except CameraError as exc:
                problems.append(f"eoszoom: not set back to 1 ({exc})")
            self.magnified = False
        for name in WATCHED_WIDGETS:
            before = self.saved.get(name)
            if before is None or name == "movierecordtarget":
                continue  # recording is never changed here; it is only compared below
            if self._read(name) != before:
                try:
                    self.camera._set(name, before)
                except CameraError as exc:
                    problems.append(f"{name}: could not set back to {before!r} ({exc})")
        # Let the camera speak: its property events replace libgphoto2's echo of our writes.
        self.camera.drain_events()
        for name, before in self.saved.items():
            after = self._read(name)
            if after != before:
                problems.append(f"{name}: {before!r} -> {after!r}")
        return problems

    def _read(self, name: str) -> str | None:
        try:
            value = self.camera._require().get_single_config(name).get_value()
        except gp.GPhoto2Error:
            return None  # this body has no such widget: nothing to save or compare
        return str(value)
