"""End to end: gpiozero mock pins → daemon → real python-gphoto2 → virtual 5D → motor pin."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from pitrigger.config import Config, ConfigError, parse_config
from pitrigger.controller import State
from pitrigger.daemon import Daemon
from pitrigger.journal import read_journal
from pitrigger.sdnotify import Notifier
from pitrigger.service import build_daemon, load_run_config

BUTTON_PIN, MOTOR_PIN = 17, 18


def make_config(port: str, tmp_path: Path, extra: str = "", poll: float = 0.1) -> Config:
    return parse_config(f"""
[camera]
port = "{port}"
busy_retry_s = 0.6
confirm_timeout_s = 2.0
poll_interval_s = {poll}
idle_poll_interval_s = {poll}
reconnect_min_s = 0.1
reconnect_max_s = 0.4
[button]
source = "gpio"
pin = {BUTTON_PIN}
[haptics]
sink = "gpio"
pin = {MOTOR_PIN}
[journal]
path = "{tmp_path / 'journal.jsonl'}"
[power]
request_path = "{tmp_path / 'poweroff-request'}"
[daemon]
last_good_path = "{tmp_path / 'last-good.toml'}"
{extra}
""")


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def longest_on_s(pin: Any) -> float:
    """The longest time the mock pin was high (its ``states`` hold time since the last change)."""
    longest = 0.0
    for previous, current in zip(pin.states, pin.states[1:], strict=False):
        if previous.state:
            longest = max(longest, current.timestamp)
    return longest


class RunningDaemon:
    """A daemon on its own thread with mock pins; records every pattern it starts."""

    def __init__(self, config: Config, factory: MockFactory, **kwargs: Any) -> None:
        self.factory = factory
        self.config = config
        self.daemon: Daemon = build_daemon(config, **kwargs)
        self.patterns: list[str] = []
        self.daemon.pattern_listeners.append(lambda name, at: self.patterns.append(name))
        self.thread = threading.Thread(target=self.daemon.run, daemon=True)
        self.thread.start()

    @property
    def button(self) -> Any:
        return self.factory.pin(BUTTON_PIN)

    @property
    def motor(self) -> Any:
        return self.factory.pin(MOTOR_PIN)

    def press(self, hold_s: float = 0.08, bounce: bool = False) -> None:
        pin = self.button
        pin.drive_low()
        if bounce:  # contact chatter within the debounce time
            for _ in range(3):
                time.sleep(0.002)
                pin.drive_high()
                time.sleep(0.002)
                pin.drive_low()
        time.sleep(hold_s)
        pin.drive_high()
        if bounce:
            for _ in range(2):
                time.sleep(0.002)
                pin.drive_low()
                time.sleep(0.002)
                pin.drive_high()

    def wait_pattern(self, name: str, count: int = 1, timeout: float = 6.0) -> None:
        wait_until(lambda: self.patterns.count(name) >= count, timeout,
                   f"pattern {name!r} x{count}; got {self.patterns}")

    def wait_state(self, state: State, timeout: float = 6.0) -> None:
        wait_until(lambda: self.daemon.state is state, timeout,
                   f"state {state}; is {self.daemon.state}")

    def quiet(self) -> None:
        wait_until(lambda: self.daemon.haptics.next_deadline() is None, 6.0, "motor quiet")

    def stop(self) -> None:
        self.daemon.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = None


@pytest.fixture
def run(
    pins: MockFactory, virtual_camera: Any, tmp_path: Path
) -> Iterator[Callable[..., RunningDaemon]]:
    started: list[RunningDaemon] = []

    def start(extra: str = "", poll: float = 0.1, **kwargs: Any) -> RunningDaemon:
        config = make_config(virtual_camera.port_string, tmp_path, extra, poll)
        running = RunningDaemon(config, pins, **kwargs)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()


def test_press_starts_recording_and_the_motor_confirms_only_then(run, virtual_camera,
                                                                  tmp_path) -> None:
    d = run()
    d.wait_pattern("ready")
    d.quiet()
    d.press()
    d.wait_pattern("recording")
    assert virtual_camera.control.state()["recording"]
    d.quiet()
    # The motor played the pattern: "recording" is one long buzz (700 ms by default), the
    # only pulse longer than 250 ms; and it is off again.
    assert longest_on_s(d.motor) >= 0.65 and d.motor.state == 0
    d.press()
    d.wait_pattern("stopped")
    state = virtual_camera.control.state()
    assert not state["recording"] and [c["name"] for c in state["clips"]] == ["MVI_0001.MOV"]
    wait_until(lambda: any(r["event"] == "clip" for r in read_journal(tmp_path / "journal.jsonl")),
               what="clip in journal")
    d.stop()
    records = read_journal(tmp_path / "journal.jsonl")
    events = [(r["event"], r.get("state") or r.get("name")) for r in records]
    # The cue comes after the camera's report, never before.
    assert events.index(("state", "recording")) < events.index(("haptic", "recording"))
    assert events.index(("state", "idle")) < events.index(("haptic", "stopped"))
    assert d.motor.state == 0


def test_bouncy_press_toggles_exactly_once(run, virtual_camera) -> None:
    d = run()
    d.wait_pattern("ready")
    d.press(bounce=True)
    d.wait_pattern("recording")
    time.sleep(0.5)
    state = virtual_camera.control.state()
    assert state["record_starts"] == 1 and state["record_stops"] == 0


def test_busy_camera_is_retried_within_the_budget(run, virtual_camera) -> None:
    d = run()
    d.wait_pattern("ready")
    virtual_camera.control.inject("busy", count=3, operation="SetDevicePropValueEx")
    d.press()
    d.wait_pattern("recording")
    assert virtual_camera.control.state()["recording"]
    assert "busy" not in d.patterns


def test_camera_busy_past_the_budget_cues_busy_and_never_recording(run, virtual_camera) -> None:
    d = run()
    d.wait_pattern("ready")
    virtual_camera.control.inject("refuse_movie", mode="busy")
    d.press()
    d.wait_pattern("busy")
    d.wait_state(State.IDLE)
    assert "recording" not in d.patterns
    assert not virtual_camera.control.state()["recording"]


def test_body_without_remote_movie_cues_refused_with_the_reason(run, virtual_camera,
                                                              tmp_path, caplog) -> None:
    virtual_camera.control.inject("refuse_movie", mode="hidden")
    d = run()
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("refused")
    d.wait_state(State.IDLE)
    assert "recording" not in d.patterns and "error" not in d.patterns
    d.stop()
    failed = [r for r in read_journal(tmp_path / "journal.jsonl")
              if r["event"] == "command-failed"]
    assert failed and failed[0]["reason"] == "remote-movie-refused"
    assert "Stills+movie" in caplog.text  # the log says what to change on the body


def test_power_off_and_on_cues_no_camera_then_ready(run, virtual_camera) -> None:
    d = run()
    d.wait_pattern("ready")
    virtual_camera.control.power(False)
    d.wait_pattern("no-camera")
    d.wait_state(State.NO_CAMERA)
    d.press()  # no camera: answered at once, never carried out later
    d.wait_pattern("no-camera", count=2)
    virtual_camera.control.power(True)
    d.wait_pattern("ready", count=2)
    d.wait_state(State.IDLE)
    time.sleep(0.3)
    assert not virtual_camera.control.state()["recording"]


def test_pulled_cable_mid_clip_keeps_the_clip_and_one_press_stops_it(run, virtual_camera) -> None:
    d = run()
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("recording")
    virtual_camera.control.inject("drop")  # the link goes; the camera keeps recording
    d.wait_pattern("no-camera")
    d.wait_state(State.RECORDING)  # reconnected by itself and adopted the clip still running
    d.wait_pattern("recording", count=2)  # told again: it still records
    assert d.patterns.count("ready") == 1  # never "not recording" on the way (issue 8)
    d.press()
    d.wait_pattern("stopped")
    state = virtual_camera.control.state()
    assert state["record_starts"] == 1 and len(state["clips"]) == 1
    assert not state["recording"]


def test_clip_limit_stop_by_the_camera_is_felt(run, virtual_camera) -> None:
    virtual_camera.control.set(clip_limit_s=0.8)
    d = run()
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("recording")
    d.wait_pattern("stopped", timeout=5)
    d.wait_state(State.IDLE)
    state = virtual_camera.control.state()
    assert state["last_stop_reason"] == "clip_limit" and len(state["clips"]) == 1


def test_event_polling_keeps_the_camera_awake(run, virtual_camera) -> None:
    virtual_camera.control.set(auto_poweroff_s=0.5)  # the body sleeps after 0.5 s unasked
    d = run()
    d.wait_pattern("ready")
    time.sleep(2.0)
    assert virtual_camera.control.state()["powered"]
    assert "no-camera" not in d.patterns


def test_polling_too_rarely_lets_the_camera_sleep(run, virtual_camera) -> None:
    # The control for the test above: the same body, asked only every 2 s, powers off.
    virtual_camera.control.set(auto_poweroff_s=0.5)
    d = run(poll=2.0)
    d.wait_pattern("ready")
    d.wait_pattern("no-camera", timeout=6)
    assert virtual_camera.control.state()["power_off_reason"] == "auto_power_off"


def test_stalled_camera_is_a_lost_link_not_a_recording(run, virtual_camera) -> None:
    d = run()
    d.wait_pattern("ready")
    virtual_camera.control.inject("stall", count=1, operation="SetDevicePropValueEx")
    d.press()
    d.wait_pattern("no-camera", timeout=8)  # the 2.5 s PTP/IP timeout, then told
    d.wait_pattern("ready", count=2, timeout=8)  # reconnected
    assert "recording" not in d.patterns
    assert not virtual_camera.control.state()["recording"]
    d.quiet()
    d.press()  # and the next press works
    d.wait_pattern("recording")


def test_restart_mid_clip_adopts_the_recording(run, virtual_camera) -> None:
    # The camera is already recording when the daemon (re)starts.
    virtual_camera.control.set(evf_output=2)
    virtual_camera.control.press_body_button()
    assert virtual_camera.control.state()["recording"]
    d = run()
    d.wait_pattern("recording")
    d.wait_state(State.RECORDING)
    assert "ready" not in d.patterns  # one cue for one truth: it records (issue 8)
    d.press()
    d.wait_pattern("stopped")
    state = virtual_camera.control.state()
    assert state["record_starts"] == 1 and len(state["clips"]) == 1


def test_power_off_gesture_writes_the_request_after_the_cue(run, tmp_path) -> None:
    d = run()
    d.wait_pattern("ready")
    d.daemon.gesture("very-long-hold", time.monotonic())
    request = tmp_path / "poweroff-request"
    wait_until(request.exists, what="power-off request")
    assert d.patterns[-1] == "power-off"
    assert d.daemon.state is State.POWERING_OFF


def test_hold_on_the_button_ticks_then_gives_status(run) -> None:
    d = run()
    d.wait_pattern("ready")
    d.quiet()
    d.press(hold_s=1.2)  # past hold_s = 1.0
    d.wait_pattern("tick")
    d.wait_pattern("status")  # the status answer (tests/test_daylong_daemon.py decodes it)


def test_button_held_at_start_does_not_fire(pins, virtual_camera, tmp_path) -> None:
    pins.pin(BUTTON_PIN).drive_low()  # held (or stuck) while the daemon starts
    config = make_config(virtual_camera.port_string, tmp_path)
    d = RunningDaemon(config, pins)
    try:
        d.wait_pattern("ready")
        pins.pin(BUTTON_PIN).drive_high()
        time.sleep(0.5)
        assert not virtual_camera.control.state()["recording"]
        d.press()  # the next real press works
        d.wait_pattern("recording")
    finally:
        d.stop()


def test_systemd_ready_and_watchdog(run, tmp_path, monkeypatch) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        monkeypatch.setenv("WATCHDOG_USEC", "200000")
        d = run()
        messages = {server.recv(200).split(b"\n")[0] for _ in range(3)}
        assert b"READY=1" in messages and b"WATCHDOG=1" in messages
        d.stop()


def test_broken_config_under_systemd_runs_on_last_good_and_cues_error(tmp_path, monkeypatch,
                                                                      caplog) -> None:
    bad = tmp_path / "pitrigger.toml"
    bad.write_text('[haptics]\npin = "eighteen"\n')
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    with pytest.raises(ConfigError, match=r"haptics\.pin"):
        load_run_config(str(bad))  # interactively: an error
    monkeypatch.setenv("INVOCATION_ID", "test")
    config, problem = load_run_config(str(bad))
    assert problem is not None and "haptics.pin" in problem and ":2:" in problem
    assert config.haptics.pin == Config().haptics.pin


def test_good_config_is_kept_as_last_good(tmp_path) -> None:
    good = tmp_path / "pitrigger.toml"
    last = tmp_path / "state" / "last-good.toml"
    good.write_text(f'[daemon]\nlast_good_path = "{last}"\n[haptics]\npin = 23\n')
    config, problem = load_run_config(str(good))
    assert problem is None and config.haptics.pin == 23
    assert last.read_text() == good.read_text()


def test_startup_problem_is_felt_as_error_first(run) -> None:
    d = run(startup_problem="haptics.pin: bad")
    d.wait_pattern("ready")
    assert d.patterns[0] == "error"


def test_notifier_unused_outside_systemd() -> None:
    assert not Notifier({}).enabled


class SinkThatFailsOnce:
    """A motor whose driver raises once (a flaky I2C haptic driver, say), then works."""

    def __init__(self) -> None:
        self.failed = False
        self.levels: list[float] = []

    def set_level(self, level: float) -> None:
        self.levels.append(level)

    def pattern_started(self, name: str) -> None:
        if not self.failed:
            self.failed = True
            raise OSError(121, "Remote I/O error")

    def close(self) -> None:
        pass


def test_an_exception_while_handling_an_input_is_survived(run, tmp_path) -> None:
    # Issue 8: the daemon never dies on an input; it logs, journals, cues error, re-syncs.
    sink = SinkThatFailsOnce()
    d = run(sink=sink)
    wait_until(lambda: sink.failed, 6, "the first pattern")
    d.wait_state(State.IDLE)
    assert d.thread.is_alive()
    d.quiet()
    d.press()
    d.wait_pattern("recording")
    d.stop()
    records = read_journal(tmp_path / "journal.jsonl")
    errors = [r for r in records if r["event"] == "internal-error"]
    assert errors and "Remote I/O error" in errors[0]["error"]
    assert "error" in d.patterns
    assert sink.levels[-1] == 0.0  # the motor ends off


@pytest.mark.parametrize(("fault", "reason"), [("card_full", "card-full"),
                                               ("battery_low", "battery-low")])
def test_a_body_that_cannot_record_says_what_to_fix(run, virtual_camera, tmp_path,
                                                    fault, reason) -> None:
    # Issue 8: `refused` (fix the body) is not `busy` (try again); the journal says why.
    d = run()
    d.wait_pattern("ready")
    virtual_camera.control.inject(fault)
    d.press()
    d.wait_pattern("refused")
    d.wait_state(State.IDLE)
    assert "recording" not in d.patterns and "busy" not in d.patterns
    d.stop()
    failed = [r for r in read_journal(tmp_path / "journal.jsonl")
              if r["event"] == "command-failed"]
    assert [r["reason"] for r in failed] == [reason]


def test_the_real_daemon_survives_every_report_and_gesture_in_the_states_it_passes(
        run, virtual_camera) -> None:
    # Issue 8: every kind of camera report (stale, late or out of place) and every gesture,
    # fed to the running daemon in idle and while recording: it never dies, and a press
    # still works afterwards.
    from typing import get_args

    from pitrigger.messages import (
        CameraConnected,
        CameraLost,
        CameraReport,
        CameraState,
        ClipSaved,
        CommandFailed,
        CommandSent,
        FocusEnded,
        FocusScore,
        FocusStarted,
        FromCamera,
        StillResult,
        SupplyReport,
    )
    from pitrigger.names import GESTURES

    examples = [CameraConnected(False), CameraState(True), CameraState(False),
                CommandFailed(999, "busy"), CommandFailed(998, "refused", reason="card-full"),
                CommandFailed(997, "lost"), CommandSent(996, "start"), CameraLost("test"),
                ClipSaved("/DCIM/100EOS5D/MVI_9999.MOV", 1), SupplyReport(50.0, 1 << 30),
                StillResult(False, "test"), FocusStarted(), FocusEnded(("zoom",)),
                FocusScore(1.0, 0.0)]
    assert {type(e) for e in examples} == set(get_args(CameraReport)), "a report kind untried"
    d = run()
    d.wait_pattern("ready")
    settled = (State.IDLE, State.RECORDING, State.FOCUSING)
    for phase in ("idle", "recording"):
        if phase == "recording":
            wait_until(lambda: d.daemon.state in settled, 10, "settled")
            time.sleep(0.3)
            if not virtual_camera.control.state()["recording"]:
                d.press()  # in focusing, a press leaves the mode and records
            wait_until(lambda: virtual_camera.control.state()["recording"], 8, "recording")
        for report in examples:
            d.daemon.inbox.put(FromCamera(report))
        for name in GESTURES:
            if name != "very-long-hold":
                d.daemon.gesture(name, time.monotonic())
        time.sleep(0.5)
        assert d.thread.is_alive(), f"died in {phase}"
        # The made-up reports (a loss the worker never had) leave the belief wrong on
        # purpose; a real drop makes the worker reconnect and report the truth again.
        virtual_camera.control.inject("drop")
        wait_until(lambda: d.daemon.state in (State.IDLE, State.RECORDING), 10,
                   "adopted again")
    # Back to the truth: the camera is polled again and a press still acts on it.
    wait_until(lambda: d.daemon.state in settled, 10, "settled")
    time.sleep(0.3)
    was = virtual_camera.control.state()["recording"]
    d.press()
    wait_until(lambda: virtual_camera.control.state()["recording"] != was, 8, "a toggle")
    assert d.thread.is_alive()
