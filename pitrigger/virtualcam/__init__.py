"""A virtual Canon EOS 5D Mark II that real libgphoto2 drives over PTP/IP on 127.0.0.1.

``spawn()`` starts ``python -m pitrigger virtual-camera`` in a child process (it must not run
in a process that uses python-gphoto2: that library keeps the GIL during some calls) and
returns a ``VirtualCamera`` handle::

    with spawn(clip_limit_s=2.0) as cam:
        camera.set_port_info(port_info_for(cam.port_string))   # "ptpip:127.0.0.1:P:P"
        cam.control.state()["recording"]

Importing this package stays cheap (stdlib only); the responder itself lives in
``server.py`` / ``model.py`` and its parts. See docs/virtual-camera.md.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import time
from typing import Any

from pitrigger.virtualcam.control import ControlClient, ControlError

__all__ = ["ControlClient", "ControlError", "VirtualCamera", "spawn"]

# spawn() keyword -> command-line flag of `pitrigger virtual-camera`
_OPTION_FLAGS = {
    "body": "--body",
    "clip_max_bytes": "--clip-max-bytes",
    "movie_bytes_per_s": "--movie-bytes-per-second",
    "still_format": "--still-format",
    "still_size_bytes": "--still-size-bytes",
    "battery_percent": "--battery-percent",
    "card_free_bytes": "--card-free-bytes",
    "card_capacity_bytes": "--card-capacity-bytes",
    "remote_movie": "--remote-movie",
    "auto_poweroff_s": "--auto-poweroff",
    "auto_poweroff_needs_keepalive": "--auto-poweroff-needs-keepalive",
    "file_write_delay_s": "--file-write-delay",
    "first_file_number": "--first-file-number",
    "battery_drain_pct_per_min": "--battery-drain",
    "thm_files": "--thm-files",
    "port": "--port",
    "control_port": "--control-port",
    "host": "--host",
    "control_host": "--control-host",
}


class VirtualCamera:
    """A running responder process: its ports, a control client, and ``stop()``."""

    def __init__(self, process: subprocess.Popen[bytes], host: str, ptpip_port: int,
                 control_port: int, control_host: str = "127.0.0.1") -> None:
        self.process = process
        self.host = host
        self.ptpip_port = ptpip_port
        self.control_port = control_port
        self.control = ControlClient(_reachable(control_host), control_port)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port_string(self) -> str:
        """gphoto2 port string; the event port must be given too, or it stays 15740."""
        return f"ptpip:{self.host}:{self.ptpip_port}:{self.ptpip_port}"

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop the responder (stdin EOF, then SIGTERM, then SIGKILL); return its exit code."""
        self.control.close()
        if self.process.poll() is None:
            if self.process.stdin is not None:
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
            try:
                self.process.wait(timeout / 2)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout / 2)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> VirtualCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"VirtualCamera(pid={self.pid}, port_string={self.port_string!r})"


def spawn(clip_limit_s: float | None = None, *, movie_mode: bool = True, verbose: int = 0,
          ready_timeout: float = 10.0, **options: Any) -> VirtualCamera:
    """Start a virtual 5D Mark II in a child process and wait until its ports accept.

    Options: body (a ``--body`` name), clip_max_bytes, movie_bytes_per_s, still_format
    ("jpg"/"cr2"), still_size_bytes, battery_percent, card_free_bytes, card_capacity_bytes,
    remote_movie
    ("supported"/"hidden"/"busy"), auto_poweroff_s, auto_poweroff_needs_keepalive (bool),
    file_write_delay_s, first_file_number, battery_drain_pct_per_min, thm_files (bool), host,
    port and control_port (default 0: free ports), control_host (default 127.0.0.1 whatever
    host is).
    """
    unknown = set(options) - set(_OPTION_FLAGS)
    if unknown:
        raise TypeError(f"unknown virtual camera options: {sorted(unknown)}")
    host = str(options.get("host", "127.0.0.1"))
    control_host = str(options.get("control_host", "127.0.0.1"))
    options.setdefault("port", 0)
    options.setdefault("control_port", 0)
    argv = [sys.executable, "-m", "pitrigger", "virtual-camera", "--exit-on-stdin-eof",
            "--movie-mode", "on" if movie_mode else "off"]
    if clip_limit_s is not None:
        argv += ["--clip-limit", repr(float(clip_limit_s))]
    for name, value in options.items():
        if value is True:
            argv.append(_OPTION_FLAGS[name])  # a flag
        elif value is not None and value is not False:
            argv += [_OPTION_FLAGS[name], str(value)]
    argv += ["-v"] * verbose
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=_child_env())
    try:
        line = _read_ready_line(process, ready_timeout)
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        return VirtualCamera(process, host, int(fields["ptpip"]), int(fields["control"]),
                             control_host)
    except BaseException:
        process.kill()
        process.wait()
        raise


def _reachable(bound: str) -> str:
    """The address to connect to for a socket bound to ``bound`` (a wildcard: loopback)."""
    return "127.0.0.1" if bound in ("0.0.0.0", "") else bound


def _child_env() -> dict[str, str]:
    # The child must import this very checkout, whatever the caller's working directory.
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _read_ready_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("virtual camera did not report ready")
            if selector.select(remaining):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(
                        f"virtual camera exited early (code {process.wait()}); see its stderr")
                buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode()
    if not line.startswith("ready "):
        raise RuntimeError(f"unexpected virtual camera output: {line!r}")
    return line
