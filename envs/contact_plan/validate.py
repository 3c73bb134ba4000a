"""Cross-checking a contact plan against skyfield ``EarthSatellite.find_events``.

Used by the test suite (with bounds) and by ``scripts/validate_contact_plan.py`` (which prints
the measured figures quoted in docs/concepts.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from skyfield.api import EarthSatellite, wgs84
from skyfield.timelib import Timescale

from envs.constants import DAY_S
from envs.contact_plan.plan import ContactPlan
from envs.ground import Station
from envs.orbits.tle import TLE

__all__ = ["REFERENCE_STATIONS", "Comparison", "compare_with_skyfield", "skyfield_passes"]

#: A spread of latitudes and masks (coordinates from configs/ground_stations).
REFERENCE_STATIONS = (
    Station("Svalbard", 78.23, 15.41, 450.0, min_elevation_deg=5.0, network="ksat"),
    Station("Punta Arenas", -52.94, -70.85, 20.0, min_elevation_deg=10.0, network="ksat"),
    Station("Singapore", 1.40, 103.83, 20.0, min_elevation_deg=10.0, network="aws"),
    Station("Kashgar", 39.50, 75.93, 1300.0, min_elevation_deg=15.0, network="china"),
    Station("Hartebeesthoek", -25.89, 27.69, 1400.0, min_elevation_deg=0.0, network="ksat"),
)


def skyfield_passes(tle: TLE, station: Station, ts: Timescale, epoch: datetime, horizon_s: float):
    """Complete passes ``(rise_s, set_s, max_el_deg)`` from skyfield, plus its objects."""
    sat = EarthSatellite(tle.line1, tle.line2, tle.name, ts)
    topos = wgs84.latlon(station.lat_deg, station.lon_deg, elevation_m=station.alt_m)
    t0 = ts.from_datetime(epoch)
    t1 = ts.from_datetime(epoch + timedelta(seconds=horizon_s))
    times, events = sat.find_events(topos, t0, t1, altitude_degrees=station.min_elevation_deg)
    out, rise, peak = [], None, -90.0
    for t, ev in zip(times, events, strict=True):
        if ev == 0:
            rise, peak = t, -90.0
        elif ev == 1 and rise is not None:
            peak = max(peak, float((sat - topos).at(t).altaz()[0].degrees))
        elif ev == 2 and rise is not None:
            out.append(((rise - t0) * DAY_S, (t - t0) * DAY_S, peak))
            rise = None
    return out, sat, topos


@dataclass(frozen=True, slots=True)
class Comparison:
    """Worst differences between a plan and skyfield over every (satellite, station) pair.

    Attributes:
        passes: Complete passes compared.
        count_mismatches: ``"<sat> over <station>: n passes, skyfield m"`` for each pair that
            differs (empty when the pass sets agree).
        worst_time_s: Largest |rise or set − skyfield's|.
        worst_max_el_deg: Largest |max elevation − skyfield's|.
        worst_alt_at_event_deg: Largest |skyfield altitude at our rise/set − mask|.
        worst_alt_at_peak_deg: Largest |skyfield altitude at our culmination − our maximum|.
        min_peak_margin_deg: Smallest (our maximum − skyfield's maximum).
    """

    passes: int
    count_mismatches: tuple[str, ...]
    worst_time_s: float
    worst_max_el_deg: float
    worst_alt_at_event_deg: float
    worst_alt_at_peak_deg: float
    min_peak_margin_deg: float


def compare_with_skyfield(
    plan: ContactPlan, tles: Sequence[TLE], stations: Sequence[Station], ts: Timescale
) -> Comparison:
    """Compare every complete pass of ``plan`` with skyfield's ``find_events``."""
    p, epoch, horizon = plan.passes, plan.epoch, plan.horizon_s
    t0 = ts.from_datetime(epoch)
    n, mismatches = 0, []
    worst_t = worst_el = worst_alt = worst_peak = 0.0
    margin = np.inf
    for i, tle in enumerate(tles):
        for m, station in enumerate(stations):
            ref, sat, topos = skyfield_passes(tle, station, ts, epoch, horizon)
            mine = (p.sat == i) & (p.station == m) & ~p.rise_clipped & ~p.set_clipped
            rise, set_, el = p.rise_s[mine], p.set_s[mine], p.max_elevation_deg[mine]
            if len(rise) != len(ref):
                mismatches.append(f"{tle.name} over {station.name}: {len(rise)} passes, "
                                  f"skyfield {len(ref)}")  # fmt: skip
                continue
            if not ref:
                continue
            ref_rise, ref_set, ref_el = (np.array(c) for c in zip(*ref, strict=True))
            worst_t = max(worst_t, np.abs(rise - ref_rise).max(), np.abs(set_ - ref_set).max())
            worst_el = max(worst_el, np.abs(el - ref_el).max())
            alt = (sat - topos).at(t0 + np.concatenate([rise, set_]) / DAY_S).altaz()[0].degrees
            worst_alt = max(worst_alt, np.abs(alt - station.min_elevation_deg).max())
            alt_max = (sat - topos).at(t0 + p.tmax_s[mine] / DAY_S).altaz()[0].degrees
            worst_peak = max(worst_peak, np.abs(alt_max - el).max())
            margin = min(margin, float((el - ref_el).min()))
            n += len(ref)
    return Comparison(n, tuple(mismatches), float(worst_t), float(worst_el), float(worst_alt),
                      float(worst_peak), float(margin))  # fmt: skip
