#!/usr/bin/env python3
"""Soak: thousands of bouncy presses against a faulty virtual 5D, with kill -9 restarts.

The daemon runs as systemd would run it — ``pitrigger run --config soak.toml``, a real
subprocess — with ``[button] source = "terminal"`` (the harness writes raw ``down``/``up``
lines, with contact bounce, to its stdin) and ``[haptics] sink = "terminal"`` (the harness
reads the ``haptic NAME`` lines it prints: what the user would feel). The virtual 5D Mark II
runs in its own process and injects faults. The harness presses in *bursts* of 1–5 presses
at human-like timings (gaps 150–600 ms, holds 60–200 ms, skewed towards the quick end),
then waits for a *quiet period* (no input until the daemon and the motor have settled) and
checks the books.

What the harness knows for certain (the truth):

* the presses it made; the camera's own counters ``record_starts`` / ``record_stops`` and its
  clip list with each clip's ``stop_reason`` (``host`` = stopped by a PTP/IP command);
* what it did to the camera itself: body-button presses, clip limits, power cycles,
  auto power-off, drops, stalls, busy answers, and ``kill -9`` of the daemon;
* a timeline of the camera's ``recording`` flag, sampled every ~40 ms by a monitor thread.

The accounting, per burst (from one settled quiet period to the next):

* ``host toggles`` H = camera starts not made by the harness's body-button presses +
  clips whose ``stop_reason`` is ``host``. Every one of them must come from a press.
* ``coalesced`` K = journal ``pending`` records with ``pending_toggle: false``: a second
  press made while the first one's command was still in flight cancels it (the controller's
  documented rule: a press made in flight is remembered as a toggle of the target state).
  They are reported, not counted as errors.
* A press answered with ``busy``, ``error`` or ``no-camera`` was refused *and the user was
  told*: it is not lost. Bursts with such a cue, a camera-side change (clip limit, body
  button, power off, auto power-off, drop, stall) or a kill are *eventful*.
* ``lost_toggles``: in a burst that is not eventful, presses without a camera toggle
  (P − 2K − H when positive); in any burst, a press the daemon did not recognise as one
  ``press`` (journal ``gesture`` records) counts too.
* ``phantom_toggles``: H − (P − 2K) when positive in a burst that is not eventful, H − P
  when positive in an eventful one (a toggle no press asked for), plus extra ``press``
  gestures recognised from bounce.
* ``false_recording_cues``: a ``recording`` pattern for which the camera was not recording
  at any moment between the controller's decision (its journal ``state: recording``
  record) and the pattern's start; and, at each quiet period, a user whose last
  state-bearing cue (``recording``; ``stopped``/``ready`` = not recording) says recording
  while the camera is not.
* ``state_mismatches``: at each quiet period, the daemon's belief (its journal's last
  ``state`` record) differs from the camera's real ``recording``, or the quiet period never
  came (20 s), or the user's last cue says not recording while the camera records.
* ``daemon_deaths``: the daemon exited without being killed by the harness.
* After each ``kill -9`` the journal must stay readable (``read_journal``) and the restarted
  daemon must adopt the camera's real state (checked at the next quiet period).

The soak config shortens the haptic patterns (20–60 ms steps, 20 ms gap) so that the motor
goes quiet quickly; the soak is about the press path and the books, not the vocabulary.

Usage: bench/soak.py [--presses N] [--seed S] [--jobs J] [--kill-rate R] [--fault-rate R]
``--jobs`` runs J independent daemon + camera pairs side by side, splitting the presses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from _common import child_env, daemon_argv, daemon_config, emit, machine, note, progress

from pitrigger.journal import read_journal
from pitrigger.virtualcam import ControlClient, VirtualCamera, spawn

SOAK_EXTRA = """
[camera]
busy_retry_s = 0.6
reconnect_min_s = 0.2
reconnect_max_s = 1.0
[haptics]
min_gap_ms = 20
[patterns]
# As short as the pattern rules of docs/haptics.md allow (pulses >= 50 ms, gaps >= 100 ms).
ready = { steps_ms = [50, 100, 50] }
recording = { steps_ms = [60] }
stopped = { steps_ms = [50, 100, 50] }
error = { steps_ms = [50, 100, 50, 100, 50] }
no-camera = { steps_ms = [60, 100, 50, 100, 50] }
busy = { steps_ms = [50, 120, 50] }
tick = { steps_ms = [50] }
power-off = { steps_ms = [60, 100, 60, 100, 60] }
focus = { steps_ms = [50] }
"""
REFUSALS = ("busy", "error", "no-camera")

# `pitrigger run`, with the harness's input pipe moved off fd 0 first. libgphoto2's
# camera.exit() closes fd 0 and the terminal button's reader thread then dies on EBADF,
# after which every press is ignored (found by this soak; tests/test_regressions.py,
# xfail until buttons.py is fixed). --plain-stdin runs the daemon unchanged to show it.
STDIN_OFF_FD0 = """
import fcntl, os, sys
fd = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 64)
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
sys.stdin = open(fd, encoding="utf-8")
from pitrigger.cli import main
sys.exit(main(sys.argv[1:]))
"""
SETTLE_TIMEOUT_S = 20.0
QUIET_S = 0.35  # no journal record and no pattern for this long = the daemon has settled
QUIET_S_AFTER_FAULT = 1.2  # more than the daemon's event poll (0.5 s) + first reconnect
RESET_EVERY = 40  # bursts between card swaps (keeps the camera's clip list, and its state, small)


def merge_config(base: str, extra: str) -> str:
    """Append ``extra``'s keys into ``base``'s tables (TOML forbids repeating a table)."""
    tables: dict[str, list[str]] = {}
    order: list[str] = []
    for text in (base, extra):
        current = ""
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped
                if current not in tables:
                    tables[current] = []
                    order.append(current)
            elif stripped:
                tables.setdefault(current, []).append(line)
                if current not in order:
                    order.append(current)
    return "\n".join(f"{name}\n" + "\n".join(tables[name]) for name in order) + "\n"


class LockedControl:
    """The camera's control client, shared by the harness and its fault timers."""

    def __init__(self, cam: VirtualCamera) -> None:
        self._client = ControlClient(cam.host, cam.control_port)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


