"""A ground station: the validated record every station file turns into.

:class:`Station` checks its fields on construction; ``envs.ground`` (YAML network files) and
``envs.ground_formats`` (GeoJSON and CSV) both build stations through it, so neither
depends on the other for the record.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

from envs.errors import ConfigError, show_value

__all__ = [
    "DEFAULT_DOWNLINK_BPS",
    "DEFAULT_MIN_ELEVATION_DEG",
    "DEFAULT_UPLINK_BPS",
    "REQUIRED_STATION_KEYS",
    "STATION_KEYS",
    "Station",
]

DEFAULT_MIN_ELEVATION_DEG = 10.0
DEFAULT_UPLINK_BPS = 2e6
DEFAULT_DOWNLINK_BPS = 1e8

# Keys of a station entry.
REQUIRED_STATION_KEYS: tuple[str, ...] = ("name", "lat_deg", "lon_deg", "alt_m")
_OPTIONAL_STATION_KEYS = ("min_elevation_deg", "network", "uplink_bps", "downlink_bps")
STATION_KEYS: tuple[str, ...] = REQUIRED_STATION_KEYS + _OPTIONAL_STATION_KEYS

_BOUNDS: tuple[tuple[str, float, float, bool], ...] = (  # field, low, high, high included
    ("lat_deg", -90.0, 90.0, True),
    ("lon_deg", -180.0, 360.0, False),
    ("alt_m", -500.0, 9000.0, True),
    ("min_elevation_deg", 0.0, 90.0, False),
)
_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _number(field: str, value: object) -> float:
    """``value`` as a float; bools, strings and other non-reals raise :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = ""
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            hint = " (YAML 1.1 reads 1e8 as text: write 1.0e+8)"
        raise ConfigError(f"{field}: must be a number, got {show_value(value)}{hint}")
    return float(value)


def _text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{field}: must be a non-empty string, got {show_value(value)}")
    return value


@dataclass(frozen=True, slots=True)
class Station:
    """One ground station: where it is, what it can see, and how fast its links are.

    Every field is checked on construction; a bad value raises :class:`ConfigError` naming
    the field and the value. Integers are stored as floats, and a longitude in [180, 360) is
    normalised to (-180, 180].

    The defaults are typical, not vendor figures: a 10 deg elevation mask is the usual
    operational compromise between pass length and terrain/atmospheric losses; 2 Mbit/s is a
    typical S-band command/data uplink; 100 Mbit/s is a typical X-band payload downlink of a
    small Earth-observation satellite (X-band links span roughly 50-800 Mbit/s). Override
    them per station or per scenario when better numbers are known.

    Attributes:
        name: Unique station name (network files prefix it with the operator).
        lat_deg: Geodetic (WGS84) latitude, degrees north, in [-90, 90].
        lon_deg: Longitude, degrees east, normalised to (-180, 180].
        alt_m: Height above the WGS84 ellipsoid, metres, in [-500, 9000].
        min_elevation_deg: Elevation mask, degrees, in [0, 90).
        network: Network or vendor the station belongs to, e.g. ``"ksat"``, ``"aws"``.
        uplink_bps: Ground-to-satellite data rate, bit/s, finite and > 0.
        downlink_bps: Satellite-to-ground data rate, bit/s, finite and > 0.

    Example:
        >>> Station("KSAT Svalbard", 78.23, 15.41, 500).lon_deg
        15.41
        >>> Station("Dateline", 0, 270, 0).lon_deg
        -90.0
        >>> Station("Nowhere", 95, 0, 0)
        Traceback (most recent call last):
        ...
        envs.errors.ConfigError: lat_deg: must be in [-90, 90], got 95
    """

    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG
    network: str = "own"
    uplink_bps: float = DEFAULT_UPLINK_BPS
    downlink_bps: float = DEFAULT_DOWNLINK_BPS

    def __post_init__(self) -> None:
        _text("name", self.name)
        _text("network", self.network)
        for field, low, high, closed in _BOUNDS:
            raw = getattr(self, field)
            value = _number(field, raw)
            if not (low <= value <= high if closed else low <= value < high):
                interval = f"[{low:g}, {high:g}{']' if closed else ')'}"
                raise ConfigError(f"{field}: must be in {interval}, got {show_value(raw)}")
            object.__setattr__(self, field, value)
        lon = self.lon_deg
        if lon > 180.0 or lon == -180.0:  # normalise to (-180, 180]
            object.__setattr__(self, "lon_deg", lon - 360.0 if lon > 180.0 else 180.0)
        for field in ("uplink_bps", "downlink_bps"):
            rate = _number(field, getattr(self, field))
            if not (rate > 0.0 and math.isfinite(rate)):
                raise ConfigError(f"{field}: must be finite and > 0, got {show_value(rate)}")
            object.__setattr__(self, field, rate)
