"""The job table's cost columns (``envs.sim.metrics``): one job cost, the reward's."""

from __future__ import annotations

import numpy as np
import pytest

from agents.cli._soak import SOAK_FAULTS
from agents.heuristics import make_heuristic
from agents.rollout import random_valid, rollout
from envs.dispatch_env import ConstellationDispatchEnv
from envs.sim import job_costs_s, job_table

BUSY = {"load": 4.0, "classes.inference.buffer_jobs": 6}
FAULTS = {**BUSY, "faults": SOAK_FAULTS, "faults.random_satellite_failures.rate_per_day": 8.0}
#: Scenario, overrides and player (``None``: random over every valid action, deferral too).
CASES = {
    "busy": ("toy", BUSY, "ect"),
    "faults": ("toy", FAULTS, "ect"),
    "faults_drop": ("toy", {**FAULTS, "faults.on_satellite_failure": "drop"}, "least_loaded"),
    "deferral": ("toy", {**BUSY, "dispatch.allow_defer": True, "dispatch.defer_s": 120.0}, None),
    "truncated": ("toy", {**BUSY, "episode.max_decisions": 25}, "ect"),
    "tiny_penalty": ("toy", {**BUSY, "reward.drop_penalty_s": 7.0}, "random"),
    "star_compute_12": ("star_compute_12", {"episode.duration_s": 1800.0}, "ect_queue"),
}


def play(case: str, seed: int) -> tuple[ConstellationDispatchEnv, float, int]:
    """Play ``case`` with rewards in seconds: the env, the return and the deferrals taken."""
    scenario, overrides, agent = CASES[case]
    env = ConstellationDispatchEnv(scenario, reward="time_in_system_s", **overrides)
    defers: list[int] = []
    player = (
        random_valid(np.random.default_rng(seed)) if agent is None
        else make_heuristic(agent, env, seed=seed)
    )  # fmt: skip
    result = rollout(env, player, seed,
                     on_step=lambda s: defers.append(s.mask.any() and s.action == env.k))
    return env, result.episode_return, sum(defers)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 3])
def test_job_costs_sum_to_minus_the_return_in_seconds(case, seed):
    env, episode_return, _ = play(case, seed)
    table = job_table(env.sim)
    assert table["cost_s"].sum() == pytest.approx(-episode_return, rel=1e-12, abs=1e-9)


def test_the_cases_cover_drops_failures_deferrals_and_jobs_still_in_the_system():
    env, _, _ = play("faults", 0)
    assert env.metrics()["satellites_failed"] > 0 and env.metrics()["jobs_redispatched"] > 0
    assert play("deferral", 0)[2] > 0
    env, _, _ = play("truncated", 0)
    assert {"future", "pending", "in_flight"} <= set(job_table(env.sim)["status"])
    env, _, _ = play("tiny_penalty", 0)
    assert {"completed", "dropped"} <= set(job_table(env.sim)["status"])


def test_time_in_system_is_turnaround_drop_time_or_time_so_far():
    env, _, _ = play("truncated", 1)
    t, now = job_table(env.sim), env.sim.now
    done, dropped, future = (t["status"] == x for x in ("completed", "dropped", "future"))
    inside = ~(done | dropped | future)
    assert inside.any() and future.any()
    np.testing.assert_array_equal(t["time_in_system_s"][done], t["turnaround_s"][done])
    np.testing.assert_array_equal(
        t["time_in_system_s"][dropped], (t["dropped_at_s"] - t["arrival_s"])[dropped]
    )
    np.testing.assert_array_equal(t["time_in_system_s"][inside], now - t["arrival_s"][inside])
    assert (t["time_in_system_s"][future] == 0).all()


def test_cost_adds_the_drop_penalty_to_dropped_jobs_only():
    env, _, _ = play("tiny_penalty", 2)
    t = job_table(env.sim)
    dropped = t["status"] == "dropped"
    assert dropped.any()
    np.testing.assert_array_equal(t["cost_s"][dropped], t["time_in_system_s"][dropped] + 7.0)
    np.testing.assert_array_equal(t["cost_s"][~dropped], t["time_in_system_s"][~dropped])


def test_the_cost_column_is_job_costs_s_at_the_simulators_time():
    env, _, _ = play("faults", 1)
    t = job_table(env.sim)
    np.testing.assert_array_equal(
        t["cost_s"], job_costs_s(t, env.sim.now, env.scenario.reward.drop_penalty_s)
    )
