"""Random sequences against the pure camera model: the books always balance.

Invariants: at most one clip runs; every stop yields exactly one clip; after draining
GetEvent the last 0xD1B8 value reported is the camera's real state; card space lost equals
the clips' sizes plus the running clip; the battery never rises; no clip outlives its limit.
"""

from __future__ import annotations

import struct

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.model import CameraSettings, VirtualEos5D2
from pitrigger.virtualcam.ptp import Op, Prop, Rc
from pitrigger.virtualcam.ptpip import Operation

CARD_BYTES = 2_000_000_000
CLIP_LIMIT_S = 40.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CameraMachine(RuleBasedStateMachine):
    BODY = "5d2"

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.camera = VirtualEos5D2(
            CameraSettings(body=self.BODY, clip_limit_s=CLIP_LIMIT_S, card_free_bytes=CARD_BYTES,
                           card_capacity_bytes=CARD_BYTES, battery_drain_pct_per_min=5),
            clock=self.clock, wall_clock=lambda: 0.0)
        self.tid = 0
        self.record_values: list[int] = []
        self.added = 0
        self.last_battery = self.camera.battery
        self.assert_ok(Op.OPEN_SESSION, 1)
        self.assert_ok(Op.EOS_SET_EVENT_MODE, 1)

    def call(self, code: int, *params: int, data: bytes | None = None) -> int:
        self.tid += 1
        reply = self.camera.handle(Operation(code, self.tid, params, data))
        return -1 if reply is None else int(reply.code)

    def assert_ok(self, code: int, *params: int) -> None:
        assert self.call(code, *params) == Rc.OK

    def set_prop(self, code: int, value: int) -> int:
        return self.call(Op.EOS_SET_DEVICE_PROP_VALUE_EX,
                         data=struct.pack("<III", 12, code, value))

    @rule(value=st.sampled_from([0, 1, 2]))
    def live_view(self, value: int) -> None:
        if self.camera.powered:
            assert self.set_prop(Prop.EVF_OUTPUT_DEVICE, value) == Rc.OK

    @rule(value=st.sampled_from([0, 4]))
    def record_target(self, value: int) -> None:
        if self.camera.powered:
            self.set_prop(Prop.EVF_RECORD_STATUS, value)

    @rule()
    def body_button(self) -> None:
        self.camera.press_body_button()

    @rule(mode=st.sampled_from([1, 2, 3]), press=st.booleans())
    def usb_shutter(self, mode: int, press: bool) -> None:
        if self.camera.powered:
            code = self.call(Op.EOS_REMOTE_RELEASE_ON if press else Op.EOS_REMOTE_RELEASE_OFF,
                             mode, 0)
            assert code in (Rc.OK, Rc.DEVICE_BUSY, Rc.CANON_LOW_BATTERY, Rc.STORE_FULL)

    @rule(line=st.sampled_from(["focus", "shutter"]), down=st.booleans())
    def n3_line(self, line: str, down: bool) -> None:
        self.camera.n3(line, down)

    @rule(seconds=st.floats(0, 30))
    def time_passes(self, seconds: float) -> None:
        before = self.camera.battery
        self.clock.now += seconds
        self.camera.poll()
        assert self.camera.battery <= before

    @rule(on=st.booleans())
    def power(self, on: bool) -> None:
        if on and self.camera.battery > 0:
            self.camera.power_on()
            if not self.camera.session_open:
                self.assert_ok(Op.OPEN_SESSION, 1)
                self.assert_ok(Op.EOS_SET_EVENT_MODE, 1)
        elif not on:
            self.collect_events()  # a switched-off body forgets its queue
            self.camera.power_off()

    @precondition(lambda self: self.camera.powered)
    @rule()
    def collect_events(self) -> None:
        if not self.camera.powered or not self.camera.session_open:
            return
        self.tid += 1
        reply = self.camera.handle(Operation(Op.EOS_GET_EVENT, self.tid, ()))
        assert reply is not None and reply.data is not None
        data, offset, batch = reply.data, 0, []
        while True:
            size, code = struct.unpack_from("<II", data, offset)
            if (size, code) == (8, 0):
                break
            first = struct.unpack_from("<I", data, offset + 8)[0]
            if code == ptp.EosEvent.PROP_VALUE_CHANGED and first == Prop.EVF_RECORD_STATUS:
                batch.append(struct.unpack_from("<I", data, offset + 12)[0])
            if code == ptp.EosEvent.OBJECT_ADDED_EX:
                self.added += 1
            offset += size
        if batch:  # after draining, the host's last word is the truth
            assert batch[-1] == (4 if self.camera.recording else 0)
        self.record_values += batch

    @invariant()
    def books_balance(self) -> None:
        camera = self.camera
        assert camera.record_starts - camera.record_stops == (1 if camera.recording else 0)
        assert len(camera.clips) == camera.record_stops
        running = camera._recording.bytes_written if camera._recording else 0.0
        used = (sum(clip.size for clip in camera.clips)
                + sum(still.size for still in camera.store.stills) + running)
        assert abs(CARD_BYTES - camera.card_free - used) < 2
        assert all(clip.duration_s <= CLIP_LIMIT_S + 1e-6 for clip in camera.clips)
        assert camera.recording is False or camera.powered

    @invariant()
    def no_phantom_files(self) -> None:
        assert self.added <= len(self.camera.clips) + len(self.camera.store.stills)
        assert set(self.record_values) <= {0, 4}


CameraMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                           deadline=None)
TestCameraMachine = CameraMachine.TestCase


class MagicLanternCameraMachine(CameraMachine):
    """The same rules on the body whose half-press starts and stops movies."""

    BODY = "5d2-ml"


MagicLanternCameraMachine.TestCase.settings = CameraMachine.TestCase.settings
TestMagicLanternCameraMachine = MagicLanternCameraMachine.TestCase
