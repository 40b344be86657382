#!/usr/bin/env python3
"""Start-up: process start -> ready (camera connected, ``ready`` played), imports, peak RSS.

Runs ``python -m pitrigger run --config X`` as systemd would, against the virtual 5D Mark II
(its own process, already up), with the button on gpiozero's mock pin factory
(``GPIOZERO_PIN_FACTORY=mock``: the gpio code path, no hardware) and the terminal haptic
sink, so that the ``haptic ready`` line on stdout marks the moment the motor would start.
``ready`` is only played once the camera is connected and its state read.

Two kinds of start, alternated run by run so that both see the same machine load:

* **warm**: the config is unchanged since the last start, so the daemon starts from its
  stored validated config (``PITRIGGER_CONFIG_CACHE``, see pitrigger/config/startup.py) —
  every boot but the first after an edit;
* **cold**: the store is deleted first, so the daemon validates with pydantic and writes it.

* ``startup_ready_ms`` / ``startup_ready_cold_ms``: median over ``--runs`` of Popen -> the
  ``haptic ready`` line, warm / cold.
* ``rss_mb`` / ``rss_cold_mb``: the daemon's peak resident set (``VmHWM`` in
  /proc/PID/status) at ready, the largest over the runs.
* ``modules_at_ready`` / ``modules_at_ready_cold``, ``heavy_imports``: ``sys.modules`` at
  ready (one extra run of each kind through a tiny wrapper that dumps it when ``ready`` is
  played); heavy = numpy, PIL, picamera2.
* ``startup_cpu_ms`` / ``startup_cpu_cold_ms``: the daemon's user + system CPU time at
  ready (median): the part of the start-up that a slower CPU stretches.
* ``rss_step_*_mb``: the start-up path step by step in one fresh interpreter (interpreter,
  the daemon's imports, the config, gpiozero and the button, gphoto2, libgphoto2's camera
  libraries), VmRSS added by each step; ``rss_camlibs_ptp2_only_mb``: the last step again
  with only the ptp2 camera library in ``CAMLIBS`` (what a Canon EOS needs).
* The import-time split from ``python -X importtime`` (self time summed per group) of a warm
  run and of a cold one.

Usage: bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import selectors
import shutil
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
LAST_CPU_MS: list[float] = [0.0]  # CPU time of the last run at ready

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


# The start-up path step by step in one fresh interpreter: VmRSS and wall time after each
# step, so that the memory and time figures can be put down to their causes.
STAGES = r"""
import json, os, sys, time
t0 = time.perf_counter()
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
out = []
def step(key):
    out.append((key, rss_kb(), (time.perf_counter() - t0) * 1000))
step("interpreter")
import pitrigger.daemon
step("daemon_imports")
from pitrigger.config.startup import load_run_config
from pathlib import Path
loaded = load_run_config(sys.argv[1], under_systemd=False, store=Path(sys.argv[2]))
step("config")
from pitrigger.buttons import make_button
button = make_button(loaded.config)
step("gpiozero_button")
import gphoto2 as gp
step("gphoto2_import")
if os.environ.get("BENCH_CAMLIBS"):  # python-gphoto2 sets CAMLIBS on import: override after
    os.environ["CAMLIBS"] = os.environ["BENCH_CAMLIBS"]
