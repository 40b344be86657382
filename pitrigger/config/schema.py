"""The config's schema: pydantic models, one per TOML table, and the rules across keys.

This is the one validator. Every value is checked strictly (no coercion), unknown keys are
errors, and a rule about several keys raises a ``cross_field`` error listing the message for
each key, so that :mod:`pitrigger.config.wording` can name the key the file actually sets.

>>> Config().button.pin, Config.model_validate({"button": {"pin": 23}}).button.pin
(17, 23)
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pitrigger import haptics
from pitrigger.config.problems import short_repr
from pitrigger.focus import FocusTuning
from pitrigger.gestures import GestureTimings
from pitrigger.haptics import Pattern as HapticPattern

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
]



def _cross(choices: dict[str, str]) -> PydanticCustomError:
    """An error about several fields: key (relative dotted) to the message for that key, in
    order of preference; the report names the first key that the file actually sets."""
    first = next(iter(choices.values()))
    return PydanticCustomError("cross_field", "{first}", {"first": first, "choices": choices})


class _Section(BaseModel):
    # Strict: a config value of the wrong type is a mistake to report, not to coerce.
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, allow_inf_nan=False
    )


_PORT_FORMS = "usb, usb:BUS,DEV (e.g. usb:001,004) or ptpip:HOST[:PORT[:EVENTPORT]]"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
_PORT_RE = re.compile(rf"usb(?::\d{{3}},\d{{3}})?|ptpip:{_HOST}(?::(\d{{1,5}})(?::(\d{{1,5}}))?)?")

Pin = Annotated[int, Field(ge=0, le=27, description="BCM GPIO number")]
NonEmptyStr = Annotated[str, Field(min_length=1, max_length=4096)]
# Two falling warning thresholds; lax only for the container (a TOML array becomes a tuple).
Thresholds = Annotated[tuple[Annotated[float, Field(ge=0.0, le=10_000.0)],
                             Annotated[float, Field(ge=0.0, le=10_000.0)]],
                       Field(strict=False)]


class CameraConfig(_Section):
    backend: Literal["gphoto2", "picamera2"] = "gphoto2"
    port: str = "usb"
    busy_retry_s: float = Field(3.0, ge=0.0, le=60.0)
    confirm_timeout_s: float = Field(4.0, ge=0.5, le=60.0)
    # The 5D Mark II powers itself off unless polled at least every 10 s.
    poll_interval_s: float = Field(0.5, ge=0.05, le=9.0)
    reconnect_min_s: float = Field(0.5, ge=0.1, le=60.0)
    reconnect_max_s: float = Field(10.0, ge=0.1, le=600.0)
    output_dir: NonEmptyStr = "/var/lib/pitrigger/clips"
    # Shooting all day (issue 12): the clip cap, card and battery, live view, stills.
    auto_restart: bool = True
    clip_cap_s: float = Field(0.0, ge=0.0, le=1799.0)  # 0: the body's own (4 GB, 29:59)
    limit_soon_s: float = Field(30.0, ge=0.0, le=600.0)
    movie_bytes_per_s: int = Field(5_965_000, ge=100_000, le=100_000_000)
    low_card_minutes: Thresholds = (20.0, 5.0)
    low_battery_percent: Thresholds = (50.0, 25.0)
    supply_interval_s: float = Field(30.0, ge=5.0, le=600.0)
    live_view_between_clips: Literal["keep", "off", "off-after-s"] = "keep"
    live_view_off_after_s: float = Field(60.0, ge=1.0, le=3600.0)
    still_while_recording: Literal["refuse", "stop-shoot-restart"] = "refuse"

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
    trigger: Literal["usb", "usb-half-press", "wired", "auto"] = "usb"
    half_press_ms: int = Field(200, ge=20, le=5000)
    probe_dir: NonEmptyStr = "/var/lib/pitrigger/probe"

    @field_validator("port")
    @classmethod
    def _check_port(cls, port: str) -> str:
        match = _PORT_RE.fullmatch(port)
        if match is None or any(g is not None and not 1 <= int(g) <= 65535
                                for g in match.groups()):
            message = f"{short_repr.repr(port)} is not a camera port; use {_PORT_FORMS}"
            raise PydanticCustomError("camera_port", "{message}", {"message": message})
        return port

    @model_validator(mode="after")
    def _check(self) -> CameraConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise _cross({
                "reconnect_max_s": f"must be at least reconnect_min_s ({self.reconnect_min_s})",
                "reconnect_min_s": f"must be at most reconnect_max_s ({self.reconnect_max_s})",
            })
        return self


class WiredConfig(_Section):
    """GPIO → optocoupler → the N3 remote port's focus (and shutter) line."""

    focus_pin: Pin = 22
    shutter_pin: Pin = 27
    line: Literal["focus", "shutter"] = "focus"
    press_ms: int = Field(200, ge=20, le=5000)
    focus_lead_ms: int = Field(150, ge=0, le=2000)

    @model_validator(mode="after")
    def _check(self) -> WiredConfig:
        if self.line == "shutter" and self.shutter_pin == self.focus_pin:
            raise _cross({
                "shutter_pin": f"must differ from focus_pin (both {self.focus_pin})",
                "focus_pin": f"must differ from shutter_pin (both {self.focus_pin})",
            })
        return self

    def pins(self) -> tuple[int, ...]:
        """The pins a wired press drives (the shutter pin only for a full press)."""
        return (self.focus_pin,) if self.line == "focus" else (self.focus_pin, self.shutter_pin)


