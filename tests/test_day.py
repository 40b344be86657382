"""The day's bookkeeping: restarts at the cap, reasons for other stops, status minutes."""

from __future__ import annotations

import doctest

from hypothesis import given
from hypothesis import strategies as st

import pitrigger.day as day_module
from pitrigger.camera_jobs import SupplyReport
from pitrigger.cliplimit import ClipWatch
from pitrigger.day import DayKeeper
from pitrigger.status_code import shown_minutes


def keeper(**options: bool) -> DayKeeper:
    return DayKeeper(ClipWatch(cap_s=5.0, warn_before_s=2.0), **options)


def test_cap_restarts_only_when_auto_restart_is_on() -> None:
    on, off = keeper(), keeper(auto_restart=False)
    for k in (on, off):
        k.clip_started(0.0)
    assert on.camera_stopped(5.05).restart
    stop = off.camera_stopped(5.05)
    assert not stop.restart and stop.reason == "clip-limit" and stop.cues == []
    assert stop.record["how"] == "clip-limit" and stop.record["restart"] is False


def test_card_full_and_battery_stops_say_why() -> None:
    k = keeper()
    k.supply_report(SupplyReport(100.0, 1000, connected=True))
    k.clip_started(0.0)
    stop = k.camera_stopped(2.0)
    assert (stop.reason, stop.restart, stop.cues) == ("card-full", False, ["low-card"])
    k.supply_report(SupplyReport(0.0, 10**10))
    k.clip_started(10.0)
    assert k.camera_stopped(11.0).cues == ["low-battery"]
    k.supply_report(SupplyReport(100.0, 10**10, temperature_warning=True))
    k.clip_started(20.0)
    assert k.camera_stopped(21.0).cues == ["heat"]
    k.supply_report(SupplyReport(100.0, 10**10))
    k.clip_started(30.0)
    stop = k.camera_stopped(31.0)
    assert stop.reason == "body-button" and stop.cues == []


def test_supply_warnings_once_and_again_after_connection() -> None:
    k = keeper()
    rate = k.clip.bytes_per_s
    assert k.supply_report(SupplyReport(100.0, int(rate * 60 * 60), connected=True)) == []
    assert k.supply_report(SupplyReport(100.0, int(rate * 60 * 19))) == ["low-card"]
    assert k.supply_report(SupplyReport(100.0, int(rate * 60 * 18))) == []
    assert k.supply_report(SupplyReport(50.0, int(rate * 60 * 18))) == ["low-battery"]
    assert k.supply_report(SupplyReport(50.0, int(rate * 60 * 18), connected=True)) == [
        "low-card", "low-battery"]


@given(clips=st.lists(st.tuples(st.floats(0.0, 400.0), st.floats(0.0, 50.0)), max_size=6),
       running=st.floats(0.0, 2000.0))
def test_status_minutes_are_this_clip_or_the_session(clips: list[tuple[float, float]],
                                                     running: float) -> None:
    k = DayKeeper(ClipWatch(cap_s=10_000.0))
    now, total = 0.0, 0.0
    for length, pause in clips:
        k.clip_started(now)
        now += length
        k.stopped_by_us(now)
        total += length
        now += pause
    idle = k.status(now, recording=False)
    assert idle.minutes == shown_minutes(total / 60) and not idle.recording
    k.clip_started(now)
    busy = k.status(now + running, recording=True)
    assert busy.minutes == shown_minutes(running / 60) and busy.recording


def test_warning_in_status_follows_the_supply() -> None:
    k = keeper()
    assert not k.status(0.0, False).warning
    k.supply_report(SupplyReport(25.0, None, connected=True))
    assert k.status(0.0, False).warning


def test_docstring_examples() -> None:
    result = doctest.testmod(day_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
