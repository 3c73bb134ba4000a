"""Arrival processes: Poisson, diurnal (local solar time) and request-trace replay.

Each returns sorted arrival times in ``[0, duration_s)`` drawn from the generator it is
given; ``envs.jobs.generate_jobs`` combines them with origins, tokens and models into an
episode's jobs (and re-exports them).
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from envs.constants import HOUR_S
from envs.errors import ConfigError
from envs.limits import check_count
from envs.timeutil import require_utc
from envs.traces import Trace

__all__ = ["diurnal_times", "finite_nonneg", "poisson_times", "trace_times"]


def finite_nonneg(field: str, value: float, *, positive: bool = False) -> float:
    """``value`` as a float, finite and >= 0 (> 0 if ``positive``), else :class:`ConfigError`.

    >>> finite_nonneg("rate_per_s", 2)
    2.0
    """
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(
            f"{field}: expected a finite {'> 0' if positive else '>= 0'}, got {value}"
        )
    return value


def poisson_times(rate_per_s: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a homogeneous Poisson process in ``[0, duration_s)``.

    Draws the count (one Poisson variate), then that many uniform times.

    >>> t = poisson_times(2.0, 100.0, np.random.default_rng(1))
    >>> bool(np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < 100.0)
    True
    """
    rate = finite_nonneg("rate_per_s", rate_per_s)
    duration = finite_nonneg("duration_s", duration_s)
    check_count("jobs", rate * duration, "rate_per_s", f"{rate:g}/s × {duration:g} s")
    n = int(rng.poisson(rate * duration))
    return np.sort(rng.uniform(0.0, duration, n))


def diurnal_times(
    rate_per_s: float,
    duration_s: float,
    rng: np.random.Generator,
    *,
    epoch: datetime,
    lon_deg: float,
    amplitude: float,
    peak_hour: float,
) -> np.ndarray:
    """Arrival times of a Poisson process whose rate follows local mean solar time.

    The rate is ``rate_per_s * (1 + amplitude * cos(2π (h(t) − peak_hour) / 24))`` with
    ``h(t)`` the local mean solar hour at ``lon_deg`` (UTC hour + lon/15, mod 24), so its mean
    over a whole day is ``rate_per_s``. Sampled by thinning a process at the peak rate: draws
    :func:`poisson_times` at ``rate_per_s * (1 + amplitude)``, then one uniform per candidate.

    >>> from datetime import datetime, timezone
    >>> t = diurnal_times(0.1, 86400.0, np.random.default_rng(0), lon_deg=120.0,
    ...     epoch=datetime(2025, 6, 1, tzinfo=timezone.utc), amplitude=0.8, peak_hour=14.0)
    >>> 8000 < t.size < 9300
    True
    """
    rate = finite_nonneg("rate_per_s", rate_per_s)
    amp = finite_nonneg("amplitude", amplitude)
    if amp > 1:
        raise ConfigError(f"amplitude: expected a value in [0, 1], got {amp}")
    epoch = require_utc(epoch)
    hour0 = epoch.hour + epoch.minute / 60 + (epoch.second + epoch.microsecond * 1e-6) / 3600
    candidates = poisson_times(rate * (1.0 + amp), duration_s, rng)
    u = rng.random(candidates.size)
    hour = (hour0 + candidates / HOUR_S + float(lon_deg) / 15.0) % 24.0
    relative = 1.0 + amp * np.cos(2.0 * np.pi * (hour - float(peak_hour)) / 24.0)
    return candidates[u * (1.0 + amp) < relative]


def trace_times(
    trace: Trace,
    duration_s: float,
    *,
    time_scale: float = 1.0,
    loop: bool = True,
    start_row: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Replay a trace: arrival times in ``[0, duration_s)`` and the trace row of each.

    The request of row ``start_row`` arrives at 0 and offsets are divided by ``time_scale``
    (2 = twice as fast). The replay runs to the last row, then wraps around to rows
    ``0 .. start_row - 1``, as if the trace were a loop of period ``span / time_scale + mean
    gap`` (the mean gap keeps the seam as dense as the rest). With ``loop`` the whole
    sequence repeats with that period; without it each row is replayed at most once.
    Looping or a ``start_row`` other than 0 needs at least two rows and a positive span.
    No randomness.

    >>> trace = Trace(np.array([0.0, 2.0, 4.0]), np.array([5, 6, 7]), np.array([1, 2, 3]))
    >>> t, rows = trace_times(trace, 7.0, time_scale=2.0)  # period 4 s / 2 + 1 s mean gap
    >>> t.tolist(), rows.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0, 1, 2, 0, 1, 2, 0])
    >>> t, rows = trace_times(trace, 7.0, time_scale=2.0, start_row=2)
    >>> t.tolist(), rows.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 0, 1, 2, 0, 1, 2])
    """
    duration = finite_nonneg("duration_s", duration_s)
    scale = finite_nonneg("time_scale", time_scale, positive=True)
    if (
        isinstance(start_row, bool)
        or not isinstance(start_row, (int, np.integer))
        or not (0 <= start_row < max(trace.size, 1))
    ):
        raise ConfigError(
            f"{trace.source}: start_row: expected an integer in [0, {trace.size}), "
            f"got {start_row!r}"
        )
    base = (trace.offset_s - trace.offset_s[0]) / scale if trace.size else trace.offset_s
    rows = np.arange(trace.size, dtype=np.int64)
    wrap = start_row > 0 or (loop and duration > 0)
    if wrap and (trace.size < 2 or trace.span_s <= 0):
        raise ConfigError(
            f"{trace.source}: cannot loop or start a trace at a later row with < 2 rows or "
            "zero span"
        )
    period = trace.span_s / scale * trace.size / (trace.size - 1) if wrap else 0.0
    if start_row > 0:
        base = np.concatenate([base[start_row:], base[:start_row] + period]) - base[start_row]
        rows = np.roll(rows, -start_row)
    if loop and duration > 0:
        period = trace.span_s / scale * trace.size / (trace.size - 1)
        check_count(
            "jobs", duration / period * trace.size, trace.source,
            f"{trace.size} rows spanning {trace.span_s:g} s, looped over {duration:g} s at "
            f"time_scale × load {scale:g},",
            hint="give a trace with a longer span, or lower episode.duration_s or the load",
        )  # fmt: skip
        repeats = max(1, math.ceil(duration / period))
        base = (base[None, :] + period * np.arange(repeats)[:, None]).ravel()
        rows = np.tile(rows, repeats)
    keep = base < duration
    return base[keep], rows[keep]
