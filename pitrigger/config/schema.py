"""The config's schema: pydantic models, one per TOML table, and the rules across keys.

This is the one validator. Every value is checked strictly (no coercion), unknown keys are
errors, and a rule about several keys raises a ``cross_field`` error listing the message for
each key, so that :mod:`pitrigger.config.wording` can name the key the file actually sets.

Adding a key is one line in the table's model: a ``Field`` with its default, its range and a
``description`` (docs/config.md is generated from these: ``python -m pitrigger.config.docs``).
A section's docstring is its introduction in that document.

>>> Config().button.pin, Config.model_validate({"button": {"pin": 23}}).button.pin
(17, 23)
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pitrigger import haptics, names
from pitrigger.config.problems import short_repr
from pitrigger.config.view import (
    ActionMapMethods,
    ConfigMethods,
    FocusMethods,
    GesturesMethods,
    PatternMethods,
    WiredMethods,
)
from pitrigger.haptic_rules import pattern_violations

__all__ = [
    "Action",
    "ActionsConfig",
    "ButtonConfig",
    "CameraConfig",
    "Config",
    "DaemonConfig",
    "FocusConfig",
    "GesturesConfig",
    "HapticsConfig",
    "JournalConfig",
    "PatternConfig",
    "PatternName",
    "PowerConfig",
    "path_problem",
]


def _cross(choices: dict[str, str]) -> PydanticCustomError:
    """An error about several fields: key (relative dotted) to the message for that key, in
    order of preference; the report names the first key that the file actually sets."""
    first = next(iter(choices.values()))
    return PydanticCustomError("cross_field", "{first}", {"first": first, "choices": choices})


def _custom(kind: str, message: str) -> PydanticCustomError:
    """An error whose message is already worded for the person editing the file."""
    return PydanticCustomError(kind, "{message}", {"message": message})


class _Section(BaseModel):
    # Strict: a config value of the wrong type is a mistake to report, not to coerce.
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, allow_inf_nan=False
    )


# --- value types ----------------------------------------------------------------------------

_PORT_FORMS = "usb, usb:BUS,DEV (e.g. usb:001,004) or ptpip:HOST[:PORT[:EVENTPORT]]"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
_PORT_RE = re.compile(rf"usb(?::\d{{3}},\d{{3}})?|ptpip:{_HOST}(?::(\d{{1,5}})(?::(\d{{1,5}}))?)?")

#: Linux's limits: a whole path (PATH_MAX, with its NUL) and one name in it (NAME_MAX).
_PATH_MAX_BYTES = 4095
_NAME_MAX_BYTES = 255


def path_problem(path: str, *, directory: bool = False) -> str | None:
    """Why ``path`` cannot be used as a file (or ``directory``) path on Linux; ``None`` if it
    can. Plain Python, so that the start-up fallback can use it without pydantic.

    >>> path_problem("/var/lib/pitrigger/journal.jsonl") is None
    True
    >>> path_problem("/tmp/a\\x00b")
    'contains a NUL character (position 7); a path cannot hold one'
    """
    if not path:
        return "must not be empty"
    if "\x00" in path:
        return (f"contains a NUL character (position {path.index(chr(0)) + 1}); "
                "a path cannot hold one")
    for index, char in enumerate(path, 1):
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return (f"contains a control character (U+{ord(char):04X} at position {index}); "
                    "a path must be one line of printable text")
    encoded = path.encode("utf-8", "surrogateescape")
    if len(encoded) > _PATH_MAX_BYTES:
        return f"is {len(encoded)} bytes long; a path may be at most {_PATH_MAX_BYTES}"
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > _NAME_MAX_BYTES:
        return (f"has a name of {len(longest)} bytes; each part of a path may be at most "
                f"{_NAME_MAX_BYTES}")
    if not directory and (path.endswith("/") or path.rsplit("/", 1)[-1] in (".", "..")):
        return f"{short_repr.repr(path)} names a directory; give a file name"
    return None


def _file_path(path: str) -> str:
    problem = path_problem(path)
    if problem is not None:
        raise _custom("unusable_path", problem)
    return path


def _directory_path(path: str) -> str:
    problem = path_problem(path, directory=True)
    if problem is not None:
        raise _custom("unusable_path", problem)
    return path


Pin = Annotated[int, Field(ge=0, le=27)]
FilePath = Annotated[str, AfterValidator(_file_path)]
DirectoryPath = Annotated[str, AfterValidator(_directory_path)]
# Two falling warning thresholds; lax only for the container (a TOML array becomes a tuple).
Thresholds = Annotated[tuple[Annotated[float, Field(ge=0.0, le=10_000.0)],
                             Annotated[float, Field(ge=0.0, le=10_000.0)]],
                       Field(strict=False)]


# --- sections -------------------------------------------------------------------------------


class CameraConfig(_Section):
    """The camera and how it is talked to."""

    backend: Literal["gphoto2", "picamera2"] = Field(
        "gphoto2", description="camera driver: a Canon EOS over USB/PTP-IP, or a Pi camera")
    port: str = Field(
        "usb", description="where the camera is (gphoto2): `usb`, `usb:BUS,DEV` (3 digits "
                           "each, e.g. `usb:001,004`), or `ptpip:HOST[:PORT[:EVENTPORT]]`")
    busy_retry_s: float = Field(
        3.0, ge=0.0, le=60.0,
        description="how long a camera answering \"busy\" is retried before giving up "
                    "(`busy`)")
    confirm_timeout_s: float = Field(
        4.0, ge=0.5, le=60.0,
        description="how long to wait for the camera to report the new recording state "
                    "after a command")
    # The 5D Mark II powers itself off unless polled at least every 10 s.
    poll_interval_s: float = Field(
        0.5, ge=0.05, le=9.0,
        description="event polling period while the camera records (or a start or stop "
                    "awaits its answer): how soon a stop made by the camera itself (clip "
                    "limit, full card, its own button) is heard")
    idle_poll_interval_s: float = Field(
        4.0, ge=0.05, le=9.0,
        description="event polling period while the camera does not record; each poll "
                    "wakes the Pi, and it must stay under 10 s or the 5D Mark II powers "
                    "itself off. A start made on the body is heard this late. Never "
                    "shorter than `poll_interval_s`")
    reconnect_min_s: float = Field(
        0.5, ge=0.1, le=60.0, description="first retry delay after losing the camera")
    reconnect_max_s: float = Field(
        10.0, ge=0.1, le=600.0,
        description="longest retry delay (the delay doubles up to this); at least "
                    "`reconnect_min_s`")
    output_dir: DirectoryPath = Field(
        "/var/lib/pitrigger/clips", description="where clips go (picamera2 only)")
    # Shooting all day (issue 12): the clip cap, card and battery, live view, stills.
    auto_restart: bool = Field(
        True, description="when the camera ends a clip at its cap, start a new one at once "
                          "and play `restarted`")
    clip_cap_s: float = Field(
        0.0, ge=0.0, le=1799.0,
        description="a time cap shorter than the body's own; 0: the body's (4 GB at "
                    "`movie_bytes_per_s`, 29:59)")
    limit_soon_s: float = Field(
        30.0, ge=0.0, le=600.0,
        description="play `limit-soon` this long before the cap (0: never)")
    movie_bytes_per_s: int = Field(
        5_965_000, ge=100_000, le=100_000_000,
        description="bit rate for card minutes and the 4 GB cap; refined from each finished "
                    "clip")
    low_card_minutes: Thresholds = Field(
        (20.0, 5.0),
        description="`low-card` once as the card's free minutes fall past each; the first "
                    "above the second, both ≥ 0")
    low_battery_percent: Thresholds = Field(
        (50.0, 25.0),
        description="`low-battery` once as the battery falls past each (the body reports "
                    "100/75/50/25 %/Low); the first above the second, both ≥ 0")
    supply_interval_s: float = Field(
        30.0, ge=5.0, le=600.0,
        description="how often card and battery are read (also after every clip and every "
                    "connection)")
    live_view_between_clips: Literal["keep", "off", "off-after-s"] = Field(
        "keep", description="live view between clips; the start path turns it on first when "
                            "it is off")
    live_view_off_after_s: float = Field(
        60.0, ge=1.0, le=3600.0,
        description="idle seconds before live view goes off (`\"off-after-s\"`)")
    still_while_recording: Literal["refuse", "stop-shoot-restart"] = Field(
        "refuse", description="a still gesture while recording: `refused` (the body is busy "
                              "filming), or stop, shoot, start again")

    @field_validator("low_card_minutes", "low_battery_percent")
    @classmethod
    def _check_thresholds(cls, pair: tuple[float, float]) -> tuple[float, float]:
        first, second = pair
        if not 0 <= second < first:
            raise PydanticCustomError(
                "thresholds", "{message}",
                {"message": f"must be two thresholds, the first above the second, both >= 0 "
                            f"(e.g. [20, 5]); got [{first:g}, {second:g}]"})
        return pair
    # How a start/stop reaches the camera (pitrigger/triggers.py, docs/remote-movie.md).
    trigger: Literal["usb", "usb-half-press", "wired", "auto"] = Field(
        "usb", description="how a press starts/stops the camera; see "
                           "[remote-movie.md](remote-movie.md). Half-press and wired starts "
                           "are unconfirmed (cue `sent`)")
    half_press_ms: int = Field(
        200, ge=20, le=5000,
        description="`usb-half-press`: how long the shutter stays half-pressed")
    probe_dir: DirectoryPath = Field(
        "/var/lib/pitrigger/probe",
        description="where `pitrigger probe` writes its reports and the verdicts `auto` reads")

    @field_validator("port")
    @classmethod
    def _check_port(cls, port: str) -> str:
        match = _PORT_RE.fullmatch(port)
        if match is None or any(g is not None and not 1 <= int(g) <= 65535
                                for g in match.groups()):
            raise _custom("camera_port",
                          f"{short_repr.repr(port)} is not a camera port; use {_PORT_FORMS}")
        return port

    @model_validator(mode="after")
    def _check(self) -> CameraConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise _cross({
                "reconnect_max_s": f"must be at least reconnect_min_s ({self.reconnect_min_s})",
                "reconnect_min_s": f"must be at most reconnect_max_s ({self.reconnect_max_s})",
            })
        return self


class WiredConfig(WiredMethods, _Section):
    """The N3 remote-port trigger (`trigger = "wired"`): a GPIO drives an optocoupler across the
    focus line. Its pins must differ from the button and motor pins when `trigger` is `"wired"`
    or `"auto"`."""

    focus_pin: Pin = Field(
        22, description="BCM number of the GPIO driving the optocoupler on the N3 focus "
                        "(half-press) line")
    shutter_pin: Pin = Field(
        27, description="BCM number of the GPIO for the shutter line; used only with "
                        "`line = \"shutter\"`; must differ from `focus_pin`")
    line: Literal["focus", "shutter"] = Field(
        "focus", description="a half-press (Magic Lantern's REC key), or focus then shutter "
                             "(a full press)")
    press_ms: int = Field(200, ge=20, le=5000,
                          description="how long the line stays closed")
    focus_lead_ms: int = Field(
        150, ge=0, le=2000,
        description="`line = \"shutter\"`: focus closed this long before the shutter line")

    @model_validator(mode="after")
    def _check(self) -> WiredConfig:
        if self.line == "shutter" and self.shutter_pin == self.focus_pin:
            raise _cross({
                "shutter_pin": f"must differ from focus_pin (both {self.focus_pin})",
                "focus_pin": f"must differ from shutter_pin (both {self.focus_pin})",
            })
        return self


class ButtonConfig(_Section):
    """The button: a GPIO input wired to ground, or the keyboard."""

    source: Literal["gpiod", "gpio", "terminal"] = Field(
        "gpiod", description="`gpiod`: the real button through libgpiod v2 (blocks in the "
                             "kernel, no wake-ups); `gpio`: through gpiozero (lgpio on "
                             "Raspberry Pi OS); `terminal`: the keyboard, for trying things out")
    pin: Pin = Field(17, description="BCM number of the GPIO the button is on")
    pull_up: bool = Field(
        True, description="internal pull-up, button to ground; `false` for a button to 3.3 V "
                          "with your own pull-down")


class HapticsConfig(_Section):
    """The vibration motor."""

    sink: Literal["gpiod", "gpio", "terminal"] = Field(
        "gpiod", description="`gpiod`: the motor through libgpiod v2; `gpio`: through gpiozero; "
                             "`terminal`: patterns drawn as text")
    pin: Pin = Field(
        18, description="BCM number of the GPIO driving the motor's transistor; must differ "
                        "from `button.pin` when both are on GPIO; prefer GPIO ≥ 9 (pulled down "
                        "at boot, so the motor stays still while the Pi starts)")
    pwm: bool = Field(False, description="drive the motor with PWM so that pattern strengths "
                                         "apply")
    frequency_hz: int = Field(200, ge=10, le=20000,
                              description="PWM frequency (only with `pwm = true`)")
    kick_ms: int = Field(40, ge=0, le=200,
                         description="full-power start of each pulse when strength < 1 "
                                     "(only with `pwm = true`)")
    min_gap_ms: int = Field(150, ge=0, le=2000,
                            description="stillness between two patterns so they feel like "
                                        "two")
    pwm_channel: str = Field(
        "", description="`gpiod` only: a hardware PWM channel `pwmchipN:C` (e.g. `pwmchip0:0`, "
                        "GPIO 18 with dtoverlay=pwm) instead of software PWM; empty for none")

    @field_validator("pwm_channel")
    @classmethod
    def _check_pwm_channel(cls, channel: str) -> str:
        if channel and not re.fullmatch(r"pwmchip\d{1,3}:\d{1,3}", channel):
            message = (f"{short_repr.repr(channel)} is not a PWM channel; use \"pwmchipN:C\" "
                       "(e.g. \"pwmchip0:0\", GPIO 18 with dtoverlay=pwm) or \"\" for none")
            raise PydanticCustomError("pwm_channel", "{message}", {"message": message})
        return channel


class GesturesConfig(GesturesMethods, _Section):
    """Gestures: `press` (short press; acts on release), `double`, and the hold ladder `hold`,
    `long-hold`, `very-long-hold`, chosen on release by the longest threshold passed; a
    `tick` pattern marks each threshold as it passes (only thresholds that have an action)."""

    debounce_ms: int = Field(25, ge=1, le=200, description="contact-bounce lockout; a "
                             "contact shorter than this is ignored")
    double_window_ms: int = Field(
        300, ge=100, le=1000,
        description="longest pause between the presses of a double (greater than "
                    "`debounce_ms`); only waited for when `double` has an action in the "
                    "current state")
    hold_s: float = Field(1.0, ge=0.3, le=30.0, description="first hold threshold")
    long_hold_s: float = Field(3.0, ge=0.5, le=60.0,
                               description="second hold threshold; greater than `hold_s`")
    very_long_hold_s: float = Field(
        8.0, ge=1.0, le=120.0, description="third hold threshold; greater than `long_hold_s`")

    @model_validator(mode="after")
    def _check(self) -> GesturesConfig:
        chain = (
            ("double_window_ms", self.double_window_ms, "debounce_ms", self.debounce_ms),
            ("long_hold_s", self.long_hold_s, "hold_s", self.hold_s),
            ("very_long_hold_s", self.very_long_hold_s, "long_hold_s", self.long_hold_s),
        )
        for longer, longer_value, shorter, shorter_value in chain:
            if longer_value <= shorter_value:
                raise _cross({
                    longer: f"must be greater than {shorter} ({shorter_value})",
                    shorter: f"must be less than {longer} ({longer_value})",
                })
        return self


StepMs = Annotated[int, Strict(), Field(ge=10, le=5000)]


class PatternConfig(PatternMethods, _Section):
    """One vibration pattern (``patterns.NAME``)."""

    # Lax only for the container, so that a TOML array (a list) becomes a tuple.
    steps_ms: Annotated[tuple[StepMs, ...], Field(strict=False, min_length=1, max_length=9)] \
        = Field(description="on/off/…/on durations in ms (an odd count); the pattern "
                            "safety rules of docs/haptics.md apply")
    strength: float = Field(1.0, ge=0.1, le=1.0,
                            description="motor strength (needs `haptics.pwm = true`)")

    @field_validator("steps_ms")
    @classmethod
    def _check_steps(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        # A field check (not a model check) so it is reported even when strength is wrong too.
        if len(steps) % 2 == 0:
            raise _custom("odd_steps",
                          f"needs an odd number of steps (on, off, …, on), got {len(steps)}")
        violations = pattern_violations(steps)
        if violations:
            raise _custom("pattern_rules", "; ".join(violations))
        return steps

# Spelled out for the type checker; a test keeps them equal to pitrigger.names (the source).
PatternName = Literal[
    "ready", "recording", "stopped", "error", "no-camera", "busy", "refused", "tick",
    "power-off", "limit-soon", "restarted", "low-card", "low-battery", "heat", "still",
    "sent", "focus", "focus-on", "focus-off", "in-focus",
    "focus-lost",
]
Action = Literal[
    "toggle-recording", "start-recording", "stop-recording", "status", "power-off", "still",
    "focus-mode", "none",
]


def _default_patterns() -> dict[PatternName, PatternConfig]:
    return {
        cast(PatternName, name): PatternConfig(steps_ms=pattern.steps_ms,
                                               strength=pattern.strength)
        for name, pattern in haptics.DEFAULT_PATTERNS.items()
    }


class _ActionMap(ActionMapMethods, _Section):
    # One field per name in names.GESTURES (a test checks the two lists agree), under its
    # attribute name; the TOML key is the gesture's own name.
    press: Action = Field("none", description="a short press")
    double: Action = Field("none", description="two short presses")
    hold: Action = Field("none", description="released after `gestures.hold_s`")
    long_hold: Action = Field("none", alias="long-hold",
                              description="released after `gestures.long_hold_s`")
    very_long_hold: Action = Field("none", alias="very-long-hold",
                                   description="released after `gestures.very_long_hold_s`")


class IdleActions(_ActionMap):
    """What each gesture does while not recording."""

    press: Action = Field("toggle-recording", description="a short press")
    hold: Action = Field("status", description="released after `gestures.hold_s`")
    long_hold: Action = Field("focus-mode", alias="long-hold",
                              description="released after `gestures.long_hold_s`")
    very_long_hold: Action = Field("power-off", alias="very-long-hold",
                                   description="released after `gestures.very_long_hold_s`")


class RecordingActions(_ActionMap):
    """What each gesture does while recording."""

    press: Action = Field("toggle-recording", description="a short press")
    hold: Action = Field("status", description="released after `gestures.hold_s`")


class ActionsConfig(_Section):
    """What each gesture does, per state."""

    idle: IdleActions = Field(default_factory=IdleActions,
                              description="gesture to action while not recording")
    recording: RecordingActions = Field(default_factory=RecordingActions,
                                        description="gesture to action while recording")

    @model_validator(mode="after")
    def _check(self) -> ActionsConfig:
        # A remote that can start but never stop (or never start) is a trap, not a choice.
        if not {"toggle-recording", "start-recording"} & set(self.idle.mapping().values()):
            raise _cross({"idle": "no gesture starts recording: map one to "
                                  "'toggle-recording' or 'start-recording'"})
        if not {"toggle-recording", "stop-recording"} & set(self.recording.mapping().values()):
            raise _cross({"recording": "no gesture stops recording: map one to "
                                       "'toggle-recording' or 'stop-recording'"})
        for gesture, action in self.recording.mapping().items():
            if action == "focus-mode":
                raise _cross({f"recording.{gesture}": "focus mode is only available while not "
                                                      "recording: map it in [actions.idle]"})
        return self


class FocusConfig(FocusMethods, _Section):
    """Focus by touch ([focus.md](focus.md)): while focus mode lasts, live-view frames are
    scored for sharpness and the motor pulses faster as the picture gets sharper.
    `in_focus_within < passed_drop < lost_drop` is checked."""

    zoom: Literal[1, 5, 10] = Field(
        5, description="magnified live view while the mode lasts (`eoszoom`; picamera2: a "
                       "centred sensor crop)")
    max_fps: float = Field(10.0, ge=1.0, le=30.0,
                           description="frames per second at most (CPU on a Pi Zero)")
    measure: Literal["vol", "lapm"] = Field(
        "vol", description="variance of Laplacian or modified Laplacian")
    crop: float = Field(0.5, ge=0.1, le=1.0,
                        description="share of width and height scored, around the centre")
    frames_per_score: int = Field(3, ge=1, le=9,
                                  description="median of this many frames per score")
    in_focus_within: float = Field(
        0.05, ge=0.005, le=0.5,
        description="`in-focus` when back within this share of the peak after passing it")
    passed_drop: float = Field(
        0.10, ge=0.01, le=0.9,
        description="the peak counts as passed once the score falls this share below it")
    lost_drop: float = Field(
        0.30, ge=0.02, le=0.95,
        description="`focus-lost` when, after `in-focus`, the score falls this share below "
                    "the peak")

    @model_validator(mode="after")
    def _check(self) -> FocusConfig:
        if not self.in_focus_within < self.passed_drop < self.lost_drop:
            raise _cross({
                "passed_drop": f"must lie between in_focus_within ({self.in_focus_within}) "
                               f"and lost_drop ({self.lost_drop})",
                "in_focus_within": f"must be less than passed_drop ({self.passed_drop})",
                "lost_drop": f"must be greater than passed_drop ({self.passed_drop})",
            })
        return self


class JournalConfig(_Section):
    """The event journal."""

    path: FilePath = Field("/var/lib/pitrigger/journal.jsonl",
                           description="one JSON line per event (gestures, camera states, "
                                       "patterns)")


class BackupConfig(_Section):
    """A second copy of every finished clip, from the card to the data partition, made while the
    camera is idle in small resumable pieces (`pitrigger/copier.py`). It never deletes from the
    camera, stops the instant you press record and resumes where it stopped; `pitrigger
    journal` shows each copy's progress."""

    enabled: bool = Field(
        False, description="copy every finished clip to `dir` while the camera is idle")
    dir: DirectoryPath = Field("/var/lib/pitrigger/copies",
                               description="where copies go (the data partition)")
    chunk_kib: int = Field(256, ge=16, le=4096,
                           description="copy in pieces this big; a press waits for at most "
                                       "one piece")
    reserve_mib: int = Field(256, ge=0, le=1_000_000,
                             description="free space the data partition keeps; a clip that "
                                         "does not fit waits")


