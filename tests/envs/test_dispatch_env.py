"""The Gymnasium environment: API conformance, determinism and the reward identity."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers ConstellationDispatch-v1)
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.sim import job_table
from envs.sim.core import DEFER_RETURN
from envs.wrappers import flatten_observation


def rollout(env, seed, policy_seed=0, max_steps=200_000, defer_p=0.05):
    """Random valid actions (deferring with probability ``defer_p``); obs, rewards, info."""
    rng = np.random.default_rng(policy_seed)
    obs, info = env.reset(seed=seed)
    observations, rewards = [flatten_observation(obs)], []
    k = env.unwrapped.k
    for _ in range(max_steps):
        valid = np.flatnonzero(env.unwrapped.action_masks())
        dispatch = valid[valid < k]
        if len(dispatch) and (len(dispatch) == len(valid) or rng.random() > defer_p):
            valid = dispatch
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(valid)))
        observations.append(flatten_observation(obs))
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(observations), np.array(rewards), info


def test_passes_gymnasium_check_env(toy_world):
    check_env(ConstellationDispatchEnv("toy", world=toy_world), skip_render_check=True)


def test_passes_sb3_check_env(toy_world):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(ConstellationDispatchEnv("toy", world=toy_world), warn=True)


def test_registered_and_made_with_overrides():
    env = gym.make("ConstellationDispatch-v1", scenario="toy", candidates=2, load=2.0)
    assert env.unwrapped.scenario.dispatch.candidates == 2
    assert env.unwrapped.scenario.workload.load == 2.0
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_same_seed_gives_identical_rollouts(sc12_world):
    a = ConstellationDispatchEnv("star_compute_12", world=sc12_world)
    b = ConstellationDispatchEnv("star_compute_12", world=sc12_world)
    obs_a, rew_a, info_a = rollout(a, seed=3)
    obs_b, rew_b, info_b = rollout(b, seed=3)
    assert obs_a.tobytes() == obs_b.tobytes()
    assert rew_a.tobytes() == rew_b.tobytes()
    assert a.metrics() == b.metrics() or _nan_equal(a.metrics(), b.metrics())
    obs_c, _, _ = rollout(a, seed=4)
    assert obs_c.shape != obs_a.shape or obs_c.tobytes() != obs_a.tobytes()


def _nan_equal(x, y):
    return all((x[k] == y[k]) or (x[k] != x[k] and y[k] != y[k]) for k in x)


@pytest.mark.parametrize(
    ("overrides", "unit_s"),
    [
        ({}, 3600.0),  # the default reward is in hours
        ({"workload.deadline_s": 900.0, "load": 3.0}, 3600.0),
        ({"workload.onboard_fraction": 0.3, "reward": "time_in_system_s"}, 1.0),
    ],
)
def test_episode_return_is_minus_total_time_in_system_plus_penalties(
    sc12_world, overrides, unit_s
):
    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, **overrides)
    _, rewards, info = rollout(env, seed=1)
    table = job_table(env.sim)
    end = np.where(np.isnan(table["delivered_s"]), table["dropped_at_s"], table["delivered_s"])
    assert not np.isnan(end).any() and info["jobs_in_flight"] == 0
    penalty = env.scenario.reward.drop_penalty_s * info["jobs_dropped"]
    expected = -(float((end - table["arrival_s"]).sum()) + penalty) / unit_s
    assert float(rewards.sum()) == pytest.approx(expected, rel=1e-9)
    if "load" in overrides:
        assert info["jobs_dropped"] > 0  # the penalty term is exercised
    if "workload.onboard_fraction" in overrides:
        on_board = table["origin"] < 0
        assert 0.2 < on_board.mean() < 0.4
        done = table["status"] == "completed"
        assert np.all(table["sat"][on_board & done] == -1 - table["origin"][on_board & done])
    for key in ("jobs_arrived", "jobs_completed", "jobs_dropped", "jobs_in_flight",
                "mean_turnaround_s", "p95_turnaround_s"):  # fmt: skip
        assert key in info and key in env.metrics()


def test_observations_stay_in_the_space_and_masks_match(sc12_world):
    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, load=3.0)
    obs, _ = env.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(300):
        assert env.observation_space.contains(obs)
        mask = env.action_masks()
        assert mask.shape == (env.action_space.n,) and mask.any()
        k, f = env.k, env.n_features
        assert obs["candidates"].shape == (k, f)
        np.testing.assert_array_equal(obs["candidates"][:, 0].astype(bool), mask[:k])
        np.testing.assert_array_equal(obs["action_mask"].astype(bool), mask)
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            break


def test_masked_action_falls_back_or_raises(sc12_world):
    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, candidates=14)
    env.reset(seed=0)
    masked = np.flatnonzero(~env.action_masks())
    assert len(masked), "this seed should offer at least one invalid candidate slot"
    _, _, _, _, info = env.step(int(masked[0]))
    assert info["invalid_action"] is True
    strict = ConstellationDispatchEnv(
        "star_compute_12", world=sc12_world, candidates=14, invalid_action="raise"
    )
    strict.reset(seed=0)
    with pytest.raises(ValueError, match="masked"):
        strict.step(int(np.flatnonzero(~strict.action_masks())[0]))


def test_bad_actions_and_step_after_end_are_clear_errors(toy_world):
    env = ConstellationDispatchEnv("toy", world=toy_world)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(env.action_space.n)
    with pytest.raises(ValueError, match="action"):
        env.step(-1)
    rollout(env, seed=0)
    with pytest.raises(RuntimeError, match="ended"):
        env.step(0)


def test_truncation_after_max_decisions(sc12_world):
    env = ConstellationDispatchEnv(
        "star_compute_12", world=sc12_world, **{"episode.max_decisions": 5}
    )
    _, rewards, info = rollout(env, seed=0)
    assert len(rewards) == 5 and info["jobs_in_flight"] >= 0


def test_works_in_gymnasium_vector_env(toy_world):
    vec = gym.vector.SyncVectorEnv(
        [lambda: ConstellationDispatchEnv("toy", world=toy_world) for _ in range(2)]
    )
    obs, _ = vec.reset(seed=[0, 1])
    assert obs["candidates"].shape[0] == 2 and obs["action_mask"].shape[0] == 2
    for _ in range(20):
        obs, *_ = vec.step(np.zeros(2, dtype=np.int64))
    vec.close()


@pytest.mark.expensive
def test_works_in_sb3_subproc_vec_env():
    from stable_baselines3.common.vec_env import SubprocVecEnv

    vec = SubprocVecEnv([lambda: ConstellationDispatchEnv("toy") for _ in range(2)])
    vec.seed(0)
    obs = vec.reset()
    for _ in range(20):
        obs, *_ = vec.step(np.zeros(2, dtype=np.int64))
    masks = vec.env_method("action_masks")
    assert len(masks) == 2
    vec.close()


@pytest.mark.parametrize(
    "overrides", [{}, {"ground.backhaul_delay_s": 0.5}, {"workload.onboard_fraction": 0.5}]
)
def test_batched_estimates_equal_single_estimates(sc12_world, overrides):
    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, load=2.0, **overrides)
    env.reset(seed=4)
    view, rng = env.view, np.random.default_rng(0)
    checked = 0
    for _ in range(400):
        job = view.head
        sats = list(range(env.world.n_sats))
        assert view.estimates(job, sats) == [view.estimate(job, s) for s in sats]
        checked += 1
        valid = np.flatnonzero(env.action_masks())
        _, _, terminated, truncated, _ = env.step(int(rng.choice(valid)))
        if terminated or truncated:
            break
    assert checked > 100


def test_episode_settings_come_from_the_env_scenario_not_the_shared_world(toy_world):
    overrides = {"dispatch.defer_s": 300.0, "ground.backhaul_delay_s": 5.0}
    env = ConstellationDispatchEnv("toy", world=toy_world, **overrides)
    assert toy_world.scenario.dispatch.defer_s != 300.0
    assert toy_world.scenario.ground.backhaul_delay_s != 5.0
    env.reset(seed=0)
    assert (env.sim.defer_s, env.sim.backhaul_s) == (300.0, 5.0)
    job, now = env.view.head, env.view.now
    env.step(env.k)  # defer the head job
    returns = [t for t, kind, _, _, j in env.sim.heap if kind == DEFER_RETURN and j == job]
    assert returns == [pytest.approx(now + 300.0)]


def test_a_world_built_from_another_scenario_is_refused(toy_world):
    with pytest.raises(ConfigError, match=r"world: .*constellation"):
        ConstellationDispatchEnv("star_compute_12", world=toy_world)
    with pytest.raises(ConfigError, match=r"world: .*ground"):
        ConstellationDispatchEnv("toy", world=toy_world, **{"ground.min_elevation_deg": 20.0})
    with pytest.raises(ConfigError, match=r"episode\.duration_s: 90000 s of arrivals"):
        ConstellationDispatchEnv("toy", world=toy_world, **{"episode.duration_s": 90000.0})
    shorter = ConstellationDispatchEnv("toy", world=toy_world, **{"episode.duration_s": 600.0})
    shorter.reset(seed=0)
    assert shorter.sim.horizon_s == toy_world.horizon_s


def test_candidate_features_match_the_view_they_summarise(sc12_world):
    """Buffer commitment, gap to the earliest delivery and queued compute, by hand."""
    from envs.dispatch_env import CANDIDATE_FEATURES, _t

    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, load=2.0)
    obs, _ = env.reset(seed=7)
    col = {name: j for j, name in enumerate(CANDIDATE_FEATURES)}
    rng = np.random.default_rng(0)
    seen_queue = seen_gap = 0
    for _ in range(400):
        u = env.unwrapped
        sim, view = u.sim, u.view
        job = view.head
        ests = view.estimates(job, u.candidates)
        rows = obs["candidates"]
        best = min(e.delivered for e in ests)
        for i, e in enumerate(ests):
            if e.delivered == np.inf:  # an invalid candidate: its row is all zeros
                continue
            sat = e.sat
            queued = (view.committed(sat) - view.onboard(sat)) * (e.compute_end - e.compute_start)
            want = (
                view.committed(sat) / view.buffer_jobs(sat),
                _t(e.delivered - best),
                _t(queued),
            )
            got = rows[i, [col["buffer_used"], col["delivery_vs_best"], col["queued_compute"]]]
            np.testing.assert_allclose(got, np.minimum(want, 2.0), rtol=1e-6, atol=1e-7)
            seen_queue += queued > 0
            seen_gap += e.delivered > best
        assert sim.now == view.now
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    assert seen_queue and seen_gap  # the features were exercised, not just zero


def test_made_with_nothing_in_view_the_episode_runs_and_reports_no_pass():
    """The reported crash: a 60 s toy episode, no drain: its contact plan is empty."""
    env = gym.make(
        "ConstellationDispatch-v1", scenario="toy", duration_s=60, **{"episode.drain_s": 0}
    )
    assert len(env.unwrapped.world.plan) == 0
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(0)
    assert terminated and not truncated and reward == 0.0


def test_an_empty_contact_plan_drops_every_job_as_no_contact(tmp_path):
    """A station whose mask no satellite reaches: every job is dropped, nothing crashes."""
    stations = tmp_path / "kashi_zenith.yaml"
    stations.write_text(
        "network: china\nstations:\n  - {name: RSGS Kashi, lat_deg: 39.50, lon_deg: 75.93, "
        "alt_m: 1300, min_elevation_deg: 89.99}\n"
    )
    env = ConstellationDispatchEnv("toy", **{"ground.station_files": [str(stations)]})
    assert len(env.world.plan) == 0
    _, reset_info = env.reset(seed=0)
    assert not env.action_masks().any()  # no decision to make: the step only ends the episode
    _, reward, terminated, _, info = env.step(0)
    assert terminated and reset_info["reset_reward"] + reward < 0  # the drops are charged
    assert info["jobs_arrived"] > 0 and info["jobs_completed"] == 0
    assert info["dropped_no_contact"] == info["jobs_dropped"] == info["jobs_arrived"]
