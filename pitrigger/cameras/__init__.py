"""Cameras: a small backend protocol, backends picked by name, and the worker thread.

A backend does one camera operation per call and raises :class:`CameraBusy`,
:class:`CameraRefused` or :class:`CameraGone`. The :class:`CameraWorker` owns the backend
on one thread (libgphoto2 answers −110 to two threads at once), retries *busy* within the
configured budget, confirms every start/stop by the camera's own report, polls events
(which also keeps the camera awake) and reconnects with back-off. It turns all of that into
the reports the pure :class:`~pitrigger.controller.RecordingController` understands.

Backends (``[camera] backend`` in the config):

* ``gphoto2`` — :mod:`pitrigger.cameras.gphoto2`, a tethered Canon EOS over libgphoto2.
* ``picamera2`` — :mod:`pitrigger.cameras.picamera2`, a Pi Camera Module (optional extra).

The worker lives in :mod:`pitrigger.cameras.worker`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pitrigger.messages import CameraConnected, CameraState, ClipSaved

if TYPE_CHECKING:
    from pitrigger.config import Config

class CameraError(Exception):
    """A camera operation failed; ``code`` is the backend's error code if it has one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class CameraBusy(CameraError):
    """The camera answered busy (PTP 0x2019, libgphoto2 −110): try again shortly."""


class CameraRefused(CameraError):
    """The camera will not do this (no remote movie, wrong mode, full card…).

    ``reason`` is one of :data:`pitrigger.names.REFUSALS` when the backend could tell.
    """

    def __init__(self, message: str, code: int | None = None, reason: str = "") -> None:
        super().__init__(message, code)
        self.reason = reason


class CameraGone(CameraError):
    """The camera is not there: unplugged, powered off, asleep, or the link timed out."""


class CameraBackend(Protocol):
    """What the worker needs from a camera. Every call may block; none is re-entered."""

    def connect(self) -> CameraConnected:
        """Open a session and report the camera's real recording state."""
        ...

    def start_recording(self) -> None: ...

    def stop_recording(self) -> None: ...

    def read_recording(self) -> bool:
        """Ask the camera whether it records now (a read-back, not a belief)."""
        ...

    def poll(self, timeout_s: float) -> list[CameraState | ClipSaved]:
        """Collect what the camera reported within ``timeout_s`` (0 = what is queued)."""
        ...

    def close(self) -> None: ...


def make_backend(config: Config) -> CameraBackend:
    """The backend named by ``config.camera.backend`` (imported only when chosen)."""
    name = config.camera.backend
    if name == "gphoto2":
        from pitrigger.cameras.gphoto2 import Gphoto2Camera

        return Gphoto2Camera(config.camera.port)
    if name == "picamera2":
        from pitrigger.cameras.picamera2 import Picamera2Camera

        return Picamera2Camera(config.camera.output_dir)
    raise ValueError(f"unknown camera backend {name!r}")

