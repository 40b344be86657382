"""The controller with a trigger the camera cannot confirm (usb-half-press, wired).

The invariant: the haptics never claim what the camera did not confirm. ``recording`` only
follows the camera's own report of Card; ``stopped`` only its report of None or a new
``.MOV``; everything else that was merely sent plays ``sent``.
"""

from __future__ import annotations

import heapq
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pitrigger.controller import (
    TRANSITIONS,
    CameraConnected,
    CameraLost,
    CameraState,
    ClipSaved,
    Command,
    CommandFailed,
    CommandSent,
    Cue,
    PowerOff,
    RecordingController,
    State,
)

MOV = "/store_00010001/DCIM/100EOS5D/MVI_0001.MOV"


def cues(effects: list) -> list[str]:
    return [e.name for e in effects if isinstance(e, Cue)]


def commands(effects: list) -> list[Command]:
    return [e for e in effects if isinstance(e, Command)]


def ml_body() -> RecordingController:
    """Connected to a body that cannot report recording (no 0xD1B8), idle."""
    c = RecordingController(confirm_timeout_s=4.0)
    out = c.camera(CameraConnected(False, "Canon EOS 5D Mark II", confirms=False), 0.0)
    assert cues(out) == ["ready"] and c.state is State.IDLE_UNCONFIRMED
    return c


def press(c: RecordingController, t: float) -> Command:
    [command] = commands(c.gesture("press", t))
    return command


def test_a_sent_start_cues_sent_and_is_believed() -> None:
    c = ml_body()
    start = press(c, 1.0)
    assert start.action == "start" and c.state is State.STARTING
    out = c.camera(CommandSent(start.id, "start"), 1.2)
    assert cues(out) == ["sent"]
    assert c.state is State.RECORDING_UNCONFIRMED and c.believed_recording
    assert c.next_deadline() is None  # nothing more to wait for
    assert cues(c.gesture("hold", 2.0)) == ["sent"]  # status: unconfirmed, not `recording`


def test_a_stop_confirmed_by_the_new_mov_cues_stopped() -> None:
    c = ml_body()
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    stop = press(c, 5.0)
    assert stop.action == "stop"
    c.camera(ClipSaved(MOV), 5.5)  # the worker forwards the clip, then its verdict
    out = c.camera(CameraState(False, "clip"), 5.5)
    assert cues(out) == ["stopped"] and c.state is State.IDLE


def test_a_stop_without_a_new_mov_is_only_sent() -> None:
    c = ml_body()
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    out = c.camera(CommandSent(press(c, 5.0).id, "stop"), 7.0)
    assert cues(out) == ["sent"] and c.state is State.IDLE_UNCONFIRMED
    assert not c.believed_recording
    # The .MOV shows up late after all: that is the camera's word, cue it.
    out = c.camera(ClipSaved(MOV), 9.0)
    assert cues(out) == ["stopped"] and c.state is State.IDLE


def test_a_clip_the_camera_ends_by_itself_is_followed() -> None:
    c = ml_body()
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    out = c.camera(ClipSaved(MOV), 720.0)  # the 4 GB limit
    assert cues(out) == ["stopped"] and c.state is State.IDLE
    assert press(c, 721.0).action == "start"


def test_a_still_is_not_a_movie() -> None:
    c = ml_body()
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    out = c.camera(ClipSaved("/store_00010001/DCIM/100EOS5D/IMG_0002.JPG"), 2.0)
    assert cues(out) == [] and c.state is State.RECORDING_UNCONFIRMED


def test_a_body_that_does_report_card_upgrades_to_recording() -> None:
    c = ml_body()
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    out = c.camera(CameraState(True, "event"), 1.3)
    assert cues(out) == ["recording"] and c.state is State.RECORDING


def test_presses_during_a_sent_start_are_applied_once() -> None:
    c = ml_body()
    start = press(c, 1.0)
    c.gesture("press", 1.05)  # pending: stop once the start has gone out
    out = c.camera(CommandSent(start.id, "start"), 1.2)
    assert cues(out) == ["sent"] and [cmd.action for cmd in commands(out)] == ["stop"]
    assert c.state is State.STOPPING


def test_reconnecting_keeps_the_unconfirmed_belief_but_never_replays_a_toggle() -> None:
    c = ml_body()
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    c.camera(CameraLost("cable"), 2.0)
    assert c.state is State.NO_CAMERA
    c.gesture("press", 3.0)  # a stop pressed while lost: kept for a confirming body...
    out = c.camera(CameraConnected(False, confirms=False), 4.0)  # "False" is no knowledge
    # ...but a half-press stop is a toggle: replayed blind it could start a clip.
    assert cues(out) == ["sent"] and commands(out) == []
    assert c.state is State.RECORDING_UNCONFIRMED
    assert cues(c.gesture("hold", 5.0)) == ["sent"]


def test_a_failed_sync_on_a_body_that_cannot_tell_keeps_the_belief() -> None:
    c = ml_body()
    start = press(c, 1.0)
    out = c.camera(CommandFailed(start.id, "busy", "0x2019"), 1.5)
    assert cues(out) == ["busy"]
    [sync] = commands(out)
    out = c.camera(CommandSent(sync.id, "sync"), 1.6)
    assert cues(out) == [] and c.state is State.IDLE_UNCONFIRMED


