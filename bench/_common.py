"""Shared helpers for the benchmarks in bench/ (plain scripts, not a package).

Every benchmark ends with ``name: value`` lines on stdout, one figure per line, so that a
run can be pasted into docs/performance.md or checked by tests/test_bench_smoke.py.
Progress and explanations go to stderr or to ``# ...`` comment lines.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from anywhere, against this checkout
    sys.path.insert(0, str(ROOT))


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def emit(name: str, value: object) -> None:
    """One ``name: value`` result line (floats with 3 significant decimals)."""
    if isinstance(value, float):
        text = "nan" if math.isnan(value) else f"{value:.3f}"
    else:
        text = str(value)
    print(f"{name}: {text}", flush=True)


def target(name: str, ok: bool, detail: str) -> None:
    """A ``target_NAME: yes/no`` line: the benchmark checks its own target, not pytest."""
    emit(f"target_{name}", "yes" if ok else "no")
    note(f"target {name}: {detail} -> {'met' if ok else 'MISSED'}")


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def machine() -> str:
    """CPU model and core count, for the record."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("model name", "Model")):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def daemon_config(path: Path, port: str, workdir: Path, *, button: str = "terminal",
                  haptics: str = "terminal", extra: str = "", camera_extra: str = "") -> Path:
    """Write a pitrigger.toml for a benchmark daemon; files go under ``workdir``.

    ``camera_extra``: more ``[camera]`` lines; ``extra``: whole sections at the end.
    """
    path.write_text(f"""
[camera]
port = "{port}"
{camera_extra}
[button]
source = "{button}"
[haptics]
sink = "{haptics}"
[journal]
path = "{workdir / 'journal.jsonl'}"
[power]
request_path = "{workdir / 'poweroff-request'}"
[daemon]
last_good_path = "{workdir / 'last-good.toml'}"
{extra}
""", encoding="utf-8")
    return path


def daemon_argv(config: Path) -> list[str]:
    """``pitrigger run`` as systemd would start it (the venv's interpreter)."""
    return [sys.executable, "-m", "pitrigger", "run", "--config", str(config)]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"]
                                     if env.get("PYTHONPATH") else "")
    env.pop("NOTIFY_SOCKET", None)  # a benchmark daemon must not talk to our systemd
    env.pop("INVOCATION_ID", None)
    env.update(extra)
    return env
