"""A stand-in for a libgpiod v2 line request whose blocking read is real.

There is no gpio-sim on this machine, so :class:`PipeLineRequest` follows the part of
``gpiod.LineRequest`` that pitrigger uses, backed by a pipe: ``fd`` becomes readable when
an edge is injected, exactly as a gpiochip's request descriptor does when the kernel
queues an event, and ``read_edge_events`` returns real ``gpiod.EdgeEvent`` objects.
Output writes are kept with the time they were made, like a logic analyser on the line.

Use :class:`StandInChip` as the ``request_lines`` of an adapter:

>>> chip = StandInChip()
>>> request = chip("/dev/gpiochip0", config={17: None}, consumer="test")
>>> chip.requests[17] is request, request.consumer
(True, 'test')
>>> request.inject(17, rising=False, timestamp_ns=5_000_000_000)
>>> [(e.event_type.name, e.timestamp_ns) for e in request.read_edge_events()]
[('FALLING_EDGE', 5000000000)]
>>> request.release()
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import gpiod
from gpiod.line import Bias, Direction, Value


class PipeLineRequest:
    """One request on a stand-in chip: edge events through a pipe, outputs recorded."""

    def __init__(self, path: str, config: Mapping[int | Iterable[int], Any],
                 consumer: str | None) -> None:
        self.path = path
        self.consumer = consumer
        self.settings: dict[int, Any] = {}
        for key, settings in config.items():
            for offset in (key,) if isinstance(key, int) else key:
                self.settings[offset] = settings
        self.values: dict[int, Value] = {}
        for offset, settings in self.settings.items():
            # An output starts at its requested value; an input reads its bias (released).
            if getattr(settings, "direction", None) == Direction.OUTPUT:
                self.values[offset] = settings.output_value
            else:
                pulled_up = getattr(settings, "bias", None) == Bias.PULL_UP
                self.values[offset] = Value.ACTIVE if pulled_up else Value.INACTIVE
        self.writes: list[tuple[float, int, Value]] = []  # (time.monotonic(), offset, value)
        self._events: list[gpiod.EdgeEvent] = []
        self._lock = threading.Lock()
        self._seqno = 0
        self._read_fd, self._write_fd = os.pipe()
        self.released = False
        self.reads = 0  # read_edge_events calls: each is one wake-up of a reader

    # -- gpiod.LineRequest -------------------------------------------------------------

    @property
    def fd(self) -> int:
        return self._read_fd

    def fileno(self) -> int:
        return self._read_fd

    def read_edge_events(self, max_events: int | None = None) -> list[gpiod.EdgeEvent]:
        self._check()
        os.read(self._read_fd, 1)  # blocks, like read() on the request's descriptor
        with self._lock:
            take = len(self._events) if max_events is None else max_events
            events, self._events = self._events[:take], self._events[take:]
            # The pipe holds one byte per event: drain the bytes of the others taken.
            if len(events) > 1:
                os.read(self._read_fd, len(events) - 1)
        self.reads += 1
        return events

    def get_value(self, line: int) -> Value:
        self._check()
        return self.values[line]

    def set_value(self, line: int, value: Value) -> None:
        self._check()
        if line not in self.settings:
            raise ValueError(f"line {line} was not requested")
        self.values[line] = value
        self.writes.append((time.monotonic(), line, value))

    def release(self) -> None:
        if not self.released:
            self.released = True
            os.close(self._read_fd)
            os.close(self._write_fd)

    # -- the test's side ---------------------------------------------------------------

    def inject(self, offset: int, *, rising: bool, timestamp_ns: int | None = None) -> None:
        """The kernel saw an edge on ``offset`` (stamped now unless ``timestamp_ns``)."""
        self._check()
        kind = gpiod.EdgeEvent.Type.RISING_EDGE if rising else gpiod.EdgeEvent.Type.FALLING_EDGE
        stamp = time.monotonic_ns() if timestamp_ns is None else timestamp_ns
        with self._lock:
            self._seqno += 1
            self.values[offset] = Value.ACTIVE if rising else Value.INACTIVE
            self._events.append(gpiod.EdgeEvent(kind.value, stamp, offset, self._seqno,
                                                self._seqno))
            os.write(self._write_fd, b"e")

    def _check(self) -> None:
        if self.released:
            raise gpiod.exception.RequestReleasedError()


class StandInChip:
    """``request_lines`` for adapters: every request it makes, by line offset."""

    def __init__(self, fail: OSError | None = None) -> None:
        self.requests: dict[int, PipeLineRequest] = {}
        self.fail = fail

    def __call__(self, path: str, config: Mapping[int | Iterable[int], Any],
                 consumer: str | None = None, **options: Any) -> PipeLineRequest:
        if self.fail is not None:
            raise self.fail
        request = PipeLineRequest(path, config, consumer)
        for offset in request.settings:
            self.requests[offset] = request
        return request
