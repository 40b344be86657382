"""The camera worker with a scripted backend: retries, confirmation, loss, surprises."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

import pytest

from pitrigger.cameras import CameraBusy, CameraGone, CameraRefused
from pitrigger.cameras.worker import CameraWorker
from pitrigger.controller import (
    CameraConnected,
    CameraLost,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
)


class ScriptedCamera:
    """A backend whose next answers are set by the test."""

    def __init__(self) -> None:
        self.recording = False
        self.connects = 0
        self.connect_error: Exception | None = None
        self.start_errors: list[Exception] = []
        self.poll_error: Exception | None = None
        self.silent = False  # apply commands but never report them by event
        self.events: list[CameraState | ClipSaved] = []
        self.calls: list[str] = []

    def connect(self) -> CameraConnected:
        self.calls.append("connect")
        if self.connect_error is not None:
            raise self.connect_error
        self.connects += 1
        return CameraConnected(self.recording, "Scripted")

    def start_recording(self) -> None:
        self.calls.append("start")
        if self.start_errors:
            raise self.start_errors.pop(0)
        self.recording = True
        if not self.silent:
            self.events.append(CameraState(True, "event"))

    def stop_recording(self) -> None:
        self.calls.append("stop")
        self.recording = False
        if not self.silent:
            self.events += [CameraState(False, "event"), ClipSaved("/DCIM/MVI_0001.MOV")]

    def read_recording(self) -> bool:
        self.calls.append("read")
        return self.recording

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        if self.poll_error is not None:
            error, self.poll_error = self.poll_error, None
            raise error
        events, self.events = self.events, []
        return events

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def worker_for() -> Callable[..., tuple[CameraWorker, queue.SimpleQueue[object]]]:
    workers: list[CameraWorker] = []

    def make(camera: ScriptedCamera, **options: float) -> tuple[CameraWorker,
                                                                  queue.SimpleQueue[object]]:
        reports: queue.SimpleQueue[object] = queue.SimpleQueue()
        settings = {"busy_retry_s": 0.3, "confirm_s": 0.2, "poll_interval_s": 0.02,
                    "reconnect_min_s": 0.02, "reconnect_max_s": 0.05, **options}
        worker = CameraWorker(camera, reports.put, **settings)
        worker.start()
        workers.append(worker)
        return worker, reports

    yield make
    for worker in workers:
        worker.stop()


def next_report(reports: queue.SimpleQueue[object], kind: type, timeout: float = 3.0) -> object:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        report = reports.get(timeout=left)
        if isinstance(report, kind):
            return report
    raise AssertionError(f"no {kind.__name__}")


def test_start_is_confirmed_by_the_camera_event(worker_for) -> None:
    camera = ScriptedCamera()
    worker, reports = worker_for(camera)
    assert next_report(reports, CameraConnected) == CameraConnected(False, "Scripted")
    worker.send(Command("start", 1))
    assert next_report(reports, CameraState) == CameraState(True, "event")


def test_busy_is_retried_within_the_budget(worker_for) -> None:
    camera = ScriptedCamera()
    camera.start_errors = [CameraBusy("busy", -110)] * 3
    worker, reports = worker_for(camera)
    next_report(reports, CameraConnected)
    worker.send(Command("start", 1))
    assert next_report(reports, CameraState) == CameraState(True, "event")
    assert camera.calls.count("start") == 4


def test_busy_past_the_budget_fails_as_busy(worker_for) -> None:
    camera = ScriptedCamera()
    camera.start_errors = [CameraBusy("busy", -110)] * 1000
    worker, reports = worker_for(camera, busy_retry_s=0.15)
    next_report(reports, CameraConnected)
    started = time.monotonic()
    worker.send(Command("start", 7))
    failed = next_report(reports, CommandFailed)
    assert failed == CommandFailed(7, "busy", "busy")
    assert time.monotonic() - started < 1.0
    assert not camera.recording


def test_refusal_is_reported_once_without_retry(worker_for) -> None:
    camera = ScriptedCamera()
    camera.start_errors = [CameraRefused("no such widget", -2)]
    worker, reports = worker_for(camera)
    next_report(reports, CameraConnected)
    worker.send(Command("start", 2))
    assert next_report(reports, CommandFailed) == CommandFailed(2, "refused", "no such widget")
    assert camera.calls.count("start") == 1


def test_silent_camera_is_confirmed_by_read_back(worker_for) -> None:
    camera = ScriptedCamera()
    camera.silent = True
    worker, reports = worker_for(camera)
    next_report(reports, CameraConnected)
    worker.send(Command("start", 1))
    assert next_report(reports, CameraState) == CameraState(True, "readback")


def test_loss_during_a_command_fails_it_and_reconnects(worker_for) -> None:
    camera = ScriptedCamera()
    camera.start_errors = [CameraGone("I/O error", -7)]
    worker, reports = worker_for(camera)
    next_report(reports, CameraConnected)
    worker.send(Command("start", 3))
    assert next_report(reports, CommandFailed) == CommandFailed(3, "lost", "I/O error")
    assert isinstance(next_report(reports, CameraLost), CameraLost)
    next_report(reports, CameraConnected)
    assert camera.connects == 2


def test_no_camera_reports_lost_once_and_fails_commands_meanwhile(worker_for) -> None:
    camera = ScriptedCamera()
    camera.connect_error = CameraGone("no camera found", -105)
    worker, reports = worker_for(camera)
    assert next_report(reports, CameraLost) == CameraLost("no camera found")
    worker.send(Command("start", 4))
    assert next_report(reports, CommandFailed) == CommandFailed(4, "lost", "no camera")
    time.sleep(0.2)  # several failed attempts: still only one CameraLost
    camera.connect_error = None
    next_report(reports, CameraConnected)


def test_an_unexpected_exception_does_not_kill_the_worker(worker_for) -> None:
    camera = ScriptedCamera()
    worker, reports = worker_for(camera)
    next_report(reports, CameraConnected)
    camera.poll_error = TypeError("binding surprise")
    lost = next_report(reports, CameraLost)
    assert "TypeError" in lost.reason
    next_report(reports, CameraConnected)  # started again from a fresh session
    worker.send(Command("start", 5))
    assert next_report(reports, CameraState) == CameraState(True, "event")


def test_sync_reports_the_real_state(worker_for) -> None:
    camera = ScriptedCamera()
    worker, reports = worker_for(camera)
    next_report(reports, CameraConnected)
    camera.recording = True  # changed behind our back, no event
    worker.send(Command("sync", 6))
    assert next_report(reports, CameraState) == CameraState(True, "sync")


class CountingCamera(ScriptedCamera):
    def __init__(self) -> None:
        super().__init__()
        self.polls = 0

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        self.polls += 1
        return super().poll(timeout_s)


def test_polls_slowly_while_idle_and_fast_while_recording(worker_for) -> None:
    # Idle wake-ups are a product feature (issue 10): idle polls only keep the body awake;
    # recording polls must hear a clip-limit stop at once.
    camera = CountingCamera()
    worker, reports = worker_for(camera, poll_interval_s=0.02, idle_poll_interval_s=0.25)
    next_report(reports, CameraConnected)
    assert worker.current_poll_interval_s == 0.25
    before = camera.polls
    time.sleep(1.0)
    idle_polls = camera.polls - before
    worker.send(Command("start", 1))
    next_report(reports, CameraState)
    assert worker.current_poll_interval_s == 0.02
    # The first poll after the start comes at the recording pace, not an idle one later.
    assert worker._next_poll <= time.monotonic() + 0.05
    before = camera.polls
    time.sleep(1.0)
    recording_polls = camera.polls - before
    assert idle_polls <= 6  # ~4 at 0.25 s
    assert recording_polls >= 3 * idle_polls
    worker.send(Command("stop", 2))
    next_report(reports, CameraState)
    assert worker.current_poll_interval_s == 0.25
