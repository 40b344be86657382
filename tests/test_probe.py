"""``pitrigger probe``: its verdict (pure), and real libgphoto2 against the virtual bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pitrigger.cameras.gphoto2 import Gphoto2Camera
from pitrigger.probe import (
    EXIT_NO_PATH,
    EXIT_SERVICE_HOLDS,
    EXIT_WORKS,
    PathResult,
    decide,
    main_probe,
    render_text,
    run_probe,
)
from pitrigger.triggers import BodyFacts
from pitrigger.verdicts import load_verdicts, save_verdict

BODY = BodyFacts("Canon EOS 5D Mark II", serial="0042", firmware="3-2.1.2")
SERIAL = "0123456789abcdef0123456789abcdef"  # what the virtual bodies report
QUICK = {"record_s": 0.3, "wait_s": 1.5, "check_views": False, "say": lambda line: None}


# --- the verdict ------------------------------------------------------------------------


def test_usb_is_preferred_when_several_paths_work() -> None:
    verdict, line, lines = decide(BODY, [PathResult("usb", "works", ""),
                                         PathResult("wired", "works", "")])
    assert verdict == "usb"
    assert "also works: wired" in line
    assert lines == ["[camera]", 'trigger = "usb"']


def test_a_half_press_verdict_says_its_starts_stay_unconfirmed() -> None:
    verdict, line, lines = decide(BODY, [PathResult("usb", "not-offered", ""),
                                         PathResult("usb-half-press", "fails", ""),
                                         PathResult("wired", "works", "")])
    assert verdict == "wired"
    assert "unconfirmed" in line and "sent" in line
    assert 'trigger = "wired"' in lines


def test_nothing_works_gives_advice_and_no_config() -> None:
    verdict, line, lines = decide(BODY, [PathResult("usb", "not-offered", ""),
                                         PathResult("usb-half-press", "fails", "")])
    assert verdict == "none" and lines == []
    assert "Magic Lantern" in line and "REC key" in line


def test_nothing_tried_is_no_verdict() -> None:
    verdict, line, _ = decide(BODY, [PathResult("usb", "not-tried", "")])
    assert verdict == "none" and "no verdict" in line


# --- against the virtual bodies ---------------------------------------------------------


@pytest.fixture
def camera(virtual_camera: Any) -> Any:
    cam = Gphoto2Camera(virtual_camera.port_string)
    cam.connect()
    yield cam
    cam.close()


def test_a_body_with_usb_movie_gets_the_usb_verdict(camera: Any, virtual_camera: Any) -> None:
    report = run_probe(camera, virtual_camera.port_string, paths=("usb",), **QUICK)
    assert report.facts.model == "Canon EOS 5D Mark II" and report.facts.movie_target
    assert report.facts.serial  # the verdict is filed under it
    assert report.battery == "100%" and "MB free" in report.card
    usb = report.paths[0]
    assert usb.outcome == "works" and usb.clip.endswith(".MOV")
    assert report.verdict == "usb"
    assert [c["name"] for c in virtual_camera.control.state()["clips"]] == ["MVI_0001.MOV"]
    text = render_text(report)
    assert 'VERDICT: use trigger "usb"' in text and 'trigger = "usb"' in text


def test_a_body_without_0xd1b8_gets_no_verdict(camera: Any, virtual_camera: Any) -> None:
    camera.close()
    virtual_camera.control.inject("refuse_movie", mode="hidden")
    camera.connect()
    report = run_probe(camera, virtual_camera.port_string, paths=("usb", "usb-half-press"),
                       **QUICK)
    outcomes = {r.path: r.outcome for r in report.paths}
    assert outcomes == {"usb": "not-offered", "usb-half-press": "fails", "wired": "not-tried"}
    assert report.verdict == "none"
    assert virtual_camera.control.state()["clips"] == []


def test_the_running_service_is_never_fought_over(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "p.toml"
    config.write_text(f'[camera]\nprobe_dir = "{tmp_path}"\n')
    code = main_probe(str(config), "ptpip:127.0.0.1:1:1", service_active=lambda: True)
    assert code == EXIT_SERVICE_HOLDS
    err = capsys.readouterr().err
    assert "sudo systemctl stop pitrigger" in err and "--stop-service" in err
    assert list(tmp_path.iterdir()) == [config]  # nothing written, camera not touched


def test_reports_log_and_verdict_are_written(tmp_path: Path, virtual_camera: Any,
                                             capsys: Any) -> None:
    config = tmp_path / "p.toml"
    config.write_text(f'[camera]\nprobe_dir = "{tmp_path / "probe"}"\n')
    code = main_probe(str(config), virtual_camera.port_string, paths=("usb",), record_s=0.3,
                      service_active=lambda: False)
    assert code == EXIT_WORKS, capsys.readouterr()
    out = capsys.readouterr().out
    assert out.count("VERDICT:") == 1
    files = sorted(p.name for p in (tmp_path / "probe").iterdir())
    stems = {name.split(".")[0] for name in files if name != "verdicts.json"}
    assert len(stems) == 1
    stem = stems.pop()
    assert files == sorted([f"{stem}.txt", f"{stem}.json", f"{stem}.gphoto2.log",
                            "verdicts.json"])
    data = json.loads((tmp_path / "probe" / f"{stem}.json").read_text())
    assert data["verdict"] == "usb" and data["facts"]["model"] == "Canon EOS 5D Mark II"
    debug_log = (tmp_path / "probe" / f"{stem}.gphoto2.log").read_text()
    # PTP traffic of the ptp2 camlib, not only the port layer: the movie property by name
    assert "ptp_" in debug_log and "d1b8" in debug_log.lower()
    key = f"serial:{data['facts']['serial']}"
    assert load_verdicts(tmp_path / "probe" / "verdicts.json") == {key: "usb"}


def test_a_partial_probe_that_finds_nothing_keeps_the_stored_verdict(
        tmp_path: Path, virtual_camera: Any, capsys: Any) -> None:
    virtual_camera.control.inject("refuse_movie", mode="hidden")
    config = tmp_path / "p.toml"
    config.write_text(f'[camera]\nprobe_dir = "{tmp_path}"\n')
    save_verdict(tmp_path / "verdicts.json", BodyFacts("x", serial=SERIAL), "wired")
    code = main_probe(str(config), virtual_camera.port_string, paths=("usb",),
                      service_active=lambda: False)
    assert code == EXIT_NO_PATH
    out = capsys.readouterr().out
    assert "VERDICT:" in out and "left as it was" in out
    assert load_verdicts(tmp_path / "verdicts.json") == {f"serial:{SERIAL}": "wired"}


# --- each virtual body: the right verdict -------------------------------------------------


class N3Wire:
    """Mock pins wired to the virtual body's N3 port: a pin driven high (the optocoupler
    conducting) pulls its line down, like the real circuit (docs/remote-movie.md)."""

    def __init__(self, control: Any, lines: dict[int, str]) -> None:
        from gpiozero import Device
        from gpiozero.pins.mock import MockFactory, MockPin

        wire = self

        class WiredPin(MockPin):
            def _change_state(self, value: bool) -> bool:
                changed = bool(super()._change_state(value))
                number = int(str(self.info.name).removeprefix("GPIO"))
                if changed and self._function == "output" and number in wire.lines:
                    wire.results.append(wire.control.n3(wire.lines[number],
                                                        "down" if value else "up"))
                return changed

        self.control = control
        self.lines = lines
        self.results: list[dict[str, Any]] = []
        self.factory = MockFactory(pin_class=WiredPin)
        Device.pin_factory = self.factory

    def close(self) -> None:
        from gpiozero import Device

        self.factory.reset()
        Device.pin_factory = None


@pytest.fixture
def n3_wire(virtual_camera: Any) -> Any:
    wire = N3Wire(virtual_camera.control, {22: "focus"})
    yield wire
    wire.close()


def probe_body(virtual_camera: Any, body: str, **kwargs: Any) -> Any:
    """Probe ``body`` as a traveller would: movie mode, live view on the camera's screen."""
    if body != virtual_camera.control.state()["body"]:
        virtual_camera.control.set(body=body)
    virtual_camera.control.set(evf_output=1)  # live view on the camera's own LCD
    camera = Gphoto2Camera(virtual_camera.port_string)
    camera.connect()
    try:
        return run_probe(camera, virtual_camera.port_string, **{**QUICK, **kwargs})
    finally:
        camera.close()


