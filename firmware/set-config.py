#!/usr/bin/env python3
"""Set keys in a pitrigger.toml the way a user edits it: in place, comments kept.

    set-config.py PATH section.key=TOML_VALUE ...   e.g. camera.port='"ptpip:127.0.0.1"'

A key that is present is rewritten on its line; a missing one goes under its table's header
(the table is appended if absent). The file is then parsed, and each key must read back as
the value given, or the script fails.
"""

from __future__ import annotations

import re
import sys
import tomllib


def set_keys(text: str, wanted: dict[tuple[str, str], str]) -> str:
    lines = text.splitlines()
    for (section, key), value in wanted.items():
        table, done, header = None, False, None
        for i, line in enumerate(lines):
            m = re.match(r"\s*\[([^\]]+)\]\s*(#.*)?$", line)
            if m:
                table = m.group(1).strip()
                header = i if table == section else header
            elif table == section and re.match(rf"\s*{re.escape(key)}\s*=", line):
                lines[i], done = f"{key} = {value}", True
                break
        if not done:
            if header is None:
                lines += ["", f"[{section}]", f"{key} = {value}"]
            else:
                lines.insert(header + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path, assignments = argv[0], argv[1:]
    wanted: dict[tuple[str, str], str] = {}
    for assignment in assignments:
        dotted, _, value = assignment.partition("=")
        section, _, key = dotted.rpartition(".")
        wanted[(section, key)] = value
    with open(path, encoding="utf-8") as f:
        text = set_keys(f.read(), wanted)
    parsed = tomllib.loads(text)
    for (section, key), value in wanted.items():
        table = parsed
        for part in section.split("."):
            table = table[part]
        expected = tomllib.loads(f"v = {value}")["v"]
        assert table[key] == expected, f"{section}.{key} not set"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
