#!/usr/bin/env bash
# Build pitrigger's flashable Raspberry Pi card images from Debian packages, on this machine,
# without pi-gen and without loop mounts.
#
#   firmware/build-image.sh [BOARD...]       default: every board in firmware/image.toml
#       pi0   armel, linux-image-rpi     Pi Zero, Zero W, Pi 1
#       pi02  arm64, linux-image-arm64   Zero 2 W, Pi 3, Pi 4 (also boots on QEMU's -M virt)
#   -> firmware/build/pitrigger-<BOARD>.img (raw, MBR: FAT RASPIFIRM, ext4 RASPIROOT, free space)
#
# What goes in is firmware/image.toml (read through firmware/image.py), applied by the
# sub-stages of the pi-gen stage (firmware/pi-gen/stage-pitrigger), exactly as pi-gen would.
#
# Layers:
#   1. base root fs per board: debootstrap + qemu-user-static, every package image.toml lists
#      for the board, the kernel, raspi-firmware and one initramfs. Cached as
#      firmware/cache/base-<suite>-<board>-<hash>.tar.zst, keyed by suite, mirrors, package
#      list, console and this file's build_base. Cold: ~15-25 min per board on 2 cores.
#   2. every build: pitrigger's .deb (firmware/build-deb.sh), the stage's scripts, the boot
#      partition and the image. A few minutes.
#
# Environment: MIRROR, SECURITY_MIRROR (default: the Debian mirrors this machine's apt uses);
# PITRIGGER_DEB (a built .deb; default: build one); EXTRA_PACKAGES (more apt packages for
# this build only, e.g. for a test image -- the cached base is unchanged); IMAGE_SUFFIX
# (default empty: pitrigger-<BOARD><SUFFIX>.img); BASE_ONLY=1 (stop after layer 1);
# NO_HOST_DEPS=1 (skip apt-installing host tools); FIRMWARE_CACHE (default firmware/cache).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
desc() { python3 "${here}/image.py" "$@"; }
SUITE="$(desc suite)"

# shellcheck source=/dev/null # firmware/lib.sh, beside this script
. "${here}/lib.sh"
MIRROR="${MIRROR:-$(host_debian_uri debian)}"
SECURITY_MIRROR="${SECURITY_MIRROR:-$(host_debian_uri debian-security)}"
cache="${FIRMWARE_CACHE:-${here}/cache}"
build="${here}/build"
stage="${here}/pi-gen/stage-pitrigger"
export PITRIGGER_SRC="${PITRIGGER_SRC:-${repo}}"

# Image layout (Debian's raspi recipe): MBR; 1 = FAT32 RASPIFIRM (/boot/firmware), 2 = ext4
# RASPIROOT (/), then free space for the data partition made on first boot (PTDATA).
BOOT_MIB=256
FREE_MIB=64

log() { printf '[build-image %s] %s\n' "$(date +%T)" "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "build-image.sh must run as root (debootstrap, chroot)" >&2
		exit 1
	fi
}

host_deps() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	[ -e /usr/bin/qemu-arm-static ] || missing+=(qemu-user-static)
	command -v update-binfmts >/dev/null || missing+=(binfmt-support)
	command -v mkfs.vfat >/dev/null || missing+=(dosfstools)
	command -v mcopy >/dev/null || missing+=(mtools)
	command -v sfdisk >/dev/null || missing+=(fdisk)
	command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
	command -v zstd >/dev/null || missing+=(zstd)
	command -v unshare >/dev/null || missing+=(util-linux)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing host tools: ${missing[*]}"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	fi
	# Run arm binaries through qemu-user (the F flag: no qemu binary inside the root fs).
	if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	fi
	local fmt
	for fmt in qemu-arm qemu-aarch64; do
		[ -e "/proc/sys/fs/binfmt_misc/${fmt}" ] || update-binfmts --enable "${fmt}"
	done
}

# pi-gen's on_chroot: run stdin as a bash script inside ROOTFS_DIR, with /proc, /sys, /dev,
# /run and /tmp mounted -- in a private mount namespace, so nothing is left mounted on the
# host if the build dies. ON_CHROOT_APT_CACHE: a host directory for apt's .debs.
on_chroot() {
	local extra="${ON_CHROOT_APT_CACHE:-}"
	# shellcheck disable=SC2016 # the inner script expands its own arguments
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		r="$1"; shift; cache="$1"; shift
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs tmpfs "$r/run"
		mount -t tmpfs tmpfs "$r/tmp"
		if [ -n "$cache" ]; then
			mkdir -p "$r/var/cache/apt/archives"
			mount --bind "$cache" "$r/var/cache/apt/archives"
		fi
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -e
	' on_chroot "${ROOTFS_DIR}" "${extra}"
}
export -f on_chroot log

