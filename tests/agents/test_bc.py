"""Behaviour cloning from a heuristic teacher (agents.bc) and its use as a training warm start."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO

from agents.bc import Demonstrations, behaviour_clone, collect_demonstrations, fit_outcomes
from agents.policy import CandidateScoringPolicy, policy_kwargs_for
from agents.train import train
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError


def _demos(rewards, ends):
    n = len(rewards)
    return Demonstrations(
        np.zeros((n, 1), np.float32), np.ones((n, 2), bool), np.zeros(n, np.int64),
        np.asarray(rewards, float), np.asarray(ends, bool),
    )  # fmt: skip


def test_returns_restart_at_every_episode_end():
    d = _demos([1.0, 2.0, 4.0, 8.0, 16.0], [False, False, True, False, True])
    np.testing.assert_allclose(d.returns(0.5), [1 + 1 + 1, 2 + 2, 4, 8 + 8, 16])
    np.testing.assert_allclose(d.running_returns(0.5), [1, 2.5, 5.25, 8, 20])


def test_demonstrations_record_only_valid_teacher_actions():
    d = collect_demonstrations("toy", loads=[1.0, 2.0], seeds=[0, 1])
    assert len(d) > 20 and d.obs.shape == (len(d), d.obs.shape[1])
    assert d.masks[np.arange(len(d)), d.actions].all()
    assert d.episode_ends.sum() == 4 and d.episode_ends[-1]


def test_cloned_policy_imitates_ect_on_held_out_episodes():
    th.manual_seed(0)
    env = ConstellationDispatchEnv("toy", observation="flat", cache_dir=None, load=2.0)
    demos = collect_demonstrations("toy", loads=[1.0, 2.0, 3.0], seeds=[0, 1, 2, 3])
    model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env), seed=0)
    untrained = collect_demonstrations("toy", loads=[2.0], seeds=[50, 51])
    before = _agreement(model, untrained)
    stats = behaviour_clone(model, demos, epochs=30, batch_size=64, progress=False)
    assert stats["accuracy"] >= 0.9
    after = _agreement(model, untrained)  # seeds the teacher was never cloned on
    assert after >= 0.85 and after > before


def _agreement(model, demos) -> float:
    picks = [
        int(model.predict(o, action_masks=m, deterministic=True)[0])
        for o, m in zip(demos.obs, demos.masks, strict=True)
    ]
    return float(np.mean(np.asarray(picks) == demos.actions))


def test_training_with_a_warm_start_writes_its_cloning_result(tmp_path):
    fast = ["n_steps=64", "batch_size=32", "n_epochs=1", "eval_freq=128", "eval_seeds=[1000]"]
    bc = "bc={teacher: ect, loads: [1.0], seeds: [0], epochs: 2}"
    train("toy", "maskable_ppo", 128, 0, 1, tmp_path, overrides=[*fast, bc], progress=False)
    result = json.loads((tmp_path / "bc.json").read_text())
    assert result["teacher"] == "ect" and result["result"]["decisions"] > 0
    assert 0.0 <= result["result"]["accuracy"] <= 1.0
    assert result["result"]["return_scale"] > 0  # VecNormalize statistics seeded from the teacher


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("bc={teacher: ect, epoch: 2}", "bc: unknown key"),
        ("train_loads=[1.0, -2]", "train_loads: expected positive numbers"),
        ("eval_load=0", "eval_load: expected a positive number"),
    ],
)
def test_bad_training_settings_name_the_key(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        train("toy", "maskable_ppo", 64, 0, 1, tmp_path, overrides=[override], progress=False)


def test_a_teacher_per_load_records_each_load_with_its_own_teacher():
    mixed = collect_demonstrations("toy", teacher={1.0: "ect", 2.0: "random"}, seeds=[0])
    ect = collect_demonstrations("toy", teacher="ect", loads=[1.0], seeds=[0])
    rand = collect_demonstrations("toy", teacher="random", loads=[2.0], seeds=[0])
    assert len(mixed) == len(ect) + len(rand)
    np.testing.assert_array_equal(mixed.actions, np.concatenate([ect.actions, rand.actions]))
    np.testing.assert_array_equal(mixed.obs, np.concatenate([ect.obs, rand.obs]))
    for bad in ({}, {0: "ect"}, {"high": "ect"}):
        with pytest.raises(ConfigError, match=r"bc\.teacher"):
            collect_demonstrations("toy", teacher=bad, seeds=[0])


def test_a_teacher_that_fills_buffers_is_refused_under_the_room_rule():
    """Cloning a choice the policy's room rule forbids would chase an unreachable target."""
    env = ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)
    demos = collect_demonstrations("toy", loads=[1.0], seeds=[0])
    room = policy_kwargs_for(env)["room_feature"]
    obs = demos.obs.copy()
    blocks = obs[:, env.n_global :].reshape(len(obs), env.k, env.n_features)
    two = np.flatnonzero(blocks[..., 0].sum(1) >= 2)
    assert len(two), "toy should offer two valid candidates at some decision"
    i = int(two[0])
    a = int(demos.actions[i])
    other = int(np.flatnonzero(blocks[i, :, 0] > 0.5)[0 if a != 0 else 1])
    blocks[i, :, room] = 0.0
    blocks[i, a, room] = 1.0  # the teacher's pick is full, ``other`` has room
    assert other != a
    bad = Demonstrations(obs, demos.masks, demos.actions, demos.rewards, demos.episode_ends)
    model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env), seed=0)
    with pytest.raises(ConfigError, match=r"1 of \d+ actions .* room_feature"):
        behaviour_clone(model, bad, epochs=1, progress=False)
    free = policy_kwargs_for(env, room_feature=None)
    model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=free, seed=0)
    assert behaviour_clone(model, bad, epochs=1, progress=False)["cross_entropy"] < 10


