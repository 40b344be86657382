"""The libgpiod v2 button and motor, on a stand-in request whose blocking read is real.

No gpiochip exists on this machine (and Debian's kernels have no gpio-sim): the adapters
get :class:`~gpiod_standin.StandInChip` as their ``request_lines``. The settings they ask
the kernel for are checked as real ``gpiod.LineSettings``; edges arrive as real
``gpiod.EdgeEvent`` objects through a pipe the reader thread blocks on. The same adapters
run against a real kernel's PL061 in firmware/gpio-test.sh (slow, not here).
"""

from __future__ import annotations

import datetime
import errno
import queue
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from gpiod.line import Bias, Clock, Direction, Edge, Value
from gpiod_standin import PipeLineRequest, StandInChip

from pitrigger.buttons import GpiodButton
from pitrigger.gestures import Gesture, GestureRecogniser, GestureTimings
from pitrigger.gpiochip import (
    EdgeReader,
    GpiodUnavailable,
    GpioUnavailable,
    SoftwarePwm,
    SysfsPwm,
    chip_path,
    load_gpiod,
)
from pitrigger.motors import GpiodMotor

S = 1_000_000_000  # ns per second


def edge_queue() -> tuple[queue.Queue[tuple[bool, float]], object]:
    edges: queue.Queue[tuple[bool, float]] = queue.Queue()
    return edges, lambda pressed, at: edges.put((pressed, at))


def take(edges: queue.Queue[tuple[bool, float]], n: int) -> list[tuple[bool, float]]:
    return [edges.get(timeout=5) for _ in range(n)]


