"""The one episode loop (``agents.rollout``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents.evaluate import run_episode
from agents.heuristics import make_heuristic
from agents.rollout import Step, as_act, random_valid, rollout
from envs.dispatch_env import ConstellationDispatchEnv
from envs.sim import job_table

BUSY = {"load": 12.0, "classes.inference.buffer_jobs": 6}


def busy_env(**kw) -> ConstellationDispatchEnv:
    return ConstellationDispatchEnv("toy", cache_dir=None, **{**BUSY, **kw})


def test_rollout_repeats_identically_under_one_seed():
    env = busy_env()
    a = rollout(env, make_heuristic("random", env, seed=3), seed=5)
    b = rollout(env, make_heuristic("random", env, seed=3), seed=5)
    assert (a.steps, a.episode_return, a.terminated) == (b.steps, b.episode_return, b.terminated)


def test_rollout_plays_as_the_evaluation_loop_does():
    result = run_episode("toy", "ect", 12.0, seed=2, overrides={"classes.inference.buffer_jobs": 6})
    env = busy_env()
    ours = rollout(env, make_heuristic("ect", env, seed=result.seed), seed=2)
    assert ours.episode_return == result.metrics["return"]
    assert ours.steps == result.decisions
    assert ours.info["jobs_completed"] == result.metrics["jobs_completed"]


def test_return_in_seconds_is_minus_the_job_tables_cost():
    env = busy_env(reward="time_in_system_s")
    result = rollout(env, make_heuristic("ect_queue", env), seed=1)
    cost = job_table(env.sim)["cost_s"].sum()
    assert result.terminated and not result.truncated
    assert -result.episode_return == pytest.approx(cost, rel=1e-12)


def test_on_step_sees_each_decision_before_it_is_taken():
    env = busy_env()
    seen: list[Step] = []
    result = rollout(env, make_heuristic("ect", env), seed=0, on_step=seen.append)
    assert len(seen) == result.steps and [s.index for s in seen] == list(range(result.steps))
    decided = [s for s in seen if s.mask.any()]
    assert decided and all(s.mask[s.action] for s in decided)
    assert all(s.job >= 0 for s in decided)
    assert len({s.job for s in decided}) >= len(decided) // 2  # jobs, not one id repeated
    reset_reward = busy_env().reset(seed=0)[1]["reset_reward"]
    assert reset_reward + sum(s.reward for s in seen) == pytest.approx(result.episode_return)
    assert seen[-1].terminated and seen[-1].info is result.info


def test_max_steps_and_on_step_false_stop_early():
    env = busy_env()
    cut = rollout(env, make_heuristic("ect", env), seed=0, max_steps=7)
    assert cut.steps == 7 and not cut.done
    stopped = rollout(env, make_heuristic("ect", env), seed=0, on_step=lambda s: s.index < 4)
    assert stopped.steps == 5 and not stopped.done


def test_continuing_without_reset_plays_the_rest_of_the_episode():
    env = busy_env()
    whole = rollout(env, make_heuristic("ect", env), seed=0)
    agent = make_heuristic("ect", env)
    first = rollout(env, agent, seed=0, max_steps=10)
    rest = rollout(env, agent, None, reset=False, start_return=first.episode_return)
    assert first.steps + rest.steps == whole.steps
    assert rest.episode_return == whole.episode_return
    assert rest.terminated


def test_agent_is_reset_at_every_episode_start():
    env = busy_env()
    agent = make_heuristic("round_robin", env)
    first = rollout(env, agent, seed=0, max_steps=5)
    again = rollout(env, agent, seed=0, max_steps=5)
    assert first.episode_return == again.episode_return  # the pointer starts over


def test_models_without_masks_are_asked_without_them():
    class NoMasks:
        def __init__(self):
            self.calls = []

        def predict(self, obs, state=None, episode_start=None, deterministic=False):
            self.calls.append(deterministic)
            return np.array(0), None

    env = busy_env(invalid_action="fallback")
    agent = NoMasks()
    result = rollout(env, agent, seed=0, masked=False, max_steps=3)
    assert result.steps == 3 and agent.calls == [True, True, True]
    with pytest.raises(TypeError, match="action_masks"):
        as_act(agent)(None, np.ones(3, dtype=bool))


def test_random_valid_draws_only_valid_actions_and_plays_maskless_envs():
    env = busy_env()
    chosen = []
    rollout(
        env,
        random_valid(np.random.default_rng(0)),
        seed=0,
        on_step=lambda s: chosen.append(bool(s.mask[s.action]) or not s.mask.any()),
    )
    assert chosen and all(chosen)
    cartpole = gym.make("CartPole-v1")
    result = rollout(cartpole, random_valid(np.random.default_rng(0), 2), seed=0)
    assert result.done and result.steps > 0


def test_random_valid_draws_what_generator_choice_draws():
    # The benchmarks' trajectories stay the same as with ``rng.choice(valid)``.
    masks = np.random.default_rng(1).random((500, 9)) < 0.4
    masks[:, 3] = True  # never empty
    act = random_valid(np.random.default_rng(7))
    reference = np.random.default_rng(7)
    for mask in masks:
        assert act(None, mask) == int(reference.choice(np.flatnonzero(mask)))


def test_an_agent_that_is_neither_callable_nor_a_predictor_is_refused():
    with pytest.raises(TypeError, match="agent: expected"):
        as_act(42)


def test_an_episode_over_at_the_reset_takes_a_step_only_when_asked():
    env = ConstellationDispatchEnv("toy", cache_dir=None, **{"episode.duration_s": 1.0})
    skipped = rollout(env, random_valid(np.random.default_rng(0)), seed=0)
    assert skipped.steps == 0 and skipped.terminated and "cost_s" not in skipped.info
    stepped = rollout(env, random_valid(np.random.default_rng(0)), seed=0, step_finished=True)
    assert stepped.steps == 1 and stepped.terminated and stepped.info["cost_s"] == 0
