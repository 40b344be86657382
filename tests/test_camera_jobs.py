"""Background jobs on the camera worker: a press pre-empts a copy, which then resumes."""

from __future__ import annotations

import doctest
import os
import queue
import threading
from pathlib import Path

import pytest

import pitrigger.camera_jobs as camera_jobs
from pitrigger.camera_jobs import CopyReport, DayJobs, StillResult, SupplyReport
from pitrigger.cameras import CameraRefused
from pitrigger.cameras.worker import CameraWorker
from pitrigger.copier import ClipCopier
from pitrigger.messages import CameraConnected, CameraState, ClipSaved, Command, CommandFailed

FOLDER = "/store_00010001/DCIM/100EOS5D"
CHUNK = 64 * 1024
CLIP = os.urandom(20 * CHUNK + 123)


class Body:
    """An in-memory body: records, reads files at offsets, and logs every call in order."""

    def __init__(self) -> None:
        self.recording = False
        self.files = {(FOLDER, "MVI_0001.MOV"): CLIP}
        self.calls: list[str] = []
        self.events: list[CameraState | ClipSaved] = [ClipSaved(f"{FOLDER}/MVI_0001.MOV")]
        self.hold_at_read: int | None = None  # the read that waits for the test
        self.at_hold = threading.Event()
        self.release = threading.Event()
        self.reads = 0
        self.still_error: Exception | None = None

    def connect(self) -> CameraConnected:
        self.calls.append("connect")
        return CameraConnected(self.recording, "Body")

    def start_recording(self) -> None:
        self.calls.append("start")
        self.recording = True
        self.events.append(CameraState(True))

    def stop_recording(self) -> None:
        self.calls.append("stop")
        self.recording = False
        self.events.append(CameraState(False))

    def read_recording(self) -> bool:
        return self.recording

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        events, self.events = self.events, []
        return events

    def close(self) -> None:
        self.calls.append("close")

    def read_supply(self) -> tuple[float | None, int | None]:
        self.calls.append("supply")
        return 75.0, 10**9

    def set_live_view(self, on: bool) -> None:
        self.calls.append(f"live-view {'on' if on else 'off'}")

    def take_still(self) -> None:
        self.calls.append("still")
        if self.still_error is not None:
            raise self.still_error

    def file_size(self, folder: str, name: str) -> int:
        return len(self.files[(folder, name)])

    def read_file(self, folder: str, name: str, offset: int, buffer: memoryview) -> int:
        self.reads += 1
        if self.reads == self.hold_at_read:
            self.at_hold.set()
            assert self.release.wait(10)
        assert not self.recording, "the copy read while the camera recorded"
        self.calls.append(f"read {offset}")
        data = self.files[(folder, name)][offset:offset + len(buffer)]
        buffer[:len(data)] = data
        return len(data)


def start_worker(body: Body, tmp_path: Path, live_view: camera_jobs.LiveViewPolicy = "keep"
                 ) -> tuple[CameraWorker, queue.SimpleQueue[object]]:
    reports: queue.SimpleQueue[object] = queue.SimpleQueue()
    copier = ClipCopier(body, tmp_path, chunk_bytes=CHUNK, reserve_bytes=0,
                        progress_every=5 * CHUNK,
                        progress=lambda p: reports.put(CopyReport(p)))
    jobs = DayJobs(body, reports.put, live_view=live_view, copier=copier,
                   supply_interval_s=3600)
    worker = CameraWorker(body, reports.put, poll_interval_s=0.02, confirm_s=0.2, jobs=jobs)
    worker.start()
    return worker, reports


def wait_for(reports: queue.SimpleQueue[object], kind: type, check=lambda r: True) -> object:
    while True:
        report = reports.get(timeout=10)
        if isinstance(report, kind) and check(report):
            return report


def test_a_record_press_pre_empts_the_copy_which_resumes_byte_identical(tmp_path: Path
                                                                        ) -> None:
    body = Body()
    body.hold_at_read = 6  # the 6th chunk read waits until the press has been sent
    worker, reports = start_worker(body, tmp_path)
    try:
        assert body.at_hold.wait(10)
        worker.send(Command("start", 1))
        body.release.set()
        wait_for(reports, CameraState, lambda r: r.recording)
        # While recording, no chunk is read (read_file asserts it too).
        worker.send(Command("stop", 2))
        wait_for(reports, CopyReport, lambda r: r.progress.status == "verified")
    finally:
        worker.stop()
    assert (tmp_path / "MVI_0001.MOV").read_bytes() == CLIP
    calls = [c for c in body.calls if c.startswith(("read", "start", "stop"))]
    start, stop = calls.index("start"), calls.index("stop")
    # The chunk in hand finished, then the press went first; the copy resumed after the stop
    # at the very next offset.
    assert calls[start - 1] == f"read {5 * CHUNK}" and start == 6
    assert calls[stop + 1] == f"read {6 * CHUNK}"
    offsets = [int(c.split()[1]) for c in calls if c.startswith("read")]
    assert offsets == [i * CHUNK for i in range(21)]  # every chunk once, none twice
    assert body.files[(FOLDER, "MVI_0001.MOV")] == CLIP


def test_supply_at_connection_and_live_view_off_between_clips(tmp_path: Path) -> None:
    body = Body()
    body.files = {}
    body.events = []
    worker, reports = start_worker(body, tmp_path, live_view="off")
    try:
        supply = wait_for(reports, SupplyReport)
        assert isinstance(supply, SupplyReport) and supply.connected
        assert (supply.battery_percent, supply.card_free_bytes) == (75.0, 10**9)
        worker.send(Command("start", 1))
        wait_for(reports, CameraState, lambda r: r.recording)
        worker.send(Command("stop", 2))
        wait_for(reports, CameraState, lambda r: not r.recording)
        again = wait_for(reports, SupplyReport)  # a clip ended: card and battery read again
        assert isinstance(again, SupplyReport) and not again.connected
    finally:
        worker.stop()
    seq = [c for c in body.calls if c in ("live-view off", "start", "stop")]
    assert seq == ["live-view off", "start", "stop", "live-view off"]


def test_a_still_is_released_or_refused(tmp_path: Path) -> None:
    body = Body()
    body.files, body.events = {}, []
    worker, reports = start_worker(body, tmp_path)
    try:
        worker.send(Command("still", 1))
        assert isinstance(wait_for(reports, StillResult), StillResult)
        body.still_error = CameraRefused("not in this mode")
        worker.send(Command("still", 2))
        failed = wait_for(reports, CommandFailed)
        assert isinstance(failed, CommandFailed) and failed.kind == "refused"
    finally:
        worker.stop()


def test_docstring_examples() -> None:
    result = doctest.testmod(camera_jobs, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="live_view"):
        DayJobs(Body(), print, live_view="sometimes")  # type: ignore[arg-type]
