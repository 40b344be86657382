"""The command line as a user runs it (subprocesses, real virtual camera)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pitrigger(*args: str, stdin: str | None = None, timeout: float = 60,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("NOTIFY_SOCKET", "INVOCATION_ID", "WATCHDOG_USEC")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pitrigger", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=full_env)


def test_help_lists_every_command() -> None:
    result = pitrigger("--help")
    assert result.returncode == 0
    for command in ("run", "check-config", "haptics", "demo", "virtual-camera", "probe"):
        assert command in result.stdout


def test_demo_runs_from_a_script() -> None:
    script = "press\nwait 1\nhold\nwait 1\npress\nwait 1\n"
    result = pitrigger("demo", stdin=script)
    assert result.returncode == 0, result.stderr
    haptics = [line.split()[1] for line in result.stdout.splitlines()
               if line.startswith("haptic ")]
    assert haptics == ["ready", "recording", "status", "stopped"]
    assert "demo over: camera idle; clips: MVI_0001.MOV" in result.stdout


def test_demo_camera_commands_reach_the_virtual_camera() -> None:
    script = "camera refuse_movie mode=hidden\npress\nwait 2.5\n"
    result = pitrigger("demo", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "haptic refused" in result.stdout
    assert "haptic recording" not in result.stdout
    assert "clips: none" in result.stdout


def test_run_with_a_broken_config_names_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "pitrigger.toml"
    bad.write_text('[camera]\nport = "usb"\n[haptics]\npin = "eighteen"\n')
    result = pitrigger("run", "--config", str(bad))
    assert result.returncode == 2
    assert f"{bad}:4: haptics.pin" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    result = pitrigger("run", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr


def test_haptics_plays_the_named_patterns(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[haptics]\nsink = "terminal"\n')
    result = pitrigger("haptics", "--config", str(config), "ready", "error")
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["ready", "error"]


def test_haptics_rejects_an_unknown_pattern(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[haptics]\nsink = "terminal"\n')
    result = pitrigger("haptics", "--config", str(config), "recoding")
    assert result.returncode == 2
    assert "recoding" in result.stderr and "recording" in result.stderr


def test_probe_reports_the_virtual_body(virtual_camera, tmp_path: Path) -> None:
    config = tmp_path / "p.toml"
    config.write_text(f'[camera]\nprobe_dir = "{tmp_path}"\n')
    result = pitrigger("probe", "--config", str(config), "--port", virtual_camera.port_string,
                       "--paths", "usb", "--clip-seconds", "0.3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Canon EOS 5D Mark II" in result.stdout
    assert 'VERDICT: use trigger "usb"' in result.stdout
    assert len(virtual_camera.control.state()["clips"]) == 1


def test_probe_on_a_body_without_remote_movie(virtual_camera, tmp_path: Path) -> None:
    virtual_camera.control.inject("refuse_movie", mode="hidden")
    config = tmp_path / "p.toml"
    config.write_text(f'[camera]\nprobe_dir = "{tmp_path}"\n')
    result = pitrigger("probe", "--config", str(config), "--port", virtual_camera.port_string,
                       "--paths", "usb")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "movierecordtarget (0xD1B8) no" in result.stdout
    assert "usb             not-offered" in result.stdout


def test_probe_rejects_an_unknown_path() -> None:
    result = pitrigger("probe", "--paths", "usb,bluetooth")
    assert result.returncode == 2
    assert "bluetooth" in result.stderr and "usb-half-press" in result.stderr
