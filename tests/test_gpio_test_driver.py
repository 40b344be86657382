"""The host side of firmware/gpio-test.sh: its parsing and its reading of the motor line.

The QEMU run itself is slow and lives in the firmware command; these check the pieces that
decide PASS or FAIL there, on recorded shapes of QEMU's output.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
spec = importlib.util.spec_from_file_location("qtest_driver",
                                              FIRMWARE / "gpio-test" / "qtest_driver.py")
assert spec is not None and spec.loader is not None
driver = importlib.util.module_from_spec(spec)
sys.modules["qtest_driver"] = driver
spec.loader.exec_module(driver)

# `info qom-tree` on qemu-system-aarch64 7.2 -M virt (abridged).
QOM_TREE = """\
/machine (virt-7.2-machine)
  /fw_cfg (fw_cfg_mem)
  /peripheral (container)
  /unattached (container)
    /device[0] (cortex-a57-arm-cpu)
      /unnamed-gpio-in[0] (irq)
    /device[6] (pl031)
      /pl031[0] (memory-region)
    /device[7] (pl061)
      /pl061[0] (memory-region)
      /unnamed-gpio-in[5] (irq)
"""


def test_find_pl061_gives_the_full_qom_path() -> None:
    assert driver.find_pl061(QOM_TREE) == "/machine/unattached/device[7]"
    with pytest.raises(RuntimeError, match="no pl061"):
        driver.find_pl061(QOM_TREE.replace("(pl061)", "(pl011)"))


def test_pulses_and_steps_read_a_pattern_off_the_line() -> None:
    # `ready` (100 on, 120 off, 100 on) on line 6, a stray level on line 2, and a
    # repeated "raise" (QEMU reports every write, even of the same level).
    irqs = [(10.000, 6, 1), (10.050, 2, 1), (10.101, 6, 0), (10.221, 6, 1),
            (10.230, 6, 1), (10.322, 6, 0)]
    found = driver.pulses(irqs, 6)
    assert found == [(10.000, 10.101), (10.221, 10.322)]
    steps = driver.steps_of(found)
    assert [round(s) for s in steps] == [101, 120, 101]
    checks = driver.Checks()
    assert checks.shape("ready", steps, [100, 120, 100])
    assert checks.timings == [("ready", pytest.approx(1.0, abs=0.01))]  # measured, printed
    assert not checks.shape("ready", steps[:1], [100, 120, 100])  # a pulse missing: fails
    assert driver.pulses(irqs, 6, since=10.2) == [(10.221, 10.322)]


def test_guest_script_and_units_are_valid() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck missing")
    subprocess.run(["shellcheck", str(FIRMWARE / "gpio-test.sh"),
                    str(FIRMWARE / "gpio-test" / "guest.sh")], check=True)
    unit = (FIRMWARE / "gpio-test" / "pitrigger-gpio-test.service").read_text()
    assert "ExecStart=/usr/local/sbin/pitrigger-gpio-test" in unit
    dropin = (FIRMWARE / "gpio-test" / "pitrigger-gpio-test.conf").read_text()
    assert "GPIOZERO" not in dropin  # the point: the default gpiod path, not mock pins
