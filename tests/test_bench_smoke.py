"""Smoke runs of the benchmarks in bench/: tiny sizes, every result line present and numeric.

No timing is asserted here (the benchmarks judge their own targets in ``target_*`` lines);
these tests only prove that each script still runs end to end against the virtual 5D and
reports every figure docs/performance.md quotes.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
LINE = re.compile(r"^([a-z0-9_]+): (\S.*)$")


def run_bench(script: str, *args: str, timeout: float = 90.0) -> dict[str, str]:
    result = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                            text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    figures: dict[str, str] = {}
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            figures[match.group(1)] = match.group(2)
    return figures


def assert_numbers(figures: dict[str, str], names: list[str]) -> None:
    missing = [n for n in names if n not in figures]
    assert not missing, f"missing result lines {missing}; got {sorted(figures)}"
    for name in names:
        value = float(figures[name])  # raises if not a number
        assert math.isfinite(value), f"{name}: {figures[name]}"


def assert_targets(figures: dict[str, str], names: list[str]) -> None:
    for name in names:
        assert figures.get(f"target_{name}") in ("yes", "no"), f"target_{name} line missing"


@pytest.mark.slow
def test_toggle_latency_smoke() -> None:
    figures = run_bench("toggle_latency.py", "--cycles", "2", "--cli-cycles", "1")
    assert_numbers(figures, ["daemon_toggle_p50_ms", "daemon_toggle_p99_ms",
                             "cli_toggle_p50_ms", "cli_vs_daemon_ratio",
                             "daemon_cue_recording_p50_ms", "daemon_stage_call_p50_ms"])
    assert_targets(figures, ["ratio", "p99"])


@pytest.mark.slow
def test_startup_smoke() -> None:
    figures = run_bench("startup.py", "--runs", "1")
    assert_numbers(figures, ["startup_ready_ms", "startup_ready_cold_ms", "rss_mb",
                             "rss_cold_mb", "modules_at_ready", "modules_at_ready_cold",
                             "import_pydantic_ms", "import_gphoto2_ms", "import_gpiozero_ms"])
    # Not a timing: the daemon must never pull array or camera-module libraries in.
    assert figures["heavy_imports"] == "none"
    assert_targets(figures, ["startup", "rss"])


@pytest.mark.slow
def test_idle_smoke() -> None:
    figures = run_bench("idle.py", "--seconds", "1", "--poll-intervals", "0.5,3")
    assert_numbers(figures, ["idle_cpu_percent", "idle_wakeups_per_s", "threads",
                             "camera_getevent_per_s", "gpio_wakeups_per_s",
                             "idle_wakeups_per_s_poll_3", "idle_voluntary_wakeups_per_s"])
    assert_targets(figures, ["idle_cpu", "idle_wakeups"])
    # Not a timing: the gpiod reader was found by its thread name and measured.
    assert figures["target_gpio_zero_wakeups"] == "yes"


@pytest.mark.slow
def test_soak_smoke(tmp_path: Path) -> None:
    figures = run_bench("soak.py", "--presses", "12", "--seed", "3", "--kill-rate", "0.3",
                        "--fault-rate", "0.3", "--keep", str(tmp_path), timeout=120)
    names = ["presses", "lost_toggles", "phantom_toggles", "false_recording_cues",
             "daemon_deaths", "state_mismatches", "kills", "bursts", "coalesced_presses"]
    assert_numbers(figures, names)
    assert int(figures["presses"]) == 12
    assert (tmp_path / "job0" / "journal.jsonl").exists()
    assert_targets(figures, ["soak"])


@pytest.mark.slow
def test_toggle_latency_live_view_smoke() -> None:
    figures = run_bench("toggle_latency.py", "--live-view", "1")
    assert_numbers(figures, [f"lv_{name}_{figure}" for name in ("keep", "off", "off_after_s")
                             for figure in ("start_p50_ms", "start_p99_ms", "start_call_p50_ms",
                                            "cue_recording_p50_ms")])


@pytest.mark.slow
def test_clip_restart_gap_smoke() -> None:
    figures = run_bench("clip_restart_gap.py", "--restarts", "1", "--cap", "1.0",
                        "--polls", "0.1")
    assert_numbers(figures, ["poll_0_1_camera_gap_p50_ms", "poll_0_1_camera_gap_max_ms",
                             "poll_0_1_daemon_gap_p50_ms", "poll_0_1_daemon_gap_max_ms"])


@pytest.mark.slow
def test_focus_smoke() -> None:
    pytest.importorskip("numpy")
    figures = run_bench("focus.py", "--frames", "3")
    names = [f"{kind}_{view}" for view in ("1x", "5x")
             for kind in ("fps", "decode_ms", "score_noise_pct", "cpu_ms_per_frame",
                          "cpu_share_at_max_fps", "estimate_pi_zero_w_decode_score_ms",
                          "estimate_pi_zero_2w_decode_score_ms")]
    names += ["score_ms_1x_vol", "score_ms_5x_lapm"]
    assert_numbers(figures, names)
