#!/usr/bin/env bash
# Boot the image that build-offline.sh made in qemu-system-aarch64 -M virt and check, inside
# the guest, that pitrigger.service is active with its config read from the FAT partition,
# that it reaches `ready` against the virtual 5D Mark II with the libgphoto2 the image ships,
# and that a frozen daemon is restarted by the watchdog. Prints one summary line; exit 0 when
# every check passed.
#
#   firmware/boot-test.sh [IMAGE]     (default firmware/build/pitrigger-virt.img)
#
# The product image is not modified: the test works on a sparse copy, where it sets the
# camera port in /boot/firmware/pitrigger.toml (as a user would) and adds the TEST ONLY files
# from firmware/boot-test/ to the root file system (debugfs, no loop mounts).
# Environment: BOOT_TEST_TIMEOUT (seconds, default 1200), NO_HOST_DEPS=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${here}/build"
img="${1:-${build}/pitrigger-virt.img}"
timeout_s="${BOOT_TEST_TIMEOUT:-1200}"
work="${build}/boot-test"
log() { printf '[boot-test %s] %s\n' "$(date +%T)" "$*" >&2; }

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

# Byte offset of partition N of the image.
part_offset() {
	sfdisk --json "$1" | python3 -c \
		"import json,sys; t=json.load(sys.stdin)['partitiontable']; p=t['partitions'][$2-1]; print(p['start']*t.get('sectorsize',512))"
}

