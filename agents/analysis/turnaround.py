"""Turnaround study: which jobs come back within two minutes, and why the others do not.

Every job of an evaluation (a ``job_table`` row, see ``agents.results``) is classified
against the scenario's contact plan by :func:`classify`:

* **pass timing** — where its submission falls relative to the passes over its origin
  station: during a pass (with at least, or less than, two minutes until the last satellite
  in view sets) or some time before the next pass begins (:data:`TIMING_BINS`);
* **one contact** — whether its uplink, compute and delivery all happened inside the contact
  during which its uplink began (the satellite's contact window with the origin's network,
  overlapping passes over several stations merged, as ``ContactPlan.next_window``);
* **stages** — the six stage durations (:data:`STAGES`) and the longest one, its bottleneck.

:func:`share_table` then pools the jobs by any grouping (policy, origin station, pass timing,
hour of submission) and reports the share with turnaround under the threshold. The share
counts every job that arrived (dropped and undelivered jobs are not under it); its 95 %
interval is the percentile bootstrap over episodes that ``agents.stats`` uses for the mean.
The figures of the study are :mod:`agents.analysis.figures`.

>>> import numpy as np
>>> jobs = {"arrival_s": np.array([10.0, 10.0]), "delivered_s": np.array([40.0, 400.0]),
...         "status": np.array(["completed", "completed"])}
>>> jobs["turnaround_s"] = jobs["delivered_s"] - jobs["arrival_s"]
>>> [(r["jobs"], r["under"], r["share"]) for r in share_table(jobs, [])]
[(2, 1, 0.5)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agents.stats import bootstrap_ci
from envs.contact_plan import ContactPlan

if TYPE_CHECKING:
    from agents.results import EpisodeResult

__all__ = [
    "SHARE_COLUMNS",
    "STAGES",
    "THRESHOLD_S",
    "TIMING_BINS",
    "classify",
    "day_offset_s",
    "group_codes",
    "pass_timing",
    "pool",
    "share_table",
    "stage_table",
]

#: "Query upload to result in under two minutes".
THRESHOLD_S = 120.0
#: Stages of a turnaround, each the time between two timeline events of ``job_table``.
STAGES = ("wait_uplink", "uplink", "queue", "compute", "wait_downlink", "downlink")
_EDGES = (
    "arrival_s",
    "uplink_start_s",
    "uplink_end_s",
    "compute_start_s",
    "compute_end_s",
    "downlink_start_s",
    "delivered_s",
)
#: Submission relative to the passes over the job's origin station, in this order.
TIMING_BINS = (
    "in pass, >= 2 min left",
    "in pass, < 2 min left",
    "pass in < 2 min",
    "pass in 2-60 min",
    "pass in 1-4 h",
    "pass in > 4 h",
    "on board",
)
_WAIT_EDGES_S = np.array([120.0, 3600.0, 4 * 3600.0])
#: Columns of :func:`share_table` rows after the grouping keys.
SHARE_COLUMNS = (
    "jobs",
    "completed",
    "dropped",
    "under",
    "share",
    "share_ci_low",
    "share_ci_high",
    "bound_share",
    "in_pass_share",
    "one_contact_share",
    "median_turnaround_s",
)
_ORDERS = {"pass_timing": TIMING_BINS}


def pass_timing(
    plan: ContactPlan, station: NDArray[np.int64], t_s: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Where each time falls relative to the passes (of any satellite) over each station.

    Args:
        plan: The contact plan.
        station: Station index per time (negative: no station, both results NaN).
        t_s: Times in seconds since the plan's epoch.

    Returns:
        ``(left_s, to_pass_s)``: inside a pass, the seconds until the last satellite then in
        view sets and ``to_pass_s = 0``; outside, ``left_s = NaN`` and the seconds until the
        next pass rises (``inf`` when none is left in the horizon).
    """
    station = np.asarray(station, dtype=np.int64)
    t = np.asarray(t_s, dtype=np.float64)
    left = np.full(t.shape, np.nan)
    wait = np.full(t.shape, np.nan)
    p = plan.passes
    for g in np.unique(station[station >= 0]):
        sel = station == g
        idx = plan.station_passes(int(g))
        rise = p.rise_s[idx]
        reach = np.maximum.accumulate(p.set_s[idx]) if len(idx) else np.zeros(0)
        k = np.searchsorted(rise, t[sel], side="right") - 1  # last pass risen by t
        end = np.where(k >= 0, reach[np.maximum(k, 0)] if len(idx) else -np.inf, -np.inf)
        inside = end > t[sel]
        nxt = np.where(
            k + 1 < len(rise),
            rise[np.minimum(k + 1, len(rise) - 1)] if len(idx) else np.inf,
            np.inf,
        )
        left[sel] = np.where(inside, end - t[sel], np.nan)
        wait[sel] = np.where(inside, 0.0, nxt - t[sel])
    return left, wait


def day_offset_s(plan: ContactPlan) -> float:
    """Seconds from midnight UTC of the epoch's day to the epoch."""
    e = plan.epoch
    return e.hour * 3600.0 + e.minute * 60.0 + e.second + e.microsecond * 1e-6


