"""Adapters at the edge: gpio and terminal buttons, motors, journal, sd_notify, picamera2."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from pitrigger.buttons import GpioButton, TerminalButton
from pitrigger.journal import Journal, open_journal, read_journal
from pitrigger.motors import GpioMotor, TerminalMotor
from pitrigger.sdnotify import Notifier, started_by_systemd


@pytest.fixture
def mock_pins():
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = None


def test_gpio_button_reports_edges_in_order(mock_pins) -> None:
    edges: list[bool] = []
    button = GpioButton(17)
    button.start(lambda pressed, at: edges.append(pressed), lambda name, at: None)
    pin = mock_pins.pin(17)
    pin.drive_low()
    pin.drive_high()
    pin.drive_low()
    button.close()
    assert edges == [True, False, True]


def test_a_failing_callback_never_escapes_to_the_gpio_thread(mock_pins) -> None:
    # With lgpio an escaping exception kills the notify thread for good; with mock pins it
    # would propagate out of drive_low(). Neither may happen.
    calls = []

    def explode(pressed: bool, at: float) -> None:
        calls.append(pressed)
        raise RuntimeError("boom")

    button = GpioButton(17)
    button.start(explode, lambda name, at: None)
    pin = mock_pins.pin(17)
    pin.drive_low()  # would raise here if unguarded
    pin.drive_high()
    button.close()
    assert calls == [True, False]


def test_gpio_edge_keeps_the_time_it_happened_not_when_python_saw_it(mock_pins) -> None:
    # libgphoto2 can hold the GIL; an edge handled late must keep its own time, or a real
    # 80 ms press delivered late looks like a 1 ms bounce.
    edges: list[tuple[bool, float]] = []
    button = GpioButton(17)
    button.start(lambda pressed, at: edges.append((pressed, at)), lambda name, at: None)
    happened = mock_pins.ticks() - 0.2
    button._pin_changed(happened, 0)  # delivered 200 ms after the edge; low = pressed
    button.close()
    assert edges[0][0] is True
    assert abs(edges[0][1] - happened) < 0.05


def test_terminal_raw_edges_may_carry_their_own_time() -> None:
    t = round(time.monotonic() - 1.0, 3)  # stamps a second old: a reader scheduled late
    stream = io.StringIO(f"down {t}\nup {t + 0.08}\nup\n")
    seen: list[tuple[bool, float]] = []
    done = threading.Event()
    button = TerminalButton(stream, on_eof=done.set)
    button.start(lambda pressed, at: seen.append((pressed, at)), lambda name, at: None)
    assert done.wait(5)
    assert seen[:2] == [(True, t), (False, t + 0.08)]
    assert seen[2][0] is False
    assert abs(seen[2][1] - time.monotonic()) < 5  # unstamped: the time it was read


def test_terminal_button_understands_its_language() -> None:
    stream = io.StringIO("\npress\n# a comment\ndouble\nhold\ndown\nup\nbogus\nwait 0\n"
                         "camera busy count=2\nlong-hold\n")
    errors = io.StringIO()
    seen: list[tuple[str, object]] = []
    extra_lines: list[str] = []
    done = threading.Event()
    button = TerminalButton(stream, extra={"camera": extra_lines.append},
                            on_eof=done.set, errors=errors)
    button.start(lambda pressed, at: seen.append(("edge", pressed)),
                 lambda name, at: seen.append(("gesture", name)))
    assert done.wait(5)
    assert seen == [("gesture", "press"), ("gesture", "press"), ("gesture", "double"),
                    ("gesture", "hold"), ("edge", True), ("edge", False),
                    ("gesture", "long-hold")]
    assert extra_lines == ["busy count=2"]
    assert "unknown input 'bogus'" in errors.getvalue()


def test_gpio_motor_on_off_and_always_off_when_closed(mock_pins) -> None:
    motor = GpioMotor(18)
    pin = mock_pins.pin(18)
    motor.set_level(1.0)
    assert pin.state == 1
    motor.set_level(0.0)
    assert pin.state == 0
    motor.set_level(0.7)  # no PWM: any level is "on"
    assert pin.state == 1
    motor.close()
    assert pin.state == 0


def test_gpio_motor_pwm_duty(mock_pins) -> None:
    motor = GpioMotor(18, pwm=True, frequency_hz=200)
    pin = mock_pins.pin(18)
    motor.set_level(0.4)
    assert pin.state == pytest.approx(0.4)
    assert pin.frequency == 200
    motor.close()
    assert pin.state == 0


def test_terminal_motor_prints_one_line_per_pattern() -> None:
    out = io.StringIO()
    motor = TerminalMotor(out, render=lambda name: "█▁█")
    motor.pattern_started("recording")
    motor.set_level(1.0)
    motor.set_level(0.0)
    assert out.getvalue() == "haptic recording  █▁█\n"


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.jsonl"
    journal = Journal(path)
    journal.write("state", {"state": "recording"})
    journal.close()
    with open(path, "a") as f:
        f.write('{"event": "sta')  # kill -9 mid-write
    records = read_journal(path)
    assert [r["event"] for r in records] == ["state"]
    assert records[0]["state"] == "recording"


def test_journal_rotates(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl", max_bytes=200, fsync=False)
    for i in range(20):
        journal.write("gesture", {"i": i})
    journal.close()
    assert (tmp_path / "j.jsonl.1").exists()
    assert os.path.getsize(tmp_path / "j.jsonl") <= 300


def test_unwritable_journal_degrades_to_none(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    journal = open_journal(str(blocker / "journal.jsonl"))
    journal.write("state", {})
    assert "journal disabled" in caplog.text


def test_sd_notify_sends_ready_and_watchdog(tmp_path: Path) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "20000000"})
        assert notifier.enabled and notifier.watchdog_s == 20.0
        assert notifier.ready("camera: idle")
        assert notifier.watchdog()
        assert server.recv(100) == b"READY=1\nSTATUS=camera: idle"
        assert server.recv(100) == b"WATCHDOG=1"


def test_sd_notify_is_silent_outside_systemd() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and not notifier.ready()
    assert not started_by_systemd({})
    assert started_by_systemd({"INVOCATION_ID": "abc"})
    assert Notifier({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_s is None


def test_background_journal_writes_everything_by_close(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl", background=True)
    for i in range(50):
        journal.write("gesture", {"i": i})
    journal.close()
    assert [r["i"] for r in read_journal(tmp_path / "j.jsonl")] == list(range(50))


def test_background_journal_syncs_off_the_callers_thread(tmp_path: Path,
                                                          monkeypatch) -> None:
    # The daemon loop writes records right after setting the motor: a slow SD card fsync
    # on that thread would delay the next cue.
    syncing_threads: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        syncing_threads.append(threading.current_thread().name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    journal = Journal(tmp_path / "j.jsonl", background=True)
    journal.write("state", {"state": "recording"})
    journal.write("haptic", {"name": "recording"})
    journal.close()
    assert syncing_threads == ["journal", "journal"]
    assert [r["event"] for r in read_journal(tmp_path / "j.jsonl")] == ["state", "haptic"]


def test_sd_notify_never_raises_when_sockets_are_forbidden(monkeypatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise PermissionError("socket() blocked by the system-call filter")

    monkeypatch.setattr(socket, "socket", forbidden)
    notifier = Notifier({"NOTIFY_SOCKET": "/run/systemd/notify"})
    assert notifier.ready() is False and notifier.watchdog() is False
