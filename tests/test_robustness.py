"""Issue 8's defects, each through the real thing: `pitrigger run`, python-gphoto2, the
virtual 5D, signals, the journal, the terminal input. Each failed on the code before it."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pitrigger.buttons import TerminalButton
from pitrigger.journal import Journal, read_journal

ROOT = Path(__file__).resolve().parent.parent


def unit_stop_timeout_s() -> float:
    text = (ROOT / "systemd" / "pitrigger.service").read_text()
    match = re.search(r"^TimeoutStopSec=(\d+)s?$", text, re.MULTILINE)
    assert match, "the unit names its stop timeout"
    return float(match.group(1))


class RunProcess:
    """`pitrigger run` as systemd would start it, with the terminal as button and motor."""

    def __init__(self, tmp_path: Path, port: str, extra: str = "") -> None:
        self.tmp = tmp_path
        self.config = tmp_path / "pitrigger.toml"
        self.journal = tmp_path / "journal.jsonl"
        self.request = tmp_path / "poweroff-request"
        self.write_config(port, extra)
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "INVOCATION_ID", "WATCHDOG_USEC")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pitrigger", "run", "--config", str(self.config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=ROOT, env=env)
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [threading.Thread(target=self._pump, args=(s, out), daemon=True)
                         for s, out in ((self.proc.stdout, self.lines),
                                        (self.proc.stderr, self.errors))]
        for reader in self._readers:
            reader.start()

    def write_config(self, port: str, extra: str = "") -> None:
        self.config.write_text(f"""