def test_job_costs_add_up_to_minus_the_episode_return():
    """Without deferrals every job is decided once: its cost is its share of the return."""
    for load in (1.0, 3.0):
        demos = collect_demonstrations("toy", loads=[load], seeds=[0])
        assert len(demos.job_costs_s) == len(demos) and (demos.job_costs_s > 0).all()
        # Rewards are in hours (the env's default), the job costs in seconds.
        np.testing.assert_allclose(demos.job_costs_s.sum(), -3600 * demos.rewards.sum(), rtol=1e-9)


def test_exploring_replaces_some_teacher_actions_with_allowed_ones():
    plain = collect_demonstrations("toy", loads=[2.0], seeds=[3])
    mixed = collect_demonstrations("toy", loads=[2.0], seeds=[3], explore=0.5)
    assert mixed.masks[np.arange(len(mixed)), mixed.actions].all()
    n = min(len(plain), len(mixed))
    assert (plain.actions[:n] != mixed.actions[:n]).any()
    again = collect_demonstrations("toy", loads=[2.0], seeds=[3], explore=0.5)
    np.testing.assert_array_equal(again.actions, mixed.actions)  # its own seeded stream
    for bad in (-0.1, 1.0, "some", True):
        with pytest.raises(ConfigError, match=r"bc\.explore"):
            collect_demonstrations("toy", seeds=[0], explore=bad)


def test_fitted_logits_predict_job_costs_better_than_their_mean():
    th.manual_seed(0)
    env = ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)
    demos = collect_demonstrations("toy", loads=[1.0, 2.0], seeds=[0, 1], explore=0.3)
    model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env), seed=0)
    fit = dict(temperature_s=600.0, epochs=40, batch_size=64, value_coef=0.0, progress=False)
    stats = fit_outcomes(model, demos, **fit)
    constant = np.abs(demos.job_costs_s - np.median(demos.job_costs_s)).mean()
    assert stats["cost_mae_s"] < 0.8 * constant
    with th.no_grad():
        logits = model.policy.action_logits(th.as_tensor(demos.obs)).numpy()
    chosen = logits[np.arange(len(demos)), demos.actions] * -600.0
    assert np.corrcoef(chosen, demos.job_costs_s)[0, 1] > 0.5


def test_fitting_outcomes_names_what_it_needs():
    env = ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)
    demos = collect_demonstrations("toy", loads=[1.0], seeds=[0])
    mlp = MaskablePPO("MlpPolicy", env, seed=0)
    with pytest.raises(ConfigError, match="policy: candidate"):
        fit_outcomes(mlp, demos, progress=False)
    model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env), seed=0)
    with pytest.raises(ConfigError, match=r"bc\.temperature_s"):
        fit_outcomes(model, demos, temperature_s=0, progress=False)
    bare = Demonstrations(demos.obs, demos.masks, demos.actions, demos.rewards, demos.episode_ends)
    with pytest.raises(ConfigError, match="job_costs_s"):
        fit_outcomes(model, bare, progress=False)


def test_in_batches_gives_the_one_pass_result_in_bounded_pieces():
    import torch as th

    from agents.bc import in_batches

    x = th.arange(10, dtype=th.float32)
    seen = []

    def fn(rows):
        seen.append(rows)
        return x[rows] * 2.0, x[rows].argmax(0, keepdim=True) + rows.start

    doubled, starts = in_batches(fn, 10, batch_size=4)
    assert th.equal(doubled, x * 2.0) and starts.tolist() == [3, 7, 9]
    assert [(r.start, r.stop) for r in seen] == [(0, 4), (4, 8), (8, 10)]
    assert th.equal(in_batches(lambda rows: x[rows], 10, batch_size=3), x)
    assert in_batches(lambda rows: x[rows], 0).numel() == 0  # an empty set is one empty pass
