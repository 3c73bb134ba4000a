"""Bootstrap intervals over episodes (seeds): BCa from ``scipy.stats.bootstrap``, seeded.

Every interval of the evaluation resamples *episodes* with replacement: a statistic is a
function of the episode indices of a resample (the pooled mean turnaround of those
episodes, an agent's cost over the reference's on the same episodes, ...). Handing scipy
the indices keeps agents paired: with one generator seed for every row, every agent and
every statistic sees the same resampled episodes.

The interval is the bias-corrected and accelerated (BCa) bootstrap. Where BCa cannot be
computed it falls back, and :attr:`Interval.method` says so:

* ``"point"``: every resample gives the same value (one episode, or an agent exactly
  proportional to its reference on every episode): the interval is the point;
* ``"percentile"``: BCa is undefined (e.g. the jackknife values are all equal, or some
  resamples have no completed job) but the resamples vary: the 2.5th and 97.5th
  percentiles of the finite resampled values;
* ``"none"``: no resample has a finite value (NaN interval).

With fewer than :data:`MIN_SEEDS` episodes an interval is computed but means little;
:func:`few_seeds_warning` gives the line the scripts print.

>>> sums, counts = np.array([10.0, 20.0, 30.0, 40.0, 50.0]), np.ones(5)
>>> iv = episode_interval(lambda i, axis=-1: sums[i].sum(axis) / counts[i].sum(axis), 5)
>>> iv.method, iv.low < 30.0 < iv.high
('BCa', True)
>>> episode_interval(lambda i, axis=-1: np.full(i.shape[:-1], 2.0), 5)
Interval(low=2.0, high=2.0, method='point')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "MIN_SEEDS",
    "Interval",
    "episode_interval",
    "episode_weights",
    "few_seeds_warning",
]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20250601
CONFIDENCE = 0.95
#: Below this many episodes (seeds) an interval is flagged: it says little about the policy.
MIN_SEEDS = 5


@dataclass(frozen=True, slots=True)
class Interval:
    """A bootstrap interval and its ``method``: ``BCa``, ``percentile``, ``point`` or ``none``."""

    low: float
    high: float
    method: str


def episode_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` episodes appears in each resample: ``idx (..., m)`` → ``(..., n)``.

    >>> episode_weights(np.array([[0, 0, 2], [1, 2, 2]]), 3).tolist()
    [[2, 0, 1], [0, 1, 2]]
    """
    idx = np.asarray(idx)
    flat = idx.reshape(-1, idx.shape[-1])
    out = np.zeros((len(flat), n), dtype=np.int64)
    np.add.at(out, (np.repeat(np.arange(len(flat)), flat.shape[1]), flat.ravel()), 1)
    return out.reshape(*idx.shape[:-1], n)


def episode_interval(
    statistic: Callable[..., np.ndarray],
    n: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """95 % BCa bootstrap interval of ``statistic`` over ``n`` episodes (see the module doc).

    Args:
        statistic: ``statistic(idx, axis=-1)``: episode indices ``(..., m)`` → values ``(...)``
            (vectorised, as ``scipy.stats.bootstrap`` calls it).
        n: Number of episodes.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling generator (the same seed resamples agents in pairs).
    """
    from scipy.stats import bootstrap

    point = float(statistic(np.arange(n), axis=-1)) if n else math.nan
    if n < 2:
        return Interval(point, point, "point") if math.isfinite(point) else _NONE
    # The resamples first (percentile), then BCa on the same resamples only where it is
    # defined: scipy warns on degenerate data, and silencing that warning would reset
    # Python's once-only warning registry (the scenario's own warnings would repeat).
    def finite_statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.nan_to_num(statistic(idx, axis=axis), nan=np.inf)  # NaN: no interval

    data, rng = (np.arange(n),), np.random.default_rng(seed)
    common = {"vectorized": True, "confidence_level": CONFIDENCE, "rng": rng}
    with np.errstate(all="ignore"):
        res = bootstrap(data, finite_statistic, n_resamples=resamples, method="percentile",
                        **common)  # fmt: skip
    values = np.asarray(res.bootstrap_distribution, dtype=float)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return _NONE
    scale = max(1.0, abs(point)) if math.isfinite(point) else 1.0
    if np.ptp(finite) <= 1e-12 * scale:
        value = point if math.isfinite(point) else float(finite[0])
        return Interval(value, value, "point")
    if len(finite) == len(values) and _bca_defined(statistic, n, point, values):
        with np.errstate(all="ignore"):
            bca = bootstrap(data, statistic, n_resamples=0, method="BCa", bootstrap_result=res,
                            **common)  # fmt: skip
        low, high = float(bca.confidence_interval.low), float(bca.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return Interval(low, high, "BCa")
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(low), float(high), "percentile")


_NONE = Interval(math.nan, math.nan, "none")


def _bca_defined(
    statistic: Callable[..., np.ndarray], n: int, point: float, values: np.ndarray
) -> bool:
    """Whether BCa's bias and acceleration are finite.

    That needs the point strictly inside the resampled values and leave-one-out (jackknife)
    values that are finite and not all equal.
    """
    if not math.isfinite(point) or not 0.0 < float(np.mean(values < point)) < 1.0:
        return False
    leave_one_out = np.array([np.delete(np.arange(n), i) for i in range(n)])
    with np.errstate(all="ignore"):
        jackknife = np.asarray(statistic(leave_one_out, axis=-1), dtype=float)
    return bool(np.isfinite(jackknife).all() and np.ptp(jackknife) > 0)


def few_seeds_warning(episodes: int, what: str = "per load") -> str | None:
    """The one-line warning when ``episodes`` < :data:`MIN_SEEDS` (else ``None``).

    >>> few_seeds_warning(3)
    'warning: 3 seeds per load: 95 % intervals from fewer than 5 seeds mean little; run 5 or more'
    >>> few_seeds_warning(5) is None
    True
    """
    if episodes >= MIN_SEEDS:
        return None
    return (
        f"warning: {episodes} seed{'s' * (episodes != 1)} {what}: 95 % intervals from fewer "
        f"than {MIN_SEEDS} seeds mean little; run {MIN_SEEDS} or more"
    )
