"""The virtual 5D Mark II's live view: a real photograph, blurred by a simulated focus ring.

Frames are what the body sends for EOS GetViewFinderData (0x9153): a 1024×680 JPEG of the
scene, wrapped in the record libgphoto2 unpacks (``u32 length, u32 type = 1, JPEG``).

* **Scene.** ``motorcycle_left.png`` (741×500, a stereo-pair photograph with fine texture)
  from scikit-image's wheel, read as a file (skimage is never imported), scaled to cover
  1024×680 and centre-cropped. Not a flat test pattern: the score meets the kind of detail
  a real scene has. It has fewer pixels than the live view, so a magnified view here is an
  enlarged crop and shows no detail the 1× view lacks — on a real body 5× and 10× show
  real extra detail (more sensitivity than this simulation can show).
* **Focus ring.** ``position`` in ring steps; the scene is sharpest at ``sharp_position``;
  the defocus blur is a Gaussian of σ = |position − sharp| × ``sigma_per_step`` 1×-view
  pixels (exact, separable, in numpy). Magnified by ``zoom``, the same blur covers ``zoom``
  times as many view pixels (blur first, then enlarge: the two commute for a Gaussian).
* **Sensor noise.** Fresh Gaussian noise each frame (``noise`` DN), so two frames of a still
  scene differ as real ones do; then JPEG at ``quality`` (75 by default).
* **Sweep.** ``sweep(start, stop, step, dwell_s)`` turns the ring on the model's clock,
  one step per ``dwell_s``, then holds at ``stop``.

The magnification and its position are the camera model's state (EOS Zoom 0x9158 and
ZoomPosition 0x9159, in operations.py); the control port's ``focus`` command sets or
sweeps the ring (:func:`control`).

>>> view = LiveView(scene=_test_scene(), clock=lambda: 0.0)
>>> view.set_focus(2.0); view.sigma_px()
0.5
>>> view.frame()[:2], view.frame()[-2:]
(b'\\xff\\xd8', b'\\xff\\xd9')
"""

from __future__ import annotations

import importlib.util
import io
import math
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pitrigger.virtualcam.body import LIVE_VIEW_SIZE, SENSOR_SIZE, ZOOM_CENTRE, ZOOM_LEVELS

LIVE_VIEW_WIDTH, LIVE_VIEW_HEIGHT = LIVE_VIEW_SIZE
SENSOR_WIDTH, SENSOR_HEIGHT = SENSOR_SIZE
#: EOS viewfinder record type for a JPEG preview (libgphoto2 camlibs/ptp2/library.c).
VIEWFINDER_JPEG = 1
SCENE_FILE = "motorcycle_left.png"

if TYPE_CHECKING:
    from pitrigger.virtualcam.model import VirtualEos5D2

FloatImage = npt.NDArray[np.float32]


