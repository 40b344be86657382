#!/usr/bin/env bash
# The GPIO path through a real kernel: boot the pi02 image as firmware/virt-image.sh lays it out for
# qemu-system-aarch64 -M virt with a qtest socket; the host presses the button on a line of
# the board's PL061 GPIO controller (contact bounce included) and reads the motor line, while
# the guest's daemon (default gpiod path, libgpiod v2 on the PL061's gpiochip) drives the
# virtual 5D Mark II running in the guest. Prints PASS/FAIL per check and a summary line;
# exit 0 when every check passed. Part of the slow firmware command, not of ./dev test.
#
#   firmware/gpio-test.sh [IMAGE]     (default firmware/build/pitrigger-virt.img)
#
# The product image is not modified: the test works on a sparse copy, where it sets the
# camera port and the two pins in /boot/firmware/pitrigger.toml (as a user would) and adds
# the TEST ONLY files from firmware/gpio-test/ (and the boot test's virtual camera unit).
# Environment: GPIO_TEST_TIMEOUT (seconds until the guest is ready, default 1500),
# GPIO_TEST_TOLERANCE_MS (pattern timing tolerance, default 50), NO_HOST_DEPS=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${here}/build"
img="${1:-${build}/pitrigger-virt.img}"
work="${build}/gpio-test"
# PL061 lines on QEMU virt: 3 is the power button (gpio-keys); 5 and 6 are free.
BUTTON_LINE=5
MOTOR_LINE=6
# shellcheck source=/dev/null # firmware/lib.sh, beside this script
. "${here}/lib.sh"
log() { printf '[gpio-test %s] %s\n' "$(date +%T)" "$*" >&2; }

main() {
	[ "${NO_HOST_DEPS:-0}" = 1 ] || qemu_host_deps
	[ -f "${img}" ] || { echo "no image at ${img}: run firmware/virt-image.sh" >&2; exit 1; }
	local kernel="${build}/vmlinuz" initrd="${build}/initrd.img"
	if [ ! -f "${kernel}" ] || [ ! -f "${initrd}" ]; then
		echo "no kernel/initrd in ${build}: run firmware/virt-image.sh" >&2
		exit 1
	fi
	rm -rf "${work}"
	mkdir -p "${work}"
	local test_img="${work}/test.img" boot_off root_off fat root cmdline
	cp --sparse=always "${img}" "${test_img}"
	boot_off="$(part_offset "${test_img}" 1)"
	root_off="$(part_offset "${test_img}" 2)"
	fat="${test_img}@@${boot_off}"
	root="${test_img}?offset=${root_off}"

	# The user's edits: the camera port (the virtual camera on loopback), the two pins
	# (PL061 line numbers here, BCM numbers on a Pi) and the idle hold ladder's actions.
	# Sources stay the defaults (gpiod).
	MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" ::pitrigger.toml "${work}/pitrigger.toml"
	# The idle ladder's actions are pinned, so the outcome the host checks does not move when a
	# default does: hold = status, long-hold = none (no tick at 3 s), very-long-hold =
	# power-off (ends the test).
	"${here}/set-config.py" "${work}/pitrigger.toml" camera.port='"ptpip:127.0.0.1:15740:15740"' \
		button.pin="${BUTTON_LINE}" haptics.pin="${MOTOR_LINE}" actions.idle.hold='"status"' \
		actions.idle.long-hold='"none"' actions.idle.very-long-hold='"power-off"'
	python3 - "${work}/pitrigger.toml" <<-'PY'
		import sys, tomllib
		parsed = tomllib.load(open(sys.argv[1], "rb"))
		assert parsed["button"].get("source", "gpiod") == "gpiod", "button source is not gpiod"
		assert parsed["haptics"].get("sink", "gpiod") == "gpiod", "haptic sink is not gpiod"
	PY
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "${fat}" "${work}/pitrigger.toml" ::pitrigger.toml

	debugfs -w -f - "${root}" >"${work}/debugfs.log" 2>&1 <<-EOF
		mkdir /etc/systemd/system/pitrigger.service.d
		write ${here}/gpio-test/pitrigger-gpio-test.conf /etc/systemd/system/pitrigger.service.d/gpio-test.conf
		write ${here}/boot-test/pitrigger-virtual-camera.service /etc/systemd/system/pitrigger-virtual-camera.service
		write ${here}/gpio-test/pitrigger-gpio-test.service /etc/systemd/system/pitrigger-gpio-test.service
		write ${here}/gpio-test/guest.sh /usr/local/sbin/pitrigger-gpio-test
		sif /usr/local/sbin/pitrigger-gpio-test mode 0100755
		symlink /etc/systemd/system/multi-user.target.wants/pitrigger-gpio-test.service /etc/systemd/system/pitrigger-gpio-test.service
	EOF
	if grep -qiE 'error|not found|could not' "${work}/debugfs.log"; then
		cat "${work}/debugfs.log" >&2
		exit 1
	fi

	# The kernel command line: the one prepared for -M virt next to the image if there is one
	# (console on the PL011), else the image's own cmdline.txt.
	if [ -f "${build}/cmdline.txt" ]; then
		cmdline="$(tr -d '\r\n' <"${build}/cmdline.txt")"
	else
		cmdline="$(MTOOLS_SKIP_CHECK=1 mtype -i "${fat}" ::cmdline.txt | tr -d '\r\n')"
	fi
	log "booting with a qtest socket: ${cmdline}"
	python3 "${here}/gpio-test/qtest_driver.py" --image "${test_img}" --kernel "${kernel}" \
		--initrd "${initrd}" --append "${cmdline}" --workdir "${work}" \
		--button-line "${BUTTON_LINE}" --motor-line "${MOTOR_LINE}" \
		--tolerance-ms "${GPIO_TEST_TOLERANCE_MS:-50}" --timeout "${GPIO_TEST_TIMEOUT:-1500}" \
		| tee "${work}/results.txt"
	local rc=${PIPESTATUS[0]}
	if [ "${rc}" -ne 0 ]; then
		log "console log: ${work}/console.log"
		grep -a 'PTGT log\|Traceback\|Error' "${work}/console.log" | tail -30 >&2 || true
	fi
	return "${rc}"
}

main "$@"
