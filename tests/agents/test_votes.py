"""Heuristic votes as candidate features, per-cell best teachers and parallel-rollout labels."""

from __future__ import annotations

import numpy as np
import pytest

from agents.heuristics import make_heuristic
from agents.iteration import (
    TEACHERS,
    Cell,
    best_heuristic,
    distill,
    heuristic_cost_s,
    label_episode,
)
from agents.planning import RolloutAgent, branch_cost_s, parse_rollout_name
from agents.scoring import ScoringAgent, load_scoring_model
from agents.votes import VOTERS, VotingDispatch, layout_for
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.wrappers import CanonicalDispatch

BUSY = {"load": 12.0, "classes.inference.buffer_jobs": 6}
TOY = Cell("toy", 12.0, {"classes.inference.buffer_jobs": 6})


def test_each_vote_column_marks_the_candidate_its_heuristic_chooses():
    base = ConstellationDispatchEnv("toy", cache_dir=None, **BUSY)
    env = VotingDispatch(base, k_max=5)
    judges = {name: make_heuristic(name, base) for name in VOTERS}
    obs, _ = env.reset(seed=3)
    checked = 0
    for _ in range(150):
        mask = env.action_masks()
        if mask[: base.k].any():
            votes = env.votes_of(obs)
            for j, name in enumerate(VOTERS):
                want = int(judges[name].predict(None, action_masks=base.action_masks())[0])
                assert np.flatnonzero(votes[:, j]).tolist() == [want]
            checked += 1
        action = int(np.flatnonzero(mask)[0]) if mask.any() else 0
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    assert checked > 50


def test_the_voting_layout_extends_the_canonical_one_without_changing_it():
    a = CanonicalDispatch(ConstellationDispatchEnv("toy", cache_dir=None, **BUSY), k_max=4)
    b = VotingDispatch(ConstellationDispatchEnv("toy", cache_dir=None, **BUSY), k_max=4)
    oa, _ = a.reset(seed=1)
    ob, _ = b.reset(seed=1)
    f = CanonicalDispatch.n_features
    np.testing.assert_array_equal(oa[: a.n_global], ob[: b.n_global])
    blocks_a = oa[a.n_global :].reshape(4, f)
    blocks_b = ob[b.n_global :].reshape(4, b.n_features)
    np.testing.assert_array_equal(blocks_a, blocks_b[:, :f])
    assert layout_for(b.n_features) is VotingDispatch and layout_for(f) is CanonicalDispatch


def test_the_best_teacher_is_the_cheapest_heuristic_and_drains_a_cut_episode():
    cut = Cell("toy", 12.0, {"classes.inference.buffer_jobs": 6, "episode.max_decisions": 40})
    name, costs = best_heuristic(cut, [0])
    assert set(costs) == set(TEACHERS) and costs[name] == min(costs.values())
    assert all(c > 0 for c in costs.values())
    # Past the cut, arrivals stop and the heuristic resolves every arrived job, so the cost
    # exceeds the one priced at the cut (jobs in flight charged only up to the cut).
    from envs.sim.metrics import job_costs_s, job_table

    env = cut.make_base_env()
    env.reset(seed=0)
    agent = make_heuristic("ect", env)
    for _ in range(40):
        env.step(int(agent.predict(None, action_masks=env.action_masks())[0]))
    sim = env.sim
    assert sim.in_flight > 0  # the cut leaves work in the system that must be priced
    at_cut = job_costs_s(job_table(sim), sim.now, env.scenario.reward.drop_penalty_s).sum()
    assert heuristic_cost_s(cut, "ect", 0) > at_cut / sim.arrived


def test_a_parallel_rollout_label_is_the_cheapest_branch_over_the_bases():
    kw = {"label_share": 0.5, "horizon": 5, "k_max": 4, "explore": 0.0}
    both = label_episode(TOY, 4, base="ect_queue+earliest_uplink", **kw)
    one = label_episode(TOY, 4, base="ect_queue", **kw)
    assert len(both) > 5
    env = TOY.make_env(4)
    env.reset(seed=4)
    base = env.unwrapped
    for a in np.flatnonzero(env.action_masks()):
        act = env.to_env_action(int(a))
        c = [branch_cost_s(base, act, b, 5, seed=7) for b in ("ect_queue", "earliest_uplink")]
        agent = RolloutAgent(base, 0, base="ect_queue+earliest_uplink", horizon=5)
        from agents.planning import best_branch_cost_s

        assert best_branch_cost_s(base, act, agent.bases, 5, seed=7) == min(c)
    assert not np.array_equal(np.nan_to_num(both.costs_s), np.nan_to_num(one.costs_s))


