"""PTP and Canon EOS codes plus the little-endian packing the virtual camera needs.

Pure data and functions: no sockets, no clock. Layouts follow libgphoto2's ``ptp-pack.c``
(``ptp_unpack_DI``, ``ptp_unpack_SI``, ``ptp_unpack_OI``, ``ptp_unpack_EOS_events``,
``ptp_unpack_Canon_EOS_FE``), which is what the host will parse.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from enum import IntEnum


class Op(IntEnum):
    """Operation codes the responder understands (a subset of what the 5D Mark II lists)."""

    GET_DEVICE_INFO = 0x1001
    OPEN_SESSION = 0x1002
    CLOSE_SESSION = 0x1003
    GET_STORAGE_IDS = 0x1004
    GET_STORAGE_INFO = 0x1005
    GET_NUM_OBJECTS = 0x1006
    GET_OBJECT_HANDLES = 0x1007
    GET_OBJECT_INFO = 0x1008
    GET_OBJECT = 0x1009
    GET_THUMB = 0x100A
    DELETE_OBJECT = 0x100B
    GET_DEVICE_PROP_DESC = 0x1014
    GET_DEVICE_PROP_VALUE = 0x1015
    SET_DEVICE_PROP_VALUE = 0x1016
    GET_PARTIAL_OBJECT = 0x101B
    EOS_GET_STORAGE_IDS = 0x9101
    EOS_GET_STORAGE_INFO = 0x9102
    EOS_GET_PARTIAL_OBJECT = 0x9107
    EOS_GET_DEVICE_INFO_EX = 0x9108
    EOS_GET_OBJECT_INFO_EX = 0x9109
    EOS_REMOTE_RELEASE = 0x910F
    EOS_SET_DEVICE_PROP_VALUE_EX = 0x9110
    EOS_GET_REMOTE_MODE = 0x9113
    EOS_SET_REMOTE_MODE = 0x9114
    EOS_SET_EVENT_MODE = 0x9115
    EOS_GET_EVENT = 0x9116
    EOS_TRANSFER_COMPLETE = 0x9117
    EOS_PC_HDD_CAPACITY = 0x911A
    EOS_SET_UI_LOCK = 0x911B
    EOS_RESET_UI_LOCK = 0x911C
    EOS_KEEP_DEVICE_ON = 0x911D
    EOS_REQUEST_DEVICE_PROP_VALUE = 0x9127
    EOS_REMOTE_RELEASE_ON = 0x9128
    EOS_REMOTE_RELEASE_OFF = 0x9129
    EOS_GET_VIEWFINDER_DATA = 0x9153
    EOS_ZOOM = 0x9158
    EOS_ZOOM_POSITION = 0x9159
    EOS_AF_CANCEL = 0x9160


def op_name(code: int) -> str:
    """``Op`` name for logs and control answers, else the hex code."""
    try:
        return Op(code).name
    except ValueError:
        return f"0x{code:04X}"


class Rc(IntEnum):
    """Response codes (PTP standard and the Canon ones libgphoto2 knows)."""

    OK = 0x2001
    GENERAL_ERROR = 0x2002
    SESSION_NOT_OPEN = 0x2003
    OPERATION_NOT_SUPPORTED = 0x2005
    PARAMETER_NOT_SUPPORTED = 0x2006
    INVALID_STORAGE_ID = 0x2008
    INVALID_OBJECT_HANDLE = 0x2009
    DEVICE_PROP_NOT_SUPPORTED = 0x200A
    STORE_FULL = 0x200C
    ACCESS_DENIED = 0x200F
    DEVICE_BUSY = 0x2019
    INVALID_PARAMETER = 0x201D
    SESSION_ALREADY_OPENED = 0x201E
    CANON_LOW_BATTERY = 0xA101
    CANON_NOT_READY = 0xA102


class EosEvent(IntEnum):
    """Record codes inside a Canon EOS GetEvent (0x9116) reply."""

    OBJECT_ADDED_EX = 0xC181
    REQUEST_OBJECT_TRANSFER = 0xC186
    PROP_VALUE_CHANGED = 0xC189
    AVAIL_LIST_CHANGED = 0xC18A


class Prop(IntEnum):
    """Canon EOS device properties the model reports (ptp.h PTP_DPC_CANON_EOS_*)."""

    BATTERY_POWER = 0xD111
    AUTO_POWER_OFF = 0xD114
    OWNER = 0xD115
    AVAILABLE_SHOTS = 0xD11B
    CAPTURE_DESTINATION = 0xD11C
    CURRENT_STORAGE = 0xD11E
    CURRENT_FOLDER = 0xD11F
    SERIAL_NUMBER = 0xD1AF
    EVF_OUTPUT_DEVICE = 0xD1B0
    EVF_MODE = 0xD1B1
    EVF_RECORD_STATUS = 0xD1B8
    ARTIST = 0xD1D0
    COPYRIGHT = 0xD1D1


# Standard (non-EOS) properties of the 5D Mark II's DeviceInfo, served by GetDevicePropDesc.
PROP_DEVICE_FRIENDLY_NAME = 0xD402
PROP_PERCEIVED_DEVICE_TYPE = 0xD407
PROP_SESSION_INITIATOR_INFO = 0xD406


class DataType(IntEnum):
    UINT16 = 0x0004
    INT32 = 0x0005
    UINT32 = 0x0006
    STR = 0xFFFF


# EVFOutputDevice values: 1 = the camera's own LCD ("TFT"), 2 = the PC.
EVF_OUTPUT_OFF = 0
EVF_OUTPUT_TFT = 1
EVF_OUTPUT_PC = 2

# EVFRecordStatus (libgphoto2 widget "movierecordtarget"): None / SDRAM / Card.
RECORD_TARGET_NONE = 0
RECORD_TARGET_SDRAM = 3
RECORD_TARGET_CARD = 4

# CaptureDestination values libgphoto2 uses: 1 = card, 4 = PC ("HD").
CAPTURE_DEST_CARD = 1
CAPTURE_DEST_PC = 4

# EOS BatteryPower levels as libgphoto2 names them (_get_Canon_EOS_BatteryLevel).
BATTERY_LEVEL_LOW = 0
BATTERY_LEVEL_50 = 1
BATTERY_LEVEL_100 = 2
BATTERY_LEVEL_75 = 4
BATTERY_LEVEL_25 = 5

OFC_ASSOCIATION = 0x3001
OFC_EXIF_JPEG = 0x3801
OFC_CANON_CR2 = 0xB103  # ptp.h PTP_OFC_CANON_CRW3
OFC_CANON_MOV = 0xB104
OFC_CANON_THM = 0xBF02  # a guess: the 5D Mark II lists 0xBF02 among its formats
ASSOCIATION_GENERIC_FOLDER = 0x0001
HANDLE_ALL = 0xFFFFFFFF

STORAGE_TYPE_REMOVABLE_RAM = 0x0004
FILESYSTEM_DCF = 0x0003
ACCESS_READ_WRITE = 0x0000


def u8(value: int) -> bytes:
    return struct.pack("<B", value)


def u16(value: int) -> bytes:
    return struct.pack("<H", value)


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def ptp_string(text: str) -> bytes:
    """PTP string: 8-bit count of UCS-2 units including the terminator; empty is one 0 byte."""
    if not text:
        return b"\x00"
    units = text.encode("utf-16-le") + b"\x00\x00"
    count = len(units) // 2
    if count > 255:
        raise ValueError(f"PTP string too long: {text!r}")
    return u8(count) + units


def u16_array(values: Iterable[int]) -> bytes:
    items = list(values)
    return u32(len(items)) + b"".join(u16(v) for v in items)


def u32_array(values: Iterable[int]) -> bytes:
    items = list(values)
    return u32(len(items)) + b"".join(u32(v) for v in items)


def eos_prop_value_record(code: int, value: int | str) -> bytes:
    """PropValueChanged record; numbers are sent as 32 bits (libgphoto2 reads the low bytes).

    EOS bodies send string properties as plain ASCII with a terminator (ptp-pack.c notes this
    for the 5D Mark II), not as PTP strings.
    """
    body = (value.encode("ascii") + b"\x00") if isinstance(value, str) else u32(value)
    return u32(12 + len(body)) + u32(EosEvent.PROP_VALUE_CHANGED) + u32(code) + body


def eos_avail_list_record(code: int, values: Iterable[int]) -> bytes:
    """AvailListChanged record of type 3 (an enumeration of 32-bit slots)."""
    items = list(values)
    body = u32(3) + u32(len(items)) + b"".join(u32(v) for v in items)
    return u32(12 + len(body)) + u32(EosEvent.AVAIL_LIST_CHANGED) + u32(code) + body


def eos_object_added_record(
    handle: int, storage_id: int, object_format: int, size: int, parent: int, name: str
) -> bytes:
    """ObjectAddedEx record: handle 0x08, storage 0x0C, format 0x10, size 0x1C, parent 0x20,
    ASCII name 0x28 (ptp-pack.c PTP_cee_OA_*); padded to 4 bytes."""
    record = bytearray(0x28)
    struct.pack_into("<IIIIH", record, 0, 0, EosEvent.OBJECT_ADDED_EX, handle, storage_id,
                     object_format)
    struct.pack_into("<II", record, 0x1C, size, parent)
    record += name.encode("ascii") + b"\x00"
    record += b"\x00" * (-len(record) % 4)
    struct.pack_into("<I", record, 0, len(record))
    return bytes(record)


def eos_request_transfer_record(handle: int, object_format: int, size: int, name: str) -> bytes:
    """RequestObjectTransfer record (a capture to the PC): handle 0x08, format 0x0C, size
    0x14, ASCII name 0x1C (ptp-pack.c PTP_cee_OI_*); the other bytes are not read."""
    record = bytearray(0x1C)
    struct.pack_into("<IIIH", record, 0, 0, EosEvent.REQUEST_OBJECT_TRANSFER, handle,
                     object_format)
    struct.pack_into("<I", record, 0x14, size)
    record += name.encode("ascii") + b"\x00"
    record += b"\x00" * (-len(record) % 4)
    struct.pack_into("<I", record, 0, len(record))
    return bytes(record)


# GetEvent replies end with an 8-byte {size 8, code 0} record (ptp_unpack_EOS_events
# drops the last real record when it is missing).
EOS_EVENT_TERMINATOR = u32(8) + u32(0)


def eos_folder_entry(
    handle: int, storage_id: int, object_format: int, attributes: int, size: int, name: str,
    unix_time: int,
) -> bytes:
    """One GetObjectInfoEx (0x9109) entry: 4-byte size then 52 bytes (ptp_unpack_Canon_EOS_FE)."""
    entry = bytearray(56)
    struct.pack_into("<IIIH", entry, 0, len(entry), handle, storage_id, object_format)
    struct.pack_into("<BxxxI", entry, 4 + 16, attributes, size)
    encoded = name.encode("ascii")[:12] + b"\x00"
    entry[4 + 32 : 4 + 32 + len(encoded)] = encoded
    struct.pack_into("<I", entry, 4 + 48, unix_time)
    return bytes(entry)


def ptp_datetime(unix_time: float) -> str:
    """PTP date string YYYYMMDDThhmmss (UTC: the virtual body has no time zone)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(unix_time))
