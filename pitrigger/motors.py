"""Haptic sinks: what turns the sequencer's motor levels into something felt (or read).

Sinks (``[haptics] sink`` in the config):

* ``gpio`` — :class:`GpioMotor`, an ERM coin motor behind a transistor on a BCM pin
  (never straight from the pin). PWM optional: it changes strength and frequency together.
* ``terminal`` — :class:`TerminalMotor`, one line per pattern: ``haptic NAME  █▁█``.

The sequencer decides *when*; a sink only applies a level. Every sink leaves the motor off
when closed, whatever happened before.

>>> from gpiozero import Device
>>> from gpiozero.pins.mock import MockFactory, MockPWMPin
>>> Device.pin_factory = MockFactory(pin_class=MockPWMPin)
>>> motor = GpioMotor(18, pwm=True)
>>> motor.set_level(0.5); Device.pin_factory.pin(18).state
0.5
>>> motor.close(); Device.pin_factory.pin(18).state
0.0
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from pitrigger.config import Config


class HapticSink(Protocol):
    def pattern_started(self, name: str) -> None: ...

    def set_level(self, level: float) -> None: ...

    def close(self) -> None: ...


class GpioMotor:
    """A vibration motor on BCM ``pin``: on/off, or PWM duty when ``pwm`` is true."""

    def __init__(self, pin: int, *, pwm: bool = False, frequency_hz: int = 200) -> None:
        from gpiozero import DigitalOutputDevice, PWMOutputDevice  # deferred import

        self.pwm = pwm
        self.device: DigitalOutputDevice | PWMOutputDevice
        if pwm:
            self.device = PWMOutputDevice(pin, initial_value=0, frequency=frequency_hz)
        else:
            self.device = DigitalOutputDevice(pin, initial_value=False)
        self.level = 0.0

    def pattern_started(self, name: str) -> None:
        pass

    def set_level(self, level: float) -> None:
        if level == self.level:
            return
        self.level = level
        if self.pwm:
            self.device.value = level
        else:
            self.device.value = level > 0

    def close(self) -> None:
        try:
            self.device.off()
        finally:
            self.device.close()
            self.level = 0.0


class TerminalMotor:
    """Prints one line per pattern: ``haptic NAME`` followed by a picture of its rhythm."""

    def __init__(self, stream: TextIO | None = None,
                 render: Callable[[str], str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.render = render
        self.level = 0.0

    def pattern_started(self, name: str) -> None:
        picture = self.render(name) if self.render else ""
        print(f"haptic {name}  {picture}".rstrip(), file=self.stream, flush=True)

    def set_level(self, level: float) -> None:
        self.level = level

    def close(self) -> None:
        self.level = 0.0


def make_sink(config: Config, render: Callable[[str], str] | None = None,
              stream: TextIO | None = None) -> HapticSink:
    """The sink named by ``config.haptics.sink``."""
    sink = config.haptics.sink
    if sink == "gpio":
        from pitrigger.buttons import gpio_or_advice

        with gpio_or_advice():
            return GpioMotor(config.haptics.pin, pwm=config.haptics.pwm,
                             frequency_hz=config.haptics.frequency_hz)
    if sink == "terminal":
        return TerminalMotor(stream, render)
    raise ValueError(f"unknown haptic sink {sink!r}")
