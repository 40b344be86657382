"""The journal: one JSON object per line, appended, flushed and fsync'd per record.

Records are rare (a gesture, a state change, a clip), so syncing each costs the SD card
little; a pulled battery or ``kill -9`` loses at most the lines not yet written (the
daemon's writer thread is milliseconds behind).
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
import queue
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Journal:
    """Appends records to ``path``; rotates to ``path.1`` past ``max_bytes``.

    With ``background`` (the daemon's choice) a writer thread does the writing and the
    fsync, so a slow SD card never delays a haptic cue: :meth:`write` only stamps the record
    and queues it. :meth:`close` writes out everything queued.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 1_000_000,
                 fsync: bool = True, background: bool = False) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - long-lived
        self._rotate_at = max_bytes
        self._queue: queue.SimpleQueue[str | None] | None = None
        self._writer: threading.Thread | None = None
        if background:
            self._queue = queue.SimpleQueue()
            self._writer = threading.Thread(target=self._write_queued, name="journal",
                                            daemon=True)
            self._writer.start()

    def write(self, event: str, fields: dict[str, Any] | None = None) -> None:
        record = {"t": round(time.time(), 3), "mono": round(time.monotonic(), 4),
                  "event": event, **(fields or {})}
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        if self._queue is not None:
            self._queue.put(line)
        else:
            self._append(line)

    def _write_queued(self) -> None:
        assert self._queue is not None
        while (line := self._queue.get()) is not None:
            try:
                self._append(line)
            except (OSError, ValueError) as exc:  # a full or failing card must not end it
                log.error("journal write failed: %s", exc)

    def _append(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        if self._file.tell() > self._rotate_at:
            self._rotate()

    def _rotate(self) -> None:
        """Move the file to ``.1`` and start a new one; on any failure keep appending.

        A rotation that fails (``.1`` is a directory, a read-only or full card, no
        permission) must never stop the journal: the current file stays open and keeps
        growing, and the next try waits for another tenth of ``max_bytes``.
        """
        rotated = self.path.with_name(self.path.name + ".1")
        try:
            os.replace(self.path, rotated)
        except OSError as exc:
            self._rotate_at = self._file.tell() + max(1, self.max_bytes // 10)
            log.error("journal rotation failed, %s keeps growing: %s", self.path, exc)
            return
        try:
            new = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - long-lived
        except OSError as exc:
            # The open handle now writes to the rotated file: nothing is lost.
            self._rotate_at = self._file.tell() + max(1, self.max_bytes // 10)
            log.error("journal: cannot start a new %s, writing on in %s: %s", self.path,
                      rotated, exc)
            return
        self._file.close()
        self._file = new
        self._rotate_at = self.max_bytes

    def close(self) -> None:
        if self._queue is not None and self._writer is not None:
            self._queue.put(None)
            self._writer.join(10)
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
        return Journal(path, background=True)
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