def scene_path() -> Path:
    """The photograph in scikit-image's installed data folder (found without importing it)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the live-view scene comes from scikit-image's bundled data: "
            "pip install 'pitrigger[scene]'")
    path = Path(spec.origin).parent / "data" / SCENE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from this scikit-image")
    return path


def load_scene(path: Path | None = None) -> FloatImage:
    """The scene as float32 RGB covering 1024×680 (scaled to cover, centre-cropped)."""
    from PIL import Image

    with Image.open(path or scene_path()) as image:
        rgb = image.convert("RGB")
    scale = max(LIVE_VIEW_WIDTH / rgb.width, LIVE_VIEW_HEIGHT / rgb.height)
    size = (math.ceil(rgb.width * scale), math.ceil(rgb.height * scale))
    rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - LIVE_VIEW_WIDTH) // 2, (size[1] - LIVE_VIEW_HEIGHT) // 2
    rgb = rgb.crop((left, top, left + LIVE_VIEW_WIDTH, top + LIVE_VIEW_HEIGHT))
    return np.asarray(rgb, dtype=np.float32)


def _test_scene() -> FloatImage:
    """A small random texture (doctests only; the camera uses :func:`load_scene`)."""
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (LIVE_VIEW_HEIGHT, LIVE_VIEW_WIDTH, 3)).astype(np.float32)


def gaussian_blur(image: FloatImage, sigma: float) -> FloatImage:
    """Exact separable Gaussian blur (edges replicated); σ in pixels, 0 returns the input.

    >>> img = np.zeros((9, 9, 1), np.float32); img[4, 4] = 1.0
    >>> out = gaussian_blur(img, 1.0)
    >>> round(float(out.sum()), 4), bool(out[4, 4] < 1.0)
    (1.0, True)
    """
    if sigma <= 0:
        return image
    radius = max(1, math.ceil(3.5 * sigma))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    out = image
    for axis in (0, 1):
        pad = [(0, 0)] * image.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        length = out.shape[axis]
        acc = np.zeros_like(out)
        for k, weight in enumerate(kernel):
            acc += weight * np.take(padded, np.arange(k, k + length), axis=axis)
        out = acc
    return out


@dataclass
class Sweep:
    """The ring turning from ``start`` toward ``stop`` by ``step`` every ``dwell_s``."""

    start: float
    stop: float
    step: float
    dwell_s: float
    began: float

    def position(self, now: float) -> float:
        steps = math.floor(max(0.0, now - self.began) / self.dwell_s + 1e-9)
        total = abs(self.stop - self.start) / abs(self.step)
        done = min(steps, math.floor(total + 1e-9))
        pos = self.start + math.copysign(abs(self.step), self.stop - self.start) * done
        return self.stop if steps > total + 1e-9 else pos

    def finished(self, now: float) -> bool:
        return (now - self.began) / self.dwell_s > abs(self.stop - self.start) / abs(self.step)


class LiveView:
    """Renders live-view JPEGs for the current ring position and magnification."""

    def __init__(
        self,
        scene: FloatImage | None = None,
        *,
        sharp_position: float = 0.0,
        sigma_per_step: float = 0.25,
        quality: int = 75,
        noise: float = 1.5,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scene = scene
        self.sharp_position = sharp_position
        self.sigma_per_step = sigma_per_step
        self.quality = quality
        self.noise = noise
        self.clock = clock
        self.frames_served = 0
        self._position = 0.0
        self._sweep: Sweep | None = None
        self._rng = np.random.default_rng(seed)
        self._cache: OrderedDict[tuple[float, int, tuple[int, int]], FloatImage] = OrderedDict()

    @property
    def scene(self) -> FloatImage:
        if self._scene is None:
            self._scene = load_scene()  # loaded on the first frame, not at camera start
        return self._scene

    # -- the ring --------------------------------------------------------------------------

    @property
    def position(self) -> float:
        if self._sweep is not None:
            return self._sweep.position(self.clock())
        return self._position

    def set_focus(self, position: float) -> None:
        self._sweep = None
        self._position = float(position)

    def sweep(self, start: float, stop: float, step: float, dwell_s: float) -> None:
        if step == 0 or dwell_s <= 0:
            raise ValueError("a sweep needs a non-zero step and a positive dwell_s")
        self._sweep = Sweep(float(start), float(stop), float(step), float(dwell_s), self.clock())

    def sigma_px(self) -> float:
        """The defocus blur σ in 1×-view pixels at the current position."""
        return abs(self.position - self.sharp_position) * self.sigma_per_step

    def reset(self) -> None:
        """The camera's reset: ring back at 0, no sweep (the scene stays loaded)."""
        self.set_focus(0.0)
        self.frames_served = 0

    # -- frames ----------------------------------------------------------------------------

    def frame(self, zoom: int = 1, centre: tuple[int, int] = ZOOM_CENTRE) -> bytes:
        """One live-view JPEG at magnification ``zoom`` around ``centre`` (sensor pixels),
        with fresh sensor noise every call."""
        from PIL import Image

        if zoom not in ZOOM_LEVELS:
            raise ValueError(f"zoom must be one of {ZOOM_LEVELS}")
        image = self._blurred_view(round(self.sigma_px(), 4), zoom, centre)
        if self.noise > 0:
            noisy = image + self._rng.standard_normal(image.shape, dtype=np.float32) * self.noise
        else:
            noisy = image
        pixels = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=self.quality)
        self.frames_served += 1
        return out.getvalue()

    def viewfinder_data(self, zoom: int = 1, centre: tuple[int, int] = ZOOM_CENTRE) -> bytes:
        """The GetViewFinderData payload: one type-1 (JPEG) record."""
        jpeg = self.frame(zoom, centre)
        return struct.pack("<II", 8 + len(jpeg), VIEWFINDER_JPEG) + jpeg

    def _blurred_view(self, sigma: float, zoom: int, centre: tuple[int, int]) -> FloatImage:
        key = (sigma, zoom, centre)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        view = self._render(sigma, zoom, centre)
        self._cache[key] = view
        while len(self._cache) > 8:
            self._cache.popitem(last=False)
        return view

    def _render(self, sigma: float, zoom: int, centre: tuple[int, int]) -> FloatImage:
        scene = self.scene
        if zoom == 1:
            return gaussian_blur(scene, sigma)
        from PIL import Image

        # The magnified area in 1×-view pixels, kept inside the frame like the body does.
        w, h = LIVE_VIEW_WIDTH / zoom, LIVE_VIEW_HEIGHT / zoom
        cx = centre[0] * LIVE_VIEW_WIDTH / SENSOR_WIDTH
        cy = centre[1] * LIVE_VIEW_HEIGHT / SENSOR_HEIGHT
        left = min(max(cx - w / 2, 0.0), LIVE_VIEW_WIDTH - w)
        top = min(max(cy - h / 2, 0.0), LIVE_VIEW_HEIGHT - h)
        margin = math.ceil(3.5 * sigma) + 2  # blur with context, then crop exactly
        x0, y0 = max(0, int(left) - margin), max(0, int(top) - margin)
        x1 = min(LIVE_VIEW_WIDTH, math.ceil(left + w) + margin)
        y1 = min(LIVE_VIEW_HEIGHT, math.ceil(top + h) + margin)
        region = gaussian_blur(np.ascontiguousarray(scene[y0:y1, x0:x1]), sigma)
        channels = [Image.fromarray(region[:, :, c], "F").resize(
            (LIVE_VIEW_WIDTH, LIVE_VIEW_HEIGHT), Image.Resampling.BICUBIC,
            box=(left - x0, top - y0, left - x0 + w, top - y0 + h)) for c in range(3)]
        return np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=2)

    def state(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "focus_position": self.position,
            "sharp_position": self.sharp_position,
            "sigma_px": round(self.sigma_px(), 4),
            "sweeping": self._sweep is not None and not self._sweep.finished(now),
            "frames_served": self.frames_served,
        }


