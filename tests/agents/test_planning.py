"""Queue-aware heuristics and the rollout agent (``agents.planning``)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.evaluate import AgentSpec, run_episode
from agents.heuristics import make_heuristic
from agents.planning import (
    RolloutAgent,
    SwitchingAgent,
    branch_cost_s,
    make_agent,
    parse_rollout_name,
    parse_switch_name,
    policy_cost_s,
)
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.sim import job_table

# The toy scenario under contention: ~130 jobs in an hour on 2 satellites with 6-job buffers.
BUSY = {"load": 12.0, "classes.inference.buffer_jobs": 6}


def busy_env(**kw) -> ConstellationDispatchEnv:
    """The busy toy env, its rewards in seconds (the unit branch costs are priced in)."""
    kw = {"reward": "time_in_system_s", **kw}
    return ConstellationDispatchEnv("toy", cache_dir=None, **{**BUSY, **kw})


def play(env, agent, seed: int, steps: int | None = None) -> float:
    """Cost (s) of ``agent`` from reset(seed) to the end, or after ``steps`` decisions."""
    obs, _ = env.reset(seed=seed)
    agent.reset()
    total, n = 0.0, 0
    while steps is None or n < steps:
        obs, r, term, trunc, _ = env.step(int(agent.predict(obs)[0]))
        total -= r
        n += 1
        if term or trunc:
            break
    return total


def test_queue_estimates_equal_plain_estimates_when_nothing_is_in_uplink():
    env = busy_env()
    env.reset(seed=0)
    view, job = env.view, env.view.head
    assert not any(env.sim.uplinking)
    plain = view.estimates(job, env.candidates)
    queued, taken = view.queue_estimates(job, env.candidates)
    assert queued == plain
    assert taken == [env.sim.onboard[s] for s in env.candidates]


def test_queue_estimates_serve_jobs_in_uplink_first():
    env = busy_env()
    env.reset(seed=0)
    sat = env.candidates[0]
    first = env.view.estimate(env.view.head, sat)
    env.step(0)  # the head job goes to ``sat``: it is now in uplink there
    job = env.view.head
    assert env.sim.uplinking[sat]
    plain = env.view.estimate(job, sat)
    (queued,), (taken,) = env.view.queue_estimates(job, [sat])
    if plain.uplink_end >= first.uplink_end:  # the earlier job is ahead of this one
        service = plain.compute_end - plain.compute_start
        assert queued.compute_start == pytest.approx(max(plain.uplink_end, first.compute_end))
        assert queued.compute_end == pytest.approx(queued.compute_start + service)
        assert taken == env.sim.onboard[sat] + 1
        assert queued.delivered >= plain.delivered


def test_sim_keeps_its_uplink_lists_in_step_with_job_statuses():
    env = busy_env(check_invariants=True)  # check_invariants verifies the lists every event
    agent = make_heuristic("ect_queue", env)
    play(env, agent, seed=3)
    assert not any(env.sim.uplinking)


def test_ect_queue_never_sends_a_job_where_it_would_find_a_full_buffer_while_one_has_room():
    env = busy_env()
    agent = make_heuristic("ect_queue", env)
    obs, _ = env.reset(seed=1)
    checked = 0
    while True:
        valid = [i for i in range(len(env.candidates)) if env.action_masks()[i]]
        _, taken = env.view.queue_estimates(env.view.head, [env.candidates[i] for i in valid])
        sizes = [env.view.buffer_jobs(env.candidates[i]) for i in valid]
        room = [n < size for n, size in zip(taken, sizes, strict=True)]
        action = int(agent.predict(obs)[0])
        if any(room):
            assert room[valid.index(action)]
            checked += 1
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    assert checked > 10


def test_load_aware_spreads_only_when_no_candidate_has_room():
    env = busy_env()
    agent = make_heuristic("load_aware", env)
    obs, _ = env.reset(seed=2)
    spread = 0
    while True:
        action = int(agent.predict(obs)[0])
        assert action < env.k  # never defers
        valid = [env.candidates[i] for i in range(len(env.candidates)) if env.action_masks()[i]]
        est, taken = env.view.queue_estimates(env.view.head, valid)
        share = [n / env.view.buffer_jobs(s) for s, n in zip(valid, taken, strict=True)]
        chosen = valid.index(env.candidates[action])
        if all(x >= 1.0 for x in share):
            assert share[chosen] == min(share)  # the least filled
            spread += 1
        else:
            assert share[chosen] < 1.0
            roomy = [e.delivered for e, x in zip(est, share, strict=True) if x < 1.0]
            assert est[chosen].delivered == min(roomy)
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    assert spread > 0  # the busy toy does overload both buffers


def test_load_aware_without_deferral_spreads_instead():
    env = busy_env(**{"dispatch.allow_defer": False})
    agent = make_heuristic("load_aware", env)
    play(env, agent, seed=2)
    assert env.sim.done


def _rooms(env) -> tuple[list[int], list[bool]]:
    """The valid candidate indices and whether each has room on the job's arrival."""
    valid = [i for i in range(len(env.candidates)) if env.action_masks()[i]]
    _, taken = env.view.queue_estimates(env.view.head, [env.candidates[i] for i in valid])
    room = [env.view.has_room(env.candidates[i], n) for i, n in zip(valid, taken, strict=True)]
    return valid, room


