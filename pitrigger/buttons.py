"""Button sources: where raw button edges (or whole gestures) come from.

Sources (``[button] source`` in the config):

* ``gpiod`` — :class:`GpiodButton`, the line read through the kernel's GPIO character
  device with libgpiod v2: a thread blocks in the kernel until an edge, which the kernel
  stamps. The default on the Pi: no wake-ups while nobody presses.
* ``gpio`` — :class:`GpioButton`, a gpiozero input on a BCM pin, button to ground (gpiozero
  picks its pin factory: lgpio on Raspberry Pi OS, which polls for edges in a thread).
* ``terminal`` — :class:`TerminalButton`, lines on a text stream (stdin): the desktop way
  to try the product, and how ``pitrigger demo < script.txt`` runs without a person.

A source calls ``on_edge(pressed, at)`` for raw edges (the gesture recogniser debounces
them) and ``on_gesture(name, at)`` for gestures typed by name. Timestamps are
``time.monotonic()`` seconds taken at the edge.

>>> from gpiozero import Device
>>> from gpiozero.pins.mock import MockFactory
>>> Device.pin_factory = MockFactory()
>>> edges = []
>>> button = GpioButton(17)
>>> button.start(lambda pressed, at: edges.append(pressed), lambda name, at: None)
>>> Device.pin_factory.pin(17).drive_low(); Device.pin_factory.pin(17).drive_high()
>>> edges
[True, False]
>>> button.close()
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from pitrigger.gpiochip import (
    DEFAULT_CHIP,
    NO_GPIO_ADVICE,
    EdgeReader,
    GpioUnavailable,
    RequestLines,
    load_gpiod,
)
from pitrigger.gpiochip import request_lines as request_chip_lines

if TYPE_CHECKING:
    from pitrigger.config import Config

log = logging.getLogger(__name__)

EdgeHandler = Callable[[bool, float], None]
GestureHandler = Callable[[str, float], None]


class ButtonSource(Protocol):
    def start(self, on_edge: EdgeHandler, on_gesture: GestureHandler) -> None: ...

    def close(self) -> None: ...


class GpioButton:
    """A momentary button between BCM ``pin`` and ground, using the internal pull-up.

    Edges are taken from the pin itself (gpiozero's ``pin.when_changed`` gets the tick at
    which the edge happened — with lgpio, the kernel's timestamp), not stamped when Python
    gets round to the callback: libgphoto2 holds the GIL in some calls, and an edge stamped
    late would make a real press look like contact bounce. A plain input, not ``Button``:
    ``Button``'s hold thread wakes the daemon ten times a second to time holds, which the
    gesture recogniser already does without waking. No ``bounce_time``: mock pins ignore it
    and lgpio's filter delays every edge; the recogniser debounces without delaying one.
    """

    def __init__(self, pin: int, *, pull_up: bool = True) -> None:
        from gpiozero import DigitalInputDevice  # deferred: pin factory set-up is costly

        self.pull_up = pull_up
        self.device = DigitalInputDevice(pin, pull_up=pull_up, bounce_time=None)
        self._on_edge: EdgeHandler | None = None

    @property
    def is_pressed(self) -> bool:
        return bool(self.device.is_active)

    def start(self, on_edge: EdgeHandler, on_gesture: GestureHandler) -> None:
        self._on_edge = on_edge
        # A bound method: gpiozero keeps only a weak reference to the handler.
        self.device.pin.when_changed = self._pin_changed

    def _pin_changed(self, ticks: float, state: int) -> None:
        # Guarded: an exception must never reach lgpio's shared notify thread.
        try:
            factory = self.device.pin_factory
            late_s = min(max(factory.ticks_diff(factory.ticks(), ticks), 0.0), 5.0)
            pressed = bool(state) != self.pull_up  # pulled up: pressed reads low
            if self._on_edge is not None:
                self._on_edge(pressed, time.monotonic() - late_s)
        except Exception:
            log.exception("button callback failed (edge dropped, button still live)")

    def close(self) -> None:
        self.device.pin.when_changed = None
        self._on_edge = None
        self.device.close()


class GpiodButton:
    """A momentary button on line ``pin`` of ``chip`` (BCM number on a Pi), read with gpiod.

    The line is requested for both edges with the kernel's ``CLOCK_MONOTONIC`` stamps, so
    ``on_edge`` gets the moment the interrupt fired (the clock ``time.monotonic()`` reads),
    not the moment Python got round to it. With ``pull_up`` (button to ground) a falling
    edge is a press; without, the button pulls the line high and a rising edge is a press.

    ``kernel_debounce_ms`` asks the kernel to report an edge only once the line has been
    stable that long. Off by default: the gesture recogniser's lockout debounce is the
    authority and adds no latency to a clean edge, while the kernel's filter delays every
    edge by its period; turn it on for a contact that chatters for a long time, to spare
    the reader a burst of events. ``request_lines`` replaces ``gpiod.request_lines`` (the
    tests pass a pipe-backed stand-in).
    """

    def __init__(self, pin: int, *, pull_up: bool = True, chip: str = DEFAULT_CHIP,
                 kernel_debounce_ms: float = 0.0,
                 request_lines: RequestLines | None = None) -> None:
        import datetime

        gpiod = load_gpiod()
        from gpiod.line import Bias, Clock, Direction, Edge

        self.pin = pin
        self.pull_up = pull_up
        settings = gpiod.LineSettings(
            direction=Direction.INPUT, edge_detection=Edge.BOTH,
            bias=Bias.PULL_UP if pull_up else Bias.DISABLED,
            debounce_period=datetime.timedelta(milliseconds=kernel_debounce_ms),
            event_clock=Clock.MONOTONIC)
        self._press_type = (gpiod.EdgeEvent.Type.FALLING_EDGE if pull_up
                            else gpiod.EdgeEvent.Type.RISING_EDGE)
        self._inactive = gpiod.line.Value.INACTIVE
        self.request = request_chip_lines(chip, {pin: settings}, consumer="pitrigger-button",
                                          request=request_lines)
        self._reader: EdgeReader | None = None
        self._on_edge: EdgeHandler | None = None

    @property
    def is_pressed(self) -> bool:
        low = self.request.get_value(self.pin) == self._inactive
        return low if self.pull_up else not low

    def start(self, on_edge: EdgeHandler, on_gesture: GestureHandler) -> None:
        self._on_edge = on_edge
        self._reader = EdgeReader(self.request, self._edges, name="gpiod-button")
        self._reader.start()

    def _edges(self, events: list[Any]) -> None:
        on_edge = self._on_edge
        for event in events:
            if event.line_offset != self.pin or on_edge is None:
                continue
            # Pressed or released from the edge's direction, not by toggling: an event lost
            # to a full kernel buffer then costs a bounce, never an inverted button.
            on_edge(event.event_type == self._press_type, event.timestamp_ns / 1e9)

    def close(self) -> None:
        self._on_edge = None
        if self._reader is not None:
            self._reader.close()
        self.request.release()


TERMINAL_HELP = (
    "enter: press | press, double, hold, long-hold, very-long-hold | down, up [T] (raw edges) "
    "| wait SECONDS | quit"
)


class TerminalButton:
    """Reads one command per line from ``stream`` on its own thread.

    An empty line or ``press`` is a press; any gesture name is that gesture; ``down`` and
    ``up`` are raw edges (for exact timing in scripts; ``down T`` gives the edge's
    ``time.monotonic()`` stamp); ``wait 1.5`` pauses a script;
    ``#`` starts a comment. Lines starting with a word in ``extra`` go to that handler (the
    demo uses ``camera …`` to poke the virtual camera). ``on_eof`` runs at end of input.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        gestures: tuple[str, ...] = ("press", "double", "hold", "long-hold", "very-long-hold"),
        extra: dict[str, Callable[[str], None]] | None = None,
        on_eof: Callable[[], None] | None = None,
        errors: TextIO | None = None,
        wait_for: threading.Event | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdin
        self.gestures = gestures
        self.extra = dict(extra or {})
        self.on_eof = on_eof
        self.errors = errors if errors is not None else sys.stderr
        self.wait_for = wait_for  # e.g. the first camera report, so scripts start in step
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_edge: EdgeHandler, on_gesture: GestureHandler) -> None:
        self.stream = off_fd0(self.stream)
        self._thread = threading.Thread(target=self._read, args=(on_edge, on_gesture),
                                        name="terminal-button", daemon=True)
        self._thread.start()

    def _read(self, on_edge: EdgeHandler, on_gesture: GestureHandler) -> None:
        if self.wait_for is not None:
            self.wait_for.wait()
        for raw in self.stream:
            if self._closed.is_set():
                return
            line = raw.split("#", 1)[0].strip()
            word, _, rest = line.partition(" ")
            try:
                if line in ("", "press") and not raw.lstrip().startswith("#"):
                    on_gesture("press", time.monotonic())
                elif not line:
                    continue
                elif word in self.gestures and not rest:
                    on_gesture(word, time.monotonic())
                elif word in ("down", "up"):
                    # "down 1234.5678": when the edge happened (CLOCK_MONOTONIC seconds,
                    # as time.monotonic() gives), so a script's timing survives a reader
                    # that is scheduled late.
                    on_edge(word == "down", edge_time(rest, time.monotonic()))
                elif word == "wait":
                    self._closed.wait(_bounded("wait", rest, 0.0, MAX_WAIT_S))
                elif word == "quit":
                    break
                elif word in self.extra:
                    self.extra[word](rest)
                else:
                    print(f"unknown input {line!r}; {TERMINAL_HELP}", file=self.errors,
                          flush=True)
            except ValueError as exc:
                print(f"bad input {line!r}: {exc}", file=self.errors, flush=True)
            except Exception:  # a bad line must not end the input thread
                log.exception("input %r failed", line)
        if self.on_eof is not None and not self._closed.is_set():
            self.on_eof()
        if self.stream is not sys.stdin:
            with contextlib.suppress(OSError):
                self.stream.close()

    def close(self) -> None:
        self._closed.set()


