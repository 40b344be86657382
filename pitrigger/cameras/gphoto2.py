"""A Canon EOS over libgphoto2 (python-gphoto2): the 5D Mark II movie path.

Recording is the ``movierecordtarget`` widget (EVFRecordStatus 0xD1B8): ``Card`` starts,
``None`` stops. It needs live view on the PC output (``viewfinder=1``) first. The camera
says what it really did only through GetEvent, which libgphoto2 runs inside
``wait_for_event``: a ``PTP Property d1b8 changed, "movierecordtarget" to "Card"`` text, and
after a stop a ``GP_EVENT_FILE_ADDED`` for the new ``.MOV``.

Error codes seen from libgphoto2 and what they mean here:

======  ==========================  =========================================
code    libgphoto2 name             here
======  ==========================  =========================================
−110    GP_ERROR_CAMERA_BUSY        :class:`CameraBusy` (PTP 0x2019), retried
−2/−6   BAD_PARAMETERS/NOT_SUPP.    :class:`CameraRefused` (no such widget)
−1      GP_ERROR                    refused on a set, gone on a poll
−7/−10  IO / TIMEOUT                :class:`CameraGone`
−52/−53 USB find / claim            :class:`CameraGone` (gvfs may hold it)
−105    MODEL_NOT_FOUND             :class:`CameraGone` (nothing attached)
======  ==========================  =========================================

>>> cam = Gphoto2Camera("ptpip:127.0.0.1:15740:15740")   # doctest: +SKIP
>>> cam.connect()                                         # doctest: +SKIP
CameraConnected(recording=False, model='Canon EOS 5D Mark II')
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gphoto2 as gp

from pitrigger.cameras import CameraBusy, CameraError, CameraGone, CameraRefused
from pitrigger.messages import CameraConnected, CameraState, ClipSaved
from pitrigger.triggers import BodyFacts

if TYPE_CHECKING:
    from pitrigger.cameras.gphoto2_focus import Gphoto2FocusMode

log = logging.getLogger(__name__)

RECORD_WIDGET = "movierecordtarget"
VIEWFINDER_WIDGET = "viewfinder"
OUTPUT_WIDGET = "output"  # EVFOutputDevice 0xD1B0: "viewfinder" always reads 0 on EOS
BATTERY_WIDGET = "batterylevel"  # EOS BatteryPower 0xD111, as libgphoto2 names it
LOW_BATTERY_VALUES = {"low", "0%", "empty"}
CARD_FULL_KB = 16 * 1024  # under ~3 s of 1080p at the 5D2's ~5.97 MB/s
# EOS remote release (RemoteReleaseOn 0x9128 / RemoteReleaseOff 0x9129). libgphoto2 2.5.34
# offers "Press Half AF" (RemoteReleaseOn(1, 0)); older releases call the same "Press Half".
REMOTE_RELEASE_WIDGET = "eosremoterelease"
HALF_PRESS_CHOICES = ("Press Half AF", "Press Half")
RELEASE_HALF_CHOICE = "Release Half"  # RemoteReleaseOff(1)
_OUTPUT_EVENT = re.compile(r'd1b0 changed, "output" to "(?P<value>[^"]*)"', re.IGNORECASE)
# TempStatus (0xD1AB): non-zero while the body shows its temperature warning (whether the
# 5D Mark II reports it over PTP is unverified; a body that never does simply never warns).
_TEMPERATURE_EVENT = re.compile(r'd1ab changed(?:, "[^"]*" to "(?P<value>[^"]*)")?',
                                re.IGNORECASE)
_RECORD_EVENT = re.compile(r'd1b8 changed(?:, "movierecordtarget" to "(?P<value>[^"]*)")?',
                           re.IGNORECASE)

_GONE = {
    gp.GP_ERROR_IO,
    gp.GP_ERROR_TIMEOUT,
    gp.GP_ERROR_IO_USB_FIND,
    gp.GP_ERROR_IO_USB_CLAIM,
    gp.GP_ERROR_MODEL_NOT_FOUND,
    gp.GP_ERROR_IO_READ,
    gp.GP_ERROR_IO_WRITE,
    gp.GP_ERROR_IO_INIT,
}


def _translate(exc: gp.GPhoto2Error, doing: str, *, generic_is_gone: bool) -> CameraError:
    code = exc.code
    message = f"{doing}: {exc.string} ({code})"
    if code == gp.GP_ERROR_CAMERA_BUSY:
        return CameraBusy(message, code)
    if code in _GONE or (code == gp.GP_ERROR and generic_is_gone):
        return CameraGone(message, code)
    return CameraRefused(message, code)


class Gphoto2Camera:
    """One long-lived libgphoto2 session. Not thread-safe: the worker serialises calls.

    ``port`` is ``usb`` (the first camera found), ``usb:BUS,DEV`` or
    ``ptpip:HOST[:PORT[:EVENTPORT]]``.
    """

    def __init__(self, port: str = "usb") -> None:
        self.port = port
        self._camera: gp.Camera | None = None
        self._widgets: dict[str, gp.CameraWidget] = {}
        self._cache_is_ours = False
        self._live_view_on: bool | None = None  # from d1b0 events; None: not known
        self.temperature_warning = False  # the body reported TempStatus != 0
        self._still_target_set = False
        self._summary: dict[str, str] = {}  # "Model", "Serial Number", "Version" …
        self._backlog: list[CameraState | ClipSaved] = []  # drained early, for the next poll
        self._focus: Gphoto2FocusMode | None = None

    def connect(self) -> CameraConnected:
        self.close()
        camera = gp.Camera()
        try:
            if self.port != "usb":
                self._select_port(camera)
            camera.init()
        except gp.GPhoto2Error as exc:
            raise _translate(exc, f"opening {self.port}", generic_is_gone=True) from exc
        self._camera = camera
        try:
            self._summary = self._read_summary(camera)
            model = self._summary.get("Model") or str(camera.get_abilities().model)
            self._summary.setdefault("Model", model)
            recording = self.read_recording()
        except CameraError:
            self.close()
            raise
        return CameraConnected(recording=recording, model=model)

    @staticmethod
    def _read_summary(camera: gp.Camera) -> dict[str, str]:
        """The identity lines of libgphoto2's summary (over PTP/IP the abilities only say
        "PTP/IP Camera"; the summary has the body's own name, serial and firmware)."""
        fields: dict[str, str] = {}
        try:
            text = str(camera.get_summary())
        except gp.GPhoto2Error:
            return fields
        for line in text.splitlines():
            key, colon, value = line.strip().partition(":")
            if colon and key in ("Model", "Serial Number", "Version") and key not in fields:
                fields[key] = value.strip()
        return fields

    def _has_widget(self, name: str) -> bool:
        try:
            self._require().get_single_config(name)
        except gp.GPhoto2Error as exc:
            if exc.code in (gp.GP_ERROR_BAD_PARAMETERS, gp.GP_ERROR_NOT_SUPPORTED):
                return False
            raise _translate(exc, f"looking for {name}", generic_is_gone=True) from exc
        return True

    def facts(self) -> BodyFacts:
        """Who this body is and which movie paths it offers (for ``trigger = "auto"``).

        ``movie_target``: libgphoto2 has the ``movierecordtarget`` widget, i.e. the body
        reported EVFRecordStatus 0xD1B8 in its events.
        """
        return BodyFacts(
            model=self._summary.get("Model", ""),
            serial=self._summary.get("Serial Number", ""),
            firmware=self._summary.get("Version", ""),
            movie_target=self._has_widget(RECORD_WIDGET),
            remote_release=self._has_widget(REMOTE_RELEASE_WIDGET),
        )

    def half_press(self, pressed: bool) -> None:
        """EOS remote release: half-press the shutter (True) or let it go (False).

        For Magic Lantern's REC key (Movie > REC key: HalfShutter). Whether ML reacts to a
        USB half-press as to the real key is unproven on a real body.
        """
        value = RELEASE_HALF_CHOICE
        if pressed:
            try:
                widget = self._require().get_single_config(REMOTE_RELEASE_WIDGET)
                choices = set(widget.get_choices())
            except gp.GPhoto2Error as exc:
                raise _translate(exc, f"reading {REMOTE_RELEASE_WIDGET}",
                                 generic_is_gone=False) from exc
            value = next((c for c in HALF_PRESS_CHOICES if c in choices), "")
            if not value:
                raise CameraRefused(f"{REMOTE_RELEASE_WIDGET} offers no half-press "
                                    f"(choices: {sorted(choices)})")
        self._set(REMOTE_RELEASE_WIDGET, value)

    def _select_port(self, camera: gp.Camera) -> None:
        ports = gp.PortInfoList()
        ports.load()
        index = ports.lookup_path(self.port)
        camera.set_port_info(ports[index])
        if self.port.startswith("ptpip:"):
            # The 5D Mark II's own entry is USB-only; over PTP/IP libgphoto2 needs the
            # generic model, and reads the body's identity from GetDeviceInfo anyway.
            abilities = gp.CameraAbilitiesList()
            abilities.load()
            camera.set_abilities(abilities[abilities.lookup_model("PTP/IP Camera")])

    def _require(self) -> gp.Camera:
        if self._camera is None:
            raise CameraGone("not connected")
        return self._camera

    def _set(self, name: str, value: str | int) -> None:
        camera = self._require()
        try:
            # Widgets are kept for the session: fetching one costs a camera round trip,
            # and a press is waiting.
            widget = self._widgets.get(name)
            if widget is None:
                widget = self._widgets[name] = camera.get_single_config(name)
            widget.set_value(value)
            camera.set_single_config(name, widget)
        except gp.GPhoto2Error as exc:
            raise _translate(exc, f"setting {name}={value}", generic_is_gone=False) from exc

    def _live_view_to_pc(self) -> bool:
        """Whether the camera reports its live view going to the PC (EVFOutputDevice = 2).

        Known from the camera's own d1b0 events when it has sent one; asked otherwise.
        """
        if self._live_view_on is not None:
            return self._live_view_on
        try:
            return bool(self._require().get_single_config(OUTPUT_WIDGET).get_value() == "PC")
        except gp.GPhoto2Error:
            return False  # no such widget on this body: set the viewfinder to be sure

    def start_recording(self) -> None:
        # Live view on the PC output is the precondition for movie recording on this body.
        # Checked every time (the body's own buttons or a preview can switch it off), set
        # only when it is not on: a write costs more than a look.
        if not self._live_view_to_pc():
            self._set(VIEWFINDER_WIDGET, 1)
        try:
            self._set_record_target("Card")
        except CameraBusy:
            self._live_view_on = None  # perhaps live view went off unseen: look again
            raise

    def stop_recording(self) -> None:
        self._set_record_target("None")

    def refusal_reason(self) -> str:
        """Why the body refused a start, from what it reports (a name from REFUSALS).

        Card and battery are read from the body; a body that reports neither problem but
        refuses is taken to refuse remote movie as such (mode dial, movie menu, firmware).
        """
        camera = self._require()
        try:
            for info in camera.get_storageinfo():
                if getattr(info, "freekbytes", 1 << 30) < CARD_FULL_KB:
                    return "card-full"
        except gp.GPhoto2Error as exc:
            if exc.code == gp.GP_ERROR_CAMERA_BUSY:
                raise _translate(exc, "reading the card", generic_is_gone=False) from exc
            log.debug("storage info: %s", exc)
        try:
            battery = str(camera.get_single_config(BATTERY_WIDGET).get_value())
        except gp.GPhoto2Error:
            battery = ""
        if battery.strip().lower() in LOW_BATTERY_VALUES:
            return "battery-low"
        return "remote-movie-refused"

    def _set_record_target(self, value: str) -> None:
        self._set(RECORD_WIDGET, value)
        # libgphoto2 writes an accepted value into its own property cache at once, before
        # the camera says anything: until a 0xD1B8 event arrives, reading the widget back
        # would only echo our own request.
        self._cache_is_ours = True

    def read_recording(self) -> bool:
        """The camera's recording state, never an echo of our own request.

        While the cached value is our own unconfirmed write, the only way to learn the
        camera's value is a fresh session: its first GetEvent reports every property.
        """
        if self._cache_is_ours:
            return self.connect().recording
        camera = self._require()
        try:
            value = camera.get_single_config(RECORD_WIDGET).get_value()
        except gp.GPhoto2Error as exc:
            if exc.code == gp.GP_ERROR_BAD_PARAMETERS:
                # The body never reported 0xD1B8: it cannot record remotely (as far as
                # libgphoto2 knows). Not recording is the truth we can tell.
                return False
            raise _translate(exc, f"reading {RECORD_WIDGET}", generic_is_gone=True) from exc
        return value == "Card"

    # -- focus mode (pitrigger/cameras/gphoto2_focus.py) ------------------------------------

    def enter_focus(self, zoom: int) -> None:
        from pitrigger.cameras.gphoto2_focus import Gphoto2FocusMode

        self._focus = Gphoto2FocusMode(self, zoom=zoom)
        self._focus.enter()

    def focus_frame(self) -> Any:
        if self._focus is None:
            raise CameraRefused("not in focus mode")
        return self._focus.frame()

    def leave_focus(self) -> list[str]:
        focus, self._focus = self._focus, None
        return focus.leave() if focus is not None else []

    def drain_events(self) -> None:
        """Read what the camera queued now, keeping it for the next :meth:`poll`."""
        self._backlog += self.poll(0)

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        camera = self._require()
        out, self._backlog = self._backlog, []
        if any(isinstance(r, CameraState) for r in out):
            return out  # a recording change drained earlier: hand it over at once
        timeout_ms = int(timeout_s * 1000)
        while True:
            try:
                kind, data = camera.wait_for_event(timeout_ms)
            except gp.GPhoto2Error as exc:
                if exc.code == gp.GP_ERROR_CAMERA_BUSY and out:
                    # GetEvent answered busy while draining: keep what was already read
                    # (libgphoto2 has handed it over); the camera keeps the rest queued.
                    return out
                raise _translate(exc, "polling events", generic_is_gone=True) from exc
            if kind == gp.GP_EVENT_TIMEOUT:
                return out
            timeout_ms = 0  # drain what is queued, then return
            if kind == gp.GP_EVENT_FILE_ADDED:
                out.append(ClipSaved(f"{data.folder.rstrip('/')}/{data.name}",
                                     self._size_of(data.folder, data.name)))
            elif kind == gp.GP_EVENT_UNKNOWN and isinstance(data, str):
                if match := _TEMPERATURE_EVENT.search(data):
                    self.temperature_warning = match.group("value") not in ("0", "0x0", None)
                elif match := _OUTPUT_EVENT.search(data):
                    self._live_view_on = match.group("value") == "PC"
                elif match := _RECORD_EVENT.search(data):
                    self._cache_is_ours = False  # the camera has spoken: cache is its value
                    value = match.group("value")
                    recording = value == "Card" if value is not None else self.read_recording()
                    out.append(CameraState(recording, "event"))
                    # Hand a recording change over at once (a press may be waiting on it);
                    # whatever else is queued comes with the next poll.
                    return out

    # -- the day's other jobs: supply, stills, live view, file data --------------------

    def read_supply(self) -> tuple[float | None, int | None]:
        """(battery %, free card bytes) as the body reports them; ``None`` where it cannot.

        The battery comes in the EOS steps libgphoto2 shows (100/75/50/25 %, "Low" = 10 %);
        the free space from GetStorageInfo (the first storage, the CF card).
        """
        from pitrigger.supply import battery_percent

        camera = self._require()
        battery: float | None = None
        try:
            battery = battery_percent(str(camera.get_single_config("batterylevel").get_value()))
        except gp.GPhoto2Error as exc:
            if exc.code in _GONE:
                raise _translate(exc, "reading batterylevel", generic_is_gone=True) from exc
        free: int | None = None
        try:
            storages = camera.get_storageinfo()
            if storages:
                free = int(storages[0].freekbytes) * 1024
        except gp.GPhoto2Error as exc:
            if exc.code in _GONE:
                raise _translate(exc, "reading storage info", generic_is_gone=True) from exc
        return battery, free

    def set_live_view(self, on: bool) -> None:
        """Live view to the PC on (``viewfinder=1``) or off (EVFOutputDevice 0, saves power)."""
        self._set(VIEWFINDER_WIDGET, 1 if on else 0)
        self._live_view_on = on

    def take_still(self) -> None:
        """Release the shutter once (EOS remote release), the image going to the card.

        The file's arrival is reported by a later poll (ObjectAddedEx -> ClipSaved).
        """
        if not self._still_target_set:
            # libgphoto2 sends captures to the host's RAM unless told otherwise; a still that
            # lands on the card is kept even if the link drops before a download.
            self._set("capturetarget", "Memory card")
            self._still_target_set = True
        self._set("eosremoterelease", "Press Full AF")
        self._set("eosremoterelease", "Release Full")

    def _size_of(self, folder: str, name: str) -> int | None:
        """A new file's size (one GetObjectInfo), or None if the body will not say."""
        if not name.upper().endswith(".MOV"):
            return None  # only a clip's size means anything to the daemon (the 4 GB cap)
        try:
            return int(self._require().file_get_info(folder, name).file.size)
        except gp.GPhoto2Error as exc:
            log.debug("no size for %s: %s", name, exc)
            return None

    def file_size(self, folder: str, name: str) -> int:
        try:
            return int(self._require().file_get_info(folder, name).file.size)
        except gp.GPhoto2Error as exc:
            raise _translate(exc, f"file info of {name}", generic_is_gone=False) from exc

    def read_file(self, folder: str, name: str, offset: int, buffer: memoryview) -> int:
        """Partial read (PTP GetPartialObject): never changes the file on the card."""
        try:
            return int(self._require().file_read(folder, name, gp.GP_FILE_TYPE_NORMAL, offset,
                                                 buffer))
        except gp.GPhoto2Error as exc:
            raise _translate(exc, f"reading {name} at {offset}", generic_is_gone=False) from exc

    def close(self) -> None:
        self._still_target_set = False
        self._focus = None
        self._backlog = []
        self._cache_is_ours = False
        self._live_view_on = None
        self._summary = {}
        self._widgets.clear()
        camera, self._camera = self._camera, None
        if camera is not None:
            # A dead link has nothing to tidy: its errors are of no interest.
            with _keep_fd0(), contextlib.suppress(gp.GPhoto2Error):
                camera.exit()


@contextlib.contextmanager
def _keep_fd0() -> Iterator[None]:
    """Put file descriptor 0 back if ``camera.exit()`` closes it.

    Over PTP/IP, libgphoto2 2.5.x closes fd 0 on exit (a never-initialised Fuji ``jpgfd``).
    Left alone, the next file or socket the daemon opens becomes fd 0 and is closed by the
    next exit: stdin for the terminal button, or worse, the journal.
    """
    try:
        saved = os.dup(0)
    except OSError:
        yield
        return
    before = os.fstat(saved)
    try:
        yield
    finally:
        try:
            now = os.fstat(0)
        except OSError:
            os.dup2(saved, 0)
        else:
            if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
                log.warning("fd 0 was closed and reused during camera exit")
        os.close(saved)
