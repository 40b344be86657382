"""The virtual Canon EOS 5D Mark II: state, timers, recording and the event queue.

Sans-I/O: ``VirtualEos5D2.handle(operation)`` maps one decoded PTP operation to a reply;
time comes from injected clocks, and timers (clip limit, file write, auto power-off, battery)
are exposed as ``next_deadline()`` + ``poll()`` so the socket loop sleeps until one is due.
The transport (``server.py``) owns connections; it reads ``powered`` after every call to
close or reopen its sockets.

The parts live beside it: ``body.py`` (identity and limits), ``settings.py``
(``CameraSettings``), ``store.py`` (the card's files and handles), ``operations.py`` (one
handler per opcode, in a table) and ``faults.py`` (busy/stall operation faults). The names
this module always exported are re-exported here.

What is modelled, and which behaviours are assumptions about the real body, is written up
in docs/virtual-camera.md.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.body import (
    BODIES,
    CLIP_MAX_BYTES,
    CLIP_MAX_S,
    LOW_BATTERY_PERCENT,
    MODEL_NAME,
    MOVIE_BYTES_PER_S,
    OPERATIONS_5D2,
    PC_AVAILABLE_SHOTS,
    SERIAL_NUMBER,
    ZOOM_CENTRE,
    Body,
    battery_level,
)
from pitrigger.virtualcam.faults import (
    OPERATION_FAULT_KINDS,
    OperationFault,
    new_operation_fault,
    parse_operation_name,
    take_fault,
)
from pitrigger.virtualcam.operations import execute
from pitrigger.virtualcam.ptp import Op, Prop, Rc
from pitrigger.virtualcam.ptpip import Operation, Reply
from pitrigger.virtualcam.settings import REMOTE_MOVIE_MODES, CameraSettings
from pitrigger.virtualcam.shutter import ShutterButton
from pitrigger.virtualcam.store import (
    DCIM_HANDLE,
    FOLDER_HANDLE,
    FOLDER_NAME,
    STORAGE_ID,
    THM_SIZE_BYTES,
    Clip,
    ObjectStore,
    Still,
)

if TYPE_CHECKING:
    from pitrigger.virtualcam.liveview import LiveView

__all__ = [
    "CLIP_MAX_BYTES", "CLIP_MAX_S", "DCIM_HANDLE", "FOLDER_HANDLE", "FOLDER_NAME",
    "MODEL_NAME", "MOVIE_BYTES_PER_S", "OPERATIONS_5D2", "OPERATION_FAULT_KINDS",
    "REMOTE_MOVIE_MODES", "STORAGE_ID", "CameraSettings", "Clip", "OperationFault",
    "Still", "VirtualEos5D2", "battery_level", "parse_operation_name",
]


@dataclass
class _Recording:
    started_at: float
    file_number: int
    bytes_written: float = 0.0
    source: str = "host"


@dataclass
class _PendingFile:
    due: float
    clip: Clip


class VirtualEos5D2:
    """A Canon EOS body (a 5D Mark II unless ``settings.body`` says otherwise) as far as
    movie remote control, stills and file transfer over PTP are concerned."""

    def __init__(
        self,
        settings: CameraSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.defaults = replace(settings) if settings else CameraSettings()
        self.defaults.validate()
        self._clock = clock
        self._wall_clock = wall_clock
        self.store = ObjectStore()
        self.live_view: LiveView | None = None  # made on first use (numpy, Pillow, the scene)
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self, keep_clips: bool = False) -> None:
        """Back to the start-up state and settings; faults cleared; clips kept on request."""
        old_clips = list(self.store.clips) if keep_clips else []
        old_stills = list(self.store.stills) if keep_clips else []
        old_next_number = getattr(self, "_next_file_number", None) if keep_clips else None
        self.settings = replace(self.defaults)
        now = self._clock()
        self.powered = True
        self.power_off_reason: str | None = None
        self.session_open = False
        self.host_connected = False
        self.remote_mode = 0
        self.event_mode = 0
        self.evf_output = ptp.EVF_OUTPUT_OFF
        self.evf_mode = 1
        self.zoom = 1  # live-view magnification (EOS Zoom 0x9158): 1, 5 or 10
        self.zoom_position = ZOOM_CENTRE  # EOS ZoomPosition (0x9159), sensor pixels
        if self.live_view is not None:
            self.live_view.reset()
        self.capture_destination = ptp.CAPTURE_DEST_CARD
        self.pc_capacity_known = False
        self.strings = {Prop.OWNER: "", Prop.ARTIST: "", Prop.COPYRIGHT: "",
                        Prop.SERIAL_NUMBER: SERIAL_NUMBER}
        self.battery = float(self.settings.battery_percent)
        self.card_free = float(self.settings.card_free_bytes)
        self.store = ObjectStore(old_clips, old_stills, BODIES[self.settings.body].folder_name)
        # the clips kept still occupy the card
        self.card_free = max(0.0, self.card_free - self.store.occupied_bytes())
        self._next_file_number = old_next_number or self.settings.first_file_number
        self._recording: _Recording | None = None
        self._pending_files: list[_PendingFile] = []
        self._events: list[bytes] = []
        self.faults: list[OperationFault] = []
        self.record_starts = 0
        self.record_stops = 0
        self.last_stop_reason: str | None = None
        self.last_refusal: str | None = None
        self.last_still_refusal: str | None = None
        self.shutter = ShutterButton()
        self._hot_until: float | None = None  # when an overheated body may record again
        self.operations: Counter[str] = Counter()
        self._accounted_at = now
        self.last_activity = now

    # ------------------------------------------------------------------ time

    def ensure_live_view(self) -> LiveView:
        """The live-view renderer (imports numpy and Pillow and loads the scene on first use)."""
        if self.live_view is None:
            from pitrigger.virtualcam.liveview import LiveView

            self.live_view = LiveView(clock=self._clock)
        return self.live_view

    def now(self) -> float:
        """The model's (monotonic) clock, for a loop that sleeps until ``next_deadline()``."""
        return self._clock()

    def wall_time(self) -> float:
        """The body's calendar clock (file dates)."""
        return self._wall_clock()

    def _advance(self, now: float) -> None:
        """Integrate battery drain and card use up to ``now``; a clip that reached one of its
        limits in between stops at that moment, however late anyone looks."""
        while self._recording is not None and now > self._accounted_at:
            remaining, reason = self._recording_remaining(self._accounted_at)
            if remaining > now - self._accounted_at:
                self._integrate(now - self._accounted_at)
                self._accounted_at = now
                return
            stop_at = self._accounted_at + max(0.0, remaining)
            self._integrate(stop_at - self._accounted_at)
            self._accounted_at = stop_at
            self._stop_recording(reason, stop_at)
            if reason == "battery_empty":
                self.power_off("battery_empty")
        self._accounted_at = max(self._accounted_at, now)

    def _integrate(self, elapsed: float) -> None:
        assert self._recording is not None
        old_level = battery_level(self.battery)
        written = min(self.settings.movie_bytes_per_s * elapsed, self.card_free)
        self._recording.bytes_written += written
        self.card_free -= written
        self.battery = max(0.0, self.battery - self.settings.battery_drain_pct_per_min
                           * elapsed / 60.0)
        if battery_level(self.battery) != old_level:
            self.queue_prop(Prop.BATTERY_POWER)

    def _recording_remaining(self, now: float) -> tuple[float, str]:
        """Seconds until the running clip stops by itself, and why."""
        assert self._recording is not None
        elapsed = now - self._recording.started_at
        limits = [(self.clip_max_bytes / self.settings.movie_bytes_per_s - elapsed, "clip_limit"),
                  (CLIP_MAX_S - elapsed, "clip_limit"),
                  (self.card_free / self.settings.movie_bytes_per_s, "card_full")]
        if self.settings.clip_limit_s is not None:
            limits.append((self.settings.clip_limit_s - elapsed, "clip_limit"))
        if self.settings.battery_drain_pct_per_min > 0:
            limits.append((self.battery * 60.0 / self.settings.battery_drain_pct_per_min,
                           "battery_empty"))
        return min(limits)

    def next_deadline(self) -> float | None:
        """Monotonic time at which ``poll`` has work to do, or None when nothing is timed."""
        now = self._clock()
        self._advance(now)
        deadlines: list[float] = [p.due for p in self._pending_files]
        if self._recording is not None:
            deadlines.append(now + max(0.0, self._recording_remaining(now)[0]))
        if self.powered and self._recording is None and self.settings.auto_poweroff_s:
            deadlines.append(self.last_activity + self.settings.auto_poweroff_s)
        return min(deadlines) if deadlines else None

    def poll(self) -> None:
        """Run every timer that is due: clip stop, file write, auto power-off."""
        now = self._clock()
        self._advance(now)  # stops a clip that reached its limit
        if self._recording is not None:
            remaining, reason = self._recording_remaining(now)
            if remaining <= 1e-6:  # due right now (float rounding at the deadline)
                self._stop_recording(reason, now)
                if reason == "battery_empty":
                    self.power_off("battery_empty")
        for pending in [p for p in self._pending_files if p.due <= now]:
            self._pending_files.remove(pending)
            self._write_file(pending.clip)
        if (self.powered and self._recording is None and self.settings.auto_poweroff_s
                and now >= self.last_activity + self.settings.auto_poweroff_s):
            self.power_off("auto_power_off")

    # ------------------------------------------------------------------ power & host

    def power_off(self, reason: str = "control") -> None:
        """Switch off: a running clip is finished and written, the session is gone."""
        if not self.powered:
            return
        now = self._clock()
        self._advance(now)
        if self._recording is not None:
            self._stop_recording("power_off" if reason == "control" else reason, now)
        for pending in list(self._pending_files):
            self._pending_files.remove(pending)
            self._write_file(pending.clip)
        self.powered = False
        self.power_off_reason = reason
        self.end_session()
        self.evf_output = ptp.EVF_OUTPUT_OFF

    def power_on(self) -> None:
        if self.powered:
            return
        if self.battery <= 0:
            raise ValueError("battery is empty: set battery_percent first")
        self.powered = True
        self.power_off_reason = None
        self.last_activity = self._clock()

    def host_disconnected(self) -> None:
        """The PTP/IP connection went away: the session ends, recording continues."""
        self.host_connected = False
        self.end_session()

    def end_session(self) -> None:
        self.session_open = False
        self.event_mode = 0
        self.remote_mode = 0
        self._events.clear()

    # ------------------------------------------------------------------ faults & settings

    def inject_operation_fault(self, kind: str, count: int = 1,
                               operation: str | int | None = None,
                               reply_after_s: float | None = None) -> None:
        self.faults.append(new_operation_fault(kind, count, operation, reply_after_s))

    def apply_settings(self, **changes: object) -> None:
        """Change settings at run time (same names as ``CameraSettings`` plus ``evf_output``)."""
        now = self._clock()
        self._advance(now)
        evf_output = changes.pop("evf_output", None)
        evf_mode = changes.pop("evf_mode", None)
        if evf_mode is not None and evf_mode not in (0, 1):
            raise ValueError("evf_mode must be 0 or 1")
        if evf_output is not None and evf_output not in (
                ptp.EVF_OUTPUT_OFF, ptp.EVF_OUTPUT_TFT, ptp.EVF_OUTPUT_PC):
            raise ValueError("evf_output must be 0 (off), 1 (camera LCD) or 2 (PC)")
        unknown = set(changes) - set(CameraSettings.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        candidate = replace(self.settings, **changes)  # type: ignore[arg-type]
        if "battery_percent" in changes:
            candidate.battery_percent = float(candidate.battery_percent)
        else:
            candidate.battery_percent = min(100.0, self.battery)
        if "card_free_bytes" in changes:
            candidate.card_free_bytes = int(candidate.card_free_bytes)
        else:
            candidate.card_free_bytes = int(self.card_free)
        candidate.validate()
        old_shots, old_level = self.available_shots(), battery_level(self.battery)
        old_apo, old_remote = self.settings.auto_poweroff_s, self.remote_movie
        self.settings = candidate
        self.battery = candidate.battery_percent
        self.card_free = float(candidate.card_free_bytes)
        if self.store.folder_name != self.body.folder_name:
            self.store.rename_folder(self.body.folder_name)  # the one folder follows the body
        if "first_file_number" in changes:
            self._next_file_number = candidate.first_file_number
        if self.session_open:
            if self.available_shots() != old_shots:
                self.queue_prop(Prop.AVAILABLE_SHOTS)
            if battery_level(self.battery) != old_level:
                self.queue_prop(Prop.BATTERY_POWER)
            if candidate.auto_poweroff_s != old_apo:
                self.queue_prop(Prop.AUTO_POWER_OFF)
            if old_remote == "hidden" and self.remote_movie != "hidden":
                self.queue_prop(Prop.EVF_RECORD_STATUS)
        if "auto_poweroff_s" in changes:
            self.last_activity = now  # the idle timer starts when it is set
        if evf_output is not None:
            self.set_evf_output(int(evf_output))
        if evf_mode is not None and evf_mode != self.evf_mode:
            self.evf_mode = int(evf_mode)
            self.queue_prop(Prop.EVF_MODE)
        if self.battery <= 0:
            self.power_off("battery_empty")

    def press_body_button(self) -> dict[str, object]:
        """The record button on the body: toggles recording, same events as a remote start."""
        if not self.powered:
            return {"pressed": False, "recording": False, "refused": "powered_off"}
        now = self._clock()
        self._advance(now)
        self.last_activity = now
        if self._recording is not None:
            self._stop_recording("body_button", now)
            return {"pressed": True, "recording": False, "refused": None}
        refusal = self._start_refusal(from_body=True)
        if refusal is not None:
            self.last_refusal = refusal[1]
            return {"pressed": True, "recording": False, "refused": refusal[1]}
        self._start_recording(now, "body_button")
        return {"pressed": True, "recording": True, "refused": None}

    # ------------------------------------------------------------------ state

    @property
    def recording(self) -> bool:
        return self._recording is not None

    @property
    def body(self) -> Body:
        return BODIES[self.settings.body]

    @property
    def remote_movie(self) -> str:
        """How 0xD1B8 behaves: the setting if given, else what the body does."""
        return self.settings.remote_movie or self.body.remote_movie

    @property
    def clip_max_bytes(self) -> int:
        """The file size at which the body ends a clip by itself (FAT32: just under 4 GiB)."""
        return min(self.settings.clip_max_bytes or CLIP_MAX_BYTES, CLIP_MAX_BYTES)

    @property
    def clips(self) -> list[Clip]:
        """The movies on the card, oldest first."""
        return self.store.clips

    def effective_clip_limit_s(self) -> float:
        limit = min(self.clip_max_bytes / self.settings.movie_bytes_per_s, CLIP_MAX_S)
        if self.settings.clip_limit_s is not None:
            limit = min(limit, self.settings.clip_limit_s)
        return limit

    def state(self) -> dict[str, object]:
        now = self._clock()
        self._advance(now)
        return {
            "model": self.body.model,
            "body": self.body.name,
            "powered": self.powered,
            "power_off_reason": self.power_off_reason,
            "host_connected": self.host_connected,
            "session_open": self.session_open,
            "recording": self.recording,
            "recording_elapsed_s": (round(now - self._recording.started_at, 3)
                                    if self._recording else None),
            "live_view": self.evf_output == ptp.EVF_OUTPUT_PC,
            "evf_output": self.evf_output,
            "evf_mode": self.evf_mode,
            "zoom": self.zoom,
            "zoom_position": list(self.zoom_position),
            "live_view_frames": self.live_view.frames_served if self.live_view else 0,
            "focus": self.live_view.state() if self.live_view else None,
            "movie_mode": self.settings.movie_mode,
            "remote_movie": self.remote_movie,
            "record_target": self._record_status(),
            "capture_destination": self.capture_destination,
            "event_mode": self.event_mode,
            "remote_mode": self.remote_mode,
            "clips": [c.as_dict() for c in self.clips],
            "stills": [s.as_dict() for s in self.store.stills],
            "sdram_stills": [s.as_dict() for s in self.store.sdram.values()],
            "half_pressed": sorted(self.shutter.half_holders),
            "overheated": self._overheated(now),
            "last_still_refusal": self.last_still_refusal,
            "clip_max_bytes": self.clip_max_bytes,
            "movie_bytes_per_s": self.settings.movie_bytes_per_s,
            "pending_files": len(self._pending_files),
            "battery_percent": math.ceil(self.battery - 1e-9),
            "card_free_bytes": round(self.card_free),
            "card_capacity_bytes": self.settings.card_capacity_bytes,
            "available_shots": self.available_shots(),
            "clip_limit_s": self.effective_clip_limit_s(),
            "auto_poweroff_s": self.settings.auto_poweroff_s,
            "auto_poweroff_needs_keepalive": self.settings.auto_poweroff_needs_keepalive,
            "idle_s": round(now - self.last_activity, 3),
            "record_starts": self.record_starts,
            "record_stops": self.record_stops,
            "last_stop_reason": self.last_stop_reason,
            "last_refusal": self.last_refusal,
            "faults": [f.as_dict() for f in self.faults],
            "queued_events": len(self._events),
            "operations": dict(self.operations),
        }

    # ------------------------------------------------------------------ recording

    def set_evf_output(self, value: int) -> Reply:
        if value not in (ptp.EVF_OUTPUT_OFF, ptp.EVF_OUTPUT_TFT, ptp.EVF_OUTPUT_PC):
            return Reply(Rc.INVALID_PARAMETER)
        if value == self.evf_output:
            return Reply(Rc.OK)
        self.evf_output = value
        self.queue_prop(Prop.EVF_OUTPUT_DEVICE)
        if value == ptp.EVF_OUTPUT_OFF and self._recording is not None:
            self._stop_recording("live_view_off", self._clock())  # leaving live view ends a clip
        return Reply(Rc.OK)

    def set_record_status(self, value: int) -> Reply:
        mode = self.remote_movie
        if mode == "hidden":
            return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)
        if mode == "busy":
            self.last_refusal = "remote_movie_busy"
            return Reply(Rc.DEVICE_BUSY)
        now = self._clock()
        if value == ptp.RECORD_TARGET_CARD:
            if self._recording is None:
                refusal = self._start_refusal(from_body=False)
                if refusal is not None:
                    self.last_refusal = refusal[1]
                    return Reply(refusal[0])
                self._start_recording(now, "host")
            return Reply(Rc.OK)
        if value == ptp.RECORD_TARGET_NONE:
            if self._recording is not None:
                self._stop_recording("host", now)
            return Reply(Rc.OK)
        return Reply(Rc.INVALID_PARAMETER)  # SDRAM recording does not exist on this body

    def _record_status(self) -> int:
        return ptp.RECORD_TARGET_CARD if self._recording else ptp.RECORD_TARGET_NONE

    def _start_refusal(self, from_body: bool) -> tuple[int, str] | None:
        """Why a start is refused (response code, reason), or None if it may start."""
        if from_body:
            if self.evf_output == ptp.EVF_OUTPUT_OFF:
                return Rc.DEVICE_BUSY, "live_view_off"
        elif self.evf_output != ptp.EVF_OUTPUT_PC:
            return Rc.DEVICE_BUSY, "live_view_off"
        if not self.settings.movie_mode:
            return Rc.DEVICE_BUSY, "movie_mode_off"
        if self._overheated(self._clock()):
            return Rc.DEVICE_BUSY, "overheated"
        if self.card_free < self.settings.movie_bytes_per_s:  # about one second of video
            return Rc.STORE_FULL, "card_full"
        if self.battery < LOW_BATTERY_PERCENT:
            return Rc.CANON_LOW_BATTERY, "battery_low"
        return None

    def _start_recording(self, now: float, source: str) -> None:
        self._recording = _Recording(now, self._next_file_number, source=source)
        self._next_file_number = self._next_file_number % 9999 + 1
        self.record_starts += 1
        self.last_refusal = None
        self.queue_prop(Prop.EVF_RECORD_STATUS)

    def _stop_recording(self, reason: str, now: float) -> None:
        assert self._recording is not None
        run = self._recording
        duration = now - run.started_at
        size = min(round(run.bytes_written), self.clip_max_bytes)
        # whole bytes: the card loses exactly the clip's size
        self.card_free = float(max(0, round(self.card_free + run.bytes_written - size)))
        clip = Clip(self.store.new_handle(), f"MVI_{run.file_number:04d}.MOV", size, duration,
                    reason, self._wall_clock(), folder=self.store.folder_name)
        self._recording = None
        self.record_stops += 1
        self.last_stop_reason = reason
        self.queue_prop(Prop.EVF_RECORD_STATUS)
        if self.settings.file_write_delay_s > 0:
            self._pending_files.append(_PendingFile(now + self.settings.file_write_delay_s, clip))
        else:
            self._write_file(clip)

    def _write_file(self, clip: Clip) -> None:
        old_shots = self.available_shots()
        self.store.add(clip)
        self._queue(ptp.eos_object_added_record(clip.handle, STORAGE_ID, ptp.OFC_CANON_MOV,
                                                clip.size, FOLDER_HANDLE, clip.name))
        if self.settings.thm_files and self.card_free >= THM_SIZE_BYTES:
            clip.thm = True
            self.card_free -= THM_SIZE_BYTES
            self._queue(ptp.eos_object_added_record(clip.thm_handle, STORAGE_ID, ptp.OFC_CANON_THM,
                                                    THM_SIZE_BYTES, FOLDER_HANDLE, clip.thm_name))
        if self.available_shots() != old_shots:
            self.queue_prop(Prop.AVAILABLE_SHOTS)

    # ------------------------------------------------------------------ shutter button & stills

    def remote_release_on(self, mode: int) -> Reply:
        """EOS RemoteReleaseOn 0x9128: bit 0 half press, bit 1 full press (libgphoto2 sends 1
        for "Press Half", 3 for "Press Full", 2 for capture_image's full press)."""
        if mode & 1:
            self.shutter.press_half("usb")
        if mode & 2:
            code = self._full_press()
            return Reply(code)
        return Reply(Rc.OK)

    def remote_release_off(self, mode: int) -> Reply:
        """EOS RemoteReleaseOff 0x9129: bit 1 releases the full press, bit 0 the half press."""
        if mode & 2:
            self.shutter.release_full()
        if mode & 1:
            self._release_half("usb")
        return Reply(Rc.OK)

    def n3(self, line: str, down: bool) -> dict[str, object]:
        """The N3 wired-remote port: "focus" (half press) or "shutter" (full press) line
        pulled to ground (``down``) or let go, as an optocoupler on the port would."""
        if not self.powered:
            return {"line": line, "down": down, "effect": None, "refused": "powered_off"}
        now = self._clock()
        self._advance(now)
        self.last_activity = now
        stops, starts, stills = self.record_stops, self.record_starts, self._still_count()
        refusal = None
        if line == "focus":
            if down:
                self.shutter.press_half("n3")
            else:
                self._release_half("n3")
        elif line == "shutter":
            if down:
                code = self._full_press()
                refusal = None if code == Rc.OK else self.last_still_refusal
            else:
                self.shutter.release_full()
        else:
            raise ValueError("line must be 'focus' or 'shutter'")
        effect = ("record_start" if self.record_starts > starts
                  else "record_stop" if self.record_stops > stops
                  else "still" if self._still_count() > stills else None)
        return {"line": line, "down": down, "effect": effect, "refused": refusal}

    def _still_count(self) -> int:
        return len(self.store.stills) + len(self.store.sdram)

    def _release_half(self, holder: str) -> None:
        if self.shutter.release_half(holder) and self.body.ml_rec_key:
            self._rec_key_toggle()

    def _rec_key_toggle(self) -> None:
        """Magic Lantern's REC key on HalfShutter: when a half-press is let go, start a movie
        if none runs, else stop it (src/movtweaks.c movie_rec_halfshutter_step)."""
        now = self._clock()
        self._advance(now)
        if self._recording is not None:
            self._stop_recording("rec_key", now)
            return
        refusal = self._start_refusal(from_body=True)
        if refusal is not None:
            self.last_refusal = refusal[1]  # ML does nothing visible over PTP
            return
        self._start_recording(now, "rec_key")

    def _full_press(self) -> int:
        """The shutter fully down: take a still; the response code of the press."""
        self.shutter.press_full()
        refusal = self._still_refusal()
        if refusal is not None:
            self.last_still_refusal = refusal[1]
            return refusal[0]
        self.last_still_refusal = None
        self._take_still()
        return Rc.OK

    def _still_refusal(self) -> tuple[int, str] | None:
        if self._recording is not None:
            return Rc.DEVICE_BUSY, "recording"  # assumed, see docs
        if self.battery < LOW_BATTERY_PERCENT:
            return Rc.CANON_LOW_BATTERY, "battery_low"
        if (self.capture_destination != ptp.CAPTURE_DEST_PC
                and self.card_free < self.settings.still_size_bytes):
            return Rc.STORE_FULL, "card_full"
        return None

    def _take_still(self) -> None:
        jpeg = self.settings.still_format == "jpg"
        number = self._next_file_number
        self._next_file_number = number % 9999 + 1  # stills and movies share the counter
        to_pc = self.capture_destination == ptp.CAPTURE_DEST_PC
        still = Still(self.store.new_handle(), f"IMG_{number:04d}.{'JPG' if jpeg else 'CR2'}",
                      self.settings.still_size_bytes,
                      ptp.OFC_EXIF_JPEG if jpeg else ptp.OFC_CANON_CR2, self._wall_clock(),
                      folder=self.store.folder_name, in_sdram=to_pc)
        old_shots = self.available_shots()
        self.store.add_still(still)
        if to_pc:
            # Capture to the PC: the body asks the host to fetch it (libgphoto2 then reads it
            # with GetPartialObject and acknowledges with TransferComplete).
            self._queue(ptp.eos_request_transfer_record(still.handle, still.object_format,
                                                        still.size, still.name))
            return
        self.card_free -= still.size
        self._queue(ptp.eos_object_added_record(still.handle, STORAGE_ID, still.object_format,
                                                still.size, FOLDER_HANDLE, still.name))
        if self.available_shots() != old_shots:
            self.queue_prop(Prop.AVAILABLE_SHOTS)

    # ------------------------------------------------------------------ heat

    def overheat(self, cool_down_s: float = 0.0) -> None:
        """The sensor got too hot: a running clip ends (file written as at any stop) and new
        starts are refused for ``cool_down_s``."""
        if cool_down_s < 0:
            raise ValueError("cool_down_s must be >= 0")
        now = self._clock()
        self._advance(now)
        if self._recording is not None:
            self._stop_recording("heat", now)
        self._hot_until = now + cool_down_s

    def _overheated(self, now: float) -> bool:
        return self._hot_until is not None and now < self._hot_until

    # ------------------------------------------------------------------ events

    def _queue(self, record: bytes) -> None:
        if self.session_open:
            self._events.append(record)

    def take_events(self) -> bytes:
        """Every queued GetEvent record, oldest first; the queue is empty afterwards."""
        records = b"".join(self._events)
        self._events.clear()
        return records

    def prop_value(self, code: int) -> int | str | None:
        if code in self.strings:
            return self.strings[Prop(code)]
        values: dict[int, int] = {
            Prop.BATTERY_POWER: battery_level(self.battery),
            Prop.AUTO_POWER_OFF: int(self.settings.auto_poweroff_s or 0),
            Prop.AVAILABLE_SHOTS: self.available_shots(),
            Prop.CAPTURE_DESTINATION: self.capture_destination,
            Prop.CURRENT_STORAGE: STORAGE_ID,
            Prop.EVF_OUTPUT_DEVICE: self.evf_output,
            Prop.EVF_MODE: self.evf_mode,
        }
        if self.remote_movie != "hidden":
            values[Prop.EVF_RECORD_STATUS] = self._record_status()
        return values.get(code)

    def queue_prop(self, code: int) -> None:
        value = self.prop_value(code)
        if value is not None:
            self._queue(ptp.eos_prop_value_record(code, value))

    def queue_all_props(self) -> None:
        """The bulk report a fresh EOS event mode starts with: values, then option lists."""
        for code in (Prop.BATTERY_POWER, Prop.AUTO_POWER_OFF, Prop.AVAILABLE_SHOTS,
                     Prop.CAPTURE_DESTINATION, Prop.CURRENT_STORAGE, Prop.EVF_OUTPUT_DEVICE,
                     Prop.EVF_MODE, Prop.EVF_RECORD_STATUS):
            self.queue_prop(code)
        self._queue(ptp.eos_avail_list_record(
            Prop.CAPTURE_DESTINATION, (ptp.CAPTURE_DEST_CARD, ptp.CAPTURE_DEST_PC)))
        self._queue(ptp.eos_avail_list_record(Prop.EVF_MODE, (0, 1)))

    def available_shots(self) -> int:
        if self.capture_destination == ptp.CAPTURE_DEST_PC and self.pc_capacity_known:
            return PC_AVAILABLE_SHOTS
        return int(self.card_free // self.settings.still_size_bytes)

    # ------------------------------------------------------------------ PTP operations

    def handle(self, operation: Operation) -> Reply | None:
        """Answer one operation; None means no answer (a stall fault, or switched off)."""
        now = self._clock()
        self.poll()
        if not self.powered:
            return None
        name = ptp.op_name(operation.code)
        self.operations[name] += 1
        if not self.settings.auto_poweroff_needs_keepalive or operation.code in (
                Op.EOS_KEEP_DEVICE_ON, Op.OPEN_SESSION):
            self.last_activity = now
        fault = take_fault(self.faults, operation.code)
        if fault is not None and fault.kind == "busy":
            return Reply(Rc.DEVICE_BUSY)
        if fault is not None and fault.kind == "stall":
            if fault.reply_after_s is None:
                return None
            return replace(execute(self, operation), delay_s=fault.reply_after_s)
        return execute(self, operation)
