"""Fast checks of what becomes the SD card and the .deb: units, the image description and the
stage that follows it, the Debian packaging, scripts, default config.

The slow builds and emulated boot tests are `firmware/build-and-boot-test.sh` (see
docs/firmware.md); these checks catch most unit, script and packaging breakage in seconds.
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
DEBIAN = ROOT / "debian"
DESCRIPTION = FIRMWARE / "image.toml"
DAEMON_BIN = "/usr/bin/pitrigger"
MAX_EXPOSURE = 2.0

PRODUCT_UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in {".service", ".path"})
# debian/pitrigger.NAME.service -> ../systemd/NAME.service: the units the .deb ships.
DEB_UNITS = sorted({p.resolve() for p in DEBIAN.glob("pitrigger*")
                    if p.is_symlink() and p.resolve().suffix in {".service", ".path"}})
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
        text = text.replace(DAEMON_BIN, str(stub))
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
    assert s["ExecStart"][0].split()[0] == DAEMON_BIN, "the .deb installs the daemon there"
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


def test_service_starts_early() -> None:
    """Power-on to the first buzz is what the user waits for: the service is ordered only
    after what it really needs (mounts, udev coldplug, tmpfiles), not after basic.target."""
    s = unit_settings(SYSTEMD / "pitrigger.service")
    assert s["DefaultDependencies"] == ["no"]
    after = {unit for line in s["After"] for unit in line.split()}
    assert {"local-fs.target", "boot-firmware.mount", "pitrigger-data-partition.service",
            "systemd-udev-trigger.service", "systemd-tmpfiles-setup.service"} <= after
    assert not after & {"basic.target", "sysinit.target", "multi-user.target",
                        "network.target", "network-online.target", "time-sync.target"}
    # Without default dependencies the shutdown ordering must be explicit.
    assert s["Conflicts"] == ["shutdown.target"] and s["Before"] == ["shutdown.target"]
    # First-boot work must not hold later boots: the data partition is only ordered, and
    # the FAT partition is never waited for (nofail, no fsck) in the image's fstab.
    assert "pitrigger-data-partition.service" in s["Wants"][0]
    fstab = (FIRMWARE / "build-image.sh").read_text()
    fat = next(line for line in fstab.splitlines() if "/boot/firmware  vfat" in line)
    assert "nofail" in fat and fat.split()[-2:] == ["0", "0"] and " ro," in f" {fat.split()[3]},"


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


def description() -> dict:
    with DESCRIPTION.open("rb") as f:
        return tomllib.load(f)


def stage_packages(path: Path) -> list[str]:
    return [w for line in path.read_text().splitlines() for w in line.split("#")[0].split()]


def test_description_and_stage_agree() -> None:
    """The one description (firmware/image.toml) and the pi-gen stage that pi-gen runs from
    static files: the package lists must be equal, and every file and unit the description
    names must exist. (build-image.sh runs the same sub-stages, so it cannot disagree.)"""
    desc = description()
    common = stage_packages(STAGE / "01-pitrigger" / "00-packages-nr")
    pi_os = stage_packages(STAGE / "00-pi-packages" / "00-packages-nr")
    assert common == desc["packages"]["common"], \
        "stage 01-pitrigger/00-packages-nr differs from image.toml [packages] common"
    assert pi_os == desc["packages"]["pi_os"], \
        "stage 00-pi-packages/00-packages-nr differs from image.toml [packages] pi_os"
    for src, spec in desc["files"].items():
        assert (ROOT / src).is_file(), f"image.toml [files] names a missing {src}"
        assert spec["to"].startswith("/") and re.fullmatch(r"0[0-7]{3}", spec["mode"]), spec
        if os.access(ROOT / src, os.X_OK):
            assert spec["mode"] == "0755", f"{src} is a script but installed {spec['mode']}"
    installed_units = {Path(spec["to"]).name for spec in desc["files"].values()}
    shipped_units = {p.name for p in DEB_UNITS}
    for unit in desc["units"]["enable"]:
        assert unit in installed_units | shipped_units, f"enables {unit}, which nothing installs"
        assert unit not in desc["units"]["mask"]
    # Every product unit reaches the image: by the .deb or by the description.
    for unit in PRODUCT_UNITS:
        assert unit.name in installed_units | shipped_units, f"{unit.name} never reaches an image"
        if "WantedBy" in unit_settings(unit):
            assert unit.name in desc["units"]["enable"], f"{unit.name} is installed, not enabled"
    # The stage's scripts take files, units and masks from the description, not own lists.
    host = (STAGE / "01-pitrigger" / "00-run.sh").read_text()
    headless = (STAGE / "02-headless" / "00-run.sh").read_text()
    assert "firmware/image.py" in host and "describe files" in host
    assert "describe units enable" in host
    assert "image.py\" units mask" in headless


def test_description_boards() -> None:
    desc = description()
    pi0, pi02 = desc["boards"]["pi0"], desc["boards"]["pi02"]
    assert (pi0["arch"], pi0["kernel"]) == ("armel", "linux-image-rpi")
    assert (pi02["arch"], pi02["kernel"]) == ("arm64", "linux-image-arm64")
    assert pi0["dtb"] == "bcm2835-rpi-zero-w.dtb" and "raspi0" in pi0["qemu"]
    assert pi02["dtb"] == "bcm2837-rpi-zero-2-w.dtb" and "raspi3" in pi02["qemu"]
    assert "initcall_blacklist=bcm2835_power_driver_init" in pi0["qemu_append"]
    assert {"raspi-firmware"} <= set(desc["packages"]["debian"])
    assert {"python3-gphoto2", "python3-pydantic", "python3-libgpiod", "overlayroot",
            "firmware-brcm80211"} <= set(desc["packages"]["common"])
    assert "non-free-firmware" in desc["components"], "raspi-firmware lives there"


def test_image_py_answers_and_errors() -> None:
    tool = [sys.executable, str(FIRMWARE / "image.py")]
    out = subprocess.run([*tool, "packages", "pi0"], capture_output=True, text=True, check=True)
    pkgs = out.stdout.split()
    assert pkgs[-1] == "linux-image-rpi" and "raspi-firmware" in pkgs
    assert len(pkgs) == len(set(pkgs))
    bad = subprocess.run([*tool, "board", "pi5", "arch"], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown board 'pi5'" in bad.stderr and "pi02" in bad.stderr
    import doctest
    import importlib.util
    spec = importlib.util.spec_from_file_location("image_py", FIRMWARE / "image.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = doctest.testmod(module)
    assert result.attempted >= 5 and result.failed == 0


def test_stage_installs_the_deb() -> None:
    host = (STAGE / "01-pitrigger" / "00-run.sh").read_text()
    chroot = (STAGE / "01-pitrigger" / "01-run-chroot.sh").read_text()
    assert "PITRIGGER_DEB" in host and "build-deb.sh" in host
    assert re.search(r"apt-get install .*pitrigger_\*\.deb", chroot)
    assert "check-config /boot/firmware/pitrigger.toml" in chroot
    assert "venv" not in chroot, "the image runs the packaged daemon, not a venv"


# --- the Debian package ------------------------------------------------------------------------


def control_fields() -> list[dict[str, str]]:
    paragraphs = []
    for block in (DEBIAN / "control").read_text().split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            paragraphs.append(fields)
    return paragraphs


def test_debian_package_metadata() -> None:
    source, binary = control_fields()
    build_deps = {d.split()[0] for d in source["Build-Depends"].split(",") if d.strip()}
    assert {"debhelper-compat", "dh-python", "pybuild-plugin-pyproject",
            "python3-all"} <= build_deps
    assert binary["Package"] == "pitrigger" and binary["Architecture"] == "all"
    depends = [d.strip() for d in binary["Depends"].split(",") if d.strip()]
    assert "python3-gphoto2" in depends and "python3-gpiozero" in depends
    assert "python3-pydantic (>= 2)" in depends and "python3-libgpiod (>= 2)" in depends
    rules = (DEBIAN / "rules").read_text()
    assert "--buildsystem=pybuild" in rules and "--with python3" in rules
    assert "--no-guessing-deps" in rules, "pip's pins (gpiozero >= 2) must not become Depends"
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    changelog = (DEBIAN / "changelog").read_text().splitlines()[0]
    assert changelog.startswith(f"pitrigger ({version}"), (changelog, version)


def test_debian_package_takes_systemd_files() -> None:
    """Unit, udev rule, tmpfiles and sysusers come from systemd/ (symlinks, one copy)."""
    wanted = {"pitrigger.service": "pitrigger.service",
              "pitrigger.pitrigger-poweroff.path": "pitrigger-poweroff.path",
              "pitrigger.pitrigger-poweroff.service": "pitrigger-poweroff.service",
              "pitrigger.udev": "pitrigger.udev", "pitrigger.tmpfiles": "pitrigger.tmpfiles",
              "pitrigger.sysusers": "pitrigger.sysusers"}
    for name, target in wanted.items():
        link = DEBIAN / name
        assert link.is_symlink() and link.resolve() == (SYSTEMD / target).resolve(), name
        assert link.resolve().is_file(), f"{name} points at a missing file"
    # Image-only units (they repartition the card, switch its Wi-Fi) stay out of the .deb.
    assert not {p.name for p in DEB_UNITS} & {"pitrigger-data-partition.service",
                                              "pitrigger-wifi.service"}
    sysusers = (SYSTEMD / "pitrigger.sysusers").read_text()
    assert re.search(r"^u pitrigger ", sysusers, re.M)
    assert re.search(r"^m pitrigger gpio$", sysusers, re.M)
    assert re.search(r"^m pitrigger plugdev$", sysusers, re.M)
    unit = unit_settings(SYSTEMD / "pitrigger.service")
    assert set(unit["SupplementaryGroups"][0].split()) <= {"gpio", "plugdev"}
    tmpfiles = (SYSTEMD / "pitrigger.tmpfiles").read_text()
    assert "/var/lib/pitrigger 0750 pitrigger pitrigger" in tmpfiles
    rules = (DEBIAN / "rules").read_text()
    assert rules.index("dh_installsysusers") < rules.index("\tdh_installtmpfiles"), \
        "the user must exist before tmpfiles makes its directory"


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
    assert "ro" in args and "rw" not in args
    assert "\ndtparam=audio=on" not in "\n" + config_txt
    assert "dtparam=act_led_trigger=none" in config_txt and "dtoverlay=disable-bt" in config_txt
    assert "#dtoverlay=vc4-kms-v3d" in config_txt
    assert "systemctl disable ssh" in chroot and "systemctl enable ssh" not in chroot
    # Idempotent: a second run changes nothing.
    again, config_again, _ = run_headless(tmp_path / "again", cmdline, config_txt)
    assert again == cmdline and config_again == config_txt


def test_headless_debian_goes_through_raspi_firmware(tmp_path: Path) -> None:
    """On Debian, raspi-firmware's hook regenerates config.txt and cmdline.txt on every kernel
    update: the additions go where the hook reads them, and the hook runs again."""
    rootfs = tmp_path / "rootfs"
    hook = rootfs / "etc" / "kernel" / "postinst.d" / "z50-raspi-firmware"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\n")
    hook.chmod(0o755)
    (rootfs / "etc" / "default").mkdir(parents=True)
    (rootfs / "boot" / "firmware").mkdir(parents=True)
    record = tmp_path / "chroot.log"
    env = {**os.environ, "ROOTFS_DIR": str(rootfs), "ENABLE_SSH": "0",
           "BASH_FUNC_on_chroot%%": f"() {{ cat >> {record}; }}"}
    subprocess.run([str(STAGE / "02-headless" / "00-run.sh")], cwd=STAGE / "02-headless",
                   env=env, check=True)
    custom = (rootfs / "etc" / "default" / "raspi-firmware-custom").read_text()
    assert "disable_splash=1" in custom and "dtparam=audio=off" in custom
    extra = (rootfs / "etc" / "default" / "raspi-extra-cmdline").read_text().split()
    assert "overlayroot=tmpfs:recurse=0" in extra and "quiet" in extra
    assert "ro" in extra, "the hook writes rw; the lower layer must stay read-only"
    chroot = record.read_text()
    assert "DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware" in chroot
    masked = description()["units"]["mask"]
    assert all(unit in chroot for unit in masked), "masks come from image.toml"


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
