"""What happens when the button is pressed.

Everything that affects the recording state machine lives in this file. The controller is
pure (no I/O, no threads, no clock of its own): the daemon feeds it actions (a gesture read
through the config's action map), camera reports and the time; it answers with effects —
camera commands, haptic cues, journal records, a power-off request — that the daemon
carries out.

The whole behaviour is one table, :data:`TABLE`: for **every** state and **every** input a
:class:`Row` says what happens and which states it may lead to. "Ignore, and cue X" is an
answer; a missing row is a bug that ``tests/test_controller.py`` catches. The rules the rows
keep, in plain words:

* A cue tells the truth about the camera, never about the press. ``recording`` plays only
  after the camera reports movierecordtarget = Card (an event or a read-back), ``stopped``
  only after it reports None. A command that fails plays ``busy`` (the camera answered busy
  for the whole retry budget: try again), ``refused`` (the body will not do it until the user
  fixes something: card, battery, movie mode) or ``error`` (timed out); then the controller
  asks the camera for its real state (``syncing``) and cues only a *change*.
* Every press is obeyed once. A press while a command is in flight is remembered (a pending
  intent) and replayed through the table once the camera has settled, so two quick presses
  give a start and a stop, never one lost press and never a double toggle.
* Without a camera a press answers ``no-camera``. A press that asked to *stop* is kept and
  carried out on reconnection (stopping is always safe); a *start* is not (a clip that
  begins minutes after the press would surprise).
* On connection and on every reconnection the controller adopts the camera's real state, so
  a daemon restarted mid-clip neither loses nor doubles the clip.
* The camera may change by itself (clip limit, full card, heat, its own record button): the
  controller follows and cues the change.
* Power-off never cuts a clip: a running clip is stopped first. If the system does not act
  on the request in time, the controller comes back (``error``) instead of going deaf.

:meth:`RecordingController._enter` refuses any move the current row does not list, and
``python -m pitrigger.controller`` prints the state diagram generated from the table.

>>> c = RecordingController(DEFAULT_ACTIONS, confirm_timeout_s=4.0)
>>> c.camera(CameraConnected(recording=False), now=0.0)
[Cue(name='ready'), Record(event='state', fields={'state': 'idle', 'why': 'camera connected'})]
>>> c.gesture("press", now=1.0)[1]
Command(action='start', id=1)
>>> c.camera(CameraState(recording=True, source="event"), now=1.01)[0]
Cue(name='recording')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Literal

from pitrigger.day import DayKeeper
from pitrigger.messages import (
    CameraConnected,
    CameraLost,
    CameraReport,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
    CommandSent,
    Cue,
    Effect,
    Focus,
    FocusEnded,
    FocusStarted,
    PowerOff,
    Record,
    StatusAnswer,
    StillResult,
    SupplyReport,
)
from pitrigger.names import ACTIONS, REFUSALS, State

__all__ = [
    "ACTION_NAMES",
    "DEFAULT_ACTIONS",
    "TABLE",
    "TRANSITIONS",
    "CameraConnected",
    "CameraLost",
    "CameraReport",
    "CameraState",
    "ClipSaved",
    "Command",
    "CommandFailed",
    "CommandSent",
    "Cue",
    "Effect",
    "Focus",
    "FocusEnded",
    "FocusStarted",
    "Input",
    "Pending",
    "PowerOff",
    "Record",
    "RecordingController",
    "Row",
    "State",
    "StatusAnswer",
    "TransitionError",
    "state_diagram",
]


class Input(StrEnum):
    """Everything the controller can be told: actions, camera reports, timers, the edge."""

    # Actions (a gesture, read through the config's map for the current state).
    TOGGLE = "toggle-recording"
    START = "start-recording"
    STOP = "stop-recording"
    STATUS = "status"
    POWER_OFF = "power-off"
    STILL = "still"
    FOCUS = "focus-mode"
    NOTHING = "none"
    # Camera reports.
    CONNECTED_IDLE = "connected, idle"
    CONNECTED_RECORDING = "connected, recording"
    CONNECTED_UNCONFIRMED = "connected, cannot tell"  # a body that cannot report recording
    REPORTS_RECORDING = "reports Card"
    REPORTS_STOPPED = "reports None"
    CLIP_SAVED = "clip saved"
    SUPPLY_READ = "card and battery read"
    STILL_RELEASED = "still released"
    FAILED_BUSY = "busy too long"
    FAILED_REFUSED = "refused"
    FAILED_LOST = "command lost"
    STALE_FAILURE = "stale failure"
    # An unconfirmed trigger (usb-half-press, wired) did its part; nothing confirms it.
    SENT_START = "start sent"
    SENT_STOP = "stop sent"
    CANNOT_TELL = "sync: cannot tell"
    LOST = "camera lost"
    FOCUS_STARTED = "focus started"
    FOCUS_ENDED = "focus ended"
    # Timers.
    CONFIRM_TIMEOUT = "confirm timeout"
    POWER_OFF_TIMEOUT = "power-off timeout"
    LIMIT_SOON = "clip cap near"
    # The edge.
    POWER_OFF_FAILED = "power-off failed"
    INTERNAL_ERROR = "internal error"


# Every action name is an input of the same name (one source: pitrigger.names.ACTIONS).
assert {a for a in ACTIONS} <= {i.value for i in Input}, "an action has no input"

#: What a gesture can do (the config accepts exactly these).
ACTION_NAMES: tuple[str, ...] = ACTIONS

DEFAULT_ACTIONS: Mapping[str, Mapping[str, str]] = {
    "idle": {"press": "toggle-recording", "hold": "status", "long-hold": "focus-mode",
             "very-long-hold": "power-off"},
    "recording": {"press": "toggle-recording", "hold": "status"},
}

#: Consecutive commands answered busy for their whole retry budget before the body is
#: reported as refusing (``refused`` + advice) rather than busy ("try again").
BUSY_STREAK_REFUSED = 3


class Pending(Enum):
    """What the user asked for while the controller could not act at once."""

    NOTHING = "nothing"
    TOGGLE = "toggle"  # a toggle pressed while a command was in flight
    STOP = "stop"  # a stop pressed while the camera was lost: carried out on reconnection
    POWER_OFF = "power-off"  # stop the clip if one runs, then power off


class TransitionError(RuntimeError):
    """A move the current row does not list was attempted: a bug, never user input."""


Handler = Callable[["RecordingController", float, object], list[Effect]]


@dataclass(frozen=True, slots=True)
class Row:
    """One cell of the table: what ``handler`` does, and the states it may move to."""

    handler: Handler
    to: frozenset[State]
    says: str


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
        power_off_timeout_s: float = 30.0,
        day: DayKeeper | None = None,
        still_while_recording: Literal["refuse", "stop-shoot-restart"] = "refuse",
    ) -> None:
        self.actions = {k: dict(v) for k, v in actions.items()}
        self.confirm_timeout_s = confirm_timeout_s
        self.power_off_timeout_s = power_off_timeout_s
        # The day's bookkeeping: clip cap, card and battery, minutes for the status answer.
        self.day = day if day is not None else DayKeeper()
        self.still_while_recording = still_while_recording
        self._restarting = False  # the start in flight follows a stop at the clip cap
        self._still_after_stop = False  # stop-shoot-restart: shoot once the stop lands
        self._start_after_still = False  # ... and record again once the still is taken
        self.state = State.NO_CAMERA
        self.pending = Pending.NOTHING
        self._believed_recording = False  # last state the camera confirmed (or see below)
        # False while the belief is only what an unconfirmed trigger sent: a status hold
        # then answers `sent`, never `recording` or `ready`.
        self._belief_confirmed = True
        self._command_id = 0
        self._command: Command | None = None
        self._timer: tuple[float, Input] | None = None
        self._busy_streak = 0
        self._row: Row | None = None
        self._now = 0.0  # the last time an input carried (a lost camera carries none)
        self._focus_on_cued = False  # focus-on played; its focus-off not yet

    # -- queries -----------------------------------------------------------------------

    @property
    def believed_recording(self) -> bool:
        """What the camera last confirmed (the truth as far as the daemon knows)."""
        return self._believed_recording

    @property
    def action_map(self) -> Mapping[str, str]:
        """The gesture → action map for the state the camera is heading to."""
        return self.actions.get("recording" if self.heading_to_recording() else "idle", {})

    @property
    def double_enabled(self) -> bool:
        """The gesture recogniser waits for a double press only if one is mapped now."""
        return "double" in self.action_map

    @property
    def command_in_flight(self) -> bool:
        """A timer runs (a command or a power-off awaits its answer), as opposed to a far
        deadline such as the clip cap's ``limit-soon``."""
        return self._timer is not None

    def next_deadline(self) -> float | None:
        timer = None if self._timer is None else self._timer[0]
        day = self.day.next_deadline() if self.state is State.RECORDING else None
        return min((t for t in (timer, day) if t is not None), default=None)

    def heading_to_recording(self) -> bool:
        """Will the camera record once everything asked for so far has been carried out?"""
        if self.pending is Pending.POWER_OFF:
            return False
        if self.state is State.NO_CAMERA:
            return self._believed_recording and self.pending is not Pending.STOP
        target = {State.STARTING: True, State.STOPPING: False}.get(
            self.state, self._believed_recording)
        return target != (self.pending is Pending.TOGGLE)

    # -- inputs ------------------------------------------------------------------------

    def gesture(self, name: str, now: float) -> list[Effect]:
        """The user made gesture ``name``; act on the action it maps to in this state."""
        action = self.action_map.get(name, "none")
        record = Record("gesture", {"gesture": name, "action": action,
                                    "state": self.state.value})
        return [record, *self.handle(Input(action), now)]

    def camera(self, report: CameraReport, now: float) -> list[Effect]:
        """The camera adapter reported something."""
        match report:
            case CameraConnected(confirms=False):
                kind = Input.CONNECTED_UNCONFIRMED
            case CameraConnected(recording=recording):
                kind = Input.CONNECTED_RECORDING if recording else Input.CONNECTED_IDLE
            case CameraState(recording=recording):
                kind = Input.REPORTS_RECORDING if recording else Input.REPORTS_STOPPED
            case CommandFailed(id=cid, kind=failure):
                if self._command is None or cid != self._command.id:
                    kind = Input.STALE_FAILURE
                else:
                    kind = {"busy": Input.FAILED_BUSY, "refused": Input.FAILED_REFUSED,
                            "timeout": Input.CONFIRM_TIMEOUT,
                            "lost": Input.FAILED_LOST}[failure]
            case CommandSent(id=cid, action=action):
                if self._command is None or cid != self._command.id:
                    kind = Input.STALE_FAILURE
                else:
                    kind = {"start": Input.SENT_START, "stop": Input.SENT_STOP,
                            "sync": Input.CANNOT_TELL}[action]
            case CameraLost():
                kind = Input.LOST
            case ClipSaved():
                kind = Input.CLIP_SAVED
            case SupplyReport():
                kind = Input.SUPPLY_READ
            case StillResult():
                kind = Input.STILL_RELEASED
            case FocusStarted():
                kind = Input.FOCUS_STARTED
            case FocusEnded():
                kind = Input.FOCUS_ENDED
            case _:  # FocusScore goes to the focus feedback, never to the table
                raise TypeError(f"not a camera report: {report!r}")
        return self.handle(kind, now, report)

    def advance(self, now: float) -> list[Effect]:
        """Time passed: fire the timer if it is due; a clip near its cap plays limit-soon."""
        if self.state is State.RECORDING and self.day.advance(now):
            return self.handle(Input.LIMIT_SOON, now)
        if self._timer is None or now < self._timer[0]:
            return []
        _, kind = self._timer
        self._timer = None
        return self.handle(kind, now)

    def power_off_failed(self, detail: str, now: float) -> list[Effect]:
        """The edge could not ask the system to power off."""
        return self.handle(Input.POWER_OFF_FAILED, now, detail)

    def internal_error(self, detail: str, now: float) -> list[Effect]:
        """Handling an input raised: say so and fetch the camera's real state."""
        return self.handle(Input.INTERNAL_ERROR, now, detail)

    def handle(self, kind: Input, now: float, payload: object = None) -> list[Effect]:
        """Look up the row for (state, input) and run it."""
        self._now = max(self._now, now)
        row = TABLE[self.state][kind]
        outer, self._row = self._row, row
        try:
            return row.handler(self, now, payload)
        finally:
            self._row = outer

    # -- what rows do (the handlers) -----------------------------------------------------

    def _send(self, action: Literal["start", "stop", "sync", "still", "focus-on"], now: float
              ) -> list[Effect]:
        self._command_id += 1
        self._command = Command(action, self._command_id)
        self._timer = (now + self.confirm_timeout_s, Input.CONFIRM_TIMEOUT)
        self._now = now
        next_state = {"start": State.STARTING, "stop": State.STOPPING,
                      "sync": State.SYNCING, "still": State.SHOOTING,
                      "focus-on": State.FOCUSING}[action]
        return [self._command, *self._enter(next_state, f"{action} sent")]

    def _focus_off(self, why: str) -> list[Effect]:
        """Silence the feedback, ask the worker to put the camera back and leave FOCUSING.

        Not a tracked command: the worker always answers with ``FocusEnded`` (its problems
        name what did not come back), and ``focus-off`` plays then, as the camera's truth.
        """
        self._command_id += 1
        self._command, self._timer = None, None
        return [Focus(False), Command("focus-off", self._command_id),
                *self._enter(State.IDLE, why)]

    def _settle(self, recording: bool, why: str, now: float, *,
                confirmed: bool = False) -> list[Effect]:
        """The camera reports a settled state: adopt it, cue a change, replay what waits.

        ``confirmed``: cue it even if the belief already said so — until now the belief was
        only what an unconfirmed trigger sent, and this is the camera's own word.
        """
        changed = recording != self._believed_recording or confirmed
        self._belief_confirmed = True
        succeeded = self._command is not None and self._command.action == (
            "start" if recording else "stop")
        self._believed_recording = recording
        self._command, self._timer = None, None
        if succeeded:
            self._busy_streak = 0
        out: list[Effect] = []
        if recording and changed:
            self.day.clip_started(now)
        elif changed and succeeded:
            out.append(Record("clip-end", self.day.stopped_by_us(now)))
        elif changed and self.day.clip.started_at is not None:
            self.day.stopped_by_us(now)  # found stopped by a sync: count what was seen
        if changed:
            restarted = recording and self._restarting
            out.append(Cue("restarted" if restarted else "recording" if recording
                           else "stopped"))
        self._restarting = False
        out += self._enter(State.RECORDING if recording else State.IDLE, why)
        if not recording and self._still_after_stop:
            self._still_after_stop = False
            return out + self._send("still", now)
        return out + self._replay_pending(now)

    def _replay_pending(self, now: float) -> list[Effect]:
        pending, self.pending = self.pending, Pending.NOTHING
        replay = {Pending.TOGGLE: Input.TOGGLE, Pending.STOP: Input.STOP,
                  Pending.POWER_OFF: Input.POWER_OFF}.get(pending)
        if replay is None:
            return []
        return [Record("pending", {"replayed": pending.value}), *self.handle(replay, now)]

    def _failed(self, cue: str, payload: object, now: float,
                reason: str = "") -> list[Effect]:
        """A command did not take effect: cue it, drop what waited, ask for the truth."""
        failed = self._command.action if self._command else "?"
        detail = payload.detail if isinstance(payload, CommandFailed) else str(payload or "")
        fields = {"command": failed, "cue": cue, "detail": detail}
        if reason:
            fields["reason"] = reason
        if self._restarting:
            fields["restart"] = "the automatic restart after the clip cap did not happen"
        out: list[Effect] = [Record("command-failed", fields), Cue(cue)]
        if failed == "still":
            out.append(Record("still", {"how": f"{cue}: {reason or detail}"}))
        # The failed command consumed the presses made while it was in flight: whatever
        # they asked for is the state the camera is already in.
        self.pending = Pending.NOTHING
        self._restarting = self._still_after_stop = self._start_after_still = False
        return out + self._send("sync", now)

    def _lose(self, why: str) -> list[Effect]:
        if self._believed_recording:
            self.day.lost_while_recording(self._now)
        self._restarting = self._still_after_stop = self._start_after_still = False
        # A press in flight was not carried out: remember a stop, drop a start.
        if self.state is State.STOPPING or (self.state is State.STARTING
                                            and self.pending is Pending.TOGGLE):
            self.pending = Pending.STOP
        elif self.pending is not Pending.STOP:
            self.pending = Pending.NOTHING
        self._command, self._timer = None, None
        return [Cue("no-camera"), *self._enter(State.NO_CAMERA, why)]

    def _power_off(self, why: str, now: float) -> list[Effect]:
        self._command = None
        self._timer = (now + self.power_off_timeout_s, Input.POWER_OFF_TIMEOUT)
        self.pending = Pending.NOTHING
        return [Cue("power-off"), *self._enter(State.POWERING_OFF, why), PowerOff()]

    def _status_cue(self) -> str:
        if self.state is State.NO_CAMERA:
            return "no-camera"
        if self.state is State.POWERING_OFF:
            return "power-off"
        if not self._belief_confirmed:
            return "sent"  # believed from what was sent; the camera never confirmed it
        return "recording" if self._believed_recording else "ready"

    def _enter(self, new: State, why: str) -> list[Effect]:
        if new is self.state:
            return []
        if self._row is None or new not in self._row.to:
            raise TransitionError(f"{self.state.value} -> {new.value} ({why})")
        self.state = new
        return [Record("state", {"state": new.value, "why": why})]


