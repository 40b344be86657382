#!/usr/bin/env bash
# Boot a card image built by build-image.sh on QEMU's emulation of its Raspberry Pi board,
# twice (a first boot, then a later boot of the same card), and check inside the guest:
#   config-from-fat     the daemon read /boot/firmware/pitrigger.toml from the FAT partition
#   ready               the service reached `ready` against the virtual 5D Mark II in the guest
#   read-only-root      / is an overlay on a read-only lower layer
#   data-partition      PTDATA made on first boot, mounted at /var/lib/pitrigger, kept
#   watchdog-restart    systemd restarts a SIGSTOPped daemon through WatchdogSec= (boot 1)
#   power-off-gesture   a very long hold powers the board off (each boot)
# and prints one summary line naming every check, with the times to `ready` and
# `systemd-analyze critical-chain pitrigger.service` of each boot.
#
#   firmware/boot-test.sh BOARD [IMAGE]     BOARD: pi0 (raspi0) | pi02 (raspi3ap)
#                                           | virt (the pi02 image on -M virt)
#
# The kernel, initrd and device tree are taken from the image's own FAT partition (QEMU does
# not run the Pi's GPU firmware, which would load them on a real board). The board's hardware
# watchdog stays off in the emulated run: QEMU's Pi boards reset the instant it is opened.
# The image is not modified: the test works on a sparse copy (grown to a power-of-two size,
# as QEMU's SD card needs), where it edits pitrigger.toml on the FAT partition (camera port,
# terminal button and motor) and adds the TEST ONLY files of firmware/boot-test/ to the root
# file system with debugfs (no loop mounts).
# Environment: BOOT_TEST_TIMEOUT (seconds per boot, default 1500), BOOTS (default 2),
# BOOT_TEST_APPEND (more kernel arguments, e.g. systemd.show_status=true to watch start-up and
# shutdown on the console), NO_HOST_DEPS=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${here}/build"
desc() { python3 "${here}/image.py" "$@"; }
board="${1:?usage: boot-test.sh BOARD [IMAGE] (BOARD: $(desc boards | paste -sd' ') virt)}"
image_board="${board}"
[ "${board}" = virt ] && image_board=pi02
img="${2:-${build}/pitrigger-${image_board}.img}"
timeout_s="${BOOT_TEST_TIMEOUT:-1500}"
boots="${BOOTS:-2}"
work="${build}/boot-test-${board}"
# shellcheck source=/dev/null # firmware/lib.sh, beside this script
. "${here}/lib.sh"
log() { printf '[boot-test %s %s] %s\n' "${board}" "$(date +%T)" "$*" >&2; }

# The test's pitrigger.toml: the user's one edit (camera port: the virtual camera on
# loopback) plus the test's button and motor (terminal: no GPIO inputs on emulated boards).
edit_config() {
	"${here}/set-config.py" "$1" camera.port='"ptpip:127.0.0.1:15740:15740"' \
		button.source='"terminal"' haptics.sink='"terminal"'
}

# config.txt's value for KEY (kernel=, initramfs FILE followed_kernel).
config_value() {
	MTOOLS_SKIP_CHECK=1 mtype -i "${fat}" ::config.txt | tr -d '\r' \
		| sed -n "s/^$1[ =]\([^ ]*\).*/\1/p" | tail -1
}

