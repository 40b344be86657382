"""Regressions found by bench/soak.py (the fault-injecting soak), one test per bug.

Each test names the soak evidence it reproduces. Tests of bugs not fixed yet are
``xfail(strict=True)``: they fail today as expected, and turn into an error the day the fix
lands, so that the marker is removed and the test guards the fix from then on.
"""

from __future__ import annotations

import io
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gphoto2 as gp
import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from pitrigger.buttons import TerminalButton
from pitrigger.cameras import CameraBusy, CameraWorker
from pitrigger.cameras.gphoto2 import Gphoto2Camera, _keep_fd0
from pitrigger.config import parse_config
from pitrigger.controller import (
    CameraConnected,
    CameraLost,
    CameraState,
    ClipSaved,
    State,
)
from pitrigger.daemon import build_daemon


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


# --- 1. a busy answer to GetEvent was taken for a lost camera --------------------------
#
# Soak evidence (seed 5000, job 0, daemon.log): "camera lost: poll failed: polling events:
# I/O in progress (-110)" right after an injected `busy` on GetEvent; the daemon dropped the
# session, cued `no-camera` and reconnected, refusing the presses made meanwhile.
# Fixed in pitrigger/cameras/__init__.py (CameraWorker._poll) and cameras/gphoto2.py.


class BusyPollCamera:
    """A backend whose event poll answers busy ``busy_polls`` times, then works."""

    def __init__(self, busy_polls: int) -> None:
        self.busy_polls = busy_polls
        self.polls = 0
        self.connects = 0

    def connect(self) -> CameraConnected:
        self.connects += 1
        return CameraConnected(False, "Busy poller")

    def start_recording(self) -> None:
        pass

    def stop_recording(self) -> None:
        pass

    def read_recording(self) -> bool:
        return False

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        self.polls += 1
        if self.busy_polls > 0:
            self.busy_polls -= 1
            raise CameraBusy("polling events: I/O in progress (-110)", -110)
        return []

    def close(self) -> None:
        pass


def test_worker_takes_a_busy_event_poll_as_no_news_not_as_a_lost_camera() -> None:
    camera = BusyPollCamera(busy_polls=3)
    reports: queue.SimpleQueue[object] = queue.SimpleQueue()
    worker = CameraWorker(camera, reports.put, poll_interval_s=0.01, reconnect_min_s=0.01)
    worker.start()
    try:
        assert wait_for(lambda: camera.polls >= 6), "the worker stopped polling"
    finally:
        worker.stop()
    seen = []
    while not reports.empty():
        seen.append(reports.get())
    assert not any(isinstance(r, CameraLost) for r in seen), seen
    assert camera.connects == 1


class _Event:
    def __init__(self, folder: str, name: str) -> None:
        self.folder, self.name = folder, name


class DrainThenBusy:
    """libgphoto2 handing over a d1b8 record and a new file, then GetEvent answering busy."""

    def __init__(self) -> None:
        self.queue: list[tuple[int, Any]] = [
            (gp.GP_EVENT_UNKNOWN, 'PTP Property d1b8 changed, "movierecordtarget" to "None"'),
            (gp.GP_EVENT_FILE_ADDED, _Event("/store_00010001/DCIM/100EOS5D", "MVI_0007.MOV")),
        ]

    def wait_for_event(self, timeout_ms: int) -> tuple[int, Any]:
        if self.queue:
            return self.queue.pop(0)
        raise gp.GPhoto2Error(gp.GP_ERROR_CAMERA_BUSY)


def test_busy_while_draining_events_keeps_the_records_already_read() -> None:
    # Dropping them would lose a stop the camera made by itself (clip limit, body button):
    # the daemon would go on believing it records.
    camera = Gphoto2Camera("usb")
    camera._camera = DrainThenBusy()  # type: ignore[assignment]
    reports = camera.poll(0)
    camera._camera = None
    assert reports == [CameraState(False, "event"),
                       ClipSaved("/store_00010001/DCIM/100EOS5D/MVI_0007.MOV")]


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = None


def test_daemon_rides_out_a_busy_event_poll_without_no_camera(pins, virtual_camera,
                                                               tmp_path: Path) -> None:
    config = parse_config(f"""
[camera]
port = "{virtual_camera.port_string}"
poll_interval_s = 0.1
[button]
source = "gpio"
[haptics]
sink = "gpio"
[journal]
path = "{tmp_path / 'journal.jsonl'}"
[power]
request_path = "{tmp_path / 'poweroff'}"
[daemon]
last_good_path = "{tmp_path / 'last-good.toml'}"
""")
    daemon = build_daemon(config)
    patterns: list[str] = []
    daemon.pattern_listeners.append(lambda name, at: patterns.append(name))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: "ready" in patterns), patterns
        virtual_camera.control.inject("busy", count=2, operation="GetEvent")
        assert wait_for(lambda: not virtual_camera.control.state()["faults"]), "never polled"
        time.sleep(0.3)
        assert "no-camera" not in patterns
        assert daemon.state is State.IDLE
        assert virtual_camera.control.state()["operations"].get("OPEN_SESSION") == 1
    finally:
        daemon.stop()
        thread.join(10)


# --- 2. the terminal button dies when libgphoto2's exit closes fd 0 ---------------------
#
# Soak evidence (seed 5000, both jobs, daemon.log): right after "camera lost" (the worker
# closes the session, camera.exit() closes fd 0 — see docs/virtual-camera.md, Gotchas):
#     Exception in thread terminal-button: ... buttons.py, line 134, in _read
#         for raw in self.stream:
#     OSError: [Errno 9] Bad file descriptor
# The reader thread is gone and every later press is silently ignored, while the daemon
# keeps running and answering the camera. _keep_fd0 puts fd 0 back after exit, but a read
# that lands inside that window fails. Fixed in pitrigger/buttons.py (off_fd0: the terminal
# source reads a private dup of stdin and leaves /dev/null on fd 0 for libgphoto2).


def test_terminal_button_survives_camera_exit_closing_fd0(monkeypatch) -> None:
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)  # `pitrigger run` under the harness: stdin is a pipe on fd 0
    os.close(read_end)
    stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    got: list[str] = []
    busy = threading.Event()

    def on_gesture(name: str, at: float) -> None:
        got.append(name)
        if len(got) == 1:
            busy.wait(5)  # the reader is between two reads, as it is after every line

    button = TerminalButton()  # what make_button() builds for [button] source = "terminal"
    try:
        button.start(lambda pressed, at: None, on_gesture)
        os.write(write_end, b"press\n")
        assert wait_for(lambda: got == ["press"])
        with _keep_fd0():  # what Gphoto2Camera.close() wraps around camera.exit()
            os.close(0)  # ... and what libgphoto2's exit does inside it
            busy.set()  # the reader's next read lands while fd 0 is closed
            time.sleep(0.1)
        os.write(write_end, b"press\n")
        assert wait_for(lambda: got == ["press", "press"], timeout=2), got
    finally:
        busy.set()
        button.close()
        os.close(write_end)  # EOF ends the reader if it is still alive
        os.dup2(saved, 0)
        os.close(saved)
