"""Start-up: the validated-config store, the plain view, the fallback, --version, haptics."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from test_config_properties import valid_docs

import pitrigger
from pitrigger.cli import main as cli_main
from pitrigger.config import Config, ConfigError, parse_config
from pitrigger.config import startup as startup_module
from pitrigger.config.schema import DaemonConfig
from pitrigger.config.startup import (
    DEFAULT_LAST_GOOD_PATH,
    LoadedConfig,
    load_run_config,
    schema_fingerprint,
    store_path,
)
from pitrigger.config.view import build_view
from pitrigger.names import GESTURES

ROOT = Path(__file__).resolve().parent.parent

CUSTOM = """
[camera]
port = "ptpip:192.168.1.2:15740"
busy_retry_s = 1
reconnect_max_s = 30.5
output_dir = "/media/clips/"
[button]
source = "terminal"
pin = 4
pull_up = false
[haptics]
sink = "terminal"
pwm = true
kick_ms = 30
min_gap_ms = 400
[gestures]
double_window_ms = 250
hold_s = 0.8
[patterns]
tick = { steps_ms = [60], strength = 0.5 }
recording = { steps_ms = [900] }
[actions.idle]
double = "status"
long-hold = "start-recording"
[actions.recording]
press = "stop-recording"
very-long-hold = "power-off"
[journal]
path = "/tmp/j.jsonl"
"""


def leaves(model: BaseModel, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (attribute path, value) of a validated config, by walking the schema."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += leaves(value, (*prefix, name))
        elif isinstance(value, dict):
            for key, item in value.items():
                out += [((*prefix, name, f"[{key}]", *p[0]), p[1])
                        for p in leaves(item)] if isinstance(item, BaseModel) \
                    else [((*prefix, name, f"[{key}]"), item)]
        else:
            out.append(((*prefix, name), value))
    return out


def follow(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = obj[part[1:-1]] if part.startswith("[") else getattr(obj, part)
    return obj


# -- the plain view answers like the model ------------------------------------------------------


@pytest.mark.parametrize("text", ["", CUSTOM], ids=["defaults", "custom"])
def test_view_answers_every_field_and_method_like_the_model(text: str) -> None:
    model = parse_config(text)
    view: Any = build_view(json.loads(json.dumps(model.model_dump(mode="json"))))
    paths = leaves(model)
    assert len(paths) > 50
    for path, value in paths:
        assert follow(view, path) == value, path
        assert type(follow(view, path)) is type(value), path
    assert view.pattern_objects() == model.pattern_objects()
    assert view.gestures.timings() == model.gestures.timings()
    for state in ("idle", "recording"):
        assert view.actions_for(state) == model.actions_for(state)
    for sequencer in (view.haptic_sequencer(), model.haptic_sequencer()):
        assert (sequencer.kick_s, sequencer.min_gap_s) == (
            (0.03, 0.4) if text else (0.0, 0.15))
    with pytest.raises(AttributeError, match="read-only"):
        view.camera.port = "usb"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_docs())
def test_view_answers_like_the_model_for_any_valid_config(doc: Any) -> None:
    model = Config.model_validate(doc.tree)
    view: Any = build_view(json.loads(json.dumps(model.model_dump(mode="json"))))
    for path, value in leaves(model):
        assert follow(view, path) == value, path
    assert view.pattern_objects() == model.pattern_objects()
    assert view.gestures.timings() == model.gestures.timings()
    for state in ("idle", "recording"):
        assert view.actions_for(state) == model.actions_for(state)


def public_methods(model: BaseModel, path: tuple[str, ...] = ()
                   ) -> list[tuple[tuple[str, ...], str]]:
    """(path, name) of every method the schema's models add (not pydantic's own)."""
    found = [(path, name) for name, value in vars(type(model)).items()
             if callable(value) and not name.startswith("_")]
    for cls in type(model).__mro__[1:]:
        if cls.__module__ == "pitrigger.config.view":
            found += [(path, name) for name, value in vars(cls).items()
                      if callable(value) and not name.startswith("_")]
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += public_methods(value, (*path, name))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    found += public_methods(item, (*path, name, f"[{key}]"))
    return found


@pytest.mark.parametrize("text", ["", CUSTOM], ids=["defaults", "custom"])
def test_every_method_of_the_models_is_on_the_view_and_answers_the_same(text: str) -> None:
    model = parse_config(text)
    view: Any = build_view(model.model_dump(mode="json"))
    methods = public_methods(model)
    assert ((), "pattern_objects") in methods and (("wired",), "pins") in methods
    for path, name in methods:
        on_model, on_view = getattr(follow(model, path), name), getattr(follow(view, path), name)
        if name == "actions_for":
            assert on_view("idle") == on_model("idle"), (path, name)
        elif name == "haptic_sequencer":
            assert (on_view().kick_s, on_view().min_gap_s, on_view().patterns) == (
                on_model().kick_s, on_model().min_gap_s, on_model().patterns)
        else:
            assert on_view() == on_model(), (path, name)


def test_action_map_fields_are_the_gesture_names() -> None:
    from pitrigger.config.schema import IdleActions

    assert [f.alias or n for n, f in IdleActions.model_fields.items()] == list(GESTURES)


def test_default_last_good_path_is_the_schemas() -> None:
    assert DaemonConfig().last_good_path == DEFAULT_LAST_GOOD_PATH


# -- the store ----------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path | None, store: Path | None, *, systemd: bool = False) -> LoadedConfig:
    return load_run_config(path, under_systemd=systemd, store=store)


def test_unchanged_file_starts_from_the_store(tmp_path: Path) -> None:
    config = write(tmp_path / "pitrigger.toml", CUSTOM)
    store = tmp_path / "state" / "config-cache.json"
    cold = load(config, store)
    assert cold.how == "validated" and store.exists()
    warm = load(config, store)
    assert warm.how == "store" and warm.problem is None and warm.path == config
    model = parse_config(CUSTOM)
    for path, value in leaves(model):
        assert follow(warm.config, path) == value == follow(cold.config, path), path


def test_a_changed_file_is_validated_again(tmp_path: Path) -> None:
    config = write(tmp_path / "pitrigger.toml", "[button]\npin = 4\n")
    store = tmp_path / "config-cache.json"
    load(config, store)
    write(config, "[button]\npin = 5\n")
    again = load(config, store)
    assert again.how == "validated" and again.config.button.pin == 5
    assert load(config, store).how == "store"


def test_a_changed_file_that_is_broken_is_refused_not_taken_from_the_store(
        tmp_path: Path) -> None:
    config = write(tmp_path / "pitrigger.toml", "[button]\npin = 4\n")
    store = tmp_path / "config-cache.json"
    load(config, store)
    write(config, "[button]\npin = 40\n")
    with pytest.raises(ConfigError, match=r"button\.pin"):
        load(config, store)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "values", "digest", "format",
                                    "schema", "directory", "fifo"])
def test_a_damaged_or_foreign_store_is_validated_again(tmp_path: Path, damage: str) -> None:
    config = write(tmp_path / "pitrigger.toml", "[button]\npin = 4\n")
    store = tmp_path / "config-cache.json"
    load(config, store)
    document = json.loads(store.read_text())
    if damage == "garbage":
        store.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        store.write_bytes(store.read_bytes()[:40])
    elif damage == "values":  # a value edited by hand: the digest no longer matches
        document["values"]["button"]["pin"] = 40
        store.write_text(json.dumps(document))
    elif damage == "digest":
        document["values_sha256"] = "0" * 64
        store.write_text(json.dumps(document))
    elif damage == "format":
        document["format"] = 999
        store.write_text(json.dumps(document))
    elif damage == "schema":  # another pitrigger version or schema wrote it
        document["key"]["schema"] = "f" * 64
        store.write_text(json.dumps(document))
    elif damage == "directory":
        store.unlink()
        store.mkdir()
    elif damage == "fifo":
        store.unlink()
        os.mkfifo(store)
    again = load(config, store)
    assert again.how == "validated" and again.config.button.pin == 4
    if damage not in ("directory", "fifo"):
        assert load(config, store).how == "store"  # rewritten whole


def test_schema_fingerprint_covers_the_schema_sources(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = schema_fingerprint()
    assert before == schema_fingerprint()
    copy = tmp_path / "pitrigger"
    for parts in startup_module._SCHEMA_SOURCES:
        target = copy.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(startup_module._PACKAGE_DIR.joinpath(*parts).read_bytes())
    monkeypatch.setattr(startup_module, "_PACKAGE_DIR", copy)
    assert schema_fingerprint() == before
    schema = copy / "config" / "schema.py"
    schema.write_text(schema.read_text() + "\n# a new key\n")
    assert schema_fingerprint() != before


def test_no_file_is_the_defaults_and_is_stored_too(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pitrigger.config.loading.SEARCH_PATH", (tmp_path / "none.toml",))
    store = tmp_path / "config-cache.json"
    assert load(None, store).how == "validated"
    warm = load(None, store)
    assert warm.how == "store" and warm.path is None
    assert warm.config.button.pin == Config().button.pin


def test_store_location() -> None:
    assert store_path({}, under_systemd=False) is None
    assert store_path({}, under_systemd=True) == Path("/var/lib/pitrigger/config-cache.json")
    assert store_path({"STATE_DIRECTORY": "/a:/b"}, under_systemd=True) == Path(
        "/a/config-cache.json")
    assert store_path({"PITRIGGER_CONFIG_CACHE": ""}, under_systemd=True) is None


def test_an_unwritable_store_costs_only_speed(tmp_path: Path) -> None:
    config = write(tmp_path / "pitrigger.toml", "[button]\npin = 4\n")
    blocker = write(tmp_path / "file", "")
    store = blocker / "config-cache.json"  # its parent is a file: cannot be created
    assert load(config, store).config.button.pin == 4
    assert load(config, store).how == "validated"


WARM_PROBE = """
import sys
import pitrigger.service, pitrigger.daemon, pitrigger.cli  # the whole `run` path's imports
from pitrigger.config.startup import load_run_config
loaded = load_run_config(sys.argv[1], under_systemd=False, store=__import__("pathlib").Path(
    sys.argv[2]))
