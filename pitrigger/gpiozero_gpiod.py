"""A gpiozero pin factory on libgpiod v2, registered as ``gpiod`` (entry point).

pitrigger's own default path (``[button] source = "gpiod"``) does not need gpiozero at all
(see docs/gpio.md). This factory is for the ``"gpio"`` path and for anyone's gpiozero
devices on a Pi where lgpio is missing — Debian has no python3-lgpio, so gpiozero would
fall back to its ``native`` factory, which polls every 10 ms. With it, gpiozero devices
block in the kernel like pitrigger's own adapters: ``GPIOZERO_PIN_FACTORY=gpiod``.

gpiozero finds it through the ``gpiozero_pin_factories`` entry point (pyproject.toml),
which gpiozero 2 searches when ``GPIOZERO_PIN_FACTORY`` names a factory. Pin numbering and
the header map come from gpiozero's Pi board info (it extends ``LocalPiFactory`` like
gpiozero's own lgpio factory), so it runs on a Raspberry Pi; each pin is one gpiod line
request on ``chip`` (default ``gpiochip0``). Edges carry the kernel's ``CLOCK_MONOTONIC``
stamp as their ticks (gpiozero's local factories use ``time.monotonic()`` for ticks too).
PWM is software PWM (:class:`pitrigger.gpiochip.SoftwarePwm`), alive only between 0 and 1.
"""

from __future__ import annotations

import datetime
from typing import Any

from gpiozero.exc import (
    PinFixedPull,
    PinInvalidBounce,
    PinInvalidEdges,
    PinInvalidFunction,
    PinInvalidPull,
    PinPWMFixedValue,
    PinSetInput,
)
from gpiozero.pins.local import LocalPiFactory, LocalPiPin

from pitrigger.gpiochip import (
    DEFAULT_CHIP,
    EdgeReader,
    RequestLines,
    SoftwarePwm,
    load_gpiod,
    request_lines,
)


class GpiodFactory(LocalPiFactory):
    """gpiozero pins as gpiod line requests on ``chip``.

    ``request_lines`` replaces ``gpiod.request_lines`` (the tests' stand-in).
    """

    def __init__(self, chip: str = DEFAULT_CHIP,
                 request_lines: RequestLines | None = None) -> None:
        super().__init__()
        self.gpiod = load_gpiod()  # fail here, clearly, if the binding is missing or v1
        self.chip = chip
        self._request_lines = request_lines
        self.pin_class = GpiodPin

    def request(self, offset: int, settings: Any) -> Any:
        return request_lines(self.chip, {offset: settings}, consumer=f"gpiozero GPIO{offset}",
                             request=self._request_lines)


