"""Gesture recogniser: unit tests and properties on random, bouncing edge trains."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitrigger.gestures import (
    GESTURE_NAMES,
    HOLD_NAMES,
    Gesture,
    GestureEvent,
    GestureRecogniser,
    GestureTimings,
    ThresholdCrossed,
)

T = GestureTimings()  # 25 ms debounce, 300 ms window, 1 / 3 / 8 s holds

Edge = tuple[bool, float]


def run(rec: GestureRecogniser, edges: list[Edge]) -> tuple[list[GestureEvent], int, int]:
    """Drive ``rec`` like the daemon: wake at every deadline, feed edges, run until idle.

    Returns (events, wake-ups, wake-ups that produced nothing).
    """
    events: list[GestureEvent] = []
    wakeups = empty = 0

    def wake(deadline: float) -> None:
        nonlocal wakeups, empty
        wakeups += 1
        out = rec.advance(deadline)
        empty += not out
        events.extend(out)

    for pressed, at in edges:
        while (deadline := rec.next_deadline()) is not None and deadline < at:
            wake(deadline)
        events.extend(rec.edge(pressed, at))
    for _ in range(1000):
        deadline = rec.next_deadline()
        if deadline is None:
            break
        wake(deadline)
    else:
        pytest.fail("recogniser never became idle")
    return events, wakeups, empty


def presses(*spans: tuple[float, float]) -> list[Edge]:
    """Edges for presses given as (down, up) times."""
    return [edge for down, up in spans for edge in ((True, down), (False, up))]


def gestures(events: list[GestureEvent]) -> list[Gesture]:
    return [e for e in events if isinstance(e, Gesture)]


# -- timings ---------------------------------------------------------------------------------


def test_timings_defaults() -> None:
    assert T.thresholds == (1.0, 3.0, 8.0)
    assert (T.debounce_s, T.double_window_s) == (0.025, 0.3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hold_s": 3.0}, "long_hold_s"),
        ({"very_long_hold_s": 2.0}, "very_long_hold_s"),
        ({"debounce_s": 0.5}, "double_window_s"),
        ({"debounce_s": 0.0}, "debounce_s"),
        ({"hold_s": math.nan}, "hold_s"),
        ({"hold_s": math.inf}, "hold_s"),
        ({"hold_s": -1.0}, "hold_s"),
        ({"hold_s": True}, "hold_s"),
    ],
)
def test_timings_reject_inconsistent(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        GestureTimings(**kwargs)


# -- single gestures -------------------------------------------------------------------------


def test_press_fires_at_release_edge_when_double_disabled() -> None:
    rec = GestureRecogniser(T)
    assert rec.edge(True, 1.0) == []
    assert rec.edge(False, 1.2) == [Gesture("press", 1.2)]
    assert rec.next_deadline() is None


def test_press_waits_for_double_window_when_enabled() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    rec.edge(True, 1.0)
    assert rec.edge(False, 1.2) == []
    assert rec.next_deadline() == pytest.approx(1.5)
    assert rec.advance(1.49) == []
    assert rec.advance(1.5) == [Gesture("press", pytest.approx(1.5))]
    assert rec.next_deadline() is None


def test_double() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    events, _, _ = run(rec, presses((1.0, 1.1), (1.3, 1.4)))
    assert events == [Gesture("double", 1.4)]


def test_second_press_after_window_is_two_presses() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    events, _, _ = run(rec, presses((1.0, 1.1), (1.45, 1.5)))
    assert events == [Gesture("press", pytest.approx(1.4)), Gesture("press", pytest.approx(1.8))]


def test_two_quick_presses_without_double_are_two_presses() -> None:
    rec = GestureRecogniser(T)
    events, _, _ = run(rec, presses((1.0, 1.1), (1.3, 1.4)))
    assert events == [Gesture("press", 1.1), Gesture("press", 1.4)]


def test_hold_after_short_press_is_not_a_double() -> None:
    # The first press of a double must be short; a hold answers at once.
    rec = GestureRecogniser(T, double_enabled=True)
    events, _, _ = run(rec, presses((1.0, 2.5)))
    assert gestures(events) == [Gesture("hold", 2.5)]


def test_disabling_double_releases_a_pending_press() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    rec.edge(True, 1.0)
    rec.edge(False, 1.1)
    rec.double_enabled = False
    assert rec.next_deadline() == 1.1
    assert rec.advance(1.15) == [Gesture("press", 1.1)]
    assert rec.next_deadline() is None


@pytest.mark.parametrize(
    ("duration", "name", "ticks"),
    [
        (0.99, "press", []),
        (1.0, "hold", ["hold"]),
        (2.9, "hold", ["hold"]),
        (3.2, "long-hold", ["hold", "long-hold"]),
        (8.5, "very-long-hold", ["hold", "long-hold", "very-long-hold"]),
        (60.0, "very-long-hold", ["hold", "long-hold", "very-long-hold"]),
    ],
)
def test_hold_ladder(duration: float, name: str, ticks: list[str]) -> None:
    rec = GestureRecogniser(T)
    events, _, _ = run(rec, presses((10.0, 10.0 + duration)))
    crossed = [e for e in events if isinstance(e, ThresholdCrossed)]
    assert [e.name for e in crossed] == ticks
    assert [e.at for e in crossed] == [10.0 + t for t in T.thresholds[: len(ticks)]]
    assert events[-1] == Gesture(name, 10.0 + duration)
    assert len(gestures(events)) == 1


def test_ticks_come_from_advance_while_held() -> None:
    rec = GestureRecogniser(T)
    rec.edge(True, 0.0)
    assert rec.next_deadline() == 1.0
    assert rec.advance(0.5) == []
    assert rec.advance(1.0) == [ThresholdCrossed("hold", 1.0)]
    assert rec.next_deadline() == 3.0
    # A late wake-up still reports both crossings, each at its own time, in order.
    assert rec.advance(9.0) == [ThresholdCrossed("long-hold", 3.0),
                                ThresholdCrossed("very-long-hold", 8.0)]
    # Past the ladder a held (or stuck) button costs no wake-ups.
    assert rec.next_deadline() is None
    assert rec.edge(False, 20.0) == [Gesture("very-long-hold", 20.0)]


def test_late_release_edge_reports_missed_ticks_first() -> None:
    rec = GestureRecogniser(T)
    rec.edge(True, 0.0)
    assert rec.edge(False, 3.5) == [
        ThresholdCrossed("hold", 1.0),
        ThresholdCrossed("long-hold", 3.0),
        Gesture("long-hold", 3.5),
    ]


def test_custom_thresholds() -> None:
    timings = GestureTimings(hold_s=0.5, long_hold_s=1.0, very_long_hold_s=2.0)
    events, _, _ = run(GestureRecogniser(timings), presses((0.0, 1.2)))
    assert events[-1] == Gesture("long-hold", 1.2)


# -- debounce --------------------------------------------------------------------------------


def test_glitch_shorter_than_debounce_makes_no_gesture() -> None:
    rec = GestureRecogniser(T)
    events, wakeups, _ = run(rec, [(True, 1.0), (False, 1.01)])
    assert events == []
    assert wakeups == 1  # the lockout end, to take the glitch back
    assert rec.next_deadline() is None
    assert not rec.pressed


def test_glitch_during_double_window_is_not_a_double() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    events, _, _ = run(rec, [*presses((1.0, 1.1)), (True, 1.2), (False, 1.21)])
    assert events == [Gesture("press", pytest.approx(1.4))]


def test_glitch_crossing_the_window_end_still_reports_the_press_on_time() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    # Second contact 10 ms before the window closes, gone 5 ms later.
    events, _, _ = run(rec, [*presses((1.0, 1.1)), (True, 1.39), (False, 1.395)])
    assert events == [Gesture("press", pytest.approx(1.4))]


def test_bounce_on_press_and_release_is_one_press() -> None:
    rec = GestureRecogniser(T)
    edges = [(True, 1.0), (False, 1.002), (True, 1.004), (False, 1.3), (True, 1.301),
             (False, 1.31)]
    events, _, _ = run(rec, edges)
    assert events == [Gesture("press", 1.3)]


def test_repeated_same_level_edges_are_harmless() -> None:
    rec = GestureRecogniser(T)
    edges = [(False, 0.5), (True, 1.0), (True, 1.1), (True, 1.2), (False, 1.3), (False, 1.4)]
    events, _, _ = run(rec, edges)
    assert events == [Gesture("press", 1.3)]


def test_release_glitch_during_hold_is_undone_when_nothing_was_said() -> None:
    # With double enabled the short press's release waits; a 10 ms dropout is taken back
    # and the press goes on to become a hold.
    rec = GestureRecogniser(T, double_enabled=True)
    events, _, _ = run(rec, [(True, 0.0), (False, 0.5), (True, 0.51), (False, 1.5)])
    assert gestures(events) == [Gesture("hold", 1.5)]


def test_release_glitch_after_its_gesture_absorbs_the_rest_of_the_press() -> None:
    # The release already answered (a press, at once); the dropout must not start a second
    # gesture for the same physical press.
    rec = GestureRecogniser(T)
    events, _, _ = run(rec, [(True, 0.0), (False, 0.5), (True, 0.51), (False, 5.0)])
    assert events == [Gesture("press", 0.5)]
    assert rec.next_deadline() is None


def test_pressed_at_start_is_ignored_until_released() -> None:
    rec = GestureRecogniser(T, pressed_at_start=True)
    assert rec.next_deadline() is None
    events, _, _ = run(rec, [(False, 4.0), *presses((5.0, 5.1))])
    assert events == [Gesture("press", 5.1)]


def test_reset_forgets_pending_press_and_held_button() -> None:
    rec = GestureRecogniser(T, double_enabled=True)
    rec.edge(True, 0.0)
    rec.edge(False, 0.1)
    rec.reset()
    assert rec.next_deadline() is None
    rec.edge(True, 1.0)
    rec.reset()  # held through a reset: this press is already spent
    assert rec.next_deadline() is None
    assert rec.edge(False, 5.0) == []
    assert rec.edge(True, 6.0) + rec.edge(False, 6.1) == []
    assert rec.advance(6.4) == [Gesture("press", pytest.approx(6.4))]


def test_time_going_backwards_is_clamped() -> None:
    rec = GestureRecogniser(T)
    rec.edge(True, 5.0)
    rec.advance(5.1)
    assert rec.edge(False, 4.0) == [Gesture("press", 5.1)]


def test_idle_after_every_gesture_and_clean_edges_cost_no_wakeups() -> None:
    rec = GestureRecogniser(T)
    _, wakeups, _ = run(rec, presses((1.0, 1.2), (2.0, 2.2)))
    assert wakeups == 0
    assert rec.next_deadline() is None


# -- properties on random trains -------------------------------------------------------------

# A human press: gap before it, duration; both well above debounce (a glitch is not human).
human_press = st.tuples(
    st.floats(min_value=0.05, max_value=2.0),
    st.one_of(st.floats(min_value=0.05, max_value=0.9), st.floats(min_value=0.05, max_value=10.0)),
)
human_trains = st.lists(human_press, min_size=1, max_size=8)


def clean_train(spec: list[tuple[float, float]]) -> list[Edge]:
    edges: list[Edge] = []
    t = 0.0
    for gap, duration in spec:
        t += gap
        edges.append((True, t))
        t += duration
        edges.append((False, t))
    return edges


@st.composite
def bouncy(draw: st.DrawFn, edges: list[Edge]) -> list[Edge]:
    """Chatter after each real transition, inside the debounce time, settling on its level."""
    out: list[Edge] = []
    for level, at in edges:
        out.append((level, at))
        n = draw(st.integers(0, 3))
        offsets = sorted(
            draw(st.lists(st.floats(1e-4, T.debounce_s * 0.999), min_size=2 * n, max_size=2 * n,
                          unique=True))
        )
        for i, offset in enumerate(offsets):
            out.append((level if i % 2 else not level, at + offset))
    return out


def expected_without_double(spec: list[tuple[float, float]]) -> list[str]:
    names = []
    for _, duration in spec:
        rungs = sum(duration >= threshold for threshold in T.thresholds)
        names.append(HOLD_NAMES[rungs - 1] if rungs else "press")
    return names


@settings(max_examples=150, deadline=None)
@given(spec=human_trains, data=st.data(), double=st.booleans())
def test_bounce_never_adds_or_loses_a_gesture(
    spec: list[tuple[float, float]], data: st.DataObject, double: bool
) -> None:
    clean = clean_train(spec)
    clean_events, clean_wakeups, _ = run(GestureRecogniser(T, double_enabled=double), clean)
    noisy = data.draw(bouncy(clean))
    noisy_events, noisy_wakeups, _ = run(GestureRecogniser(T, double_enabled=double), noisy)
    assert noisy_events == clean_events
    # Bounce that settles costs no extra wake-ups either.
    assert noisy_wakeups == clean_wakeups


@settings(max_examples=150, deadline=None)
@given(spec=human_trains)
def test_each_press_is_one_gesture_at_its_release(spec: list[tuple[float, float]]) -> None:
    edges = clean_train(spec)
    events, wakeups, empty = run(GestureRecogniser(T), edges)
    got = gestures(events)
    assert [g.name for g in got] == expected_without_double(spec)
    # Not delayed: each gesture is stamped at its release edge.
    assert [g.at for g in got] == [at for level, at in edges if not level]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert all(g.name in GESTURE_NAMES for g in got)
    # Clean edges only wake the daemon for ticks.
    assert empty == 0
    assert wakeups <= sum(isinstance(e, ThresholdCrossed) for e in events)


@settings(max_examples=150, deadline=None)
@given(spec=human_trains)
def test_double_enabled_pairs_quick_presses(spec: list[tuple[float, float]]) -> None:
    edges = clean_train(spec)
    events, _, _ = run(GestureRecogniser(T, double_enabled=True), edges)
    # Reference: walk the presses, pairing a short press with a press that starts in the window.
    expected: list[Gesture] = []
    releases = [at for level, at in edges if not level]
    i = 0
    while i < len(spec):
        duration = spec[i][1]
        if duration >= T.hold_s:
            expected.append(Gesture(expected_without_double([spec[i]])[0], releases[i]))
            i += 1
        elif i + 1 < len(spec) and spec[i + 1][0] < T.double_window_s:
            expected.append(Gesture("double", releases[i + 1]))
            i += 2
        else:
            expected.append(Gesture("press", releases[i] + T.double_window_s))
            i += 1
    got = gestures(events)
    assert [g.name for g in got] == [g.name for g in expected]
    assert [g.at for g in got] == pytest.approx([g.at for g in expected])
    assert [e.at for e in events] == sorted(e.at for e in events)


@settings(max_examples=100, deadline=None)
@given(spec=human_trains, data=st.data())
def test_lazy_driver_gets_the_same_events(
    spec: list[tuple[float, float]], data: st.DataObject
) -> None:
    # A daemon that only wakes on edges (and once at the end) sees the same events, in order.
    edges = data.draw(bouncy(clean_train(spec)))
    eager, _, _ = run(GestureRecogniser(T), edges)
    rec = GestureRecogniser(T)
    lazy: list[GestureEvent] = []
    for level, at in edges:
        lazy.extend(rec.edge(level, at))
    lazy.extend(rec.advance(edges[-1][1] + 100.0))
    assert lazy == eager
    assert rec.next_deadline() is None


@settings(max_examples=100, deadline=None)
@given(
    edges=st.lists(
        st.tuples(st.booleans(), st.floats(min_value=0.0, max_value=0.5)), max_size=40
    ),
    double=st.booleans(),
)
def test_random_noise_never_breaks_the_machine(
    edges: list[tuple[bool, float]], double: bool
) -> None:
    # Arbitrary noise: events stay ordered and named, and the machine always becomes idle.
    t = 0.0
    timed: list[Edge] = []
    for level, step in edges:
        t += step
        timed.append((level, t))
    rec = GestureRecogniser(T, double_enabled=double)
    events, _, _ = run(rec, [*timed, (False, t + 1.0)])
    assert [e.at for e in events] == sorted(e.at for e in events)
    for e in events:
        assert e.name in (GESTURE_NAMES if isinstance(e, Gesture) else HOLD_NAMES)
    # Never more gestures than presses, however the noise falls.
    assert len(gestures(events)) <= sum(level for level, _ in timed)
    assert rec.next_deadline() is None
    assert not rec.pressed


def test_docstring_examples_run() -> None:
    import doctest

    import pitrigger.gestures

    result = doctest.testmod(pitrigger.gestures)
    assert result.attempted > 0 and result.failed == 0
