"""Episode metrics and per-job timelines of a ``Sim``."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.sim.core import DROP_REASONS, STATUS, Sim

__all__ = ["METRIC_KEYS", "job_costs_s", "job_table", "metrics"]

METRIC_KEYS = (
    "jobs_arrived",
    "jobs_completed",
    "jobs_dropped",
    "jobs_in_flight",
    "mean_turnaround_s",
    "p50_turnaround_s",
    "p95_turnaround_s",
    "p99_turnaround_s",
)


def metrics(sim: Sim) -> dict[str, Any]:
    """Counts, turnaround statistics of completed jobs (NaN when none) and drops by reason.

    Also ``jobs_redispatched`` (sent back to the pending queue by a satellite failure; a job
    can count more than once) and ``satellites_failed`` (both 0 without faults).
    """
    delivered = np.frombuffer(sim.timeline["delivered"], dtype=np.float64)
    arrival = np.frombuffer(sim.arrival, dtype=np.float64)
    done = ~np.isnan(delivered)
    turnaround = delivered[done] - arrival[done]
    if len(turnaround):
        mean = float(turnaround.mean())
        p50, p95, p99 = (float(x) for x in np.percentile(turnaround, [50, 95, 99]))
    else:
        mean = p50 = p95 = p99 = float("nan")
    out: dict[str, Any] = {
        "jobs_arrived": sim.arrived,
        "jobs_completed": sim.completed,
        "jobs_dropped": sim.dropped,
        "jobs_in_flight": sim.in_flight,
        "mean_turnaround_s": mean,
        "p50_turnaround_s": p50,
        "p95_turnaround_s": p95,
        "p99_turnaround_s": p99,
    }
    for code, reason in enumerate(DROP_REASONS, start=1):
        out[f"dropped_{reason}"] = sim.drop_code.count(code)
    out["jobs_redispatched"] = sim.redispatched
    out["satellites_failed"] = len(sim.world.failed)
    return out


def job_table(sim: Sim) -> dict[str, np.ndarray]:
    """One row per job: attributes, satellite, status, drop reason, stage timeline and cost.

    Times are seconds since the epoch; NaN where a stage did not happen. With
    inter-satellite links also ``relay_sat`` (the satellite that downlinks the result, -1
    before compute ends), ``isl_hops`` and ``relay_arrival_s`` (when the result reached it).
    The last three columns:

    * ``turnaround_s``: delivery minus arrival (NaN unless completed);
    * ``time_in_system_s``: what the job spent in the system, as the reward counts it:
      arrival to delivery, to the drop, or to the simulator's ``now`` for a job still in
      the system (0 for a job that has not arrived);
    * ``cost_s``: its share of the environment's objective, ``time_in_system_s`` plus the
      scenario's ``reward.drop_penalty_s`` for a dropped job. The column sums to minus the
      episode's undiscounted return in seconds, ``reset_reward`` included (``envs.reward``).
    """
    table: dict[str, np.ndarray] = {
        "job": np.arange(sim.n_jobs),
        "arrival_s": np.array(sim.arrival),
        "origin": np.array(sim.origin),
        "model": np.array(sim.model),
        "input_tokens": np.array(sim.in_tokens),
        "output_tokens": np.array(sim.out_tokens),
        "sat": np.array(sim.sat),
        "status": np.asarray(STATUS)[np.frombuffer(sim.status, dtype=np.uint8)],
        "drop_reason": np.asarray(("", *DROP_REASONS))[
            np.frombuffer(sim.drop_code, dtype=np.uint8)
        ],
    }
    for name, values in sim.timeline.items():
        table[f"{name}_s"] = np.array(values)
    if sim.isl is not None:  # only with inter-satellite links, so tables without are unchanged
        table["relay_sat"] = np.array(sim.relay)
        table["isl_hops"] = np.array(sim.isl_hops)
        table["relay_arrival_s"] = np.array(sim.relay_arrival)
    table["turnaround_s"] = table["delivered_s"] - table["arrival_s"]
    table["time_in_system_s"] = _time_in_system_s(table, sim.now)
    table["cost_s"] = _with_drop_penalty(
        table["time_in_system_s"], table["status"], sim.scenario.reward.drop_penalty_s
    )
    return table


def job_costs_s(table: dict[str, np.ndarray], now_s: float, drop_penalty_s: float) -> np.ndarray:
    """Each job's share of the environment's objective, from a :func:`job_table`.

    The table's own ``cost_s`` column is this at the simulator's time with the scenario's
    penalty; this function prices a table at another ``now_s`` or penalty. Time in system
    (arrival to delivery, to the drop, or to ``now_s`` for a job still in the system) plus
    ``drop_penalty_s`` for a dropped job; 0 for a job that has not arrived. The sum is minus
    the undiscounted return in seconds (``envs.reward``), including what accrued before the
    first decision, so it holds however the episode ended (also when every job was dropped
    before any step was taken).

    >>> t = {"status": np.array(["completed", "dropped", "in_flight", "future"]),
    ...      "arrival_s": np.array([0.0, 10.0, 20.0, 90.0]),
    ...      "delivered_s": np.array([50.0, np.nan, np.nan, np.nan]),
    ...      "dropped_at_s": np.array([np.nan, 10.0, np.nan, np.nan])}
    >>> job_costs_s(t, 60.0, 1000.0).tolist()
    [50.0, 1000.0, 40.0, 0.0]
    """
    return _with_drop_penalty(_time_in_system_s(table, now_s), table["status"], drop_penalty_s)


def _time_in_system_s(table: dict[str, np.ndarray], now_s: float) -> np.ndarray:
    """Arrival to delivery, to the drop or to ``now_s``; 0 for a job that has not arrived."""
    status = np.asarray(table["status"])
    arrival = np.asarray(table["arrival_s"], dtype=np.float64)
    delivered = np.asarray(table["delivered_s"], dtype=np.float64)
    dropped_at = np.asarray(table["dropped_at_s"], dtype=np.float64)
    end = np.where(np.isnan(delivered), dropped_at, delivered)
    end = np.where(np.isnan(end), float(now_s), end)
    return np.where(status != "future", end - arrival, 0.0)


def _with_drop_penalty(
    time_in_system_s: np.ndarray, status: np.ndarray, drop_penalty_s: float
) -> np.ndarray:
    """Time in system plus ``drop_penalty_s`` for the dropped jobs (the reward's pricing)."""
    dropped = np.asarray(status) == "dropped"
    return time_in_system_s + np.where(dropped, float(drop_penalty_s), 0.0)
