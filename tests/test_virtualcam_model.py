"""The virtual camera without sockets: the pure model (fake clock) and the PTP/IP framing.

Replies are decoded here the way libgphoto2's ptp-pack.c decodes them, so a layout mistake
shows up without a camera library.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.model import (
    CLIP_MAX_BYTES,
    DCIM_HANDLE,
    FOLDER_HANDLE,
    MOVIE_BYTES_PER_S,
    STORAGE_ID,
    CameraSettings,
    VirtualEos5D2,
    parse_operation_name,
)
from pitrigger.virtualcam.ptp import Op, Prop, Rc
from pitrigger.virtualcam.ptpip import (
    DATA_BLOCK_SIZE,
    CommandChannel,
    Operation,
    Packet,
    PacketReader,
    PacketType,
    ProtocolError,
    Reply,
    encode_packet,
    encode_reply,
)
from pitrigger.virtualcam.store import file_bytes


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_camera(**settings: object) -> tuple[VirtualEos5D2, FakeClock]:
    clock = FakeClock()
    camera = VirtualEos5D2(CameraSettings(**settings), clock=clock,  # type: ignore[arg-type]
                           wall_clock=lambda: 1_700_000_000.0)
    return camera, clock


_next_tid = iter(range(1, 1_000_000))


def call(camera: VirtualEos5D2, code: int, *params: int, data: bytes | None = None) -> Reply:
    reply = camera.handle(Operation(code, next(_next_tid), params, data))
    assert reply is not None
    return reply


def data_of(camera: VirtualEos5D2, code: int, *params: int) -> bytes:
    reply = call(camera, code, *params)
    assert reply.code == Rc.OK and reply.data is not None
    return reply.data


def set_prop(camera: VirtualEos5D2, code: int, value: int) -> int:
    data = struct.pack("<III", 12, code, value)
    return int(call(camera, Op.EOS_SET_DEVICE_PROP_VALUE_EX, data=data).code)


def open_prepared(camera: VirtualEos5D2) -> None:
    """OpenSession + SetEventMode(1) + first GetEvent, as camera_prepare does."""
    assert call(camera, Op.OPEN_SESSION, 1).code == Rc.OK
    assert call(camera, Op.EOS_SET_EVENT_MODE, 1).code == Rc.OK
    events(camera)


def events(camera: VirtualEos5D2) -> list[tuple[int, int, bytes]]:
    """GetEvent records as (code, first parameter, rest), decoded like ptp_unpack_EOS_events."""
    reply = call(camera, Op.EOS_GET_EVENT)
    assert reply.code == Rc.OK and reply.data is not None
    data, offset = reply.data, 0
    records: list[tuple[int, int, bytes]] = []
    while True:
        size, code = struct.unpack_from("<II", data, offset)
        if size == 8 and code == 0:
            assert offset + 8 == len(data)  # the terminator is last
            return records
        assert size >= 12 and offset + size < len(data)
        first = struct.unpack_from("<I", data, offset + 8)[0]
        records.append((code, first, data[offset + 12 : offset + size]))
        offset += size


def prop_changes(records: list[tuple[int, int, bytes]]) -> list[tuple[int, int]]:
    return [(first, struct.unpack_from("<I", rest)[0]) for code, first, rest in records
            if code == ptp.EosEvent.PROP_VALUE_CHANGED and len(rest) == 4]


def added_names(records: list[tuple[int, int, bytes]]) -> list[str]:
    names = []
    for code, _handle, rest in records:
        if code == ptp.EosEvent.OBJECT_ADDED_EX:
            names.append(rest[0x28 - 12 :].split(b"\x00", 1)[0].decode())
    return names


def decode_ptp_string(data: bytes, offset: int) -> tuple[str, int]:
    count = data[offset]
    if count == 0:
        return "", offset + 1
    raw = data[offset + 1 : offset + 1 + 2 * count]
    return raw.decode("utf-16-le").rstrip("\x00"), offset + 1 + 2 * count


def decode_u16_array(data: bytes, offset: int) -> tuple[list[int], int]:
    (count,) = struct.unpack_from("<I", data, offset)
    values = list(struct.unpack_from(f"<{count}H", data, offset + 4))
    return values, offset + 4 + 2 * count


# ---------------------------------------------------------------------- identity & session


def test_device_info_is_a_5d_mark_ii_as_libgphoto2_parses_it() -> None:
    camera, _ = make_camera()
    data = data_of(camera, Op.GET_DEVICE_INFO)
    _standard, vendor_id, _version = struct.unpack_from("<HIH", data, 0)
    assert vendor_id == 6
    _desc, offset = decode_ptp_string(data, 8)
    offset += 2  # FunctionalMode
    operations, offset = decode_u16_array(data, offset)
    for _ in range(4):  # events, properties, capture formats, image formats
        _, offset = decode_u16_array(data, offset)
    manufacturer, offset = decode_ptp_string(data, offset)
    model, offset = decode_ptp_string(data, offset)
    assert (manufacturer, model) == ("Canon Inc.", "Canon EOS 5D Mark II")
    assert {0x910F, 0x9110, 0x9114, 0x9115, 0x9116, 0x9127, 0x9128, 0x911D, 0x9153} <= set(
        operations)
    assert not {0x9151, 0x9152, 0x9133, 0x9134, 0x913D} & set(operations)


def test_operations_need_an_open_session() -> None:
    camera, _ = make_camera()
    assert call(camera, Op.EOS_GET_EVENT).code == Rc.SESSION_NOT_OPEN
    assert call(camera, Op.OPEN_SESSION, 1).code == Rc.OK
    assert call(camera, Op.OPEN_SESSION, 1).code == Rc.SESSION_ALREADY_OPENED
    assert call(camera, Op.CLOSE_SESSION).code == Rc.OK
    assert camera.session_open is False


def test_event_mode_starts_with_every_property_then_only_changes() -> None:
    camera, _ = make_camera()
    call(camera, Op.OPEN_SESSION, 1)
    call(camera, Op.EOS_SET_EVENT_MODE, 1)
    first = events(camera)
    reported = dict(prop_changes(first))
    assert reported[Prop.EVF_RECORD_STATUS] == ptp.RECORD_TARGET_NONE
    assert reported[Prop.EVF_OUTPUT_DEVICE] == ptp.EVF_OUTPUT_OFF
    assert reported[Prop.AVAILABLE_SHOTS] > 0
    assert events(camera) == []


def test_hidden_remote_movie_never_reports_d1b8() -> None:
    camera, _ = make_camera(remote_movie="hidden")
    call(camera, Op.OPEN_SESSION, 1)
    call(camera, Op.EOS_SET_EVENT_MODE, 1)
    assert Prop.EVF_RECORD_STATUS not in dict(prop_changes(events(camera)))
    assert set_prop(camera, Prop.EVF_RECORD_STATUS, 4) == Rc.DEVICE_PROP_NOT_SUPPORTED


# ---------------------------------------------------------------------- recording


def test_start_needs_pc_live_view_and_movie_mode() -> None:
    camera, _ = make_camera(movie_mode=False)
    open_prepared(camera)
    assert set_prop(camera, Prop.EVF_RECORD_STATUS, 4) == Rc.DEVICE_BUSY
    assert camera.last_refusal == "live_view_off"
    assert set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC) == Rc.OK
    assert set_prop(camera, Prop.EVF_RECORD_STATUS, 4) == Rc.DEVICE_BUSY
    assert camera.last_refusal == "movie_mode_off"
    camera.apply_settings(movie_mode=True)
    assert set_prop(camera, Prop.EVF_RECORD_STATUS, 4) == Rc.OK
    assert camera.recording


def test_stop_reports_d1b8_then_the_new_mov() -> None:
    camera, clock = make_camera()
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    assert prop_changes(events(camera))[-1] == (Prop.EVF_RECORD_STATUS, 4)
    clock.advance(10)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 0)
    records = events(camera)
    codes = [code for code, _, _ in records]
    assert codes.index(ptp.EosEvent.PROP_VALUE_CHANGED) < codes.index(
        ptp.EosEvent.OBJECT_ADDED_EX)
    assert added_names(records) == ["MVI_0001.MOV"]
    [(_, handle, rest)] = [r for r in records if r[0] == ptp.EosEvent.OBJECT_ADDED_EX]
    storage, fmt = struct.unpack_from("<IH", rest, 0)
    size, parent = struct.unpack_from("<II", rest, 0x1C - 12)
    assert (storage, fmt, parent) == (STORAGE_ID, ptp.OFC_CANON_MOV, FOLDER_HANDLE)
    assert size == 10 * camera.settings.movie_bytes_per_s
    assert camera.clips[0].handle == handle
    assert camera.clips[0].as_dict()["duration_s"] == 10.0


def test_default_clip_limit_is_the_4gb_cap() -> None:
    camera, clock = make_camera()
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    deadline = camera.next_deadline()
    assert deadline is not None
    assert 700 <= deadline - clock.now <= 740  # "4 GB is about 12 minutes"
    clock.now = deadline
    camera.poll()
    assert not camera.recording
    [clip] = camera.clips
    assert clip.stop_reason == "clip_limit"
    assert clip.size <= CLIP_MAX_BYTES < 0xFFFFFFFF


@pytest.mark.parametrize("limit", [0.5, 3.0, 90.0])
def test_clip_limit_setting_wakes_exactly_when_due(limit: float) -> None:
    camera, clock = make_camera(clip_limit_s=limit)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    assert camera.next_deadline() == pytest.approx(clock.now + limit)
    clock.advance(limit * 0.99)
    camera.poll()
    assert camera.recording
    clock.advance(limit * 0.01)
    camera.poll()
    assert not camera.recording
    assert camera.clips[0].duration_s == pytest.approx(limit)


def test_card_and_battery_run_down_while_recording() -> None:
    camera, clock = make_camera(card_free_bytes=30 * MOVIE_BYTES_PER_S, battery_drain_pct_per_min=2)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    clock.advance(15)
    state = camera.state()
    assert state["card_free_bytes"] == 15 * MOVIE_BYTES_PER_S
    assert state["battery_percent"] == 100  # 99.5 %, reported rounded up
    clock.now = camera.next_deadline() or 0
    camera.poll()
    assert camera.last_stop_reason == "card_full"
    assert camera.state()["card_free_bytes"] == 0
    assert camera.battery == pytest.approx(99.0)


def test_empty_battery_stops_and_powers_off() -> None:
    camera, clock = make_camera(battery_percent=1, battery_drain_pct_per_min=60)
    camera.apply_settings(battery_percent=6)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    clock.advance(6)
    camera.poll()
    assert (camera.powered, camera.power_off_reason) == (False, "battery_empty")
    assert camera.clips[0].stop_reason == "battery_empty"
    with pytest.raises(ValueError, match="battery"):
        camera.power_on()


def test_auto_power_off_counts_idle_time_but_not_while_recording() -> None:
    camera, clock = make_camera(auto_poweroff_s=30)
    open_prepared(camera)
    assert camera.next_deadline() == pytest.approx(clock.now + 30)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    clock.advance(60)
    camera.poll()
    assert camera.powered
    set_prop(camera, Prop.EVF_RECORD_STATUS, 0)
    clock.advance(29)
    camera.poll()
    assert camera.powered
    clock.advance(1)
    camera.poll()
    assert (camera.powered, camera.power_off_reason) == (False, "auto_power_off")
    assert camera.session_open is False


def test_file_write_delay_holds_back_the_object_event() -> None:
    camera, clock = make_camera(file_write_delay_s=0.5)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 0)
    assert added_names(events(camera)) == []
    assert camera.next_deadline() == pytest.approx(clock.now + 0.5)
    clock.advance(0.5)
    assert added_names(events(camera)) == ["MVI_0001.MOV"]


def test_body_button_produces_the_same_events() -> None:
    camera, _ = make_camera()
    open_prepared(camera)
    assert camera.press_body_button()["refused"] == "live_view_off"
    camera.apply_settings(evf_output=ptp.EVF_OUTPUT_TFT)
    events(camera)
    assert camera.press_body_button()["recording"] is True
    assert prop_changes(events(camera)) == [(Prop.EVF_RECORD_STATUS, 4)]
    assert camera.press_body_button()["recording"] is False
    records = events(camera)
    assert prop_changes(records) == [(Prop.EVF_RECORD_STATUS, 0)]
    assert added_names(records) == ["MVI_0001.MOV"]


# ---------------------------------------------------------------------- faults & listing


def test_busy_fault_only_hits_the_named_operation() -> None:
    camera, _ = make_camera()
    open_prepared(camera)
    camera.inject_operation_fault("busy", 1, "SetDevicePropValueEx")
    assert call(camera, Op.EOS_GET_EVENT).code == Rc.OK
    assert set_prop(camera, Prop.EVF_OUTPUT_DEVICE, 2) == Rc.DEVICE_BUSY
    assert camera.evf_output == ptp.EVF_OUTPUT_OFF  # not executed
    assert set_prop(camera, Prop.EVF_OUTPUT_DEVICE, 2) == Rc.OK
    assert camera.faults == []


def test_stall_fault_withholds_the_reply_and_skips_the_operation() -> None:
    camera, _ = make_camera()
    open_prepared(camera)
    camera.inject_operation_fault("stall", 2)
    data = struct.pack("<III", 12, Prop.EVF_OUTPUT_DEVICE, 2)
    assert camera.handle(Operation(Op.EOS_SET_DEVICE_PROP_VALUE_EX, 7, (), data)) is None
    assert camera.handle(Operation(Op.EOS_GET_EVENT, 8, ())) is None
    assert camera.evf_output == ptp.EVF_OUTPUT_OFF
    assert call(camera, Op.EOS_GET_EVENT).code == Rc.OK


@pytest.mark.parametrize(("text", "code"), [
    ("SetDevicePropValueEx", 0x9110), ("EOS_SET_DEVICE_PROP_VALUE_EX", 0x9110),
    ("GetEvent", 0x9116), ("0x9116", 0x9116), ("OpenSession", 0x1002), (None, None)])
def test_operation_names_for_faults(text: str | None, code: int | None) -> None:
    assert parse_operation_name(text) == code


def test_unknown_operation_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        parse_operation_name("Teleport")


def test_object_tree_is_dcim_folder_clips() -> None:
    camera, _ = make_camera()
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 0)
    root = data_of(camera, Op.GET_OBJECT_HANDLES, STORAGE_ID, 0, ptp.HANDLE_ALL)
    assert root == ptp.u32_array([DCIM_HANDLE])
    clips = data_of(camera, Op.GET_OBJECT_HANDLES, STORAGE_ID, 0, FOLDER_HANDLE)
    [handle] = struct.unpack_from("<I", clips, 4)
    info = data_of(camera, Op.GET_OBJECT_INFO, handle)
    storage, fmt = struct.unpack_from("<IH", info, 0)
    parent = struct.unpack_from("<I", info, 38)[0]
    name, _ = decode_ptp_string(info, 52)
    assert (storage, fmt, parent, name) == (STORAGE_ID, ptp.OFC_CANON_MOV, FOLDER_HANDLE,
                                            "MVI_0001.MOV")
    listing = data_of(camera, Op.EOS_GET_OBJECT_INFO_EX, STORAGE_ID, FOLDER_HANDLE, 0x100000)
    count, entry_size, entry_handle = struct.unpack_from("<III", listing, 0)
    assert (count, entry_size, entry_handle) == (1, 56, handle)
    assert listing[4 + 36 : 4 + 48].rstrip(b"\x00") == b"MVI_0001.MOV"
    assert call(camera, Op.DELETE_OBJECT, handle).code == Rc.OK
    assert camera.clips == []
    assert camera.state()["card_free_bytes"] == camera.settings.card_free_bytes


def test_invalid_settings_are_rejected() -> None:
    camera, _ = make_camera()
    with pytest.raises(ValueError, match="remote_movie"):
        camera.apply_settings(remote_movie="sometimes")
    with pytest.raises(ValueError, match="unknown settings"):
        camera.apply_settings(iso=100)
    assert camera.remote_movie == "supported" and camera.settings.remote_movie is None


# ---------------------------------------------------------------------- PTP/IP framing


@given(st.lists(st.binary(max_size=300), max_size=8), st.data())
def test_packet_reader_reassembles_any_chunking(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_packet(PacketType.DATA, p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader, packets, start = PacketReader(), [], 0
    for cut in [*cuts, len(stream)]:
        packets += reader.feed(stream[start:cut])
        start = cut
    assert [p.payload for p in packets] == payloads


def test_packet_reader_rejects_a_bad_length() -> None:
    with pytest.raises(ProtocolError):
        PacketReader().feed(struct.pack("<II", 4, 6))


def cmd_request(code: int, tid: int, *params: int, dataphase: int = 1) -> Packet:
    payload = struct.pack("<IHI", dataphase, code, tid) + b"".join(
        struct.pack("<I", p) for p in params)
    return Packet(PacketType.CMD_REQUEST, payload)


def test_command_channel_collects_a_host_to_device_data_phase() -> None:
    channel = CommandChannel()
    assert channel.receive(cmd_request(0x9110, 5, dataphase=2)) is None
    body = bytes(range(256)) * 300  # 76800 bytes: one Data and one End_Data, like libgphoto2
    assert channel.receive(Packet(PacketType.START_DATA, struct.pack("<IQ", 5, len(body)))) is None
    assert channel.receive(Packet(PacketType.DATA, struct.pack("<I", 5) + body[:65536])) is None
    operation = channel.receive(Packet(PacketType.END_DATA, struct.pack("<I", 5) + body[65536:]))
    assert operation == Operation(0x9110, 5, (), body)
    assert channel.receive(cmd_request(0x1002, 6, 1)) == Operation(0x1002, 6, (1,))


def test_command_channel_completes_an_empty_data_phase_at_start_data() -> None:
    channel = CommandChannel()
    channel.receive(cmd_request(0x9110, 9, dataphase=2))
    operation = channel.receive(Packet(PacketType.START_DATA, struct.pack("<IQ", 9, 0)))
    assert operation == Operation(0x9110, 9, (), b"")


def test_command_channel_rejects_data_without_a_request() -> None:
    with pytest.raises(ProtocolError):
        CommandChannel().receive(Packet(PacketType.END_DATA, struct.pack("<I", 1)))


def test_reply_is_split_into_64k_blocks_then_the_response() -> None:
    body = bytes(200_000)
    packets = PacketReader().feed(encode_reply(42, Reply(Rc.OK, data=body)))
    types = [p.type for p in packets]
    assert types == [PacketType.START_DATA, PacketType.DATA, PacketType.DATA, PacketType.DATA,
                     PacketType.END_DATA, PacketType.CMD_RESPONSE]
    assert struct.unpack_from("<IQ", packets[0].payload) == (42, len(body))
    assert all(len(p.payload) == 4 + DATA_BLOCK_SIZE for p in packets[1:4])
    assert b"".join(p.payload[4:] for p in packets[1:5]) == body
    assert struct.unpack_from("<HI", packets[-1].payload) == (Rc.OK, 42)


def test_error_reply_has_no_data_phase() -> None:
    [packet] = PacketReader().feed(encode_reply(3, Reply(Rc.DEVICE_BUSY)))
    assert packet.type == PacketType.CMD_RESPONSE
    assert packet.payload == struct.pack("<HI", Rc.DEVICE_BUSY, 3)


def test_ptp_string_matches_the_ptp_layout() -> None:
    assert ptp.ptp_string("") == b"\x00"
    assert ptp.ptp_string("CF") == b"\x03C\x00F\x00\x00\x00"


def test_auto_power_off_can_require_keep_device_on() -> None:
    camera, clock = make_camera(auto_poweroff_s=30, auto_poweroff_needs_keepalive=True)
    open_prepared(camera)
    clock.advance(20)
    call(camera, Op.EOS_GET_EVENT)  # polling alone does not keep this body awake
    clock.advance(10)
    camera.poll()
    assert camera.powered is False


def test_keep_device_on_restarts_the_idle_timer() -> None:
    camera, clock = make_camera(auto_poweroff_s=30, auto_poweroff_needs_keepalive=True)
    open_prepared(camera)
    clock.advance(20)
    assert call(camera, Op.EOS_KEEP_DEVICE_ON).code == Rc.OK
    clock.advance(20)
    camera.poll()
    assert camera.powered is True
    assert camera.state()["idle_s"] == 20.0


def test_a_switched_off_body_answers_nothing() -> None:
    camera, _ = make_camera()
    open_prepared(camera)
    camera.power_off()
    assert camera.handle(Operation(Op.GET_DEVICE_INFO, 1, ())) is None
    camera.power_on()
    assert call(camera, Op.GET_DEVICE_INFO).code == Rc.OK
    assert call(camera, Op.EOS_GET_EVENT).code == Rc.SESSION_NOT_OPEN  # the session died


def test_evf_output_setting_is_validated() -> None:
    camera, _ = make_camera()
    with pytest.raises(ValueError, match="evf_output"):
        camera.apply_settings(evf_output=7)


def test_thm_files_share_the_folder_and_the_card() -> None:
    camera, _ = make_camera(thm_files=True)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 4)
    set_prop(camera, Prop.EVF_RECORD_STATUS, 0)
    assert added_names(events(camera)) == ["MVI_0001.MOV", "MVI_0001.THM"]
    [clip] = camera.clips
    listing = data_of(camera, Op.GET_OBJECT_HANDLES, STORAGE_ID, 0, FOLDER_HANDLE)
    assert listing == ptp.u32_array([clip.handle, clip.thm_handle])
    assert call(camera, Op.DELETE_OBJECT, clip.thm_handle).code == Rc.OK
    assert camera.clips == [clip] and not clip.thm
    assert call(camera, Op.DELETE_OBJECT, clip.handle).code == Rc.OK
    assert camera.state()["card_free_bytes"] == camera.settings.card_free_bytes


def test_slow_stall_executes_now_and_asks_for_a_late_reply() -> None:
    camera, _ = make_camera()
    open_prepared(camera)
    camera.inject_operation_fault("stall", 1, "SetDevicePropValueEx", reply_after_s=3.0)
    assert camera.state()["faults"] == [{"fault": "stall", "remaining": 1,
                                         "operation": "EOS_SET_DEVICE_PROP_VALUE_EX",
                                         "reply_after_s": 3.0}]
    data = struct.pack("<III", 12, Prop.EVF_OUTPUT_DEVICE, 2)
    reply = camera.handle(Operation(Op.EOS_SET_DEVICE_PROP_VALUE_EX, 5, (), data))
    assert reply == Reply(Rc.OK, delay_s=3.0)
    assert camera.evf_output == ptp.EVF_OUTPUT_PC  # done at once, only answered late
    with pytest.raises(ValueError, match="reply_after_s"):
        camera.inject_operation_fault("busy", 1, None, reply_after_s=1.0)


# ---------------------------------------------------------------------- bodies, shutter, files


def test_every_body_answers_only_the_operations_it_lists() -> None:
    for name in ("5d2", "7d"):
        camera, _ = make_camera(body=name)
        assert call(camera, Op.OPEN_SESSION, 1).code == Rc.OK
        listed = 0x9133  # the 7D's movie select: listed by the 7D, not by the 5D Mark II
        expected = Rc.GENERAL_ERROR if name == "7d" else Rc.OPERATION_NOT_SUPPORTED
        assert call(camera, listed).code == expected


def test_ml_rec_key_toggles_on_release_and_a_full_press_cancels_the_toggle() -> None:
    camera, clock = make_camera(body="5d2-ml")
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    assert call(camera, Op.EOS_REMOTE_RELEASE_ON, 1, 0).code == Rc.OK
    assert not camera.recording  # Magic Lantern acts on the release
    call(camera, Op.EOS_REMOTE_RELEASE_OFF, 1)
    assert camera.recording
    clock.advance(2.0)
    # half + full (libgphoto2's capture): a still is refused while recording, no toggle
    call(camera, Op.EOS_REMOTE_RELEASE_ON, 1, 0)
    assert call(camera, Op.EOS_REMOTE_RELEASE_ON, 2, 0).code == Rc.DEVICE_BUSY
    call(camera, Op.EOS_REMOTE_RELEASE_OFF, 2)
    call(camera, Op.EOS_REMOTE_RELEASE_OFF, 1)
    assert camera.recording
    # USB and the N3 line hold the same button: the toggle waits for the last to let go
    call(camera, Op.EOS_REMOTE_RELEASE_ON, 1, 0)
    camera.n3("focus", True)
    call(camera, Op.EOS_REMOTE_RELEASE_OFF, 1)
    assert camera.recording
    assert camera.n3("focus", False)["effect"] == "record_stop"
    records = events(camera)
    assert Prop.EVF_RECORD_STATUS not in [code for code, _value in prop_changes(records)]
    assert added_names(records) == ["MVI_0001.MOV"]
    assert camera.clips[0].stop_reason == "rec_key" and camera.clips[0].duration_s == 2.0


def test_stills_share_the_file_counter_and_fill_the_card() -> None:
    camera, _ = make_camera(still_size_bytes=1000, card_free_bytes=2500)
    open_prepared(camera)
    for _ in range(2):
        assert camera.n3("shutter", True)["effect"] == "still"
        camera.n3("shutter", False)
    assert camera.n3("shutter", True)["refused"] == "card_full"
    assert [s.name for s in camera.store.stills] == ["IMG_0001.JPG", "IMG_0002.JPG"]
    assert camera.card_free == 500
    assert added_names(events(camera)) == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_a_still_to_the_pc_is_announced_for_transfer_and_forgotten_after() -> None:
    camera, _ = make_camera(still_size_bytes=3000, still_format="cr2")
    open_prepared(camera)
    set_prop(camera, Prop.CAPTURE_DESTINATION, ptp.CAPTURE_DEST_PC)
    events(camera)
    assert call(camera, Op.EOS_REMOTE_RELEASE_ON, 3, 0).code == Rc.OK
    [(code, handle, rest)] = events(camera)
    assert code == ptp.EosEvent.REQUEST_OBJECT_TRANSFER
    # as ptp_unpack_EOS_events reads it: format at 0x0C, size at 0x14, name at 0x1C
    assert struct.unpack_from("<H", rest, 0x0C - 12)[0] == ptp.OFC_CANON_CR2
    assert struct.unpack_from("<I", rest, 0x14 - 12)[0] == 3000
    assert rest[0x1C - 12 :].split(b"\x00")[0] == b"IMG_0001.CR2"
    part = call(camera, Op.GET_PARTIAL_OBJECT, handle, 1000, 5000)
    assert part.params == (2000,) and part.data == file_bytes("IMG_0001.CR2", 1000, 2000)
    assert call(camera, Op.EOS_TRANSFER_COMPLETE, handle).code == Rc.OK
    assert call(camera, Op.GET_OBJECT, handle).code == Rc.INVALID_OBJECT_HANDLE
    assert camera.store.stills == []


@given(st.integers(0, 300_000), st.integers(0, 200_000), st.integers(0, 200_000))
def test_file_bytes_are_the_same_however_they_are_cut(offset: int, first: int,
                                                      second: int) -> None:
    whole = file_bytes("MVI_0007.MOV", offset, first + second)
    assert len(whole) == first + second
    assert whole == (file_bytes("MVI_0007.MOV", offset, first)
                     + file_bytes("MVI_0007.MOV", offset + first, second))


def test_each_file_has_its_own_content() -> None:
    assert file_bytes("MVI_0007.MOV", 0, 64) != file_bytes("MVI_0008.MOV", 0, 64)


def test_size_cap_ends_the_clip_at_exactly_that_size() -> None:
    camera, clock = make_camera(movie_bytes_per_s=1000, clip_max_bytes=5000)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, ptp.RECORD_TARGET_CARD)
    assert camera.next_deadline() == pytest.approx(clock.now + 5.0)
    clock.advance(7.0)
    camera.poll()
    [clip] = camera.clips
    assert (clip.size, clip.stop_reason, clip.duration_s) == (5000, "clip_limit", 5.0)


def test_heat_stops_the_clip_and_refuses_starts_until_cooled() -> None:
    camera, clock = make_camera()
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, ptp.RECORD_TARGET_CARD)
    camera.overheat(cool_down_s=30.0)
    assert not camera.recording and camera.last_stop_reason == "heat"
    assert set_prop(camera, Prop.EVF_RECORD_STATUS, ptp.RECORD_TARGET_CARD) == Rc.DEVICE_BUSY
    assert camera.last_refusal == "overheated"
    clock.advance(30.0)
    assert set_prop(camera, Prop.EVF_RECORD_STATUS, ptp.RECORD_TARGET_CARD) == Rc.OK


def test_battery_level_events_while_it_runs_down_to_empty() -> None:
    camera, clock = make_camera(battery_percent=40, battery_drain_pct_per_min=60)
    open_prepared(camera)
    set_prop(camera, Prop.EVF_OUTPUT_DEVICE, ptp.EVF_OUTPUT_PC)
    set_prop(camera, Prop.EVF_RECORD_STATUS, ptp.RECORD_TARGET_CARD)
    events(camera)
    levels = []
    for _ in range(39):  # 1 % a second, read every second as a polling host would
        clock.advance(1.0)
        levels += [value for code, value in prop_changes(events(camera))
                   if code == Prop.BATTERY_POWER]
    assert levels == [ptp.BATTERY_LEVEL_25, ptp.BATTERY_LEVEL_LOW]
    clock.advance(1.0)
    camera.poll()
    assert not camera.powered and camera.clips[0].stop_reason == "battery_empty"
