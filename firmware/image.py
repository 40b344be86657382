#!/usr/bin/env python3
"""Answer the build scripts' questions about firmware/image.toml, one value per line.

The build scripts are bash; this keeps the TOML parsing (and its error messages) in one place.

    firmware/image.py boards                  pi0, pi02
    firmware/image.py board pi0 arch          armel
    firmware/image.py packages pi0            common + debian + the board's kernel
    firmware/image.py packages common|debian|pi_os
    firmware/image.py files                   SOURCE<TAB>DESTINATION<TAB>MODE per file
    firmware/image.py units enable|mask
    firmware/image.py wifi enable_file

>>> import subprocess, sys
>>> out = subprocess.run([sys.executable, __file__, "board", "pi02", "arch"],
...                      capture_output=True, text=True, check=True).stdout
>>> out
'arm64\\n'
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

DESCRIPTION = Path(__file__).resolve().with_name("image.toml")
BOARD_KEYS = ("description", "arch", "kernel", "dtb", "console", "qemu", "qemu_append")


class DescriptionError(Exception):
    """image.toml lacks something a build asked for (the message names it)."""


def load(path: Path = DESCRIPTION) -> dict[str, Any]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    for board, spec in data.get("boards", {}).items():
        missing = [key for key in BOARD_KEYS if key not in spec]
        if missing:
            raise DescriptionError(f"{path.name}: [boards.{board}] lacks {', '.join(missing)}")
    return data


def board_packages(data: dict[str, Any], board: str) -> list[str]:
    """Everything the Debian build installs for ``board``, in order, without repeats."""
    spec = _board(data, board)
    wanted = [*data["packages"]["common"], *data["packages"]["debian"], spec["kernel"]]
    return list(dict.fromkeys(wanted))


def _board(data: dict[str, Any], board: str) -> dict[str, Any]:
    boards = data.get("boards", {})
    if board not in boards:
        raise DescriptionError(f"unknown board {board!r} (image.toml has: {', '.join(boards)})")
    spec: dict[str, Any] = boards[board]
    return spec


def answer(data: dict[str, Any], args: list[str]) -> list[str]:
    match args:
        case ["boards"]:
            return list(data["boards"])
        case ["board", board, key]:
            spec = _board(data, board)
            if key not in spec:
                raise DescriptionError(f"[boards.{board}] has no {key!r}")
            return [str(spec[key])]
        case ["packages", name] if name in data["packages"]:
            return list(data["packages"][name])
        case ["packages", board]:
            return board_packages(data, board)
        case ["files"]:
            return [f"{src}\t{spec['to']}\t{spec['mode']}" for src, spec in data["files"].items()]
        case ["units", kind] if kind in data["units"]:
            return list(data["units"][kind])
        case ["wifi", key] if key in data["wifi"]:
            return [str(data["wifi"][key])]
        case ["suite"]:
            return [data["suite"]]
        case ["components"]:
            return list(data["components"])
    raise DescriptionError(f"cannot answer: {' '.join(args) or '(nothing asked)'}")


def main(argv: list[str]) -> int:
    try:
        print("\n".join(answer(load(), argv)))
    except (DescriptionError, tomllib.TOMLDecodeError, OSError) as exc:
        print(f"image.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
