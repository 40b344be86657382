"""The responder as a process: the Debian gphoto2 CLI against it, signals, idle CPU, timings."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import pytest

from pitrigger.virtualcam import VirtualCamera, spawn

GPHOTO2_CLI = "/usr/bin/gphoto2"


def run_cli(port_string: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GPHOTO2_CLI, "--port", port_string, *args], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.skipif(not os.path.exists(GPHOTO2_CLI), reason="Debian gphoto2 CLI not installed")
@pytest.mark.parametrize("camera_args", [(), ("--camera", "Canon EOS 5D Mark II")])
def test_gphoto2_cli_sets_viewfinder_and_movierecordtarget(
    virtual_camera: VirtualCamera, camera_args: tuple[str, ...]
) -> None:
    port = virtual_camera.port_string
    result = run_cli(port, *camera_args, "--set-config", "viewfinder=1",
                     "--set-config", "movierecordtarget=Card")
    assert result.returncode == 0, result.stderr
    state = virtual_camera.control.state()
    assert state["recording"] is True
    assert state["live_view"] is True

    result = run_cli(port, *camera_args, "--get-config", "movierecordtarget")
    assert result.returncode == 0, result.stderr
    assert "Current: Card" in result.stdout

    result = run_cli(port, *camera_args, "--set-config", "movierecordtarget=None")
    assert result.returncode == 0, result.stderr
    state = virtual_camera.control.state()
    assert state["recording"] is False
    assert [clip["name"] for clip in state["clips"]] == ["MVI_0001.MOV"]
    assert state["session_open"] is False  # every CLI run closes its session

    listing = run_cli(port, *camera_args, "--list-files")
    assert "MVI_0001.MOV" in listing.stdout


@pytest.mark.skipif(not os.path.exists(GPHOTO2_CLI), reason="Debian gphoto2 CLI not installed")
def test_gphoto2_cli_start_without_live_view_reports_busy(virtual_camera: VirtualCamera) -> None:
    result = run_cli(virtual_camera.port_string, "--set-config", "movierecordtarget=Card")
    assert result.returncode != 0
    assert "0x2019" in result.stderr or "busy" in result.stderr.lower()
    assert virtual_camera.control.state()["recording"] is False


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_idle_responder_uses_no_cpu(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    camera = gphoto.connect(virtual_camera.port_string)  # an idle session, as a daemon keeps
    gphoto.set_config(camera, "viewfinder", 1)
    virtual_camera.control.set(auto_poweroff_s=600)  # a timer that is not due
    before = cpu_seconds(virtual_camera.pid)
    time.sleep(1.0)
    assert cpu_seconds(virtual_camera.pid) - before <= 0.02


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_responder_cleanly(signum: int) -> None:
    camera = spawn()
    try:
        with socket.create_connection(("127.0.0.1", camera.ptpip_port), timeout=2):
            pass  # ready means the port accepts
        camera.process.send_signal(signum)
        assert camera.process.wait(5) == 0
    finally:
        camera.stop()


def test_stdin_eof_stops_a_spawned_responder() -> None:
    camera = spawn()
    assert camera.process.stdin is not None
    camera.process.stdin.close()
    assert camera.process.wait(5) == 0
    camera.stop()


def test_busy_port_exits_with_an_error(virtual_camera: VirtualCamera) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pitrigger", "virtual-camera", "--port",
         str(virtual_camera.ptpip_port)], capture_output=True, text=True, timeout=10,
        stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "cannot listen" in result.stderr


def test_bad_option_value_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pitrigger", "virtual-camera", "--port", "0",
         "--battery-percent", "150"], capture_output=True, text=True, timeout=10,
        stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "battery_percent" in result.stderr


def test_spawn_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="colour"):
        spawn(colour="red")


def test_spawn_passes_options_to_the_child() -> None:
    with spawn(clip_limit_s=7.5, movie_mode=False, battery_percent=42,
               remote_movie="busy") as camera:
        state = camera.control.state()
        assert camera.port_string == f"ptpip:127.0.0.1:{camera.ptpip_port}:{camera.ptpip_port}"
        assert state["pid"] == camera.pid
        assert (state["clip_limit_s"], state["movie_mode"]) == (7.5, False)
        assert (state["battery_percent"], state["remote_movie"]) == (42, "busy")
    assert camera.process.returncode == 0


def test_timings_over_loopback(gphoto: Any, virtual_camera: VirtualCamera) -> None:
    """Measures init, set_single_config and a GetEvent round trip; bounds are generous, the
    numbers are printed (pytest -s) for the benchmark notes."""
    started = time.perf_counter()
    camera = gphoto.connect(virtual_camera.port_string)
    init_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    gphoto.set_config(camera, "viewfinder", 1)  # includes the EOS prepare sequence
    first_config_ms = (time.perf_counter() - started) * 1000
    gphoto.wait_events(camera)

    widget = camera.get_single_config("movierecordtarget")
    set_ms = []
    for value in ["Card", "None"] * 10:
        widget.set_value(value)
        started = time.perf_counter()
        camera.set_single_config("movierecordtarget", widget)
        set_ms.append((time.perf_counter() - started) * 1000)
    gphoto.wait_events(camera)
    before = virtual_camera.control.state()["operations"]["EOS_GET_EVENT"]
    event_ms = []
    for _ in range(20):
        started = time.perf_counter()
        camera.wait_for_event(0)
        event_ms.append((time.perf_counter() - started) * 1000)
    after = virtual_camera.control.state()["operations"]["EOS_GET_EVENT"]
    assert after - before >= 20  # every wait_for_event(0) really went to the camera
    print(f"\ninit {init_ms:.1f} ms; first config set {first_config_ms:.1f} ms; "
          f"set_single_config median {statistics.median(set_ms):.2f} ms; "
          f"wait_for_event(0) median {statistics.median(event_ms):.2f} ms")
    assert init_ms < 500
    # Without TCP_NODELAY/QUICKACK a SetDevicePropValueEx costs ~40 ms (Nagle x delayed ACK).
    assert statistics.median(set_ms) < 20
    assert statistics.median(event_ms) < 20
    assert virtual_camera.control.state()["record_stops"] == 10


def test_cli_help_lists_the_options() -> None:
    result = subprocess.run([sys.executable, "-m", "pitrigger", "virtual-camera", "--help"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0
    for option in ("--port", "--control-port", "--clip-limit", "--remote-movie"):
        assert option in result.stdout


def test_importing_the_package_stays_light() -> None:
    code = ("import sys; before = set(sys.modules); import pitrigger.virtualcam; "
            "new = set(sys.modules) - before; "
            "print(sorted(m for m in new if m.split('.')[0] not in sys.stdlib_module_names))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=10, check=True)
    assert result.stdout.strip() == (
        "['pitrigger', 'pitrigger.virtualcam', 'pitrigger.virtualcam.control']")


def test_control_errors_are_answered_not_fatal(virtual_camera: VirtualCamera) -> None:
    from pitrigger.virtualcam import ControlError

    control = virtual_camera.control
    with pytest.raises(ControlError, match="unknown fault"):
        control.inject("meteor")
    with pytest.raises(ControlError, match="unknown parameters"):
        control.inject("busy", colour="red")
    with pytest.raises(ControlError, match="unknown operation"):
        control.inject("busy", operation="Teleport")
    with pytest.raises(ControlError, match="battery_percent"):
        control.set(battery_percent=500)
    with pytest.raises(ControlError, match="unknown settings"):
        control.set(iso=100)
    with pytest.raises(ControlError, match="unknown cmd"):
        control.request(cmd="launch")
    with socket.create_connection(("127.0.0.1", virtual_camera.control_port), timeout=2) as raw:
        raw.sendall(b"this is not json\n")
        answer = raw.makefile("rb").readline()
    assert b'"ok": false' in answer
    state = control.state()
    assert state["faults"] == [] and state["battery_percent"] == 100


def _listening_address(port: int) -> str:
    """The address a listening TCP socket on ``port`` is bound to, from /proc/net/tcp."""
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                return socket.inet_ntoa(bytes.fromhex(address)[::-1])
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
def test_host_wildcard_keeps_the_control_port_on_loopback() -> None:
    # Issue 8: `--host 0.0.0.0` exposed the unauthenticated control port as well.
    with spawn(host="0.0.0.0") as cam:
        assert _listening_address(cam.ptpip_port) == "0.0.0.0"
        assert _listening_address(cam.control_port) == "127.0.0.1"
        assert cam.control.state()["powered"] is True


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
def test_control_host_other_than_loopback_is_explicit_and_warned() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pitrigger", "virtual-camera", "--port", "0",
         "--control-host", "0.0.0.0", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        ready = dict(part.split("=") for part in process.stdout.readline().split()[1:])
        assert _listening_address(int(ready["control"])) == "0.0.0.0"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
    warning = process.stderr.read()
    assert "WARNING" in warning and "0.0.0.0" in warning
