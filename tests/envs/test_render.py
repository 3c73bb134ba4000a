"""Rendering: ``rgb_array`` frames, the ``human`` window, video recording and SB3's make_vec_env."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.dispatch_env import ConstellationDispatchEnv
from envs.render import EpisodeRenderer, plot_contact_gantt


def _play(env, steps: int, *, seed: int = 0) -> None:
    env.reset(seed=seed)
    for _ in range(steps):
        mask = env.unwrapped.action_masks()
        env.step(int(np.flatnonzero(mask)[-1]))  # the last valid action: defers when it may


def test_metadata_lists_the_render_modes_and_a_frame_rate():
    meta = ConstellationDispatchEnv.metadata
    assert meta["render_modes"] == ["ansi", "rgb_array", "human"]
    assert meta["render_fps"] > 0


@pytest.mark.parametrize("scenario", ["toy", "walker_100"])  # 2 satellites; 100 (bars capped)
def test_rgb_array_is_an_h_by_w_by_3_uint8_frame_with_content(scenario):
    env = ConstellationDispatchEnv(scenario, render_mode="rgb_array")
    _play(env, 3)
    frame = env.render()
    assert frame.shape == (540, 960, 3) and frame.dtype == np.uint8
    assert frame.flags.c_contiguous
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 10  # not a blank canvas


def test_frames_repeat_under_one_seed_and_follow_the_episode(toy_world):
    a = ConstellationDispatchEnv("toy", world=toy_world, render_mode="rgb_array")
    b = ConstellationDispatchEnv("toy", world=toy_world, render_mode="rgb_array")
    _play(a, 2)
    _play(b, 2)
    first = a.render()
    np.testing.assert_array_equal(first, b.render())
    a.step(int(np.flatnonzero(a.action_masks())[0]))
    assert not np.array_equal(first, a.render())


@pytest.mark.parametrize("scenario", ["toy", "walker_100"])
def test_a_reused_renderer_draws_what_a_fresh_one_draws(scenario):
    """Frames redraw the data on persistent axes: nothing of the previous frame is left."""
    a = ConstellationDispatchEnv(scenario, render_mode="rgb_array")
    b = ConstellationDispatchEnv(scenario, world=a.world, render_mode="rgb_array")
    _play(a, 1, seed=3)
    a.render()
    a.step(int(np.flatnonzero(a.action_masks())[0]))
    _play(b, 1, seed=3)
    b.step(int(np.flatnonzero(b.action_masks())[0]))
    np.testing.assert_array_equal(a.render(), b.render())


def test_the_last_action_is_what_the_env_did_after_fallback(toy_world):
    env = ConstellationDispatchEnv("toy", world=toy_world, candidates=3)
    env.reset(seed=0)
    assert env.last_decision is None
    job, cands = env.view.head, env.candidates
    env.step(2)  # candidate 2 is padding (2 satellites): falls back to candidate 0
    assert env.last_decision == (job, cands, 0)
    env.reset(seed=0)
    assert env.last_decision is None


def test_stepping_does_no_rendering_work(toy_world, monkeypatch):
    def boom(self, env):
        raise AssertionError("a frame was drawn without render()")

    monkeypatch.setattr(EpisodeRenderer, "frame", boom)
    env = ConstellationDispatchEnv("toy", world=toy_world, render_mode="rgb_array")
    _play(env, 10)
    assert env._renderer is None


def test_render_before_reset_and_without_a_mode_returns_none(toy_world):
    assert (
        ConstellationDispatchEnv("toy", world=toy_world, render_mode="rgb_array").render() is None
    )
    env = ConstellationDispatchEnv("toy", world=toy_world)
    env.reset(seed=0)
    assert env.render() is None


def test_ansi_is_still_a_text_line(toy_world):
    env = ConstellationDispatchEnv("toy", world=toy_world, render_mode="ansi")
    env.reset(seed=0)
    assert env.render().startswith("t=")


def test_human_mode_shows_the_frame_in_a_window_and_close_closes_it(toy_world, monkeypatch):
    plt = pytest.importorskip("matplotlib.pyplot")
    pauses = []
    monkeypatch.setattr(plt, "pause", pauses.append)
    env = ConstellationDispatchEnv("toy", world=toy_world, render_mode="human")
    env.reset(seed=0)
    before = set(plt.get_fignums())
    assert env.render() is None
    assert env.render() is None  # the second frame reuses the window
    opened = set(plt.get_fignums()) - before
    assert len(opened) == 1 and pauses == [0.25, 0.25]
    env.close()
    assert not opened & set(plt.get_fignums())


def test_gymnasium_check_env_passes_with_render_checks(toy_world):
    # Made through gym.make, so that the checker also makes the env in every render mode.
    env = gym.make(envs.ENV_ID, scenario="toy", world=toy_world, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a mode the checker could not try
        check_env(env.unwrapped)


def test_sb3_make_vec_env_works_with_the_env_id():
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(envs.ENV_ID, n_envs=2, seed=0, env_kwargs={"scenario": "toy"})
    obs = vec.reset()
    assert obs["candidates"].shape == (2, *vec.observation_space["candidates"].shape)
    assert vec.get_attr("render_mode") == ["rgb_array", "rgb_array"]
    vec.step(np.array([0, 0]))
    images = vec.get_images()
    assert [im.shape for im in images] == [(540, 960, 3)] * 2
    vec.close()


def test_record_video_writes_an_episode_file(tmp_path):
    pytest.importorskip("moviepy")
    from gymnasium.wrappers import RecordVideo

    limit = {"episode.max_decisions": 4}  # truncated after 4 decisions
    env = gym.make(envs.ENV_ID, scenario="toy", render_mode="rgb_array", **limit)
    folder = tmp_path / "videos"
    env = RecordVideo(env, str(folder), episode_trigger=lambda episode: True, disable_logger=True)
    _play(env, 4)
    env.close()
    (video,) = folder.glob("*.mp4")
    assert video.stat().st_size > 0


def test_contact_gantt_is_written_without_pyplot_state(tmp_path, toy_world):
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    out = plot_contact_gantt(toy_world.plan, tmp_path / "plan.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == before


def test_failed_satellites_are_marked_on_the_map():
    faults = {"satellite_failures": [{"satellite": 1, "time_s": 1}]}
    env = ConstellationDispatchEnv("toy", faults=faults, render_mode="rgb_array")
    _play(env, 2)
    assert env.view.failed == {1}
    assert env.render().shape == (540, 960, 3)
    map_ax = env._renderer._axes[0]
    assert "failed" in [t.get_text() for t in map_ax.get_legend().get_texts()]
