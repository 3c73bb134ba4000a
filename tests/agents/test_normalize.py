"""VecNormalize statistics beside model files (``agents.normalize``)."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from agents.normalize import (
    ObservationNormalized,
    load_stats,
    normalized_for_play,
    restore_stats,
    save_stats,
    stats_path,
    with_saved_normalization,
)
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError


class Echo:
    """A stand-in model whose action is the observation it was given."""

    def predict(self, obs, *args, **kwargs):
        return obs, None


class Trained:
    """A stand-in model trained in ``vec``."""

    def __init__(self, vec):
        self.vec = vec

    def get_vec_normalize_env(self):
        return self.vec


def _vec(norm_obs: bool) -> VecNormalize:
    make = lambda: ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)  # noqa: E731
    vec = VecNormalize(DummyVecEnv([make]), norm_obs=norm_obs, norm_reward=True)
    vec.reset()
    for _ in range(20):
        vec.step(np.array([0]))
    return vec


def test_statistics_sit_beside_the_model_file():
    assert stats_path("a/best_model.zip").as_posix() == "a/best_model.vecnormalize.npz"


def test_saved_observation_statistics_wrap_the_model_and_reward_only_ones_do_not(tmp_path):
    for norm_obs in (True, False):
        vec = _vec(norm_obs)
        save_stats(Trained(vec), tmp_path / "model.zip")
        model = with_saved_normalization(Echo(), tmp_path / "model.zip")
        assert isinstance(model, ObservationNormalized) is norm_obs
        obs = np.full(vec.observation_space.shape, 0.5, dtype=np.float32)
        expected = vec.normalize_obs(obs) if norm_obs else obs
        np.testing.assert_allclose(model.predict(obs)[0], expected)
        assert isinstance(normalized_for_play(Echo(), vec), ObservationNormalized) is norm_obs
    assert isinstance(with_saved_normalization(Echo(), tmp_path / "other.zip"), Echo)


def test_a_damaged_statistics_file_is_a_one_line_error_naming_it(tmp_path):
    bad = tmp_path / "model.vecnormalize.npz"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ConfigError, match=r"model\.vecnormalize\.npz: cannot load"):
        load_stats(bad)


def test_restored_statistics_equal_the_saved_ones_and_keep_updating(tmp_path):
    vec = _vec(True)
    save_stats(Trained(vec), tmp_path / "m.zip")
    fresh = DummyVecEnv(
        [lambda: ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)]
    )
    again = restore_stats(stats_path(tmp_path / "m.zip"), fresh)
    for a, b in ((again.obs_rms, vec.obs_rms), (again.ret_rms, vec.ret_rms)):
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.var, b.var)
        assert a.count == b.count
    assert again.training and (again.gamma, again.clip_obs) == (vec.gamma, vec.clip_obs)
    again.reset()
    again.step(np.array([0]))
    assert again.obs_rms.count > vec.obs_rms.count


def test_a_run_without_vecnormalize_writes_no_statistics(tmp_path):
    assert save_stats(Trained(None), tmp_path / "m.zip") is None
    assert not stats_path(tmp_path / "m.zip").exists()
