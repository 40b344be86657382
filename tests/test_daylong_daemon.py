"""Shooting all day, end to end: the real daemon, real libgphoto2, the virtual 5D Mark II.

A clip cap of 3 s on the body (and in the config): ``limit-soon``, an automatic new clip and
``restarted``, both clips in the journal and on the card; a refused restart; the status
answer decoded against the camera's real state; card and battery warnings once each; a
still that produces a file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pitrigger.config import parse_config
from pitrigger.daybook import build_rows, read_day
from pitrigger.service import build_daemon
from pitrigger.status_code import decode_steps, shown_minutes
from pitrigger.virtualcam import VirtualCamera

CAP_S = 3.0


class NoButton:
    """Gestures are typed into the daemon by the test (``daemon.gesture``)."""

    is_pressed = False

    def start(self, on_edge: Any, on_gesture: Any) -> None:
        pass

    def close(self) -> None:
        pass


class QuietMotor:
    def __init__(self) -> None:
        self.levels: list[float] = []

    def pattern_started(self, name: str) -> None:
        pass

    def set_level(self, level: float) -> None:
        self.levels.append(level)

    def close(self) -> None:
        pass


class Running:
    def __init__(self, cam: VirtualCamera, tmp_path: Path, cap_s: float = CAP_S,
                 limit_soon_s: float = 1.5, copy: bool = False) -> None:
        self.journal_path = tmp_path / "journal.jsonl"
        config = parse_config(f"""
