"""Statistics of an evaluation: summary rows, paired differences and paired ratios.

Summary statistics per (agent, load) pool the completed jobs of all episodes:
``mean_turnaround_s`` is the mean over all completed jobs, ``p50/p95/p99`` are percentiles
of the pooled turnarounds, ``drop_rate = dropped / (completed + dropped)``.
``cost_per_job_s`` is the environment's objective per arrived job (time in system of every
job plus ``drop_penalty_s`` per drop: minus the return, ``reset_reward`` included), the
number that charges a policy for the jobs it drops; it is computed from the job table
(``envs.sim.job_costs_s``), so it is right also when every job is dropped before the first
decision. After each load's agents comes a ``bound`` row (a reference bound): every job's
contention-free earliest delivery (``envs.sim.bounds``), which no policy beats; a job it
cannot deliver within the horizon or by its deadline counts as dropped, and its cost is
``contention_free_cost_s`` (a lower bound of every policy's cost).
``mean_ci_low_s``/``mean_ci_high_s`` are a 95 % BCa bootstrap over *episodes*
(``scipy.stats.bootstrap`` through :mod:`agents.bootstrap`):
:data:`agents.bootstrap.BOOTSTRAP_RESAMPLES` resamples of the episodes with replacement,
statistic = pooled mean turnaround of the resample (total turnaround / completed jobs). The
generator seed (:data:`agents.bootstrap.BOOTSTRAP_SEED`) is fixed and the same for every row,
so agents are resampled in pairs and results repeat exactly. ``ci_method`` says how the
interval was obtained (``BCa``; ``percentile`` where BCa is undefined; ``point`` where every
resample agrees, e.g. one episode: the interval is the mean). ``few_seeds`` is true below
:data:`agents.bootstrap.MIN_SEEDS` episodes, where an interval means little.

Everything here is data in, rows out: the runner (:mod:`agents.evaluate`) calls
:func:`summarize`, the report (:mod:`agents.report`) prints and writes the rows. The generic
resampling (BCa over episode indices, its fallbacks) stays in :mod:`agents.bootstrap`, which
knows nothing of episodes' contents.

>>> from agents.evaluate import evaluate
>>> res = evaluate("toy", ["random", "ect"], loads=[1.0], episodes=2, seed=0, progress=False)
>>> [(r["agent"], r["episodes"]) for r in res.summary]
[('random', 2), ('ect', 2), ('bound', 2)]
>>> len(paired_differences(res, "ect", "random"))
2
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.bootstrap import (
    BOOTSTRAP_RESAMPLES,
    MIN_SEEDS,
    Interval,
    episode_interval,
    episode_weights,
)
from agents.results import BOUND_LABEL, EpisodeResult, EvaluationResult
from agents.specs import parse_agents
from envs.errors import ConfigError

__all__ = [
    "COMPARISON_COLUMNS",
    "SUMMARY_COLUMNS",
    "PairedDifference",
    "bootstrap_ci",
    "compare_with",
    "paired_differences",
    "pooled_mean_interval",
    "summarize",
]

SUMMARY_COLUMNS = (
    "agent", "scenario", "load", "episodes", "mean_turnaround_s", "p50_turnaround_s",
    "p95_turnaround_s", "p99_turnaround_s", "completed", "dropped", "drop_rate",
    "mean_ci_low_s", "mean_ci_high_s", "in_flight", "cost_per_job_s", "reference_bound",
    "ci_method", "few_seeds",
)  # fmt: skip


def pooled_mean_interval(sums: np.ndarray, counts: np.ndarray) -> Interval:
    """95 % BCa bootstrap over episodes of the pooled mean ``sum(sums) / sum(counts)``."""
    sums, counts = np.asarray(sums, dtype=float), np.asarray(counts, dtype=float)
    if counts.sum() == 0:
        return Interval(math.nan, math.nan, "none")

    def pooled(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums[idx].sum(axis=axis) / counts[idx].sum(axis=axis)

    return episode_interval(pooled, len(sums))


def bootstrap_ci(sums: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """The bounds of :func:`pooled_mean_interval` (NaN when nothing was counted)."""
    interval = pooled_mean_interval(sums, counts)
    return interval.low, interval.high


def summarize(config: dict[str, Any], episodes: Sequence[EpisodeResult]) -> list[dict[str, Any]]:
    """One row per (agent, load) with :data:`SUMMARY_COLUMNS` (see the module docstring).

    Each load ends with a :data:`BOUND_LABEL` row: the contention-free lower bound of every
    job's turnaround (``envs.sim.bounds``) over the load's jobs (the same for every agent,
    the seeds being paired), marked as a reference bound.
    """
    rows = []
    for load in config["loads"]:
        for spec in parse_agents(config["agents"]):
            eps = [e for e in episodes if e.agent == spec.label and e.load == load]
            rows.append(_summary_row(config, spec.label, load, eps, spec.reference_bound))
        first = parse_agents(config["agents"])[0].label
        eps = [e for e in episodes if e.agent == first and e.load == load]
        if eps:
            rows.append(_summary_row(config, BOUND_LABEL, load, eps, True, bound=True))
    return rows


def _summary_row(
    config: dict[str, Any],
    label: str,
    load: float,
    eps: Sequence[EpisodeResult],
    reference: bool,
    *,
    bound: bool = False,
) -> dict[str, Any]:
    if bound:  # every arrived job at its bound; one it cannot deliver is dropped by all
        arrived_jobs = [e.jobs["status"] != "future" for e in eps]
        finite = [np.isfinite(e.jobs["bound_turnaround_s"]) for e in eps]
        pairs = zip(eps, finite, arrived_jobs, strict=True)
        turn = [e.jobs["bound_turnaround_s"][f & a] for e, f, a in pairs]
        completed, in_flight = sum(len(t) for t in turn), 0
        dropped = sum(int((~f & a).sum()) for f, a in zip(finite, arrived_jobs, strict=True))
        cost = sum(e.metrics.get("bound_cost_s", math.nan) for e in eps)
    else:
        turn = [e.turnarounds_s for e in eps]
        completed = sum(e.metrics["jobs_completed"] for e in eps)
        dropped = sum(e.metrics["jobs_dropped"] for e in eps)
        in_flight = sum(e.metrics["jobs_in_flight"] for e in eps)
        cost = sum(e.metrics.get("cost_s", math.nan) for e in eps)
    pooled = np.concatenate(turn) if turn else np.zeros(0)
    if len(pooled):
        mean = float(pooled.mean())
        p50, p95, p99 = (float(x) for x in np.percentile(pooled, [50, 95, 99]))
    else:
        mean = p50 = p95 = p99 = math.nan
    sums = np.array([t.sum() for t in turn])
    interval = pooled_mean_interval(sums, np.array([len(t) for t in turn]))
    arrived = sum(e.metrics["jobs_arrived"] for e in eps)
    values = (
        label, config["scenario"], load, len(eps), mean, p50, p95, p99,
        completed, dropped, dropped / (completed + dropped) if completed + dropped
        else math.nan, interval.low, interval.high, in_flight,
        cost / arrived if arrived else math.nan, reference, interval.method, len(eps) < MIN_SEEDS,
    )  # fmt: skip
    return dict(zip(SUMMARY_COLUMNS, values, strict=True))


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Mean turnaround of agents ``a`` and ``b`` on the same episode, and ``a − b``."""

    load: float
    seed: int
    mean_a_s: float
    mean_b_s: float
    difference_s: float


