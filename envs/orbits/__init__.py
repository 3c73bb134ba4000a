"""Orbits: TLE and OMM files, generated Walker/SSO shells and vectorised SGP4 propagation."""

from envs.orbits.elements import load_elements
from envs.orbits.propagate import (
    Constellation,
    EarthFixedStates,
    TimeGrid,
    load_ephemeris,
    propagate_ecef,
    sun_ecef_km,
    sunlit,
    time_grid,
)
from envs.orbits.shells import (
    ElementSet,
    Shell,
    shell_elements,
    shell_tles,
    shells_tles,
    sso_inclination_deg,
)
from envs.orbits.tle import TLE, format_tles, load_tles, parse_tles, tle_to_satrec, write_tles

__all__ = [
    "TLE",
    "Constellation",
    "EarthFixedStates",
    "ElementSet",
    "Shell",
    "TimeGrid",
    "format_tles",
    "load_elements",
    "load_ephemeris",
    "load_tles",
    "parse_tles",
    "propagate_ecef",
    "shell_elements",
    "shell_tles",
    "shells_tles",
    "sso_inclination_deg",
    "sun_ecef_km",
    "sunlit",
    "time_grid",
    "tle_to_satrec",
    "write_tles",
]
