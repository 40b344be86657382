"""The gphoto2 backend against real libgphoto2 and the virtual 5D, and its error mapping."""

from __future__ import annotations

import time
from typing import Any

import gphoto2 as gp
import pytest

from pitrigger.cameras import CameraBusy, CameraGone, CameraRefused
from pitrigger.cameras.gphoto2 import Gphoto2Camera
from pitrigger.messages import CameraConnected, CameraState, ClipSaved


def poll_until(camera: Gphoto2Camera, predicate: Any, timeout: float = 3.0) -> list[Any]:
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += camera.poll(0)
        if predicate(seen):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"not seen; got {seen}")


@pytest.fixture
def camera(virtual_camera: Any) -> Any:
    cam = Gphoto2Camera(virtual_camera.port_string)
    yield cam
    cam.close()


def test_connect_names_the_body_and_its_state(camera) -> None:
    connected = camera.connect()
    assert connected == CameraConnected(recording=False, model="Canon EOS 5D Mark II")


def test_start_and_stop_are_reported_by_camera_events(camera, virtual_camera) -> None:
    camera.connect()
    camera.start_recording()
    poll_until(camera, lambda seen: CameraState(True, "event") in seen)
    assert virtual_camera.control.state()["recording"]
    camera.stop_recording()
    seen = poll_until(camera, lambda seen: any(isinstance(r, ClipSaved) for r in seen))
    assert CameraState(False, "event") in seen
    clips = [r.path for r in seen if isinstance(r, ClipSaved)]
    assert clips[0].endswith("/DCIM/100EOS5D/MVI_0001.MOV")


def test_busy_camera_raises_camera_busy(camera, virtual_camera) -> None:
    camera.connect()
    virtual_camera.control.inject("refuse_movie", mode="busy")
    with pytest.raises(CameraBusy) as caught:
        camera.start_recording()
    assert caught.value.code == gp.GP_ERROR_CAMERA_BUSY


def test_body_without_the_widget_is_refused_and_reads_not_recording(camera,
                                                                  virtual_camera) -> None:
    virtual_camera.control.inject("refuse_movie", mode="hidden")
    assert camera.connect().recording is False
    with pytest.raises(CameraRefused):
        camera.start_recording()


def test_dropped_link_is_camera_gone(camera, virtual_camera) -> None:
    camera.connect()
    virtual_camera.control.inject("drop")
    with pytest.raises(CameraGone):
        for _ in range(3):
            camera.poll(0)
    camera.close()
    assert camera.connect().model == "Canon EOS 5D Mark II"  # and a new session works


def test_powered_off_camera_cannot_be_opened(camera, virtual_camera) -> None:
    virtual_camera.control.power(False)
    with pytest.raises(CameraGone):
        camera.connect()


class EchoingCamera:
    """libgphoto2 as seen from Python: an accepted set is echoed by the next read at once,
    whatever the body did. This body accepts the write and never starts recording."""

    def __init__(self) -> None:
        self.value = "None"

    def get_single_config(self, name: str) -> Any:
        outer = self

        class Widget:
            def set_value(self, value: Any) -> None:
                self.value = value

            def get_value(self) -> Any:
                return outer.value

        return Widget()

    def set_single_config(self, name: str, widget: Any) -> None:
        if name == "movierecordtarget":
            self.value = widget.value  # libgphoto2's cache, not the camera

    def wait_for_event(self, timeout_ms: int) -> tuple[int, Any]:
        return gp.GP_EVENT_TIMEOUT, None

    def exit(self) -> None:
        pass


def test_read_back_after_an_unconfirmed_write_asks_the_camera_not_the_cache(monkeypatch) -> None:
    camera = Gphoto2Camera("usb")
    camera._camera = EchoingCamera()
    reconnects: list[str] = []

    def fresh_session() -> CameraConnected:
        reconnects.append("connect")
        return CameraConnected(recording=False, model="Canon EOS 5D Mark II")

    monkeypatch.setattr(camera, "connect", fresh_session)
    camera.start_recording()
    assert camera._camera.get_single_config("movierecordtarget").get_value() == "Card"
    assert camera.read_recording() is False  # the body's truth, from a fresh session
    assert reconnects == ["connect"]


def test_live_view_switched_off_on_the_body_is_switched_on_again(camera, virtual_camera) -> None:
    camera.connect()
    camera.start_recording()
    camera.stop_recording()
    poll_until(camera, lambda seen: any(isinstance(r, ClipSaved) for r in seen))
    virtual_camera.control.set(evf_output=0)  # the user pressed the live view button
    camera.poll(0)  # the worker's next idle poll brings the d1b0 change
    camera.start_recording()
    poll_until(camera, lambda seen: CameraState(True, "event") in seen)
    assert virtual_camera.control.state()["live_view"]


def test_live_view_switched_off_unseen_costs_one_busy_answer(camera, virtual_camera) -> None:
    camera.connect()
    camera.start_recording()
    camera.stop_recording()
    poll_until(camera, lambda seen: any(isinstance(r, ClipSaved) for r in seen))
    virtual_camera.control.set(evf_output=0)
    with pytest.raises(CameraBusy):  # no start without live view; the worker retries...
        camera.start_recording()
    camera.start_recording()  # ...and the retry looks again and switches it on
    poll_until(camera, lambda seen: CameraState(True, "event") in seen)


def test_viewfinder_is_not_rewritten_while_live_view_is_on(camera, virtual_camera) -> None:
    camera.connect()
    camera.start_recording()
    camera.stop_recording()
    poll_until(camera, lambda seen: any(isinstance(r, ClipSaved) for r in seen))
    before = virtual_camera.control.state()["operations"]["EOS_SET_DEVICE_PROP_VALUE_EX"]
    camera.start_recording()
    after = virtual_camera.control.state()["operations"]["EOS_SET_DEVICE_PROP_VALUE_EX"]
    assert after - before == 1  # only movierecordtarget
