"""Pluggable rewards (``envs.reward``): hours by default, seconds by name, objects of your own."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.reward import Reward, TimeInSystem, make_reward
from envs.sim import job_costs_s, job_table


def _play(env, seed=0):
    """ECT-free episode: always the first valid action; reset_reward then the step rewards."""
    _, info = env.reset(seed=seed)
    rewards = [info["reset_reward"]]
    done = False
    while not done:
        mask = env.unwrapped.action_masks()
        action = int(np.flatnonzero(mask)[0]) if mask.any() else 0
        _, r, term, trunc, _ = env.step(action)
        rewards.append(r)
        done = term or trunc
    return np.asarray(rewards)


def test_gym_make_rewards_are_in_hours_by_default():
    hours = gym.make(envs.ENV_ID, scenario="toy", cache_dir=None)
    seconds = gym.make(envs.ENV_ID, scenario="toy", cache_dir=None, reward="time_in_system_s")
    assert hours.unwrapped.reward_fn == TimeInSystem("h")
    r_h, r_s = _play(hours), _play(seconds)
    np.testing.assert_allclose(r_h * 3600.0, r_s, rtol=1e-12)
    assert r_s.sum() < -3600.0  # the toy episode costs hours of job time


def test_return_is_minus_the_job_costs_in_the_chosen_unit():
    for unit, unit_s in (("h", 3600.0), ("s", 1.0)):
        env = ConstellationDispatchEnv("toy", cache_dir=None, load=3.0, reward=TimeInSystem(unit))
        rewards = _play(env, seed=2)
        sim = env.sim
        cost_s = job_costs_s(job_table(sim), sim.now, env.scenario.reward.drop_penalty_s).sum()
        assert rewards.sum() == pytest.approx(-cost_s / unit_s, rel=1e-12)


@dataclasses.dataclass
class CountingReward(Reward):
    """-1 per drop and nothing else; counts its calls (a stateful reward)."""

    resets: int = 0
    steps: int = 0

    def reset(self, env, job_seconds, drops, *, drop_penalty_s):
        self.resets += 1
        self.steps = 0
        return -float(drops)

    def step(self, env, job_seconds, drops, *, drop_penalty_s):
        assert env is not None and drop_penalty_s == env.scenario.reward.drop_penalty_s
        self.steps += 1
        return -float(drops)


def test_a_reward_object_of_your_own_is_called_at_reset_and_every_step():
    mine = CountingReward()
    env = ConstellationDispatchEnv("toy", cache_dir=None, load=3.0, reward=mine)
    rewards = _play(env, seed=1)
    assert mine.resets == 1 and mine.steps == len(rewards) - 1
    assert -rewards.sum() == env.metrics()["jobs_dropped"]


def test_a_fork_carries_its_own_copy_of_a_stateful_reward():
    env = ConstellationDispatchEnv("toy", cache_dir=None, reward=CountingReward())
    env.reset(seed=0)
    twin = env.fork()
    twin.step(0)
    assert twin.reward_fn is not env.reward_fn
    assert (twin.reward_fn.steps, env.reward_fn.steps) == (1, 0)


@pytest.mark.parametrize(
    ("spec", "words"),
    [("hours", ["reward", "'hours'", "time_in_system_s"]), (3600, ["reward", "3600"])],
)
def test_an_unknown_reward_is_refused_naming_it(spec, words):
    with pytest.raises(ConfigError) as err:
        ConstellationDispatchEnv("toy", cache_dir=None, reward=spec)
    for word in words:
        assert word in str(err.value)


def test_an_unknown_unit_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"reward unit.*'min'"):
        TimeInSystem("min")


def test_names_make_the_documented_rewards():
    assert make_reward("time_in_system") == make_reward("time_in_system_h") == TimeInSystem("h")
    assert make_reward("time_in_system_s").unit_s == 1.0
    mine = CountingReward()
    assert make_reward(mine) is mine



def test_the_last_step_reports_the_episode_cost_in_seconds_whatever_the_reward():
    for reward, unit_s in (("time_in_system", 3600.0), ("time_in_system_s", 1.0)):
        env = ConstellationDispatchEnv("toy", cache_dir=None, load=3.0, reward=reward)
        _, info = env.reset(seed=2)
        total, done = info["reset_reward"], False
        while not done:
            mask = env.action_masks()
            _, r, term, trunc, info = env.step(int(np.flatnonzero(mask)[0]) if mask.any() else 0)
            total, done = total + r, term or trunc
        assert info["cost_s"] > 0
        assert info["cost_s"] == pytest.approx(-total * unit_s, rel=1e-12)
