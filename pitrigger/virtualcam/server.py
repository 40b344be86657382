"""``pitrigger virtual-camera``: the PTP/IP responder process and its JSON-lines control port.

One thread, one ``selectors`` loop: it blocks until a socket is readable or the model's next
timer is due, so an idle responder costs no CPU. Sockets get TCP_NODELAY (and TCP_QUICKACK
after every read where Linux has it) so loopback timings are not inflated by Nagle and
delayed ACKs: libgphoto2 writes request, Start_Data and data as separate small packets.

Run it in its own process: python-gphoto2 keeps the GIL during some calls, so a responder
thread inside the test process would stall into the 2.5 s PTP/IP timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.body import BODIES, DEFAULT_BODY
from pitrigger.virtualcam.model import REMOTE_MOVIE_MODES, CameraSettings, VirtualEos5D2
from pitrigger.virtualcam.ptpip import (
    INIT_FAIL_BUSY,
    INIT_FAIL_REJECTED,
    CommandChannel,
    Operation,
    Packet,
    PacketReader,
    PacketType,
    ProtocolError,
    encode_init_command_ack,
    encode_init_event_ack,
    encode_init_fail,
    encode_reply,
    parse_init_command_request,
    parse_init_event_request,
)
from pitrigger.virtualcam.settings import STILL_FORMATS

log = logging.getLogger("pitrigger.virtualcam")

CAMERA_GUID = bytes.fromhex("5d2a0000c4a90000000000000000e05d")
RECV_SIZE = 256 * 1024
# A host without an open session that has been silent this long is taken to be gone (e.g.
# libgphoto2 leaks its sockets when camera.init() fails after connecting); a new host may
# replace it. A host with an open session is never replaced.
SESSIONLESS_HOST_GRACE_S = 0.5
MAX_CONTROL_LINE = 64 * 1024

# Every fault ``inject`` knows, with its parameters and their defaults.
FAULT_PARAMS: dict[str, dict[str, object]] = {
    "busy": {"count": 1, "operation": None},
    "stall": {"count": 1, "operation": None, "reply_after_s": None},
    "refuse_movie": {"mode": "busy"},
    "drop": {},
    "power_off": {},
    "auto_power_off": {"after_s": 1.0},
    "card_full": {"free_bytes": 0},
    "battery_low": {"percent": 4},
    "body_button": {},
    "heat": {"cool_down_s": 0.0},
}


class ControlError(Exception):
    """A control request that cannot be carried out; sent back as {"ok": false}."""


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    kind: str  # "pending" (PTP/IP, before its init packet), "command", "event", "control"
    reader: PacketReader = field(default_factory=PacketReader)
    channel: CommandChannel | None = None
    outgoing: bytearray = field(default_factory=bytearray)
    close_when_flushed: bool = False
    line_buffer: bytearray = field(default_factory=bytearray)
    # A slow reply (stall with reply_after_s): when it is due and its bytes. The body works
    # one transaction at a time, so later requests wait in ``backlog`` until it is sent.
    late_reply: tuple[float, bytes] | None = None
    backlog: list[Operation] = field(default_factory=list)


@dataclass(eq=False)
class _Host:
    """The one initiator the camera serves: its command and (once joined) event connection."""

    number: int
    name: str
    command: _Connection
    event: _Connection | None = None
    last_packet: float = field(default_factory=time.monotonic)


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _quickack(sock)


def _quickack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


class VirtualCameraServer:
    """Binds the PTP/IP and control ports and serves both until ``stop`` or a signal."""

    def __init__(self, model: VirtualEos5D2, host: str = "127.0.0.1", ptpip_port: int = 15740,
                 control_port: int = 0, control_host: str = "127.0.0.1") -> None:
        self.model = model
        self.host = host
        # The control port has no authentication: it stays on loopback whatever ``host`` is,
        # unless the caller asks for another address explicitly.
        self.control_host = control_host
        self._selector = selectors.DefaultSelector()
        self._connections: dict[socket.socket, _Connection] = {}
        self._ptpip_listener: socket.socket | None = None
        # While switched off the port stays bound but not listening: connections are refused
        # and no other socket can take the port number meanwhile.
        self._ptpip_placeholder: socket.socket | None = None
        self.ptpip_port = ptpip_port
        self._control_listener = self._listen(control_port, control_host)
        self.control_port = self._control_listener.getsockname()[1]
        self._selector.register(self._control_listener, selectors.EVENT_READ, "control-listen")
        self._open_ptpip_listener()
        self._host: _Host | None = None
        self._next_connection_number = 1
        self._running = False
        self.drops = 0
        self.refused_hosts = 0

    # ------------------------------------------------------------------ sockets

    def _bind(self, port: int, host: str | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host if host is None else host, port))
        sock.setblocking(False)
        return sock

    def _listen(self, port: int, host: str | None = None) -> socket.socket:
        listener = self._bind(port, host)
        listener.listen(8)
        return listener

    def _open_ptpip_listener(self) -> None:
        if self._ptpip_placeholder is not None:
            listener, self._ptpip_placeholder = self._ptpip_placeholder, None
            listener.listen(8)
        else:
            listener = self._listen(self.ptpip_port)
        self._ptpip_listener = listener
        self.ptpip_port = listener.getsockname()[1]
        self._selector.register(listener, selectors.EVENT_READ, "ptpip-listen")

    def _close_ptpip_listener(self, keep_port: bool = False) -> None:
        if self._ptpip_listener is not None:
            self._selector.unregister(self._ptpip_listener)
            self._ptpip_listener.close()
            self._ptpip_listener = None
        if keep_port and self._ptpip_placeholder is None:
            self._ptpip_placeholder = self._bind(self.ptpip_port)
        if not keep_port and self._ptpip_placeholder is not None:
            self._ptpip_placeholder.close()
            self._ptpip_placeholder = None

    def watch_stdin_eof(self) -> None:
        """Exit when stdin closes: a spawned responder dies with the process that spawned it."""
        self._selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")

    def _accept(self, listener: socket.socket, kind: str) -> None:
        try:
            sock, _address = listener.accept()
        except OSError:  # nothing pending, or the listener closed earlier in this round
            return
        sock.setblocking(False)
        _tune(sock)
        connection = _Connection(sock, kind)
        self._selector.register(sock, selectors.EVENT_READ, connection)
        self._connections[sock] = connection

    def _close(self, connection: _Connection) -> None:
        if self._connections.pop(connection.sock, None) is None:
            return
        # A SIGINT (KeyboardInterrupt) may land between accept and register: closing at exit
        # must not fail on a socket the selector never saw.
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)
        connection.sock.close()
        host = self._host
        if host is not None and connection in (host.command, host.event):
            # Either half gone means the host is gone; close the other half as well.
            self._host = None
            self.model.host_disconnected()
            for other in (host.command, host.event):
                if other is not None and other is not connection:
                    self._close(other)

    def drop_host(self, as_fault: bool = True) -> None:
        """Close every PTP/IP connection now (as a fault: the pulled cable)."""
        if as_fault:
            self.drops += 1
        for connection in list(self._connections.values()):
            if connection.kind != "control":
                self._close(connection)

    def _send(self, connection: _Connection, data: bytes) -> None:
        connection.outgoing += data
        self._flush(connection)

    def _flush(self, connection: _Connection) -> None:
        while connection.outgoing:
            try:
                sent = connection.sock.send(connection.outgoing)
            except BlockingIOError:
                break
            except OSError:
                self._close(connection)
                return
            del connection.outgoing[:sent]
        if connection.sock not in self._connections:
            return
        if not connection.outgoing and connection.close_when_flushed:
            self._close(connection)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.outgoing else 0)
        self._selector.modify(connection.sock, events, connection)

    # ------------------------------------------------------------------ loop

    def serve_forever(self) -> None:
        self._running = True
        while self._running:
            deadlines = [d for d in (self.model.next_deadline(), self._next_late_reply())
                         if d is not None]
            timeout = max(0.0, min(deadlines) - self.model.now()) if deadlines else None
            for key, mask in self._selector.select(timeout):
                self._dispatch(key, mask)
                if not self._running:
                    break
            self._send_due_late_replies()
            self.model.poll()
            self._sync_power()

    def stop(self) -> None:
        self._running = False

    def close(self) -> None:
        for connection in list(self._connections.values()):
            self._close(connection)
        self._close_ptpip_listener()
        self._selector.unregister(self._control_listener)
        self._control_listener.close()
        self._selector.close()

    def _dispatch(self, key: selectors.SelectorKey, mask: int) -> None:
        data = key.data
        if data == "ptpip-listen":
            self._accept(key.fileobj, "pending")  # type: ignore[arg-type]
        elif data == "control-listen":
            self._accept(key.fileobj, "control")  # type: ignore[arg-type]
        elif data == "stdin":
            if not os.read(sys.stdin.fileno(), 4096):
                log.info("stdin closed: exiting")
                self.stop()
        elif isinstance(data, _Connection):
            if data.sock not in self._connections:
                return
            if mask & selectors.EVENT_WRITE:
                self._flush(data)
            if mask & selectors.EVENT_READ and data.sock in self._connections:
                self._receive(data)

    def _receive(self, connection: _Connection) -> None:
        try:
            chunk = connection.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(connection)
            return
        _quickack(connection.sock)
        if connection.kind == "control":
            self._receive_control(connection, chunk)
            return
        try:
            for packet in connection.reader.feed(chunk):
                if connection.sock not in self._connections:
                    return
                self._handle_packet(connection, packet.type, packet.payload)
        except ProtocolError as error:
            log.warning("closing PTP/IP connection: %s", error)
            self._close(connection)

    # ------------------------------------------------------------------ PTP/IP

    def _handle_packet(self, connection: _Connection, packet_type: int, payload: bytes) -> None:
        if connection.kind == "pending":
            self._handle_init(connection, packet_type, payload)
        elif connection.kind == "command":
            assert connection.channel is not None
            if self._host is not None:
                self._host.last_packet = time.monotonic()
            operation = connection.channel.receive(Packet(packet_type, payload))
            if operation is None:
                return
            if connection.late_reply is not None:
                connection.backlog.append(operation)
            else:
                self._operate(connection, operation)
        # Nothing is expected from the host on the event connection after its init.

    def _operate(self, connection: _Connection, operation: Operation) -> None:
        reply = self.model.handle(operation)
        name = ptp.op_name(operation.code)
        if reply is None:
            log.info("op %s tid=%d params=%s: reply withheld (stall)", name,
                     operation.transaction_id, operation.params)
            return
        log.debug("op %s tid=%d params=%s -> 0x%04X (%s bytes, after %.1f s)", name,
                  operation.transaction_id, [hex(p) for p in operation.params], reply.code,
                  None if reply.data is None else len(reply.data), reply.delay_s)
        encoded = encode_reply(operation.transaction_id, reply)
        if reply.delay_s > 0:
            connection.late_reply = (self.model.now() + reply.delay_s, encoded)
        else:
            self._send(connection, encoded)

    def _next_late_reply(self) -> float | None:
        dues = [c.late_reply[0] for c in self._connections.values() if c.late_reply]
        return min(dues) if dues else None

    def _send_due_late_replies(self) -> None:
        now = self.model.now()
        for connection in list(self._connections.values()):
            if connection.late_reply is None or connection.late_reply[0] > now:
                continue
            self._send(connection, connection.late_reply[1])
            connection.late_reply = None
            while (connection.backlog and connection.late_reply is None
                   and connection.sock in self._connections):
                self._operate(connection, connection.backlog.pop(0))

    def _handle_init(self, connection: _Connection, packet_type: int, payload: bytes) -> None:
        if packet_type == PacketType.INIT_COMMAND_REQUEST:
            request = parse_init_command_request(payload)
            if self._host is not None and self._stale_host(self._host):
                log.info("dropping silent host %r without a session", self._host.name)
                self._close(self._host.command)  # closes its event connection too
            if self._host is not None:
                # One initiator at a time, as a real PTP/IP camera: the second is turned away.
                self.refused_hosts += 1
                log.info("refusing second host %r: busy", request.host_name)
                self._refuse(connection, INIT_FAIL_BUSY)
                return
            number = self._next_connection_number
            self._next_connection_number += 1
            connection.kind = "command"
            connection.channel = CommandChannel()
            self._host = _Host(number, request.host_name, connection)
            self.model.host_connected = True
            log.info("host %r connected (connection %d)", request.host_name, number)
            self._send(connection, encode_init_command_ack(number, CAMERA_GUID, "EOS5D2"))
        elif packet_type == PacketType.INIT_EVENT_REQUEST:
            number = parse_init_event_request(payload)
            host = self._host
            if host is None or host.number != number or host.event is not None:
                self._refuse(connection, INIT_FAIL_REJECTED)
                return
            connection.kind = "event"
            host.event = connection
            self._send(connection, encode_init_event_ack())
        else:
            raise ProtocolError(f"packet type {packet_type} before the init handshake")

    def _stale_host(self, host: _Host) -> bool:
        return (not self.model.session_open
                and time.monotonic() - host.last_packet >= SESSIONLESS_HOST_GRACE_S)

    def _refuse(self, connection: _Connection, reason: int) -> None:
        connection.kind = "refused"
        connection.close_when_flushed = True
        self._send(connection, encode_init_fail(reason))

    def _sync_power(self) -> None:
        """Make the sockets match the model: a switched-off body has no network port."""
        if not self.model.powered and self._ptpip_listener is not None:
            log.info("power off (%s): closing PTP/IP", self.model.power_off_reason)
            self.drop_host(as_fault=False)
            self._close_ptpip_listener(keep_port=True)
        elif self.model.powered and self._ptpip_listener is None:
            log.info("power on: listening on %d", self.ptpip_port)
            self._open_ptpip_listener()

    # ------------------------------------------------------------------ control

    def _receive_control(self, connection: _Connection, chunk: bytes) -> None:
        connection.line_buffer += chunk
        while b"\n" in connection.line_buffer:
            line, _, rest = bytes(connection.line_buffer).partition(b"\n")
            connection.line_buffer = bytearray(rest)
            if line.strip():
                response = self.handle_control_line(line)
                self._send(connection, json.dumps(response).encode() + b"\n")
            if connection.sock not in self._connections:
                return
        if len(connection.line_buffer) > MAX_CONTROL_LINE:
            self._close(connection)

    def handle_control_line(self, line: bytes) -> dict[str, object]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ControlError("a request is a JSON object")
            result = self.handle_control(request)
        except (ControlError, ValueError, TypeError) as error:
            return {"ok": False, "error": str(error)}
        finally:
            self.model.poll()
            self._sync_power()
        return {"ok": True, **result}

    def state(self) -> dict[str, object]:
        state = self.model.state()
        state.update({
            "ptpip_port": self.ptpip_port,
            "control_port": self.control_port,
            "pid": os.getpid(),
            "drops": self.drops,
            "refused_hosts": self.refused_hosts,
        })
        return state

    def handle_control(self, request: dict[str, object]) -> dict[str, object]:
        """Carry out one control request; see control.py for the protocol."""
        command = request.get("cmd")
        if command in ("state", "ping"):
            pass
        elif command == "inject":
            self._inject(request)
        elif command == "press_body_button":
            return {"result": self.model.press_body_button(), "state": self.state()}
        elif command == "n3":
            line, position = request.get("line"), request.get("state")
            if line not in ("focus", "shutter") or position not in ("down", "up"):
                raise ControlError("n3 needs line 'focus' or 'shutter' and state 'down' or 'up'")
            return {"result": self.model.n3(str(line), position == "down"),
                    "state": self.state()}
        elif command == "bodies":
            return {"bodies": {name: body.summary for name, body in BODIES.items()},
                    "state": self.state()}
        elif command == "power":
            if _bool(request.get("on"), "on"):
                self.model.power_on()
            else:
                self.model.power_off("control")
        elif command == "set":
            settings = request.get("settings")
            if not isinstance(settings, dict):
                raise ControlError("set needs a 'settings' object")
            if "body" in settings and settings["body"] != self.model.settings.body:
                if settings["body"] not in BODIES:
                    raise ControlError(f"body must be one of {tuple(BODIES)}")
                # Another body is another camera: the host must connect to it afresh.
                self.drop_host(as_fault=False)
            self.model.apply_settings(**settings)
        elif command == "reset":
            self.drop_host(as_fault=False)
            self.drops = 0
            self.refused_hosts = 0
            self.model.reset(keep_clips=bool(request.get("keep_clips", False)))
        elif command == "clear_faults":
            self.model.faults.clear()
        elif command == "focus":
            from pitrigger.virtualcam import liveview  # numpy and Pillow: only when asked

            return {"focus": liveview.control(self.model, request), "state": self.state()}
        else:
            raise ControlError(f"unknown cmd {command!r}")
        return {"state": self.state()}

    def _inject(self, request: dict[str, object]) -> None:
        fault = request.get("fault")
        params = {k: v for k, v in request.items() if k not in ("cmd", "fault")}
        if not isinstance(fault, str) or fault not in FAULT_PARAMS:
            raise ControlError(f"unknown fault {fault!r}; known: {', '.join(FAULT_PARAMS)}")
        unknown = set(params) - set(FAULT_PARAMS[fault])
        if unknown:  # checked first: a rejected request must change nothing
            raise ControlError(f"unknown parameters for {fault}: {sorted(unknown)}")
        values = {**FAULT_PARAMS[fault], **params}
        if fault in ("busy", "stall"):
            count, operation = values["count"], values["operation"]
            delay = values.get("reply_after_s")
            if not isinstance(count, int) or not (operation is None
                                                  or isinstance(operation, str | int)):
                raise ControlError("count must be an int, operation a name or code")
            if delay is not None and not isinstance(delay, int | float):
                raise ControlError("reply_after_s must be a number of seconds")
            self.model.inject_operation_fault(fault, count, operation,
                                              None if delay is None else float(delay))
        elif fault == "refuse_movie":
            if values["mode"] not in REMOTE_MOVIE_MODES[1:]:
                raise ControlError(f"refuse_movie mode must be one of {REMOTE_MOVIE_MODES[1:]}")
            self.model.apply_settings(remote_movie=values["mode"])
        elif fault == "drop":
            self.drop_host()
        elif fault == "power_off":
            self.model.power_off("control")
        elif fault == "auto_power_off":
            self.model.apply_settings(auto_poweroff_s=values["after_s"])
        elif fault == "card_full":
            self.model.apply_settings(card_free_bytes=values["free_bytes"])
        elif fault == "battery_low":
            self.model.apply_settings(battery_percent=values["percent"])
        elif fault == "body_button":
            self.model.press_body_button()
        elif fault == "heat":
            cool_down = values["cool_down_s"]
            if not isinstance(cool_down, int | float):
                raise ControlError("cool_down_s must be a number of seconds")
            self.model.overheat(float(cool_down))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ControlError(f"'{name}' must be true or false")
    return value


# ---------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pitrigger virtual-camera",
        description="Virtual Canon EOS 5D Mark II over PTP/IP, for tests and the demo. "
        "Prints 'ready ptpip=PORT control=PORT' once both ports accept.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the PTP/IP port binds (default 127.0.0.1)")
    parser.add_argument("--control-host", default="127.0.0.1",
                        help="address the control port binds (default 127.0.0.1, whatever "
                        "--host is); it has no authentication, anything else warns")
    parser.add_argument("--port", type=int, default=15740, help="PTP/IP port (0: pick a free one)")
    parser.add_argument("--control-port", type=int, default=0,
                        help="JSON-lines control port (default 0: pick a free one)")
    parser.add_argument("--body", choices=tuple(BODIES), default=DEFAULT_BODY,
                        help="which body to be: " + "; ".join(
                            f"{name}: {body.summary}" for name, body in BODIES.items()))
    parser.add_argument("--clip-limit", type=float, default=None, metavar="SECONDS",
                        help="stop each clip after this long (default: the 4 GB cap, ~12 min)")
    parser.add_argument("--clip-max-bytes", type=int, default=None, metavar="BYTES",
                        help="file size at which the body ends a clip (default: the FAT32 "
                        "cap, just under 4 GiB)")
    parser.add_argument("--movie-bytes-per-second", type=int, default=None, metavar="N",
                        help="movie data rate (default: 4 GB in 12 min); small values make "
                        "small test clips")
    parser.add_argument("--still-format", choices=STILL_FORMATS, default="jpg")
    parser.add_argument("--still-size-bytes", type=int, default=6_000_000)
    parser.add_argument("--battery-percent", type=float, default=100.0)
    parser.add_argument("--card-free-bytes", type=int, default=None)
    parser.add_argument("--card-capacity-bytes", type=int, default=None)
    parser.add_argument("--movie-mode", choices=("on", "off"), default="on",
                        help="live view menu 'Stills+movie' (on) or 'Stills only' (off)")
    parser.add_argument("--remote-movie", choices=REMOTE_MOVIE_MODES, default=None,
                        help="override the body: hidden: never report 0xD1B8; busy: answer "
                        "0x2019 to every set")
    parser.add_argument("--auto-poweroff", type=float, default=None, metavar="SECONDS",
                        help="power off after this long without PTP traffic (default: never)")
    parser.add_argument("--auto-poweroff-needs-keepalive", action="store_true",
                        help="only KeepDeviceOn (0x911D) restarts the auto power-off timer")
    parser.add_argument("--file-write-delay", type=float, default=0.0, metavar="SECONDS",
                        help="time from stop until the MOV is announced (default 0)")
    parser.add_argument("--first-file-number", type=int, default=1)
    parser.add_argument("--thm-files", action="store_true",
                        help="also write and announce MVI_NNNN.THM after each MOV")
    parser.add_argument("--battery-drain", type=float, default=1.0, metavar="PCT_PER_MIN",
                        help="battery use while recording, percent per minute (default 1)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes (used by pitrigger.virtualcam.spawn)")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="log connections (-v) and every operation (-vv) to stderr")
    return parser


def settings_from_args(args: argparse.Namespace) -> CameraSettings:
    settings = CameraSettings(
        body=args.body,
        clip_limit_s=args.clip_limit,
        clip_max_bytes=args.clip_max_bytes,
        still_format=args.still_format,
        still_size_bytes=args.still_size_bytes,
        battery_percent=args.battery_percent,
        movie_mode=args.movie_mode == "on",
        remote_movie=args.remote_movie,
        auto_poweroff_s=args.auto_poweroff,
        auto_poweroff_needs_keepalive=args.auto_poweroff_needs_keepalive,
        file_write_delay_s=args.file_write_delay,
        first_file_number=args.first_file_number,
        battery_drain_pct_per_min=args.battery_drain,
        thm_files=args.thm_files,
    )
    if args.movie_bytes_per_second is not None:
        settings.movie_bytes_per_s = args.movie_bytes_per_second
    if args.card_capacity_bytes is not None:
        settings.card_capacity_bytes = args.card_capacity_bytes
        settings.card_free_bytes = min(settings.card_free_bytes, args.card_capacity_bytes)
    if args.card_free_bytes is not None:
        settings.card_free_bytes = args.card_free_bytes
    settings.validate()
    return settings


class _Shutdown(Exception):
    pass


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    raise _Shutdown


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="virtual-camera %(levelname)s %(message)s")
    try:
        settings = settings_from_args(args)
    except ValueError as error:
        print(f"virtual-camera: {error}", file=sys.stderr)
        return 2
    if not _is_loopback(args.control_host):
        print(f"virtual-camera: WARNING: the control port (no authentication: it can power the "
              f"camera off and change its state) listens on {args.control_host}, reachable "
              f"from other hosts", file=sys.stderr)
    try:
        server = VirtualCameraServer(VirtualEos5D2(settings), args.host, args.port,
                                     args.control_port, args.control_host)
    except OSError as error:
        print(f"virtual-camera: cannot listen: {error}", file=sys.stderr)
        return 1
    if args.exit_on_stdin_eof:
        server.watch_stdin_eof()
    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    try:
        print(f"ready ptpip={server.ptpip_port} control={server.control_port}", flush=True)
        server.serve_forever()
    except _Shutdown:
        pass
    finally:
        server.close()
    return 0
