"""Client for the virtual camera's control port (JSON lines on 127.0.0.1).

Protocol: one JSON object per line in, one per line out. Every answer has ``"ok"``; errors
carry ``"error"``. Requests (``cmd``):

- ``{"cmd": "state"}`` -> ``{"ok": true, "state": {...}}``
- ``{"cmd": "inject", "fault": NAME, ...params}`` -> ``{"ok": true, "state": {...}}``
- ``{"cmd": "press_body_button"}`` -> ``{"ok": true, "result": {...}, "state": {...}}``
- ``{"cmd": "n3", "line": "focus"|"shutter", "state": "down"|"up"}`` -> result + state
- ``{"cmd": "bodies"}`` -> ``{"ok": true, "bodies": {name: summary}, "state": {...}}``
- ``{"cmd": "power", "on": bool}``, ``{"cmd": "set", "settings": {...}}``,
  ``{"cmd": "reset", "keep_clips": bool}``, ``{"cmd": "clear_faults"}`` -> state

Faults and their parameters are listed in docs/virtual-camera.md.
"""

from __future__ import annotations

import json
import socket
from typing import Any

# libgphoto2's PTP/IP camera_exit() closes fd 0 (an uninitialised jpgfd), and fds it closed
# may be closed again later; keep the control socket far away from the low numbers.
_SAFE_FD_FLOOR = 64


class ControlError(RuntimeError):
    """The virtual camera answered a control request with an error."""


class ControlClient:
    """Talks to one virtual camera's control port; keeps one connection open."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def _connect(self) -> None:
        sock = _move_to_high_fd(
            socket.create_connection((self.host, self.port), timeout=self.timeout))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = sock.makefile("rb")

    def request(self, **request: Any) -> dict[str, Any]:
        """Send one request; return the answer or raise ``ControlError``."""
        line = json.dumps(request).encode() + b"\n"
        for attempt in (1, 2):
            if self._sock is None:
                self._connect()
            assert self._sock is not None
            try:
                self._sock.sendall(line)
                answer = self._reader.readline()
                if not answer:
                    raise ConnectionError("control connection closed")
                break
            except OSError:
                self.close()
                if attempt == 2:
                    raise
        response: dict[str, Any] = json.loads(answer)
        if not response.get("ok"):
            raise ControlError(f"{request.get('cmd')}: {response.get('error')}")
        return response

    def state(self) -> dict[str, Any]:
        """The camera's state; keys are documented in docs/virtual-camera.md."""
        state: dict[str, Any] = self.request(cmd="state")["state"]
        return state

    def inject(self, fault: str, **params: Any) -> dict[str, Any]:
        """Inject a fault (busy, stall, refuse_movie, drop, power_off, auto_power_off,
        card_full, battery_low, body_button, heat); returns the state afterwards."""
        state: dict[str, Any] = self.request(cmd="inject", fault=fault, **params)["state"]
        return state

    def press_body_button(self) -> dict[str, Any]:
        """Press the body's record button; returns {"pressed", "recording", "refused"}."""
        result: dict[str, Any] = self.request(cmd="press_body_button")["result"]
        return result

    def n3(self, line: str, state: str) -> dict[str, Any]:
        """Pull an N3 wired-remote line ("focus" = half press, "shutter" = full press) "down"
        to ground or let it go "up"; returns {"line", "down", "effect", "refused"} where
        effect is "record_start", "record_stop", "still" or None."""
        result: dict[str, Any] = self.request(cmd="n3", line=line, state=state)["result"]
        return result

    def bodies(self) -> dict[str, str]:
        """The bodies ``set(body=NAME)`` and ``--body NAME`` accept, with a summary each."""
        bodies: dict[str, str] = self.request(cmd="bodies")["bodies"]
        return bodies

    def power(self, on: bool) -> dict[str, Any]:
        state: dict[str, Any] = self.request(cmd="power", on=on)["state"]
        return state

    def set(self, **settings: Any) -> dict[str, Any]:
        """Change settings (body, clip_limit_s, clip_max_bytes, battery_percent,
        card_free_bytes, movie_mode, remote_movie, auto_poweroff_s, file_write_delay_s,
        battery_drain_pct_per_min, movie_bytes_per_s, still_format, still_size_bytes,
        first_file_number, evf_output, evf_mode); returns the state. A new body drops the
        host."""
        state: dict[str, Any] = self.request(cmd="set", settings=settings)["state"]
        return state

    def reset(self, keep_clips: bool = False) -> dict[str, Any]:
        """Back to the start-up settings: drops PTP/IP connections, clears faults, powers on,
        empties the card unless ``keep_clips``."""
        state: dict[str, Any] = self.request(cmd="reset", keep_clips=keep_clips)["state"]
        return state

    def focus(self, position: float | None = None, *,
              sweep: tuple[float, float, float, float] | None = None,
              **options: float) -> dict[str, Any]:
        """Set (``position``) or sweep (``sweep=(start, stop, step, dwell_s)``) the live view's
        focus ring; options: sharp_position, sigma_per_step, quality. Returns its state."""
        request: dict[str, Any] = {"cmd": "focus", **options}
        if position is not None:
            request["position"] = position
        if sweep is not None:
            request["sweep"] = list(sweep)
        focus: dict[str, Any] = self.request(**request)["focus"]
        return focus

    def clear_faults(self) -> dict[str, Any]:
        state: dict[str, Any] = self.request(cmd="clear_faults")["state"]
        return state

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _move_to_high_fd(sock: socket.socket) -> socket.socket:
    try:
        import fcntl
    except ImportError:  # not POSIX: nothing to protect against
        return sock
    try:
        high = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, _SAFE_FD_FLOOR)
    except OSError:
        return sock
    moved = socket.socket(sock.family, sock.type, sock.proto, fileno=high)
    moved.settimeout(sock.gettimeout())
    sock.close()
    return moved