# A burst the candidates cannot hold but the constellation can: 1,100 jobs in 75 s at 7
# origins, 150 satellites with 37-job buffers (buffer share below 0.21 throughout).
BURST = "generated:900004"


def test_wait_for_room_defers_exactly_when_no_candidate_has_room():
    env = ConstellationDispatchEnv(BURST, load=1.0)
    agent, same = make_heuristic("wait_for_room", env), make_heuristic("load_aware", env)
    obs, _ = env.reset(seed=100)
    deferred = dispatched = 0
    while True:
        valid, room = _rooms(env)
        action = int(agent.predict(obs)[0])
        spare = env.view.buffer_share() < 1.0
        if valid and not any(room) and spare and env.action_masks()[env.k]:
            assert action == env.k
            deferred += 1
        else:
            assert action == int(same.predict(obs)[0])
            dispatched += 1
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    assert deferred > 0 and dispatched > 0
    table = job_table(env.sim)  # every job ends completed or dropped with a reason
    assert env.sim.done and len(table["job"]) == env.sim.arrived


def test_wait_for_room_drops_fewer_jobs_in_a_burst_and_never_defers_at_sustained_overload():
    def play_out(name: str, env, seed: int) -> tuple[int, int]:
        obs, _ = env.reset(seed=seed)
        agent, deferred = make_heuristic(name, env), 0
        while True:
            action = int(agent.predict(obs)[0])
            deferred += action == env.k
            obs, _, term, trunc, _ = env.step(action)
            if term or trunc:
                return env.sim.dropped, deferred

    burst = ConstellationDispatchEnv(BURST, load=1.0)
    waited, n_deferred = play_out("wait_for_room", burst, 100)
    spread, _ = play_out("load_aware", burst, 100)
    assert n_deferred > 0 and waited < 0.5 * spread, (waited, spread)
    # The busy toy is over-committed (2 satellites, 6-job buffers, load 12): no deferral.
    toy = busy_env()
    assert play_out("wait_for_room", toy, 2) == (play_out("load_aware", toy, 2)[0], 0)


def test_wait_for_room_without_deferral_is_load_aware():
    actions = {}
    for name in ("wait_for_room", "load_aware"):
        env = busy_env(**{"dispatch.allow_defer": False})
        agent = make_heuristic(name, env)
        obs, _ = env.reset(seed=2)
        seq = []
        while True:
            seq.append(int(agent.predict(obs)[0]))
            obs, _, term, trunc, _ = env.step(seq[-1])
            if term or trunc:
                break
        actions[name] = seq
    assert actions["wait_for_room"] == actions["load_aware"]


