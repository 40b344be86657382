"""The virtual 5D Mark II driven by real libgphoto2 (python-gphoto2) over PTP/IP on loopback.

Error codes asserted here are the ones libgphoto2 2.5.34 (the wheel) reports; they are listed
in docs/virtual-camera.md for the daemon's camera adapter.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pitrigger.virtualcam import VirtualCamera
from pitrigger.virtualcam.model import MOVIE_BYTES_PER_S

gp = pytest.importorskip("gphoto2")

GP_ERROR = -1
GP_ERROR_BAD_PARAMETERS = -2
GP_ERROR_IO = -7
GP_ERROR_TIMEOUT = -10
GP_ERROR_CAMERA_BUSY = -110

CARD_EVENT = 'PTP Property d1b8 changed, "movierecordtarget" to "Card"'
NONE_EVENT = 'PTP Property d1b8 changed, "movierecordtarget" to "None"'
CLIP_FOLDER = "/store_00010001/DCIM/100EOS5D"


def is_file_added(kind: int, data: Any) -> bool:
    return bool(kind == gp.GP_EVENT_FILE_ADDED)


def gp_error_code(call: Any) -> int:
    with pytest.raises(gp.GPhoto2Error) as caught:
        call()
    code: int = caught.value.code
    return code


def live_camera(gphoto: Any, virtual_camera: VirtualCamera) -> Any:
    """Connected, live view on the PC, initial property dump consumed."""
    camera = gphoto.connect(virtual_camera.port_string)
    gphoto.set_config(camera, "viewfinder", 1)
    gphoto.wait_events(camera)
    return camera


# ---------------------------------------------------------------------- connection & config


def test_python_gphoto2_needs_abilities_for_ptpip(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    # Unlike the gphoto2 CLI, a bare gp.Camera on a ptpip port does not pick a driver.
    code = gp_error_code(lambda: gphoto.connect(virtual_camera.port_string, model=None))
    assert code == -105  # GP_ERROR_MODEL_NOT_FOUND


@pytest.mark.parametrize("model", ["PTP/IP Camera", "Canon EOS 5D Mark II"])
def test_init_with_each_abilities_choice_shows_movie_widgets(
    gphoto: Any, virtual_camera: VirtualCamera, model: str
) -> None:
    camera = gphoto.connect(virtual_camera.port_string, model=model)
    summary = str(camera.get_summary())
    assert "Canon EOS 5D Mark II" in summary
    assert "Canon Inc." in summary
    names = gphoto.config_names(camera)
    assert {"viewfinder", "movierecordtarget", "output", "batterylevel"} <= names
    assert gphoto.get_config(camera, "movierecordtarget") == "None"
    assert virtual_camera.control.state()["session_open"] is True


def test_config_tree_values_follow_the_camera(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(battery_percent=60)
    camera = gphoto.connect(virtual_camera.port_string)
    assert gphoto.get_config(camera, "batterylevel") == "50%"
    assert gphoto.get_config(camera, "output") == "Off"
    gphoto.set_config(camera, "viewfinder", 1)
    gphoto.wait_events(camera)
    assert gphoto.get_config(camera, "output") == "PC"
    assert virtual_camera.control.state()["live_view"] is True


def test_exit_closes_the_session(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = gphoto.connect(virtual_camera.port_string)
    assert virtual_camera.control.state()["host_connected"] is True
    assert gphoto.close(camera) == 0
    deadline = time.monotonic() + 2
    while virtual_camera.control.state()["host_connected"] and time.monotonic() < deadline:
        time.sleep(0.01)
    state = virtual_camera.control.state()
    assert state["session_open"] is False
    assert state["host_connected"] is False
    assert state["operations"]["CLOSE_SESSION"] == 1


# ---------------------------------------------------------------------- recording


def test_start_stop_recording_reports_events_and_the_new_clip(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    state = virtual_camera.control.state()
    assert state["recording"] is True
    assert state["record_starts"] == 1
    started = gphoto.wait_events(camera, until=lambda k, d: d == CARD_EVENT)
    assert started[-1] == (gp.GP_EVENT_UNKNOWN, CARD_EVENT)

    time.sleep(0.2)
    gphoto.set_config(camera, "movierecordtarget", "None")
    events = gphoto.wait_events(camera, until=is_file_added)
    assert (gp.GP_EVENT_UNKNOWN, NONE_EVENT) in events
    assert events[-1] == (gp.GP_EVENT_FILE_ADDED, f"{CLIP_FOLDER}/MVI_0001.MOV")
    assert events.index((gp.GP_EVENT_UNKNOWN, NONE_EVENT)) < len(events) - 1

    state = virtual_camera.control.state()
    assert state["recording"] is False
    assert state["record_stops"] == 1
    [clip] = state["clips"]
    assert clip["name"] == "MVI_0001.MOV"
    assert clip["stop_reason"] == "host"
    assert 0.2 <= clip["duration_s"] < 1.0
    assert clip["size"] == pytest.approx(clip["duration_s"] * MOVIE_BYTES_PER_S, rel=0.05)
    assert state["card_free_bytes"] == 16_126_214_144 - clip["size"]


def test_clips_are_numbered_and_listed_in_dcim(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    for _ in range(2):
        gphoto.set_config(camera, "movierecordtarget", "Card")
        gphoto.set_config(camera, "movierecordtarget", "None")
    names = [clip["name"] for clip in virtual_camera.control.state()["clips"]]
    assert names == ["MVI_0001.MOV", "MVI_0002.MOV"]
    files = camera.folder_list_files(CLIP_FOLDER)
    listed = [files.get_name(index) for index in range(files.count())]
    assert listed == names


def test_start_without_live_view_answers_busy(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = gphoto.connect(virtual_camera.port_string)
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code == GP_ERROR_CAMERA_BUSY
    state = virtual_camera.control.state()
    assert state["recording"] is False
    assert state["last_refusal"] == "live_view_off"


def test_start_with_movie_mode_off_answers_busy(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    virtual_camera.control.set(movie_mode=False)
    camera = live_camera(gphoto, virtual_camera)
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code == GP_ERROR_CAMERA_BUSY
    assert virtual_camera.control.state()["last_refusal"] == "movie_mode_off"


def test_leaving_live_view_ends_the_clip(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    gphoto.set_config(camera, "viewfinder", 0)
    events = gphoto.wait_events(camera, until=is_file_added)
    assert (gp.GP_EVENT_UNKNOWN, NONE_EVENT) in events
    assert virtual_camera.control.state()["last_stop_reason"] == "live_view_off"


def test_clip_limit_stops_recording_by_itself(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(clip_limit_s=0.3)
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    events = gphoto.wait_events(camera, until=is_file_added)
    assert [d for _, d in events if "d1b8" in str(d)] == [CARD_EVENT, NONE_EVENT]
    assert events[-1][1] == f"{CLIP_FOLDER}/MVI_0001.MOV"
    state = virtual_camera.control.state()
    assert state["recording"] is False
    [clip] = state["clips"]
    assert clip["stop_reason"] == "clip_limit"
    assert clip["duration_s"] == pytest.approx(0.3, abs=0.05)


def test_body_button_toggles_recording_with_the_same_events(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    assert virtual_camera.control.press_body_button()["recording"] is True
    assert gphoto.wait_events(camera, until=lambda k, d: d == CARD_EVENT)[-1][1] == CARD_EVENT
    assert gphoto.get_config(camera, "movierecordtarget") == "Card"
    assert virtual_camera.control.press_body_button()["recording"] is False
    events = gphoto.wait_events(camera, until=is_file_added)
    assert (gp.GP_EVENT_UNKNOWN, NONE_EVENT) in events
    state = virtual_camera.control.state()
    assert state["clips"][0]["stop_reason"] == "body_button"
    assert (state["record_starts"], state["record_stops"]) == (1, 1)


def test_body_button_needs_live_view(virtual_camera: VirtualCamera) -> None:
    result = virtual_camera.control.press_body_button()
    assert result == {"pressed": True, "recording": False, "refused": "live_view_off"}
    virtual_camera.control.set(evf_output=1)  # the user switched live view on at the body
    assert virtual_camera.control.press_body_button()["recording"] is True


# ---------------------------------------------------------------------- faults


def test_busy_fault_on_set_prop_then_recovers(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    state = virtual_camera.control.inject("busy", count=2, operation="SetDevicePropValueEx")
    assert state["faults"] == [
        {"fault": "busy", "remaining": 2, "operation": "EOS_SET_DEVICE_PROP_VALUE_EX"}]
    for _ in range(2):
        code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
        assert code == GP_ERROR_CAMERA_BUSY
    assert virtual_camera.control.state()["recording"] is False
    gphoto.set_config(camera, "movierecordtarget", "Card")
    state = virtual_camera.control.state()
    assert state["recording"] is True
    assert state["faults"] == []


def test_busy_fault_on_any_operation_hits_event_polling(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.inject("busy", count=1)
    assert gp_error_code(lambda: camera.wait_for_event(10)) == GP_ERROR_CAMERA_BUSY
    assert camera.wait_for_event(10)[0] == gp.GP_EVENT_TIMEOUT


@pytest.mark.slow
def test_stall_fault_times_out_then_the_session_continues(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.inject("stall", count=1, operation="SetDevicePropValueEx")
    started = time.monotonic()
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code in (GP_ERROR_TIMEOUT, GP_ERROR_IO)  # see the GetEvent stall test
    assert 2.4 <= time.monotonic() - started < 4.0
    assert virtual_camera.control.state()["recording"] is False  # the stalled set never ran
    gphoto.set_config(camera, "movierecordtarget", "Card")
    assert virtual_camera.control.state()["recording"] is True


@pytest.mark.slow
def test_stall_fault_on_event_polling_times_out(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.inject("stall", operation="GetEvent")
    started = time.monotonic()
    # libgphoto2 reads errno after perror() to tell a timeout (-10) from an I/O error (-7);
    # where stderr goes decides which one a GetEvent timeout comes out as.
    assert gp_error_code(lambda: camera.wait_for_event(10)) in (GP_ERROR_TIMEOUT, GP_ERROR_IO)
    assert 2.4 <= time.monotonic() - started < 4.0
    assert camera.wait_for_event(10)[0] == gp.GP_EVENT_TIMEOUT


def test_slow_reply_within_the_timeout_only_costs_time(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.inject("stall", operation="SetDevicePropValueEx", reply_after_s=0.4)
    started = time.monotonic()
    gphoto.set_config(camera, "movierecordtarget", "Card")
    assert 0.35 <= time.monotonic() - started < 1.0
    assert virtual_camera.control.state()["recording"] is True


@pytest.mark.slow
def test_late_reply_after_the_timeout_desyncs_event_polling(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.inject("stall", operation="SetDevicePropValueEx", reply_after_s=3.0)
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code in (GP_ERROR_TIMEOUT, GP_ERROR_IO)
    assert virtual_camera.control.state()["recording"] is True  # the slow body did start
    time.sleep(0.6)  # the stale answer arrives; libgphoto2 reads it as the next one's
    # GetEvent never catches up: each call leaves more of its own reply unread.
    for _ in range(5):
        assert gp_error_code(lambda: camera.wait_for_event(10)) == GP_ERROR
    # A set skips stale responses until its own one ("suspecting old reply"): back in step...
    gphoto.set_config(camera, "viewfinder", 1)
    assert camera.wait_for_event(10)[0] in (gp.GP_EVENT_UNKNOWN, gp.GP_EVENT_TIMEOUT)
    # ...but the "Card" event was lost with the unread replies: libgphoto2 still says None
    # while the body records. Only a new session tells the truth again.
    assert gphoto.get_config(camera, "movierecordtarget") == "None"
    assert virtual_camera.control.state()["recording"] is True
    gphoto.close(camera)
    camera = gphoto.connect(virtual_camera.port_string)
    assert gphoto.get_config(camera, "movierecordtarget") == "Card"


def test_refuse_movie_hidden_has_no_movierecordtarget(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    virtual_camera.control.inject("refuse_movie", mode="hidden")
    camera = live_camera(gphoto, virtual_camera)
    assert "movierecordtarget" not in gphoto.config_names(camera)
    code = gp_error_code(lambda: camera.get_single_config("movierecordtarget"))
    assert code == GP_ERROR_BAD_PARAMETERS
    events = gphoto.wait_events(camera)
    assert not [d for _, d in events if "d1b8" in str(d)]


def test_refuse_movie_busy_answers_busy_to_every_start(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    virtual_camera.control.inject("refuse_movie", mode="busy")
    camera = live_camera(gphoto, virtual_camera)
    assert gphoto.get_config(camera, "movierecordtarget") == "None"
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code == GP_ERROR_CAMERA_BUSY
    assert virtual_camera.control.state()["last_refusal"] == "remote_movie_busy"


def test_card_full_refuses_start(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    assert virtual_camera.control.inject("card_full")["card_free_bytes"] == 0
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code == GP_ERROR  # 0x200C Store Full has no libgphoto2 mapping
    assert virtual_camera.control.state()["last_refusal"] == "card_full"


def test_card_filling_up_stops_the_clip(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    virtual_camera.control.set(card_free_bytes=3 * MOVIE_BYTES_PER_S // 10)  # 0.3 s of video left
    gphoto.wait_events(camera, until=is_file_added)
    state = virtual_camera.control.state()
    assert state["last_stop_reason"] == "card_full"
    assert state["card_free_bytes"] == 0
    assert state["clips"][0]["duration_s"] == pytest.approx(0.3, abs=0.05)


def test_battery_low_refuses_start_and_reports_low(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    state = virtual_camera.control.inject("battery_low")
    assert state["battery_percent"] == 4
    events = gphoto.wait_events(camera)
    assert (gp.GP_EVENT_UNKNOWN, 'PTP Property d111 changed, "batterylevel" to "Low"') in events
    code = gp_error_code(lambda: gphoto.set_config(camera, "movierecordtarget", "Card"))
    assert code == GP_ERROR  # Canon 0xA101 LowBattery
    assert virtual_camera.control.state()["last_refusal"] == "battery_low"


def test_battery_drains_while_recording_and_an_empty_one_powers_off(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    virtual_camera.control.set(battery_percent=10, battery_drain_pct_per_min=600)  # 1 s left
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    time.sleep(0.5)
    assert 0 < virtual_camera.control.state()["battery_percent"] < 10  # draining
    deadline = time.monotonic() + 3
    while virtual_camera.control.state()["powered"] and time.monotonic() < deadline:
        time.sleep(0.05)
    state = virtual_camera.control.state()
    assert state["powered"] is False
    assert state["power_off_reason"] == "battery_empty"
    assert state["clips"][0]["stop_reason"] == "battery_empty"
    assert gp_error_code(lambda: camera.wait_for_event(10)) in (GP_ERROR, GP_ERROR_IO)


def test_drop_breaks_the_session_and_a_new_one_works(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    virtual_camera.control.inject("drop")
    # First call: the request is written, the answer is end-of-stream (-1); then -7.
    assert gp_error_code(lambda: camera.wait_for_event(10)) == GP_ERROR
    assert gp_error_code(lambda: camera.wait_for_event(10)) == GP_ERROR_IO
    assert gphoto.close(camera) == GP_ERROR_IO
    state = virtual_camera.control.state()
    assert state["session_open"] is False
    assert state["recording"] is True  # the body keeps recording without its host
    camera = gphoto.connect(virtual_camera.port_string)
    assert gphoto.get_config(camera, "movierecordtarget") == "Card"


def test_power_off_refuses_connections_until_power_on(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    state = virtual_camera.control.power(False)
    assert (state["powered"], state["recording"], state["session_open"]) == (False, False, False)
    assert state["clips"][0]["stop_reason"] == "power_off"
    assert gp_error_code(lambda: camera.wait_for_event(10)) == GP_ERROR
    assert gp_error_code(lambda: gphoto.set_config(camera, "viewfinder", 1)) == GP_ERROR_IO
    gphoto.close(camera)
    assert gp_error_code(lambda: gphoto.connect(virtual_camera.port_string)) == GP_ERROR_IO
    virtual_camera.control.power(True)
    camera = gphoto.connect(virtual_camera.port_string)
    assert gphoto.get_config(camera, "movierecordtarget") == "None"


def test_auto_power_off_after_idle_time(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.inject("auto_power_off", after_s=0.3)
    camera.wait_for_event(10)  # traffic restarts the idle timer
    assert virtual_camera.control.state()["powered"] is True
    time.sleep(0.5)
    state = virtual_camera.control.state()
    assert state["powered"] is False
    assert state["power_off_reason"] == "auto_power_off"
    assert gp_error_code(lambda: camera.wait_for_event(10)) == GP_ERROR


def test_auto_power_off_waits_while_recording(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    virtual_camera.control.set(auto_poweroff_s=0.2)
    time.sleep(0.4)
    assert virtual_camera.control.state()["powered"] is True
    gphoto.set_config(camera, "movierecordtarget", "None")
    time.sleep(0.4)
    assert virtual_camera.control.state()["powered"] is False


def test_second_host_is_refused_while_a_session_is_open(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    first = gphoto.connect(virtual_camera.port_string)
    assert gp_error_code(lambda: gphoto.connect(virtual_camera.port_string)) == GP_ERROR
    state = virtual_camera.control.state()
    assert state["refused_hosts"] == 1
    assert state["session_open"] is True
    gphoto.set_config(first, "viewfinder", 1)  # the first host is unaffected
    gphoto.close(first)
    second = gphoto.connect(virtual_camera.port_string)
    assert gphoto.get_config(second, "movierecordtarget") == "None"


def test_reset_clears_faults_and_clips(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    gphoto.set_config(camera, "movierecordtarget", "None")
    virtual_camera.control.inject("busy", count=5)
    kept = virtual_camera.control.reset(keep_clips=True)
    assert [c["name"] for c in kept["clips"]] == ["MVI_0001.MOV"]
    assert kept["faults"] == [] and kept["host_connected"] is False
    fresh = virtual_camera.control.reset()
    assert fresh["clips"] == [] and fresh["card_free_bytes"] == 16_126_214_144


def test_polling_does_not_keep_a_keepalive_body_awake_under_10_s(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    # libgphoto2 sends KeepDeviceOn from wait_for_event at most every 10 s: a body that only
    # counts KeepDeviceOn sleeps through a shorter idle timer however often it is polled.
    camera = live_camera(gphoto, virtual_camera)
    virtual_camera.control.set(auto_poweroff_s=0.5, auto_poweroff_needs_keepalive=True)
    deadline = time.monotonic() + 2
    with pytest.raises(gp.GPhoto2Error):
        while time.monotonic() < deadline:
            camera.wait_for_event(50)
    state = virtual_camera.control.state()
    assert state["power_off_reason"] == "auto_power_off"
    assert "EOS_KEEP_DEVICE_ON" not in state["operations"]
    assert state["operations"]["EOS_GET_EVENT"] > 5


def test_thm_companion_files_are_announced_after_the_mov(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    # A daemon must not count every FILE_ADDED as a clip: bodies that write MVI_NNNN.THM
    # beside the movie may announce it too (whether the 5D Mark II does is unverified).
    virtual_camera.control.set(thm_files=True)
    camera = live_camera(gphoto, virtual_camera)
    gphoto.set_config(camera, "movierecordtarget", "Card")
    gphoto.set_config(camera, "movierecordtarget", "None")
    events = gphoto.wait_events(camera, until=lambda k, d: str(d).endswith(".THM"))
    added = [d for k, d in events if k == gp.GP_EVENT_FILE_ADDED]
    assert added == [f"{CLIP_FOLDER}/MVI_0001.MOV", f"{CLIP_FOLDER}/MVI_0001.THM"]
    [clip] = virtual_camera.control.state()["clips"]
    assert clip["thm"] == "MVI_0001.THM"


def test_busy_during_init_is_retried_by_libgphoto2_up_to_three_times(
    gphoto: Any, virtual_camera: VirtualCamera
) -> None:
    virtual_camera.control.inject("busy", count=2, operation="OpenSession")
    gphoto.close(gphoto.connect(virtual_camera.port_string))  # third OpenSession succeeds
    virtual_camera.control.inject("busy", count=3, operation="OpenSession")
    assert gp_error_code(lambda: gphoto.connect(virtual_camera.port_string)) == (
        GP_ERROR_CAMERA_BUSY)
    assert virtual_camera.control.state()["operations"]["OPEN_SESSION"] == 6
    # That failed init leaked its PTP/IP sockets (libgphoto2 does not disconnect): the body
    # looks occupied, so an immediate retry is refused...
    assert virtual_camera.control.state()["host_connected"] is True
    assert gp_error_code(lambda: gphoto.connect(virtual_camera.port_string)) == GP_ERROR
    # ...but a host without a session that stays silent is dropped for the next one.
    time.sleep(0.6)
    camera = gphoto.connect(virtual_camera.port_string)
    assert gphoto.get_config(camera, "movierecordtarget") == "None"
