"""Vectorised pass search: a coarse grid over satellites × stations × time, then refinement.

Algorithm
---------
1. SGP4 runs once per satellite on a coarse grid (``step_s``, default 60 s) and the states are
   rotated into the Earth-fixed frame. For every (satellite, station, grid time) the search
   evaluates ``f = sin(elevation)`` and its exact time derivative ``f'`` (from the SGP4
   velocity), as matrix products over chunks of satellites so memory stays bounded.
2. Between two grid points the satellite position is the cubic Hermite interpolant of the
   SGP4 positions and velocities at the ends. For LEO and a 60 s step its error is well under
   10 m, so every refinement below runs on the interpolant with no further SGP4 calls.
3. Rise and set: the sign of ``f - sin(mask)`` changes between grid points; bisection on the
   interpolant brackets the crossing, then a Newton step on exact SGP4 states (one SGP4
   call per satellite over its events) polishes it, so the times do not depend on the step.
4. Culmination: ``f'`` goes from positive to non-positive between grid points; bisection on the
   interpolant's ``f'`` gives the time of maximum elevation, and a secant step on exact
   SGP4 rates polishes it.

Edge cases
----------
An empty plan is a valid answer (nothing to refine, nothing to polish). A satellite in view
for the whole horizon (geostationary over a station) is one pass clipped at both ends. A
satellite whose SGP4 propagation fails inside the horizon (it decays: error codes 1-6) is
never in view after the failure; a pass in progress then ends at the failure onset, located
by bisection on exact SGP4 to ``_ONSET_TOLERANCE_S``, and the maximum elevation of its last
stretch is sampled on exact states, so neither depends on the grid step.

Short-pass guarantee
--------------------
A pass that starts and ends between two grid points leaves no sign change in ``f - sin(mask)``,
but its culmination does leave one in ``f'``: any local maximum of elevation strictly inside
an interval makes ``f'`` positive at the left grid point and negative at the right one, as
long as elevation has at most one local extremum per interval. Elevation extrema of a
satellite seen from a station are separated by roughly half an orbit (tens of minutes in
LEO), far longer than the grid step, so the condition holds for any ``step_s`` of a few
minutes or less (``find_passes`` rejects steps above ``MAX_STEP_S`` = 300 s, the largest
step validated against skyfield). Every interval with that sign
change whose cubic-Hermite estimate of the peak comes within ``HIDDEN_PEAK_MARGIN`` of the
mask is refined; if the refined peak clears the mask, the pass is recorded with its rise and
set found on either side of the peak. ``tests/envs/test_contact_plan.py`` pins this with
grazing passes that fit between two grid points.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from skyfield.timelib import Timescale
from tqdm.auto import tqdm

from envs.contact_plan.passes import PassArrays
from envs.contact_plan.polish import exact_sin_elevation, polish_passes
from envs.errors import ConfigError
from envs.ground import StationArrays
from envs.limits import check_count
from envs.orbits.propagate import Constellation, TimeGrid, propagate_ecef, time_grid

__all__ = ["HIDDEN_PEAK_MARGIN", "MAX_STEP_S", "PassArrays", "check_grid", "find_passes"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Largest accepted grid step. The skyfield cross-checks pass at 300 s; at 600 s the cubic
#: estimate of a hidden peak is no longer reliably within ``HIDDEN_PEAK_MARGIN``.
MAX_STEP_S = 300.0
#: Candidate hidden peaks within this margin of sin(mask) (cubic-Hermite estimate) are refined.
HIDDEN_PEAK_MARGIN = 0.01
_BISECT_ITERATIONS = 16  # 300 s / 2**16 ≈ 5 ms, then polished (crossings) or flat (peaks)
_DEFAULT_CHUNK_ELEMENTS = 2_000_000  # satellite × station × time cells per chunk
_ONSET_TOLERANCE_S = 1e-3  # decay (SGP4 failure) onsets are located to a millisecond
_CUT_SAMPLES = 1025  # exact samples of the stretch a decay cuts short (≤ 0.3 s apart)


class _Segments(NamedTuple):
    """Cubic Hermite segments of satellite motion for a batch of (sat, station, interval).

    Position relative to the station is ``((c3 τ + c2) τ + c1) τ + c0`` for τ in [0, 1].
    """

    c0: FloatArray
    c1: FloatArray
    c2: FloatArray
    c3: FloatArray
    h: FloatArray  # interval length, s
    u: FloatArray  # station up vector

    @classmethod
    def from_states(cls, r0, v0, r1, v1, h, g, u) -> _Segments:
        """Coefficients from end positions/velocities, interval lengths and station vectors."""
        hv0, hv1 = h[:, None] * v0, h[:, None] * v1
        dr = r1 - r0
        return cls(r0 - g, hv0, 3 * dr - 2 * hv0 - hv1, -2 * dr + hv0 + hv1, h, u)

    def take(self, idx: IntArray) -> _Segments:
        """The segments at ``idx``."""
        return _Segments(*(x[idx] for x in self))

    def position(self, tau: FloatArray) -> FloatArray:
        """Position relative to the station at fractions ``tau`` of the interval."""
        t = tau[:, None]
        return ((self.c3 * t + self.c2) * t + self.c1) * t + self.c0

    def sin_elevation(self, tau: FloatArray) -> FloatArray:
        """``sin(elevation)`` on the interpolant."""
        rel = self.position(tau)
        return np.einsum("ij,ij->i", rel, self.u) / np.sqrt(np.einsum("ij,ij->i", rel, rel))

    def sin_elevation_rate(self, tau: FloatArray) -> FloatArray:
        """Time derivative of ``sin(elevation)`` on the interpolant, 1/s."""
        t = tau[:, None]
        rel = self.position(tau)
        vel = ((3 * self.c3 * t + 2 * self.c2) * t + self.c1) / self.h[:, None]
        rho2 = np.einsum("ij,ij->i", rel, rel)
        rho = np.sqrt(rho2)
        up = np.einsum("ij,ij->i", rel, self.u)
        rel_v = np.einsum("ij,ij->i", rel, vel)
        return (np.einsum("ij,ij->i", vel, self.u) - up * rel_v / rho2) / rho


def _bisect(
    fun: Callable[[FloatArray], FloatArray], lo: FloatArray, hi: FloatArray, target: FloatArray
) -> FloatArray:
    """Vectorised bisection for ``fun(tau) == target`` with a sign change on ``[lo, hi]``."""
    lo, hi = lo.copy(), hi.copy()
    lo_below = fun(lo) < target
    for _ in range(_BISECT_ITERATIONS):
        mid = 0.5 * (lo + hi)
        same_as_lo = (fun(mid) < target) == lo_below
        lo = np.where(same_as_lo, mid, lo)
        hi = np.where(same_as_lo, hi, mid)
    return 0.5 * (lo + hi)


def _hermite_peak(f0: FloatArray, f1: FloatArray, m0: FloatArray, m1: FloatArray) -> FloatArray:
    """Maximum on [0, 1] of the cubic with values f0, f1 and end slopes m0 > 0 ≥ m1 (per unit τ)."""
    a = 6 * f0 + 3 * m0 - 6 * f1 + 3 * m1
    b = -6 * f0 - 4 * m0 + 6 * f1 - 2 * m1
    lo, hi = np.zeros_like(f0), np.ones_like(f0)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        rising = (a * mid + b) * mid + m0 > 0
        lo = np.where(rising, mid, lo)
        hi = np.where(rising, hi, mid)
    t = 0.5 * (lo + hi)
    t2, t3 = t * t, t * t * t
    return (
        (2 * t3 - 3 * t2 + 1) * f0
        + (t3 - 2 * t2 + t) * m0
        + (-2 * t3 + 3 * t2) * f1
        + (t3 - t2) * m1
    )


class _Chunk:
    """Grid evaluation of sin(elevation) and its rate for satellites ``start:stop``."""

    def __init__(
        self,
        constellation: Constellation,
        grid: TimeGrid,
        st: StationArrays,
        start: int,
        stop: int,
        ts: Timescale | None = None,
    ):
        states = propagate_ecef(constellation, grid, start=start, stop=stop)
        self.r, self.v = states.r_km, states.v_km_s
        self.ok = states.error == 0  # (n, T): SGP4 succeeded (False once a satellite decays)
        self.constellation, self.start, self.ts = constellation, start, ts
        n, n_t, _ = self.r.shape
        g, u = st.ecef_km, st.up
        n_m = len(g)
        # One BLAS product per state vector gives r·u, r·g (and v·u, v·g) for all stations.
        w = np.concatenate([u, g]).T  # (3, 2M)
        ru_rg = self.r.reshape(-1, 3) @ w
        vu_vg = self.v.reshape(-1, 3) @ w
        r2 = np.einsum("ij,ij->i", self.r.reshape(-1, 3), self.r.reshape(-1, 3))[:, None]
        rv = np.einsum("ij,ij->i", self.r.reshape(-1, 3), self.v.reshape(-1, 3))[:, None]
        num = ru_rg[:, :n_m] - np.einsum("ij,ij->i", g, u)  # (rel · up)
        rho = r2 - 2.0 * ru_rg[:, n_m:] + np.einsum("ij,ij->i", g, g)
        np.sqrt(rho, out=rho)
        inv = np.reciprocal(rho)
        f = num * inv
        rel_v = rv - vu_vg[:, n_m:]  # (rel · v)
        rel_v *= f
        rel_v *= inv
        fd = vu_vg[:, :n_m] - rel_v
        fd *= inv
        self.f = f.reshape(n, n_t, n_m)
        self.fd = fd.reshape(n, n_t, n_m)
        self.rho = rho.reshape(n, n_t, n_m)

    def segments(
        self, i: IntArray, k: IntArray, m: IntArray, grid: TimeGrid, st: StationArrays
    ) -> _Segments:
        h = grid.t_s[k + 1] - grid.t_s[k]
        return _Segments.from_states(
            self.r[i, k],
            self.v[i, k],
            self.r[i, k + 1],
            self.v[i, k + 1],
            h,
            st.ecef_km[m],
            st.up[m],
        )


def _failure_onsets(
    constellation: Constellation, grid: TimeGrid, sat: IntArray, k: IntArray
) -> FloatArray:
    """First time SGP4 fails in ``[t[k], t[k + 1]]`` for satellites ``sat`` (global indices).

    SGP4 succeeds at ``t[k]`` and fails at ``t[k + 1]`` (the satellite decays, error codes
    1-6); bisection on exact SGP4 error flags narrows that to ``_ONSET_TOLERANCE_S``. The
    returned time is one where SGP4 fails, so polishing leaves it alone.
    """
    lo, hi = grid.t_s[k].copy(), grid.t_s[k + 1].copy()
    if len(sat) == 0:
        return hi
    epoch = grid.epoch
    while np.any(hi - lo > _ONSET_TOLERANCE_S):
        mid = 0.5 * (lo + hi)
        mid_grid = time_grid(epoch, mid)
        failed = np.zeros(len(sat), bool)
        for s in np.unique(sat):
            idx = np.nonzero(sat == s)[0]
            err, _, _ = constellation.satrecs[s].sgp4_array(
                mid_grid.jd_whole[idx], mid_grid.jd_frac[idx]
            )
            failed[idx] = err != 0
        lo = np.where(failed, lo, mid)
        hi = np.where(failed, mid, hi)
    return hi


def _chunk_passes(chunk: _Chunk, grid: TimeGrid, st: StationArrays) -> PassArrays:
    """All passes for one chunk of satellites (satellite indices local to the chunk)."""
    f, fd, t = chunk.f, chunk.fd, grid.t_s
    s = np.sin(st.min_elevation_rad)  # (M,)
    above = f >= s  # NaN (failed SGP4) compares False: never visible
    a0, a1 = above[:, :-1], above[:, 1:]
    rises = np.nonzero(~a0 & a1)
    sets = np.nonzero(a0 & ~a1)
    peak_iv = (fd[:, :-1] > 0) & (fd[:, 1:] <= 0)
    peaks_in_view = np.nonzero(peak_iv & (a0 | a1))
    # Candidate short passes hidden between two grid points (see the module docstring).
    hi, hk, hm = np.nonzero(peak_iv & ~a0 & ~a1)
    h = t[hk + 1] - t[hk]
    est = _hermite_peak(
        f[hi, hk, hm], f[hi, hk + 1, hm], fd[hi, hk, hm] * h, fd[hi, hk + 1, hm] * h
    )
    keep = est >= s[hm] - HIDDEN_PEAK_MARGIN
    hi, hk, hm = hi[keep], hk[keep], hm[keep]

    # Refine culminations (visible ones and hidden candidates together).
    pi = np.concatenate([peaks_in_view[0], hi])
    pk = np.concatenate([peaks_in_view[1], hk])
    pm = np.concatenate([peaks_in_view[2], hm])
    seg = chunk.segments(pi, pk, pm, grid, st)
    zeros, ones = np.zeros(len(pi)), np.ones(len(pi))
    tau_peak = _bisect(seg.sin_elevation_rate, zeros, ones, zeros)
    f_peak = seg.sin_elevation(tau_peak)
    rel_peak = seg.position(tau_peak)
    peak_t = t[pk] + tau_peak * seg.h
    peak_range = np.linalg.norm(rel_peak, axis=1)

    # Hidden passes whose refined peak clears the mask: rise and set on either side of the peak.
    n_vis = len(peaks_in_view[0])
    hidden = np.nonzero(f_peak[n_vis:] >= s[hm])[0] + n_vis
    hseg = seg.take(hidden)
    target = s[pm[hidden]]
    h_rise = (
        t[pk[hidden]]
        + _bisect(hseg.sin_elevation, zeros[hidden], tau_peak[hidden], target) * hseg.h
    )
    h_set = (
        t[pk[hidden]] + _bisect(hseg.sin_elevation, tau_peak[hidden], ones[hidden], target) * hseg.h
    )

    def crossings(idx: tuple[IntArray, IntArray, IntArray]) -> FloatArray:
        ci, ck, cm = idx
        cseg = chunk.segments(ci, ck, cm, grid, st)
        tau = _bisect(cseg.sin_elevation, np.zeros(len(ci)), np.ones(len(ci)), s[cm])
        return t[ck] + tau * cseg.h

    # A pass in progress when SGP4 starts failing (the satellite decays) ends at that onset.
    set_t = crossings(sets)
    decayed = ~chunk.ok[sets[0], sets[1] + 1]
    set_t[decayed] = _failure_onsets(
        chunk.constellation, grid, sets[0][decayed] + chunk.start, sets[1][decayed]
    )
    set_edge_k = np.where(decayed, sets[1], -1)  # last grid point where the pass was seen

    n_t = f.shape[1]
    start_i, start_m = np.nonzero(above[:, 0])
    end_i, end_m = np.nonzero(above[:, n_t - 1])
    rise_i = np.concatenate([rises[0], pi[hidden], start_i])
    rise_m = np.concatenate([rises[2], pm[hidden], start_m])
    rise_t = np.concatenate([crossings(rises), h_rise, np.zeros(len(start_i))])
    set_i = np.concatenate([sets[0], pi[hidden], end_i])
    set_m = np.concatenate([sets[2], pm[hidden], end_m])
    set_t = np.concatenate([set_t, h_set, np.full(len(end_i), t[-1])])
    set_edge_k = np.concatenate([set_edge_k, np.full(len(h_set) + len(end_i), -1)])
    rise_clipped = np.concatenate(
        [np.zeros(len(rise_t) - len(start_i), bool), np.ones(len(start_i), bool)]
    )
    set_clipped = np.concatenate(
        [np.zeros(len(set_t) - len(end_i), bool), np.ones(len(end_i), bool)]
    )
    ro = np.lexsort((rise_t, rise_m, rise_i))
    so = np.lexsort((set_t, set_m, set_i))
    rise_i, rise_m, rise_t, rise_clipped = rise_i[ro], rise_m[ro], rise_t[ro], rise_clipped[ro]
    set_i, set_m, set_t, set_clipped = set_i[so], set_m[so], set_t[so], set_clipped[so]
    set_edge_k = set_edge_k[so]
    if (
        len(rise_t) != len(set_t)
        or np.any(rise_i != set_i)
        or np.any(rise_m != set_m)
        or np.any(rise_t > set_t)
    ):
        raise RuntimeError("contact plan: rise and set events do not pair up (internal error)")

    # Maximum elevation per pass: endpoints for clipped passes, refined culminations inside.
    n_m = f.shape[2]
    best_f = np.full(len(rise_t), -np.inf)
    best_t = rise_t.copy()
    best_r = np.full(len(rise_t), np.nan)
    # Candidates at the ends a pass was cut at: the horizon's edges, or the last grid point
    # before the satellite decayed (its culmination may be lost with the failed states).
    cut = set_edge_k >= 0
    edges = (
        (rise_clipped, np.zeros(len(rise_t), np.int64)),
        (set_clipped, np.full(len(rise_t), n_t - 1)),
        (cut, set_edge_k),
    )
    for clipped, k_all in edges:
        ci, cm, k_edge = rise_i[clipped], rise_m[clipped], k_all[clipped]
        fe = f[ci, k_edge, cm]
        better = fe > best_f[clipped]
        idx = np.nonzero(clipped)[0][better]
        best_f[idx] = fe[better]
        best_t[idx] = t[k_edge[better]]
        best_r[idx] = chunk.rho[ci[better], k_edge[better], cm[better]]
    span = t[-1] + 1.0
    pass_key = (rise_i * n_m + rise_m) * span + rise_t
    valid = f_peak >= s[pm]
    peak_key = (pi * n_m + pm) * span + peak_t
    owner = np.searchsorted(pass_key, peak_key[valid], side="right") - 1
    ok = owner >= 0
    owner_ok = owner[ok]
    same_pair = (rise_i[owner_ok] == pi[valid][ok]) & (rise_m[owner_ok] == pm[valid][ok])
    within = peak_t[valid][ok] <= set_t[owner_ok] + 1e-6
    sel = np.nonzero(valid)[0][ok][same_pair & within]
    own = owner_ok[same_pair & within]
    order = np.lexsort((f_peak[sel], own))
    sel, own = sel[order], own[order]
    last = np.r_[own[1:] != own[:-1], True] if len(own) else np.zeros(0, bool)
    sel, own = sel[last], own[last]
    better = f_peak[sel] > best_f[own]
    best_f[own[better]] = f_peak[sel[better]]
    best_t[own[better]] = peak_t[sel[better]]
    best_r[own[better]] = peak_range[sel[better]]
    # A pass cut by a decay has no grid culmination in its last stretch (from the last grid
    # point where SGP4 worked to the onset), so its maximum there is sampled on exact states.
    cut_idx = np.nonzero(cut)[0]
    if len(cut_idx):
        frac = np.linspace(0.0, 1.0, _CUT_SAMPLES)
        t0 = np.maximum(rise_t[cut_idx], t[set_edge_k[cut_idx]])
        times = t0[:, None] + (set_t[cut_idx] - t0)[:, None] * frac
        fs, _, rs = exact_sin_elevation(
            chunk.constellation,
            np.repeat(rise_i[cut_idx] + chunk.start, _CUT_SAMPLES),
            np.repeat(rise_m[cut_idx], _CUT_SAMPLES),
            times.ravel(),
            grid.epoch,
            chunk.ts,
            st,
        )
        fs = np.where(np.isnan(fs), -np.inf, fs).reshape(len(cut_idx), _CUT_SAMPLES)
        row, col = np.arange(len(cut_idx)), np.argmax(fs, axis=1)
        better = fs[row, col] > best_f[cut_idx]
        won = cut_idx[better]
        best_f[won] = fs[row, col][better]
        best_t[won] = times[row, col][better]
        best_r[won] = rs.reshape(len(cut_idx), _CUT_SAMPLES)[row, col][better]
    return PassArrays(
        rise_i.astype(np.int64),
        rise_m.astype(np.int64),
        rise_t,
        set_t,
        best_t,
        np.degrees(np.arcsin(np.clip(best_f, -1.0, 1.0))),
        best_r,
        rise_clipped,
        set_clipped,
    )


def check_grid(
    horizon_s: float,
    step_s: float,
    n_sats: int,
    n_stations: int,
    *,
    fields: tuple[str, str] = ("horizon_s", "step_s"),
    horizon_unit_s: float = 1.0,
) -> None:
    """Refuse a search grid over ``envs.limits`` (time points, and cells = points × pairs).

    ``fields`` name the horizon and the step in the message (e.g. ``("--hours", "--step")``
    for a command line whose horizon is given in ``horizon_unit_s = 3600`` s).

    >>> check_grid(86400.0, 1e-6, 12, 10, fields=("--hours", "--step"), horizon_unit_s=3600.0)
    Traceback (most recent call last):
    ...
    envs.errors.ConfigError: --step: 24 h at a step of 1e-06 s is about 8.64e+10 grid time \
