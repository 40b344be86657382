"""``pitrigger probe``: what does this camera body really support?

Whether a 5D Mark II reports movierecordtarget (0xD1B8) and accepts a remote movie start is
not established (libgphoto2 says remote movie works on "newer" EOS bodies). The probe opens
the camera on the configured port, lists the widgets that matter, and unless ``--no-record``
records a two-second clip, checking each step by the camera's own events. Exit 0 when remote
movie works end to end, 1 when it does not, 2 when no camera answers.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from pitrigger.cameras import CameraError
from pitrigger.messages import CameraState, ClipSaved

WIDGETS = ("viewfinder", "movierecordtarget", "eosmoviemode", "movie", "capturetarget",
           "batterylevel", "availableshots", "eosremoterelease")


def _wait_for(camera: Any, want: bool, seconds: float) -> tuple[bool, list[str]]:
    """Whether the camera *reported* the new state by event within ``seconds``.

    A read-back is no proof: libgphoto2 echoes an accepted write from its own cache.
    """
    clips: list[str] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for report in camera.poll(0.05):
            if isinstance(report, CameraState) and report.recording == want:
                return True, clips
            if isinstance(report, ClipSaved):
                clips.append(report.path)
    return False, clips


def main_probe(config_path: str | None, port: str | None, *, try_record: bool = True) -> int:
    import gphoto2 as gp

    from pitrigger.cameras.gphoto2 import Gphoto2Camera
    from pitrigger.config import ConfigError, find_config, load_config

    try:
        config = load_config(find_config(config_path))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    camera = Gphoto2Camera(port or config.camera.port)
    try:
        connected = camera.connect()
    except CameraError as exc:
        print(f"no camera on {camera.port}: {exc}")
        return 2
    print(f"camera: {connected.model} on {camera.port}")
    raw = camera._require()
    for name in WIDGETS:
        try:
            value = raw.get_single_config(name).get_value()
            print(f"  {name:18} present, value {value!r}")
        except gp.GPhoto2Error:
            print(f"  {name:18} absent")
    ok = True
    try:
        if not try_record:
            return 0
        started = time.monotonic()
        camera.start_recording()
        confirmed, _ = _wait_for(camera, True, 5.0)
        print(f"start: {'camera reports Card' if confirmed else 'NOT confirmed by the camera'}"
              f" after {1000 * (time.monotonic() - started):.0f} ms")
        if not confirmed:
            print(f"  the camera says it is {'' if camera.read_recording() else 'NOT '}"
                  "recording (fresh session)")
        ok = confirmed
        time.sleep(2.0)
        camera.stop_recording()
        stopped, clips = _wait_for(camera, False, 5.0)
        _, more = _wait_for(camera, True, 1.0)  # collect the file event that follows a stop
        print(f"stop: {'camera reports None' if stopped else 'NOT confirmed'}; "
              f"new file: {', '.join(clips + more) or 'none seen'}")
        ok = ok and stopped
    except CameraError as exc:
        print(f"recording failed: {exc}")
        ok = False
    finally:
        camera.close()
    print("remote movie: WORKS" if ok else "remote movie: does NOT work on this body/setting")
    return 0 if ok else 1