#: How far an edge's own time stamp may lie from now (the reader may be scheduled late by a
#: stalled thread; never by an hour). Further out, it is a typo or an attack on the clock:
#: ``down 1e300`` would be a press held for ever, and fire every hold at once.
MAX_EDGE_SKEW_S = 60.0
MAX_WAIT_S = 3600.0


def _bounded(what: str, text: str, low: float, high: float) -> float:
    value = float(text)  # ValueError names the text
    if not low <= value <= high:  # also false for nan
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {text.strip()}")
    return value


def edge_time(text: str, now: float) -> float:
    """The edge's time stamp from ``down``/``up`` input, or ``now`` if none is given.

    >>> edge_time("", 5.0), edge_time("4.5", 5.0)
    (5.0, 4.5)
    >>> edge_time("inf", 5.0)
    Traceback (most recent call last):
    ...
    ValueError: edge time must be between -55 and 65, got inf
    """
    if not text.strip():
        return now
    return _bounded("edge time", text, now - MAX_EDGE_SKEW_S, now + MAX_EDGE_SKEW_S)


def off_fd0(stream: TextIO) -> TextIO:
    """A reader of ``stream``'s file on a descriptor of its own if it sits on fd 0.

    libgphoto2's ``camera.exit()`` closes fd 0 over PTP/IP (see cameras/gphoto2.py). A reader
    blocked on fd 0 would fail with EBADF and every later line would be lost, so the input
    moves to a private descriptor and fd 0 is left pointing at /dev/null for libgphoto2 to
    close.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return stream  # not a real file (tests pass StringIO): nothing to protect
    if fd != 0:
        return stream
    private = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return open(private, encoding=getattr(stream, "encoding", None) or "utf-8",
                errors="replace")


@contextlib.contextmanager
def gpio_or_advice() -> Iterator[None]:
    """Turn gpiozero's "no pin factory" into one line that says which keys to change."""
    import warnings

    from gpiozero.exc import BadPinFactory, PinFactoryFallback

    with warnings.catch_warnings(record=True) as fallbacks:
        # Each factory gpiozero tried warns on its way down: kept for the one line below.
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            yield
        except BadPinFactory as exc:
            tried = "; ".join(str(w.message).removeprefix("Falling back from ")
                              for w in fallbacks) or str(exc)
            raise GpioUnavailable(NO_GPIO_ADVICE.format(detail=tried)) from None
    for w in fallbacks:  # a fallback that ended well (e.g. to native) is worth a log line
        log.info("%s", w.message)


def make_button(config: Config, **terminal_options: object) -> ButtonSource:
    """The source named by ``config.button.source``."""
    source = config.button.source
    if source == "gpiod":
        return GpiodButton(config.button.pin, pull_up=config.button.pull_up)
    if source == "gpio":
        with gpio_or_advice():
            return GpioButton(config.button.pin, pull_up=config.button.pull_up)
    if source == "terminal":
        return TerminalButton(**terminal_options)  # type: ignore[arg-type]
    raise ValueError(f"unknown button source {source!r}")
