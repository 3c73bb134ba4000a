"""Policy-gradient fine-tuning with Decima's input-dependent baseline (``agents.finetune``)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from agents.finetune import Trajectory, _update, advantages, finetune, sample_trajectory
from agents.iteration import Cell, make_student
from agents.scoring import PRETRAINED, load_scoring_model
from envs.errors import ConfigError

TOY = Cell("toy", 12.0, {"classes.inference.buffer_jobs": 6})


def traj(times, costs, end, group=(0, 0), n_actions=3) -> Trajectory:
    n = len(times)
    return Trajectory(
        np.zeros((n, 4), np.float32), np.ones((n, n_actions), bool), np.zeros(n, np.int64),
        np.full(n, -1.0), np.asarray(times, float), np.asarray(costs, float), float(end), group,
    )  # fmt: skip


def test_the_baseline_is_the_other_rollouts_cost_to_come_at_the_same_time():
    # a: costs 10 in [0, 1), 10 in [1, 2); b: 30 in [0, 2) in one step.
    a = traj([0.0, 1.0], [10.0, 10.0], 2.0)
    b = traj([0.0], [30.0], 2.0)
    adv = advantages([a, b], rho=0.0)
    # Unscaled: a at t=0: b's 30 - a's 20 = 10; a at t=1: b's 15 (linear) - 10 = 5;
    # b at t=0: a's 20 - 30 = -10. Scaled by the group's standard deviation.
    raw = np.array([10.0, 5.0, -10.0])
    np.testing.assert_allclose(np.concatenate(adv), raw / raw.std())


def test_the_differential_reward_and_lone_rollouts():
    a = traj([0.0, 1.0], [10.0, 10.0], 2.0)
    b = traj([0.0], [30.0], 4.0)  # ends later: rho x 2 s more is taken off its cost to come
    with_rho = advantages([a, b], rho=5.0)
    # a at 0: (30 - 5*4) - (20 - 5*2) = 0; at 1: b's 10 x 3/4 = 7.5 - 5 = 2.5; b at 0: 10 - 10 = 0
    raw = np.array([0.0, 2.5, 0.0])
    np.testing.assert_allclose(np.concatenate(with_rho), raw / raw.std())
    lone = advantages([a, traj([0.0], [1.0], 1.0, group=(1, 0))], rho=0.0)
    assert not np.concatenate(lone).any()  # no other rollout of its arrivals: no baseline


def test_sampling_is_reproducible_and_prices_the_whole_episode():
    model = load_scoring_model(PRETRAINED)
    one = sample_trajectory(model, TOY, 3, sample_seed=7, temperature=5.0)
    two = sample_trajectory(model, TOY, 3, sample_seed=7, temperature=5.0)
    for field in Trajectory.__slots__:
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    assert one.masks[np.arange(len(one)), one.actions].all()
    assert (one.logp <= 0).all() and (np.diff(one.times_s) >= 0).all()
    assert (one.costs_s >= 0).all() and one.end_s >= one.times_s[-1]
    other = sample_trajectory(model, TOY, 3, sample_seed=8, temperature=5.0)
    assert not np.array_equal(one.actions, other.actions)  # T = 5 explores


def test_a_capped_episode_drains_so_every_arrived_job_is_priced():
    model = load_scoring_model(PRETRAINED)
    t = sample_trajectory(model, TOY, 3, sample_seed=0, cap=10)
    full = sample_trajectory(model, TOY, 3, sample_seed=0)
    # After the cap only the jobs already pending are decided (no new arrivals), and they
    # are priced to their delivery or drop.
    assert len(t) >= 10
    assert len(t) < len(full) and t.total_cost_s < full.total_cost_s


def test_the_update_moves_probability_towards_positive_advantages():
    import torch as th

    env = TOY.make_env(16)
    model = make_student(env, seed=0)
    obs, _ = env.reset(seed=0)
    mask = env.action_masks()
    valid = np.flatnonzero(mask)
    n = 64
    t = Trajectory(np.repeat(obs[None], n, 0).astype(np.float32), np.repeat(mask[None], n, 0),
                   np.full(n, valid[0]), np.full(n, np.log(1 / len(valid))),
                   np.arange(n, dtype=float), np.ones(n), float(n), (0, 0))  # fmt: skip

    def p_first() -> float:
        with th.no_grad():
            logits = model.policy.action_logits(th.as_tensor(obs[None]))[0].numpy()
        z = np.where(mask, logits, -np.inf)
        return float(np.exp(z[valid[0]] - np.logaddexp.reduce(z[valid])))

    before = p_first()
    _update(model, [t], [np.ones(n)], temperature=1.0, epochs=5, batch_size=16,
            learning_rate=1e-3, clip=0.2, entropy=0.0, seed=0)  # fmt: skip
    assert p_first() > before
    _update(model, [t], [-np.ones(n)], temperature=1.0, epochs=20, batch_size=16,
            learning_rate=1e-3, clip=0.2, entropy=0.0, seed=0)  # fmt: skip
    assert p_first() < before


def test_finetune_keeps_the_start_when_no_iterate_beats_it(tmp_path):
    model = load_scoring_model(PRETRAINED)
    best, rows = finetune(model, [TOY], out_dir=tmp_path, iterations=1, rollouts=2,
                          eval_seeds=[100], learning_rate=0.0, progress=False,
                          log=lambda s: None)  # fmt: skip
    assert [r["iteration"] for r in rows] == [0, 1] and rows[1]["score"] == 1.0
    start = load_scoring_model(tmp_path / "start.zip").policy.state_dict()
    for k, v in best.policy.state_dict().items():
        assert (v == start[k]).all()
    assert (tmp_path / "model.zip").is_file() and (tmp_path / "iter_1.zip").is_file()


def test_the_command_writes_its_table(tmp_path):
    from agents.cli.finetune import main

    out = tmp_path / "ft"
    assert main(["--hp", "iterations=1", "--hp", "rollouts=2", "--hp", "eval_seeds=[100]",
                 "--hp", "cells=[{scenario: toy, load: 12}]", "--hp", "max_decisions=null",
                 "--workers", "1", "--out", str(out)]) == 0  # fmt: skip
    with open(out / "iterations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["iteration"] for r in rows] == ["0", "1"] and "cost_toy@12" in rows[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rollouts": 1}, "rollouts >= 2"),
        ({"temperature": 0.0}, "temperature must be > 0"),
        ({"eval_seeds": [1000]}, "eval_seeds overlap the training seeds"),
        ({"eval_seeds": [12000]}, "eval_seeds overlap the training seeds"),  # the last iteration
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        finetune(None, [TOY], out_dir=tmp_path, progress=False, **kwargs)


def test_an_unknown_recipe_key_is_named(tmp_path):
    from agents.cli.finetune import main

    with pytest.raises(ConfigError, match="unknown key 'iterationz'"):
        main(["--hp", "iterationz=3", "--out", str(tmp_path)])


def run_recipe(tmp_path, distill_changes: dict, finetune_changes: dict) -> dict:
    """``scripts/distill.py`` on the shipped recipes with these keys changed, on the toy world.

    Returns both recipes as run; the output folder is ``tmp_path / "out"``.
    """
    import yaml

    from agents.cli.distill import main
    from envs.resources import configs_dir
    from envs.yamlio import read_yaml

    toy = {"cells": [{"scenario": "toy", "load": 12}]}
    distill = read_yaml(configs_dir() / "agents" / "distill.yaml")
    distill.update({**toy, "generated": [], "finetune": "ft.yaml", **distill_changes})
    ft = read_yaml(configs_dir() / "agents" / "finetune.yaml")
    ft.update({**toy, **finetune_changes})
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(distill))
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(ft))
    argv = ["--recipe", str(tmp_path / "d.yaml"), "--workers", "1", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    return {"distill": distill, "finetune": ft}


def test_distill_with_a_finetune_recipe_is_one_command(tmp_path):
    from agents.cli.distill import main

    run_recipe(
        tmp_path,
        {"max_decisions": None, "teacher": "ect_queue", "dagger_rounds": 0, "rounds": 0,
         "epochs": 2},
        {"iterations": 1, "rollouts": 2, "eval_seeds": [100], "max_decisions": None},
    )  # fmt: skip
    out = tmp_path / "out"
    assert (out / "distilled.zip").is_file() and (out / "finetune" / "iterations.csv").is_file()
    best = (out / "finetune" / "model.zip").read_bytes()
    assert (out / "model.zip").read_bytes() == best
    with open(out / "rounds.csv") as fh:
        rounds = [r["round"] for r in csv.DictReader(fh)]
    assert rounds == ["imitation", "finetune_0", "finetune_1"]
    with pytest.raises(ConfigError, match="recipe file not found"):
        main(["--recipe", str(tmp_path / "d.yaml"), "--hp", "finetune=nope.yaml",
              "--workers", "1", "--out", str(tmp_path / "o2")])  # fmt: skip


def test_the_function_defaults_are_the_recipe_s():
    # The quickstart calls finetune() with its defaults; at temperature 1 the distilled
    # logits (8-25 apart) make every sampled episode the same and the stage learns nothing.
    import inspect

    from envs.resources import configs_dir
    from envs.yamlio import read_yaml

    recipe = read_yaml(configs_dir() / "agents" / "finetune.yaml")
    defaults = {k: v.default for k, v in inspect.signature(finetune).parameters.items()}
    for key in ("iterations", "seeds_per_iteration", "rollouts", "k_max", "temperature",
                "epochs", "batch_size", "learning_rate", "clip", "entropy", "seed"):  # fmt: skip
        assert defaults[key] == recipe[key], key
    assert list(defaults["eval_seeds"]) == recipe["eval_seeds"]  # the seeds that choose


def test_the_recipe_never_plays_an_episode_a_policy_is_judged_on(tmp_path, monkeypatch):
    # The shipped recipe's seeds (imitation, DAgger, rollout labels, fine-tuning samples and
    # the iterate choice), run on the toy world, against every episode the suites, the
    # README's 10-seed runs and the quickstart judge a policy on. DAgger once played seed
    # 100, the first seed of every suite, on the very cells the learning suite scores.
    from agents.cli import quickstart
    from agents.suite import load_suite
    from envs.dispatch_env import ConstellationDispatchEnv
    from envs.resources import configs_dir

    judged: set[int] = set()
    for path in (configs_dir() / "suites").glob("*.yaml"):
        seeds = load_suite(path).seeds
        judged |= set(range(seeds.first, seeds.first + max(seeds.count, 10)))
    eval_seed = quickstart.build_parser().get_default("eval_seed")
    judged |= set(range(eval_seed, eval_seed + 10))
    assert 100 in judged
    played: set[int] = set()
    reset = ConstellationDispatchEnv.reset

    def spy(self, *, seed=None, options=None):
        played.add(seed)
        return reset(self, seed=seed, options=options)

    monkeypatch.setattr(ConstellationDispatchEnv, "reset", spy)
    ran = run_recipe(
        tmp_path,
        {"max_decisions": 200, "rounds": 1, "epochs": 1, "labels_per_episode": 5},
        {"iterations": 2, "rollouts": 2, "max_decisions": 200},
    )
    assert ran["distill"]["dagger_rounds"] >= 1
    assert set(ran["finetune"]["eval_seeds"]) <= played and len(played) > 5
    assert not played & judged, sorted(played & judged)
