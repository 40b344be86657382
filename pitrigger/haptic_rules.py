"""Pattern safety: the rules every vibration pattern must keep, as one pure function.

A pattern is a list of on/off steps in ms (on, off, …, on). The rules keep a cue short,
feelable and kind to the motor and the battery; their reasons are in docs/haptics.md
("Pattern safety"). The config (``[patterns]``) and ``pitrigger haptics`` both call
:func:`pattern_violations`, so a pattern the daemon would refuse is never played.

>>> pattern_violations((80, 100, 80, 100, 80))
[]
>>> for problem in pattern_violations((5000,)):
...     print(problem)
pulse 1 is on for 5000 ms; at most 1500 ms (longest continuous on-time)
lasts 5000 ms; at most 2500 ms (longest pattern)
is on for 2000 ms of any 2000 ms; at most 80 % (duty)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["RULES", "PatternRules", "pattern_violations"]


@dataclass(frozen=True)
class PatternRules:
    """The limits, in ms (and a fraction for the duty)."""

    #: ERM spin-up is ~50–180 ms: a shorter pulse may not be felt at all.
    shortest_pulse_ms: int = 50
    #: With one transistor the motor coasts to a stop: a shorter gap smears two pulses into one.
    shortest_gap_ms: int = 100
    #: One long buzz is `recording` (700 ms by default); minutes of buzzing is a fault.
    longest_pulse_ms: int = 1500
    #: Patterns queue and never overlap: a long one delays the next cue by its whole length.
    longest_pattern_ms: int = 2500
    #: The share of any window of ``duty_window_ms`` that the motor may be on.
    max_duty: float = 0.8
    duty_window_ms: int = 2000


#: The rules in force (docs/haptics.md lists them; a test keeps the two equal).
RULES = PatternRules()


def pattern_violations(steps_ms: Sequence[int], rules: PatternRules = RULES) -> list[str]:
    """Every rule that ``steps_ms`` breaks, worded for the config's error report; ``[]`` if
    none. Pulses and gaps are counted from 1. Outside the pattern the motor is off.

    >>> pattern_violations((700, 40, 700))
    ['gap 1 is 40 ms; at least 100 ms (shortest gap)']
    >>> pattern_violations((20,))
    ['pulse 1 is on for 20 ms; at least 50 ms (shortest pulse)']
    """
    problems: list[str] = []
    pulses = steps_ms[0::2]
    gaps = steps_ms[1::2]
    too_short = [(n, on) for n, on in enumerate(pulses, 1) if on < rules.shortest_pulse_ms]
    too_long = [(n, on) for n, on in enumerate(pulses, 1) if on > rules.longest_pulse_ms]
    short_gaps = [(n, off) for n, off in enumerate(gaps, 1) if off < rules.shortest_gap_ms]
    if too_short:
        problems.append(f"{_which('pulse', too_short)} on for {_ms(too_short, min)}; at least "
                        f"{rules.shortest_pulse_ms} ms (shortest pulse)")
    if too_long:
        problems.append(f"{_which('pulse', too_long)} on for {_ms(too_long, max)}; at most "
                        f"{rules.longest_pulse_ms} ms (longest continuous on-time)")
    if short_gaps:
        problems.append(f"{_which('gap', short_gaps)} {_ms(short_gaps, min)}; at least "
                        f"{rules.shortest_gap_ms} ms (shortest gap)")
    total = sum(steps_ms)
    if total > rules.longest_pattern_ms:
        problems.append(f"lasts {total} ms; at most {rules.longest_pattern_ms} ms "
                        "(longest pattern)")
    busiest = _busiest_window_ms(steps_ms, rules.duty_window_ms)
    limit = rules.max_duty * rules.duty_window_ms
    if busiest > limit:
        problems.append(f"is on for {busiest} ms of any {rules.duty_window_ms} ms; at most "
                        f"{rules.max_duty * 100:.0f} % (duty)")
    return problems


def _which(what: str, found: list[tuple[int, int]]) -> str:
    if len(found) == 1:
        return f"{what} {found[0][0]} is"
    return f"{what}s {', '.join(str(n) for n, _ in found)} are"


def _ms(found: list[tuple[int, int]], pick: Callable[[list[int]], int]) -> str:
    values = [ms for _, ms in found]
    if len(set(values)) == 1:
        return f"{values[0]} ms"
    return f"as {'little' if pick is min else 'much'} as {pick(values)} ms"


def _busiest_window_ms(steps_ms: Sequence[int], window_ms: int) -> int:
    """The most on-time inside any window of ``window_ms``; the busiest window starts where
    a pulse starts, so only those starts are tried."""
    pulses: list[tuple[int, int]] = []  # (start, end) of each on-step
    t = 0
    for index, step in enumerate(steps_ms):
        if index % 2 == 0:
            pulses.append((t, t + step))
        t += step
    busiest = 0
    for start, _ in pulses:
        end = start + window_ms
        on = sum(max(0, min(b, end) - max(a, start)) for a, b in pulses)
        busiest = max(busiest, on)
    return busiest
