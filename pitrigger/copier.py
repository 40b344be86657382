"""A second copy of every finished clip, from the card to the data partition, in small chunks.

The copy runs on the camera worker's thread (the only thread that may talk to the camera),
one chunk per call of :meth:`ClipCopier.step`, and only while the camera is idle. Between
two chunks the worker looks at its command queue first, so a press waits for at most one
chunk: the copy stops the instant the user presses record, and resumes later from where it
stopped.

The rules:

* **Never delete from the camera.** Only reads (libgphoto2's partial reads, PTP
  GetPartialObject with an offset) are made; nothing here can delete or write a camera file.
* **Resume, do not restart.** Bytes go to ``NAME.part`` next to the final name; its length is
  the offset of the next read, so an interruption (a press, a lost camera, a daemon restart)
  costs nothing already copied.
* **Verify the size.** Only a ``.part`` whose length equals the camera's size for the file is
  renamed to the final name (and fsync'd). A ``.part`` longer than the camera's file means
  something is wrong: it is set aside as ``NAME.bad`` and the copy starts again.
* **Guard free space.** A file is not started unless the data partition keeps
  ``reserve_bytes`` free after it; it is skipped with status ``no-space`` (and retried
  when the next clip is queued).
* **Progress** goes to the log and to the journal as ``copy`` records (``file``, ``done``,
  ``size``, ``status``), at most every ``progress_every`` bytes, which ``pitrigger journal``
  shows.

>>> import tempfile
>>> card = {("/DCIM/100EOS5D", "MVI_0001.MOV"): bytes(range(256)) * 10}
>>> source = MemorySource(card)
>>> copier = ClipCopier(source, tempfile.mkdtemp(), chunk_bytes=1000)
>>> copier.add("/DCIM/100EOS5D/MVI_0001.MOV")
>>> while copier.step(): pass
>>> copier.finished[0].read_bytes() == card[("/DCIM/100EOS5D", "MVI_0001.MOV")]
True
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

__all__ = ["ClipCopier", "CopyProgress", "FileSource", "MemorySource"]


class FileSource(Protocol):
    """What the copier needs from a camera: a file's size and a read at an offset."""

    def file_size(self, folder: str, name: str) -> int: ...

    def read_file(self, folder: str, name: str, offset: int, buffer: memoryview) -> int:
        """Fill ``buffer`` from ``offset`` of the file; return how many bytes were read."""
        ...


class MemorySource:
    """A :class:`FileSource` over a dict (for examples and tests of the pure logic)."""

    def __init__(self, files: Mapping[tuple[str, str], bytes]) -> None:
        self.files = dict(files)
        self.reads: list[tuple[str, int, int]] = []  # (name, offset, length) per read

    def file_size(self, folder: str, name: str) -> int:
        return len(self.files[(folder, name)])

    def read_file(self, folder: str, name: str, offset: int, buffer: memoryview) -> int:
        data = self.files[(folder, name)][offset:offset + len(buffer)]
        buffer[:len(data)] = data
        self.reads.append((name, offset, len(data)))
        return len(data)


@dataclass(frozen=True, slots=True)
class CopyProgress:
    """One ``copy`` journal record: how far the copy of ``file`` is."""

    file: str
    done: int
    size: int
    status: str  # copying | verified | no-space | failed | restarted

    def fields(self) -> dict[str, Any]:
        return {"file": self.file, "done": self.done, "size": self.size, "status": self.status}


