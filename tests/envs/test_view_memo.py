"""``SimView.queue_estimates`` answers a decision's repeated question once, never stale."""

from __future__ import annotations

import numpy as np

from envs.dispatch_env import ConstellationDispatchEnv
from envs.sim import SimView


def test_repeated_queries_match_a_fresh_view_at_every_decision() -> None:
    env = ConstellationDispatchEnv("star_compute_12", cache_dir=None, **{"episode.duration_s": 900})
    env.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(300):
        view, cands = env.view, env.candidates
        if not cands:
            break
        first = view.queue_estimates(view.head, cands)
        again = view.queue_estimates(view.head, cands)
        fresh = SimView(env.sim, view.expected_output_tokens).queue_estimates(view.head, cands)
        assert first == again == fresh
        again[0].clear()  # callers get their own lists
        assert view.queue_estimates(view.head, cands) == fresh
        mask = env.action_masks()
        _, _, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if term or trunc:
            break


def test_a_dispatch_at_the_same_instant_is_seen() -> None:
    env = ConstellationDispatchEnv("toy", cache_dir=None)
    env.reset(seed=0)
    view, cands, sim = env.view, env.candidates, env.sim
    job = view.head
    before = view.queue_estimates(job, cands)
    sim.dispatch(cands[0])  # same clock, one more job in uplink to cands[0]
    after = view.queue_estimates(job, cands)
    fresh = SimView(sim, view.expected_output_tokens).queue_estimates(job, cands)
    assert after == fresh
    assert after != before
