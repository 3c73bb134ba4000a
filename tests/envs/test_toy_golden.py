"""Golden turnarounds in the ``toy`` preset, computed by hand from the contact plan.

toy: 2 satellites, jobs from RSGS Kashi only, results to any Chinese station; every job has
1000 prompt and 100 output tokens (sigma 0), so
    uplink   = (1000 × 4 + 1024) B / (2 Mbit/s / 8) = 5024 / 250000 s   = 0.020096 s
    compute  = 1000 / 1000 tok/s + 100 / 10 tok/s                        = 11 s
    downlink = (100 × 4 + 1024) B / (100 Mbit/s / 8) = 1424 / 12.5e6 s
A job dispatched at t to satellite s starts uplinking at the later of t and the start of
s's first pass over Kashi still open at t; its result goes down in the first Chinese
contact open after compute ends.
"""

from __future__ import annotations

import numpy as np
import pytest

from envs.dispatch_env import ConstellationDispatchEnv
from envs.sim import job_table

UPLINK_S = 5024 / 250_000
COMPUTE_S = 1000 / 1000 + 100 / 10
DOWNLINK_S = 1424 / 12.5e6


def first_open(passes, t):
    """Start of the first (rise, set) interval still open at t, clipped to t."""
    for rise, set_ in passes:
        if set_ > t:
            return max(rise, t), set_
    return None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_toy_turnarounds_match_hand_computation(seed):
    env = ConstellationDispatchEnv("toy")
    plan, world = env.world.plan, env.world
    kashi = world.station_names.index("RSGS Kashi")
    p = plan.passes
    up = {s: sorted(zip(p.rise_s[(p.sat == s) & (p.station == kashi)],
                        p.set_s[(p.sat == s) & (p.station == kashi)], strict=True))
          for s in range(2)}  # fmt: skip
    down = {
        s: sorted(zip(p.rise_s[p.sat == s], p.set_s[p.sat == s], strict=True)) for s in range(2)
    }
    obs, info = env.reset(seed=seed)
    chosen = []
    while True:
        job = env.sim.head()
        sat = env._cands[0]  # always the first-ranked candidate
        chosen.append((job, sat, env.sim.now))
        obs, reward, terminated, truncated, info = env.step(0)
        if terminated:
            break
    table = job_table(env.sim)
    assert info["jobs_completed"] == len(chosen) > 3
    link_free = {0: 0.0, 1: 0.0}
    cpu_free = {0: 0.0, 1: 0.0}
    tx_free = {0: 0.0, 1: 0.0}
    expected = {}
    # Uplinks in dispatch order; these transfers are far shorter than any pass.
    events = []
    for job, sat, t in chosen:
        start, set_ = first_open(up[sat], max(t, link_free[sat]))
        assert start + UPLINK_S <= set_
        link_free[sat] = start + UPLINK_S
        events.append((start + UPLINK_S, job, sat))
    # Compute then downlink, FIFO per satellite in order of arrival on board.
    for on_board, job, sat in sorted(events):
        c_end = max(on_board, cpu_free[sat]) + COMPUTE_S
        cpu_free[sat] = c_end
        d_start, _ = first_open(down[sat], max(c_end, tx_free[sat]))
        tx_free[sat] = d_start + DOWNLINK_S
        expected[job] = d_start + DOWNLINK_S
    for job, when in expected.items():
        assert table["delivered_s"][job] == pytest.approx(when, abs=1e-6)
    assert np.all(table["turnaround_s"] > COMPUTE_S)