class JournalTail:
    """Reads new complete journal lines, following the daemon's rotation to ``.1``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._partial = ""
        self.torn = 0

    def read(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self._file is None:
            if not self.path.exists():
                return out
            self._file = open(self.path, encoding="utf-8", errors="replace")  # noqa: SIM115
        while True:
            out += self._drain()
            try:
                rotated = os.stat(self.path).st_ino != os.fstat(self._file.fileno()).st_ino
            except FileNotFoundError:
                rotated = False
            if not rotated:
                return out
            out += self._drain()  # the old file (now .1) to its end, then the new one
            self._file.close()
            self._file = open(self.path, encoding="utf-8", errors="replace")  # noqa: SIM115
            self._partial = ""

    def _drain(self) -> list[dict[str, Any]]:
        assert self._file is not None
        data = self._partial + self._file.read()
        lines = data.split("\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                self.torn += 1  # a line cut by kill -9 and glued to the next one
                continue
            if isinstance(record, dict):
                out.append(record)
        return out


class Monitor(threading.Thread):
    """Samples the camera's recording flag and start counter every ~40 ms."""

    def __init__(self, cam: VirtualCamera) -> None:
        super().__init__(name="monitor", daemon=True)
        self.client = ControlClient(cam.host, cam.control_port)
        self.samples: list[tuple[float, bool, int, int]] = []  # (t, recording, starts, epoch)
        self.epoch = 0  # bumped at each card swap (the counters restart)
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.04):
            try:
                state = self.client.state()
            except Exception:  # the camera is being reset: try again
                continue
            with self.lock:
                self.samples.append((time.monotonic(), bool(state["recording"]),
                                     int(state["record_starts"]), self.epoch))

    def recording_between(self, start: float, end: float) -> bool | None:
        """Was the camera recording at some moment in [start, end]? None: no evidence."""
        with self.lock:
            samples = list(self.samples)
        before = [s for s in samples if s[0] < start]
        inside = [s for s in samples if start <= s[0] <= end]
        after = [s for s in samples if s[0] > end]
        if any(s[1] for s in inside):
            return True
        edges = before[-1:] + inside + after[:1]
        if len(edges) < 2 or edges[0][3] != edges[-1][3]:
            return None
        # Recording at the sample just before the window (a stop takes a sample to show),
        # or a start between the samples around the window.
        return bool(edges[0][1] or edges[-1][2] != edges[0][2])

    def forget_before(self, t: float) -> None:
        with self.lock:
            keep = [s for s in self.samples if s[0] >= t - 5.0]
            self.samples = keep


