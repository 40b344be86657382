"""The virtual Canon EOS 5D Mark II: state, properties, event queue and PTP operations.

Sans-I/O: ``VirtualEos5D2.handle(operation)`` maps one decoded PTP operation to a reply;
time comes from injected clocks, and timers (clip limit, file write, auto power-off, battery)
are exposed as ``next_deadline()`` + ``poll()`` so the socket loop sleeps until one is due.
The transport (``server.py``) owns connections; it reads ``powered`` after every call to
close or reopen its sockets.

What is modelled, and which behaviours are assumptions about the real body, is written up
in docs/virtual-camera.md.
"""

from __future__ import annotations

import math
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.ptp import Op, Prop, Rc
from pitrigger.virtualcam.ptpip import Operation, Reply

MODEL_NAME = "Canon EOS 5D Mark II"
MANUFACTURER = "Canon Inc."
DEVICE_VERSION = "3-1.0.7"
SERIAL_NUMBER = "0123456789abcdef0123456789abcdef"

STORAGE_ID = 0x00010001
DCIM_HANDLE = 0x20000001
FOLDER_HANDLE = 0x20000002
FOLDER_NAME = "100EOS5D"
FIRST_CLIP_HANDLE = 0x20000100
THM_HANDLE_OFFSET = 0x00100000  # a clip's .THM companion: clip handle + this
THM_SIZE_BYTES = 12_288

# FAT32 caps a file just under 4 GiB; the body stops there by itself (no new file).
# Kept below 0xFFFFFFFF, which libgphoto2 reads as "size does not fit, ask MTP".
CLIP_MAX_BYTES = 0xFFFF0000
# 1080p H.264 at the rate that makes 4 GB last about 12 minutes.
MOVIE_BYTES_PER_S = CLIP_MAX_BYTES // 720
CLIP_MAX_S = 29 * 60 + 59
# Below this the body refuses to start (assumption, see docs): about one second of video.
CARD_MIN_FREE_BYTES = MOVIE_BYTES_PER_S
LOW_BATTERY_PERCENT = 5.0
STILL_SIZE_BYTES = 6_000_000  # for AvailableShots on the card
PC_AVAILABLE_SHOTS = 9999  # what AvailableShots reads after PCHDDCapacity

# The body's operation list (libgphoto2 camlibs/ptp2/cameras/canon-eos5dmark2.txt, fw 1.0.7).
OPERATIONS_5D2: tuple[int, ...] = (
    0x1014, 0x1015, 0x1016, 0x1001, 0x1002, 0x1003, 0x1006, 0x1004, 0x9101, 0x1005, 0x9102,
    0x1007, 0x1008, 0x9103, 0x1009, 0x9104, 0x100A, 0x101B, 0x9107, 0x100C, 0x100D, 0x100B,
    0x9105, 0x100F, 0x9106, 0x9110, 0x9127, 0x910B, 0x9108, 0x9109, 0x910C, 0x910E, 0x910F,
    0x9125, 0x9126, 0x9115, 0x9114, 0x9113, 0x9116, 0x9117, 0x9120, 0x91F0, 0x9118, 0x9121,
    0x91F1, 0x911D, 0x910A, 0x911B, 0x911C, 0x911E, 0x911A, 0x9153, 0x9154, 0x9160, 0x9155,
    0x9157, 0x9158, 0x9159, 0x915A, 0x911F, 0x91FE, 0x91FF, 0x9128, 0x9129, 0x9801, 0x9802,
    0x9803, 0x9804, 0x9805, 0x91C0, 0x91C1, 0x91C2, 0x91C3, 0x91C4, 0x91C5, 0x91C6, 0x91C7,
    0x91C8, 0x91C9, 0x91CA, 0x91CB, 0x91CC, 0x91CE, 0x91CF, 0x91E1, 0x91E2, 0x91E3, 0x91E4,
    0x91E5, 0x91E6, 0x91E7, 0x91E8, 0x91E9, 0x91EA, 0x91EB, 0x91EC, 0x91ED, 0x91F2, 0x91F3,
    0x91F4, 0x91F7, 0x9122, 0x9123, 0x9124, 0x91F5, 0x91F6, 0x9052, 0x9053, 0x9057, 0x9058,
    0x9059, 0x905A, 0x905F,
)
EVENTS_5D2 = (0x4009, 0x4004, 0x4005, 0x4003, 0x4002, 0x4007, 0xC101)
DEVICE_PROPS_5D2 = (
    ptp.PROP_DEVICE_FRIENDLY_NAME, ptp.PROP_PERCEIVED_DEVICE_TYPE,
    ptp.PROP_SESSION_INITIATOR_INFO,
)
CAPTURE_FORMATS_5D2 = (0x3801,)
IMAGE_FORMATS_5D2 = (0x3001, 0x3002, 0x3006, 0x300A, 0x3008, 0x3801, 0xB101, 0xB103, 0xBF02,
                     0x3800, 0xB104)
