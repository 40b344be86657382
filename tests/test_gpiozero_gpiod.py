"""gpiozero devices on the ``gpiod`` pin factory, over the pipe-backed stand-in request.

The factory is found the way gpiozero finds third-party factories: the
``gpiozero_pin_factories`` entry point, looked up when ``GPIOZERO_PIN_FACTORY`` names it.
It needs a Pi's board info (as gpiozero's lgpio factory does): the tests give it a Zero 2 W
revision code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from importlib.metadata import entry_points

import gpiod
import pytest
from gpiod.line import Bias, Direction, Edge, Value
from gpiod_standin import StandInChip
from gpiozero import Button, Device, DigitalOutputDevice, PWMOutputDevice

from pitrigger.gpiozero_gpiod import GpiodFactory

ZERO_2_W = 0x902120


@pytest.fixture
def chip(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInChip]:
    stand_in = StandInChip()
    monkeypatch.setattr(gpiod, "request_lines", stand_in)
    monkeypatch.setattr(GpiodFactory, "_get_revision", lambda self: ZERO_2_W)
    yield stand_in


@pytest.fixture
def factory(chip: StandInChip) -> Iterator[GpiodFactory]:
    made = GpiodFactory()
    yield made
    made.close()


def test_gpiozero_finds_it_by_entry_point(chip: StandInChip,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    names = {ep.name: ep.value for ep in entry_points(group="gpiozero_pin_factories")}
    assert names.get("gpiod") == "pitrigger.gpiozero_gpiod:GpiodFactory"
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "gpiod")
    found = Device._default_pin_factory()
    try:
        assert isinstance(found, GpiodFactory)
    finally:
        found.close()


def test_a_button_works_on_kernel_edges(chip: StandInChip, factory: GpiodFactory) -> None:
    button = Button(17, pin_factory=factory, bounce_time=None)
    pressed, released = threading.Event(), threading.Event()
    button.when_pressed = pressed.set
    button.when_released = released.set
    try:
        request = chip.requests[17]
        settings = request.settings[17]
        assert settings.direction == Direction.INPUT and settings.bias == Bias.PULL_UP
        assert settings.edge_detection == Edge.BOTH
        assert not button.is_pressed
        request.inject(17, rising=False)
        assert pressed.wait(5)
        request.inject(17, rising=True)
        assert released.wait(5)
    finally:
        button.close()
    assert chip.requests[17].released


class Edges:
    """A bound method for ``pin.when_changed`` (gpiozero keeps only a weak reference)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int]] = []
        self.got = threading.Event()

    def changed(self, ticks: float, state: int) -> None:
        self.seen.append((ticks, state))
        self.got.set()


def test_edges_carry_the_kernel_stamp_as_ticks(chip: StandInChip,
                                               factory: GpiodFactory) -> None:
    pin = factory.pin(27)
    edges = Edges()
    pin.when_changed = edges.changed
    chip.requests[27].inject(27, rising=True, timestamp_ns=42_250_000_000)
    assert edges.got.wait(5)
    assert edges.seen == [(42.25, 1)]
    assert factory.ticks_diff(43.0, edges.seen[0][0]) == pytest.approx(0.75)
    pin.when_changed = None
    assert chip.requests[27].settings[27].edge_detection == Edge.NONE  # re-requested


def test_output_and_software_pwm(chip: StandInChip, factory: GpiodFactory) -> None:
    led = DigitalOutputDevice(18, pin_factory=factory)
    request = chip.requests[18]
    assert request.settings[18].direction == Direction.OUTPUT
    led.on()
    led.off()
    assert [value for _, _, value in request.writes][-2:] == [Value.ACTIVE, Value.INACTIVE]
    led.close()
    pwm = PWMOutputDevice(18, pin_factory=factory, frequency=400)
    request = chip.requests[18]
    pwm.value = 0.5
    toggles = threading.Event()
    for _ in range(500):
        values = [value for _, _, value in request.writes]
        if values.count(Value.ACTIVE) >= 3 and values.count(Value.INACTIVE) >= 3:
            toggles.set()
            break
        threading.Event().wait(0.01)
    assert toggles.is_set()
    assert pwm.value == 0.5
    pwm.close()
    assert request.released


def test_errors_are_gpiozero_errors(factory: GpiodFactory) -> None:
    from gpiozero.exc import PinInvalidEdges, PinSetInput

    pin = factory.pin(22)
    with pytest.raises(PinSetInput):
        pin.state = 1
    with pytest.raises(PinInvalidEdges):
        pin.edges = "sideways"