@dataclass
class Books:
    presses: int = 0
    bursts: int = 0
    eventful_bursts: int = 0
    lost_toggles: int = 0
    phantom_toggles: int = 0
    false_recording_cues: int = 0
    daemon_deaths: int = 0
    state_mismatches: int = 0
    coalesced: int = 0
    host_toggles: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    adoptions_checked: int = 0
    journal_torn_lines: int = 0
    journal_unreadable: int = 0
    haptic_log_mismatches: int = 0
    thread_deaths: int = 0
    cues_unchecked: int = 0
    problems: list[str] = field(default_factory=list)
    job: int = 0

    def problem(self, text: str) -> None:
        text = f"job {self.job}: {text}"
        if len(self.problems) < 200:
            self.problems.append(text)
        progress(f"PROBLEM {text}")


class Harness:
    """One virtual camera, one daemon subprocess, one random stream of presses and faults."""

    def __init__(self, index: int, presses: int, seed: int, workdir: Path,
                 kill_rate: float, fault_rate: float, plain_stdin: bool = False) -> None:
        self.plain_stdin = plain_stdin
        self.index = index
        self.target_presses = presses
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.kill_rate = kill_rate
        self.fault_rate = fault_rate
        self.books = Books(job=index)
        self.cam: VirtualCamera | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.haptics: list[tuple[float, str]] = []  # (t read, name) from the daemon's stdout
        self.haptic_lock = threading.Lock()
        self.haptic_read = 0
        self.user_belief: bool | None = None  # what the user's last state cue told them
        self.killed_by_us = False
        self.lives = 0

    # -- processes ---------------------------------------------------------------------

    def start_daemon(self) -> None:
        assert self.cam is not None
        self.lives += 1
        log = open(self.workdir / "daemon.log", "ab")  # noqa: SIM115 - child's stderr
        argv = daemon_argv(self.config)
        if not self.plain_stdin:
            argv = [argv[0], "-c", STDIN_OFF_FD0, *argv[3:]]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, env=child_env())
        log.close()
        self.killed_by_us = False
        # Until the new daemon journals what the camera is doing, its belief is unknown:
        # the quiet period must not come before it is up (presses sent to a daemon still
        # starting sit in the pipe and arrive later as one squeezed burst of edges). The
        # old daemon's last records may still be unread: only the new pid's count.
        self._last_state_record = "no-camera"
        self._awaiting_pid: int | None = self.proc.pid
        threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True).start()

    def _read_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").split()
            if len(line) >= 2 and line[0] == "haptic":
                with self.haptic_lock:
                    self.haptics.append((time.monotonic(), line[1]))

    def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if line in ("down", "up"):
            # Stamp the edge when it happens (CLOCK_MONOTONIC, shared with the daemon), as a
            # GPIO pin's tick does: the daemon's reader may be scheduled late.
            line = f"{line} {time.monotonic():.6f}"
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # a dead daemon is noticed at the quiet period

    def kill_daemon(self) -> None:
        assert self.proc is not None
        self.killed_by_us = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.books.kills += 1

    def stop_daemon(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.killed_by_us = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # -- input -------------------------------------------------------------------------

    def bounce(self, settle_to: str) -> None:
        """Contact chatter right after an edge: a few flips inside the 25 ms debounce."""
        other = "up" if settle_to == "down" else "down"
        for _ in range(self.rng.randint(1, 3)):
            time.sleep(self.rng.uniform(0.0005, 0.003))
            self.send(other)
            time.sleep(self.rng.uniform(0.0005, 0.003))
            self.send(settle_to)

    def trace(self, what: str) -> None:
        """The harness's own timeline (same monotonic clock as the journal's ``mono``)."""
        with open(self.workdir / "harness.trace", "a", encoding="utf-8") as f:
            f.write(f"{time.monotonic():.4f} {what}\n")

    def press(self) -> None:
        self.trace(f"press {self.books.presses + 1} down")
        self.send("down")
        if self.rng.random() < 0.5:
            self.bounce("down")
        time.sleep(0.06 + 0.14 * self.rng.random() ** 2)  # hold 60-200 ms
        self.trace("up")
        self.last_up = time.monotonic()
        self.send("up")
        if self.rng.random() < 0.5:
            self.bounce("up")
        self.books.presses += 1

    # -- faults ------------------------------------------------------------------------

    def fault(self) -> tuple[str, Any]:
        """Pick a fault; returns its name and a callable that injects it."""
        control = self.control
        rng = self.rng
        kind = rng.choices(
            ["busy", "stall", "drop", "power", "clip_limit", "auto_power_off", "body_button"],
            weights=[4, 0.7, 2, 1.2, 2, 0.8, 1.5])[0]
        if kind == "busy":
            count, op = rng.randint(1, 8), rng.choice(["SetDevicePropValueEx", "GetEvent"])
            return kind, lambda: control.inject("busy", count=count, operation=op)
        if kind == "stall":
            op = rng.choice(["SetDevicePropValueEx", "GetEvent"])
            return kind, lambda: control.inject("stall", count=1, operation=op)
        if kind == "drop":
            return kind, lambda: control.inject("drop")
        if kind == "power":
            off_s = rng.uniform(0.3, 2.5)

            def cycle() -> None:
                control.power(False)
                time.sleep(off_s)
                control.power(True)

            return kind, cycle
        if kind == "clip_limit":
            limit = round(rng.uniform(0.2, 1.5), 2)
            return kind, lambda: control.set(clip_limit_s=limit)
        if kind == "auto_power_off":
            # Shorter than the daemon's 0.5 s event poll, so the idle body can fall asleep.
            return kind, lambda: control.set(auto_poweroff_s=0.2)
        return kind, self._body_button

    def _body_button(self) -> None:
        state = self.control.state()
        if state["powered"] and state["evf_output"] == 0:
            self.control.set(evf_output=1)  # the user switches live view on at the body
        result = self.control.press_body_button()
        self.body_presses += 1
        if result.get("pressed") and result.get("recording") and not result.get("refused"):
            self.body_starts += 1

    # -- the run -----------------------------------------------------------------------

    def run(self) -> Books:
        self.cam = spawn()
        self.control = LockedControl(self.cam)
        self.monitor = Monitor(self.cam)
        self.monitor.start()
        self.config = daemon_config(self.workdir / "soak.toml", self.cam.port_string,
                                    self.workdir)
        self.config.write_text(merge_config(self.config.read_text(), SOAK_EXTRA))
        self.journal = JournalTail(self.workdir / "journal.jsonl")
        try:
            self.start_daemon()
            self.baseline = self.settle()
            started = time.monotonic()
            while self.books.presses < self.target_presses:
                self.burst()
                if self.books.bursts % 25 == 0:
                    rate = self.books.presses / (time.monotonic() - started)
                    progress(f"job {self.index}: {self.books.presses}/{self.target_presses} "
                             f"presses ({rate:.2f}/s), lost {self.books.lost_toggles}, "
                             f"phantom {self.books.phantom_toggles}, false cues "
                             f"{self.books.false_recording_cues}, mismatches "
                             f"{self.books.state_mismatches}, kills {self.books.kills}, "
                             f"deaths {self.books.daemon_deaths}")
                if self.books.bursts % RESET_EVERY == 0:
                    self.card_swap()
        finally:
            self.stop_daemon()
            self.monitor.stopping.set()
            self.cam.stop()
        self.books.journal_torn_lines = self.journal.torn
        return self.books

    def card_swap(self) -> None:
        """Reset the camera (empties the card, restarts its counters) at a quiet period."""
        self.control.reset()
        with self.monitor.lock:
            self.monitor.epoch += 1
        self.baseline = self.settle(note_events=False)

    def burst(self) -> None:
        books = self.books
        books.bursts += 1
        self.body_starts = 0
        self.body_presses = 0
        self.kill_margin = 0.0
        self.trace(f"burst {books.bursts}")
        n = min(self.rng.randint(1, 5), self.target_presses - books.presses)
        fault_name, inject = (None, None)
        if self.rng.random() < self.fault_rate:
            fault_name, inject = self.fault()
            books.faults[fault_name] += 1
        # The fault lands at a random moment: before, between or during the presses.
        slot = self.rng.randint(0, n)
        fault_threads: list[threading.Thread] = []
        self.fault_in_burst = fault_name
        kill_after = (self.rng.uniform(0.0, 1.5) if self.rng.random() < self.kill_rate
                      else None)
        for i in range(n):
            if inject is not None and i == slot:
                t = threading.Thread(target=self._guarded, args=(inject,), daemon=True)
                t.start()
                fault_threads.append(t)
                time.sleep(self.rng.uniform(0.0, 0.15))
            self.press()
            time.sleep(0.15 + 0.45 * self.rng.random() ** 2)  # gap 150-600 ms
        if inject is not None and slot == n:
            t = threading.Thread(target=self._guarded, args=(inject,), daemon=True)
            t.start()
            fault_threads.append(t)
        if kill_after is not None:
            time.sleep(kill_after)  # mid-command, mid-cue or mid-reconnect
            self.trace("kill")
            self.kill_margin = time.monotonic() - self.last_up
            self.kill_daemon()
            self._check_journal_readable()
        for t in fault_threads:
            t.join(10)
        self.presses_in_burst = n
        self.killed_in_burst = kill_after is not None
        if kill_after is not None:
            self.start_daemon()
            self.books.adoptions_checked += 1
        self.baseline = self.settle()
        self.check_daemon_log()

    def check_daemon_log(self) -> None:
        """A thread of the daemon that died (the process lives on, deaf or blind)."""
        log = self.workdir / "daemon.log"
        with open(log, encoding="utf-8", errors="replace") as f:
            f.seek(getattr(self, "_log_offset", 0))
            text = f.read()
            self._log_offset = f.tell()
        for line in text.splitlines():
            if line.startswith("Exception in thread") or "Traceback" in line:
                self.books.thread_deaths += 1
                self.books.problem(f"daemon.log: {line.strip()[:120]}")

    def _guarded(self, inject: Any) -> None:
        try:
            inject()
        except Exception as exc:  # e.g. body button while the body is off
            progress(f"job {self.index}: fault injection failed: {exc}")

    def _check_journal_readable(self) -> None:
        try:
            read_journal(self.workdir / "journal.jsonl")
        except Exception as exc:
            self.books.journal_unreadable += 1
            self.books.problem(f"journal unreadable after kill -9: {exc!r}")

    # -- the quiet period and the books --------------------------------------------------

    def restore_camera(self) -> None:
        """Undo the lasting faults so that the quiet period can come."""
        state = self.control.state()
        changes: dict[str, Any] = {}
        if state.get("clip_limit_s", 0) < 60:
            changes["clip_limit_s"] = None
        if state.get("auto_poweroff_s"):
            changes["auto_poweroff_s"] = None
        if changes:
            self.control.set(**changes)
        if state["faults"]:
            self.control.clear_faults()
        if not state["powered"]:
            self.control.power(True)

    def settle(self, note_events: bool = True) -> dict[str, Any]:
        """Wait for the quiet period; check belief, cues and books; return the new baseline."""
        books = self.books
        self.restore_camera()
        records: list[dict[str, Any]] = []
        belief_from = 0
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        last_activity = time.monotonic()
        settled = False
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None and not self.killed_by_us:
                books.daemon_deaths += 1
                books.problem(f"daemon died (exit {self.proc.returncode}); restarting")
                self.start_daemon()
            new = self.journal.read()
            if new:
                for record in new:
                    if (record.get("event") == "start"
                            and record.get("pid") == getattr(self, "_awaiting_pid", None)):
                        self._awaiting_pid = None
                        belief_from = len(records)  # the old daemon's tail is not its belief
                    records.append(record)
                last_activity = time.monotonic()
            with self.haptic_lock:
                if len(self.haptics) > self.haptic_read_seen():
                    last_activity = max(last_activity, self.haptics[-1][0])
            state = self.control.state()
            belief = self.daemon_belief(records[belief_from:])
            # After a fault the daemon may not have noticed yet: it polls every 0.5 s.
            quiet_s = QUIET_S_AFTER_FAULT if getattr(self, "fault_in_burst", None) else QUIET_S
            if (time.monotonic() - last_activity >= quiet_s and state["powered"]
                    and not state["faults"] and belief == state["recording"]):
                settled = True
                break
            time.sleep(0.05)
        state = self.control.state()
        self.trace(f"settled={settled} belief={self.daemon_belief(records[belief_from:])} "
                   f"camera={state['recording']}")
        with self.haptic_lock:
            cues = self.haptics[self.haptic_read:]
            self.haptic_read = len(self.haptics)
        # The daemon prints a pattern before it journals it: pick up those last records.
        time.sleep(0.05)
        records += self.journal.read()
        if hasattr(self, "baseline") and note_events:
            self.account(records, cues, state, settled, self.daemon_belief(records[belief_from:]))
        elif not settled:
            books.state_mismatches += 1
            books.problem(f"no quiet period (start-up / card swap); camera {state['recording']}, "
                          f"daemon {self.daemon_belief(records[belief_from:])}")
        for _, name in cues:
            self.user_belief = self._belief_after(name, self.user_belief)
        self.monitor.forget_before(time.monotonic() - 30)
        self._last_state_record = self._find_last_state(records[belief_from:]) or getattr(
            self, "_last_state_record", None)
        return state

    def haptic_read_seen(self) -> int:
        return self.haptic_read

    @staticmethod
    def _find_last_state(records: list[dict[str, Any]]) -> str | None:
        for record in reversed(records):
            if record.get("event") == "state":
                return str(record["state"])
            if record.get("event") == "start":
                return "no-camera"  # a fresh daemon: nothing known yet
        return None

    def daemon_belief(self, records: list[dict[str, Any]]) -> bool | None:
        if getattr(self, "_awaiting_pid", None) is not None:
            return None  # the new daemon has not even started its loop
        last = self._find_last_state(records)
        if last is None:
            last = getattr(self, "_last_state_record", None)
        return {"idle": False, "recording": True}.get(last or "")

    @staticmethod
    def _belief_after(cue: str, belief: bool | None) -> bool | None:
        if cue == "recording":
            return True
        if cue in ("stopped", "ready"):
            return False
        if cue == "no-camera":
            return None
        return belief  # busy / error: "that did not work", nothing changed

    def account(self, records: list[dict[str, Any]], cues: list[tuple[float, str]],
                state: dict[str, Any], settled: bool, belief: bool | None) -> None:
        books = self.books
        base = self.baseline
        p = self.presses_in_burst
        gestures = [r for r in records if r.get("event") == "gesture"]
        recognised = sum(1 for r in gestures if r.get("gesture") == "press")
        other = [r.get("gesture") for r in gestures if r.get("gesture") != "press"]
        new_clips = state["clips"][len(base["clips"]):]
        host_stops = sum(1 for c in new_clips if c["stop_reason"] == "host")
        starts = state["record_starts"] - base["record_starts"] - self.body_starts
        h = starts + host_stops
        k = sum(1 for r in records if r.get("event") == "pending"
                and r.get("pending_toggle") is False)
        refusals = [name for _, name in cues if name in REFUSALS]
        external = [c["stop_reason"] for c in new_clips if c["stop_reason"] != "host"]
        # Busy answers within the retry budget and clip limits that did not bite are
        # invisible to the user: such bursts keep the strict books.
        eventful = bool(refusals or external or self.killed_in_burst or self.body_presses)
        books.coalesced += k
        books.host_toggles += h
        books.refusals.update(refusals)
        books.eventful_bursts += eventful
        where = (f"burst {books.bursts} (P={p}, H={h}, K={k}, recognised={recognised}, "
                 f"fault={self.fault_in_burst}, killed={self.killed_in_burst}, "
                 f"refusals={refusals}, external={external}, other gestures={other})")
        # Presses the daemon did not see as one press each. A daemon killed within 0.5 s of
        # the last release may not have journaled it yet; one killed later must have.
        if not self.killed_in_burst or self.kill_margin >= 0.5:
            if recognised < p:
                books.lost_toggles += p - recognised
                books.problem(f"presses not recognised: {where}")
            elif recognised > p:
                books.phantom_toggles += recognised - p
                books.problem(f"extra presses recognised (bounce): {where}")
        if not eventful:
            expected = p - 2 * k
            if h < expected:
                books.lost_toggles += expected - h
                books.problem(f"lost toggle: {where}")
            elif h > expected:
                books.phantom_toggles += h - expected
                books.problem(f"phantom toggle: {where}")
        elif h > p:
            books.phantom_toggles += h - p
            books.problem(f"phantom toggle: {where}")
        # The daemon's belief at the quiet period (``belief``, from its journal).
        if not settled or belief != state["recording"]:
            books.state_mismatches += 1
            books.problem(f"daemon believes {belief}, camera recording={state['recording']} "
                          f"(settled={settled}): {where}")
        # What the user was told last.
        user = self.user_belief
        for _, name in cues:
            user = self._belief_after(name, user)
        if user is True and not state["recording"]:
            books.false_recording_cues += 1
            books.problem(f"user was last told 'recording', camera is not: {where}")
        elif user is False and state["recording"]:
            books.state_mismatches += 1
            books.problem(f"user was last told not recording, camera records: {where}")
        self.check_recording_cues(records, where)
        # The haptic log (stdout) against the journal's haptic records.
        journal_haptics = [r["name"] for r in records if r.get("event") == "haptic"]
        if not self.killed_in_burst and journal_haptics != [name for _, name in cues]:
            books.haptic_log_mismatches += 1
            books.problem(f"stdout haptics {[n for _, n in cues]} != journal "
                          f"{journal_haptics}: {where}")

    def check_recording_cues(self, records: list[dict[str, Any]], where: str) -> None:
        """Each 'recording' pattern: was the camera recording when the daemon decided?"""
        decided: float | None = None
        for record in records:
            event = record.get("event")
            if event == "state" and record.get("state") == "recording":
                decided = float(record["mono"])
            elif event == "haptic" and record.get("name") == "recording":
                started = float(record["mono"])
                if decided is None:
                    decided = started - 1.0  # decided before this burst's records began
                verdict = self.monitor.recording_between(decided - 0.05, started + 0.05)
                if verdict is None:
                    self.books.cues_unchecked += 1
                elif not verdict:
                    self.books.false_recording_cues += 1
                    self.books.problem(f"'recording' cue at {started:.3f} (decided "
                                       f"{decided:.3f}) while the camera was not: {where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--kill-rate", type=float, default=0.03,
                        help="chance per burst of a kill -9 (then a restart)")
    parser.add_argument("--fault-rate", type=float, default=0.3,
                        help="chance per burst of a camera fault")
    parser.add_argument("--keep", metavar="DIR", help="keep journals and logs in DIR")
    parser.add_argument("--plain-stdin", action="store_true",
                        help="run `pitrigger run` with its input pipe on fd 0 (shows the "
                        "terminal-button bug, see tests/test_regressions.py)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    progress(f"soak: {args.presses} presses, seed {seed}, {args.jobs} job(s)")
    started = time.monotonic()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pitrigger-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    shares = [args.presses // args.jobs + (1 if i < args.presses % args.jobs else 0)
              for i in range(args.jobs)]
    harnesses = []
    for i, share in enumerate(shares):
        workdir = root / f"job{i}"
        workdir.mkdir(exist_ok=True)
        harnesses.append(Harness(i, share, seed + i, workdir, args.kill_rate, args.fault_rate,
                                 args.plain_stdin))
    results: list[Books | BaseException] = [RuntimeError("not run")] * len(harnesses)

    def run(i: int) -> None:
        try:
            results[i] = harnesses[i].run()
        except BaseException as exc:
            results[i] = exc
            progress(f"job {i} crashed: {exc!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(harnesses))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    books = [r for r in results if isinstance(r, Books)]
    crashed = len(results) - len(books)
    total = Books()
    for b in books:
        for name in ("presses", "bursts", "eventful_bursts", "lost_toggles", "phantom_toggles",
                     "false_recording_cues", "daemon_deaths", "state_mismatches", "coalesced",
                     "host_toggles", "kills", "adoptions_checked", "journal_torn_lines",
                     "journal_unreadable", "haptic_log_mismatches", "cues_unchecked",
                     "thread_deaths"):
            setattr(total, name, getattr(total, name) + getattr(b, name))
        total.refusals.update(b.refusals)
        total.faults.update(b.faults)
        total.problems += b.problems
    for text in total.problems[:40]:
        note(f"problem: {text}")
    note(f"daemon input: {'pipe on fd 0 (plain)' if args.plain_stdin else 'pipe moved off fd 0'}")
    note(f"machine: {machine()}; seed {seed}; {args.jobs} job(s); {elapsed:.0f} s; "
         f"workdir {root}")
    note(f"faults injected: {dict(total.faults)}; kill -9: {total.kills}; refusal cues: "
         f"{dict(total.refusals)}")
    note(f"bursts {total.bursts} ({total.eventful_bursts} eventful), camera toggles from "
         f"presses {total.host_toggles}, presses coalesced in flight {total.coalesced}")
    emit("elapsed_s", round(elapsed, 1))
    emit("bursts", total.bursts)
    emit("kills", total.kills)
    emit("restarts_adopted_checked", total.adoptions_checked)
    emit("journal_torn_lines", total.journal_torn_lines)
    emit("journal_unreadable", total.journal_unreadable)
    emit("haptic_log_mismatches", total.haptic_log_mismatches)
    emit("coalesced_presses", total.coalesced)
    emit("recording_cues_unchecked", total.cues_unchecked)
    emit("harness_crashes", crashed)
    emit("daemon_tracebacks", total.thread_deaths)
    emit("presses", total.presses)
    emit("lost_toggles", total.lost_toggles)
    emit("phantom_toggles", total.phantom_toggles)
    emit("false_recording_cues", total.false_recording_cues)
    emit("daemon_deaths", total.daemon_deaths)
    emit("state_mismatches", total.state_mismatches)
    ok = (crashed == 0 and total.journal_unreadable == 0 and total.thread_deaths == 0 and not any(
        (total.lost_toggles, total.phantom_toggles, total.false_recording_cues,
         total.daemon_deaths, total.state_mismatches)))
    emit("target_soak", "yes" if ok else "no")
    return 0


if __name__ == "__main__":
    sys.exit(main())
