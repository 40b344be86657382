"""What the camera worker's background jobs report (beside the controller's camera reports).

A leaf module: the controller, the worker and the jobs all import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pitrigger.copier import CopyProgress

__all__ = ["CopyReport", "StillResult", "SupplyReport"]


@dataclass(frozen=True, slots=True)
class SupplyReport:
    """Battery (%) and free card space (bytes) as read from the body; ``None``: unknown."""

    battery_percent: float | None
    card_free_bytes: int | None
    connected: bool = False  # the first reading after a (re)connection
    temperature_warning: bool = False


@dataclass(frozen=True, slots=True)
class StillResult:
    """A still was released (``ok``), or refused/failed with ``detail``."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CopyReport:
    progress: CopyProgress
