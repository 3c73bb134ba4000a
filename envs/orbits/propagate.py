"""Vectorised SGP4 propagation, TEME → Earth-fixed conversion and sunlit flags.

Everything here works on arrays of satellites × times. Positions are in km, velocities in
km/s, times in seconds since an epoch (UTC). The Earth-fixed frame is ITRS without polar
motion (the pseudo-Earth-fixed frame of AIAA 2006-6753), which is what skyfield uses with
its built-in timescale, so results agree with skyfield to numerical precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sgp4.api import Satrec, SatrecArray
from skyfield.framelib import itrs
from skyfield.jpllib import SpiceKernel
from skyfield.sgp4lib import theta_GMST1982
from skyfield.timelib import Timescale

from envs.constants import DAY_S, WGS84_A_KM, WGS84_E2
from envs.errors import ConfigError
from envs.orbits.tle import TLE, tle_to_satrec
from envs.timeutil import builtin_timescale, require_utc, skyfield_times

__all__ = [
    "EARTH_RADIUS_SHADOW_KM",
    "Constellation",
    "EarthFixedStates",
    "TimeGrid",
    "ecef_to_lat_lon",
    "load_ephemeris",
    "propagate_ecef",
    "sun_ecef_km",
    "sunlit",
    "time_grid",
]

# Earth radius skyfield uses for its shadow test (``skyfield.constants.ERAD``).
EARTH_RADIUS_SHADOW_KM = 6378.1366

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Constellation:
    """A set of satellites defined by TLEs, ready for vectorised propagation.

    Attributes:
        tles: The element sets, in satellite-index order.
        satrecs: One sgp4 ``Satrec`` per satellite (same order).

    >>> from datetime import datetime, timezone
    >>> from envs.orbits.shells import Shell, shell_tles
    >>> epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)
    >>> sats = Constellation.from_tles(shell_tles(Shell(500.0, planes=3, sats_per_plane=4), epoch))
    >>> len(sats), sats.names[0]
    (12, 'SAT-01-01')
    """

    tles: tuple[TLE, ...]
    satrecs: tuple[Satrec, ...]

    @classmethod
    def from_tles(cls, tles: Sequence[TLE]) -> Constellation:
        """Build from TLEs; raises ``ConfigError`` for an empty list or a repeated name."""
        if len(tles) == 0:
            raise ConfigError("constellation: needs at least one satellite, got 0 TLEs")
        seen: dict[str, TLE] = {}
        for tle in tles:
            other = seen.setdefault(tle.name, tle)
            if other is not tle:
                raise ConfigError(
                    f"constellation: satellite name {tle.name!r} is used by catalogue numbers "
                    f"{other.catnr} and {tle.catnr}; names must be unique so that contact-plan "
                    "rows can be told apart"
                )
        return cls(tuple(tles), tuple(tle_to_satrec(t) for t in tles))

    def __reduce__(self):
        # sgp4's C++ Satrec does not pickle; rebuild it from the TLE lines (exact).
        return (Constellation.from_tles, (self.tles,))

    @property
    def names(self) -> tuple[str, ...]:
        """Satellite names (TLE name line, or catalogue number for 2-line sets)."""
        return tuple(t.name for t in self.tles)

    def __len__(self) -> int:
        return len(self.tles)

    def subset(self, start: int, stop: int) -> SatrecArray:
        """A ``SatrecArray`` of satellites ``start:stop`` for one vectorised sgp4 call."""
        return SatrecArray(list(self.satrecs[start:stop]))


class EarthFixedStates(NamedTuple):
    """Earth-fixed states of n satellites at T times.

    Attributes:
        r_km: Positions, shape (n, T, 3); NaN where SGP4 failed (e.g. decayed).
        v_km_s: Velocities in the rotating frame, shape (n, T, 3).
        error: SGP4 error codes, shape (n, T); 0 means success.
    """

    r_km: FloatArray
    v_km_s: FloatArray
    error: NDArray[np.uint8]


class TimeGrid(NamedTuple):
    """A time grid with everything SGP4 and the TEME → Earth-fixed rotation need.

    Attributes:
        epoch: Time origin, tz-aware UTC.
        t_s: Seconds since ``epoch``, shape (T,).
        jd_whole: Julian date (UTC) whole part for sgp4, shape (T,).
        jd_frac: Julian date (UTC) fraction for sgp4, shape (T,).
        theta_rad: GMST1982 angle (UT1) at each time, shape (T,).
        theta_dot_rad_s: Earth rotation rate, rad/s, shape (T,).
    """

    epoch: datetime
    t_s: FloatArray
    jd_whole: FloatArray
    jd_frac: FloatArray
    theta_rad: FloatArray
    theta_dot_rad_s: FloatArray


def time_grid(epoch: datetime, t_s: ArrayLike, *, ts: Timescale | None = None) -> TimeGrid:
    """Julian dates and sidereal angles for ``epoch + t_s``, computed exactly as skyfield does.

    Args:
        epoch: Time origin, tz-aware UTC.
        t_s: Seconds since ``epoch``.
        ts: Skyfield timescale (default: a fresh built-in one; nothing is downloaded).

    >>> from datetime import datetime, timezone
    >>> grid = time_grid(datetime(2025, 6, 1, tzinfo=timezone.utc), [0.0, 60.0])
    >>> grid.t_s.tolist(), grid.jd_whole.tolist()
    ([0.0, 60.0], [2460827.0, 2460827.0])
    """
    epoch = require_utc(epoch)
    times = np.atleast_1d(np.asarray(t_s, dtype=float))
    t = skyfield_times(ts if ts is not None else builtin_timescale(), epoch, times)
    jd_whole = np.asarray(t.whole, dtype=float) * np.ones_like(times)
    jd_frac = np.asarray(t.tai_fraction - t._leap_seconds() / DAY_S, dtype=float)
    theta, theta_dot = theta_GMST1982(t.whole, t.ut1_fraction)
    theta = np.asarray(theta, dtype=float) * np.ones_like(times)
    theta_dot = np.asarray(theta_dot, dtype=float) / DAY_S * np.ones_like(times)
    return TimeGrid(epoch, times, jd_whole, jd_frac, theta, theta_dot)


def propagate_ecef(
    constellation: Constellation, grid: TimeGrid, *, start: int = 0, stop: int | None = None
) -> EarthFixedStates:
    """Propagate satellites ``start:stop`` over ``grid`` and rotate into the Earth-fixed frame.

    One sgp4 ``SatrecArray`` call covers all satellites × times; the TEME → Earth-fixed
    rotation is the GMST1982 rotation (UT1 from skyfield's built-in tables).

    Args:
        constellation: The satellites.
        grid: Times (see ``time_grid``).
        start: First satellite index.
        stop: One past the last satellite index (default: all).

    Returns:
        Positions, velocities and SGP4 error codes, each indexed [satellite, time].

    >>> from datetime import datetime, timezone
    >>> from envs.orbits.shells import Shell, shell_tles
    >>> epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)
    >>> sats = Constellation.from_tles(shell_tles(Shell(500.0, planes=1, sats_per_plane=2), epoch))
    >>> states = propagate_ecef(sats, time_grid(epoch, [0.0, 60.0]))
    >>> states.r_km.shape, round(float(np.linalg.norm(states.r_km[0, 0])))
    ((2, 2, 3), 6881)
    """
    stop = len(constellation) if stop is None else stop
    err, r_teme, v_teme = constellation.subset(start, stop).sgp4(grid.jd_whole, grid.jd_frac)
    return teme_to_ecef(r_teme, v_teme, grid.theta_rad, grid.theta_dot_rad_s, err)


def teme_to_ecef(
    r_teme: FloatArray,
    v_teme: FloatArray,
    theta: FloatArray,
    theta_dot: FloatArray,
    error: NDArray[np.uint8],
) -> EarthFixedStates:
    """Rotate TEME states (n, T, 3) by the sidereal angle ``theta`` (T,) into the Earth-fixed frame.

    ``theta_dot`` is the Earth rotation rate in rad/s at each time; the returned velocity is
    relative to the rotating frame.
    """
    c = np.cos(theta)[None, :]
    s = np.sin(theta)[None, :]
    r = np.empty_like(r_teme)
    v = np.empty_like(v_teme)
    r[..., 0] = c * r_teme[..., 0] + s * r_teme[..., 1]
    r[..., 1] = -s * r_teme[..., 0] + c * r_teme[..., 1]
    r[..., 2] = r_teme[..., 2]
    w = theta_dot[None, :]
    v[..., 0] = c * v_teme[..., 0] + s * v_teme[..., 1] + w * r[..., 1]
    v[..., 1] = -s * v_teme[..., 0] + c * v_teme[..., 1] - w * r[..., 0]
    v[..., 2] = v_teme[..., 2]
    failed = error != 0
    if failed.any():
        r[failed] = np.nan
        v[failed] = np.nan
    return EarthFixedStates(r, v, error)


def load_ephemeris() -> SpiceKernel:
    """Open the JPL DE421 ephemeris that the ``skyfield-data`` package ships (no download)."""
    path = resources.files("skyfield_data") / "data" / "de421.bsp"
    if not path.is_file():
        raise ConfigError(f"ephemeris: de421.bsp not found in skyfield-data at {path}")
    return SpiceKernel(str(path))


def sun_ecef_km(
    epoch: datetime, t_s: ArrayLike, *, ephemeris: SpiceKernel, ts: Timescale | None = None
) -> FloatArray:
    """Geocentric Sun position in the Earth-fixed frame, shape (T, 3), km."""
    ts = ts if ts is not None else builtin_timescale()
    t = skyfield_times(ts, require_utc(epoch), np.atleast_1d(np.asarray(t_s, dtype=float)))
    sun = (ephemeris["sun"] - ephemeris["earth"]).at(t)
    return np.asarray(sun.frame_xyz(itrs).km, dtype=float).T.reshape(-1, 3)


def sunlit(r_km: ArrayLike, sun_km: ArrayLike) -> NDArray[np.bool_]:
    """Whether each satellite position is in sunlight (not in the Earth's shadow).

    Same geometry as skyfield's ``is_sunlit``: the satellite is in shadow when the ray from
    it towards the Sun meets a sphere of radius ``EARTH_RADIUS_SHADOW_KM``.

    Args:
        r_km: Satellite positions (..., T, 3), Earth-fixed.
        sun_km: Sun positions (T, 3) in the same frame.

    >>> sunlit([[[7000.0, 0.0, 0.0]]], [[1.5e8, 0.0, 0.0]]).tolist()
    [[True]]
    >>> sunlit([[[-7000.0, 0.0, 0.0]]], [[1.5e8, 0.0, 0.0]]).tolist()
    [[False]]
    """
    r = np.asarray(r_km, dtype=float)
    to_sun = np.asarray(sun_km, dtype=float) - r
    d = to_sun / np.linalg.norm(to_sun, axis=-1, keepdims=True)
    b = np.einsum("...i,...i->...", r, d)
    c = np.einsum("...i,...i->...", r, r) - EARTH_RADIUS_SHADOW_KM**2
    shadow = (b < 0.0) & (b * b >= c)
    return ~shadow


def ecef_to_lat_lon(r_km: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic (WGS84) latitude and longitude in degrees of Earth-fixed positions ``(..., 3)``.

    >>> lat, lon = ecef_to_lat_lon(np.array([[0.0, 7000.0, 0.0], [0.0, 0.0, 7000.0]]))
    >>> np.round(lat, 6).tolist(), np.round(lon, 6).tolist()
    ([0.0, 90.0], [90.0, 0.0])
    """
    x, y, z = np.moveaxis(np.asarray(r_km, dtype=float), -1, 0)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(4):  # fixed-point iteration; converges to < 1e-9 rad for LEO altitudes
        n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)
        lat = np.arctan2(z + WGS84_E2 * n * np.sin(lat), p)
    return np.degrees(lat), np.degrees(np.arctan2(y, x))
