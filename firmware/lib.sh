#!/usr/bin/env bash
# Shell functions the firmware scripts share; sourced (`. "${here}/lib.sh"`), not run.
set -euo pipefail

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

# Byte offset of partition N of the image: part_offset IMAGE N.
part_offset() {
	sfdisk --json "$1" | python3 -c \
		"import json,sys; t=json.load(sys.stdin)['partitiontable']; p=t['partitions'][$2-1]; print(p['start']*t.get('sectorsize',512))"
}

# The host tools an emulated boot needs (QEMU, FAT and ext4 editing, partition table).
qemu_host_deps() {
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