# --- the handlers the table names ---------------------------------------------------------
# Each takes (controller, now, payload) and returns effects. Small on purpose: the table
# below is where a reader finds what happens.

C = RecordingController


def _nothing(c: C, now: float, payload: object) -> list[Effect]:
    return []


def _cue(name: str) -> Handler:
    def play(c: C, now: float, payload: object) -> list[Effect]:
        return [Cue(name)]

    play.__name__ = f"cue {name}"
    return play


def _status(c: C, now: float, payload: object) -> list[Effect]:
    cue = c._status_cue()
    if cue in ("no-camera", "power-off", "sent"):
        # No camera, shutting down, or a belief the camera never confirmed: no numbers.
        return [Cue(cue)]
    # Recording or not, the minutes, a warning: one answer (pitrigger.status_code).
    return [StatusAnswer(c.day.status(now, c.believed_recording))]


def _start(c: C, now: float, payload: object) -> list[Effect]:
    return c._send("start", now)


def _stop(c: C, now: float, payload: object) -> list[Effect]:
    return c._send("stop", now)


def _stop_then_power_off(c: C, now: float, payload: object) -> list[Effect]:
    out = c._send("stop", now)
    c.pending = Pending.POWER_OFF
    return [*out, Record("pending", {"pending": c.pending.value})]


