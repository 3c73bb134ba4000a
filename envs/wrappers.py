"""``CanonicalDispatch``: one observation and action layout for every scenario.

A policy that should run in any scenario cannot depend on the number of candidates ``K``,
on the number of models (the model one-hot), or on whether deferral exists. This wrapper
gives every scenario the same spaces:

* observation ``Box(0, 2, (n_global + k_max × n_features,))``: the env's job and global
  features without the model one-hot (``GLOBAL_FEATURES``), then for each of ``k_max``
  candidate slots the env's candidate features (``CANDIDATE_FEATURES``) followed by
  ``QUEUE_FEATURES``; slots past the env's ``K`` are zeros (invalid);
* action ``Discrete(k_max + 1)``: slot ``i`` sends the job to the env's candidate ``i``,
  action ``k_max`` defers it. The mask (``action_masks()``) marks padding invalid, and
  deferral invalid unless ``defer=True``, the scenario has deferral, every candidate would
  find its buffer full and the constellation still has free buffer slots
  (``SimView.worth_waiting``; a policy free to defer at every decision learns from one-step
  lookahead that a 60 s wait is cheap, and then bounces jobs forever).

The two queue features come from ``SimView.queue_estimates``: the estimated delivery when the
jobs still in uplink ahead of this one are served first, relative to the earliest over the
candidates (squashed seconds; 0 for the best), and the share of the buffer taken when the
job would arrive (``2`` caps it). ``k_max`` must be at least the env's ``K``.

>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = CanonicalDispatch(ConstellationDispatchEnv("toy", cache_dir=None), k_max=4)
>>> obs, _ = env.reset(seed=0)
>>> obs.shape, int(env.action_space.n), env.action_masks().tolist()
((72,), 5, [True, True, False, False, False])
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.dispatch_env import (
    CANDIDATE_FEATURES,
    GLOBAL_FEATURES,
    ConstellationDispatchEnv,
    squash_s,
)
from envs.errors import ConfigError
from envs.sim.links import INF

__all__ = ["QUEUE_FEATURES", "CanonicalDispatch", "FlattenDispatch", "flatten_observation"]

QUEUE_FEATURES = ("queue_delivery_vs_best", "full_on_arrival")


def flatten_observation(obs: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
    """The flat observation vector of either form (a ``Dict`` observation's parts in order).

    ``global``, ``job`` and the candidate rows, concatenated: exactly the vector an env with
    ``observation="flat"`` returns for the same decision (the mask is not part of it).
    """
    if not isinstance(obs, dict):
        return obs
    return np.concatenate(
        (obs["global"], obs["job"], np.asarray(obs["candidates"]).reshape(-1))
    ).astype(np.float32, copy=False)


class FlattenDispatch(gym.ObservationWrapper):
    """The flat ``Box`` observation of an env made with ``observation="dict"``.

    For SB3's MLP policies and anything that reads one vector: ``global``, ``job`` and the
    ``K × F`` candidate rows concatenated, bit for bit what ``observation="flat"`` gives.
    The action mask stays available through ``action_masks()`` (MaskablePPO's convention).

    >>> from envs.dispatch_env import ConstellationDispatchEnv
    >>> env = FlattenDispatch(ConstellationDispatchEnv("toy", cache_dir=None))
    >>> obs, _ = env.reset(seed=0)
    >>> flat = ConstellationDispatchEnv("toy", cache_dir=None, observation="flat")
    >>> bool((obs == flat.reset(seed=0)[0]).all()), env.observation_space.shape == obs.shape
    (True, True)
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, ConstellationDispatchEnv) or base.observation != "dict":
            form = getattr(base, "observation", None)
            raise ConfigError(
                "env: FlattenDispatch expects a ConstellationDispatchEnv made with "
                f"observation='dict', got {type(base).__name__} (observation={form!r})"
            )
        self.observation_space = base.flat_observation_space

    def observation(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """Concatenate the parts (see :func:`flatten_observation`)."""
        return flatten_observation(observation)

    def action_masks(self) -> np.ndarray:
        """The env's valid actions (MaskablePPO reads them through the wrapper)."""
        return self.env.unwrapped.action_masks()


class CanonicalDispatch(gym.Wrapper):
    """Scenario-independent spaces for ``ConstellationDispatchEnv`` (see the module docstring).

    Args:
        env: A ``ConstellationDispatchEnv`` (or a wrapper of one that keeps its spaces).
        k_max: Candidate slots of the canonical layout (>= the env's ``K``).
        defer: Offer deferral when every candidate is full but the constellation is not
            (``SimView.worth_waiting``). Off by default: the distillation labels teach no
            deferral (``agents.scoring.ScoringAgent`` applies its own deferral rule before
            the network and leaves it off).
    """

    n_global = len(GLOBAL_FEATURES)
    n_features = len(CANDIDATE_FEATURES) + len(QUEUE_FEATURES)

    def __init__(self, env: gym.Env, k_max: int = 16, *, defer: bool = False):
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, ConstellationDispatchEnv):
            raise ConfigError(f"env: expected a ConstellationDispatchEnv, got {type(base)}")
        if isinstance(k_max, bool) or not isinstance(k_max, int) or k_max < base.k:
            raise ConfigError(f"k_max: must be an integer >= the env's K ({base.k}), got {k_max!r}")
        self.k_max = k_max
        self.defer = bool(defer)
        size = self.n_global + k_max * self.n_features
        self.observation_space = spaces.Box(0.0, 2.0, shape=(size,), dtype=np.float32)
        self.action_space = spaces.Discrete(k_max + 1)
        self._mask = np.zeros(k_max + 1, dtype=bool)

    # ------------------------------------------------------------------ gym API
    def reset(self, **kwargs: Any):
        """Reset the env; the canonical observation of its first decision."""
        obs, info = self.env.reset(**kwargs)
        return self.canonical(obs), info

    def step(self, action: Any):
        """Map a canonical action to the env's (slot ``i`` → candidate ``i``, last → defer)."""
        a = int(action)
        if not 0 <= a <= self.k_max:
            raise ValueError(f"action: must be an integer in [0, {self.k_max}], got {action!r}")
        base = self.env.unwrapped
        if not self._mask[a]:  # padding, a missing deferral or a masked candidate
            if base.invalid_action == "raise":
                raise ValueError(
                    f"action: {a} is masked (valid: {np.flatnonzero(self._mask).tolist()})"
                )
            a = int(np.flatnonzero(self._mask)[0]) if self._mask.any() else 0
        a = self.to_env_action(a)
        obs, reward, terminated, truncated, info = self.env.step(a)
        return self.canonical(obs), reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Valid canonical actions (padding and a missing deferral are invalid)."""
        return self._mask.copy()

    def to_env_action(self, action: int) -> int:
        """The env's action for a canonical one (deferral is the env's ``K``)."""
        base = self.env.unwrapped
        return base.k if int(action) == self.k_max else int(action)

    # ------------------------------------------------------------------ internals
    def canonical(self, obs: np.ndarray) -> np.ndarray:
        """The canonical observation of the env's current decision, given its own ``obs``.

        ``obs`` may be either form of the env's observation (``flat`` or ``dict``).
        """
        obs = flatten_observation(obs)
        base = self.env.unwrapped
        k, nf = base.k, base.n_features
        out = np.zeros(self.observation_space.shape, dtype=np.float32)
        out[: self.n_global] = obs[: self.n_global]
        env_mask = base.action_masks()
        mask = self._mask
        mask[:] = False
        mask[:k] = env_mask[:k]
        cands = base.candidates
        if not cands:
            return out
        blocks = out[self.n_global :].reshape(self.k_max, self.n_features)
        blocks[:k, :nf] = np.asarray(obs[base.n_global :], dtype=np.float32).reshape(k, nf)
        view = base.view
        estimates, taken = view.queue_estimates(view.head, cands)
        valid = [i for i, e in enumerate(estimates) if e.delivered < INF and env_mask[i]]
        if valid:
            best = min(estimates[i].delivered for i in valid)
            for i in valid:
                blocks[i, nf] = squash_s(estimates[i].delivered - best)
                blocks[i, nf + 1] = min(taken[i] / view.buffer_jobs(cands[i]), 2.0)
        # Deferral only when every candidate would find its buffer full and the constellation
        # has free slots (SimView.worth_waiting), if at all.
        if self.defer and base.scenario.dispatch.allow_defer and env_mask[k]:
            sats = [cands[i] for i in valid]
            mask[self.k_max] = not valid or view.worth_waiting(sats, [taken[i] for i in valid])
        return out
