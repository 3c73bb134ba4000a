"""``VecNormalize`` statistics saved with each model and restored where the model is used.

A model trained inside SB3's ``VecNormalize`` (``normalize_reward`` / ``normalize_obs`` in the
agent config) needs the running statistics to resume training, and the observation statistics
to act. Every model file ``NAME.zip`` of a run (``model.zip``, ``best_model.zip``,
the checkpoints) gets its statistics beside it as ``NAME.vecnormalize.npz``
(:func:`stats_path`), written atomically with the model. ``--resume`` restores them;
evaluation (``agents.evaluate.load_model``) wraps a model whose statistics normalise
observations so it sees what it saw in training (:func:`with_saved_normalization`).

>>> stats_path("runs/x/checkpoints/rl_model_512_steps.zip").name
'rl_model_512_steps.vecnormalize.npz'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from envs.atomic import atomic_write
from envs.errors import ConfigError, first_line

__all__ = [
    "STATS_SUFFIX",
    "ObservationNormalized",
    "SavedStats",
    "load_stats",
    "normalized_for_play",
    "restore_stats",
    "save_stats",
    "stats_path",
    "with_saved_normalization",
]

#: Suffix of the statistics file beside a model ``NAME.zip`` (plain arrays: no pickle).
STATS_SUFFIX = ".vecnormalize.npz"


@dataclass(frozen=True, slots=True)
class SavedStats:
    """The running statistics and settings of a ``VecNormalize``, as saved beside a model."""

    norm_obs: bool
    norm_reward: bool
    clip_obs: float
    clip_reward: float
    gamma: float
    epsilon: float
    obs_mean: np.ndarray
    obs_var: np.ndarray
    obs_count: float
    ret_mean: np.ndarray
    ret_var: np.ndarray
    ret_count: float

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        """What ``VecNormalize.normalize_obs`` returns with these statistics."""
        if not self.norm_obs:
            return obs
        scaled = (obs - self.obs_mean) / np.sqrt(self.obs_var + self.epsilon)
        return np.clip(scaled, -self.clip_obs, self.clip_obs).astype(np.float32)


def stats_path(model_path: str | os.PathLike[str]) -> Path:
    """Where the ``VecNormalize`` statistics of the model file ``model_path`` live."""
    path = Path(model_path)
    return path.with_name(path.stem + STATS_SUFFIX)


def save_stats(model: Any, model_path: str | os.PathLike[str]) -> Path | None:
    """Write the statistics of ``model``'s ``VecNormalize`` beside ``model_path`` (if it has one).

    Returns:
        The statistics file, or ``None`` when the model's env is not normalised.
    """
    vec = model.get_vec_normalize_env()
    if vec is None:
        return None
    obs = getattr(vec, "obs_rms", None)  # VecNormalize keeps it only with norm_obs
    if isinstance(obs, dict):
        raise ConfigError("normalize_obs: dictionary observations are not supported")
    none = np.zeros(0)
    arrays = {
        "norm_obs": vec.norm_obs, "norm_reward": vec.norm_reward, "clip_obs": vec.clip_obs,
        "clip_reward": vec.clip_reward, "gamma": vec.gamma, "epsilon": vec.epsilon,
        "obs_mean": none if obs is None else obs.mean, "obs_var": none if obs is None else obs.var,
        "obs_count": 0.0 if obs is None else obs.count,
        "ret_mean": vec.ret_rms.mean, "ret_var": vec.ret_rms.var, "ret_count": vec.ret_rms.count,
    }  # fmt: skip
    path = stats_path(model_path)
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    return path


def load_stats(path: str | os.PathLike[str]) -> SavedStats:
    """The statistics saved in ``path``; ``ConfigError`` naming the file if it is bad."""
    try:
        with np.load(path, allow_pickle=False) as data:
            values = {f.name: data[f.name] for f in fields(SavedStats)}
    except Exception as exc:  # missing, truncated, keys missing: all one line
        why = first_line(exc)
        raise ConfigError(f"VecNormalize statistics {path}: cannot load: {why}") from None
    flags = ("norm_obs", "norm_reward")
    scalars = ("clip_obs", "clip_reward", "gamma", "epsilon", "obs_count", "ret_count")
    return SavedStats(
        **{k: bool(values[k]) for k in flags},
        **{k: float(values[k]) for k in scalars},
        **{k: np.asarray(v, dtype=np.float64) for k, v in values.items()
           if k not in flags and k not in scalars},
    )  # fmt: skip


def restore_stats(path: str | os.PathLike[str], venv: Any) -> Any:
    """``VecNormalize`` around ``venv`` with the statistics of ``path``, still updating them."""
    from stable_baselines3.common.vec_env import VecNormalize

    saved = load_stats(path)
    vec = VecNormalize(
        venv, training=True, norm_obs=saved.norm_obs, norm_reward=saved.norm_reward,
        clip_obs=saved.clip_obs, clip_reward=saved.clip_reward, gamma=saved.gamma,
        epsilon=saved.epsilon,
    )  # fmt: skip
    if saved.norm_obs:
        if vec.obs_rms.mean.shape != saved.obs_mean.shape:
            raise ConfigError(
                f"VecNormalize statistics {path}: observations of shape {saved.obs_mean.shape}, "
                f"the environment has {vec.obs_rms.mean.shape}"
            )
        vec.obs_rms.mean, vec.obs_rms.var, vec.obs_rms.count = (
            saved.obs_mean.copy(), saved.obs_var.copy(), saved.obs_count)  # fmt: skip
    vec.ret_rms.mean, vec.ret_rms.var, vec.ret_rms.count = (
        saved.ret_mean.copy(), saved.ret_var.copy(), saved.ret_count)
    return vec


class ObservationNormalized:
    """A model that normalises each observation with fixed ``VecNormalize`` statistics first.

    ``predict`` takes the same arguments as SB3's (``action_masks`` included); every other
    attribute is the model's.
    """

    def __init__(self, model: Any, stats: Any):
        self.model, self.stats = model, stats

    def predict(self, observation: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        """The model's ``predict`` on the normalised observation."""
        obs = np.asarray(observation, dtype=np.float32)
        return self.model.predict(self.stats.normalize_obs(obs), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def with_saved_normalization(model: Any, model_path: str | os.PathLike[str]) -> Any:
    """``model``, wrapped in :class:`ObservationNormalized` if its saved statistics say so.

    Without a statistics file, or with one that only scales rewards (rewards do not change
    what the model does), the model comes back unchanged.
    """
    path = stats_path(model_path)
    if not path.is_file():
        return model
    stats = load_stats(path)
    return ObservationNormalized(model, stats) if stats.norm_obs else model


def normalized_for_play(model: Any, venv: Any) -> Any:
    """``model`` acting on raw observations with ``venv``'s current statistics (if it normalises).

    For evaluations during training, on environments outside the training ``VecNormalize``.
    """
    while venv is not None:
        if getattr(venv, "norm_obs", False) and hasattr(venv, "obs_rms"):
            return ObservationNormalized(model, venv)
        venv = getattr(venv, "venv", None)
    return model
