"""Heuristic baselines: valid actions, the rule each one states, and the ranking claims."""

from __future__ import annotations

import numpy as np
import pytest

from agents.heuristics import (
    HEURISTICS,
    HeuristicAgent,
    OracleAgent,
    RandomAgent,
    make_heuristic,
)
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError

# Measured on star_compute_12 at load 2 (seeds 0-5): mean turnaround of completed jobs
# ECT 2.85-2.93 h, Random 5.37-5.50 h, RoundRobin 5.30-5.39 h, Oracle within 0.3 % of ECT;
# seed-to-seed spread ~0.05 h, so four paired seeds leave no room for noise.
CLAIM_SEEDS = range(4)

#: Heuristics that defer while a candidate is valid (test_planning, test_overfill).
DEFERRING = ("wait_for_room", "ect_wait")


@pytest.fixture(scope="module")
def sc12_env(sc12_world):
    return ConstellationDispatchEnv(
        "star_compute_12", load=2.0, world=sc12_world, invalid_action="raise"
    )


def run_episode(env, agent: HeuristicAgent, seed: int, *, pass_mask: bool = True) -> dict:
    """Play one episode, checking every action against the mask; the final info."""
    obs, _ = env.reset(seed=seed)
    agent.reset()
    k = env.unwrapped.k
    while True:
        mask = env.action_masks()
        action, state = agent.predict(obs, action_masks=mask if pass_mask else None)
        assert state is None
        assert isinstance(action, np.ndarray) and action.shape == ()
        assert np.issubdtype(action.dtype, np.integer)
        assert mask[action], f"{agent.name} chose masked action {action}"
        if agent.name not in DEFERRING:  # they defer when no candidate has room
            assert action < k or not mask[:k].any(), f"{agent.name} deferred with a candidate"
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            assert terminated and not truncated
            return info


@pytest.fixture(scope="module")
def sc12_episode(sc12_env):
    """Memoised ``(name, seed) -> final info`` on star_compute_12 at load 2."""
    cache: dict[tuple[str, int], dict] = {}

    def run(name: str, seed: int) -> dict:
        if (name, seed) not in cache:
            agent = make_heuristic(name, sc12_env, seed=seed)
            cache[name, seed] = run_episode(sc12_env, agent, seed)
        return cache[name, seed]

    return run


@pytest.mark.parametrize("name", list(HEURISTICS))
def test_heuristic_plays_valid_actions_through_a_toy_episode(toy_world, name):
    env = ConstellationDispatchEnv("toy", world=toy_world, invalid_action="raise")
    info = run_episode(env, make_heuristic(name, env, seed=0), seed=1, pass_mask=False)
    assert info["jobs_arrived"] > 0
    assert info["jobs_completed"] + info["jobs_dropped"] == info["jobs_arrived"]


# ect_wait defers through hours of overload here (a million decisions, minutes a run): it
# plays the crowded scenarios of test_overfill instead.
@pytest.mark.parametrize("name", [n for n in HEURISTICS if n != "ect_wait"])
def test_heuristic_plays_valid_actions_through_a_loaded_star_compute_episode(sc12_episode, name):
    info = sc12_episode(name, 0)
    assert info["jobs_arrived"] > 10_000
    assert info["jobs_completed"] > 0
    assert info["jobs_in_flight"] == 0


@pytest.mark.parametrize("name", list(HEURISTICS))
def test_predict_respects_an_explicit_single_action_mask(sc12_env, name):
    obs, _ = sc12_env.reset(seed=2)
    agent = make_heuristic(name, sc12_env, seed=0)
    valid = np.flatnonzero(sc12_env.action_masks())
    assert len(valid) > 2
    for only in valid:
        mask = np.zeros(sc12_env.action_space.n, dtype=bool)
        mask[only] = True
        action, _ = agent.predict(obs, action_masks=mask)
        assert int(action) == only
    # Any subset: the choice stays inside it.
    mask = np.zeros(sc12_env.action_space.n, dtype=bool)
    mask[valid[-3:]] = True
    assert mask[agent.predict(obs, action_masks=mask)[0]]


