#!/usr/bin/env bash
# The slow firmware check (not part of ./dev test): every build and boot test, from a clean
# clone, as root. Host tools are installed with apt. Prints one PASS/FAIL line per step that
# names its checks, the times, and ends with an overall verdict (exit 0 only if all passed).
#
#   firmware/build-and-boot-test.sh [BOARD...]     default: every board in firmware/image.toml
#
#   1. the .deb (build-deb.sh) and its install test in a clean Debian trixie chroot
#   2. each board's image (build-image.sh)
#   3. the release artifacts (release.sh: img.xz, .sha256, .bmap, .deb, Imager JSON)
#   4. each board's boot test, two boots (boot-test.sh) on QEMU's emulation of the board
#   5. firmware/gpio-test.sh when present (GPIO end to end on -M virt, from the gpio work)
# Logs: firmware/build/logs/. Environment passes through to the scripts (MIRROR, ...).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
logs="${here}/build/logs"
mkdir -p "${logs}"
desc() { python3 "${here}/image.py" "$@"; }
boards=("$@")
[ ${#boards[@]} -gt 0 ] || mapfile -t boards < <(desc boards)
t_start=${SECONDS}
failed=()
times=()

# run NAME LOG COMMAND...: run a step, keep its stdout lines that say PASS/FAIL, time it.
run() {
	local name="$1" logfile="${logs}/$2.log" t0=${SECONDS} rc=0
	shift 2
	nice -n 10 "$@" >"${logfile}" 2>&1 || rc=$?
	times+=("${name}: $((SECONDS - t0)) s")
	grep -E '^(deb-install-test|boot-test|gpio-test|critical-chain|  )' "${logfile}" \
		| grep -v '^\[' || true
	if [ "${rc}" -ne 0 ]; then
		failed+=("${name}")
		echo "${name} FAIL (exit ${rc}; log ${logfile}):"
		grep -vE '^(  |critical-chain)' "${logfile}" | tail -8 | sed 's/^/    /'
	fi
	return "${rc}"
}

deb=""
if run build-deb build-deb "${here}/build-deb.sh"; then
	deb="$(tail -1 "${logs}/build-deb.log")"
	echo "build-deb PASS: ${deb##*/} ($(stat -c %s "${deb}") bytes)"
	run deb-install-test deb-install-test "${here}/build-deb.sh" --install-test "${deb}"
fi

built=()
for b in "${boards[@]}"; do
	[ -n "${deb}" ] || break
	if run "build-image ${b}" "build-image-${b}" env PITRIGGER_DEB="${deb}" "${here}/build-image.sh" "${b}"; then
		built+=("${b}")
		echo "build-image ${b} PASS: $(sed -n 's/^\[build-image [0-9:]*\] [^:]*: \(image .* in [0-9]* s\)$/\1/p' "${logs}/build-image-${b}.log" | tail -1)"
	elif grep -q "Couldn't download packages" "${logs}/build-image-${b}.log" "${here}/build/${b}/"*.log 2>/dev/null; then
		echo "    reason: this machine's Debian mirror lacks packages for $(desc board "${b}" arch):" \
			"$(grep -ho "Couldn't download packages: .*" "${here}/build/${b}/"*.log 2>/dev/null | tail -1 | cut -c1-300)"
	fi
done

if [ ${#built[@]} -gt 0 ]; then
	if run release release env RELEASE_FROM_BUILD=1 "${here}/release.sh" "${built[@]}"; then
		echo "release PASS: $(grep -c 'bytes' "${logs}/release.log") files (sizes above)"
	fi
fi

for b in "${built[@]}"; do
	run "boot-test ${b}" "boot-test-${b}" "${here}/boot-test.sh" "${b}"
done

# GPIO end to end on QEMU's -M virt (libgpiod path driven from the host through qtest).
# virt-image.sh lays out firmware/build/pitrigger-virt.img, vmlinuz, initrd.img, cmdline.txt.
if [ -x "${here}/gpio-test.sh" ] && [[ " ${built[*]} " == *" pi02 "* ]]; then
	run virt-image virt-image env NO_BUILD=1 "${here}/virt-image.sh" \
		&& run gpio-test gpio-test "${here}/gpio-test.sh"
fi

echo "times: $(printf '%s, ' "${times[@]}")total $((SECONDS - t_start)) s"
if [ ${#failed[@]} -gt 0 ]; then
	echo "build-and-boot-test FAIL: ${failed[*]}"
	exit 1
fi
echo "build-and-boot-test PASS: boards ${boards[*]}"
