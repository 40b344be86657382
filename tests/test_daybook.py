"""``pitrigger journal``: the day's table from real journal files, rotated ones included."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest

import pitrigger.daybook as daybook
from pitrigger.cli import main
from pitrigger.daybook import build_rows, parse_since, read_day
from pitrigger.journal import Journal

T0 = 1_790_000_000.0  # a fixed unix time, so that the rows are predictable


def day(*records: tuple[float, str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"t": T0 + t, "event": event, **fields} for t, event, fields in records]


A_DAY = day(
    (0, "start", {"pid": 1}),
    (1, "state", {"state": "idle", "why": "camera connected"}),
    (10, "state", {"state": "starting", "why": "start sent"}),
    (10.2, "state", {"state": "recording", "why": "camera reports Card"}),
    (14, "haptic", {"name": "limit-soon"}),
    (15.2, "clip-end", {"how": "clip-limit", "elapsed_s": 5.0}),
    (15.2, "state", {"state": "idle", "why": "camera stopped by itself (event)"}),
    (15.3, "clip", {"path": "/store_00010001/DCIM/100EOS5D/MVI_0001.MOV"}),
    (15.3, "state", {"state": "starting", "why": "start sent"}),
    (15.4, "state", {"state": "recording", "why": "camera reports Card"}),
    (18, "state", {"state": "stopping", "why": "stop sent"}),
    (18.1, "state", {"state": "idle", "why": "camera reports None"}),
    (18.2, "clip", {"path": "/store_00010001/DCIM/100EOS5D/MVI_0001.THM"}),
    (18.2, "clip", {"path": "/store_00010001/DCIM/100EOS5D/MVI_0002.MOV"}),
    (20, "still", {"path": "/store_00010001/DCIM/100EOS5D/IMG_0003.JPG"}),
    (21, "still", {"how": "refused: recording"}),
    (22, "command-failed", {"command": "start", "kind": "refused", "detail": "card full"}),
    (23, "state", {"state": "syncing", "why": "start refused"}),
    (23.1, "state", {"state": "idle", "why": "camera reports None"}),
    (30, "state", {"state": "recording", "why": "camera started by itself"}),
    (31, "state", {"state": "no-camera", "why": "polling events: I/O problem (-7)"}),
    (40, "copy", {"file": "/DCIM/100EOS5D/MVI_0001.MOV", "done": 100, "size": 400}),
    (41, "copy", {"file": "/DCIM/100EOS5D/MVI_0001.MOV", "done": 400, "size": 400,
                  "status": "verified"}),
)


def test_a_day_in_rows() -> None:
    rows = build_rows(A_DAY)
    assert [(r.kind, r.file, r.length_s, r.how) for r in rows] == [
        ("clip", "MVI_0001.MOV", 5.0, "clip-limit"),
        ("clip", "MVI_0002.MOV", 2.7, "press"),
        ("still", "IMG_0003.JPG", None, "taken"),
        ("still", "", None, "refused: recording"),
        ("error", "", None, "start refused: card full"),
        ("clip", "", 1.0, "camera-lost"),
        ("camera-lost", "", None, "polling events: I/O problem (-7)"),
        ("copy", "MVI_0001.MOV", None, "verified (100 %)"),
    ]


def test_since_drops_earlier_rows() -> None:
    rows = build_rows(A_DAY, since=T0 + 19)
    assert [r.kind for r in rows] == ["still", "still", "error", "clip", "camera-lost", "copy"]


def test_a_clip_still_running_at_the_end_says_so() -> None:
    rows = build_rows(day((0, "state", {"state": "recording", "why": "camera reports Card"})))
    assert [(r.kind, r.how, r.length_s) for r in rows] == [("clip", "recording", None)]


def write_journal(path: Path, records: list[dict[str, Any]], max_bytes: int) -> None:
    journal = Journal(path, max_bytes=max_bytes, fsync=False)
    for record in records:
        fields = {k: v for k, v in record.items() if k not in ("t", "event")}
        journal.write(record["event"], fields)
    journal.close()


def test_rotated_journal_is_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    # Small enough that the day spills over into journal.jsonl.1.
    write_journal(path, A_DAY, max_bytes=1200)
    assert (tmp_path / "journal.jsonl.1").exists()
    events = [r["event"] for r in read_day(path)]
    assert events == [r["event"] for r in A_DAY]


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in A_DAY) + '{"torn": ')
    assert main(["journal", "--path", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["kind", "start", "file", "length", "how"]
    assert "MVI_0001.MOV" in table[1] and "0:05.0" in table[1] and "clip-limit" in table[1]
    assert main(["journal", "--path", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["file"] == "MVI_0001.MOV" and rows[0]["how"] == "clip-limit"
    assert len(rows) == 8


def test_cli_bad_since_and_missing_journal(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal", "--path", str(tmp_path / "x"), "--since", "soon"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["journal", "--path", str(tmp_path / "none.jsonl")]) == 1
    assert "no journal" in capsys.readouterr().err


def test_since_forms() -> None:
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("2026-12-01T10:00:00", now=0.0) > 0
    assert parse_since("09:30", now=T0) <= T0 + 86400


def test_docstring_examples() -> None:
    result = doctest.testmod(daybook, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
