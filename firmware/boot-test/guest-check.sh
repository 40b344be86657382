#!/bin/bash
# shellcheck disable=SC2317 # functions are called through wait_until
# TEST ONLY: runs inside the booted image (as /usr/local/sbin/pitrigger-boot-test) and prints
# "PTBT key=value" lines on the console for boot-test.sh, then powers the guest off through
# pitrigger's own power-off path (the request file that the daemon's gesture creates).
set -uo pipefail

say() { echo "PTBT $*" >/dev/console; echo "PTBT $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -p "$1" --value pitrigger.service; }
ready_count() { journalctl -b -u pitrigger.service -o cat --no-pager | grep -c 'haptic ready'; }
fail=0
dump() {
	systemctl status --no-pager pitrigger.service pitrigger-virtual-camera.service \
		pitrigger-data-partition.service var-lib-pitrigger.mount 2>&1 | sed 's/^/PTBT log /' >/dev/console
	journalctl -b --no-pager -n 150 -o short-monotonic 2>&1 | sed 's/^/PTBT log /' >/dev/console
}
check() { # check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" -eq 0 ]; then say "ok $1 $3"; else say "FAIL $1 $3"; fail=1; fi
}
finish() {
	[ "${fail}" -eq 0 ] || dump
	say "done fail=${fail}"
	# Power off the way the daemon asks for it: the root-owned path unit does the rest.
	install -d -o pitrigger -g pitrigger /run/pitrigger
	echo poweroff >/run/pitrigger/poweroff-request
	sleep 120
	say "FAIL poweroff-path did not power off"
	exit 1
}
# wait_until SECONDS COMMAND...: poll (guest uptime) until COMMAND succeeds.
wait_until() {
	local limit end
	limit="$1"; shift
	end="$(awk -v l="${limit}" '{ printf "%d", $1 + l }' /proc/uptime)"
	until "$@"; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "${end}" ] || return 1
		sleep 0.5
	done
}
is_active() { [ "$(prop ActiveState)" = active ]; }
has_ready() { [ "$(ready_count)" -ge "$1" ]; }

say "start uptime=$(uptime_s)"

# 1. The service is active (Type=notify: active means READY=1 was sent).
wait_until 300 is_active
check active $? "state=$(prop ActiveState) sub=$(prop SubState) at=$(uptime_s)s restarts=$(prop NRestarts)"
[ "${fail}" -eq 0 ] || finish

mono() { awk -v u="$(systemctl show -p "$1" --value "$2")" 'BEGIN { printf "%.2f", u / 1e6 }'; }
say "info service_activating_at=$(mono InactiveExitTimestampMonotonic pitrigger.service)s \
ready_notified_at=$(mono ActiveEnterTimestampMonotonic pitrigger.service)s"
say "info userspace_at=$(awk -v u="$(systemctl show -p UserspaceTimestampMonotonic --value)" \
	'BEGIN { printf "%.2f", u / 1e6 }')s"

# 2. It reaches `ready` against the virtual camera (haptic ready = camera connected).
wait_until 300 has_ready 1
rc=$?
first_ready="$(journalctl -b -u pitrigger.service -o short-monotonic --no-pager \
	| grep -m1 'haptic ready' | sed 's/^\[ *\([0-9.]*\)\].*/\1/')"
check ready "${rc}" "haptic_ready_at=${first_ready}s"
[ "${fail}" -eq 0 ] || finish

# 3. Its config came from the FAT boot partition (the port there is the virtual camera's).
config_line="$(journalctl -b -u pitrigger.service -o cat --no-pager | grep -m1 'config: ' || true)"
fstype="$(findmnt -nro FSTYPE /boot/firmware || true)"
[ "${fstype}" = vfat ] && [[ "${config_line}" == *"/boot/firmware/pitrigger.toml"* ]] \
	&& grep -q 'ptpip:127.0.0.1:15740' /boot/firmware/pitrigger.toml
check config-from-fat $? "fstype=${fstype} log='${config_line}'"

# 4. The image: read-only root under an overlay, the data partition, the shipped libgphoto2.
root_fs="$(findmnt -nro FSTYPE /)"
lower_opts="$(findmnt -nro OPTIONS /media/root-ro || true)"
[ "${root_fs}" = overlay ] && [[ ",${lower_opts}," == *",ro,"* ]]
check overlay-root $? "root=${root_fs} lower=${lower_opts%%,*}"
data="$(findmnt -nro SOURCE,FSTYPE,LABEL /var/lib/pitrigger || true)"
[[ "${data}" == *" ext4 PTDATA" ]]
check data-partition $? "mount='${data}'"
journal="$(stat -c %s /var/lib/pitrigger/journal.jsonl 2>/dev/null || echo 0)"
[ "${journal}" -gt 0 ]
check event-journal-on-data $? "bytes=${journal}"
main_pid="$(prop MainPID)"
user="$(ps -o user= -p "${main_pid}" | tr -d ' ')"
cwd="$(readlink "/proc/${main_pid}/cwd")"
[ "${user}" = pitrigger ] && [ "${cwd}" = /run/pitrigger ]
check unprivileged $? "user=${user} cwd=${cwd} groups=$(id -nG pitrigger | tr ' ' ,)"
libgphoto2="$(/opt/pitrigger/venv/bin/python -c \
	'import gphoto2 as g; print(g.gp_library_version(g.GP_VERSION_SHORT)[0])' 2>&1)"
say "info libgphoto2=${libgphoto2} kernel=$(uname -r)"
exposure="$(systemd-analyze security pitrigger.service 2>/dev/null | sed -n 's/.*Overall exposure level for pitrigger.service: \([0-9.]*\).*/\1/p')"
say "info exposure_in_guest_with_test_dropin=${exposure}"

# 5. A frozen daemon is restarted by the watchdog.
pid="$(prop MainPID)"
restarts="$(prop NRestarts)"
before="$(ready_count)"
kill -STOP "${pid}"
frozen_at="$(uptime_s)"
restarted() {
	local new
	new="$(prop MainPID)"
	[ "${new}" != "${pid}" ] && [ "${new}" != 0 ] && is_active && has_ready $((before + 1))
}
wait_until 300 restarted
back_at="$(uptime_s)"
watchdog_log="$(journalctl -b -u pitrigger.service -o cat --no-pager | grep -ci 'watchdog timeout')"
journalctl -b -o short-monotonic --no-pager -u pitrigger.service \
	| grep -iE 'watchdog|SIGABRT|core-dump|Fatal Python|Scheduled restart|haptic ready' | tail -8 \
	| sed 's/^/PTBT info wd /' >/dev/console
last_ready="$(journalctl -b -u pitrigger.service -o short-monotonic --no-pager \
	| grep 'haptic ready' | tail -1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/')"
[ "$(prop MainPID)" != "${pid}" ] && [ "$(prop NRestarts)" -gt "${restarts}" ] \
	&& [ "$(ready_count)" -gt "${before}" ] && [ "${watchdog_log}" -ge 1 ]
check watchdog-restart $? "frozen_at=${frozen_at}s ready_again_at=${last_ready}s \
seconds=$(echo "${last_ready} ${frozen_at}" | awk '{printf "%.1f", $1 - $2}') restarts=$(prop NRestarts) \
seen_at=${back_at}s"

finish
