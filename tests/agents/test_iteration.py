"""The canonical layout, rollout labels, their distillation and the pretrained agent."""

from __future__ import annotations

import numpy as np
import pytest

from agents.evaluate import AgentSpec, run_episode
from agents.heuristics import make_heuristic
from agents.iteration import (
    Cell,
    RolloutLabels,
    distill,
    fit_labels,
    imitate,
    label_episode,
    make_student,
)
from agents.planning import branch_cost_s
from agents.scoring import PRETRAINED, ScoringAgent, load_scoring_model
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.wrappers import CanonicalDispatch

BUSY = {"load": 12.0, "classes.inference.buffer_jobs": 6}
TOY = Cell("toy", 12.0, {"classes.inference.buffer_jobs": 6})


def test_canonical_layout_pads_candidates_and_copies_the_env_features():
    base = ConstellationDispatchEnv("toy", cache_dir=None, **BUSY)
    env = CanonicalDispatch(base, k_max=5)
    obs, _ = env.reset(seed=0)
    raw = base._observe(base.sim.head())  # the env's own observation of the same decision
    g, f, nf = env.n_global, env.n_features, base.n_features
    assert obs.shape == (g + 5 * f,) and env.action_space.n == 6
    np.testing.assert_array_equal(obs[:g], raw[:g])
    blocks = obs[g:].reshape(5, f)
    np.testing.assert_array_equal(blocks[: base.k, :nf], raw[base.n_global :].reshape(base.k, nf))
    assert not blocks[base.k :].any()  # padding slots are zeros
    mask = env.action_masks()
    assert not mask[base.k : 5].any()
    est, taken = base.view.queue_estimates(base.view.head, base.candidates)
    valid = [i for i in range(base.k) if mask[i]]
    best = min(est[i].delivered for i in valid)
    for i in valid:
        assert blocks[i, nf + 1] == pytest.approx(min(taken[i] / 6, 2.0))
        assert (blocks[i, nf] == 0.0) == (est[i].delivered == best)


@pytest.mark.parametrize(
    ("scenario", "overrides", "seed", "offered_at_least"),
    [
        # 1,100 jobs in 75 s on 150 satellites: the candidates fill, the constellation not.
        ("generated:900004", {"load": 1.0}, 100, 1),
        # 2 satellites, both always candidates: full candidates are a full constellation.
        ("toy", BUSY, 1, 0),
    ],
)
def test_canonical_deferral_is_offered_only_when_waiting_is_worth_it(
    scenario, overrides, seed, offered_at_least
):
    base = ConstellationDispatchEnv(scenario, **overrides)
    k = base.k + 1
    env = CanonicalDispatch(base, k_max=k, defer=True)
    never = CanonicalDispatch(ConstellationDispatchEnv(scenario, **overrides), k_max=k)
    never.reset(seed=seed)
    obs, _ = env.reset(seed=seed)
    agent = make_heuristic("ect", base)  # fills buffers: overload comes
    offered = 0
    for _ in range(3000):
        mask = env.action_masks()
        blocks = obs[env.n_global :].reshape(k, env.n_features)
        valid = np.flatnonzero(mask[:k])
        full = all(blocks[i, -1] >= 1.0 for i in valid)
        spare = base.view.buffer_share() < 1.0
        assert mask[k] == (full and spare and base.action_masks()[base.k])
        offered += mask[k]
        assert not never.action_masks()[k]  # deferral off by default
        action = int(agent.predict(None)[0])
        never.step(action)
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    assert offered >= offered_at_least
    if offered_at_least == 0:
        assert offered == 0


def test_canonical_actions_map_back_and_masked_ones_fall_back():
    no_defer = {**BUSY, "dispatch.allow_defer": False}
    base = ConstellationDispatchEnv("toy", cache_dir=None, **no_defer)
    env = CanonicalDispatch(base, k_max=6)
    env.reset(seed=0)
    assert not env.action_masks()[6]  # no deferral in this scenario
    assert env.to_env_action(1) == 1 and env.to_env_action(6) == base.k
    _, _, _, _, info = env.step(5)  # a padding slot: the env's fallback
    assert info["invalid_action"] is False  # the wrapper fell back before the env saw it
    with pytest.raises(ValueError, match="must be an integer"):
        env.step(7)


def test_canonical_layout_refuses_fewer_slots_than_candidates():
    with pytest.raises(ConfigError, match="k_max"):
        CanonicalDispatch(ConstellationDispatchEnv("toy", cache_dir=None), k_max=1)


def test_labels_are_branch_costs_relative_to_the_best_and_repeat_under_a_seed():
    a = label_episode(TOY, 3, label_share=0.5, horizon=10, k_max=4)
    b = label_episode(TOY, 3, label_share=0.5, horizon=10, k_max=4)
    assert len(a) > 5
    for f in RolloutLabels.__slots__:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert np.all(np.isnan(a.costs_s[~a.masks]))
    valid = np.where(a.masks, a.costs_s, np.inf)
    assert np.all(valid.min(1) == 0.0) and np.all(a.costs_s[a.masks] >= 0.0)