def test_load_aware_refuses_a_bad_fill():
    with pytest.raises(ConfigError, match="fill"):
        make_heuristic("load_aware", busy_env()).__class__(busy_env(), fill=1.5)


def into_episode(env, agent, seed: int, steps: int):
    """``reset(seed)``, then ``steps`` decisions of ``agent``; returns the last observation."""
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        obs, *_ = env.step(int(agent.predict(obs)[0]))
    return obs


def cost_to_end(env, agent, obs) -> float:
    """Minus the rewards of ``agent`` playing from ``obs`` to the end of the episode."""
    total, term, trunc = 0.0, False, False
    while not (term or trunc):
        obs, r, term, trunc, _ = env.step(int(agent.predict(obs)[0]))
        total -= r
    return total


def untouched(env, fn):
    """``fn()``, checking that the env's job table is the same before and after."""
    before = job_table(env.sim)
    result = fn()
    for k, v in job_table(env.sim).items():
        np.testing.assert_array_equal(before[k], v)
    return result


def test_branch_cost_leaves_the_env_untouched_and_is_exact_to_the_end():
    env = busy_env()
    agent = make_heuristic("ect", env)
    into_episode(env, agent, 4, 20)
    actions = np.flatnonzero(env.action_masks())
    predicted = untouched(env, lambda: {a: branch_cost_s(env, a, "ect", None) for a in actions})
    # Play the first candidate for real, then ECT to the end: the same cost, to the bit.
    action = int(actions[0])
    obs, r, *_ = env.step(action)
    assert cost_to_end(env, agent, obs) - r == predicted[action]


def test_branch_costs_are_in_seconds_whatever_the_env_reward_unit():
    costs = []
    for reward in ("time_in_system_s", "time_in_system_h"):
        env = busy_env(reward=reward)
        env.reset(seed=4)
        costs.append(branch_cost_s(env, int(np.flatnonzero(env.action_masks())[0]), "ect", 5))
        assert env.reward_fn.unit == reward[-1]  # the branch's seconds did not leak back
    assert costs[0] == costs[1] > 0


def test_a_horizon_past_the_end_equals_the_full_rollout():
    env = busy_env()
    env.reset(seed=5)
    for a in np.flatnonzero(env.action_masks()):
        assert branch_cost_s(env, a, "ect", 10_000) == branch_cost_s(env, a, "ect", None)


def test_truncated_cost_counts_the_jobs_still_in_the_system():
    env = busy_env()
    env.reset(seed=5)
    a = int(np.flatnonzero(env.action_masks())[0])
    short = branch_cost_s(env, a, "ect", 5)
    # Five decisions, then the system drains: at least the time each arrived job waits.
    assert 0.0 < short < branch_cost_s(env, a, "ect", None)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_rollout_never_costs_more_than_its_base(seed):
    # Rollout's cost improvement: with a deterministic base and exact branch costs, the
    # policy that picks the cheapest branch at every step does no worse than the base.
    env = busy_env()
    base = play(env, make_heuristic("ect", env), seed)
    rollout = play(env, RolloutAgent(env, base="ect"), seed)
    assert rollout <= base + 1e-6 * base


