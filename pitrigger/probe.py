"""``pitrigger probe``: the traveller's pre-trip check of a camera body.

It opens the camera on the configured port (the daemon must let go of it first: see
:func:`service_holding_camera`), reports model, firmware, serial, battery and card, tries each
trigger path and says which work, checks whether live view, magnified view and lens drive
answer, and ends with one verdict line and the config lines to paste. A text and a JSON
report and libgphoto2's debug log are written side by side, and the verdict is stored for
``[camera] trigger = "auto"`` (keyed by the body's serial number).

How each path is judged — only by what the camera itself reports:

* ``usb``: the camera reports movierecordtarget Card after the start and None after the
  stop (0xD1B8 events).
* ``usb-half-press`` and ``wired``: two presses (start, stop) must leave a new ``.MOV`` on the
  card, announced by the camera (ObjectAddedEx). A start alone proves nothing.

Recording starts in movie live view: the live view, zoom and lens checks run *after* the
recording checks, because a live-view frame can reset the body's "Stills+movie" setting.

Exit codes (also in docs/remote-movie.md):

====  =======================================================================
0     a trigger path works; the verdict line names it
1     the camera answered, but no trigger path works (advice in the report)
2     no camera, or the config cannot be read
3     the pitrigger service holds the camera: stop it first (the message says how)
====  =======================================================================
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pitrigger.cameras import CameraError
from pitrigger.messages import CameraState, ClipSaved
from pitrigger.triggers import (
    TRIGGER_PATHS,
    BodyFacts,
    Trigger,
    UsbHalfPressTrigger,
    UsbMovieTrigger,
)

log = logging.getLogger(__name__)

EXIT_WORKS, EXIT_NO_PATH, EXIT_NO_CAMERA, EXIT_SERVICE_HOLDS = 0, 1, 2, 3
SERVICE = "pitrigger.service"

Outcome = Literal["works", "fails", "not-offered", "not-tried"]

# Which path the verdict prefers when several work: the one the camera confirms fully
# (usb), then the one that needs no wiring.
PREFERENCE: tuple[str, ...] = ("usb", "usb-half-press", "wired")


@dataclass
class PathResult:
    """What trying one trigger path showed."""

    path: str
    outcome: Outcome
    detail: str
    clip: str = ""


@dataclass
class ProbeReport:
    port: str
    facts: BodyFacts
    battery: str = ""
    card: str = ""
    paths: list[PathResult] = field(default_factory=list)
    views: dict[str, str] = field(default_factory=dict)
    verdict: str = "none"  # a trigger path, or "none"
    verdict_line: str = ""
    config_lines: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the verdict (pure) ---------------------------------------------------------------


def decide(facts: BodyFacts, results: Sequence[PathResult]) -> tuple[str, str, list[str]]:
    """(verdict, verdict line, config lines to paste) from the paths tried. Pure.

    >>> body = BodyFacts("Canon EOS 5D Mark II", serial="7")
    >>> decide(body, [PathResult("usb", "not-offered", "no 0xD1B8"),
    ...               PathResult("usb-half-press", "works", "new MVI_0001.MOV")])[0]
    'usb-half-press'
    """
    working = {r.path for r in results if r.outcome == "works"}
    name = facts.model or "this camera"
    for path in PREFERENCE:
        if path in working:
            also = sorted(working - {path}, key=PREFERENCE.index)
            extra = f" (also works: {', '.join(also)})" if also else ""
            proof = ("the camera confirms start and stop" if path == "usb" else
                     "judged by the new .MOV on the card; starts stay unconfirmed (cue 'sent')")
            line = f"VERDICT: use trigger \"{path}\" on {name} — {proof}{extra}"
            lines = ["[camera]", f'trigger = "{path}"']
            if path != "usb":
                lines.append('# or trigger = "auto": it finds this verdict by serial number')
            return path, line, lines
    tried = [r for r in results if r.outcome != "not-tried"]
    if not tried:
        return ("none", f"VERDICT: nothing tried on {name} (--no-record): no verdict",
                [])
    advice = ("no trigger path works. For a 5D Mark II: install Magic Lantern, set Movie > "
              "REC key: HalfShutter, wire the N3 focus line (docs/remote-movie.md) and probe "
              "again with [wired] configured")
    return "none", f"VERDICT: {name}: {advice}", []


def render_text(report: ProbeReport) -> str:
    """The report as the traveller reads it (also written to the .txt file)."""
    f = report.facts
    out = [
        f"pitrigger probe  {report.at}  port {report.port}",
        f"camera:   {f.model or '?'}  firmware {f.firmware or '?'}  serial {f.serial or '?'}",
        f"battery:  {report.battery or '?'}",
        f"card:     {report.card or '?'}",
        f"offers:   movierecordtarget (0xD1B8) {'yes' if f.movie_target else 'no'}, "
        f"eosremoterelease {'yes' if f.remote_release else 'no'}",
        "trigger paths:",
    ]
    out += [f"  {r.path:15} {r.outcome:12} {r.detail}" for r in report.paths]
    if report.views:
        out.append("views:")
        out += [f"  {name:15} {answer}" for name, answer in report.views.items()]
    out.append(report.verdict_line)
    if report.config_lines:
        out.append("paste into pitrigger.toml:")
        out += [f"    {line}" for line in report.config_lines]
    return "\n".join(out) + "\n"


# --- talking to the camera ------------------------------------------------------------


@dataclass
class _Seen:
    started: bool = False
    stopped: bool = False
    clips: list[str] = field(default_factory=list)

    @property
    def movies(self) -> list[str]:
        return [c for c in self.clips if c.upper().endswith(".MOV")]


class Prober:
    """Runs the checks on one open :class:`~pitrigger.cameras.gphoto2.Gphoto2Camera`.

    ``record_s`` is how long each test clip runs; ``wait_s`` how long to wait for the
    camera's reports (``clock`` is injectable).
    """

    def __init__(self, camera: Any, *, record_s: float = 2.0, wait_s: float = 6.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.camera = camera
        self.record_s = record_s
        self.wait_s = wait_s
        self.clock = clock

    def _watch(self, seen: _Seen, seconds: float,
               until: Callable[[_Seen], bool] = lambda s: False) -> bool:
        """Collect the camera's reports for up to ``seconds``; True once ``until`` holds."""
        deadline = self.clock() + seconds
        while True:
            for report in self.camera.poll(0.05):
                if isinstance(report, CameraState):
                    if report.source == "event":
                        seen.started |= report.recording
                        seen.stopped |= not report.recording
                elif isinstance(report, ClipSaved):
                    seen.clips.append(report.path)
            if until(seen):
                return True
            if self.clock() >= deadline:
                return False

    def identity(self, report: ProbeReport) -> None:
        raw = self.camera._require()
        with suppress(Exception):
            report.battery = str(raw.get_single_config("batterylevel").get_value())
        with suppress(Exception):
            cards = []
            for s in raw.get_storageinfo():
                cards.append(f"{s.description or s.basedir}: {s.freekbytes // 1024} MB free "
                             f"of {s.capacitykbytes // 1024} MB")
            report.card = "; ".join(cards) or "no card"

    def try_usb(self, facts: BodyFacts, trigger: Trigger) -> PathResult:
        if not facts.movie_target:
            return PathResult("usb", "not-offered",
                              "the body lists no movierecordtarget (0xD1B8)")
        seen = _Seen()
        try:
            trigger.start(self.camera)
        except CameraError as exc:
            return PathResult("usb", "fails", f"start refused: {exc}")
        if not self._watch(seen, self.wait_s, lambda s: s.started):
            self._stop_quietly(trigger)
            return PathResult("usb", "fails", "the camera never reported Card after the start")
        self._watch(seen, self.record_s)
        try:
            trigger.stop(self.camera)
        except CameraError as exc:
            return PathResult("usb", "fails", f"started, but the stop was refused: {exc} — "
                                              "STOP THE CAMERA BY HAND")
        if not self._watch(seen, self.wait_s, lambda s: s.stopped):
            return PathResult("usb", "fails", "started; the stop was never reported (None) — "
                                              "check the camera")
        self._watch(seen, self.wait_s, lambda s: bool(s.movies))
        clip = seen.movies[0] if seen.movies else ""
        return PathResult("usb", "works", "the camera reported Card, then None"
                          + (f"; new {clip}" if clip else ""), clip)

    def try_presses(self, path: str, trigger: Trigger | None, offered: bool,
                    why_not: str) -> PathResult:
        """Start and stop with two presses; it works if a new .MOV lands on the card."""
        if trigger is None or not offered:
            return PathResult(path, "not-offered" if not offered else "not-tried", why_not)
        seen = _Seen()
        try:
            trigger.start(self.camera)
            self._watch(seen, self.record_s)
            trigger.stop(self.camera)
        except (CameraError, TypeError) as exc:
            return PathResult(path, "fails", f"press refused: {exc}")
        if self._watch(seen, self.wait_s, lambda s: bool(s.movies)):
            clip = seen.movies[0]
            note = "; the camera also reported the start" if seen.started else \
                "; the start itself was not reported (cue 'sent')"
            return PathResult(path, "works", f"two presses left a new {clip}{note}", clip)
        if seen.started:
            return PathResult(path, "fails", "the camera reported a start but no new .MOV "
                                             "after the second press — IT MAY STILL RECORD")
        return PathResult(path, "fails", "no new .MOV on the card after two presses (is the "
                                         "camera in movie mode with live view on, ML's REC "
                                         "key on HalfShutter? If its red light is on, stop it "
                                         "by hand)")

    def _stop_quietly(self, trigger: Trigger) -> None:
        with suppress(CameraError):
            trigger.stop(self.camera)

    def views(self) -> dict[str, str]:
        """Whether live view, magnified view and lens drive answer (each tried once)."""
        import gphoto2 as gp

        raw = self.camera._require()
        answers: dict[str, str] = {}
        try:
            frame = raw.capture_preview()
            size = len(memoryview(frame.get_data_and_size()))
            answers["live view"] = f"answers ({size} byte frame)"
        except gp.GPhoto2Error as exc:
            answers["live view"] = f"no frame: {exc.string} ({exc.code})"
        for name, widget, there, back in (("magnified view", "eoszoom", "5", "1"),
                                          ("lens drive", "manualfocusdrive", "Near 1", "None")):
            try:
                w = raw.get_single_config(widget)
                w.set_value(there)
                raw.set_single_config(widget, w)
                w.set_value(back)
                raw.set_single_config(widget, w)
                answers[name] = f"answers ({widget})"
            except gp.GPhoto2Error as exc:
                answers[name] = f"no answer: {widget}: {exc.string} ({exc.code})"
        return answers


