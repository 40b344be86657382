"""Focus mode's costs: live-view frames through libgphoto2, decode and score per frame, CPU.

Runs the virtual 5D Mark II in a child process, opens it with the gphoto2 backend, enters
focus mode at 1× (1024×680) and magnified (5×), and for each view measures, side by side in
this one run:

* ``fps_<view>``: frames per second through libgphoto2's ``capture_preview`` (the virtual
  camera renders each frame, ~60-70 ms here: this is the virtual body's speed, not a 5D2's);
* ``decode_ms_<view>``: full-size luminance decode (Pillow ``draft("L")``) per frame;
* ``score_ms_<view>_vol`` / ``_lapm``: the numpy measure on the centre crop per frame;
* ``score_noise_pct_<view>``: frame-to-frame spread of the score of a still scene (% of mean);
* ``cpu_ms_per_frame_<view>``: this process's CPU time per frame (capture + decode + score;
  the virtual camera's own CPU is in its process and not counted);
* ``cpu_share_at_<fps>fps_<view>``: that CPU at ``[focus] max_fps``, as a share of one core.

Pi Zero figures are **estimates**: this machine's measured ms times the single-thread speed
ratios in shared/notes/focus-by-touch.md (7-Zip MIPS, x86 VM : Pi Zero W ≈ 1 : 8.8, Zero 2 W
≈ 1 : 4.8). They were not measured on a Pi.

    .venv/bin/python bench/focus.py [--frames 30] [--max-fps 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import emit, machine, note, progress

PI_ZERO_W_RATIO = 8.8  # estimate: shared/notes/focus-by-touch.md, not measured on a Pi
PI_ZERO_2W_RATIO = 4.8


def measure_view(camera: object, zoom: int, frames: int) -> dict[str, float]:
    from pitrigger.focus_score import centre_crop, luma_from_jpeg, score_luma

    camera.enter_focus(zoom)  # type: ignore[attr-defined]
    mode = camera._focus  # type: ignore[attr-defined]
    mode.preview_jpeg()  # warm: the first frame turns live view on
    capture_s, decode_s, vol_s, lapm_s, scores, sizes = [], [], [], [], [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(frames):
        t0 = time.perf_counter()
        jpeg = mode.preview_jpeg()
        t1 = time.perf_counter()
        luma = luma_from_jpeg(jpeg)
        t2 = time.perf_counter()
        score = score_luma(luma, measure="vol")
        t3 = time.perf_counter()
        score_luma(luma, measure="lapm")
        t4 = time.perf_counter()
        capture_s.append(t1 - t0)
        decode_s.append(t2 - t1)
        vol_s.append(t3 - t2)
        lapm_s.append(t4 - t3)
        scores.append(score)
        sizes.append(len(jpeg))
        assert centre_crop(luma).shape[0] > 0
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    problems = camera.leave_focus()  # type: ignore[attr-defined]
    if problems:
        note(f"zoom {zoom}: not restored: {problems}")
    # The lapm score is measured inside the loop too: leave it out of the per-frame CPU that
    # focus mode really spends (it scores with one measure).
    cpu_per_frame = (cpu - sum(lapm_s)) / frames
    return {
        "fps": frames / (wall - sum(lapm_s)),
        "capture_ms": statistics.median(capture_s) * 1000,
        "decode_ms": statistics.median(decode_s) * 1000,
        "vol_ms": statistics.median(vol_s) * 1000,
        "lapm_ms": statistics.median(lapm_s) * 1000,
        "noise_pct": statistics.pstdev(scores) / statistics.mean(scores) * 100,
        "cpu_ms": cpu_per_frame * 1000,
        "jpeg_kb": statistics.mean(sizes) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=30, help="frames per view (default 30)")
    parser.add_argument("--max-fps", type=float, default=10.0, help="[focus] max_fps (10)")
    args = parser.parse_args()

    from pitrigger.cameras.gphoto2 import Gphoto2Camera
    from pitrigger.virtualcam import spawn

    note(f"machine: {machine()}")
    with spawn() as virtual:
        virtual.control.focus(position=0)  # a still, sharp scene: the spread is noise
        camera = Gphoto2Camera(virtual.port_string)
        camera.connect()
        try:
            for label, zoom in (("1x", 1), ("5x", 5)):
                progress(f"view {label}: {args.frames} frames")
                m = measure_view(camera, zoom, args.frames)
                emit(f"fps_{label}", m["fps"])
                emit(f"capture_ms_{label}", m["capture_ms"])
                emit(f"decode_ms_{label}", m["decode_ms"])
                emit(f"score_ms_{label}_vol", m["vol_ms"])
                emit(f"score_ms_{label}_lapm", m["lapm_ms"])
                emit(f"score_noise_pct_{label}", m["noise_pct"])
                emit(f"jpeg_kb_{label}", m["jpeg_kb"])
                emit(f"cpu_ms_per_frame_{label}", m["cpu_ms"])
                share = m["cpu_ms"] * args.max_fps / 1000
                emit(f"cpu_share_at_max_fps_{label}", share)
                work_ms = m["decode_ms"] + m["vol_ms"]
                emit(f"decode_score_ms_{label}", work_ms)
                emit(f"estimate_pi_zero_w_decode_score_ms_{label}", work_ms * PI_ZERO_W_RATIO)
                emit(f"estimate_pi_zero_2w_decode_score_ms_{label}",
                     work_ms * PI_ZERO_2W_RATIO)
                emit(f"estimate_pi_zero_w_cpu_share_at_max_fps_{label}",
                     min(1.0, share * PI_ZERO_W_RATIO))
        finally:
            camera.close()
    note("estimate_* lines: this machine's ms x the 7-Zip single-thread ratios in "
         "shared/notes/focus-by-touch.md (Zero W 8.8, Zero 2 W 4.8); not measured on a Pi")
    note("fps_* is bound by the virtual camera's rendering (blur cache, noise, JPEG), "
         "not by libgphoto2 or a real 5D Mark II")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