def test_rollout_runs_in_the_harness_and_names_parse():
    spec = AgentSpec.parse("rollout:ect:20")
    assert spec.label == "rollout:ect:20" and not spec.reference_bound
    r = run_episode("toy", spec, 1.0, seed=0)
    assert r.metrics["jobs_completed"] + r.metrics["jobs_dropped"] == len(r.jobs["job"])
    assert parse_rollout_name("rollout:random:3") == ("random", 3, 0)
    assert parse_rollout_name("rollout:random:3:f2") == ("random", 3, 2)
    assert isinstance(make_agent("rollout:least_loaded", busy_env()), RolloutAgent)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("rollout", "expected rollout:BASE"),
        ("rollout:oracle", "unknown base heuristic 'oracle'"),
        ("rollout:fast:3", "unknown base heuristic 'fast'"),
        ("rollout:ect:0", "horizon H must be an integer >= 1, got '0'"),
        ("rollout:ect:x", "horizon H must be an integer >= 1, got 'x'"),
        ("rollout:ect:3:4", "expected rollout:BASE"),
        ("rollout:ect:f0", "sampled futures N .fN. must be an integer >= 1, got '0'"),
        ("rollout:ect:fx", "sampled futures N .fN. must be an integer >= 1, got 'x'"),
        ("rollout:ect:f2:3", "expected rollout:BASE"),
        ("switch", "expected switch:BASES"),
        ("switch:ect:1:2:3", "expected switch:BASES"),
        ("switch:ect+oracle", "unknown base heuristic 'oracle'"),
        ("switch:ect+ect", "listed twice"),
        ("switch:ect:0", "SEGMENT must be an integer >= 1, got '0'"),
        ("switch:ect:5:x", "WINDOW must be an integer >= 1, got 'x'"),
        ("switch:ect:5:f0", "sampled futures N .fN. must be an integer >= 1, got '0'"),
        ("switch:ect:5:6:7:f2", "expected switch:BASES"),
    ],
)
def test_bad_planning_agent_names_get_one_line_errors(name, message):
    parse = parse_switch_name if name.startswith("switch") else parse_rollout_name
    with pytest.raises(ConfigError, match=message):
        AgentSpec.parse(name) if ":" in name else parse(name)


def test_a_branch_is_priced_to_its_end_past_the_decision_limit():
    capped = busy_env(**{"episode.max_decisions": 15})
    free = busy_env()
    for env in (capped, free):
        env.reset(seed=6)
        for _ in range(10):
            env.step(int(np.flatnonzero(env.action_masks())[0]))
    a = int(np.flatnonzero(free.action_masks())[0])
    assert branch_cost_s(capped, a, "ect", None) == branch_cost_s(free, a, "ect", None)
    assert branch_cost_s(capped, a, "ect", 3) == branch_cost_s(free, a, "ect", 3)


# ------------------------------------------------------------------ policy switching
SWITCH_BASES = "ect+least_loaded+earliest_uplink"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_horizon_switching_never_costs_more_than_any_of_its_bases(seed):
    # Policy switching with exact values (every base played to the end on its fork, same
    # arrivals) picks, from the first decision on, a base no worse than each one alone; each
    # later switch only lowers the cost of what remains.
    env = busy_env()
    costs = {b: play(env, make_heuristic(b, env), seed) for b in SWITCH_BASES.split("+")}
    agent = SwitchingAgent(env, base=SWITCH_BASES, segment=10)
    switched = play(env, agent, seed)
    assert switched <= min(costs.values()) * (1 + 1e-9)
    assert set(agent.last_costs_s) == set(costs)


def test_policy_cost_leaves_the_env_untouched_and_equals_playing_the_base():
    env = busy_env()
    obs = into_episode(env, make_heuristic("ect", env), 3, 15)
    predicted = untouched(env, lambda: policy_cost_s(env, "least_loaded", None))
    assert cost_to_end(env, make_heuristic("least_loaded", env), obs) == predicted


def test_a_segment_keeps_one_base_and_the_episode_restarts_fresh():
    env = busy_env()
    agent = SwitchingAgent(env, base="ect+least_loaded", segment=7, window=20)
    picks: list[str] = []
    original = agent.pick
    agent.pick = lambda: picks.append(original()) or picks[-1]
    env.reset(seed=2)
    agent.reset()
    obs = None
    for _ in range(15):  # decisions 0, 7 and 14 start segments
        obs, *_ = env.step(int(agent.predict(obs)[0]))
    assert len(picks) == 3
    agent.reset()
    env.reset(seed=2)
    env.step(int(agent.predict(None)[0]))
    assert len(picks) == 4  # a new episode starts a new segment at once


