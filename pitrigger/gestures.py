"""Button edges in, gestures out: a pure, clock-driven state machine.

The recogniser never reads a pin or a clock. Feed it raw edges (``edge``) and the passing of
time (``advance``); it returns :class:`Gesture` and :class:`ThresholdCrossed` events, in time
order, each stamped with the moment it logically happened. ``next_deadline`` says when
``advance`` next has work; ``None`` means idle, so the daemon may sleep until the next edge.

Gestures:

* ``press`` -- a short press. Reported at the release edge, unless ``double_enabled``, in
  which case it waits ``double_window_s`` after the release for a second press.
* ``double`` -- a short press, then another press starting within the window; reported when
  the second press is released (a second press has no hold ladder).
* ``hold``, ``long-hold``, ``very-long-hold`` -- reported at release, named by the longest
  threshold passed. While the button is held, a :class:`ThresholdCrossed` marks each threshold
  so the daemon can tick the motor: the user feels which action they will get.

Debounce adds no latency to a clean edge: an edge that changes the level is accepted at once,
then further edges are ignored for ``debounce_s``. If the raw level at the end of that lockout
disagrees, the accepted edge was a glitch and is taken back. A glitch never makes a gesture:
a press shorter than ``debounce_s`` is forgotten; a release shorter than ``debounce_s`` is
undone if it had not yet produced a gesture, otherwise the rest of that press is absorbed
(one physical press, one gesture).

Example -- a short press, then a hold with its ticks::

    >>> r = GestureRecogniser(GestureTimings())
    >>> r.edge(True, 10.0), r.edge(False, 10.2)
    ([], [Gesture(name='press', at=10.2)])
    >>> r.edge(True, 20.0)
    []
    >>> r.next_deadline()
    21.0
    >>> r.advance(21.0)
    [ThresholdCrossed(name='hold', at=21.0)]
    >>> r.edge(False, 22.5)
    [Gesture(name='hold', at=22.5)]
    >>> r.next_deadline() is None
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pitrigger.names import GESTURES, HOLDS

__all__ = [
    "GESTURE_NAMES",
    "HOLD_NAMES",
    "Gesture",
    "GestureEvent",
    "GestureRecogniser",
    "GestureTimings",
    "ThresholdCrossed",
]

# The names live in pitrigger.names (one source for config, controller and docs).
GESTURE_NAMES: tuple[str, ...] = GESTURES
#: The hold ladder, shortest first; also the names carried by :class:`ThresholdCrossed`.
HOLD_NAMES: tuple[str, ...] = HOLDS


@dataclass(frozen=True, slots=True)
class Gesture:
    """A recognised gesture; ``name`` is one of :data:`GESTURE_NAMES`."""

    name: str
    at: float


@dataclass(frozen=True, slots=True)
class ThresholdCrossed:
    """The button, still held, just passed a hold threshold (one of :data:`HOLD_NAMES`)."""

    name: str
    at: float


GestureEvent = Gesture | ThresholdCrossed


@dataclass(frozen=True)
class GestureTimings:
    """Timings in seconds. Raises :class:`ValueError` naming the field when inconsistent.

    >>> GestureTimings(hold_s=2.0).long_hold_s
    3.0
    >>> GestureTimings(hold_s=4.0)
    Traceback (most recent call last):
    ...
    ValueError: long_hold_s (3.0) must be greater than hold_s (4.0)
    """

    debounce_s: float = 0.025
    double_window_s: float = 0.3
    hold_s: float = 1.0
    long_hold_s: float = 3.0
    very_long_hold_s: float = 8.0

    def __post_init__(self) -> None:
        for field in ("debounce_s", "double_window_s", "hold_s", "long_hold_s",
                      "very_long_hold_s"):
            value = getattr(self, field)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{field} must be a number, not {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{field} must be a positive finite number, not {value!r}")
        # Each later value must exceed the earlier one: the debounce lockout has to end before
        # a double window or a hold threshold can be decided.
        chain = (
            ("debounce_s", "double_window_s"),
            ("debounce_s", "hold_s"),
            ("hold_s", "long_hold_s"),
            ("long_hold_s", "very_long_hold_s"),
        )
        for shorter, longer in chain:
            if getattr(self, longer) <= getattr(self, shorter):
                raise ValueError(
                    f"{longer} ({getattr(self, longer)}) must be greater than "
                    f"{shorter} ({getattr(self, shorter)})"
                )

    @property
    def thresholds(self) -> tuple[float, float, float]:
        """The hold ladder in seconds, in the order of :data:`HOLD_NAMES`."""
        return (self.hold_s, self.long_hold_s, self.very_long_hold_s)


# Gesture-level states. DOWN is the first press (with its hold ladder), WAIT_DOUBLE the window
# after a short press, SECOND_DOWN the second press of a double, SPENT a press that has already
# produced its gesture (after a release glitch, or held at start-up) and is ignored until release.
_IDLE = "idle"
_DOWN = "down"
_WAIT_DOUBLE = "wait-double"
_SECOND_DOWN = "second-down"
_SPENT = "spent"

# Which state a debounced press leads to; releases need the hold ladder and are handled in code.
_ON_PRESS: dict[str, str] = {
    _IDLE: _DOWN,
    _WAIT_DOUBLE: _SECOND_DOWN,
}


class _GestureState:
    # A plain slotted class, not a dataclass: one less class to generate at import on a Pi Zero.
    __slots__ = ("name", "pressed_at", "released_at", "rungs")

    def __init__(self, name: str = _IDLE, pressed_at: float = 0.0, rungs: int = 0,
                 released_at: float = 0.0) -> None:
        self.name = name
        self.pressed_at = pressed_at  # start of the current press (DOWN, SECOND_DOWN)
        self.rungs = rungs  # hold thresholds already crossed (DOWN)
        self.released_at = released_at  # WAIT_DOUBLE: release of the lone short press

    def copy(self) -> _GestureState:
        return _GestureState(self.name, self.pressed_at, self.rungs, self.released_at)


class GestureRecogniser:
    """Turns raw, possibly bouncing button edges into gestures. Pure: no I/O, no clock.

    :param timings: thresholds and windows, see :class:`GestureTimings`.
    :param double_enabled: wait for a second press after a short one (adds ``double_window_s``
        of latency to ``press``); settable at any time.
    :param pressed_at_start: the button is already down: that press is ignored until released
        (a button held or stuck at boot must not fire an action).

    ``edge`` and ``advance`` first run every deadline up to their ``at``/``now``, so a late
    ``advance`` never reorders events. Times must not go backwards; earlier times are treated as
    the latest time seen.

    >>> r = GestureRecogniser(GestureTimings(), double_enabled=True)
    >>> r.edge(True, 0.0) + r.edge(False, 0.1) + r.edge(True, 0.25) + r.edge(False, 0.3)
    [Gesture(name='double', at=0.3)]
    >>> r.edge(True, 5.0) + r.edge(False, 5.2)
    []
    >>> r.next_deadline()
    5.5
    >>> r.advance(6.0)
    [Gesture(name='press', at=5.5)]
    """

    def __init__(
        self,
        timings: GestureTimings,
        *,
        double_enabled: bool = False,
        pressed_at_start: bool = False,
    ) -> None:
        self.timings = timings
        self.double_enabled = double_enabled
        self._raw = pressed_at_start  # the last raw level seen
        self._level = pressed_at_start  # the debounced level
        self._lockout_until: float | None = None
        # The gesture state before the edge under lockout, to take a glitch back.
        self._undo: _GestureState | None = None
        self._undo_emitted = False  # the edge under lockout already produced events
        self._state = _GestureState(_SPENT if pressed_at_start else _IDLE)
        self._now = -math.inf

    @property
    def pressed(self) -> bool:
        """The debounced button level."""
        return self._level

    @property
    def idle(self) -> bool:
        """Nothing pending: :meth:`next_deadline` is ``None``."""
        return self.next_deadline() is None

    def reset(self) -> None:
        """Forget any gesture in progress. A button held now is ignored until released."""
        self._level = self._raw
        self._lockout_until = None
        self._undo = None
        self._undo_emitted = False
        self._state = _GestureState(_SPENT if self._raw else _IDLE)

    def next_deadline(self) -> float | None:
        """When :meth:`advance` next has something to do; ``None`` when idle."""
        deadline = self._lockout_deadline()
        state_deadline = self._state_deadline()
        if state_deadline is not None and (deadline is None or state_deadline < deadline):
            deadline = state_deadline
        return deadline

    def advance(self, now: float) -> list[GestureEvent]:
        """Run every deadline up to ``now`` (inclusive); return the events, oldest first."""
        now = self._clock(now)
        events: list[GestureEvent] = []
        while True:
            lockout = self._lockout_deadline()
            timer = self._state_deadline()
            if lockout is not None and lockout <= now and (timer is None or lockout <= timer):
                self._end_lockout(lockout, events)
            elif timer is not None and timer <= now:
                self._on_timer(timer, events)
            else:
                break
        # A lockout with nothing to reconcile expires silently: edges after it are accepted.
        if self._lockout_until is not None and self._lockout_until <= now:
            self._lockout_until = None
            self._undo = None
        return events

    def edge(self, pressed: bool, at: float) -> list[GestureEvent]:
        """Feed one raw edge (``True`` = pressed) seen at ``at``; return the events."""
        events = self.advance(at)
        at = self._now
        self._raw = pressed
        if self._lockout_until is not None or pressed == self._level:
            return events  # bounce inside the lockout, or a repeated level: nothing new
        self._level = pressed
        self._lockout_until = at + self.timings.debounce_s
        self._undo = self._state.copy()
        before = len(events)
        if pressed:
            self._on_press(at)
        else:
            self._on_release(at, events)
        self._undo_emitted = len(events) > before
        return events

    # -- internals ---------------------------------------------------------------------------

    def _clock(self, now: float) -> float:
        if now > self._now:
            self._now = now
        return self._now

    def _lockout_deadline(self) -> float | None:
        # Only a lockout whose raw level disagrees needs a wake-up; a clean edge costs none.
        if self._lockout_until is not None and self._raw != self._level:
            return self._lockout_until
        return None

    def _state_deadline(self) -> float | None:
        state = self._state
        if state.name == _DOWN and state.rungs < len(HOLD_NAMES):
            return state.pressed_at + self.timings.thresholds[state.rungs]
        if state.name == _WAIT_DOUBLE:
            # Double switched off meanwhile: the press is due now, as of its release.
            if not self.double_enabled:
                return state.released_at
            return state.released_at + self.timings.double_window_s
        return None

    def _end_lockout(self, at: float, events: list[GestureEvent]) -> None:
        # The raw level moved back during the lockout: the accepted edge was a glitch.
        self._lockout_until = None
        self._level = self._raw
        if self._undo is not None and not self._undo_emitted:
            self._state = self._undo  # nothing came of it: as if it never happened
        elif self._level:
            # A release glitch that already produced its gesture: the button is still down,
            # but this press has been answered.
            self._state = _GestureState(_SPENT)
        else:
            self._state = _GestureState(_IDLE)
        self._undo = None

    def _on_timer(self, at: float, events: list[GestureEvent]) -> None:
        # Whatever a timer emits cannot be taken back by a later glitch verdict.
        self._undo_emitted = self._undo is not None
        state = self._state
        if state.name == _DOWN:
            events.append(ThresholdCrossed(HOLD_NAMES[state.rungs], at))
            state.rungs += 1
        elif state.name == _WAIT_DOUBLE:
            events.append(Gesture("press", at))
            self._state = _GestureState(_IDLE)

    def _on_press(self, at: float) -> None:
        next_state = _ON_PRESS.get(self._state.name)
        if next_state is None:  # SPENT or an inconsistent level: ignore until release
            self._state = _GestureState(_SPENT)
        else:
            self._state = _GestureState(next_state, pressed_at=at)

    def _on_release(self, at: float, events: list[GestureEvent]) -> None:
        state = self._state
        if state.name == _DOWN:
            if state.rungs:
                events.append(Gesture(HOLD_NAMES[state.rungs - 1], at))
            elif self.double_enabled:
                self._state = _GestureState(_WAIT_DOUBLE, released_at=at)
                return
            else:
                events.append(Gesture("press", at))
        elif state.name == _SECOND_DOWN:
            events.append(Gesture("double", at))
        self._state = _GestureState(_IDLE)
