"""The shipped pretrained policies load in the current environment and play valid actions.

A change to the observation (a new feature) makes the files unloadable; this test says so
before a user finds out. The figures for the files in docs/policies.md are measured on
held-out seeds by ``scripts/evaluate.py``; here only what a short run can check: each loads
through the harness, keeps to the mask and to the room rule, and the ECT clone agrees with
ECT, its teacher, on most decisions of a seed it was not cloned on.
"""

from __future__ import annotations

import pytest

from agents.evaluate import AgentSpec, load_model
from agents.heuristics import make_heuristic
from agents.policy import CandidateScoringPolicy
from agents.shipped import pretrained_dir
from envs.dispatch_env import CANDIDATE_FEATURES, ConstellationDispatchEnv

PRETRAINED = pretrained_dir()


@pytest.mark.parametrize(
    ("name", "overrides", "min_agreement"),
    [
        ("star_compute_12_maskable_ppo.zip", {}, 0.9),  # cloned from ECT
        ("star_compute_12_outcome.zip", {"dispatch.allow_defer": False}, 0.0),  # fitted costs
    ],
)
def test_a_pretrained_policy_plays_valid_actions(name, overrides, min_agreement):
    env = ConstellationDispatchEnv("star_compute_12", observation="flat", load=2.0, **overrides)
    model = load_model(AgentSpec("maskable_ppo", str(PRETRAINED / name)), env)
    assert isinstance(model.policy, CandidateScoringPolicy)
    room = CANDIDATE_FEATURES.index("buffer_used")
    assert model.policy.room_feature == room
    ect = make_heuristic("ect", env)
    obs, _ = env.reset(seed=4242)
    agree = decisions = 0
    while decisions < 600:
        mask = env.action_masks()
        action = int(model.predict(obs, action_masks=mask, deterministic=True)[0])
        assert mask[action]
        rows = obs[env.n_global :].reshape(env.k, env.n_features)
        valid = rows[:, 0] > 0.5
        if action < env.k and (valid & (rows[:, room] < 1.0)).any():
            assert rows[action, room] < 1.0  # never a full satellite while one has room
        agree += action == int(ect.predict(obs, action_masks=mask)[0])
        decisions += 1
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    assert decisions >= 300 and agree / decisions >= min_agreement


def _no_room(env) -> tuple[bool, bool]:
    """Whether some valid candidate exists, and whether none has room (``SimView.no_room``)."""
    view, cands, mask = env.view, env.candidates, env.action_masks()
    valid = [i for i in range(len(cands)) if mask[i]]
    est, taken = view.queue_estimates(view.head, [cands[i] for i in valid])
    blocked = [
        view.no_room(cands[i], e.uplink_end, n)
        for i, e, n in zip(valid, est, taken, strict=True)
    ]
    return bool(valid), bool(valid) and all(blocked)


@pytest.mark.parametrize("defer_when_full", [True, False])
def test_the_shipped_policy_defers_exactly_when_no_candidate_has_room(defer_when_full):
    from agents.scoring import PRETRAINED, ScoringAgent, load_scoring_model

    # A burst the candidates cannot hold but the constellation can (1,100 jobs in 75 s).
    env = ConstellationDispatchEnv("generated:900004", load=1.0)
    agent = ScoringAgent(load_scoring_model(PRETRAINED), env, defer_when_full=defer_when_full)
    obs, _ = env.reset(seed=100)
    full = 0
    while True:
        any_valid, no_room = _no_room(env)
        action = int(agent.predict(obs)[0])
        assert env.action_masks()[action]
        if no_room and env.action_masks()[env.k]:
            full += 1
            assert (action == env.k) == defer_when_full
        elif any_valid:
            assert action < env.k
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    assert full > 0
