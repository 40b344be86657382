#!/usr/bin/env python3
"""Idle: CPU and wake-ups of the daemon with the camera connected and nothing happening.

Runs the daemon against the virtual 5D Mark II with the default GPIO path — the ``gpiod``
button and motor — on this machine, which has no gpiochip: gpiod's ``request_lines`` is the
tests' pipe-backed stand-in (bench/_gpiod_standin_daemon.py), so the button's reader thread
really blocks in ``select()`` as it does on a Pi's gpiochip descriptor. ``--gpio gpiozero``
runs the old path (gpiozero on its mock pin factory) instead. After ``ready`` has played
(journal) and 2 s of settling, it measures ``--seconds`` (default 60) per poll interval:

* ``idle_cpu_percent``: user + system CPU time of the daemon process (all threads, from
  ``/proc/PID/stat`` utime + stime, 10 ms ticks) over the wall time.
* ``idle_wakeups_per_s``: voluntary + involuntary context switches summed over all its
  threads (``/proc/PID/task/*/status``) per second. Every time a thread blocks (a timed
  queue wait expiring, a socket read) and is woken again counts one; on a Pi Zero each
  of these is a CPU wake-up that costs battery. Per-thread figures follow, with the
  kernel's thread name (the gpiod reader names itself ``gpiod-button``) and where it
  sleeps (``wchan``).
* ``idle_voluntary_wakeups_per_s``: the voluntary switches alone. Involuntary ones are
  preemptions by other load on this shared machine (a thread that was already awake);
  on an otherwise idle Pi they should be near zero.
* ``gpio_wakeups_per_s``: the gpiod reader thread's share (target 0).
* The camera's count of GetEvent operations in the same window, as a cross-check.

``--poll-intervals 0.5,2.5`` measures each ``[camera] idle_poll_interval_s`` in turn, side by
side in one run (the first is the headline figure): the event poll is both what keeps a 5D
Mark II awake (libgphoto2 sends KeepDeviceOn only from wait_for_event, at most every 10 s)
and how soon a stop made on the camera itself is noticed (at worst one interval later).

Usage: bench/idle.py [--seconds S] [--poll-intervals A,B,...] [--gpio gpiod|gpiozero]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def thread_names(pid: int) -> dict[int, tuple[str, str]]:
    """Per thread id: (kernel thread name, wait channel)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/comm", encoding="ascii") as f:
                comm = f.read().strip()
            with open(f"{base}/wchan", encoding="ascii") as f:
                wchan = f.read().strip() or "-"
        except OSError:
            continue
        out[int(tid)] = (comm, wchan)
    return out


@dataclass
class Run:
    pid: int
    elapsed: float
    per_thread: dict[int, tuple[float, float]]  # tid: (voluntary, involuntary) per second
    names: dict[int, tuple[str, str]]  # tid: (comm, wchan)
    gpio_threads: list[int]
    cpu_seconds: float
    getevent_per_s: float

    @property
    def wakeups(self) -> float:
        return sum(v + i for v, i in self.per_thread.values())

    @property
    def voluntary_wakeups(self) -> float:
        """Only the times a thread blocked and was woken (preemptions by other load aside)."""
        return sum(v for v, _ in self.per_thread.values())

    @property
    def gpio_wakeups(self) -> float:
        return sum(sum(self.per_thread.get(tid, (0.0, 0.0))) for tid in self.gpio_threads)


