"""Shared fixtures.

Virtual camera: ``virtual_camera`` yields a running ``pitrigger.virtualcam.VirtualCamera``
(one child process per test session, reset to its start-up state before every test).
``gphoto`` connects real python-gphoto2 cameras to it and exits them after the test.

libgphoto2 gotcha handled here: over PTP/IP, ``camera.exit()`` closes file descriptor 0
(libgphoto2 2.5.x never initialises its Fuji ``jpgfd``), so after every exit fd 0 is put
back on /dev/null before anything else can be given that number.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pitrigger.virtualcam import VirtualCamera, spawn

# A daemon started by a test (here or as a child process, even with systemd's variables set)
# must not keep its validated-config store in this machine's /var/lib/pitrigger; the tests
# of the store name their own (pitrigger.config.startup).
os.environ.setdefault("PITRIGGER_CONFIG_CACHE", "")

GP_EVENT_NAMES = {0: "UNKNOWN", 1: "TIMEOUT", 2: "FILE_ADDED", 3: "FOLDER_ADDED",
                  4: "CAPTURE_COMPLETE", 5: "FILE_CHANGED"}


def restore_fd0() -> None:
    """Re-occupy fd 0 with /dev/null if libgphoto2 closed it."""
    try:
        os.fstat(0)
    except OSError:
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 0:  # someone else took 0 already; nothing we can do safely
            os.close(fd)


class _VirtualCameraHolder:
    """One responder per session; respawned if a test killed it."""

    def __init__(self) -> None:
        self.camera: VirtualCamera | None = None

    def get(self) -> VirtualCamera:
        if self.camera is None or self.camera.process.poll() is not None:
            self.camera = spawn()
        return self.camera

    def stop(self) -> None:
        if self.camera is not None:
            self.camera.stop()


@pytest.fixture(scope="session")
def _virtual_camera_holder() -> Iterator[_VirtualCameraHolder]:
    holder = _VirtualCameraHolder()
    yield holder
    holder.stop()


@pytest.fixture
def virtual_camera(_virtual_camera_holder: _VirtualCameraHolder) -> Iterator[VirtualCamera]:
    """A virtual 5D Mark II in its start-up state (clips, faults and settings reset)."""
    camera = _virtual_camera_holder.get()
    camera.control.reset()
    yield camera
    if camera.process.poll() is None:
        with contextlib.suppress(Exception):
            camera.control.reset()  # drops connections a failing test may have left open


@pytest.fixture(autouse=True)
def _keep_fd0_safe() -> Iterator[None]:
    yield
    restore_fd0()


class GphotoHelper:
    """Opens python-gphoto2 cameras on PTP/IP port strings and closes them afterwards."""

    def __init__(self) -> None:
        import gphoto2 as gp

        self.gp = gp
        self._open: list[Any] = []

    def connect(self, port_string: str, model: str | None = "PTP/IP Camera") -> Any:
        """``camera.init()`` on the port; ``model`` picks the CameraAbilities (None: none)."""
        gp = self.gp
        camera = gp.Camera()
        port_infos = gp.PortInfoList()
        port_infos.load()
        camera.set_port_info(port_infos[port_infos.lookup_path(port_string)])
        if model is not None:
            abilities = gp.CameraAbilitiesList()
            abilities.load()
            camera.set_abilities(abilities[abilities.lookup_model(model)])
        camera.init()
        self._open.append(camera)
        return camera

    def close(self, camera: Any) -> int:
        """``camera.exit()``; returns its gphoto2 result code (0 or the error)."""
        result = 0
        try:
            camera.exit()
        except self.gp.GPhoto2Error as error:
            result = error.code
        finally:
            restore_fd0()
            if camera in self._open:
                self._open.remove(camera)
        return result

    def set_config(self, camera: Any, name: str, value: Any) -> None:
        widget = camera.get_single_config(name)
        widget.set_value(value)
        camera.set_single_config(name, widget)

    @contextlib.contextmanager
    def captures_to_card(self, camera: Any) -> Iterator[None]:
        """capturetarget "Memory card" for the block. libgphoto2 saves the choice in
        ~/.gphoto/settings for every later process (other test runs too), so it is put
        back to its default "Internal RAM" afterwards."""
        self.set_config(camera, "capturetarget", "Memory card")
        try:
            yield
        finally:
            self.set_config(camera, "capturetarget", "Internal RAM")

    def get_config(self, camera: Any, name: str) -> Any:
        return camera.get_single_config(name).get_value()

    def config_names(self, camera: Any) -> set[str]:
        names: set[str] = set()

        def walk(widget: Any) -> None:
            for child in widget.get_children():
                names.add(child.get_name())
                walk(child)

        walk(camera.get_config())
        return names

    def wait_events(self, camera: Any, until: Callable[[int, Any], bool] | None = None,
                    timeout_s: float = 3.0, poll_ms: int = 50) -> list[tuple[int, Any]]:
        """Collect (type, data) from wait_for_event until ``until`` matches or time is up.

        FILE_ADDED data is turned into "folder/name"; without ``until`` it stops at the first
        timeout event.
        """
        events: list[tuple[int, Any]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            kind, data = camera.wait_for_event(poll_ms)
            if kind == self.gp.GP_EVENT_TIMEOUT:
                if until is None:
                    break
                continue
            if kind in (self.gp.GP_EVENT_FILE_ADDED, self.gp.GP_EVENT_FOLDER_ADDED):
                data = f"{data.folder}/{data.name}"
            events.append((kind, data))
            if until is not None and until(kind, data):
                break
        return events

    def close_all(self) -> None:
        for camera in list(self._open):
            self.close(camera)


@pytest.fixture
def gphoto() -> Iterator[GphotoHelper]:
    pytest.importorskip("gphoto2")
    helper = GphotoHelper()
    yield helper
    helper.close_all()