[camera]
port = "{cam.port_string}"
poll_interval_s = 0.1
idle_poll_interval_s = 0.1
busy_retry_s = 0.5
confirm_timeout_s = 2.0
reconnect_min_s = 0.1
reconnect_max_s = 0.4
clip_cap_s = {cap_s}
limit_soon_s = {limit_soon_s}
supply_interval_s = 5.0
low_card_minutes = [20.0, 5.0]
low_battery_percent = [50.0, 25.0]
[backup]
enabled = {'true' if copy else 'false'}
dir = "{tmp_path / 'copies'}"
chunk_kib = 64
reserve_mib = 0
[actions.idle]
double = "still"
[journal]
path = "{self.journal_path}"
[power]
request_path = "{tmp_path / 'poweroff'}"
[daemon]
last_good_path = "{tmp_path / 'last-good.toml'}"
""")
        self.daemon = build_daemon(config, button=NoButton(), sink=QuietMotor())
        self.patterns: list[str] = []
        self.daemon.pattern_listeners.append(lambda name, at: self.patterns.append(name))
        self.thread = threading.Thread(target=self.daemon.run, daemon=True)
        self.thread.start()

    def wait(self, name: str, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.patterns.count(name) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name!r} x{count}; felt {self.patterns}")
            time.sleep(0.01)

    def gesture(self, name: str) -> None:
        self.daemon.gesture(name, time.monotonic())

    def stop(self) -> None:
        self.daemon.stop()
        self.thread.join(10)


@pytest.fixture
def running(virtual_camera: VirtualCamera, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    virtual_camera.control.set(clip_limit_s=CAP_S)
    started: list[Running] = []

    def start(**options: Any) -> Running:
        started.append(Running(virtual_camera, tmp_path, **options))
        return started[-1]

    yield start
    for r in started:
        r.stop()


def test_at_the_cap_a_new_clip_then_status_then_a_refused_restart(
        running: Callable[..., Running], virtual_camera: VirtualCamera) -> None:
    control = virtual_camera.control
    d = running()
    d.wait("ready")
    d.gesture("press")
    d.wait("recording")
    d.wait("limit-soon")  # 1.5 s before the 3 s cap, while still recording
    assert control.state()["recording"]
    d.wait("restarted")
    state = control.state()
    assert state["recording"] and len(state["clips"]) == 1
    assert state["clips"][0]["stop_reason"] == "clip_limit"

    # The status answer, decoded, is the camera's real state and minutes.
    d.gesture("hold")
    d.wait("status")
    answer = decode_steps(d.daemon.played_patterns["status"].steps_ms)
    truth = control.state()
    assert answer.recording is truth["recording"] is True
    assert answer.minutes == shown_minutes(truth["recording_elapsed_s"] / 60)
    assert not answer.warning

    # The battery falls below what the body needs to start: the next restart is refused.
    control.set(battery_percent=4)
    d.wait("refused", timeout=CAP_S + 5)
    time.sleep(0.5)
    assert not control.state()["recording"]
    assert d.daemon.controller.state.value == "idle"
    assert not d.daemon.controller.believed_recording
    assert "restarted" not in d.patterns[d.patterns.index("restarted") + 1:]
    d.stop()

    rows = [r for r in build_rows(read_day(d.journal_path)) if r.kind == "clip"]
    names = [c["name"] for c in control.state()["clips"]]
    assert len(names) == 2 and [r.file for r in rows] == names  # in the journal, on the card
    assert [r.how for r in rows] == ["clip-limit", "clip-limit"]
    assert all(abs((r.length_s or 0) - CAP_S) < 0.6 for r in rows)


def test_card_and_battery_warn_once_each_and_a_still_makes_a_file(
        running: Callable[..., Running], virtual_camera: VirtualCamera) -> None:
    control = virtual_camera.control
    control.set(clip_limit_s=None)
    d = running()
    d.wait("ready")
    time.sleep(0.3)
    assert "low-card" not in d.patterns and "low-battery" not in d.patterns
    # About 10 minutes of card left, and the battery at the body's 25 % step.
    control.set(card_free_bytes=int(10 * 60 * control.state()["movie_bytes_per_s"]),
                battery_percent=30)
    for _ in range(2):  # two clips: each end makes the worker read card and battery
        d.gesture("press")
        d.wait("recording", count=_ + 1)
        time.sleep(0.3)
        d.gesture("press")
        d.wait("stopped", count=_ + 1)
    d.wait("low-card")
    d.wait("low-battery")
    time.sleep(0.5)
    assert d.patterns.count("low-card") == 1 and d.patterns.count("low-battery") == 1
    # Status now carries the warning.
    d.gesture("hold")
    d.wait("status")
    assert decode_steps(d.daemon.played_patterns["status"].steps_ms).warning

    d.gesture("double")  # mapped to "still" while idle
    d.wait("still")
    stills = control.state()["stills"]
    assert len(stills) == 1 and stills[0]["size"] > 0
    d.stop()
    kinds = [r.kind for r in build_rows(read_day(d.journal_path))]
    assert kinds.count("still") == 1 and kinds.count("clip") == 2


def test_already_low_at_start_up_is_said_after_ready(
        running: Callable[..., Running], virtual_camera: VirtualCamera) -> None:
    virtual_camera.control.set(clip_limit_s=None, battery_percent=20)
    d = running()
    d.wait("low-battery")
    assert "ready" in d.patterns, d.patterns
    assert d.patterns.index("ready") < d.patterns.index("low-battery")
    assert "low-card" not in d.patterns  # 16 GB free: hours of card


def test_the_4gb_cap_is_recognised_by_the_file_size_and_learnt(
        running: Callable[..., Running], virtual_camera: VirtualCamera, tmp_path: Path) -> None:
    # A body far faster than the configured bit rate: its 4 GB cap comes after about 3 s,
    # where the daemon expects 12 minutes. The first stop looks like the body's button until
    # the file's size arrives; from then on the cap is expected at the right time.
    control = virtual_camera.control
    control.set(clip_limit_s=None, movie_bytes_per_s=1_400_000_000,
                card_free_bytes=30_000_000_000)
    d = running(cap_s=0.0, limit_soon_s=0.0)  # the body's own cap; no limit-soon
    d.wait("ready")
    d.gesture("press")
    d.wait("recording")
    d.wait("restarted", count=2, timeout=15)
    assert d.patterns.count("stopped") == 1  # only the first cap was taken for a stop
    d.stop()
    clips = control.state()["clips"]
    assert [c["stop_reason"] for c in clips] == ["clip_limit", "clip_limit"]
    assert all(c["size"] == 0xFFFF0000 for c in clips)
    rows = [r for r in build_rows(read_day(d.journal_path)) if r.kind == "clip"]
    assert [(r.file, r.how) for r in rows][:2] == [(c["name"], "clip-limit") for c in clips]


def test_the_daemon_copies_a_finished_clip_and_the_journal_shows_it(
        running: Callable[..., Running], virtual_camera: VirtualCamera, tmp_path: Path) -> None:
    from pitrigger.virtualcam.store import file_bytes

    control = virtual_camera.control
    control.set(clip_limit_s=None, movie_bytes_per_s=2_000_000)
    d = running(copy=True)
    d.wait("ready")
    d.gesture("press")
    d.wait("recording")
    time.sleep(0.5)
    d.gesture("press")
    d.wait("stopped")
    clip = control.state()["clips"][0]
    copy = tmp_path / "copies" / clip["name"]
    deadline = time.monotonic() + 15
    while not copy.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    d.stop()
    assert copy.read_bytes() == file_bytes(clip["name"], 0, clip["size"])
    assert control.state()["clips"][0]["size"] == clip["size"]  # still on the card
    copies = [r for r in build_rows(read_day(d.journal_path)) if r.kind == "copy"]
    assert [(r.file, r.how) for r in copies] == [(clip["name"], "verified (100 %)")]