# ---- layer 1: the cached base root file system ------------------------------------------

# build_base BOARD OUT: debootstrap, packages, kernel, raspi-firmware, initramfs -> OUT.
build_base() {
	local board="$1" out="$2" arch console pkgs debs blog
	arch="$(desc board "${board}" arch)"
	console="$(desc board "${board}" console)"
	mapfile -t pkgs < <(desc packages "${board}")
	export ROOTFS_DIR="${build}/${board}/base"
	debs="${cache}/debs-${arch}" # one per arch: two builds at once must not share apt's lock
	blog="${build}/${board}/base.log"
	rm -rf "${ROOTFS_DIR}"
	mkdir -p "${ROOTFS_DIR}" "${debs}"
	log "${board}: debootstrap ${SUITE} ${arch} (first stage)"
	local try
	for try in 1 2 3; do # the mirror sometimes serves a corrupt .deb: try again
		if debootstrap --arch="${arch}" --variant=minbase --foreign \
			--components="$(desc components | paste -sd,)" --cache-dir="${debs}" \
			"${SUITE}" "${ROOTFS_DIR}" "${MIRROR}" >"${blog}" 2>&1; then
			break
		fi
		tail -5 "${blog}" >&2
		[ "${try}" -lt 3 ] || exit 1
		log "${board}: debootstrap failed; retrying"
		rm -rf "${ROOTFS_DIR}"
		mkdir -p "${ROOTFS_DIR}"
	done
	log "${board}: debootstrap second stage (qemu-user)"
	unshare --mount --propagation private -- \
		chroot "${ROOTFS_DIR}" /debootstrap/debootstrap --second-stage >>"${blog}" 2>&1 \
		|| { tail -20 "${blog}" >&2; exit 1; }
	rm -f "${ROOTFS_DIR}/etc/apt/sources.list"
	local components
	components="$(desc components | paste -sd' ')"
	cat >"${ROOTFS_DIR}/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: ${MIRROR}
		Suites: ${SUITE} ${SUITE}-updates
		Components: ${components}
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	if [ -n "${SECURITY_MIRROR}" ]; then
		cat >>"${ROOTFS_DIR}/etc/apt/sources.list.d/debian.sources" <<-EOF

			Types: deb
			URIs: ${SECURITY_MIRROR}
			Suites: ${SUITE}-security
			Components: ${components}
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	# No services start in the chroot.
	printf '#!/bin/sh\nexit 101\n' >"${ROOTFS_DIR}/usr/sbin/policy-rc.d"
	chmod 0755 "${ROOTFS_DIR}/usr/sbin/policy-rc.d"
	# raspi-firmware's hooks read this when the kernel and initramfs land: the root by label
	# (the same card boots from any reader), the serial console on the GPIO header.
	cat >"${ROOTFS_DIR}/etc/default/raspi-firmware" <<-EOF
		ROOTPART=LABEL=RASPIROOT
		CONSOLES="${console}"
	EOF
	# No initramfs per package (each costs minutes under qemu-user): update-initramfs is
	# diverted while installing and run once at the end.
	log "${board}: apt: ${pkgs[*]}"
	ON_CHROOT_APT_CACHE="${debs}" on_chroot >"${build}/${board}/base-apt.log" 2>&1 <<-EOF \
		|| { tail -30 "${build}/${board}/base-apt.log" >&2; exit 1; }
		dpkg-divert --local --rename --add /usr/sbin/update-initramfs
		printf '#!/bin/sh\necho "update-initramfs: deferred by build-image.sh"\n' >/usr/sbin/update-initramfs
		chmod 0755 /usr/sbin/update-initramfs
		apt-get -o Acquire::Retries=3 update -q
		apt-get -o Acquire::Retries=3 -o Dpkg::Options::=--force-confdef \
			-o Dpkg::Options::=--force-confold install -y -q --no-install-recommends ${pkgs[*]}
		rm -f /usr/sbin/update-initramfs
		dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
	EOF
	log "${board}: initramfs (once)"
	on_chroot >>"${build}/${board}/base-apt.log" 2>&1 <<<'update-initramfs -c -k all' \
		|| { tail -30 "${build}/${board}/base-apt.log" >&2; exit 1; }
	log "${board}: caching base as ${out##*/}"
	tar --zstd --numeric-owner --xattrs -cpf "${out}.part" -C "${ROOTFS_DIR}" .
	mv "${out}.part" "${out}"
	rm -rf "${ROOTFS_DIR}"
}