def test_predict_rejects_a_mask_of_the_wrong_size_or_with_nothing_allowed(sc12_env):
    obs, _ = sc12_env.reset(seed=2)
    agent = make_heuristic("ect", sc12_env)
    with pytest.raises(ValueError, match="expected 9 entries"):
        agent.predict(obs, action_masks=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="no valid action"):
        agent.predict(obs, action_masks=np.zeros(9, dtype=bool))


def _full(view, sat):
    return view.committed(sat) >= view.buffer_jobs(sat)


def _key_ect(view, job, sat):
    return (_full(view, sat), view.estimate(job, sat).delivered)


def _key_oracle(view, job, sat):
    return (_full(view, sat), view.oracle_estimate(job, sat).delivered)


def _key_uplink(view, job, sat):
    return (_full(view, sat), view.estimate(job, sat).uplink_start)


def _key_load(view, job, sat):
    return (view.committed(sat) / view.buffer_jobs(sat), view.compute_backlog_s(sat))


RULES = {
    "ect": _key_ect,
    "oracle": _key_oracle,
    "earliest_uplink": _key_uplink,
    "least_loaded": _key_load,
}


def test_each_greedy_heuristic_picks_the_first_argmin_of_its_key(sc12_env):
    """ECT, Oracle, EarliestUplink and LeastLoaded against keys recomputed from the view."""
    env = sc12_env
    agents = {name: make_heuristic(name, env) for name in RULES}
    obs, _ = env.reset(seed=3)
    k = env.k
    not_first = dict.fromkeys(RULES, 0)
    oracle_differs = 0
    for _ in range(3000):
        mask = env.action_masks()
        view, cands = env.view, env.candidates
        valid = [i for i in np.flatnonzero(mask) if i < k]
        chosen = {}
        for name, key in RULES.items():
            keys = [key(view, view.head, cands[i]) for i in valid]
            expected = valid[min(range(len(valid)), key=keys.__getitem__)]
            chosen[name] = int(agents[name].predict(obs, action_masks=mask)[0])
            assert chosen[name] == expected, name
            not_first[name] += expected != valid[0]
        oracle_differs += chosen["oracle"] != chosen["ect"]
        obs, _, terminated, truncated, _ = env.step(chosen["ect"])
        assert not (terminated or truncated)
    # The check has teeth: the rules do not all reduce to "first valid candidate".
    assert not_first["ect"] > 0 and not_first["oracle"] > 0 and not_first["least_loaded"] > 0
    assert oracle_differs > 0


def _queue_decision(env):
    """The mask, the valid candidate indices and their queue estimates (``None``: none valid)."""
    mask = env.action_masks()
    view, cands = env.view, env.candidates
    valid = [int(i) for i in np.flatnonzero(mask) if i < env.k]
    if not valid:
        return None
    est, taken = view.queue_estimates(view.head, [cands[i] for i in valid])
    return mask, valid, est, taken


