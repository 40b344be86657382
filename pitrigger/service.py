"""The entry points: build a daemon from the config, run it as a service, play the haptics.

:mod:`pitrigger.daemon` is the loop; this module is what ``pitrigger run`` and
``pitrigger haptics`` do around it: choose the config (and its fallback under systemd),
build the adapters the config names, install the signal contract, set up logging.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pitrigger.buttons import ButtonSource, GpioUnavailable
from pitrigger.cameras import CameraBackend
from pitrigger.config import Config, ConfigError, find_config, load_config
from pitrigger.daemon import Daemon
from pitrigger.haptics import HapticSequencer
from pitrigger.journal import open_journal
from pitrigger.motors import HapticSink
from pitrigger.sdnotify import Notifier, started_by_systemd

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
    ``error`` so the user knows their edit did not take.
    """
    try:
        path = find_config(explicit)
        config = load_config(path)
    except ConfigError as exc:
        if not started_by_systemd():
            raise
        log.error("config rejected, running on a fallback:\n%s", exc)
        fallback = Config()
        last_good = Path(fallback.daemon.last_good_path)
        try:
            config = load_config(last_good) if last_good.exists() else fallback
            log.warning("using %s", last_good if last_good.exists() else "built-in defaults")
        except ConfigError:
            config = fallback
        return config, str(exc)
    if path is not None:
        log.info("config: %s", path)
        _keep_last_good(path, Path(config.daemon.last_good_path))
    else:
        log.info("config: built-in defaults (no file on the search path)")
    return config, None


def _keep_last_good(path: Path, last_good: Path) -> None:
    try:
        text = path.read_bytes()
        if last_good.exists() and last_good.read_bytes() == text:
            return
        last_good.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=last_good.parent, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, last_good)
    except OSError as exc:
        log.debug("cannot keep a last-good copy at %s: %s", last_good, exc)


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


def main_haptics(config_path: str | None, names: list[str]) -> int:
    """Play the vocabulary (or the named patterns) on the configured sink, one by one."""
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
    # As the daemon plays them (kick, strength), with gaps long enough to tell them apart.
    sequencer = HapticSequencer(
        patterns,
        kick_s=config.haptics.kick_ms / 1000 if config.haptics.pwm else 0.0,
        min_gap_s=max(0.8, config.haptics.min_gap_ms / 1000),
    )
    now = time.monotonic()
    for name in names or list(VOCABULARY):
        sequencer.play(name, now)
    try:
        while True:
            now = time.monotonic()
            sink.set_level(sequencer.advance(now))
            for started in sequencer.pop_started():
                sink.pattern_started(started.name)
            deadline = sequencer.next_deadline()
            if deadline is None:
                break
            time.sleep(max(0.0, deadline - time.monotonic()))
    finally:
        sink.set_level(0.0)
        sink.close()
    return 0
