#!/usr/bin/env bash
# Release artifacts from one command, into firmware/build/release/:
#   pitrigger-VERSION-BOARD.img.xz (+ .sha256, .bmap)  for each board that built
#   pitrigger_VERSION_all.deb (+ .sha256)
#   pitrigger-VERSION.imager.json  Raspberry Pi Imager's os_list format (custom repository)
# and prints every file's size.
#
#   firmware/release.sh [BOARD...]      default: every board in firmware/image.toml
#
# Builds the .deb (build-deb.sh) and the images (build-image.sh) first, unless
# RELEASE_FROM_BUILD=1 (then it packs the images and .deb already in firmware/build/).
# RELEASE_URL_BASE: where the files will be downloadable (the JSON's "url"s; default: the
# bare file names, for a repository JSON that sits next to the images).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
build="${here}/build"
out="${build}/release"
desc() { python3 "${here}/image.py" "$@"; }
log() { printf '[release %s] %s\n' "$(date +%T)" "$*" >&2; }

main() {
	local boards=("$@") version deb b
	[ ${#boards[@]} -gt 0 ] || mapfile -t boards < <(desc boards)
	version="$(sed -n '1s/^pitrigger (\([^)]*\)).*/\1/p' "${repo}/debian/changelog")"
	command -v bmaptool >/dev/null || {
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q bmap-tools xz-utils >/dev/null
	}
	deb="${build}/pitrigger_${version}_all.deb"
	if [ "${RELEASE_FROM_BUILD:-0}" != 1 ]; then
		deb="$("${here}/build-deb.sh")"
		PITRIGGER_DEB="${deb}" "${here}/build-image.sh" "${boards[@]}"
	fi
	rm -rf "${out}"
	mkdir -p "${out}"
	cp "${deb}" "${out}/"
	(cd "${out}" && sha256sum "${deb##*/}" >"${deb##*/}.sha256")
	local entries=() img name
	for b in "${boards[@]}"; do
		img="${build}/pitrigger-${b}.img"
		[ -f "${img}" ] || { echo "no image for ${b} at ${img}" >&2; exit 1; }
		name="pitrigger-${version}-${b}.img"
		log "${b}: bmap, xz, sha256"
		bmaptool -q create -o "${out}/${name}.bmap" "${img}"
		xz -T0 -6 -c "${img}" >"${out}/${name}.xz"
		(cd "${out}" && sha256sum "${name}.xz" >"${name}.xz.sha256")
		entries+=("${b}	${name}.xz	$(stat -c %s "${img}")	$(sha256sum "${img}" | cut -d' ' -f1)")
	done
	printf '%s\n' "${entries[@]}" | python3 "${here}/image.py" imager-json "${version}" \
		"${RELEASE_URL_BASE:-}" "${out}" >"${out}/pitrigger-${version}.imager.json"
	log "release files in ${out}:"
	(cd "${out}" && for f in *; do
		printf '  %-44s %10s bytes  %s\n' "${f}" "$(stat -c %s "${f}")" "$(du -h --apparent-size "${f}" | cut -f1)"
	done)
}

main "$@"