prepare() {
	rm -rf "${work}"
	mkdir -p "${work}"
	local size pow=1 boot_off root_off
	test_img="${work}/card.img"
	cp --sparse=always "${img}" "${test_img}"
	# QEMU's SD card wants a power-of-two size; the rest is the data partition's free space.
	size="$(stat -c %s "${test_img}")"
	while [ "${pow}" -lt "${size}" ] || [ "${pow}" -lt $((size + 256 * 1024 * 1024)) ]; do
		pow=$((pow * 2))
	done
	truncate -s "${pow}" "${test_img}"
	boot_off="$(part_offset "${test_img}" 1)"
	root_off="$(part_offset "${test_img}" 2)"
	fat="${test_img}@@${boot_off}"
	local root="${test_img}?offset=${root_off}"

	MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" ::pitrigger.toml "${work}/pitrigger.toml"
	edit_config "${work}/pitrigger.toml"
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "${fat}" "${work}/pitrigger.toml" ::pitrigger.toml

	# Kernel, initrd, DTB and command line: the image's own, from its FAT partition.
	local kernel_file initrd_file dtb
	kernel_file="$(config_value kernel)"
	initrd_file="$(config_value initramfs)"
	dtb="$(desc board "${image_board}" dtb)"
	if [ -z "${kernel_file}" ] || [ -z "${initrd_file}" ]; then
		echo "config.txt on the FAT partition names no kernel= / initramfs" >&2
		exit 1
	fi
	MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" "::${kernel_file}" "${work}/kernel"
	MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" "::${initrd_file}" "${work}/initrd"
	MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" "::${dtb}" "${work}/dtb"
	cmdline="$(MTOOLS_SKIP_CHECK=1 mtype -i "${fat}" ::cmdline.txt | tr -d '\r\n')"
	log "from the FAT partition: ${kernel_file}, ${initrd_file}, ${dtb}"

	# TEST ONLY files into the root file system of the copy.
	local wd=""
	[ "${board}" = virt ] || wd="write ${here}/boot-test/no-hardware-watchdog.conf /etc/systemd/system.conf.d/90-boot-test-no-hardware-watchdog.conf"
	debugfs -w -f - "${root}" >"${work}/debugfs.log" 2>&1 <<-EOF
		mkdir /etc/systemd/system/pitrigger.service.d
		write ${here}/boot-test/pitrigger-boot-test.conf /etc/systemd/system/pitrigger.service.d/boot-test.conf
		write ${here}/boot-test/pitrigger-virtual-camera.service /etc/systemd/system/pitrigger-virtual-camera.service
		write ${here}/boot-test/pitrigger-boot-test.service /etc/systemd/system/pitrigger-boot-test.service
		write ${here}/boot-test/guest-check.sh /usr/local/sbin/pitrigger-boot-test
		sif /usr/local/sbin/pitrigger-boot-test mode 0100755
		symlink /etc/systemd/system/multi-user.target.wants/pitrigger-boot-test.service /etc/systemd/system/pitrigger-boot-test.service
		${wd}
	EOF
	if grep -qiE 'error|not found|could not' "${work}/debugfs.log"; then
		cat "${work}/debugfs.log" >&2
		exit 1
	fi
}

# run_qemu N: boot the copy once; the guest powers itself off at the end.
run_qemu() {
	local n="$1" append rc=0 t0=${SECONDS}
	local -a qemu
	read -r -a qemu <<<"$(desc board "${image_board}" qemu)"
	append="${cmdline} $(desc board "${image_board}" qemu_append) ${BOOT_TEST_APPEND:-}"
	if [ "${board}" = virt ]; then
		# The same image on QEMU's generic arm64 board: virtio disk, PL011 console.
		# shellcheck disable=SC2054 # -drive takes one comma-separated argument
		qemu=(qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 2 -m 512
			-drive "if=none,file=${test_img},format=raw,id=sd" -device virtio-blk-device,drive=sd
			-device virtio-rng-device -serial "file:${work}/console-${n}.log" -serial null)
		append="${append} console=ttyAMA0,115200"
	else
		# UART0 (PL011) first, then the mini UART (ttyS1: the GPIO header's console).
		qemu+=(-drive "if=sd,file=${test_img},format=raw" -dtb "${work}/dtb"
			-serial "file:${work}/uart0-${n}.log" -serial "file:${work}/console-${n}.log")
	fi
	log "boot ${n} (timeout ${timeout_s} s): ${qemu[*]:0:3} ... -append '${append}'"
	timeout "${timeout_s}" "${qemu[@]}" -display none -monitor none -no-reboot -nic none \
		-kernel "${work}/kernel" -initrd "${work}/initrd" -append "${append}" \
		</dev/null >"${work}/qemu-${n}.log" 2>&1 || rc=$?
	wall[n]=$((SECONDS - t0))
	qemu_rc[n]=${rc}
	cat "${work}"/console-"${n}".log "${work}"/uart0-"${n}".log 2>/dev/null | tr -d '\r' \
		| grep -ao 'PTBT .*' | awk '!seen[$0]++' >"${work}/results-${n}.txt" || true
	# (grep -o: a getty prompt may precede a line; awk: the journal echoes each line once more)
	log "boot ${n}: qemu exit ${rc} after ${wall[n]} s"
	grep -v '^PTBT \(log\|chain\)' "${work}/results-${n}.txt" | sed 's/^/  /' >&2
}