def run_probe(camera: Any, port: str, *, try_record: bool = True,
              paths: Sequence[str] = TRIGGER_PATHS, wired: Trigger | None = None,
              half_press_ms: int = 200, record_s: float = 2.0, wait_s: float = 6.0,
              check_views: bool = True, say: Callable[[str], None] = print) -> ProbeReport:
    """Every check on a camera whose session is open; returns the report (and says what it
    is doing, for a traveller watching the terminal: a path takes some seconds)."""
    prober = Prober(camera, record_s=record_s, wait_s=wait_s)
    facts: BodyFacts = camera.facts()
    report = ProbeReport(port, facts)
    prober.identity(report)
    say(f"camera: {facts.model} firmware {facts.firmware or '?'} serial {facts.serial or '?'}; "
        f"battery {report.battery or '?'}; card {report.card or '?'}")
    for path in TRIGGER_PATHS:
        if try_record and path in paths:
            say(f"trying {path}…")
        if not try_record or path not in paths:
            result = PathResult(path, "not-tried", "not asked for")
        elif path == "usb":
            result = prober.try_usb(facts, UsbMovieTrigger())
        elif path == "usb-half-press":
            result = prober.try_presses(
                path, UsbHalfPressTrigger(half_press_ms), facts.remote_release,
                "the body lists no EOS remote release (0x9128)")
        else:
            result = prober.try_presses(
                path, wired, True, "no GPIO to drive the N3 optocoupler on this machine")
        report.paths.append(result)
    if check_views:
        say("checking live view, magnified view, lens drive…")
        report.views = prober.views()
    report.verdict, report.verdict_line, report.config_lines = decide(facts, report.paths)
    return report


