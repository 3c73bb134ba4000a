"""``reset(options={"load": x})``: one environment (and world) serves several loads."""

from __future__ import annotations

import numpy as np
import pytest

from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.wrappers import flatten_observation


def _trajectory(env: ConstellationDispatchEnv, seed: int, **reset_kw) -> list[bytes]:
    """Observations, masks and rewards of one episode under 'first valid candidate'."""
    obs, info = env.reset(seed=seed, **reset_kw)
    out = [
        flatten_observation(obs).tobytes(),
        env.action_masks().tobytes(),
        repr(info["reset_reward"]).encode(),
    ]
    done = False
    while not done:
        mask = env.action_masks()
        action = int(np.flatnonzero(mask)[0]) if mask.any() else 0
        obs, reward, term, trunc, _ = env.step(action)
        out += [
            flatten_observation(obs).tobytes(),
            env.action_masks().tobytes(),
            repr(reward).encode(),
        ]
        done = term or trunc
    return out


@pytest.mark.parametrize("load", [0.5, 2.0])
def test_load_option_equals_a_scenario_built_at_that_load(load: float) -> None:
    shared = ConstellationDispatchEnv("toy", cache_dir=None)
    built = ConstellationDispatchEnv("toy", cache_dir=None, world=shared.world, load=load)
    assert _trajectory(shared, 3, options={"load": load}) == _trajectory(built, 3)


def test_load_option_holds_for_one_episode_only() -> None:
    env = ConstellationDispatchEnv("toy", cache_dir=None)
    plain = _trajectory(env, 5)
    busy = _trajectory(env, 5, options={"load": 3.0})
    assert busy != plain  # more arrivals
    assert _trajectory(env, 5) == plain  # the next reset is back at the scenario's load
    assert env.scenario.workload.load == 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"load": 0}, "options.load: must be a number > 0, got 0"),
        ({"load": -1.5}, "options.load: must be a number > 0, got -1.5"),
        ({"load": float("nan")}, "options.load: must be a number > 0, got nan"),
        ({"load": "high"}, "options.load: must be a number > 0, got 'high'"),
        ({"load": True}, "options.load: must be a number > 0, got True"),
        ({"loads": 2.0}, "options: unknown key 'loads' (known: load)"),
    ],
)
def test_bad_reset_options_are_one_line_errors(options: dict, message: str) -> None:
    env = ConstellationDispatchEnv("toy", cache_dir=None)
    with pytest.raises(ConfigError) as err:
        env.reset(seed=0, options=options)
    assert str(err.value) == message
