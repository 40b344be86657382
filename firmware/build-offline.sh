#!/usr/bin/env bash
# Build pitrigger's card image here, without pi-gen and without loop mounts, by applying the
# pi-gen stage (firmware/pi-gen/stage-pitrigger) to a Debian arm64 root file system made with
# debootstrap + qemu-user-static. The result boots in qemu-system-aarch64 -M virt (see
# boot-test.sh); it is the emulator twin of the Raspberry Pi OS image, not a Pi image.
#
#   firmware/build-offline.sh            build firmware/build/pitrigger-virt.img (+ kernel)
#
# Layers:
#   1. base root fs (debootstrap + kernel + every package the stage lists + initramfs, built
#      once): cached as firmware/cache/base-<hash>.tar.zst, keyed by suite, mirror, this
#      file's base recipe and the stage's package lists. Cold: ~15-20 min on 2 cores.
#   2. the stage's scripts (wheel, venv, units, config, headless tweaks) and the image: every
#      build, a few minutes.
#
# Environment: SUITE (trixie); MIRROR and SECURITY_MIRROR (default: the Debian mirrors this
# machine's apt uses); PITRIGGER_SRC (this repository); NO_HOST_DEPS=1 to skip apt-installing
# the host tools.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
SUITE="${SUITE:-trixie}"

# The Debian archive ("debian") or security ("debian-security") URI this machine's apt uses.
host_debian_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "${f}" ] || continue
		awk -v want="$1" '/^(URIs:|deb )/ {
			for (i = 2; i <= NF; i++) if ($i ~ "^https?://" && $i ~ ("/" want "/?$")) {
				sub("/$", "", $i); print $i; exit
			}
		}' "${f}"
	done | head -1
}
MIRROR="${MIRROR:-$(host_debian_uri debian)}"
SECURITY_MIRROR="${SECURITY_MIRROR:-$(host_debian_uri debian-security)}"
cache="${here}/cache"
build="${here}/build"
stage="${here}/pi-gen/stage-pitrigger"
export PITRIGGER_SRC="${PITRIGGER_SRC:-${repo}}"

# Image layout: MBR; 1 = FAT boot (/boot/firmware), 2 = ext4 root, free space after it for
# the data partition that pitrigger-data-partition.service makes on first boot.
DISK_ID=0x7074726b # "ptrk"; PARTUUIDs are 7074726b-01, -02, -03
BOOT_MIB=256
FREE_MIB=256

# Packages of the base layer besides those the stage lists (a kernel for -M virt, an init).
BASE_PACKAGES=(linux-image-arm64 systemd-sysv udev kmod initramfs-tools zstd
	procps iproute2 less)

log() { printf '[build-offline %s] %s\n' "$(date +%T)" "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "build-offline.sh must run as root (debootstrap, chroot)" >&2
		exit 1
	fi
}

host_deps() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	[ -e /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
	command -v update-binfmts >/dev/null || missing+=(binfmt-support)
	command -v mkfs.vfat >/dev/null || missing+=(dosfstools)
	command -v mcopy >/dev/null || missing+=(mtools)
	command -v sfdisk >/dev/null || missing+=(fdisk)
	command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
	command -v zstd >/dev/null || missing+=(zstd)
	command -v unshare >/dev/null || missing+=(util-linux)
	python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing host tools: ${missing[*]}"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	fi
	# Run arm64 binaries through qemu-user (the F flag: no qemu binary inside the root fs).
	if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	fi
	if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
		update-binfmts --enable qemu-aarch64
	fi
}

# pi-gen's on_chroot: run stdin as a bash script inside ROOTFS_DIR, with /proc,
# /sys, /dev, /run and /tmp mounted -- here in a private mount namespace, so nothing is
# left mounted on the host if the build dies.
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

