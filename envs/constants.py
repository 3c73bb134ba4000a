"""Physical, calendar and grid constants shared by the environment (one definition each).

Times are in seconds and lengths in kilometres, as everywhere in ``envs``. The Earth model of
ground positions is WGS84; orbit propagation uses SGP4's own WGS72 constants
(``envs.orbits.shells``), which are not repeated here.

>>> DAY_S / HOUR_S
24.0
>>> round(WGS84_A_KM * (1.0 - WGS84_F), 3)  # polar radius
6356.752
"""

from __future__ import annotations

__all__ = ["DAY_S", "HOUR_S", "SUNLIT_STEP_S", "WGS84_A_KM", "WGS84_E2", "WGS84_F"]

#: Seconds in a (civil, SI) day.
DAY_S = 86400.0
#: Seconds in an hour.
HOUR_S = 3600.0
#: Grid step of the sunlit/eclipse computation (``envs.sim.world``); shadow edges are located
#: to this step, and a scenario's budget (``envs.scenario.budget``) counts its grid.
SUNLIT_STEP_S = 10.0
#: WGS84 equatorial radius, km.
WGS84_A_KM = 6378.137
#: WGS84 flattening.
WGS84_F = 1.0 / 298.257223563
#: WGS84 first eccentricity squared, ``f (2 - f)``.
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