def _power_off(c: C, now: float, payload: object) -> list[Effect]:
    return c._power_off("power-off gesture", now)


# Focus mode (docs/focus.md). A press inside it leaves *and records*: focusing is done for a
# shot, and the camera is put back (zoom, live view) before the start, so the clip is never
# recorded magnified. `recording` still waits for the camera's Card.


def _focus_on(c: C, now: float, payload: object) -> list[Effect]:
    return c._send("focus-on", now)


def _focus_leave(c: C, now: float, payload: object) -> list[Effect]:
    return c._focus_off("focus gesture again")


def _focus_leave_then_start(c: C, now: float, payload: object) -> list[Effect]:
    return [*c._focus_off("press: leave focus mode, then start"), *c._send("start", now)]


def _focus_leave_then_power_off(c: C, now: float, payload: object) -> list[Effect]:
    return [*c._focus_off("power-off gesture"), *c._power_off("power-off gesture", now)]


def _focus_started(c: C, now: float, payload: object) -> list[Effect]:
    c._command, c._timer = None, None
    c._focus_on_cued = True
    return [Cue("focus-on"), Focus(True), Record("focus", {"on": True})]


def _focus_started_late(c: C, now: float, payload: object) -> list[Effect]:
    # The mode was left (or failed) before the worker answered; its focus-off follows.
    return [Record("stale-focus", {"state": c.state.value})]


