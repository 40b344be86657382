"""The config file: one TOML file, validated in full, every problem named by key and line.

The device has no screen, so a config mistake must never pass silently: unknown keys are
errors (a typo would otherwise leave a setting at its default), values are type-checked
without coercion, and each problem names its dotted key and the line it is on::

    pitrigger.toml:12: haptics.pin: must differ from button.pin (both 17)

Search order: ``--config PATH``, then :data:`SEARCH_PATH` (the SD card's boot partition
first), else the built-in defaults. ``pitrigger check-config PATH`` runs the same checks.

>>> config = parse_config('[button]\\npin = 23\\n')
>>> config.button.pin, config.haptics.pin
(23, 18)
>>> config.actions_for("recording")
{'press': 'toggle-recording', 'hold': 'status'}
>>> try:
...     parse_config('[button]\\npin = 23\\npn = 4\\n', source="pitrigger.toml")
... except ConfigError as exc:
...     print(exc)
pitrigger.toml:3: button.pn: unknown key (did you mean 'pin'?)
"""

from __future__ import annotations

import contextlib
import os
import re
import reprlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pitrigger import haptics
from pitrigger.controller import ACTION_NAMES
from pitrigger.gestures import GestureTimings
from pitrigger.haptics import Pattern as HapticPattern

__all__ = [
    "ACTION_NAMES",
    "SEARCH_PATH",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "find_config",
    "load_config",
    "main_check_config",
    "parse_config",
]

SEARCH_PATH: tuple[Path, ...] = (
    Path("/boot/firmware/pitrigger.toml"),
    Path("/etc/pitrigger.toml"),
)
#: A config is a few kilobytes; refuse to read a huge file into a 512 MB machine.
MAX_FILE_BYTES = 1 << 20

# --- problems -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: dotted ``key`` (empty for file-level problems), ``line`` if known.

    >>> str(ConfigProblem("haptics.pin", 12, "must differ from button.pin", "pitrigger.toml"))
    'pitrigger.toml:12: haptics.pin: must differ from button.pin'
    """

    key: str
    line: int | None
    message: str
    source: str = "pitrigger.toml"

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every reason, ``str()`` one per line."""

    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# Values quoted in messages are cut short: a config line may hold anything.
_short = reprlib.Repr()
_short.maxstring = _short.maxother = _short.maxlong = 40
_short.maxlevel = 2
_short.maxlist = _short.maxtuple = _short.maxdict = 4


# --- schema -------------------------------------------------------------------------------


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

    @field_validator("port")
    @classmethod
    def _check_port(cls, port: str) -> str:
        match = _PORT_RE.fullmatch(port)
        if match is None or any(g is not None and not 1 <= int(g) <= 65535
                                for g in match.groups()):
            message = f"{_short.repr(port)} is not a camera port; use {_PORT_FORMS}"
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


class ButtonConfig(_Section):
    source: Literal["gpio", "terminal"] = "gpio"
    pin: Pin = 17
    pull_up: bool = True


class HapticsConfig(_Section):
    sink: Literal["gpio", "terminal"] = "gpio"
    pin: Pin = 18
    pwm: bool = False
    frequency_hz: int = Field(200, ge=10, le=20000)
    kick_ms: int = Field(40, ge=0, le=200)
    min_gap_ms: int = Field(150, ge=0, le=2000)


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


