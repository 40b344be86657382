"""Card and battery: warn once at each of two thresholds. Pure, fed readings from the body.

The camera worker reads the battery level (the 5D Mark II reports it in steps: 100, 75, 50,
25 % and "Low") and the card's free space; :func:`card_minutes` turns the space into minutes
at the current bit rate. :class:`SupplyWatch` answers with the cues to play:

* ``low-card`` / ``low-battery`` **once per threshold** as the value falls past it (two
  thresholds each, e.g. 20 and 5 minutes of card, 50 and 25 % of battery). A value that
  jumps past both thresholds at once warns once, not twice.
* After a **connection** (start-up or reconnection) a value that is already low is said
  again, once, whatever was said before: the daemon plays it after ``ready``.
* A threshold is re-armed when the value rises clearly above it again (a fresh battery, a
  swapped card), so the next fall warns again.

>>> watch = SupplyWatch(card_minutes=(20, 5), battery_percent=(50, 25))
>>> watch.reading(Supply(battery_percent=100, card_minutes=60), connected=True)
[]
>>> watch.reading(Supply(battery_percent=50, card_minutes=19), connected=False)
['low-card', 'low-battery']
>>> watch.reading(Supply(battery_percent=50, card_minutes=18), connected=False)
[]
>>> watch.reading(Supply(battery_percent=25, card_minutes=4), connected=False)
['low-card', 'low-battery']
>>> watch.low
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BATTERY_LEVELS", "Supply", "SupplyWatch", "battery_percent", "card_minutes"]

#: What libgphoto2 shows for an EOS body's battery level, as a percentage (Low = 10 %).
BATTERY_LEVELS: dict[str, float] = {"100%": 100.0, "75%": 75.0, "50%": 50.0, "25%": 25.0,
                                    "Low": 10.0}


def battery_percent(level: str) -> float | None:
    """The percentage for a ``batterylevel`` text, ``None`` if it is not one we know.

    >>> [battery_percent(text) for text in ("75%", "Low", "62 %", "?")]
    [75.0, 10.0, 62.0, None]
    """
    level = level.strip()
    if level in BATTERY_LEVELS:
        return BATTERY_LEVELS[level]
    number = level.rstrip("%").strip()
    try:
        value = float(number)
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def card_minutes(free_bytes: int, bytes_per_s: float) -> float:
    """Minutes of movie that ``free_bytes`` hold at ``bytes_per_s``.

    >>> round(card_minutes(16_126_214_144, 0xFFFF0000 / 720), 1)
    45.1
    """
    if bytes_per_s <= 0 or not math.isfinite(bytes_per_s):
        raise ValueError(f"bytes_per_s must be a finite number > 0, got {bytes_per_s!r}")
    return max(0, free_bytes) / bytes_per_s / 60


@dataclass(frozen=True, slots=True)
class Supply:
    """One reading from the body (``None``: could not be read)."""

    battery_percent: float | None = None
    card_minutes: float | None = None


class _Ladder:
    """One quantity with falling thresholds; remembers the lowest one passed."""

    def __init__(self, cue: str, thresholds: Sequence[float], rearm_margin: float) -> None:
        values = tuple(float(t) for t in thresholds)
        if not values or any(not math.isfinite(t) or t < 0 for t in values):
            raise ValueError(f"{cue} thresholds must be finite numbers >= 0, got {thresholds!r}")
        if list(values) != sorted(set(values), reverse=True):
            raise ValueError(f"{cue} thresholds must be distinct and falling, got {thresholds!r}")
        self.cue = cue
        self.thresholds = values
        self.rearm_margin = rearm_margin
        self.passed = 0  # how many thresholds have been warned about
        self.value: float | None = None

    def below(self, value: float) -> int:
        """How many thresholds ``value`` is at or under."""
        return sum(value <= t for t in self.thresholds)

    def update(self, value: float | None, connected: bool) -> bool:
        """Take a reading; True if the cue should play."""
        if value is None:
            return False
        self.value = value
        below = self.below(value)
        # Re-arm thresholds the value has clearly risen above (a new battery, another card).
        while self.passed and value > self.thresholds[self.passed - 1] + self.rearm_margin:
            self.passed -= 1
        if connected:
            self.passed = max(self.passed, below)
            return below > 0
        if below > self.passed:
            self.passed = below
            return True
        return False

    @property
    def low(self) -> bool:
        return self.value is not None and self.below(self.value) > 0


class SupplyWatch:
    """Card and battery thresholds; :meth:`reading` returns the cues to play, in order."""

    def __init__(self, *, card_minutes: Sequence[float] = (20.0, 5.0),
                 battery_percent: Sequence[float] = (50.0, 25.0)) -> None:
        self.card = _Ladder("low-card", card_minutes, rearm_margin=2.0)
        self.battery = _Ladder("low-battery", battery_percent, rearm_margin=10.0)

    def reading(self, supply: Supply, *, connected: bool = False) -> list[str]:
        """Take a reading from the body; ``connected``: the first after a (re)connection."""
        cues = []
        for ladder, value in ((self.card, supply.card_minutes),
                              (self.battery, supply.battery_percent)):
            if ladder.update(value, connected):
                cues.append(ladder.cue)
        return cues

    @property
    def low(self) -> bool:
        """Card or battery below its first threshold: the status code adds its warning."""
        return self.card.low or self.battery.low
