#!/bin/bash
# pi-gen sub-stage, inside the image (fed to on_chroot on stdin): install pitrigger's .deb
# (its dependencies come from the image's archive: Debian, or Raspberry Pi OS under pi-gen),
# check it, enable the units firmware/image.toml lists.
set -euo pipefail

apt-get install -y -q --no-install-recommends /var/cache/pitrigger/pitrigger_*.deb >/dev/null

# Fail the build, not the boot, when a dependency is missing or too old.
python3 - <<'PY'
import gphoto2
import gpiod
import pydantic

import pitrigger.cli

assert int(pydantic.VERSION.split(".")[0]) >= 2, f"pydantic {pydantic.VERSION} < 2"
assert int(gpiod.__version__.split(".")[0]) >= 2, f"libgpiod bindings {gpiod.__version__} < 2"
print("pitrigger ok: gphoto2", gphoto2.__version__, "libgphoto2",
      gphoto2.gp_library_version(gphoto2.GP_VERSION_SHORT)[0], "pydantic", pydantic.VERSION,
      "gpiod", gpiod.__version__)
PY
pitrigger check-config /boot/firmware/pitrigger.toml

# shellcheck disable=SC2046 # one unit name per line
systemctl enable $(cat /var/cache/pitrigger/units-enable)
rm -rf /var/cache/pitrigger
