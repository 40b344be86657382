#!/usr/bin/env bash
# pitrigger as a Debian package, built with Debian's own tooling (debhelper + dh-python's
# pybuild, debian/) in a clean Debian trixie chroot, and the install test a user's Pi goes
# through: `apt install ./pitrigger_*.deb` in another clean trixie chroot, then
# `pitrigger check-config`.
#
#   firmware/build-deb.sh                  build; prints the .deb's path (logs go to stderr)
#   firmware/build-deb.sh --install-test DEB
#       fresh trixie chroot, apt install ./DEB (dependencies from the Debian mirror), then
#       checks /usr/bin/pitrigger, check-config on the shipped default config, the units,
#       the udev rule, the user; prints one PASS/FAIL line naming each check
#
# The chroots are native (this machine's architecture; the package is Architecture: all).
# Cached: firmware/cache/chroot-<suite>-<arch>-<hash>.tar.zst (debootstrap minbase) and
# ...-build-<hash>.tar.zst (plus the build dependencies). Cold ~3-5 min, then ~1 min.
# Environment: MIRROR, SECURITY_MIRROR, FIRMWARE_CACHE, NO_HOST_DEPS=1 as build-image.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
SUITE="$(python3 "${here}/image.py" suite)"
# shellcheck source=/dev/null # firmware/lib.sh, beside this script
. "${here}/lib.sh"
MIRROR="${MIRROR:-$(host_debian_uri debian)}"
SECURITY_MIRROR="${SECURITY_MIRROR:-$(host_debian_uri debian-security)}"
cache="${FIRMWARE_CACHE:-${here}/cache}"
build="${here}/build/deb"
ARCH="$(dpkg --print-architecture)"
BUILD_DEPS=(build-essential debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools)

log() { printf '[build-deb %s] %s\n' "$(date +%T)" "$*" >&2; }

# in_chroot DIR: run stdin as a bash script in DIR (private mount namespace, /proc /dev /run).
in_chroot() {
	# shellcheck disable=SC2016 # the inner script expands its own arguments
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		r="$1"
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs tmpfs "$r/run"
		mount -t tmpfs tmpfs "$r/tmp"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -e
	' in_chroot "$1"
}

# cached_tree NAME RECIPE-FUNCTION: print the path of a cached chroot tarball, made by
# RECIPE-FUNCTION DIR when missing; keyed by suite, mirrors and the recipe's text.
cached_tree() {
	local name="$1" recipe="$2" key out dir
	key="$({ echo "${SUITE} ${ARCH} ${MIRROR} ${SECURITY_MIRROR}"; declare -f "${recipe}" base_recipe; } \
		| sha256sum | cut -c1-16)"
	out="${cache}/chroot-${SUITE}-${ARCH}-${name}-${key}.tar.zst"
	if [ ! -f "${out}" ]; then
		dir="${build}/${name}-tree"
		rm -rf "${dir}"
		mkdir -p "${dir}"
		log "making the ${name} chroot (cached afterwards)"
		"${recipe}" "${dir}"
		tar --zstd --numeric-owner -cpf "${out}.part" -C "${dir}" .
		mv "${out}.part" "${out}"
		rm -rf "${dir}"
		find "${cache}" -maxdepth 1 -name "chroot-${SUITE}-${ARCH}-${name}-*.tar.zst" ! -name "${out##*/}" -delete
	fi
	echo "${out}"
}

base_recipe() {
	local dir="$1"
	mkdir -p "${cache}/debs-${ARCH}"
	debootstrap --variant=minbase --cache-dir="${cache}/debs-${ARCH}" "${SUITE}" "${dir}" "${MIRROR}" \
		>"${build}/debootstrap.log" 2>&1 || { tail -20 "${build}/debootstrap.log" >&2; exit 1; }
	rm -f "${dir}/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
			"${MIRROR}" "${SUITE}" "${SUITE}" /usr/share/keyrings/debian-archive-keyring.gpg
		if [ -n "${SECURITY_MIRROR}" ]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
				"${SECURITY_MIRROR}" "${SUITE}" /usr/share/keyrings/debian-archive-keyring.gpg
		fi
	} >"${dir}/etc/apt/sources.list.d/debian.sources"
	printf '#!/bin/sh\nexit 101\n' >"${dir}/usr/sbin/policy-rc.d"
	chmod 0755 "${dir}/usr/sbin/policy-rc.d"
	rm -rf "${dir}"/var/cache/apt/archives/*.deb
}

build_recipe() {
	local dir="$1"
	tar --zstd -xpf "$(cached_tree base base_recipe)" -C "${dir}"
	in_chroot "${dir}" >"${build}/build-deps.log" 2>&1 <<-EOF || { tail -20 "${build}/build-deps.log" >&2; exit 1; }
		apt-get -o Acquire::Retries=3 update -q
		apt-get -o Acquire::Retries=3 install -y -q --no-install-recommends ${BUILD_DEPS[*]}
		apt-get clean
	EOF
}

host_deps() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	command -v zstd >/dev/null || missing+=(zstd)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing host tools: ${missing[*]}"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	fi
}

# The source tree as git sees it (tracked and new files, without ignored build output).
copy_source() {
	local dest="$1"
	mkdir -p "${dest}"
	if git -C "${repo}" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "${repo}" ls-files -z --cached --others --exclude-standard \
			| (cd "${repo}" && tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "${dest}"
	else
		tar -C "${repo}" --exclude=./firmware/build --exclude=./firmware/cache --exclude=./.venv \
			-cf - . | tar -xf - -C "${dest}"
	fi
}

build_deb() {
	local tree="${build}/chroot" version out t0=${SECONDS}
	version="$(dpkg-parsechangelog -l "${repo}/debian/changelog" -S Version 2>/dev/null \
		|| sed -n '1s/^pitrigger (\([^)]*\)).*/\1/p' "${repo}/debian/changelog")"
	rm -rf "${tree}"
	mkdir -p "${tree}"
	tar --zstd -xpf "$(cached_tree build build_recipe)" -C "${tree}"
	copy_source "${tree}/src/pitrigger"
	log "dpkg-buildpackage (pitrigger ${version})"
	in_chroot "${tree}" >"${build}/dpkg-buildpackage.log" 2>&1 <<-'EOF' \
		|| { tail -30 "${build}/dpkg-buildpackage.log" >&2; exit 1; }
		cd /src/pitrigger
		dpkg-buildpackage -us -uc -b
	EOF
	out="${here}/build/pitrigger_${version}_all.deb"
	cp "${tree}/src/pitrigger_${version}_all.deb" "${out}"
	rm -rf "${tree}"
	log "built ${out##*/} ($(du -k "${out}" | cut -f1) KiB) in $((SECONDS - t0)) s"
	echo "${out}"
}