def test_uplink_ect_takes_the_earliest_delivery_among_the_earliest_uplinks():
    """Keys recomputed from the view on walker_100, where several satellites are in view."""
    env = ConstellationDispatchEnv("walker_100", cache_dir=None, invalid_action="raise",
                                   **{"episode.max_decisions": 600})  # fmt: skip
    agents = {name: make_heuristic(name, env) for name in ("uplink_ect", "earliest_uplink",
                                                           "ect_queue")}  # fmt: skip
    obs, _ = env.reset(seed=1)
    differs = dict.fromkeys(("earliest_uplink", "ect_queue"), 0)
    for _ in range(600):
        if (decision := _queue_decision(env)) is None:
            break
        mask, valid, est, taken = decision
        view, cands = env.view, env.candidates
        keys = [(not view.has_room(cands[i], n), e.uplink_start, e.delivered)
                for i, e, n in zip(valid, est, taken, strict=True)]  # fmt: skip
        want = valid[min(range(len(valid)), key=keys.__getitem__)]
        chosen = {n: int(a.predict(obs, action_masks=mask)[0]) for n, a in agents.items()}
        assert chosen["uplink_ect"] == want
        for other in differs:
            differs[other] += chosen[other] != want
        # It never waits longer for the uplink than earliest_uplink does.
        up = {n: est[valid.index(chosen[n])].uplink_start for n in ("uplink_ect",
                                                                     "earliest_uplink")}
        assert up["uplink_ect"] <= up["earliest_uplink"] or keys[valid.index(want)][0]
        obs, _, terminated, truncated, _ = env.step(want)
        if terminated or truncated:
            break
    # Teeth: it is neither rule it combines.
    assert differs["earliest_uplink"] > 20 and differs["ect_queue"] > 20, differs


def _regime_replay(env, agent, seed, steps, *, reset_agent=True):
    """Play ``agent`` for ``steps`` decisions, recomputing its rule from the view each time.

    Returns how often it took the upload-now choice over a different wait (``ect_room``)
    one, the reverse, and the decisions where the upload-now choice was vetoed because the
    job would make its server swap models, for the teeth of the tests.
    """
    obs, _ = env.reset(seed=seed)
    if reset_agent:
        agent.reset()
    taken = {"uplink_ect": 0, "ect_queue": 0, "swap_veto": 0}
    share = None
    for _ in range(steps):
        if (decision := _queue_decision(env)) is None:
            break
        mask, valid, est, n = decision
        view, cands, job = env.view, env.candidates, env.view.head
        full = [view.no_room(cands[i], e.uplink_end, m)
                for i, e, m in zip(valid, est, n, strict=True)]  # fmt: skip
        swap = [np.isfinite(e.uplink_end) and view.swap_s(job, e.sat, e.uplink_end) > 0
                for e in est]  # fmt: skip
        slots = range(len(valid))
        wait = min(slots, key=lambda j: (full[j], est[j].delivered))
        now_ = min(slots, key=lambda j: (full[j], est[j].uplink_start, est[j].delivered))
        up, now = est[now_], view.now
        turnaround = up.delivered - now
        if np.isfinite(up.delivered) and turnaround > 0:
            x = (up.delivered - up.compute_end) / turnaround
            share = x if share is None else share + 0.01 * (x - share)
        sustained = env.scenario.episode.duration_s - now > turnaround
        regime = sustained and share is not None and share <= 0.25
        on_board_now = regime and not full[now_] and not swap[now_]
        want = valid[now_ if on_board_now else wait]
        assert int(agent.predict(obs, action_masks=mask)[0]) == want
        if now_ != wait:
            taken["uplink_ect" if on_board_now else "ect_queue"] += 1
        taken["swap_veto"] += regime and not full[now_] and swap[now_]
        obs, _, terminated, truncated, _ = env.step(want)
        if terminated or truncated:
            break
    return taken


def test_regime_ect_puts_jobs_on_board_now_only_while_arrivals_continue():
    """walker_100 (compute-bound) with 5 min of arrivals: on board now, then ect_room's choice."""
    env = ConstellationDispatchEnv("walker_100", cache_dir=None, invalid_action="raise",
                                   **{"episode.duration_s": 300})  # fmt: skip
    taken = _regime_replay(env, make_heuristic("regime_ect", env), seed=2, steps=1200)
    # Teeth: where the two rules differ it took each of them, so it is neither.
    assert taken["uplink_ect"] > 20 and taken["ect_queue"] > 20, taken
    assert taken["swap_veto"] == 0  # one model: nothing to swap


