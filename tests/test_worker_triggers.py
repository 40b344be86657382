"""The camera worker with an unconfirmed trigger, on a scripted Magic Lantern-like body."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pitrigger.cameras.worker import CameraWorker
from pitrigger.messages import (
    CameraConnected,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
    CommandSent,
)
from pitrigger.triggers import BodyFacts, TriggerSelector, UsbHalfPressTrigger

MOV = "/store_00010001/DCIM/100EOS5D/MVI_0001.MOV"


class ScriptedMlBody:
    """No 0xD1B8; a half-press toggles recording when let go; a stop writes a .MOV."""

    def __init__(self) -> None:
        self.recording = False
        self.writes_clip = True
        self.events: list[CameraState | ClipSaved] = []
        self.calls: list[str] = []

    def connect(self) -> CameraConnected:
        return CameraConnected(False, "Canon EOS 5D Mark II")

    def facts(self) -> BodyFacts:
        return BodyFacts("Canon EOS 5D Mark II", serial="42", remote_release=True)

    def half_press(self, pressed: bool) -> None:
        self.calls.append("press" if pressed else "release")
        if not pressed:
            self.recording = not self.recording
            if not self.recording and self.writes_clip:
                self.events.append(ClipSaved(MOV))

    def start_recording(self) -> None:
        raise AssertionError("the half-press trigger must not use the movie widget")

    stop_recording = start_recording

    def read_recording(self) -> bool:
        self.calls.append("read")
        return False  # what libgphoto2 says without 0xD1B8: no knowledge

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        events, self.events = self.events, []
        return events

    def close(self) -> None:
        pass


@pytest.fixture
def ml() -> Iterator[tuple[ScriptedMlBody, CameraWorker, queue.SimpleQueue[Any]]]:
    body = ScriptedMlBody()
    reports: queue.SimpleQueue[Any] = queue.SimpleQueue()
    selector = TriggerSelector("usb-half-press",
                               lambda path: UsbHalfPressTrigger(20, sleep=lambda s: None))
    worker = CameraWorker(body, reports.put, confirm_s=0.3, poll_interval_s=0.02,
                          triggers=selector)
    worker.start()
    yield body, worker, reports
    worker.stop()


def reports_until(reports: queue.SimpleQueue[Any], kind: type, timeout: float = 3.0) -> list:
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        seen.append(reports.get(timeout=left))
        if isinstance(seen[-1], kind):
            return seen
    raise AssertionError(f"no {kind.__name__} in {seen}")


def test_the_connection_says_the_body_cannot_confirm(ml) -> None:
    _, _, reports = ml
    connected = reports_until(reports, CameraConnected)[-1]
    assert connected == CameraConnected(False, "Canon EOS 5D Mark II", confirms=False)


def test_a_start_is_sent_at_once_and_never_read_back(ml) -> None:
    body, worker, reports = ml
    reports_until(reports, CameraConnected)
    worker.send(Command("start", 1))
    seen = reports_until(reports, CommandSent)
    assert seen[-1] == CommandSent(1, "start")
    assert not any(isinstance(r, CameraState) for r in seen)
    assert body.calls == ["press", "release"] and body.recording


def test_a_stop_is_confirmed_by_the_new_mov(ml) -> None:
    _, worker, reports = ml
    reports_until(reports, CameraConnected)
    worker.send(Command("start", 1))
    reports_until(reports, CommandSent)
    worker.send(Command("stop", 2))
    seen = reports_until(reports, CameraState)
    assert seen[-2:] == [ClipSaved(MOV), CameraState(False, "clip")]
    assert not any(isinstance(r, CommandSent) for r in seen)


def test_a_stop_without_a_new_mov_is_only_sent(ml) -> None:
    body, worker, reports = ml
    body.writes_clip = False
    reports_until(reports, CameraConnected)
    worker.send(Command("start", 1))
    reports_until(reports, CommandSent)
    worker.send(Command("stop", 2))
    assert reports_until(reports, CommandSent)[-1] == CommandSent(2, "stop")


def test_a_sync_on_a_body_that_cannot_tell_says_so(ml) -> None:
    body, worker, reports = ml
    reports_until(reports, CameraConnected)
    worker.send(Command("sync", 3))
    seen = reports_until(reports, CommandSent)
    assert seen[-1] == CommandSent(3, "sync")
    assert "read" not in body.calls  # "not recording" from this body would be no knowledge


def test_auto_without_a_proven_path_refuses_with_its_reason() -> None:
    body = ScriptedMlBody()
    reports: queue.SimpleQueue[Any] = queue.SimpleQueue()
    selector = TriggerSelector("auto", lambda path: UsbHalfPressTrigger(20),
                               verdicts=lambda: {"serial:other": "usb-half-press"})
    worker = CameraWorker(body, reports.put, poll_interval_s=0.02, triggers=selector)
    worker.start()
    try:
        reports_until(reports, CameraConnected)
        worker.send(Command("start", 1))
        failed = reports_until(reports, CommandFailed)[-1]
    finally:
        worker.stop()
    assert failed.kind == "refused" and failed.reason == "no-trigger-path"
    assert "pitrigger probe" in failed.detail
    assert body.calls == []  # nothing was pressed
