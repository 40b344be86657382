"""Trigger paths: how a start or stop reaches the camera, and what can confirm it.

The recording controller decides *that* the camera is to start or stop; the camera worker
asks the configured trigger to do it (``[camera] trigger`` in the config):

* ``usb`` — :class:`UsbMovieTrigger`: ``movierecordtarget`` (EVFRecordStatus 0xD1B8) over
  libgphoto2. The camera reports the new state itself, so both start and stop are confirmed.
* ``usb-half-press`` — :class:`UsbHalfPressTrigger`: EOS remote release "Press Half" then
  "Release Half" (RemoteReleaseOn 0x9128 with the half-press parameter, RemoteReleaseOff
  0x9129), for Magic Lantern's Movie "REC key: HalfShutter". **Unproven on a real body**:
  whether ML sees a USB half-press as the half-shutter key is not known.
* ``wired`` — :class:`WiredTrigger`: a GPIO pin drives an optocoupler across the N3 focus
  line (a half-press), optionally with the shutter line too; ML's REC key toggles recording.
* ``auto`` — :func:`resolve_trigger`: ``usb`` when the body lists 0xD1B8, otherwise the path
  ``pitrigger probe`` last proved on this body, otherwise nothing (with advice).

Only ``usb`` is confirmed by the camera. A half-press start is *sent*: nothing the camera
reports says that it records (ML on a 5D2 reports no 0xD1B8). A half-press stop is confirmed
when the camera adds the new ``.MOV`` to the card (ObjectAddedEx), otherwise it too is only
sent. The cue then is ``sent``, never ``recording`` or ``stopped``.

>>> plan_pulse(PulseShape(line="focus", press_ms=250))
[PulseEdge(at_s=0.0, line='focus', on=True), PulseEdge(at_s=0.25, line='focus', on=False)]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, cast

if TYPE_CHECKING:
    from gpiozero import DigitalOutputDevice

    from pitrigger.config import Config

from pitrigger.names import TRIGGERS

log = logging.getLogger(__name__)

#: The trigger paths the config accepts, ``auto`` last (it picks one of the others).
TRIGGER_NAMES: tuple[str, ...] = TRIGGERS
#: The paths a probe can prove (``auto`` is a choice among them, not a path).
TRIGGER_PATHS: tuple[str, ...] = TRIGGER_NAMES[:-1]

TriggerName = Literal["usb", "usb-half-press", "wired", "auto"]
TriggerPath = Literal["usb", "usb-half-press", "wired"]


class TriggerUnavailable(Exception):
    """No trigger path can be used on this body; the message is advice for the user."""


@dataclass(frozen=True, slots=True)
class BodyFacts:
    """What a camera body says about itself on connection (libgphoto2's summary/widgets).

    ``movie_target``: the body listed EVFRecordStatus 0xD1B8 (the ``movierecordtarget``
    widget exists), so it can report — and perhaps take — a USB movie start.
    ``remote_release``: the ``eosremoterelease`` widget exists (RemoteReleaseOn 0x9128).
    """

    model: str
    serial: str = ""
    firmware: str = ""
    movie_target: bool = False
    remote_release: bool = False

    @property
    def key(self) -> str:
        """What a probe verdict is filed under: the serial number, else the model name."""
        return f"serial:{self.serial}" if self.serial else f"model:{self.model}"


class Trigger(Protocol):
    """One way to start and stop a recording. Every call may block (a pulse is timed)."""

    #: The path's config name.
    name: str
    #: True when the camera itself reports the new recording state (0xD1B8 events).
    confirmed_by_camera: bool

    def start(self, camera: object) -> None: ...

    def stop(self, camera: object) -> None: ...

    def close(self) -> None: ...


class UsbMovieTrigger:
    """``movierecordtarget`` = Card / None: the camera reports each change itself."""

    name = "usb"
    confirmed_by_camera = True

    def start(self, camera: object) -> None:
        _method(camera, "start_recording")()

    def stop(self, camera: object) -> None:
        _method(camera, "stop_recording")()

    def close(self) -> None:
        pass


class UsbHalfPressTrigger:
    """A USB half-press for Magic Lantern's REC key: press, hold ``press_ms``, release.

    ML toggles recording on the half-shutter *press*; the release only ends the press. Start
    and stop are the same gesture, which is why nothing but the camera's own file event can
    say which one happened. Unproven on a real body (see docs/remote-movie.md).
    """

    name = "usb-half-press"
    confirmed_by_camera = False

    def __init__(self, press_ms: int = 200,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not 20 <= press_ms <= 5000:
            raise ValueError(f"press_ms must be within 20..5000, got {press_ms}")
        self.press_ms = press_ms
        self.sleep = sleep

    def _toggle(self, camera: object) -> None:
        half_press = _method(camera, "half_press")
        half_press(True)
        try:
            self.sleep(self.press_ms / 1000)
        finally:
            # Never leave the shutter half-pressed: it would keep ML (and AF) busy.
            half_press(False)

    def start(self, camera: object) -> None:
        self._toggle(camera)

    def stop(self, camera: object) -> None:
        self._toggle(camera)

    def close(self) -> None:
        pass


# --- the wired path ---------------------------------------------------------------------

Line = Literal["focus", "shutter"]


@dataclass(frozen=True, slots=True)
class PulseShape:
    """How a wired press is made on the N3 lines (through the optocouplers).

    ``line = "focus"``: the focus (half-press) line closes for ``press_ms``: ML's REC key.
    ``line = "shutter"``: focus closes, after ``focus_lead_ms`` the shutter line closes too,
    both open together after ``press_ms`` more — a full press, as a wired remote makes it.
    """

    line: Line = "focus"
    press_ms: int = 200
    focus_lead_ms: int = 150

    def __post_init__(self) -> None:
        if self.line not in ("focus", "shutter"):
            raise ValueError(f"line must be 'focus' or 'shutter', got {self.line!r}")
        if not 20 <= self.press_ms <= 5000:
            raise ValueError(f"press_ms must be within 20..5000, got {self.press_ms}")
        if not 0 <= self.focus_lead_ms <= 2000:
            raise ValueError(f"focus_lead_ms must be within 0..2000, got {self.focus_lead_ms}")


@dataclass(frozen=True, slots=True)
class PulseEdge:
    """Line ``line`` goes ``on`` (optocoupler conducting) ``at_s`` after the pulse starts."""

    at_s: float
    line: Line
    on: bool


def plan_pulse(shape: PulseShape) -> list[PulseEdge]:
    """The edges of one press, in time order. Pure: the wired trigger plays this plan.

    >>> for edge in plan_pulse(PulseShape("shutter", press_ms=200, focus_lead_ms=150)):
    ...     print(edge.at_s, edge.line, "closes" if edge.on else "opens")
    0.0 focus closes
    0.15 shutter closes
    0.35 shutter opens
    0.35 focus opens
    """
    press_s = shape.press_ms / 1000
    if shape.line == "focus":
        return [PulseEdge(0.0, "focus", True), PulseEdge(press_s, "focus", False)]
    lead_s = shape.focus_lead_ms / 1000
    end = round(lead_s + press_s, 6)
    return [PulseEdge(0.0, "focus", True), PulseEdge(lead_s, "shutter", True),
            PulseEdge(end, "shutter", False), PulseEdge(end, "focus", False)]


class WiredTrigger:
    """GPIO → optocoupler → N3 lines. Each start or stop plays one :func:`plan_pulse`.

    ``focus_pin``/``shutter_pin`` are BCM numbers of the pins driving the optocouplers' LEDs
    (high = line closed). The lines are opened again whatever happens, and on ``close()``.

    >>> from gpiozero import Device
    >>> from gpiozero.pins.mock import MockFactory
    >>> Device.pin_factory = MockFactory()
    >>> trigger = WiredTrigger(22, sleep=lambda s: None)
    >>> trigger.start(None); [s.state for s in Device.pin_factory.pin(22).states]
    [False, True, False]
    >>> trigger.close(); Device.pin_factory.reset()
    """

    name = "wired"
    confirmed_by_camera = False

    def __init__(self, focus_pin: int, shutter_pin: int | None = None,
                 shape: PulseShape | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from gpiozero import DigitalOutputDevice  # deferred: only the wired path needs pins

        self.shape = shape or PulseShape()
        if self.shape.line == "shutter" and shutter_pin is None:
            raise ValueError("a 'shutter' pulse needs a shutter pin")
        if shutter_pin is not None and shutter_pin == focus_pin:
            raise ValueError(f"focus and shutter need two pins (both {focus_pin})")
        self.sleep = sleep
        self.lines: dict[Line, DigitalOutputDevice] = {
            "focus": DigitalOutputDevice(focus_pin, initial_value=False)}
        if shutter_pin is not None:
            self.lines["shutter"] = DigitalOutputDevice(shutter_pin, initial_value=False)
        self.plan = plan_pulse(self.shape)

    def _press(self) -> None:
        elapsed = 0.0
        try:
            for edge in self.plan:
                if edge.at_s > elapsed:
                    self.sleep(edge.at_s - elapsed)
                    elapsed = edge.at_s
                self.lines[edge.line].value = edge.on
        finally:
            for device in self.lines.values():
                device.off()

    def start(self, camera: object) -> None:
        self._press()

    def stop(self, camera: object) -> None:
        self._press()

    def close(self) -> None:
        for device in self.lines.values():
            try:
                device.off()
            finally:
                device.close()


def _method(camera: object, name: str) -> Callable[..., None]:
    """The backend's method ``name``, or a clear error naming the mismatch."""
    method = getattr(camera, name, None)
    if not callable(method):
        raise TypeError(f"the {type(camera).__name__} backend cannot {name.replace('_', ' ')}"
                        "; choose another [camera] trigger")
    return method  # type: ignore[no-any-return]


# --- auto ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """The path ``auto`` (or the configured name) comes to, and why, for the log."""

    path: TriggerPath
    why: str
    proven: bool  # by the camera's own report or a probe on this body


def resolve_trigger(requested: str, facts: BodyFacts,
                    verdicts: Mapping[str, str]) -> Resolution:
    """The path to use with ``[camera] trigger = requested`` on this body. Pure.

    ``verdicts`` maps :attr:`BodyFacts.key` to the path a probe proved on that body.

    >>> body = BodyFacts("Canon EOS 5D Mark II", serial="42")
    >>> resolve_trigger("auto", body, {"serial:42": "wired"}).path
    'wired'
    >>> resolve_trigger("auto", BodyFacts("Canon EOS 7D", movie_target=True), {}).why
    'the body lists movierecordtarget (0xD1B8)'
    """
    if requested in TRIGGER_PATHS:
        known = (requested == "usb" and facts.movie_target) or \
            verdicts.get(facts.key) == requested
        return Resolution(cast(TriggerPath, requested), "configured", known)
    if requested != "auto":
        raise ValueError(f"unknown trigger {requested!r}; use one of {TRIGGER_NAMES}")
    if facts.movie_target:
        return Resolution("usb", "the body lists movierecordtarget (0xD1B8)", True)
    proven = verdicts.get(facts.key)
    if proven in TRIGGER_PATHS and proven != "usb":
        return Resolution(cast(TriggerPath, proven),
                          f"pitrigger probe proved {proven} on this body", True)
    raise TriggerUnavailable(
        f"{facts.model or 'this camera'} does not offer USB movie (no 0xD1B8) and no probe "
        "has proved another path on it: with Magic Lantern's REC key on HalfShutter, run "
        "`pitrigger probe` (it tries usb-half-press and wired), or set [camera] trigger = "
        "\"wired\" or \"usb-half-press\" yourself")


# --- built from the config ----------------------------------------------------------------


def make_wired_trigger(config: Config, *,
                       sleep: Callable[[float], None] = time.sleep) -> WiredTrigger:
    """The wired trigger on the ``[wired]`` pins (raises if the pins cannot be had)."""
    wired = config.wired
    return WiredTrigger(wired.focus_pin,
                        wired.shutter_pin if wired.line == "shutter" else None,
                        PulseShape(wired.line, wired.press_ms, wired.focus_lead_ms),
                        sleep=sleep)


def make_trigger(path: str, config: Config) -> Trigger:
    """The trigger for a resolved path (not ``auto``: see :func:`resolve_trigger`)."""
    if path == "usb":
        return UsbMovieTrigger()
    if path == "usb-half-press":
        return UsbHalfPressTrigger(config.camera.half_press_ms)
    if path == "wired":
        return make_wired_trigger(config)
    raise ValueError(f"not a trigger path: {path!r}; use one of {TRIGGER_PATHS}")


@dataclass(frozen=True, slots=True)
class Selection:
    """The trigger chosen for the body just connected, or why there is none.

    ``confirms``: the body can report its own recording state (it lists 0xD1B8, or the
    trigger is the backend's own confirmed start). When false, nothing the camera says can
    confirm a start, and a read-back "not recording" is no knowledge either.
    """

    trigger: Trigger | None
    why: str
    confirms: bool


class TriggerSelector:
    """Chooses the trigger on every connection (the body may have changed in between).

    ``build(path)`` makes a trigger (built once per path and kept: a wired trigger holds its
    GPIO pins); ``verdicts()`` reads the probe's stored verdicts when ``auto`` needs them.
    """

    def __init__(self, requested: str, build: Callable[[str], Trigger],
                 verdicts: Callable[[], Mapping[str, str]] = dict) -> None:
        if requested not in TRIGGER_NAMES:
            raise ValueError(f"unknown trigger {requested!r}; use one of {TRIGGER_NAMES}")
        self.requested = requested
        self._build = build
        self._verdicts = verdicts
        self._built: dict[str, Trigger] = {}

    @classmethod
    def from_config(cls, config: Config) -> TriggerSelector:
        from pathlib import Path

        from pitrigger.verdicts import load_verdicts

        verdicts_path = Path(config.camera.probe_dir) / "verdicts.json"
        return cls(config.camera.trigger, lambda path: make_trigger(path, config),
                   lambda: load_verdicts(verdicts_path))

    def select(self, camera: object) -> Selection:
        if self.requested == "usb":
            # The body's own 0xD1B8 events confirm it; no need to ask for its facts.
            return Selection(self._get("usb"), "usb: configured", True)
        facts_of = getattr(camera, "facts", None)
        if not callable(facts_of):
            # A backend with no PTP facts (picamera2) starts and confirms by itself.
            if self.requested == "auto":
                return Selection(self._get("usb"), "the backend's own start", True)
            return Selection(None, f"the {type(camera).__name__} backend has no "
                                   f"{self.requested} path: set [camera] trigger = \"usb\"",
                             False)
        facts: BodyFacts = facts_of()
        try:
            chosen = resolve_trigger(self.requested, facts, self._verdicts())
        except TriggerUnavailable as exc:
            return Selection(None, str(exc), facts.movie_target)
        try:
            trigger = self._get(chosen.path)
        except Exception as exc:  # e.g. no GPIO on this machine, or a pin already taken
            return Selection(None, f"cannot use the {chosen.path} trigger: {exc}",
                             facts.movie_target)
        if chosen.path != "usb" and not chosen.proven:
            log.warning("trigger %s on %s is unproven on this body (run `pitrigger probe`); "
                        "starts are unconfirmed and cue 'sent'", chosen.path, facts.model)
        return Selection(trigger, f"{chosen.path}: {chosen.why}",
                         facts.movie_target or trigger.confirmed_by_camera)

    def _get(self, path: str) -> Trigger:
        if path not in self._built:
            self._built[path] = self._build(path)
        return self._built[path]

    def close(self) -> None:
        built, self._built = self._built, {}
        for trigger in built.values():
            try:
                trigger.close()
            except Exception as exc:  # closing must never stop the others from closing
                log.debug("closing trigger %s: %s", trigger.name, exc)
