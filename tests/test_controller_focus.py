"""The recording controller's focus mode rows (pure): enter, leave, press-to-record, failures."""

from __future__ import annotations

from pitrigger.controller import (
    CameraConnected,
    CameraLost,
    CameraState,
    Command,
    CommandFailed,
    Cue,
    Effect,
    Focus,
    FocusEnded,
    FocusStarted,
    PowerOff,
    Record,
    RecordingController,
    State,
)
from pitrigger.messages import StatusAnswer


def focusing() -> RecordingController:
    c = RecordingController()
    c.camera(CameraConnected(recording=False), 0.0)
    out = c.gesture("long-hold", 1.0)
    assert Command("focus-on", 1) in out and c.state is State.FOCUSING
    assert not [e for e in out if isinstance(e, Cue)]  # no cue until the camera has done it
    out = c.camera(FocusStarted(), 1.4)
    assert cues(out) == ["focus-on"] and Focus(True) in out
    assert c.next_deadline() is None
    return c


def cues(effects: list[Effect]) -> list[str]:
    return [e.name for e in effects if isinstance(e, Cue)]


def commands(effects: list[Effect]) -> list[str]:
    return [e.action for e in effects if isinstance(e, Command)]


def test_the_same_gesture_leaves_and_focus_off_confirms_the_camera_was_put_back() -> None:
    c = focusing()
    out = c.gesture("long-hold", 5.0)
    assert commands(out) == ["focus-off"] and Focus(False) in out and cues(out) == []
    assert c.state is State.IDLE
    assert cues(c.camera(FocusEnded(()), 5.3)) == ["focus-off"]


def test_a_setting_that_did_not_come_back_plays_error() -> None:
    c = focusing()
    c.gesture("long-hold", 5.0)
    out = c.camera(FocusEnded(("evfmode: '0' -> '1'",)), 5.3)
    assert cues(out) == ["focus-off", "error"]


def test_a_press_leaves_focus_mode_and_starts_recording_confirmed_by_the_camera() -> None:
    c = focusing()
    out = c.gesture("press", 6.0)
    assert commands(out) == ["focus-off", "start"]  # in this order: put back, then record
    assert Focus(False) in out and c.state is State.STARTING
    assert cues(c.camera(FocusEnded(()), 6.3)) == ["focus-off"]
    assert cues(c.camera(CameraState(True, "event"), 6.5)) == ["recording"]
    assert c.state is State.RECORDING
    # while recording, long-hold is not focus mode
    out = c.gesture("long-hold", 8.0)
    assert commands(out) == [] and c.state is State.RECORDING


def test_entering_fails_or_times_out_error_then_the_camera_is_asked() -> None:
    c = RecordingController(confirm_timeout_s=2.0)
    c.camera(CameraConnected(recording=False), 0.0)
    c.gesture("long-hold", 1.0)
    out = c.camera(CommandFailed(1, "refused", "no live view"), 1.5)
    assert cues(out) == ["refused"] and commands(out) == ["focus-off", "sync"]
    failed = next(e for e in out if isinstance(e, Record) and e.event == "command-failed")
    assert failed.fields["reason"] == "focus-unavailable"  # names.REFUSALS says what to fix
    assert Focus(False) in out and c.state is State.SYNCING
    assert cues(c.camera(FocusEnded(()), 1.55)) == []  # no focus-on was played: no focus-off
    c.camera(CameraState(False, "sync"), 1.6)
    assert c.state is State.IDLE
    c.gesture("long-hold", 2.0)
    assert c.advance(3.9) == []
    out = c.advance(4.0)  # no FocusStarted within confirm_timeout_s
    assert cues(out) == ["error"] and "focus-off" in commands(out)


def test_the_body_button_while_focusing_records_and_leaves_focus_mode() -> None:
    c = focusing()
    out = c.camera(CameraState(True, "event"), 7.0)
    assert commands(out) == ["focus-off"] and Focus(False) in out
    assert cues(out) == ["recording"] and c.state is State.RECORDING


def test_status_power_off_scores_and_a_lost_camera_inside_focus_mode() -> None:
    c = focusing()
    answers = [e for e in c.gesture("hold", 2.0) if isinstance(e, StatusAnswer)]
    assert len(answers) == 1 and not answers[0].reading.recording  # the status answer
    assert c.state is State.FOCUSING
    out = c.gesture("very-long-hold", 3.0)
    assert commands(out) == ["focus-off"] and PowerOff() in out
    assert c.state is State.POWERING_OFF
    lost = focusing()
    out = lost.camera(CameraLost("cable"), 4.0)
    assert cues(out) == ["no-camera"] and lost.state is State.NO_CAMERA


def test_a_late_focus_started_after_leaving_is_only_journaled() -> None:
    c = RecordingController()
    c.camera(CameraConnected(recording=False), 0.0)
    c.gesture("long-hold", 1.0)
    c.gesture("long-hold", 1.2)  # left before the camera answered
    assert c.state is State.IDLE
    out = c.camera(FocusStarted(), 1.5)
    assert cues(out) == [] and Focus(True) not in out


def test_no_focus_mode_while_the_recording_state_is_unconfirmed() -> None:
    # A body that cannot report recording (usb-half-press, wired): it might be recording.
    c = RecordingController()
    c.camera(CameraConnected(recording=False, confirms=False), 0.0)
    assert c.state is State.IDLE_UNCONFIRMED
    out = c.gesture("long-hold", 1.0)
    assert cues(out) == ["refused"] and commands(out) == [] and c.state is State.IDLE_UNCONFIRMED