class GpiodPin(LocalPiPin):
    """One BCM pin as one gpiod line request (re-requested when its settings change)."""

    _EDGES = ("both", "rising", "falling")
    _PULLS = ("up", "down", "floating")

    def __init__(self, factory: GpiodFactory, info: Any) -> None:
        super().__init__(factory, info)
        self._reader: EdgeReader | None = None
        self._pwm: SoftwarePwm | None = None
        self._request: Any = None
        self._defaults()
        self._configure(detect=False)

    def _defaults(self) -> None:
        self._function = "input"
        self._pull = self.info.pull or "floating"  # GPIO 2/3 have physical pull-ups
        self._edges = "both"
        self._bounce_s: float | None = None
        self._output = False
        self._frequency: float | None = None

    def _line(self) -> Any:
        """The request, made again if the pin was closed (gpiozero reuses pin objects)."""
        if self._request is None:
            self._configure(detect=False)
        return self._request

    # -- the line request --------------------------------------------------------------

    def _settings(self, detect: bool) -> Any:
        gpiod = self.factory.gpiod
        line = gpiod.line
        if self._function == "output":
            return gpiod.LineSettings(
                direction=line.Direction.OUTPUT,
                output_value=line.Value.ACTIVE if self._output else line.Value.INACTIVE)
        edge = {"both": line.Edge.BOTH, "rising": line.Edge.RISING,
                "falling": line.Edge.FALLING}[self._edges] if detect else line.Edge.NONE
        bias = {"up": line.Bias.PULL_UP, "down": line.Bias.PULL_DOWN,
                "floating": line.Bias.DISABLED}[self._pull]
        return gpiod.LineSettings(
            direction=line.Direction.INPUT, edge_detection=edge, bias=bias,
            debounce_period=datetime.timedelta(seconds=self._bounce_s or 0.0),
            event_clock=line.Clock.MONOTONIC)

    def _configure(self, *, detect: bool | None = None) -> None:
        """(Re-)request the line with the current settings, keeping edge detection as is."""
        if detect is None:
            detect = self._reader is not None
        self._stop_reader()
        if self._request is not None:
            self._request.release()
            self._request = None
        self._request = self.factory.request(self._number, self._settings(detect))
        if detect:
            self._reader = EdgeReader(self._request, self._edges_read,
                                      name=f"gpiod-GPIO{self._number}")
            self._reader.start()

    def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def _edges_read(self, events: list[Any]) -> None:
        rising = self.factory.gpiod.EdgeEvent.Type.RISING_EDGE
        for event in events:
            self._call_when_changed(event.timestamp_ns / 1e9, int(event.event_type == rising))

    def _write(self, on: bool) -> None:
        value = self.factory.gpiod.line.Value
        self._line().set_value(self._number, value.ACTIVE if on else value.INACTIVE)

    def close(self) -> None:
        """Stop PWM (low), stop reading edges, release the line; the pin can be used again."""
        pwm, self._pwm = self._pwm, None
        if pwm is not None and self._request is not None:
            pwm.close()
        self._stop_reader()
        if self._request is not None:
            self._request.release()
            self._request = None
        self._defaults()

    # -- gpiozero's Pin interface --------------------------------------------------------

    def _get_function(self) -> str:
        return self._function

    def _set_function(self, value: str) -> None:
        if value not in ("input", "output"):
            raise PinInvalidFunction(f'invalid function "{value}" for pin {self!r}')
        if value != self._function:
            self._set_frequency(None)
            self._function, self._output = value, False
            self._configure(detect=False)

    def _get_state(self) -> float | bool:
        if self._pwm is not None:
            return self._pwm.duty
        value = self._line().get_value(self._number)
        return bool(value == self.factory.gpiod.line.Value.ACTIVE)

    def _set_state(self, value: float) -> None:
        if self._function == "input":
            raise PinSetInput(f"cannot set state of pin {self!r}")
        if self._pwm is not None:
            self._pwm.set_duty(float(value))
        else:
            self._output = bool(value)
            self._write(self._output)

    def _get_pull(self) -> str:
        return self._pull

    def _set_pull(self, value: str) -> None:
        if self._function != "input":
            raise PinFixedPull(f"cannot set pull on non-input pin {self!r}")
        if self.info.pull not in (value, ""):
            raise PinFixedPull(f"{self!r} has a physical pull-{self.info.pull} resistor")
        if value not in self._PULLS:
            raise PinInvalidPull(f'invalid pull "{value}" for pin {self!r}')
        self._pull = value
        self._configure()

    def _get_frequency(self) -> float | None:
        return self._frequency

    def _set_frequency(self, value: float | None) -> None:
        if value:
            if self._function != "output":
                raise PinPWMFixedValue(f"cannot start PWM on pin {self!r}")
            duty = self._pwm.duty if self._pwm is not None else 0.0
            if self._pwm is not None:
                self._pwm.close()
            self._pwm = SoftwarePwm(self._write, value)
            self._pwm.set_duty(duty)
            self._frequency = value
        elif self._pwm is not None:
            self._pwm.close()
            self._pwm, self._frequency = None, None

    def _get_bounce(self) -> float | None:
        return self._bounce_s

    def _set_bounce(self, value: float | None) -> None:
        if value is not None and value < 0:
            raise PinInvalidBounce("bounce must be 0 or greater")
        self._bounce_s = value or None  # the kernel's debounce: edges wait until stable
        if self._function == "input":
            self._configure()

    def _get_edges(self) -> str:
        return self._edges

    def _set_edges(self, value: str) -> None:
        if value not in self._EDGES:
            raise PinInvalidEdges(f'invalid edges "{value}" for pin {self!r}')
        self._edges = value
        if self._reader is not None:
            self._configure()

    def _enable_event_detect(self) -> None:
        self._configure(detect=True)

    def _disable_event_detect(self) -> None:
        if self._reader is not None:
            self._configure(detect=False)