class ButtonConfig(_Section):
    # gpiod: libgpiod v2 (blocks in the kernel); gpio: gpiozero (lgpio on Raspberry Pi OS).
    source: Literal["gpiod", "gpio", "terminal"] = "gpiod"
    pin: Pin = 17
    pull_up: bool = True


class HapticsConfig(_Section):
    sink: Literal["gpiod", "gpio", "terminal"] = "gpiod"
    pin: Pin = 18
    pwm: bool = False
    frequency_hz: int = Field(200, ge=10, le=20000)
    kick_ms: int = Field(40, ge=0, le=200)
    min_gap_ms: int = Field(150, ge=0, le=2000)
    # gpiod only: a hardware PWM channel "pwmchipN:C" instead of software PWM ("" = none).
    pwm_channel: str = ""

    @field_validator("pwm_channel")
    @classmethod
    def _check_pwm_channel(cls, channel: str) -> str:
        if channel and not re.fullmatch(r"pwmchip\d{1,3}:\d{1,3}", channel):
            message = (f"{short_repr.repr(channel)} is not a PWM channel; use \"pwmchipN:C\" "
                       "(e.g. \"pwmchip0:0\", GPIO 18 with dtoverlay=pwm) or \"\" for none")
            raise PydanticCustomError("pwm_channel", "{message}", {"message": message})
        return channel


class GesturesConfig(_Section):
    debounce_ms: int = Field(25, ge=1, le=200)
    double_window_ms: int = Field(300, ge=100, le=1000)
    hold_s: float = Field(1.0, ge=0.3, le=30.0)
    long_hold_s: float = Field(3.0, ge=0.5, le=60.0)
    very_long_hold_s: float = Field(8.0, ge=1.0, le=120.0)

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

    def timings(self) -> GestureTimings:
        """These settings in seconds, for :class:`~pitrigger.gestures.GestureRecogniser`."""
        return GestureTimings(
            debounce_s=self.debounce_ms / 1000,
            double_window_s=self.double_window_ms / 1000,
            hold_s=self.hold_s,
            long_hold_s=self.long_hold_s,
            very_long_hold_s=self.very_long_hold_s,
        )


StepMs = Annotated[int, Strict(), Field(ge=10, le=5000)]


