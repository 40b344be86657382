"""Haptic sequencer: patterns, queueing, kick, gap, overflow; a property on random plays."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitrigger.haptics import (
    DEFAULT_PATTERNS,
    VOCABULARY,
    HapticSequencer,
    Pattern,
    PatternStarted,
    render,
)

Timeline = list[tuple[float, float]]  # (time, level that holds from then)


def drain(seq: HapticSequencer, timeline: Timeline, until: float | None = None) -> None:
    """Advance at every deadline (up to ``until``, or until idle), recording level changes."""
    for _ in range(10_000):
        deadline = seq.next_deadline()
        if deadline is None or (until is not None and deadline > until):
            return
        timeline.append((deadline, seq.advance(deadline)))
    pytest.fail("sequencer never became idle")


def play_and_drain(seq: HapticSequencer, *names: str, at: float = 0.0) -> Timeline:
    for name in names:
        seq.play(name, at)
    timeline: Timeline = [(at, seq.advance(at))]
    drain(seq, timeline)
    return timeline


def changes(timeline: Timeline) -> Timeline:
    """Only the points where the level changes, times rounded to the microsecond."""
    out: Timeline = []
    for t, level in timeline:
        if not out or out[-1][1] != level:
            out.append((round(t, 6), level))
    return out


# -- patterns --------------------------------------------------------------------------------


def test_vocabulary_is_fully_defined() -> None:
    assert set(DEFAULT_PATTERNS) == set(VOCABULARY)


@pytest.mark.parametrize("name", VOCABULARY)
def test_default_patterns_follow_the_research(name: str) -> None:
    pattern = DEFAULT_PATTERNS[name]
    assert pattern.pulses <= 3
    assert all(on >= 60 for on in pattern.steps_ms[::2])
    assert all(off >= 100 for off in pattern.steps_ms[1::2])


def test_recording_is_unmistakable() -> None:
    # The only pattern with a long pulse, and a single one: nothing else can pass for it.
    # `restarted` means recording too (a new clip began by itself), so it ends in the buzz.
    recording = DEFAULT_PATTERNS["recording"]
    assert recording.pulses == 1 and recording.steps_ms[0] >= 500
    assert DEFAULT_PATTERNS["restarted"].steps_ms[-1] == recording.steps_ms[0]
    for name, pattern in DEFAULT_PATTERNS.items():
        if name not in ("recording", "restarted"):
            assert max(pattern.steps_ms[::2]) <= recording.steps_ms[0] / 2, name
    # Every message has its own rhythm. `focus` is left out: it is one element of a pulse
    # train whose rate is the message, never played alone, and the daemon holds the train
    # while the button is down, so it never meets `tick` (both are a single tap).
    messages = {n: p for n, p in DEFAULT_PATTERNS.items() if n != "focus"}
    rhythms = {render(p) for p in messages.values()}
    assert len(rhythms) == len(messages)


@pytest.mark.parametrize(
    ("steps", "strength", "match"),
    [
        ((), 1.0, "odd"),
        ((100, 100), 1.0, "odd"),
        ((100, 0, 100), 1.0, "positive"),
        ((100.5,), 1.0, "positive"),
        ((100,), 0.0, "strength"),
        ((100,), 1.5, "strength"),
        ((100,), float("nan"), "strength"),
    ],
)
def test_pattern_validation(steps: tuple[int, ...], strength: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Pattern(steps, strength)


def test_render() -> None:
    assert render(DEFAULT_PATTERNS["recording"]) == "███████"
    assert render(DEFAULT_PATTERNS["stopped"]) == "██▁▁██"
    assert render(Pattern((100, 100, 100), strength=0.5)) == "▄▁▄"
    assert render(Pattern((10,))) == "█"  # never invisible


# -- sequencing ------------------------------------------------------------------------------


def test_single_pattern_timeline_and_motor_ends_off() -> None:
    seq = HapticSequencer({"p": Pattern((100, 200, 300))})
    timeline = play_and_drain(seq, "p", at=5.0)
    assert changes(timeline) == [(5.0, 1.0), (5.1, 0.0), (5.3, 1.0), (5.6, 0.0)]
    assert seq.level == 0.0
    assert seq.playing is None
    assert seq.next_deadline() is None
    assert seq.pop_started() == [PatternStarted("p", 5.0)]
    assert seq.pop_started() == []


def test_kick_when_strength_below_one() -> None:
    seq = HapticSequencer({"soft": Pattern((100, 100, 30), strength=0.4)}, kick_s=0.04)
    timeline = play_and_drain(seq, "soft", at=0.0)
    # The 30 ms on-step is all kick.
    assert changes(timeline) == [(0.0, 1.0), (0.04, 0.4), (0.1, 0.0), (0.2, 1.0), (0.23, 0.0)]


def test_no_kick_at_full_strength_or_when_disabled() -> None:
    seq = HapticSequencer({"p": Pattern((100,))}, kick_s=0.04)
    assert changes(play_and_drain(seq, "p")) == [(0.0, 1.0), (0.1, 0.0)]
    seq = HapticSequencer({"soft": Pattern((100,), strength=0.5)}, kick_s=0.0)
    assert changes(play_and_drain(seq, "soft")) == [(0.0, 0.5), (0.1, 0.0)]


def test_queued_patterns_play_in_order_with_the_gap() -> None:
    seq = HapticSequencer({"a": Pattern((100,)), "b": Pattern((50,))}, min_gap_s=0.15)
    timeline = play_and_drain(seq, "a", "b", at=0.0)
    assert changes(timeline) == [(0.0, 1.0), (0.1, 0.0), (0.25, 1.0), (0.3, 0.0)]
    assert seq.pop_started() == [PatternStarted("a", 0.0),
                                 PatternStarted("b", pytest.approx(0.25))]


def test_play_shortly_after_a_pattern_still_waits_for_the_gap() -> None:
    seq = HapticSequencer({"a": Pattern((100,))}, min_gap_s=0.15)
    play_and_drain(seq, "a", at=0.0)
    seq.play("a", 0.12)
    assert seq.next_deadline() == pytest.approx(0.25)
    assert seq.advance(0.12) == 0.0
    assert seq.advance(0.25) == 1.0


def test_play_long_after_starts_at_once() -> None:
    seq = HapticSequencer(DEFAULT_PATTERNS)
    play_and_drain(seq, "tick", at=0.0)
    seq.play("recording", 10.0)
    assert seq.next_deadline() == 10.0
    assert seq.advance(10.0) == 1.0
    assert seq.playing == "recording"
    assert seq.pop_started()[-1] == PatternStarted("recording", 10.0)


def test_late_wakeup_delays_a_queued_pattern_instead_of_cutting_it() -> None:
    seq = HapticSequencer({"a": Pattern((100,)), "b": Pattern((100, 100, 100))})
    seq.play("a", 0.0)
    seq.play("b", 0.0)
    seq.advance(0.0)
    seq.advance(0.1)
    assert seq.advance(0.5) == 1.0  # b was due at 0.25; it starts whole at 0.5
    assert seq.pop_started()[-1] == PatternStarted("b", 0.5)
    assert seq.next_deadline() == pytest.approx(0.6)


def test_stop_cancels_everything_and_keeps_the_gap() -> None:
    seq = HapticSequencer({"a": Pattern((500,))}, min_gap_s=0.15)
    seq.play("a", 0.0)
    seq.play("a", 0.0)
    assert seq.advance(0.0) == 1.0
    assert seq.stop(0.2) == 0.0
    assert (seq.level, seq.playing, seq.queued) == (0.0, None, ())
    assert seq.next_deadline() is None
    seq.play("a", 0.25)
    assert seq.next_deadline() == pytest.approx(0.35)


def test_queue_overflow_drops_the_oldest_waiting_not_the_playing() -> None:
    patterns = {name: Pattern((100,)) for name in "pabcd"}
    seq = HapticSequencer(patterns, max_queue=3)
    seq.play("p", 0.0)
    seq.advance(0.0)
    for name in "abcd":
        seq.play(name, 0.01)
    assert seq.playing == "p"
    assert seq.queued == ("b", "c", "d")
    drain(seq, [])
    assert [s.name for s in seq.pop_started()] == ["p", "b", "c", "d"]


def test_unknown_name_is_a_keyerror_naming_it() -> None:
    seq = HapticSequencer(DEFAULT_PATTERNS)
    with pytest.raises(KeyError, match="recoding"):
        seq.play("recoding", 0.0)
    assert seq.next_deadline() is None


def test_idle_sequencer_has_no_deadline() -> None:
    seq = HapticSequencer(DEFAULT_PATTERNS)
    assert seq.next_deadline() is None
    assert seq.advance(100.0) == 0.0
    assert seq.next_deadline() is None


@pytest.mark.parametrize(
    "kwargs", [{"kick_s": -1.0}, {"min_gap_s": float("nan")}, {"max_queue": 0}]
)
def test_constructor_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        HapticSequencer(DEFAULT_PATTERNS, **kwargs)


# -- property --------------------------------------------------------------------------------

plays = st.lists(
    st.tuples(st.sampled_from(VOCABULARY), st.floats(min_value=0.0, max_value=1.5)),
    max_size=15,
)


@settings(max_examples=200, deadline=None)
@given(
    calls=plays,
    max_queue=st.integers(1, 8),
    strengths=st.dictionaries(st.sampled_from(VOCABULARY), st.floats(0.1, 1.0)),
    stop_at=st.none() | st.floats(0.0, 20.0),
)
def test_random_plays_never_overlap_and_end_off(
    calls: list[tuple[str, float]],
    max_queue: int,
    strengths: dict[str, float],
    stop_at: float | None,
) -> None:
    patterns = {
        name: Pattern(p.steps_ms, strengths.get(name, p.strength))
        for name, p in DEFAULT_PATTERNS.items()
    }
    seq = HapticSequencer(patterns, kick_s=0.04, min_gap_s=0.15, max_queue=max_queue)
    # Two phases around an optional stop(); each keeps its own timeline and starts.
    phases: list[tuple[Timeline, list[PatternStarted]]] = [([], [])]
    t = 0.0
    for name, step in calls:
        t += step
        timeline, started = phases[-1]
        if stop_at is not None and len(phases) == 1 and stop_at <= t:
            drain(seq, timeline, until=stop_at)
            started.extend(seq.pop_started())
            timeline.append((stop_at, seq.stop(stop_at)))
            phases.append(([], []))
            timeline, started = phases[-1]
        drain(seq, timeline, until=t)
        seq.play(name, t)
        timeline.append((t, seq.advance(t)))
        started.extend(seq.pop_started())
    timeline, started = phases[-1]
    drain(seq, timeline)
    started.extend(seq.pop_started())

    assert seq.level == 0.0 and seq.playing is None and seq.next_deadline() is None
    everything = [point for timeline, _ in phases for point in timeline]
    assert everything == [] or everything[-1][1] == 0.0
    assert [t for t, _ in everything] == sorted(t for t, _ in everything)
    assert all(0.0 <= level <= 1.0 for _, level in everything)
    all_started = [s for _, started in phases for s in started]
    assert len(all_started) <= len(calls)

    # Each pattern runs whole (unless stopped), then the motor rests at least min_gap_s.
    for this, following in itertools.pairwise(all_started):
        ends = this.at + patterns[this.name].duration_s
        if stop_at is not None and this.at <= stop_at < ends:
            ends = stop_at
        assert following.at >= ends + 0.15 - 1e-9
    # Outside the patterns' spans the motor is off; inside, it follows the pattern.
    for phase, (timeline, started) in enumerate(phases):
        cut_at = stop_at if phase == 0 and len(phases) == 2 else None
        for t, level in last_per_instant(timeline):
            owner = [s for s in started if s.at <= t and expected_end(patterns[s.name], s.at) > t]
            if cut_at is not None and t >= cut_at:
                owner = []  # stop() switched it off
            if not owner:
                assert level == 0.0, t
                continue
            (current,) = owner
            assert level == expected_level(patterns[current.name], current.at, t), t


def expected_end(pattern: Pattern, start: float) -> float:
    return start + sum(pattern.steps_ms) / 1000


def last_per_instant(timeline: Timeline) -> Timeline:
    """The level that holds from each instant: the last one set at that time."""
    return list(dict(timeline).items())


def expected_level(pattern: Pattern, start: float, t: float) -> float:
    """The level a pattern started at ``start`` drives at time ``t`` (0 outside it)."""
    elapsed_ms = 0
    for i, step_ms in enumerate(pattern.steps_ms):
        step_start = start + elapsed_ms / 1000
        elapsed_ms += step_ms
        if t < start + elapsed_ms / 1000:
            if i % 2:
                return 0.0
            if pattern.strength < 1.0 and t < step_start + 0.04:
                return 1.0
            return pattern.strength
    return 0.0


def test_docs_haptics_md_examples_and_table_match_the_code() -> None:
    import doctest
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent / "docs" / "haptics.md"
    result = doctest.testfile(str(doc), module_relative=False, globs={})
    assert result.attempted > 0 and result.failed == 0
    text = doc.read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == set(VOCABULARY)
    for name, pattern in DEFAULT_PATTERNS.items():
        row = rows[name].replace(" ", "")
        assert f"|{','.join(map(str, pattern.steps_ms))}|" in row, name
        assert f"`{render(pattern)}`" in row, name


def test_a_pulse_train_may_follow_itself_closer_than_min_gap_but_nothing_else_may() -> None:
    seq = HapticSequencer(DEFAULT_PATTERNS, min_gap_s=0.15, repeat_gap_s={"focus": 0.065})
    seq.play("focus", 0.0)
    seq.play("focus", 0.0)
    seq.play("tick", 0.0)
    timeline = play_and_drain(seq)
    starts = [round(t, 6) for t, level in changes(timeline) if level > 0]
    # focus at 0, focus again 60 ms on + 65 ms off later, tick only after the full gap
    assert starts == [0.0, 0.125, 0.335]
    with pytest.raises(ValueError):
        HapticSequencer(DEFAULT_PATTERNS, repeat_gap_s={"focus": -1.0})
