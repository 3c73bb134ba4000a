"""Work over time windows: transfers across contact passes, compute across sunlit spells.

A *window list* is three parallel Python lists ``(starts, ends, rates)``: sorted,
non-overlapping intervals in seconds and a rate per interval (bytes/s for links, 1 for
compute). Plain lists and ``bisect`` are several times faster than numpy for the scalar
queries of the event loop.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from envs.errors import ConfigError

if TYPE_CHECKING:
    from envs.contact_plan import ContactPlan

__all__ = [
    "INF",
    "RATE_MODELS",
    "Windows",
    "merge_max_rate",
    "pass_rates_bytes_per_s",
    "walk",
    "walk_from",
]

#: Link-rate models, as in the scenario's ``ground.rate_model``.
RATE_MODELS = ("fixed", "range")

INF = float("inf")

Windows = tuple[list[float], list[float], list[float]]


def walk(windows: Windows, t0: float, amount: float) -> tuple[float, float]:
    """Do ``amount`` units of work in ``windows`` starting no earlier than ``t0``.

    Work pauses between windows and resumes in the next one, so a transfer larger than a
    pass continues in the following pass with its progress kept.

    Args:
        windows: ``(starts, ends, rates)``.
        t0: Earliest start.
        amount: Work to do (bytes, or seconds of compute at rate 1); ``0`` finishes at the
            first instant a window is open.

    Returns:
        ``(start, finish)``: when the work first progresses and when it completes;
        ``finish`` is ``inf`` when the windows run out first (``start`` too if none is left).

    >>> w = ([0.0, 100.0], [10.0, 110.0], [5.0, 5.0])
    >>> walk(w, 2.0, 20.0)      # fits in the first window
    (2.0, 6.0)
    >>> walk(w, 2.0, 60.0)      # 40 units in the first window, 20 in the second
    (2.0, 104.0)
    >>> walk(w, 50.0, 100.0)    # does not fit before the windows run out
    (100.0, inf)
    """
    starts, ends, rates = windows
    return walk_from(starts, ends, rates, bisect_right(ends, t0), len(starts), t0, amount)


def walk_from(
    starts: Sequence[float],
    ends: Sequence[float],
    rates: Sequence[float],
    i: int,
    stop: int,
    t0: float,
    amount: float,
) -> tuple[float, float]:
    """``walk`` from window ``i``, the first that ends after ``t0``, with windows up to ``stop``.

    The one implementation of the walk: ``walk`` calls it on window lists, and
    ``envs.sim.kernel`` compiles it with numba for slices of its packed window arrays.
    """
    if i >= stop:
        return INF, INF
    first = starts[i] if starts[i] > t0 else t0
    begin = first
    while True:
        capacity = (ends[i] - begin) * rates[i]
        if amount <= capacity:
            return first, begin + amount / rates[i]
        amount -= capacity
        i += 1
        if i >= stop:
            return first, INF
        begin = starts[i]


def merge_max_rate(
    starts: Sequence[float], ends: Sequence[float], rates: Sequence[float]
) -> Windows:
    """Union of possibly overlapping intervals, each piece at the highest rate covering it.

    Used when a satellite may talk to any of several stations: where two passes overlap it
    uses the better link (one radio per direction, so rates never add).

    >>> merge_max_rate([0.0, 5.0], [10.0, 20.0], [1.0, 3.0])
    ([0.0, 5.0], [5.0, 20.0], [1.0, 3.0])
    """
    if len(starts) == 0:
        return [], [], []
    edges = np.unique(np.concatenate([np.asarray(starts, float), np.asarray(ends, float)]))
    s = np.asarray(starts, float)[:, None]
    e = np.asarray(ends, float)[:, None]
    mid = 0.5 * (edges[:-1] + edges[1:])[None, :]
    cover = (s <= mid) & (mid < e)
    best = np.where(cover, np.asarray(rates, float)[:, None], 0.0).max(axis=0)
    out_s: list[float] = []
    out_e: list[float] = []
    out_r: list[float] = []
    for lo, hi, rate in zip(edges[:-1].tolist(), edges[1:].tolist(), best.tolist(), strict=True):
        if rate <= 0.0:
            continue
        if out_e and out_e[-1] == lo and out_r[-1] == rate:
            out_e[-1] = hi
        else:
            out_s.append(lo)
            out_e.append(hi)
            out_r.append(rate)
    return out_s, out_e, out_r


def pass_rates_bytes_per_s(
    plan: ContactPlan,
    link_bps: ArrayLike,
    *,
    rate_model: str = "fixed",
    reference_range_km: float = 1000.0,
) -> NDArray[np.float64]:
    """Data rate of every pass of a plan, bytes/s, as the simulator computes it.

    Args:
        plan: The contact plan.
        link_bps: Rate of each station of the plan, bit/s (e.g. its ``downlink_bps``).
        rate_model: ``fixed``: the station's rate for the whole pass; ``range``: scaled by
            ``(reference_range_km / range at maximum elevation) ** 2``, capped at 1.
        reference_range_km: Range at which the ``range`` model gives the full rate.

    Returns:
        One rate per pass of ``plan.passes``.

    >>> from datetime import datetime, timezone
    >>> from envs.contact_plan import ContactPlan, PassArrays
    >>> one = np.ones(1)
    >>> passes = PassArrays(np.array([1]), np.array([0]), 0 * one, 600 * one, 300 * one,
    ...                     45 * one, 800 * one, one < 0, one < 0)  # range 800 km
    >>> plan = ContactPlan(datetime(2025, 6, 1, tzinfo=timezone.utc), 3600.0, ("S0", "S1"),
    ...                    ("Svalbard",), np.array([0]), ("ksat",), passes)
    >>> pass_rates_bytes_per_s(plan, [8e6]).tolist()
    [1000000.0]
    >>> pass_rates_bytes_per_s(plan, [8e6], rate_model="range", reference_range_km=400.0).tolist()
    [250000.0]
    """
    station_bytes_per_s = np.asarray(link_bps, dtype=float) / 8.0
    if station_bytes_per_s.shape != (len(plan.station_names),):
        raise ConfigError(
            f"link_bps: need one rate per station ({len(plan.station_names)}), "
            f"got shape {station_bytes_per_s.shape}"
        )
    p = plan.passes
    if rate_model == "fixed":
        return station_bytes_per_s[p.station]
    if rate_model == "range":
        scale = np.minimum(1.0, (reference_range_km / np.maximum(p.range_at_max_km, 1e-3)) ** 2)
        return station_bytes_per_s[p.station] * scale
    raise ConfigError(f"rate_model: must be one of {', '.join(RATE_MODELS)}, got {rate_model!r}")
