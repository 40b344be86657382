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
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pitrigger.buttons import ButtonSource
from pitrigger.camera_jobs import DayJobs
from pitrigger.cameras import CameraBackend, CameraWorker
from pitrigger.config import Config, ConfigError, find_config, load_config
from pitrigger.controller import (
    CameraReport,
    Command,
    Cue,
    Effect,
    PowerOff,
    Record,
    RecordingController,
    State,
    StatusAnswer,
)
from pitrigger.day import DayKeeper
from pitrigger.gestures import Gesture, GestureRecogniser, ThresholdCrossed
from pitrigger.haptics import HapticSequencer
from pitrigger.journal import NullJournal, open_journal
from pitrigger.motors import HapticSink
from pitrigger.reports import CopyReport
from pitrigger.sdnotify import Notifier, started_by_systemd

log = logging.getLogger("pitrigger")

# The worker thread may legitimately block this long inside libgphoto2 (busy retries,
# a 2.5 s PTP/IP timeout, a reconnect back-off); past it the daemon counts as hung.
WORKER_STALL_S = 60.0


@dataclass
class _Inbox:
    queue: queue.SimpleQueue[tuple[Any, ...]] = field(default_factory=queue.SimpleQueue)

    def put(self, *item: Any) -> None:
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.button = button
        self.sink = sink
        self.journal = journal if journal is not None else NullJournal()
        self.notifier = notifier if notifier is not None else Notifier({})
        self.clock = clock
        self.startup_problem = startup_problem
        self.inbox = _Inbox()
        self.controller = RecordingController(
            {state: config.actions_for(state) for state in ("idle", "recording")},
            confirm_timeout_s=config.camera.confirm_timeout_s,
            day=make_day_keeper(config),
            still_while_recording=config.camera.still_while_recording,
        )
        self.status_shape = make_status_shape(config)
        # What each name last played as (the status answer changes every time), for sinks
        # that draw patterns.
        self.played_patterns: dict[str, Any] = dict(config.pattern_objects())
        # A button already down at start (held, or stuck) must not fire when released.
        self.gestures = GestureRecogniser(
            config.gestures.timings(),
            pressed_at_start=bool(getattr(button, "is_pressed", False)),
        )
        self.haptics = HapticSequencer(
            config.pattern_objects(),
            kick_s=config.haptics.kick_ms / 1000 if config.haptics.pwm else 0.0,
            min_gap_s=config.haptics.min_gap_ms / 1000,
        )
        self.worker = CameraWorker(
            camera,
            lambda report: self.inbox.put("camera", report),
            busy_retry_s=config.camera.busy_retry_s,
            confirm_s=min(2.0, config.camera.confirm_timeout_s / 2),
            poll_interval_s=config.camera.poll_interval_s,
            reconnect_min_s=config.camera.reconnect_min_s,
            reconnect_max_s=config.camera.reconnect_max_s,
            jobs=make_day_jobs(config, camera, lambda report: self.inbox.put("camera", report)),
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

    def stop(self) -> None:
        self.inbox.put("stop")

    def stop_when_settled(self) -> None:
        """End the loop once the camera has settled and the motor is quiet (demo EOF)."""
        self.inbox.put("stop-when-settled")

    def edge(self, pressed: bool, at: float) -> None:
        self.inbox.put("edge", pressed, at)

    def gesture(self, name: str, at: float) -> None:
        self.inbox.put("gesture", name, at)

    @property
    def state(self) -> State:
        return self.controller.state

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> int:
        log.info("starting: camera %s on %s, button %s, haptics %s",
                 self.config.camera.backend, self.config.camera.port,
                 self.config.button.source, self.config.haptics.sink)
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
                self._handle(item, now)
                try:
                    item = get(block=False)
                except queue.Empty:
                    item = None
                now = self.clock()
            self._advance(now)
            self._flush_records()

    def _next_deadline(self) -> float | None:
        deadlines = [d for d in (self.gestures.next_deadline(), self.controller.next_deadline(),
                                 self.haptics.next_deadline(), self._next_watchdog)
                     if d is not None]
        return min(deadlines) if deadlines else None

    def _handle(self, item: tuple[Any, ...], now: float) -> None:
        kind = item[0]
        if kind == "edge":
            self._gesture_events(self.gestures.edge(item[1], item[2]), now)
        elif kind == "gesture":
            self._apply(self.controller.gesture(item[1], now), now)
        elif kind == "camera":
            self._camera_report(item[1], now)
        elif kind == "stop":
            self._stop.set()
        elif kind == "stop-when-settled":
            self._stop_when_settled = True

    def _camera_report(self, report: CameraReport | CopyReport, now: float) -> None:
        if isinstance(report, CopyReport):
            # Copy progress is news for the log and the journal, not for the controller.
            log.info("copy %s: %d/%d bytes (%s)", report.progress.file, report.progress.done,
                     report.progress.size, report.progress.status)
            self._records.append(Record("copy", report.progress.fields()))
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
        self.sink.set_level(self.haptics.advance(now))
        for started in self.haptics.pop_started():
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
                # Written after the motor has been set: an fsync on a slow SD card must
                # not delay the cue.
                self._records.append(effect)
            elif isinstance(effect, PowerOff):
                self._power_off_due = True
        self.gestures.double_enabled = self.controller.double_enabled

    def _request_power_off(self) -> None:
        path = Path(self.config.power.request_path)
        try:
            path.write_text("poweroff\n")
        except OSError as exc:
            log.error("power-off request failed: cannot write %s: %s", path, exc)
            self.haptics.play("error", self.clock())
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
            self.button.close()
            self.worker.stop()
            self.sink.close()
            self._flush_records()
            self.journal.write("stop", {"state": self.controller.state.value})
            self.journal.close()


# --- the day's pieces, from the config -------------------------------------------------


def make_day_keeper(config: Config) -> DayKeeper:
    """Clip cap, card and battery thresholds, auto restart: ``[camera]`` settings."""
    from pitrigger.cliplimit import ClipWatch
    from pitrigger.supply import SupplyWatch

    camera = config.camera
    return DayKeeper(
        ClipWatch(bytes_per_s=camera.movie_bytes_per_s, cap_s=camera.clip_cap_s or None,
                  warn_before_s=camera.limit_soon_s),
        SupplyWatch(card_minutes=camera.low_card_minutes,
                    battery_percent=camera.low_battery_percent),
        auto_restart=camera.auto_restart,
    )


def make_status_shape(config: Config) -> Any:
    """The status answer's timings, with the configured recording/ready/error shapes."""
    from pitrigger.status_code import DEFAULT_SHAPE, StatusShape

    patterns = config.pattern_objects()
    try:
        return StatusShape(head_recording=patterns["recording"].steps_ms,
                           head_idle=patterns["ready"].steps_ms,
                           warning=patterns["error"].steps_ms)
    except ValueError as exc:
        # A re-tuned vocabulary that would make the answer ambiguous: keep the default one.
        log.warning("status answer uses the default shapes: %s", exc)
        return DEFAULT_SHAPE


def make_day_jobs(config: Config, camera: CameraBackend, report: Any) -> DayJobs:
    """Supply readings, live-view power and (if enabled) copies, for the camera worker."""
    from pitrigger.copier import ClipCopier

    settings = config.camera
    copier = None
    if settings.copy_clips and hasattr(camera, "read_file"):
        copier = ClipCopier(
            camera,  # type: ignore[arg-type]  # checked: it reads files
            settings.copy_dir,
            chunk_bytes=settings.copy_chunk_kib * 1024,
            reserve_bytes=settings.copy_reserve_mib * 1024 * 1024,
            progress=lambda p: report(CopyReport(p)),
        )
    return DayJobs(camera, report, supply_interval_s=settings.supply_interval_s,
                   live_view=settings.live_view_between_clips,
                   live_view_off_after_s=settings.live_view_off_after_s, copier=copier)


# --- entry points ---------------------------------------------------------------------


def configure_logging(verbose: bool = False) -> None:
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt,
                        stream=sys.stderr)


