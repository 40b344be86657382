"""The picamera2 backend through a stand-in that follows picamera2's real API.

Recording to files on the data partition, stopping, stills, free space, and lores frames
for focus (the Y plane, no decode) whose score follows the stand-in's focus ring.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from pitrigger.cameras import CameraGone, CameraRefused
from pitrigger.cameras.picamera2 import LORES_SIZE, Picamera2Camera, Picamera2Modules
from pitrigger.messages import CameraState, ClipSaved
from tests import picamera2_standin as standin


@pytest.fixture
def modules() -> Iterator[Picamera2Modules]:
    standin.Picamera2.instances.clear()
    standin.Picamera2.scene = None
    standin.Picamera2.ring_sigma = 0.0
    standin.Picamera2.fail_open = None
    yield Picamera2Modules(**standin.MODULES_KW)


def test_records_to_a_file_stops_and_reports(tmp_path: Path, modules: Picamera2Modules) -> None:
    cam = Picamera2Camera(str(tmp_path / "clips"), modules=modules, min_free_bytes=1)
    connected = cam.connect()
    fake = standin.Picamera2.instances[-1]
    assert not connected.recording
    assert fake.camera_config is not None
    assert fake.camera_config["lores"] == {"format": "YUV420", "size": LORES_SIZE}
    cam.start_recording()
    cam.start_recording()  # a second start while recording changes nothing
    assert cam.read_recording() and fake.started and fake.encoder is not None
    assert fake.encoder.bitrate == 10_000_000
    assert cam.poll(0) == [CameraState(True, "event")]
    cam.stop_recording()
    assert not fake.started and fake.encoder is None  # stop_recording stops the camera too
    reports = cam.poll(0)
    assert reports[0] == CameraState(False, "event")
    assert isinstance(reports[1], ClipSaved)
    clip = Path(reports[1].path)
    assert clip.parent == tmp_path / "clips" and clip.suffix == ".h264"
    assert clip.read_bytes().startswith(b"\x00\x00\x00\x01")  # the encoder wrote frames
    cam.start_recording()  # a second clip in the same second gets its own name
    cam.stop_recording()
    second = cam.poll(0)[-1]
    assert isinstance(second, ClipSaved) and second.path != str(clip)
    cam.close()
    assert fake.closed


def test_close_stops_a_running_encoder(tmp_path: Path, modules: Picamera2Modules) -> None:
    cam = Picamera2Camera(str(tmp_path), modules=modules, min_free_bytes=1)
    cam.connect()
    cam.start_recording()
    fake = standin.Picamera2.instances[-1]
    cam.close()
    assert fake.encoder is None and fake.closed


def test_stills_free_space_and_a_full_partition(tmp_path: Path,
                                                modules: Picamera2Modules) -> None:
    cam = Picamera2Camera(str(tmp_path), modules=modules, min_free_bytes=1)
    cam.connect()
    assert cam.free_bytes() > 0
    path = Path(cam.take_still())
    assert path.suffix == ".jpg" and path.read_bytes().startswith(b"\xff\xd8")
    fake = standin.Picamera2.instances[-1]
    assert fake.calls[-2:] == ["start", "stop"]  # started for the still, stopped after
    assert cam.poll(0) == [ClipSaved(str(path))]
    full = Picamera2Camera(str(tmp_path), modules=modules, min_free_bytes=10**18)
    full.connect()
    with pytest.raises(CameraRefused, match="full"):
        full.start_recording()


def test_unwritable_output_is_refused_and_missing_picamera2_is_clear(
        tmp_path: Path, modules: Picamera2Modules) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cam = Picamera2Camera(str(blocker / "clips"), modules=modules)
    cam.connect()
    with pytest.raises(CameraRefused, match="cannot write"):
        cam.start_recording()
    with pytest.raises(CameraGone, match="python3-picamera2"):
        Picamera2Camera(str(tmp_path)).connect()
    standin.Picamera2.fail_open = "Camera __init__ sequence did not complete."
    with pytest.raises(CameraGone, match="no camera module"):
        Picamera2Camera(str(tmp_path), modules=modules).connect()


def test_focus_frames_are_the_lores_y_plane_and_follow_the_ring(
        tmp_path: Path, modules: Picamera2Modules) -> None:
    np = pytest.importorskip("numpy")
    from pitrigger.focus_score import score_luma
    from pitrigger.virtualcam.liveview import load_scene

    scene = load_scene()
    standin.Picamera2.scene = np.ascontiguousarray(
        0.299 * scene[:, :, 0] + 0.587 * scene[:, :, 1] + 0.114 * scene[:, :, 2])
    cam = Picamera2Camera(str(tmp_path), modules=modules, min_free_bytes=1)
    cam.connect()
    fake = standin.Picamera2.instances[-1]
    cam.enter_focus(5)
    assert fake.started
    luma = cam.focus_frame()
    assert luma.shape == (LORES_SIZE[1], LORES_SIZE[0]) and luma.dtype == np.uint8
    assert luma.std() > 10  # picture, not the row padding
    x, _y, w, h = fake.controls["ScalerCrop"]
    assert (w, h) == (4608 // 5, 2592 // 5) and abs(x + w / 2 - 4608 / 2) <= 1  # centre fifth
    scores = {}
    for sigma in (0.0, 0.25, 0.5, 1.0):
        standin.Picamera2.ring_sigma = sigma
        scores[sigma] = statistics.median(score_luma(cam.focus_frame()) for _ in range(3))
    assert scores[0.0] > scores[0.25] > scores[0.5] > scores[1.0]
    assert cam.leave_focus() == []
    assert fake.controls["ScalerCrop"] == (0, 0, 4608, 2592)  # put back, read back
    assert not fake.started  # it was idle before focus mode, so it is idle again
    with pytest.raises(RuntimeError):
        cam.focus_frame()  # no frames once the mode has ended and the camera stopped


def test_focus_mode_is_refused_while_recording(tmp_path: Path,
                                               modules: Picamera2Modules) -> None:
    cam = Picamera2Camera(str(tmp_path), modules=modules, min_free_bytes=1)
    cam.connect()
    cam.start_recording()
    with pytest.raises(CameraRefused, match="recording"):
        cam.enter_focus(5)
