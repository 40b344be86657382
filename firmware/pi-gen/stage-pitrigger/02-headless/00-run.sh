#!/bin/bash
# pi-gen sub-stage, host side: a quiet, headless, read-only card.
#   - config.txt: activity LED, audio, Bluetooth and HDMI off (files/config-pitrigger.txt)
#   - cmdline.txt: quiet, no first-boot root resize (the free space becomes the data
#     partition), read-only root with a tmpfs overlay (overlayroot)
#   - services a strap remote does not need are disabled; SSH only if ENABLE_SSH=1
set -euo pipefail

: "${ROOTFS_DIR:?ROOTFS_DIR must point at the image root}"
fw="${ROOTFS_DIR}/boot/firmware"

if [ -f "${fw}/config.txt" ] && ! grep -q '^# --- pitrigger' "${fw}/config.txt"; then
	sed -i -e 's/^dtparam=audio=on/#&/' -e 's/^dtoverlay=vc4-kms-v3d/#&/' \
		-e 's/^display_auto_detect=1/#&/' -e 's/^max_framebuffers=/#&/' "${fw}/config.txt"
	cat files/config-pitrigger.txt >> "${fw}/config.txt"
fi

if [ -f "${fw}/cmdline.txt" ]; then
	read -r -a args < "${fw}/cmdline.txt"
	kept=()
	for arg in "${args[@]}"; do
		case "${arg}" in
			console=tty1|resize|quiet|loglevel=*|overlayroot=*|init=*firstboot*) ;;
			*) kept+=("${arg}") ;;
		esac
	done
	# overlayroot=tmpfs:recurse=0: only / is overlaid; /boot/firmware and the data
	# partition stay real mounts. Delete it (on the FAT partition) to change the root.
	kept+=(quiet loglevel=3 "overlayroot=tmpfs:recurse=0")
	echo "${kept[*]}" > "${fw}/cmdline.txt"
fi

on_chroot <<'CHROOT'
set -e
for unit in rpi-resize.service rpi-resize-swap-file.service dphys-swapfile.service \
	rpi-swap.service systemd-zram-setup@zram0.service \
	avahi-daemon.service avahi-daemon.socket bluetooth.service hciuart.service \
	ModemManager.service triggerhappy.service triggerhappy.socket \
	NetworkManager-wait-online.service systemd-networkd-wait-online.service \
	apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
	rpi-eeprom-update.service userconfig.service; do
	# Masking also covers units that do not exist in this image (a harmless /dev/null link).
	systemctl disable "${unit}" >/dev/null 2>&1 || true
	systemctl mask "${unit}" >/dev/null 2>&1
done
CHROOT

if [ "${ENABLE_SSH:-0}" = "1" ]; then
	on_chroot <<<'systemctl enable ssh'
else
	on_chroot <<<'systemctl disable ssh >/dev/null 2>&1 || true'
fi
