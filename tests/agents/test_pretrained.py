"""The shipped pretrained policy loads in the current environment and plays valid actions.

A change to the observation (a new feature) makes the file unloadable; this test says so
before a user finds out. The README's figures for the file are measured on held-out seeds
by ``scripts/evaluate.py``; here only what a short run can check: it loads through the
harness, keeps to the mask and to the room rule, and agrees with ECT, its teacher, on most
decisions of a seed it was not cloned on.
"""

from __future__ import annotations

from pathlib import Path

from agents.evaluate import AgentSpec, load_model
from agents.heuristics import make_heuristic
from agents.policy import CandidateScoringPolicy
from envs.dispatch_env import CANDIDATE_FEATURES, ConstellationDispatchEnv

PRETRAINED = Path(__file__).parents[2] / "agents" / "pretrained"


def test_the_pretrained_policy_plays_valid_actions_and_follows_its_teacher(sc12_world):
    path = PRETRAINED / "star_compute_12_maskable_ppo.zip"
    env = ConstellationDispatchEnv("star_compute_12", world=sc12_world, load=2.0)
    model = load_model(AgentSpec("maskable_ppo", str(path)), env)
    assert isinstance(model.policy, CandidateScoringPolicy)
    assert model.policy.room_feature == CANDIDATE_FEATURES.index("buffer_used")
    ect = make_heuristic("ect", env)
    obs, _ = env.reset(seed=4242)
    agree = decisions = 0
    room = CANDIDATE_FEATURES.index("buffer_used")
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
    assert decisions >= 300 and agree / decisions >= 0.9
