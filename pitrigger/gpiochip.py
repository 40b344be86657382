"""GPIO lines through the kernel's GPIO character device, with libgpiod v2 (``gpiod``).

Why not gpiozero here: gpiozero's lgpio factory polls for edges in a C thread (gpiozero#1007:
about half a Pi Zero core) and its ``native`` factory wakes every 10 ms. libgpiod v2 lets a
thread block in the kernel until an edge arrives, and the kernel stamps each edge with
``CLOCK_MONOTONIC`` when its interrupt fires — the clock ``time.monotonic()`` reads — so an
edge keeps the time it happened however late Python gets to it.

This module holds the parts the button and the motor share:

* :func:`chip_path` — ``"gpiochip0"``, ``"/dev/gpiochip0"`` or a chip label, as a path.
* :class:`EdgeReader` — a thread that blocks in ``select()`` on the line request's file
  descriptor and on a wake-up pipe, with no timeout: an idle button costs no wake-ups.
* :class:`SoftwarePwm` — a thread that toggles an output line, alive only while a duty
  between 0 and 1 is asked for (i.e. only while a pattern with ``strength < 1`` plays).
* :class:`SysfsPwm` — a hardware PWM channel through ``/sys/class/pwm/pwmchipN``.

Anything with the few methods of ``gpiod.LineRequest`` used here (``fd``,
``read_edge_events``, ``get_value``, ``set_value``, ``release``) can stand in for a real
request: the tests use a pipe-backed one, so their blocking read is a real one.

>>> chip_path("gpiochip0"), chip_path("/dev/gpiochip2")
('/dev/gpiochip0', '/dev/gpiochip2')
>>> SysfsPwm.parse("pwmchip0:1")
('pwmchip0', 1)
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import select
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The Raspberry Pi's own GPIO block: BCM numbers are its line offsets (Zero, Zero W, Zero 2 W).
DEFAULT_CHIP = "gpiochip0"


class GpioUnavailable(RuntimeError):
    """This machine has no GPIO the configured path can drive (a desktop, a container)."""


class GpiodUnavailable(GpioUnavailable):
    """The ``gpiod`` module is missing or is the old v1 binding."""


NO_GPIO_ADVICE = ('no GPIO on this machine ({detail}). To try pitrigger on a desktop, set '
                  '[button] source = "terminal" and [haptics] sink = "terminal" in the '
                  'config, or run `pitrigger demo`')


class LineRequest(Protocol):
    """The part of ``gpiod.LineRequest`` (libgpiod v2) that pitrigger uses."""

    @property
    def fd(self) -> int: ...

    def read_edge_events(self, max_events: int | None = None) -> list[Any]: ...

    def get_value(self, line: int) -> Any: ...

    def set_value(self, line: int, value: Any) -> None: ...

    def release(self) -> None: ...


RequestLines = Callable[..., LineRequest]


def load_gpiod() -> Any:
    """The ``gpiod`` module, checked to be libgpiod v2's binding (a clear error otherwise)."""
    try:
        import gpiod
    except ImportError as exc:
        raise GpiodUnavailable(
            "the gpiod GPIO path needs libgpiod v2's Python binding: apt install "
            "python3-libgpiod (Debian trixie, Raspberry Pi OS trixie) or pip install "
            "'gpiod>=2'; or set [button] source / [haptics] sink to \"gpio\" (gpiozero)"
        ) from exc
    if not hasattr(gpiod, "request_lines"):
        version = getattr(gpiod, "__version__", "1.x")
        raise GpiodUnavailable(
            f"gpiod {version} is libgpiod v1's binding (Debian bookworm's python3-libgpiod); "
            "pitrigger needs v2: pip install 'gpiod>=2' or use [button] source = \"gpio\"")
    return gpiod


