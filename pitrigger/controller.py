"""What happens when the button is pressed.

Everything that decides what the camera is told and what the motor says lives in this file:
the recording controller is a pure state machine (no I/O, no threads, no clock of its own).
The daemon feeds it gestures, camera reports and the time; it answers with effects — camera
commands, haptic cues, journal records, a power-off request — that the daemon carries out.

The rules, in plain words:

* A cue tells the truth about the camera, never about the press. ``recording`` plays only
  after the camera reports movierecordtarget = Card (an event or a read-back), ``stopped``
  only after it reports None. A command that fails plays ``busy`` (the camera kept answering
  busy for the whole retry budget) or ``error`` (refused, timed out, lost); then the
  controller asks the camera for its real state (``syncing``) and cues only a *change*.
* Every press is obeyed once. A press while a command is in flight is remembered as a
  pending toggle and applied once the camera has settled, so two quick presses give a
  start and a stop, never one lost press and never a double toggle.
* Without a camera a press answers ``no-camera``. A press that asked to *stop* is kept and
  carried out on reconnection (stopping is always safe); a *start* is not (a clip that
  begins minutes after the press would surprise).
* On connection and on every reconnection the controller adopts the camera's real state, so
  a daemon restarted mid-clip neither loses nor doubles the clip.
* The camera may change by itself (clip limit, full card, heat, its own record button): the
  controller follows and cues the change.

Transitions are listed in :data:`TRANSITIONS`; :meth:`RecordingController._enter` refuses any
other, and ``python -m pitrigger.controller`` prints the state diagram from the table.

>>> c = RecordingController(DEFAULT_ACTIONS, confirm_timeout_s=4.0)
>>> c.camera(CameraConnected(recording=False), now=0.0)
[Cue(name='ready'), Record(event='state', fields={'state': 'idle', 'why': 'camera connected'})]
>>> c.gesture("press", now=1.0)[1]
Command(action='start', id=1)
>>> c.camera(CameraState(recording=True, source="event"), now=1.01)[0]
Cue(name='recording')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pitrigger.day import DayKeeper
from pitrigger.names import ACTIONS, State
from pitrigger.reports import StillResult, SupplyReport
from pitrigger.status_code import StatusReading

# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CameraConnected:
    """The camera session is open; ``recording`` is what the camera reports now."""

    recording: bool
    model: str = ""


@dataclass(frozen=True, slots=True)
class CameraState:
    """The camera reported its recording state (``source``: event, readback or sync)."""

    recording: bool
    source: str = "event"


@dataclass(frozen=True, slots=True)
class CommandFailed:
    """Command ``id`` did not take effect. ``kind`` is busy, refused, timeout or lost."""

    id: int
    kind: Literal["busy", "refused", "timeout", "lost"]
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CameraLost:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ClipSaved:
    """The camera added a movie file (after a stop)."""

    path: str


CameraReport = (CameraConnected | CameraState | CommandFailed | CameraLost | ClipSaved
                | SupplyReport | StillResult)

# Files a still release writes (a .MOV is a clip; .THM is a clip's thumbnail).
_STILL_SUFFIXES = (".JPG", ".JPEG", ".CR2", ".CRW", ".TIF")


# --- effects ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """Tell the camera to ``start``/``stop`` recording, ``sync`` (report its real state) or
    take a ``still``."""

    action: Literal["start", "stop", "sync", "still"]
    id: int


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """Play the status answer (:mod:`pitrigger.status_code`) for ``reading``."""

    reading: StatusReading


@dataclass(frozen=True, slots=True)
class Cue:
    """Play the haptic pattern ``name`` (a name from the haptic vocabulary)."""

    name: str


@dataclass(frozen=True, slots=True)
class Record:
    """A line for the journal."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PowerOff:
    """Ask the system to power off (after the cue has played)."""


Effect = Command | Cue | Record | PowerOff | StatusAnswer


# --- the table ----------------------------------------------------------------------------

