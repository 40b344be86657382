"""Fast checks of what becomes the SD card: units, stage scripts, default config.

The slow image build + emulated boot test is `firmware/build-offline.sh && firmware/boot-test.sh`
(see docs/firmware.md); these checks catch most unit and script breakage in seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
FIRMWARE = ROOT / "firmware"
STAGE = FIRMWARE / "pi-gen" / "stage-pitrigger"
BOOT_TEST = FIRMWARE / "boot-test"
DEFAULT_CONFIG = ROOT / "pitrigger" / "default.toml"
VENV_BIN = "/opt/pitrigger/venv/bin/pitrigger"
MAX_EXPOSURE = 2.0

PRODUCT_UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in {".service", ".path"})
TEST_UNITS = sorted(BOOT_TEST.glob("*.service"))


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed (./dev test installs it: apt-get install "
                    f"{'systemd' if tool.startswith('systemd') else tool})")
    return path


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Key -> values of a unit file (all sections; comments and blank lines dropped)."""
    out: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def shell_scripts() -> list[Path]:
    """Every shell script of the firmware (by extension or shebang), build outputs excluded."""
    found = []
    for path in sorted(FIRMWARE.rglob("*")):
        rel = path.relative_to(FIRMWARE).parts
        if not path.is_file() or rel[0] in {"build", "cache"}:
            continue
        with path.open("rb") as f:
            head = f.readline()
        if path.suffix == ".sh" or re.match(rb"#!\s*/(usr/)?bin/(env )?(ba)?sh\b", head):
            found.append(path)
    return found


# --- units -----------------------------------------------------------------------------------


