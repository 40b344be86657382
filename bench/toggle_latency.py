#!/usr/bin/env python3
"""Toggle latency: the persistent daemon against ``gphoto2`` CLI per press, same virtual 5D.

Daemon phase: the real daemon (``build_daemon``) in this process, a gpiozero MockFactory
button and motor pin, real libgphoto2 over PTP/IP to the virtual 5D Mark II (its own
process). Each cycle presses the button through the mock pin (``drive_low``, hold,
``drive_high``) and measures from the release edge — the edge that completes the ``press``
gesture — to

* the camera reporting the new state: the camera worker receiving ``CameraState`` from the
  camera's own GetEvent record (d1b8 ``Card``/``None``), timestamped on the daemon side;
* the ``recording`` / ``stopped`` pattern starting on the motor (``pattern_listeners``).

Before each press the harness waits until the motor is quiet: the haptic sequencer keeps
``min_gap_ms`` of stillness after the previous pattern, and that wait is a feature of the
vocabulary, not of the press path being measured.

CLI phase (first, while no daemon holds the session — the camera refuses a second host):
``gphoto2 --port ptpip:… --set-config viewfinder=1 --set-config movierecordtarget=Card`` and
``… movierecordtarget=None``, wall time per call, each checked against the camera's state.

Live-view power (``--live-view N``): instead, N start/stop cycles under each
``[camera] live_view_between_clips`` setting, side by side in one run against the same virtual
body: ``keep`` (live view stays on), ``off`` (the worker turns it off after each clip; the
start path turns it on first) and ``off-after-s`` (off after 1 s idle; the harness waits
1.3 s before each start). Before each start the harness waits until the body reports the
live view state the setting implies, so every start pays what that setting costs.

Usage: bench/toggle_latency.py [--cycles N] [--cli-cycles M] [--live-view N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    daemon_config,
    emit,
    machine,
    note,
    percentile,
    progress,
    target,
)


def cli_phase(cam: Any, cycles: int) -> list[float]:
    """Wall time (ms) of each ``gphoto2`` CLI call, start and stop alike."""
    gphoto2 = shutil.which("gphoto2") or "/usr/bin/gphoto2"
    times: list[float] = []
    for i in range(cycles):
        for value in ("Card", "None"):
            argv = [gphoto2, "--port", cam.port_string]
            if value == "Card":
                argv += ["--set-config", "viewfinder=1"]
            argv += ["--set-config", f"movierecordtarget={value}"]
            started = time.monotonic()
            result = subprocess.run(argv, capture_output=True, text=True, check=False)
            times.append((time.monotonic() - started) * 1000)
            recording = cam.control.state()["recording"]
            if result.returncode != 0 or recording != (value == "Card"):
                raise SystemExit(f"gphoto2 CLI {value} failed (rc {result.returncode}, "
                                 f"recording={recording}): {result.stderr.strip()}")
        progress(f"cli cycle {i + 1}/{cycles}")
    return times


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.0005)


def daemon_phase(cam: Any, cycles: int, workdir: Path, *, camera_extra: str = "",
                 before_start: Any = None) -> dict[str, list[float]]:
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    from pitrigger.config import load_config
    from pitrigger.messages import CameraState
    from pitrigger.service import build_daemon

    Device.pin_factory = MockFactory()
    config = load_config(daemon_config(
        workdir / "pitrigger.toml", cam.port_string, workdir, button="gpio", haptics="gpio",
        camera_extra=camera_extra))
    daemon = build_daemon(config)
    lock = threading.Lock()
    camera_at: dict[bool, list[float]] = {True: [], False: []}
    pattern_at: dict[str, list[float]] = {}

    forward = daemon.worker.report

    def timed_report(report: Any) -> None:
        # Stamped on the camera thread the moment the camera's own record is decoded.
        if isinstance(report, CameraState):
            with lock:
                camera_at[report.recording].append(time.monotonic())
        forward(report)

    daemon.worker.report = timed_report

    # Stage stamps for the breakdown: when the command is queued to the camera thread, and
    # when the backend call starts/ends (the rest is libgphoto2 + the camera's GetEvent).
    stages: dict[str, list[float]] = {"sent": [], "call": [], "called": []}
    send = daemon.worker.send

    def timed_send(command: Any) -> None:
        stages["sent"].append(time.monotonic())
        send(command)

    daemon.worker.send = timed_send  # type: ignore[method-assign]
    backend = daemon.worker.backend
    for method in ("start_recording", "stop_recording"):
        original = getattr(backend, method)

        def timed_call(original: Any = original) -> None:
            stages["call"].append(time.monotonic())
            try:
                original()
            finally:
                stages["called"].append(time.monotonic())

        setattr(backend, method, timed_call)

    def on_pattern(name: str, at: float) -> None:
        with lock:
            pattern_at.setdefault(name, []).append(at)

    daemon.pattern_listeners.append(on_pattern)
    thread = threading.Thread(target=daemon.run, name="daemon", daemon=True)
    thread.start()
    pin = Device.pin_factory.pin(config.button.pin)
    gap_s = config.haptics.min_gap_ms / 1000 + 0.01

    def count(name: str) -> int:
        with lock:
            return len(pattern_at.get(name, []))

    def quiet() -> bool:
        return daemon.haptics.next_deadline() is None

    wait_until(lambda: count("ready") >= 1, 15, "ready")
    out: dict[str, list[float]] = {"start_camera": [], "start_cue": [], "stop_camera": [],
                                   "stop_cue": [], "to_send": [], "to_call": [], "call": [],
                                   "start_call": []}
    try:
        for i in range(cycles):
            for recording, cue in ((True, "recording"), (False, "stopped")):
                wait_until(quiet, 10, "motor quiet")
                # The sequencer also keeps min_gap_ms of stillness after a pattern; wait it
                # out too (the 80 ms hold covers part of it) so the cue is not held back.
                time.sleep(gap_s)
                if recording and before_start is not None:
                    before_start()
                seen_camera, seen_cue = len(camera_at[recording]), count(cue)
                pin.drive_low()
                time.sleep(0.08)  # a short press: well past debounce, far below hold_s
                released = time.monotonic()
                pin.drive_high()
                wait_until(lambda r=recording, n=seen_camera: len(camera_at[r]) > n, 10,
                           "camera report")
                wait_until(lambda c=cue, n=seen_cue: count(c) > n, 10, f"pattern {cue}")
                with lock:
                    reported = camera_at[recording][seen_camera]
                    cued = pattern_at[cue][seen_cue]
                kind = "start" if recording else "stop"
                out["to_send"].append((stages["sent"][-1] - released) * 1000)
                out["to_call"].append((stages["call"][-1] - released) * 1000)
                out["call"].append((stages["called"][-1] - stages["call"][-1]) * 1000)
                if recording:
                    out["start_call"].append(out["call"][-1])
                out[f"{kind}_camera"].append((reported - released) * 1000)
                out[f"{kind}_cue"].append((cued - released) * 1000)
                if cam.control.state()["recording"] != recording:
                    raise SystemExit(f"cycle {i}: camera did not {kind}")
            if (i + 1) % max(1, cycles // 10) == 0:
                progress(f"daemon cycle {i + 1}/{cycles}")
    finally:
        daemon.stop()
        thread.join(10)
        Device.pin_factory.reset()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=100, help="daemon start/stop cycles")
    parser.add_argument("--cli-cycles", type=int, default=20, help="CLI start/stop cycles")
    parser.add_argument("--live-view", type=int, default=0, metavar="N",
                        help="instead: N cycles under each live_view_between_clips setting")
    args = parser.parse_args(argv)
    if args.live_view > 0:
        return live_view_main(args.live_view)

    from pitrigger.virtualcam import spawn

    with tempfile.TemporaryDirectory(prefix="pitrigger-bench-") as tmp, spawn() as cam:
        progress(f"virtual 5D on {cam.port_string}")
        cli = cli_phase(cam, args.cli_cycles)
        cam.control.reset()
        daemon = daemon_phase(cam, args.cycles, Path(tmp))

    toggles = daemon["start_camera"] + daemon["stop_camera"]
    cues = daemon["start_cue"]
    note(f"machine: {machine()}")
    note(f"{args.cycles} daemon cycles (start+stop = {len(toggles)} toggles), "
         f"{args.cli_cycles} CLI cycles ({len(cli)} calls)")
    note("daemon: release edge -> camera's own d1b8 report decoded by the camera worker")
    for kind in ("start", "stop"):
        values = daemon[f"{kind}_camera"]
        emit(f"daemon_{kind}_p50_ms", percentile(values, 50))
        emit(f"daemon_{kind}_p99_ms", percentile(values, 99))
    note("cue: release edge -> 'recording' (start) / 'stopped' (stop) pattern starts")
    emit("daemon_cue_recording_p50_ms", percentile(cues, 50))
    emit("daemon_cue_recording_p99_ms", percentile(cues, 99))
    emit("daemon_cue_stopped_p50_ms", percentile(daemon["stop_cue"], 50))
    emit("daemon_cue_stopped_p99_ms", percentile(daemon["stop_cue"], 99))
    note("breakdown (p50 / p99 ms): edge -> command queued to the camera thread; "
         "edge -> backend call begins; backend call (libgphoto2 sets)")
    for stage in ("to_send", "to_call", "call"):
        emit(f"daemon_stage_{stage}_p50_ms", percentile(daemon[stage], 50))
        emit(f"daemon_stage_{stage}_p99_ms", percentile(daemon[stage], 99))
    emit("cli_toggle_p99_ms", percentile(cli, 99))
    note("headline: start and stop toggles together, to the camera's report")
    p50, p99, cli50 = percentile(toggles, 50), percentile(toggles, 99), percentile(cli, 50)
    ratio = cli50 / p50 if p50 > 0 else float("inf")
    emit("daemon_toggle_p50_ms", p50)
    emit("daemon_toggle_p99_ms", p99)
    emit("cli_toggle_p50_ms", cli50)
    emit("cli_vs_daemon_ratio", ratio)
    target("ratio", ratio >= 30, f"cli_vs_daemon_ratio {ratio:.1f} >= 30")
    target("p99", p99 <= 5, f"daemon_toggle_p99_ms {p99:.2f} <= 5")
    return 0


# (setting, extra config, live view the body must report before each start, wait first)
LIVE_VIEW_SETTINGS = (
    ("keep", 'live_view_between_clips = "keep"', True, 0.0),
    ("off", 'live_view_between_clips = "off"', False, 0.0),
    ("off_after_s", 'live_view_between_clips = "off-after-s"\nlive_view_off_after_s = 1.0',
     False, 1.3),
)


def live_view_main(cycles: int) -> int:
    from pitrigger.virtualcam import spawn

    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pitrigger-bench-") as tmp, spawn() as cam:
        progress(f"virtual 5D on {cam.port_string}")
        for name, extra, live_view, wait_s in LIVE_VIEW_SETTINGS:
            cam.control.reset()
            workdir = Path(tmp) / name
            workdir.mkdir()

            starts = [0]

            def before_start(live_view: bool = live_view, wait_s: float = wait_s,
                             starts: list[int] = starts) -> None:
                starts[0] += 1
                if starts[0] == 1:
                    return  # the first start is a warm-up (dropped below): live view is off
                time.sleep(wait_s)
                wait_until(lambda: cam.control.state()["live_view"] is live_view, 10,
                           f"live view {'on' if live_view else 'off'} before the start")

            progress(f"live view setting {name}")
            phase = daemon_phase(cam, cycles + 1, workdir, camera_extra=extra,
                                 before_start=before_start)
            results[name] = {key: values[1:] for key, values in phase.items()}
    note(f"machine: {machine()}")
    note(f"{cycles} start/stop cycles per setting (after one warm-up), one virtual body, "
         "one run")
    note("start: release edge -> the camera's own Card report; start call: the backend's "
         "start (viewfinder=1 first when live view is off, then movierecordtarget=Card)")
    note("the virtual 5D switches live view on at once: a real body also flips its mirror "
         "and powers the sensor (not modelled, not measured here)")
    for name, _, _, _ in LIVE_VIEW_SETTINGS:
        values = results[name]
        emit(f"lv_{name}_start_p50_ms", percentile(values["start_camera"], 50))
        emit(f"lv_{name}_start_p99_ms", percentile(values["start_camera"], 99))
        emit(f"lv_{name}_start_call_p50_ms", percentile(values["start_call"], 50))
        emit(f"lv_{name}_cue_recording_p50_ms", percentile(values["start_cue"], 50))
    return 0


if __name__ == "__main__":
    sys.exit(main())
