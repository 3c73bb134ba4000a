"""``VecNormalize`` statistics saved with each model and restored where the model is used.

A model trained inside SB3's ``VecNormalize`` (``normalize_reward`` / ``normalize_obs`` in the
agent config) needs the running statistics to resume training, and the observation statistics
to act. Every model file ``NAME.zip`` of a run (``model.zip``, ``best_model.zip``,
the checkpoints) gets its statistics beside it as ``NAME.vecnormalize.pkl``
(:func:`stats_path`), written atomically with the model. ``--resume`` restores them;
evaluation (``agents.evaluate.load_model``) wraps a model whose statistics normalise
observations so it sees what it saw in training (:func:`with_saved_normalization`).

>>> stats_path("runs/x/checkpoints/rl_model_512_steps.zip").name
'rl_model_512_steps.vecnormalize.pkl'
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from envs.atomic import atomic_write
from envs.errors import ConfigError, first_line

__all__ = [
    "STATS_SUFFIX",
    "ObservationNormalized",
    "load_stats",
    "normalized_for_play",
    "restore_stats",
    "save_stats",
    "stats_path",
    "with_saved_normalization",
]

#: Suffix of the statistics file beside a model ``NAME.zip``.
STATS_SUFFIX = ".vecnormalize.pkl"


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
    path = stats_path(model_path)
    with atomic_write(path, "wb") as fh:
        pickle.dump(vec, fh)  # VecNormalize pickles without its wrapped env
    return path


def load_stats(path: str | os.PathLike[str]) -> Any:
    """The ``VecNormalize`` object saved in ``path`` (without an env); ``ConfigError`` if bad."""
    from stable_baselines3.common.vec_env import VecNormalize

    try:
        with open(path, "rb") as fh:
            vec = pickle.load(fh)  # written by save_stats beside the model
    except Exception as exc:  # missing, truncated, other pickles: all one line
        why = first_line(exc)
        raise ConfigError(f"VecNormalize statistics {path}: cannot load: {why}") from None
    if not isinstance(vec, VecNormalize):
        raise ConfigError(f"VecNormalize statistics {path}: not VecNormalize statistics")
    return vec


def restore_stats(path: str | os.PathLike[str], venv: Any) -> Any:
    """``VecNormalize`` around ``venv`` with the statistics of ``path``, still updating them."""
    vec = load_stats(path)
    vec.set_venv(venv)
    vec.training = True
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
