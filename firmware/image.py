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
    firmware/image.py imager-json VERSION URL_BASE DIR < lines
        Raspberry Pi Imager's os_list JSON; stdin: BOARD<TAB>FILE<TAB>EXTRACT_SIZE<TAB>SHA256
        per image, FILE (the .img.xz) in DIR

>>> import subprocess, sys
>>> out = subprocess.run([sys.executable, __file__, "board", "pi02", "arch"],
...                      capture_output=True, text=True, check=True).stdout
>>> out
'arm64\\n'
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

DESCRIPTION = Path(__file__).resolve().with_name("image.toml")
BOARD_KEYS = ("description", "arch", "kernel", "dtb", "console", "qemu", "qemu_append",
              "imager_devices")


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


def imager_json(data: dict[str, Any], version: str, url_base: str, directory: Path,
                lines: list[str], today: str) -> str:
    r"""Raspberry Pi Imager's repository JSON (os_list) for the released images.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "p.img.xz").write_bytes(b"xz")
    >>> out = json.loads(imager_json(load(), "1.0", "https://e.invalid/r", d,
    ...                  ["pi02\tp.img.xz\t4096\t" + "ab" * 32], "2026-12-01"))
    >>> entry = out["os_list"][0]
    >>> entry["url"], entry["extract_size"], entry["image_download_size"], entry["devices"]
    ('https://e.invalid/r/p.img.xz', 4096, 2, ['pi4-64bit', 'pi3-64bit'])
    """
    entries = []
    for line in lines:
        board, name, extract_size, extract_sha256 = line.rstrip("\n").split("\t")
        spec = _board(data, board)
        download = directory / name
        entries.append({
            "name": f"pitrigger {version} ({board})",
            "description": f"pitrigger strap remote for the {spec['description']}. "
                           "Edit pitrigger.toml on the boot partition after flashing.",
            "url": f"{url_base.rstrip('/')}/{name}" if url_base else name,
            "extract_size": int(extract_size),
            "extract_sha256": extract_sha256,
            "image_download_size": download.stat().st_size,
            "image_download_sha256": hashlib.sha256(download.read_bytes()).hexdigest(),
            "release_date": today,
            "devices": list(spec["imager_devices"]),
        })
    return json.dumps({"os_list": entries}, indent=2) + "\n"


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["imager-json"] and len(argv) == 4:
            print(imager_json(load(), argv[1], argv[2], Path(argv[3]), sys.stdin.readlines(),
                              datetime.date.today().isoformat()), end="")
            return 0
        print("\n".join(answer(load(), argv)))
    except (DescriptionError, tomllib.TOMLDecodeError, OSError) as exc:
        print(f"image.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