def _focus_ended(c: C, now: float, payload: object) -> list[Effect]:
    """The worker put the camera back: cue focus-off (only after a focus-on), error if a
    setting did not read back as before."""
    problems = list(payload.problems) if isinstance(payload, FocusEnded) else []
    out: list[Effect] = [Record("focus", {"on": False, "problems": problems})]
    if c._focus_on_cued:
        c._focus_on_cued = False
        out.insert(0, Cue("focus-off"))
    if problems:
        out.append(Cue("error"))
    if c.state is State.FOCUSING:  # the worker ended it by itself (frames refused)
        out = [Focus(False), *out, *c._enter(State.IDLE, "focus mode ended by the camera")]
    return out


def _focus_failed(cue: str) -> Handler:
    """focus-on did not take: cue it, let the worker put back what it changed, sync."""

    def failed(c: C, now: float, payload: object) -> list[Effect]:
        c._command_id += 1
        undo: list[Effect] = [Focus(False), Command("focus-off", c._command_id)]
        if cue == "refused":
            return undo + c._failed("refused", payload, now, reason="focus-unavailable")
        return undo + (_busy(c, now, payload) if cue == "busy" else _timed_out(c, now, payload))

    failed.__name__ = f"focus failed: {cue}"
    return failed


def _focus_camera_started(c: C, now: float, payload: object) -> list[Effect]:
    # The body's own record button: leave focus mode (record unmagnified), cue recording.
    return [*c._focus_off("camera started by itself"), *_settle_recording(c, now, payload)]


def _focus_internal_error(c: C, now: float, payload: object) -> list[Effect]:
    return [*c._focus_off("internal error"), *_internal_error_resync(c, now, payload)]


def _remember(intent: Pending | Literal["start", "stop"]) -> Handler:
    """In flight: remember what the user wants, to replay once the camera has settled."""

    def remember(c: C, now: float, payload: object) -> list[Effect]:
        if intent is Pending.TOGGLE:
            c.pending = (Pending.NOTHING if c.pending is Pending.TOGGLE
                         else Pending.TOGGLE if c.pending is Pending.NOTHING else c.pending)
        elif intent is Pending.POWER_OFF:
            c.pending = Pending.POWER_OFF
        elif (intent == "start") != c.heading_to_recording():
            c.pending = Pending.NOTHING if c.pending is Pending.TOGGLE else Pending.TOGGLE
        return [Record("pending", {"pending": c.pending.value})]

    remember.__name__ = f"remember {intent}"
    return remember


def _no_camera_toggle(c: C, now: float, payload: object) -> list[Effect]:
    # Remember a stop (safe whenever it lands), never a start.
    if c.believed_recording:
        c.pending = Pending.NOTHING if c.pending is Pending.STOP else Pending.STOP
    return [Cue("no-camera"), Record("pending", {"pending": c.pending.value})]


def _no_camera_stop(c: C, now: float, payload: object) -> list[Effect]:
    if c.believed_recording:
        c.pending = Pending.STOP
    return [Cue("no-camera"), Record("pending", {"pending": c.pending.value})]


def _adopt(c: C, now: float, payload: object) -> list[Effect]:
    """A camera session opened: adopt what the camera reports, cue it once, replay a stop."""
    assert isinstance(payload, CameraConnected)
    c._believed_recording = payload.recording
    c._belief_confirmed = True
    c._command, c._timer = None, None
    if c.pending is not Pending.STOP:
        c.pending = Pending.NOTHING
    out: list[Effect] = []
    if payload.model:
        out.append(Record("camera", {"model": payload.model}))
    if payload.recording:
        c.day.clip_started(now)  # from now: how long it ran before is not known
        # One cue for one truth: a camera found recording says `recording`, not `ready`.
        if c.pending is not Pending.STOP:
            out.insert(0, Cue("recording"))
        out += c._enter(State.RECORDING, "camera connected, recording")
        return out + c._replay_pending(now)
    c.pending = Pending.NOTHING  # nothing to stop
    return [Cue("ready"), *out, *c._enter(State.IDLE, "camera connected")]


def _answered_after_all(c: C, now: float, payload: object) -> list[Effect]:
    """No camera, yet a report: the worker's session outlived a sync we gave up on.

    The worker reports in order (a loss always comes after the reports before it), so a
    report here comes from a live session: adopt it like a connection, or the daemon would
    answer `no-camera` to every press until the link next drops.
    """
    assert isinstance(payload, CameraState)
    return _adopt(c, now, CameraConnected(payload.recording))


def _settle_recording(c: C, now: float, payload: object) -> list[Effect]:
    why = "camera reports Card"
    if c.state is State.IDLE:
        why = f"camera started by itself ({getattr(payload, 'source', '?')})"
    return c._settle(True, why, now)


def _settle_stopped(c: C, now: float, payload: object) -> list[Effect]:
    why = "camera reports None"
    if c.state is State.RECORDING:
        why = f"camera stopped by itself ({getattr(payload, 'source', '?')})"
    return c._settle(False, why, now)


# Files a still release writes (a .MOV is a clip, a .THM its thumbnail).
_STILL_SUFFIXES = (".JPG", ".JPEG", ".CR2", ".CRW", ".TIF")


def _clip(c: C, now: float, payload: object) -> list[Effect]:
    assert isinstance(payload, ClipSaved)
    path = payload.path
    if path.upper().endswith(_STILL_SUFFIXES):
        # The still is on the card: only now is it cued.
        return [Cue("still"), Record("still", {"path": path})]
    out: list[Effect] = [Record("clip", {"path": path, "size": payload.size})]
    if not path.upper().endswith(".MOV"):
        return out
    verdict = c.day.clip_file(payload.size, now)
    if verdict.cap_after_all:
        # A 4 GB file after a stop taken for something else: it was the cap.
        out.append(Record("clip-end", {"how": "clip-limit", "corrected": True,
                                       "file_size": payload.size, "restart": verdict.restart}))
        if verdict.restart and c.state is State.IDLE and c.pending is Pending.NOTHING:
            c._restarting = True
            out += c._send("start", now)
    return out


def _camera_stopped(c: C, now: float, payload: object) -> list[Effect]:
    """The camera ended the clip by itself: say why; at its cap, start a new clip at once."""
    stop = c.day.camera_stopped(now)
    out: list[Effect] = [Record("clip-end", stop.record)]
    if stop.restart:
        c._believed_recording = False
        c._restarting = True
        return out + c._send("start", now)
    source = getattr(payload, "source", "?")
    out += c._settle(False, f"camera stopped by itself ({source}, {stop.reason})", now)
    return out + [Cue(cue) for cue in stop.cues]


def _limit_soon(c: C, now: float, payload: object) -> list[Effect]:
    return [Cue("limit-soon"), Record("limit-soon", {"expected_end": c.day.clip.expected_end})]


