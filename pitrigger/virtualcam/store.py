"""The card of the virtual camera: one CF card, /DCIM/100EOS5D, and the files on it.

Pure bookkeeping: object handles, the folder tree as PTP lists it, each file's PTP fields
and its content. Free space is the model's business (it changes while recording); the store
only says how many bytes a file occupies. A still captured with the capture destination set
to the PC waits in the body's SDRAM (``sdram``) until the host has read it.

File content is deterministic: ``file_bytes(name, offset, length)`` is what GetObject and
GetPartialObject serve, so a test can check a copy byte for byte without storing it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from pitrigger.virtualcam import ptp

STORAGE_ID = 0x00010001
DCIM_HANDLE = 0x20000001
FOLDER_HANDLE = 0x20000002
FOLDER_NAME = "100EOS5D"
FIRST_CLIP_HANDLE = 0x20000100
THM_HANDLE_OFFSET = 0x00100000  # a clip's .THM companion: clip handle + this
THM_SIZE_BYTES = 12_288

# (format, size, name, parent handle, unix time) of one object, as GetObjectInfo needs them
ObjectFields = tuple[int, int, str, int, float]

# File content repeats with this period (a prime, so it does not line up with block sizes).
_CONTENT_PERIOD = 65_521


@functools.lru_cache(maxsize=64)
def _content_period(name: str) -> bytes:
    blocks = []
    digest = hashlib.sha256(name.encode()).digest()
    for _ in range(_CONTENT_PERIOD // len(digest) + 1):
        digest = hashlib.sha256(digest).digest()
        blocks.append(digest)
    return b"".join(blocks)[:_CONTENT_PERIOD]


def file_bytes(name: str, offset: int, length: int) -> bytes:
    """Bytes ``offset`` .. ``offset + length`` of the file called ``name`` (any size)."""
    if length <= 0:
        return b""
    period = _content_period(name)
    start = offset % _CONTENT_PERIOD
    repeats = (start + length) // _CONTENT_PERIOD + 1
    return (period * repeats)[start : start + length]


@dataclass
class Clip:
    handle: int
    name: str
    size: int
    duration_s: float
    stop_reason: str
    created_unix: float
    thm: bool = False  # its MVI_NNNN.THM companion is on the card
    folder: str = FOLDER_NAME

    @property
    def thm_name(self) -> str:
        return self.name.rsplit(".", 1)[0] + ".THM"

    @property
    def thm_handle(self) -> int:
        return self.handle + THM_HANDLE_OFFSET

    @property
    def occupied_bytes(self) -> int:
        return self.size + (THM_SIZE_BYTES if self.thm else 0)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "thm": self.thm_name if self.thm else None,
            "folder": f"/DCIM/{self.folder}",
            "handle": self.handle,
            "size": self.size,
            "duration_s": round(self.duration_s, 3),
            "stop_reason": self.stop_reason,
        }


@dataclass
class Still:
    handle: int
    name: str
    size: int
    object_format: int  # EXIF JPEG 0x3801 or Canon CR2 0xB103
    created_unix: float
    folder: str = FOLDER_NAME
    in_sdram: bool = False  # captured to the PC: waits in the body until transferred

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "folder": None if self.in_sdram else f"/DCIM/{self.folder}",
            "handle": self.handle,
            "size": self.size,
            "in_sdram": self.in_sdram,
        }


class ObjectStore:
    """The files on the card, oldest first, and the handles PTP knows them by."""

    def __init__(self, clips: list[Clip] | None = None, stills: list[Still] | None = None,
                 folder_name: str = FOLDER_NAME) -> None:
        self.folder_name = folder_name
        self.clips: list[Clip] = list(clips or [])
        self.stills: list[Still] = list(stills or [])
        self.sdram: dict[int, Still] = {}  # handle -> still waiting for the host
        used = [c.handle for c in self.clips] + [s.handle for s in self.stills]
        self._next_handle = max(used, default=FIRST_CLIP_HANDLE - 1) + 1

    def rename_folder(self, folder_name: str) -> None:
        """The card has one folder; it is named after the body that writes to it."""
        self.folder_name = folder_name
        for clip in self.clips:
            clip.folder = folder_name
        for still in [*self.stills, *self.sdram.values()]:
            still.folder = folder_name

    def new_handle(self) -> int:
        handle = self._next_handle
        self._next_handle += 1
        return handle

    def add(self, clip: Clip) -> None:
        self.clips.append(clip)

    def add_still(self, still: Still) -> None:
        if still.in_sdram:
            self.sdram[still.handle] = still
        else:
            self.stills.append(still)

    def occupied_bytes(self) -> int:
        return (sum(c.occupied_bytes for c in self.clips)
                + sum(s.size for s in self.stills))

    def file_handles(self) -> list[int]:
        """The files in the folder, in the order they were written."""
        # (when written, handle): a THM comes right after its MOV
        order: list[tuple[float, int]] = [(still.handle, still.handle) for still in self.stills]
        for clip in self.clips:
            order.append((clip.handle, clip.handle))
            if clip.thm:
                order.append((clip.handle + 0.5, clip.thm_handle))
        return [handle for _written, handle in sorted(order)]

    def content_of(self, handle: int) -> tuple[str, int] | None:
        """(name, size) of a file whose bytes can be read (card or SDRAM), else None."""
        still = self.sdram.get(handle) or next(
            (s for s in self.stills if s.handle == handle), None)
        if still is not None:
            return still.name, still.size
        clip, is_thm = self.find(handle)
        if clip is None:
            return None
        return (clip.thm_name, THM_SIZE_BYTES) if is_thm else (clip.name, clip.size)

    def transfer_complete(self, handle: int) -> bool:
        """The host has the SDRAM still ``handle``: the body forgets it."""
        return self.sdram.pop(handle, None) is not None

    def children(self, storage: int, parent: int) -> list[int] | None:
        """Object handles below ``parent`` (HANDLE_ALL = root, 0 = everything); None when
        the storage or the parent does not exist."""
        if storage not in (STORAGE_ID, ptp.HANDLE_ALL, 0):
            return None
        if parent == ptp.HANDLE_ALL:
            return [DCIM_HANDLE]
        if parent == 0:
            return [DCIM_HANDLE, FOLDER_HANDLE, *self.file_handles()]
        if parent == DCIM_HANDLE:
            return [FOLDER_HANDLE]
        if parent == FOLDER_HANDLE:
            return self.file_handles()
        return [] if self.find(parent)[0] else None

    def find(self, handle: int) -> tuple[Clip | None, bool]:
        """The clip a handle belongs to, and whether the handle is its .THM."""
        for clip in self.clips:
            if clip.handle == handle:
                return clip, False
            if clip.thm and clip.thm_handle == handle:
                return clip, True
        return None, False

    def object_fields(self, handle: int) -> ObjectFields | None:
        if handle == DCIM_HANDLE:
            return ptp.OFC_ASSOCIATION, 0, "DCIM", 0, 0.0
        if handle == FOLDER_HANDLE:
            return ptp.OFC_ASSOCIATION, 0, self.folder_name, DCIM_HANDLE, 0.0
        for still in self.stills:
            if still.handle == handle:
                return (still.object_format, still.size, still.name, FOLDER_HANDLE,
                        still.created_unix)
        clip, is_thm = self.find(handle)
        if clip is None:
            return None
        if is_thm:
            return (ptp.OFC_CANON_THM, THM_SIZE_BYTES, clip.thm_name, FOLDER_HANDLE,
                    clip.created_unix)
        return ptp.OFC_CANON_MOV, clip.size, clip.name, FOLDER_HANDLE, clip.created_unix

    def delete(self, handle: int) -> int | None:
        """Remove a file; the bytes it freed, or None if there is no such file. Deleting a
        MOV takes its THM along (the model keeps a THM only beside its MOV)."""
        for still in self.stills:
            if still.handle == handle:
                self.stills.remove(still)
                return still.size
        clip, is_thm = self.find(handle)
        if clip is None:
            return None
        freed = THM_SIZE_BYTES if clip.thm else 0
        if is_thm:
            clip.thm = False
        else:
            self.clips.remove(clip)
            freed += clip.size
        return freed
