"""The entry points: build a daemon from the config, run it as a service, play the haptics.

:mod:`pitrigger.daemon` is the loop; this module is what ``pitrigger run`` and
``pitrigger haptics`` do around it: choose the config (and its fallback under systemd),
build the adapters the config names, install the signal contract, set up logging.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pitrigger.buttons import ButtonSource, GpioUnavailable
from pitrigger.cameras import CameraBackend
from pitrigger.config import ConfigError, find_config, load_config
from pitrigger.daemon import Daemon
from pitrigger.haptics import HapticSequencer
from pitrigger.journal import open_journal
from pitrigger.motors import HapticSink
from pitrigger.sdnotify import Notifier, started_by_systemd

if TYPE_CHECKING:  # at run time the config may be the plain view (pitrigger.config.startup)
    from pitrigger.config import Config

log = logging.getLogger("pitrigger")


def configure_logging(verbose: bool = False) -> None:
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt,
                        stream=sys.stderr)


def load_run_config(explicit: str | None) -> tuple[Config, str | None]:
    """The config to run with, and the reason if it is not the one the user wrote.

    Interactively a broken file is an error (exit 2). Under systemd the device has no
    screen: it comes up on the last good copy, or the built-in defaults, and plays
    ``error`` so the user knows their edit did not take. An unchanged file starts from the
    stored validated result, without pydantic (see :mod:`pitrigger.config.startup`).
    """
    from pitrigger.config.startup import load_run_config as load
    from pitrigger.config.startup import store_path

    under_systemd = started_by_systemd()
    loaded = load(explicit, under_systemd=under_systemd,
                  store=store_path(under_systemd=under_systemd))
    return loaded.config, loaded.problem


def build_daemon(config: Config, *, startup_problem: str | None = None,
                 button: ButtonSource | None = None, sink: HapticSink | None = None,
                 camera: CameraBackend | None = None, journal: Any = None) -> Daemon:
    """A daemon with the adapters the config names (any of them may be given instead)."""
    from pitrigger.buttons import make_button
    from pitrigger.cameras import make_backend
    from pitrigger.haptics import render as render_pattern
    from pitrigger.motors import make_sink

    patterns: dict[str, Any] = dict(config.pattern_objects())

    def render(name: str) -> str:
        # The status answer is made for the moment: drawn as it was really played.
        return render_pattern(patterns[name]) if name in patterns else ""

    daemon = Daemon(
        config,
        button=button if button is not None else make_button(config),
        sink=sink if sink is not None else make_sink(config, render=render),
        camera=camera if camera is not None else make_backend(config),
        journal=journal if journal is not None else open_journal(config.journal.path),
        notifier=Notifier(),
        startup_problem=startup_problem,
    )
    daemon.played_patterns = patterns  # the sink draws what really played
    return daemon


def main_run(config_path: str | None) -> int:
    configure_logging()
    try:
        config, problem = load_run_config(config_path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        daemon = build_daemon(config, startup_problem=problem)
    except GpioUnavailable as exc:
        log.error("%s", exc)
        return 2
    daemon.reload_config = lambda: load_config(find_config(config_path))
    _stop_on_signals(daemon)
    return daemon.run()


def _stop_on_signals(daemon: Daemon) -> None:
    """The signal contract (docs/architecture.md): TERM/INT stop cleanly, HUP reloads."""
    import signal

    def stop(signum: int, frame: object) -> None:
        daemon.stop(signal.Signals(signum).name)

    def reload(signum: int, frame: object) -> None:
        daemon.reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)


def main_haptics(config_path: str | None, names: list[str], pause_s: float = 0.8) -> int:
    """Play the vocabulary (or the named patterns) on the configured sink, one by one.

    Each pattern plays as the daemon would play it (``config.haptic_sequencer()``: the
    configured kick with PWM, at least ``min_gap_ms`` after the one before); ``pause_s``
    more stillness between them helps to learn them apart (``--pause 0``: back to back,
    exactly as the daemon's queue).
    """
    from pitrigger.haptics import VOCABULARY
    from pitrigger.haptics import render as render_pattern
    from pitrigger.motors import make_sink

    configure_logging()
    try:
        config = load_config(find_config(config_path))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    patterns = config.pattern_objects()
    unknown = [n for n in names if n not in patterns]
    if unknown:
        print(f"unknown pattern(s): {', '.join(unknown)}; known: {', '.join(VOCABULARY)}",
              file=sys.stderr)
        return 2
    try:
        sink = make_sink(config, render=lambda name: render_pattern(patterns[name]))
    except GpioUnavailable as exc:
        print(f"pitrigger haptics: {exc}", file=sys.stderr)
        return 2
    try:
        play_patterns(config.haptic_sequencer(), sink, names or list(VOCABULARY),
                      pause_s=pause_s)
    finally:
        sink.set_level(0.0)
        sink.close()
    return 0


def play_patterns(sequencer: HapticSequencer, sink: HapticSink, names: list[str], *,
                  pause_s: float, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """Play ``names`` one after another on ``sink``, ``pause_s`` apart on top of the
    sequencer's own gap; returns once the last one has ended."""
    for index, name in enumerate(names):
        if index and pause_s > 0:
            sleep(pause_s)
        sequencer.play(name, clock())
        while True:
            now = clock()
            sink.set_level(sequencer.advance(now))
            for started in sequencer.pop_started():
                sink.pattern_started(started.name)
            deadline = sequencer.next_deadline()
            if deadline is None:
                break
            sleep(max(0.0, deadline - clock()))