PatternName = Literal[
    "ready", "recording", "stopped", "error", "no-camera", "busy", "tick", "power-off",
    "limit-soon", "restarted", "low-card", "low-battery", "heat", "still",
]
Action = Literal[
    "toggle-recording", "start-recording", "stop-recording", "status", "power-off", "none"
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
        return self


class JournalConfig(_Section):
    path: NonEmptyStr = "/var/lib/pitrigger/journal.jsonl"


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
    button: ButtonConfig = Field(default_factory=ButtonConfig)
    haptics: HapticsConfig = Field(default_factory=HapticsConfig)
    gestures: GesturesConfig = Field(default_factory=GesturesConfig)
    patterns: dict[PatternName, PatternConfig] = Field(default_factory=_default_patterns)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
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
        if self.button.source == "gpio" and self.haptics.sink == "gpio" \
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


# --- finding keys' lines ------------------------------------------------------------------

KeyPath = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class _KeyScanner:
    """Maps each dotted key of a TOML document to the line it starts on.

    tomllib keeps no positions, so this walks the text: comments, strings (all four kinds),
    table and array-of-table headers, dotted and quoted keys, arrays (each element) and inline
    tables. It is lenient and never raises; on text it cannot follow it keeps what it found.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        self.duplicate: tuple[KeyPath, int, int] | None = None  # key, first line, again
        self._array_tables: dict[KeyPath, int] = {}
        self._defined: dict[KeyPath, int] = {}
        self._last_loop_pos = -1

    def scan(self) -> dict[KeyPath, int]:
        # Best effort: a good error report must not die on a line-number hunt.
        with contextlib.suppress(IndexError, ValueError, RecursionError):
            self._document()
        return self.lines

    # -- helpers

    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def _advance(self, count: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count

    def _skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self._advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _record(self, path: KeyPath, line: int, *, leaf: bool) -> None:
        """Remember the first line of ``path``; ``leaf``: this line defines it (a key or a
        table header), so a second definition is a duplicate."""
        if leaf:
            if path in self._defined and self.duplicate is None:
                self.duplicate = (path, self._defined[path], line)
            self._defined.setdefault(path, line)
        self.lines.setdefault(path, line)

    # -- grammar

    def _document(self) -> None:
        prefix: KeyPath = ()
        while True:
            self._skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line
            if self._peek() == "[":
                array = self._peek(1) == "["
                self._advance(2 if array else 1)
                header = self._key()
                for depth in range(1, len(header)):
                    self._record(header[:depth], line, leaf=False)
                if array:
                    index = self._array_tables.get(header, -1) + 1
                    self._array_tables[header] = index
                    self._record(header, line, leaf=False)
                    prefix = (*header, index)
                    self._record(prefix, line, leaf=False)
                else:
                    self._record(header, line, leaf=True)
                    prefix = header
                self._to_line_end()
                continue
            key = self._key()
            for depth in range(1, len(key)):
                self._record(prefix + key[:depth], line, leaf=False)
            self._record(prefix + key, line, leaf=True)
            self._skip_blank(newlines=False)
            if self._peek() != "=":
                self._to_line_end()
                continue
            self._advance()
            self._value(prefix + key)
            self._to_line_end()

    def _check_progress(self) -> None:
        # Text this lenient reader cannot follow must end the scan, never loop forever.
        if self.pos == self._last_loop_pos:
            raise ValueError("no progress")
        self._last_loop_pos = self.pos

    def _to_line_end(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def _key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            char = self._peek()
            if char == '"':
                start = self.pos
                self._string()
                parts.append(_unescape(self.text[start + 1:self.pos - 1]))
            elif char == "'":
                start = self.pos
                self._string()
                parts.append(self.text[start + 1:self.pos - 1])
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    return tuple(parts)
                parts.append(match.group())
                self.pos = match.end()
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return tuple(parts)
            self._advance()

    def _string(self) -> None:
        quote = self._peek()
        if self.text.startswith(quote * 3, self.pos):
            end = self.text.find(quote * 3, self.pos + 3)
            while quote == '"' and end > 0 and _escaped(self.text, end):
                end = self.text.find(quote * 3, end + 1)
            end = len(self.text) if end < 0 else end + 3
            while self.text.startswith(quote, end):  # up to two quotes may end the content
                end += 1
            self._advance(end - self.pos)
            return
        index = self.pos + 1
        while index < len(self.text) and self.text[index] not in (quote, "\n"):
            index += 2 if quote == '"' and self.text[index] == "\\" else 1
        self._advance(min(index + 1, len(self.text)) - self.pos)

    def _value(self, path: KeyPath) -> None:
        self._skip_blank(newlines=False)
        char = self._peek()
        if char in "\"'":
            self._string()
        elif char == "[":
            self._advance()
            index = 0
            while True:
                self._skip_blank(newlines=True)
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                self._check_progress()
                self._record((*path, index), self.line, leaf=False)
                self._value((*path, index))
                index += 1
                self._skip_blank(newlines=True)
                if self._peek() == ",":
                    self._advance()
        elif char == "{":
            self._advance()
            while True:
                self._skip_blank(newlines=True)
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                self._check_progress()
                line = self.line
                key = self._key()
                if not key:
                    raise ValueError("unexpected text in an inline table")
                for depth in range(1, len(key)):
                    self._record(path + key[:depth], line, leaf=False)
                self._record(path + key, line, leaf=True)
                self._skip_blank(newlines=False)
                if self._peek() == "=":
                    self._advance()
                    self._value(path + key)
                self._skip_blank(newlines=True)
                if self._peek() == ",":
                    self._advance()
        else:
            while self._peek() not in ("", ",", "]", "}", "#", "\n"):
                self._advance()


_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(body: str) -> str:
    """The value of a TOML basic string's body (as tomllib would read it)."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(one, body)


def _escaped(text: str, index: int) -> bool:
    """An odd number of backslashes right before ``index``."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Line (1-based) of every key, table header and array element in a TOML document.

    >>> lines = key_lines('[a]\\nb = 1\\nc.d = [\\n  1,\\n  2,\\n]\\ne = { f = 2 }\\n')
    >>> lines[("a", "b")], lines[("a", "c", "d")], lines[("a", "c", "d", 1)], lines[("a", "e", "f")]
    (2, 3, 5, 7)
    """
    return _KeyScanner(text).scan()


def _line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path`` or of its nearest enclosing key present in the file."""
    for length in range(len(path), 0, -1):
        line = lines.get(path[:length])
        if line is not None:
            return line
    return None


# --- turning validation errors into problems --------------------------------------------------

def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else _quoted(part)
            out += f".{name}" if out else name
    return out


def _quoted(name: str) -> str:
    """A key as a TOML basic string, anything unprintable escaped: one line, always."""
    out = []
    for char in name:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'



def _allowed_keys(path: KeyPath) -> list[str]:
    """The valid key names inside the table at ``path`` (for "did you mean")."""
    if path[:1] == ("patterns",):
        # A dict of patterns by name, each a PatternConfig.
        if len(path) == 1:
            return list(haptics.VOCABULARY)
        return list(PatternConfig.model_fields) if len(path) == 2 else []
    model: Any = Config
    for part in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        model = field.annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _unknown(name: str, choices: list[str], what: str) -> str:
    import difflib  # error path only: not worth its import time on every start

    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} (did you mean {close[0]!r}?)"
    return f"unknown {what}; valid: {', '.join(choices)}" if choices else f"unknown {what}"


def _message(error: Any, path: KeyPath) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        return _unknown(str(path[-1]), _allowed_keys(path[:-1]),
                        "section" if len(path) == 1 else "key")
    if kind in ("camera_port", "odd_steps"):
        return str(ctx["message"])
    if kind == "literal_error" and error["loc"][-1:] == ("[key]",):
        return _unknown(str(value), list(haptics.VOCABULARY), "pattern name")
    text = {
        "int_type": "must be a whole number",
        "float_type": "must be a number",
        "bool_type": "must be true or false",
        "string_type": "must be a quoted string",
        "model_type": "must be a table",
        "dict_type": "must be a table",
        "tuple_type": "must be an array of whole numbers, e.g. [100, 150, 100]",
        "finite_number": "must be a finite number",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "literal_error": f"must be one of {ctx.get('expected')}",
        "too_short": f"needs at least {ctx.get('min_length')} element(s)",
        "too_long": f"must have at most {ctx.get('max_length')} elements",
        "string_too_short": "must not be empty",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
    }.get(kind, str(error.get("msg", kind)))
    if kind in ("too_short", "too_long") or isinstance(value, dict | list):
        return text
    return f"{text} (got {_short.repr(value)})"


def _problems(exc: ValidationError, lines: Mapping[KeyPath, int], source: str
              ) -> list[ConfigProblem]:
    errors = exc.errors(include_url=False)
    problems: list[ConfigProblem] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        loc: KeyPath = tuple(error["loc"])
        if loc[-1:] == ("[key]",) and error["type"] != "extra_forbidden":
            loc = loc[:-1]  # pydantic's marker for "the dict key itself is wrong"
        if error["type"] in ("too_short", "too_long") and any(
            len(other["loc"]) > len(loc) and tuple(other["loc"][:len(loc)]) == loc
            for other in errors
        ):
            continue  # the elements' own errors say it better
        if error["type"] == "cross_field":
            choices = [((*loc, *key.split(".")), text)
                       for key, text in error["ctx"]["choices"].items()]
            loc, message = next(((k, t) for k, t in choices if k in lines), choices[0])
        else:
            message = _message(error, loc)
        message = message.replace("\n", " ")
        key = _dotted(loc)
        if (key, message) in seen:
            continue
        seen.add((key, message))
        problems.append(ConfigProblem(key, _line_of(lines, loc), message, source))
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return problems


# --- loading ----------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ConfigProblem:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match:
        line = int(match.group(1))
        message = message[:match.start()]
        return ConfigProblem("", line, f"TOML syntax error: {message} "
                                       f"(column {match.group(2)})", source)
    message = message.replace(" (at end of document)", "")
    scanner = _KeyScanner(text)
    scanner.scan()
    if scanner.duplicate is not None:
        path, first, again = scanner.duplicate
        return ConfigProblem(_dotted(path), again,
                             f"TOML syntax error: set twice (first on line {first})", source)
    return ConfigProblem("", None, f"TOML syntax error: {message}", source)


def _decode(data: str | bytes, source: str) -> str:
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ConfigError(source, [ConfigProblem(
                "", line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column});"
                          " save the file as UTF-8", source)]) from None
    # Windows editors may start the file with a byte-order mark; TOML does not allow one.
    return text.removeprefix("\ufeff")


def parse_config(data: str | bytes, source: str = "<string>") -> Config:
    """Validate TOML text; raises :class:`ConfigError` (and nothing else) listing every problem.

    An empty file is the built-in defaults.
    """
    try:
        return _parse(data, source)
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError(source, [ConfigProblem("", None, "nested too deeply", source)]) \
            from None
    except Exception as exc:  # a config must never crash the daemon; see the tests
        raise ConfigError(source, [ConfigProblem(
            "", None, f"internal error while checking the config: {exc!r}", source)]) from exc


def _parse(data: str | bytes, source: str) -> Config:
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(source, [ConfigProblem(
            "", None, f"file too large ({len(data)} bytes; a config is a few KB)", source)])
    text = _decode(data, source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [_syntax_problem(exc, text, source)]) from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, _problems(exc, key_lines(text), source)) from None


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    """The config to load: ``explicit`` (which must exist), else the first of
    :data:`SEARCH_PATH` that exists, else ``None`` (the built-in defaults)."""
    if explicit is not None:
        path = Path(explicit)
        if not path.exists():
            raise ConfigError(str(path), [ConfigProblem("", None, "no such file", str(path))])
        return path
    for candidate in SEARCH_PATH:
        if candidate.exists():
            return candidate
    return None


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Read and validate ``path``; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    source = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(source, [ConfigProblem("", None, f"cannot read: {reason}", source)]) \
            from None
    return parse_config(data, source)


def main_check_config(path: str) -> int:
    """``pitrigger check-config PATH``: ``OK PATH`` and 0, or every problem and 2."""
    import sys

    try:
        load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            _print_safely(str(problem), sys.stderr)
        return 2
    _print_safely(f"OK {path}", sys.stdout)
    return 0


def _print_safely(text: str, stream: Any) -> None:
    # A file name or value the terminal cannot encode must not turn a report into a crash.
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream)