def load_run_config(explicit: str | None) -> tuple[Config, str | None]:
    """The config to run with, and the reason if it is not the one the user wrote.

    Interactively a broken file is an error (exit 2). Under systemd the device has no
    screen: it comes up on the last good copy, or the built-in defaults, and plays
    ``error`` so the user knows their edit did not take.
    """
    try:
        path = find_config(explicit)
        config = load_config(path)
    except ConfigError as exc:
        if not started_by_systemd():
            raise
        log.error("config rejected, running on a fallback:\n%s", exc)
        fallback = Config()
        last_good = Path(fallback.daemon.last_good_path)
        try:
            config = load_config(last_good) if last_good.exists() else fallback
            log.warning("using %s", last_good if last_good.exists() else "built-in defaults")
        except ConfigError:
            config = fallback
        return config, str(exc)
    if path is not None:
        log.info("config: %s", path)
        _keep_last_good(path, Path(config.daemon.last_good_path))
    else:
        log.info("config: built-in defaults (no file on the search path)")
    return config, None


def _keep_last_good(path: Path, last_good: Path) -> None:
    try:
        text = path.read_bytes()
        if last_good.exists() and last_good.read_bytes() == text:
            return
        last_good.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=last_good.parent, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, last_good)
    except OSError as exc:
        log.debug("cannot keep a last-good copy at %s: %s", last_good, exc)


