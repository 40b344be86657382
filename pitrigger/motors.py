"""Haptic sinks: what turns the sequencer's motor levels into something felt (or read).

Sinks (``[haptics] sink`` in the config):

* ``gpiod`` — :class:`GpiodMotor`, an ERM coin motor behind a transistor (never straight
  from the pin) on a line driven through the kernel's GPIO character device (libgpiod v2).
  PWM, when asked for, is software PWM only while a pattern below full strength plays, or
  a hardware PWM channel (``/sys/class/pwm``) when one is configured. The default on the Pi.
* ``gpio`` — :class:`GpioMotor`, the same motor through gpiozero (its pin factory: lgpio
  on Raspberry Pi OS). PWM optional: it changes strength and frequency together.
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
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from pitrigger.gpiochip import (
    DEFAULT_CHIP,
    RequestLines,
    SoftwarePwm,
    SysfsPwm,
    load_gpiod,
)
from pitrigger.gpiochip import request_lines as request_chip_lines

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


class GpiodMotor:
    """A vibration motor's transistor on line ``pin`` of ``chip``, driven through gpiod.

    The line is requested as an output that starts low (motor off). With ``pwm`` a level
    between 0 and 1 becomes a duty cycle: on ``pwm_channel`` (e.g. ``"pwmchip0:0"``, the
    Pi's PWM0 on GPIO 18 with ``dtoverlay=pwm``) the hardware makes it and the line is not
    requested; otherwise a software PWM thread toggles the line, alive only while such a
    level is held. Levels 0 and 1 are plain writes: full-strength patterns cost no thread.
    ``request_lines`` replaces ``gpiod.request_lines`` (the tests' stand-in).
    """

    def __init__(self, pin: int, *, pwm: bool = False, frequency_hz: int = 200,
                 chip: str = DEFAULT_CHIP, pwm_channel: str | None = None,
                 pwm_root: str = "/sys/class/pwm",
                 request_lines: RequestLines | None = None) -> None:
        self.pin = pin
        self.pwm = pwm
        self.level = 0.0
        self.request: Any = None
        self._hardware: SysfsPwm | None = None
        self._software: SoftwarePwm | None = None
        if pwm_channel:
            self._hardware = SysfsPwm(pwm_channel, frequency_hz, root=pwm_root)
            return
        gpiod = load_gpiod()
        from gpiod.line import Direction, Value

        self._values = (Value.INACTIVE, Value.ACTIVE)
        settings = gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.INACTIVE)
        self.request = request_chip_lines(chip, {pin: settings}, consumer="pitrigger-motor",
                                          request=request_lines)
        if pwm:
            self._software = SoftwarePwm(self._write, frequency_hz)

    def _write(self, on: bool) -> None:
        self.request.set_value(self.pin, self._values[on])

    def pattern_started(self, name: str) -> None:
        pass

    def set_level(self, level: float) -> None:
        if level == self.level:
            return
        self.level = level
        duty = min(max(level, 0.0), 1.0) if self.pwm else float(level > 0)
        if self._hardware is not None:
            self._hardware.set_duty(duty)
        elif self._software is not None:
            self._software.set_duty(duty)
        else:
            self._write(duty > 0)

    def close(self) -> None:
        self.level = 0.0
        try:
            if self._hardware is not None:
                self._hardware.close()
            elif self._software is not None:
                self._software.close()
            elif self.request is not None:
                self._write(False)
        finally:
            if self.request is not None:
                self.request.release()
                self.request = None


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
    if sink == "gpiod":
        return GpiodMotor(config.haptics.pin, pwm=config.haptics.pwm,
                          frequency_hz=config.haptics.frequency_hz,
                          pwm_channel=config.haptics.pwm_channel or None)
    if sink == "gpio":
        from pitrigger.buttons import gpio_or_advice

        with gpio_or_advice():
            return GpioMotor(config.haptics.pin, pwm=config.haptics.pwm,
                             frequency_hz=config.haptics.frequency_hz)
    if sink == "terminal":
        return TerminalMotor(stream, render)
    raise ValueError(f"unknown haptic sink {sink!r}")