class ClipCopier:
    """Copies camera files to ``dest_dir`` one chunk per :meth:`step`. Not thread-safe.

    :param source: the camera (any :class:`FileSource`).
    :param dest_dir: where copies go (a folder on the data partition; created if missing).
    :param chunk_bytes: bytes per read; the longest a press can wait is one such read.
    :param reserve_bytes: free space the data partition keeps after a file is copied.
    :param progress: called with each :class:`CopyProgress` (the worker journals it).
    :param free_bytes: how much space is free at a path (``shutil.disk_usage`` by default).
    """

    def __init__(
        self,
        source: FileSource,
        dest_dir: str | os.PathLike[str],
        *,
        chunk_bytes: int = 256 * 1024,
        reserve_bytes: int = 64 * 1024 * 1024,
        progress_every: int = 64 * 1024 * 1024,
        progress: Callable[[CopyProgress], None] | None = None,
        free_bytes: Callable[[Path], int] | None = None,
    ) -> None:
        if chunk_bytes <= 0:
            raise ValueError(f"chunk_bytes must be > 0, got {chunk_bytes!r}")
        self.source = source
        self.dest_dir = Path(dest_dir)
        self.chunk_bytes = chunk_bytes
        self.reserve_bytes = reserve_bytes
        self.progress_every = progress_every
        self.report = progress or (lambda p: None)
        self.free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)
        self.pending: deque[str] = deque()  # camera paths waiting, oldest first
        self.finished: list[Path] = []
        self.skipped: list[str] = []
        self._buffer = bytearray(chunk_bytes)
        self._current: tuple[str, str, str, int] | None = None  # path, folder, name, size
        self._last_reported = 0

    # -- the queue ---------------------------------------------------------------------

    def add(self, camera_path: str) -> None:
        """Queue a finished file (``/folder/NAME``); a path already queued is ignored."""
        if "/" not in camera_path or camera_path.endswith("/"):
            raise ValueError(f"not a camera file path: {camera_path!r}")
        current = self._current[0] if self._current else None
        if camera_path != current and camera_path not in self.pending:
            self.pending.append(camera_path)
            # Space may have been freed since a file was skipped: give those another go.
            self.pending.extend(p for p in self.skipped if p not in self.pending)
            self.skipped.clear()

    @property
    def busy(self) -> bool:
        """Whether :meth:`step` has work to do."""
        return self._current is not None or bool(self.pending)

    # -- one chunk ---------------------------------------------------------------------

    def step(self) -> bool:
        """Copy one chunk (or finish a file). False when there is nothing left to do.

        Camera errors propagate (the worker treats them like any camera error); the
        ``.part`` file keeps what was copied, so the next :meth:`step` resumes.
        """
        if self._current is None and not self._open_next():
            return False
        assert self._current is not None
        camera_path, folder, name, size = self._current
        part = self._part_path(name)
        done = part.stat().st_size if part.exists() else 0
        if done > size:
            part.replace(part.with_suffix(".bad"))
            log.warning("copy of %s was longer than the camera's file: starting again", name)
            self._emit(camera_path, 0, size, "restarted")
            return True
        if done == size:
            return self._finish(camera_path, name, size, part)
        view = memoryview(self._buffer)[:min(self.chunk_bytes, size - done)]
        read = self.source.read_file(folder, name, done, view)
        if read <= 0:
            raise OSError(f"camera returned no data for {name} at offset {done}")
        with open(part, "ab") as out:
            out.write(view[:read])
        done += read
        if done - self._last_reported >= self.progress_every:
            self._emit(camera_path, done, size, "copying")
        return True

    # -- internals ---------------------------------------------------------------------

    def _open_next(self) -> bool:
        while self.pending:
            camera_path = self.pending.popleft()
            folder, _, name = camera_path.rpartition("/")
            final = self.dest_dir / name
            size = self.source.file_size(folder or "/", name)
            if final.exists() and final.stat().st_size == size:
                continue  # copied before (a daemon restart re-queued it)
            self.dest_dir.mkdir(parents=True, exist_ok=True)
            part = self._part_path(name)
            done = part.stat().st_size if part.exists() else 0
            if self.free_bytes(self.dest_dir) - max(0, size - done) < self.reserve_bytes:
                log.warning("no space for a copy of %s (%d bytes)", name, size)
                self.skipped.append(camera_path)
                self._emit(camera_path, done, size, "no-space")
                continue
            self._current = (camera_path, folder or "/", name, size)
            self._last_reported = done
            log.info("copying %s (%d bytes, resuming at %d)", name, size, done)
            self._emit(camera_path, done, size, "copying")
            return True
        return False

    def _finish(self, camera_path: str, name: str, size: int, part: Path) -> bool:
        with open(part, "rb+") as f:
            os.fsync(f.fileno())
        final = self.dest_dir / name
        part.replace(final)
        self.finished.append(final)
        self._current = None
        log.info("copy of %s verified (%d bytes)", name, size)
        self._emit(camera_path, size, size, "verified")
        return True

    def _part_path(self, name: str) -> Path:
        return self.dest_dir / (name + ".part")

    def _emit(self, camera_path: str, done: int, size: int, status: str) -> None:
        self._last_reported = done
        self.report(CopyProgress(camera_path, done, size, status))
