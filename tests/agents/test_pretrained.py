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
