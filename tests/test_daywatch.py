"""The clip-limit watch and the card/battery watch: pure, fed by hand and by hypothesis."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pitrigger.cliplimit as cliplimit
import pitrigger.supply as supply
from pitrigger.cliplimit import BODY_MAX_CLIP_S, ClipWatch, StopFacts
from pitrigger.supply import Supply, SupplyWatch, battery_percent, card_minutes

# -- the clip limit ----------------------------------------------------------------------


def test_time_cap_from_the_config_wins_when_shorter() -> None:
    watch = ClipWatch(cap_s=4.0, warn_before_s=1.5)
    assert watch.clip_length_s == 4.0
    watch.started(10.0)
    assert watch.next_deadline() == 12.5
    assert watch.advance(12.4) == [] and watch.advance(12.6) == ["limit-soon"]
    assert watch.next_deadline() is None and watch.advance(13.0) == []


def test_size_cap_sets_the_expected_end_and_learning_the_rate_moves_it() -> None:
    watch = ClipWatch(bytes_per_s=1_000_000, cap_bytes=60_000_000, warn_before_s=0)
    assert watch.clip_length_s == 60.0
    watch.learn_rate(size=40_000_000, length_s=20.0)  # 2 MB/s seen on the last clip
    assert watch.clip_length_s == 30.0
    watch.learn_rate(size=1, length_s=0.5)  # too short to tell: ignored
    assert watch.clip_length_s == 30.0
    watch.started(0.0)
    assert watch.next_deadline() is None  # warning disabled


def test_the_body_never_records_past_29_59() -> None:
    assert ClipWatch(bytes_per_s=1, cap_bytes=10**12).clip_length_s == BODY_MAX_CLIP_S


def test_stop_at_the_cap_by_file_size_even_if_the_time_says_otherwise() -> None:
    watch = ClipWatch(bytes_per_s=1_000_000, cap_bytes=100_000_000)
    watch.started(0.0)
    # The bit rate was higher than thought: the file hit the cap early.
    verdict = watch.classify_stop(50.0, StopFacts(file_size=99_500_000))
    assert verdict.reason == "clip-limit" and verdict.evidence["file_size"] == 99_500_000


@pytest.mark.parametrize(("facts", "reason"), [
    (StopFacts(card_free_bytes=10_000), "card-full"),
    (StopFacts(card_free_bytes=10**10, battery_percent=0.0), "battery"),
    (StopFacts(battery_percent=75.0, temperature_warning=True), "heat"),
    (StopFacts(card_free_bytes=10**10, battery_percent=100.0), "body-button"),
    (StopFacts(), "body-button"),
])
def test_other_camera_side_stops_are_told_apart(facts: StopFacts, reason: str) -> None:
    watch = ClipWatch(cap_s=600.0)
    watch.started(0.0)
    verdict = watch.classify_stop(30.0, facts)
    assert verdict.reason == reason and not verdict.at_cap
    assert verdict.elapsed_s == 30.0


@given(cap=st.floats(min_value=1.0, max_value=1000.0), stop_at=st.floats(0.0, 2000.0))
def test_a_stop_is_the_cap_exactly_when_it_is_near_the_expected_end(cap: float,
                                                                    stop_at: float) -> None:
    watch = ClipWatch(cap_s=cap, tolerance_s=2.0)
    watch.started(0.0)
    # The 4 GB cap at the default bit rate (12 minutes) ends a clip first if it is shorter.
    expected_end = min(cap, watch.cap_bytes / watch.bytes_per_s)
    assert watch.classify_stop(stop_at).at_cap == (stop_at >= expected_end - 2.0)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="cap_s"):
        ClipWatch(cap_s=0)
    with pytest.raises(ValueError, match="bytes_per_s"):
        ClipWatch(bytes_per_s=float("nan"))


# -- card and battery --------------------------------------------------------------------


def test_each_threshold_warns_once_on_the_way_down() -> None:
    watch = SupplyWatch(card_minutes=(20, 5), battery_percent=(50, 25))
    cues: list[str] = []
    assert watch.reading(Supply(100, 45), connected=True) == []
    for minutes in (30, 21, 20, 19, 12, 6, 5, 4, 1, 0):
        cues += watch.reading(Supply(100, minutes))
    for percent in (75, 50, 50, 25, 25, 10):
        cues += watch.reading(Supply(percent, 0))
    assert cues == ["low-card", "low-card", "low-battery", "low-battery"]


def test_a_jump_past_both_thresholds_warns_once() -> None:
    watch = SupplyWatch()
    watch.reading(Supply(100, 60), connected=True)
    assert watch.reading(Supply(10, 60)) == ["low-battery"]
    assert watch.reading(Supply(10, 60)) == []


def test_already_low_at_connection_is_said_and_said_again_on_reconnection() -> None:
    watch = SupplyWatch()
    assert watch.reading(Supply(25, 3), connected=True) == ["low-card", "low-battery"]
    assert watch.reading(Supply(25, 3)) == []
    assert watch.low
    assert watch.reading(Supply(25, 3), connected=True) == ["low-card", "low-battery"]


def test_a_fresh_battery_re_arms_the_warnings() -> None:
    watch = SupplyWatch()
    watch.reading(Supply(100, 60), connected=True)
    assert watch.reading(Supply(25, 60)) == ["low-battery"]
    assert watch.reading(Supply(100, 60)) == []
    assert not watch.low
    assert watch.reading(Supply(50, 60)) == ["low-battery"]


def test_unreadable_values_say_nothing() -> None:
    watch = SupplyWatch()
    assert watch.reading(Supply(None, None), connected=True) == []
    assert not watch.low


@given(st.lists(st.floats(0, 100), min_size=1, max_size=40))
def test_falling_battery_never_warns_more_than_twice(levels: list[float]) -> None:
    watch = SupplyWatch(battery_percent=(50, 25))
    falling = sorted(levels, reverse=True)
    cues = [c for level in falling for c in watch.reading(Supply(level, None))]
    # One cue per threshold crossed, at most, and at least one if the lowest is low.
    assert len(cues) <= 2
    assert (len(cues) > 0) == (falling[-1] <= 50)


def test_readings_from_the_body() -> None:
    assert battery_percent("50%") == 50.0 and battery_percent("Low") == 10.0
    assert battery_percent("full") is None and battery_percent("150%") is None
    assert card_minutes(6_000_000 * 60, 6_000_000) == 1.0
    with pytest.raises(ValueError):
        card_minutes(1, 0)
    with pytest.raises(ValueError, match="falling"):
        SupplyWatch(card_minutes=(5, 20))


@pytest.mark.parametrize("module", [cliplimit, supply])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