def _timing_labels(left_s: NDArray[np.float64], to_pass_s: NDArray[np.float64]) -> NDArray:
    code = np.where(left_s >= 120.0, 0, 1)
    outside = ~(left_s >= 0)
    code[outside] = 2 + np.searchsorted(_WAIT_EDGES_S, to_pass_s[outside], side="right")
    code[np.isnan(to_pass_s)] = len(TIMING_BINS) - 1
    return np.asarray(TIMING_BINS)[code]


def classify(
    jobs: Mapping[str, NDArray], plan: ContactPlan, *, threshold_s: float = THRESHOLD_S
) -> dict[str, NDArray]:
    """New per-job columns for a ``job_table`` (``origin``/``sat`` index the plan's lists).

    Returns:
        ``origin_station`` (name, ``"on board"`` for jobs generated on board),
        ``submit_time_h`` (hour of day, UTC, of the arrival) and ``submit_hour`` (its floor),
        ``pass_left_s`` and ``to_pass_s`` (:func:`pass_timing` at arrival), ``pass_timing``
        (its :data:`TIMING_BINS` label), ``contact_end_s`` (end of the contact in which the
        uplink began; NaN without an uplink), ``one_contact`` (delivered by then),
        ``under_threshold`` (completed with turnaround < ``threshold_s``), one
        ``<stage>_s`` column per :data:`STAGES` entry (NaN where a stage did not happen) and
        ``bottleneck`` (the longest stage of a completed job, else ``""``).
    """
    origin = np.asarray(jobs["origin"], dtype=np.int64)
    sat = np.asarray(jobs["sat"], dtype=np.int64)
    arrival = np.asarray(jobs["arrival_s"], dtype=np.float64)
    delivered = np.asarray(jobs["delivered_s"], dtype=np.float64)
    ground = origin >= 0
    names = np.asarray([*plan.station_names, "on board"])
    hour = ((day_offset_s(plan) + arrival) % 86400.0) / 3600.0
    left, wait = pass_timing(plan, origin, arrival)
    up = np.asarray(jobs["uplink_start_s"], dtype=np.float64)
    end = np.full(len(origin), np.nan)
    has_up = ground & (sat >= 0) & np.isfinite(up)
    net = np.where(ground, plan.station_network[np.maximum(origin, 0)], -1)
    for n in np.unique(net[has_up]):
        sel = has_up & (net == n)
        end[sel] = plan.next_window(sat[sel], int(n), up[sel])[1]
    times = np.column_stack([np.asarray(jobs[c], dtype=np.float64) for c in _EDGES])
    times[~ground, 2] = arrival[~ground]  # on board: no uplink, the queue starts at arrival
    stages = np.diff(times, axis=1)
    stages[~ground, :2] = np.nan
    completed = np.asarray(jobs["status"]) == "completed"
    longest = np.argmax(np.nan_to_num(stages, nan=-1.0), axis=1)
    out: dict[str, NDArray] = {
        "origin_station": names[np.where(ground, origin, len(names) - 1)],
        "submit_time_h": hour,
        "submit_hour": np.floor(hour).astype(np.int64),
        "pass_left_s": left,
        "to_pass_s": wait,
        "pass_timing": _timing_labels(left, wait),
        "contact_end_s": end,
        "one_contact": delivered <= end,
        "under_threshold": completed & (jobs["turnaround_s"] < threshold_s),
    }
    for i, name in enumerate(STAGES):
        out[f"{name}_s"] = stages[:, i]
    out["bottleneck"] = np.where(completed, np.asarray(STAGES)[longest], "")
    return out


def pool(episodes: Sequence[EpisodeResult]) -> dict[str, NDArray]:
    """One table of the jobs of all episodes, with ``agent``, ``load`` and ``seed`` columns."""
    if not episodes:
        return {}
    n = [len(e.jobs["arrival_s"]) for e in episodes]
    table = {
        "agent": np.repeat([e.agent for e in episodes], n),
        "load": np.repeat([e.load for e in episodes], n),
        "seed": np.repeat([e.seed for e in episodes], n),
    }
    for name in episodes[0].jobs:
        table[name] = np.concatenate([e.jobs[name] for e in episodes])
    return table


def group_codes(values: NDArray, order: Sequence[Any] | None) -> tuple[list[Any], NDArray]:
    """Group labels and a code per row: a given order, sorted numbers, or first appearance."""
    values = np.asarray(values)
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    if order is not None:
        labels = [x for x in order if x in set(uniq.tolist())]
        rank = np.array([labels.index(x) for x in uniq.tolist()], dtype=np.int64)
    elif values.dtype.kind in "biuf":
        labels, rank = uniq.tolist(), np.arange(len(uniq))
    else:
        by_first = np.argsort(first, kind="stable")
        labels, rank = uniq[by_first].tolist(), np.argsort(by_first)
    return labels, rank[inverse.reshape(-1)]


