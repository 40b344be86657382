"""The controller's day rows: restart at the cap, stops told apart, limit-soon, status, stills."""

from __future__ import annotations

from pitrigger.cliplimit import ClipWatch
from pitrigger.controller import DEFAULT_ACTIONS, RecordingController
from pitrigger.day import DayKeeper
from pitrigger.messages import (
    CameraConnected,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
    Cue,
    Record,
    StatusAnswer,
    StillResult,
    SupplyReport,
)
from pitrigger.names import State
from pitrigger.status_code import StatusReading


def cues(effects: list) -> list[str]:
    return [e.name for e in effects if isinstance(e, Cue)]


def commands(effects: list) -> list[Command]:
    return [e for e in effects if isinstance(e, Command)]


def records(effects: list, event: str) -> list[dict]:
    return [e.fields for e in effects if isinstance(e, Record) and e.event == event]


def controller(*, recording: bool = False, auto_restart: bool = True, cap_s: float = 5.0,
               still: str = "refuse") -> RecordingController:
    actions = {"idle": {**DEFAULT_ACTIONS["idle"], "double": "still"},
               "recording": {**DEFAULT_ACTIONS["recording"], "double": "still"}}
    day = DayKeeper(ClipWatch(cap_s=cap_s, warn_before_s=2.0), auto_restart=auto_restart)
    c = RecordingController(actions, confirm_timeout_s=4.0, day=day,
                            still_while_recording=still)  # type: ignore[arg-type]
    c.camera(CameraConnected(recording=False), 0.0)
    if recording:
        start = commands(c.gesture("press", 0.0))[0]
        assert start.action == "start"
        c.camera(CameraState(True), 0.0)
    return c


def test_at_the_cap_a_new_clip_starts_at_once_and_says_restarted() -> None:
    c = controller(recording=True)
    out = c.camera(CameraState(False), 5.05)
    assert cues(out) == []  # nothing yet: the truth comes with the camera's Card
    assert [cmd.action for cmd in commands(out)] == ["start"]
    assert records(out, "clip-end")[0]["how"] == "clip-limit"
    assert records(out, "clip-end")[0]["restart"] is True
    assert c.state is State.STARTING and not c.believed_recording
    out = c.camera(CameraState(True), 5.08)
    assert cues(out) == ["restarted"] and c.state is State.RECORDING
    # A later stop pressed by the user is an ordinary stop.
    c.gesture("press", 7.0)
    out = c.camera(CameraState(False), 7.05)
    assert cues(out) == ["stopped"] and records(out, "clip-end")[0]["how"] == "press"


def test_a_refused_restart_is_cued_and_the_state_stays_honest() -> None:
    c = controller(recording=True)
    start = commands(c.camera(CameraState(False), 5.05))[0]
    out = c.camera(CommandFailed(start.id, "refused", "0x200C", reason="card-full"), 5.1)
    assert cues(out) == ["refused"]
    assert "restart" in records(out, "command-failed")[0]
    assert c.state is State.SYNCING
    out = c.camera(CameraState(False, "sync"), 5.2)
    # Not recording, believed not recording: no `recording`, no `restarted`, no `stopped`.
    assert cues(out) == [] and c.state is State.IDLE and not c.believed_recording


def test_a_restart_that_times_out_plays_error() -> None:
    c = controller(recording=True)
    c.camera(CameraState(False), 5.05)
    out = c.advance(c.next_deadline() or 0.0)
    assert cues(out) == ["error"] and c.state is State.SYNCING


def test_without_auto_restart_the_cap_is_just_a_stop() -> None:
    c = controller(recording=True, auto_restart=False)
    out = c.camera(CameraState(False), 5.05)
    assert cues(out) == ["stopped"] and commands(out) == [] and c.state is State.IDLE


def test_other_camera_side_stops_say_why() -> None:
    c = controller(recording=True)
    c.camera(SupplyReport(100.0, 10_000), 1.0)  # the card was nearly full
    out = c.camera(CameraState(False), 2.0)
    assert cues(out) == ["stopped", "low-card"]
    assert records(out, "clip-end")[0]["how"] == "card-full"
    c = controller(recording=True)
    out = c.camera(CameraState(False), 2.0)  # nothing else known: the body's own button
    assert cues(out) == ["stopped"] and records(out, "clip-end")[0]["how"] == "body-button"


def test_limit_soon_once_before_the_cap_and_only_while_recording() -> None:
    c = controller(recording=True)
    assert c.next_deadline() == 3.0  # cap 5 s, warn 2 s before
    assert cues(c.advance(2.9)) == []
    assert cues(c.advance(3.0)) == ["limit-soon"]
    assert cues(c.advance(4.0)) == [] and c.next_deadline() is None
    idle = controller()
    assert idle.next_deadline() is None and cues(idle.advance(100.0)) == []