#: walker_100 serving two models with 120 s swaps (half the jobs each), 10 min of arrivals.
TWO_MODELS = {
    "episode.duration_s": 600,
    "classes.inference.models": ["llm-8b", "llm-3b"],
    "classes.inference.model_swap_s": 120,
    "models.llm-3b": {"prefill_tokens_per_s": 4000, "decode_tokens_per_s": 53, "memory_gb": 2.5},
    "workload.models": {"llm-8b": 0.5, "llm-3b": 0.5},
}


def test_swap_s_is_the_swap_inside_the_queue_estimate():
    """SimView.swap_s against the estimate: compute time = swap + prefill + decode."""
    env = ConstellationDispatchEnv("walker_100", cache_dir=None, **TWO_MODELS)
    agent = make_heuristic("ect_queue", env)
    obs, _ = env.reset(seed=4)
    world, sim, out = env.world, env.sim, env.view.expected_output_tokens
    seen = {0.0: 0, 120.0: 0}
    for _ in range(300):
        if (decision := _queue_decision(env)) is None:
            break
        _, _, est, _ = decision
        job = env.view.head
        m = env.view.job(job)["model"]
        for e in est:
            if not np.isfinite(e.compute_end):
                continue
            c = world.sat_class_list[e.sat]
            service = (sim.in_tokens[job] * world.prefill_s_per_token[c][m]
                       + out * world.decode_s_per_token[c][m])  # fmt: skip
            swap = env.view.swap_s(job, e.sat, e.uplink_end)
            assert e.compute_end - e.compute_start == pytest.approx(swap + service, abs=1e-6)
            seen[swap] += 1
        obs, _, terminated, truncated, _ = env.step(agent.predict(obs)[0])
        if terminated or truncated:
            break
    assert seen[0.0] > 100 and seen[120.0] > 100, seen  # teeth: both cases were checked


def test_regime_ect_does_not_put_a_job_on_board_that_makes_a_server_swap_models():
    """Two models, 120 s swaps: the upload-now choice is not taken where it makes a swap."""
    env = ConstellationDispatchEnv("walker_100", cache_dir=None, invalid_action="raise",
                                   **TWO_MODELS)  # fmt: skip
    taken = _regime_replay(env, make_heuristic("regime_ect", env), seed=2, steps=1500)
    assert taken["swap_veto"] > 10 and taken["uplink_ect"] > 20, taken


def test_regime_ect_waits_like_ect_queue_where_results_wait_for_a_downlink(sc12_world):
    """star_compute_12: sparse passes, results wait for a station, so the wait rule decides."""
    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, invalid_action="raise")
    agent = make_heuristic("regime_ect", env)
    taken = _regime_replay(env, agent, seed=3, steps=1500)
    assert taken["ect_queue"] > 20 and agent.share > 0.25, (taken, agent.share)
    # The running mean starts again with each episode, reset() called or not.
    again = _regime_replay(env, agent, seed=3, steps=1500, reset_agent=False)
    assert again == taken


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"downlink_share": 1.5}, "downlink_share"), ({"smoothing": 0.0}, "smoothing")],
)
def test_regime_ect_names_a_bad_parameter(toy_world, kwargs, field):
    env = ConstellationDispatchEnv("toy", world=toy_world)
    with pytest.raises(ConfigError, match=f"regime_ect {field}: must be in"):
        HEURISTICS["regime_ect"](env, **kwargs)


def test_round_robin_moves_on_to_the_next_satellite_each_decision(sc12_env):
    env = sc12_env
    agent = make_heuristic("round_robin", env)
    obs, _ = env.reset(seed=4)
    agent.reset()
    n_sats = env.view.n_sats
    used = []
    for _ in range(200):
        mask = env.action_masks()
        cands = env.candidates
        valid_sats = [cands[i] for i in np.flatnonzero(mask) if i < env.k]
        action = int(agent.predict(obs, action_masks=mask)[0])
        sat = cands[action]
        last = used[-1] if used else -1
        assert sat == min(valid_sats, key=lambda s, last=last: (s - last - 1) % n_sats)
        if len(valid_sats) > 1:
            assert sat != last
        used.append(sat)
        obs, *_ = env.step(action)
    assert len(set(used)) == n_sats
    # reset() puts the pointer back before satellite 0.
    agent.reset()
    cands = env.candidates
    valid_sats = [cands[i] for i in np.flatnonzero(env.action_masks()) if i < env.k]
    assert cands[int(agent.predict(obs)[0])] == min(valid_sats)