def measure(cam: Any, workdir: Path, gpio: str, poll_interval_s: float,
            seconds: float) -> Run:
    """One daemon, idle for ``seconds``: its figures (see the module docstring)."""
    adapter = "gpiod" if gpio == "gpiod" else "gpio"
    config = daemon_config(workdir / "pitrigger.toml", cam.port_string, workdir,
                           button=adapter, haptics=adapter)
    text = config.read_text(encoding="utf-8").replace(
        "[camera]\n", f"[camera]\nidle_poll_interval_s = {poll_interval_s}\n", 1)
    config.write_text(text, encoding="utf-8")
    if gpio == "gpiod":
        argv = [sys.executable, str(Path(__file__).with_name("_gpiod_standin_daemon.py")),
                "--config", str(config)]
        env = child_env()
    else:
        argv = daemon_argv(config)
        env = child_env(GPIOZERO_PIN_FACTORY="mock")
    journal = workdir / "journal.jsonl"
    journal.unlink(missing_ok=True)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    control = cam.control
    try:
        deadline = time.monotonic() + 30
        while not (journal.exists() and any(
                r.get("event") == "haptic" and r.get("name") == "ready"
                for r in read_journal(journal))):
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                _, err = proc.communicate()
                raise SystemExit("daemon did not get ready:\n" + err.decode()[-2000:])
            time.sleep(0.05)
        time.sleep(2.0)  # the ready pattern plays out; start-up work is done
        ops_before = control.state()["operations"].get("EOS_GET_EVENT", 0)
        cpu_before, sw_before = cpu_seconds(proc.pid), switches(proc.pid)
        started = time.monotonic()
        progress(f"measuring {seconds:.0f} s of idle, {gpio}, idle_poll_interval_s "
                 f"{poll_interval_s} (pid {proc.pid})")
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu_after, sw_after = cpu_seconds(proc.pid), switches(proc.pid)
        names = thread_names(proc.pid)
        ops_after = control.state()["operations"].get("EOS_GET_EVENT", 0)
        recording = control.state()["recording"]
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
    gpio_threads = [tid for tid, (comm, _) in names.items() if comm == "gpiod-button"]
    return Run(proc.pid, elapsed, per_thread, names, gpio_threads, cpu_after - cpu_before,
               (ops_after - ops_before) / elapsed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll-intervals", default="",
                        help="comma-separated idle_poll_interval_s values (default: the config's)")
    parser.add_argument("--gpio", choices=("gpiod", "gpiozero"), default="gpiod")
    args = parser.parse_args(argv)

    from pitrigger.config import Config
    from pitrigger.virtualcam import spawn

    default_poll = Config().camera.idle_poll_interval_s
    intervals = [float(x) for x in args.poll_intervals.split(",") if x.strip()] or [default_poll]
    runs = []
    with tempfile.TemporaryDirectory(prefix="pitrigger-bench-") as tmp, spawn() as cam:
        for interval in intervals:
            runs.append((interval, measure(cam, Path(tmp), args.gpio, interval, args.seconds)))

    note(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    note(f"GPIO path: {args.gpio}"
         + (" (gpiod adapters; request_lines = the pipe-backed stand-in, real select())"
            if args.gpio == "gpiod" else " (gpiozero mock pin factory)"))
    note("wake-ups = voluntary + involuntary context switches of every thread, per second")
    for interval, run in runs:
        note(f"idle_poll_interval_s {interval}: {run.elapsed:.1f} s idle, camera connected; "
             f"a stop made on the camera is noticed at worst {interval} s later")
        for tid, (vol, invol) in sorted(run.per_thread.items(), key=lambda kv: -sum(kv[1])):
            comm, wchan = run.names.get(tid, ("?", "?"))
            role = "main thread (daemon loop)" if tid == run.pid else f"thread {comm}"
            note(f"  tid {tid} {role}, sleeps in {wchan}: {vol:.2f} voluntary + "
                 f"{invol:.2f} involuntary /s")
    first_interval, first = runs[0]
    cpu_percent = first.cpu_seconds / first.elapsed * 100
    emit("threads", len(first.per_thread))
    emit("idle_poll_interval_s", first_interval)
    emit("camera_getevent_per_s", round(first.getevent_per_s, 2))
    emit("idle_cpu_seconds", round(first.cpu_seconds, 2))
    emit("idle_cpu_percent", round(cpu_percent, 3))
    emit("idle_wakeups_per_s", round(first.wakeups, 2))
    emit("idle_voluntary_wakeups_per_s", round(first.voluntary_wakeups, 2))
    if args.gpio == "gpiod":
        emit("gpio_wakeups_per_s", round(first.gpio_wakeups, 2))
    for interval, run in runs[1:]:
        emit(f"idle_wakeups_per_s_poll_{interval:g}", round(run.wakeups, 2))
        emit(f"idle_voluntary_wakeups_per_s_poll_{interval:g}",
             round(run.voluntary_wakeups, 2))
        emit(f"camera_getevent_per_s_poll_{interval:g}", round(run.getevent_per_s, 2))
    target("idle_cpu", cpu_percent <= 0.5, f"idle_cpu_percent {cpu_percent:.3f} <= 0.5")
    if args.gpio == "gpiod":
        found = bool(first.gpio_threads)
        target("gpio_zero_wakeups", found and first.gpio_wakeups == 0,
               f"gpiod-button thread {'found' if found else 'NOT FOUND'}, "
               f"{first.gpio_wakeups:.2f} wake-ups/s == 0")
    target("idle_wakeups", first.wakeups <= 3,
           f"idle_wakeups_per_s {first.wakeups:.2f} <= 3 (idle_poll_interval_s {first_interval})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
