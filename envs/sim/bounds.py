"""A lower bound on every job's turnaround: the contact plan alone, no other job in the way.

For each job the bound is the earliest delivery over *all* satellites that serve its model,
as if the job had the whole constellation to itself: its uplink starts at the first contact
of the satellite with its origin (or the origin's network, with backhaul) after it arrives,
compute starts when the uplink ends and takes the job's *true* prefill + decode time with
the model already loaded (no swap), and the result goes down in the first downlink contact
after that (with inter-satellite links, the first contact of any satellite it can be relayed
to, after the relay time). Queues, buffers and other jobs can only delay a job, never speed
it up, so no dispatch policy — learned, heuristic or clairvoyant — delivers a job earlier than this.

A job the bound cannot deliver (``inf``) is one every policy drops; a lower bound of the
objective therefore charges it ``drop_penalty_s`` and no time in system
(:func:`contention_free_cost_s`).

It answers "how much is there to gain?": the gap between a policy's turnaround and the
bound's is the most any better dispatcher could remove. On ``star_compute_12`` most of a
job's turnaround is the wait for the next pass over China, which the bound keeps.

>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy")
>>> _ = env.reset(seed=0)
>>> bound = contention_free_delivery_s(env.sim)
>>> bool((bound >= np.asarray(env.sim.arrival)).all())
True
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

from envs.sim.core import Sim
from envs.sim.links import INF, walk

__all__ = ["contention_free_cost_s", "contention_free_delivery_s"]


def contention_free_delivery_s(sim: Sim) -> np.ndarray:
    """Earliest possible delivery time of every job of ``sim`` (seconds since the epoch).

    ``inf`` for a job no satellite can deliver within the horizon or by its deadline (the
    simulator drops a job whose deadline passes before delivery). The search visits
    satellites in the order of their next pass over the job's origin and stops once a pass
    begins after the best delivery found so far, so its cost per job does not grow with the
    constellation (without backhaul).

    Args:
        sim: A simulator holding the episode's jobs (before, during or after the episode:
            only the jobs' attributes and the world's windows are read).

    Returns:
        Array of ``sim.n_jobs`` delivery times.
    """
    w = sim.world
    cls_of, serves = w.sat_class_list, w.serves
    out = np.full(sim.n_jobs, INF)
    for job in range(sim.n_jobs):
        arrival, origin, model = sim.arrival[job], sim.origin[job], sim.model[job]
        in_bytes = sim.in_bytes[job]
        best = INF
        if origin < 0:  # generated on board: its own satellite, no uplink
            sat = -1 - origin
            if serves[cls_of[sat], model]:
                best = _deliver(sim, job, sat, arrival)
        elif sim.backhaul_s is not None:
            ready = arrival + sim.backhaul_s
            net = w.station_network[origin]
            for sat in range(w.n_sats):
                if serves[cls_of[sat], model]:
                    up_s, up_e = walk(w.network_uplink_windows(sat, net), ready, in_bytes)
                    if up_s < best and up_e < INF:
                        best = min(best, _deliver(sim, job, sat, up_e))
        else:
            rises, sets, pass_sats = w.station_pass_lists(origin)
            i = bisect_left(rises, arrival - w.plan.max_pass_duration_s)
            seen: set[int] = set()
            while i < len(rises) and rises[i] < best:  # a later pass cannot deliver earlier
                sat = pass_sats[i]
                i += 1
                if sets[i - 1] <= arrival or sat in seen or not serves[cls_of[sat], model]:
                    continue
                seen.add(sat)
                up_e = walk(w.uplink_windows(sat, origin), arrival, in_bytes)[1]
                if up_e < INF:
                    best = min(best, _deliver(sim, job, sat, up_e))
        out[job] = best if best <= sim.deadline[job] else INF
    return out


def contention_free_cost_s(
    bound_turnaround_s: np.ndarray, drop_penalty_s: float, arrived: np.ndarray | None = None
) -> np.ndarray:
    """A lower bound of each job's cost (time in system plus drop penalty) in the objective.

    A job the bound delivers costs at least the smaller of its bound turnaround and a drop
    (``drop_penalty_s``, the least a drop can cost); a job it cannot deliver (``inf``:
    outside the horizon or past its deadline) is dropped by every policy and costs at least
    ``drop_penalty_s``. Jobs that did not arrive (``arrived`` false, e.g. after a truncation)
    cost 0.

    >>> contention_free_cost_s(np.array([100.0, np.inf, 5000.0]), 1000.0).tolist()
    [100.0, 1000.0, 1000.0]
    """
    turn = np.asarray(bound_turnaround_s, dtype=np.float64)
    cost = np.minimum(turn, float(drop_penalty_s))
    return cost if arrived is None else np.where(arrived, cost, 0.0)


def _deliver(sim: Sim, job: int, sat: int, uplink_end: float) -> float:
    """Delivery of ``job`` on ``sat`` once on board at ``uplink_end``, nothing else queued."""
    w = sim.world
    c, model = w.sat_class_list[sat], sim.model[job]
    service = sim.in_tokens[job] * w.prefill_s_per_token[c][model]
    service += sim.out_tokens[job] * w.decode_s_per_token[c][model]
    compute_end = uplink_end + service
    power = w.compute_windows[sat]
    if power is not None:
        compute_end = walk(power, uplink_end, service)[1]
        if compute_end == INF:
            return INF
    if w.isl is not None:  # relayed to the neighbour that delivers first, all links idle
        return w.isl.best_relay(w, sat, compute_end, sim.out_bytes[job], None)[1]
    return walk(w.downlink_windows(sat), compute_end, sim.out_bytes[job])[1]