def test_status_answer_tells_state_minutes_and_warning() -> None:
    c = controller(cap_s=1799.0)
    c.gesture("press", 0.0)
    c.camera(CameraState(True), 0.0)
    answer = [e for e in c.gesture("hold", 7 * 60 + 30) if isinstance(e, StatusAnswer)]
    assert answer == [StatusAnswer(StatusReading(True, 7, False))]
    c.gesture("press", 8 * 60)
    c.camera(CameraState(False), 8 * 60)
    c.camera(SupplyReport(25.0, 10**11), 8 * 60 + 1)
    answer = [e for e in c.gesture("hold", 9 * 60) if isinstance(e, StatusAnswer)]
    assert answer == [StatusAnswer(StatusReading(False, 8, True))]


def test_low_card_and_low_battery_once_each_and_again_after_reconnection() -> None:
    c = controller()
    rate = c.day.clip.bytes_per_s
    said = []
    for battery, minutes in ((100, 60), (75, 30), (50, 19), (50, 18), (50, 17)):
        said += cues(c.camera(SupplyReport(float(battery), int(rate * 60 * minutes)), 1.0))
    assert said == ["low-card", "low-battery"]
    c.camera(CameraConnected(False), 2.0)
    again = cues(c.camera(SupplyReport(50.0, int(rate * 60 * 17), connected=True), 2.1))
    assert again == ["low-card", "low-battery"]


def test_a_still_when_idle_then_its_file() -> None:
    c = controller()
    out = c.gesture("double", 1.0)
    assert [cmd.action for cmd in commands(out)] == ["still"] and c.state is State.SHOOTING
    assert cues(c.camera(StillResult(True), 1.1)) == [] and c.state is State.IDLE
    out = c.camera(ClipSaved("/store_00010001/DCIM/100EOS5D/IMG_0001.JPG"), 1.2)
    assert cues(out) == ["still"] and records(out, "still")[0]["path"].endswith("IMG_0001.JPG")


def test_a_still_while_recording_is_refused_by_default() -> None:
    c = controller(recording=True, cap_s=600.0)
    out = c.gesture("double", 1.0)
    assert cues(out) == ["refused"] and commands(out) == [] and c.state is State.RECORDING


def test_stop_shoot_restart_when_opted_in() -> None:
    c = controller(recording=True, cap_s=600.0, still="stop-shoot-restart")
    out = c.gesture("double", 1.0)
    assert [cmd.action for cmd in commands(out)] == ["stop"]
    out = c.camera(CameraState(False), 1.1)
    assert cues(out) == ["stopped"] and [cmd.action for cmd in commands(out)] == ["still"]
    out = c.camera(StillResult(True), 1.2)
    assert [cmd.action for cmd in commands(out)] == ["start"]
    assert cues(c.camera(CameraState(True), 1.3)) == ["recording"]
    assert c.state is State.RECORDING


def test_a_press_during_a_still_is_carried_out_after_it() -> None:
    c = controller()
    c.gesture("double", 1.0)
    c.gesture("press", 1.05)  # pressed while the shutter is being released
    out = c.camera(StillResult(True), 1.1)
    assert [cmd.action for cmd in commands(out)] == ["start"]


def test_a_file_at_the_size_cap_shows_the_cap_after_a_stop_taken_for_the_button() -> None:
    # The bit rate was higher than configured: the 4 GB cap came after 3 s, not 12 minutes.
    c = controller(recording=True, cap_s=1799.0)
    out = c.camera(CameraState(False), 3.0)
    assert cues(out) == ["stopped"] and records(out, "clip-end")[0]["how"] == "body-button"
    out = c.camera(ClipSaved("/DCIM/100EOS5D/MVI_0001.MOV", size=0xFFFF0000), 3.1)
    assert records(out, "clip-end") == [{"how": "clip-limit", "corrected": True,
                                         "file_size": 0xFFFF0000, "restart": True}]
    assert [cmd.action for cmd in commands(out)] == ["start"]
    assert cues(c.camera(CameraState(True), 3.2)) == ["restarted"]
    # Learnt: the next clip's cap is expected after 3 s, and caught at the stop itself.
    assert abs(c.day.clip.clip_length_s - 3.0) < 0.01
    out = c.camera(CameraState(False), 6.25)
    assert [cmd.action for cmd in commands(out)] == ["start"] and cues(out) == []


def test_a_small_file_or_a_pressed_stop_restarts_nothing() -> None:
    c = controller(recording=True, cap_s=1799.0)
    c.camera(CameraState(False), 3.0)
    out = c.camera(ClipSaved("/DCIM/100EOS5D/MVI_0001.MOV", size=18_000_000), 3.1)
    assert commands(out) == [] and records(out, "clip-end") == []
    c.gesture("press", 4.0)
    c.camera(CameraState(True), 4.1)
    c.gesture("press", 7.0)
    c.camera(CameraState(False), 7.1)
    out = c.camera(ClipSaved("/DCIM/100EOS5D/MVI_0002.MOV", size=0xFFFF0000), 7.2)
    assert commands(out) == []  # the user stopped it: never restart
