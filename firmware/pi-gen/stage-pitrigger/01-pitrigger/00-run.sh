#!/bin/bash
# pi-gen sub-stage, host side (cwd = this directory, ROOTFS_DIR = the image's root).
# Puts pitrigger's .deb into the image for 01-run-chroot.sh to install, and the files that
# firmware/image.toml lists (data-partition script and unit, journald and watchdog drop-ins,
# Wi-Fi switch, the default config on the boot partition). The same script serves pi-gen and
# firmware/build-image.sh: both read the one description.
#
# Environment:
#   PITRIGGER_SRC   pitrigger source tree (default: the repository this stage lives in)
#   PITRIGGER_DEB   the built package (default: build it with firmware/build-deb.sh)
set -euo pipefail

: "${ROOTFS_DIR:?ROOTFS_DIR must point at the image root}"
here="$(pwd)"
src="${PITRIGGER_SRC:-$(cd "${here}/../../../.." && pwd)}"
[ -f "${src}/firmware/image.toml" ] || { echo "pitrigger source not found at ${src}" >&2; exit 1; }
describe() { python3 "${src}/firmware/image.py" "$@"; }

deb="${PITRIGGER_DEB:-}"
if [ -z "${deb}" ]; then
	deb="$("${src}/firmware/build-deb.sh")"
fi
[ -f "${deb}" ] || { echo "no pitrigger .deb at ${deb}" >&2; exit 1; }
install -d -m 0755 "${ROOTFS_DIR}/var/cache/pitrigger"
install -m 0644 "${deb}" "${ROOTFS_DIR}/var/cache/pitrigger/"

# The description's files (root-owned: the root file system is read-only at run time).
describe files | while IFS=$'\t' read -r from to mode; do
	[ -f "${src}/${from}" ] || { echo "image.toml names a missing file: ${from}" >&2; exit 1; }
	install -D -m "${mode}" "${src}/${from}" "${ROOTFS_DIR}${to}"
done
# The units to enable, for the chroot side (which cannot read the source tree).
describe units enable >"${ROOTFS_DIR}/var/cache/pitrigger/units-enable"