points, above the limit of 200,000 (raise it with CONSTELLATION_DISPATCH_MAX_GRID_STEPS)
    """
    unit = {1.0: "s", 3600.0: "h"}.get(horizon_unit_s, f"× {horizon_unit_s:g} s")
    span = f"{horizon_s / horizon_unit_s:g} {unit} at a step of {step_s:g} s"
    steps = horizon_s / step_s
    check_count("grid_steps", steps, fields[1], span)
    where = f"{span} over {n_sats} satellites × {n_stations} stations"
    check_count("grid_cells", (steps + 1) * n_sats * n_stations, fields[1], where)


def find_passes(
    constellation: Constellation,
    stations: StationArrays,
    epoch: datetime,
    horizon_s: float,
    *,
    step_s: float = 180.0,
    ts: Timescale | None = None,
    chunk_elements: int = _DEFAULT_CHUNK_ELEMENTS,
    progress: bool = False,
) -> PassArrays:
    """Find every pass of every satellite over every station above its elevation mask.

    Args:
        constellation: The satellites.
        stations: Station arrays (``envs.ground.station_arrays``); each station's own
            ``min_elevation_rad`` is its mask.
        epoch: Start of the horizon, tz-aware UTC.
        horizon_s: Length of the horizon in seconds.
        step_s: Coarse grid step; refinement makes results independent of it (≤ 300 s).
        ts: Skyfield timescale (default: a fresh built-in one).
        chunk_elements: Upper bound on satellite × station × time cells held at once
            (about 100 bytes each), which bounds peak memory.
        progress: Show a progress bar over satellites.

    Returns:
        All passes, sorted by (rise, satellite, station).
    """
    if not np.isfinite(horizon_s) or horizon_s <= 0:
        raise ConfigError(f"horizon_s: must be a positive number of seconds, got {horizon_s!r}")
    if not np.isfinite(step_s) or not 0 < step_s <= MAX_STEP_S:
        raise ConfigError(f"step_s: must be in (0, {MAX_STEP_S:g}] seconds, got {step_s!r}")
    n_sats, n_stations = len(constellation), len(stations.ecef_km)
    check_grid(horizon_s, step_s, n_sats, n_stations)
    n_steps = int(np.ceil(horizon_s / step_s - 1e-9))
    grid = time_grid(epoch, np.minimum(np.arange(n_steps + 1) * step_s, horizon_s), ts=ts)
    per_sat = len(grid.t_s) * n_stations
    chunk = max(1, min(n_sats, chunk_elements // max(per_sat, 1)))
    parts: list[PassArrays] = []
    with tqdm(total=n_sats, unit="sat", desc="contact plan", disable=not progress) as bar:
        for start in range(0, n_sats, chunk):
            stop = min(n_sats, start + chunk)
            chunk_ = _Chunk(constellation, grid, stations, start, stop, ts)
            part = _chunk_passes(chunk_, grid, stations)
            parts.append(part._replace(sat=part.sat + start))
            bar.update(stop - start)
    merged = PassArrays(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))
    merged = polish_passes(constellation, merged, epoch, ts, stations)
    order = np.lexsort((merged.station, merged.sat, merged.rise_s))
    return PassArrays(*(col[order] for col in merged))
