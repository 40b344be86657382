"""Focus feedback machine (pure): rate follows the score, in-focus at the peak, focus-lost."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitrigger.focus import ERM_MIN_GAP_S, FOCUS_CUES, FocusFeedback, FocusTuning
from pitrigger.names import CUES


def bell(position: float, peak: float = 0.0, width: float = 4.0) -> float:
    """A sharpness curve: highest at ``peak``, falling on both sides (like VoL vs defocus)."""
    return 1000.0 / (1.0 + ((position - peak) / width) ** 2)


def run_sweep(fb: FocusFeedback, positions: list[float], frames_per_step: int = 4,
              fps: float = 10.0, start: float = 0.0) -> tuple[list[tuple[float, str]], float]:
    """Feed frames for each ring position; return (position, cue) for every cue, and the time."""
    now, cues = start, []
    for position in positions:
        for _ in range(frames_per_step):
            for cue in fb.frame(bell(position), now):
                cues.append((position, cue))
            fb.advance(now)
            now += 1 / fps
    return cues, now


def test_focus_cues_are_in_the_one_list_of_names() -> None:
    assert set(FOCUS_CUES) <= set(CUES)


def test_enter_and_stop_bound_the_mode_and_reset_the_best() -> None:
    fb = FocusFeedback()
    assert fb.frame(50.0, 0.0) == [] and fb.next_deadline() is None  # not entered: nothing
    fb.enter(0.0)
    fb.frame(50.0, 0.0)
    assert fb.best == 50.0 and fb.next_deadline() == 0.0
    fb.stop()
    assert fb.next_deadline() is None and fb.advance(5.0) == []
    assert fb.frame(80.0, 5.0) == [] and fb.best == 50.0  # stopped: frames are ignored
    fb.enter(6.0)
    assert fb.best == 0.0 and fb.score is None


def test_rate_follows_the_score_monotonically_between_1_and_8_hz() -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    for i in range(3):
        fb.frame(100.0, i * 0.1)  # the best
    rates = []
    for k, fraction in enumerate([0.05, 0.2, 0.3, 0.45, 0.6, 0.75, 0.85, 0.95, 1.0]):
        for i in range(3):  # three frames: the median settles on the new score
            fb.frame(100.0 * fraction, 1.0 + k + i * 0.1)
        rates.append(fb.rate_hz)
    assert rates[0] == 1.0 and rates[-1] == 8.0
    assert rates == sorted(rates)
    assert len(set(rates)) == len(FocusTuning().rates_hz)  # every step is reachable
    steps = sorted(set(rates))
    assert all(b / a >= 1.2 for a, b in itertools.pairwise(steps))


def test_pulse_times_follow_the_rate_and_never_smear() -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    pulses: list[float] = []
    now = 0.0
    for score in [100.0] * 30 + [40.0] * 30:  # 3 s at the best, then 3 s at 40 %
        fb.frame(score, now)
        t = now
        while (deadline := fb.next_deadline()) is not None and deadline <= now + 0.1:
            t = max(t, deadline)
            pulses += [t] if fb.advance(t) else []
        now += 0.1
    early = [b - a for a, b in itertools.pairwise(pulses) if b < 2.9]
    late = [b - a for a, b in itertools.pairwise(pulses) if a > 3.5]
    assert early and late
    assert all(math.isclose(p, 1 / 8.0, abs_tol=1e-9) for p in early)
    assert all(math.isclose(p, 1 / fb.rate_hz, abs_tol=1e-9) for p in late)
    assert fb.rate_hz == 2.0
    tuning = fb.tuning
    assert min(early) - tuning.pulse_s >= ERM_MIN_GAP_S - 1e-9


def test_in_focus_fires_at_the_peak_within_one_step_and_focus_lost_when_moving_away() -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    ring = list(range(-10, 11)) + list(range(9, -11, -1))  # through the peak, back, away
    cues, _ = run_sweep(fb, [float(p) for p in ring])
    in_focus = [p for p, c in cues if c == "in-focus"]
    lost = [p for p, c in cues if c == "focus-lost"]
    assert len(in_focus) == 1 and abs(in_focus[0] - 0.0) <= 1.0
    assert len(lost) == 1 and lost[0] < in_focus[0]  # on the way away, after in-focus
    assert bell(lost[0]) < 0.75 * bell(0.0)


def test_a_return_a_hair_above_the_old_best_is_the_same_peak_and_fires_in_focus() -> None:
    # Found through libgphoto2: frame noise made the return to the peak a new best, which
    # reset "passed" and in-focus never came.
    fb = FocusFeedback()
    fb.enter(0.0)
    fired: list[str] = []
    for i, score in enumerate([50, 80, 100, 100, 100, 60, 60, 60, 100.4, 100.4, 100.4]):
        fired += fb.frame(score, i * 0.1)
    assert fired == ["in-focus"] and fb.best == 100.4


def test_no_in_focus_before_the_peak_has_been_passed() -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    cues, _ = run_sweep(fb, [float(p) for p in range(-10, 1)])  # up to the peak, no further
    assert cues == []
    assert fb.rate_hz == 8.0


def test_a_single_noisy_frame_makes_no_best_and_no_cue() -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    for i in range(5):
        fb.frame(100.0, i * 0.1)
    assert fb.frame(500.0, 0.6) == []  # one spike: the median of three ignores it
    assert fb.best == 100.0


def test_stale_frames_silence_the_pulses() -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    fb.frame(10.0, 0.0)
    assert fb.advance(0.0) == ["focus"]
    assert fb.advance(0.5) == ["focus"]
    assert fb.advance(1.5) == []  # no frame for 1.5 s: the rate would describe an old view
    assert fb.next_deadline() is None
    fb.frame(10.0, 1.6)
    assert fb.advance(1.6) == ["focus"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rates_hz": (1.0, 1.1), "levels": (0.5,)}, "20 %"),
        ({"rates_hz": (1.0, 12.0), "levels": (0.5,)}, "smear"),
        ({"pulse_s": 0.02}, "felt"),
        ({"levels": (0.5, 0.4, 0.6, 0.7, 0.8, 0.9)}, "rise"),
        ({"in_focus_within": 0.2}, "in_focus_within"),
    ],
)
def test_tuning_rejects_what_cannot_be_felt(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FocusTuning(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=80))
def test_any_scores_keep_the_rate_within_bounds_and_cues_alternate(scores: list[float]) -> None:
    fb = FocusFeedback()
    fb.enter(0.0)
    fired: list[str] = []
    for i, score in enumerate(scores):
        fired += fb.frame(score, i * 0.1)
        assert 1.0 <= fb.rate_hz <= 8.0
        assert 0.0 <= fb.level <= 1.0
    # in-focus and focus-lost alternate, starting with in-focus
    assert all(c == ("in-focus", "focus-lost")[i % 2] for i, c in enumerate(fired))