def _supply(c: C, now: float, payload: object) -> list[Effect]:
    assert isinstance(payload, SupplyReport)
    cues = c.day.supply_report(payload)
    fields = {"battery_percent": payload.battery_percent,
              "card_free_bytes": payload.card_free_bytes, "warned": cues}
    return [Record("supply", fields), *(Cue(cue) for cue in cues)]


def _supply_quietly(c: C, now: float, payload: object) -> list[Effect]:
    assert isinstance(payload, SupplyReport)
    c.day.supply_report(payload)  # keep the facts; nothing to say while shutting down
    return []


def _still(c: C, now: float, payload: object) -> list[Effect]:
    return c._send("still", now)


def _still_while_recording(c: C, now: float, payload: object) -> list[Effect]:
    if c.still_while_recording == "stop-shoot-restart":
        c._still_after_stop = c._start_after_still = True
        return [Record("still", {"how": "stop-shoot-restart"}), *c._send("stop", now)]
    # The 5D Mark II answers busy to a release during a movie: say no at once.
    return [Cue("refused"), Record("still", {"how": "refused: recording"})]


def _still_not_now(c: C, now: float, payload: object) -> list[Effect]:
    return [Cue("refused"), Record("still", {"how": f"refused: {c.state.value}"})]


def _still_released(c: C, now: float, payload: object) -> list[Effect]:
    c._command, c._timer = None, None
    out = c._enter(State.IDLE, "still released")
    if c._start_after_still:
        c._start_after_still = False
        return out + c._send("start", now)
    return out + c._replay_pending(now)


def _stale_still(c: C, now: float, payload: object) -> list[Effect]:
    return [Record("stale-still", {"state": c.state.value})]


def _busy(c: C, now: float, payload: object) -> list[Effect]:
    c._busy_streak += 1
    if c._busy_streak >= BUSY_STREAK_REFUSED:
        return c._failed("refused", payload, now, reason="busy-too-long")
    return c._failed("busy", payload, now)


def _refused(c: C, now: float, payload: object) -> list[Effect]:
    reason = payload.reason if isinstance(payload, CommandFailed) else ""
    return c._failed("refused", payload, now, reason=reason if reason in REFUSALS else "unknown")


def _timed_out(c: C, now: float, payload: object) -> list[Effect]:
    return c._failed("error", payload or "no report from the camera", now)


def _sync_failed(c: C, now: float, payload: object) -> list[Effect]:
    # Not even the camera's state could be read: treat it as gone so the worker reconnects.
    detail = payload.detail if isinstance(payload, CommandFailed) else str(payload or "")
    return [Record("command-failed", {"command": "sync", "detail": detail}),
            *c._lose(f"sync failed: {detail or 'no answer'}")]


def _lost(c: C, now: float, payload: object) -> list[Effect]:
    reason = ""
    if isinstance(payload, CameraLost | CommandFailed):
        reason = payload.reason if isinstance(payload, CameraLost) else payload.detail
    return c._lose(reason or "camera lost")


def _stale(c: C, now: float, payload: object) -> list[Effect]:
    if isinstance(payload, CommandSent):
        return [Record("stale-sent", {"id": payload.id, "action": payload.action})]
    assert isinstance(payload, CommandFailed)
    return [Record("stale-failure", {"id": payload.id, "kind": payload.kind})]


def _power_off_came_back(c: C, now: float, payload: object) -> list[Effect]:
    # The system did not power off: say so and come back to the camera's real state.
    out: list[Effect] = [Record("power-off-failed", {"detail": str(payload or "timed out")}),
                         Cue("error")]
    return out + c._send("sync", now)


def _internal_error_resync(c: C, now: float, payload: object) -> list[Effect]:
    c.pending = Pending.NOTHING
    return [Cue("error"), *c._send("sync", now)]


def _sent(c: C, now: float, payload: object) -> list[Effect]:
    """An unconfirmed trigger did its part: believe what was sent (the next press toggles
    from there), cue `sent` — never `recording`/`stopped` — and replay what waits."""
    recording = c.state is State.STARTING
    c._believed_recording = recording
    c._belief_confirmed = False
    c._command, c._timer = None, None
    c._busy_streak = 0
    new = State.RECORDING_UNCONFIRMED if recording else State.IDLE_UNCONFIRMED
    out = [Cue("sent"), *c._enter(new, f"{'start' if recording else 'stop'} sent, "
                                       "camera cannot confirm")]
    return out + c._replay_pending(now)


def _cannot_tell(c: C, now: float, payload: object) -> list[Effect]:
    """A sync on a body that cannot report recording: keep the belief, now unconfirmed (a
    timed-out press may have reached the camera after all). The failure was cued already."""
    c._belief_confirmed = False
    c._command, c._timer = None, None
    c.pending = Pending.NOTHING
    new = State.RECORDING_UNCONFIRMED if c._believed_recording else State.IDLE_UNCONFIRMED
    return c._enter(new, "camera cannot tell")


def _adopt_unconfirmed(c: C, now: float, payload: object) -> list[Effect]:
    """A session opened on a body that cannot say whether it records: keep the belief (what
    was last sent), unconfirmed.

    A stop pressed meanwhile is *not* carried out: with Magic Lantern's REC key a stop is the
    same half-press as a start, and whether the camera still records is unknown, so a blind
    stop could start a clip. The user presses again, knowingly.
    """
    assert isinstance(payload, CameraConnected)
    c._belief_confirmed = False
    c._command, c._timer = None, None
    out: list[Effect] = []
    if payload.model:
        out.append(Record("camera", {"model": payload.model}))
    if c.pending is Pending.STOP:
        out.append(Record("pending-dropped", {
            "pending": c.pending.value,
            "why": "a half-press toggles and the camera's state is unknown"}))
    c.pending = Pending.NOTHING
    if c._believed_recording:
        return [Cue("sent"), *out, *c._enter(State.RECORDING_UNCONFIRMED,
                                             "connected, cannot tell")]
    # `ready`: connected. Whether it records cannot be known; a status hold says `sent`.
    return [Cue("ready"), *out, *c._enter(State.IDLE_UNCONFIRMED, "connected, cannot tell")]


def _settle_confirmed(recording: bool) -> Handler:
    def confirm(c: C, now: float, payload: object) -> list[Effect]:
        return c._settle(recording, f"camera reports {'Card' if recording else 'None'} "
                                    f"({getattr(payload, 'source', '?')})", now,
                         confirmed=True)

    confirm.__name__ = f"confirm {'recording' if recording else 'stopped'}"
    return confirm


def _clip_ends_unconfirmed(c: C, now: float, payload: object) -> list[Effect]:
    """A new movie on the card: the camera's own word that the recording ended."""
    assert isinstance(payload, ClipSaved)
    out: list[Effect] = [Record("clip", {"path": payload.path})]
    if not payload.path.upper().endswith(".MOV"):
        return out  # a still is no news about the movie
    return out + c._settle(False, "a new .MOV: the recording ended", now, confirmed=True)


# --- the table ------------------------------------------------------------------------------