def test_switching_runs_in_the_harness_and_is_deterministic():
    a = run_episode("toy", "switch:ect+least_loaded:5", 3.0, seed=1)
    b = run_episode("toy", AgentSpec.parse("switch:ect+least_loaded:5"), 3.0, seed=1)
    assert a.metrics == b.metrics
    assert a.metrics["jobs_completed"] + a.metrics["jobs_dropped"] == len(a.jobs["job"])
    assert isinstance(make_agent("switch:ect_queue+load_aware:3:9", busy_env()), SwitchingAgent)
    assert parse_switch_name("switch:ect:4") == ("ect", 4, None, 0)
    assert parse_switch_name("switch:ect:4:f2") == ("ect", 4, None, 2)
    assert parse_switch_name("switch:ect:4:9:f2") == ("ect", 4, 9, 2)


# ------------------------------------------------------------------ sampled futures
def same_past_other_future(seed: int = 4, steps: int = 12):
    """A busy episode ``steps`` decisions in, and a copy whose real future is another draw."""
    env = busy_env()
    env.reset(seed=seed)
    for _ in range(steps):
        env.step(int(np.flatnonzero(env.action_masks())[0]))
    return env, env.fork(future_seed=12345)


def test_a_branch_on_sampled_futures_does_not_see_the_real_future():
    """Two episodes that share their past but not their future are priced the same."""
    env, other = same_past_other_future()
    assert job_table(other.sim)["arrival_s"].tobytes() != job_table(env.sim)["arrival_s"].tobytes()
    for a in np.flatnonzero(env.action_masks()):
        a = int(a)
        assert branch_cost_s(env, a, "ect", None, future_seed=7) == branch_cost_s(
            other, a, "ect", None, future_seed=7
        )
    # Priced on the real future, the two differ: that is what clairvoyance is.
    a = int(np.flatnonzero(env.action_masks())[0])
    assert branch_cost_s(env, a, "ect", None) != branch_cost_s(other, a, "ect", None)


def test_the_rollout_agent_on_sampled_futures_plays_and_is_deterministic():
    env = busy_env()
    agent = make_agent("rollout:ect_queue:20:f2", env, seed=3)
    assert isinstance(agent, RolloutAgent) and agent.futures == 2
    assert repr(agent) == "RolloutAgent(rollout:ect_queue:20:f2, seed=3)"
    first = play(env, agent, seed=1, steps=25)
    again = play(env, make_agent("rollout:ect_queue:20:f2", env, seed=3), seed=1, steps=25)
    assert first == again
    # A candidate's cost is the mean of its branches on the decision's three futures.
    env.reset(seed=1)
    agent = make_agent("rollout:ect:f3", env, seed=0)
    agent.predict(None, action_masks=env.action_masks())
    assert len(agent.last_costs_s) == int(env.action_masks().sum())
    rng = np.random.default_rng(0)  # the agent's draws: the common numbers, then the futures
    crn, futures = int(rng.integers(2**31)), [int(x) for x in rng.integers(2**31, size=3)]
    for a, cost in agent.last_costs_s.items():
        branches = [branch_cost_s(env, a, "ect", None, crn, f) for f in futures]
        assert cost == pytest.approx(np.mean(branches), rel=1e-12)
    spec = AgentSpec.parse("rollout:ect:5:f2")
    assert spec.label == "rollout:ect:5:f2"


def test_switching_on_sampled_futures_does_not_see_the_real_future():
    env, other = same_past_other_future()
    for base in ("ect", "least_loaded"):
        assert policy_cost_s(env, base, None, 0, 5) == policy_cost_s(other, base, None, 0, 5)
    agent = make_agent("switch:ect+least_loaded:5:f2", env, seed=1)
    assert agent.futures == 2
    assert repr(agent) == "SwitchingAgent(switch:ect+least_loaded:5:f2, seed=1)"
    a = play(env, agent, seed=2, steps=30)
    b = play(env, make_agent("switch:ect+least_loaded:5:f2", env, seed=1), seed=2, steps=30)
    assert a == b
