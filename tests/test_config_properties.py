"""Property tests: random and hostile config files never crash, and every mistake is named.

The schema-driven test builds a valid config from the schema, renders it as TOML in random
layouts (table headers, dotted keys, inline tables), then breaks some values or adds unknown
keys. Each broken key must be reported under its own dotted name on the line it is written.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitrigger.config import (
    ACTION_NAMES,
    Config,
    ConfigError,
    key_lines,
    main_check_config,
    parse_config,
)
from pitrigger.gestures import GESTURE_NAMES
from pitrigger.haptics import DEFAULT_PATTERNS, VOCABULARY

Path_ = tuple[str | int, ...]
BARE = re.compile(r"[A-Za-z0-9_-]+")
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if BARE.fullmatch(part) else quoted(part)
            out += f".{name}" if out else name
    return out


def quoted(name: str) -> str:
    escaped = (
        "\\" + c if c in '"\\' else c if c.isprintable()
        else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
        for c in name
    )
    return '"' + "".join(escaped) + '"'


def assert_well_formed(exc: ConfigError, text_lines: int) -> None:
    assert exc.problems, "a ConfigError must say why"
    for problem in exc.problems:
        assert problem.message.strip()
        assert "internal error" not in problem.message, problem
        assert "\n" not in problem.message
        assert problem.line is None or 1 <= problem.line <= text_lines + 1, problem
        assert len(problem.message) < 400, problem


# -- garbage -------------------------------------------------------------------------------

toml_ish = st.text(
    alphabet=st.sampled_from(list("[]{}=.,\"'#\n \t_-abcdefghijklmnopqrstuvwxyz0123456789+:"))
    | st.characters(),
    max_size=200,
)
fragments = st.lists(
    st.sampled_from([
        "[camera]\n", "[button]\n", "[patterns]\n", "[actions.idle]\n", "[[camera]]\n",
        "pin = 17\n", "pin = \"17\"\n", "pin = 1e999\n", "pin = nan\n", "port = 'usb'\n",
        "tick = { steps_ms = [1, 2] }\n", "x.y.z = [[[1]]]\n", "a = {}\n", "\"\" = 1\n",
        "press = 'none'\n", "hold_s = -inf\n", "= 3\n", "pin = 99999999999999999999999\n",
        "recording = { steps_ms = [700], strength = 0.0 }\n", "\x00", "\ufeff", "\r\n",
        "'''\n", "s = \"\"\"\nmulti\n\"\"\"\n", "pull_up = 1\n", "[patterns.tick]\n",
        "very-long-hold = 'power-off'\n", "camera = 5\n", "k = 1979-05-27T07:32:00Z\n",
    ]),
    max_size=12,
).map("".join)


@SETTINGS
@given(data=st.binary(max_size=300) | toml_ish.map(lambda t: t.encode("utf-8", "surrogatepass"))
       | fragments.map(str.encode))
def test_any_bytes_give_a_config_or_a_config_error(data: bytes) -> None:
    try:
        config = parse_config(data, "fuzz.toml")
    except ConfigError as exc:
        assert_well_formed(exc, data.count(b"\n") + 1)
    else:
        assert isinstance(config, Config)


@SETTINGS
@given(text=toml_ish | fragments)
def test_any_text_gives_a_config_or_a_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert_well_formed(exc, text.count("\n") + 1)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=200) | fragments.map(str.encode))
def test_check_config_never_crashes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pitrigger.toml"
        path.write_bytes(data)
        with _captured() as (out, err):
            code = main_check_config(str(path))
    if code == 0:
        assert out.getvalue() == f"OK {path}\n" and err.getvalue() == ""
    else:
        assert code == 2 and out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert lines
        for line in lines:
            assert re.match(rf"{re.escape(str(path))}(:\d+)?: \S", line), line


class _captured:
    """Redirect stdout and stderr (capsys does not mix with hypothesis examples)."""

    def __enter__(self) -> tuple[Any, Any]:
        import contextlib
        import io

        self.out, self.err = io.StringIO(), io.StringIO()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(self.out))
        self._stack.enter_context(contextlib.redirect_stderr(self.err))
        return self.out, self.err

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


# -- the schema, as generators of valid and invalid values -------------------------------------


@dataclass(frozen=True)
class Kind:
    """How to make a valid and a surely invalid value for one key."""

    valid: st.SearchStrategy[Any]
    invalid: st.SearchStrategy[Any]


not_a_scalar = st.lists(st.integers(0, 3), max_size=2) | st.just({"x": 1})
words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
huge = st.integers(min_value=10**18, max_value=10**40)
bad_floats = st.sampled_from([math.nan, math.inf, -math.inf])


def float_kind(lo: float, hi: float, valid: tuple[float, float] | None = None) -> Kind:
    """Schema range lo..hi; ``valid`` narrows the values generated as valid (to keep
    cross-field rules satisfied) without making anything in lo..hi count as invalid."""
    vlo, vhi = valid or (lo, hi)
    return Kind(
        st.floats(vlo, vhi),
        words | st.booleans() | not_a_scalar | bad_floats | huge | huge.map(lambda n: -n)
        | st.floats(hi, 1e300, exclude_min=True) | st.floats(-1e300, lo, exclude_max=True),
    )


def int_kind(lo: int, hi: int, valid: tuple[int, int] | None = None) -> Kind:
    vlo, vhi = valid or (lo, hi)
    return Kind(
        st.integers(vlo, vhi),
        words | st.booleans() | not_a_scalar | st.floats(allow_nan=True) | huge
        | st.integers(hi + 1, hi + 1000) | st.integers(lo - 1000, lo - 1),
    )


BOOL = Kind(st.booleans(), words | st.integers() | st.floats() | not_a_scalar)


def choice_kind(choices: tuple[str, ...] | list[str]) -> Kind:
    return Kind(
        st.sampled_from(choices),
        words.filter(lambda w: w not in choices) | st.integers() | st.booleans() | not_a_scalar,
    )


PATH = Kind(
    st.sampled_from(["/tmp/x", "/var/lib/pitrigger/a b", "relative/ok", "é/ü"]),
    st.just("") | st.integers() | st.booleans() | not_a_scalar | st.floats(),
)
PWM_CHANNEL = Kind(
    st.sampled_from(["", "pwmchip0:0", "pwmchip2:1", "pwmchip10:3"]),
    st.sampled_from(["pwm0", "pwmchip0", "pwmchip:0", "pwmchip0:", "gpio18", " pwmchip0:0"])
    | st.integers() | st.booleans() | not_a_scalar,
)
PORT = Kind(
    st.sampled_from(["usb", "ptpip:192.168.1.2", "ptpip:cam:15740", "ptpip:127.0.0.1:1:2"])
    | st.tuples(st.integers(0, 999), st.integers(0, 999)).map(
        lambda bd: f"usb:{bd[0]:03d},{bd[1]:03d}"),
    st.sampled_from(["", "usb:1,2", "USB", "ptpip:", "ptpip:h:0", "ptpip:h:99999", "com1",
                     "usb:001,002,003", "ptpip:h:1:2:3", "usb "])
    | st.integers() | st.booleans() | not_a_scalar,
)
STEP = st.integers(10, 5000)


def _legal_steps(pulses: int) -> st.SearchStrategy[list[int]]:
    # Inside the pattern rules of docs/haptics.md by construction: pulses 50-250 ms, gaps
    # 100-250 ms, so at most 9 x 250 = 2250 ms long and at most 1250 ms on in any 2 s.
    on, off = st.integers(50, 250), st.integers(100, 250)
    return st.tuples(*[on if i % 2 == 0 else off for i in range(2 * pulses - 1)]).map(list)


STEPS = Kind(
    st.integers(1, 5).flatmap(_legal_steps),
    st.just([]) | st.lists(STEP, min_size=2, max_size=2)
    | st.lists(STEP, min_size=11, max_size=11)
    | (st.integers(-10, 9) | st.integers(5001, 10**9) | words | st.floats()).map(
        lambda bad: [100, bad, 100])
    | words | st.integers(),
)

SECTIONS: dict[str, dict[str, Kind]] = {
    "camera": {
        "backend": choice_kind(("gphoto2", "picamera2")),
        "port": PORT,
        "busy_retry_s": float_kind(0.0, 60.0),
        "confirm_timeout_s": float_kind(0.5, 60.0),
        "poll_interval_s": float_kind(0.05, 9.0),
        "reconnect_min_s": float_kind(0.1, 60.0),
        "reconnect_max_s": float_kind(0.1, 600.0, valid=(60.0, 600.0)),  # stays >= min
        "output_dir": PATH,
    },
    "button": {"source": choice_kind(("gpiod", "gpio", "terminal")),
               "pin": int_kind(0, 27, (0, 13)), "pull_up": BOOL},
    "haptics": {
        "sink": choice_kind(("gpiod", "gpio", "terminal")),
        "pin": int_kind(0, 27, valid=(18, 27)),  # kept apart from the button's (default 17)
        "pwm": BOOL,
        "frequency_hz": int_kind(10, 20000),
        "kick_ms": int_kind(0, 200),
        "min_gap_ms": int_kind(0, 2000),
        "pwm_channel": PWM_CHANNEL,
    },
    "gestures": {
        # Valid values chosen to keep each one above the one before.
        "debounce_ms": int_kind(1, 200, valid=(1, 99)),
        "double_window_ms": int_kind(100, 1000),
        "hold_s": float_kind(0.3, 30.0, valid=(0.3, 2.0)),
        "long_hold_s": float_kind(0.5, 60.0, valid=(2.5, 10.0)),
        "very_long_hold_s": float_kind(1.0, 120.0, valid=(11.0, 120.0)),
    },
    "journal": {"path": PATH},
    "power": {"request_path": PATH},
    "daemon": {"last_good_path": PATH},
}
PATTERN = {"steps_ms": STEPS, "strength": float_kind(0.1, 1.0)}
ACTION = choice_kind(ACTION_NAMES)


@dataclass
class Doc:
    """A config as nested dicts, plus what was broken in it."""

    tree: dict[str, Any] = field(default_factory=dict)
    broken: list[Path_] = field(default_factory=list)


def kind_at(path: Path_) -> Kind | None:
    if len(path) == 2 and path[0] in SECTIONS:
        return SECTIONS[str(path[0])].get(str(path[1]))
    if len(path) == 3 and path[0] == "patterns":
        return PATTERN.get(str(path[2]))
    if len(path) == 3 and path[0] == "actions":
        return ACTION
    return None


@st.composite
def valid_docs(draw: st.DrawFn) -> Doc:
    tree: dict[str, Any] = {}
    for section, keys in SECTIONS.items():
        if draw(st.booleans()):
            tree[section] = {key: draw(kind.valid) for key, kind in keys.items()}
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(VOCABULARY), unique=True, max_size=4))
        patterns = {
            name: {key: draw(kind.valid) for key, kind in PATTERN.items()} for name in names
        }
        # "recording" must not share its rhythm with any other pattern (a config rule): nudge
        # one of the two and look again, until no pattern feels like "recording".
        while True:
            effective = {name: list(p.steps_ms) for name, p in DEFAULT_PATTERNS.items()}
            effective.update({name: p["steps_ms"] for name, p in patterns.items()})
            clash = next((name for name in VOCABULARY if name != "recording"
                          and effective[name] == effective["recording"]), None)
            if clash is None:
                break
            changed = patterns.get("recording") or patterns[clash]
            changed["steps_ms"][0] += 1  # drawn <= 250 ms: stays inside the pattern rules
        tree["patterns"] = patterns
    if draw(st.booleans()):
        actions: dict[str, Any] = {}
        for state, needed in (("idle", "start-recording"), ("recording", "stop-recording")):
            if draw(st.booleans()):
                mapping = {g: draw(ACTION.valid) for g in GESTURE_NAMES}
                if state == "recording":  # a config rule: focus mode only while idle
                    mapping = {g: "none" if a == "focus-mode" else a for g, a in mapping.items()}
                if not {"toggle-recording", needed} & set(mapping.values()):
                    mapping["press"] = needed
                actions[state] = mapping
        tree["actions"] = actions
    return Doc(tree)


def tables(tree: dict[str, Any], prefix: Path_ = ()) -> list[Path_]:
    """Paths of all tables in the tree, the root included."""
    out = [prefix]
    for key, value in tree.items():
        if isinstance(value, dict) and kind_at((*prefix, key)) is None:
            out.extend(tables(value, (*prefix, key)))
    return out


def get(tree: dict[str, Any], path: Path_) -> Any:
    for part in path:
        tree = tree[part]  # type: ignore[index]
    return tree


def allowed_names(path: Path_) -> set[str]:
    if path == ():
        return set(Config.model_fields)
    if path == ("patterns",):
        return set(VOCABULARY)
    if path == ("actions",):
        return {"idle", "recording"}
    if path[0] == "actions":
        return set(GESTURE_NAMES)
    if path[0] == "patterns":
        return set(PATTERN)
    return set(SECTIONS[str(path[0])])


@st.composite
def broken_docs(draw: st.DrawFn) -> Doc:
    doc = draw(valid_docs())
    leaves = [
        (*table, key)
        for table in tables(doc.tree)
        for key in get(doc.tree, table)
        if kind_at((*table, key)) is not None
    ]
    for path in draw(st.lists(st.sampled_from(leaves), unique=True, max_size=3)) if leaves \
            else []:
        kind = kind_at(path)
        assert kind is not None
        get(doc.tree, path[:-1])[path[-1]] = draw(kind.invalid)
        doc.broken.append(path)
    # Unknown keys: typos, stray settings, odd quoted names.
    for _ in range(draw(st.integers(0, 2))):
        table = draw(st.sampled_from(tables(doc.tree)))
        name = draw(st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
                    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                              min_size=1, max_size=6))
        target = get(doc.tree, table)
        if name in allowed_names(table) or name in target:
            continue
        target[name] = draw(st.integers() | words | st.booleans())
        doc.broken.append((*table, name))
    # A whole table that is not a table.
    if draw(st.booleans()):
        table = draw(st.sampled_from(tables(doc.tree)))
        if table and not any(b[:len(table)] == table for b in doc.broken):
            get(doc.tree, table[:-1])[table[-1]] = draw(st.integers() | words)
            doc.broken.append(table)
    return doc


# -- rendering TOML in random layouts, remembering each key's line ---------------------------


def toml_key(name: str) -> str:
    return name if BARE.fullmatch(name) else toml_string(name)


def toml_string(text: str) -> str:
    return quoted(text)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) \
            + " }"
    raise TypeError(value)


class Renderer:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.lines: list[str] = []
        self.where: dict[Path_, int] = {}

    def emit(self, text: str, *paths: Path_) -> None:
        if self.draw(st.integers(0, 5)) == 0:
            self.lines.append(self.draw(st.sampled_from(["", "# a comment", "   "])))
        self.lines.append(text)
        for path in paths:
            self.where.setdefault(path, len(self.lines))

    def is_table(self, path: Path_, value: Any) -> bool:
        return isinstance(value, dict) and kind_at(path) is None

    def inline_or_dotted(self, prefix: Path_, written: Path_, tree: dict[str, Any]) -> None:
        """Keys of ``tree`` (at ``prefix``) as ``written.key = ...`` lines."""
        for key, value in tree.items():
            path = (*prefix, key)
            name = ".".join(toml_key(str(p)) for p in (*written, key))
            if self.is_table(path, value) and self.draw(st.booleans()):
                if value:
                    self.inline_or_dotted(path, (*written, key), value)
                else:
                    self.emit(f"{name} = {{}}", path)
            else:
                inner = [p for p in all_paths(value, path)] if self.is_table(path, value) else []
                self.emit(f"{name} = {toml_value(value)}", path, *inner)

    def section(self, prefix: Path_, tree: dict[str, Any]) -> None:
        """``[prefix]`` with its plain keys, then its sub-tables, each in a random style."""
        header = ".".join(toml_key(str(p)) for p in prefix)
        self.emit(f"[{header}]", prefix)
        later = []
        for key, value in tree.items():
            path = (*prefix, key)
            if self.is_table(path, value) and self.draw(st.booleans()):
                later.append((path, value))
            else:
                self.inline_or_dotted(prefix, (), {key: value})
        for path, value in later:
            self.section(path, value)


def all_paths(tree: Any, prefix: Path_) -> list[Path_]:
    if not isinstance(tree, dict):
        return []
    out: list[Path_] = []
    for key, value in tree.items():
        out.append((*prefix, key))
        out.extend(all_paths(value, (*prefix, key)))
    return out


@st.composite
def rendered(draw: st.DrawFn, docs: st.SearchStrategy[Doc]) -> tuple[Doc, str, dict[Path_, int]]:
    doc = draw(docs)
    r = Renderer(draw)
    headed = []
    for key, value in doc.tree.items():
        if r.is_table((key,), value) and draw(st.booleans()):
            headed.append((key, value))
        else:
            r.inline_or_dotted((), (), {key: value})
    for key, value in headed:
        r.section((key,), value)
    return doc, "\n".join(r.lines) + "\n", r.where


# -- the properties ------------------------------------------------------------------------


@SETTINGS
@given(case=rendered(valid_docs()))
def test_valid_files_in_any_layout_parse_to_their_values(
    case: tuple[Doc, str, dict[Path_, int]]
) -> None:
    doc, text, _ = case
    config = parse_config(text, "gen.toml")
    dumped = config.model_dump(by_alias=True)
    for section, values in doc.tree.items():
        for key, value in values.items():
            if section == "patterns":
                assert list(dumped["patterns"][key]["steps_ms"]) == value["steps_ms"]
                assert dumped["patterns"][key]["strength"] == value["strength"]
            elif section == "actions":
                assert dumped["actions"][key] == value
            else:
                assert dumped[section][key] == value, (section, key, text)


@SETTINGS
@given(case=rendered(broken_docs()))
def test_every_broken_key_is_named_on_its_line(case: tuple[Doc, str, dict[Path_, int]]) -> None:
    doc, text, where = case
    try:
        parse_config(text, "gen.toml")
    except ConfigError as exc:
        assert_well_formed(exc, text.count("\n") + 1)
        reported = [(p.key, p.line) for p in exc.problems]
        for path in doc.broken:
            key = dotted(path)
            assert any(
                (k == key or k.startswith((key + ".", key + "["))) and line == where[path]
                for k, line in reported
            ), (key, where[path], reported, text)
        # Nothing is reported that was not broken (a valid key is never blamed).
        for k, _ in reported:
            assert any(k == dotted(p) or k.startswith((dotted(p) + ".", dotted(p) + "["))
                       for p in doc.broken), (k, doc.broken, text)
    else:
        assert doc.broken == [], text


@SETTINGS
@given(case=rendered(broken_docs()))
def test_line_scanner_finds_every_key_of_any_layout(
    case: tuple[Doc, str, dict[Path_, int]]
) -> None:
    _, text, where = case
    found = key_lines(text)
    for path, line in where.items():
        assert found.get(path) == line, (path, line, text)


@SETTINGS
@given(text=toml_ish | fragments)
def test_line_scanner_survives_any_text(text: str) -> None:
    found = key_lines(text)
    assert all(1 <= line <= text.count("\n") + 1 for line in found.values())


@pytest.mark.parametrize("seed_text", ["", "[camera]\n", "[patterns]\n[actions]\n"])
def test_sanity_of_the_generators(seed_text: str) -> None:
    # The generators above must be able to fail: a broken value is not accepted.
    with pytest.raises(ConfigError):
        parse_config(seed_text + "[button]\npin = 28\n")