S = State
I = Input  # noqa: E741 - the table reads better with one-letter names

_IGNORE = Row(_nothing, frozenset(), "ignored")
_ERROR_CUE = Row(_cue("error"), frozenset(), "cue error")


def _row(handler: Handler, says: str, *to: State) -> Row:
    return Row(handler, frozenset(to), says)


def _no_command_in_flight() -> dict[Input, Row]:
    """Failures and timeouts that reach a state with no command of ours out: journal them."""
    stale = _row(_stale, "journal (no command of ours is in flight)")
    return {I.FAILED_BUSY: stale, I.FAILED_REFUSED: stale, I.FAILED_LOST: stale,
            I.STALE_FAILURE: stale, I.CONFIRM_TIMEOUT: _IGNORE}


def _actions_in_flight() -> dict[Input, Row]:
    return {
        I.STILL: _row(_still_not_now, "cue refused: a command is in flight"),
        I.LIMIT_SOON: _IGNORE,
        I.TOGGLE: _row(_remember(Pending.TOGGLE), "remember the press for when it settles"),
        I.START: _row(_remember("start"), "remember: end up recording"),
        I.STOP: _row(_remember("stop"), "remember: end up stopped"),
        I.STATUS: _row(_status, "cue what the camera last confirmed"),
        I.POWER_OFF: _row(_remember(Pending.POWER_OFF), "remember: stop if needed, power off"),
        I.FOCUS: _row(_nothing, "no focus mode while a command is in flight"),
        I.NOTHING: _IGNORE,
    }


# Answers of an unconfirmed trigger that only come for a command in flight (the controller
# maps any other to a stale failure); elsewhere they are journaled.
_NOT_IN_FLIGHT_SENT: dict[Input, Row] = {
    Input.SENT_START: Row(_stale, frozenset(), "journal"),
    Input.SENT_STOP: Row(_stale, frozenset(), "journal"),
    Input.CANNOT_TELL: Row(_stale, frozenset(), "journal"),
}


def _camera_common(lost_says: str = "camera lost") -> dict[Input, Row]:
    """Rows every connected state shares."""
    return {
        I.CONNECTED_IDLE: _row(_adopt, "reconnected: adopt idle", S.IDLE),
        I.CONNECTED_RECORDING: _row(_adopt, "reconnected: adopt recording", S.RECORDING),
        I.CONNECTED_UNCONFIRMED: _row(_adopt_unconfirmed, "reconnected, cannot tell: keep "
                                      "the belief, unconfirmed", S.RECORDING_UNCONFIRMED,
                                      S.IDLE_UNCONFIRMED),
        I.CLIP_SAVED: _row(_clip, "journal the clip; a still's file cues still"),
        I.SUPPLY_READ: _row(_supply, "cue low-card / low-battery once per threshold"),
        I.STILL_RELEASED: _row(_stale_still, "journal"),
        I.STALE_FAILURE: _row(_stale, "journal a failure of an older command"),
        **_NOT_IN_FLIGHT_SENT,
        I.LOST: _row(_lost, lost_says, S.NO_CAMERA),
        I.FAILED_LOST: _row(_lost, "command lost with the camera", S.NO_CAMERA),
        I.POWER_OFF_TIMEOUT: _IGNORE,
        I.POWER_OFF_FAILED: _IGNORE,
        I.INTERNAL_ERROR: _row(_internal_error_resync, "cue error, fetch the real state",
                               S.SYNCING),
        I.FOCUS_STARTED: _row(_focus_started_late, "journal: the mode was already left"),
        I.FOCUS_ENDED: _row(_focus_ended, "cue focus-off if focus-on was played"),
    }


def _in_flight(state: State) -> dict[Input, Row]:
    """Rows of STARTING / STOPPING / SYNCING: a command is out, its answer is awaited."""
    rows = {**_actions_in_flight(), **_camera_common()}
    rows |= {
        I.FAILED_BUSY: _row(_busy, "cue busy (refused after a streak), sync", S.SYNCING),
        I.FAILED_REFUSED: _row(_refused, "cue refused with its reason, sync", S.SYNCING),
        I.CONFIRM_TIMEOUT: _row(_timed_out, "cue error, sync", S.SYNCING),
    }
    if state is S.STARTING:
        rows[I.REPORTS_RECORDING] = _row(_settle_recording, "camera reports Card: cue it",
                                         S.RECORDING)
        rows[I.REPORTS_STOPPED] = _row(_nothing, "an older report: wait for Card")
        rows[I.SENT_START] = _row(_sent, "sent, the camera cannot confirm: cue sent, believe "
                                  "it", S.RECORDING_UNCONFIRMED)
    elif state is S.STOPPING:
        rows[I.REPORTS_STOPPED] = _row(_settle_stopped, "camera reports None (or a new "
                                       ".MOV): cue it (stop-shoot-restart: release the "
                                       "still)", S.IDLE, S.SHOOTING)
        rows[I.REPORTS_RECORDING] = _row(_nothing, "an older report: wait for None")
        rows[I.SENT_STOP] = _row(_sent, "sent, no new .MOV: cue sent, believe it",
                                 S.IDLE_UNCONFIRMED)
    elif state is S.SHOOTING:
        rows[I.STILL_RELEASED] = _row(_still_released, "released: idle (stop-shoot-restart: "
                                      "start again; else replay a press)",
                                      S.IDLE, S.STARTING)
        rows[I.REPORTS_STOPPED] = _row(_nothing, "not recording, as expected")
        rows[I.REPORTS_RECORDING] = _row(_settle_recording, "camera started by itself: cue "
                                         "it", S.RECORDING)
    else:  # SYNCING: any report is the truth asked for
        rows[I.REPORTS_RECORDING] = _row(_settle_recording, "adopt Card, cue a change",
                                         S.RECORDING)
        rows[I.REPORTS_STOPPED] = _row(_settle_stopped, "adopt None, cue a change", S.IDLE)
        # A failing sync: not even the state can be read.
        sync_failed = _row(_sync_failed, "sync failed: treat as lost", S.NO_CAMERA)
        rows |= {I.FAILED_BUSY: sync_failed, I.FAILED_REFUSED: sync_failed,
                 I.CONFIRM_TIMEOUT: sync_failed}
        rows[I.CANNOT_TELL] = _row(_cannot_tell, "the body cannot tell: keep the belief, "
                                   "unconfirmed", S.RECORDING_UNCONFIRMED, S.IDLE_UNCONFIRMED)
    return rows