def test_power_off_stops_an_unconfirmed_clip_first() -> None:
    c = RecordingController({"idle": {"press": "toggle-recording"},
                             "recording": {"press": "toggle-recording",
                                           "very-long-hold": "power-off"}})
    c.camera(CameraConnected(False, confirms=False), 0.0)
    c.camera(CommandSent(press(c, 1.0).id, "start"), 1.1)
    [stop] = commands(c.gesture("very-long-hold", 5.0))
    assert stop.action == "stop"
    out = c.camera(CommandSent(stop.id, "stop"), 7.0)
    assert cues(out) == ["sent", "power-off"] and any(isinstance(e, PowerOff) for e in out)


def test_the_unconfirmed_states_are_in_the_table() -> None:
    for state in (State.RECORDING_UNCONFIRMED, State.IDLE_UNCONFIRMED):
        assert any(state in pair for pair in TRANSITIONS), state


# --- a simulated Magic Lantern body: never confirms a start ----------------------------


script = st.lists(
    st.tuples(st.floats(0.01, 3.0),
              st.sampled_from(["press", "press", "press", "hold", "deaf", "busy", "limit",
                               "lose"])),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(script)
def test_an_ml_body_never_gets_a_claim_it_did_not_make(steps) -> None:
    """Random presses on a body that toggles on any half-press and reports only new .MOVs
    (the ``5d2-ml`` personality): ``recording`` is never cued, ``stopped`` only when the
    camera really stopped, and without lost presses the belief ends where the camera is."""
    c = RecordingController(confirm_timeout_s=4.0)
    cam = {"recording": False, "connected": True}
    fault: list[str | None] = [None]
    uncertain = [False]  # a press the camera may or may not have seen
    queue: list[tuple[float, int, object]] = []
    seq = itertools.count()

    def push(t: float, item: object) -> None:
        heapq.heappush(queue, (t, next(seq), item))

    def apply(effects: list, t: float) -> None:
        for e in effects:
            if isinstance(e, Cue):
                assert e.name != "recording", "recording cued but the camera never said so"
                if e.name == "stopped":
                    assert not cam["recording"], "stopped cued while the camera records"
            if not isinstance(e, Command):
                continue
            if not cam["connected"]:
                push(t + 0.01, CommandFailed(e.id, "lost"))
            elif e.action == "sync":
                push(t + 0.01, CommandSent(e.id, "sync"))
            elif fault[0] == "busy":
                push(t + 0.05, CommandFailed(e.id, "busy"))
            else:
                stopped_a_clip = False
                if fault[0] == "deaf":
                    uncertain[0] = True  # the wire was unplugged: the press went nowhere
                else:
                    stopped_a_clip = cam["recording"]
                    cam["recording"] = not cam["recording"]  # ML toggles on any half-press
                if stopped_a_clip:
                    push(t + 0.3, ClipSaved(MOV))
                    if e.action == "stop":
                        push(t + 0.3, CameraState(False, "clip"))
                    else:
                        push(t + 0.3, CommandSent(e.id, e.action))
                else:
                    # The worker reports "sent" right after the press, before it polls the
                    # camera again: nothing the camera says can come in between.
                    push(t, CommandSent(e.id, e.action))
            fault[0] = None

    def run_until(limit: float) -> None:
        while True:
            queued = queue[0][0] if queue else float("inf")
            deadline = c.next_deadline() or float("inf")
            if min(queued, deadline) > limit or (not queue and c.next_deadline() is None):
                return
            if deadline < queued:
                apply(c.advance(deadline), deadline)
                continue
            _, _, item = heapq.heappop(queue)
            apply(c.camera(item, queued), queued)  # type: ignore[arg-type]

    apply(c.camera(CameraConnected(False, confirms=False), 0.0), 0.0)
    t = 0.0
    for dt, what in steps:
        t += dt
        run_until(t)
        if what == "press":
            apply(c.gesture("press", t), t)
        elif what == "hold":
            out = c.gesture("hold", t)
            if c.state in (State.IDLE_UNCONFIRMED, State.RECORDING_UNCONFIRMED):
                assert cues(out) == ["sent"]
            apply(out, t)
        elif what in ("deaf", "busy"):
            fault[0] = what
        elif what == "limit" and cam["connected"] and cam["recording"]:
            cam["recording"] = False
            apply(c.camera(ClipSaved(MOV), t), t)
        elif what == "lose":
            uncertain[0] = True
            cam["connected"] = not cam["connected"]
            if not cam["connected"]:
                queue.clear()  # what the worker had not reported yet is lost with the link
            report = (CameraConnected(False, confirms=False) if cam["connected"]
                      else CameraLost("sim"))
            apply(c.camera(report, t), t)
    if not cam["connected"]:
        cam["connected"] = True
        apply(c.camera(CameraConnected(False, confirms=False), t + 0.01), t + 0.01)
    run_until(float("inf"))
    assert c.state in (State.IDLE, State.RECORDING, State.IDLE_UNCONFIRMED,
                       State.RECORDING_UNCONFIRMED)
    if not uncertain[0]:
        assert c.believed_recording == cam["recording"]
