"""Config: schema, defaults, errors with key and line, search order, check-config."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import pytest

from pitrigger import config as config_module
from pitrigger.config import (
    ACTION_NAMES,
    Config,
    ConfigError,
    ConfigProblem,
    find_config,
    key_lines,
    load_config,
    main_check_config,
    parse_config,
)
from pitrigger.gestures import GESTURE_NAMES, GestureTimings
from pitrigger.haptics import DEFAULT_PATTERNS, VOCABULARY, Pattern


def problems(text: str | bytes) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "pitrigger.toml")
    return [(p.key, p.line, p.message) for p in info.value.problems]


def only_problem(text: str | bytes) -> tuple[str, int | None, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- defaults --------------------------------------------------------------------------------


def test_default_toml_is_exactly_the_defaults() -> None:
    text = files("pitrigger").joinpath("default.toml").read_text(encoding="utf-8")
    assert parse_config(text, "default.toml") == Config()


def test_default_toml_shows_every_key() -> None:
    # Every setting appears in the file the user edits, so nothing is hidden.
    text = files("pitrigger").joinpath("default.toml").read_text(encoding="utf-8")
    lines = key_lines(text)
    for section, model in Config.model_fields.items():
        if section == "patterns":
            for name in VOCABULARY:
                assert ("patterns", name, "steps_ms") in lines
                assert ("patterns", name, "strength") in lines
            continue
        sub = model.annotation
        assert sub is not None
        for name, field in sub.model_fields.items():
            if section == "actions":
                for gesture in GESTURE_NAMES:
                    assert ("actions", name, gesture) in lines, (name, gesture)
            else:
                assert (section, field.alias or name) in lines, (section, name)


def test_empty_and_blank_files_are_the_defaults() -> None:
    assert parse_config("") == Config()
    assert parse_config(b"") == Config()
    assert parse_config("\n  \n# only a comment\n") == Config()


def test_defaults() -> None:
    c = Config()
    assert (c.camera.backend, c.camera.port, c.camera.poll_interval_s) == ("gphoto2", "usb", 0.5)
    assert (c.camera.busy_retry_s, c.camera.confirm_timeout_s) == (3.0, 4.0)
    assert (c.camera.reconnect_min_s, c.camera.reconnect_max_s) == (0.5, 10.0)
    assert (c.button.source, c.button.pin, c.button.pull_up) == ("gpiod", 17, True)
    assert (c.haptics.sink, c.haptics.pin, c.haptics.pwm) == ("gpiod", 18, False)
    assert c.haptics.pwm_channel == ""
    assert (c.haptics.frequency_hz, c.haptics.kick_ms, c.haptics.min_gap_ms) == (200, 40, 150)
    assert c.gestures.timings() == GestureTimings()
    assert c.pattern_objects() == DEFAULT_PATTERNS
    assert c.journal.path == "/var/lib/pitrigger/journal.jsonl"
    assert c.power.request_path == "/run/pitrigger/poweroff-request"
    assert c.daemon.last_good_path == "/var/lib/pitrigger/last-good.toml"


def test_default_actions() -> None:
    c = Config()
    assert c.actions_for("idle") == {
        "press": "toggle-recording", "hold": "status", "long-hold": "focus-mode",
        "very-long-hold": "power-off"}
    assert c.actions_for("recording") == {"press": "toggle-recording", "hold": "status"}
    with pytest.raises(ValueError, match="starting"):
        c.actions_for("starting")


def test_byte_order_mark_and_crlf_are_accepted() -> None:
    # What a Windows editor saves on the boot partition.
    c = parse_config("\ufeff[button]\r\npin = 23\r\n".encode())
    assert c.button.pin == 23


# -- every section ---------------------------------------------------------------------------


def test_camera_section() -> None:
    c = parse_config(
        '[camera]\nbackend = "picamera2"\nport = "usb:001,004"\nbusy_retry_s = 0\n'
        "confirm_timeout_s = 10\npoll_interval_s = 9\nreconnect_min_s = 1\n"
        'reconnect_max_s = 1\noutput_dir = "/tmp/clips"\n'
    )
    assert c.camera.backend == "picamera2"
    assert c.camera.port == "usb:001,004"
    assert c.camera.poll_interval_s == 9.0
    assert c.camera.output_dir == "/tmp/clips"


@pytest.mark.parametrize(
    "port",
    ["usb", "usb:001,004", "ptpip:192.168.1.2", "ptpip:camera.local:15740",
     "ptpip:127.0.0.1:15740:15741"],
)
def test_valid_ports(port: str) -> None:
    assert parse_config(f'[camera]\nport = "{port}"\n').camera.port == port


@pytest.mark.parametrize(
    "port",
    ["", "USB", "usb:1,4", "usb:001", "usb:001,004,5", "serial:/dev/ttyS0", "ptpip:",
     "ptpip:host:0", "ptpip:host:70000", "ptpip:host:1:2:3", "ptpip:-bad", " usb"],
)
def test_invalid_ports_show_the_accepted_forms(port: str) -> None:
    key, line, message = only_problem(f'\n[camera]\nport = "{port}"\n')
    assert (key, line) == ("camera.port", 3)
    assert "usb:BUS,DEV" in message and "ptpip:HOST[:PORT[:EVENTPORT]]" in message


def test_poll_interval_must_beat_the_auto_power_off() -> None:
    key, line, message = only_problem("[camera]\npoll_interval_s = 9.5\n")
    assert (key, line) == ("camera.poll_interval_s", 2)
    assert "at most 9" in message


def test_reconnect_min_above_max() -> None:
    assert only_problem("[camera]\nreconnect_min_s = 20.0\n") == (
        "camera.reconnect_min_s", 2, "must be at most reconnect_max_s (10.0)")
    assert only_problem("[camera]\nreconnect_max_s = 0.2\n") == (
        "camera.reconnect_max_s", 2, "must be at least reconnect_min_s (0.5)")


def test_button_section() -> None:
    c = parse_config('[button]\nsource = "terminal"\npin = 4\npull_up = false\n')
    assert (c.button.source, c.button.pin, c.button.pull_up) == ("terminal", 4, False)


@pytest.mark.parametrize(("value", "fragment"), [
    ("28", "at most 27"), ("-1", "at least 0"), ('"17"', "whole number"),
    ("17.0", "whole number"), ("true", "whole number"),
])
def test_button_pin_checks(value: str, fragment: str) -> None:
    key, line, message = only_problem(f"[button]\npin = {value}\n")
    assert (key, line) == ("button.pin", 2)
    assert fragment in message


def test_haptics_section() -> None:
    c = parse_config(
        '[haptics]\nsink = "terminal"\npin = 12\npwm = true\nfrequency_hz = 1000\n'
        "kick_ms = 0\nmin_gap_ms = 300\n"
    )
    assert (c.haptics.sink, c.haptics.pin, c.haptics.pwm) == ("terminal", 12, True)
    assert (c.haptics.frequency_hz, c.haptics.kick_ms, c.haptics.min_gap_ms) == (1000, 0, 300)


def test_motor_and_button_on_the_same_pin() -> None:
    text = "[button]\npin = 5\n\n[haptics]\npin = 5\n"
    assert only_problem(text) == ("haptics.pin", 5, "must differ from button.pin (both 5)")
    # Only the button's pin is in the file: that is the line to fix.
    assert only_problem("[button]\npin = 18\n") == (
        "button.pin", 2, "must differ from haptics.pin (both 18)")
    # A terminal button has no pin to clash with.
    assert parse_config('[button]\nsource = "terminal"\npin = 18\n').button.pin == 18


def test_gestures_section() -> None:
    c = parse_config(
        "[gestures]\ndebounce_ms = 10\ndouble_window_ms = 250\nhold_s = 0.5\n"
        "long_hold_s = 2\nvery_long_hold_s = 5\n"
    )
    assert c.gestures.timings() == GestureTimings(0.01, 0.25, 0.5, 2.0, 5.0)


def test_gestures_must_increase() -> None:
    assert only_problem("[gestures]\nhold_s = 4.0\n") == (
        "gestures.hold_s", 2, "must be less than long_hold_s (3.0)")
    assert only_problem("[gestures]\nhold_s = 2.0\nlong_hold_s = 1.5\n") == (
        "gestures.long_hold_s", 3, "must be greater than hold_s (2.0)")
    assert only_problem("[gestures]\ndebounce_ms = 150\ndouble_window_ms = 100\n") == (
        "gestures.double_window_ms", 3, "must be greater than debounce_ms (150)")


@pytest.mark.parametrize(("key", "value"), [
    ("debounce_ms", "0"), ("debounce_ms", "201"), ("double_window_ms", "99"),
    ("double_window_ms", "1001"), ("debounce_ms", "2.5"),
])
def test_gesture_ranges(key: str, value: str) -> None:
    assert only_problem(f"[gestures]\n{key} = {value}\n")[:2] == (f"gestures.{key}", 2)


def test_patterns_merge_with_defaults() -> None:
    c = parse_config("[patterns]\ntick = { steps_ms = [60], strength = 0.5 }\n")
    objects = c.pattern_objects()
    assert objects["tick"] == Pattern((60,), 0.5)
    assert objects["recording"] == DEFAULT_PATTERNS["recording"]
    assert list(objects) == list(VOCABULARY)


def test_pattern_as_a_table_header() -> None:
    c = parse_config("[patterns.power-off]\nsteps_ms = [500, 100, 500]\n")
    assert c.pattern_objects()["power-off"] == Pattern((500, 100, 500))


def test_pattern_name_typo_is_named() -> None:
    key, line, message = only_problem(
        "[patterns]\nready = { steps_ms = [100] }\nrecoding = { steps_ms = [500] }\n")
    assert (key, line) == ("patterns.recoding", 3)
    assert "unknown pattern name" in message and "'recording'" in message


@pytest.mark.parametrize(("steps", "key", "fragment"), [
    ("[100, 100]", "patterns.tick.steps_ms", "odd number"),
    ("[]", "patterns.tick.steps_ms", "at least 1"),
    ("[10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]", "patterns.tick.steps_ms", "at most 9"),
    ("[100, 5, 100]", "patterns.tick.steps_ms[1]", "at least 10"),
    ("[100, 5001, 100]", "patterns.tick.steps_ms[1]", "at most 5000"),
    ("[100, 1.5, 100]", "patterns.tick.steps_ms[1]", "whole number"),
    ('"100"', "patterns.tick.steps_ms", "array"),
])
def test_pattern_steps(steps: str, key: str, fragment: str) -> None:
    found = problems(f"[patterns]\ntick = {{ steps_ms = {steps} }}\n")
    assert (key, 2) in [(k, line) for k, line, _ in found], found
    assert any(fragment in message for _, _, message in found), found


def test_pattern_needs_steps_and_a_sane_strength() -> None:
    found = problems("[patterns.busy]\nstrength = 0.05\n\n[patterns.tick]\nsteps_ms = [50]\n"
                     "strength = 1.01\nloud = true\n")
    keys = {(key, line) for key, line, _ in found}
    assert ("patterns.busy.steps_ms", 1) in keys  # missing: reported at its table
    assert ("patterns.busy.strength", 2) in keys
    assert ("patterns.tick.strength", 6) in keys
    assert ("patterns.tick.loud", 7) in keys


def test_actions_sections() -> None:
    c = parse_config(
        '[actions.idle]\ndouble = "start-recording"\npress = "status"\n'
        '[actions.recording]\ndouble = "stop-recording"\npress = "none"\n'
        'very-long-hold = "power-off"\n'
    )
    assert c.actions_for("idle") == {"press": "status", "double": "start-recording",
                                     "hold": "status", "long-hold": "focus-mode",
                                     "very-long-hold": "power-off"}
    assert c.actions_for("recording") == {"double": "stop-recording", "hold": "status",
                                          "very-long-hold": "power-off"}
    assert set(ACTION_NAMES) >= set(c.actions_for("idle").values())


def test_action_typos() -> None:
    found = problems('[actions.idle]\nlong_hold = "status"\nhold = "stat"\n')
    assert found[0][:2] == ("actions.idle.long_hold", 2)
    assert "'long-hold'" in found[0][2]
    assert found[1][:2] == ("actions.idle.hold", 3)
    assert "'status'" in found[1][2]
    key, line, message = only_problem('[actions.standby]\npress = "status"\n')
    assert (key, line) == ("actions.standby", 1)
    assert "idle, recording" in message


def test_a_remote_that_cannot_stop_is_refused() -> None:
    key, line, message = only_problem('\n[actions.recording]\npress = "status"\n')
    assert (key, line) == ("actions.recording", 2)
    assert "stops recording" in message
    key, line, message = only_problem('[actions.idle]\npress = "none"\n')
    assert (key, line) == ("actions.idle", 1)
    assert "starts recording" in message


def test_paths_sections() -> None:
    c = parse_config('[journal]\npath = "/tmp/j"\n[power]\nrequest_path = "/tmp/p"\n'
                     '[daemon]\nlast_good_path = "/tmp/l"\n')
    assert (c.journal.path, c.power.request_path, c.daemon.last_good_path) == (
        "/tmp/j", "/tmp/p", "/tmp/l")
    assert only_problem('[journal]\npath = ""\n')[:2] == ("journal.path", 2)


# -- errors: keys and lines ------------------------------------------------------------------


def test_wrong_type_on_line_7_reports_line_7() -> None:
    text = "# comment\n\n[camera]\nport = \"usb\"\n\n[haptics]\npin = \"eighteen\"\n"
    assert only_problem(text) == ("haptics.pin", 7, "must be a whole number (got 'eighteen')")


def test_typo_key_reports_its_line() -> None:
    text = "[camera]\nport = \"usb\"\npol_interval_s = 1.0\n"
    assert only_problem(text) == (
        "camera.pol_interval_s", 3, "unknown key (did you mean 'poll_interval_s'?)")


def test_unknown_section_and_top_level_key() -> None:
    found = problems("verbose = true\n[camra]\nport = \"usb\"\n")
    assert found[0][:2] == ("verbose", 1)
    assert found[1][:2] == ("camra", 2) and "'camera'" in found[1][2]


def test_dotted_keys_and_inline_tables_get_their_lines() -> None:
    text = ("camera.port = \"usb\"\n"
            "haptics = { pin = 5, pwm = \"yes\" }\n"
            "button.pin = 99\n")
    found = problems(text)
    assert ("haptics.pwm", 2) in [(k, line) for k, line, _ in found]
    assert ("button.pin", 3) in [(k, line) for k, line, _ in found]


def test_multiline_values_do_not_shift_lines() -> None:
    text = ('[journal]\npath = """\n/a\n/b"""\n'
            "[patterns]\nbusy = { steps_ms = [\n  100,  # on\n  2,\n  100,\n] }\n"
            "[button]\npin = 'x'\n")
    found = problems(text)
    assert ("patterns.busy.steps_ms[1]", 8) in [(k, line) for k, line, _ in found]
    assert ("button.pin", 12) in [(k, line) for k, line, _ in found]


def test_all_problems_are_listed_in_line_order() -> None:
    text = "[button]\npin = 40\n[haptics]\nfrequency_hz = 5\n[gestures]\nhold_s = \"1\"\n"
    assert [(k, line) for k, line, _ in problems(text)] == [
        ("button.pin", 2), ("haptics.frequency_hz", 4), ("gestures.hold_s", 6)]


def test_toml_syntax_error_keeps_its_line() -> None:
    key, line, message = only_problem("[camera]\nport = \"usb\"\nbusy_retry_s = \n")
    assert (key, line) == ("", 3)
    assert message.startswith("TOML syntax error") and "column" in message


def test_duplicate_key_is_a_syntax_error_with_a_line() -> None:
    key, line, message = only_problem("[button]\npin = 4\n\npin = 5\n")
    assert (key, line) == ("", 4) and "TOML syntax error" in message


def test_not_utf8() -> None:
    key, line, message = only_problem(b"[button]\npin = 4\n# caf\xe9\n")
    assert (key, line) == ("", 3) and "UTF-8" in message


@pytest.mark.parametrize(("text", "key"), [
    ("[camera]\nbusy_retry_s = inf\n", "camera.busy_retry_s"),
    ("[camera]\nbusy_retry_s = nan\n", "camera.busy_retry_s"),
    ("[camera]\nbusy_retry_s = 1e999\n", "camera.busy_retry_s"),
    ("[camera]\nbusy_retry_s = " + "9" * 400 + "\n", "camera.busy_retry_s"),
    ("[button]\npin = " + "9" * 30 + "\n", "button.pin"),
])
def test_hostile_numbers(text: str, key: str) -> None:
    found_key, line, message = only_problem(text)
    assert (found_key, line) == (key, 2)
    assert len(message) < 200


def test_deep_nesting_is_a_config_error() -> None:
    found = problems("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert found and "internal error" not in found[0][2]


def test_huge_file_is_refused() -> None:
    assert "too large" in only_problem("#" * (2 << 20))[2]


def test_problem_and_error_formatting() -> None:
    assert str(ConfigProblem("haptics.pin", 12, "m", "pitrigger.toml")) == \
        "pitrigger.toml:12: haptics.pin: m"
    assert str(ConfigProblem("", None, "no such file", "x.toml")) == "x.toml: no such file"
    error = ConfigError("x.toml", [ConfigProblem("a", 1, "m", "x.toml"),
                                   ConfigProblem("b", 2, "n", "x.toml")])
    assert str(error) == "x.toml:1: a: m\nx.toml:2: b: n"
    assert error.path == "x.toml"


def test_key_lines_quoted_and_array_tables() -> None:
    lines = key_lines('"quoted key" = 1\n[[things]]\na = 1\n[[things]]\na = 2\n'
                      "[ 'x' . \"y\" ]\nz = '''a\nb'''\nw = 1\n")
    assert lines[("quoted key",)] == 1
    assert lines[("things", 0, "a")] == 3
    assert lines[("things", 1, "a")] == 5
    assert lines[("x", "y", "z")] == 7
    assert lines[("x", "y", "w")] == 9


# -- finding and loading ---------------------------------------------------------------------


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boot, etc = tmp_path / "boot.toml", tmp_path / "etc.toml"
    monkeypatch.setattr(config_module.loading, "SEARCH_PATH", (boot, etc))
    assert find_config(None) is None
    assert load_config(find_config(None)) == Config()
    etc.write_text("[button]\npin = 5\n")
    assert find_config(None) == etc
    boot.write_text("[button]\npin = 6\n")
    assert find_config(None) == boot
    assert load_config(find_config(None)).button.pin == 6
    explicit = tmp_path / "mine.toml"
    explicit.write_text("[button]\npin = 7\n")
    assert find_config(explicit) == explicit
    assert find_config(str(explicit)) == explicit


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        find_config(tmp_path / "missing.toml")


def test_load_reports_os_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a regular file \(a directory\)") as info:
        load_config(tmp_path)
    assert info.value.path == str(tmp_path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pitrigger.toml"
    path.write_text("[haptics]\npin = 17\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:2: haptics.pin: must differ from button.pin (both 17)"


# -- check-config ----------------------------------------------------------------------------


def test_check_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pitrigger.toml"
    path.write_bytes(files("pitrigger").joinpath("default.toml").read_bytes())
    assert main_check_config(str(path)) == 0
    out, err = capsys.readouterr()
    assert out == f"OK {path}\n" and err == ""


def test_check_config_lists_every_problem(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pitrigger.toml"
    path.write_text("[button]\npin = 40\n\n[haptics]\nsnk = \"gpio\"\n")
    assert main_check_config(str(path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:2: button.pin: must be at most 27 (got 40)",
        f"{path}:5: haptics.snk: unknown key (did you mean 'sink'?)",
    ]


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_check_config(str(tmp_path / "nope.toml")) == 2
    _, err = capsys.readouterr()
    assert "nope.toml" in err and "cannot read" in err


def test_check_config_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pitrigger.cli import main

    path = tmp_path / "bad.toml"
    path.write_text("[camera]\nport = \"com1\"\n")
    assert main(["check-config", os.fspath(path)]) == 2
    assert f"{path}:2: camera.port:" in capsys.readouterr().err


def test_docstring_examples_run() -> None:
    import doctest

    result = doctest.testmod(config_module)
    assert result.attempted > 0 and result.failed == 0


def test_docs_config_md_lists_every_key_and_its_examples_run() -> None:
    import doctest

    doc = Path(__file__).resolve().parent.parent / "docs" / "config.md"
    result = doctest.testfile(str(doc), module_relative=False, globs={})
    assert result.attempted > 0 and result.failed == 0
    text = doc.read_text(encoding="utf-8")
    for section, model in Config.model_fields.items():
        assert f"[{section}]" in text or f"[{section}." in text, section
        if section == "patterns":
            assert all(f"`{name}`" in text for name in VOCABULARY)
            continue
        sub = model.annotation
        assert sub is not None
        for name, field in sub.model_fields.items():
            if section == "actions":
                mapping = Config().actions.model_dump(by_alias=True)[name]
                for gesture in GESTURE_NAMES:
                    row = f'| `actions.{name}.{gesture}` | `"{mapping[gesture]}"`'
                    assert row in text, row
            else:
                assert f"| `{field.alias or name}` |" in text, (section, name)


@pytest.mark.parametrize(("text", "key", "message"), [
    ("[patterns.tick]\nsteps_ms = [100]\nstrenght = 1.0\n", "patterns.tick.strenght",
     "unknown key (did you mean 'strength'?)"),
    ("[patterns.tick]\nsteps_ms = [100]\nloud = true\n", "patterns.tick.loud",
     "unknown key; valid: steps_ms, strength"),
    ("[actions]\nidel = {}\n", "actions.idel", "unknown key (did you mean 'idle'?)"),
    ("[button]\nxyzzy = 1\n", "button.xyzzy", "unknown key; valid: source, pin, pull_up"),
    ("camra.port = 1\n", "camra", "unknown section (did you mean 'camera'?)"),
    ('"odd\\u0007key" = 1\n', '"odd\\u0007key"', "unknown section; valid: camera, wired, button, "
     "haptics, gestures, patterns, actions, focus, journal, backup, power, daemon"),
])
def test_unknown_key_messages(text: str, key: str, message: str) -> None:
    found_key, line, found = only_problem(text)
    assert (found_key, found) == (key, message)
    assert line == text.count("\n")


def test_recording_must_not_feel_like_another_pattern() -> None:
    assert only_problem("[patterns]\nready = { steps_ms = [700], strength = 0.5 }\n") == (
        "patterns.ready", 2, "feels the same as 'recording' (same steps_ms); "
        "'recording' must be unlike every other pattern")
    key, line, message = only_problem(
        "\n[patterns.recording]\nsteps_ms = [200, 200, 200]\n")
    assert (key, line) == ("patterns.recording", 2)
    assert "'stopped'" in message


def test_keys_that_look_like_pydantic_markers_are_named_as_written() -> None:
    assert only_problem('[actions]\n"[key]" = 0\n')[:2] == ('actions."[key]"', 2)
    assert only_problem('[patterns]\n"[key]" = { steps_ms = [100] }\n')[:2] == (
        'patterns."[key]"', 2)


def test_the_schemas_name_lists_are_the_ones_in_pitrigger_names() -> None:
    from typing import get_args

    from pitrigger import names
    from pitrigger.config import schema

    assert get_args(schema.PatternName) == names.CUES
    assert get_args(schema.Action) == names.ACTIONS


def test_focus_section_defaults_and_rules() -> None:
    focus = Config().focus
    assert (focus.zoom, focus.measure, focus.frames_per_score) == (5, "vol", 3)
    assert focus.tuning().median_of == 3
    with pytest.raises(ConfigError, match=r"focus\.lost_drop"):
        parse_config("[focus]\nlost_drop = 0.05\n")
    with pytest.raises(ConfigError, match=r"focus\.zoom"):
        parse_config("[focus]\nzoom = 3\n")
    with pytest.raises(ConfigError, match="only available while not recording"):
        parse_config('[actions.recording]\nlong-hold = "focus-mode"\n')


def test_a_worded_schema_error_is_not_quoted_twice() -> None:
    # The schema's own message already shows the value; wording must not add "(got ...)".
    assert only_problem('[haptics]\npwm_channel = "pwm0"\n') == (
        "haptics.pwm_channel", 2, "'pwm0' is not a PWM channel; use \"pwmchipN:C\" "
        "(e.g. \"pwmchip0:0\", GPIO 18 with dtoverlay=pwm) or \"\" for none")