def paired_differences(result: EvaluationResult, a: str, b: str) -> list[PairedDifference]:
    """Per-(load, seed) difference in mean turnaround ``a − b`` (negative: ``a`` is faster).

    Both agents played the same jobs in each episode, so these differences cancel the
    episode-to-episode variation of the workload.
    """
    labels = result.config["agents"]
    for name in (a, b):
        if name not in labels:
            raise ConfigError(f"agent: {name!r} was not evaluated (agents: {', '.join(labels)})")
    out = []
    for load in result.config["loads"]:
        for ea, eb in zip(result.episodes_of(a, load), result.episodes_of(b, load), strict=True):
            ma, mb = ea.metrics["mean_turnaround_s"], eb.metrics["mean_turnaround_s"]
            out.append(PairedDifference(load, ea.seed, ma, mb, ma - mb))
    return out


#: Columns of :func:`compare_with` (``comparison.csv``): ratios agent / reference.
COMPARISON_COLUMNS = (
    "agent", "reference", "load", "episodes", "mean_ratio", "mean_ratio_low", "mean_ratio_high",
    "p95_ratio", "p95_ratio_low", "p95_ratio_high", "cost_ratio", "cost_ratio_low",
    "cost_ratio_high", "drop_rate", "reference_drop_rate", "ci_method", "few_seeds",
)  # fmt: skip


