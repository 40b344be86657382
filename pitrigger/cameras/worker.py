"""The camera worker: the one thread that talks to the camera.

It owns the backend (libgphoto2 answers −110 to two threads at once), retries *busy*
within the configured budget, confirms every start/stop by the camera's own report, polls
events (which also keeps the camera awake) and reconnects with back-off. It turns all of
that into the reports of :mod:`pitrigger.messages` that the pure controller understands.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pitrigger.cameras import (
    CameraBackend,
    CameraBusy,
    CameraError,
    CameraGone,
    CameraRefused,
)
from pitrigger.cameras.focus_session import FocusOptions, FocusSession
from pitrigger.messages import (
    CameraConnected,
    CameraLost,
    CameraReport,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
    CommandSent,
    CopyReport,
    StillResult,
)
from pitrigger.triggers import Selection, TriggerSelector, UsbMovieTrigger

if TYPE_CHECKING:
    from pitrigger.camera_jobs import DayJobs

log = logging.getLogger("pitrigger.cameras")


# What the worker reports: the controller's camera reports and the copy's progress.
WorkerReport = CameraReport | CopyReport
Report = Callable[[WorkerReport], None]

_STOP = object()


class CameraWorker:
    """Runs every camera call on one thread; commands in, reports out.

    >>> from pitrigger.cameras.worker import CameraWorker
    >>> reports = []
    >>> worker = CameraWorker(backend, reports.append)   # doctest: +SKIP
    >>> worker.start(); worker.send(Command("start", 1))  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: CameraBackend,
        report: Report,
        *,
        busy_retry_s: float = 3.0,
        confirm_s: float = 2.0,
        poll_interval_s: float = 0.5,
        idle_poll_interval_s: float | None = None,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        focus: FocusOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        triggers: TriggerSelector | None = None,
        jobs: DayJobs | None = None,
    ) -> None:
        self.backend = backend
        # How a start/stop reaches the camera ([camera] trigger); chosen on every connection.
        self.triggers = triggers or TriggerSelector("usb", lambda path: UsbMovieTrigger())
        self.selection: Selection | None = None
        self.jobs = jobs
        self.report = self._followed(
            report if jobs is None else self._observed_by(jobs, report))
        self.busy_retry_s = busy_retry_s
        self.confirm_s = confirm_s
        self.poll_interval_s = poll_interval_s
        # Idle, nothing the camera says is urgent: poll only as often as keeps the body awake
        # (each poll is a wake-up of the whole Pi). Recording, a clip-cap stop must be heard
        # at once for the restart; so must the answer to a start or stop in flight.
        self.idle_poll_interval_s = (poll_interval_s if idle_poll_interval_s is None
                                     else max(poll_interval_s, idle_poll_interval_s))
        self.camera_recording = False  # as the camera last said (or a start was sent)
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.clock = clock
        self.connected = False
        self.heartbeat = clock()  # last time the loop came round (the watchdog checks it)
        self._commands: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._lost_reported = False
        self._next_poll = 0.0
        # Focus mode: frames between commands, on this thread (docs/focus.md).
        self.focus = FocusSession(backend, focus or FocusOptions(), report, clock)

    def _followed(self, report: Report) -> Report:
        # The worker follows what it reports: polling is fast only while the camera records.
        def followed(item: WorkerReport) -> None:
            if isinstance(item, CameraConnected | CameraState):
                self.camera_recording = item.recording
            elif isinstance(item, CommandSent) and item.action in ("start", "stop"):
                self.camera_recording = item.action == "start"
            if self.camera_recording:
                # The poll that saw the start was timed as an idle one: come back soon.
                self._next_poll = min(self._next_poll, self.clock() + self.poll_interval_s)
            report(item)

        return followed

    @property
    def current_poll_interval_s(self) -> float:
        return self.poll_interval_s if self.camera_recording else self.idle_poll_interval_s

    @staticmethod
    def _observed_by(jobs: DayJobs, report: Report) -> Report:
        # Every report passes the background jobs first (they follow recording and clips).
        def observed(item: WorkerReport) -> None:
            jobs.observed(item)
            report(item)

        return observed

    # -- used by the daemon ------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def send(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self, timeout: float = 5.0) -> None:
        self._commands.put(_STOP)
        self._thread.join(timeout)

    # -- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.reconnect_min_s
        while True:
            self.heartbeat = self.clock()
            if not self.connected:
                if self._try_connect():
                    backoff = self.reconnect_min_s
                    continue
                # Wait for the next attempt, answering commands as "lost" meanwhile.
                if self._wait_offline(backoff):
                    break
                backoff = min(backoff * 2, self.reconnect_max_s)
                continue
            wait = self.current_poll_interval_s
            if self.focus.active:
                # Focus mode: the next frame, or the next poll (the day's jobs wait).
                wait = min(self.focus.wait_s(), max(0.0, self._next_poll - self.clock()))
            elif self.jobs is not None:
                # Polls keep their own cadence (they keep the body awake: under 10 s apart);
                # background work fits in between.
                wait = max(0.0, self._next_poll - self.clock())
                job_wait = self.jobs.wait_s()
                if job_wait is not None:
                    wait = min(wait, job_wait)
            try:
                # A command always goes first: background work waits behind every press.
                item = self._commands.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            try:
                if isinstance(item, Command):
                    self._execute(item)
                elif self.focus.active:
                    # Focus mode: frames at max_fps; the day's background jobs wait (turning
                    # live view off between clips would fight the frames).
                    if self.focus.wait_s() == 0.0:
                        self.focus.grab()
                    if self.clock() >= self._next_poll:
                        self._forward(self._poll())  # events still flow in focus mode
                elif self.jobs is not None:
                    if self.jobs.wait_s() == 0.0:
                        self.jobs.step()  # one short piece: a chunk, a reading, live view off
                    if self.clock() >= self._next_poll:
                        self._forward(self._poll())
                else:
                    self._forward(self._poll())
            except CameraGone as exc:
                self._lose(str(exc))
            except CameraError as exc:
                # A poll that fails for another reason: the link is not trustworthy.
                self._lose(f"poll failed: {exc}")
            except Exception as exc:
                # A bug or a surprise from the binding must not silently end the only
                # thread that talks to the camera: start again from a fresh session.
                log.exception("camera worker error")
                self._lose(f"unexpected {type(exc).__name__}: {exc}")
        self._close()

    def _try_connect(self) -> bool:
        try:
            connected = self.backend.connect()
        except CameraError as exc:
            if not self._lost_reported:
                log.warning("no camera: %s", exc)
                self.report(CameraLost(str(exc)))
                self._lost_reported = True
            else:
                log.debug("still no camera: %s", exc)
            return False
        try:
            self.selection = selection = self.triggers.select(self.backend)
        except CameraError as exc:
            self.report(CameraLost(f"reading the body's facts: {exc}"))
            self._lost_reported = True
            self._close()
            return False
        self.connected = True
        self._lost_reported = False
        log.info("camera connected (%s), recording=%s", connected.model or "?",
                 connected.recording)
        if selection.trigger is None:
            log.error("no trigger path: %s", selection.why)
        else:
            log.info("trigger %s", selection.why)
        if not selection.confirms:
            # Nothing this body reports tells whether it records: "not recording" is no
            # knowledge, and the controller must not take it for the camera's word.
            connected = CameraConnected(connected.recording, connected.model, confirms=False)
        self.report(connected)
        if self.jobs is not None:
            # After the connection's report: "low battery" is said after `ready`.
            try:
                self.jobs.connected(connected.recording)
            except CameraGone as exc:
                self._lose(str(exc))
                return False
            except CameraError as exc:
                log.warning("background jobs at connection: %s", exc)
        return True

    def _wait_offline(self, seconds: float) -> bool:
        """Sleep ``seconds``, failing commands that arrive meanwhile. True means stop."""
        deadline = self.clock() + seconds
        while (left := deadline - self.clock()) > 0:
            try:
                item = self._commands.get(timeout=left)
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            if isinstance(item, Command):
                self.report(CommandFailed(item.id, "lost", "no camera"))
        return False

    def _execute(self, command: Command) -> None:
        if command.action == "focus-on":
            self.focus.enter(command)
            return
        if command.action == "focus-off":
            self.focus.leave()
            return
        if command.action == "still":
            self._still(command)
            return
        selection = self.selection
        confirms = selection is None or selection.confirms
        if command.action == "sync":
            self._forward(self._poll())
            if not confirms:
                # Nothing this body reports says whether it records: say so, not "None".
                self.report(CommandSent(command.id, "sync"))
                return
            self.report(CameraState(self.backend.read_recording(), "sync"))
            return
        trigger = selection.trigger if selection is not None else UsbMovieTrigger()
        if trigger is None:
            why = selection.why if selection is not None else "no trigger"
            self.report(CommandFailed(command.id, "refused", why, reason="no-trigger-path"))
            return
        want = command.action == "start"
        press = trigger.start if want else trigger.stop
        give_up = self.clock() + self.busy_retry_s
        wait = 0.02
        while True:
            try:
                press(self.backend)
                break
            except CameraBusy as exc:
                if self.clock() + wait > give_up:
                    self.report(CommandFailed(command.id, "busy", str(exc)))
                    return
                time.sleep(wait)  # the camera is writing or flipping the mirror
                wait = min(wait * 2, 0.25)
            except CameraRefused as exc:
                self._report_failure(command, exc)
                return
            except CameraGone as exc:
                self._report_failure(command, exc)
                raise
        if trigger.confirmed_by_camera:
            self._confirm(want)
        else:
            self._confirm_sent(command, want)

    def _confirm_sent(self, command: Command, want: bool) -> None:
        """After a half-press or wired pulse: what, if anything, the camera confirms.

        A start: nothing can (Magic Lantern reports no 0xD1B8), so it is *sent* at once. A
        stop: the camera confirms it by adding the new .MOV (or by a 0xD1B8 event, on a body
        that has one); without either within ``confirm_s`` it too is only *sent*.
        """
        if want:
            self.report(CommandSent(command.id, "start"))
            return
        until = self.clock() + self.confirm_s
        while self.clock() < until:
            reports = self._poll()
            self._forward(reports)
            if any(isinstance(r, CameraState) and not r.recording for r in reports):
                return
            if any(isinstance(r, ClipSaved) and r.path.upper().endswith(".MOV")
                   for r in reports):
                self.report(CameraState(False, "clip"))  # the finished movie is the proof
                return
            time.sleep(0.005)
        self.report(CommandSent(command.id, "stop"))

    def _still(self, command: Command) -> None:
        """Release the shutter; the file's arrival comes as a ClipSaved from the poll."""
        take = getattr(self.backend, "take_still", None)
        if take is None:
            self.report(CommandFailed(command.id, "refused", "this camera takes no stills"))
            return
        try:
            take()
        except CameraBusy as exc:
            self.report(CommandFailed(command.id, "busy", str(exc)))
            return
        except (CameraRefused, CameraGone) as exc:
            self._report_failure(command, exc)
            if isinstance(exc, CameraGone):
                raise
            return
        self.report(StillResult(True))
        self._forward(self._poll())

    def _report_failure(self, command: Command, exc: CameraRefused | CameraGone) -> None:
        """A command the body refused (with why, if it can tell) or lost with the link."""
        if isinstance(exc, CameraRefused):
            self.report(CommandFailed(command.id, "refused", str(exc),
                                      reason=exc.reason or self._refusal_reason()))
        else:
            self.report(CommandFailed(command.id, "lost", str(exc)))

    def _refusal_reason(self) -> str:
        """Ask the backend why the body refused (card, battery…), if it can tell."""
        diagnose = getattr(self.backend, "refusal_reason", None)
        if diagnose is None:
            return ""
        try:
            return str(diagnose())
        except CameraError as exc:
            log.debug("could not ask why the camera refused: %s", exc)
            return ""

    def _confirm(self, want: bool) -> None:
        """Wait for the camera's own report of the new state; read it back if silent."""
        until = self.clock() + self.confirm_s
        while self.clock() < until:
            reports = self._poll()
            self._forward(reports)
            if any(isinstance(r, CameraState) and r.recording == want for r in reports):
                return
            time.sleep(0.005)
        self.report(CameraState(self.backend.read_recording(), "readback"))

    def _poll(self) -> list[CameraState | ClipSaved]:
        self._next_poll = self.clock() + self.current_poll_interval_s
        return self._poll_now()

    def _poll_now(self) -> list[CameraState | ClipSaved]:
        """What the camera queued; a *busy* answer to GetEvent is "no news yet".

        Busy is an answer, so the link is alive: treating it as a lost camera would drop the
        session, cue ``no-camera`` and re-run the whole connect sequence for nothing.
        """
        try:
            return self.backend.poll(0)
        except CameraBusy as exc:
            log.debug("event poll answered busy: %s", exc)
            return []

    def _forward(self, reports: list[CameraState | ClipSaved]) -> None:
        for r in reports:
            self.report(r)

    def _lose(self, reason: str) -> None:
        log.warning("camera lost: %s", reason)
        self.connected = False
        self.focus.reset()  # a new session starts unmagnified; the controller has left too
        self._lost_reported = True
        self.report(CameraLost(reason))
        self._close()

    def _close(self) -> None:
        try:
            self.backend.close()
        except Exception as exc:  # closing a dead link must never kill the worker
            log.debug("close: %s", exc)