install_test() {
	local deb="$1" tree="${build}/install-test" result t0=${SECONDS}
	[ -f "${deb}" ] || { echo "no .deb at ${deb}" >&2; exit 1; }
	rm -rf "${tree}"
	mkdir -p "${tree}"
	tar --zstd -xpf "$(cached_tree base base_recipe)" -C "${tree}"
	cp "${deb}" "${tree}/root/"
	log "apt install ./${deb##*/} in a clean ${SUITE} ${ARCH} chroot"
	# Each check prints "ok NAME" or "FAIL NAME detail".
	in_chroot "${tree}" >"${build}/install-test.log" 2>&1 <<-EOF || true
		set +e
		cd /root
		apt-get -o Acquire::Retries=3 update -q >/dev/null
		if apt-get install -y -q ./${deb##*/}; then echo "RESULT ok apt-install"; else echo "RESULT FAIL apt-install"; fi
		v="\$(dpkg-query -W -f='\${Status} \${Version}' pitrigger 2>&1)"
		case "\${v}" in "install ok installed"*) echo "RESULT ok dpkg-status";; *) echo "RESULT FAIL dpkg-status \${v}";; esac
		if pitrigger check-config /usr/share/pitrigger/default.toml; then echo "RESULT ok check-config"; else echo "RESULT FAIL check-config"; fi
		printf '[button]\npin = 4\npn = 5\n' >/tmp/bad.toml
		if pitrigger check-config /tmp/bad.toml 2>/tmp/bad.err; then echo "RESULT FAIL check-config-rejects-bad (exit 0)"
		elif grep -q 'button.pn' /tmp/bad.err; then echo "RESULT ok check-config-rejects-bad"
		else echo "RESULT FAIL check-config-rejects-bad \$(head -c 200 /tmp/bad.err)"; fi
		python3 -c 'import gphoto2, pydantic, gpiod; import pitrigger.daemon; assert int(pydantic.VERSION.split(".")[0]) >= 2' \
			&& echo "RESULT ok imports" || echo "RESULT FAIL imports"
		for f in /usr/lib/systemd/system/pitrigger.service /usr/lib/systemd/system/pitrigger-poweroff.path \
			/usr/lib/systemd/system/pitrigger-poweroff.service /usr/lib/udev/rules.d/60-pitrigger.rules \
			/usr/lib/tmpfiles.d/pitrigger.conf /usr/lib/sysusers.d/pitrigger.conf; do
			[ -f "\${f}" ] || missing="\${missing:-} \${f}"
		done
		[ -z "\${missing:-}" ] && echo "RESULT ok units-udev-tmpfiles" || echo "RESULT FAIL units-udev-tmpfiles missing\${missing}"
		[ -L /etc/systemd/system/multi-user.target.wants/pitrigger.service ] && echo "RESULT ok enabled" || echo "RESULT FAIL enabled"
		id pitrigger | grep -q '(gpio)' && id pitrigger | grep -q '(plugdev)' \
			&& echo "RESULT ok user-in-gpio-plugdev" || echo "RESULT FAIL user-in-gpio-plugdev \$(id pitrigger 2>&1)"
		[ "\$(stat -c %U /var/lib/pitrigger 2>/dev/null)" = pitrigger ] && echo "RESULT ok state-dir" || echo "RESULT FAIL state-dir"
	EOF
	result="$(sed -n 's/^RESULT //p' "${build}/install-test.log")"
	rm -rf "${tree}"
	local names status=PASS
	names="$(awk '{print $2}' <<<"${result}" | paste -sd' ')"
	if [ -z "${result}" ] || grep -q '^FAIL' <<<"${result}"; then
		status=FAIL
	fi
	echo "deb-install-test ${status}: ${SUITE} ${ARCH} chroot, ${names} ($((SECONDS - t0)) s)"
	if [ "${status}" != PASS ]; then
		grep '^FAIL' <<<"${result}" >&2 || true
		log "log: ${build}/install-test.log"
		return 1
	fi
}

main() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "build-deb.sh must run as root (debootstrap, chroot)" >&2
		exit 1
	fi
	[ "${NO_HOST_DEPS:-0}" = 1 ] || host_deps
	mkdir -p "${cache}" "${build}"
	case "${1:-}" in
		"") build_deb ;;
		--install-test) install_test "${2:?usage: build-deb.sh --install-test DEB}" ;;
		*) echo "usage: build-deb.sh [--install-test DEB]" >&2; exit 2 ;;
	esac
}

main "$@"
