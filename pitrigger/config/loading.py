"""Loading: where the config is looked for, reading it safely, and validating it.

Search order: ``--config PATH``, then :data:`SEARCH_PATH` (the SD card's boot partition
first), else the built-in defaults. ``pitrigger check-config PATH`` runs the same checks.

pydantic and tomllib are imported only when a file is actually validated, so that the
daemon's warm start (:mod:`pitrigger.config.startup`) can use this module without them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitrigger.config.problems import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from pitrigger.config.schema import Config

__all__ = [
    "MAX_FILE_BYTES",
    "SEARCH_PATH",
    "find_config",
    "load_config",
    "main_check_config",
    "parse_config",
    "read_config_bytes",
]

SEARCH_PATH: tuple[Path, ...] = (
    Path("/boot/firmware/pitrigger.toml"),
    Path("/etc/pitrigger.toml"),
)
#: A config is a few kilobytes; refuse to read a huge file into a 512 MB machine.
MAX_FILE_BYTES = 1 << 20



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
    import tomllib

    from pydantic import ValidationError

    from pitrigger.config.schema import Config
    from pitrigger.config.toml_lines import key_lines
    from pitrigger.config.wording import syntax_problem, validation_problems

    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(source, [ConfigProblem(
            "", None, f"file too large ({len(data)} bytes; a config is a few KB)", source)])
    text = _decode(data, source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [syntax_problem(exc, text, source)]) from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, validation_problems(exc, key_lines(text), source)) from None


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


def read_config_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the config file at ``path``, read without ever blocking.

    Only a regular file is read: a FIFO would block ``open()`` until a writer comes (forever,
    at boot), ``/dev/zero`` never ends, and a directory is not a config. The file is checked
    before opening (``stat``), opened with ``O_NONBLOCK`` in case it was swapped in between,
    and checked again on the open descriptor. At most :data:`MAX_FILE_BYTES` + 1 bytes are
    read, enough for :func:`parse_config` to say "too large".
    """
    import stat

    source = os.fspath(path)

    def refuse(message: str) -> ConfigError:
        return ConfigError(source, [ConfigProblem("", None, message, source)])

    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise refuse(f"not a regular file ({_file_kind(mode)}); give a TOML text file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a NUL in the path
        raise refuse(f"cannot read: {exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise refuse(f"not a regular file ({_file_kind(mode)}); give a TOML text file")
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    import stat

    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a plain file"


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Read and validate ``path``; ``None`` gives the built-in defaults."""
    if path is None:
        from pitrigger.config.schema import Config

        return Config()
    return parse_config(read_config_bytes(path), os.fspath(path))


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
