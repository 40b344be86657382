"""The responder at the PTP/IP wire level, with a minimal raw client (no libgphoto2)."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from pitrigger.virtualcam import VirtualCamera
from pitrigger.virtualcam.ptp import Op, Rc
from pitrigger.virtualcam.ptpip import (
    INIT_FAIL_BUSY,
    Packet,
    PacketReader,
    PacketType,
    encode_packet,
    utf16z,
)


class RawHost:
    """Just enough of an initiator: handshake, requests, and reading packets back."""

    def __init__(self, port: int) -> None:
        self.command = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.command.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = PacketReader()
        self.pending: list[Packet] = []
        self.event: socket.socket | None = None
        self.port = port

    def handshake(self) -> Packet:
        payload = bytes(16) + utf16z("raw-test") + struct.pack("<I", 0x00010000)
        self.command.sendall(encode_packet(PacketType.INIT_COMMAND_REQUEST, payload))
        ack = self.read()
        if ack.type == PacketType.INIT_COMMAND_ACK:
            number = struct.unpack_from("<I", ack.payload)[0]
            self.event = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.event.sendall(encode_packet(PacketType.INIT_EVENT_REQUEST,
                                             struct.pack("<I", number)))
            event_reader = PacketReader()
            packets: list[Packet] = []
            while not packets:
                packets = event_reader.feed(self.event.recv(4096))
            assert packets[0].type == PacketType.INIT_EVENT_ACK
        return ack

    def request(self, code: int, transaction_id: int, *params: int) -> None:
        payload = struct.pack("<IHI", 1, code, transaction_id) + b"".join(
            struct.pack("<I", p) for p in params)
        self.command.sendall(encode_packet(PacketType.CMD_REQUEST, payload))

    def read(self) -> Packet:
        while not self.pending:
            chunk = self.command.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.pending += self.reader.feed(chunk)
        return self.pending.pop(0)

    def response(self) -> tuple[int, int]:
        """Skip any data phase; return (response code, transaction id)."""
        while True:
            packet = self.read()
            if packet.type == PacketType.CMD_RESPONSE:
                code, transaction_id = struct.unpack_from("<HI", packet.payload)
                return code, transaction_id

    def close(self) -> None:
        self.command.close()
        if self.event is not None:
            self.event.close()


Connect = Callable[[], RawHost]


@pytest.fixture
def raw_host(virtual_camera: VirtualCamera) -> Iterator[Connect]:
    hosts: list[RawHost] = []

    def connect() -> RawHost:
        host = RawHost(virtual_camera.ptpip_port)
        hosts.append(host)
        return host

    yield connect
    for host in hosts:
        host.close()


def test_handshake_and_session(raw_host: Connect, virtual_camera: VirtualCamera) -> None:
    host = raw_host()
    ack = host.handshake()
    assert ack.type == PacketType.INIT_COMMAND_ACK
    host.request(Op.OPEN_SESSION, 1, 1)
    assert host.response() == (Rc.OK, 1)
    host.request(Op.GET_DEVICE_INFO, 2)
    start = host.read()
    assert start.type == PacketType.START_DATA
    assert host.response() == (Rc.OK, 2)
    state = virtual_camera.control.state()
    assert state["session_open"] and state["host_connected"]


def test_second_host_gets_init_fail_busy(raw_host: Connect) -> None:
    first = raw_host()
    first.handshake()
    first.request(Op.OPEN_SESSION, 1, 1)
    first.response()
    second = raw_host()
    fail = second.handshake()
    assert fail.type == PacketType.INIT_FAIL
    assert struct.unpack_from("<I", fail.payload)[0] == INIT_FAIL_BUSY
    with pytest.raises((ConnectionError, OSError)):
        second.read()  # and the camera hangs up


def test_a_slow_reply_holds_back_the_next_transaction(
    raw_host: Connect, virtual_camera: VirtualCamera
) -> None:
    host = raw_host()
    host.handshake()
    host.request(Op.OPEN_SESSION, 1, 1)
    host.response()
    virtual_camera.control.inject("stall", operation="GetEvent", reply_after_s=0.3)
    started = time.monotonic()
    host.request(Op.EOS_GET_EVENT, 2)
    host.request(Op.GET_DEVICE_INFO, 3)  # sent before the camera answered the first
    assert host.response() == (Rc.OK, 2)
    assert time.monotonic() - started >= 0.28
    assert host.response() == (Rc.OK, 3)  # in order, after the slow one


def test_garbage_closes_only_that_connection(
    raw_host: Connect, virtual_camera: VirtualCamera
) -> None:
    host = raw_host()
    host.command.sendall(b"GET / HTTP/1.0\r\n\r\n")
    with pytest.raises((ConnectionError, OSError)):
        host.read()
    assert virtual_camera.control.state()["powered"] is True
    good = raw_host()
    assert good.handshake().type == PacketType.INIT_COMMAND_ACK