abilities = gp.CameraAbilitiesList()
abilities.load()
assert abilities.lookup_model("PTP/IP Camera") >= 0, "the ptp2 camlib did not load"
step("camlibs")
print(json.dumps(out))
"""


def stages(config: Path, store: Path, env: dict[str, str]) -> list[tuple[str, int, float]]:
    """(step, VmRSS kB, ms since the interpreter was up) through the start-up path:
    interpreter, daemon_imports, config, gpiozero_button, gphoto2_import, camlibs."""
    result = subprocess.run([sys.executable, "-c", STAGES, str(config), str(store)],
                            capture_output=True, text=True, env=env, timeout=60, check=True)
    return [tuple(row) for row in json.loads(result.stdout.strip().splitlines()[-1])]


def only_ptp2_camlibs(workdir: Path) -> str:
    """A camlibs directory holding only ptp2 (the one driver a Canon EOS needs).

    The wheel's camlibs find their libraries through ``RPATH $ORIGIN/../../../gphoto2.libs``,
    so the copy sits at the same depth, next to a link to the wheel's ``gphoto2.libs``.
    """
    import gphoto2 as gp

    package = Path(gp.__file__).parent
    root = workdir / "camlibs-root"
    only = root / "gphoto2" / "libgphoto2" / "camlibs-ptp2"
    only.mkdir(parents=True, exist_ok=True)
    libs = root / "gphoto2.libs"
    if not libs.exists():
        libs.symlink_to(package.parent / "gphoto2.libs")
    target = only / "ptp2.so"
    if not target.exists():
        shutil.copy2(package / "libgphoto2" / "camlibs" / "ptp2.so", target)
    return str(only)


def cpu_ms(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat), in ms."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


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
                    LAST_CPU_MS[:] = [cpu_ms(proc.pid)]
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
        store = workdir / "config-cache.json"
        env = child_env(GPIOZERO_PIN_FACTORY="mock", PITRIGGER_CONFIG_CACHE=str(store))
        cmd = daemon_argv(config)
        subprocess.run([*cmd[:1], "-c", "import pitrigger.cli"], env=env, check=True)  # warm

        def start(kind: str, argv: list[str], run_env: dict[str, str]
                  ) -> tuple[float, int, str]:
            if kind == "cold":
                store.unlink(missing_ok=True)
            elif not store.exists():
                run_once(argv, run_env)  # writes the store
            result = run_once(argv, run_env)
            if not store.exists():
                raise SystemExit(f"the {kind} run left no config store at {store}")
            # The daemon's own log line says which way it went; a warm run that validated
            # (or a cold one that did not) would measure the wrong thing.
            expected = "(unchanged, from the store)" if kind == "warm" else "(validated)"
            if expected not in result[2]:
                raise SystemExit(f"the {kind} run did not log {expected!r}:\n"
                                 f"{result[2][-2000:]}")
            return result

        times: dict[str, list[float]] = {"warm": [], "cold": []}
        peaks: dict[str, list[int]] = {"warm": [], "cold": []}
        cpu: dict[str, list[float]] = {"warm": [], "cold": []}
        for i in range(args.runs):
            for kind in ("cold", "warm"):
                ms, rss, _ = start(kind, cmd, env)
                times[kind].append(ms)
                peaks[kind].append(rss)
                cpu[kind].append(LAST_CPU_MS[0])
                progress(f"run {i + 1}/{args.runs} {kind}: ready after {ms:.0f} ms, "
                         f"VmHWM {rss} kB")
        modules: dict[str, list[str]] = {}
        memory: dict[str, dict[str, int]] = {}
        split: dict[str, tuple[dict[str, float], float]] = {}
        for kind in ("cold", "warm"):
            modules_file = workdir / f"modules-{kind}.json"
            env_modules = dict(env, PITRIGGER_BENCH_MODULES=str(modules_file))
            start(kind, [cmd[0], "-c", WRAPPER, *cmd[3:]], env_modules)
            modules[kind] = json.loads(modules_file.read_text())
            memory[kind] = dict(LAST_SPLIT)
            if kind == "cold":
                store.unlink(missing_ok=True)
            split[kind] = import_split(cmd, env)
        store.unlink(missing_ok=True)
        staged = {"cold": stages(config, store, env), "warm": stages(config, store, env)}
        staged["warm, ptp2 camlib only"] = stages(
            config, store, dict(env, BENCH_CAMLIBS=only_ptp2_camlibs(workdir)))

    heavy = sorted({m.split(".")[0] for m in modules["warm"] + modules["cold"]} & set(HEAVY))
    note(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    note(f"{args.runs} runs of each kind, alternated; ready = the 'haptic ready' line "
         "(camera connected, state read)")
    for kind in ("warm", "cold"):
        note(f"startup runs, {kind} (ms): {', '.join(f'{t:.0f}' for t in times[kind])}")
    for kind in ("warm", "cold"):
        tops = sorted({m.split(".")[0] for m in modules[kind] if not m.startswith("_")})
        note(f"modules at ready, {kind}: {len(modules[kind])}; top-level: {', '.join(tops)}")
    only_cold = sorted({m.split(".")[0] for m in modules["cold"]}
                       - {m.split(".")[0] for m in modules["warm"]})
    note(f"top-level modules only a cold start imports: {', '.join(only_cold) or 'none'}")
    note("import time (python -X importtime, self time summed per group, one run each), ms:")
    for kind, suffix in (("warm", ""), ("cold", "_cold")):
        groups, total = split[kind]
        for name, ms in groups.items():
            emit(f"import_{name.split()[0]}{suffix}_ms", round(ms, 1))
        emit(f"import_total{suffix}_ms", round(total, 1))
    for kind in ("warm", "cold"):
        note(f"memory at ready, {kind} (kB): "
             + ", ".join(f"{k} {v}" for k, v in memory[kind].items()))
    note("(RssFile = shared library and file pages, shared with other processes)")
    note("the start-up path step by step in a fresh interpreter (VmRSS after the step, "
         "ms since start):")
    for kind, rows in staged.items():
        note(f"  {kind}: " + "; ".join(f"{key} {kb / 1024:.1f} MB @ {ms:.0f} ms"
                                        for key, kb, ms in rows))
    for kind, suffix in (("warm", ""), ("cold", "_cold")):
        rows = staged[kind]
        emit(f"rss_step_interpreter{suffix}_mb", round(rows[0][1] / 1024, 1))
        for (_, before, _), (key, after, _) in itertools.pairwise(rows):
            emit(f"rss_step_{key}{suffix}_mb", round((after - before) / 1024, 1))
    camlibs_all = staged["warm"][-1][1] - staged["warm"][-2][1]
    camlibs_ptp2 = staged["warm, ptp2 camlib only"][-1][1] - staged["warm, ptp2 camlib only"][-2][1]
    emit("rss_camlibs_all_mb", round(camlibs_all / 1024, 1))
    emit("rss_camlibs_ptp2_only_mb", round(camlibs_ptp2 / 1024, 1))
    emit("modules_at_ready", len(modules["warm"]))
    emit("modules_at_ready_cold", len(modules["cold"]))
    ready = statistics.median(times["warm"])
    cold = statistics.median(times["cold"])
    rss_mb = max(peaks["warm"]) / 1024
    emit("startup_ready_min_ms", round(min(times["warm"]), 1))
    emit("startup_ready_ms", round(ready, 1))
    emit("startup_ready_cold_ms", round(cold, 1))
    emit("startup_cold_over_warm", round(cold / ready, 2))
    # CPU time is what scales with a slower processor; the rest of the wall time is waiting
    # (the camera's replies, the scheduler of this shared machine).
    emit("startup_cpu_ms", round(statistics.median(cpu["warm"]), 1))
    emit("startup_cpu_cold_ms", round(statistics.median(cpu["cold"]), 1))
    emit("rss_mb", round(rss_mb, 1))
    emit("rss_cold_mb", round(max(peaks["cold"]) / 1024, 1))
    emit("heavy_imports", ",".join(heavy) if heavy else "none")
    target("startup", ready <= 200 and not heavy,
           f"startup_ready_ms {ready:.0f} <= 200 with no heavy imports ({heavy or 'none'})")
    target("rss", rss_mb <= 35, f"rss_mb {rss_mb:.1f} <= 35")
    return 0


if __name__ == "__main__":
    sys.exit(main())