def test_units_verify(tmp_path: Path) -> None:
    """systemd-analyze verify on the product and test units (commands stubbed: they live in
    the image, not on this machine)."""
    need("systemd-analyze")
    stub = tmp_path / "stub"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in [*PRODUCT_UNITS, *TEST_UNITS]:
        text = unit.read_text()
        text = text.replace(VENV_BIN, str(stub))
        text = text.replace("/opt/pitrigger/venv/bin/python", str(stub))
        text = re.sub(r"/usr/local/sbin/pitrigger-[a-z-]+", str(stub), text)
        (units / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
        capture_output=True, text=True, check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    # Unknown keys and bad values are only warnings to verify: treat them as failures.
    relevant = [line for line in output.splitlines()
                if str(units) in line or "Unknown" in line or "ignoring" in line.lower()]
    assert not relevant, "\n".join(relevant)


def test_service_security_exposure() -> None:
    need("systemd-analyze")
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager",
         str(SYSTEMD / "pitrigger.service")],
        capture_output=True, text=True, check=False,
    )
    match = re.search(r"Overall exposure level for pitrigger\.service: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_service_contract() -> None:
    s = unit_settings(SYSTEMD / "pitrigger.service")
    assert s["Type"] == ["notify"]
    assert s["WatchdogSec"] and s["NotifyAccess"] == ["main"]
    assert s["Restart"] == ["always"]
    assert s["StartLimitIntervalSec"] == ["0"], "no start limit: the daemon must never stay dead"
    assert s["ExecStart"][0].split()[0] == VENV_BIN
    assert s["User"] == ["pitrigger"] and "root" not in s.get("Group", [])
    assert set(s["SupplementaryGroups"][0].split()) >= {"gpio", "plugdev"}
    # lgpio writes its FIFO in the cwd: it must be the writable runtime directory.
    assert s["RuntimeDirectory"] == ["pitrigger"]
    assert s["WorkingDirectory"] == ["/run/pitrigger"]
    assert s["ProtectSystem"] == ["strict"]
    assert "-/var/lib/pitrigger" in s["ReadWritePaths"]
    # Nothing the service needs may sit on an optional mount: no hard mount dependencies.
    for key in ("RequiresMountsFor", "StateDirectory", "Requires", "BindsTo"):
        assert key not in s, f"{key}= would make an optional mount fatal"
    # The watchdog must be able to kill a frozen (SIGSTOPped) daemon quickly.
    assert s["TimeoutAbortSec"] and "SIGKILL" not in s.get("WatchdogSignal", [])
    assert s["WantedBy"] == ["multi-user.target"]


def test_poweroff_units_match_daemon_contract() -> None:
    path_unit = unit_settings(SYSTEMD / "pitrigger-poweroff.path")
    service = unit_settings(SYSTEMD / "pitrigger-poweroff.service")
    request = path_unit["PathExists"][0]
    assert request == "/run/pitrigger/poweroff-request"
    assert path_unit["Unit"] == ["pitrigger-poweroff.service"]
    assert any(request in cmd for cmd in service["ExecStartPre"]), "request must be consumed"
    assert "User" not in service, "power-off runs as root"
    assert any("poweroff" in cmd for cmd in service["ExecStart"])
    if DEFAULT_CONFIG.exists():
        config = tomllib.loads(DEFAULT_CONFIG.read_text())
        assert config.get("power", {}).get("request_path", request) == request
    # The request sits in the daemon's runtime directory, which the daemon may write.
    assert Path(request).parent == Path("/run") / "pitrigger"


# --- scripts ---------------------------------------------------------------------------------


def test_shellcheck_every_script() -> None:
    need("shellcheck")
    scripts = shell_scripts()
    assert len(scripts) >= 7, scripts
    result = subprocess.run(["shellcheck", "--shell=bash", *map(str, scripts)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_are_strict_and_executable() -> None:
    for script in shell_scripts():
        text = script.read_text()
        if script.name.endswith("-run-chroot.sh"):
            assert "set -euo pipefail" in text, script  # fed on stdin: mode bits don't matter
            continue
        assert os.stat(script).st_mode & stat.S_IXUSR, f"{script} is not executable"
        if script.name == "prerun.sh":
            continue  # pi-gen's own convention (#!/bin/bash -e)
        assert re.search(r"^set -[a-z]*e[a-z]*u[a-z]* pipefail|^set -euo pipefail", text, re.M) \
            or "set -uo pipefail" in text, f"{script} lacks set -euo pipefail"


# --- the pi-gen stage ------------------------------------------------------------------------

SUBSTAGE_FILE = re.compile(
    r"^(\d\d-(packages|packages-nr|debconf|run\.sh|run-chroot\.sh)|files|PI_ONLY|SKIP)$"
)


def test_stage_layout_complete() -> None:
    assert os.access(STAGE / "prerun.sh", os.X_OK)
    assert "copy_previous" in (STAGE / "prerun.sh").read_text()
    assert "IMG_SUFFIX" in (STAGE / "EXPORT_IMAGE").read_text()
    substages = sorted(p for p in STAGE.iterdir() if p.is_dir())
    assert [p.name for p in substages] == ["00-pi-packages", "01-pitrigger", "02-headless"]
    for sub in substages:
        for entry in sub.iterdir():
            assert SUBSTAGE_FILE.match(entry.name), f"pi-gen would ignore {entry}"
            if entry.name.endswith("run.sh"):
                assert os.access(entry, os.X_OK), f"pi-gen runs {entry} only if executable"


def test_stage_references_exist() -> None:
    """Every files/… path a run script installs, and every unit it enables, exists."""
    for script in STAGE.glob("*/*run*.sh"):
        text = script.read_text()
        for ref in re.findall(r"\bfiles/([\w.@-]+)", text):
            assert (script.parent / "files" / ref).is_file(), f"{script}: files/{ref} missing"
        for line in re.findall(r"systemctl enable ([^\n]+)", text):
            for unit in line.split():
                if unit.endswith((".service", ".path")) and unit.startswith("pitrigger"):
                    assert (SYSTEMD / unit).is_file(), f"{script} enables missing {unit}"
    enabled = (STAGE / "01-pitrigger" / "01-run-chroot.sh").read_text()
    for unit in PRODUCT_UNITS:
        if "WantedBy" in unit_settings(unit):
            assert unit.name in enabled, f"{unit.name} is installed but never enabled"


def test_stage_packages() -> None:
    def packages(path: Path) -> set[str]:
        return {w for line in path.read_text().splitlines() for w in line.split("#")[0].split()}

    common = packages(STAGE / "01-pitrigger" / "00-packages-nr")
    assert {"python3-venv", "python3-gphoto2", "python3-pydantic", "overlayroot"} <= common
    pi_only = packages(STAGE / "00-pi-packages" / "00-packages-nr")
    assert {"python3-lgpio", "python3-picamera2"} <= pi_only
    assert (STAGE / "00-pi-packages" / "PI_ONLY").is_file()
    chroot = (STAGE / "01-pitrigger" / "01-run-chroot.sh").read_text()
    assert re.search(r"venv (--without-pip )?--system-site-packages /opt/pitrigger/venv", chroot)
    assert "useradd --system" in chroot and "gpio,plugdev" in chroot


def run_headless(tmp_path: Path, cmdline: str, config: str, ssh: str = "0") -> tuple[str, str, str]:
    """Run 02-headless/00-run.sh on a fake root; on_chroot records its scripts."""
    rootfs = tmp_path / "rootfs"
    (rootfs / "boot" / "firmware").mkdir(parents=True)
    (rootfs / "boot" / "firmware" / "cmdline.txt").write_text(cmdline)
    (rootfs / "boot" / "firmware" / "config.txt").write_text(config)
    record = tmp_path / "chroot.log"
    env = {
        **os.environ,
        "ROOTFS_DIR": str(rootfs),
        "ENABLE_SSH": ssh,
        "BASH_FUNC_on_chroot%%": f"() {{ cat >> {record}; }}",
    }
    subprocess.run([str(STAGE / "02-headless" / "00-run.sh")], cwd=STAGE / "02-headless",
                   env=env, check=True)
    fw = rootfs / "boot" / "firmware"
    return (fw / "cmdline.txt").read_text(), (fw / "config.txt").read_text(), record.read_text()


PI_GEN_CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=1234abcd-02 rootfstype=ext4 "
                  "fsck.repair=yes rootwait resize\n")


def test_headless_cmdline_and_config(tmp_path: Path) -> None:
    config = "dtparam=audio=on\ncamera_auto_detect=1\ndtoverlay=vc4-kms-v3d\n"
    cmdline, config_txt, chroot = run_headless(tmp_path, PI_GEN_CMDLINE, config)
    args = cmdline.split()
    assert cmdline.count("\n") == 1 and cmdline.endswith("\n"), "cmdline.txt must be one line"
    assert "root=PARTUUID=1234abcd-02" in args and "rootwait" in args
    assert "console=serial0,115200" in args and "console=tty1" not in args
    assert "resize" not in args, "the free space is for the data partition"
    assert "overlayroot=tmpfs:recurse=0" in args and "quiet" in args
    assert "\ndtparam=audio=on" not in "\n" + config_txt
    assert "dtparam=act_led_trigger=none" in config_txt and "dtoverlay=disable-bt" in config_txt
    assert "#dtoverlay=vc4-kms-v3d" in config_txt
    assert "systemctl disable ssh" in chroot and "systemctl enable ssh" not in chroot
    # Idempotent: a second run changes nothing.
    again, config_again, _ = run_headless(tmp_path / "again", cmdline, config_txt)
    assert again == cmdline and config_again == config_txt


def test_headless_ssh_only_when_enabled(tmp_path: Path) -> None:
    _, _, chroot = run_headless(tmp_path, PI_GEN_CMDLINE, "", ssh="1")
    assert "systemctl enable ssh" in chroot


# --- default config --------------------------------------------------------------------------


def test_default_config_validates() -> None:
    if not DEFAULT_CONFIG.exists():
        pytest.skip("pitrigger/default.toml has not landed yet (the stage copies it to the card)")
    result = subprocess.run(
        [sys.executable, "-m", "pitrigger", "check-config", str(DEFAULT_CONFIG)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = tomllib.loads(DEFAULT_CONFIG.read_text())
    # What the units assume about the defaults.
    assert config.get("journal", {}).get("path", "/var/lib/pitrigger/x").startswith(
        "/var/lib/pitrigger/")
    assert config.get("daemon", {}).get("last_good_path", "/var/lib/pitrigger/x").startswith(
        "/var/lib/pitrigger/")


def test_boot_test_config_edit_targets_camera_port() -> None:
    """boot-test.sh rewrites [camera] port in the FAT copy; the key must exist in the default."""
    if not DEFAULT_CONFIG.exists():
        pytest.skip("pitrigger/default.toml has not landed yet")
    config = tomllib.loads(DEFAULT_CONFIG.read_text())
    assert "camera" in config
