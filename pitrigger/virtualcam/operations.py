"""The PTP operations the virtual body answers: one handler per opcode, in one table.

A handler takes the model and the decoded operation and returns the reply; it may change the
model's state through its methods. ``OPERATION_HANDLERS`` maps opcode -> handler; a new
operation (live view, stills, file data) is one function and one line in that table.
``VirtualEos5D2.handle`` applies faults and the session check before it looks here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.body import (
    CAPTURE_FORMATS_5D2,
    EOS_EVENTS,
    EOS_UNKNOWN_LIST,
    IMAGE_FORMATS_5D2,
    MANUFACTURER,
    SENSOR_SIZE,
    SERIAL_NUMBER,
    ZOOM_LEVELS,
)
from pitrigger.virtualcam.ptp import Op, Prop, Rc
from pitrigger.virtualcam.ptpip import Operation, Reply
from pitrigger.virtualcam.store import STORAGE_ID, file_bytes

if TYPE_CHECKING:
    from pitrigger.virtualcam.model import VirtualEos5D2

Handler = Callable[["VirtualEos5D2", Operation], Reply]

# The virtual body builds a data phase in memory: it refuses to build one larger than this
# (libgphoto2 reads files above 1 MiB with GetPartialObject in 1 MiB blocks anyway).
MAX_DATA_PHASE_BYTES = 256 * 1024 * 1024


def _first_param(operation: Operation) -> int:
    return operation.params[0] if operation.params else 0


# ---------------------------------------------------------------------- session & identity


def op_ok(cam: VirtualEos5D2, operation: Operation) -> Reply:
    return Reply(Rc.OK)


# ---------------------------------------------------------------------- live view


def op_get_viewfinder_data(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """EOS GetViewFinderData (0x9153): a frame while live view goes to the PC, else
    "not ready" (0xA102), which libgphoto2's capture_preview retries for up to 3 s.
    The renderer (numpy, Pillow, the scene) is loaded on the first frame asked for."""
    if not cam.evf_output & ptp.EVF_OUTPUT_PC:
        return Reply(Rc.CANON_NOT_READY)
    try:
        view = cam.ensure_live_view()
    except (ImportError, FileNotFoundError):
        # No numpy/Pillow/scene here (pip install 'pitrigger[scene]'): a body without frames.
        return Reply(Rc.CANON_NOT_READY)
    return Reply(Rc.OK, data=view.viewfinder_data(cam.zoom, cam.zoom_position))


def op_zoom(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """EOS Zoom (0x9158, libgphoto2's ``eoszoom``): 1, 5 or 10, in live view only."""
    if cam.evf_output == ptp.EVF_OUTPUT_OFF:
        return Reply(Rc.CANON_NOT_READY)
    zoom = _first_param(operation)
    if zoom not in ZOOM_LEVELS:
        return Reply(Rc.INVALID_PARAMETER)
    cam.zoom = zoom
    return Reply(Rc.OK)


def op_zoom_position(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """EOS ZoomPosition (0x9159, ``eoszoomposition`` "x,y"): the magnified area's centre
    in sensor pixels (an assumption about the body's units)."""
    if cam.evf_output == ptp.EVF_OUTPUT_OFF:
        return Reply(Rc.CANON_NOT_READY)
    x, y = (*operation.params, 0, 0)[:2]
    if not (0 <= x < SENSOR_SIZE[0] and 0 <= y < SENSOR_SIZE[1]):
        return Reply(Rc.INVALID_PARAMETER)
    cam.zoom_position = (x, y)
    return Reply(Rc.OK)


def op_remote_release_on(cam: VirtualEos5D2, operation: Operation) -> Reply:
    return cam.remote_release_on(_first_param(operation))


def op_remote_release_off(cam: VirtualEos5D2, operation: Operation) -> Reply:
    return cam.remote_release_off(_first_param(operation))


def op_remote_release(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """The older EOS capture 0x910F: press and let go in one; the outcome is parameter 1
    (0 = released; a PTP response code otherwise, which libgphoto2 reports as such)."""
    code = cam.remote_release_on(3).code
    cam.remote_release_off(3)
    return Reply(Rc.OK, params=(0 if code == Rc.OK else int(code),))


def op_get_device_info(cam: VirtualEos5D2, operation: Operation) -> Reply:
    data = b"".join((
        ptp.u16(100),  # StandardVersion
        ptp.u32(6),  # VendorExtensionID: Microsoft, as the body says; libgphoto2 -> Canon
        ptp.u16(100),
        ptp.ptp_string("microsoft.com: 1.0;"),
        ptp.u16(0),  # FunctionalMode
        ptp.u16_array(cam.body.operations),
        ptp.u16_array(cam.body.events),
        ptp.u16_array(cam.body.device_props),
        ptp.u16_array(CAPTURE_FORMATS_5D2),
        ptp.u16_array(IMAGE_FORMATS_5D2),
        ptp.ptp_string(MANUFACTURER),
        ptp.ptp_string(cam.body.model),
        ptp.ptp_string(cam.body.device_version),
        ptp.ptp_string(SERIAL_NUMBER),
    ))
    return Reply(Rc.OK, data=data)


def op_open_session(cam: VirtualEos5D2, operation: Operation) -> Reply:
    if cam.session_open:
        return Reply(Rc.SESSION_ALREADY_OPENED)
    if _first_param(operation) == 0:
        return Reply(Rc.INVALID_PARAMETER)
    cam.session_open = True
    cam.take_events()  # a new session starts with an empty queue
    return Reply(Rc.OK)


def op_close_session(cam: VirtualEos5D2, operation: Operation) -> Reply:
    cam.end_session()
    return Reply(Rc.OK)


# ---------------------------------------------------------------------- storage & objects


def op_get_storage_ids(cam: VirtualEos5D2, operation: Operation) -> Reply:
    return Reply(Rc.OK, data=ptp.u32_array([STORAGE_ID]))


def op_get_storage_info(cam: VirtualEos5D2, operation: Operation) -> Reply:
    if _first_param(operation) != STORAGE_ID:
        return Reply(Rc.INVALID_STORAGE_ID)
    data = b"".join((
        ptp.u16(ptp.STORAGE_TYPE_REMOVABLE_RAM),
        ptp.u16(ptp.FILESYSTEM_DCF),
        ptp.u16(ptp.ACCESS_READ_WRITE),
        ptp.u64(cam.settings.card_capacity_bytes),
        ptp.u64(int(cam.card_free)),
        ptp.u32(0xFFFFFFFF),  # free space in images: not reported
        ptp.ptp_string("CF"),
        ptp.ptp_string(""),
    ))
    return Reply(Rc.OK, data=data)


def op_get_num_objects(cam: VirtualEos5D2, operation: Operation) -> Reply:
    storage, _fmt, parent = (*operation.params, 0, 0, 0)[:3]
    children = cam.store.children(storage, parent)
    if children is None:
        return Reply(Rc.INVALID_OBJECT_HANDLE)
    return Reply(Rc.OK, params=(len(children),))


def op_get_object_handles(cam: VirtualEos5D2, operation: Operation) -> Reply:
    storage, _fmt, parent = (*operation.params, 0, 0, 0)[:3]
    children = cam.store.children(storage, parent)
    if children is None:
        return Reply(Rc.INVALID_OBJECT_HANDLE)
    return Reply(Rc.OK, data=ptp.u32_array(children))


def op_get_object_info(cam: VirtualEos5D2, operation: Operation) -> Reply:
    fields = cam.store.object_fields(_first_param(operation))
    if fields is None:
        return Reply(Rc.INVALID_OBJECT_HANDLE)
    object_format, size, name, parent, unix_time = fields
    folder = object_format == ptp.OFC_ASSOCIATION
    stamp = ptp.ptp_datetime(unix_time or cam.wall_time())
    data = b"".join((
        ptp.u32(STORAGE_ID), ptp.u16(object_format), ptp.u16(0), ptp.u32(size),
        ptp.u16(0), ptp.u32(0), ptp.u32(0), ptp.u32(0),  # no thumbnail
        ptp.u32(1920 if not folder else 0), ptp.u32(1080 if not folder else 0), ptp.u32(0),
        ptp.u32(parent), ptp.u16(ptp.ASSOCIATION_GENERIC_FOLDER if folder else 0),
        ptp.u32(0), ptp.u32(0),
        ptp.ptp_string(name), ptp.ptp_string(stamp), ptp.ptp_string(stamp),
        ptp.ptp_string(""),
    ))
    return Reply(Rc.OK, data=data)


def op_get_object_info_ex(cam: VirtualEos5D2, operation: Operation) -> Reply:
    storage, parent = (*operation.params, 0, 0)[:2]
    children = cam.store.children(storage, parent)
    if children is None:
        return Reply(Rc.INVALID_OBJECT_HANDLE)
    entries = []
    for handle in children:
        fields = cam.store.object_fields(handle)
        assert fields is not None
        object_format, size, name, _parent, unix_time = fields
        attributes = 0x10 if object_format == ptp.OFC_ASSOCIATION else 0x20  # FAT dir/file
        entries.append(ptp.eos_folder_entry(handle, STORAGE_ID, object_format, attributes,
                                            size, name, int(unix_time)))
    return Reply(Rc.OK, data=ptp.u32(len(entries)) + b"".join(entries))


def _object_data(cam: VirtualEos5D2, handle: int, offset: int, max_bytes: int) -> Reply:
    content = cam.store.content_of(handle)
    if content is None:
        return Reply(Rc.INVALID_OBJECT_HANDLE)
    name, size = content
    length = max(0, min(max_bytes, size - offset))
    if length > MAX_DATA_PHASE_BYTES:
        return Reply(Rc.GENERAL_ERROR)  # a limit of the virtual body, see docs
    return Reply(Rc.OK, data=file_bytes(name, offset, length), params=(length,))


def op_get_object(cam: VirtualEos5D2, operation: Operation) -> Reply:
    reply = _object_data(cam, _first_param(operation), 0, 0xFFFFFFFF)
    return Reply(reply.code, data=reply.data)


def op_get_partial_object(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """GetPartialObject 0x101B (handle, offset, max bytes): the bytes, and their count as
    parameter 1. libgphoto2 reads EOS files above 1 MiB this way, 1 MiB at a time."""
    handle, offset, max_bytes = (*operation.params, 0, 0, 0)[:3]
    return _object_data(cam, handle, offset, max_bytes)


def op_eos_get_partial_object(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """Canon's own GetPartialObject 0x9107 (handle, offset, size): listed by the body, not
    used by libgphoto2 2.5.34 (its calls are commented out); same bytes, no parameter."""
    handle, offset, max_bytes = (*operation.params, 0, 0, 0)[:3]
    reply = _object_data(cam, handle, offset, max_bytes)
    return Reply(reply.code, data=reply.data)


def op_transfer_complete(cam: VirtualEos5D2, operation: Operation) -> Reply:
    cam.store.transfer_complete(_first_param(operation))
    return Reply(Rc.OK)


def op_delete_object(cam: VirtualEos5D2, operation: Operation) -> Reply:
    freed = cam.store.delete(_first_param(operation))
    if freed is None:
        return Reply(Rc.INVALID_OBJECT_HANDLE)
    cam.card_free = min(float(cam.settings.card_capacity_bytes), cam.card_free + freed)
    return Reply(Rc.OK)


# ---------------------------------------------------------------------- standard properties


def _standard_prop(cam: VirtualEos5D2, code: int) -> tuple[int, int, str | int] | None:
    """(data type, get/set, value) of the body's three standard properties."""
    if code == ptp.PROP_DEVICE_FRIENDLY_NAME:
        return ptp.DataType.STR, 0, cam.body.model
    if code == ptp.PROP_PERCEIVED_DEVICE_TYPE:
        return ptp.DataType.UINT32, 0, 1
    if code == ptp.PROP_SESSION_INITIATOR_INFO:
        return ptp.DataType.STR, 1, "Unknown Initiator"
    return None


def _pack_value(value: str | int) -> bytes:
    return ptp.ptp_string(value) if isinstance(value, str) else ptp.u32(value)


def op_get_device_prop_desc(cam: VirtualEos5D2, operation: Operation) -> Reply:
    prop = _standard_prop(cam, _first_param(operation))
    if prop is None:
        return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)
    data_type, get_set, value = prop
    packed = _pack_value(value)
    data = (ptp.u16(operation.params[0]) + ptp.u16(data_type) + ptp.u8(get_set)
            + packed + packed + ptp.u8(0))
    return Reply(Rc.OK, data=data)


def op_get_device_prop_value(cam: VirtualEos5D2, operation: Operation) -> Reply:
    prop = _standard_prop(cam, _first_param(operation))
    if prop is None:
        return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)
    return Reply(Rc.OK, data=_pack_value(prop[2]))


# ---------------------------------------------------------------------- Canon EOS


def op_get_device_info_ex(cam: VirtualEos5D2, operation: Operation) -> Reply:
    props = [Prop.BATTERY_POWER, Prop.AUTO_POWER_OFF, Prop.OWNER, Prop.AVAILABLE_SHOTS,
             Prop.CAPTURE_DESTINATION, Prop.CURRENT_STORAGE, Prop.SERIAL_NUMBER,
             Prop.EVF_OUTPUT_DEVICE, Prop.EVF_MODE, Prop.ARTIST, Prop.COPYRIGHT]
    if cam.remote_movie != "hidden":
        props.append(Prop.EVF_RECORD_STATUS)
    body = (ptp.u32_array(EOS_EVENTS) + ptp.u32_array(props)
            + ptp.u32_array(EOS_UNKNOWN_LIST))
    return Reply(Rc.OK, data=ptp.u32(4 + len(body)) + body)


def op_set_remote_mode(cam: VirtualEos5D2, operation: Operation) -> Reply:
    cam.remote_mode = _first_param(operation)
    return Reply(Rc.OK)


def op_get_remote_mode(cam: VirtualEos5D2, operation: Operation) -> Reply:
    return Reply(Rc.OK, params=(cam.remote_mode,))


def op_set_event_mode(cam: VirtualEos5D2, operation: Operation) -> Reply:
    mode = _first_param(operation)
    if mode and not cam.event_mode:
        cam.queue_all_props()
    cam.event_mode = mode
    return Reply(Rc.OK)


def op_get_event(cam: VirtualEos5D2, operation: Operation) -> Reply:
    return Reply(Rc.OK, data=cam.take_events() + ptp.EOS_EVENT_TERMINATOR)


def op_pc_hdd_capacity(cam: VirtualEos5D2, operation: Operation) -> Reply:
    cam.pc_capacity_known = True
    if cam.capture_destination == ptp.CAPTURE_DEST_PC:
        cam.queue_prop(Prop.AVAILABLE_SHOTS)
    return Reply(Rc.OK)


def op_request_device_prop_value(cam: VirtualEos5D2, operation: Operation) -> Reply:
    code = _first_param(operation)
    if cam.prop_value(code) is None:
        return Reply(Rc.GENERAL_ERROR)  # what libgphoto2 expects for an absent property
    cam.queue_prop(code)
    return Reply(Rc.OK)


def op_set_device_prop_value_ex(cam: VirtualEos5D2, operation: Operation) -> Reply:
    data = operation.data or b""
    if len(data) < 12:
        return Reply(Rc.INVALID_PARAMETER)
    size, code = struct.unpack_from("<II", data, 0)
    payload = data[8:size] if 8 < size <= len(data) else data[8:]
    if code in cam.strings and code != Prop.SERIAL_NUMBER:
        cam.strings[Prop(code)] = payload.split(b"\x00", 1)[0].decode("ascii", "replace")
        cam.queue_prop(code)
        return Reply(Rc.OK)
    value = struct.unpack_from("<I", payload.ljust(4, b"\x00"), 0)[0]
    if code == Prop.EVF_RECORD_STATUS:
        return cam.set_record_status(value & 0xFFFF)
    if code == Prop.EVF_OUTPUT_DEVICE:
        return cam.set_evf_output(value)
    if code == Prop.CAPTURE_DESTINATION:
        if value not in (ptp.CAPTURE_DEST_CARD, ptp.CAPTURE_DEST_PC):
            return Reply(Rc.INVALID_PARAMETER)
        cam.capture_destination = value
        cam.queue_prop(Prop.CAPTURE_DESTINATION)
        cam.queue_prop(Prop.AVAILABLE_SHOTS)
        return Reply(Rc.OK)
    if code == Prop.EVF_MODE:
        if value not in (0, 1):
            return Reply(Rc.INVALID_PARAMETER)
        cam.evf_mode = value
        cam.queue_prop(Prop.EVF_MODE)
        return Reply(Rc.OK)
    return Reply(Rc.DEVICE_PROP_NOT_SUPPORTED)


# ---------------------------------------------------------------------- the table

OPERATION_HANDLERS: dict[int, Handler] = {
    Op.GET_DEVICE_INFO: op_get_device_info,
    Op.OPEN_SESSION: op_open_session,
    Op.CLOSE_SESSION: op_close_session,
    Op.GET_STORAGE_IDS: op_get_storage_ids,
    Op.EOS_GET_STORAGE_IDS: op_get_storage_ids,
    Op.GET_STORAGE_INFO: op_get_storage_info,
    Op.EOS_GET_STORAGE_INFO: op_get_storage_info,
    Op.GET_NUM_OBJECTS: op_get_num_objects,
    Op.GET_OBJECT_HANDLES: op_get_object_handles,
    Op.GET_OBJECT_INFO: op_get_object_info,
    Op.GET_OBJECT: op_get_object,
    Op.GET_PARTIAL_OBJECT: op_get_partial_object,
    Op.EOS_GET_PARTIAL_OBJECT: op_eos_get_partial_object,
    Op.EOS_GET_OBJECT_INFO_EX: op_get_object_info_ex,
    Op.DELETE_OBJECT: op_delete_object,
    Op.GET_DEVICE_PROP_DESC: op_get_device_prop_desc,
    Op.GET_DEVICE_PROP_VALUE: op_get_device_prop_value,
    Op.SET_DEVICE_PROP_VALUE: op_ok,
    Op.EOS_GET_DEVICE_INFO_EX: op_get_device_info_ex,
    Op.EOS_SET_DEVICE_PROP_VALUE_EX: op_set_device_prop_value_ex,
    Op.EOS_SET_REMOTE_MODE: op_set_remote_mode,
    Op.EOS_GET_REMOTE_MODE: op_get_remote_mode,
    Op.EOS_SET_EVENT_MODE: op_set_event_mode,
    Op.EOS_GET_EVENT: op_get_event,
    Op.EOS_PC_HDD_CAPACITY: op_pc_hdd_capacity,
    Op.EOS_KEEP_DEVICE_ON: op_ok,
    Op.EOS_REQUEST_DEVICE_PROP_VALUE: op_request_device_prop_value,
    Op.EOS_SET_UI_LOCK: op_ok,
    Op.EOS_RESET_UI_LOCK: op_ok,
    Op.EOS_AF_CANCEL: op_ok,
    Op.EOS_TRANSFER_COMPLETE: op_transfer_complete,
    Op.EOS_GET_VIEWFINDER_DATA: op_get_viewfinder_data,
    Op.EOS_ZOOM: op_zoom,
    Op.EOS_ZOOM_POSITION: op_zoom_position,
    Op.EOS_REMOTE_RELEASE: op_remote_release,
    Op.EOS_REMOTE_RELEASE_ON: op_remote_release_on,
    Op.EOS_REMOTE_RELEASE_OFF: op_remote_release_off,
}


def execute(cam: VirtualEos5D2, operation: Operation) -> Reply:
    """Answer one operation from the table (faults and power are the model's business)."""
    if operation.code not in (Op.GET_DEVICE_INFO, Op.OPEN_SESSION) and not cam.session_open:
        return Reply(Rc.SESSION_NOT_OPEN)
    if operation.code not in cam.body.operations:
        return Reply(Rc.OPERATION_NOT_SUPPORTED)
    handler = OPERATION_HANDLERS.get(operation.code)
    if handler is None:
        return Reply(Rc.GENERAL_ERROR)  # listed by the body, not modelled here
    return handler(cam, operation)
