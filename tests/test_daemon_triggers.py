"""End to end with each trigger path: mock pins → daemon → real libgphoto2 → a virtual body.

The bodies are the virtual camera's personalities (``--body``): ``5d2-ml`` (Magic Lantern's
REC key on HalfShutter, no 0xD1B8), ``7d`` (0xD1B8 works), ``5d2-no-usb-movie``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Device
from test_daemon import RunningDaemon, make_config
from test_probe import N3Wire

from pitrigger.controller import State
from pitrigger.journal import read_journal
from pitrigger.triggers import BodyFacts
from pitrigger.verdicts import save_verdict

FOCUS_PIN = 22


def as_body(virtual_camera: Any, body: str) -> None:
    """The body, in movie mode with live view on its own screen (as a traveller sets it)."""
    if virtual_camera.control.state()["body"] != body:
        virtual_camera.control.set(body=body)
    virtual_camera.control.set(evf_output=1)


@pytest.fixture
def wire(virtual_camera: Any) -> Iterator[N3Wire]:
    """Mock pins (button, motor, focus) with the focus pin wired to the body's N3 port."""
    wire = N3Wire(virtual_camera.control, {FOCUS_PIN: "focus"})
    yield wire
    wire.close()


@pytest.fixture
def run(wire: N3Wire, virtual_camera: Any,
        tmp_path: Path) -> Iterator[Callable[..., RunningDaemon]]:
    started: list[RunningDaemon] = []

    def start(camera: str, wired: str = "") -> RunningDaemon:
        """``camera``: extra [camera] lines; ``wired``: the [wired] section's lines."""
        base = make_config(virtual_camera.port_string, tmp_path, f"[wired]\n{wired}")
        config = base.model_validate({
            **base.model_dump(by_alias=True),
            "camera": {**base.camera.model_dump(), **tomllib.loads(camera)}})
        running = RunningDaemon(config, wire.factory)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()
    assert Device.pin_factory is wire.factory


def clips(virtual_camera: Any) -> list[str]:
    return [c["name"] for c in virtual_camera.control.state()["clips"]]


def test_usb_half_press_on_ml_records_says_sent_and_the_stop_is_confirmed_by_the_clip(
        run, virtual_camera) -> None:
    as_body(virtual_camera, "5d2-ml")
    d = run('trigger = "usb-half-press"\nhalf_press_ms = 50\n')
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("sent")
    d.wait_state(State.RECORDING_UNCONFIRMED)
    assert virtual_camera.control.state()["recording"]
    d.press(hold_s=1.2)  # a hold: the status says the start is unconfirmed
    d.wait_pattern("sent", count=2)
    d.press()
    d.wait_pattern("stopped")
    d.wait_state(State.IDLE)
    assert not virtual_camera.control.state()["recording"]
    assert clips(virtual_camera) == ["MVI_0001.MOV"]
    assert "recording" not in d.patterns  # never claimed: the camera never said so


def test_wired_on_ml_pulses_the_focus_line_and_the_clip_lands(run, virtual_camera,
                                                              wire) -> None:
    as_body(virtual_camera, "5d2-ml")
    d = run('trigger = "wired"\n', "focus_pin = 22\npress_ms = 40\n")
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("sent")
    assert virtual_camera.control.state()["recording"]
    d.press()
    d.wait_pattern("stopped")
    assert clips(virtual_camera) == ["MVI_0001.MOV"]
    assert [r["effect"] for r in wire.results if r["effect"]] == ["record_start",
                                                                    "record_stop"]
    assert "recording" not in d.patterns
    d.stop()
    assert wire.factory.pin(FOCUS_PIN).state == 0  # the line is open after shutdown


@pytest.mark.parametrize("body", ["7d", "5d2"])
def test_auto_picks_usb_where_0xd1b8_is_offered(run, virtual_camera, tmp_path, body) -> None:
    as_body(virtual_camera, body)
    d = run(f'trigger = "auto"\nprobe_dir = "{tmp_path}"\n')
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("recording")  # 0xD1B8 confirmed it
    assert virtual_camera.control.state()["recording"]


def test_auto_picks_what_the_probe_proved_on_the_ml_body(run, virtual_camera,
                                                         tmp_path) -> None:
    as_body(virtual_camera, "5d2-ml")
    serial = "0123456789abcdef0123456789abcdef"  # what the virtual body reports
    save_verdict(tmp_path / "verdicts.json", BodyFacts("Canon EOS 5D Mark II", serial),
                 "usb-half-press")
    d = run(f'trigger = "auto"\nprobe_dir = "{tmp_path}"\nhalf_press_ms = 50\n')
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("sent")
    assert virtual_camera.control.state()["recording"]


def test_auto_without_a_proven_path_refuses_and_never_records(run, virtual_camera,
                                                              tmp_path) -> None:
    as_body(virtual_camera, "5d2-no-usb-movie")
    d = run(f'trigger = "auto"\nprobe_dir = "{tmp_path}"\n')
    d.wait_pattern("ready")
    d.press()
    d.wait_pattern("refused")  # with its reason: no trigger path, run the probe
    d.stop()
    failures = [r for r in read_journal(tmp_path / "journal.jsonl")
                if r["event"] == "command-failed"]
    assert failures[0]["reason"] == "no-trigger-path"
    assert "pitrigger probe" in failures[0]["detail"]
    assert not virtual_camera.control.state()["recording"]
    assert "recording" not in d.patterns and "sent" not in d.patterns
