"""The second copy: chunked, resumable, size-verified, space-guarded, never deleting."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pitrigger.copier as copier_module
from pitrigger.copier import ClipCopier, CopyProgress, MemorySource

FOLDER = "/store_00010001/DCIM/100EOS5D"
CLIP = os.urandom(10_000)


class Interrupted(Exception):
    pass


class FlakySource(MemorySource):
    """Raises after ``fail_after`` reads, like a camera lost (or a press) mid-copy."""

    def __init__(self, files: dict[tuple[str, str], bytes], fail_after: int) -> None:
        super().__init__(files)
        self.fail_after = fail_after

    def read_file(self, folder: str, name: str, offset: int, buffer: memoryview) -> int:
        if len(self.reads) >= self.fail_after:
            raise Interrupted("link lost")
        return super().read_file(folder, name, offset, buffer)


def run(copier: ClipCopier) -> None:
    for _ in range(100_000):
        if not copier.step():
            return
    pytest.fail("copier never finished")


def test_copy_is_byte_identical_and_reads_in_chunks(tmp_path: Path) -> None:
    source = MemorySource({(FOLDER, "MVI_0001.MOV"): CLIP})
    progress: list[CopyProgress] = []
    copier = ClipCopier(source, tmp_path, chunk_bytes=3000, progress=progress.append,
                        reserve_bytes=0)
    copier.add(f"{FOLDER}/MVI_0001.MOV")
    run(copier)
    assert (tmp_path / "MVI_0001.MOV").read_bytes() == CLIP
    assert not (tmp_path / "MVI_0001.MOV.part").exists()
    assert source.reads == [("MVI_0001.MOV", 0, 3000), ("MVI_0001.MOV", 3000, 3000),
                            ("MVI_0001.MOV", 6000, 3000), ("MVI_0001.MOV", 9000, 1000)]
    assert [p.status for p in progress] == ["copying", "verified"]
    assert source.files[(FOLDER, "MVI_0001.MOV")] == CLIP  # the camera's file is untouched


@settings(max_examples=30, deadline=None)
@given(chunk=st.integers(100, 4000), fail_after=st.integers(0, 40))
def test_an_interrupted_copy_resumes_where_it_stopped(tmp_path_factory: pytest.TempPathFactory,
                                                      chunk: int, fail_after: int) -> None:
    assume(fail_after * chunk < len(CLIP))  # interrupted before the end
    dest = tmp_path_factory.mktemp("copy")
    flaky = FlakySource({(FOLDER, "MVI_0001.MOV"): CLIP}, fail_after)
    copier = ClipCopier(flaky, dest, chunk_bytes=chunk, reserve_bytes=0)
    copier.add(f"{FOLDER}/MVI_0001.MOV")
    with pytest.raises(Interrupted):
        run(copier)
    copied_before = sum(n for _, _, n in flaky.reads)
    # A fresh copier (a daemon restart) on the same folder resumes from the .part file.
    source = MemorySource(flaky.files)
    again = ClipCopier(source, dest, chunk_bytes=chunk, reserve_bytes=0)
    again.add(f"{FOLDER}/MVI_0001.MOV")
    run(again)
    assert (dest / "MVI_0001.MOV").read_bytes() == CLIP
    assert source.reads[0][1] == copied_before  # the first read starts at the resume point
    assert sum(n for _, _, n in source.reads) == len(CLIP) - copied_before


def test_a_part_longer_than_the_camera_file_starts_again(tmp_path: Path) -> None:
    (tmp_path / "MVI_0001.MOV.part").write_bytes(b"x" * (len(CLIP) + 1))
    progress: list[CopyProgress] = []
    copier = ClipCopier(MemorySource({(FOLDER, "MVI_0001.MOV"): CLIP}), tmp_path,
                        reserve_bytes=0, progress=progress.append)
    copier.add(f"{FOLDER}/MVI_0001.MOV")
    run(copier)
    assert (tmp_path / "MVI_0001.MOV").read_bytes() == CLIP
    assert (tmp_path / "MVI_0001.MOV.bad").exists()
    assert "restarted" in [p.status for p in progress]


def test_no_space_skips_and_a_later_clip_retries(tmp_path: Path) -> None:
    free = {"bytes": 5_000}
    progress: list[CopyProgress] = []
    source = MemorySource({(FOLDER, "MVI_0001.MOV"): CLIP, (FOLDER, "MVI_0002.MOV"): b"ab"})
    copier = ClipCopier(source, tmp_path, reserve_bytes=1_000, progress=progress.append,
                        free_bytes=lambda path: free["bytes"])
    copier.add(f"{FOLDER}/MVI_0001.MOV")
    run(copier)
    assert not (tmp_path / "MVI_0001.MOV").exists() and source.reads == []
    assert progress[-1].status == "no-space"
    free["bytes"] = 50_000
    copier.add(f"{FOLDER}/MVI_0002.MOV")
    run(copier)
    assert (tmp_path / "MVI_0002.MOV").read_bytes() == b"ab"
    assert (tmp_path / "MVI_0001.MOV").read_bytes() == CLIP


def test_already_copied_files_are_not_read_again(tmp_path: Path) -> None:
    (tmp_path / "MVI_0001.MOV").write_bytes(CLIP)
    source = MemorySource({(FOLDER, "MVI_0001.MOV"): CLIP})
    copier = ClipCopier(source, tmp_path, reserve_bytes=0)
    copier.add(f"{FOLDER}/MVI_0001.MOV")
    copier.add(f"{FOLDER}/MVI_0001.MOV")  # queued twice: once is enough
    run(copier)
    assert source.reads == []


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_bytes"):
        ClipCopier(MemorySource({}), tmp_path, chunk_bytes=0)
    with pytest.raises(ValueError, match="not a camera file path"):
        ClipCopier(MemorySource({}), tmp_path).add("MVI_0001.MOV")


def test_docstring_examples() -> None:
    result = doctest.testmod(copier_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