def test_ml_body_half_press_over_usb_works_and_is_the_verdict(virtual_camera: Any) -> None:
    report = probe_body(virtual_camera, "5d2-ml", paths=("usb", "usb-half-press"))
    outcomes = {r.path: r.outcome for r in report.paths}
    assert outcomes["usb"] == "not-offered" and outcomes["usb-half-press"] == "works"
    half = report.paths[1]
    assert "not reported" in half.detail  # ML's start itself confirms nothing
    assert report.verdict == "usb-half-press"
    assert report.config_lines[:2] == ["[camera]", 'trigger = "usb-half-press"']
    assert [c["name"] for c in virtual_camera.control.state()["clips"]] == ["MVI_0001.MOV"]


def test_ml_body_wired_half_press_works(virtual_camera: Any, n3_wire: N3Wire) -> None:
    from pitrigger.triggers import WiredTrigger

    wired = WiredTrigger(22, sleep=lambda s: None)
    try:
        report = probe_body(virtual_camera, "5d2-ml", paths=("wired",), wired=wired)
    finally:
        wired.close()
    assert [r.outcome for r in report.paths] == ["not-tried", "not-tried", "works"]
    assert report.verdict == "wired"
    effects = [r["effect"] for r in n3_wire.results if r["effect"]]
    assert effects == ["record_start", "record_stop"]
    assert len(virtual_camera.control.state()["clips"]) == 1


def test_a_wired_press_that_reaches_nothing_fails(virtual_camera: Any, n3_wire: N3Wire) -> None:
    from pitrigger.triggers import WiredTrigger

    wired = WiredTrigger(23, sleep=lambda s: None)  # pin 23 goes nowhere
    try:
        report = probe_body(virtual_camera, "5d2-ml", paths=("wired",), wired=wired)
    finally:
        wired.close()
    assert report.paths[2].outcome == "fails" and report.verdict == "none"


def test_7d_like_body_gets_usb(virtual_camera: Any) -> None:
    report = probe_body(virtual_camera, "7d", paths=("usb", "usb-half-press"))
    assert report.facts.model == "Canon EOS 7D"
    assert {r.path: r.outcome for r in report.paths}["usb"] == "works"
    assert report.verdict == "usb"


def test_5d2_firmware_without_usb_movie_gets_advice(virtual_camera: Any) -> None:
    report = probe_body(virtual_camera, "5d2-no-usb-movie", paths=("usb", "usb-half-press"))
    assert [r.outcome for r in report.paths[:2]] == ["not-offered", "fails"]
    assert report.verdict == "none" and "REC key" in report.verdict_line
    assert virtual_camera.control.state()["clips"] == []
