#!/bin/bash
# pi-gen sub-stage, host side (cwd = this directory, ROOTFS_DIR = the image's root).
# Builds the pitrigger wheel from the source tree and installs the units, udev rule, data
# partition script and default config into the image. 01-run-chroot.sh does the rest inside.
#
# Environment:
#   PITRIGGER_SRC      pitrigger source tree (default: the repository this stage lives in)
#   PITRIGGER_PYTHON   host python with pip, used to build the wheel (default: python3)
#   GPIOZERO_VERSION   gpiozero wheel put into the venv (default 2.0.1; Debian has only 1.6)
set -euo pipefail

: "${ROOTFS_DIR:?ROOTFS_DIR must point at the image root}"
here="$(pwd)"
src="${PITRIGGER_SRC:-$(cd "${here}/../../../.." && pwd)}"
python="${PITRIGGER_PYTHON:-python3}"
gpiozero_version="${GPIOZERO_VERSION:-2.0.1}"

[ -f "${src}/pyproject.toml" ] || { echo "pitrigger source not found at ${src}" >&2; exit 1; }
default_config="${src}/pitrigger/default.toml"
[ -f "${default_config}" ] || { echo "missing ${default_config}" >&2; exit 1; }

# Wheels for the venv: pitrigger itself and gpiozero 2.x (pure Python; apt's python3-gpiozero
# is 1.6 on Debian trixie). Everything else comes from apt through --system-site-packages.
wheels="${ROOTFS_DIR}/var/cache/pitrigger-wheels"
rm -rf "${wheels}"
mkdir -p "${wheels}"
"${python}" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "${wheels}" "${src}"
"${python}" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	-d "${wheels}" "gpiozero==${gpiozero_version}"

# Units (root-owned, read-only root file system).
install -d -m 0755 "${ROOTFS_DIR}/etc/systemd/system"
for unit in "${src}"/systemd/*.service "${src}"/systemd/*.path; do
	install -m 0644 "${unit}" "${ROOTFS_DIR}/etc/systemd/system/"
done
install -D -m 0644 files/journald-pitrigger.conf \
	"${ROOTFS_DIR}/etc/systemd/journald.conf.d/50-pitrigger.conf"
install -D -m 0644 files/system-watchdog.conf \
	"${ROOTFS_DIR}/etc/systemd/system.conf.d/50-pitrigger-watchdog.conf"
install -D -m 0644 files/60-pitrigger.rules "${ROOTFS_DIR}/etc/udev/rules.d/60-pitrigger.rules"
install -D -m 0755 files/pitrigger-data-partition \
	"${ROOTFS_DIR}/usr/local/sbin/pitrigger-data-partition"

# The one file the user edits, on the FAT boot partition.
install -d -m 0755 "${ROOTFS_DIR}/boot/firmware"
install -m 0644 "${default_config}" "${ROOTFS_DIR}/boot/firmware/pitrigger.toml"

# Docs next to the code (the unit's Documentation=).
if [ -f "${src}/docs/firmware.md" ]; then
	install -D -m 0644 "${src}/docs/firmware.md" "${ROOTFS_DIR}/opt/pitrigger/share/firmware.md"
fi
