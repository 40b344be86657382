"""The card of the virtual camera: one CF card, /DCIM/100EOS5D, and the files on it.

Pure bookkeeping: object handles, the folder tree as PTP lists it, and each file's PTP
fields. Free space is the model's business (it changes while recording); the store only says
how many bytes a file occupies.
"""

from __future__ import annotations

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


@dataclass
class Clip:
    handle: int
    name: str
    size: int
    duration_s: float
    stop_reason: str
    created_unix: float
    thm: bool = False  # its MVI_NNNN.THM companion is on the card

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
            "folder": f"/DCIM/{FOLDER_NAME}",
            "handle": self.handle,
            "size": self.size,
            "duration_s": round(self.duration_s, 3),
            "stop_reason": self.stop_reason,
        }


class ObjectStore:
    """The files on the card, oldest first, and the handles PTP knows them by."""

    def __init__(self, clips: list[Clip] | None = None) -> None:
        self.clips: list[Clip] = list(clips or [])
        self._next_handle = max([c.handle for c in self.clips],
                                default=FIRST_CLIP_HANDLE - 1) + 1

    def new_handle(self) -> int:
        handle = self._next_handle
        self._next_handle += 1
        return handle

    def add(self, clip: Clip) -> None:
        self.clips.append(clip)

    def occupied_bytes(self) -> int:
        return sum(c.occupied_bytes for c in self.clips)

    def file_handles(self) -> list[int]:
        handles: list[int] = []
        for clip in self.clips:
            handles += [clip.handle, clip.thm_handle] if clip.thm else [clip.handle]
        return handles

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
            return ptp.OFC_ASSOCIATION, 0, FOLDER_NAME, DCIM_HANDLE, 0.0
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
