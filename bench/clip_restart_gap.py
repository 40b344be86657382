#!/usr/bin/env python3
"""Clip restart gap: how long the camera does not record when a clip ends at its cap.

The real daemon (``build_daemon``, real libgphoto2 over PTP/IP) against the virtual 5D Mark II
with a clip cap of ``--cap`` seconds on the body and in the config, ``auto_restart`` on. One
press starts the first clip; the body ends each clip at the cap and the daemon starts the
next. Measured per restart, side by side for each ``poll_interval_s`` in one run:

* ``camera_gap``: the body's own stop of clip *k* to its start of clip *k+1*. The start of
  each clip is the virtual body's ``recording_elapsed_s`` subtracted from the time of the
  query that returned it (a control round trip, well under a millisecond on loopback); the
  stop is that start plus the clip's ``duration_s`` as the body recorded it.
* ``daemon_gap``: the camera worker decoding the stop (d1b8 None) to decoding the new Card.

The body reports nothing by itself (EOS events are polled), so the stop is seen at the
next event poll: the camera gap is about the poll delay (0 to ``poll_interval_s``) plus the
restart's own round trips. Each new clip starts right after a poll, so a fixed cap would hit
the same poll phase every time; over a real 12-minute clip each poll drifts by its own
duration and the phase is effectively random. So each clip's cap is drawn (seeded) from
``cap`` to ``cap + poll_interval_s``.

Usage: bench/clip_restart_gap.py [--restarts N] [--cap SECONDS] [--polls 0.5,0.1]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import daemon_config, emit, machine, note, percentile, progress


class _NoButton:
    is_pressed = False

    def start(self, on_edge: Any, on_gesture: Any) -> None:
        pass

    def close(self) -> None:
        pass


class _NoMotor:
    def pattern_started(self, name: str) -> None:
        pass

    def set_level(self, level: float) -> None:
        pass

    def close(self) -> None:
        pass


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.001)


def clip_start(cam: Any) -> float:
    """When the running clip began, on this process's clock (from the body's own elapsed)."""
    before = time.monotonic()
    state = cam.control.state()
    after = time.monotonic()
    if not state["recording"]:
        raise SystemExit("the body is not recording")
    return (before + after) / 2 - float(state["recording_elapsed_s"])


def run(cam: Any, workdir: Path, poll_s: float, cap_s: float, restarts: int,
        rng: random.Random) -> dict[str, list[float]]:
    from pitrigger.config import load_config
    from pitrigger.messages import CameraState
    from pitrigger.service import build_daemon

    cam.control.reset()
    cam.control.set(clip_limit_s=cap_s + rng.uniform(0, poll_s))
    config = load_config(daemon_config(
        workdir / "pitrigger.toml", cam.port_string, workdir,
        camera_extra=f"poll_interval_s = {poll_s}\nclip_cap_s = {cap_s}\nlimit_soon_s = 0\n"
                     "auto_restart = true"))
    daemon = build_daemon(config, button=_NoButton(), sink=_NoMotor())
    seen: list[tuple[bool, float]] = []
    forward = daemon.worker.report

    def stamped(report: Any) -> None:
        if isinstance(report, CameraState):
            seen.append((report.recording, time.monotonic()))
        forward(report)

    daemon.worker.report = stamped
    restarted: list[float] = []
    daemon.pattern_listeners.append(
        lambda name, at: restarted.append(at) if name == "restarted" else None)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    wait_until(lambda: daemon.first_report.is_set(), 15, "the daemon's first report")
    daemon.gesture("press", time.monotonic())
    wait_until(lambda: any(r for r, _ in seen), 10, "the first clip")
    starts = [clip_start(cam)]
    for k in range(restarts):
        wait_until(lambda k=k: len(restarted) >= k + 1, cap_s + 10, f"restart {k + 1}")
        starts.append(clip_start(cam))
        cam.control.set(clip_limit_s=cap_s + rng.uniform(0, poll_s))  # this clip's cap
        progress(f"poll {poll_s} s: restart {k + 1}/{restarts}")
    daemon.stop()
    thread.join(10)
    clips = cam.control.state()["clips"]
    camera_gap = [(starts[k + 1] - (starts[k] + clips[k]["duration_s"])) * 1000
                  for k in range(restarts)]
    # Each stop decoded, paired with the first Card decoded after it.
    daemon_gap = []
    for i, (recording, stop) in enumerate(seen):
        if recording or (i and not seen[i - 1][0]):
            continue
        card = next((t for r, t in seen[i + 1:] if r), None)
        if card is not None:
            daemon_gap.append((card - stop) * 1000)
    if any(c["stop_reason"] != "clip_limit" for c in clips[:restarts]):
        raise SystemExit(f"a clip ended for another reason: {clips}")
    return {"camera_gap": camera_gap, "daemon_gap": daemon_gap}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--cap", type=float, default=2.0, help="shortest clip cap, seconds")
    parser.add_argument("--polls", default="0.5,0.1", help="poll_interval_s values")
    args = parser.parse_args(argv)
    polls = [float(p) for p in args.polls.split(",")]

    from pitrigger.virtualcam import spawn

    results = {}
    rng = random.Random(12)
    with tempfile.TemporaryDirectory(prefix="pitrigger-bench-") as tmp, spawn() as cam:
        for poll_s in polls:
            workdir = Path(tmp) / f"poll-{poll_s}"
            workdir.mkdir()
            results[poll_s] = run(cam, workdir, poll_s, args.cap, args.restarts, rng)
    note(f"machine: {machine()}")
    note(f"{args.restarts} restarts per poll interval, clip caps drawn from {args.cap} s to "
         f"{args.cap} s + the poll interval, one run")
    note("camera_gap: the body's stop of one clip -> its start of the next; "
         "daemon_gap: stop decoded -> new Card decoded")
    for poll_s, figures in results.items():
        tag = f"poll_{poll_s:g}".replace(".", "_")
        for name, values in figures.items():
            emit(f"{tag}_{name}_p50_ms", percentile(values, 50))
            emit(f"{tag}_{name}_max_ms", max(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
