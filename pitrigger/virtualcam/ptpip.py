"""PTP/IP framing as libgphoto2's ``camlibs/ptp2/ptpip.c`` speaks it, without any I/O.

``PacketReader`` cuts a byte stream into packets; ``CommandChannel`` turns command-connection
packets into complete ``Operation`` objects (collecting a host-to-device data phase) and
encodes replies (device-to-host data in 64 KiB blocks, then the response).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from pitrigger.virtualcam.ptp import u32, u64

HEADER_SIZE = 8
DATA_BLOCK_SIZE = 65536  # libgphoto2 WRITE_BLOCKSIZE; we use the same for replies
MAX_PACKET_SIZE = 16 * 1024 * 1024  # sanity bound: anything larger is a framing error


class PacketType(IntEnum):
    INIT_COMMAND_REQUEST = 1
    INIT_COMMAND_ACK = 2
    INIT_EVENT_REQUEST = 3
    INIT_EVENT_ACK = 4
    INIT_FAIL = 5
    CMD_REQUEST = 6
    CMD_RESPONSE = 7
    EVENT = 8
    START_DATA = 9
    DATA = 10
    CANCEL = 11
    END_DATA = 12
    PROBE_REQUEST = 13
    PROBE_RESPONSE = 14


# Init_Fail reasons (PTP/IP, CIPA DC-005): the camera serves one initiator at a time.
INIT_FAIL_REJECTED = 1
INIT_FAIL_BUSY = 2

DATAPHASE_NONE_OR_IN = 1
DATAPHASE_OUT = 2


class ProtocolError(Exception):
    """The peer sent something that is not PTP/IP as libgphoto2 writes it."""


@dataclass(frozen=True)
class Packet:
    type: int
    payload: bytes


@dataclass(frozen=True)
class Operation:
    """One PTP transaction request; ``data`` is the host-to-device payload, if any."""

    code: int
    transaction_id: int
    params: tuple[int, ...]
    data: bytes | None = None


@dataclass(frozen=True)
class Reply:
    """The camera's answer. ``data`` None means no data phase (errors never carry one);
    ``delay_s`` > 0 asks the transport to send it that much later (a slow camera)."""

    code: int
    params: tuple[int, ...] = ()
    data: bytes | None = None
    delay_s: float = 0.0


def encode_packet(packet_type: int, payload: bytes = b"") -> bytes:
    return struct.pack("<II", HEADER_SIZE + len(payload), packet_type) + payload


class PacketReader:
    """Accumulates received bytes and yields whole packets."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        packets: list[Packet] = []
        while len(self._buffer) >= HEADER_SIZE:
            length, packet_type = struct.unpack_from("<II", self._buffer, 0)
            if length < HEADER_SIZE or length > MAX_PACKET_SIZE:
                raise ProtocolError(f"bad PTP/IP packet length {length}")
            if len(self._buffer) < length:
                break
            packets.append(Packet(packet_type, bytes(self._buffer[HEADER_SIZE:length])))
            del self._buffer[:length]
        return packets


def utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\x00\x00"


def decode_utf16z(data: bytes) -> tuple[str, int]:
    """Decode a NUL-terminated UTF-16LE string; return it and the bytes consumed."""
    for index in range(0, len(data) - 1, 2):
        if data[index] == 0 and data[index + 1] == 0:
            return data[:index].decode("utf-16-le", errors="replace"), index + 2
    raise ProtocolError("unterminated UTF-16 string")


@dataclass(frozen=True)
class InitCommandRequest:
    guid: bytes
    host_name: str
    version: int


def parse_init_command_request(payload: bytes) -> InitCommandRequest:
    if len(payload) < 16 + 2:
        raise ProtocolError("short Init_Command_Request")
    name, used = decode_utf16z(payload[16:])
    rest = payload[16 + used :]
    version = struct.unpack_from("<I", rest, 0)[0] if len(rest) >= 4 else 0
    return InitCommandRequest(bytes(payload[:16]), name, version)


