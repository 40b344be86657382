"""Sharpness score on the virtual 5D's real-looking scene: monotonic in blur, 0.5 px detected.

Frames come from :class:`pitrigger.virtualcam.liveview.LiveView` directly (the same renderer
the virtual camera serves over PTP/IP; the end-to-end path is in test_focus_mode.py): the
photograph, an exact Gaussian defocus, fresh sensor noise, JPEG quality 75, 1024×680.
"""

from __future__ import annotations

import itertools
import statistics

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("PIL")

from pitrigger.focus_score import (  # noqa: E402
    centre_crop,
    luma_from_jpeg,
    modified_laplacian,
    score_jpeg,
    variance_of_laplacian,
)
from pitrigger.virtualcam.liveview import (  # noqa: E402
    LIVE_VIEW_HEIGHT,
    LIVE_VIEW_WIDTH,
    LiveView,
    gaussian_blur,
    load_scene,
)


@pytest.fixture(scope="module")
def view() -> LiveView:
    # sigma_per_step 0.5: ring position n is a blur of n/2 px, so steps are the 0.5 px sweep.
    return LiveView(load_scene(), sigma_per_step=0.5, quality=75, seed=7, clock=lambda: 0.0)


def scores_at(view: LiveView, position: float, frames: int, measure: str = "vol",
              zoom: int = 1) -> list[float]:
    view.set_focus(position)
    return [score_jpeg(view.frame(zoom), measure=measure)  # type: ignore[arg-type]
            for _ in range(frames)]


def test_the_frame_is_the_bodys_size_and_a_real_photograph(view: LiveView) -> None:
    luma = luma_from_jpeg(view.frame())
    assert luma.shape == (LIVE_VIEW_HEIGHT, LIVE_VIEW_WIDTH)
    # Not a flat pattern: a wide spread of grey levels and of local detail.
    assert luma.std() > 30
    centre = centre_crop(luma)
    blocks = [centre[y:y + 34, x:x + 51].std()
              for y in range(0, 340, 34) for x in range(0, 510, 51)]
    assert max(blocks) > 4 * min(blocks)


@pytest.mark.parametrize("measure", ["vol", "lapm"])
def test_score_falls_monotonically_with_blur(view: LiveView, measure: str) -> None:
    medians = [statistics.median(scores_at(view, p, 3, measure)) for p in range(0, 7)]  # 0-3 px
    assert all(a > b for a, b in itertools.pairwise(medians)), medians


@pytest.mark.parametrize("zoom", [1, 5])
def test_a_half_pixel_blur_step_is_detected_at_jpeg_quality_75(view: LiveView, zoom: int) -> None:
    sharp = scores_at(view, 0, 6, zoom=zoom)
    blurred = scores_at(view, 1, 6, zoom=zoom)  # σ 0.5 px in 1x-view pixels
    assert min(sharp) > max(blurred)
    noise = (statistics.pstdev(sharp) + statistics.pstdev(blurred)) / 2
    d_prime = (statistics.mean(sharp) - statistics.mean(blurred)) / max(noise, 1e-9)
    assert d_prime > 10, d_prime
    # and the frame-to-frame noise of a still scene is small against the step
    assert statistics.pstdev(sharp) / statistics.mean(sharp) < 0.02


def test_measures_on_synthetic_blur_without_jpeg() -> None:
    rng = np.random.default_rng(3)
    image = rng.uniform(0, 255, (80, 120, 1)).astype(np.float32)
    sharp = image[:, :, 0]
    soft = gaussian_blur(image, 0.5)[:, :, 0]
    assert variance_of_laplacian(sharp) > 2 * variance_of_laplacian(soft)
    assert modified_laplacian(sharp) > 1.3 * modified_laplacian(soft)
    flat = np.full((20, 20), 128, np.uint8)
    assert variance_of_laplacian(flat) == 0.0 == modified_laplacian(flat)


def test_magnified_view_crops_the_centre_and_a_sweep_turns_the_ring() -> None:
    now = [0.0]
    view = LiveView(load_scene(), clock=lambda: now[0], seed=1)
    full = luma_from_jpeg(view.frame()).astype(float)
    with pytest.raises(ValueError):
        view.frame(3)
    magnified = luma_from_jpeg(view.frame(5)).astype(float)
    assert magnified.shape == full.shape
    # the 5x view is the centre fifth enlarged: compare it with that crop, scaled up
    h, w = LIVE_VIEW_HEIGHT // 5, LIVE_VIEW_WIDTH // 5
    top, left = (LIVE_VIEW_HEIGHT - h) // 2, (LIVE_VIEW_WIDTH - w) // 2
    crop = full[top:top + h, left:left + w]
    small = magnified[2::5, 2::5][:h, :w]
    assert np.corrcoef(crop.ravel(), small.ravel())[0, 1] > 0.9
    assert np.corrcoef(full[:h, :w].ravel(), small.ravel())[0, 1] < 0.5
    view.sweep(-4, 4, 2, dwell_s=0.5)
    seen = []
    for t in (0.0, 0.49, 0.5, 1.0, 1.5, 2.0, 2.5, 10.0):
        now[0] = t
        seen.append(view.position)
    assert seen == [-4, -4, -2, 0, 2, 4, 4, 4]
    assert view.state()["sweeping"] is False
