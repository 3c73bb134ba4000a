"""Episode metrics and per-job timelines of a ``Sim``."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.sim.core import DROP_REASONS, STATUS, Sim

__all__ = ["METRIC_KEYS", "job_table", "metrics"]

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
    """One row per job: attributes, satellite, status, drop reason and the stage timeline.

    Times are seconds since the epoch; NaN where a stage did not happen. With
    inter-satellite links also ``relay_sat`` (the satellite that downlinks the result, -1
    before compute ends), ``isl_hops`` and ``relay_arrival_s`` (when the result reached it).
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
    return table
