"""Polishing passes found on the Hermite interpolant with exact SGP4 states.

Used by ``envs.contact_plan.search.find_passes`` after its grid search; this module only
evaluates geometry at individual (satellite, station, time) events.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from skyfield.timelib import Timescale

from envs.contact_plan.passes import PassArrays
from envs.ground import StationArrays
from envs.orbits.propagate import Constellation, teme_to_ecef, time_grid

__all__ = ["exact_sin_elevation", "polish_passes"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_POLISH_MAX_STEP_S = 10.0
_POLISH_AGAIN_S = 0.01  # crossings whose first Newton step exceeded this get a second one


def exact_sin_elevation(
    constellation: Constellation,
    sat: IntArray,
    station: IntArray,
    t_s: FloatArray,
    epoch: datetime,
    ts: Timescale | None,
    st: StationArrays,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``sin(elevation)``, its rate and the range (km) from exact SGP4 states.

    Evaluated at individual (sat, station, t) events; NaN where SGP4 fails (decayed).
    SGP4 runs once per satellite over that satellite's times; this is plan-construction
    work over events, never over the whole constellation per simulator step.
    """
    grid = time_grid(epoch, t_s, ts=ts)
    r_teme = np.full((1, len(t_s), 3), np.nan)
    v_teme = np.full((1, len(t_s), 3), np.nan)
    err = np.zeros((1, len(t_s)), np.uint8)
    order = np.argsort(sat, kind="stable")
    sats, first = np.unique(sat[order], return_index=True)
    bounds = np.r_[first, len(order)]  # one run of events per satellite; no events, no runs
    for s, lo, hi in zip(sats, bounds[:-1], bounds[1:], strict=True):
        idx = order[lo:hi]
        e, r, v = constellation.satrecs[s].sgp4_array(grid.jd_whole[idx], grid.jd_frac[idx])
        err[0, idx], r_teme[0, idx], v_teme[0, idx] = e, r, v
    states = teme_to_ecef(r_teme, v_teme, grid.theta_rad, grid.theta_dot_rad_s, err)
    rel = states.r_km[0] - st.ecef_km[station]
    vel = states.v_km_s[0]
    u = st.up[station]
    rho = np.linalg.norm(rel, axis=1)
    up = np.einsum("ij,ij->i", rel, u)
    rate = np.einsum("ij,ij->i", vel, u) / rho - up * np.einsum("ij,ij->i", rel, vel) / rho**3
    return up / rho, rate, rho


def polish_passes(
    constellation: Constellation,
    passes: PassArrays,
    epoch: datetime,
    ts: Timescale | None,
    st: StationArrays,
) -> PassArrays:
    """Polish rises, sets and culminations found on the interpolant with exact SGP4 states.

    The interpolant is accurate to centimetres at a 60 s step but to ~100 m at 300 s, which
    at a grazing crossing can move the time by seconds and near the zenith moves the peak
    by hundredths of a degree. On exact geometry, a Newton step moves each rise and set onto
    the mask (clamped to ``_POLISH_MAX_STEP_S``), and a secant step on the elevation rate
    moves each interior culmination onto the zero of the rate; the peak value follows from
    the local quadratic. One batched evaluation (one SGP4 call per satellite), plus a second
    Newton step for the few crossings whose first step was large.
    """
    n = len(passes.sat)
    if n == 0:
        return passes  # nothing to refine: an empty plan is a valid answer
    interior = (passes.tmax_s > passes.rise_s) & (passes.tmax_s < passes.set_s)
    keep = np.concatenate([~passes.rise_clipped, ~passes.set_clipped, interior])
    idx = np.nonzero(keep)[0]
    times = np.concatenate([passes.rise_s, passes.set_s, passes.tmax_s])
    sat = np.tile(passes.sat, 3)[idx]
    station = np.tile(passes.station, 3)[idx]
    t = times[idx]
    is_peak = idx >= 2 * n
    peak_t = t[is_peak]
    # First evaluation: all events, plus the peaks shifted by delta for the secant.
    delta = 0.5
    f, rate, _ = exact_sin_elevation(
        constellation,
        np.concatenate([sat, sat[is_peak]]),
        np.concatenate([station, station[is_peak]]),
        np.concatenate([t, peak_t + delta]),
        epoch,
        ts,
        st,
    )
    n_ev = len(t)
    f, rate, rate_shift = f[:n_ev], rate[:n_ev], rate[n_ev:]
    goal = np.sin(st.min_elevation_rad)[station]
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_step = -(f - goal) / rate
        peak_step = -rate[is_peak] * delta / (rate_shift - rate[is_peak])
    step = np.nan_to_num(cross_step)
    step[is_peak] = np.nan_to_num(peak_step)
    step = np.clip(step, -_POLISH_MAX_STEP_S, _POLISH_MAX_STEP_S)
    t = t + step
    # Crossings whose first step was large (grazing ones, coarse grids) get a second step.
    again = np.nonzero(~is_peak & (np.abs(step) > _POLISH_AGAIN_S))[0]
    if len(again):
        f2, rate2, _ = exact_sin_elevation(
            constellation, sat[again], station[again], t[again], epoch, ts, st
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            step2 = np.nan_to_num(-(f2 - goal[again]) / rate2)
        t[again] += np.clip(step2, -_POLISH_MAX_STEP_S, _POLISH_MAX_STEP_S)
    times[idx] = t
    rise, set_, tmax = times[:n], times[n : 2 * n], times[2 * n :]
    tmax = np.clip(tmax, rise, set_)
    peak_f = np.sin(np.radians(passes.max_elevation_deg))
    peak_f[idx[is_peak] - 2 * n] = f[is_peak] + 0.5 * rate[is_peak] * step[is_peak]
    rise = np.minimum(rise, tmax)
    set_ = np.maximum(set_, tmax)
    max_el = np.degrees(np.arcsin(np.clip(peak_f, -1.0, 1.0)))
    return passes._replace(rise_s=rise, set_s=set_, tmax_s=tmax, max_elevation_deg=max_el)