class PowerConfig(_Section):
    """Powering off from the button."""

    request_path: FilePath = Field(
        "/run/pitrigger/poweroff-request",
        description="the daemon creates this file to ask a root-owned systemd path unit to "
                    "power off")


class DaemonConfig(_Section):
    """The daemon's own files."""

    last_good_path: FilePath = Field(
        "/var/lib/pitrigger/last-good.toml",
        description="where `run` keeps a copy of the last config that validated, to fall "
                    "back on when started by systemd with a broken file")


class Config(ConfigMethods, _Section):
    """The whole config; ``Config()`` is the built-in defaults.

    ``patterns`` always holds the whole vocabulary: names missing from the file keep their
    default pattern.
    """

    camera: CameraConfig = Field(default_factory=CameraConfig)
    wired: WiredConfig = Field(default_factory=WiredConfig)
    button: ButtonConfig = Field(default_factory=ButtonConfig)
    haptics: HapticsConfig = Field(default_factory=HapticsConfig)
    gestures: GesturesConfig = Field(default_factory=GesturesConfig)
    patterns: dict[PatternName, PatternConfig] = Field(default_factory=_default_patterns)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    focus: FocusConfig = Field(default_factory=FocusConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    power: PowerConfig = Field(default_factory=PowerConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)

    @model_validator(mode="after")
    def _check(self) -> Config:
        merged = {**_default_patterns(), **self.patterns}
        # Vocabulary order, so that listing the patterns reads the same everywhere.
        object.__setattr__(self, "patterns", {name: merged[cast(PatternName, name)]
                                                for name in names.CUES})
        # "recording" is the one cue that must never be mistaken: strength may not even apply
        # (pwm = false), so the rhythm alone must tell it apart.
        recording = merged["recording"].steps_ms
        for name, pattern in merged.items():
            if name != "recording" and pattern.steps_ms == recording:
                raise _cross({
                    f"patterns.{name}": "feels the same as 'recording' (same steps_ms); "
                                        "'recording' must be unlike every other pattern",
                    "patterns.recording": f"feels the same as {name!r} (same steps_ms); "
                                          "'recording' must be unlike every other pattern",
                })
        if self.camera.trigger in ("wired", "auto"):
            # Only a trigger that may press the wire claims its pins. Any source/sink but the
            # terminal holds its pin.
            taken = {"button.pin": None if self.button.source == "terminal" else self.button.pin,
                     "haptics.pin": None if self.haptics.sink == "terminal" else self.haptics.pin}
            for pin_key, pin in zip(("focus_pin", "shutter_pin"), self.wired.pins(),
                                    strict=False):
                for other, taken_pin in taken.items():
                    if pin == taken_pin:
                        raise _cross({
                            f"wired.{pin_key}": f"must differ from {other} (both {pin})",
                            other: f"must differ from wired.{pin_key} (both {pin})",
                        })
        if self.button.source in ("gpio", "gpiod") and self.haptics.sink in ("gpio", "gpiod") \
                and self.button.pin == self.haptics.pin:
            pin = self.button.pin
            raise _cross({
                "haptics.pin": f"must differ from button.pin (both {pin})",
                "button.pin": f"must differ from haptics.pin (both {pin})",
            })
        return self