def chip_path(chip: str, *, devices: str = "/dev") -> str:
    """The character device for ``chip``: a path, a ``gpiochipN`` name, or a chip label.

    A label (``"pinctrl-bcm2835"`` on a Pi Zero, ``"9030000.pl061"`` on QEMU's virt board)
    is looked up by opening each ``/dev/gpiochip*`` with gpiod, because chip numbers depend
    on probe order.
    """
    if chip.startswith("/"):
        return chip
    if chip.startswith("gpiochip") and chip[len("gpiochip"):].isdigit():
        return f"{devices}/{chip}"
    labels: dict[str, str] = {}
    paths = sorted(glob.glob(f"{devices}/gpiochip*"))
    if paths:
        gpiod = load_gpiod()
        for path in paths:
            with contextlib.suppress(OSError), gpiod.Chip(path) as opened:
                labels.setdefault(opened.get_info().label, path)
    if chip in labels:
        return labels[chip]
    known = ", ".join(f"{label} ({path})" for label, path in sorted(labels.items()))
    raise ValueError(f"no GPIO chip named or labelled {chip!r} (chips: {known or 'none'})")


EdgeBatch = Callable[[list[Any]], None]


class EdgeReader:
    """Reads a line request's edge events on its own thread, blocking in the kernel.

    ``on_events`` gets each batch that one ``read_edge_events()`` returns (a bouncing
    contact often yields several at once). The thread sleeps in ``select()`` with no
    timeout on the request's descriptor and on a pipe that :meth:`close` writes to: it
    wakes for an edge or for closing, never on a timer.

    >>> import os
    >>> class Request:                      # a stand-in: a pipe is the "line"
    ...     def __init__(self): self.r, self.w = os.pipe()
    ...     fd = property(lambda self: self.r)
    ...     def read_edge_events(self, max_events=None): return list(os.read(self.r, 64))
    >>> request, seen, done = Request(), [], threading.Event()
    >>> reader = EdgeReader(request, lambda batch: (seen.extend(batch), done.set()))
    >>> reader.start(); _ = os.write(request.w, bytes([1, 0]))
    >>> done.wait(5), seen
    (True, [1, 0])
    >>> reader.close()
    """

    def __init__(self, request: LineRequest, on_events: EdgeBatch, *,
                 name: str = "gpiod-edges") -> None:
        self.request = request
        self.on_events = on_events
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        # The kernel's name for this thread too (top -H, /proc/PID/task/*/comm), so that
        # wake-ups can be told apart by thread on a Pi.
        with contextlib.suppress(OSError):
            Path("/proc/thread-self/comm").write_text(self._thread.name[:15])
        fd = self.request.fd
        try:
            while True:
                readable, _, _ = select.select([fd, self._wake_r], [], [])
                if self._wake_r in readable or self._closed:
                    return
                events = self.request.read_edge_events()
                if events:
                    try:
                        self.on_events(events)
                    except Exception:  # a bad handler must not end the only edge reader
                        log.exception("edge handler failed (edges dropped, reader still live)")
        except Exception as exc:  # the chip went away (released, unbound, EBADF)
            if not self._closed:
                log.error("GPIO edge reader stopped: %s: %s", type(exc).__name__, exc)
        finally:
            with contextlib.suppress(OSError):
                os.close(self._wake_r)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 2.0) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            os.close(self._wake_w)
        if not self._thread.is_alive() and self._thread.ident is None:
            with contextlib.suppress(OSError):  # never started: nobody else closes it
                os.close(self._wake_r)


