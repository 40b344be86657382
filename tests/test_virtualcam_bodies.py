"""The virtual camera's bodies (``--body``), driven end to end by real libgphoto2.

Each personality of issue 11: the default 5D Mark II with 0xD1B8, a 5D Mark II firmware
without it, a 5D Mark II running Magic Lantern's "REC key: HalfShutter", and a 7D.
The half-press is sent the way libgphoto2's ``eosremoterelease`` widget sends it
(RemoteReleaseOn 0x9128 with parameter 1, RemoteReleaseOff 0x9129 with parameter 1).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from pitrigger.virtualcam import VirtualCamera, spawn

gp = pytest.importorskip("gphoto2")


CARD_EVENT = 'PTP Property d1b8 changed, "movierecordtarget" to "Card"'
NONE_EVENT = 'PTP Property d1b8 changed, "movierecordtarget" to "None"'


def connect_live(gphoto: Any, cam: VirtualCamera) -> Any:
    camera = gphoto.connect(cam.port_string)
    gphoto.set_config(camera, "viewfinder", 1)
    gphoto.wait_events(camera)  # the initial property dump
    return camera


def remote_release(gphoto: Any, camera: Any, prefix: str) -> None:
    """Set ``eosremoterelease`` to the first choice starting with ``prefix`` ("Press Half"
    is "Press Half AF" in libgphoto2 2.5.34, "Press Half" before)."""
    widget = camera.get_single_config("eosremoterelease")
    choice = next(c for c in widget.get_choices() if c.startswith(prefix))
    widget.set_value(choice)
    camera.set_single_config("eosremoterelease", widget)


def half_press(gphoto: Any, camera: Any) -> None:
    remote_release(gphoto, camera, "Press Half")
    remote_release(gphoto, camera, "Release Half")


def texts(events: list[tuple[int, Any]]) -> list[str]:
    return [str(data) for _kind, data in events]


def file_added(kind: int, data: Any) -> bool:
    return bool(kind == gp.GP_EVENT_FILE_ADDED)


def test_bodies_are_listed_on_the_control_channel_and_the_command_line(
        virtual_camera: VirtualCamera) -> None:
    bodies = virtual_camera.control.bodies()
    assert {"5d2", "5d2-no-usb-movie", "5d2-ml", "7d"} <= set(bodies)
    assert virtual_camera.control.state()["body"] == "5d2"
    help_text = subprocess.run([sys.executable, "-m", "pitrigger", "virtual-camera", "--help"],
                               capture_output=True, text=True, timeout=10).stdout
    assert "--body" in help_text and "5d2-ml" in help_text


def test_default_5d2_ignores_a_half_press(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = connect_live(gphoto, virtual_camera)
    assert "movierecordtarget" in gphoto.config_names(camera)
    half_press(gphoto, camera)
    state = virtual_camera.control.state()
    assert state["recording"] is False and state["half_pressed"] == []
    assert state["operations"]["EOS_REMOTE_RELEASE_ON"] == 1


def test_5d2_without_d1b8_refuses_usb_movie(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(body="5d2-no-usb-movie")
    camera = connect_live(gphoto, virtual_camera)
    assert "Canon EOS 5D Mark II" in str(camera.get_summary())
    assert "movierecordtarget" not in gphoto.config_names(camera)
    with pytest.raises(gp.GPhoto2Error) as caught:
        camera.get_single_config("movierecordtarget")
    assert caught.value.code == -2  # GP_ERROR_BAD_PARAMETERS: no such widget
    half_press(gphoto, camera)  # no Magic Lantern: a half-press is only a half-press
    virtual_camera.control.n3("focus", "down")
    virtual_camera.control.n3("focus", "up")
    assert virtual_camera.control.state()["recording"] is False
    # The body's own record button still works; the host learns only of the new file.
    virtual_camera.control.press_body_button()
    virtual_camera.control.press_body_button()
    events = gphoto.wait_events(camera, until=file_added)
    assert CARD_EVENT not in texts(events) and NONE_EVENT not in texts(events)
    assert events[-1] == (gp.GP_EVENT_FILE_ADDED,
                          "/store_00010001/DCIM/100EOS5D/MVI_0001.MOV")


def test_magic_lantern_rec_key_toggles_on_a_usb_half_press(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(body="5d2-ml")
    camera = connect_live(gphoto, virtual_camera)
    assert "movierecordtarget" not in gphoto.config_names(camera)

    remote_release(gphoto, camera, "Press Half")
    assert virtual_camera.control.state()["recording"] is False  # ML acts on the release
    remote_release(gphoto, camera, "Release Half")
    state = virtual_camera.control.state()
    assert state["recording"] is True and state["record_starts"] == 1
    assert all("d1b8" not in text for text in texts(gphoto.wait_events(camera)))

    half_press(gphoto, camera)
    events = gphoto.wait_events(camera, until=file_added)
    assert all("d1b8" not in text for text in texts(events))
    assert events[-1] == (gp.GP_EVENT_FILE_ADDED,
                          "/store_00010001/DCIM/100EOS5D/MVI_0001.MOV")
    state = virtual_camera.control.state()
    assert state["recording"] is False and state["last_stop_reason"] == "rec_key"


def test_magic_lantern_rec_key_toggles_on_the_n3_focus_line(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(body="5d2-ml")
    camera = connect_live(gphoto, virtual_camera)
    control = virtual_camera.control
    assert control.n3("focus", "down")["effect"] is None
    assert control.n3("focus", "up")["effect"] == "record_start"
    assert control.state()["recording"] is True
    control.n3("focus", "down")
    assert control.n3("focus", "up")["effect"] == "record_stop"
    events = gphoto.wait_events(camera, until=file_added)
    assert all("d1b8" not in text for text in texts(events))
    assert events[-1][0] == gp.GP_EVENT_FILE_ADDED and events[-1][1].endswith("MVI_0001.MOV")


def test_magic_lantern_rec_key_needs_live_view_and_movie_mode(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(body="5d2-ml", movie_mode=False)
    camera = connect_live(gphoto, virtual_camera)
    half_press(gphoto, camera)
    state = virtual_camera.control.state()
    assert state["recording"] is False and state["last_refusal"] == "movie_mode_off"
    virtual_camera.control.set(movie_mode=True, evf_output=0)
    virtual_camera.control.n3("focus", "down")
    virtual_camera.control.n3("focus", "up")
    state = virtual_camera.control.state()
    assert state["recording"] is False and state["last_refusal"] == "live_view_off"


def test_a_full_press_on_the_ml_body_takes_a_still_and_does_not_toggle(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(body="5d2-ml", still_size_bytes=50_000)
    camera = connect_live(gphoto, virtual_camera)
    with gphoto.captures_to_card(camera):
        path = camera.capture(gp.GP_CAPTURE_IMAGE)  # half, full, release full, release half
    assert (path.folder, path.name) == ("/store_00010001/DCIM/100EOS5D", "IMG_0001.JPG")
    state = virtual_camera.control.state()
    assert state["recording"] is False and state["record_starts"] == 0


def test_7d_body_records_over_d1b8(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(body="7d")
    camera = connect_live(gphoto, virtual_camera)
    summary = str(camera.get_summary())
    assert "Canon EOS 7D" in summary and "3-1.1.0" in summary
    gphoto.set_config(camera, "movierecordtarget", "Card")
    assert CARD_EVENT in texts(gphoto.wait_events(camera))
    gphoto.set_config(camera, "movierecordtarget", "None")
    events = gphoto.wait_events(camera, until=file_added)
    assert NONE_EVENT in texts(events)
    assert events[-1] == (gp.GP_EVENT_FILE_ADDED,
                          "/store_00010001/DCIM/100EOS7D/MVI_0001.MOV")


def test_changing_the_body_drops_the_host_and_reset_restores_the_start_up_body(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = connect_live(gphoto, virtual_camera)
    virtual_camera.control.set(body="7d")
    with pytest.raises(gp.GPhoto2Error):
        camera.wait_for_event(10)  # the old connection is gone
    gphoto.close(camera)
    assert "Canon EOS 7D" in str(gphoto.connect(virtual_camera.port_string).get_summary())
    assert virtual_camera.control.reset()["body"] == "5d2"


def test_body_flag_on_the_command_line(gphoto: Any) -> None:
    with spawn(body="5d2-ml") as cam:
        state = cam.control.state()
        assert (state["body"], state["model"], state["remote_movie"]) == (
            "5d2-ml", "Canon EOS 5D Mark II", "hidden")
        camera = connect_live(gphoto, cam)
        half_press(gphoto, camera)
        assert cam.control.state()["recording"] is True
        gphoto.close(camera)
