"""Vectorised pass search: a coarse grid over satellites × stations × time, then refinement.

Algorithm
---------
1. SGP4 runs once per satellite on a coarse grid (``step_s``, default 180 s) and the states
   are rotated into the Earth-fixed frame. For every (satellite, station, grid time) the
   search evaluates the up component of the line of sight and the range (one matrix
   product over chunks of satellites, so memory stays bounded). A grid interval is a
   candidate unless both its ends are so far below the mask that the satellite cannot
   reach it in half an interval at its largest speed (``_Chunk.candidates``); only the
   candidates (under a tenth of a LEO grid) get ``f = sin(elevation)`` and its exact time
   derivative ``f'`` (from the SGP4 velocity), and every step below runs on them.
2. Between two grid points the satellite position is the cubic Hermite interpolant of the
   SGP4 positions and velocities at the ends. For LEO and a 60 s step its error is well under
   10 m, so every refinement below runs on the interpolant with no further SGP4 calls.
3. Rise and set: the sign of ``f - sin(mask)`` changes between grid points; bisection on the
   interpolant brackets the crossing, then a Newton step on exact SGP4 states (one SGP4
   call per satellite over its events) polishes it, so the times do not depend on the step.
4. Culmination: ``f'`` goes from positive to non-positive between grid points; bisection on the
   interpolant's ``f'`` gives the time of maximum elevation, and a secant step on exact
   SGP4 rates polishes it.

Steps, processes
----------------
``_chunk_passes`` runs the steps on one chunk of satellites: ``_grid_events`` (classify the
candidates), ``_refine_peaks``, ``_pair_events`` (with ``_crossing_times`` and
``_set_times``), then the maximum elevation of each pass (``_edge_maxima``,
``_own_culminations``, ``_cut_maxima``); ``envs.contact_plan.polish`` then polishes that
chunk. Chunks are independent, so a large job runs them in forked worker processes
(``find_passes(workers=...)``) and merges them in chunk order: the same bits as one process.

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

Size: about 780 lines, above the house's ~400, because it is one algorithm in stages (grid,
classification, bisection, peaks, pairing, worker processes) that pass large intermediate
arrays between private helpers; splitting it would make those helpers public interfaces.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
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
_SPEED_MARGIN = 1.25  # Earth-fixed speed bound: the grid's largest speed, with this margin
_INTERPOLANT_SLACK_KM = 1.0  # candidate intervals: room for the interpolant's error
#: ``find_passes`` uses more than one process from this many grid cells (a few seconds of
#: work; below it starting the processes costs more than it saves).
_PARALLEL_MIN_CELLS = 8_000_000
_MAX_AUTO_WORKERS = 8
#: OpenBLAS runs a product of m × n × k at most 65,536 × 4 on one thread; stay below it.
_BLAS_ONE_THREAD_MNK = 200_000


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
    """Grid geometry of satellites ``start:stop`` over every station, and its candidate cells.

    Dense over (satellite, time, station) it keeps only what every cell needs: the up
    component of the line of sight (``num``) and the range (``rho``). ``sin(elevation)``
    and its rate are evaluated on demand at the cells of candidate intervals, those where the
    satellite can come within the mask at all (see ``candidates``); the rest of the sky, most
    of it, costs two array operations per cell.
    """

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
        self.constellation, self.start, self.ts, self.st = constellation, start, ts, st
        n, n_t, _ = self.r.shape
        g, u = st.ecef_km, st.up
        n_m = len(g)
        # One BLAS product gives r·u and r·g for all stations.
        self.w = np.concatenate([u, g]).T  # (3, 2M)
        rows = self.r.reshape(-1, 3)
        ru_rg = _matmul_in_blocks(rows, self.w)
        r2 = np.einsum("ij,ij->i", rows, rows)[:, None]
        num = ru_rg[:, :n_m] - np.einsum("ij,ij->i", g, u)  # (rel · up)
        rho = r2 - 2.0 * ru_rg[:, n_m:] + np.einsum("ij,ij->i", g, g)
        np.sqrt(rho, out=rho)
        self.num = num.reshape(n, n_t, n_m)
        self.rho = rho.reshape(n, n_t, n_m)
        self.shape = (n, n_t, n_m)

    def candidates(self, grid: TimeGrid) -> tuple[IntArray, IntArray, IntArray]:
        """Intervals ``[t[k], t[k + 1]]`` (satellite, k, station) where a pass can touch.

        With ``q = rel·up - sin(mask)·|rel|`` the satellite is above the mask exactly where
        ``q ≥ 0``, and ``|dq/dt| ≤ (1 + |sin(mask)|)·|v|``. Every time of an interval is
        within half its length of a grid point, so an interval whose two ends have
        ``q < -(1 + |sin(mask)|)·v_max·h/2`` holds no visible moment, hence no rise, set,
        culmination in view or hidden pass; it is skipped. ``v_max`` is the satellite's
        largest Earth-fixed speed on the grid times ``_SPEED_MARGIN``, and
        ``_INTERPOLANT_SLACK_KM`` covers the interpolant the refinement runs on. A failed
        SGP4 state (NaN) at one end leaves the other end to decide, so a pass cut by a decay
        is kept. Returned in C order (satellite, k, station), as ``np.nonzero`` gives them.
        """
        s = np.sin(self.st.min_elevation_rad)
        speed = np.sqrt(np.einsum("ijk,ijk->ij", self.v, self.v))
        v_max = np.where(np.isnan(speed), 0.0, speed).max(axis=1) * _SPEED_MARGIN  # (n,)
        h = float(np.max(np.diff(grid.t_s)))
        bound = (1.0 + np.abs(s))[None, :] * (v_max[:, None] * (0.5 * h)) + _INTERPOLANT_SLACK_KM
        q = self.num - s * self.rho
        reach = np.fmax(q[:, :-1], q[:, 1:])
        reach += bound[:, None, :]
        return np.nonzero(reach >= 0.0)

    def _rows_cells(self, i: IntArray, k: IntArray, m: IntArray) -> tuple[IntArray, IntArray]:
        """Flat indices of (satellite, time) rows and (satellite, time, station) cells."""
        _, n_t, n_m = self.shape
        rows = i * n_t + k
        return rows, rows * n_m + m

    def sin_elevation(self, i: IntArray, k: IntArray, m: IntArray) -> FloatArray:
        """``sin(elevation)`` at grid cells (NaN where SGP4 failed)."""
        _, cells = self._rows_cells(i, k, m)
        return self.num.ravel().take(cells) * np.reciprocal(self.rho.ravel().take(cells))

    def sin_elevation_and_rate(
        self, i: IntArray, k: IntArray, m: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """``sin(elevation)`` and its time derivative (1/s, from the SGP4 velocity) at cells."""
        rows, cells = self._rows_cells(i, k, m)
        r = self.r.reshape(-1, 3).take(rows, axis=0)
        v = self.v.reshape(-1, 3).take(rows, axis=0)
        rv = np.einsum("ij,ij->i", r, v)
        vu = np.einsum("ij,ij->i", v, self.st.up.take(m, axis=0))
        vg = np.einsum("ij,ij->i", v, self.st.ecef_km.take(m, axis=0))
        inv = np.reciprocal(self.rho.ravel().take(cells))
        f = self.num.ravel().take(cells) * inv
        return f, (vu - (rv - vg) * f * inv) * inv

    def range_km(self, i: IntArray, k: IntArray, m: IntArray) -> FloatArray:
        """Slant range at grid cells, km."""
        return self.rho.ravel().take(self._rows_cells(i, k, m)[1])

    def segments(
        self, i: IntArray, k: IntArray, m: IntArray, grid: TimeGrid, st: StationArrays
    ) -> _Segments:
        h = grid.t_s[k + 1] - grid.t_s[k]
        rows, _ = self._rows_cells(i, k, m)
        r, v = self.r.reshape(-1, 3), self.v.reshape(-1, 3)
        return _Segments.from_states(
            r.take(rows, axis=0),
            v.take(rows, axis=0),
            r.take(rows + 1, axis=0),
            v.take(rows + 1, axis=0),
            h,
            st.ecef_km.take(m, axis=0),
            st.up.take(m, axis=0),
        )


def _matmul_in_blocks(a: FloatArray, b: FloatArray) -> FloatArray:
    """``a @ b`` for a tall, thin ``a`` (k = 3), in row blocks small enough for one BLAS thread.

    A threaded BLAS splits a large product over threads whose spinning costs ten times the
    arithmetic for k = 3 (and competes with the other worker processes). Rows do not
    interact, so the result is the same bits as the single product.
    """
    out = np.empty((a.shape[0], b.shape[1]))
    rows = max(1, _BLAS_ONE_THREAD_MNK // (a.shape[1] * b.shape[1]))
    for lo in range(0, a.shape[0], rows):
        np.matmul(a[lo : lo + rows], b, out=out[lo : lo + rows])
    return out


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


Cells = tuple[IntArray, IntArray, IntArray]  # (satellite in the chunk, grid index k, station)


class _GridEvents(NamedTuple):
    """What the grid shows in one chunk, each as cells of intervals ``[t[k], t[k + 1]]``.

    Attributes:
        rises: Intervals where the satellite comes above the mask.
        sets: Intervals where it goes below (or SGP4 starts failing while it is above).
        peaks_in_view: Intervals with a culmination (``f'`` turns non-positive), one end seen.
        hidden: Intervals with a culmination, both ends below the mask, whose cubic estimate
            of the peak comes within ``HIDDEN_PEAK_MARGIN`` of it.
        start: (satellite, station) above the mask at the start of the horizon.
        end: (satellite, station) above the mask at its end.
    """

    rises: Cells
    sets: Cells
    peaks_in_view: Cells
    hidden: Cells
    start: tuple[IntArray, IntArray]
    end: tuple[IntArray, IntArray]


class _Peaks(NamedTuple):
    """Culminations refined on the interpolant (visible ones first, then hidden candidates)."""

    sat: IntArray
    k: IntArray
    station: IntArray
    t_s: FloatArray
    f: FloatArray  # sin(elevation) at the peak
    range_km: FloatArray


class _Paired(NamedTuple):
    """Rises and sets paired into passes, sorted by (satellite, station, time)."""

    sat: IntArray
    station: IntArray
    rise_s: FloatArray
    set_s: FloatArray
    rise_clipped: NDArray[np.bool_]
    set_clipped: NDArray[np.bool_]
    set_edge_k: IntArray  # last grid point seen before a decay cut the pass, else -1


def _grid_events(chunk: _Chunk, grid: TimeGrid) -> _GridEvents:
    """Step 1: classify the candidate intervals by the signs at their ends."""
    t = grid.t_s
    s = np.sin(chunk.st.min_elevation_rad)  # (M,)
    ci, ck, cm = chunk.candidates(grid)
    f0, fd0 = chunk.sin_elevation_and_rate(ci, ck, cm)
    f1, fd1 = chunk.sin_elevation_and_rate(ci, ck + 1, cm)
    a0, a1 = f0 >= s[cm], f1 >= s[cm]  # NaN (failed SGP4) compares False: never visible

    def pick(mask: NDArray[np.bool_]) -> Cells:
        return ci[mask], ck[mask], cm[mask]

    peak_iv = (fd0 > 0) & (fd1 <= 0)
    # Candidate short passes hidden between two grid points (see the module docstring).
    is_hidden = peak_iv & ~a0 & ~a1
    hi, hk, hm = pick(is_hidden)
    h = t[hk + 1] - t[hk]
    est = _hermite_peak(f0[is_hidden], f1[is_hidden], fd0[is_hidden] * h, fd1[is_hidden] * h)
    keep = est >= s[hm] - HIDDEN_PEAK_MARGIN
    first, last = (ck == 0) & a0, (ck == chunk.shape[1] - 2) & a1
    return _GridEvents(
        rises=pick(~a0 & a1),
        sets=pick(a0 & ~a1),
        peaks_in_view=pick(peak_iv & (a0 | a1)),
        hidden=(hi[keep], hk[keep], hm[keep]),
        start=(ci[first], cm[first]),
        end=(ci[last], cm[last]),
    )


def _refine_peaks(
    chunk: _Chunk, events: _GridEvents, grid: TimeGrid
) -> tuple[_Peaks, Cells, FloatArray, FloatArray]:
    """Step 2: culminations by bisection on the interpolant's rate; hidden passes' ends.

    Returns the refined peaks and, for the hidden candidates whose peak clears the mask,
    their cells and rise and set times (bisection on either side of the peak).
    """
    t, st = grid.t_s, chunk.st
    s = np.sin(st.min_elevation_rad)
    hi, hk, hm = events.hidden
    pi = np.concatenate([events.peaks_in_view[0], hi])
    pk = np.concatenate([events.peaks_in_view[1], hk])
    pm = np.concatenate([events.peaks_in_view[2], hm])
    seg = chunk.segments(pi, pk, pm, grid, st)
    zeros, ones = np.zeros(len(pi)), np.ones(len(pi))
    tau_peak = _bisect(seg.sin_elevation_rate, zeros, ones, zeros)
    f_peak = seg.sin_elevation(tau_peak)
    rel_peak = seg.position(tau_peak)
    peaks = _Peaks(pi, pk, pm, t[pk] + tau_peak * seg.h, f_peak, np.linalg.norm(rel_peak, axis=1))
    n_vis = len(events.peaks_in_view[0])
    hidden = np.nonzero(f_peak[n_vis:] >= s[hm])[0] + n_vis
    hseg = seg.take(hidden)
    target = s[pm[hidden]]
    t0 = t[pk[hidden]]
    h_rise = t0 + _bisect(hseg.sin_elevation, zeros[hidden], tau_peak[hidden], target) * hseg.h
    h_set = t0 + _bisect(hseg.sin_elevation, tau_peak[hidden], ones[hidden], target) * hseg.h
    return peaks, (pi[hidden], pk[hidden], pm[hidden]), h_rise, h_set


def _crossing_times(chunk: _Chunk, cells: Cells, grid: TimeGrid) -> FloatArray:
    """Step 3: times where the interpolant crosses the mask inside the given intervals."""
    ci, ck, cm = cells
    s = np.sin(chunk.st.min_elevation_rad)
    cseg = chunk.segments(ci, ck, cm, grid, chunk.st)
    tau = _bisect(cseg.sin_elevation, np.zeros(len(ci)), np.ones(len(ci)), s[cm])
    return grid.t_s[ck] + tau * cseg.h


def _set_times(chunk: _Chunk, sets: Cells, grid: TimeGrid) -> tuple[FloatArray, IntArray]:
    """Step 3b: set times; a pass in progress when SGP4 starts failing ends at that onset.

    Returns the times and, per set, the last grid point where a decayed pass was seen (-1
    for an ordinary set).
    """
    set_t = _crossing_times(chunk, sets, grid)
    decayed = ~chunk.ok[sets[0], sets[1] + 1]
    set_t[decayed] = _failure_onsets(
        chunk.constellation, grid, sets[0][decayed] + chunk.start, sets[1][decayed]
    )
    return set_t, np.where(decayed, sets[1], -1)


def _pair_events(
    chunk: _Chunk,
    events: _GridEvents,
    hidden: Cells,
    h_rise: FloatArray,
    h_set: FloatArray,
    grid: TimeGrid,
) -> _Paired:
    """Step 4: rises (grid, hidden, horizon start) and sets (grid, hidden, horizon end) paired.

    Sorting both by (satellite, station, time) must pair them one to one; anything else is
    an internal error, raised rather than returned.
    """
    t = grid.t_s
    rises, sets = events.rises, events.sets
    start_i, start_m = events.start
    end_i, end_m = events.end
    set_t, set_edge_k = _set_times(chunk, sets, grid)
    rise_i = np.concatenate([rises[0], hidden[0], start_i])
    rise_m = np.concatenate([rises[2], hidden[2], start_m])
    rise_t = np.concatenate([_crossing_times(chunk, rises, grid), h_rise, np.zeros(len(start_i))])
    set_i = np.concatenate([sets[0], hidden[0], end_i])
    set_m = np.concatenate([sets[2], hidden[2], end_m])
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
    if (
        len(rise_t) != len(set_t)
        or np.any(rise_i != set_i)
        or np.any(rise_m != set_m)
        or np.any(rise_t > set_t)
    ):
        raise RuntimeError("contact plan: rise and set events do not pair up (internal error)")
    return _Paired(rise_i, rise_m, rise_t, set_t, rise_clipped, set_clipped, set_edge_k[so])


class _Best(NamedTuple):
    """Running maximum of sin(elevation) per pass: value, time and range."""

    f: FloatArray
    t_s: FloatArray
    range_km: FloatArray


def _edge_maxima(chunk: _Chunk, paired: _Paired, grid: TimeGrid) -> _Best:
    """Step 5a: maxima at the ends a pass was cut at (horizon edges, last point before decay)."""
    t, n_t = grid.t_s, chunk.shape[1]
    n = len(paired.rise_s)
    best = _Best(np.full(n, -np.inf), paired.rise_s.copy(), np.full(n, np.nan))
    cut = paired.set_edge_k >= 0
    edges = (
        (paired.rise_clipped, np.zeros(n, np.int64)),
        (paired.set_clipped, np.full(n, n_t - 1)),
        (cut, paired.set_edge_k),
    )
    for clipped, k_all in edges:
        ci, cm, k_edge = paired.sat[clipped], paired.station[clipped], k_all[clipped]
        fe = chunk.sin_elevation(ci, k_edge, cm)
        better = fe > best.f[clipped]
        idx = np.nonzero(clipped)[0][better]
        best.f[idx] = fe[better]
        best.t_s[idx] = t[k_edge[better]]
        best.range_km[idx] = chunk.range_km(ci[better], k_edge[better], cm[better])
    return best


def _own_culminations(
    chunk: _Chunk, paired: _Paired, peaks: _Peaks, best: _Best, grid: TimeGrid
) -> None:
    """Step 5b: each pass takes the highest refined culmination inside it (in place)."""
    s = np.sin(chunk.st.min_elevation_rad)
    n_m = chunk.shape[2]
    span = grid.t_s[-1] + 1.0
    pass_key = (paired.sat * n_m + paired.station) * span + paired.rise_s
    valid = peaks.f >= s[peaks.station]
    peak_key = (peaks.sat * n_m + peaks.station) * span + peaks.t_s
    owner = np.searchsorted(pass_key, peak_key[valid], side="right") - 1
    ok = owner >= 0
    owner_ok = owner[ok]
    same_pair = (paired.sat[owner_ok] == peaks.sat[valid][ok]) & (
        paired.station[owner_ok] == peaks.station[valid][ok]
    )
    within = peaks.t_s[valid][ok] <= paired.set_s[owner_ok] + 1e-6
    sel = np.nonzero(valid)[0][ok][same_pair & within]
    own = owner_ok[same_pair & within]
    order = np.lexsort((peaks.f[sel], own))
    sel, own = sel[order], own[order]
    last = np.r_[own[1:] != own[:-1], True] if len(own) else np.zeros(0, bool)
    sel, own = sel[last], own[last]
    better = peaks.f[sel] > best.f[own]
    best.f[own[better]] = peaks.f[sel[better]]
    best.t_s[own[better]] = peaks.t_s[sel[better]]
    best.range_km[own[better]] = peaks.range_km[sel[better]]


def _cut_maxima(chunk: _Chunk, paired: _Paired, best: _Best, grid: TimeGrid) -> None:
    """Step 5c: a pass cut by a decay, sampled on exact states over its last stretch (in place).

    It has no grid culmination from the last grid point where SGP4 worked to the onset.
    """
    cut_idx = np.nonzero(paired.set_edge_k >= 0)[0]
    if len(cut_idx) == 0:
        return
    t = grid.t_s
    frac = np.linspace(0.0, 1.0, _CUT_SAMPLES)
    t0 = np.maximum(paired.rise_s[cut_idx], t[paired.set_edge_k[cut_idx]])
    times = t0[:, None] + (paired.set_s[cut_idx] - t0)[:, None] * frac
    fs, _, rs = exact_sin_elevation(
        chunk.constellation,
        np.repeat(paired.sat[cut_idx] + chunk.start, _CUT_SAMPLES),
        np.repeat(paired.station[cut_idx], _CUT_SAMPLES),
        times.ravel(),
        grid.epoch,
        chunk.ts,
        chunk.st,
    )
    fs = np.where(np.isnan(fs), -np.inf, fs).reshape(len(cut_idx), _CUT_SAMPLES)
    row, col = np.arange(len(cut_idx)), np.argmax(fs, axis=1)
    better = fs[row, col] > best.f[cut_idx]
    won = cut_idx[better]
    best.f[won] = fs[row, col][better]
    best.t_s[won] = times[row, col][better]
    best.range_km[won] = rs.reshape(len(cut_idx), _CUT_SAMPLES)[row, col][better]


def _chunk_passes(chunk: _Chunk, grid: TimeGrid) -> PassArrays:
    """All passes for one chunk of satellites (satellite indices local to the chunk)."""
    events = _grid_events(chunk, grid)
    peaks, hidden, h_rise, h_set = _refine_peaks(chunk, events, grid)
    paired = _pair_events(chunk, events, hidden, h_rise, h_set, grid)
    best = _edge_maxima(chunk, paired, grid)
    _own_culminations(chunk, paired, peaks, best, grid)
    _cut_maxima(chunk, paired, best, grid)
    return PassArrays(
        paired.sat.astype(np.int64),
        paired.station.astype(np.int64),
        paired.rise_s,
        paired.set_s,
        best.t_s,
        np.degrees(np.arcsin(np.clip(best.f, -1.0, 1.0))),
        best.range_km,
        paired.rise_clipped,
        paired.set_clipped,
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
    workers: int | None = None,
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
            (about 100 bytes each) per process, which bounds peak memory.
        progress: Show a progress bar over satellites.
        workers: Processes searching chunks of satellites at once. ``None`` chooses: every
            usable core (at most ``_MAX_AUTO_WORKERS``) for a job of at least
            ``_PARALLEL_MIN_CELLS`` grid cells, else 1. Always 1 inside a daemonic process
            (it may not start children) and where processes cannot be forked (the
            workers are forked, so a script needs no ``__main__`` guard). The result does
            not depend on it.

    Returns:
        All passes, sorted by (rise, satellite, station).
    """
    if not np.isfinite(horizon_s) or horizon_s <= 0:
        raise ConfigError(f"horizon_s: must be a positive number of seconds, got {horizon_s!r}")
    if not np.isfinite(step_s) or not 0 < step_s <= MAX_STEP_S:
        raise ConfigError(f"step_s: must be in (0, {MAX_STEP_S:g}] seconds, got {step_s!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1
    ):
        raise ConfigError(f"workers: must be a whole number ≥ 1, got {workers!r}")
    n_sats, n_stations = len(constellation), len(stations.ecef_km)
    check_grid(horizon_s, step_s, n_sats, n_stations)
    n_steps = int(np.ceil(horizon_s / step_s - 1e-9))
    grid = time_grid(epoch, np.minimum(np.arange(n_steps + 1) * step_s, horizon_s), ts=ts)
    per_sat = len(grid.t_s) * n_stations
    chunk = max(1, min(n_sats, chunk_elements // max(per_sat, 1)))
    bounds = [(start, min(n_sats, start + chunk)) for start in range(0, n_sats, chunk)]
    n_workers = min(_worker_count(workers, n_sats * per_sat), len(bounds))
    with tqdm(total=n_sats, unit="sat", desc="contact plan", disable=not progress) as bar:
        parts = []
        for start, stop, part in _search_chunks(
            constellation, grid, stations, ts, bounds, n_workers
        ):
            parts.append(part._replace(sat=part.sat + start))
            bar.update(stop - start)
    merged = PassArrays(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))
    order = np.lexsort((merged.station, merged.sat, merged.rise_s))
    return PassArrays(*(col[order] for col in merged))


def _worker_count(requested: int | None, cells: int) -> int:
    """Processes for a search of ``cells`` grid cells (see ``find_passes``'s ``workers``)."""
    if mp.current_process().daemon or "fork" not in mp.get_all_start_methods():
        return 1
    if requested is not None:
        return requested
    if cells < _PARALLEL_MIN_CELLS:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, _MAX_AUTO_WORKERS))


