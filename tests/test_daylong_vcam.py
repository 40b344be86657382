"""Against the virtual 5D Mark II, real libgphoto2: stills, copies, card and battery, live view.

The camera worker runs with its background jobs and the real gphoto2 backend; the virtual
body runs in its own process (libgphoto2 holds the GIL in places).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pitrigger.camera_jobs import CopyReport, DayJobs, StillResult, SupplyReport
from pitrigger.cameras.gphoto2 import Gphoto2Camera
from pitrigger.cameras.worker import CameraWorker
from pitrigger.copier import ClipCopier
from pitrigger.messages import CameraState, ClipSaved, Command
from pitrigger.virtualcam import VirtualCamera, spawn
from pitrigger.virtualcam.store import file_bytes

CHUNK = 64 * 1024


@pytest.fixture
def camera() -> Iterator[VirtualCamera]:
    # A slow bit rate: a 1 s clip is about 1.3 MB, 20 chunks to copy.
    with spawn(movie_bytes_per_s=1_300_000, battery_percent=60,
               card_free_bytes=3_000_000_000) as cam:
        yield cam


class Harness:
    def __init__(self, cam: VirtualCamera, dest: Path, live_view: Any = "keep",
                 copy: bool = True) -> None:
        self.cam = cam
        self.reports: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.backend = Gphoto2Camera(cam.port_string)
        self.gate: threading.Event | None = None  # when set up, a chunk read waits on it
        self.reached = threading.Event()
        self.reads: list[int] = []
        original_read = self.backend.read_file

        def read_file(folder: str, name: str, offset: int, buffer: memoryview) -> int:
            self.reads.append(offset)
            if self.gate is not None and len(self.reads) == 4:
                self.reached.set()
                assert self.gate.wait(10)
            return original_read(folder, name, offset, buffer)

        self.backend.read_file = read_file  # type: ignore[method-assign]
        copier = ClipCopier(self.backend, dest, chunk_bytes=CHUNK, reserve_bytes=0,
                            progress=lambda p: self.reports.put(CopyReport(p))) if copy else None
        self.jobs = DayJobs(self.backend, self.reports.put, live_view=live_view, copier=copier,
                            supply_interval_s=3600)
        self.worker = CameraWorker(self.backend, self.reports.put, poll_interval_s=0.05,
                                   confirm_s=1.0, jobs=self.jobs)

    def __enter__(self) -> Harness:
        self.worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.set()
        self.worker.stop()

    def wait_for(self, kind: type, check: Callable[[Any], bool] = lambda r: True) -> Any:
        while True:
            report = self.reports.get(timeout=15)
            if isinstance(report, kind) and check(report):
                return report


def test_a_still_produces_a_file_on_the_card(camera: VirtualCamera, tmp_path: Path) -> None:
    with Harness(camera, tmp_path, copy=False) as h:
        h.wait_for(SupplyReport)
        h.worker.send(Command("still", 1))
        h.wait_for(StillResult, lambda r: r.ok)
        saved = h.wait_for(ClipSaved, lambda r: r.path.upper().endswith((".JPG", ".CR2")))
    stills = camera.control.state()["stills"]
    assert [s["name"] for s in stills] == [saved.path.rsplit("/", 1)[-1]]
    assert stills[0]["size"] > 0


def test_supply_is_read_from_the_body(camera: VirtualCamera, tmp_path: Path) -> None:
    with Harness(camera, tmp_path, copy=False) as h:
        first = h.wait_for(SupplyReport)
    # The 5D Mark II reports its battery in steps: 60 % reads as the 50 % step.
    assert first.connected and first.battery_percent == 50.0
    assert abs(first.card_free_bytes - 3_000_000_000) < 1024


def test_interrupted_copy_resumes_byte_identical(camera: VirtualCamera, tmp_path: Path
                                                 ) -> None:
    import time

    with Harness(camera, tmp_path) as h:
        h.worker.send(Command("start", 1))
        h.wait_for(CameraState, lambda r: r.recording)
        time.sleep(1.0)  # a 1 s clip, about 1.3 MB
        h.gate = threading.Event()
        h.worker.send(Command("stop", 2))
        clip = h.wait_for(ClipSaved, lambda r: r.path.upper().endswith(".MOV"))
        assert h.reached.wait(15)  # the copy is under way, a chunk in hand
        h.worker.send(Command("start", 3))  # the user presses record
        h.gate.set()
        h.wait_for(CameraState, lambda r: r.recording)
        reads_while_recording = len(h.reads)
        time.sleep(0.3)
        assert len(h.reads) == reads_while_recording  # nothing copied while recording
        h.worker.send(Command("stop", 4))
        done = h.wait_for(CopyReport, lambda r: r.progress.status == "verified"
                          and r.progress.file == clip.path)
    name = clip.path.rsplit("/", 1)[-1]
    size = done.progress.size
    on_card = next(c for c in camera.control.state()["clips"] if c["name"] == name)
    assert on_card["size"] == size  # never deleted, same size
    assert (tmp_path / name).read_bytes() == file_bytes(name, 0, size)
    # Resumed, not restarted: every offset was read once.
    first_clip_reads = h.reads[:size // CHUNK + 1]
    assert first_clip_reads == sorted(set(first_clip_reads))


def test_live_view_off_between_clips_and_on_again_to_record(camera: VirtualCamera,
                                                            tmp_path: Path) -> None:
    with Harness(camera, tmp_path, live_view="off", copy=False) as h:
        h.wait_for(SupplyReport)
        h.worker.send(Command("start", 1))
        h.wait_for(CameraState, lambda r: r.recording)
        assert camera.control.state()["live_view"]
        h.worker.send(Command("stop", 2))
        h.wait_for(CameraState, lambda r: not r.recording)
        h.wait_for(SupplyReport)  # read after the clip: the live-view job ran before it
    assert not camera.control.state()["live_view"]