heavy = sorted(m for m in ("pydantic", "pydantic_core", "tomllib", "hashlib")
               if m in sys.modules)
print(loaded.how, loaded.config.button.pin, ",".join(heavy) or "none")
"""


def test_a_warm_start_imports_neither_pydantic_nor_tomllib(tmp_path: Path) -> None:
    config = write(tmp_path / "pitrigger.toml", CUSTOM)
    store = tmp_path / "config-cache.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def probe() -> str:
        return subprocess.run([sys.executable, "-c", WARM_PROBE, str(config), str(store)],
                              capture_output=True, text=True, check=True, env=env,
                              timeout=60).stdout.strip()

    how, pin, heavy = probe().split()
    assert (how, pin) == ("validated", "4") and "pydantic" in heavy.split(",")
    assert probe() == "store 4 none"


# -- the fallback reads the configured last-good path ------------------------------------------


def test_fallback_reads_the_custom_last_good_path(tmp_path: Path) -> None:
    config = tmp_path / "pitrigger.toml"
    last_good = tmp_path / "elsewhere" / "my-last-good.toml"
    good = f'[daemon]\nlast_good_path = "{last_good}"\n[haptics]\npin = 23\n'
    write(config, good)
    assert load(config, None).config.haptics.pin == 23
    assert last_good.read_text() == good
    write(config, f'[daemon]\nlast_good_path = "{last_good}"\n[haptics]\npin = "x"\n')
    loaded = load(config, None, systemd=True)
    assert loaded.how == "fallback" and loaded.problem is not None
    assert "haptics.pin" in loaded.problem
    assert loaded.config.haptics.pin == 23  # the copy at the custom path, not the defaults


def test_fallback_when_the_broken_file_is_not_even_toml_uses_the_stores_path(
        tmp_path: Path) -> None:
    config = tmp_path / "pitrigger.toml"
    store = tmp_path / "config-cache.json"
    last_good = tmp_path / "my-last-good.toml"
    write(config, f'[daemon]\nlast_good_path = "{last_good}"\n[haptics]\npin = 23\n')
    load(config, store)
    write(config, '[daemon\nlast_good_path = "/nowhere"\n')  # TOML syntax error
    loaded = load(config, store, systemd=True)
    assert loaded.how == "fallback" and loaded.config.haptics.pin == 23


@pytest.fixture
def no_default_last_good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default last-good path, moved where this machine has no copy."""
    path = tmp_path / "default-last-good.toml"
    monkeypatch.setattr(startup_module, "DEFAULT_LAST_GOOD_PATH", str(path))
    return path


