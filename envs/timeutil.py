"""UTC time handling: parsing, formatting and skyfield time grids.

Inside the project, time is float seconds since a scenario epoch (a tz-aware UTC
``datetime``). Conversions to Julian dates and skyfield ``Time`` objects happen here, at the
edge. Leap seconds inside a horizon are ignored (none are scheduled; IERS has announced none).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from numpy.typing import ArrayLike
from skyfield.api import load
from skyfield.timelib import Time, Timescale

from envs.errors import ConfigError

__all__ = [
    "SGP4_FIRST",
    "SGP4_LAST",
    "builtin_timescale",
    "check_sgp4_range",
    "format_utc",
    "parse_utc",
    "require_utc",
    "skyfield_times",
]

#: First and last instants SGP4 is used for: the years a TLE's two-digit epoch year can name
#: (57-99 are 1957-1999, 00-56 are 2000-2056). Times outside cannot be near any TLE epoch.
SGP4_FIRST = datetime(1957, 1, 1, tzinfo=timezone.utc)
SGP4_LAST = datetime(2056, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)


def builtin_timescale() -> Timescale:
    """Return a skyfield timescale built from the files skyfield ships (never downloads).

    >>> builtin_timescale().utc(2025, 6, 1).utc_iso()
    '2025-06-01T00:00:00Z'
    """
    return load.timescale(builtin=True)


def parse_utc(text: str, field: str = "time") -> datetime:
    """Parse an ISO 8601 UTC timestamp such as ``2025-06-01T00:00:00Z``.

    A timestamp without an offset is taken as UTC; other offsets are converted to UTC.

    >>> parse_utc("2025-06-01T12:30:00Z")
    datetime.datetime(2025, 6, 1, 12, 30, tzinfo=datetime.timezone.utc)
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise ConfigError(
            f"{field}: expected an ISO 8601 UTC time like 2025-06-01T00:00:00Z, got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ConfigError(f"{field}: {text!r} is outside the years 1-9999 in UTC") from None


def check_sgp4_range(start: datetime, horizon_s: float = 0.0, field: str = "start") -> datetime:
    """Check that ``start`` and ``start + horizon_s`` lie in the SGP4 years 1957-2056.

    TLE epochs carry a two-digit year (57-99 → 19xx, 00-56 → 20xx), so no element set is
    near a time outside ``SGP4_FIRST``..``SGP4_LAST``; such a time is a one-line error.

    Returns:
        ``start`` (tz-aware UTC).

    >>> check_sgp4_range(datetime(2025, 6, 1, tzinfo=timezone.utc), 86400.0).year
    2025
    >>> check_sgp4_range(datetime(1, 1, 1, tzinfo=timezone.utc), field="--start")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envs.errors.ConfigError: --start: 0001-01-01T00:00:00.000Z is outside 1957-01-01..2056-12-31...
    """
    start = require_utc(start, field)
    why = "the years a TLE epoch can name (two-digit years 57-99 are 19xx, 00-56 are 20xx)"
    if not SGP4_FIRST <= start <= SGP4_LAST:
        raise ConfigError(
            f"{field}: {format_utc(start, 0.0)} is outside 1957-01-01..2056-12-31, {why}"
        )
    if not np.isfinite(horizon_s) or (SGP4_LAST - start).total_seconds() < horizon_s:
        raise ConfigError(
            f"{field}: the horizon from {format_utc(start, 0.0)} for {horizon_s:g} s ends after "
            f"2056-12-31, {why}"
        )
    return start


def require_utc(value: datetime, field: str = "epoch") -> datetime:
    """Check that ``value`` is a tz-aware datetime and return it converted to UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ConfigError(f"{field}: expected a timezone-aware UTC datetime, got {value!r}")
    return value.astimezone(timezone.utc)


def format_utc(epoch: datetime, seconds: float) -> str:
    """Format ``epoch + seconds`` as ISO 8601 UTC with a ``Z`` suffix, to the millisecond.

    >>> from datetime import datetime, timezone
    >>> format_utc(datetime(2025, 6, 1, tzinfo=timezone.utc), 90.25)
    '2025-06-01T00:01:30.250Z'
    >>> format_utc(datetime(1, 1, 1, tzinfo=timezone.utc), 0.0)
    '0001-01-01T00:00:00.000Z'
    """
    try:
        moment = require_utc(epoch) + timedelta(seconds=float(seconds))
    except OverflowError:
        raise ConfigError(f"time: {epoch} + {seconds} s is outside the years 1-9999") from None
    # isoformat always writes four-digit years (strftime("%Y") writes year 1 as "1").
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def skyfield_times(ts: Timescale, epoch: datetime, seconds: ArrayLike) -> Time:
    """Skyfield ``Time`` array for ``epoch + seconds`` (UTC), built in one vectorised call."""
    epoch = require_utc(epoch)
    offset = np.asarray(seconds, dtype=float)
    return ts.utc(
        epoch.year,
        epoch.month,
        epoch.day,
        epoch.hour,
        epoch.minute,
        epoch.second + epoch.microsecond * 1e-6 + offset,
    )