# (from, to) -> what moves it. The diagram in docs/ is generated from this table, and
# _enter() refuses any transition not listed here. A press that was pending when the camera
# settles goes through the settled state (STARTING -> RECORDING -> STOPPING), so the
# journal always shows the state the camera really reached.
TRANSITIONS: dict[tuple[State, State], str] = {
    (State.NO_CAMERA, State.IDLE): "connected, camera idle",
    (State.NO_CAMERA, State.RECORDING): "connected, camera recording",
    (State.NO_CAMERA, State.POWERING_OFF): "power-off gesture",
    (State.IDLE, State.STARTING): "press",
    (State.IDLE, State.RECORDING): "camera started by itself",
    (State.IDLE, State.POWERING_OFF): "power-off gesture",
    (State.STARTING, State.RECORDING): "camera reports Card",
    (State.STARTING, State.SYNCING): "start failed / timed out",
    (State.RECORDING, State.STOPPING): "press",
    (State.RECORDING, State.IDLE): "camera stopped by itself",
    (State.STOPPING, State.IDLE): "camera reports None",
    (State.STOPPING, State.SYNCING): "stop failed / timed out",
    (State.SYNCING, State.IDLE): "camera reports None",
    (State.SYNCING, State.RECORDING): "camera reports Card",
    (State.RECORDING, State.STARTING): "camera stopped at its cap: restart at once",
    (State.IDLE, State.SHOOTING): "still",
    (State.SHOOTING, State.IDLE): "still released",
    (State.SHOOTING, State.SYNCING): "still failed",
    # The camera can vanish in any state (cable, battery, auto power-off).
    **{(s, State.NO_CAMERA): "camera lost" for s in State if s is not State.NO_CAMERA},
}

# States in which the camera has settled and a press acts at once.
_SETTLED = {State.IDLE: False, State.RECORDING: True}
# What a start or stop in flight is heading to.
_COMMAND_TARGET = {State.STARTING: True, State.STOPPING: False, State.SHOOTING: False}
# States in which a command is in flight and a press is remembered for later.
_IN_FLIGHT = (State.STARTING, State.STOPPING, State.SYNCING, State.SHOOTING)

#: What a gesture can do (the config accepts exactly these).
ACTION_NAMES: tuple[str, ...] = ACTIONS

DEFAULT_ACTIONS: Mapping[str, Mapping[str, str]] = {
    "idle": {"press": "toggle-recording", "hold": "status", "very-long-hold": "power-off"},
    "recording": {"press": "toggle-recording", "hold": "status"},
}


class TransitionError(RuntimeError):
    """A transition not in :data:`TRANSITIONS` was attempted: a bug, never user input."""


