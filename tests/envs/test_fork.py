"""``ConstellationDispatchEnv.fork`` / ``Sim.fork``: bit-identical, independent continuations."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from envs.dispatch_env import ConstellationDispatchEnv
from envs.sim import Sim, job_table
from envs.wrappers import flatten_observation

# star_compute_12 with 40 min of arrivals: ~800 decisions an episode at load 1.
SHORT = {"episode.duration_s": 2400.0}
FAULTS = {
    "random_station_outages": {"rate_per_day": 24.0, "mean_duration_s": 1800.0},
    "random_satellite_failures": {"rate_per_day": 12.0},
    "satellite_failures": [{"satellite": 3, "time_s": 3000.0}],
    "on_satellite_failure": "redispatch",
    "link_degradation": [{"network": "china", "start_s": 0, "end_s": 20000, "factor": 0.5}],
}
CASES = {
    "plain": {},
    "faults": {"faults": FAULTS},
    "isl": {"isl.enabled": True},
    "faults_isl": {"faults": FAULTS, "isl.enabled": True},
}


def _policy(seed: int):
    """A deterministic mixed policy: mostly the first valid candidate, sometimes deferral."""
    rng = np.random.default_rng(seed)

    def act(env) -> int:
        mask = env.action_masks()
        valid = np.flatnonzero(mask)
        if mask[-1] and rng.random() < 0.1:  # deferral, when the mask allows it
            return int(len(mask) - 1)
        return int(valid[rng.integers(len(valid))])

    return act


def _run(env, act, steps: int | None = None) -> list:
    """Step until the end (or ``steps``); the trace of (obs, reward, done, info, mask)."""
    trace, n = [], 0
    while steps is None or n < steps:
        a = act(env)
        obs, r, term, trunc, info = env.step(a)
        trace.append(
            (
                flatten_observation(obs).tobytes(),
                r,
                term,
                trunc,
                sorted(info.items()),
                env.action_masks(),
            )
        )
        n += 1
        if term or trunc:
            break
    return trace


def _same_tables(a: Sim, b: Sim) -> None:
    ta, tb = job_table(a), job_table(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        np.testing.assert_array_equal(ta[k], tb[k], err_msg=k)


@pytest.fixture(scope="module")
def worlds():
    return {}


def _env(case: str, worlds) -> ConstellationDispatchEnv:
    kw = {**SHORT, **CASES[case]}
    key = "isl" if kw.get("isl.enabled") else "plain"
    env = ConstellationDispatchEnv("star_compute_12", world=worlds.get(key), **kw)
    worlds.setdefault(key, env.world)
    return env


@pytest.mark.parametrize("case", sorted(CASES))
def test_fork_continues_bit_for_bit_like_the_original(case, worlds):
    env = _env(case, worlds)
    env.reset(seed=7)
    _run(env, _policy(0), steps=300)
    twin = env.fork()
    assert twin.sim is not env.sim
    rest_a = _run(env, _policy(1))
    rest_b = _run(twin, _policy(1))
    assert len(rest_a) == len(rest_b)
    for x, y in zip(rest_a, rest_b, strict=True):
        assert x[:5] == y[:5]
        np.testing.assert_array_equal(x[5], y[5])
    _same_tables(env.sim, twin.sim)
    if case.startswith("faults"):
        assert env.sim.world.failed and env.sim.world.failed == twin.sim.world.failed
        assert env.sim.world is not twin.sim.world


@pytest.mark.parametrize("case", sorted(CASES))
def test_stepping_a_fork_leaves_the_original_untouched(case, worlds):
    env = _env(case, worlds)
    env.reset(seed=11)
    _run(env, _policy(0), steps=200)
    reference = copy.deepcopy(env)  # the slow, obviously independent copy
    fork = env.fork()
    _run(fork, _policy(99))  # a different policy to the end: faults fire, queues change
    assert fork.sim.done
    ours = _run(env, _policy(5))
    theirs = _run(reference, _policy(5))
    assert [x[:5] for x in ours] == [x[:5] for x in theirs]
    _same_tables(env.sim, reference.sim)


def test_forks_of_forks_and_the_next_reset_are_unaffected(worlds):
    env = _env("plain", worlds)
    env.reset(seed=3)
    _run(env, _policy(0), steps=50)
    grandchild = env.fork().fork()
    _run(grandchild, _policy(2))
    obs_after, _ = env.reset(seed=4)
    fresh = _env("plain", worlds)
    obs_fresh, _ = fresh.reset(seed=4)
    for part in obs_fresh:
        np.testing.assert_array_equal(obs_after[part], obs_fresh[part])


def test_fork_before_reset_is_refused():
    env = ConstellationDispatchEnv("toy", cache_dir=None)
    with pytest.raises(RuntimeError, match="before reset"):
        env.fork()


def test_sim_fork_refuses_state_it_does_not_know_how_to_copy(worlds):
    env = _env("plain", worlds)
    env.reset(seed=0)
    env.sim.something_new = object()
    with pytest.raises(TypeError, match="something_new"):
        env.sim.fork()


def test_fork_shares_the_static_world_and_job_inputs(worlds):
    env = _env("plain", worlds)
    env.reset(seed=0)
    twin = env.unwrapped.fork()
    assert twin.world is env.world and twin.sim.world is env.sim.world
    assert twin.sim.arrival is env.sim.arrival
    assert twin.sim.status is not env.sim.status and twin.sim.heap is not env.sim.heap


# ------------------------------------------------------------------ sampled futures
def _arrived(env) -> int:
    return env.sim.next_arrival


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_sampled_future_keeps_the_past_and_replaces_what_has_not_arrived(case, worlds):
    env = _env(case, worlds)
    env.check_invariants = True
    env.reset(seed=5)
    _run(env, _policy(0), steps=150)
    now, past = env.sim.now, _arrived(env)
    before = job_table(env.sim)
    a, b, c = env.fork(future_seed=3), env.fork(future_seed=3), env.fork(future_seed=4)
    for fork in (a, b, c):
        table = job_table(fork.sim)
        for key in before:  # every row of the past is kept, state included
            np.testing.assert_array_equal(table[key][:past], before[key][:past], err_msg=key)
        arrival = table["arrival_s"][past:]
        assert (arrival > now).all() and (np.diff(arrival) >= 0).all()
        assert (table["status"][past:] == "future").all()
    assert job_table(a.sim)["arrival_s"].tobytes() == job_table(b.sim)["arrival_s"].tobytes()
    assert job_table(a.sim)["arrival_s"].tobytes() != job_table(c.sim)["arrival_s"].tobytes()
    # The same seed gives the same continuation, bit for bit; each runs to a clean end.
    ra, rb = _run(a, _policy(1)), _run(b, _policy(1))
    assert [x[:5] for x in ra] == [x[:5] for x in rb]
    _run(c, _policy(1))
    for fork in (a, c):
        fork.sim.check_invariants()
        m = fork.metrics()
        assert m["jobs_completed"] + m["jobs_dropped"] == fork.sim.n_jobs - list(
            job_table(fork.sim)["status"]
        ).count("future")
    # ... and the original is untouched: it goes on like a plain fork.
    plain = env.fork()
    assert [x[:5] for x in _run(env, _policy(2))] == [x[:5] for x in _run(plain, _policy(2))]


def test_a_sampled_future_is_a_draw_of_the_arrival_process(worlds):
    """Poisson arrivals: the jobs after ``now`` in sampled futures match the real rate."""
    env = _env("plain", worlds)
    env.reset(seed=2)
    _run(env, _policy(0), steps=100)
    now, end = env.sim.now, env.scenario.episode.duration_s
    counts = [env.fork(future_seed=s).sim.n_jobs - _arrived(env) for s in range(40)]
    rate = env.scenario.workload.arrivals.rate_per_s * env.scenario.workload.load
    expected = rate * (end - now)
    # 40 draws of a Poisson count: the mean is within 4 standard errors of the rate's.
    assert abs(np.mean(counts) - expected) < 4 * np.sqrt(expected / 40), (counts, expected)
    assert len(set(counts)) > 1


def test_a_sampled_future_after_arrivals_stopped_brings_none(worlds):
    env = _env("plain", worlds)
    env.reset(seed=8)
    _run(env, _policy(0), steps=40)
    env.sim.stop_arrivals()
    fork = env.fork(future_seed=1)
    assert fork.sim.n_jobs == env.sim.n_jobs and fork.sim.arrival is env.sim.arrival
    _run(fork, _policy(1))
    assert fork.sim.done and fork.sim.next_arrival == env.sim.next_arrival


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_a_bad_future_seed_is_refused_by_name(bad, worlds):
    env = _env("plain", worlds)
    env.reset(seed=0)
    if bad is None:  # None is the real future, not an error
        assert env.fork(future_seed=None).sim.arrival is env.sim.arrival
        return
    with pytest.raises(ValueError, match=r"future_seed: must be an integer >= 0"):
        env.fork(future_seed=bad)


def test_a_sampled_future_is_drawn_once_per_seed_and_follows_the_episode_load(worlds):
    env = _env("plain", worlds)
    env.reset(seed=2)
    _run(env, _policy(0), steps=30)
    first = env.fork(future_seed=4)
    assert env._future_jobs(4) is env._future_jobs(4)  # kept for the next fork of that seed
    again = env.fork(future_seed=4)
    assert first.sim.arrival == again.sim.arrival
    busier = env.fork(future_seed=4)
    env.reset(seed=2, options={"load": 3.0})  # another episode scenario: a new draw
    _run(env, _policy(0), steps=30)
    assert env.fork(future_seed=4).sim.n_jobs - env.sim.next_arrival > 2 * (
        busier.sim.n_jobs - busier.sim.next_arrival
    )
