"""CandidateScoringPolicy: equivariance, masking, any K, save/load, MaskablePPO and PPO."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO

from agents.policy import CandidateScoringPolicy, adapt_to_env, policy_kwargs_for
from envs.dispatch_env import ConstellationDispatchEnv


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny networks: OpenMP threads only add barrier waits (milliseconds on a busy machine)."""
    previous = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(previous)


def make_policy(env, **kwargs) -> CandidateScoringPolicy:
    th.manual_seed(0)
    return CandidateScoringPolicy(
        env.observation_space, env.action_space, lambda _: 3e-4, **policy_kwargs_for(env, **kwargs)
    )


def collect(env, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` observations and masks from random valid actions (resetting at episode ends)."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    observations, masks = [], []
    while len(observations) < n:
        mask = env.action_masks()
        observations.append(obs)
        masks.append(mask)
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            obs, _ = env.reset()
    return np.stack(observations), np.stack(masks)


def permute_candidates(obs: np.ndarray, perm: np.ndarray, n_global: int, n_features: int):
    blocks = obs[:, n_global:].reshape(len(obs), len(perm), n_features)
    return np.concatenate([obs[:, :n_global], blocks[:, perm].reshape(len(obs), -1)], axis=1)


@pytest.fixture(scope="module")
def toy_model(toy_world):
    """MaskablePPO trained for 256 steps on toy with K=8 (6 padding candidates)."""
    env = ConstellationDispatchEnv("toy", observation="flat", world=toy_world, candidates=8)
    model = MaskablePPO(
        CandidateScoringPolicy,
        env,
        policy_kwargs=policy_kwargs_for(env, hidden=32),
        n_steps=64,
        batch_size=32,
        n_epochs=2,
        seed=0,
    )
    return model.learn(256)


def test_permuting_candidates_permutes_logits_and_keeps_defer_and_value(sc12_world):
    env = ConstellationDispatchEnv(
        "star_compute_12", observation="flat", world=sc12_world, candidates=16, load=2.0
    )
    policy = make_policy(env, mask_invalid=False)
    obs, masks = collect(env, 32)
    assert (~masks[:, :16]).any() and masks[:, :16].any()  # padding and real candidates
    perm = np.random.default_rng(1).permutation(16)
    shuffled = permute_candidates(obs, perm, env.n_global, env.n_features)
    with th.no_grad():
        logits = policy.action_logits(th.as_tensor(obs))
        logits_p = policy.action_logits(th.as_tensor(shuffled))
        value = policy.predict_values(th.as_tensor(obs))
        value_p = policy.predict_values(th.as_tensor(shuffled))
    assert logits.shape == (32, 17)
    assert logits[:, :16].std() > 1e-4  # candidates really are scored differently
    th.testing.assert_close(logits_p[:, :16], logits[:, :16][:, perm], rtol=0, atol=1e-6)
    th.testing.assert_close(logits_p[:, 16], logits[:, 16], rtol=0, atol=1e-6)
    th.testing.assert_close(value_p, value, rtol=0, atol=1e-6)


@pytest.mark.parametrize("mask_invalid", [False, True])
def test_masked_actions_get_zero_probability_and_are_never_sampled(sc12_world, mask_invalid):
    env = ConstellationDispatchEnv(
        "star_compute_12", observation="flat", world=sc12_world, candidates=16, load=2.0
    )
    policy = make_policy(env, mask_invalid=mask_invalid)
    obs, masks = collect(env, 8)
    masks[:, ::3] = False  # also mask some real candidates the valid flag allows
    masks[:, 1] = True
    dist = policy.get_distribution(th.as_tensor(obs), action_masks=masks)
    probs = dist.distribution.probs
    assert th.all(probs[th.as_tensor(~masks)] == 0)
    th.testing.assert_close(probs.sum(1), th.ones(8))
    samples = dist.distribution.sample((2000,)).numpy()  # (2000, 8)
    assert masks[np.arange(8)[None, :], samples].all()


def test_padding_candidates_get_no_logit_without_an_env_mask(sc12_world):
    env = ConstellationDispatchEnv(
        "star_compute_12", observation="flat", world=sc12_world, candidates=16
    )
    policy = make_policy(env)
    obs, masks = collect(env, 8)
    probs = policy.get_distribution(th.as_tensor(obs)).distribution.probs
    assert th.all(probs[:, :16][th.as_tensor(~masks[:, :16])] == 0)


@pytest.mark.parametrize("allow_defer", [True, False])
def test_all_invalid_observation_gives_finite_outputs_and_gradients(toy_world, allow_defer):
    env = ConstellationDispatchEnv(
        "toy",
        observation="flat",
        world=toy_world,
        candidates=4,
        **{"dispatch.allow_defer": allow_defer},
    )
    policy = make_policy(env)
    obs = th.zeros((2, *env.observation_space.shape))  # what the env returns at episode end
    values, log_prob, entropy = policy.evaluate_actions(obs, th.tensor([0, 1]))
    (values.sum() + log_prob.sum() + entropy.sum()).backward()
    assert th.isfinite(values).all() and th.isfinite(log_prob).all()
    assert all(th.isfinite(p.grad).all() for p in policy.parameters() if p.grad is not None)
    assert policy.action_logits(obs).shape == (2, 4 + allow_defer)


def test_one_policy_object_acts_validly_for_any_k(sc12_world):
    policy = make_policy(
        ConstellationDispatchEnv("star_compute_12", observation="flat", world=sc12_world)
    )
    for k in (4, 8, 16):
        env = ConstellationDispatchEnv(
            "star_compute_12", observation="flat", world=sc12_world, candidates=k
        )
        obs, _ = env.reset(seed=k)
        for _ in range(20):
            mask = env.action_masks()
            with th.no_grad():
                action, value, _ = policy(th.as_tensor(obs[None]), action_masks=mask[None])
                assert policy.action_logits(th.as_tensor(obs[None])).shape == (1, k + 1)
            assert mask[int(action)] and value.shape == (1, 1)
            obs, _, terminated, truncated, info = env.step(int(action))
            assert not info["invalid_action"]
            if terminated or truncated:
                break


def test_model_trained_at_k8_predicts_at_k4_after_adapt_or_load(toy_model, toy_world, tmp_path):
    path = tmp_path / "k8.zip"
    toy_model.save(path)
    env4 = ConstellationDispatchEnv("toy", observation="flat", world=toy_world, candidates=4)
    spaces = {"observation_space": env4.observation_space, "action_space": env4.action_space}
    loaded = MaskablePPO.load(path, env=env4, custom_objects=spaces)
    adapted = adapt_to_env(MaskablePPO.load(path), env4)
    assert adapted.observation_space == env4.observation_space
    obs, masks = collect(env4, 64)
    for model in (loaded, adapted):
        actions, _ = model.predict(obs, action_masks=masks, deterministic=True)
        assert masks[np.arange(64), actions].all()
    with th.no_grad():
        th.testing.assert_close(
            loaded.policy.action_logits(th.as_tensor(obs)),
            adapted.policy.action_logits(th.as_tensor(obs)),
        )
    adapted.learn(64)  # the rollout buffer was rebuilt for K=4


def test_maskable_ppo_learns_saves_and_loads_with_identical_predictions(
    toy_model, toy_world, tmp_path
):
    assert toy_model.num_timesteps >= 256
    env = ConstellationDispatchEnv("toy", observation="flat", world=toy_world, candidates=8)
    obs, masks = collect(env, 32, seed=3)
    toy_model.save(tmp_path / "model.zip")
    loaded = MaskablePPO.load(tmp_path / "model.zip", env=env)
    assert isinstance(loaded.policy, CandidateScoringPolicy)
    toy_model.policy.save(tmp_path / "policy.pt")
    policy_only = CandidateScoringPolicy.load(tmp_path / "policy.pt")
    a0, _ = toy_model.predict(obs, action_masks=masks, deterministic=True)
    a1, _ = loaded.predict(obs, action_masks=masks, deterministic=True)
    np.testing.assert_array_equal(a0, a1)
    obs_t = th.as_tensor(obs)
    with th.no_grad():
        for other in (loaded.policy, policy_only):
            th.testing.assert_close(
                other.action_logits(obs_t), toy_model.policy.action_logits(obs_t), rtol=0, atol=0
            )
            th.testing.assert_close(
                other.predict_values(obs_t), toy_model.policy.predict_values(obs_t), rtol=0, atol=0
            )


def test_plain_ppo_trains_and_never_picks_a_padding_candidate(toy_world):
    env = ConstellationDispatchEnv("toy", observation="flat", world=toy_world, candidates=4)
    model = PPO(
        CandidateScoringPolicy,
        env,
        policy_kwargs=policy_kwargs_for(env),
        n_steps=64,
        batch_size=32,
        n_epochs=2,
        seed=0,
    )
    model.learn(128)
    obs, masks = collect(env, 64, seed=5)
    actions, _ = model.predict(obs)
    assert ((actions == 4) | masks[np.arange(64), actions]).all()


def test_spaces_that_do_not_fit_the_kwargs_are_rejected(toy_world):
    env = ConstellationDispatchEnv("toy", observation="flat", world=toy_world, candidates=4)
    kwargs = policy_kwargs_for(env)
    assert kwargs == {
        "n_global": env.n_global,
        "n_features": 14,
        "allow_defer": True,
        "room_feature": 11,
    }
    obs_space, act_space = env.observation_space, env.action_space
    with pytest.raises(ValueError, match="observation_space"):
        CandidateScoringPolicy(obs_space, act_space, lambda _: 1e-3, **{**kwargs, "n_global": 10})
    with pytest.raises(ValueError, match="action_space"):
        CandidateScoringPolicy(
            obs_space, act_space, lambda _: 1e-3, **{**kwargs, "allow_defer": False}
        )
    with pytest.raises(ValueError, match="room_feature"):
        CandidateScoringPolicy(obs_space, act_space, lambda _: 1e-3, **kwargs | {"room_feature": 0})
    with pytest.raises(ValueError, match="use_sde"):
        CandidateScoringPolicy(obs_space, act_space, lambda _: 1e-3, use_sde=True, **kwargs)
    other = ConstellationDispatchEnv(
        "toy", observation="flat", world=toy_world, **{"dispatch.allow_defer": False}
    )
    assert policy_kwargs_for(other)["allow_defer"] is False
    model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=kwargs, n_steps=64)
    with pytest.raises(ValueError, match="action_space"):
        adapt_to_env(model, other)


def test_room_rule_rules_out_full_candidates_only_while_one_has_room(sc12_world):
    """A fully committed candidate gets zero probability unless every valid one is full."""
    env = ConstellationDispatchEnv(
        "star_compute_12", observation="flat", world=sc12_world, candidates=8, load=2.0
    )
    obs, masks = collect(env, 64, seed=3)
    room = policy_kwargs_for(env)["room_feature"]
    k, f, g = env.k, env.n_features, env.n_global
    blocks = obs[:, g:].reshape(len(obs), k, f)
    valid = blocks[..., 0] > 0.5
    rng = np.random.default_rng(0)
    blocks[..., room] = np.where(valid, rng.choice([0.5, 1.0, 1.5], size=valid.shape), 0.0)
    every_full = valid.sum(1) >= 2
    blocks[every_full.nonzero()[0][:8], :, room] = np.where(valid[every_full][:8], 1.0, 0.0)
    obs = np.concatenate([obs[:, :g], blocks.reshape(len(obs), -1)], axis=1).astype(np.float32)
    full = valid & (blocks[..., room] >= 1.0)
    some_room = (valid & ~full).any(1)
    for rule in (True, False):
        policy = make_policy(env, **({} if rule else {"room_feature": None}))
        with th.no_grad():
            dist = policy.get_distribution(th.as_tensor(obs), action_masks=masks)
            probs = dist.distribution.probs.numpy()
        ruled_out = full & some_room[:, None]
        assert ruled_out.any() and (full & ~some_room[:, None]).any()
        if rule:
            assert (probs[:, :k][ruled_out] == 0).all()
            assert (probs[:, :k][valid & ~ruled_out] > 0).all()  # all-full rows keep their choice
        else:
            assert (probs[:, :k][ruled_out] > 0).all()