def encode_init_command_ack(connection_number: int, guid: bytes, name: str) -> bytes:
    # libgphoto2 reads the name up to its UTF-16 NUL, then ignores the rest (version).
    payload = u32(connection_number) + guid + utf16z(name) + u32(0x00010000)
    return encode_packet(PacketType.INIT_COMMAND_ACK, payload)


def encode_init_fail(reason: int) -> bytes:
    return encode_packet(PacketType.INIT_FAIL, u32(reason))


def encode_init_event_ack() -> bytes:
    return encode_packet(PacketType.INIT_EVENT_ACK)


def parse_init_event_request(payload: bytes) -> int:
    if len(payload) < 4:
        raise ProtocolError("short Init_Event_Request")
    return int(struct.unpack_from("<I", payload, 0)[0])


def encode_reply(transaction_id: int, reply: Reply) -> bytes:
    """Data phase (if any) then Cmd_Response, as one buffer for a single send."""
    chunks: list[bytes] = []
    if reply.data is not None:
        data = reply.data
        chunks.append(encode_packet(PacketType.START_DATA,
                                    u32(transaction_id) + u64(len(data))))
        offset = 0
        while True:
            block = data[offset : offset + DATA_BLOCK_SIZE]
            offset += len(block)
            last = offset >= len(data)
            packet_type = PacketType.END_DATA if last else PacketType.DATA
            chunks.append(encode_packet(packet_type, u32(transaction_id) + block))
            if last:
                break
    params = b"".join(u32(p) for p in reply.params)
    chunks.append(encode_packet(PacketType.CMD_RESPONSE,
                                struct.pack("<HI", reply.code, transaction_id) + params))
    return b"".join(chunks)


class CommandChannel:
    """Assembles operations from Cmd_Request and host-to-device data packets."""

    def __init__(self) -> None:
        self._pending: Operation | None = None  # request waiting for its data phase
        self._expected = 0
        self._received = bytearray()
        self._started = False

    @property
    def awaiting_data(self) -> bool:
        return self._pending is not None

    def receive(self, packet: Packet) -> Operation | None:
        """Feed one command-connection packet; return an operation once it is complete."""
        if packet.type == PacketType.CMD_REQUEST:
            if self._pending is not None:
                raise ProtocolError("Cmd_Request while a data phase is open")
            if len(packet.payload) < 10:
                raise ProtocolError("short Cmd_Request")
            dataphase, code, transaction_id = struct.unpack_from("<IHI", packet.payload, 0)
            raw = packet.payload[10:]
            params = tuple(struct.unpack_from(f"<{len(raw) // 4}I", raw, 0))
            operation = Operation(code, transaction_id, params)
            if dataphase == DATAPHASE_OUT:
                self._pending = operation
                self._expected = 0
                self._received = bytearray()
                self._started = False
                return None
            return operation
        if packet.type in (PacketType.START_DATA, PacketType.DATA, PacketType.END_DATA):
            return self._receive_data(packet)
        if packet.type == PacketType.CANCEL:
            self._pending = None
            return None
        raise ProtocolError(f"unexpected packet type {packet.type} on the command connection")

    def _receive_data(self, packet: Packet) -> Operation | None:
        if self._pending is None:
            raise ProtocolError("data packet without a pending host-to-device request")
        if packet.type == PacketType.START_DATA:
            if len(packet.payload) < 12:
                raise ProtocolError("short Start_Data")
            _, self._expected = struct.unpack_from("<IQ", packet.payload, 0)
            self._started = True
            if self._expected == 0:  # libgphoto2 sends no Data/End_Data for an empty phase
                return self._complete()
            return None
        if not self._started:
            raise ProtocolError("Data before Start_Data")
        self._received += packet.payload[4:]
        if len(self._received) > self._expected:
            raise ProtocolError("more data than announced in Start_Data")
        if packet.type == PacketType.END_DATA:
            return self._complete()
        return None

    def _complete(self) -> Operation:
        assert self._pending is not None
        pending = self._pending
        operation = Operation(pending.code, pending.transaction_id, pending.params,
                              bytes(self._received))
        self._pending = None
        self._received = bytearray()
        return operation