# GetDeviceInfoEx: the EOS event codes and properties; the third list's meaning is unknown,
# libgphoto2 only needs the reply to be well formed.
EOS_EVENTS = (0xC181, 0xC182, 0xC189, 0xC18A, 0xC18B, 0xC101)
EOS_UNKNOWN_LIST = (0x00000001,)

# How the remote movie start behaves: a body that supports it, one that never reports
# EVFRecordStatus (0xD1B8), and one that reports it but answers Device Busy to every set.
REMOTE_MOVIE_MODES = ("supported", "hidden", "busy")

OPERATION_FAULT_KINDS = ("busy", "stall")


@dataclass
class CameraSettings:
    """Everything a test or the CLI may choose; ``reset`` returns to these values."""

    clip_limit_s: float | None = None  # None: the 4 GB file cap (about 12 minutes)
    battery_percent: float = 100.0
    card_capacity_bytes: int = 32_270_778_368
    card_free_bytes: int = 16_126_214_144
    movie_mode: bool = True  # menu "Live View/Movie func. set." = Stills+movie
    remote_movie: str = "supported"
    auto_poweroff_s: float | None = None  # None or 0: never
    # True: only KeepDeviceOn (0x911D), OpenSession and the body restart the idle timer;
    # False: any PTP operation does (which of the two the real body does is unverified).
    auto_poweroff_needs_keepalive: bool = False
    file_write_delay_s: float = 0.0  # from stop until the MOV appears (ObjectAddedEx)
    first_file_number: int = 1
    movie_bytes_per_s: int = MOVIE_BYTES_PER_S
    battery_drain_pct_per_min: float = 1.0  # while recording; idle drain is not modelled
    thm_files: bool = False  # also write and announce MVI_NNNN.THM after each MOV

    def validate(self) -> None:
        if self.remote_movie not in REMOTE_MOVIE_MODES:
            raise ValueError(f"remote_movie must be one of {REMOTE_MOVIE_MODES}")
        if self.clip_limit_s is not None and self.clip_limit_s <= 0:
            raise ValueError("clip_limit_s must be positive")
        if not 0 <= self.battery_percent <= 100:
            raise ValueError("battery_percent must be within 0..100")
        if self.card_free_bytes < 0 or self.card_free_bytes > self.card_capacity_bytes:
            raise ValueError("card_free_bytes must be within 0..card_capacity_bytes")
        if self.auto_poweroff_s is not None and self.auto_poweroff_s < 0:
            raise ValueError("auto_poweroff_s must be >= 0")
        if not 1 <= self.first_file_number <= 9999:
            raise ValueError("first_file_number must be within 1..9999")
        if self.movie_bytes_per_s <= 0 or self.file_write_delay_s < 0:
            raise ValueError("movie_bytes_per_s must be > 0 and file_write_delay_s >= 0")
        if self.battery_drain_pct_per_min < 0:
            raise ValueError("battery_drain_pct_per_min must be >= 0")


@dataclass
class Clip:
    handle: int
    name: str
    size: int
    duration_s: float
    stop_reason: str
    created_unix: float
    thm: bool = False  # its MVI_NNNN.THM companion is on the card

    @property
    def thm_name(self) -> str:
        return self.name.rsplit(".", 1)[0] + ".THM"

    @property
    def thm_handle(self) -> int:
        return self.handle + THM_HANDLE_OFFSET

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "thm": self.thm_name if self.thm else None,
            "folder": f"/DCIM/{FOLDER_NAME}",
            "handle": self.handle,
            "size": self.size,
            "duration_s": round(self.duration_s, 3),
            "stop_reason": self.stop_reason,
        }


@dataclass
class OperationFault:
    """For the next ``remaining`` matching ops: answer Device Busy ("busy"), or ("stall")
    withhold the answer (``reply_after_s`` None: never answer, do not execute; a number:
    execute now, answer that much later, like a slow body)."""

    kind: str
    remaining: int
    operation: int | None = None  # None: any operation
    reply_after_s: float | None = None

    def matches(self, code: int) -> bool:
        return self.operation is None or self.operation == code

    def as_dict(self) -> dict[str, object]:
        described: dict[str, object] = {
            "fault": self.kind,
            "remaining": self.remaining,
            "operation": None if self.operation is None else ptp.op_name(self.operation),
        }
        if self.kind == "stall":
            described["reply_after_s"] = self.reply_after_s
        return described


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


