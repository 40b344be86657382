"""Stills, file data, battery/card and camera-side clip stops of the virtual camera, driven
end to end by real libgphoto2 (python-gphoto2's 2.5.34) — what issue 12 builds on."""

from __future__ import annotations

from typing import Any

import pytest

from pitrigger.virtualcam import VirtualCamera
from pitrigger.virtualcam.store import file_bytes

gp = pytest.importorskip("gphoto2")


FOLDER = "/store_00010001/DCIM/100EOS5D"
NONE_EVENT = 'PTP Property d1b8 changed, "movierecordtarget" to "None"'


def connect_live(gphoto: Any, cam: VirtualCamera) -> Any:
    camera = gphoto.connect(cam.port_string)
    gphoto.set_config(camera, "viewfinder", 1)
    gphoto.wait_events(camera)
    return camera


def download(camera: Any, folder: str, name: str) -> bytes:
    camera_file = camera.file_get(folder, name, gp.GP_FILE_TYPE_NORMAL)
    # copy while camera_file is alive: the memoryview points into its buffer
    return bytes(memoryview(camera_file.get_data_and_size()))


def file_added(kind: int, data: Any) -> bool:
    return bool(kind == gp.GP_EVENT_FILE_ADDED)


def test_still_to_the_card_is_a_jpeg_read_with_getobject(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(still_size_bytes=300_000)
    camera = connect_live(gphoto, virtual_camera)
    with gphoto.captures_to_card(camera):
        path = camera.capture(gp.GP_CAPTURE_IMAGE)
    assert (path.folder, path.name) == (FOLDER, "IMG_0001.JPG")
    state = virtual_camera.control.state()
    assert state["stills"] == [{"name": "IMG_0001.JPG", "folder": "/DCIM/100EOS5D",
                                "handle": state["stills"][0]["handle"], "size": 300_000,
                                "in_sdram": False}]
    assert download(camera, path.folder, path.name) == file_bytes("IMG_0001.JPG", 0, 300_000)
    assert virtual_camera.control.state()["operations"]["GET_OBJECT"] == 1


def test_still_to_the_pc_waits_in_sdram_until_transferred(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(still_size_bytes=1_500_000, still_format="cr2")
    camera = connect_live(gphoto, virtual_camera)
    gphoto.set_config(camera, "capturetarget", "Internal RAM")  # libgphoto2's default
    path = camera.capture(gp.GP_CAPTURE_IMAGE)
    assert path.folder == "/" and path.name.endswith(".cr2")
    assert download(camera, path.folder, path.name) == file_bytes("IMG_0001.CR2", 0, 1_500_000)
    state = virtual_camera.control.state()
    assert state["sdram_stills"] == [] and state["stills"] == []  # nothing on the card
    assert state["operations"]["GET_PARTIAL_OBJECT"] == 2  # 1 MiB blocks
    assert state["operations"]["EOS_TRANSFER_COMPLETE"] == 1


def test_still_while_recording_is_refused_busy(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = connect_live(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    with gphoto.captures_to_card(camera), pytest.raises(gp.GPhoto2Error) as caught:
        camera.capture(gp.GP_CAPTURE_IMAGE)
    assert caught.value.code == -110  # 0x2019 on the full press
    state = virtual_camera.control.state()
    assert state["recording"] is True and state["stills"] == []
    assert state["last_still_refusal"] == "recording" and state["half_pressed"] == []


def test_clip_ends_at_the_file_size_cap_and_downloads_byte_identical(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(movie_bytes_per_s=5_000_000, clip_max_bytes=1_500_000)
    camera = connect_live(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    events = gphoto.wait_events(camera, until=file_added, timeout_s=5.0)
    assert NONE_EVENT in [str(data) for _kind, data in events]  # the body stopped itself
    assert events[-1] == (gp.GP_EVENT_FILE_ADDED, f"{FOLDER}/MVI_0001.MOV")
    [clip] = virtual_camera.control.state()["clips"]
    assert (clip["size"], clip["stop_reason"]) == (1_500_000, "clip_limit")
    assert download(camera, FOLDER, "MVI_0001.MOV") == file_bytes("MVI_0001.MOV", 0, 1_500_000)
    # a resumed copy reads from an offset (GetPartialObject)
    buffer = bytearray(100_000)
    read = camera.file_read(FOLDER, "MVI_0001.MOV", gp.GP_FILE_TYPE_NORMAL, 1_000_000, buffer)
    assert read == 100_000 and bytes(buffer) == file_bytes("MVI_0001.MOV", 1_000_000, 100_000)


def test_battery_and_card_space_are_read_through_libgphoto2(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(battery_percent=20, card_free_bytes=123_456_789)
    camera = connect_live(gphoto, virtual_camera)
    assert gphoto.get_config(camera, "batterylevel") == "25%"
    [storage] = camera.get_storageinfo()
    assert storage.freekbytes == 123_456_789 // 1024
    virtual_camera.control.set(battery_percent=90, card_free_bytes=2_000_000_000)
    assert "d111" in " ".join(str(data) for _k, data in gphoto.wait_events(camera))
    assert gphoto.get_config(camera, "batterylevel") == "100%"
    assert camera.get_storageinfo()[0].freekbytes == 2_000_000_000 // 1024


def test_heat_stops_the_clip_like_any_stop_and_refuses_a_restart(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = connect_live(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    gphoto.wait_events(camera)
    virtual_camera.control.inject("heat", cool_down_s=600)
    events = gphoto.wait_events(camera, until=file_added)
    assert [str(data) for _kind, data in events] == [NONE_EVENT, f"{FOLDER}/MVI_0001.MOV"]
    with pytest.raises(gp.GPhoto2Error) as caught:
        gphoto.set_config(camera, "movierecordtarget", "Card")
    assert caught.value.code == -110
    state = virtual_camera.control.state()
    assert state["last_stop_reason"] == "heat" and state["last_refusal"] == "overheated"
    assert state["overheated"] is True


MOV_ADDED = (gp.GP_EVENT_FILE_ADDED, f"{FOLDER}/MVI_0001.MOV")
NONE = (gp.GP_EVENT_UNKNOWN, NONE_EVENT)
OUTPUT_OFF = (gp.GP_EVENT_UNKNOWN, 'PTP Property d1b0 changed, "output" to "Off"')

# (stop reason, settings before the start, control request after it, what the host sees)
CAMERA_SIDE_STOPS: list[tuple[str, dict[str, Any], dict[str, Any] | None, list[Any]]] = [
    ("body_button", {}, {"cmd": "press_body_button"}, [NONE, MOV_ADDED]),
    ("clip_limit", {"clip_limit_s": 0.3}, None, [NONE, MOV_ADDED]),
    ("clip_limit", {"movie_bytes_per_s": 1_000_000, "clip_max_bytes": 300_000}, None,
     [NONE, MOV_ADDED]),
    ("card_full", {"movie_bytes_per_s": 1_000_000, "card_free_bytes": 1_300_000}, None,
     [NONE, MOV_ADDED]),
    ("heat", {}, {"cmd": "inject", "fault": "heat"}, [NONE, MOV_ADDED]),
    ("live_view_off", {}, {"cmd": "set", "settings": {"evf_output": 0}},
     [OUTPUT_OFF, NONE, MOV_ADDED]),
    ("power_off", {}, {"cmd": "power", "on": False}, ["lost"]),
    ("battery_empty", {"battery_percent": 6, "battery_drain_pct_per_min": 600}, None,
     ["lost"]),
]


@pytest.mark.parametrize(("reason", "settings", "request_", "seen"), CAMERA_SIDE_STOPS,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(CAMERA_SIDE_STOPS)])
def test_camera_side_stops_as_the_host_sees_them(
        gphoto: Any, virtual_camera: VirtualCamera, reason: str, settings: dict[str, Any],
        request_: dict[str, Any] | None, seen: list[Any]) -> None:
    control = virtual_camera.control
    if settings:
        control.set(**settings)
    camera = connect_live(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    assert control.state()["recording"] is True
    if request_ is not None:
        control.request(**request_)
    try:
        events = gphoto.wait_events(camera, until=file_added, timeout_s=5.0)
        events = [event for event in events if "d111" not in str(event[1])]  # battery levels
    except gp.GPhoto2Error as error:
        assert error.code in (-1, -7)  # end of stream: the body switched off
        events = ["lost"]
    assert events[-len(seen):] == seen
    state = control.state()
    assert state["last_stop_reason"] == reason and len(state["clips"]) == 1
    if reason == "card_full":
        assert camera.get_storageinfo()[0].freekbytes < 1_000_000 // 1024
    if reason in ("power_off", "battery_empty"):
        assert state["powered"] is False
        assert state["power_off_reason"] == ("battery_empty" if reason == "battery_empty"
                                             else "control")


def test_eosremoterelease_press_full_adds_a_still_on_the_card(
        gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(still_size_bytes=20_000, first_file_number=41)
    camera = connect_live(gphoto, virtual_camera)
    with gphoto.captures_to_card(camera):
        widget = camera.get_single_config("eosremoterelease")
        choices = list(widget.get_choices())
        press = next(c for c in choices if c.startswith("Press Full"))  # 9128(3, …)
        release = "Release" if "Release" in choices else "Release Full"  # 9129(3)
        for choice in (press, release):
            widget.set_value(choice)
            camera.set_single_config("eosremoterelease", widget)
        events = gphoto.wait_events(camera, until=file_added)
    assert events[-1] == (gp.GP_EVENT_FILE_ADDED, f"{FOLDER}/IMG_0041.JPG")
    state = virtual_camera.control.state()
    assert [still["name"] for still in state["stills"]] == ["IMG_0041.JPG"]
    assert state["half_pressed"] == [] and state["recording"] is False
