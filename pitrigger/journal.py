"""The journal: one JSON object per line, appended, flushed and fsync'd per record.

Records are rare (a gesture, a state change, a clip), so syncing each costs the SD card
little and a pulled battery or ``kill -9`` loses at most the line being written.
:func:`read_journal` skips a torn last line instead of failing on it.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "journal.jsonl")
>>> j = Journal(path); j.write("state", {"state": "idle"}); j.close()
>>> [r["event"] for r in read_journal(path)]
['state']
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Journal:
    """Appends records to ``path``; rotates to ``path.1`` past ``max_bytes``."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 1_000_000,
                 fsync: bool = True) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - long-lived

    def write(self, event: str, fields: dict[str, Any] | None = None) -> None:
        record = {"t": round(time.time(), 3), "mono": round(time.monotonic(), 4),
                  "event": event, **(fields or {})}
        self._file.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        if self._file.tell() > self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        self._file.close()
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._file.close()


class NullJournal:
    """Used when no journal can be written: the daemon must run without one."""

    def write(self, event: str, fields: dict[str, Any] | None = None) -> None:
        pass

    def close(self) -> None:
        pass


def open_journal(path: str) -> Journal | NullJournal:
    """A journal at ``path``, or a :class:`NullJournal` (with a warning) if it can't be."""
    if not path:
        return NullJournal()
    try:
        return Journal(path)
    except OSError as exc:
        log.warning("journal disabled: cannot write %s: %s", path, exc)
        return NullJournal()


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All complete records in ``path`` (a torn or garbled line is skipped)."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records
