#!/usr/bin/env bash
# The arm64 card image (board pi02, Debian's linux-image-arm64) prepared for QEMU's generic
# -M virt board, for tests that need what the emulated Pi boards lack (GPIO inputs driven from
# the host over qtest: firmware/gpio-test.sh). The same kernel boots both.
#
#   firmware/virt-image.sh
#   -> firmware/build/pitrigger-virt.img   sparse copy of the pi02 image (power-of-two size)
#      firmware/build/vmlinuz, initrd.img  the kernel and initrd from its FAT partition
#      firmware/build/cmdline.txt          its cmdline.txt with the console on ttyAMA0 (PL011)
#
# Boot: qemu-system-aarch64 -M virt -cpu cortex-a53 -m 512 -kernel firmware/build/vmlinuz
#   -initrd firmware/build/initrd.img -append "$(cat firmware/build/cmdline.txt)"
#   -drive if=none,file=firmware/build/pitrigger-virt.img,format=raw,id=sd
#   -device virtio-blk-device,drive=sd   (the root is found by label, RASPIROOT)
#
# Environment: EXTRA_PACKAGES (apt packages for this image only; then the image is built as
# pitrigger-pi02-virt.img and the product image is left alone), NO_BUILD=1 (use the pi02
# image already built), and build-image.sh's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${here}/build"
suffix=""
[ -z "${EXTRA_PACKAGES:-}" ] || suffix="-virt"
if [ "${NO_BUILD:-0}" != 1 ]; then
	IMAGE_SUFFIX="${suffix}" "${here}/build-image.sh" pi02 >&2
fi
src="${build}/pitrigger-pi02${suffix}.img"
[ -f "${src}" ] || { echo "no image at ${src}: run firmware/build-image.sh pi02" >&2; exit 1; }

img="${build}/pitrigger-virt.img"
cp --sparse=always "${src}" "${img}"
size="$(stat -c %s "${img}")"
pow=1
while [ "${pow}" -lt $((size + 256 * 1024 * 1024)) ]; do pow=$((pow * 2)); done
truncate -s "${pow}" "${img}"

offset="$(sfdisk --json "${img}" | python3 -c \
	"import json,sys; t=json.load(sys.stdin)['partitiontable']; print(t['partitions'][0]['start']*512)")"
fat="${img}@@${offset}"
value() { MTOOLS_SKIP_CHECK=1 mtype -i "${fat}" ::config.txt | tr -d '\r' | sed -n "s/^$1[ =]\([^ ]*\).*/\1/p" | tail -1; }
MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" "::$(value kernel)" "${build}/vmlinuz"
MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" "::$(value initramfs)" "${build}/initrd.img"
echo "$(MTOOLS_SKIP_CHECK=1 mtype -i "${fat}" ::cmdline.txt | tr -d '\r\n') console=ttyAMA0,115200" \
	>"${build}/cmdline.txt"
echo "${img}"