class RecordingController:
    """The recording state machine. Pure: every method takes ``now`` and returns effects.

    ``actions`` maps ``"idle"`` and ``"recording"`` to {gesture: action}; in the other states
    a gesture is read with the map of the state the camera is heading to.
    """

    def __init__(
        self,
        actions: Mapping[str, Mapping[str, str]] = DEFAULT_ACTIONS,
        *,
        confirm_timeout_s: float = 4.0,
        day: DayKeeper | None = None,
        still_while_recording: Literal["refuse", "stop-shoot-restart"] = "refuse",
    ) -> None:
        self.actions = {k: dict(v) for k, v in actions.items()}
        self.confirm_timeout_s = confirm_timeout_s
        self.day = day if day is not None else DayKeeper()
        self.still_while_recording = still_while_recording
        self._restarting = False  # the start in flight follows a stop at the clip cap
        self._still_after_stop = False  # stop-shoot-restart: shoot once the stop lands
        self._start_after_still = False  # ... and record again once the still is taken
        self.state = State.NO_CAMERA
        self._pending_toggle = False  # a press arrived while a command was in flight
        self._stop_on_reconnect = False
        self._believed_recording = False  # last state the camera confirmed
        self._command_id = 0
        self._command: Command | None = None
        self._deadline: float | None = None
        self._power_off_after_stop = False
        self._now_hint = 0.0  # the last time seen (a lost camera carries no time)

    # -- queries -----------------------------------------------------------------------

    @property
    def believed_recording(self) -> bool:
        """What the camera last confirmed (the truth as far as the daemon knows)."""
        return self._believed_recording

    @property
    def action_map(self) -> Mapping[str, str]:
        """The gesture → action map for the state the camera is heading to."""
        return self.actions.get("recording" if self._heading_to_recording() else "idle", {})

    @property
    def double_enabled(self) -> bool:
        """The gesture recogniser waits for a double press only if one is mapped now."""
        return "double" in self.action_map

    @property
    def command_in_flight(self) -> bool:
        """A command awaits the camera's answer (time-outs pending), as opposed to a far
        deadline such as the clip cap's ``limit-soon``."""
        return self._deadline is not None

    def next_deadline(self) -> float | None:
        day = self.day.next_deadline() if self.state is State.RECORDING else None
        if day is None or (self._deadline is not None and self._deadline < day):
            return self._deadline
        return day

    # -- inputs ------------------------------------------------------------------------

    def gesture(self, name: str, now: float) -> list[Effect]:
        """The user made gesture ``name``; act on the action it maps to in this state."""
        action = self.action_map.get(name, "none")
        out: list[Effect] = [Record("gesture", {"gesture": name, "action": action,
                                                "state": self.state.value})]
        if action == "toggle-recording":
            out += self._toggle(now)
        elif action in ("start-recording", "stop-recording"):
            wanted = action == "start-recording"
            if self.state is State.NO_CAMERA:
                out.append(Cue("no-camera"))
                if not wanted and self._heading_to_recording():
                    out += self._flip_stop_on_reconnect()
            elif self._heading_to_recording() != wanted:
                out += self._toggle(now)
        elif action == "status":
            if self.state is State.NO_CAMERA:
                out.append(Cue("no-camera"))
            else:
                out.append(StatusAnswer(self.day.status(now, self._believed_recording)))
        elif action == "still":
            out += self._still(now)
        elif action == "power-off":
            out += self._power_off(now)
        return out

    def camera(self, report: CameraReport, now: float) -> list[Effect]:
        """The camera adapter reported something."""
        match report:
            case CameraConnected(recording=recording, model=model):
                return self._on_connected(recording, model, now)
            case CameraState(recording=recording, source=source):
                return self._on_state(recording, source, now)
            case CommandFailed(id=cid, kind=kind, detail=detail):
                return self._on_failed(cid, kind, detail, now)
            case CameraLost(reason=reason):
                return self._on_lost(reason)
            case ClipSaved(path=path):
                if path.upper().endswith(_STILL_SUFFIXES):
                    return [Cue("still"), Record("still", {"path": path})]
                return [Record("clip", {"path": path})]
            case SupplyReport():
                cues = self.day.supply_report(report)
                fields = {"battery_percent": report.battery_percent,
                          "card_free_bytes": report.card_free_bytes}
                return [Record("supply", fields), *(Cue(c) for c in cues)]
            case StillResult():
                return self._on_still_released(now)
        raise TypeError(f"not a camera report: {report!r}")

    def advance(self, now: float) -> list[Effect]:
        """Time passed: a command that got no answer within the confirm timeout failed;
        a clip nearing its cap plays ``limit-soon``."""
        if self.state is State.RECORDING:
            cues: list[Effect] = [Cue(c) for c in self.day.advance(now)]
            if cues:
                return [*cues, Record("limit-soon", {"expected_end": self.day.clip.expected_end})]
        if self._deadline is None or now < self._deadline or self._command is None:
            return []
        return self._on_failed(self._command.id, "timeout", "no report from the camera", now)

    # -- handlers ----------------------------------------------------------------------

    def _toggle(self, now: float) -> list[Effect]:
        if self.state in _SETTLED:
            return self._send("stop" if self.state is State.RECORDING else "start", now)
        if self.state in _IN_FLIGHT:
            self._pending_toggle = not self._pending_toggle
            return [Record("pending", {"pending_toggle": self._pending_toggle})]
        if self.state is State.NO_CAMERA:
            # Remember a stop (safe whenever it lands), never a start.
            return [Cue("no-camera"), *self._flip_stop_on_reconnect()]
        return []  # powering off: the press is too late to matter

    def _flip_stop_on_reconnect(self) -> list[Effect]:
        if self._believed_recording:
            self._stop_on_reconnect = not self._stop_on_reconnect
        return [Record("pending", {"stop_on_reconnect": self._stop_on_reconnect})]

    def _power_off(self, now: float) -> list[Effect]:
        if self.state is State.POWERING_OFF:
            return []
        if self._heading_to_recording() and self.state is not State.NO_CAMERA:
            # Never power off mid-clip: stop first, power off once the camera confirms.
            self._power_off_after_stop = True
            if self.state is State.RECORDING:
                return self._send("stop", now)
            self._pending_toggle = not self._pending_toggle
            return [Record("pending", {"power_off_after_stop": True})]
        return self._do_power_off("power-off gesture")

    def _do_power_off(self, why: str) -> list[Effect]:
        out = self._enter(State.POWERING_OFF, why)
        self._command, self._deadline = None, None
        return [Cue("power-off"), *out, PowerOff()]

    def _on_connected(self, recording: bool, model: str, now: float) -> list[Effect]:
        self._believed_recording = recording
        self._pending_toggle = False
        out: list[Effect] = [Cue("ready")]
        if model:
            out.append(Record("camera", {"model": model}))
        if recording and self._stop_on_reconnect:
            self._stop_on_reconnect = False
            out += self._enter(State.RECORDING, "camera connected, recording")
            out += self._send("stop", now)
            return out
        self._stop_on_reconnect = False
        if recording:
            out.append(Cue("recording"))
            self.day.clip_started(now)
            out += self._enter(State.RECORDING, "camera connected, recording")
        else:
            out += self._enter(State.IDLE, "camera connected")
        return out

    def _on_state(self, recording: bool, source: str, now: float) -> list[Effect]:
        if self.state in (State.NO_CAMERA, State.POWERING_OFF):
            return []
        if self.state in _SETTLED:
            if recording == self._believed_recording:
                return []
            if not recording:
                return self._camera_stopped(source, now)
            # The camera started by itself (its own button).
            return self._settle(recording, f"camera started by itself ({source})", now)
        # In flight: only the state the command aims at (or, when syncing, any) settles it.
        target = _COMMAND_TARGET.get(self.state)
        if target is not None and recording != target:
            return []  # an older report from before the command took effect
        return self._settle(recording, f"camera reports {'Card' if recording else 'None'}",
                            now)

    def _camera_stopped(self, source: str, now: float) -> list[Effect]:
        """The camera ended the clip by itself: say why; at the cap, start a new clip."""
        stop = self.day.camera_stopped(now)
        out: list[Effect] = [Record("clip-end", stop.record)]
        if stop.restart:
            self._believed_recording = False
            self._restarting = True
            return out + self._send("start", now)
        out += self._settle(False, f"camera stopped by itself ({source}, {stop.reason})", now)
        return out + [Cue(c) for c in stop.cues]

    def _settle(self, recording: bool, why: str, now: float) -> list[Effect]:
        changed = recording != self._believed_recording
        self._believed_recording = recording
        self._command, self._deadline = None, None
        out: list[Effect] = []
        if recording:
            self.day.clip_started(now)
        elif changed and self.state is State.STOPPING:
            out.append(Record("clip-end", self.day.stopped_by_us(now)))
        elif changed:
            self.day.stopped_by_us(now)  # a sync found it stopped: count what was seen
        if changed:
            restarted = recording and self._restarting
            out.append(Cue("restarted" if restarted else "recording" if recording
                           else "stopped"))
        self._restarting = False
        if not recording and self._still_after_stop:
            self._still_after_stop = False
            out += self._enter(State.IDLE, why)
            return out + self._send("still", now)
        if not recording and self._power_off_after_stop:
            out += self._enter(State.IDLE, why)
            self._pending_toggle = False
            return out + self._do_power_off("power-off after stop")
        out += self._enter(State.RECORDING if recording else State.IDLE, why)
        if self._pending_toggle:
            self._pending_toggle = False
            out += self._send("stop" if recording else "start", now)
        return out

    def _on_failed(self, cid: int, kind: str, detail: str, now: float) -> list[Effect]:
        if self._command is None or cid != self._command.id:
            return [Record("stale-failure", {"id": cid, "kind": kind})]
        failed = self._command.action
        out: list[Effect] = [Record("command-failed",
                                    {"command": failed, "kind": kind, "detail": detail})]
        if kind == "lost":
            return out + self._on_lost(detail)
        out.append(Cue("busy" if kind == "busy" else "error"))
        if failed == "still":
            out.append(Record("still", {"how": f"{kind}: {detail}"}))
        # The failed command consumed the presses made while it was in flight: whatever
        # they asked for is the state the camera is already in.
        self._pending_toggle = False
        self._power_off_after_stop = False
        self._restarting = self._still_after_stop = self._start_after_still = False
        if failed == "sync":
            # Nothing answers: treat it as lost so the adapter reconnects.
            return out + self._on_lost(f"sync {kind}")
        out += self._enter(State.SYNCING, f"{failed} {kind}")
        return out + self._send("sync", now)

    def _on_lost(self, reason: str) -> list[Effect]:
        if self.state is State.NO_CAMERA:
            return []
        if self._believed_recording:
            self.day.lost_while_recording(self._now_hint)
        self._restarting = self._still_after_stop = self._start_after_still = False
        # A press in flight was not carried out: remember a stop, drop a start.
        if self.state is State.STOPPING or (self.state is State.STARTING and
                                            self._pending_toggle):
            self._stop_on_reconnect = True
        self._pending_toggle = False
        self._command, self._deadline = None, None
        if self.state is State.POWERING_OFF:
            return []
        return [Cue("no-camera"), *self._enter(State.NO_CAMERA, reason or "camera lost")]

    # -- helpers -----------------------------------------------------------------------

    def _still(self, now: float) -> list[Effect]:
        """A still: at once when idle; while recording, refuse or stop-shoot-restart."""
        if self.state is State.NO_CAMERA:
            return [Cue("no-camera")]
        if self.state is State.IDLE:
            return self._send("still", now)
        if self.state is State.RECORDING and self.still_while_recording == "stop-shoot-restart":
            self._still_after_stop = self._start_after_still = True
            return [Record("still", {"how": "stop-shoot-restart"}), *self._send("stop", now)]
        why = "recording" if self._heading_to_recording() else self.state.value
        return [Cue("error"), Record("still", {"how": f"refused: {why}"})]

    def _on_still_released(self, now: float) -> list[Effect]:
        if self.state is not State.SHOOTING or self._command is None:
            return [Record("stale-still", {})]
        self._command, self._deadline = None, None
        out = self._enter(State.IDLE, "still released")
        if self._start_after_still:
            self._start_after_still = False
            return out + self._send("start", now)
        if self._pending_toggle:
            self._pending_toggle = False
            out += self._send("start", now)
        return out

    def _send(self, action: Literal["start", "stop", "sync", "still"], now: float
              ) -> list[Effect]:
        self._command_id += 1
        self._command = Command(action, self._command_id)
        self._deadline = now + self.confirm_timeout_s
        self._now_hint = now
        next_state = {"start": State.STARTING, "stop": State.STOPPING,
                      "sync": State.SYNCING, "still": State.SHOOTING}[action]
        out: list[Effect] = [self._command]
        if self.state is not next_state:
            out += self._enter(next_state, f"{action} sent")
        return out

    def _enter(self, new: State, why: str) -> list[Effect]:
        if new is self.state:
            return []
        if (self.state, new) not in TRANSITIONS:
            raise TransitionError(f"{self.state.value} -> {new.value} ({why})")
        self.state = new
        return [Record("state", {"state": new.value, "why": why})]

    def _heading_to_recording(self) -> bool:
        if self.state is State.NO_CAMERA:
            return self._believed_recording and not self._stop_on_reconnect
        base = _COMMAND_TARGET.get(self.state, self._believed_recording)
        return base != self._pending_toggle


def state_diagram() -> str:
    """The state diagram (Mermaid) generated from :data:`TRANSITIONS`."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.NO_CAMERA.name}"]
    lost = [k for k, v in TRANSITIONS.items() if v == "camera lost"]
    for (src, dst), why in TRANSITIONS.items():
        if (src, dst) in lost:
            continue
        lines.append(f"    {src.name} --> {dst.name}: {why}")
    lines.append(f"    note right of {State.NO_CAMERA.name}: every state --> "
                 f"{State.NO_CAMERA.name} when the camera is lost")
    return "\n".join(lines)


if __name__ == "__main__":
    print(state_diagram())
