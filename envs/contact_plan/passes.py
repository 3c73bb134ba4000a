"""Passes as parallel arrays: the data the search produces and the polishing refines.

Its own module so that ``envs.contact_plan.search`` and ``envs.contact_plan.polish`` both
depend on it and not on each other.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["PassArrays"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class PassArrays(NamedTuple):
    """Passes as parallel arrays (one entry per pass), sorted by rise time.

    Attributes:
        sat: Satellite index.
        station: Station index.
        rise_s: Rise time, seconds since the epoch (0 when the pass began before the horizon).
        set_s: Set time, seconds since the epoch (the horizon when it ends after it).
        tmax_s: Time of maximum elevation.
        max_elevation_deg: Maximum elevation within the horizon.
        range_at_max_km: Slant range at maximum elevation.
        rise_clipped: The pass was already in progress at the start of the horizon.
        set_clipped: The pass was still in progress at the end of the horizon.
    """

    sat: IntArray
    station: IntArray
    rise_s: FloatArray
    set_s: FloatArray
    tmax_s: FloatArray
    max_elevation_deg: FloatArray
    range_at_max_km: FloatArray
    rise_clipped: NDArray[np.bool_]
    set_clipped: NDArray[np.bool_]
