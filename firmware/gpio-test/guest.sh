#!/bin/bash
# TEST ONLY: runs inside the booted image (as /usr/local/sbin/pitrigger-gpio-test) and prints
# "PTGT ..." lines on the console for firmware/gpio-test.sh:
#   PTGT info ...             the GPIO chips and who holds the button and motor lines
#   PTGT pattern NAME STEPS   each haptic pattern of the daemon's config (ms, on/off/on…)
#   PTGT idle ...             the daemon's context switches per thread over IDLE_S seconds
#   PTGT ready                the daemon is ready and idle: the host may press
#   PTGT j {json}             every record of the daemon's event journal, as it is written
#   PTGT pattern status STEPS after a status record: the status answer's steps
set -uo pipefail

IDLE_S="${IDLE_S:-30}"
# The interpreter that runs the daemon: the image's venv, or the system's (a .deb install).
python=/opt/pitrigger/venv/bin/python
[ -x "${python}" ] || python=/usr/bin/python3
journal=/var/lib/pitrigger/journal.jsonl
say() { echo "PTGT $*" >/dev/console; }
prop() { systemctl show -p "$1" --value pitrigger.service; }

end=$(($(cut -d. -f1 /proc/uptime) + 600))
until [ "$(prop ActiveState)" = active ] && [ -s "${journal}" ] \
	&& grep -q '"event":"haptic","name":"ready"' "${journal}"; do
	if [ "$(cut -d. -f1 /proc/uptime)" -ge "${end}" ]; then
		say "FAIL daemon-ready state=$(prop ActiveState)"
		journalctl -b --no-pager -n 60 -o cat -u pitrigger.service | sed 's/^/PTGT log /' >/dev/console
		exit 1
	fi
	sleep 0.5
done
pid="$(prop MainPID)"
say "info daemon pid=${pid} ready_at=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"

# Which chips the guest kernel has, and that the daemon holds the lines through gpiod.
"${python}" - <<'PY' | sed 's/^/PTGT info /' >/dev/console
import glob, gpiod
for path in sorted(glob.glob("/dev/gpiochip*")):
    with gpiod.Chip(path) as chip:
        info = chip.get_info()
        used = {o: chip.get_line_info(o) for o in range(info.num_lines)}
        held = " ".join(f"{o}:{i.consumer}:{i.direction.name.lower()}"
                        for o, i in used.items() if i.used)
        print(f"chip {path} label={info.label} lines={info.num_lines} held={held or '-'}")
print(f"gpiod {gpiod.__version__} (python3-libgpiod)")
PY
# The patterns the daemon plays, from the config it read (the host times the line by them).
"${python}" - <<'PY' | sed 's/^/PTGT /' >/dev/console
from pitrigger.config import load_config
for name, pattern in load_config("/boot/firmware/pitrigger.toml").pattern_objects().items():
    print(f"pattern {name} {','.join(str(step) for step in pattern.steps_ms)}")
PY

# Idle: context switches of every daemon thread (voluntary + involuntary) over IDLE_S s.
sleep 3
"${python}" - "${pid}" "${IDLE_S}" <<'PY' | sed 's/^/PTGT idle /' >/dev/console
import os, sys, time
pid, seconds = int(sys.argv[1]), float(sys.argv[2])
def snap():
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            status = dict(l.split(":", 1) for l in open(f"{base}/status") if ":" in l)
            comm = open(f"{base}/comm").read().strip()
            wchan = open(f"{base}/wchan").read().strip() or "-"
        except OSError:
            continue
        out[int(tid)] = (int(status["voluntary_ctxt_switches"])
                         + int(status["nonvoluntary_ctxt_switches"]), comm, wchan)
    return out
before, t0 = snap(), time.monotonic()
time.sleep(seconds)
after, elapsed = snap(), time.monotonic() - t0
total = 0.0
for tid, (n, comm, wchan) in sorted(after.items()):
    rate = (n - before.get(tid, (0,))[0]) / elapsed
    total += rate
    role = "main" if tid == pid else "thread"
    print(f"tid={tid} role={role} comm={comm} wchan={wchan} wakeups_per_s={rate:.2f}")
print(f"total seconds={elapsed:.1f} threads={len(after)} wakeups_per_s={total:.2f}")
PY

say ready
# Every journal record, from the first, as it is written (tail -F follows with inotify). A
# status answer is a pattern made for the moment: its steps are worked out here from the
# journal's status record and the config, as the daemon does, for the host to time.
tail -n +1 -F "${journal}" 2>/dev/null | "${python}" -u -c '
import json, sys
try:
    from pitrigger.config import load_config
    from pitrigger.day_setup import make_status_shape
    from pitrigger.status_code import StatusReading, encode
    shape = make_status_shape(load_config("/boot/firmware/pitrigger.toml"))
except ImportError:
    shape = None
for line in sys.stdin:
    line = line.strip()
    print("PTGT j " + line, flush=True)
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if shape is not None and record.get("event") == "status":
        reading = StatusReading(record["recording"], record["minutes"], record["warning"])
        steps = ",".join(str(step) for step in encode(reading, shape).steps_ms)
        print("PTGT pattern status " + steps, flush=True)
' >/dev/console
