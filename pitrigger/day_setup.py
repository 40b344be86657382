"""The day's pieces built from ``[camera]`` settings, for the daemon (wiring, no logic).

The clip-cap and supply bookkeeping (:class:`~pitrigger.day.DayKeeper`), the status answer's
shape, and the camera worker's background jobs (:class:`~pitrigger.camera_jobs.DayJobs`,
with a :class:`~pitrigger.copier.ClipCopier` when ``[backup] enabled`` is on).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pitrigger.camera_jobs import DayJobs
from pitrigger.cameras import CameraBackend
from pitrigger.day import DayKeeper
from pitrigger.messages import CopyReport
from pitrigger.status_code import StatusShape

if TYPE_CHECKING:  # at run time the config may be the plain view (pitrigger.config.startup)
    from pitrigger.config import Config

log = logging.getLogger("pitrigger")

__all__ = ["make_day_jobs", "make_day_keeper", "make_status_shape"]


def make_day_keeper(config: Config) -> DayKeeper:
    """Clip cap, card and battery thresholds, auto restart: ``[camera]`` settings."""
    from pitrigger.cliplimit import ClipWatch
    from pitrigger.supply import SupplyWatch

    camera = config.camera
    return DayKeeper(
        ClipWatch(bytes_per_s=camera.movie_bytes_per_s, cap_s=camera.clip_cap_s or None,
                  warn_before_s=camera.limit_soon_s),
        SupplyWatch(card_minutes=camera.low_card_minutes,
                    battery_percent=camera.low_battery_percent),
        auto_restart=camera.auto_restart,
    )


def make_status_shape(config: Config) -> StatusShape:
    """The status answer's timings, with the configured recording/ready/error shapes."""
    from pitrigger.status_code import DEFAULT_SHAPE

    patterns = config.pattern_objects()
    try:
        return StatusShape(head_recording=patterns["recording"].steps_ms,
                           head_idle=patterns["ready"].steps_ms,
                           warning=patterns["error"].steps_ms)
    except ValueError as exc:
        # A re-tuned vocabulary that would make the answer ambiguous: keep the default one.
        log.warning("status answer uses the default shapes: %s", exc)
        return DEFAULT_SHAPE


def make_day_jobs(config: Config, camera: CameraBackend, report: Any) -> DayJobs:
    """Supply readings, live-view power and (if enabled) copies, for the camera worker."""
    from pitrigger.copier import ClipCopier

    settings = config.camera
    copier = None
    if config.backup.enabled and hasattr(camera, "read_file"):
        copier = ClipCopier(
            camera,  # type: ignore[arg-type]  # checked: it reads files
            config.backup.dir,
            chunk_bytes=config.backup.chunk_kib * 1024,
            reserve_bytes=config.backup.reserve_mib * 1024 * 1024,
            progress=lambda p: report(CopyReport(p)),
        )
    return DayJobs(camera, report, supply_interval_s=settings.supply_interval_s,
                   live_view=settings.live_view_between_clips,
                   live_view_off_after_s=settings.live_view_off_after_s, copier=copier)
