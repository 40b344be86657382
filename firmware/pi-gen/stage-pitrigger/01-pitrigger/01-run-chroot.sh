#!/bin/bash
# pi-gen sub-stage, inside the image (fed to on_chroot on stdin).
set -euo pipefail

# A dedicated user for the daemon, in gpio (/dev/gpiochip*) and plugdev (the camera's USB
# device node). Raspberry Pi OS has both groups; plain Debian lacks gpio.
groupadd -f -r gpio
groupadd -f -r plugdev
if ! id pitrigger >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /var/lib/pitrigger \
		--shell /usr/sbin/nologin --groups gpio,plugdev pitrigger
fi
install -d -o pitrigger -g pitrigger -m 0750 /var/lib/pitrigger

# The venv: pitrigger + gpiozero 2 from wheels; gphoto2, pydantic 2, lgpio (on the Pi) from
# apt through the system site packages. Byte-compiled now: the root file system is read-only.
# No pip inside the venv (it is not needed at run time, and installing it costs minutes under
# emulation): pip runs from Debian's wheel instead.
rm -rf /opt/pitrigger/venv
python3 -m venv --without-pip --system-site-packages /opt/pitrigger/venv
pip_wheel="$(find /usr/share/python-wheels -name 'pip-*.whl' | sort -V | tail -1)"
/opt/pitrigger/venv/bin/python "${pip_wheel}/pip" install --quiet --disable-pip-version-check \
	--no-index --no-deps --no-cache-dir /var/cache/pitrigger-wheels/*.whl
rm -rf /var/cache/pitrigger-wheels

# Fail the build, not the boot, when a dependency is missing or too old.
/opt/pitrigger/venv/bin/python - <<'PY'
import gphoto2
import gpiozero
import pydantic

import pitrigger.cli

def major(version: str) -> int:
    return int(version.split(".")[0])

assert major(pydantic.VERSION) >= 2, f"pydantic {pydantic.VERSION} < 2"
assert major(gpiozero.__version__) >= 2 if hasattr(gpiozero, "__version__") else True
print("pitrigger venv ok: gphoto2", gphoto2.__version__, "libgphoto2",
      gphoto2.gp_library_version(gphoto2.GP_VERSION_SHORT)[0], "pydantic", pydantic.VERSION)
PY
/opt/pitrigger/venv/bin/pitrigger check-config /boot/firmware/pitrigger.toml

systemctl enable pitrigger.service pitrigger-poweroff.path pitrigger-data-partition.service