def test_random_spreads_over_candidates_and_repeats_under_a_seed(sc12_env):
    obs, _ = sc12_env.reset(seed=5)
    mask = sc12_env.action_masks()
    a, b = RandomAgent(sc12_env, seed=7), RandomAgent(sc12_env, seed=7)
    draws_a = [int(a.predict(obs, action_masks=mask)[0]) for _ in range(200)]
    draws_b = [int(b.predict(obs, action_masks=mask)[0]) for _ in range(200)]
    assert draws_a == draws_b
    assert set(draws_a) == {i for i in np.flatnonzero(mask) if i < sc12_env.k}


@pytest.mark.expensive
def test_ect_beats_random_and_round_robin_and_oracle_bounds_ect_at_high_load(sc12_episode):
    """The baseline ranking on star_compute_12, load 2, paired seeds (~30 s)."""
    mean = {
        name: np.array([sc12_episode(name, s)["mean_turnaround_s"] for s in CLAIM_SEEDS])
        for name in ("random", "round_robin", "ect", "oracle")
    }
    for other in ("random", "round_robin"):
        assert mean["ect"].mean() <= 0.85 * mean[other].mean(), (other, mean)
        assert np.all(mean["ect"] < mean[other]), (other, mean)  # every paired seed
    assert mean["oracle"].mean() <= 1.01 * mean["ect"].mean(), mean


def test_registry_lists_the_heuristics_in_order_and_flags_only_oracle_as_a_bound():
    assert list(HEURISTICS) == [
        "random",
        "round_robin",
        "earliest_uplink",
        "uplink_ect",
        "regime_ect",
        "least_loaded",
        "ect",
        "ect_queue",
        "ect_room",
        "ect_wait",
        "load_aware",
        "wait_for_room",
        "oracle",
    ]
    assert [n for n, c in HEURISTICS.items() if c.reference_bound] == ["oracle"]
    assert HEURISTICS["oracle"] is OracleAgent


def test_make_heuristic_names_the_unknown_heuristic_and_the_known_ones(toy_world):
    env = ConstellationDispatchEnv("toy", world=toy_world)
    with pytest.raises(ConfigError, match=r"'fastest'.*random, round_robin.*oracle"):
        make_heuristic("fastest", env)
    assert isinstance(make_heuristic("oracle", env, seed=1), OracleAgent)


def test_room_is_fewer_committed_jobs_than_buffer_slots():
    env = ConstellationDispatchEnv("toy", cache_dir=None, **{"classes.inference.buffer_jobs": 2})
    env.reset(seed=0)
    sat = env.candidates[0]
    view = env.view
    assert view.has_room(sat) and view.committed(sat) == 0
    assert view.has_room(sat, jobs=1) and not view.has_room(sat, jobs=2)
    for _ in range(2):  # two jobs dispatched to the satellite fill its two slots
        env.step(int(env.candidates.index(sat)))
    assert view.committed(sat) == 2 and not view.has_room(sat)


def test_room_rule_on_features_allows_full_candidates_only_when_all_are_full():
    from agents.heuristics import room_rule

    valid = np.array([True, True, True, False])
    assert room_rule(valid, np.array([1.0, 0.99, 2.0, 0.0])).tolist() == [False, True, False, False]
    assert room_rule(valid, np.array([1.0, 1.5, 2.0, 0.0])).tolist() == [True, True, True, False]
    assert not room_rule(np.zeros(4, dtype=bool), np.zeros(4)).any()
