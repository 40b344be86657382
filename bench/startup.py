#!/usr/bin/env python3
"""Start-up: process start -> ready (camera connected, ``ready`` played), imports, peak RSS.

Runs ``python -m pitrigger run --config X`` as systemd would, against the virtual 5D Mark II
(its own process, already up), with the button on gpiozero's mock pin factory
(``GPIOZERO_PIN_FACTORY=mock``: the gpio code path, no hardware) and the terminal haptic
sink, so that the ``haptic ready`` line on stdout marks the moment the motor would start.
``ready`` is only played once the camera is connected and its state read.

* ``startup_ready_ms``: median over ``--runs`` of Popen -> the ``haptic ready`` line.
* ``rss_mb``: the daemon's peak resident set (``VmHWM`` in /proc/PID/status) at ready.
* ``heavy_imports``: numpy, PIL and picamera2 found in ``sys.modules`` at ready (one extra
  run through a tiny wrapper that dumps ``sys.modules`` when ``ready`` is played).
* The import-time split from ``python -X importtime`` (cumulative, of the whole chain) for
  pydantic, gphoto2 and gpiozero, and for pitrigger's own modules.

Usage: bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    child_env,
    daemon_argv,
    daemon_config,
    emit,
    machine,
    note,
    progress,
    target,
)

HEAVY = ("numpy", "PIL", "picamera2")
LAST_SPLIT: dict[str, int] = {}  # /proc status memory fields of the last run at ready

# Runs the daemon exactly like `python -m pitrigger run`, and writes sys.modules to a file
# the moment the `ready` pattern starts (the only difference from a plain run).
WRAPPER = """
import json, os, sys
import pitrigger.motors as motors
_out = os.environ["PITRIGGER_BENCH_MODULES"]
_orig = motors.TerminalMotor.pattern_started
def _hooked(self, name):
    if name == "ready" and not os.path.exists(_out):
        with open(_out, "w") as f:
            json.dump(sorted(sys.modules), f)
    _orig(self, name)
motors.TerminalMotor.pattern_started = _hooked
from pitrigger.cli import main
sys.exit(main(sys.argv[1:]))
"""


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_once(argv: list[str], env: dict[str, str], timeout: float = 20.0
             ) -> tuple[float, int, str]:
    """Start the daemon, wait for ``haptic ready``; (ms, peak RSS kB, stderr), then stop it."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    buffer = b""
    ready_ms = None
    rss = 0
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while ready_ms is None:
                left = started + timeout - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise SystemExit("daemon did not play 'ready'")
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    raise SystemExit(f"daemon exited: {proc.stderr.read().decode()[-2000:]}")
                buffer += chunk
                if b"haptic ready" in buffer:
                    ready_ms = (time.monotonic() - started) * 1000
                    rss = vm_hwm_kb(proc.pid)
                    LAST_SPLIT.clear()
                    LAST_SPLIT.update(rss_split_kb(proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    return ready_ms, rss, err.decode("utf-8", "replace")


# Import-time groups: a package and the packages only it pulls in.
GROUPS = {
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection",
                 "typing_extensions"),
    "gphoto2": ("gphoto2", "swig_runtime_data5"),
    "gpiozero": ("gpiozero", "colorzero"),
    "pitrigger": ("pitrigger",),
}


def import_split(argv: list[str], env: dict[str, str]) -> tuple[dict[str, float], float]:
    """Self import ms summed per group (``-X importtime`` of a real run), and the total.

    Self time, not cumulative: pydantic loads lazily, so most of its cost is paid inside
    ``pitrigger.config`` (building the models' validators), which is counted there.
    """
    _, _, err = run_once([argv[0], "-X", "importtime", *argv[1:]], env)
    groups = dict.fromkeys([*GROUPS, "stdlib and other"], 0.0)
    total = 0.0
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if not own.isdigit():
            continue
        ms = int(own) / 1000
        total += ms
        top = name.split(".")[0]
        group = next((g for g, tops in GROUPS.items() if top in tops), "stdlib and other")
        groups[group] += ms
    return groups, total


def rss_split_kb(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0])
    return fields


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    from pitrigger.virtualcam import spawn

    with tempfile.TemporaryDirectory(prefix="pitrigger-bench-") as tmp, spawn() as cam:
        workdir = Path(tmp)
        config = daemon_config(workdir / "pitrigger.toml", cam.port_string, workdir,
                               button="gpio", haptics="terminal")
        env = child_env(GPIOZERO_PIN_FACTORY="mock")
        cmd = daemon_argv(config)
        subprocess.run([*cmd[:1], "-c", "import pitrigger.cli"], env=env, check=True)  # warm
        times, peaks = [], []
        for i in range(args.runs):
            ms, rss, _ = run_once(cmd, env)
            times.append(ms)
            peaks.append(rss)
            progress(f"run {i + 1}/{args.runs}: ready after {ms:.0f} ms, VmHWM {rss} kB")
        modules_file = workdir / "modules.json"
        env_modules = dict(env, PITRIGGER_BENCH_MODULES=str(modules_file))
        run_once([cmd[0], "-c", WRAPPER, *cmd[3:]], env_modules)
        modules: list[str] = json.loads(modules_file.read_text())
        memory = dict(LAST_SPLIT)
        split, import_total = import_split(cmd, env)

    heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    note(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    note(f"{args.runs} runs; ready = the 'haptic ready' line (camera connected, state read)")
    note(f"startup runs (ms): {', '.join(f'{t:.0f}' for t in times)}")
    note(f"modules at ready: {len(modules)}; top-level: "
         f"{', '.join(sorted({m.split('.')[0] for m in modules if not m.startswith('_')}))}")
    note("import time (python -X importtime, self time summed per group, one run), ms:")
    for name, ms in split.items():
        emit(f"import_{name.split()[0]}_ms", round(ms, 1))
    emit("import_total_ms", round(import_total, 1))
    note("memory at ready (kB): " + ", ".join(f"{k} {v}" for k, v in memory.items())
         + " (RssFile = shared library and file pages, shared with other processes)")
    emit("modules_at_ready", len(modules))
    ready = statistics.median(times)
    rss_mb = max(peaks) / 1024
    emit("startup_ready_min_ms", round(min(times), 1))
    emit("startup_ready_ms", round(ready, 1))
    emit("rss_mb", round(rss_mb, 1))
    emit("heavy_imports", ",".join(heavy) if heavy else "none")
    target("startup", ready <= 500 and not heavy,
           f"startup_ready_ms {ready:.0f} <= 500 with no heavy imports ({heavy or 'none'})")
    target("rss", rss_mb <= 40, f"rss_mb {rss_mb:.1f} <= 40")
    return 0


if __name__ == "__main__":
    sys.exit(main())