# ---------------------------------------------------------------------- the body's side


def control(cam: VirtualEos5D2, request: dict[str, Any]) -> dict[str, Any]:
    """The control port's ``focus`` command.

    ``{"cmd": "focus", "position": P}`` sets the ring; ``"sweep": [start, stop, step,
    dwell_s]`` turns it on the camera's clock; ``"sharp_position"`` and ``"sigma_per_step"``
    move the sharpest point and scale the blur; ``"quality"`` sets the JPEG quality. Answers
    with the live view's state.
    """
    view = cam.ensure_live_view()
    known = {"cmd", "position", "sweep", "sharp_position", "sigma_per_step", "quality"}
    unknown = set(request) - known
    if unknown:
        raise ValueError(f"unknown focus parameters: {sorted(unknown)}")
    if "sharp_position" in request:
        view.sharp_position = float(request["sharp_position"])
    if "sigma_per_step" in request:
        view.sigma_per_step = float(request["sigma_per_step"])
    if "quality" in request:
        quality = int(request["quality"])
        if not 1 <= quality <= 95:
            raise ValueError("quality must be within 1..95")
        view.quality = quality
    if "position" in request:
        view.set_focus(float(request["position"]))
    if "sweep" in request:
        start, stop, step, dwell_s = (float(v) for v in request["sweep"])
        view.sweep(start, stop, step, dwell_s)
    return view.state()