def test_labels_per_episode_caps_the_labelled_share_of_a_long_episode():
    kw = {"label_share": 1.0, "horizon": 3, "k_max": 4}
    full = label_episode(TOY, 1, **kw)
    capped = label_episode(TOY, 1, labels_per_episode=10, **kw)
    assert len(full) > 40 and 1 <= len(capped) < len(full) / 2
    with pytest.raises(ConfigError, match="labels_per_episode"):
        label_episode(TOY, 1, labels_per_episode=0, **kw)


def test_rollout_names_take_several_bases_and_refuse_a_bad_one():
    assert parse_rollout_name("rollout:ect+least_loaded:9") == ("ect+least_loaded", 9, 0)
    with pytest.raises(ConfigError, match="unknown base heuristic 'nope'"):
        parse_rollout_name("rollout:ect+nope")
    with pytest.raises(ConfigError, match="listed twice"):
        parse_rollout_name("rollout:ect+ect")


def test_distill_with_the_best_teacher_and_two_bases_runs_in_the_harness(tmp_path):
    lines: list[str] = []
    model, rows = distill([TOY], out_dir=tmp_path, rounds=1, imitation_seeds=[0],
                          label_seeds=[1], teacher="best", base=["ect_queue", "earliest_uplink"],
                          horizon=4, label_share=0.3, k_max=4, epochs=2, progress=False,
                          log=lines.append)  # fmt: skip
    assert any(line.startswith("teacher for toy") for line in lines)
    assert (tmp_path / "imitation.zip").is_file() and rows[1]["labels"] > 0
    loaded = load_scoring_model(tmp_path / "model.zip")
    assert loaded.policy.n_features == VotingDispatch.n_features
    env = ConstellationDispatchEnv("toy", cache_dir=None, load=3.0)
    agent = ScoringAgent(loaded, env)
    assert isinstance(agent.canonical, VotingDispatch)
    obs, _ = env.reset(seed=2)
    assert env.action_masks()[int(agent.predict(obs)[0])]
    with pytest.raises(ConfigError, match="teacher: unknown heuristic 'worst'"):
        distill([TOY], out_dir=tmp_path / "x", rounds=0, teacher="worst", progress=False)


def test_dagger_demonstrations_follow_the_student_and_record_the_teacher():
    from agents.iteration import demonstrations, make_student

    env = TOY.make_env(4)
    student = make_student(env, hidden=16, seed=3)  # untrained: it plays unlike the teacher
    own = demonstrations([TOY], [5], teacher="ect_queue", k_max=4)
    led = demonstrations([TOY], [5], teacher="ect_queue", k_max=4, student=student)
    assert len(own) > 20 and len(led) > 20
    assert not (len(own) == len(led) and np.array_equal(own.obs, led.obs))  # other states
    # Each recorded action is the teacher's choice in the recorded state: the vote column
    # of ect_queue marks the same slot (the vote is that rule's choice).
    votes = led.obs[:, env.n_global :].reshape(len(led), 4, env.n_features)
    col = CanonicalDispatch.n_features + VOTERS.index("ect_queue")
    has = led.masks[:, :4].any(1)
    np.testing.assert_array_equal(votes[has, :, col].argmax(1), led.actions[has])