class PatternConfig(_Section):
    # Lax only for the container, so that a TOML array (a list) becomes a tuple.
    steps_ms: Annotated[tuple[StepMs, ...], Field(strict=False, min_length=1, max_length=9)]
    strength: float = Field(1.0, ge=0.1, le=1.0)

    @field_validator("steps_ms")
    @classmethod
    def _check_steps(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        # A field check (not a model check) so it is reported even when strength is wrong too.
        if len(steps) % 2 == 0:
            raise PydanticCustomError(
                "odd_steps", "{message}",
                {"message": f"needs an odd number of steps (on, off, …, on), got {len(steps)}"},
            )
        return steps

    def pattern(self) -> haptics.Pattern:
        return haptics.Pattern(self.steps_ms, self.strength)


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


class _ActionMap(_Section):
    press: Action = "none"
    double: Action = "none"
    hold: Action = "none"
    long_hold: Action = Field("none", alias="long-hold")
    very_long_hold: Action = Field("none", alias="very-long-hold")

    def mapping(self) -> dict[str, str]:
        """Gesture name to action, leaving out ``none``."""
        return {
            name: action
            for name, action in self.model_dump(by_alias=True).items()
            if action != "none"
        }


class IdleActions(_ActionMap):
    press: Action = "toggle-recording"
    hold: Action = "status"
    long_hold: Action = Field("focus-mode", alias="long-hold")
    very_long_hold: Action = Field("power-off", alias="very-long-hold")


class RecordingActions(_ActionMap):
    press: Action = "toggle-recording"
    hold: Action = "status"


class ActionsConfig(_Section):
    idle: IdleActions = Field(default_factory=IdleActions)
    recording: RecordingActions = Field(default_factory=RecordingActions)

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


class FocusConfig(_Section):
    """Focus by touch (docs/focus.md): what the camera shows and how scores become pulses."""

    zoom: Literal[1, 5, 10] = 5
    max_fps: float = Field(10.0, ge=1.0, le=30.0)
    measure: Literal["vol", "lapm"] = "vol"
    crop: float = Field(0.5, ge=0.1, le=1.0)
    frames_per_score: int = Field(3, ge=1, le=9)
    in_focus_within: float = Field(0.05, ge=0.005, le=0.5)
    passed_drop: float = Field(0.10, ge=0.01, le=0.9)
    lost_drop: float = Field(0.30, ge=0.02, le=0.95)

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

    def tuning(self) -> FocusTuning:
        """These settings for :class:`~pitrigger.focus.FocusFeedback` (the rest default)."""
        return FocusTuning(median_of=self.frames_per_score,
                           in_focus_within=self.in_focus_within,
                           passed_drop=self.passed_drop, lost_drop=self.lost_drop)


class JournalConfig(_Section):
    path: NonEmptyStr = "/var/lib/pitrigger/journal.jsonl"


class BackupConfig(_Section):
    """A second copy of each finished clip on the data partition (pitrigger/copier.py)."""

    enabled: bool = False
    dir: NonEmptyStr = "/var/lib/pitrigger/copies"
    chunk_kib: int = Field(256, ge=16, le=4096)
    reserve_mib: int = Field(256, ge=0, le=1_000_000)


class PowerConfig(_Section):
    request_path: NonEmptyStr = "/run/pitrigger/poweroff-request"


class DaemonConfig(_Section):
    last_good_path: NonEmptyStr = "/var/lib/pitrigger/last-good.toml"


class Config(_Section):
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
                                                for name in haptics.VOCABULARY})
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

    def pattern_objects(self) -> dict[str, HapticPattern]:
        """The vocabulary as :class:`~pitrigger.haptics.Pattern` objects."""
        return {name: pattern.pattern() for name, pattern in self.patterns.items()}

    def actions_for(self, state: str) -> dict[str, str]:
        """Gesture to action in controller state ``idle`` or ``recording``, without ``none``.

        A gesture that is not in the result does nothing (and gets no threshold tick);
        ``double`` in the result means the recogniser must wait for a second press.
        """
        if state == "idle":
            return self.actions.idle.mapping()
        if state == "recording":
            return self.actions.recording.mapping()
        raise ValueError(f"no action map for state {state!r}; use 'idle' or 'recording'")
