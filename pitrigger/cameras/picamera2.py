"""A Raspberry Pi Camera Module through picamera2 (the optional extra).

picamera2 needs libcamera from Raspberry Pi's apt (``python3-picamera2``; a venv on the Pi
needs ``--system-site-packages``), so it is imported only when this backend is chosen, and
tests inject a stand-in through ``modules`` that follows the real API (signatures as in
picamera2's ``picamera2.py``, ``encoders/h264_encoder.py`` and ``outputs/fileoutput.py``):

* ``Picamera2(camera_num=0)``; ``create_video_configuration(main={}, lores=None, ...)``;
  ``configure(config)``; ``start()``/``stop()`` and the ``started`` flag;
  ``start_recording(encoder, output, pts=None, config=None, quality=None, name=None)``
  (starts the camera too) and ``stop_recording()`` (stops the camera *and* the encoder);
  ``capture_array(name="main")``; ``capture_file(file_output, name="main", format=None)``;
  ``capture_metadata()``; ``set_controls(dict)``; ``camera_properties``; ``close()``.
* ``H264Encoder(bitrate=None, ...)``; ``FileOutput(file=None, pts=None, split=None)``.

What this backend does with them:

* **Recording** to ``PIT_YYYYmmdd_HHMMSS.h264`` in ``output_dir`` (the data partition),
  refused when less than ``min_free_bytes`` is left there. Unlike the DSLR, the recording
  here *is* local: ``start_recording`` returning means frames flow into the encoder, so the
  backend reports the new state itself.
* **Stills**: ``take_still()`` saves ``PIT_…jpg`` from the main stream (the camera is
  started for it and stopped again when it was not running).
* **Free space**: :meth:`free_bytes` of the output directory's file system.
* **Focus frames**: the ``lores`` stream is YUV420; its first ``height`` rows, ``width``
  columns wide, are the luminance — no JPEG to decode. Magnification is the sensor crop
  (``ScalerCrop``): the centre 1/zoom of ``ScalerCropMaximum``, put back on leaving and read
  back from the frame metadata.

>>> cam = Picamera2Camera("/var/lib/pitrigger/clips")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitrigger.cameras import CameraGone, CameraRefused
from pitrigger.messages import CameraConnected, CameraState, ClipSaved

log = logging.getLogger(__name__)

#: Main stream (recorded) and lores stream (focus frames) sizes.
MAIN_SIZE = (1920, 1080)
LORES_SIZE = (640, 360)
#: Below this much free space on the data partition a start is refused (about 40 s at 10 Mb/s).
MIN_FREE_BYTES = 50_000_000


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
    """Records H.264 files into ``output_dir``; stills and lores focus frames on request."""

    def __init__(self, output_dir: str, *, bitrate: int = 10_000_000,
                 min_free_bytes: int = MIN_FREE_BYTES,
                 modules: Picamera2Modules | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.bitrate = bitrate
        self.min_free_bytes = min_free_bytes
        self._modules = modules
        self._camera: Any = None
        self._recording_path: Path | None = None
        self._reports: list[CameraState | ClipSaved] = []
        self._focus_saved_crop: tuple[int, ...] | None = None
        self._focus_started_camera = False

    # -- session -------------------------------------------------------------------------

    def connect(self) -> CameraConnected:
        modules = self._modules or import_picamera2()
        self._modules = modules
        try:
            camera = modules.Picamera2()
            camera.configure(camera.create_video_configuration(
                main={"size": MAIN_SIZE},
                lores={"size": LORES_SIZE, "format": "YUV420"},
            ))
        except (RuntimeError, IndexError, OSError) as exc:  # no sensor attached / in use
            raise CameraGone(f"no camera module: {exc}") from exc
        self._camera = camera
        return CameraConnected(recording=False, model="Raspberry Pi Camera Module")

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            if self._recording_path is not None:
                camera.stop_recording()  # never leave an encoder writing
        finally:
            self._recording_path = None
            self._focus_saved_crop = None
            camera.close()

    # -- recording -----------------------------------------------------------------------

    def free_bytes(self) -> int:
        """Free space where clips and stills go (the data partition)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.output_dir).free

    def start_recording(self) -> None:
        camera = self._require()
        if self._recording_path is not None:
            return
        path = self._new_path("h264")
        assert self._modules is not None
        if self._focus_saved_crop is not None:
            self.leave_focus()  # the recording must not inherit the magnified crop
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

    # -- stills --------------------------------------------------------------------------

    def take_still(self) -> str:
        """A JPEG from the main stream into ``output_dir``; returns its path."""
        camera = self._require()
        path = self._new_path("jpg")
        started_here = not camera.started
        try:
            if started_here:
                camera.start()
            camera.capture_file(str(path), name="main")
        except RuntimeError as exc:
            raise CameraRefused(f"capture_file failed: {exc}") from exc
        finally:
            if started_here:
                camera.stop()
        self._reports.append(ClipSaved(str(path)))
        return str(path)

    # -- focus mode ----------------------------------------------------------------------

    def enter_focus(self, zoom: int) -> None:
        """Start the camera if idle and crop the sensor's centre 1/zoom (ScalerCrop)."""
        camera = self._require()
        if self._recording_path is not None:
            raise CameraRefused("focus mode is not available while recording")
        self._focus_started_camera = not camera.started
        if self._focus_started_camera:
            camera.start()
        self._focus_saved_crop = tuple(camera.capture_metadata()["ScalerCrop"])
        if zoom > 1:
            x0, y0, width, height = camera.camera_properties["ScalerCropMaximum"]
            w, h = width // zoom, height // zoom
            camera.set_controls({"ScalerCrop": (x0 + (width - w) // 2, y0 + (height - h) // 2,
                                                w, h)})

    def focus_frame(self) -> Any:
        """The lores stream's luminance: the Y plane of YUV420, no decode."""
        camera = self._require()
        width, height = camera.camera_config["lores"]["size"]
        yuv = camera.capture_array("lores")
        return yuv[:height, :width]

    def leave_focus(self, settle_frames: int = 10) -> list[str]:
        """Put the crop back, read it back from frame metadata; stop the camera if we
        started it. Returns what differs."""
        camera = self._require()
        saved, self._focus_saved_crop = self._focus_saved_crop, None
        if saved is None:
            return []
        camera.set_controls({"ScalerCrop": saved})
        now: tuple[int, ...] = ()
        for _ in range(settle_frames):  # controls take effect a few frames later
            now = tuple(camera.capture_metadata()["ScalerCrop"])
            if now == saved:
                break
        if self._focus_started_camera:
            camera.stop()
            self._focus_started_camera = False
        return [] if now == saved else [f"ScalerCrop: {saved} -> {now}"]

    # -- helpers -------------------------------------------------------------------------

    def _new_path(self, suffix: str) -> Path:
        try:
            free = self.free_bytes()
        except OSError as exc:
            raise CameraRefused(f"cannot write to {self.output_dir}: {exc}") from exc
        if free < self.min_free_bytes:
            raise CameraRefused(f"data partition full: {free} bytes free in {self.output_dir}")
        stem = time.strftime("PIT_%Y%m%d_%H%M%S")
        path = self.output_dir / f"{stem}.{suffix}"
        n = 1
        while path.exists():  # two in the same second: never overwrite
            path = self.output_dir / f"{stem}_{n}.{suffix}"
            n += 1
        return path

    def _require(self) -> Any:
        if self._camera is None:
            raise CameraGone("camera module not open")
        return self._camera