[camera]
port = "{port}"
busy_retry_s = 0.6
confirm_timeout_s = 4.0
poll_interval_s = 0.1
idle_poll_interval_s = 0.1
reconnect_min_s = 0.1
reconnect_max_s = 0.4
[button]
source = "terminal"
[haptics]
sink = "terminal"
[journal]
path = "{self.journal}"
[power]
request_path = "{self.request}"
[daemon]
last_good_path = "{self.tmp / 'last-good.toml'}"
{extra}
""")

    @staticmethod
    def _pump(stream: Any, out: list[str]) -> None:
        for line in stream:
            out.append(line.rstrip("\n"))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def haptics(self) -> list[str]:
        return [line.split()[1] for line in list(self.lines) if line.startswith("haptic ")]

    def wait_for(self, predicate: Any, timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            assert self.proc.poll() is None, f"daemon died: {self.errors[-20:]}"
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; haptics {self.haptics()}; "
                             f"log {self.errors[-10:]}")

    def wait_haptic(self, name: str, count: int = 1, timeout: float = 10.0) -> None:
        self.wait_for(lambda: self.haptics().count(name) >= count, timeout, f"haptic {name}")

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(2)
        return rc


@pytest.fixture
def start_run(tmp_path: Path, virtual_camera: Any) -> Iterator[Any]:
    started: list[RunProcess] = []

    def start(extra: str = "") -> RunProcess:
        run = RunProcess(tmp_path, virtual_camera.port_string, extra)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(5)


def test_power_off_while_a_start_is_in_flight_through_pitrigger_run(start_run,
                                                                   virtual_camera) -> None:
    # Was: TransitionError stopping -> powering-off, and `pitrigger run` exited 1.
    run = start_run()
    run.wait_haptic("ready")
    # A slow body: the start is carried out at once but answered 1.5 s later.
    virtual_camera.control.inject("stall", count=1, operation="SetDevicePropValueEx",
                                  reply_after_s=1.5)
    run.send("press\npress\nvery-long-hold\n")
    run.wait_for(run.request.exists, 15, "the power-off request")
    assert run.proc.poll() is None, "the daemon must still be alive"
    assert not virtual_camera.control.state()["recording"], "the clip is stopped first"
    assert run.terminate() == 0
    assert not any("Traceback" in line for line in run.errors), run.errors
    assert "power-off" in run.haptics()
    assert "recording" not in run.haptics()[run.haptics().index("power-off"):]


def test_sigterm_while_recording_leaves_the_clip_running_and_says_so(start_run,
                                                                   virtual_camera) -> None:
    run = start_run()
    run.wait_haptic("ready")
    run.send("press\n")
    run.wait_haptic("recording")
    assert run.terminate() == 0
    assert any("stopping (SIGTERM): camera recording, clip left running" in line
               for line in run.errors), run.errors[-5:]
    stop = [r for r in read_journal(run.journal) if r["event"] == "stop"][-1]
    assert stop["why"] == "SIGTERM" and stop["state"] == "recording"
    assert stop["clip_left_running"] is True
    assert virtual_camera.control.state()["recording"], "a restart adopts the running clip"


def test_sigterm_with_a_frozen_camera_exits_inside_the_units_stop_timeout(
        start_run, virtual_camera) -> None:
    # Was: 5.2 s against the unit's TimeoutStopSec=5s, so systemd SIGKILLed it.
    run = start_run()
    run.wait_haptic("ready")
    virtual_camera.control.inject("stall", count=50)  # no answer to anything any more
    time.sleep(0.5)  # the worker is now blocked inside libgphoto2
    began = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    rc = run.proc.wait(unit_stop_timeout_s() + 5)
    took = time.monotonic() - began
    assert rc == 0
    assert took < unit_stop_timeout_s(), f"took {took:.1f} s"
    assert read_journal(run.journal)[-1]["event"] == "stop"


def test_sighup_reloads_a_good_config_and_refuses_a_bad_one(start_run, virtual_camera) -> None:
    run = start_run()
    run.wait_haptic("ready")
    good = run.config.read_text()
    run.config.write_text(good + '\n[haptics]\npin = "eighteen"\n')  # duplicate table: bad
    run.proc.send_signal(signal.SIGHUP)
    run.wait_haptic("error")
    run.wait_for(lambda: any("reload refused" in line for line in run.errors), 5, "refusal")
    assert run.proc.poll() is None
    # A good one: `hold` now starts recording instead of asking for status.
    run.config.write_text(good + '\n[actions.idle]\nhold = "start-recording"\n')
    run.proc.send_signal(signal.SIGHUP)
    run.wait_for(lambda: any("config reloaded" in line for line in run.errors), 5, "reload")
    run.send("hold\n")
    run.wait_haptic("recording")
    assert run.terminate() == 0
    reloads = [r for r in read_journal(run.journal) if r["event"] == "reload"]
    assert [r["ok"] for r in reloads] == [False, True]


def test_the_default_gpio_config_on_a_desktop_says_so_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("gpiozero")
    config = tmp_path / "pitrigger.toml"
    config.write_text('[haptics]\nsink = "gpio"\n')
    result = subprocess.run([sys.executable, "-m", "pitrigger", "haptics", "--config",
                             str(config), "ready"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    if result.returncode == 0:
        pytest.skip("this machine has GPIO")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "no GPIO on this machine" in lines[0]
    assert '[haptics] sink = "terminal"' in lines[0] and '[button] source' in lines[0]


@pytest.mark.parametrize("line", ["down inf", "down 1e300", "up nan", "down -inf",
                                  "wait inf", "wait -1", "wait 1e300"])
def test_terminal_input_out_of_range_is_refused_with_a_message(line: str) -> None:
    # Was: `down inf` fired every hold and power-off; `wait inf` logged a traceback.
    errors = io.StringIO()
    edges: list[tuple[bool, float]] = []
    gestures: list[str] = []
    done = threading.Event()
    button = TerminalButton(io.StringIO(f"{line}\nup\n"), errors=errors, on_eof=done.set)
    button.start(lambda pressed, at: edges.append((pressed, at)),
                 lambda name, at: gestures.append(name))
    assert done.wait(5)
    assert "bad input" in errors.getvalue() and line in errors.getvalue()
    assert gestures == []
    assert all(abs(at - time.monotonic()) < 60 for _, at in edges)
    assert [pressed for pressed, _ in edges] == [False]  # only the plain `up`


@pytest.mark.parametrize("background", [False, True])
def test_a_rotation_that_fails_never_stops_the_journal(tmp_path: Path, background: bool) -> None:
    # Was: `ValueError: I/O operation on closed file` in the writer: the journal stopped.
    path = tmp_path / "journal.jsonl"
    (tmp_path / "journal.jsonl.1").mkdir()  # rotation cannot replace a directory
    journal = Journal(path, max_bytes=300, fsync=False, background=background)
    for n in range(40):
        journal.write("gesture", {"n": n})
    journal.close()
    assert [r["n"] for r in read_journal(path)] == list(range(40))


def test_a_rotation_that_works_keeps_every_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, max_bytes=1500, fsync=False)  # ~25 records: one rotation
    for n in range(40):
        journal.write("gesture", {"n": n})
    journal.close()
    rotated = read_journal(tmp_path / "journal.jsonl.1")
    current = read_journal(path)
    assert rotated and current
    assert [r["n"] for r in rotated + current] == list(range(40))

