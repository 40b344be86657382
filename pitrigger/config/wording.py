"""Error wording: pydantic's validation errors and tomllib's syntax errors, as problems
that name the dotted key, its line and what to do, in plain words for the person editing
the file (who has no screen on the device, only ``pitrigger check-config``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from pitrigger import names
from pitrigger.config.problems import ConfigProblem, short_repr
from pitrigger.config.schema import Config, PatternConfig
from pitrigger.config.toml_lines import BARE_KEY, KeyPath, KeyScanner, line_of

__all__ = ["dotted", "syntax_problem", "validation_problems"]

# Errors that pitrigger.config.schema raises already worded (its ``_custom``).
_WORDED_IN_SCHEMA = ("camera_port", "odd_steps", "pattern_rules", "pwm_channel", "thresholds",
                     "unusable_path")



def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if BARE_KEY.fullmatch(part) else _quoted(part)
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
            return list(names.CUES)
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
    if kind in _WORDED_IN_SCHEMA:
        return str(ctx["message"])
    if kind == "literal_error" and error["loc"][-1:] == ("[key]",):
        return _unknown(str(value), list(names.CUES), "pattern name")
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
    return f"{text} (got {short_repr.repr(value)})"


def validation_problems(exc: ValidationError, lines: Mapping[KeyPath, int], source: str
                        ) -> list[ConfigProblem]:
    """One problem per distinct (key, message), in line order; cross-key rules name the key
    that the file actually sets (``lines`` tells which)."""
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
        key = dotted(loc)
        if (key, message) in seen:
            continue
        seen.add((key, message))
        problems.append(ConfigProblem(key, line_of(lines, loc), message, source))
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return problems


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def syntax_problem(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ConfigProblem:
    """tomllib's complaint with its line and column; a duplicate key gets both lines."""
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match:
        line = int(match.group(1))
        message = message[:match.start()]
        return ConfigProblem("", line, f"TOML syntax error: {message} "
                                       f"(column {match.group(2)})", source)
    message = message.replace(" (at end of document)", "")
    scanner = KeyScanner(text)
    scanner.scan()
    if scanner.duplicate is not None:
        path, first, again = scanner.duplicate
        return ConfigProblem(dotted(path), again,
                             f"TOML syntax error: set twice (first on line {first})", source)
    return ConfigProblem("", None, f"TOML syntax error: {message}", source)
