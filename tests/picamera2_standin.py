"""A stand-in for picamera2 that follows its real API (it cannot be installed here).

Signatures as in raspberrypi/picamera2: ``Picamera2(camera_num=0, verbose_console=None,
tuning=None, allocator=None)``; ``create_video_configuration(main={}, lores=None, raw={},
..., use_case="video")``; ``configure(camera_config=None)``; ``start(config=None,
show_preview=False)``; ``stop()``; ``start_recording(encoder, output, pts=None, config=None,
quality=None, name=None)`` which configures if needed, starts the encoder and the camera;
``stop_recording()`` which stops the camera and then the encoder; ``capture_array(name)``
(YUV420 comes back as an array of 3/2 the height and the row stride as width);
``capture_file(file_output, name="main", format=None, wait=None, signal_function=None,
exif_data=None)``; ``capture_metadata()``; ``set_controls(controls)``; ``close()``;
``camera_properties``, ``camera_config``, ``started``. ``H264Encoder(bitrate=None, ...)``
and ``FileOutput(file=None, pts=None, split=None)``.

Behaviour that matters to the backend and is modelled: an encoder already running refuses a
second ``start_recording`` (picamera2 raises RuntimeError), ``capture_array`` needs a started
camera, controls apply from the next frame, the encoder writes to its file while frames flow,
and lores frames show a textured scene blurred by a focus ring and cropped by ScalerCrop.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

PIXEL_ARRAY = (4608, 2592)  # Camera Module 3's sensor


class H264Encoder:
    def __init__(self, bitrate: int | None = None, repeat: bool = True,
                 iperiod: int | None = None, framerate: float | None = None,
                 enable_sps_framerate: bool = False, qp: int | None = None,
                 profile: str | None = None) -> None:
        self.bitrate = bitrate
        self.output: FileOutput | None = None


class FileOutput:
    def __init__(self, file: Any = None, pts: Any = None, split: Any = None) -> None:
        self.file = file
        self._handle: Any = None

    def start(self) -> None:
        self._handle = open(self.file, "wb")  # noqa: SIM115 - closed in stop()

    def write(self, data: bytes) -> None:
        assert self._handle is not None
        self._handle.write(data)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class Picamera2:
    """One camera. ``scene`` (class attribute) is a float32 luminance image; ``ring`` how far
    the stand-in lens is from sharp, as a Gaussian σ in scene pixels."""

    instances: ClassVar[list[Picamera2]] = []
    scene: ClassVar[Any] = None
    ring_sigma: ClassVar[float] = 0.0
    fail_open: ClassVar[str | None] = None

    def __init__(self, camera_num: int = 0, verbose_console: Any = None, tuning: Any = None,
                 allocator: Any = None) -> None:
        if Picamera2.fail_open:
            raise RuntimeError(Picamera2.fail_open)
        self.camera_num = camera_num
        self.camera_properties = {"PixelArraySize": PIXEL_ARRAY,
                                  "ScalerCropMaximum": (0, 0, *PIXEL_ARRAY)}
        self.camera_config: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self.encoder: H264Encoder | None = None
        self.controls: dict[str, Any] = {"ScalerCrop": (0, 0, *PIXEL_ARRAY)}
        self._pending_controls: dict[str, Any] = {}
        self.frames = 0
        self.calls: list[str] = []
        self._rng = np.random.default_rng(5)
        Picamera2.instances.append(self)

    # -- configuration -------------------------------------------------------------------

    def create_video_configuration(self, main: dict[str, Any] | None = None,
                                   lores: dict[str, Any] | None = None,
                                   raw: dict[str, Any] | None = None, transform: Any = None,
                                   colour_space: Any = None, buffer_count: int = 6,
                                   controls: dict[str, Any] | None = None,
                                   display: str | None = "main", encode: str | None = "main",
                                   queue: bool = True, sensor: dict[str, Any] | None = None,
                                   use_case: str = "video") -> dict[str, Any]:
        main = {"format": "XBGR8888", "size": (1280, 720), **(main or {})}
        config: dict[str, Any] = {"use_case": use_case, "main": main, "lores": None,
                                  "encode": encode, "buffer_count": buffer_count}
        if lores is not None:
            config["lores"] = {"format": "YUV420", "size": (320, 240), **lores}
        return config

    def configure(self, camera_config: Any = None) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        self.camera_config = copy.deepcopy(camera_config)
        self.calls.append("configure")

    def start(self, config: Any = None, show_preview: bool = False) -> None:
        if self.camera_config is None and config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True
        self.calls.append("start")

    def stop(self) -> None:
        self.started = False
        self.calls.append("stop")

    def close(self) -> None:
        self.started = False
        self.closed = True

    # -- recording -----------------------------------------------------------------------

    def start_recording(self, encoder: H264Encoder, output: Any, pts: Any = None,
                        config: Any = None, quality: Any = None, name: Any = None) -> None:
        if self.encoder is not None:
            raise RuntimeError("Encoder already running")
        if isinstance(output, str):
            output = FileOutput(output)
        encoder.output = output
        output.start()
        self.encoder = encoder
        self.start()
        self._frame()  # a first frame reaches the file at once

    def stop_recording(self) -> None:
        self.stop()
        if self.encoder is not None and self.encoder.output is not None:
            self.encoder.output.stop()
        self.encoder = None

    # -- frames --------------------------------------------------------------------------

    def set_controls(self, controls: dict[str, Any]) -> None:
        self._pending_controls.update(controls)

    def capture_metadata(self, wait: Any = None, signal_function: Any = None) -> dict[str, Any]:
        self._frame()
        return {"ScalerCrop": tuple(self.controls["ScalerCrop"]), "FrameDuration": 33333}

    def capture_array(self, name: str = "main", wait: Any = None,
                      signal_function: Any = None) -> Any:
        self._frame()
        assert self.camera_config is not None
        stream = self.camera_config.get(name)
        if stream is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        width, height = stream["size"]
        if stream["format"] != "YUV420":
            return np.zeros((height, width, 4), np.uint8)
        stride = (width + 63) // 64 * 64  # rows are padded, as from the ISP
        out = np.full((height * 3 // 2, stride), 128, np.uint8)
        out[:height, :width] = self._luma(width, height)
        out[:height, width:] = 0  # padding: must never be read as picture
        return out

    def capture_file(self, file_output: Any, name: str = "main", format: Any = None,
                     wait: Any = None, signal_function: Any = None,
                     exif_data: Any = None) -> dict[str, Any]:
        if not self.started:
            raise RuntimeError("Camera is not running")
        self._frame()
        Path(file_output).write_bytes(b"\xff\xd8stand-in still\xff\xd9")
        return {"ScalerCrop": tuple(self.controls["ScalerCrop"])}

    def _frame(self) -> None:
        if not self.started:
            raise RuntimeError("Camera is not running")
        self.frames += 1
        self.controls.update(self._pending_controls)  # controls apply from the next frame
        self._pending_controls = {}
        if self.encoder is not None and self.encoder.output is not None:
            self.encoder.output.write(b"\x00\x00\x00\x01\x65" + bytes(64))

    def _luma(self, width: int, height: int) -> Any:
        from PIL import Image

        from pitrigger.virtualcam.liveview import gaussian_blur

        scene = Picamera2.scene
        if scene is None:
            return self._rng.integers(0, 256, (height, width), dtype=np.uint8)
        x, y, w, h = self.controls["ScalerCrop"]
        sh, sw = scene.shape
        box = (x * sw / PIXEL_ARRAY[0], y * sh / PIXEL_ARRAY[1],
               (x + w) * sw / PIXEL_ARRAY[0], (y + h) * sh / PIXEL_ARRAY[1])
        view = Image.fromarray(scene, "F").resize((width, height), Image.Resampling.BILINEAR,
                                                  box=box)
        zoom = PIXEL_ARRAY[0] / w
        blurred = gaussian_blur(np.asarray(view, np.float32)[:, :, None],
                                Picamera2.ring_sigma * zoom * width / sw)[:, :, 0]
        noisy = blurred + self._rng.standard_normal(blurred.shape).astype(np.float32)
        return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


MODULES_KW = {"Picamera2": Picamera2, "H264Encoder": H264Encoder, "FileOutput": FileOutput}