main() {
	[ "${NO_HOST_DEPS:-0}" = 1 ] || qemu_host_deps
	[ -f "${img}" ] || { echo "no image at ${img}: run firmware/build-image.sh ${image_board}" >&2; exit 1; }
	declare -ga wall=() qemu_rc=()
	prepare
	local n
	for n in $(seq "${boots}"); do
		run_qemu "${n}"
	done

	# One verdict per check, over every boot.
	local all
	all="$(cat "${work}"/results-*.txt)"
	verdict() { # verdict NAME BOOTS...: ok when every named boot reported "ok NAME"
		local name="$1" b
		shift
		for b in "$@"; do
			grep -q "^PTBT ok ${name}\b" "${work}/results-${b}.txt" 2>/dev/null || { echo FAIL; return; }
			! grep -q "^PTBT FAIL ${name}\b" "${work}/results-${b}.txt" || { echo FAIL; return; }
		done
		echo ok
	}
	local every=() b
	for b in $(seq "${boots}"); do every+=("${b}"); done
	local poweroff=ok
	for b in "${every[@]}"; do
		# Powered off by the gesture: the cue played, the guest said done, QEMU ended by itself.
		if [ "$(verdict power-off-cue "${b}")" != ok ] || [ "${qemu_rc[b]}" -ne 0 ] \
			|| ! grep -q "^PTBT done boot=${b} " "${work}/results-${b}.txt"; then
			poweroff=FAIL
		fi
	done
	val() { sed -n "s/^PTBT info times boot=$1 .*$2=\([^ ]*\).*/\1/p" <<<"${all}" | head -1; }
	local summary status=PASS checks=() c v
	for c in config-from-fat ready read-only-root data-partition unprivileged; do
		v="$(verdict "${c}" "${every[@]}")"
		checks+=("${c} ${v}")
	done
	v="$(verdict watchdog-restart 1)"
	checks+=("watchdog-restart ${v} ($(sed -n 's/^PTBT ok watchdog-restart .*seconds=\([^ ]*\).*/\1/p' <<<"${all}" | head -1) s)")
	checks+=("power-off-gesture ${poweroff}")
	for c in "${checks[@]}"; do
		[[ "${c}" == *" ok"* ]] || status=FAIL
	done
	local times=""
	for b in "${every[@]}"; do
		times+="; boot ${b}: userspace $(val "${b}" userspace_at), READY=1 $(val "${b}" ready_notified_at), buzz 'ready' $(val "${b}" haptic_ready_at), qemu wall ${wall[b]} s"
	done
	summary="boot-test ${board} ${status}: $(printf '%s, ' "${checks[@]}")"
	summary="${summary%, }${times}"
	summary+="; hardware watchdog off in emulation"
	for b in "${every[@]}"; do
		echo "critical-chain pitrigger.service, ${board} boot ${b}:"
		sed -n 's/^PTBT chain /  /p' "${work}/results-${b}.txt"
	done
	echo "${summary}"
	if [ "${status}" != PASS ]; then
		log "console logs: ${work}/console-*.log"
		grep -h '^PTBT \(FAIL\|log\)' "${work}"/results-*.txt | tail -60 >&2 || true
		exit 1
	fi
}

main "$@"
