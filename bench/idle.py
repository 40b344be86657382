#!/usr/bin/env python3
"""Idle: CPU and wake-ups of the daemon with the camera connected and nothing happening.

Runs ``python -m pitrigger run`` (gpio button and motor on gpiozero's mock pin factory, the
code path of the Pi without hardware) against the virtual 5D Mark II, waits until ``ready``
has played (journal), lets it settle for 2 s, then measures ``--seconds`` (default 60):

* ``idle_cpu_percent``: user + system CPU time of the daemon process (all threads, from
  ``/proc/PID/stat`` utime + stime, 10 ms ticks) over the wall time.
* ``idle_wakeups_per_s``: voluntary + involuntary context switches summed over all its
  threads (``/proc/PID/task/*/status``) per second. Every time a thread blocks (a timed
  queue wait expiring, a socket read) and is woken again counts one; on a Pi Zero each
  of these is a CPU wake-up that costs battery. Per-thread figures follow (the main
  thread is the daemon loop, which should sleep; the camera worker polls GetEvent every
  ``poll_interval_s`` — that poll is also what keeps a real 5D awake).
* The camera's count of GetEvent operations in the same window, as a cross-check.

Usage: bench/idle.py [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import child_env, daemon_argv, daemon_config, emit, machine, note, progress, target

from pitrigger.journal import read_journal

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / TICK


def switches(pid: int) -> dict[int, tuple[int, int]]:
    """Per thread id: (voluntary, involuntary) context switches so far."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
                values = {k: v for k, _, v in (line.partition(":") for line in f)}
        except FileNotFoundError:
            continue
        out[int(tid)] = (int(values["voluntary_ctxt_switches"]),
                         int(values["nonvoluntary_ctxt_switches"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)

    from pitrigger.virtualcam import spawn

    with tempfile.TemporaryDirectory(prefix="pitrigger-bench-") as tmp, spawn() as cam:
        workdir = Path(tmp)
        config = daemon_config(workdir / "pitrigger.toml", cam.port_string, workdir,
                               button="gpio", haptics="gpio")
        proc = subprocess.Popen(daemon_argv(config), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=child_env(GPIOZERO_PIN_FACTORY="mock"))
        try:
            journal = workdir / "journal.jsonl"
            deadline = time.monotonic() + 20
            while not (journal.exists() and any(
                    r.get("event") == "haptic" and r.get("name") == "ready"
                    for r in read_journal(journal))):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("daemon did not get ready")
                time.sleep(0.05)
            time.sleep(2.0)  # the ready pattern plays out; start-up work is done
            ops_before = cam.control.state()["operations"].get("EOS_GET_EVENT", 0)
            cpu_before, sw_before = cpu_seconds(proc.pid), switches(proc.pid)
            started = time.monotonic()
            progress(f"measuring {args.seconds:.0f} s of idle (pid {proc.pid})")
            time.sleep(args.seconds)
            elapsed = time.monotonic() - started
            cpu_after, sw_after = cpu_seconds(proc.pid), switches(proc.pid)
            ops_after = cam.control.state()["operations"].get("EOS_GET_EVENT", 0)
            recording = cam.control.state()["recording"]
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()

    if recording:
        raise SystemExit("the camera started recording during the idle benchmark")
    per_thread = {}
    for tid, (vol, invol) in sw_after.items():
        v0, i0 = sw_before.get(tid, (0, 0))
        per_thread[tid] = ((vol - v0) / elapsed, (invol - i0) / elapsed)
    wakeups = sum(v + i for v, i in per_thread.values())
    cpu_percent = (cpu_after - cpu_before) / elapsed * 100
    note(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    note(f"{elapsed:.1f} s idle, camera connected, poll_interval_s 0.5 (default)")
    note("wake-ups = voluntary + involuntary context switches of every thread, per second")
    for tid, (vol, invol) in sorted(per_thread.items(), key=lambda kv: -sum(kv[1])):
        role = "main thread (daemon loop)" if tid == proc.pid else "thread"
        note(f"  tid {tid} {role}: {vol:.2f} voluntary + {invol:.2f} involuntary /s")
    emit("threads", len(per_thread))
    emit("camera_getevent_per_s", round((ops_after - ops_before) / elapsed, 2))
    emit("idle_cpu_seconds", round(cpu_after - cpu_before, 2))
    emit("idle_cpu_percent", round(cpu_percent, 3))
    emit("idle_wakeups_per_s", round(wakeups, 2))
    target("idle_cpu", cpu_percent <= 0.5, f"idle_cpu_percent {cpu_percent:.3f} <= 0.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
