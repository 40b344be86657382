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
from pitrigger.cameras import CameraBusy
from pitrigger.cameras.gphoto2 import Gphoto2Camera, _keep_fd0
from pitrigger.cameras.worker import CameraWorker
from pitrigger.config import parse_config
from pitrigger.controller import (
    CameraConnected,
    CameraLost,
    CameraState,
    ClipSaved,
    State,
)
from pitrigger.service import build_daemon


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

    def file_get_info(self, folder: str, name: str) -> Any:
        # Busy too: a new clip's size is extra (the 4 GB cap); its record must still come.
        raise gp.GPhoto2Error(gp.GP_ERROR_CAMERA_BUSY)


def test_busy_while_draining_events_keeps_the_records_already_read() -> None:
    # Dropping them would lose a stop the camera made by itself (clip limit, body button):
    # the daemon would go on believing it records.
    # (A recording change is handed over on its own, so it takes two polls.)
    camera = Gphoto2Camera("usb")
    camera._camera = DrainThenBusy()  # type: ignore[assignment]
    reports = camera.poll(0) + camera.poll(0)
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
idle_poll_interval_s = 0.1
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


# --- 3. a journal stall made the daemon misread a bounce and drop the next press --------
#
# Soak evidence (seed 5003, job 0, burst 156; harness.trace + journal.jsonl): press 455's
# `gesture` record has mono 2856.1859 and the next record 2856.3566 — one fsync took 170 ms
# on the loop thread. Press 455's release bounce waited in the inbox meanwhile. The loop then
# handled one queued edge and ran `_advance(now)` at the *current* time before the next
# queued edge: the recogniser ended the release's debounce lockout with a stale raw level,
# took the release for a glitch, and squeezed every later edge to "now" — press 456
# (down 2856.3589, up 2856.4656, 107 ms) fell into a lockout and produced no gesture at
# all: no toggle, no cue. On a Pi an SD-card fsync stall does the same.
# Fixed in pitrigger/daemon.py (Daemon._loop handles every queued input before advancing).


class StallingJournal:
    """A journal whose first write blocks until released (a slow fsync on an SD card)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.blocked = threading.Event()
        self.release = threading.Event()

    def write(self, event: str, fields: dict[str, Any] | None = None) -> None:
        if event == "gesture" and not self.blocked.is_set():
            self.blocked.set()
            self.release.wait(5)
        self.records.append((event, dict(fields or {})))

    def close(self) -> None:
        pass


class _NullSink:
    def pattern_started(self, name: str) -> None:
        pass

    def set_level(self, level: float) -> None:
        pass

    def close(self) -> None:
        pass


class _NoButton:
    def start(self, on_edge: Any, on_gesture: Any) -> None:
        pass

    def close(self) -> None:
        pass


def test_press_after_a_bouncy_release_survives_a_journal_stall() -> None:
    journal = StallingJournal()
    daemon = build_daemon(parse_config(""), button=_NoButton(), sink=_NullSink(),
                          camera=BusyPollCamera(busy_polls=0), journal=journal)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        assert daemon.first_report.wait(5)
        t0 = time.monotonic()
        daemon.edge(True, t0)  # press A: 80 ms
        daemon.edge(False, t0 + 0.080)
        assert journal.blocked.wait(5), "press A made no gesture"
        # While the loop is stuck in the journal: A's release bounce, then press B (100 ms).
        for i, pressed in enumerate((True, False, True, False)):
            daemon.edge(pressed, t0 + 0.083 + 0.002 * i)
        daemon.edge(True, t0 + 0.200)
        daemon.edge(False, t0 + 0.300)
        time.sleep(max(0.0, t0 + 0.45 - time.monotonic()))  # the stall outlasts them all
        journal.release.set()
        assert wait_for(lambda: sum(1 for e, f in journal.records if e == "gesture") >= 2,
                        timeout=2), journal.records
        gestures = [f["gesture"] for e, f in journal.records if e == "gesture"]
        assert gestures == ["press", "press"]
    finally:
        journal.release.set()
        daemon.stop()
        thread.join(10)
