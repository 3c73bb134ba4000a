"""Display units for durations: one unit per table, chosen by the size of its values.

Turnarounds range from seconds (a station always in view) to days (a sparse network), so a
table printed in a fixed unit shows ``0.00`` for one scenario and ``4800.0`` for another.
:func:`time_unit` picks seconds, minutes or hours from the typical (median) value of a table,
so its numbers have a few significant digits; every cell of the table then uses that unit.

>>> time_unit([30.0, 95.0]).name, time_unit([600.0, 1800.0]).name, time_unit([3e4]).name
('s', 'min', 'h')
>>> time_unit([90.0, 150.0]).format(150.0)
'2.50'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["HOURS", "MINUTES", "SECONDS", "TimeUnit", "time_unit"]


@dataclass(frozen=True, slots=True)
class TimeUnit:
    """A unit for durations given in seconds: its short name, its length and its decimals."""

    name: str
    seconds: float
    long_name: str
    decimals: int

    def value(self, seconds: float) -> float:
        """``seconds`` in this unit."""
        return seconds / self.seconds

    def format(self, seconds: float, missing: str = "-") -> str:
        """``seconds`` in this unit as text (``missing`` for NaN or infinity).

        >>> MINUTES.format(90.0), HOURS.format(float("nan"))
        ('1.50', '-')
        """
        if not math.isfinite(seconds):
            return missing
        return f"{seconds / self.seconds:.{self.decimals}f}"


SECONDS = TimeUnit("s", 1.0, "seconds", 1)
MINUTES = TimeUnit("min", 60.0, "minutes", 2)
HOURS = TimeUnit("h", 3600.0, "hours", 2)


def time_unit(values_s: Iterable[float]) -> TimeUnit:
    """The unit for a table of durations (seconds): by the median of its positive values.

    Below 2 minutes: seconds; below 2 hours: minutes; else hours. NaN, infinite and zero
    values are ignored; a table without any value is given in hours.

    >>> time_unit([float("nan"), 0.0]).name
    'h'
    """
    finite = sorted(v for v in values_s if math.isfinite(v) and v > 0)
    if not finite:
        return HOURS
    median = finite[len(finite) // 2]
    if median < 120.0:
        return SECONDS
    return MINUTES if median < 7200.0 else HOURS
