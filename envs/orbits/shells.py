"""Generated constellations: Walker-delta / Walker-star and sun-synchronous shells as TLEs.

A `Shell` is the usual Walker description i:T/P/F of circular orbits (T = planes × sats per
plane, F = phasing) plus the knobs operators use: a RAAN spread (360 deg for Walker delta,
180 deg for Walker star, less for planes bunched around ``raan0_deg``), an inclination that
defaults to the sun-synchronous one for the altitude, and a local time of the ascending node
for sun-synchronous shells. `shell_tles` turns a shell into TLEs via ``Satrec.sgp4init`` and
``sgp4.exporter.export_tle``, so generated and catalogue satellites follow one code path.

Constants are WGS72 (the SGP4 standard): R = 6378.135 km, mu = 398600.8 km^3/s^2,
J2 = 0.001082616.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from sgp4.api import SGP4_ERRORS, WGS72, Satrec
from sgp4.earth_gravity import wgs72
from sgp4.exporter import export_tle

from envs.constants import DAY_S
from envs.errors import ConfigError
from envs.orbits.tle import MAX_CATNR, TLE, format_catnr, tle_checksum
from envs.timeutil import require_utc

__all__ = [
    "ElementSet",
    "Shell",
    "shell_elements",
    "shell_tles",
    "shells_tles",
    "sso_inclination_deg",
]

EARTH_RADIUS_KM = wgs72.radiusearthkm  # 6378.135
MU_KM3_PER_S2 = wgs72.mu  # 398600.8
J2 = wgs72.j2  # 0.001082616
TROPICAL_YEAR_DAYS = 365.2421897
SUN_RATE_RAD_PER_S = 2.0 * math.pi / (TROPICAL_YEAR_DAYS * DAY_S)
_SGP4_EPOCH0 = datetime(1949, 12, 31, tzinfo=timezone.utc)
_J2000 = datetime(2000, 1, 1, 12, tzinfo=timezone.utc)  # JD 2451545.0 (UTC; UT1 and TT ignored)


@dataclass(frozen=True, slots=True)
class Shell:
    """One shell of circular orbits: Walker i:T/P/F with optional sun-synchronous defaults.

    Attributes:
        altitude_km: Circular altitude above the WGS72 equatorial radius (6378.135 km).
        planes: Number of orbital planes P.
        sats_per_plane: Satellites per plane S (T = P × S).
        inclination_deg: Inclination; ``None`` means the sun-synchronous inclination for the
            altitude (`sso_inclination_deg`).
        phasing: Walker F, ``0 <= F < P``: plane p is shifted by ``p * F * 360 / T`` deg in
            argument of latitude.
        raan_spread_deg: Plane p has RAAN ``raan0 + p * spread / P``: 360 is Walker delta,
            180 Walker star; smaller spreads bunch the planes after ``raan0_deg`` (for any
            spread the spacing is ``spread / P``, so the last plane sits one step short of
            ``raan0 + spread``).
        raan0_deg: RAAN of the first plane.
        ltan_hours: Local time of the ascending node; if set, ``raan0_deg`` is derived from it
            at the epoch (mean sun RA + (LTAN - 12 h) × 15 deg/h) and must be left at 0.
        name_prefix: Satellites are named ``{prefix}-{plane:02d}-{slot:02d}`` (1-based).
        first_catnr: Catalogue number of the first satellite; the others follow
            consecutively and must stay <= 339999 (Alpha-5 ``Z9999``).

    >>> shell = Shell(550.0, planes=72, sats_per_plane=22, inclination_deg=53.0, phasing=17)
    >>> shell.size
    1584
    >>> round(Shell(500.0, planes=1, sats_per_plane=1).effective_inclination_deg, 2)
    97.4
    >>> Shell(-5.0, planes=1, sats_per_plane=1)
    Traceback (most recent call last):
    ...
    envs.errors.ConfigError: Shell.altitude_km: must be in [150, 40000] km, got -5.0
    """

    altitude_km: float
    planes: int
    sats_per_plane: int
    inclination_deg: float | None = None
    phasing: int = 0
    raan_spread_deg: float = 360.0
    raan0_deg: float = 0.0
    ltan_hours: float | None = None
    name_prefix: str = "SAT"
    first_catnr: int = 90001

    def __post_init__(self) -> None:
        _check_real("altitude_km", self.altitude_km, 150.0, 40000.0, "km")
        _check_int("planes", self.planes, 1)
        _check_int("sats_per_plane", self.sats_per_plane, 1)
        _check_int("phasing", self.phasing, 0, self.planes - 1)
        if self.inclination_deg is None:
            sso_inclination_deg(self.altitude_km, field="Shell.inclination_deg")
        else:
            _check_real("inclination_deg", self.inclination_deg, 0.0, 180.0, "deg")
        _check_real("raan_spread_deg", self.raan_spread_deg, 0.0, 360.0, "deg", low_open=True)
        _check_real("raan0_deg", self.raan0_deg, -math.inf, math.inf, "deg")
        if self.ltan_hours is not None:
            _check_real("ltan_hours", self.ltan_hours, 0.0, 24.0, "h", high_open=True)
            if self.raan0_deg != 0.0:
                raise ConfigError(
                    f"Shell.raan0_deg: must be 0 when ltan_hours is set (RAAN comes from the "
                    f"LTAN), got {self.raan0_deg!r}"
                )
        if not isinstance(self.name_prefix, str) or self.name_prefix.strip() != self.name_prefix:
            raise ConfigError(
                f"Shell.name_prefix: must be a str without surrounding blanks, "
                f"got {self.name_prefix!r}"
            )
        if not self.name_prefix or self.name_prefix[:2] in ("0 ", "1 ", "2 "):
            raise ConfigError(
                f"Shell.name_prefix: not usable as a TLE name, got {self.name_prefix!r}"
            )
        _check_int("first_catnr", self.first_catnr, 1)
        if self.first_catnr + self.size - 1 > MAX_CATNR:
            raise ConfigError(
                f"Shell.first_catnr: {self.size} satellites from {self.first_catnr} would pass "
                f"catalogue number {MAX_CATNR} (Alpha-5 'Z9999'), got {self.first_catnr!r}"
            )

    @property
    def size(self) -> int:
        """Number of satellites T = planes × sats_per_plane."""
        return self.planes * self.sats_per_plane

    @property
    def effective_inclination_deg(self) -> float:
        """The inclination used: ``inclination_deg``, or the sun-synchronous one if ``None``."""
        if self.inclination_deg is None:
            return sso_inclination_deg(self.altitude_km)
        return float(self.inclination_deg)


class ElementSet(NamedTuple):
    """Mean elements of a shell's satellites, one entry per satellite, plane-major order.

    Attributes:
        plane: 0-based plane index.
        slot: 0-based position in the plane.
        raan_deg: Right ascension of the ascending node in [0, 360).
        mean_anomaly_deg: Mean anomaly = argument of latitude (circular, perigee 0), [0, 360).
        inclination_deg: Inclination.
        mean_motion_rad_per_min: Kozai mean motion (SGP4's ``no_kozai`` units).
    """

    plane: NDArray[np.int64]
    slot: NDArray[np.int64]
    raan_deg: NDArray[np.float64]
    mean_anomaly_deg: NDArray[np.float64]
    inclination_deg: NDArray[np.float64]
    mean_motion_rad_per_min: NDArray[np.float64]


def sso_inclination_deg(altitude_km: float, *, field: str = "altitude_km") -> float:
    """Inclination of a circular sun-synchronous orbit at ``altitude_km`` (J2 only).

    Solves ``cos i = -(2 rho a^(7/2)) / (3 J2 R^2 sqrt(mu))`` with ``a = R + altitude`` and
    ``rho = 2 pi / 365.2421897 d`` (the mean sun's rate), WGS72 constants.

    Args:
        altitude_km: Altitude above the WGS72 equatorial radius.
        field: Field name used in error messages.

    Raises:
        ConfigError: If the altitude is not positive, or too high for any sun-synchronous
            orbit (about 5970 km and up).

    >>> round(sso_inclination_deg(500.0), 2), round(sso_inclination_deg(800.0), 2)
    (97.4, 98.6)
    """
    if not (isinstance(altitude_km, Real) and 0.0 < altitude_km < math.inf):
        raise ConfigError(f"{field}: altitude must be a positive number of km, got {altitude_km!r}")
    a_km = EARTH_RADIUS_KM + float(altitude_km)
    cos_i = -(2.0 * SUN_RATE_RAD_PER_S * a_km**3.5) / (
        3.0 * J2 * EARTH_RADIUS_KM**2 * math.sqrt(MU_KM3_PER_S2)
    )
    if cos_i < -1.0:
        limit_km = (
            3.0 * J2 * EARTH_RADIUS_KM**2 * math.sqrt(MU_KM3_PER_S2) / (2 * SUN_RATE_RAD_PER_S)
        ) ** (1 / 3.5) - EARTH_RADIUS_KM
        raise ConfigError(
            f"{field}: no sun-synchronous orbit exists at altitude {altitude_km} km "
            f"(J2 precession too slow above {limit_km:.0f} km)"
        )
    return math.degrees(math.acos(cos_i))


def shell_elements(shell: Shell, epoch: datetime) -> ElementSet:
    """Mean elements of every satellite of ``shell`` at ``epoch`` (vectorised).

    The mean motion is the Keplerian ``n = sqrt(mu / a^3)`` for ``a = R + altitude``, used
    as SGP4's Kozai mean motion; SGP4 adds the J2 secular and periodic terms, so the
    propagated (osculating) period differs slightly from ``2 pi / n``.

    Args:
        shell: The shell.
        epoch: Tz-aware UTC epoch; only matters when ``shell.ltan_hours`` is set.

    Raises:
        ConfigError: If ``epoch`` is naive.

    >>> from datetime import datetime, timezone
    >>> shell = Shell(550.0, planes=2, sats_per_plane=3, inclination_deg=53.0, phasing=1)
    >>> els = shell_elements(shell, datetime(2025, 6, 1, tzinfo=timezone.utc))
    >>> els.raan_deg.tolist(), els.mean_anomaly_deg.tolist()
    ([0.0, 0.0, 0.0, 180.0, 180.0, 180.0], [0.0, 120.0, 240.0, 60.0, 180.0, 300.0])
    """
    epoch = require_utc(epoch, "epoch")
    n_planes, per_plane = shell.planes, shell.sats_per_plane
    plane = np.repeat(np.arange(n_planes, dtype=np.int64), per_plane)
    slot = np.tile(np.arange(per_plane, dtype=np.int64), n_planes)
    raan0_deg = shell.raan0_deg
    if shell.ltan_hours is not None:
        raan0_deg = _mean_sun_ra_deg(epoch) + (shell.ltan_hours - 12.0) * 15.0
    raan_deg = np.mod(raan0_deg + plane * (shell.raan_spread_deg / n_planes), 360.0)
    turns = slot / per_plane + plane * shell.phasing / shell.size
    a_km = EARTH_RADIUS_KM + shell.altitude_km
    n_rad_per_min = math.sqrt(MU_KM3_PER_S2 / a_km**3) * 60.0
    return ElementSet(
        plane=plane,
        slot=slot,
        raan_deg=raan_deg,
        mean_anomaly_deg=np.mod(turns * 360.0, 360.0),
        inclination_deg=np.full(shell.size, shell.effective_inclination_deg),
        mean_motion_rad_per_min=np.full(shell.size, n_rad_per_min),
    )


def shell_tles(shell: Shell, epoch: datetime) -> list[TLE]:
    """Generate the shell's TLEs (sgp4 ``sgp4init``: WGS72, ``'i'`` mode, e = 0, B* = 0).

    The epoch is rounded to the millisecond (TLE epochs carry 1e-8 day). Names are
    ``{name_prefix}-{plane:02d}-{slot:02d}`` (1-based, wider when P or S needs more digits);
    catalogue numbers are ``first_catnr + index`` (Alpha-5 above 99999).

    Args:
        shell: The shell.
        epoch: Tz-aware UTC epoch of the element sets.

    Raises:
        ConfigError: If ``epoch`` is naive or sgp4 rejects the elements.

    >>> from datetime import datetime, timezone
    >>> tles = shell_tles(Shell(550.0, 2, 2, 53.0), datetime(2025, 6, 1, tzinfo=timezone.utc))
    >>> [t.name for t in tles], tles[-1].catnr
    (['SAT-01-01', 'SAT-01-02', 'SAT-02-01', 'SAT-02-02'], 90004)
    >>> print(tles[0].line2)
    2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05
    """
    epoch = _round_to_ms(require_utc(epoch, "epoch"))
    els = shell_elements(shell, epoch)
    sgp4_epoch_days = (epoch - _SGP4_EPOCH0) / timedelta(days=1)
    width = max(2, len(str(shell.planes)), len(str(shell.sats_per_plane)))
    raan_rad = np.radians(_wrap_for_tle(els.raan_deg))
    mo_rad = np.radians(_wrap_for_tle(els.mean_anomaly_deg))
    inclination_rad = np.radians(els.inclination_deg)
    tles: list[TLE] = []
    for k in range(shell.size):
        satrec = Satrec()
        satrec.sgp4init(
            WGS72, "i", shell.first_catnr + k, sgp4_epoch_days,
            0.0, 0.0, 0.0, 0.0, 0.0,  # bstar, ndot, nddot, eccentricity, argument of perigee
            float(inclination_rad[k]), float(mo_rad[k]),
            float(els.mean_motion_rad_per_min[k]), float(raan_rad[k]),
        )  # fmt: skip
        if satrec.error:
            reason = SGP4_ERRORS.get(satrec.error, "unknown error")
            raise ConfigError(f"shell {shell.name_prefix!r} satellite {k}: sgp4 error {reason}")
        name = f"{shell.name_prefix}-{els.plane[k] + 1:0{width}d}-{els.slot[k] + 1:0{width}d}"
        # sgp4's own Alpha-5 field is wrong for 180000-189999 and 230000-239999 (it writes
        # the skipped letters I and O), so the catalogue number is written here.
        field = format_catnr(shell.first_catnr + k)
        line1, line2 = (_with_catnr(line, field) for line in export_tle(satrec))
        tles.append(TLE(name, line1, line2))
    return tles


def shells_tles(shells: Sequence[Shell], epoch: datetime) -> list[TLE]:
    """Concatenate `shell_tles` of several shells, in order.

    Raises:
        ConfigError: If two shells' catalogue-number ranges overlap (naming both shells).

    >>> from datetime import datetime, timezone
    >>> epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)
    >>> low = Shell(550.0, planes=2, sats_per_plane=2, inclination_deg=53.0)
    >>> high = Shell(800.0, planes=1, sats_per_plane=3, name_prefix="SSO", first_catnr=91001)
    >>> [t.catnr for t in shells_tles([low, high], epoch)]
    [90001, 90002, 90003, 90004, 91001, 91002, 91003]
    >>> shells_tles([low, low], epoch)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envs.errors.ConfigError: shells[0] ('SAT', catalogue numbers 90001-90004) and shells[1] ...
    """
    for i, first in enumerate(shells):
        for j in range(i + 1, len(shells)):
            second = shells[j]
            if max(first.first_catnr, second.first_catnr) < min(
                first.first_catnr + first.size, second.first_catnr + second.size
            ):
                raise ConfigError(
                    f"shells[{i}] ({_describe(first)}) and shells[{j}] ({_describe(second)}) "
                    "overlap: set first_catnr apart"
                )
    return [tle for shell in shells for tle in shell_tles(shell, epoch)]


# --- helpers -----------------------------------------------------------------------------


def _with_catnr(line: str, field: str) -> str:
    """``line`` with columns 3-7 replaced by ``field`` and its checksum recomputed."""
    body = line[:2] + field + line[7:68]
    return body + str(tle_checksum(body))


def _describe(shell: Shell) -> str:
    last = shell.first_catnr + shell.size - 1
    return f"{shell.name_prefix!r}, catalogue numbers {shell.first_catnr}-{last}"


def _mean_sun_ra_deg(epoch: datetime) -> float:
    """Right ascension of the mean sun, deg: its mean longitude ``L = 280.460 + 0.9856474 d``.

    ``d`` is days from J2000.0 (the Astronomical Almanac's low-precision solar formula). The
    fictitious mean sun moves uniformly along the equator, so its RA equals ``L``; the
    neglected terms (UT1 - UTC, TT - UT, precession of ``L``) are far below 0.1 deg. The
    true sun differs by the equation of time (up to about 4 deg).
    """
    days = (epoch - _J2000) / timedelta(days=1)
    return (280.460 + 0.9856474 * days) % 360.0


def _wrap_for_tle(deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angles in [0, 360) that also stay below 360 after rounding to the TLE's 4 decimals."""
    wrapped = np.mod(deg, 360.0)
    return np.where(np.round(wrapped, 4) >= 360.0, 0.0, wrapped)


def _round_to_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=0) + timedelta(milliseconds=round(moment.microsecond / 1e3))


def _check_real(
    field: str,
    value: object,
    low: float,
    high: float,
    unit: str,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (low < value if low_open else low <= value) and (
            value < high if high_open else value <= high
        )
    if not ok:
        span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'} {unit}"
        if math.isinf(low) and math.isinf(high):
            span = f"a finite number of {unit}"
        else:
            span = f"in {span}"
        raise ConfigError(f"Shell.{field}: must be {span}, got {value!r}")


def _check_int(field: str, value: object, low: int, high: int | None = None) -> None:
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):  # type: ignore[operator]
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"Shell.{field}: must be an integer {span}, got {value!r}")
