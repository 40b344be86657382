"""Focus mode through real libgphoto2: the virtual 5D's ring swept, frames via capture_preview.

The loop under test: libgphoto2's ``capture_preview`` (EOS GetViewFinderData) -> the
gphoto2 backend's luminance decode -> the numpy score -> :class:`FocusFeedback`. The ring
is turned through the control port; the virtual 5D's own state is the ground truth for
what the mode changed and put back.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("numpy")
pytest.importorskip("PIL")

from pitrigger.cameras.gphoto2 import Gphoto2Camera
from pitrigger.focus import FocusFeedback
from pitrigger.focus_score import score_luma

WATCHED = ("evf_output", "evf_mode", "zoom", "zoom_position", "record_target", "recording")


@pytest.fixture
def camera(virtual_camera: Any) -> Iterator[Gphoto2Camera]:
    cam = Gphoto2Camera(virtual_camera.port_string)
    yield cam
    cam.close()


def watched(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state[key] for key in WATCHED}


def test_sweep_through_capture_preview_in_focus_at_the_peak_and_everything_put_back(
        camera: Gphoto2Camera, virtual_camera: Any) -> None:
    control = virtual_camera.control
    # A body whose EVF mode is 0 and whose live view is off: capture_preview changes both.
    control.set(evf_mode=0)
    camera.connect()
    before = watched(control.state())
    assert before["evf_mode"] == 0 and before["evf_output"] == 0 and before["zoom"] == 1

    control.focus(position=-4, sharp_position=0, sigma_per_step=0.5)
    camera.enter_focus(5)
    inside = control.state()
    assert inside["zoom"] == 5 and inside["zoom_position"] == [2808, 1872]
    assert inside["evf_output"] == 2  # live view on the PC while the mode lasts

    feedback = FocusFeedback()
    feedback.enter(0.0)
    now = 0.0
    ring = [*range(-4, 5), *range(3, -5, -1)]  # through the sharpest (0), on, and back away
    log: list[tuple[int, float, float, list[str]]] = []  # position, median score, rate, cues
    for position in ring:
        control.focus(position=position)
        for _ in range(3):
            score = score_luma(camera.focus_frame())
            cues = feedback.frame(score, now)
            assert feedback.score is not None
            log.append((position, feedback.score, feedback.rate_hz, cues))
            now += 0.1
    served = control.state()["live_view_frames"]
    assert served >= 3 * len(ring)

    # The score is monotonic in blur: on the way in, each step sharper than the one before.
    # (the median of three, read at each position's third frame: settled on that position)
    approach = [score for i, (_, score, _, _) in enumerate(log[:15]) if i % 3 == 2]
    assert all(a < b for a, b in itertools.pairwise(approach)), approach
    # The pulse rate follows the score. Before the peak has been seen every frame is the
    # best so far (8 Hz); once past it, the rate falls and rises with the score.
    peak_seen = next(i for i, (p, *_rest) in enumerate(log) if p == 1)
    later = [(score, rate) for _, score, rate, _ in log[peak_seen:]]
    ordered = sorted(later)
    assert [r for _, r in ordered] == sorted(r for _, r in ordered)  # higher score, faster
    assert min(r for _, r in later) <= 2.0 and max(r for _, r in later) == 8.0
    settled = [(p, rate) for i, (p, _, rate, _) in enumerate(log) if i % 3 == 2]
    back = [rate for p, rate in settled[9:13]]  # 3, 2, 1, 0 on the way back
    away = [rate for p, rate in settled[13:]]  # -1 .. -4
    assert back == sorted(back) and back[-1] == 8.0, settled
    assert away == sorted(away, reverse=True) and away[-1] < 8.0, settled
    # in-focus at the sharpest position within one step, on the way back; then focus-lost.
    fired = [(p, c) for p, _, _, cues in log for c in cues]
    assert [c for _, c in fired] == ["in-focus", "focus-lost"], [
        (p, round(sc, 3), r, c) for p, sc, r, c in log]
    assert abs(fired[0][0]) <= 1
    assert fired[1][0] < fired[0][0]

    problems = camera.leave_focus()
    assert problems == []
    after = watched(control.state())
    assert after == before  # every setting the mode touched reads back as before


def test_a_body_without_live_view_frames_refuses_focus_mode(
        camera: Gphoto2Camera, virtual_camera: Any) -> None:
    from pitrigger.cameras import CameraError

    camera.connect()
    virtual_camera.control.inject("busy", count=50, operation="EOS_GET_VIEWFINDER_DATA")
    with pytest.raises(CameraError):
        camera.enter_focus(5)