def test_every_cell_weighs_the_same_in_the_imitation_fit():
    # Cell 0 (900 decisions) wants the slot with the highest feature 3, cell 1 (60) the
    # lowest; a global feature tells the cells apart. Unweighted, cell 1 would be noise.
    from agents.iteration import TeacherChoices, fit_demonstrations, make_student

    rng = np.random.default_rng(0)
    env = TOY.make_env(4)
    g, f = env.n_global, env.n_features
    counts = (900, 60)
    parts = []
    for c, n in enumerate(counts):
        obs = np.zeros((n, g + 4 * f), np.float32)
        obs[:, 3] = c  # the "pending" global feature marks the cell
        blocks = obs[:, g:].reshape(n, 4, f)
        blocks[..., 0] = 1.0
        blocks[..., 3] = rng.random((n, 4))
        act = blocks[..., 3].argmax(1) if c == 0 else blocks[..., 3].argmin(1)
        masks = np.zeros((n, 5), bool)
        masks[:, :4] = True
        parts.append(TeacherChoices(obs, masks, act.astype(np.int64), np.full(n, c)))
    data = TeacherChoices.concat(parts)
    model = make_student(env, hidden=32)
    stats = fit_demonstrations(model, data, epochs=40, batch_size=64, learning_rate=3e-3,
                               progress=False)  # fmt: skip
    assert stats["decisions"] == 960 and stats["agreement"] > 0.85


def test_labels_on_sampled_futures_share_them_across_a_decisions_actions(monkeypatch):
    import agents.iteration as iteration

    seen: list[tuple[int, tuple[int, ...]]] = []  # (decision time, futures) per priced action
    price = iteration.best_branch_cost_s

    def spy(env, action, bases, horizon, seed=None, future_seeds=()):
        seen.append((env.unwrapped.sim.now, tuple(future_seeds)))
        return price(env, action, bases, horizon, seed, future_seeds)

    monkeypatch.setattr(iteration, "best_branch_cost_s", spy)
    kw = {"label_share": 1.0, "horizon": 20, "k_max": 4, "max_labels": 6}
    labels = label_episode(TOY, 2, futures=2, **kw)
    assert len(labels) == 6 and len(seen) >= 12
    by_decision: dict[float, set] = {}
    for now, futures in seen:
        assert len(futures) == 2
        by_decision.setdefault(now, set()).add(futures)
    assert all(len(f) == 1 for f in by_decision.values())  # every action: the same futures
    assert len({next(iter(f)) for f in by_decision.values()}) == len(by_decision)  # new ones
    seen.clear()
    label_episode(TOY, 2, **kw)
    assert {futures for _, futures in seen} == {()}  # futures 0: the real future
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError, match="futures: must be an integer >= 0"):
            label_episode(TOY, 2, futures=bad, **kw)


def test_a_recipe_written_before_the_futures_key_still_loads(tmp_path):
    from agents.cli.distill import DEFAULTS, KEYS
    from agents.cli.recipes import load_recipe
    from envs.resources import configs_dir

    text = (configs_dir() / "agents" / "distill.yaml").read_text()
    old = "\n".join(line for line in text.splitlines() if not line.startswith("futures:"))
    path = tmp_path / "old.yaml"
    path.write_text(old)
    assert load_recipe(path, [], KEYS, DEFAULTS)["futures"] == 0
    assert load_recipe(path, ["futures=3"], KEYS, DEFAULTS)["futures"] == 3
    with pytest.raises(ConfigError, match="missing key 'futures'"):
        load_recipe(path, [], KEYS)


@pytest.mark.parametrize("n_voters", [3, 4])
def test_a_network_saved_with_the_earlier_voters_of_0_2_0_loads_with_their_layout(
    tmp_path, n_voters
):
    from agents.iteration import make_student
    from agents.votes import VotingDispatch3, VotingDispatch4

    layout = {3: VotingDispatch3, 4: VotingDispatch4}[n_voters]
    assert layout.voters == VOTERS[:n_voters] and "regime_ect" in VOTERS[n_voters:]
    old = layout(ConstellationDispatchEnv("toy", cache_dir=None, **BUSY), k_max=4)
    make_student(old, hidden=8).save(tmp_path / "old.zip")
    loaded = load_scoring_model(tmp_path / "old.zip")
    env = ConstellationDispatchEnv("toy", cache_dir=None, **BUSY)
    agent = ScoringAgent(loaded, env)
    assert type(agent.canonical) is layout
    obs, _ = env.reset(seed=2)
    canonical = agent.canonical.canonical(obs)
    assert canonical.shape == old.observation_space.shape
    assert agent.canonical.votes_of(canonical).shape == (4, n_voters)
    assert env.action_masks()[int(agent.predict(obs)[0])]