# --- the service, the log, the files ---------------------------------------------------


def service_holding_camera() -> bool:
    """Whether the pitrigger service is running (it holds the camera and the GPIO pins)."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    try:
        done = subprocess.run([systemctl, "is-active", "--quiet", SERVICE], timeout=10,
                              check=False, capture_output=True)  # no systemd: just "no"
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _systemctl(action: str) -> bool:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    try:
        return subprocess.run([systemctl, action, SERVICE], timeout=60,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def gphoto2_debug_log(path: Path) -> Iterator[None]:
    """Write libgphoto2's debug log (every camlib's, with PTP traffic) to ``path`` inside.

    python-gphoto2's wheel maps two copies of ``libgphoto2_port``: its bindings log into one,
    the ptp2 camlib into the other, so ``gp_log_add_func`` from the bindings never sees the
    PTP lines. The log function is therefore added to every mapped copy (through ctypes;
    each message goes through exactly one copy, so nothing is written twice).
    """
    import ctypes

    callback_type = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                                     ctypes.c_void_p)
    with path.open("w", encoding="utf-8", errors="replace") as out:
        def write(level: int, domain: bytes | None, message: bytes | None,
                  data: object) -> None:
            text = (message or b"").decode("utf-8", "replace").rstrip("\n")
            out.write(f"{time.monotonic():.6f} {(domain or b'').decode('utf-8', 'replace')}: "
                      f"{text}\n")

        callback = callback_type(write)
        hooks: list[tuple[Any, int]] = []
        for library in _port_library_copies():
            try:
                lib = ctypes.CDLL(library)
                ident = lib.gp_log_add_func(6, callback, None)  # GP_LOG_DATA: everything
            except (OSError, AttributeError) as exc:
                log.debug("no log hook in %s: %s", library, exc)
                continue
            if ident >= 0:
                hooks.append((lib, ident))
        try:
            yield
        finally:
            for lib, ident in hooks:
                lib.gp_log_remove_func(ident)
            out.flush()


def _port_library_copies() -> list[str]:
    """Paths of every libgphoto2_port mapped into this process (gp_log lives there)."""
    import gphoto2  # noqa: F401  (maps the libraries)

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    return sorted({line.split()[-1] for line in maps.splitlines()
                   if "/libgphoto2_port" in line.split()[-1]})


def write_report(report: ProbeReport, directory: Path, stem: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    text, js = directory / f"{stem}.txt", directory / f"{stem}.json"
    text.write_text(render_text(report), encoding="utf-8")
    js.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return text, js


def main_probe(config_path: str | None, port: str | None, *, try_record: bool = True,
               out_dir: str | None = None, stop_service: bool = False,
               paths: Sequence[str] = TRIGGER_PATHS, record_s: float = 2.0,
               service_active: Callable[[], bool] = service_holding_camera) -> int:
    from pitrigger.cameras.gphoto2 import Gphoto2Camera
    from pitrigger.config import ConfigError, find_config, load_config
    from pitrigger.verdicts import save_verdict

    try:
        config = load_config(find_config(config_path))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_NO_CAMERA
    restart = False
    if service_active():
        if not stop_service:
            print("the pitrigger service is running and holds the camera and the GPIO pins.\n"
                  "Either run:  sudo systemctl stop pitrigger && pitrigger probe; "
                  "sudo systemctl start pitrigger\n"
                  "or:          sudo pitrigger probe --stop-service   (stops it, probes, "
                  "starts it again)", file=sys.stderr)
            return EXIT_SERVICE_HOLDS
        if not _systemctl("stop"):
            print("could not stop pitrigger.service (are you root?)", file=sys.stderr)
            return EXIT_SERVICE_HOLDS
        restart = True
    try:
        return _probe_and_write(config, Gphoto2Camera(port or config.camera.port), try_record,
                                Path(out_dir or config.camera.probe_dir), paths, record_s,
                                save_verdict)
    finally:
        if restart and not _systemctl("start"):
            print("could not start pitrigger.service again: sudo systemctl start pitrigger",
                  file=sys.stderr)


def _probe_and_write(config: Any, camera: Any, try_record: bool, directory: Path,
                     paths: Sequence[str], record_s: float,
                     save_verdict: Callable[..., None]) -> int:
    from pitrigger.triggers import make_wired_trigger

    stem = "probe-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"cannot write reports to {directory} ({exc}); use --out DIR", file=sys.stderr)
        return EXIT_NO_CAMERA
    log_path = directory / f"{stem}.gphoto2.log"
    wired: Trigger | None = None
    if "wired" in paths:
        try:
            wired = make_wired_trigger(config)
        except Exception as exc:  # no GPIO here (not a Pi), or the pins are taken
            print(f"wired: cannot drive GPIO {config.wired.focus_pin}: {exc}", file=sys.stderr)
    try:
        with gphoto2_debug_log(log_path):
            try:
                camera.connect()
            except CameraError as exc:
                print(f"no camera on {camera.port}: {exc}\n(libgphoto2 log: {log_path})")
                return EXIT_NO_CAMERA
            try:
                report = run_probe(camera, camera.port, try_record=try_record, paths=paths,
                                   wired=wired, record_s=record_s,
                                   half_press_ms=config.camera.half_press_ms)
            finally:
                camera.close()
    finally:
        if wired is not None:
            wired.close()
    text, js = write_report(report, directory, stem)
    print(render_text(report), end="")
    print(f"report: {text} and {js}; libgphoto2 log: {log_path}")
    verdicts = Path(config.camera.probe_dir) / "verdicts.json"
    if try_record and (report.verdict != "none" or set(paths) >= set(TRIGGER_PATHS)):
        save_verdict(verdicts, report.facts, report.verdict, report=str(text))
        print(f"verdict stored for trigger = \"auto\": {verdicts}")
    elif try_record:
        # A probe of some paths only must not erase what a full probe proved.
        print(f"not all paths were tried: the stored verdict ({verdicts}) is left as it was")
    return EXIT_WORKS if report.verdict != "none" else EXIT_NO_PATH