def _groups(table: Mapping[str, NDArray], by: Sequence[str]) -> tuple[list[tuple], NDArray]:
    """Keys of the non-empty groups (in :func:`group_codes` order) and each row's group index."""
    n = len(table["arrival_s"])
    if not by:
        return [()], np.zeros(n, dtype=np.int64)
    parts = [group_codes(table[name], _ORDERS.get(name)) for name in by]
    dims = tuple(max(len(labels), 1) for labels, _ in parts)
    flat = np.ravel_multi_index([codes for _, codes in parts], dims) if n else np.zeros(0, int)
    present, inverse = np.unique(flat, return_inverse=True)
    index = np.unravel_index(present, dims)
    keys = [tuple(parts[j][0][index[j][i]] for j in range(len(by))) for i in range(len(present))]
    return keys, inverse.reshape(-1)


def _members(group: NDArray, n_groups: int) -> list[NDArray]:
    """Row indices of each group, in row order."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(n_groups)]


def share_table(
    table: Mapping[str, NDArray],
    by: Sequence[str],
    *,
    threshold_s: float = THRESHOLD_S,
) -> list[dict[str, Any]]:
    """Share of jobs with turnaround under ``threshold_s``, one row per group of ``by``.

    Args:
        table: Jobs: ``arrival_s``, ``status``, ``turnaround_s`` at least; ``agent``/``load``/
            ``seed`` name the episodes (absent: one episode); ``bound_turnaround_s`` (the
            contention-free bound of ``envs.sim.bounds``, which ``agents.evaluate`` adds),
            ``pass_timing`` and ``one_contact`` (from :func:`classify`) fill
            ``bound_share``, ``in_pass_share`` and ``one_contact_share`` (NaN without them).
        by: Grouping columns (``[]``: one row for all jobs).
        threshold_s: The turnaround threshold.

    Returns:
        Rows with the ``by`` keys and :data:`SHARE_COLUMNS`: counts of jobs (all that
        arrived), completed, dropped and under the threshold; ``share = under / jobs`` with a
        95 % bootstrap interval over episodes; the share whose contention-free bound is
        under the threshold (the most any policy could reach: geometry and the job's own
        compute time allow it); the shares of jobs that arrived during a pass over their
        origin and whose stages fit in one contact; the median turnaround of the completed
        jobs.
    """
    keys, group = _groups(table, by)
    status = np.asarray(table["status"])
    completed = status == "completed"
    turnaround = np.asarray(table["turnaround_s"], dtype=np.float64)
    under = completed & (turnaround < threshold_s)
    episode_cols = [c for c in ("agent", "load", "seed") if c in table]
    _, episode = _groups(table, episode_cols)
    n_ep = int(episode.max()) + 1 if len(episode) else 1
    cell = group * n_ep + episode
    size = len(keys) * n_ep
    jobs_ge = np.bincount(cell, minlength=size).reshape(len(keys), n_ep)
    under_ge = np.bincount(cell, weights=under, minlength=size).reshape(len(keys), n_ep)
    in_pass = (
        np.char.startswith(np.asarray(table["pass_timing"], dtype=str), "in pass")
        if "pass_timing" in table
        else None
    )
    one = np.asarray(table["one_contact"], bool) if "one_contact" in table else None
    bound = table.get("bound_turnaround_s")
    bound_under = np.asarray(bound, dtype=np.float64) < threshold_s if bound is not None else None
    rows = []
    for g, (key, rows_g) in enumerate(zip(keys, _members(group, len(keys)), strict=True)):
        n, k = len(rows_g), int(under[rows_g].sum())
        seen = jobs_ge[g] > 0
        low, high = bootstrap_ci(under_ge[g][seen], jobs_ge[g][seen])
        done = turnaround[rows_g][completed[rows_g]]
        values = (
            n,
            int(completed[rows_g].sum()),
            int((status[rows_g] == "dropped").sum()),
            k,
            k / n,
            low,
            high,
            float(bound_under[rows_g].mean()) if bound_under is not None else math.nan,
            float(in_pass[rows_g].mean()) if in_pass is not None else math.nan,
            float(one[rows_g].mean()) if one is not None else math.nan,
            float(np.median(done)) if len(done) else math.nan,
        )
        rows.append(
            {**dict(zip(by, key, strict=True)), **dict(zip(SHARE_COLUMNS, values, strict=True))}
        )
    return rows


def stage_table(table: Mapping[str, NDArray], by: Sequence[str]) -> list[dict[str, Any]]:
    """Median of every stage (seconds) over the completed jobs of each group of ``by``.

    ``table`` needs the :func:`classify` stage columns; rows have the ``by`` keys,
    ``completed`` and ``median_<stage>_s`` for each of :data:`STAGES`.
    """
    done = np.asarray(table["status"]) == "completed"
    sub = {name: np.asarray(col)[done] for name, col in table.items()}
    keys, group = _groups(sub, by)
    rows = []
    for key, rows_g in zip(keys, _members(group, len(keys)), strict=True):
        row: dict[str, Any] = {**dict(zip(by, key, strict=True)), "completed": len(rows_g)}
        for name in STAGES:
            values = sub[f"{name}_s"][rows_g]
            values = values[np.isfinite(values)]
            row[f"median_{name}_s"] = float(np.median(values)) if len(values) else math.nan
        rows.append(row)
    return rows
