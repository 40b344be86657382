"""Issue 8's config defects: unusable paths, files that are not files, unsafe patterns."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pitrigger import haptic_rules
from pitrigger.config import ConfigError, load_config, parse_config
from pitrigger.haptic_rules import RULES, PatternRules, pattern_violations
from pitrigger.haptics import DEFAULT_PATTERNS

ROOT = Path(__file__).resolve().parent.parent
PATH_KEYS = [("journal", "path"), ("daemon", "last_good_path"), ("power", "request_path")]


def problems(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "pitrigger.toml")
    return [(p.key, p.line, p.message) for p in info.value.problems]


def pitrigger(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command line; ``timeout`` only guards against the hang being tested."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("INVOCATION_ID", None)
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.run([sys.executable, "-m", "pitrigger", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


# -- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "key"), PATH_KEYS)
def test_nul_in_a_path_is_refused_naming_key_and_line(section: str, key: str) -> None:
    text = f'# a comment\n[{section}]\n{key} = "/tmp/a\\u0000b"\n'
    assert problems(text) == [
        (f"{section}.{key}", 3, "contains a NUL character (position 7); a path cannot hold one")]


@pytest.mark.parametrize(("value", "fragment"), [
    ('"/tmp/a\\nb"', "control character (U+000A at position 7)"),
    ('"/tmp/\\u007f"', "control character (U+007F"),
    ('"/var/lib/pitrigger/"', "names a directory"),
    ('"/var/lib/.."', "names a directory"),
    (f'"/tmp/{"x" * 256}"', "name of 256 bytes"),
    (f'"/{"a/" * 2100}b"', "bytes long; a path may be at most 4095"),
    ('""', "must not be empty"),
])
def test_unusable_paths_are_refused(value: str, fragment: str) -> None:
    for section, key in PATH_KEYS:
        (found,) = problems(f"[{section}]\n{key} = {value}\n")
        assert found[:2] == (f"{section}.{key}", 2) and fragment in found[2], found


def test_output_dir_may_end_with_a_slash_but_not_hold_a_nul() -> None:
    assert parse_config('[camera]\noutput_dir = "/media/clips/"\n').camera.output_dir \
        == "/media/clips/"
    assert problems('[camera]\noutput_dir = "/a\\u0000"\n')[0][:2] == ("camera.output_dir", 2)


def test_usable_paths_still_pass() -> None:
    config = parse_config('[journal]\npath = "relative/j.jsonl"\n'
                          '[daemon]\nlast_good_path = "/var/lib/p/é ü.toml"\n')
    assert config.journal.path == "relative/j.jsonl"
    assert config.daemon.last_good_path == "/var/lib/p/é ü.toml"


def test_check_config_and_run_refuse_a_nul_path(tmp_path: Path) -> None:
    bad = tmp_path / "pitrigger.toml"
    bad.write_text('[button]\nsource = "terminal"\n[haptics]\nsink = "terminal"\n'
                   '[journal]\npath = "/tmp/j\\u0000"\n')
    checked = pitrigger("check-config", str(bad))
    assert checked.returncode == 2, checked
    assert f"{bad}:6: journal.path: contains a NUL character" in checked.stderr
    ran = pitrigger("run", "--config", str(bad))
    assert ran.returncode == 2, ran
    assert "journal.path" in ran.stderr and "Traceback" not in ran.stderr


# -- files that are not regular files -------------------------------------------------------------


def test_a_fifo_as_config_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pitrigger.toml"
    os.mkfifo(fifo)  # no writer ever comes: open() without O_NONBLOCK would wait forever
    # In child processes only, so that a regression fails on the timeout instead of hanging.
    for args in (("check-config", str(fifo)), ("run", "--config", str(fifo))):
        result = pitrigger(*args)
        assert result.returncode == 2, result
        assert "not a regular file (a FIFO)" in result.stderr


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"),
                                            ("/dev/null", "a character device")])
def test_devices_are_refused(path: str, kind: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"not a regular file ({kind})")):
        load_config(path)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a regular file \(a directory\)"):
        load_config(tmp_path)


def test_a_large_file_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    from pitrigger.config.loading import MAX_FILE_BYTES, read_config_bytes

    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES * 3))
    assert len(read_config_bytes(big)) == MAX_FILE_BYTES + 1
    with pytest.raises(ConfigError, match="file too large"):
        load_config(big)


# -- pattern safety -------------------------------------------------------------------------------


def test_error_as_nine_times_five_seconds_is_refused_naming_key_and_line() -> None:
    text = "[patterns]\n\nerror = { steps_ms = [5000, 5000, 5000, 5000, 5000, 5000, 5000, " \
           "5000, 5000] }\n"
    ((key, line, message),) = problems(text)
    assert (key, line) == ("patterns.error.steps_ms", 3)
    assert "longest continuous on-time" in message and "longest pattern" in message


@pytest.mark.parametrize(("steps", "rule"), [
    ([40], "shortest pulse"),
    ([100, 60, 100], "shortest gap"),
    ([1600], "longest continuous on-time"),
    ([600, 100, 500, 1200, 200], "longest pattern"),
    ([1400, 100, 400], "duty"),
])
def test_each_rule_is_enforced_by_the_config(steps: list[int], rule: str) -> None:
    ((key, line, message),) = problems(f"[patterns.busy]\nsteps_ms = {steps}\n")
    assert (key, line) == ("patterns.busy.steps_ms", 2)
    assert rule in message, message
    assert len(pattern_violations(steps)) == 1  # each example breaks that rule alone


@pytest.mark.parametrize("edge", [
    [RULES.shortest_pulse_ms, RULES.shortest_gap_ms, RULES.shortest_pulse_ms],
    [RULES.longest_pulse_ms, RULES.shortest_gap_ms, 100],  # 1600 of 2000 ms: the duty limit
])
def test_the_limits_themselves_pass(edge: list[int]) -> None:
    assert pattern_violations(edge) == []
    assert parse_config(f"[patterns.busy]\nsteps_ms = {edge}\n").patterns["busy"].steps_ms \
        == tuple(edge)


def test_duty_is_measured_over_the_busiest_window() -> None:
    rules = PatternRules(max_duty=0.5, duty_window_ms=1000)
    # 600 ms on in the window that starts at the second pulse, 500 in the first.
    assert pattern_violations([400, 400, 300, 100, 300], rules) == [
        "is on for 600 ms of any 1000 ms; at most 50 % (duty)"]
    assert pattern_violations([400, 600, 400], rules) == []


def test_default_patterns_keep_the_rules() -> None:
    for name, pattern in DEFAULT_PATTERNS.items():
        assert pattern_violations(pattern.steps_ms) == [], name


def test_docs_state_the_rules_in_force() -> None:
    """docs/haptics.md's "Pattern safety" table is the rules' written form."""
    text = (ROOT / "docs" / "haptics.md").read_text(encoding="utf-8")
    section = text.split("## Pattern safety", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| [\w -]+ \(`(\w+)`\) \| ([\d.]+) ", section,
                          flags=re.MULTILINE))
    expected = {name: str(getattr(RULES, name)) for name in RULES.__dataclass_fields__}
    assert rows == expected
    assert haptic_rules.__doc__ is not None and "docs/haptics.md" in haptic_rules.__doc__
