"""The journal as a record of the day: clips, stills, errors, camera losses and copies.

``pitrigger journal [--since WHEN] [--json]`` reads the daemon's journal (the current file
and the rotated ``.1`` before it) and prints one row per thing that happened. Built from the
records the daemon already writes:

* a clip starts when the state becomes ``recording`` and ends when it leaves it; how it
  ended comes from the ``clip-end`` record (``press``, ``clip-limit``, ``card-full``,
  ``battery``, ``heat``, ``body-button``) or, failing that, the state it went to (a lost
  camera, a daemon stopped mid-clip); its file is the next ``clip`` record's ``.MOV``;
* a still is a ``still`` record (its file, or why it was refused);
* errors are ``command-failed`` and ``config-error`` records; camera losses are state
  changes to ``no-camera`` (with the reason);
* copies are ``copy`` records (a file's progress, the last one for each file wins).

>>> rows = build_rows([
...     {"t": 0.0, "event": "state", "state": "recording", "why": "camera reports Card"},
...     {"t": 5.0, "event": "clip-end", "how": "clip-limit"},
...     {"t": 5.0, "event": "state", "state": "idle", "why": "camera stopped by itself"},
...     {"t": 5.2, "event": "clip", "path": "/DCIM/100EOS5D/MVI_0001.MOV"},
... ])
>>> [(r.kind, r.file, r.length_s, r.how) for r in rows]
[('clip', 'MVI_0001.MOV', 5.0, 'clip-limit')]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pitrigger.journal import read_journal

__all__ = ["Row", "build_rows", "format_table", "main_journal", "parse_since", "read_day"]


@dataclass(slots=True)
class Row:
    """One line of the day: a clip, a still, an error, a camera loss or a copy."""

    kind: str  # clip | still | error | camera-lost | copy
    start: float  # unix time
    file: str = ""
    length_s: float | None = None
    how: str = ""  # how a clip ended, why a still was refused, what the error was

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start_iso"] = _iso(self.start)
        return out


def journal_files(path: str | os.PathLike[str]) -> list[Path]:
    """The journal and its rotated copy, oldest first (only those that exist)."""
    current = Path(path)
    rotated = current.with_name(current.name + ".1")
    return [p for p in (rotated, current) if p.exists()]


def read_day(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of the journal at ``path``, including its rotated part, in order."""
    records: list[dict[str, Any]] = []
    for file in journal_files(path):
        records += read_journal(file)
    return records


_ENDS_BY_STATE = {"no-camera": "camera-lost", "powering-off": "power-off"}


def build_rows(records: Iterable[dict[str, Any]], since: float | None = None) -> list[Row]:
    """The day's rows, oldest first; ``since`` (unix time) drops rows that began earlier."""
    rows: list[Row] = []
    clip: Row | None = None  # the clip running now
    unnamed: list[Row] = []  # finished clips waiting for their file name
    copies: dict[str, Row] = {}
    end_how = ""
    for record in records:
        t = float(record.get("t", 0.0))
        event = record.get("event")
        if event == "state":
            state = record.get("state")
            if state == "recording" and clip is None:
                clip = Row("clip", t)
                end_how = ""
            elif state not in ("recording", "stopping") and clip is not None:
                clip.length_s = round(t - clip.start, 3)
                clip.how = end_how or _ENDS_BY_STATE.get(str(state), "press")
                rows.append(clip)
                unnamed.append(clip)
                clip = None
            if state == "no-camera":
                rows.append(Row("camera-lost", t, how=str(record.get("why", ""))))
        elif event == "clip-end" and record.get("corrected"):
            # The file's size showed the cap after the stop was taken for something else.
            finished = [r for r in rows if r.kind == "clip"]
            if finished:
                finished[-1].how = str(record.get("how", ""))
        elif event == "clip-end":
            end_how = str(record.get("how", ""))
        elif event == "stop" and clip is not None:
            # The daemon stopped while the camera recorded: the clip goes on without us.
            clip.how = "daemon stopped (clip still running)"
            rows.append(clip)
            clip = None
        elif event == "clip":
            name = str(record.get("path", ""))
            if name.upper().endswith(".MOV") and unnamed:
                unnamed.pop(0).file = name.rsplit("/", 1)[-1]
        elif event == "still":
            rows.append(Row("still", t, file=str(record.get("path", "")).rsplit("/", 1)[-1],
                            how=str(record.get("how", "taken"))))
        elif event == "command-failed":
            rows.append(Row("error", t, how=f"{record.get('command')} {record.get('kind')}: "
                                           f"{record.get('detail', '')}".rstrip(": ")))
        elif event == "config-error":
            rows.append(Row("error", t, how=f"config: {record.get('problem', '')}"))
        elif event == "copy":
            name = str(record.get("file", ""))
            row = copies.get(name)
            if row is None:
                row = copies[name] = Row("copy", t, file=name.rsplit("/", 1)[-1])
                rows.append(row)
            done, size = record.get("done", 0), record.get("size", 0)
            row.how = str(record.get("status", "")) or f"{done}/{size} bytes"
            if size:
                row.how += f" ({100 * int(done) // int(size)} %)"
    if clip is not None:
        clip.how = "recording"
        rows.append(clip)
    rows.sort(key=lambda r: r.start)
    return [r for r in rows if since is None or r.start >= since]


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t).isoformat(timespec="seconds")


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table, one row per line (what a terminal shows)."""
    header = ("kind", "start", "file", "length", "how")
    lines = [header] + [
        (r.kind, _iso(r.start).replace("T", " "), r.file or "-",
         "-" if r.length_s is None else _length(r.length_s), r.how or "-")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False))
                     + "  " + line[4] for line in lines)


def _length(seconds: float) -> str:
    minutes, secs = divmod(round(seconds, 1), 60)
    return f"{int(minutes)}:{secs:04.1f}"


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_since(text: str, now: float) -> float:
    """A ``--since`` value as unix time: ``30m``/``2h``/``1d`` ago, ``HH:MM`` today, or ISO.

    >>> parse_since("90s", now=1000.0)
    910.0
    >>> parse_since("yesterday-ish", now=0.0)
    Traceback (most recent call last):
    ...
    ValueError: --since: 'yesterday-ish' is not 30m, 2h, 1d, HH:MM or an ISO date/time
    """
    text = text.strip()
    if match := _RELATIVE.match(text):
        scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return now - float(match.group(1)) * scale
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", text):
            hour, minute = map(int, text.split(":"))
            today = dt.datetime.fromtimestamp(now)
            return today.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        pass
    raise ValueError(f"--since: {text!r} is not 30m, 2h, 1d, HH:MM or an ISO date/time")


def main_journal(path: str, since: str | None, as_json: bool, now: float) -> int:
    """``pitrigger journal``: print the day's table (or JSON lines); 2 on bad input."""
    import sys

    try:
        since_t = parse_since(since, now) if since else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not journal_files(path):
        print(f"no journal at {path}", file=sys.stderr)
        return 1
    rows = build_rows(read_day(path), since_t)
    if as_json:
        for row in rows:
            print(json.dumps(row.as_json()))
    else:
        print(format_table(rows))
    return 0
