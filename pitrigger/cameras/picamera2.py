"""A Raspberry Pi Camera Module through picamera2 (the optional extra).

picamera2 needs libcamera from Raspberry Pi's apt (``python3-picamera2``; a venv on the Pi
needs ``--system-site-packages``), so it is imported only when this backend is chosen, and
tests inject a stand-in through ``modules`` that follows the real API:
``Picamera2()``, ``create_video_configuration()``, ``configure()``,
``start_recording(encoder, output)``, ``stop_recording()``, ``close()``;
``H264Encoder(bitrate=...)``; ``FileOutput(path)``.

Unlike the DSLR, the recording here *is* local: ``start_recording`` returning means frames
flow into the encoder, so the backend reports the new state itself.

>>> cam = Picamera2Camera("/var/lib/pitrigger/clips")   # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitrigger.cameras import CameraGone, CameraRefused
from pitrigger.messages import CameraConnected, CameraState, ClipSaved


@dataclass(frozen=True)
class Picamera2Modules:
    """The three picamera2 names the backend uses (real or stand-in)."""

    Picamera2: Any
    H264Encoder: Any
    FileOutput: Any


def import_picamera2() -> Picamera2Modules:
    try:
        from picamera2 import Picamera2
        from picamera2.encoders import H264Encoder
        from picamera2.outputs import FileOutput
    except ImportError as exc:
        raise CameraGone(
            "picamera2 is not installed: on Raspberry Pi OS run "
            "'sudo apt install python3-picamera2' and use a venv with "
            f"--system-site-packages ({exc})"
        ) from exc
    return Picamera2Modules(Picamera2, H264Encoder, FileOutput)


class Picamera2Camera:
    """Records H.264 files named ``PIT_YYYYmmdd_HHMMSS.h264`` into ``output_dir``."""

    def __init__(self, output_dir: str, *, bitrate: int = 10_000_000,
                 modules: Picamera2Modules | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.bitrate = bitrate
        self._modules = modules
        self._camera: Any = None
        self._recording_path: Path | None = None
        self._reports: list[CameraState | ClipSaved] = []

    def connect(self) -> CameraConnected:
        modules = self._modules or import_picamera2()
        self._modules = modules
        try:
            camera = modules.Picamera2()
            camera.configure(camera.create_video_configuration())
        except (RuntimeError, IndexError, OSError) as exc:  # no sensor attached / in use
            raise CameraGone(f"no camera module: {exc}") from exc
        self._camera = camera
        return CameraConnected(recording=False, model="Raspberry Pi Camera Module")

    def start_recording(self) -> None:
        camera = self._require()
        if self._recording_path is not None:
            return
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CameraRefused(f"cannot write clips to {self.output_dir}: {exc}") from exc
        path = self.output_dir / time.strftime("PIT_%Y%m%d_%H%M%S.h264")
        assert self._modules is not None
        encoder = self._modules.H264Encoder(bitrate=self.bitrate)
        try:
            camera.start_recording(encoder, self._modules.FileOutput(str(path)))
        except RuntimeError as exc:
            raise CameraRefused(f"start_recording failed: {exc}") from exc
        self._recording_path = path
        self._reports.append(CameraState(True, "event"))

    def stop_recording(self) -> None:
        camera = self._require()
        path, self._recording_path = self._recording_path, None
        if path is None:
            return
        try:
            camera.stop_recording()
        except RuntimeError as exc:
            raise CameraGone(f"stop_recording failed: {exc}") from exc
        self._reports += [CameraState(False, "event"), ClipSaved(str(path))]

    def read_recording(self) -> bool:
        self._require()
        return self._recording_path is not None

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        self._require()
        reports, self._reports = self._reports, []
        return reports

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            if self._recording_path is not None:
                camera.stop_recording()  # never leave an encoder writing
        finally:
            self._recording_path = None
            camera.close()

    def _require(self) -> Any:
        if self._camera is None:
            raise CameraGone("camera module not open")
        return self._camera