def test_a_label_is_the_branch_cost_of_the_same_decision():
    env = TOY.make_env(4)
    base = env.unwrapped
    env.reset(seed=2)
    costs = {a: branch_cost_s(base, env.to_env_action(a), "ect_queue", 10, seed=1)
             for a in np.flatnonzero(env.action_masks())}  # fmt: skip
    again = {a: branch_cost_s(base, env.to_env_action(a), "ect_queue", 10, seed=1) for a in costs}
    assert costs == again  # forks leave the episode as it was


def test_fitting_labels_learns_a_cost_the_features_reveal():
    # Synthetic decisions: the cheapest action is the candidate with the highest value of
    # one feature. The fit must find it (a test that can fail: shuffled labels would not).
    rng = np.random.default_rng(0)
    env = TOY.make_env(4)
    model = make_student(env, hidden=32)
    n, g, f = 600, env.n_global, env.n_features
    obs = np.zeros((n, g + 4 * f), np.float32)
    blocks = obs[:, g:].reshape(n, 4, f)
    blocks[..., 0] = 1.0
    blocks[..., 3] = rng.random((n, 4))
    masks = np.zeros((n, 5), bool)
    masks[:, :4] = True
    costs = np.full((n, 5), np.nan)
    costs[:, :4] = 1000.0 * (1.0 - blocks[..., 3])
    costs[:, :4] -= costs[:, :4].min(1, keepdims=True)
    labels = RolloutLabels(obs, masks, costs, np.zeros(n, np.int64), np.zeros(n, np.int64))
    stats = fit_labels(model, labels, epochs=60, batch_size=64, learning_rate=3e-3,
                       progress=False)  # fmt: skip
    assert stats["agreement"] > 0.8 and stats["regret_share"] < 0.2


def test_imitation_reaches_the_teacher():
    env = TOY.make_env(4)
    model = make_student(env)
    stats = imitate(model, [TOY], [0, 1], teacher="ect_queue", k_max=4, epochs=30,
                    batch_size=64, progress=False)  # fmt: skip
    assert stats["decisions"] > 100 and stats["agreement"] > 0.9


def test_distill_writes_a_policy_the_harness_runs_in_other_scenarios(tmp_path):
    model, rows = distill([TOY], out_dir=tmp_path, rounds=2, imitation_seeds=[0],
                          label_seeds=[1], horizon=5, label_share=0.3, k_max=4, epochs=3,
                          progress=False, log=lambda _: None)  # fmt: skip
    assert [r["round"] for r in rows] == ["imitation", 0, 1]
    assert rows[2]["labels_total"] > rows[1]["labels"] > 0
    for name in ("model.zip", "round_0.zip", "round_1.zip"):
        assert (tmp_path / name).is_file()
    spec = f"scoring:{tmp_path / 'model.zip'}"
    for overrides in ({}, {"dispatch.allow_defer": False}, {"dispatch.candidates": 1}):
        r = run_episode("toy", spec, 3.0, seed=5, overrides=overrides)
        assert r.metrics["jobs_completed"] + r.metrics["jobs_dropped"] == len(r.jobs["job"])
        assert r.invalid_actions == 0


def test_the_shipped_policy_runs_at_any_k_with_or_without_deferral():
    model = load_scoring_model(PRETRAINED)
    for overrides in ({}, {"dispatch.allow_defer": False}, {"dispatch.candidates": 20}):
        env = ConstellationDispatchEnv("star_compute_12", load=2.0, **overrides)
        agent = ScoringAgent(model, env)
        obs, _ = env.reset(seed=9)
        for _ in range(200):
            action = int(agent.predict(obs)[0])
            assert env.action_masks()[action]
            obs, _, term, trunc, _ = env.step(action)
            if term or trunc:
                break
    assert AgentSpec.parse("pretrained").label == "pretrained"


def test_a_file_of_another_kind_is_refused_as_scoring(tmp_path):
    from agents.shipped import pretrained_path

    with pytest.raises(ConfigError, match="not a candidate-scoring policy of a canonical"):
        load_scoring_model(pretrained_path("star_compute_12_maskable_ppo"))
    with pytest.raises(ConfigError, match="model file not found"):
        load_scoring_model(tmp_path / "none.zip")


def test_labels_from_two_worker_processes_equal_serial_labels():
    from agents.iteration import collect_labels

    kw = {"label_share": 0.5, "horizon": 5, "k_max": 4, "progress": False}
    serial = collect_labels([TOY], [1, 2], workers=1, **kw)
    pooled = collect_labels([TOY], [1, 2], workers=2, **kw)
    for f in RolloutLabels.__slots__:
        np.testing.assert_array_equal(getattr(serial, f), getattr(pooled, f))