def thread_switches(thread: threading.Thread) -> int:
    """Voluntary + involuntary context switches of ``thread`` so far (Linux)."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])


# -- the button ------------------------------------------------------------------------


def test_button_requests_both_edges_with_pull_up_and_monotonic_kernel_stamps() -> None:
    chip = StandInChip()
    button = GpiodButton(17, chip="gpiochip0", request_lines=chip)
    request = chip.requests[17]
    settings = request.settings[17]
    assert request.path == "/dev/gpiochip0"
    assert request.consumer == "pitrigger-button"
    assert settings.direction == Direction.INPUT
    assert settings.edge_detection == Edge.BOTH
    assert settings.bias == Bias.PULL_UP
    assert settings.event_clock == Clock.MONOTONIC
    assert settings.debounce_period == datetime.timedelta(0)  # our recogniser debounces
    button.close()
    assert request.released


def test_kernel_debounce_is_passed_on_when_asked_for() -> None:
    chip = StandInChip()
    button = GpiodButton(5, pull_up=False, kernel_debounce_ms=4, request_lines=chip)
    settings = chip.requests[5].settings[5]
    assert settings.debounce_period == datetime.timedelta(milliseconds=4)
    assert settings.bias == Bias.DISABLED
    button.close()


def test_edges_keep_the_kernel_timestamp_however_late_they_are_read() -> None:
    chip = StandInChip()
    button = GpiodButton(17, request_lines=chip)
    edges, on_edge = edge_queue()
    request = chip.requests[17]
    # Queued before the reader starts: read "late", yet stamped when the kernel saw them.
    request.inject(17, rising=False, timestamp_ns=100 * S)
    request.inject(17, rising=True, timestamp_ns=100 * S + 76_000_000)
    button.start(on_edge, lambda name, at: None)
    try:
        assert take(edges, 2) == [(True, 100.0), (False, 100.076)]
    finally:
        button.close()


def test_without_pull_up_a_rising_edge_is_the_press() -> None:
    chip = StandInChip()
    button = GpiodButton(4, pull_up=False, request_lines=chip)
    edges, on_edge = edge_queue()
    button.start(on_edge, lambda name, at: None)
    try:
        chip.requests[4].inject(4, rising=True, timestamp_ns=7 * S)
        chip.requests[4].inject(4, rising=False, timestamp_ns=8 * S)
        assert take(edges, 2) == [(True, 7.0), (False, 8.0)]
        assert not button.is_pressed
    finally:
        button.close()


def test_is_pressed_reads_the_line_level() -> None:
    chip = StandInChip()
    button = GpiodButton(17, request_lines=chip)
    assert not button.is_pressed  # pulled up: high = released
    chip.requests[17].values[17] = Value.INACTIVE
    assert button.is_pressed
    button.close()


def test_a_bouncy_press_through_the_reader_is_one_press() -> None:
    """Kernel-stamped bounce on both edges → the recogniser makes exactly one ``press``."""
    chip = StandInChip()
    button = GpiodButton(17, request_lines=chip)
    edges, on_edge = edge_queue()
    button.start(on_edge, lambda name, at: None)
    request = chip.requests[17]
    t0 = 50 * S
    # Press with 4 ms of bounce, hold 180 ms, release with 5 ms of bounce (1 ms steps).
    pattern = [(False, 0), (True, 1), (False, 2), (True, 3), (False, 4),
               (True, 184), (False, 185), (True, 186), (False, 188), (True, 189)]
    for rising, ms in pattern:
        request.inject(17, rising=rising, timestamp_ns=t0 + ms * 1_000_000)
    try:
        got = take(edges, len(pattern))
    finally:
        button.close()
    assert [pressed for pressed, _ in got] == [not rising for rising, _ in pattern]
    recogniser = GestureRecogniser(GestureTimings())
    gestures: list[object] = []
    for pressed, at in got:
        gestures += recogniser.edge(pressed, at)
    gestures += recogniser.advance(60.0)
    # Stamped at the release's first edge: the recogniser accepts a clean edge at once.
    assert gestures == [Gesture("press", pytest.approx(50.184))]


def test_a_failing_handler_does_not_stop_the_reader() -> None:
    chip = StandInChip()
    button = GpiodButton(17, request_lines=chip)
    edges: queue.Queue[bool] = queue.Queue()

    def on_edge(pressed: bool, at: float) -> None:
        edges.put(pressed)
        if pressed:
            raise RuntimeError("handler bug")

    button.start(on_edge, lambda name, at: None)
    try:
        chip.requests[17].inject(17, rising=False)
        assert edges.get(timeout=5) is True
        chip.requests[17].inject(17, rising=True)
        assert edges.get(timeout=5) is False
        assert button._reader is not None and button._reader.alive
    finally:
        button.close()


def test_the_idle_reader_blocks_in_the_kernel_without_waking() -> None:
    """Counted, not timed: a reader that polled (a timeout, a sleep) would switch context."""
    chip = StandInChip()
    button = GpiodButton(17, request_lines=chip)
    edges, on_edge = edge_queue()
    button.start(on_edge, lambda name, at: None)
    try:
        chip.requests[17].inject(17, rising=False)
        take(edges, 1)
        reader = button._reader
        assert reader is not None
        # Let it finish handing the edge over and go back to select(): settled once its
        # count stops moving (a reader that polled would never settle).
        settled = thread_switches(reader._thread)
        for _ in range(40):
            threading.Event().wait(0.05)
            now = thread_switches(reader._thread)
            if now == settled:
                break
            settled = now
        threading.Event().wait(0.3)  # a 10 ms poll would have woken ~30 times
        assert thread_switches(reader._thread) == settled
        assert chip.requests[17].reads == 1
    finally:
        button.close()


def test_close_wakes_the_blocked_reader_and_releases_the_line() -> None:
    chip = StandInChip()
    button = GpiodButton(17, request_lines=chip)
    button.start(lambda pressed, at: None, lambda name, at: None)
    reader = button._reader
    assert reader is not None and reader.alive
    button.close()
    assert not reader.alive
    assert chip.requests[17].released


def test_a_busy_line_is_named_in_the_error() -> None:
    chip = StandInChip(fail=OSError(errno.EBUSY, "Device or resource busy"))
    with pytest.raises(OSError, match=r"line 17 of gpiochip0 .*Device or resource busy"):
        GpiodButton(17, request_lines=chip)


def test_edge_reader_logs_a_vanished_chip_and_ends(caplog: pytest.LogCaptureFixture) -> None:
    request = PipeLineRequest("/dev/gpiochip0", {3: None}, "t")
    done = threading.Event()
    reader = EdgeReader(request, lambda batch: done.set())
    reader.start()
    request.inject(3, rising=True)
    assert done.wait(5)
    request.release()  # the descriptor goes away under the reader (chip unbound)
    reader._thread.join(5)
    reader.close()
    assert not reader.alive
    # RequestReleasedError from the read, or EBADF from select(): whichever came first.
    assert "GPIO edge reader stopped: " in caplog.text


# -- the motor -------------------------------------------------------------------------


def test_motor_line_starts_low_and_follows_levels() -> None:
    chip = StandInChip()
    motor = GpiodMotor(18, request_lines=chip)
    request = chip.requests[18]
    settings = request.settings[18]
    assert settings.direction == Direction.OUTPUT
    assert settings.output_value == Value.INACTIVE
    assert request.consumer == "pitrigger-motor"
    motor.set_level(1.0)
    motor.set_level(1.0)  # unchanged: no second write
    motor.set_level(0.0)
    motor.set_level(0.4)  # no PWM: any level above 0 is on
    assert [value for _, _, value in request.writes] == [Value.ACTIVE, Value.INACTIVE,
                                                         Value.ACTIVE]
    motor.close()
    assert request.writes[-1][2] == Value.INACTIVE
    assert request.released


def test_software_pwm_runs_only_while_a_partial_level_is_held() -> None:
    chip = StandInChip()
    motor = GpiodMotor(18, pwm=True, frequency_hz=500, request_lines=chip)
    request = chip.requests[18]
    assert motor._software is not None and not motor._software.running
    motor.set_level(1.0)  # full strength: a plain write, no thread
    assert not motor._software.running
    assert request.values[18] == Value.ACTIVE
    motor.set_level(0.5)
    assert motor._software.running
    seen = threading.Event()

    def toggled() -> bool:
        values = [value for _, _, value in request.writes]
        return values.count(Value.ACTIVE) >= 4 and values.count(Value.INACTIVE) >= 4

    for _ in range(500):
        if toggled():
            seen.set()
            break
        threading.Event().wait(0.01)
    assert seen.is_set(), request.writes
    motor.set_level(0.0)
    assert not motor._software.running
    assert request.values[18] == Value.INACTIVE
    motor.close()
    assert request.released


def test_software_pwm_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="frequency"):
        SoftwarePwm(lambda on: None, 0)
    with pytest.raises(ValueError, match="duty"):
        SoftwarePwm(lambda on: None, 100).set_duty(1.5)


def fake_pwmchip(root: Path, channel: int = 0) -> Path:
    """A directory shaped like /sys/class/pwm/pwmchip0 with channel ``channel`` exported."""
    chip = root / "pwmchip0"
    (chip / f"pwm{channel}").mkdir(parents=True)
    for name in ("export", "unexport"):
        (chip / name).write_text("")
    for name in ("enable", "duty_cycle", "period"):
        (chip / f"pwm{channel}" / name).write_text("0\n")
    return chip / f"pwm{channel}"


def test_hardware_pwm_through_sysfs(tmp_path: Path) -> None:
    channel = fake_pwmchip(tmp_path)
    motor = GpiodMotor(18, pwm=True, frequency_hz=200, pwm_channel="pwmchip0:0",
                       pwm_root=str(tmp_path))
    assert motor.request is None  # the PWM block drives the pin, not a GPIO request
    assert (channel / "period").read_text() == "5000000\n"
    assert (channel / "enable").read_text() == "1\n"
    motor.set_level(0.25)
    assert (channel / "duty_cycle").read_text() == "1250000\n"
    motor.close()
    assert (channel / "duty_cycle").read_text() == "0\n"
    assert (channel / "enable").read_text() == "0\n"
    assert (tmp_path / "pwmchip0" / "unexport").read_text() == "0\n"


def test_hardware_pwm_errors_name_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not like 'pwmchip0:0'"):
        SysfsPwm("pwm0", 200, root=tmp_path)
    with pytest.raises(ValueError, match=r"no PWM chip .pwmchip0.*dtoverlay=pwm"):
        SysfsPwm("pwmchip0:0", 200, root=tmp_path)
    (tmp_path / "pwmchip0").mkdir()
    (tmp_path / "pwmchip0" / "export").write_text("")
    with pytest.raises(ValueError, match="did not create"):
        SysfsPwm("pwmchip0:1", 200, root=tmp_path)


# -- finding gpiod and the chip ---------------------------------------------------------


def test_libgpiod_v1_binding_is_refused_with_a_clear_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    old = types.ModuleType("gpiod")
    old.__version__ = "1.6.3"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gpiod", old)
    with pytest.raises(GpiodUnavailable, match=r"1\.6\.3 is libgpiod v1.*gpiod>=2"):
        load_gpiod()


def test_missing_gpiod_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiod", None)
    with pytest.raises(GpiodUnavailable, match="python3-libgpiod"):
        load_gpiod()


def test_chip_names_and_labels(tmp_path: Path) -> None:
    assert chip_path("gpiochip3") == "/dev/gpiochip3"
    assert chip_path("/dev/gpiochip1") == "/dev/gpiochip1"
    with pytest.raises(ValueError, match=r"no GPIO chip named or labelled 'pinctrl-bcm2835'"
                                         r" \(chips: none\)"):
        chip_path("pinctrl-bcm2835", devices=str(tmp_path))


def test_a_machine_without_the_chip_gets_the_desktop_advice(tmp_path: Path) -> None:
    with pytest.raises(GpioUnavailable, match=r"no GPIO on this machine \(.*gpiochip7 does not "
                                              r"exist\).*source = \"terminal\""):
        GpiodButton(17, chip=str(tmp_path / "gpiochip7"))
    with pytest.raises(GpioUnavailable, match="does not exist"):
        GpiodMotor(18, chip=str(tmp_path / "gpiochip7"))


def test_the_default_config_on_a_desktop_says_so_in_one_line(tmp_path: Path) -> None:
    """The default (gpiod) sink on a machine with no /dev/gpiochip0: one line, exit 2."""
    if Path("/dev/gpiochip0").exists():
        pytest.skip("this machine has a gpiochip0")
    config = tmp_path / "pitrigger.toml"
    config.write_text("[haptics]\npin = 18\n")
    result = subprocess.run([sys.executable, "-m", "pitrigger", "haptics", "--config",
                             str(config), "ready"], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "no GPIO on this machine (/dev/gpiochip0 does not exist)" in lines[0]
