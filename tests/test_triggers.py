"""Trigger paths: the wired pulses on mock pins (timed by an injected clock), the USB
half-press sequence, ``auto``'s choice, and the stored probe verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from pitrigger.config import parse_config
from pitrigger.triggers import (
    BodyFacts,
    PulseEdge,
    PulseShape,
    TriggerSelector,
    TriggerUnavailable,
    UsbHalfPressTrigger,
    WiredTrigger,
    make_trigger,
    make_wired_trigger,
    plan_pulse,
    resolve_trigger,
)
from pitrigger.verdicts import load_verdicts, save_verdict


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = None


class FakeClock:
    """``sleep`` advances time at once and notes what the watched pins showed meanwhile."""

    def __init__(self, factory: MockFactory, pins: dict[str, int]) -> None:
        self.now = 0.0
        self.factory = factory
        self.pins = pins
        self.held: list[tuple[float, float, dict[str, bool]]] = []  # (from, to, levels)

    def levels(self) -> dict[str, bool]:
        return {name: bool(self.factory.pin(n).state) for name, n in self.pins.items()}

    def sleep(self, seconds: float) -> None:
        self.held.append((round(self.now, 6), round(self.now + seconds, 6), self.levels()))
        self.now += seconds


# --- wired --------------------------------------------------------------------------------


def test_a_focus_pulse_closes_the_focus_line_for_press_ms(pins: MockFactory) -> None:
    clock = FakeClock(pins, {"focus": 22})
    trigger = WiredTrigger(22, shape=PulseShape("focus", press_ms=300), sleep=clock.sleep)
    trigger.start(None)
    assert clock.held == [(0.0, 0.3, {"focus": True})]
    assert clock.levels() == {"focus": False}
    assert [s.state for s in pins.pin(22).states] == [False, True, False]
    trigger.stop(None)  # ML's REC key: the stop is the same half-press
    assert [s.state for s in pins.pin(22).states] == [False, True, False, True, False]
    trigger.close()


def test_a_shutter_pulse_leads_with_focus_and_releases_both(pins: MockFactory) -> None:
    config = parse_config('[camera]\ntrigger = "wired"\n[wired]\nfocus_pin = 5\n'
                          'shutter_pin = 6\nline = "shutter"\npress_ms = 250\n'
                          'focus_lead_ms = 120\n')
    clock = FakeClock(pins, {"focus": 5, "shutter": 6})
    trigger = make_wired_trigger(config, sleep=clock.sleep)
    trigger.start(None)
    assert clock.held == [(0.0, 0.12, {"focus": True, "shutter": False}),
                          (0.12, 0.37, {"focus": True, "shutter": True})]
    assert clock.levels() == {"focus": False, "shutter": False}
    trigger.close()


def test_a_focus_only_trigger_leaves_the_shutter_pin_alone(pins: MockFactory) -> None:
    config = parse_config('[wired]\nfocus_pin = 5\nshutter_pin = 6\n')
    trigger = make_wired_trigger(config, sleep=lambda s: None)
    trigger.start(None)
    assert [s.state for s in pins.pin(6).states] == [False]  # never driven
    trigger.close()


def test_the_lines_open_even_when_a_pulse_is_interrupted(pins: MockFactory) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    trigger = WiredTrigger(22, 23, PulseShape("shutter"), sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        trigger.start(None)
    assert not pins.pin(22).state and not pins.pin(23).state
    trigger.close()


def test_plan_pulse_is_the_documented_shape() -> None:
    assert plan_pulse(PulseShape("focus", press_ms=40)) == [
        PulseEdge(0.0, "focus", True), PulseEdge(0.04, "focus", False)]
    with pytest.raises(ValueError, match="press_ms"):
        PulseShape("focus", press_ms=5)
    with pytest.raises(ValueError, match="line"):
        PulseShape("zoom")  # type: ignore[arg-type]


def test_wired_needs_two_distinct_pins_for_a_full_press(pins: MockFactory) -> None:
    with pytest.raises(ValueError, match="shutter pin"):
        WiredTrigger(22, None, PulseShape("shutter"))
    with pytest.raises(ValueError, match="two pins"):
        WiredTrigger(22, 22)


# --- usb half-press -----------------------------------------------------------------------


class HalfPressRecorder:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def half_press(self, pressed: bool) -> None:
        self.calls.append(pressed)


def test_a_usb_half_press_is_pressed_held_and_released() -> None:
    camera = HalfPressRecorder()
    trigger = UsbHalfPressTrigger(250, sleep=lambda s: camera.calls.append(s))
    trigger.start(camera)
    trigger.stop(camera)
    assert camera.calls == [True, 0.25, False, True, 0.25, False]
    assert not trigger.confirmed_by_camera


def test_a_usb_half_press_is_released_even_if_interrupted() -> None:
    camera = HalfPressRecorder()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        UsbHalfPressTrigger(sleep=interrupted).start(camera)
    assert camera.calls == [True, False]


def test_a_backend_that_cannot_half_press_gets_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"cannot half press.*choose another"):
        UsbHalfPressTrigger(sleep=lambda s: None).start(object())


def test_make_trigger_builds_each_path(pins: MockFactory) -> None:
    config = parse_config('[camera]\nhalf_press_ms = 90\n')
    assert make_trigger("usb", config).confirmed_by_camera
    half = make_trigger("usb-half-press", config)
    assert isinstance(half, UsbHalfPressTrigger) and half.press_ms == 90
    wired = make_trigger("wired", config)
    assert wired.name == "wired"
    wired.close()
    with pytest.raises(ValueError, match="not a trigger path"):
        make_trigger("auto", config)


# --- auto ---------------------------------------------------------------------------------

ML_5D2 = BodyFacts("Canon EOS 5D Mark II", serial="0042", remote_release=True)


def test_auto_takes_usb_when_the_body_lists_0xd1b8() -> None:
    body = BodyFacts("Canon EOS 7D", serial="7", movie_target=True)
    assert resolve_trigger("auto", body, {"serial:7": "wired"}).path == "usb"


def test_auto_takes_what_the_probe_proved_on_this_very_body() -> None:
    chosen = resolve_trigger("auto", ML_5D2, {"serial:0042": "usb-half-press"})
    assert chosen.path == "usb-half-press" and chosen.proven
    assert "probe" in chosen.why


@pytest.mark.parametrize("verdicts", [{}, {"serial:0042": "none"}, {"serial:9999": "wired"}])
def test_auto_without_a_proof_for_this_body_is_unavailable_with_advice(verdicts) -> None:
    with pytest.raises(TriggerUnavailable, match="pitrigger probe"):
        resolve_trigger("auto", ML_5D2, verdicts)


def test_a_configured_path_is_used_as_configured() -> None:
    chosen = resolve_trigger("wired", ML_5D2, {})
    assert chosen.path == "wired" and not chosen.proven
    with pytest.raises(ValueError, match="unknown trigger"):
        resolve_trigger("bluetooth", ML_5D2, {})


def test_without_a_serial_the_verdict_is_kept_by_model() -> None:
    body = BodyFacts("Canon EOS 5D Mark II")
    assert resolve_trigger("auto", body, {"model:Canon EOS 5D Mark II": "wired"}).path == "wired"


# --- verdicts -----------------------------------------------------------------------------


def test_verdicts_are_replaced_per_body(tmp_path: Path) -> None:
    path = tmp_path / "probe" / "verdicts.json"
    save_verdict(path, ML_5D2, "usb-half-press")
    save_verdict(path, BodyFacts("Canon EOS 7D", serial="7"), "usb")
    save_verdict(path, ML_5D2, "none")
    assert load_verdicts(path) == {"serial:0042": "none", "serial:7": "usb"}
    with pytest.raises(ValueError, match="verdict must be one of"):
        save_verdict(path, ML_5D2, "auto")


def test_a_torn_verdicts_file_reads_as_no_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.json"
    path.write_text('{"serial:0042": {"verdict": "wi')
    assert load_verdicts(path) == {}
    path.write_text('{"serial:0042": {"verdict": "teleport"}, "x": 3}')
    assert load_verdicts(path) == {}


def test_a_wired_pin_may_not_be_the_button_or_motor_pin() -> None:
    from pitrigger.config import ConfigError

    with pytest.raises(ConfigError, match=r"button\.pin: must differ from wired\.focus_pin"):
        parse_config('[camera]\ntrigger = "wired"\n[button]\npin = 22\n')
    # Without a wired trigger the [wired] pins are not claimed.
    assert parse_config('[camera]\ntrigger = "usb"\n[button]\npin = 22\n').button.pin == 22


# --- the selector (on every connection) --------------------------------------------------


class BodyWithFacts:
    def __init__(self, facts: BodyFacts) -> None:
        self._facts = facts

    def facts(self) -> BodyFacts:
        return self._facts


def test_selector_follows_the_body_and_builds_each_trigger_once() -> None:
    built: list[str] = []

    def build(path: str) -> Any:
        built.append(path)
        return make_trigger(path, parse_config(""))

    selector = TriggerSelector("auto", build, lambda: {"serial:0042": "usb-half-press"})
    ml = selector.select(BodyWithFacts(ML_5D2))
    assert ml.trigger is not None and ml.trigger.name == "usb-half-press"
    assert not ml.confirms  # no 0xD1B8, unconfirmed trigger: nothing can confirm a start
    seven = selector.select(BodyWithFacts(BodyFacts("Canon EOS 7D", movie_target=True)))
    assert seven.trigger is not None and seven.trigger.name == "usb" and seven.confirms
    selector.select(BodyWithFacts(ML_5D2))
    assert built == ["usb-half-press", "usb"]


def test_selector_without_a_path_gives_the_advice() -> None:
    selection = TriggerSelector("auto", lambda p: make_trigger(p, parse_config(""))).select(
        BodyWithFacts(ML_5D2))
    assert selection.trigger is None and "pitrigger probe" in selection.why


def test_selector_reports_a_trigger_it_cannot_build() -> None:
    def no_gpio(path: str) -> Any:
        raise RuntimeError("no GPIO here")

    selection = TriggerSelector("wired", no_gpio).select(BodyWithFacts(ML_5D2))
    assert selection.trigger is None and "no GPIO here" in selection.why


def test_a_backend_without_facts_only_has_its_own_start() -> None:
    build = lambda p: make_trigger(p, parse_config(""))  # noqa: E731
    assert TriggerSelector("auto", build).select(object()).trigger is not None
    wired = TriggerSelector("wired", build).select(object())
    assert wired.trigger is None and 'trigger = "usb"' in wired.why


def test_the_daemon_user_can_read_a_verdict_the_probe_wrote(tmp_path: Path) -> None:
    path = tmp_path / "probe" / "verdicts.json"
    save_verdict(path, ML_5D2, "wired")
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_trigger_names_have_one_source() -> None:
    from typing import get_args

    from pitrigger.config.schema import CameraConfig
    from pitrigger.names import TRIGGERS
    from pitrigger.triggers import TriggerName

    assert get_args(CameraConfig.model_fields["trigger"].annotation) == TRIGGERS
    assert get_args(TriggerName) == TRIGGERS
