#!/bin/bash
# shellcheck disable=SC2317 # functions are called through wait_until
# TEST ONLY: runs inside the booted image (as /usr/local/sbin/pitrigger-boot-test) and prints
# "PTBT ..." lines on the console for boot-test.sh: "PTBT ok NAME detail", "PTBT FAIL NAME
# detail", "PTBT info key=value ...". It ends every boot the way a user does: the power-off
# gesture (a very long hold, as raw edges on the test's button FIFO).
#
# Boot 1 (first boot: the data partition is made) runs every check, including the watchdog
# restart of a frozen daemon; boot 2 (a later boot) checks start-up again and times it.
set -uo pipefail

say() { echo "PTBT $*" >/dev/console; echo "PTBT $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -p "$1" --value pitrigger.service; }
journal() { journalctl -b -u pitrigger.service -o short-monotonic --no-pager; }
count_log() { journal | grep -c "$1"; }
button=/run/pitrigger/boot-test-button
fail=0
dump() {
	systemctl status --no-pager pitrigger.service pitrigger-virtual-camera.service \
		pitrigger-data-partition.service 2>&1 | sed 's/^/PTBT log /' >/dev/console
	journalctl -b --no-pager -n 150 -o short-monotonic 2>&1 | sed 's/^/PTBT log /' >/dev/console
}
check() { # check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" -eq 0 ]; then say "ok $1 $3"; else say "FAIL $1 $3"; fail=1; fi
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
has_log() { [ "$(count_log "$1")" -ge "$2" ]; }
mono() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e6 }'; }
first_at() { journal | grep -m1 "$1" | sed 's/^\[ *\([0-9.]*\)\].*/\1/'; }

# The power-off gesture, then wait for the board to go down (boot-test.sh sees QEMU exit).
power_off() {
	[ "${fail}" -eq 0 ] || dump
	local held_at
	held_at="$(uptime_s)"
	echo down >"${button}"
	sleep 9.5 # very_long_hold_s is 8 s in the default config
	echo up >"${button}"
	say "info gesture=very-long-hold down_at=${held_at}s"
	if wait_until 120 has_log 'haptic power-off' 1; then
		say "ok power-off-cue at=$(first_at 'haptic power-off')s"
	else
		say "FAIL power-off-cue (no 'haptic power-off' within 120 s)"
		fail=1
	fi
	say "done boot=${boot} fail=${fail}"
	sleep 240
	say "FAIL power-off the board did not power off within 240 s of the gesture"
	systemctl poweroff
	exit 1
}

# Which boot of this card: counted on the data partition (boot 2 needs it to persist).
counter=/var/lib/pitrigger/boot-test-boots
boot=$(($(cat "${counter}" 2>/dev/null || echo 0) + 1))
say "start boot=${boot} uptime=$(uptime_s)"

# 1. Active (Type=notify: active means READY=1 was sent).
wait_until 600 is_active
check active $? "state=$(prop ActiveState) sub=$(prop SubState) restarts=$(prop NRestarts)"
[ "${fail}" -eq 0 ] || power_off

# 2. `ready` against the virtual camera (the daemon plays `ready` once the camera answers).
wait_until 600 has_log 'haptic ready' 1
check ready $? "haptic_ready_at=$(first_at 'haptic ready')s"
[ "${fail}" -eq 0 ] || power_off
echo "${boot}" >"${counter}"

# 3. The config came from the FAT boot partition (the port there is the virtual camera's).
config_line="$(journalctl -b -u pitrigger.service -o cat --no-pager | grep -m1 'config: ' || true)"
fstype="$(findmnt -nro FSTYPE /boot/firmware || true)"
[ "${fstype}" = vfat ] && [[ "${config_line}" == *"/boot/firmware/pitrigger.toml"* ]] \
	&& grep -q 'ptpip:127.0.0.1:15740' /boot/firmware/pitrigger.toml
check config-from-fat $? "fstype=${fstype} log='${config_line}'"

# 4. Read-only root (overlay on a read-only lower layer), the data partition.
root_fs="$(findmnt -nro FSTYPE /)"
lower_opts="$(findmnt -nro OPTIONS /media/root-ro || true)"
[ "${root_fs}" = overlay ] && [[ ",${lower_opts}," == *",ro,"* ]] && ! touch /media/root-ro/x 2>/dev/null
check read-only-root $? "root=${root_fs} lower=${lower_opts%%,*}"
data="$(findmnt -nro SOURCE,FSTYPE,LABEL /var/lib/pitrigger || true)"
journal_bytes="$(stat -c %s /var/lib/pitrigger/journal.jsonl 2>/dev/null || echo 0)"
[[ "${data}" == *" ext4 PTDATA" ]] && [ "${journal_bytes}" -gt 0 ]
check data-partition $? "mount='${data}' event_journal_bytes=${journal_bytes}"
main_pid="$(prop MainPID)"
user="$(ps -o user= -p "${main_pid}" | tr -d ' ')"
[ "${user}" = pitrigger ]
check unprivileged $? "user=${user} groups=$(id -nG pitrigger | tr ' ' ,)"

# Times (monotonic seconds since the kernel started), and what pitrigger.service waited for.
say "info times boot=${boot} userspace_at=$(mono "$(systemctl show -p UserspaceTimestampMonotonic --value)")s \
activating_at=$(mono "$(prop InactiveExitTimestampMonotonic)")s \
ready_notified_at=$(mono "$(prop ActiveEnterTimestampMonotonic)")s \
haptic_ready_at=$(first_at 'haptic ready')s"
is_up() { case "$(systemctl is-system-running 2>/dev/null)" in running|degraded) return 0;; esac; return 1; }
wait_until 300 is_up
systemd-analyze critical-chain --no-pager pitrigger.service 2>&1 | sed 's/^/PTBT chain /' >/dev/console
say "info system_state=$(systemctl is-system-running 2>&1) failed_units=$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | paste -sd, -)"
say "info kernel=$(uname -r) libgphoto2=$(python3 -c \
	'import gphoto2 as g; print(g.gp_library_version(g.GP_VERSION_SHORT)[0])' 2>&1)"

# 5. Boot 1: a frozen daemon is restarted by its watchdog (WatchdogSec=).
if [ "${boot}" -eq 1 ]; then
	pid="$(prop MainPID)"
	restarts="$(prop NRestarts)"
	before="$(count_log 'haptic ready')"
	kill -STOP "${pid}"
	frozen_at="$(uptime_s)"
	restarted() {
		local new
		new="$(prop MainPID)"
		[ "${new}" != "${pid}" ] && [ "${new}" != 0 ] && is_active && has_log 'haptic ready' $((before + 1))
	}
	wait_until 600 restarted
	last_ready="$(journal | grep 'haptic ready' | tail -1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/')"
	watchdog_log="$(journalctl -b -u pitrigger.service -o cat --no-pager | grep -ci 'watchdog timeout')"
	[ "$(prop MainPID)" != "${pid}" ] && [ "$(prop NRestarts)" -gt "${restarts}" ] \
		&& [ "$(count_log 'haptic ready')" -gt "${before}" ] && [ "${watchdog_log}" -ge 1 ]
	check watchdog-restart $? "frozen_at=${frozen_at}s ready_again_at=${last_ready}s \
seconds=$(echo "${last_ready} ${frozen_at}" | awk '{printf "%.1f", $1 - $2}') restarts=$(prop NRestarts)"
fi

# 6. The power-off gesture powers the board off.
power_off
