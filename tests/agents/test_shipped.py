"""``agents.shipped``: the pretrained policies are found by name, from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.evaluate import AgentSpec, load_model
from agents.shipped import list_pretrained, pretrained_dir, pretrained_path, shipped_model_path
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_every_zip_in_agents_pretrained_is_listed():
    assert pretrained_dir() == REPO / "agents" / "pretrained"
    assert list_pretrained() == sorted(p.stem for p in pretrained_dir().glob("*.zip"))
    assert "star_compute_12_maskable_ppo" in list_pretrained()


@pytest.mark.parametrize(
    "name",
    [
        "star_compute_12_outcome",
        "star_compute_12_outcome.zip",
        "agents/pretrained/star_compute_12_outcome.zip",
        "/elsewhere/pretrained/star_compute_12_outcome.zip",
    ],
)
def test_a_name_or_the_repository_path_stands_for_the_shipped_file(name):
    assert shipped_model_path(name) == pretrained_dir() / "star_compute_12_outcome.zip"


@pytest.mark.parametrize(
    "name", ["runs/star_compute_12_outcome.zip", "no_such_policy", "pretrained/no_such.zip"]
)
def test_other_paths_stand_for_no_shipped_file(name):
    assert shipped_model_path(name) is None


def test_an_unknown_name_is_one_line_listing_the_known_ones():
    known = r"\(known: dispatch_policy, star"
    with pytest.raises(ConfigError, match=r"pretrained: no shipped policy 'nope' " + known):
        pretrained_path("nope")


def test_the_documented_repository_path_loads_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as after `pip install .`: no agents/ folder here
    env = ConstellationDispatchEnv("star_compute_12", observation="flat", cache_dir=None)
    spec = AgentSpec.parse("maskable_ppo:agents/pretrained/star_compute_12_maskable_ppo.zip")
    model = load_model(spec, env)
    obs, _ = env.reset(seed=0)
    mask = env.action_masks()
    assert mask[int(model.predict(obs, action_masks=mask, deterministic=True)[0])]


def test_a_missing_model_file_that_names_no_shipped_policy_is_still_an_error(tmp_path):
    env = ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)
    with pytest.raises(ConfigError, match="maskable_ppo: model file not found"):
        load_model(AgentSpec("maskable_ppo", str(tmp_path / "model.zip")), env)


def test_loading_a_model_leaves_torch_threads_to_the_caller():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        env = ConstellationDispatchEnv("star_compute_12", observation="flat", cache_dir=None)
        load_model(AgentSpec.parse("maskable_ppo:star_compute_12_maskable_ppo"), env)
        assert torch.get_num_threads() == 2  # a library call; the scripts choose one thread
    finally:
        torch.set_num_threads(previous)
