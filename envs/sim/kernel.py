"""The numba kernel of ``envs.sim.compiled``: one decision's observation in one call.

Imported only when the compiled observation is used (importing numba takes a quarter of a
second); ``envs.sim.compiled`` says what it computes and how it is checked. Each function
repeats the float operations of its Python reference in the same order.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from envs.constants import DAY_S
from envs.sim.links import walk_from

__all__ = ["N_FEATURES", "N_SYSTEM", "observe"]

#: Observation layout the kernel writes: the environment's global features before the model
#: one-hot, and features per candidate (``GLOBAL_FEATURES`` and ``CANDIDATE_FEATURES`` of
#: ``envs.dispatch_env``; a test checks them against these).
N_SYSTEM, N_FEATURES = 8, 14


@numba.njit(cache=True)
def observe(  # one call per decision: arguments cost less than a struct
    now, origin, in_bytes, in_tokens, model, out_tokens, out_bytes, arrival, deadline,
    pending, in_flight, k, consts, win, up, sat_rows, station, swap, per_token, serves,
    busy_up, busy_down, first_free, first_model, committed, onboard, sats, est, out, mask,
):  # fmt: skip
    """One decision: candidates into ``sats``, estimates into ``est``, the observation into ``out``.

    Mirrors ``SimView.candidates``, ``SimView._estimates``, ``_candidate_rows`` and
    ``_global_features`` operation by operation. Returns ``(candidates, valid)``; ``valid`` is
    -1 when the origin's pass list or a candidate's windows are not packed yet (``sats``
    then holds the candidates found so far, and ``WindowPool.pack`` adds what is missing).
    """
    inf = math.inf
    day_fraction, duration, capacity, max_pass, inv_log_day, log_day = consts[:6]
    pending_scale, log_tokens = consts[6], consts[7]
    n_stations = station.shape[1]
    starts, ends, rates = win[0], win[1], win[2]
    # Candidates: the origin's passes by rise, in view now or later, first k distinct servers.
    off, length = station[0, origin], station[1, origin]
    if off < 0:
        return 0, -1
    i = off + np.searchsorted(starts[off : off + length], now - max_pass, side="left")
    n = 0
    while i < off + length and n < k:
        sat = int(win[3, i])
        if ends[i] > now and serves[sat_rows[4, sat], model]:
            seen = False
            for j in range(n):
                seen = seen or sats[j] == sat
            if not seen:
                sats[n] = sat
                n += 1
        i += 1
    missing = False
    for i in range(n):
        sat = sats[i]
        missing = missing or up[0, sat * n_stations + origin] < 0 or sat_rows[0, sat] < 0
    if missing:
        return n, -1
    best = inf
    for i in range(n):
        sat = sats[i]
        key = sat * n_stations + origin
        busy = busy_up[key]
        up_s, up_e = _walk(starts, ends, rates, up[0, key], up[1, key],
                           busy if busy > now else now, in_bytes)  # fmt: skip
        c_s = c_e = d_s = d_e = inf
        if up_e < inf:
            first = first_free[sat]
            c = sat_rows[4, sat]
            c_s = up_e if up_e > first else first
            service = (
                (swap[c] if first_model[sat] != model else 0.0)
                + in_tokens * per_token[0, c, model]
                + out_tokens * per_token[1, c, model]
            )
            c_e = c_s + service
            if sat_rows[3, sat] >= 0:
                c_s, c_e = _walk(starts, ends, rates, sat_rows[2, sat], sat_rows[3, sat],
                                 c_s, c_e - c_s)  # fmt: skip
            if c_e < inf:
                busy = busy_down[sat]
                d_s, d_e = _walk(starts, ends, rates, sat_rows[0, sat], sat_rows[1, sat],
                                 c_e if c_e > busy else busy, out_bytes)  # fmt: skip
        est[i, 0] = sat
        est[i, 1] = up_s
        est[i, 2] = up_e
        est[i, 3] = c_s
        est[i, 4] = c_e
        est[i, 5] = d_s
        est[i, 6] = d_e
        if d_e < best:
            best = d_e
    n_global = out.shape[0] - k * N_FEATURES
    valid = 0
    for i in range(mask.shape[0]):
        mask[i] = i < n and est[i, 6] < inf
    for i in range(n):
        delivered = est[i, 6]
        if delivered == inf:
            continue
        valid += 1
        sat = sats[i]
        up_s, up_e, c_s, c_e, d_s = est[i, 1], est[i, 2], est[i, 3], est[i, 4], est[i, 5]
        service = c_e - c_s
        row = out[n_global + N_FEATURES * i : n_global + N_FEATURES * (i + 1)]
        row[0] = 1.0
        row[1] = _squash(up_s - now, inv_log_day)
        row[2] = _squash(up_e - up_s, inv_log_day)
        row[3] = _squash(busy_up[sat * n_stations + origin] - now, inv_log_day)
        row[4] = _squash(c_s - up_e, inv_log_day)
        row[5] = _squash(service, inv_log_day)
        row[6] = _squash(d_s - c_e, inv_log_day)
        row[7] = _squash(delivered - d_s, inv_log_day)
        row[8] = _squash(busy_down[sat] - now, inv_log_day)
        row[9] = _squash(delivered - arrival, inv_log_day)
        can = True
        p_off, p_len = sat_rows[2, sat], sat_rows[3, sat]
        if p_len >= 0:
            j = p_off + np.searchsorted(ends[p_off : p_off + p_len], now, side="right")
            can = j < p_off + p_len and starts[j] <= now
        row[10] = 1.0 if can else 0.0
        fill = committed[sat] / sat_rows[5, sat]
        row[11] = fill if fill < 2.0 else 2.0
        row[12] = _squash_div(delivered - best, log_day)
        row[13] = _squash_div((committed[sat] - onboard[sat]) * service, log_day)
    if valid:  # the global and job features (``_global_features``)
        hour = 2.0 * math.pi * ((now / DAY_S + day_fraction) % 1.0)
        out[0] = 0.5 + 0.5 * math.sin(hour)
        out[1] = 0.5 + 0.5 * math.cos(hour)
        out[2] = min(now / duration, 2.0)
        out[3] = min(pending / pending_scale, 2.0)
        out[4] = min(in_flight / capacity, 2.0)
        out[5] = min(math.log1p(in_tokens) / log_tokens, 2.0)
        out[6] = _squash_div(now - arrival, log_day)
        out[7] = 2.0 if deadline == inf else _squash_div(deadline - now, log_day)
        out[N_SYSTEM + model] = 1.0
    return n, valid


@numba.njit(cache=True)
def _squash(x, inv):
    """``log1p(x) / log1p(1 day)`` clipped to [0, 2], as the Python rows compute it."""
    if x <= 0.0:
        return 0.0
    y = math.log1p(x) * inv
    return y if y < 2.0 else 2.0


@numba.njit(cache=True)
def _squash_div(x, log_day):
    """The same with a division, as the rows' last two features compute it."""
    if x <= 0.0:
        return 0.0
    y = math.log1p(x) / log_day
    return y if y < 2.0 else 2.0


#: ``envs.sim.links.walk_from``, compiled: the same source serves both paths.
_walk_from = numba.njit(cache=True)(walk_from)


@numba.njit(cache=True)
def _walk(starts, ends, rates, off, n, t0, amount):
    """``envs.sim.links.walk`` over the pool slice ``[off, off + n)``."""
    i = off + np.searchsorted(ends[off : off + n], t0, side="right")
    return _walk_from(starts, ends, rates, i, off + n, t0, amount)
