"""A validated config as plain values, readable without pydantic.

The daemon reads its settings as ``config.camera.port``, ``config.gestures.timings()``,
``config.pattern_objects()``… On a warm start (:mod:`pitrigger.config.startup`) those come
from a stored, already validated dict instead of the pydantic models, so the same attribute
paths and methods must answer the same on both. They do by construction:

* the methods live here, in small mixins that read only attributes, and the pydantic models
  in :mod:`pitrigger.config.schema` inherit them — one implementation;
* :func:`build_view` turns ``Config.model_dump()`` (field names, not aliases) back into
  frozen namespaces with those mixins, tuples for arrays.

A test walks every field of the schema and compares the two.

>>> view = build_view({"gestures": {"debounce_ms": 25, "double_window_ms": 300,
...     "hold_s": 1.0, "long_hold_s": 3.0, "very_long_hold_s": 8.0}})
>>> view.gestures.hold_s, view.gestures.timings().double_window_s
(1.0, 0.3)
>>> view.gestures.hold_s = 2
Traceback (most recent call last):
...
AttributeError: config values are read-only
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pitrigger.gestures import GestureTimings
from pitrigger.haptics import HapticSequencer, Pattern
from pitrigger.names import GESTURES

if TYPE_CHECKING:
    from pitrigger.focus import FocusTuning

__all__ = [
    "ActionMapMethods",
    "ConfigMethods",
    "FocusMethods",
    "GesturesMethods",
    "PatternMethods",
    "Section",
    "WiredMethods",
    "build_view",
]


def attribute_name(gesture: str) -> str:
    """A gesture's name as a Python attribute (``long-hold`` -> ``long_hold``)."""
    return gesture.replace("-", "_")


# --- the methods, shared by the pydantic models and the plain view -------------------------


# The annotations are for the type checker only: at run time pydantic must not take them for
# fields of the models that inherit these mixins.


class GesturesMethods:
    if TYPE_CHECKING:
        debounce_ms: int
        double_window_ms: int
        hold_s: float
        long_hold_s: float
        very_long_hold_s: float

    def timings(self) -> GestureTimings:
        """These settings in seconds, for :class:`~pitrigger.gestures.GestureRecogniser`."""
        return GestureTimings(
            debounce_s=self.debounce_ms / 1000,
            double_window_s=self.double_window_ms / 1000,
            hold_s=self.hold_s,
            long_hold_s=self.long_hold_s,
            very_long_hold_s=self.very_long_hold_s,
        )


class PatternMethods:
    if TYPE_CHECKING:
        steps_ms: tuple[int, ...]
        strength: float

    def pattern(self) -> Pattern:
        return Pattern(self.steps_ms, self.strength)


class FocusMethods:
    if TYPE_CHECKING:
        frames_per_score: int
        in_focus_within: float
        passed_drop: float
        lost_drop: float

    def tuning(self) -> FocusTuning:
        """These settings for :class:`~pitrigger.focus.FocusFeedback` (the rest default)."""
        from pitrigger.focus import FocusTuning

        return FocusTuning(median_of=self.frames_per_score,
                           in_focus_within=self.in_focus_within,
                           passed_drop=self.passed_drop, lost_drop=self.lost_drop)


class WiredMethods:
    if TYPE_CHECKING:
        focus_pin: int
        shutter_pin: int
        line: str

    def pins(self) -> tuple[int, ...]:
        """The pins a wired press drives (the shutter pin only for a full press)."""
        return (self.focus_pin,) if self.line == "focus" else (self.focus_pin, self.shutter_pin)


class ActionMapMethods:
    def mapping(self) -> dict[str, str]:
        """Gesture name to action, leaving out ``none``."""
        return {
            gesture: action
            for gesture in GESTURES
            if (action := getattr(self, attribute_name(gesture))) != "none"
        }


class ConfigMethods:
    if TYPE_CHECKING:
        patterns: Mapping[Any, Any]
        actions: Any
        haptics: Any

    def haptic_sequencer(self, repeat_gap_s: Mapping[str, float] | None = None
                         ) -> HapticSequencer:
        """A sequencer for these patterns with the configured kick and gap between patterns,
        as the daemon plays them (and ``pitrigger haptics``): no kick without PWM, where
        strength does not apply. ``repeat_gap_s`` as for
        :class:`~pitrigger.haptics.HapticSequencer` (focus mode's train)."""
        haptics = self.haptics
        return HapticSequencer(
            self.pattern_objects(),
            kick_s=haptics.kick_ms / 1000 if haptics.pwm else 0.0,
            min_gap_s=haptics.min_gap_ms / 1000,
            repeat_gap_s=repeat_gap_s,
        )

    def pattern_objects(self) -> dict[str, Pattern]:
        """The vocabulary as :class:`~pitrigger.haptics.Pattern` objects."""
        return {name: pattern.pattern() for name, pattern in self.patterns.items()}

    def actions_for(self, state: str) -> dict[str, str]:
        """Gesture to action in controller state ``idle`` or ``recording``, without ``none``.

        A gesture that is not in the result does nothing (and gets no threshold tick);
        ``double`` in the result means the recogniser must wait for a second press.
        """
        if state == "idle":
            return dict(self.actions.idle.mapping())
        if state == "recording":
            return dict(self.actions.recording.mapping())
        raise ValueError(f"no action map for state {state!r}; use 'idle' or 'recording'")


# --- the plain view ----------------------------------------------------------------------------


class Section:
    """A table of settings as read-only attributes."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("config values are read-only")

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={value!r}" for key, value in self.__dict__.items())
        return f"{type(self).__name__}({inner})"


class _Gestures(GesturesMethods, Section):
    pass


class _Pattern(PatternMethods, Section):
    pass


class _ActionMap(ActionMapMethods, Section):
    pass


class _Wired(WiredMethods, Section):
    pass


class _Focus(FocusMethods, Section):
    pass


class _Config(ConfigMethods, Section):
    pass


# Which class answers at which key path; "*" is any key of a name-to-table mapping.
_CLASSES: dict[tuple[str, ...], type[Section]] = {
    (): _Config,
    ("gestures",): _Gestures,
    ("focus",): _Focus,
    ("wired",): _Wired,
    ("patterns", "*"): _Pattern,
    ("actions", "idle"): _ActionMap,
    ("actions", "recording"): _ActionMap,
}
# Tables whose keys are names (data), not settings: they stay mappings.
_MAPPINGS = {("patterns",)}


def build_view(values: Mapping[str, Any]) -> Any:
    """Plain, read-only namespaces from a validated config's ``model_dump()``."""
    return _build(values, ())


def _build(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_build(item, path) for item in value)
    if not isinstance(value, Mapping):
        return value
    if path in _MAPPINGS:
        return {key: _build(item, (*path, "*")) for key, item in value.items()}
    cls = _CLASSES.get(path, Section)
    return cls({key: _build(item, (*path, key)) for key, item in value.items()})
