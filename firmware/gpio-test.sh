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
log() { printf '[gpio-test %s] %s\n' "$(date +%T)" "$*" >&2; }

host_deps() {
	local missing=()
	command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
	command -v mcopy >/dev/null || missing+=(mtools)
	command -v debugfs >/dev/null || missing+=(e2fsprogs)
	command -v sfdisk >/dev/null || missing+=(fdisk)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing host tools: ${missing[*]}"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	fi
}

part_offset() {
	sfdisk --json "$1" | python3 -c \
		"import json,sys; t=json.load(sys.stdin)['partitiontable']; p=t['partitions'][$2-1]; print(p['start']*t.get('sectorsize',512))"
}

main() {
	[ "${NO_HOST_DEPS:-0}" = 1 ] || host_deps
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
	python3 - "${work}/pitrigger.toml" "${BUTTON_LINE}" "${MOTOR_LINE}" <<-'PY'
		import re, sys, tomllib
		path, button, motor = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		# The ladder's actions in idle are pinned here, so the outcome the host checks does
		# not move when a default does: hold = status, long-hold = none (no tick at 3 s),
		# very-long-hold = power-off (ends the test).
		want = {("camera", "port"): '"ptpip:127.0.0.1:15740:15740"',
		        ("button", "pin"): str(button), ("haptics", "pin"): str(motor),
		        ("actions.idle", "hold"): '"status"', ("actions.idle", "long-hold"): '"none"',
		        ("actions.idle", "very-long-hold"): '"power-off"'}
		lines = open(path, encoding="utf-8").read().splitlines()
		for (section, key), value in want.items():
		    table, done, header = None, False, None
		    for i, line in enumerate(lines):
		        m = re.match(r"\s*\[([^\]]+)\]\s*(#.*)?$", line)
		        if m:
		            table = m.group(1).strip()
		            header = i if table == section else header
		        elif table == section and re.match(rf"\s*{key}\s*=", line):
		            lines[i], done = f"{key} = {value}", True
		            break
		    if not done:
		        if header is None:
		            lines += ["", f"[{section}]", f"{key} = {value}"]
		        else:
		            lines.insert(header + 1, f"{key} = {value}")
		text = "\n".join(lines) + "\n"
		parsed = tomllib.loads(text)
		assert parsed["button"]["pin"] == button and parsed["haptics"]["pin"] == motor
		assert parsed["actions"]["idle"]["long-hold"] == "none"
		assert parsed["button"].get("source", "gpiod") == "gpiod", "button source is not gpiod"
		assert parsed["haptics"].get("sink", "gpiod") == "gpiod", "haptic sink is not gpiod"
		open(path, "w", encoding="utf-8").write(text)
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