base_key() {
	local board="$1"
	{
		echo "${SUITE} ${MIRROR} ${SECURITY_MIRROR}"
		desc components
		desc board "${board}" arch
		desc board "${board}" console
		desc packages "${board}"
		declare -f build_base
	} | sha256sum | cut -c1-16
}

# base_layer BOARD: print the cached base tarball's path, building it first if needed.
base_layer() {
	local board="$1" key out t0=${SECONDS}
	key="$(base_key "${board}")"
	out="${cache}/base-${SUITE}-${board}-${key}.tar.zst"
	if [ -f "${out}" ]; then
		log "${board}: base layer cached: ${out##*/}"
	else
		mkdir -p "${build}/${board}"
		build_base "${board}" "${out}"
		log "${board}: base layer built in $((SECONDS - t0)) s"
		find "${cache}" -maxdepth 1 -name "base-${SUITE}-${board}-*.tar.zst" ! -name "${out##*/}" -delete
	fi
	echo "${out}"
}

# ---- layer 2: pitrigger, the stage, the card image ---------------------------------------

packages_in() { sed -e 's/#.*//' "$@" | tr -s '[:blank:]' '\n' | sed '/^$/d'; }

# pi-gen's run_sub_stage, for the parts this stage uses.
run_sub_stage() {
	local sub="$1" i f pkgs
	log "${BOARD}: sub-stage ${sub##*/}"
	pushd "${sub}" >/dev/null
	for i in $(seq -w 0 99); do
		if [ -f "${i}-debconf" ]; then
			on_chroot <<<"debconf-set-selections <<'SEL'
$(cat "${i}-debconf")
SEL"
		fi
		for f in "${i}-packages-nr" "${i}-packages"; do
			[ -f "${f}" ] || continue
			mapfile -t pkgs < <(packages_in "${f}")
			[ ${#pkgs[@]} -gt 0 ] || continue
			local nr=""
			[ "${f}" = "${i}-packages-nr" ] && nr="--no-install-recommends"
			ON_CHROOT_APT_CACHE="${DEBS}" on_chroot <<<"apt-get install -y -q ${nr} ${pkgs[*]} >/dev/null"
		done
		if [ -x "${i}-run.sh" ]; then
			"./${i}-run.sh"
		fi
		if [ -f "${i}-run-chroot.sh" ]; then
			on_chroot <"${i}-run-chroot.sh"
		fi
	done
	popd >/dev/null
}

# The kernel, initrd, DTBs and firmware that raspi-firmware's hooks put in /boot/firmware,
# with config.txt and cmdline.txt as its hook writes them (the stage then makes them quiet).
refresh_boot_firmware() {
	on_chroot <<-'EOF'
		set -euo pipefail
		DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
	EOF
}

assemble_image() {
	local img="$1" work="$2" bootdir="$2/bootfs" root_kib root_mib total_mib
	local boot_start=4 root_start
	rm -rf "${bootdir}"
	mv "${ROOTFS_DIR}/boot/firmware" "${bootdir}"
	install -d -m 0755 "${ROOTFS_DIR}/boot/firmware"

	log "${BOARD}: FAT boot partition"
	rm -f "${work}/boot.vfat"
	truncate -s "${BOOT_MIB}M" "${work}/boot.vfat"
	mkfs.vfat -F 32 -n RASPIFIRM "${work}/boot.vfat" >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -i "${work}/boot.vfat" "${bootdir}"/* ::/

	log "${BOARD}: ext4 root partition (mkfs.ext4 -d)"
	root_kib="$(du -s -k --apparent-size "${ROOTFS_DIR}" | cut -f1)"
	root_mib=$(((root_kib * 12 / 10) / 1024 + 96))
	root_mib=$(((root_mib + 3) / 4 * 4))
	rm -f "${work}/root.ext4"
	mkfs.ext4 -q -L RASPIROOT -d "${ROOTFS_DIR}" "${work}/root.ext4" "${root_mib}M"

	root_start=$((boot_start + BOOT_MIB))
	total_mib=$((root_start + root_mib + FREE_MIB))
	rm -f "${img}"
	truncate -s "${total_mib}M" "${img}"
	sfdisk --quiet "${img}" <<-EOF
		label: dos
		start=${boot_start}MiB, size=${BOOT_MIB}MiB, type=c
		start=${root_start}MiB, size=${root_mib}MiB, type=83
	EOF
	dd if="${work}/boot.vfat" of="${img}" bs=1M seek="${boot_start}" conv=notrunc,sparse status=none
	dd if="${work}/root.ext4" of="${img}" bs=1M seek="${root_start}" conv=notrunc,sparse status=none
	rm -f "${work}/boot.vfat" "${work}/root.ext4"
}

build_board() {
	export BOARD="$1"
	local t0=${SECONDS} base arch work img sub
	arch="$(desc board "${BOARD}" arch)"
	export DEBS="${cache}/debs-${arch}"
	base="$(base_layer "${BOARD}")"
	[ "${BASE_ONLY:-0}" = 1 ] && return 0
	work="${build}/${BOARD}"
	img="${build}/pitrigger-${BOARD}${IMAGE_SUFFIX:-}.img"
	export ROOTFS_DIR="${work}/rootfs"
	rm -rf "${ROOTFS_DIR}"
	mkdir -p "${ROOTFS_DIR}"
	tar --zstd --numeric-owner --xattrs -xpf "${base}" -C "${ROOTFS_DIR}"

	# What pi-gen's stages 0-2 provide and the stage builds on: fstab, hostname, the boot
	# partition's files (raspi-firmware's hooks write config.txt and cmdline.txt).
	# The FAT partition is mounted read-only (a power cut cannot leave it dirty; the daemon
	# only reads its config there), without fsck, and nofail. Its device timeout is long on
	# purpose: the Pi's firmware loaded the kernel from this very partition, so on a board
	# that booted it exists, and the wait only ever lasts as long as udev's coldplug (~1 s on
	# a Pi, minutes under emulation on a loaded host).
	cat >"${ROOTFS_DIR}/etc/fstab" <<-EOF
		LABEL=RASPIROOT  /               ext4    ro,noatime  0  1
		LABEL=RASPIFIRM  /boot/firmware  vfat    ro,noatime,umask=0022,nofail,x-systemd.device-timeout=300s  0  0
	EOF
	echo pitrigger >"${ROOTFS_DIR}/etc/hostname"
	refresh_boot_firmware
	if [ -n "${EXTRA_PACKAGES:-}" ]; then
		log "${BOARD}: extra packages for this build: ${EXTRA_PACKAGES}"
		ON_CHROOT_APT_CACHE="${DEBS}" on_chroot <<<"apt-get install -y -q --no-install-recommends ${EXTRA_PACKAGES} >/dev/null"
	fi

	# The stage, as pi-gen runs it (sub-stages marked PI_ONLY need Raspberry Pi's archive).
	export PITRIGGER_DEB="${PITRIGGER_DEB_PATH}"
	for sub in "${stage}"/*/; do
		sub="${sub%/}"
		if [ -f "${sub}/PI_ONLY" ]; then
			log "${BOARD}: skipping ${sub##*/} (PI_ONLY)"
			continue
		fi
		run_sub_stage "${sub}"
	done

	# export-image's part: an empty machine-id (transient per boot on a read-only root, not
	# "first boot" every boot), no apt lists, no policy-rc.d.
	: >"${ROOTFS_DIR}/etc/machine-id"
	rm -f "${ROOTFS_DIR}/var/lib/dbus/machine-id" "${ROOTFS_DIR}/usr/sbin/policy-rc.d"
	rm -rf "${ROOTFS_DIR}"/var/lib/apt/lists/* "${ROOTFS_DIR}"/var/cache/apt/*.bin

	assemble_image "${img}" "${work}"
	rm -rf "${ROOTFS_DIR}" "${work}/bootfs"
	log "${BOARD}: image ${img} ($(du -h --apparent-size "${img}" | cut -f1)) in $((SECONDS - t0)) s"
}

main() {
	need_root
	if [ -z "${MIRROR}" ]; then
		echo "no Debian mirror in this machine's apt sources: set MIRROR=<uri of a Debian mirror>" >&2
		exit 1
	fi
	local boards=("$@") b
	[ ${#boards[@]} -gt 0 ] || mapfile -t boards < <(desc boards)
	for b in "${boards[@]}"; do
		desc board "${b}" arch >/dev/null # an unknown board fails here, naming the known ones
	done
	[ "${NO_HOST_DEPS:-0}" = 1 ] || host_deps
	mkdir -p "${cache}" "${build}"
	if [ "${BASE_ONLY:-0}" != 1 ]; then
		PITRIGGER_DEB_PATH="${PITRIGGER_DEB:-}"
		if [ -z "${PITRIGGER_DEB_PATH}" ]; then
			PITRIGGER_DEB_PATH="$("${here}/build-deb.sh")"
		fi
		[ -f "${PITRIGGER_DEB_PATH}" ] || { echo "no .deb at ${PITRIGGER_DEB_PATH}" >&2; exit 1; }
		# Absolute: the stage's scripts run in their own directories.
		PITRIGGER_DEB_PATH="$(readlink -f "${PITRIGGER_DEB_PATH}")"
		export PITRIGGER_DEB_PATH
	fi
	for b in "${boards[@]}"; do
		build_board "${b}"
	done
}

main "$@"