# The stage's package lists, minus sub-stages marked PI_ONLY.
stage_package_files() {
	local sub
	for sub in "${stage}"/*/; do
		[ -f "${sub}PI_ONLY" ] && continue
		find "${sub}" -maxdepth 1 -type f -name '[0-9][0-9]-packages*' | sort
	done
}

packages_in() { sed -e 's/#.*//' "$@" | tr -s '[:blank:]' '\n' | sed '/^$/d'; }

base_key() {
	{
		echo "${SUITE} ${MIRROR} ${SECURITY_MIRROR} ${BASE_PACKAGES[*]}"
		declare -f build_base
		stage_package_files | while read -r f; do echo "${f#"${stage}"}"; cat "${f}"; done
	} | sha256sum | cut -c1-16
}

build_base() {
	local out="$1" pkgs
	export ROOTFS_DIR="${build}/base"
	# (The .debs stay in cache/debs, bind-mounted as the chroot's apt archive: no apt-get clean.)
	rm -rf "${ROOTFS_DIR}"
	mkdir -p "${ROOTFS_DIR}" "${cache}/debs"
	log "debootstrap ${SUITE} arm64 (first stage)"
	local try
	for try in 1 2 3; do # the mirror sometimes serves a corrupt .deb: try again
		if debootstrap --arch=arm64 --variant=minbase --foreign --cache-dir="${cache}/debs" \
			"${SUITE}" "${ROOTFS_DIR}" "${MIRROR}" >"${build}/debootstrap.log" 2>&1; then
			break
		fi
		tail -5 "${build}/debootstrap.log" >&2
		[ "${try}" -lt 3 ] || exit 1
		log "debootstrap failed; retrying"
		rm -rf "${ROOTFS_DIR}"
		mkdir -p "${ROOTFS_DIR}"
	done
	log "debootstrap second stage (qemu-user)"
	unshare --mount --propagation private -- \
		chroot "${ROOTFS_DIR}" /debootstrap/debootstrap --second-stage >>"${build}/debootstrap.log" 2>&1 \
		|| { tail -20 "${build}/debootstrap.log" >&2; exit 1; }
	rm -f "${ROOTFS_DIR}/etc/apt/sources.list"
	cat >"${ROOTFS_DIR}/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: ${MIRROR}
		Suites: ${SUITE} ${SUITE}-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	if [ -n "${SECURITY_MIRROR}" ]; then
		cat >>"${ROOTFS_DIR}/etc/apt/sources.list.d/debian.sources" <<-EOF

			Types: deb
			URIs: ${SECURITY_MIRROR}
			Suites: ${SUITE}-security
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	# No services start in the chroot; no initramfs per package (each costs minutes under
	# qemu-user): update-initramfs is diverted while installing and run once at the end.
	printf '#!/bin/sh\nexit 101\n' >"${ROOTFS_DIR}/usr/sbin/policy-rc.d"
	chmod 0755 "${ROOTFS_DIR}/usr/sbin/policy-rc.d"
	local files
	mapfile -t files < <(stage_package_files)
	mapfile -t pkgs < <(packages_in "${files[@]}")
	log "apt: ${BASE_PACKAGES[*]} ${pkgs[*]}"
	ON_CHROOT_APT_CACHE="${cache}/debs" on_chroot >"${build}/base-apt.log" 2>&1 <<-EOF \
		|| { tail -30 "${build}/base-apt.log" >&2; exit 1; }
		dpkg-divert --local --rename --add /usr/sbin/update-initramfs
		printf '#!/bin/sh\necho "update-initramfs: deferred by build-offline.sh"\n' >/usr/sbin/update-initramfs
		chmod 0755 /usr/sbin/update-initramfs
		apt-get -o Acquire::Retries=3 update -q
		apt-get -o Acquire::Retries=3 install -y -q --no-install-recommends ${BASE_PACKAGES[*]} ${pkgs[*]}
		rm -f /usr/sbin/update-initramfs
		dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
	EOF
	log "initramfs (once)"
	on_chroot >>"${build}/base-apt.log" 2>&1 <<<'update-initramfs -c -k all' \
		|| { tail -30 "${build}/base-apt.log" >&2; exit 1; }
	log "caching base as ${out##*/}"
	tar --zstd --numeric-owner --xattrs -cpf "${out}.part" -C "${ROOTFS_DIR}" .
	mv "${out}.part" "${out}"
	rm -rf "${ROOTFS_DIR}"
}

# pi-gen's run_sub_stage, for the parts this stage uses.
run_sub_stage() {
	local sub="$1" i f pkgs
	log "sub-stage ${sub##*/}"
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
			on_chroot <<<"apt-get install -y -q ${nr} ${pkgs[*]} >/dev/null"
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

assemble_image() {
	local img="$1" bootdir="${build}/bootfs" root_kib root_mib total_mib
	local boot_start=8 root_start
	rm -rf "${bootdir}"
	mv "${ROOTFS_DIR}/boot/firmware" "${bootdir}"
	install -d -m 0755 "${ROOTFS_DIR}/boot/firmware"

	log "FAT boot partition"
	rm -f "${build}/boot.vfat"
	truncate -s "${BOOT_MIB}M" "${build}/boot.vfat"
	mkfs.vfat -F 32 -n bootfs -i 7074726b "${build}/boot.vfat" >/dev/null
	mcopy -s -p -m -i "${build}/boot.vfat" "${bootdir}"/* ::/

	log "ext4 root partition (mkfs.ext4 -d)"
	root_kib="$(du -s -k --apparent-size "${ROOTFS_DIR}" | cut -f1)"
	root_mib=$(((root_kib * 13 / 10) / 1024 + 200))
	root_mib=$(((root_mib + 7) / 8 * 8))
	rm -f "${build}/root.ext4"
	mkfs.ext4 -q -L rootfs -d "${ROOTFS_DIR}" "${build}/root.ext4" "${root_mib}M"

	root_start=$((boot_start + BOOT_MIB))
	total_mib=$((root_start + root_mib + FREE_MIB))
	rm -f "${img}"
	truncate -s "${total_mib}M" "${img}"
	sfdisk --quiet "${img}" <<-EOF
		label: dos
		label-id: ${DISK_ID}
		start=${boot_start}MiB, size=${BOOT_MIB}MiB, type=c
		start=${root_start}MiB, size=${root_mib}MiB, type=83
	EOF
	dd if="${build}/boot.vfat" of="${img}" bs=1M seek="${boot_start}" conv=notrunc,sparse status=none
	dd if="${build}/root.ext4" of="${img}" bs=1M seek="${root_start}" conv=notrunc,sparse status=none
	rm -f "${build}/boot.vfat" "${build}/root.ext4"
}

main() {
	need_root
	if [ -z "${MIRROR}" ]; then
		echo "no Debian mirror in this machine's apt sources: set MIRROR=<uri of a Debian mirror>" >&2
		exit 1
	fi
	[ "${NO_HOST_DEPS:-0}" = 1 ] || host_deps
	mkdir -p "${cache}" "${build}"
	local t0=${SECONDS} key base img="${build}/pitrigger-virt.img" sub id
	key="$(base_key)"
	base="${cache}/base-${SUITE}-arm64-${key}.tar.zst"
	if [ -f "${base}" ]; then
		log "base layer cached: ${base##*/}"
	else
		build_base "${base}"
		log "base layer built in $((SECONDS - t0)) s"
		find "${cache}" -maxdepth 1 -name 'base-*.tar.zst' ! -name "${base##*/}" -delete
	fi

	export ROOTFS_DIR="${build}/rootfs"
	rm -rf "${ROOTFS_DIR}"
	mkdir -p "${ROOTFS_DIR}"
	tar --zstd --numeric-owner --xattrs -xpf "${base}" -C "${ROOTFS_DIR}"

	# What pi-gen's stages 0-2 provide and this stage builds on: the boot partition's
	# cmdline.txt and an fstab with placeholders (export-image fills in PARTUUIDs).
	install -d -m 0755 "${ROOTFS_DIR}/boot/firmware"
	echo "console=ttyAMA0,115200 root=ROOTDEV rootfstype=ext4 fsck.repair=yes rootwait resize" \
		>"${ROOTFS_DIR}/boot/firmware/cmdline.txt"
	cat >"${ROOTFS_DIR}/etc/fstab" <<-EOF
		proc            /proc           proc    defaults          0       0
		BOOTDEV  /boot/firmware  vfat    defaults          0       2
		ROOTDEV  /               ext4    defaults,noatime  0       1
	EOF
	echo pitrigger >"${ROOTFS_DIR}/etc/hostname"

	for sub in "${stage}"/*/; do
		sub="${sub%/}"
		if [ -f "${sub}/PI_ONLY" ]; then
			log "skipping ${sub##*/} (PI_ONLY)"
			continue
		fi
		run_sub_stage "${sub}"
	done

	# export-image's part: PARTUUIDs, an empty machine-id (transient per boot on a
	# read-only root, not "first boot" every boot), no apt lists, no policy-rc.d.
	id="$(printf '%08x' "${DISK_ID}")"
	sed -i -e "s/BOOTDEV/PARTUUID=${id}-01/" -e "s/ROOTDEV/PARTUUID=${id}-02/" "${ROOTFS_DIR}/etc/fstab"
	sed -i -e "s/ROOTDEV/PARTUUID=${id}-02/" "${ROOTFS_DIR}/boot/firmware/cmdline.txt"
	: >"${ROOTFS_DIR}/etc/machine-id"
	rm -f "${ROOTFS_DIR}/var/lib/dbus/machine-id" "${ROOTFS_DIR}/usr/sbin/policy-rc.d"
	rm -rf "${ROOTFS_DIR}"/var/lib/apt/lists/* "${ROOTFS_DIR}"/var/cache/apt/*.bin

	# The kernel and initramfs for qemu -kernel/-initrd (a Pi boots its own from the FAT).
	local kver
	kver="$(find "${ROOTFS_DIR}/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)"
	cp "${ROOTFS_DIR}/boot/vmlinuz-${kver}" "${build}/vmlinuz"
	cp "${ROOTFS_DIR}/boot/initrd.img-${kver}" "${build}/initrd.img"

	assemble_image "${img}"
	rm -rf "${ROOTFS_DIR}" "${build}/bootfs"
	log "image ${img} ($(du -h --apparent-size "${img}" | cut -f1)) in $((SECONDS - t0)) s"
}

main "$@"