def battery_level(percent: float) -> int:
    """EOS BatteryPower level for a charge (libgphoto2 shows Low/25%/50%/75%/100%)."""
    if percent >= 88:
        return ptp.BATTERY_LEVEL_100
    if percent >= 63:
        return ptp.BATTERY_LEVEL_75
    if percent >= 38:
        return ptp.BATTERY_LEVEL_50
    if percent >= 13:
        return ptp.BATTERY_LEVEL_25
    return ptp.BATTERY_LEVEL_LOW


def parse_operation_name(operation: str | int | None) -> int | None:
    """Accept an ``Op`` name ("SetDevicePropValueEx", "EOS_GET_EVENT"), a code, or None."""
    if operation is None or isinstance(operation, int):
        return operation
    text = operation.strip()
    if text.lower().startswith("0x"):
        return int(text, 16)
    wanted = text.replace("_", "").lower()
    for op in Op:
        plain = op.name.replace("_", "").lower()
        if wanted in (plain, plain.removeprefix("eos")):
            return int(op)
    raise ValueError(f"unknown operation {operation!r}")


class VirtualEos5D2:
    """A Canon EOS 5D Mark II as far as movie remote control over PTP is concerned."""

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
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self, keep_clips: bool = False) -> None:
        """Back to the start-up state and settings; faults cleared; clips kept on request."""
        old_clips = list(getattr(self, "clips", [])) if keep_clips else []
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
        self.capture_destination = ptp.CAPTURE_DEST_CARD
        self.pc_capacity_known = False
        self.strings = {Prop.OWNER: "", Prop.ARTIST: "", Prop.COPYRIGHT: "",
                        Prop.SERIAL_NUMBER: SERIAL_NUMBER}
        self.battery = float(self.settings.battery_percent)
        self.card_free = float(self.settings.card_free_bytes)
        self.clips: list[Clip] = old_clips
        if keep_clips:
            # the clips still occupy the card
            used = sum(c.size + (THM_SIZE_BYTES if c.thm else 0) for c in old_clips)
            self.card_free = max(0.0, self.card_free - used)
        self._next_file_number = old_next_number or self.settings.first_file_number
        self._next_handle = max([c.handle for c in old_clips], default=FIRST_CLIP_HANDLE - 1) + 1
        self._recording: _Recording | None = None
        self._pending_files: list[_PendingFile] = []
        self._events: list[bytes] = []
        self.faults: list[OperationFault] = []
        self.record_starts = 0
        self.record_stops = 0
        self.last_stop_reason: str | None = None
        self.last_refusal: str | None = None
        self.operations: Counter[str] = Counter()
        self._accounted_at = now
        self.last_activity = now

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """The model's (monotonic) clock, for a loop that sleeps until ``next_deadline()``."""
        return self._clock()

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
            self._queue_prop(Prop.BATTERY_POWER)

    def _recording_remaining(self, now: float) -> tuple[float, str]:
        """Seconds until the running clip stops by itself, and why."""
        assert self._recording is not None
        elapsed = now - self._recording.started_at
        limits = [(CLIP_MAX_BYTES / self.settings.movie_bytes_per_s - elapsed, "clip_limit"),
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
        self._end_session()
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
        self._end_session()

    def _end_session(self) -> None:
        self.session_open = False
        self.event_mode = 0
        self.remote_mode = 0
        self._events.clear()

    # ------------------------------------------------------------------ faults & settings

    def inject_operation_fault(self, kind: str, count: int = 1,
                               operation: str | int | None = None,
                               reply_after_s: float | None = None) -> None:
        if kind not in OPERATION_FAULT_KINDS:
            raise ValueError(f"operation fault must be one of {OPERATION_FAULT_KINDS}")
        if count < 1:
            raise ValueError("count must be >= 1")
        if reply_after_s is not None and (kind != "stall" or reply_after_s <= 0):
            raise ValueError("reply_after_s is a positive delay for a stall")
        self.faults.append(OperationFault(kind, count, parse_operation_name(operation),
                                          reply_after_s))

    def _take_fault(self, code: int) -> OperationFault | None:
        for fault in self.faults:
            if fault.matches(code):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def apply_settings(self, **changes: object) -> None:
        """Change settings at run time (same names as ``CameraSettings`` plus ``evf_output``)."""
        now = self._clock()
        self._advance(now)
        evf_output = changes.pop("evf_output", None)
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
        old_shots, old_level = self._available_shots(), battery_level(self.battery)
        old_apo, old_remote = self.settings.auto_poweroff_s, self.settings.remote_movie
        self.settings = candidate
        self.battery = candidate.battery_percent
        self.card_free = float(candidate.card_free_bytes)
        if "first_file_number" in changes:
            self._next_file_number = candidate.first_file_number
        if self.session_open:
            if self._available_shots() != old_shots:
                self._queue_prop(Prop.AVAILABLE_SHOTS)
            if battery_level(self.battery) != old_level:
                self._queue_prop(Prop.BATTERY_POWER)
            if candidate.auto_poweroff_s != old_apo:
                self._queue_prop(Prop.AUTO_POWER_OFF)
            if old_remote == "hidden" and candidate.remote_movie != "hidden":
                self._queue_prop(Prop.EVF_RECORD_STATUS)
        if "auto_poweroff_s" in changes:
            self.last_activity = now  # the idle timer starts when it is set
        if evf_output is not None:
            self._set_evf_output(int(evf_output))
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

    def effective_clip_limit_s(self) -> float:
        limit = min(CLIP_MAX_BYTES / self.settings.movie_bytes_per_s, CLIP_MAX_S)
        if self.settings.clip_limit_s is not None:
            limit = min(limit, self.settings.clip_limit_s)
        return limit

    def state(self) -> dict[str, object]:
        now = self._clock()
        self._advance(now)
        return {
            "model": MODEL_NAME,
            "powered": self.powered,
            "power_off_reason": self.power_off_reason,
            "host_connected": self.host_connected,
            "session_open": self.session_open,
            "recording": self.recording,
            "recording_elapsed_s": (round(now - self._recording.started_at, 3)
                                    if self._recording else None),
            "live_view": self.evf_output == ptp.EVF_OUTPUT_PC,
            "evf_output": self.evf_output,
            "movie_mode": self.settings.movie_mode,
            "remote_movie": self.settings.remote_movie,
            "record_target": self._record_status(),
            "capture_destination": self.capture_destination,
            "event_mode": self.event_mode,
            "remote_mode": self.remote_mode,
            "clips": [c.as_dict() for c in self.clips],
            "pending_files": len(self._pending_files),
            "battery_percent": math.ceil(self.battery - 1e-9),
            "card_free_bytes": round(self.card_free),
            "card_capacity_bytes": self.settings.card_capacity_bytes,
            "available_shots": self._available_shots(),
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
        if self.card_free < CARD_MIN_FREE_BYTES:
            return Rc.STORE_FULL, "card_full"
        if self.battery < LOW_BATTERY_PERCENT:
            return Rc.CANON_LOW_BATTERY, "battery_low"
        return None

    def _start_recording(self, now: float, source: str) -> None:
        self._recording = _Recording(now, self._next_file_number, source=source)
        self._next_file_number = self._next_file_number % 9999 + 1
        self.record_starts += 1
        self.last_refusal = None
        self._queue_prop(Prop.EVF_RECORD_STATUS)

    def _stop_recording(self, reason: str, now: float) -> None:
        assert self._recording is not None
        run = self._recording
        duration = now - run.started_at
        size = min(round(run.bytes_written), CLIP_MAX_BYTES)
        # whole bytes: the card loses exactly the clip's size
        self.card_free = float(max(0, round(self.card_free + run.bytes_written - size)))
        clip = Clip(self._next_handle, f"MVI_{run.file_number:04d}.MOV", size, duration, reason,
                    self._wall_clock())
        self._next_handle += 1
        self._recording = None
        self.record_stops += 1
        self.last_stop_reason = reason
        self._queue_prop(Prop.EVF_RECORD_STATUS)
        if self.settings.file_write_delay_s > 0:
            self._pending_files.append(_PendingFile(now + self.settings.file_write_delay_s, clip))
        else:
            self._write_file(clip)

    def _write_file(self, clip: Clip) -> None:
        old_shots = self._available_shots()
        self.clips.append(clip)
        self._queue(ptp.eos_object_added_record(clip.handle, STORAGE_ID, ptp.OFC_CANON_MOV,
                                                clip.size, FOLDER_HANDLE, clip.name))
        if self.settings.thm_files and self.card_free >= THM_SIZE_BYTES:
            clip.thm = True
            self.card_free -= THM_SIZE_BYTES
            self._queue(ptp.eos_object_added_record(clip.thm_handle, STORAGE_ID, ptp.OFC_CANON_THM,
                                                    THM_SIZE_BYTES, FOLDER_HANDLE, clip.thm_name))
        if self._available_shots() != old_shots:
            self._queue_prop(Prop.AVAILABLE_SHOTS)

    # ------------------------------------------------------------------ events

    def _queue(self, record: bytes) -> None:
        if self.session_open:
            self._events.append(record)

    def _prop_value(self, code: int) -> int | str | None:
        if code in self.strings:
            return self.strings[Prop(code)]
        values: dict[int, int] = {
            Prop.BATTERY_POWER: battery_level(self.battery),
            Prop.AUTO_POWER_OFF: int(self.settings.auto_poweroff_s or 0),
            Prop.AVAILABLE_SHOTS: self._available_shots(),
            Prop.CAPTURE_DESTINATION: self.capture_destination,
            Prop.CURRENT_STORAGE: STORAGE_ID,
            Prop.EVF_OUTPUT_DEVICE: self.evf_output,
            Prop.EVF_MODE: self.evf_mode,
        }
        if self.settings.remote_movie != "hidden":
            values[Prop.EVF_RECORD_STATUS] = self._record_status()
        return values.get(code)

    def _queue_prop(self, code: int) -> None:
        value = self._prop_value(code)
        if value is not None:
            self._queue(ptp.eos_prop_value_record(code, value))

    def _queue_all_props(self) -> None:
        """The bulk report a fresh EOS event mode starts with: values, then option lists."""
        for code in (Prop.BATTERY_POWER, Prop.AUTO_POWER_OFF, Prop.AVAILABLE_SHOTS,
                     Prop.CAPTURE_DESTINATION, Prop.CURRENT_STORAGE, Prop.EVF_OUTPUT_DEVICE,
                     Prop.EVF_MODE, Prop.EVF_RECORD_STATUS):
            self._queue_prop(code)
        self._queue(ptp.eos_avail_list_record(
            Prop.CAPTURE_DESTINATION, (ptp.CAPTURE_DEST_CARD, ptp.CAPTURE_DEST_PC)))
        self._queue(ptp.eos_avail_list_record(Prop.EVF_MODE, (0, 1)))

    def _available_shots(self) -> int:
        if self.capture_destination == ptp.CAPTURE_DEST_PC and self.pc_capacity_known:
            return PC_AVAILABLE_SHOTS
        return int(self.card_free // STILL_SIZE_BYTES)

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
        fault = self._take_fault(operation.code)
        if fault is not None and fault.kind == "busy":
            return Reply(Rc.DEVICE_BUSY)
        if fault is not None and fault.kind == "stall":
            if fault.reply_after_s is None:
                return None
            return replace(self._execute(operation), delay_s=fault.reply_after_s)
        return self._execute(operation)

    def _execute(self, operation: Operation) -> Reply:
        if operation.code not in (Op.GET_DEVICE_INFO, Op.OPEN_SESSION) and not self.session_open:
            return Reply(Rc.SESSION_NOT_OPEN)
        handler = self._handlers().get(operation.code)
        if handler is None:
            if operation.code in OPERATIONS_5D2:
                return Reply(Rc.GENERAL_ERROR)  # listed by the body, not modelled here
            return Reply(Rc.OPERATION_NOT_SUPPORTED)
        return handler(operation)

    def _handlers(self) -> dict[int, Callable[[Operation], Reply]]:
        return {
            Op.GET_DEVICE_INFO: self._op_get_device_info,
            Op.OPEN_SESSION: self._op_open_session,
            Op.CLOSE_SESSION: self._op_close_session,
            Op.GET_STORAGE_IDS: self._op_get_storage_ids,
            Op.EOS_GET_STORAGE_IDS: self._op_get_storage_ids,
            Op.GET_STORAGE_INFO: self._op_get_storage_info,
            Op.EOS_GET_STORAGE_INFO: self._op_get_storage_info,
            Op.GET_NUM_OBJECTS: self._op_get_num_objects,
            Op.GET_OBJECT_HANDLES: self._op_get_object_handles,
            Op.GET_OBJECT_INFO: self._op_get_object_info,
            Op.EOS_GET_OBJECT_INFO_EX: self._op_get_object_info_ex,
            Op.DELETE_OBJECT: self._op_delete_object,
            Op.GET_DEVICE_PROP_DESC: self._op_get_device_prop_desc,
            Op.GET_DEVICE_PROP_VALUE: self._op_get_device_prop_value,
            Op.SET_DEVICE_PROP_VALUE: self._op_ok,
            Op.EOS_GET_DEVICE_INFO_EX: self._op_get_device_info_ex,
            Op.EOS_SET_DEVICE_PROP_VALUE_EX: self._op_set_device_prop_value_ex,
            Op.EOS_SET_REMOTE_MODE: self._op_set_remote_mode,
            Op.EOS_GET_REMOTE_MODE: self._op_get_remote_mode,
            Op.EOS_SET_EVENT_MODE: self._op_set_event_mode,
            Op.EOS_GET_EVENT: self._op_get_event,
            Op.EOS_PC_HDD_CAPACITY: self._op_pc_hdd_capacity,
            Op.EOS_KEEP_DEVICE_ON: self._op_ok,
            Op.EOS_REQUEST_DEVICE_PROP_VALUE: self._op_request_device_prop_value,
            Op.EOS_SET_UI_LOCK: self._op_ok,
            Op.EOS_RESET_UI_LOCK: self._op_ok,
            Op.EOS_AF_CANCEL: self._op_ok,
            Op.EOS_TRANSFER_COMPLETE: self._op_ok,
            Op.EOS_GET_VIEWFINDER_DATA: self._op_not_ready,
            Op.EOS_REMOTE_RELEASE: self._op_still_capture,
            Op.EOS_REMOTE_RELEASE_ON: self._op_still_capture,
            Op.EOS_REMOTE_RELEASE_OFF: self._op_ok,
        }

    def _op_ok(self, operation: Operation) -> Reply:
        return Reply(Rc.OK)

    def _op_not_ready(self, operation: Operation) -> Reply:
        return Reply(Rc.CANON_NOT_READY)  # no live-view frames are modelled

    def _op_still_capture(self, operation: Operation) -> Reply:
        # Stills are not modelled; during a movie the body is busy anyway.
        return Reply(Rc.DEVICE_BUSY if self.recording else Rc.GENERAL_ERROR)

    def _op_get_device_info(self, operation: Operation) -> Reply:
        data = b"".join((
            ptp.u16(100),  # StandardVersion
            ptp.u32(6),  # VendorExtensionID: Microsoft, as the body says; libgphoto2 -> Canon
            ptp.u16(100),
            ptp.ptp_string("microsoft.com: 1.0;"),
            ptp.u16(0),  # FunctionalMode
            ptp.u16_array(OPERATIONS_5D2),
            ptp.u16_array(EVENTS_5D2),
            ptp.u16_array(DEVICE_PROPS_5D2),
            ptp.u16_array(CAPTURE_FORMATS_5D2),
            ptp.u16_array(IMAGE_FORMATS_5D2),
            ptp.ptp_string(MANUFACTURER),
            ptp.ptp_string(MODEL_NAME),
            ptp.ptp_string(DEVICE_VERSION),
            ptp.ptp_string(SERIAL_NUMBER),
        ))
        return Reply(Rc.OK, data=data)

    def _op_open_session(self, operation: Operation) -> Reply:
        if self.session_open:
            return Reply(Rc.SESSION_ALREADY_OPENED)
        if not operation.params or operation.params[0] == 0:
            return Reply(Rc.INVALID_PARAMETER)
        self.session_open = True
        self._events.clear()
        return Reply(Rc.OK)

    def _op_close_session(self, operation: Operation) -> Reply:
        self._end_session()
        return Reply(Rc.OK)

    def _op_get_storage_ids(self, operation: Operation) -> Reply:
        return Reply(Rc.OK, data=ptp.u32_array([STORAGE_ID]))

    def _op_get_storage_info(self, operation: Operation) -> Reply:
        if not operation.params or operation.params[0] != STORAGE_ID:
            return Reply(Rc.INVALID_STORAGE_ID)
        data = b"".join((
            ptp.u16(ptp.STORAGE_TYPE_REMOVABLE_RAM),
            ptp.u16(ptp.FILESYSTEM_DCF),
            ptp.u16(ptp.ACCESS_READ_WRITE),
            ptp.u64(self.settings.card_capacity_bytes),
            ptp.u64(int(self.card_free)),
            ptp.u32(0xFFFFFFFF),  # free space in images: not reported
            ptp.ptp_string("CF"),
            ptp.ptp_string(""),
        ))
        return Reply(Rc.OK, data=data)

    def _children(self, storage: int, parent: int) -> list[int] | None:
        """Object handles below ``parent`` (HANDLE_ALL = root, 0 = everything)."""
        if storage not in (STORAGE_ID, ptp.HANDLE_ALL, 0):
            return None
        clips: list[int] = []
        for clip in self.clips:
            clips += [clip.handle, clip.thm_handle] if clip.thm else [clip.handle]
        if parent == ptp.HANDLE_ALL:
            return [DCIM_HANDLE]
        if parent == 0:
            return [DCIM_HANDLE, FOLDER_HANDLE, *clips]
        if parent == DCIM_HANDLE:
            return [FOLDER_HANDLE]
        if parent == FOLDER_HANDLE:
            return clips
        return [] if self._find_file(parent)[0] else None

    def _find_file(self, handle: int) -> tuple[Clip | None, bool]:
        """The clip a handle belongs to, and whether the handle is its .THM."""
        for clip in self.clips:
            if clip.handle == handle:
                return clip, False
            if clip.thm and clip.thm_handle == handle:
                return clip, True
        return None, False

    def _op_get_num_objects(self, operation: Operation) -> Reply:
        storage, _fmt, parent = (*operation.params, 0, 0, 0)[:3]
        children = self._children(storage, parent)
        if children is None:
            return Reply(Rc.INVALID_OBJECT_HANDLE)
        return Reply(Rc.OK, params=(len(children),))

    def _op_get_object_handles(self, operation: Operation) -> Reply:
        storage, _fmt, parent = (*operation.params, 0, 0, 0)[:3]
        children = self._children(storage, parent)
        if children is None:
            return Reply(Rc.INVALID_OBJECT_HANDLE)
        return Reply(Rc.OK, data=ptp.u32_array(children))

    def _object_fields(self, handle: int) -> tuple[int, int, str, int, float] | None:
        """(format, size, name, parent, unix time) of an object."""
        if handle == DCIM_HANDLE:
            return ptp.OFC_ASSOCIATION, 0, "DCIM", 0, 0.0
        if handle == FOLDER_HANDLE:
            return ptp.OFC_ASSOCIATION, 0, FOLDER_NAME, DCIM_HANDLE, 0.0
        clip, is_thm = self._find_file(handle)
        if clip is None:
            return None
        if is_thm:
            return (ptp.OFC_CANON_THM, THM_SIZE_BYTES, clip.thm_name, FOLDER_HANDLE,
                    clip.created_unix)
        return ptp.OFC_CANON_MOV, clip.size, clip.name, FOLDER_HANDLE, clip.created_unix

    def _op_get_object_info(self, operation: Operation) -> Reply:
        fields = self._object_fields(operation.params[0] if operation.params else 0)
        if fields is None:
            return Reply(Rc.INVALID_OBJECT_HANDLE)
        object_format, size, name, parent, unix_time = fields
        folder = object_format == ptp.OFC_ASSOCIATION
        stamp = ptp.ptp_datetime(unix_time or self._wall_clock())
        data = b"".join((
            ptp.u32(STORAGE_ID), ptp.u16(object_format), ptp.u16(0), ptp.u32(size),
            ptp.u16(0), ptp.u32(0), ptp.u32(0), ptp.u32(0),  # no thumbnail
            ptp.u32(1920 if not folder else 0), ptp.u32(1080 if not folder else 0), ptp.u32(0),
            ptp.u32(parent), ptp.u16(ptp.ASSOCIATION_GENERIC_FOLDER if folder else 0),
            ptp.u32(0), ptp.u32(0),
            ptp.ptp_string(name), ptp.ptp_string(stamp), ptp.ptp_string(stamp),
            ptp.ptp_string(""),
        ))
        return Reply(Rc.OK, data=data)

    def _op_get_object_info_ex(self, operation: Operation) -> Reply:
        storage, parent = (*operation.params, 0, 0)[:2]
        children = self._children(storage, parent)
        if children is None:
            return Reply(Rc.INVALID_OBJECT_HANDLE)
        entries = []
        for handle in children:
            fields = self._object_fields(handle)
            assert fields is not None
            object_format, size, name, _parent, unix_time = fields
            attributes = 0x10 if object_format == ptp.OFC_ASSOCIATION else 0x20  # FAT dir/file
            entries.append(ptp.eos_folder_entry(handle, STORAGE_ID, object_format, attributes,
                                                size, name, int(unix_time)))
        return Reply(Rc.OK, data=ptp.u32(len(entries)) + b"".join(entries))

    def _op_delete_object(self, operation: Operation) -> Reply:
        clip, is_thm = self._find_file(operation.params[0] if operation.params else 0)
        if clip is None:
            return Reply(Rc.INVALID_OBJECT_HANDLE)
        freed = THM_SIZE_BYTES if clip.thm else 0
        if is_thm:
            clip.thm = False
        else:  # the model keeps a THM only beside its MOV
            self.clips.remove(clip)
            freed += clip.size
        self.card_free = min(float(self.settings.card_capacity_bytes), self.card_free + freed)
        return Reply(Rc.OK)

    def _standard_prop(self, code: int) -> tuple[int, int, str | int] | None:
        """(data type, get/set, value) of the body's three standard properties."""
        if code == ptp.PROP_DEVICE_FRIENDLY_NAME:
            return ptp.DataType.STR, 0, MODEL_NAME
        if code == ptp.PROP_PERCEIVED_DEVICE_TYPE:
            return ptp.DataType.UINT32, 0, 1
        if code == ptp.PROP_SESSION_INITIATOR_INFO:
            return ptp.DataType.STR, 1, "Unknown Initiator"
        return None

    @staticmethod
    def _pack_value(data_type: int, value: str | int) -> bytes:
        return ptp.ptp_string(value) if isinstance(value, str) else ptp.u32(value)

    def _op_get_device_prop_desc(self, operation: Operation) -> Reply:
        prop = self._standard_prop(operation.params[0] if operation.params else 0)
        if prop is None:
            return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)
        data_type, get_set, value = prop
        packed = self._pack_value(data_type, value)
        data = (ptp.u16(operation.params[0]) + ptp.u16(data_type) + ptp.u8(get_set)
                + packed + packed + ptp.u8(0))
        return Reply(Rc.OK, data=data)

    def _op_get_device_prop_value(self, operation: Operation) -> Reply:
        prop = self._standard_prop(operation.params[0] if operation.params else 0)
        if prop is None:
            return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)
        return Reply(Rc.OK, data=self._pack_value(prop[0], prop[2]))

    def _op_get_device_info_ex(self, operation: Operation) -> Reply:
        props = [Prop.BATTERY_POWER, Prop.AUTO_POWER_OFF, Prop.OWNER, Prop.AVAILABLE_SHOTS,
                 Prop.CAPTURE_DESTINATION, Prop.CURRENT_STORAGE, Prop.SERIAL_NUMBER,
                 Prop.EVF_OUTPUT_DEVICE, Prop.EVF_MODE, Prop.ARTIST, Prop.COPYRIGHT]
        if self.settings.remote_movie != "hidden":
            props.append(Prop.EVF_RECORD_STATUS)
        body = (ptp.u32_array(EOS_EVENTS) + ptp.u32_array(props)
                + ptp.u32_array(EOS_UNKNOWN_LIST))
        return Reply(Rc.OK, data=ptp.u32(4 + len(body)) + body)

    def _op_set_remote_mode(self, operation: Operation) -> Reply:
        self.remote_mode = operation.params[0] if operation.params else 0
        return Reply(Rc.OK)

    def _op_get_remote_mode(self, operation: Operation) -> Reply:
        return Reply(Rc.OK, params=(self.remote_mode,))

    def _op_set_event_mode(self, operation: Operation) -> Reply:
        mode = operation.params[0] if operation.params else 0
        if mode and not self.event_mode:
            self._queue_all_props()
        self.event_mode = mode
        return Reply(Rc.OK)

    def _op_get_event(self, operation: Operation) -> Reply:
        records = b"".join(self._events)
        self._events.clear()
        return Reply(Rc.OK, data=records + ptp.EOS_EVENT_TERMINATOR)

    def _op_pc_hdd_capacity(self, operation: Operation) -> Reply:
        self.pc_capacity_known = True
        if self.capture_destination == ptp.CAPTURE_DEST_PC:
            self._queue_prop(Prop.AVAILABLE_SHOTS)
        return Reply(Rc.OK)

    def _op_request_device_prop_value(self, operation: Operation) -> Reply:
        code = operation.params[0] if operation.params else 0
        if self._prop_value(code) is None:
            return Reply(Rc.GENERAL_ERROR)  # what libgphoto2 expects for an absent property
        self._queue_prop(code)
        return Reply(Rc.OK)

    def _op_set_device_prop_value_ex(self, operation: Operation) -> Reply:
        data = operation.data or b""
        if len(data) < 12:
            return Reply(Rc.INVALID_PARAMETER)
        size, code = struct.unpack_from("<II", data, 0)
        payload = data[8:size] if 8 < size <= len(data) else data[8:]
        if code in self.strings and code != Prop.SERIAL_NUMBER:
            self.strings[Prop(code)] = payload.split(b"\x00", 1)[0].decode("ascii", "replace")
            self._queue_prop(code)
            return Reply(Rc.OK)
        value = struct.unpack_from("<I", payload.ljust(4, b"\x00"), 0)[0]
        if code == Prop.EVF_RECORD_STATUS:
            return self._set_record_status(value & 0xFFFF)
        if code == Prop.EVF_OUTPUT_DEVICE:
            return self._set_evf_output(value)
        if code == Prop.CAPTURE_DESTINATION:
            if value not in (ptp.CAPTURE_DEST_CARD, ptp.CAPTURE_DEST_PC):
                return Reply(Rc.INVALID_PARAMETER)
            self.capture_destination = value
            self._queue_prop(Prop.CAPTURE_DESTINATION)
            self._queue_prop(Prop.AVAILABLE_SHOTS)
            return Reply(Rc.OK)
        if code == Prop.EVF_MODE:
            if value not in (0, 1):
                return Reply(Rc.INVALID_PARAMETER)
            self.evf_mode = value
            self._queue_prop(Prop.EVF_MODE)
            return Reply(Rc.OK)
        return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)

    def _set_evf_output(self, value: int) -> Reply:
        if value not in (ptp.EVF_OUTPUT_OFF, ptp.EVF_OUTPUT_TFT, ptp.EVF_OUTPUT_PC):
            return Reply(Rc.INVALID_PARAMETER)
        if value == self.evf_output:
            return Reply(Rc.OK)
        self.evf_output = value
        self._queue_prop(Prop.EVF_OUTPUT_DEVICE)
        if value == ptp.EVF_OUTPUT_OFF and self._recording is not None:
            self._stop_recording("live_view_off", self._clock())  # leaving live view ends a clip
        return Reply(Rc.OK)

    def _set_record_status(self, value: int) -> Reply:
        mode = self.settings.remote_movie
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
