"""The recording controller, fed by hand and by a simulated camera (hypothesis)."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pitrigger.controller import (
    DEFAULT_ACTIONS,
    TRANSITIONS,
    CameraConnected,
    CameraLost,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
    Cue,
    PowerOff,
    RecordingController,
    State,
    StatusAnswer,
    state_diagram,
)


def cues(effects: list) -> list[str]:
    return [e.name for e in effects if isinstance(e, Cue)]


def commands(effects: list) -> list[Command]:
    return [e for e in effects if isinstance(e, Command)]


def connected(recording: bool = False) -> RecordingController:
    c = RecordingController(DEFAULT_ACTIONS, confirm_timeout_s=4.0)
    c.camera(CameraConnected(recording=recording), 0.0)
    return c


def test_starts_without_camera_and_adopts_idle_camera() -> None:
    c = RecordingController()
    assert c.state is State.NO_CAMERA
    out = c.camera(CameraConnected(recording=False, model="Canon EOS 5D Mark II"), 0.0)
    assert cues(out) == ["ready"]
    assert c.state is State.IDLE


def test_adopts_a_camera_that_is_already_recording() -> None:
    # A watchdog restart mid-clip: the clip goes on, the next press stops it.
    c = connected(recording=True)
    assert c.state is State.RECORDING
    out = c.gesture("press", 1.0)
    assert [cmd.action for cmd in commands(out)] == ["stop"]


def test_recording_cue_only_after_the_camera_reports_card() -> None:
    c = connected()
    out = c.gesture("press", 1.0)
    assert commands(out)[0].action == "start"
    assert cues(out) == []  # nothing on the press alone
    assert c.state is State.STARTING
    # A report of the old state (queued before the start) settles nothing.
    assert cues(c.camera(CameraState(recording=False), 1.001)) == []
    out = c.camera(CameraState(recording=True), 1.002)
    assert cues(out) == ["recording"]
    assert c.state is State.RECORDING


def test_stopped_cue_only_after_the_camera_reports_none() -> None:
    c = connected(recording=True)
    c.gesture("press", 1.0)
    assert cues(c.camera(CameraState(recording=True), 1.01)) == []
    assert cues(c.camera(CameraState(recording=False), 1.02)) == ["stopped"]
    assert c.state is State.IDLE


def test_press_during_start_is_applied_once_camera_settles() -> None:
    c = connected()
    start = commands(c.gesture("press", 1.0))[0]
    assert commands(c.gesture("press", 1.2)) == []  # remembered, not sent on top
    out = c.camera(CameraState(recording=True), 1.3)
    assert cues(out) == ["recording"]
    stop = commands(out)[0]
    assert stop.action == "stop" and stop.id == start.id + 1
    assert c.state is State.STOPPING


def test_two_extra_presses_cancel_out() -> None:
    c = connected()
    c.gesture("press", 1.0)
    c.gesture("press", 1.1)
    c.gesture("press", 1.2)
    out = c.camera(CameraState(recording=True), 1.3)
    assert commands(out) == []
    assert c.state is State.RECORDING


def test_busy_failure_cues_busy_then_syncs_without_a_false_cue() -> None:
    c = connected()
    start = commands(c.gesture("press", 1.0))[0]
    out = c.camera(CommandFailed(start.id, "busy", "0x2019"), 4.0)
    assert cues(out) == ["busy"]
    assert [cmd.action for cmd in commands(out)] == ["sync"]
    assert c.state is State.SYNCING
    out = c.camera(CameraState(recording=False, source="sync"), 4.1)
    assert cues(out) == []
    assert c.state is State.IDLE


def test_timeout_then_sync_finds_recording_cues_recording() -> None:
    c = connected()
    c.gesture("press", 1.0)
    assert c.next_deadline() == pytest.approx(5.0)
    assert c.advance(4.9) == []
    out = c.advance(5.0)
    assert cues(out) == ["error"]
    out = c.camera(CameraState(recording=True, source="sync"), 5.2)
    assert cues(out) == ["recording"]  # it did start after all: say so
    assert c.state is State.RECORDING


def test_refused_stop_leaves_the_user_knowing_it_still_records() -> None:
    c = connected(recording=True)
    stop = commands(c.gesture("press", 1.0))[0]
    out = c.camera(CommandFailed(stop.id, "refused"), 1.1)
    assert cues(out) == ["error"]
    c.camera(CameraState(recording=True, source="sync"), 1.2)
    assert c.state is State.RECORDING and c.believed_recording


def test_stale_failure_is_ignored() -> None:
    c = connected()
    start = commands(c.gesture("press", 1.0))[0]
    c.camera(CameraState(recording=True), 1.1)
    out = c.camera(CommandFailed(start.id, "timeout"), 1.2)
    assert cues(out) == [] and c.state is State.RECORDING


def test_camera_stops_by_itself_before_the_clip_limit() -> None:
    # (At the cap it starts a new clip: tests/test_controller_day.py.)
    c = connected(recording=True)
    out = c.camera(CameraState(recording=False), 300.0)
    assert cues(out) == ["stopped"]
    assert c.state is State.IDLE
    assert cues(c.camera(ClipSaved("/DCIM/100EOS5D/MVI_0001.MOV"), 300.1)) == []


def test_body_button_start_is_followed() -> None:
    c = connected()
    assert cues(c.camera(CameraState(recording=True), 3.0)) == ["recording"]


def test_press_without_camera_answers_no_camera_and_never_starts_later() -> None:
    c = RecordingController()
    out = c.gesture("press", 1.0)
    assert cues(out) == ["no-camera"] and commands(out) == []
    out = c.camera(CameraConnected(recording=False), 2.0)
    assert commands(out) == [] and c.state is State.IDLE


def test_stop_pressed_while_lost_is_carried_out_on_reconnect() -> None:
    c = connected(recording=True)
    assert cues(c.camera(CameraLost("cable"), 1.0)) == ["no-camera"]
    assert cues(c.gesture("press", 2.0)) == ["no-camera"]
    out = c.camera(CameraConnected(recording=True), 3.0)
    assert [cmd.action for cmd in commands(out)] == ["stop"]
    assert "recording" not in cues(out)
    assert cues(c.camera(CameraState(recording=False), 3.1)) == ["stopped"]


def test_lost_mid_stop_still_stops_on_reconnect() -> None:
    c = connected(recording=True)
    c.gesture("press", 1.0)
    c.camera(CameraLost("cable pulled"), 1.01)
    out = c.camera(CameraConnected(recording=True), 5.0)
    assert [cmd.action for cmd in commands(out)] == ["stop"]


def test_status_hold_tells_the_truth() -> None:
    # The status answer's first section is what the camera last confirmed (the minutes
    # and warnings that follow: tests/test_controller_day.py).
    def told(effects: list) -> object:
        answers = [e.reading.recording for e in effects if isinstance(e, StatusAnswer)]
        return answers[0] if answers else cues(effects)

    c = connected()
    assert told(c.gesture("hold", 1.0)) is False
    c.gesture("press", 2.0)
    assert told(c.gesture("hold", 2.1)) is False  # not yet confirmed
    c.camera(CameraState(recording=True), 2.2)
    assert told(c.gesture("hold", 3.0)) is True
    c.camera(CameraLost(), 4.0)
    assert told(c.gesture("hold", 5.0)) == ["no-camera"]


def test_power_off_when_idle_and_not_mapped_while_recording() -> None:
    c = connected()
    out = c.gesture("very-long-hold", 1.0)
    assert cues(out) == ["power-off"] and any(isinstance(e, PowerOff) for e in out)
    c = connected(recording=True)
    out = c.gesture("very-long-hold", 1.0)
    assert not any(isinstance(e, PowerOff) for e in out) and commands(out) == []


def test_power_off_mapped_while_recording_stops_the_clip_first() -> None:
    actions = {"idle": {"press": "toggle-recording"},
               "recording": {"press": "toggle-recording", "very-long-hold": "power-off"}}
    c = RecordingController(actions)
    c.camera(CameraConnected(recording=True), 0.0)
    out = c.gesture("very-long-hold", 1.0)
    assert [cmd.action for cmd in commands(out)] == ["stop"]
    assert not any(isinstance(e, PowerOff) for e in out)
    out = c.camera(CameraState(recording=False), 1.1)
    assert cues(out) == ["stopped", "power-off"]
    assert any(isinstance(e, PowerOff) for e in out)


def test_double_enabled_only_where_mapped() -> None:
    actions = {"idle": {"press": "toggle-recording"},
               "recording": {"press": "toggle-recording", "double": "status"}}
    c = RecordingController(actions)
    c.camera(CameraConnected(recording=False), 0.0)
    assert not c.double_enabled
    c.gesture("press", 1.0)
    assert c.double_enabled  # heading to recording
    c.camera(CameraState(recording=True), 1.1)
    assert c.double_enabled


def test_start_and_stop_actions_are_idempotent() -> None:
    actions = {"idle": {"press": "start-recording", "double": "stop-recording"},
               "recording": {"press": "start-recording", "double": "stop-recording"}}
    c = RecordingController(actions)
    c.camera(CameraConnected(recording=False), 0.0)
    assert len(commands(c.gesture("press", 1.0))) == 1
    assert commands(c.gesture("press", 1.1)) == []
    c.camera(CameraState(recording=True), 1.2)
    assert commands(c.gesture("press", 2.0)) == []
    assert [x.action for x in commands(c.gesture("double", 3.0))] == ["stop"]


def test_diagram_lists_every_transition() -> None:
    diagram = state_diagram()
    for (src, dst), why in TRANSITIONS.items():
        if why != "camera lost":
            assert f"{src.name} --> {dst.name}: {why}" in diagram


# --- a simulated camera driven by random presses and faults -------------------------


@dataclass
class SimCamera:
    """Executes commands after a delay; may answer busy, refuse, stop by itself or vanish."""

    recording: bool = False
    connected: bool = True
    toggles: int = 0
    timeline: list[tuple[float, bool]] = field(default_factory=list)

    def set(self, recording: bool, t: float) -> None:
        if recording != self.recording:
            self.recording = recording
            self.toggles += 1
            self.timeline.append((t, recording))


events = st.lists(
    st.tuples(
        st.floats(0.01, 3.0),
        st.sampled_from(["press", "press", "press", "busy", "refuse", "self-stop",
                         "self-start", "lose", "slow", "hold"]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events)
@example([(1.0, "press"), (1.0, "slow"), (1.0, "press"), (1.0, "lose")])  # found in CI
def test_random_presses_and_faults_never_lie_and_never_toggle_twice(script) -> None:
    c = RecordingController(confirm_timeout_s=4.0)
    cam = SimCamera()
    queue: list[tuple[float, int, object]] = []
    seq = itertools.count()
    counts = {"presses": 0, "starts_sent": 0, "command_toggles": 0}
    fault: list[str | None] = [None]

    def push(t: float, item: object) -> None:
        heapq.heappush(queue, (t, next(seq), item))

    def apply(effects: list, t: float) -> None:
        for e in effects:
            if isinstance(e, Cue) and e.name == "recording":
                assert cam.recording, "recording cue while the camera is not recording"
            if isinstance(e, Cue) and e.name == "stopped":
                assert not cam.recording, "stopped cue while the camera records"
            if not isinstance(e, Command):
                continue
            if not cam.connected:
                push(t + 0.01, CommandFailed(e.id, "lost"))
            elif e.action == "sync":
                push(t + 0.01, CameraState(cam.recording, "sync"))
            else:
                want = e.action == "start"
                counts["starts_sent"] += want
                if fault[0] in ("busy", "refuse"):
                    kind = "busy" if fault[0] == "busy" else "refused"
                    push(t + 0.05, CommandFailed(e.id, kind))
                elif fault[0] == "slow":
                    push(t + 5.0, ("apply", want))  # lands after the confirm timeout
                else:
                    push(t + 0.02, ("apply", want))
                fault[0] = None

    def run_until(limit: float) -> None:
        """Deliver camera answers and controller deadlines due up to ``limit``, in order."""
        while True:
            queued = queue[0][0] if queue else float("inf")
            deadline = c.next_deadline() or float("inf")
            if min(queued, deadline) > limit or (not queue and c.next_deadline() is None):
                return
            if deadline < queued:
                apply(c.advance(deadline), deadline)
                continue
            _, _, item = heapq.heappop(queue)
            if isinstance(item, tuple):
                counts["command_toggles"] += cam.recording != item[1]
                cam.set(item[1], queued)
                apply(c.camera(CameraState(cam.recording, "event"), queued), queued)
            else:
                apply(c.camera(item, queued), queued)

    apply(c.camera(CameraConnected(False), 0.0), 0.0)
    t = 0.0
    for dt, what in script:
        t += dt
        run_until(t)
        if what == "press":
            counts["presses"] += 1
            apply(c.gesture("press", t), t)
        elif what == "hold":
            apply(c.gesture("hold", t), t)
        elif what in ("busy", "refuse", "slow"):
            fault[0] = what
        elif what == "self-stop" and cam.connected and cam.recording:
            cam.set(False, t)
            apply(c.camera(CameraState(False), t), t)
        elif what == "self-start" and cam.connected and not cam.recording:
            cam.set(True, t)
            apply(c.camera(CameraState(True), t), t)
        elif what == "lose":
            cam.connected = not cam.connected
            report = CameraConnected(cam.recording) if cam.connected else CameraLost("sim")
            apply(c.camera(report, t), t)
    # Quiet period: reconnect if needed and let everything land.
    if not cam.connected:
        cam.connected = True
        apply(c.camera(CameraConnected(cam.recording), t + 0.01), t + 0.01)
    run_until(float("inf"))
    assert c.state in (State.IDLE, State.RECORDING)
    assert c.believed_recording == cam.recording
    # A press is obeyed at most once: the camera never toggles more often than it was
    # pressed, and never starts more often. (A stop whose fate was lost with the link is
    # sent again on reconnection: stopping twice is harmless, so stops may outnumber.)
    assert counts["command_toggles"] <= counts["presses"]
    assert counts["starts_sent"] <= counts["presses"]


def test_docs_diagram_is_generated_from_the_table() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "architecture.md").read_text()
    block = text.split("<!-- diagram:start -->\n```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.strip() == state_diagram().strip(), (
        "docs/architecture.md is stale: regenerate with python -m pitrigger.controller"
    )
