"""Focus mode end to end: daemon -> camera worker -> real libgphoto2 -> virtual 5D live view.

The virtual 5D's focus ring is swept through its control port while the daemon runs in
focus mode; the daemon's own pattern log (what the motor played, with times) is checked
against the ring's position. Then every camera setting the mode touched is read back from
the virtual body, and a press inside the mode leaves it and records.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("numpy")
pytest.importorskip("PIL")

from pitrigger.names import State
from tests.test_daemon import pins, run, wait_until  # noqa: F401 - fixtures

WATCHED = ("evf_output", "evf_mode", "zoom", "zoom_position", "record_target", "recording")
# Ring steps are held this long: twelve frames at 8 fps, and still three or more when the
# machine is busy (the median of three needs two frames at a position to settle on it).
DWELL_S = 1.5


def watched(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state[key] for key in WATCHED}


def test_focus_mode_sweep_pulses_in_focus_lost_and_everything_put_back(
        run, virtual_camera) -> None:  # noqa: F811
    control = virtual_camera.control
    control.set(evf_mode=0)  # capture_preview changes it: it must come back
    timeline: list[tuple[str, float]] = []
    d = run(extra="[focus]\nmax_fps = 8.0\n")
    d.daemon.pattern_listeners.append(lambda name, at: timeline.append((name, at)))
    d.wait_pattern("ready")
    d.quiet()
    before = watched(control.state())

    control.focus(position=-2, sharp_position=0, sigma_per_step=0.5)
    d.daemon.gesture("long-hold", time.monotonic())  # the default focus-mode gesture
    d.wait_pattern("focus-on")
    assert d.daemon.state is State.FOCUSING
    assert control.state()["zoom"] == 5
    wait_until(lambda: d.patterns.count("focus") >= 3, 3.0, "pulses")

    # Out through the sharpest point (0) to +2, then back to -2: one step per DWELL_S.
    t0 = time.monotonic()
    control.focus(sweep=(-2, 2, 1, DWELL_S))
    time.sleep(4.5 * DWELL_S)
    t1 = time.monotonic()
    control.focus(sweep=(2, -2, -1, DWELL_S))
    time.sleep(5.2 * DWELL_S)

    def ring(at: float) -> float:
        if at < t1:
            return min(2.0, -2 + math.floor((at - t0) / DWELL_S))
        return max(-2.0, 2 - math.floor((at - t1) / DWELL_S))

    in_focus = [at for name, at in timeline if name == "in-focus" and at > t0]
    lost = [at for name, at in timeline if name == "focus-lost" and at > t0]
    assert len(in_focus) == 1, timeline
    assert abs(ring(in_focus[0])) <= 1, ring(in_focus[0])  # the sharpest is 0: within a step
    assert in_focus[0] > t1  # on the way back, after passing the peak
    assert lost and lost[0] > in_focus[0] and ring(lost[0]) < 0  # moving away from it

    # The pulse rate follows the score: after the peak has been seen, pulses come faster
    # near the sharpest position than far from it. Intervals between pulses, each counted
    # only once the score has settled on the ring's position (frames, the median of three
    # and the next pulse lag a step by up to ~0.4 s); medians, since a cue pauses the train.
    pulses = [at for name, at in timeline if name == "focus" and at > t1]
    intervals = [(ring(b), b - a) for a, b in itertools.pairwise(pulses)
                 if ring(a - 0.4) == ring(b)]
    near = sorted(gap for pos, gap in intervals if abs(pos) <= 1)
    far = sorted(gap for pos, gap in intervals if abs(pos) == 2)
    assert near and far, intervals
    assert near[len(near) // 2] * 1.5 < far[len(far) // 2], (near, far)
    # 60 ms pulse + at least 50 ms still (a little scheduling slack): never smeared.
    assert min(b - a for a, b in itertools.pairwise(pulses)) >= 0.06 + 0.05 - 0.02

    d.daemon.gesture("long-hold", time.monotonic())
    d.wait_pattern("focus-off")
    assert d.daemon.state is State.IDLE
    assert watched(control.state()) == before  # every setting the mode touched, as before

    # A press inside the mode leaves it and records: focus-off first, then recording.
    d.daemon.gesture("long-hold", time.monotonic())
    d.wait_pattern("focus-on", count=2)
    d.press()
    d.wait_pattern("recording")
    order = [name for name in d.patterns if name in ("focus-off", "recording")]
    assert order[-2:] == ["focus-off", "recording"]
    state = control.state()
    assert state["recording"] and state["zoom"] == 1  # never recorded magnified


def test_the_daemon_starts_without_numpy_or_pillow(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, threading
        from pitrigger.config import parse_config
        from pitrigger.service import build_daemon
        from pitrigger.virtualcam import spawn
        with spawn() as cam:
            config = parse_config('''
        [camera]
        port = "%s"
        [button]
        source = "terminal"
        [haptics]
        sink = "terminal"
        [journal]
        path = "{tmp_path / 'j.jsonl'}"
        [power]
        request_path = "{tmp_path / 'off'}"
        [daemon]
        last_good_path = "{tmp_path / 'good.toml'}"
        ''' % cam.port_string)
            daemon = build_daemon(config)
            thread = threading.Thread(target=daemon.run, daemon=True)
            thread.start()
            assert daemon.first_report.wait(20)
            heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {{'numpy', 'PIL'}})
            print('heavy:', ','.join(heavy) or 'none', 'state:', daemon.state.value,
                  file=sys.stderr)
            daemon.stop()
            thread.join(10)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "heavy: none state: idle" in result.stderr, result.stderr[-2000:]


def test_each_focus_pulse_is_its_own_terminal_line_and_a_held_button_pauses_the_train(
        tmp_path: Path) -> None:
    """The daemon's loop body driven by hand with an injected clock (no threads, no time)."""
    import io

    from pitrigger.buttons import TerminalButton
    from pitrigger.config import parse_config
    from pitrigger.daemon import Daemon
    from pitrigger.haptics import render
    from pitrigger.messages import CameraConnected, FocusScore, FocusStarted
    from pitrigger.motors import TerminalMotor

    config = parse_config(f'[journal]\npath = "{tmp_path / "j.jsonl"}"\n')
    out = io.StringIO()
    patterns = config.pattern_objects()
    clock = [100.0]
    daemon = Daemon(config, button=TerminalButton(), camera=object(),  # type: ignore[arg-type]
                    sink=TerminalMotor(out, lambda name: render(patterns[name])),
                    clock=lambda: clock[0])

    def run_until(t: float) -> None:
        while (deadline := daemon._next_deadline()) is not None and deadline <= t:
            clock[0] = max(clock[0], deadline)
            daemon._advance(clock[0])
        clock[0] = t
        daemon._advance(t)

    daemon._camera_report(CameraConnected(recording=False), clock[0])
    daemon._apply(daemon.controller.gesture("long-hold", clock[0]), clock[0])
    daemon._camera_report(FocusStarted(), clock[0])
    run_until(101.0)
    for i in range(20):  # two seconds at the best score: 8 Hz
        daemon._camera_report(FocusScore(50.0, clock[0]), clock[0])
        run_until(101.0 + 0.1 * (i + 1))
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["haptic ready  █▁█", "haptic focus-on  ███▁█"]
    focus_lines = [line for line in lines if line.startswith("haptic focus ")]
    assert focus_lines and set(focus_lines) == {"haptic focus  █"}
    assert 12 <= len(focus_lines) <= 17  # ~2 s at 8 Hz, from the first frame on
    # The button goes down: the train pauses (the hold's ticks must be felt alone).
    daemon.gestures.edge(True, clock[0])
    before = len(out.getvalue().splitlines())
    for _ in range(10):
        daemon._camera_report(FocusScore(50.0, clock[0]), clock[0])
        run_until(clock[0] + 0.1)
    paused = [line for line in out.getvalue().splitlines()[before:] if "focus " in line]
    assert paused == [], out.getvalue().splitlines()[before - 3:]
