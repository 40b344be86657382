"""The daemon: one loop that carries inputs to the pure core and its effects to the edge.

Inputs arrive on one queue from the adapters' threads (button edges, typed gestures,
camera reports). The loop sleeps on that queue until the next input or the earliest
deadline of the three pure machines — the gesture recogniser, the recording controller and
the haptic sequencer — so an idle daemon wakes only for the systemd watchdog.

What a press *does* is decided in :mod:`pitrigger.controller`; this file only wires.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitrigger.buttons import ButtonSource
from pitrigger.cameras import CameraBackend
from pitrigger.cameras.focus_session import FocusOptions
from pitrigger.cameras.worker import CameraWorker
from pitrigger.controller import RecordingController
from pitrigger.day_setup import make_day_jobs, make_day_keeper, make_status_shape
from pitrigger.focus import FocusFeedback
from pitrigger.gestures import Gesture, GestureRecogniser, ThresholdCrossed
from pitrigger.journal import NullJournal
from pitrigger.messages import (
    CameraReport,
    Command,
    CopyReport,
    Cue,
    Edge,
    Effect,
    Focus,
    FocusScore,
    FromCamera,
    InboxItem,
    PowerOff,
    Record,
    Reload,
    Shutdown,
    ShutdownWhenSettled,
    StatusAnswer,
    TypedGesture,
)
from pitrigger.motors import HapticSink
from pitrigger.names import REFUSALS, State
from pitrigger.sdnotify import Notifier
from pitrigger.triggers import TriggerSelector

if TYPE_CHECKING:  # at run time the config may be the plain view (pitrigger.config.startup)
    from pitrigger.config import Config

log = logging.getLogger("pitrigger")

# The worker thread may legitimately block this long inside libgphoto2 (busy retries,
# a 2.5 s PTP/IP timeout, a reconnect back-off); past it the daemon counts as hung.
WORKER_STALL_S = 60.0


# The worker thread is a daemon thread: on shutdown it gets this long to let go of the
# camera, so that a frozen body never holds the process past systemd's TimeoutStopSec=5s.
WORKER_JOIN_S = 1.5


@dataclass
class _Inbox:
    queue: queue.SimpleQueue[InboxItem] = field(default_factory=queue.SimpleQueue)

    def put(self, item: InboxItem) -> None:
        self.queue.put(item)


class Daemon:
    """Wires a button, a camera backend and a haptic sink to the pure core.

    >>> daemon = Daemon(config, button=..., sink=..., camera=...)  # doctest: +SKIP
    >>> threading.Thread(target=daemon.run).start()                # doctest: +SKIP
    """

    def __init__(
        self,
        config: Config,
        *,
        button: ButtonSource,
        sink: HapticSink,
        camera: CameraBackend,
        journal: Any = None,
        notifier: Notifier | None = None,
        startup_problem: str | None = None,
        reload: Callable[[], Config] | None = None,
        clock: Callable[[], float] = time.monotonic,
        triggers: TriggerSelector | None = None,
    ) -> None:
        self.config = config
        self.button = button
        self.sink = sink
        self.journal = journal if journal is not None else NullJournal()
        self.notifier = notifier if notifier is not None else Notifier({})
        self.clock = clock
        self.startup_problem = startup_problem
        self.reload_config = reload
        self.inbox = _Inbox()
        self.controller = RecordingController(
            {state: config.actions_for(state) for state in ("idle", "recording")},
            confirm_timeout_s=config.camera.confirm_timeout_s,
            day=make_day_keeper(config),
            still_while_recording=config.camera.still_while_recording,
        )
        self.status_shape = make_status_shape(config)
        # What each name last played as (the status answer differs every time), for sinks
        # that draw patterns.
        self.played_patterns: dict[str, Any] = dict(config.pattern_objects())
        self.shutdown_why = ""
        # A button already down at start (held, or stuck) must not fire when released.
        self.gestures = GestureRecogniser(
            config.gestures.timings(),
            pressed_at_start=bool(getattr(button, "is_pressed", False)),
        )
        # Focus mode's pulse train (docs/focus.md): pulses may follow each other with the
        # short gap that 8 Hz leaves; every other pattern keeps min_gap_ms.
        self.focus_feedback = FocusFeedback(config.focus.tuning())
        self.haptics = config.haptic_sequencer(
            # 1 ms under the train's own gap: the feedback schedules taps exactly one period
            # apart, and float rounding must not push a tap into the queue for a later turn.
            repeat_gap_s={"focus": self.focus_feedback.tuning.min_gap_s - 0.001},
        )
        # How a press reaches the camera ([camera] trigger), chosen on every connection.
        self.triggers = triggers if triggers is not None else TriggerSelector.from_config(config)
        self.worker = CameraWorker(
            camera,
            lambda report: self.inbox.put(FromCamera(report)),
            triggers=self.triggers,
            busy_retry_s=config.camera.busy_retry_s,
            confirm_s=min(2.0, config.camera.confirm_timeout_s / 2),
            poll_interval_s=config.camera.poll_interval_s,
            idle_poll_interval_s=config.camera.idle_poll_interval_s,
            reconnect_min_s=config.camera.reconnect_min_s,
            reconnect_max_s=config.camera.reconnect_max_s,
            jobs=make_day_jobs(config, camera, lambda report: self.inbox.put(FromCamera(report))),
            focus=FocusOptions(zoom=config.focus.zoom, max_fps=config.focus.max_fps,
                               measure=config.focus.measure, crop=config.focus.crop),
        )
        self.pattern_listeners: list[Callable[[str, float], None]] = []
        self.power_off_requested = False
        self._power_off_due = False
        self._stop = threading.Event()
        self._stop_when_settled = False
        self._ready_sent = False
        self._records: list[Record] = []
        self.first_report = threading.Event()  # set once the camera situation is known
        self._next_watchdog: float | None = None

    # -- control from other threads ----------------------------------------------------

    def stop(self, why: str = "stop requested") -> None:
        self.inbox.put(Shutdown(why))

    def stop_when_settled(self) -> None:
        """End the loop once the camera has settled and the motor is quiet (demo EOF)."""
        self.inbox.put(ShutdownWhenSettled())

    def reload(self) -> None:
        """Re-read the config (SIGHUP): a bad one is refused with ``error``."""
        self.inbox.put(Reload())

    def edge(self, pressed: bool, at: float) -> None:
        self.inbox.put(Edge(pressed, at))

    def gesture(self, name: str, at: float) -> None:
        self.inbox.put(TypedGesture(name, at))

    @property
    def state(self) -> State:
        return self.controller.state

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> int:
        log.info("starting: camera %s on %s (trigger %s), button %s, haptics %s",
                 self.config.camera.backend, self.config.camera.port,
                 self.config.camera.trigger, self.config.button.source,
                 self.config.haptics.sink)
        if self.config.camera.trigger == "usb-half-press":
            log.warning("trigger usb-half-press is UNPROVEN on a real body (Magic Lantern's REC "
                        "key may not see a USB half-press): run `pitrigger probe` before a "
                        "shoot; starts cue 'sent', never 'recording'")
        self.journal.write("start", {"pid": os.getpid()})
        if self.startup_problem:
            self._apply([Cue("error"), Record("config-error", {"problem": self.startup_problem})],
                        self.clock())
            self._flush_records()
        self.button.start(self.edge, self.gesture)
        self.worker.start()
        if self.notifier.watchdog_s:
            self._next_watchdog = self.clock()
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _loop(self) -> None:
        get = self.inbox.queue.get
        while not self._stop.is_set():
            deadline = self._next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                item = None
            now = self.clock()
            # Handle everything already queued before advancing the clock: after a stall
            # (a slow fsync) the queued edges carry earlier times, and advancing to `now`
            # between them would end a debounce lockout before its edges were seen.
            while item is not None:
                self._guarded(self._handle, item, now)
                try:
                    item = get(block=False)
                except queue.Empty:
                    item = None
                now = self.clock()
            self._guarded(lambda _item, at: self._advance(at), None, now)
            self._flush_records()

    def _guarded(self, step: Callable[[Any, float], None], item: Any, now: float) -> None:
        """Run one step of the loop; an exception is a bug in that step, not in the loop.

        It is logged with its traceback, journaled and cued ``error``, the camera state is
        fetched again, and the loop goes on: a daemon that dies on an input leaves the
        user with no cue at all (and systemd restarting it into the same input).
        """
        try:
            step(item, now)
        except Exception as exc:
            log.exception("error while handling %r", item if item is not None else "the clock")
            self._records.append(Record("internal-error", {
                "input": repr(item)[:200], "error": f"{type(exc).__name__}: {exc}"}))
            try:
                self._apply(self.controller.internal_error(repr(exc)[:200], now), now)
            except Exception:
                log.exception("error while recovering")
                self.haptics.play("error", now)

    def _next_deadline(self) -> float | None:
        deadlines = [d for d in (self.gestures.next_deadline(), self.controller.next_deadline(),
                                 self.haptics.next_deadline(), self._next_watchdog,
                                 self.focus_feedback.next_deadline())
                     if d is not None]
        return min(deadlines) if deadlines else None

    def _handle(self, item: InboxItem, now: float) -> None:
        match item:
            case Edge(pressed=pressed, at=at):
                self._gesture_events(self.gestures.edge(pressed, at), now)
            case TypedGesture(name=name):
                self._apply(self.controller.gesture(name, now), now)
            case FromCamera(report=report):
                self._camera_report(report, now)
            case Shutdown(why=why):
                self.shutdown_why = why
                self._stop.set()
            case ShutdownWhenSettled():
                self._stop_when_settled = True
            case Reload():
                self._reload(now)
            case _:
                raise TypeError(f"not an inbox item: {item!r}")

    def _reload(self, now: float) -> None:
        if self.reload_config is None:
            log.warning("reload asked, but this daemon has no config file to re-read")
            return
        try:
            config = self.reload_config()
        except Exception as exc:  # a ConfigError names key and line; anything else too
            log.error("reload refused, keeping the running config:\n%s", exc)
            self._records.append(Record("reload", {"ok": False, "problem": str(exc)[:2000]}))
            self.haptics.play("error", now)
            return
        restart_needed = [name for name in ("button", "camera", "wired", "journal", "focus") if
                          getattr(config, name) != getattr(self.config, name)]
        if config.haptics.sink != self.config.haptics.sink or \
                config.haptics.pin != self.config.haptics.pin:
            restart_needed.append("haptics")
        self.config = config
        self.controller.actions = {state: dict(config.actions_for(state))
                                   for state in ("idle", "recording")}
        self.controller.confirm_timeout_s = config.camera.confirm_timeout_s
        self.haptics.patterns = dict(config.pattern_objects())
        self.gestures.timings = config.gestures.timings()
        log.info("config reloaded%s", f"; [{'], ['.join(restart_needed)}] take effect on "
                 "restart" if restart_needed else "")
        self._records.append(Record("reload", {"ok": True, "restart_needed": restart_needed}))

    def _camera_report(self, report: CameraReport | CopyReport, now: float) -> None:
        if isinstance(report, CopyReport):
            # Copy progress is news for the log and the journal, not for the controller.
            log.info("copy %s: %d/%d bytes (%s)", report.progress.file, report.progress.done,
                     report.progress.size, report.progress.status)
            self._records.append(Record("copy", report.progress.fields()))
            return
        if isinstance(report, FocusScore):
            # A scored live-view frame: the focus feedback's, never the controller's table.
            if self.controller.state is State.FOCUSING:
                for cue in self.focus_feedback.frame(report.score, now):
                    self.haptics.play(cue, now)
            return
        self._apply(self.controller.camera(report, now), now)
        if not self._ready_sent:
            # Up and serving, camera or not: systemd may stop waiting for us.
            self._ready_sent = True
            self.notifier.ready(f"camera: {self.controller.state.value}")
            self.first_report.set()

    def _advance(self, now: float) -> None:
        self._gesture_events(self.gestures.advance(now), now)
        self._apply(self.controller.advance(now), now)
        self._focus_pulses(now)
        self.sink.set_level(self.haptics.advance(now))
        for started in self.haptics.pop_started():
            if started.name != "focus":  # up to 8 a second: not a line each in the journal
                log.info("haptic %s", started.name)
                self._records.append(Record("haptic", {"name": started.name}))
            self.sink.pattern_started(started.name)
            for listener in self.pattern_listeners:
                listener(started.name, started.at)
        if self._power_off_due and self.haptics.next_deadline() is None:
            self._power_off_due = False
            self._request_power_off()
        if self._next_watchdog is not None and now >= self._next_watchdog:
            self._watchdog(now)
        if self._stop_when_settled and self._settled():
            self._stop.set()

    def _focus_pulses(self, now: float) -> None:
        """Play a due pulse of the focus train, unless it would blur another message."""
        if self.focus_feedback.active and self.controller.state is not State.FOCUSING:
            self.focus_feedback.stop()  # the mode ended without a Focus(False): lost camera
        for pulse in self.focus_feedback.advance(now):
            # Dropped, never queued, while the button is down (the hold's ticks must be felt
            # alone) and while another pattern plays, waits or still needs its gap (a cue is
            # never blurred by the train, and a late tap would misstate the rate).
            if not self.gestures.pressed and self.haptics.can_start(pulse, now):
                self.haptics.play(pulse, now)

    def _flush_records(self) -> None:
        records, self._records = self._records, []
        for record in records:
            self.journal.write(record.event, record.fields)

    def _gesture_events(self, events: list[Gesture | ThresholdCrossed], now: float) -> None:
        for event in events:
            if isinstance(event, ThresholdCrossed):
                # A tick as each mapped threshold passes: "let go now for this action".
                if self.controller.action_map.get(event.name, "none") != "none":
                    self.haptics.play("tick", now)
            else:
                self._apply(self.controller.gesture(event.name, now), now)

    def _apply(self, effects: list[Effect], now: float) -> None:
        for effect in effects:
            if isinstance(effect, Command):
                log.info("camera: %s (#%d)", effect.action, effect.id)
                self.worker.send(effect)
            elif isinstance(effect, Cue):
                self.haptics.play(effect.name, now)
            elif isinstance(effect, StatusAnswer):
                from pitrigger.status_code import encode

                answer = encode(effect.reading, self.status_shape)
                self.played_patterns["status"] = answer
                self.haptics.play("status", now, answer)
                self._records.append(Record("status", {
                    "recording": effect.reading.recording, "minutes": effect.reading.minutes,
                    "warning": effect.reading.warning}))
            elif isinstance(effect, Record):
                if effect.event == "state":
                    log.info("state: %s (%s)", effect.fields["state"], effect.fields["why"])
                elif effect.event == "command-failed" and effect.fields.get("reason"):
                    # `refused` says "fix the camera"; the log says what to fix.
                    reason = effect.fields["reason"]
                    log.warning("camera refused %s (%s): %s", effect.fields.get("command"),
                                reason, REFUSALS.get(reason, reason))
                # Written after the motor has been set: an fsync on a slow SD card must
                # not delay the cue.
                self._records.append(effect)
            elif isinstance(effect, PowerOff):
                self._power_off_due = True
            elif isinstance(effect, Focus):
                if effect.on:
                    self.focus_feedback.enter(now)
                else:
                    self.focus_feedback.stop()
        self.gestures.double_enabled = self.controller.double_enabled

    def _request_power_off(self) -> None:
        path = Path(self.config.power.request_path)
        try:
            path.write_text("poweroff\n")
        except (OSError, ValueError) as exc:
            log.error("power-off request failed: cannot write %s: %s", path, exc)
            now = self.clock()
            self._apply(self.controller.power_off_failed(f"cannot write {path}: {exc}", now),
                        now)
            return
        self.power_off_requested = True
        log.warning("power-off requested (%s)", path)
        self.journal.write("power-off", {"path": str(path)})

    def _watchdog(self, now: float) -> None:
        assert self.notifier.watchdog_s is not None
        self._next_watchdog = now + self.notifier.watchdog_s / 2
        if now - self.worker.heartbeat < WORKER_STALL_S:
            self.notifier.watchdog()
        else:
            log.error("camera worker stalled for %.0f s: letting the watchdog restart us",
                      now - self.worker.heartbeat)

    def _settled(self) -> bool:
        return (self.controller.state in (State.IDLE, State.RECORDING, State.NO_CAMERA,
                                          State.POWERING_OFF)
                and not self.controller.command_in_flight
                and self.haptics.next_deadline() is None
                and not self._power_off_due)

    def _shutdown(self) -> None:
        # The motor must never be left on, whatever ended the loop.
        try:
            self.sink.set_level(self.haptics.stop(self.clock()))
        finally:
            state = self.controller.state
            recording = self.controller.believed_recording and state is not State.NO_CAMERA
            # A running clip is left running: the camera records on its own, and the next
            # start adopts it (stopping it here would cut a clip on every restart).
            log.info("stopping (%s): camera %s%s", self.shutdown_why or "loop ended",
                     state.value, ", clip left running" if recording else "")
            # The triggers after the worker: a wired trigger lets go of its pins (lines open).
            for step in (self.button.close, lambda: self.worker.stop(WORKER_JOIN_S),
                         self.triggers.close, self.sink.close):
                try:
                    step()
                except Exception:
                    log.exception("error while shutting down")
            self._flush_records()
            self.journal.write("stop", {"state": state.value,
                                        "why": self.shutdown_why or "loop ended",
                                        "recording": self.controller.believed_recording,
                                        "clip_left_running": recording})
            self.journal.close()
