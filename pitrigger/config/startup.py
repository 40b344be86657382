"""The daemon's config at start-up: validated once per change, then started from a store.

A Pi Zero W runs Python about 9x slower than a desktop, and importing pydantic and building
the config's validators was most of the daemon's start-up and memory. So ``pitrigger run``
validates with pydantic (:mod:`pitrigger.config.schema`, the one validator) only when the
config file changed, and otherwise starts from a **store** of the last validated result:

* the store is JSON of plain values (``Config.model_dump()``), with a **key**: the SHA-256
  of the config file's bytes, pitrigger's version and a fingerprint of the schema's sources
  (the modules that decide what a valid config is and its defaults). Any difference, a
  store that does not parse, or values whose own SHA-256 does not match: validate again and
  rewrite the store. A store therefore never holds anything the validator did not pass.
* either way the daemon gets a :func:`~pitrigger.config.view.build_view` namespace built
  from those plain values, so a warm and a cold start run the same code after this point.

Where the store lives: ``$PITRIGGER_CONFIG_CACHE`` if set (empty: no store); otherwise, only
when systemd started the daemon, ``config-cache.json`` in ``$STATE_DIRECTORY`` or
``/var/lib/pitrigger`` — the data partition, next to the default ``last_good_path``, so it
survives a reboot (``/run`` would not). An interactive ``pitrigger run`` always validates.
A store that cannot be written costs nothing but the next start's speed.

When the file is broken and systemd started the daemon, it falls back to the last good copy
(``daemon.last_good_path``). Which path? The broken file cannot be trusted to say, so the
candidates are tried in order, the first that exists and validates wins:

1. ``daemon.last_good_path`` as written in the broken file, if its TOML parses and the value
   is a usable path (an edit elsewhere in the file must not lose a custom path);
2. ``daemon.last_good_path`` of the last config that validated (from the store);
3. the default path; and if none of them works, the built-in defaults.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pitrigger.config import loading
from pitrigger.config.problems import ConfigError
from pitrigger.config.view import build_view

if TYPE_CHECKING:
    from pitrigger.config.schema import Config

try:  # the builtin module: hashlib would load OpenSSL (~9 ms and ~4 MB here)
    from _sha256 import sha256  # type: ignore[import-not-found]  # Python 3.11
except ImportError:  # pragma: no cover - Python >= 3.12
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef]

__all__ = [
    "DEFAULT_LAST_GOOD_PATH",
    "STORE_FORMAT",
    "LoadedConfig",
    "load_run_config",
    "schema_fingerprint",
    "store_path",
]

log = logging.getLogger("pitrigger")

STORE_FORMAT = 1
STORE_NAME = "config-cache.json"
DEFAULT_STATE_DIR = "/var/lib/pitrigger"
#: Must equal ``DaemonConfig.last_good_path``'s default (a test checks).
DEFAULT_LAST_GOOD_PATH = DEFAULT_STATE_DIR + "/last-good.toml"

# What decides whether a file is valid and what its values are: the schema, its defaults
# (the haptic vocabulary), the name lists, the pattern rules, the view and this store.
_SCHEMA_SOURCES = (
    ("config", "schema.py"),
    ("config", "view.py"),
    ("config", "startup.py"),
    ("haptics.py",),
    ("haptic_rules.py",),
    ("names.py",),
)
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LoadedConfig:
    """What :func:`load_run_config` found."""

    config: Config
    #: Why this is not the file the user wrote (the file's problems), else ``None``.
    problem: str | None
    #: The file used, ``None`` for the built-in defaults.
    path: Path | None
    #: ``"store"`` (warm), ``"validated"`` (cold), ``"fallback"``.
    how: str


def schema_fingerprint() -> str:
    """SHA-256 over pitrigger's version and the sources that define a valid config."""
    import pitrigger

    digest = sha256(pitrigger.__version__.encode())
    for parts in _SCHEMA_SOURCES:
        path = _PACKAGE_DIR.joinpath(*parts)
        digest.update(b"\0" + "/".join(parts).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"missing")
    return str(digest.hexdigest())


def store_path(environ: Mapping[str, str] | None = None, *, under_systemd: bool) -> Path | None:
    """Where the validated config is stored, ``None`` for nowhere (see the module's doc).

    >>> store_path({"PITRIGGER_CONFIG_CACHE": "/tmp/c.json"}, under_systemd=False)
    PosixPath('/tmp/c.json')
    >>> store_path({}, under_systemd=False) is None
    True
    >>> store_path({"STATE_DIRECTORY": "/var/lib/x"}, under_systemd=True)
    PosixPath('/var/lib/x/config-cache.json')
    """
    env = os.environ if environ is None else environ
    explicit = env.get("PITRIGGER_CONFIG_CACHE")
    if explicit is not None:
        return Path(explicit) if explicit else None
    if not under_systemd:
        return None
    # systemd may list several directories, separated by colons: the first is ours.
    state = (env.get("STATE_DIRECTORY") or DEFAULT_STATE_DIR).split(":")[0]
    return Path(state) / STORE_NAME