def test_fallback_ignores_an_unusable_path_in_the_broken_file(
        tmp_path: Path, no_default_last_good: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(no_default_last_good, "[haptics]\npin = 22\n")
    config = write(tmp_path / "pitrigger.toml",
                   '[daemon]\nlast_good_path = "/tmp/\\u0000"\n[haptics]\npin = 23\n')
    with caplog.at_level(logging.WARNING, logger="pitrigger"):
        loaded = load(config, None, systemd=True)
    assert loaded.how == "fallback"
    assert "daemon.last_good_path" in (loaded.problem or "")
    assert loaded.config.haptics.pin == 22
    assert f"using {no_default_last_good}" in caplog.text


def test_fallback_skips_a_last_good_copy_that_is_broken_too(
        tmp_path: Path, no_default_last_good: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "pitrigger.toml"
    last_good = write(tmp_path / "last.toml", "[haptics]\npin = 99\n")
    write(config, f'[daemon]\nlast_good_path = "{last_good}"\n[haptics]\npin = "x"\n')
    with caplog.at_level(logging.WARNING, logger="pitrigger"):
        loaded = load(config, None, systemd=True)
    assert loaded.how == "fallback"
    assert loaded.config.haptics.pin == Config().haptics.pin
    assert "is not usable either" in caplog.text and "using built-in defaults" in caplog.text


# -- --version ----------------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli_main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"pitrigger {metadata.version('pitrigger')}\n"
    assert pitrigger.__version__ == metadata.version("pitrigger")


# -- pitrigger haptics plays as the daemon does ------------------------------------------------


class RecordingSink:
    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.levels: list[tuple[float, float]] = []
        self.started: list[tuple[str, float]] = []

    def set_level(self, level: float) -> None:
        if not self.levels or self.levels[-1][1] != level:
            self.levels.append((round(self.clock[0], 6), level))

    def pattern_started(self, name: str) -> None:
        self.started.append((name, round(self.clock[0], 6)))

    def close(self) -> None:
        pass


def test_haptics_command_plays_with_the_configured_kick_and_gap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pitrigger import service

    config = write(tmp_path / "pitrigger.toml", CUSTOM)
    play_patterns = service.play_patterns
    played: list[Any] = []
    monkeypatch.setattr(service, "play_patterns",
                        lambda sequencer, sink, names, pause_s: played.append(
                            (sequencer.kick_s, sequencer.min_gap_s, names, pause_s)))
    assert service.main_haptics(str(config), ["tick", "tick"], pause_s=0.0) == 0
    assert played == [(0.03, 0.4, ["tick", "tick"], 0.0)]

    clock = [0.0]
    sink = RecordingSink(clock)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    play_patterns(parse_config(CUSTOM).haptic_sequencer(), sink,  # type: ignore[arg-type]
                         ["tick", "tick"], pause_s=0.0, clock=lambda: clock[0], sleep=sleep)
    # tick: 60 ms at strength 0.5, starting with a 30 ms kick; the second one 400 ms after.
    assert sink.levels == [(0.0, 1.0), (0.03, 0.5), (0.06, 0.0),
                           (0.46, 1.0), (0.49, 0.5), (0.52, 0.0)]
    assert sink.started == [("tick", 0.0), ("tick", 0.46)]