def _chunk_task(
    constellation: Constellation,
    grid: TimeGrid,
    stations: StationArrays,
    ts: Timescale | None,
    start: int,
    stop: int,
) -> PassArrays:
    """Polished passes of satellites ``start:stop`` (indices local to the chunk)."""
    part = _chunk_passes(_Chunk(constellation, grid, stations, start, stop, ts), grid)
    if start:
        part = part._replace(sat=part.sat + start)  # polishing indexes the constellation
    part = polish_passes(constellation, part, grid.epoch, ts, stations)
    return part._replace(sat=part.sat - start)


def _search_chunks(
    constellation: Constellation,
    grid: TimeGrid,
    stations: StationArrays,
    ts: Timescale | None,
    bounds: list[tuple[int, int]],
    workers: int,
) -> Iterator[tuple[int, int, PassArrays]]:
    """``(start, stop, passes)`` per chunk, in chunk order whatever the number of workers.

    Each worker process (forked) gets only its chunk's element sets (a ``Constellation``
    pickles as its TLE lines); every chunk is searched and polished the same way in either case, so
    the merged result is identical to the serial one.
    """
    if workers <= 1:
        for start, stop in bounds:
            yield start, stop, _chunk_task(constellation, grid, stations, ts, start, stop)
        return
    context = mp.get_context("fork")  # children start ready; no re-import of ``__main__``
    tles = constellation.tles
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (OSError, NotImplementedError):  # no process semaphores here (no /dev/shm): one process
        yield from _search_chunks(constellation, grid, stations, ts, bounds, 1)
        return
    with pool:
        futures = [
            pool.submit(
                _chunk_task,
                Constellation(tles[start:stop], constellation.satrecs[start:stop]),
                grid,
                stations,
                ts,
                0,
                stop - start,
            )
            for start, stop in bounds
        ]
        for (start, stop), future in zip(bounds, futures, strict=True):
            yield start, stop, future.result()
