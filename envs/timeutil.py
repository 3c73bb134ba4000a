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

__all__ = ["builtin_timescale", "format_utc", "parse_utc", "require_utc", "skyfield_times"]


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
    return value.astimezone(timezone.utc)


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
    """
    moment = epoch + timedelta(seconds=float(seconds))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