def _unconfirmed(recording: bool) -> dict[Input, Row]:
    """Rows of RECORDING_UNCONFIRMED / IDLE_UNCONFIRMED: settled on what an unconfirmed
    trigger sent. A press acts at once; status answers `sent`; the camera's own word (a
    0xD1B8 report, a new .MOV) confirms and is cued."""
    if recording:
        actions = {
            I.TOGGLE: _row(_stop, "stop recording", S.STOPPING),
            I.START: _row(_cue("sent"), "believed recording already (unconfirmed): cue sent"),
            I.STOP: _row(_stop, "stop recording", S.STOPPING),
            I.POWER_OFF: _row(_stop_then_power_off, "stop the clip, then power off",
                              S.STOPPING),
        }
    else:
        actions = {
            I.TOGGLE: _row(_start, "start recording", S.STARTING),
            I.START: _row(_start, "start recording", S.STARTING),
            I.STOP: _row(_cue("sent"), "believed stopped already (unconfirmed): cue sent"),
            I.POWER_OFF: _row(_power_off, "power off", S.POWERING_OFF),
        }
    return {
        **actions,
        # Focus mode magnifies the view: never on a body that might be recording unseen.
        I.FOCUS: _row(_cue("refused"), "no focus mode while the recording state is "
                      "unconfirmed: cue refused"),
        I.STATUS: _row(_status, "cue sent: unconfirmed"),
        I.STILL: _row(_still_not_now, "cue refused: the camera's state is not confirmed"),
        I.LIMIT_SOON: _IGNORE,
        I.NOTHING: _IGNORE,
        **_no_command_in_flight(),
        **_camera_common(),
        I.CLIP_SAVED: _row(_clip_ends_unconfirmed, "a new .MOV: the recording ended, cue "
                           "stopped", S.IDLE),
        I.REPORTS_RECORDING: _row(_settle_confirmed(True), "the camera confirms Card: cue "
                                  "recording", S.RECORDING),
        I.REPORTS_STOPPED: _row(_settle_confirmed(False), "the camera confirms None: cue "
                                "stopped", S.IDLE),
    }


TABLE: dict[State, dict[Input, Row]] = {
    S.NO_CAMERA: {
        I.TOGGLE: _row(_no_camera_toggle, "cue no-camera; a stop is kept for reconnection"),
        I.START: _row(_cue("no-camera"), "cue no-camera; a start is never kept"),
        I.STOP: _row(_no_camera_stop, "cue no-camera; the stop is kept for reconnection"),
        I.STATUS: _row(_cue("no-camera"), "cue no-camera"),
        I.POWER_OFF: _row(_power_off, "power off", S.POWERING_OFF),
        I.FOCUS: _row(_cue("no-camera"), "cue no-camera"),
        I.NOTHING: _IGNORE,
        I.FOCUS_STARTED: _row(_focus_started_late, "journal"),
        I.FOCUS_ENDED: _row(_focus_ended, "cue focus-off if focus-on was played"),
        I.CONNECTED_IDLE: _row(_adopt, "connected, camera idle: cue ready", S.IDLE),
        I.CONNECTED_RECORDING: _row(_adopt, "connected, camera recording: cue recording "
                                    "(or carry out a stop pressed meanwhile)", S.RECORDING),
        I.CONNECTED_UNCONFIRMED: _row(_adopt_unconfirmed, "connected, cannot tell: keep the "
                                      "belief, unconfirmed (a blind stop is never replayed)",
                                      S.RECORDING_UNCONFIRMED, S.IDLE_UNCONFIRMED),
        **_NOT_IN_FLIGHT_SENT,
        I.REPORTS_RECORDING: _row(_answered_after_all, "a late answer: adopt recording",
                                  S.RECORDING),
        I.REPORTS_STOPPED: _row(_answered_after_all, "a late answer: adopt idle", S.IDLE),
        I.CLIP_SAVED: _row(_clip, "journal the clip; a still's file cues still"),
        I.SUPPLY_READ: _row(_supply, "cue low-card / low-battery once per threshold"),
        I.STILL_RELEASED: _row(_stale_still, "journal"),
        I.STILL: _row(_cue("no-camera"), "cue no-camera"),
        I.LIMIT_SOON: _IGNORE,
        **_no_command_in_flight(),
        I.LOST: _IGNORE,
        I.POWER_OFF_TIMEOUT: _IGNORE,
        I.POWER_OFF_FAILED: _IGNORE,
        I.INTERNAL_ERROR: _ERROR_CUE,
    },
    S.IDLE: {
        I.TOGGLE: _row(_start, "start recording", S.STARTING),
        I.START: _row(_start, "start recording", S.STARTING),
        I.STOP: _row(_cue("ready"), "already stopped: cue ready"),
        I.STATUS: _row(_status, "status answer: not recording, minutes today, warning"),
        I.POWER_OFF: _row(_power_off, "power off", S.POWERING_OFF),
        I.STILL: _row(_still, "release the shutter", S.SHOOTING),
        I.LIMIT_SOON: _IGNORE,
        I.FOCUS: _row(_focus_on, "enter focus mode (focus-on once the camera has)",
                      S.FOCUSING),
        I.NOTHING: _IGNORE,
        **_no_command_in_flight(),
        **_camera_common(),
        I.CLIP_SAVED: _row(_clip, "journal the clip (a still's file cues still); a clip at "
                           "the 4 GB cap after a stop not taken for it: restart", S.STARTING),
        I.REPORTS_RECORDING: _row(_settle_recording, "camera started by itself: cue it",
                                  S.RECORDING),
        I.REPORTS_STOPPED: _IGNORE,
    },
    S.STARTING: _in_flight(S.STARTING),
    S.RECORDING: {
        I.TOGGLE: _row(_stop, "stop recording", S.STOPPING),
        I.START: _row(_cue("recording"), "already recording: cue recording"),
        I.STOP: _row(_stop, "stop recording", S.STOPPING),
        I.STATUS: _row(_status, "status answer: recording, minutes of this clip, warning"),
        I.POWER_OFF: _row(_stop_then_power_off, "stop the clip, then power off", S.STOPPING),
        I.STILL: _row(_still_while_recording, "cue refused (or stop-shoot-restart: stop "
                      "first)", S.STOPPING),
        I.LIMIT_SOON: _row(_limit_soon, "cue limit-soon: the clip reaches its cap soon"),
        I.FOCUS: _row(_nothing, "no focus mode while recording"),
        I.NOTHING: _IGNORE,
        **_no_command_in_flight(),
        **_camera_common(),
        I.REPORTS_RECORDING: _IGNORE,
        I.REPORTS_STOPPED: _row(_camera_stopped, "camera stopped by itself: at its cap "
                                "restart (restarted); else cue stopped and why",
                                S.IDLE, S.STARTING),
    },
    S.STOPPING: _in_flight(S.STOPPING),
    S.SYNCING: _in_flight(S.SYNCING),
    S.SHOOTING: _in_flight(S.SHOOTING),
    S.RECORDING_UNCONFIRMED: _unconfirmed(recording=True),
    S.IDLE_UNCONFIRMED: _unconfirmed(recording=False),
    S.FOCUSING: {
        I.TOGGLE: _row(_focus_leave_then_start, "leave focus mode, then start recording",
                       S.IDLE, S.STARTING),
        I.START: _row(_focus_leave_then_start, "leave focus mode, then start recording",
                      S.IDLE, S.STARTING),
        I.STOP: _row(_cue("ready"), "not recording: cue ready"),
        I.STATUS: _row(_status, "cue ready"),
        I.POWER_OFF: _row(_focus_leave_then_power_off, "put the camera back, power off",
                          S.IDLE, S.POWERING_OFF),
        I.FOCUS: _row(_focus_leave, "leave focus mode (focus-off once the camera is back)",
                      S.IDLE),
        I.STILL: _row(_cue("refused"), "no still in focus mode (magnified): leave it first"),
        I.LIMIT_SOON: _IGNORE,
        I.NOTHING: _IGNORE,
        **_camera_common(),
        I.FOCUS_STARTED: _row(_focus_started, "cue focus-on, start the pulse train"),
        I.FOCUS_ENDED: _row(_focus_ended, "the camera ended it: cue focus-off", S.IDLE),
        I.REPORTS_RECORDING: _row(_focus_camera_started, "camera started by itself: leave "
                                  "focus mode, cue recording", S.IDLE, S.RECORDING),
        I.REPORTS_STOPPED: _IGNORE,
        I.FAILED_BUSY: _row(_focus_failed("busy"), "focus-on busy: cue busy, undo, sync",
                            S.SYNCING),
        I.FAILED_REFUSED: _row(_focus_failed("refused"), "focus-on refused: cue refused, "
                               "undo, sync", S.SYNCING),
        I.CONFIRM_TIMEOUT: _row(_focus_failed("error"), "focus-on timed out: cue error, "
                                "undo, sync", S.SYNCING),
        I.INTERNAL_ERROR: _row(_focus_internal_error, "leave focus mode, cue error, sync",
                               S.IDLE, S.SYNCING),
    },
    S.POWERING_OFF: {
        I.TOGGLE: _row(_cue("power-off"), "still shutting down: cue power-off"),
        I.START: _row(_cue("power-off"), "still shutting down: cue power-off"),
        I.STOP: _row(_cue("power-off"), "still shutting down: cue power-off"),
        I.STATUS: _row(_cue("power-off"), "cue power-off"),
        I.POWER_OFF: _row(_cue("power-off"), "already shutting down"),
        I.FOCUS: _row(_cue("power-off"), "still shutting down: cue power-off"),
        I.NOTHING: _IGNORE,
        I.FOCUS_STARTED: _row(_focus_started_late, "journal"),
        I.FOCUS_ENDED: _row(_focus_ended, "journal (focus-off if focus-on was played)"),
        I.CONNECTED_IDLE: _IGNORE,
        I.CONNECTED_RECORDING: _IGNORE,
        I.CONNECTED_UNCONFIRMED: _IGNORE,
        **_NOT_IN_FLIGHT_SENT,
        I.REPORTS_RECORDING: _IGNORE,
        I.REPORTS_STOPPED: _IGNORE,
        I.CLIP_SAVED: _row(_clip, "journal the clip"),
        I.SUPPLY_READ: _row(_supply_quietly, "keep the reading, say nothing"),
        I.STILL_RELEASED: _row(_stale_still, "journal"),
        I.STILL: _row(_cue("power-off"), "still shutting down: cue power-off"),
        I.LIMIT_SOON: _IGNORE,
        **_no_command_in_flight(),
        I.LOST: _IGNORE,
        I.POWER_OFF_TIMEOUT: _row(_power_off_came_back, "no power-off came: cue error, sync",
                                  S.SYNCING),
        I.POWER_OFF_FAILED: _row(_power_off_came_back, "request failed: cue error, sync",
                                 S.SYNCING),
        I.INTERNAL_ERROR: _ERROR_CUE,
    },
}