def _weighted_p95(values: np.ndarray, episode: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """95th percentile (inverted CDF) of pooled ``values`` for each row of episode ``weights``.

    ``values`` is sorted and ``episode[i]`` is the episode of ``values[i]``; a resample that
    takes an episode ``w`` times counts each of its jobs ``w`` times.
    """
    out = np.full(len(weights), math.nan)
    for row, w in enumerate(weights):
        cum = np.cumsum(w[episode])
        if len(cum) and cum[-1] > 0:
            out[row] = values[np.searchsorted(cum, 0.95 * cum[-1])]
    return out


class _EpisodeStats:
    """An agent's pooled statistics for any episode weights ``(..., n)`` (a resample each)."""

    def __init__(self, eps: Sequence[EpisodeResult]) -> None:
        turn = [e.turnarounds_s for e in eps]
        self.sums = np.array([t.sum() for t in turn], dtype=float)
        self.counts = np.array([len(t) for t in turn], dtype=float)
        self.costs = np.array([e.metrics.get("cost_s", math.nan) for e in eps], dtype=float)
        pooled = np.concatenate(turn) if turn else np.zeros(0)
        episode = np.repeat(np.arange(len(eps)), [len(t) for t in turn])
        order = np.argsort(pooled, kind="stable")
        self.values, self.episode = pooled[order], episode[order]
        done = sum(e.metrics["jobs_completed"] for e in eps)
        dropped = sum(e.metrics["jobs_dropped"] for e in eps)
        self.drop_rate = dropped / max(done + dropped, 1)

    def mean(self, w: np.ndarray) -> np.ndarray:
        return (w @ self.sums) / (w @ self.counts)

    def p95(self, w: np.ndarray) -> np.ndarray:
        flat = w.reshape(-1, w.shape[-1])
        return _weighted_p95(self.values, self.episode, flat).reshape(w.shape[:-1])

    def cost(self, w: np.ndarray) -> np.ndarray:
        return w @ self.costs


def compare_with(
    result: EvaluationResult,
    reference: str | Mapping[float, str] = "ect",
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    include_reference: bool = False,
) -> list[dict[str, Any]]:
    """Every other agent against ``reference`` on the same episodes, one row per agent and load.

    ``mean_ratio`` and ``p95_ratio`` are the agent's pooled mean and 95th-percentile
    turnaround (completed jobs) over the reference's; ``cost_ratio`` is the same for the
    objective (time in system plus drop penalties, summed over the episodes). The intervals
    are a 95 % *paired* BCa bootstrap (:func:`agents.bootstrap.episode_interval`): resample
    the seeds with replacement and recompute both agents' statistics on the same resampled
    episodes, so the workload's variation cancels. Ratios below 1 favour the agent; an
    interval that excludes 1 is a difference the seeds support. The p95 here is the
    inverted-CDF percentile (the summary's interpolates). ``ci_method`` is the weakest method
    of the three intervals (``BCa``, else ``percentile``, else ``point``: every resample gave
    the same ratio); ``few_seeds`` is true below :data:`agents.bootstrap.MIN_SEEDS` seeds.

    Args:
        result: An evaluation with the reference among its agents.
        reference: One agent label for every load, or a mapping load → label (e.g. the best
            heuristic of each load); loads the mapping leaves out are not compared.
        resamples: Bootstrap resamples.
        include_reference: Also give the reference's own row (every ratio exactly 1, with
            a degenerate interval).
    """
    agents = result.config["agents"]
    if isinstance(reference, str):
        refs = {load: reference for load in result.config["loads"]}
    else:
        refs = {load: reference[load] for load in result.config["loads"] if load in reference}
    for name in refs.values():
        if name not in agents:
            raise ConfigError(
                f"reference: {name!r} was not evaluated (agents: {', '.join(agents)})"
            )
    rows = []
    for load, ref_label in refs.items():
        labels = [a for a in agents if include_reference or a != ref_label]
        ref = result.episodes_of(ref_label, load)
        n = len(ref)
        if n == 0:
            continue
        stats = {}
        for label in dict.fromkeys([ref_label, *labels]):
            eps = result.episodes_of(label, load)
            if [e.seed for e in eps] != [e.seed for e in ref]:
                raise ConfigError(f"agent {label!r}: episodes are not paired with {ref_label!r}")
            stats[label] = _EpisodeStats(eps)
        for label in labels:
            row = {"agent": label, "reference": ref_label, "load": load, "episodes": n}
            methods = []
            for key in ("mean", "p95", "cost"):
                a, b = getattr(stats[label], key), getattr(stats[ref_label], key)

                def ratio(idx: np.ndarray, axis: int = -1, a=a, b=b, n=n) -> np.ndarray:
                    w = episode_weights(idx, n)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        return a(w) / b(w)

                interval = episode_interval(ratio, n, resamples=resamples)
                point = float(ratio(np.arange(n)))
                methods.append(interval.method)
                row |= {f"{key}_ratio": point, f"{key}_ratio_low": interval.low,
                        f"{key}_ratio_high": interval.high}  # fmt: skip
            row["drop_rate"] = stats[label].drop_rate
            row["reference_drop_rate"] = stats[ref_label].drop_rate
            row["ci_method"] = next((m for m in ("none", "percentile", "BCa") if m in methods),
                                    "point")  # fmt: skip
            row["few_seeds"] = n < MIN_SEEDS
            rows.append(row)
    return rows