class SoftwarePwm:
    """Toggles an output through ``write(bool)`` at ``frequency_hz`` with duty ``duty``.

    The thread exists only while :meth:`set_duty` holds a value strictly between 0 and 1;
    0 and 1 are written straight through and end the thread, so a motor that is off (or
    at full strength) costs no wake-ups. Timing is best effort (a Python thread on a Pi
    Zero jitters by a millisecond or more): fine for an ERM motor's strength, which only
    feels the average.
    """

    def __init__(self, write: Callable[[bool], None], frequency_hz: float) -> None:
        if frequency_hz <= 0:
            raise ValueError(f"PWM frequency must be above 0 Hz, not {frequency_hz}")
        self.write = write
        self.period_s = 1.0 / frequency_hz
        self.duty = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_duty(self, duty: float) -> None:
        if not 0.0 <= duty <= 1.0:
            raise ValueError(f"duty must be within 0..1, not {duty}")
        with self._lock:
            self.duty = duty
            if 0.0 < duty < 1.0:
                if self._thread is None:
                    self._stop.clear()
                    self._thread = threading.Thread(target=self._run, name="soft-pwm",
                                                    daemon=True)
                    self._thread.start()
                return
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        self.write(duty >= 1.0)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            duty = self.duty
            self.write(True)
            if self._stop.wait(self.period_s * duty):
                return
            self.write(False)
            if self._stop.wait(self.period_s * (1.0 - duty)):
                return

    def close(self) -> None:
        self.set_duty(0.0)


class SysfsPwm:
    """A hardware PWM channel, ``/sys/class/pwm/<chip>/pwm<channel>``.

    On a Pi the pin must be routed to the PWM block first (``dtoverlay=pwm`` in config.txt:
    GPIO 18 → PWM0 channel 0 by default). ``root`` is a parameter so the tests can use a
    directory that looks like sysfs.
    """

    def __init__(self, spec: str, frequency_hz: float, *,
                 root: str | os.PathLike[str] = "/sys/class/pwm") -> None:
        chip, channel = self.parse(spec)
        self.chip_dir = Path(root) / chip
        if not self.chip_dir.is_dir():
            raise ValueError(f"no PWM chip {chip!r} under {root} (is dtoverlay=pwm set?)")
        self.dir = self.chip_dir / f"pwm{channel}"
        if not self.dir.is_dir():
            (self.chip_dir / "export").write_text(f"{channel}\n")
            if not self.dir.is_dir():
                raise ValueError(f"exporting {spec} did not create {self.dir}")
        self.period_ns = round(1e9 / frequency_hz)
        self._write("enable", 0)
        self._write("duty_cycle", 0)  # before the period: duty may never exceed it
        self._write("period", self.period_ns)
        self._write("enable", 1)
        self.duty = 0.0

    @staticmethod
    def parse(spec: str) -> tuple[str, int]:
        """``"pwmchip0:1"`` → ``("pwmchip0", 1)``; a clear error for anything else."""
        chip, sep, channel = spec.partition(":")
        if not (sep and chip.startswith("pwmchip") and chip[7:].isdigit() and channel.isdigit()):
            raise ValueError(f"PWM channel {spec!r} is not like 'pwmchip0:0' (chip:channel)")
        return chip, int(channel)

    def _write(self, name: str, value: int) -> None:
        (self.dir / name).write_text(f"{value}\n")

    def set_duty(self, duty: float) -> None:
        if not 0.0 <= duty <= 1.0:
            raise ValueError(f"duty must be within 0..1, not {duty}")
        self.duty = duty
        self._write("duty_cycle", round(self.period_ns * duty))

    def close(self) -> None:
        try:
            self.set_duty(0.0)
            self._write("enable", 0)
        finally:
            with contextlib.suppress(OSError):
                (self.chip_dir / "unexport").write_text(f"{self.dir.name[3:]}\n")


def request_lines(chip: str, config: Mapping[int | Iterable[int], Any], *,
                  consumer: str, request: RequestLines | None = None,
                  **options: Any) -> LineRequest:
    """``gpiod.request_lines`` on :func:`chip_path` ``(chip)``, or ``request`` when given."""
    if request is None:
        request = load_gpiod().request_lines
    path = chip_path(chip)
    try:
        return request(path, config=dict(config), consumer=consumer, **options)
    except FileNotFoundError:
        raise GpioUnavailable(NO_GPIO_ADVICE.format(detail=f"{path} does not exist")) from None
    except OSError as exc:
        lines = ", ".join(str(offset) for offset in config)
        raise OSError(exc.errno, f"cannot request GPIO line {lines} of {chip} for {consumer}: "
                                 f"{exc.strerror or exc} (is another program using it? is "
                                 "the service in the gpio group?)") from exc