#: (from, to) -> the inputs that may move it; derived from :data:`TABLE` (for the diagram).
TRANSITIONS: dict[tuple[State, State], list[str]] = {}
for _src, _rows in TABLE.items():
    for _input, _r in _rows.items():
        for _dst in sorted(_r.to - {_src}, key=list(State).index):
            TRANSITIONS.setdefault((_src, _dst), []).append(_input.value)
del _src, _rows, _input, _r, _dst


def state_diagram() -> str:
    """The state diagram (Mermaid) generated from :data:`TABLE`.

    Moves every connected state shares (camera lost, reconnected, an internal error) are
    drawn once as notes. A pending intent replayed after settling is the settled state's
    own row (STARTING --> RECORDING, then RECORDING --> STOPPING).
    """
    shared = {I.LOST.value, I.FAILED_LOST.value, I.CONNECTED_IDLE.value,
              I.CONNECTED_RECORDING.value, I.CONNECTED_UNCONFIRMED.value,
              I.INTERNAL_ERROR.value}
    lines = ["stateDiagram-v2", f"    [*] --> {S.NO_CAMERA.name}"]
    for (src, dst), inputs in TRANSITIONS.items():
        own = [i for i in inputs if i not in shared or src is S.NO_CAMERA]
        if own:
            lines.append(f"    {src.name} --> {dst.name}: {', '.join(own)}")
    lines.append(f"    note right of {S.NO_CAMERA.name}: every state but POWERING_OFF --> "
                 f"{S.NO_CAMERA.name} when the camera is lost")
    lines.append(f"    note left of {S.SYNCING.name}: every connected state --> SYNCING on "
                 "an internal error; --> IDLE / RECORDING when the camera reconnects (--> "
                 "the unconfirmed states when it cannot tell)")
    return "\n".join(lines)


def table_markdown() -> str:
    """The whole table as Markdown (docs/architecture.md): state, input, what happens, to."""
    out = ["| state | input | what happens | may move to |", "| --- | --- | --- | --- |"]
    for state, rows in TABLE.items():
        for kind, row in rows.items():
            to = ", ".join(s.value for s in sorted(row.to, key=list(State).index)) or "—"
            out.append(f"| {state.value} | {kind.value} | {row.says} | {to} |")
    return "\n".join(out)


def write_docs(path: str = "docs/architecture.md") -> None:
    """Regenerate the diagram and the table between their markers in ``path``."""
    from pathlib import Path

    doc = Path(path)
    text = doc.read_text()
    for marker, body in (("diagram", f"```mermaid\n{state_diagram()}\n```"),
                         ("table", table_markdown())):
        head, _, rest = text.partition(f"<!-- {marker}:start -->\n")
        _, _, tail = rest.partition(f"<!-- {marker}:end -->")
        text = f"{head}<!-- {marker}:start -->\n{body}\n<!-- {marker}:end -->{tail}"
    doc.write_text(text)


if __name__ == "__main__":
    import sys

    if "--write-docs" in sys.argv[1:]:
        write_docs()
    else:
        print(table_markdown() if "--table" in sys.argv[1:] else state_diagram())