main() {
	[ "${NO_HOST_DEPS:-0}" = 1 ] || host_deps
	[ -f "${img}" ] || { echo "no image at ${img}: run firmware/build-offline.sh" >&2; exit 1; }
	local kernel="${build}/vmlinuz" initrd="${build}/initrd.img"
	if [ ! -f "${kernel}" ] || [ ! -f "${initrd}" ]; then
		echo "no kernel/initrd in ${build}: run firmware/build-offline.sh" >&2
		exit 1
	fi
	rm -rf "${work}"
	mkdir -p "${work}"
	local test_img="${work}/test.img" boot_off root_off fat root cmdline t0
	cp --sparse=always "${img}" "${test_img}"
	boot_off="$(part_offset "${test_img}" 1)"
	root_off="$(part_offset "${test_img}" 2)"
	fat="${test_img}@@${boot_off}"
	root="${test_img}?offset=${root_off}"

	# The user's one edit: point [camera] port at the virtual camera on loopback. And, for
	# this test only, the button and motor on gpiozero's mock pins (boot-test.conf): virt has
	# no Raspberry Pi GPIO (firmware/gpio-test.sh drives the default gpiod path on its PL061).
	MTOOLS_SKIP_CHECK=1 mcopy -n -i "${fat}" ::pitrigger.toml "${work}/pitrigger.toml"
	python3 - "${work}/pitrigger.toml" <<-'PY'
		import re, sys, tomllib
		path = sys.argv[1]
		want = {("camera", "port"): "ptpip:127.0.0.1:15740:15740",
		        ("button", "source"): "gpio", ("haptics", "sink"): "gpio"}
		lines = open(path, encoding="utf-8").read().splitlines()
		for (section, key), value in want.items():
		    table, done, header = None, False, None
		    for i, line in enumerate(lines):
		        m = re.match(r"\s*\[([^\]]+)\]\s*(#.*)?$", line)
		        if m:
		            table = m.group(1).strip()
		            header = i if table == section else header
		        elif table == section and re.match(rf"\s*{key}\s*=", line):
		            lines[i], done = f'{key} = "{value}"', True
		            break
		    if not done:
		        if header is None:
		            lines += ["", f"[{section}]", f'{key} = "{value}"']
		        else:
		            lines.insert(header + 1, f'{key} = "{value}"')
		text = "\n".join(lines) + "\n"
		parsed = tomllib.loads(text)
		for (section, key), value in want.items():
		    assert parsed[section][key] == value, f"{section}.{key} not set"
		open(path, "w", encoding="utf-8").write(text)
	PY
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "${fat}" "${work}/pitrigger.toml" ::pitrigger.toml

	# TEST ONLY files into the root file system of the copy.
	debugfs -w -f - "${root}" >"${work}/debugfs.log" 2>&1 <<-EOF
		mkdir /etc/systemd/system/pitrigger.service.d
		write ${here}/boot-test/pitrigger-boot-test.conf /etc/systemd/system/pitrigger.service.d/boot-test.conf
		write ${here}/boot-test/pitrigger-virtual-camera.service /etc/systemd/system/pitrigger-virtual-camera.service
		write ${here}/boot-test/pitrigger-boot-test.service /etc/systemd/system/pitrigger-boot-test.service
		write ${here}/boot-test/guest-check.sh /usr/local/sbin/pitrigger-boot-test
		sif /usr/local/sbin/pitrigger-boot-test mode 0100755
		symlink /etc/systemd/system/multi-user.target.wants/pitrigger-boot-test.service /etc/systemd/system/pitrigger-boot-test.service
	EOF
	if grep -qiE 'error|not found|could not' "${work}/debugfs.log"; then
		cat "${work}/debugfs.log" >&2
		exit 1
	fi

	# The kernel command line is the image's own cmdline.txt (serial console on ttyAMA0).
	cmdline="$(MTOOLS_SKIP_CHECK=1 mtype -i "${fat}" ::cmdline.txt | tr -d '\r\n')"
	log "booting (timeout ${timeout_s} s): ${cmdline}"
	t0=${SECONDS}
	local rc=0
	timeout "${timeout_s}" qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 2 -m 1024 \
		-display none -monitor none -serial "file:${work}/console.log" -no-reboot \
		-kernel "${kernel}" -initrd "${initrd}" -append "${cmdline}" \
		-drive "if=none,file=${test_img},format=raw,id=sd" -device virtio-blk-device,drive=sd \
		-device virtio-rng-device -nic none </dev/null || rc=$?
	local wall=$((SECONDS - t0))
	grep -a '^PTBT ' "${work}/console.log" | tr -d '\r' >"${work}/results.txt" || true
	sed 's/^/  /' "${work}/results.txt" >&2

	local summary status=PASS poweroff=no
	get() { sed -n "s/^PTBT $1 $2 .*$3=\([^ ]*\).*/\1/p" "${work}/results.txt" | head -1; }
	if grep -q '^PTBT done fail=0' "${work}/results.txt" && [ "${rc}" -eq 0 ]; then
		poweroff=ok
	fi
	if ! grep -q '^PTBT done fail=0' "${work}/results.txt" || grep -q '^PTBT FAIL' "${work}/results.txt" \
		|| [ "${poweroff}" != ok ]; then
		status=FAIL
	fi
	val() { sed -n "s/^PTBT .* $1=\([^ ]*\).*/\1/p" "${work}/results.txt" | head -1; }
	summary="boot-test ${status}: READY=1 at $(val ready_notified_at)"
	summary+=", haptic ready at $(val haptic_ready_at) after kernel start"
	summary+=", config from FAT $(grep -q '^PTBT ok config-from-fat' "${work}/results.txt" && echo yes || echo NO)"
	summary+=", watchdog restart to ready $(val seconds) s"
	summary+=", libgphoto2 $(val libgphoto2)"
	summary+=", power-off path ${poweroff}, qemu wall ${wall} s (rc ${rc})"
	if [ "${status}" != PASS ]; then
		summary+=", failed: $(sed -n 's/^PTBT FAIL \([^ ]*\).*/\1/p' "${work}/results.txt" | paste -sd, -)"
	fi
	echo "${summary}"
	if [ "${status}" != PASS ]; then
		log "console log: ${work}/console.log"
		tail -40 "${work}/console.log" >&2 || true
		exit 1
	fi
}

main "$@"
