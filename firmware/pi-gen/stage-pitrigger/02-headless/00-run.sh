#!/bin/bash
# pi-gen sub-stage, host side: a quiet, headless, read-only card.
#   - config.txt: activity LED, audio, Bluetooth and HDMI off (files/config-pitrigger.txt)
#   - kernel command line: quiet, no first-boot root resize (the free space becomes the data
#     partition), read-only root with a tmpfs overlay (overlayroot)
#   - the services firmware/image.toml [units] mask are masked; SSH only if ENABLE_SSH=1
# Raspberry Pi OS (pi-gen): config.txt and cmdline.txt are edited in place. Debian
# (build-image.sh): raspi-firmware's hooks regenerate both on every kernel update, so the
# additions go where those hooks read them (/etc/default/raspi-firmware-custom and
# raspi-extra-cmdline) and the hooks run again now.
set -euo pipefail

: "${ROOTFS_DIR:?ROOTFS_DIR must point at the image root}"
fw="${ROOTFS_DIR}/boot/firmware"
here="$(pwd)"
src="${PITRIGGER_SRC:-$(cd "${here}/../../../.." && pwd)}"
# overlayroot=tmpfs:recurse=0: only / is overlaid; /boot/firmware and the data partition
# stay real mounts. Delete it (from cmdline.txt) to change the root file system.
# ro: the lower layer stays read-only (raspi-firmware's hook writes "rw" earlier on the line;
# the last of ro/rw wins, in the kernel and in the initramfs alike).
extra_args=(ro quiet loglevel=3 "overlayroot=tmpfs:recurse=0")

if [ -x "${ROOTFS_DIR}/etc/kernel/postinst.d/z50-raspi-firmware" ]; then
	install -m 0644 files/config-pitrigger.txt "${ROOTFS_DIR}/etc/default/raspi-firmware-custom"
	echo "${extra_args[*]}" >"${ROOTFS_DIR}/etc/default/raspi-extra-cmdline"
	on_chroot <<-'CHROOT'
		kver="$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)"
		DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "${kver}" "/boot/vmlinuz-${kver}"
	CHROOT
else
	if [ -f "${fw}/config.txt" ] && ! grep -q '^# --- pitrigger' "${fw}/config.txt"; then
		sed -i -e 's/^dtparam=audio=on/#&/' -e 's/^dtoverlay=vc4-kms-v3d/#&/' \
			-e 's/^display_auto_detect=1/#&/' -e 's/^max_framebuffers=/#&/' "${fw}/config.txt"
		cat files/config-pitrigger.txt >>"${fw}/config.txt"
	fi
	if [ -f "${fw}/cmdline.txt" ]; then
		read -r -a args <"${fw}/cmdline.txt"
		kept=()
		for arg in "${args[@]}"; do
			case "${arg}" in
				console=tty1|resize|quiet|loglevel=*|overlayroot=*|init=*firstboot*|ro|rw) ;;
				*) kept+=("${arg}") ;;
			esac
		done
		kept+=("${extra_args[@]}")
		echo "${kept[*]}" >"${fw}/cmdline.txt"
	fi
fi

# shellcheck disable=SC2016 # expanded inside the chroot
on_chroot <<<"
for unit in $(python3 "${src}/firmware/image.py" units mask | paste -sd' '); do
	# Masking also covers units that do not exist in this image (a harmless /dev/null link).
	systemctl disable \"\${unit}\" >/dev/null 2>&1 || true
	systemctl mask \"\${unit}\" >/dev/null 2>&1
done"

# Last: mark /etc and /var as up to date with /usr (systemd-update-done), as a first boot on
# a writable root would. On the read-only root nothing would ever write the marks, and the
# ConditionNeedsUpdate= units (sysusers, hwdb, ldconfig, journal catalog) would run on every
# boot -- seconds each on a Pi Zero.
finish_marks() {
	on_chroot <<<'/usr/lib/systemd/systemd-update-done || /lib/systemd/systemd-update-done'
}

if [ "${ENABLE_SSH:-0}" = "1" ]; then
	on_chroot <<<'systemctl enable ssh'
else
	on_chroot <<<'systemctl disable ssh >/dev/null 2>&1 || true'
fi
finish_marks
