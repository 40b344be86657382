"""The sharpness score of one live-view frame (numpy; Pillow for JPEG). Pure functions.

Imported only once focus mode is first used: the daemon's default path never loads numpy or
Pillow (a test checks ``sys.modules`` after start-up).

Why these choices (measured figures in shared/notes/focus-by-touch.md and docs/focus.md):

* **Full-size luminance decode.** Pillow's ``draft("L")`` decodes only the JPEG's Y channel
  (no colour conversion, 2–3 ms for 1024×680 on a desktop core). Decoding at half size is
  hardly cheaper and halves the score's response to a 0.5 px blur.
* **Centre crop** (half the width and height by default): that is what the photographer
  aims at, and it quarters the work.
* **Variance of Laplacian** (default) or **LAPM** (modified Laplacian): both fall
  monotonically with blur; 0 → 0.5 px σ moves VoL by about −60 % and LAPM by about −35 %,
  against a frame-to-frame spread of 1–2 % when still.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> sharp = rng.integers(0, 256, (68, 102)).astype(np.uint8)
>>> soft = ((sharp[:, :-1].astype(int) + sharp[:, 1:]) // 2).astype(np.uint8)
>>> score_luma(sharp) > score_luma(soft)
True
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
import numpy.typing as npt

Measure = Literal["vol", "lapm"]
MEASURES: tuple[str, ...] = ("vol", "lapm")

Luma = npt.NDArray[np.uint8]


def luma_from_jpeg(data: bytes) -> Luma:
    """Decode a JPEG's luminance at full size (no chroma, no colour conversion)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.draft("L", image.size)  # ask libjpeg for Y only, at full scale
        return np.asarray(image.convert("L"))


def centre_crop(luma: npt.NDArray[np.generic], fraction: float = 0.5) -> npt.NDArray[np.generic]:
    """The centre ``fraction`` of the width and height (a view, no copy).

    >>> centre_crop(np.zeros((680, 1024)), 0.5).shape
    (340, 512)
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be within (0, 1], got {fraction}")
    height, width = luma.shape[:2]
    h, w = max(3, round(height * fraction)), max(3, round(width * fraction))
    top, left = (height - h) // 2, (width - w) // 2
    return luma[top:top + h, left:left + w]


def variance_of_laplacian(luma: npt.NDArray[np.generic]) -> float:
    """Variance of the 4-neighbour Laplacian (valid region only, no border effects)."""
    x = luma.astype(np.float32)
    lap = (x[1:-1, :-2] + x[1:-1, 2:] + x[:-2, 1:-1] + x[2:, 1:-1]) - 4.0 * x[1:-1, 1:-1]
    return float(lap.var(dtype=np.float64))


def modified_laplacian(luma: npt.NDArray[np.generic]) -> float:
    """LAPM (Nayar): mean of |2I − left − right| + |2I − up − down|."""
    x = luma.astype(np.float32)
    centre = 2.0 * x[1:-1, 1:-1]
    horizontal = np.abs(centre - x[1:-1, :-2] - x[1:-1, 2:])
    vertical = np.abs(centre - x[:-2, 1:-1] - x[2:, 1:-1])
    return float((horizontal + vertical).mean(dtype=np.float64))


def score_luma(luma: npt.NDArray[np.generic], *, measure: Measure = "vol",
               crop: float = 0.5) -> float:
    """The sharpness of a luminance frame's centre (larger is sharper; any scale)."""
    region = centre_crop(luma, crop)
    if measure == "vol":
        return variance_of_laplacian(region)
    if measure == "lapm":
        return modified_laplacian(region)
    raise ValueError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")


def score_jpeg(data: bytes, *, measure: Measure = "vol", crop: float = 0.5) -> float:
    """Decode a live-view JPEG's luminance and score its centre."""
    return score_luma(luma_from_jpeg(data), measure=measure, crop=crop)
