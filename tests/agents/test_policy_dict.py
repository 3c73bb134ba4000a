"""The candidate-scoring policy reads the env's ``Dict`` observation as it reads the flat one."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO

from agents.policy import CandidateScoringPolicy, DispatchFeatures, policy_kwargs_for
from envs.dispatch_env import ConstellationDispatchEnv


def _model(env) -> MaskablePPO:
    return MaskablePPO(
        CandidateScoringPolicy, env, n_steps=32, batch_size=16, n_epochs=1, seed=0,
        policy_kwargs=policy_kwargs_for(env, hidden=16),
    )  # fmt: skip


def test_same_parameters_give_the_same_logits_and_values_on_either_form() -> None:
    flat_env = ConstellationDispatchEnv("toy", cache_dir=None)
    dict_env = ConstellationDispatchEnv("toy", cache_dir=None, observation="dict")
    flat, parts = _model(flat_env), _model(dict_env)
    parts.policy.load_state_dict(flat.policy.state_dict())
    f_obs, _ = flat_env.reset(seed=2)
    d_obs, _ = dict_env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(30):
        ft, _ = flat.policy.obs_to_tensor(f_obs)
        dt, _ = parts.policy.obs_to_tensor(d_obs)
        with th.no_grad():
            assert th.equal(flat.policy.action_logits(ft), parts.policy.action_logits(dt))
            assert th.equal(flat.policy.predict_values(ft), parts.policy.predict_values(dt))
        mask = flat_env.action_masks()
        a = int(rng.choice(np.flatnonzero(mask)))
        f_obs, _, term, _, _ = flat_env.step(a)
        d_obs, _, _, _, _ = dict_env.step(a)
        if term:
            break


def test_trains_on_the_dict_form() -> None:
    env = ConstellationDispatchEnv("toy", cache_dir=None, observation="dict")
    model = _model(env)
    assert isinstance(model.policy.features_extractor, DispatchFeatures)
    model.learn(64)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
    assert env.action_masks()[int(action)]


def test_a_dict_of_the_wrong_width_is_refused() -> None:
    env = ConstellationDispatchEnv("toy", cache_dir=None, observation="dict")
    with pytest.raises(ValueError, match="do not fit"):
        kwargs = policy_kwargs_for(env, n_features=13)
        MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=kwargs)