def load_run_config(explicit: str | os.PathLike[str] | None, *, under_systemd: bool,
                    store: Path | None) -> LoadedConfig:
    """The config ``pitrigger run`` starts with (see the module's doc for the store and the
    fallback). Interactively (``under_systemd`` false) a broken file raises
    :class:`ConfigError`; under systemd it never does."""
    path: Path | None = None
    try:
        path = loading.find_config(explicit)
        # No file is the built-in defaults, which is what an empty file means too.
        data = loading.read_config_bytes(path) if path is not None else b""
        source = os.fspath(path) if path is not None else "<built-in defaults>"
        config, how = _validated(data, source, store)
    except ConfigError as exc:
        if not under_systemd:
            raise
        log.error("config rejected, running on a fallback:\n%s", exc)
        broken = _read_quietly(path) if path is not None else None
        return LoadedConfig(_fallback(broken, store), str(exc), path, "fallback")
    checked = "unchanged, from the store" if how == "store" else "validated"
    if path is not None:
        log.info("config: %s (%s)", path, checked)
        _keep_last_good(data, Path(config.daemon.last_good_path))
    else:
        log.info("config: built-in defaults, no file on the search path (%s)", checked)
    return LoadedConfig(config, None, path, how)


# --- the store --------------------------------------------------------------------------------


def _validated(data: bytes, source: str, store: Path | None) -> tuple[Config, str]:
    """The config for ``data``: from the store when its key matches, else validated (which
    raises :class:`ConfigError` for a bad file) and stored."""
    key = {"config_sha256": sha256(data).hexdigest(), "schema": schema_fingerprint()}
    if store is not None:
        values = _read_store(store, key)
        if values is not None:
            return _as_config(build_view(values)), "store"
    values = loading.parse_config(data, source).model_dump(mode="json")
    if store is not None:
        _write_store(store, key, values)
    return _as_config(build_view(values)), "validated"


def _as_config(view: Any) -> Config:
    # The view answers every attribute path and method of Config (tests/test_config_startup.py
    # walks them all); to the type checker it is one.
    return cast("Config", view)


def _values_digest(values: Any) -> str:
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(sha256(canonical.encode("utf-8")).hexdigest())


def _read_store(store: Path, key: Mapping[str, str]) -> dict[str, Any] | None:
    """The stored values if the store is intact and its key is ``key``; else ``None``."""
    try:
        raw = loading.read_config_bytes(store)  # never blocks, size capped
        document = json.loads(raw)
    except (ConfigError, ValueError) as exc:
        if store.exists():
            log.info("config store %s unusable (%s): validating again", store, exc)
        return None
    if not isinstance(document, dict) or document.get("format") != STORE_FORMAT:
        log.info("config store %s has another format: validating again", store)
        return None
    if document.get("key") != dict(key):
        log.debug("config store %s is for another file or schema: validating again", store)
        return None
    values = document.get("values")
    if not isinstance(values, dict) or document.get("values_sha256") != _values_digest(values):
        log.info("config store %s is damaged: validating again", store)
        return None
    return values


def _write_store(store: Path, key: Mapping[str, str], values: dict[str, Any]) -> None:
    document = {"format": STORE_FORMAT, "key": dict(key), "values": values,
                "values_sha256": _values_digest(values)}
    _replace_file(store, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"),
                  what="config store")


# --- fallback and last-good copy --------------------------------------------------------------


def _fallback(broken: bytes | None, store: Path | None) -> Config:
    candidates: list[str] = []
    custom = _last_good_path_in(broken) if broken is not None else None
    if custom is not None:
        candidates.append(custom)
    stored = _last_good_path_in_store(store) if store is not None else None
    if stored is not None:
        candidates.append(stored)
    candidates.append(DEFAULT_LAST_GOOD_PATH)
    seen: set[str] = set()
    for candidate in candidates:
        if candidate in seen:
            continue
        seen.add(candidate)
        if not os.path.exists(candidate):
            continue
        try:
            config = loading.load_config(candidate)
        except ConfigError as exc:
            log.warning("last good copy %s is not usable either:\n%s", candidate, exc)
            continue
        log.warning("using %s", candidate)
        return _as_config(build_view(config.model_dump(mode="json")))
    log.warning("using built-in defaults")
    from pitrigger.config.schema import Config

    return _as_config(build_view(Config().model_dump(mode="json")))


def _last_good_path_in(data: bytes) -> str | None:
    """``daemon.last_good_path`` as written in a (broken) config, if the TOML parses and the
    value is a usable path."""
    import tomllib

    from pitrigger.config.schema import path_problem

    try:
        document = tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    daemon = document.get("daemon")
    value = daemon.get("last_good_path") if isinstance(daemon, dict) else None
    if isinstance(value, str) and path_problem(value) is None:
        return value
    return None


def _last_good_path_in_store(store: Path) -> str | None:
    try:
        document = json.loads(loading.read_config_bytes(store))
        value = document["values"]["daemon"]["last_good_path"]
    except (ConfigError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _read_quietly(path: Path) -> bytes | None:
    try:
        return loading.read_config_bytes(path)
    except ConfigError:
        return None


def _keep_last_good(data: bytes, last_good: Path) -> None:
    try:
        if last_good.exists() and last_good.read_bytes() == data:
            return
    except OSError as exc:
        log.debug("cannot read the last-good copy at %s: %s", last_good, exc)
    _replace_file(last_good, data, what="last-good copy")


def _replace_file(path: Path, data: bytes, *, what: str) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary file, then rename)."""
    import tempfile  # only when something changed: not on a warm start

    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         delete=False) as file:
            temporary = file.name
            file.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        log.debug("cannot keep a %s at %s: %s", what, path, exc)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