def build_daemon(config: Config, *, startup_problem: str | None = None,
                 button: ButtonSource | None = None, sink: HapticSink | None = None,
                 camera: CameraBackend | None = None, journal: Any = None) -> Daemon:
    """A daemon with the adapters the config names (any of them may be given instead)."""
    from pitrigger.buttons import make_button
    from pitrigger.cameras import make_backend
    from pitrigger.haptics import render as render_pattern
    from pitrigger.motors import make_sink

    patterns: dict[str, Any] = dict(config.pattern_objects())

    def render(name: str) -> str:
        return render_pattern(patterns[name]) if name in patterns else ""

    daemon = Daemon(
        config,
        button=button if button is not None else make_button(config),
        sink=sink if sink is not None else make_sink(config, render=render),
        camera=camera if camera is not None else make_backend(config),
        journal=journal if journal is not None else open_journal(config.journal.path),
        notifier=Notifier(),
        startup_problem=startup_problem,
    )
    daemon.played_patterns = patterns  # the sink draws what really played
    return daemon


def main_run(config_path: str | None) -> int:
    configure_logging()
    try:
        config, problem = load_run_config(config_path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    daemon = build_daemon(config, startup_problem=problem)
    _stop_on_signals(daemon)
    return daemon.run()


def _stop_on_signals(daemon: Daemon) -> None:
    import signal

    def handler(signum: int, frame: object) -> None:
        daemon.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main_haptics(config_path: str | None, names: list[str]) -> int:
    """Play the vocabulary (or the named patterns) on the configured sink, one by one."""
    from pitrigger.haptics import VOCABULARY
    from pitrigger.haptics import render as render_pattern
    from pitrigger.motors import make_sink

    configure_logging()
    try:
        config = load_config(find_config(config_path))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    patterns = config.pattern_objects()
    unknown = [n for n in names if n not in patterns]
    if unknown:
        print(f"unknown pattern(s): {', '.join(unknown)}; known: {', '.join(VOCABULARY)}",
              file=sys.stderr)
        return 2
    sink = make_sink(config, render=lambda name: render_pattern(patterns[name]))
    sequencer = HapticSequencer(patterns, min_gap_s=0.8)  # gaps long enough to tell apart
    now = time.monotonic()
    for name in names or list(VOCABULARY):
        sequencer.play(name, now)
    try:
        while True:
            now = time.monotonic()
            sink.set_level(sequencer.advance(now))
            for started in sequencer.pop_started():
                sink.pattern_started(started.name)
            deadline = sequencer.next_deadline()
            if deadline is None:
                break
            time.sleep(max(0.0, deadline - time.monotonic()))
    finally:
        sink.set_level(0.0)
        sink.close()
    return 0
