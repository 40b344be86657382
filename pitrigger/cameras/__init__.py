"""Cameras: a small backend protocol, backends picked by name, and the worker thread.

A backend does one camera operation per call and raises :class:`CameraBusy`,
:class:`CameraRefused` or :class:`CameraGone`. The :class:`CameraWorker` owns the backend
on one thread (libgphoto2 answers −110 to two threads at once), retries *busy* within the
configured budget, confirms every start/stop by the camera's own report, polls events
(which also keeps the camera awake) and reconnects with back-off. It turns all of that into
the reports the pure :class:`~pitrigger.controller.RecordingController` understands.

Backends (``[camera] backend`` in the config):

* ``gphoto2`` — :mod:`pitrigger.cameras.gphoto2`, a tethered Canon EOS over libgphoto2.
* ``picamera2`` — :mod:`pitrigger.cameras.picamera2`, a Pi Camera Module (optional extra).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pitrigger.controller import (
    CameraConnected,
    CameraLost,
    CameraReport,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
)
from pitrigger.reports import CopyReport, StillResult, SupplyReport

if TYPE_CHECKING:
    from pitrigger.camera_jobs import DayJobs
    from pitrigger.config import Config

log = logging.getLogger(__name__)


class CameraError(Exception):
    """A camera operation failed; ``code`` is the backend's error code if it has one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class CameraBusy(CameraError):
    """The camera answered busy (PTP 0x2019, libgphoto2 −110): try again shortly."""


class CameraRefused(CameraError):
    """The camera will not do this (no remote movie, wrong mode, full card…)."""


class CameraGone(CameraError):
    """The camera is not there: unplugged, powered off, asleep, or the link timed out."""


class CameraBackend(Protocol):
    """What the worker needs from a camera. Every call may block; none is re-entered."""

    def connect(self) -> CameraConnected:
        """Open a session and report the camera's real recording state."""
        ...

    def start_recording(self) -> None: ...

    def stop_recording(self) -> None: ...

    def read_recording(self) -> bool:
        """Ask the camera whether it records now (a read-back, not a belief)."""
        ...

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        """Collect what the camera reported within ``timeout_s`` (0 = what is queued)."""
        ...

    def close(self) -> None: ...


def make_backend(config: Config) -> CameraBackend:
    """The backend named by ``config.camera.backend`` (imported only when chosen)."""
    name = config.camera.backend
    if name == "gphoto2":
        from pitrigger.cameras.gphoto2 import Gphoto2Camera

        return Gphoto2Camera(config.camera.port)
    if name == "picamera2":
        from pitrigger.cameras.picamera2 import Picamera2Camera

        return Picamera2Camera(config.camera.output_dir)
    raise ValueError(f"unknown camera backend {name!r}")


# What the worker reports: the controller's camera reports and the background jobs' news.
WorkerReport = CameraReport | SupplyReport | StillResult | CopyReport
Report = Callable[[WorkerReport], None]

_STOP = object()


class CameraWorker:
    """Runs every camera call on one thread; commands in, reports out.

    >>> from pitrigger.cameras import CameraWorker
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
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        jobs: DayJobs | None = None,
    ) -> None:
        self.backend = backend
        self.jobs = jobs
        self.report = report if jobs is None else self._observed_by(jobs, report)
        self.busy_retry_s = busy_retry_s
        self.confirm_s = confirm_s
        self.poll_interval_s = poll_interval_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.clock = clock
        self.connected = False
        self.heartbeat = clock()  # last time the loop came round (the watchdog checks it)
        self._commands: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._lost_reported = False
        self._next_poll = 0.0

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
            wait = self.poll_interval_s
            job_wait = self.jobs.wait_s() if self.jobs is not None else None
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
                elif job_wait is not None and job_wait < self.poll_interval_s:
                    assert self.jobs is not None
                    self.jobs.step()
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
        self.connected = True
        self._lost_reported = False
        if self.jobs is not None:
            try:
                self.jobs.connected(connected.recording)
            except CameraGone as exc:
                self._lose(str(exc))
                return False
            except CameraError as exc:
                log.warning("background jobs at connection: %s", exc)
        log.info("camera connected (%s), recording=%s", connected.model or "?",
                 connected.recording)
        self.report(connected)
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
        if command.action == "still":
            self._still(command)
            return
        if command.action == "sync":
            self._forward(self._poll())
            self.report(CameraState(self.backend.read_recording(), "sync"))
            return
        want = command.action == "start"
        operation = self.backend.start_recording if want else self.backend.stop_recording
        give_up = self.clock() + self.busy_retry_s
        wait = 0.02
        while True:
            try:
                operation()
                break
            except CameraBusy as exc:
                if self.clock() + wait > give_up:
                    self.report(CommandFailed(command.id, "busy", str(exc)))
                    return
                time.sleep(wait)  # the camera is writing or flipping the mirror
                wait = min(wait * 2, 0.25)
            except CameraRefused as exc:
                self.report(CommandFailed(command.id, "refused", str(exc)))
                return
            except CameraGone as exc:
                self.report(CommandFailed(command.id, "lost", str(exc)))
                raise
        self._confirm(want)

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
        except CameraRefused as exc:
            self.report(CommandFailed(command.id, "refused", str(exc)))
            return
        except CameraGone as exc:
            self.report(CommandFailed(command.id, "lost", str(exc)))
            raise
        self.report(StillResult(True))
        self._forward(self._poll())

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
        self._next_poll = self.clock() + self.poll_interval_s
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
        self._lost_reported = True
        self.report(CameraLost(reason))
        self._close()

    def _close(self) -> None:
        try:
            self.backend.close()
        except Exception as exc:  # closing a dead link must never kill the worker
            log.debug("close: %s", exc)
