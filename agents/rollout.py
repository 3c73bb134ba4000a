"""One episode loop for every player: :func:`rollout`.

Evaluation, demonstration collection, labelling, the benchmarks, the soak run and the
planning branches all play the environment the same way: reset with a seed, ask the agent
for an action under the current mask, step, repeat until the episode ends. :func:`rollout`
is that loop, written once (as sb3-contrib's maskable ``evaluate_policy`` is, for one
episode of one environment). What a caller does with each step (record observations, count
invalid actions, sample memory) goes in ``on_step``.

An agent is either

* an object with SB3's ``predict`` (the heuristics of ``agents.heuristics``, the rollout
  agents of ``agents.planning``, ``agents.scoring.ScoringAgent``, ``MaskablePPO`` and plain
  SB3 models): asked ``predict(obs, deterministic=..., action_masks=mask)``, without
  ``action_masks`` when ``masked=False`` (plain PPO takes none); its ``reset()``, when it has
  one, is called after every ``env.reset()``;
* or a function ``act(obs, mask) -> action`` (e.g. :func:`random_valid`); ``mask`` is
  ``None`` for an environment without ``action_masks()`` (CartPole).

States where the mask allows nothing (the episode is draining) are stepped through with
action 0 without asking the agent, as the environment expects.

>>> from agents.heuristics import make_heuristic
>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None)
>>> result = rollout(env, make_heuristic("ect", env), seed=0)
>>> result.terminated, result.steps > 0
(True, True)
>>> rollout(env, make_heuristic("ect", env), seed=0).episode_return == result.episode_return
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

__all__ = ["RolloutResult", "Step", "as_act", "random_valid", "rollout"]

#: A player as a function: ``act(obs, mask) -> action`` (``mask`` is ``None`` without masks).
Act = Callable[[Any, "np.ndarray | None"], Any]


class Step(NamedTuple):
    """One step of :func:`rollout`, handed to ``on_step`` (a tuple: cheap to build).

    Attributes:
        index: Steps taken before this one in this rollout (0 for the first).
        obs: The observation the action was chosen on.
        mask: The action mask of that decision (``None`` without masks).
        action: The action stepped (0 when the mask allowed nothing and no one was asked).
        job: The job decided (``sim.head()`` before the step; -1 when none was pending or
            the environment has no simulator).
        reward: The step's reward.
        next_obs: The observation after the step.
        terminated: The step's ``terminated``.
        truncated: The step's ``truncated``.
        info: The step's ``info``.
    """

    index: int
    obs: Any
    mask: np.ndarray | None
    action: int
    job: int
    reward: float
    next_obs: Any
    terminated: bool
    truncated: bool
    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RolloutResult:
    """What one :func:`rollout` did.

    Attributes:
        steps: Steps taken (the agent is not asked on steps whose mask allowed nothing, but
            they count).
        episode_return: ``start_return`` plus ``info["reset_reward"]`` of the reset (when
            there was one and the env reports it) plus every step's reward, summed in that
            order.
        terminated: Whether the episode terminated (also when it was over at the reset).
        truncated: Whether the last step truncated it.
        info: The ``info`` of the last step (of the reset when no step was taken).
        seconds: Wall-clock time of the steps (agent and environment), reset excluded.
    """

    steps: int
    episode_return: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]
    seconds: float

    @property
    def done(self) -> bool:
        """Whether the episode ended (terminated or truncated), not just stopped early."""
        return self.terminated or self.truncated


def as_act(agent: Any, *, masked: bool = True, deterministic: bool = True) -> Act:
    """``agent`` as a function ``act(obs, mask) -> int`` (a function comes back unchanged).

    Args:
        agent: An object with SB3's ``predict`` or a function ``act(obs, mask)``.
        masked: Pass the mask as ``action_masks`` (``False`` for SB3 models without masks).
        deterministic: Passed to ``predict``.

    >>> act = as_act(lambda obs, mask: 3)
    >>> act(None, None)
    3
    """
    predict = getattr(agent, "predict", None)
    if predict is None:
        if not callable(agent):
            raise TypeError(f"agent: expected predict(obs, ...) or act(obs, mask), got {agent!r}")
        return agent
    if masked:
        return lambda obs, mask: np.asarray(
            predict(obs, deterministic=deterministic, action_masks=mask)[0]
        ).item()
    return lambda obs, mask: np.asarray(predict(obs, deterministic=deterministic)[0]).item()


def random_valid(rng: np.random.Generator, n_actions: int | None = None) -> Act:
    """The random valid policy of the benchmarks: a uniform draw from the mask's valid actions.

    Without a mask (``mask is None``) it draws from ``range(n_actions)``. The draw is
    ``valid[rng.integers(len(valid))]``: the same numbers as ``rng.choice(valid)``, without
    its argument checks (about 20 µs a decision, a sixth of the benchmark's step).

    >>> act = random_valid(np.random.default_rng(0))
    >>> act(None, np.array([False, True, False]))
    1
    """

    def act(obs: Any, mask: np.ndarray | None) -> int:
        if mask is None:
            return int(rng.integers(n_actions))
        valid = mask.nonzero()[0]
        return int(valid[rng.integers(len(valid))])

    return act


def rollout(
    env: Any,
    agent: Any,
    seed: int | None,
    *,
    on_step: Callable[[Step], bool | None] | None = None,
    max_steps: int | None = None,
    masked: bool = True,
    deterministic: bool = True,
    reset: bool = True,
    obs: Any = None,
    start_return: float = 0.0,
    step_finished: bool = False,
) -> RolloutResult:
    """Play ``env`` with ``agent`` from a reset with ``seed`` to the end of the episode.

    Args:
        env: A Gymnasium environment (``ConstellationDispatchEnv`` or any wrapper; others,
            such as CartPole, are played without masks).
        agent: An object with SB3's ``predict`` or a function ``act(obs, mask)`` (see the
            module).
        seed: The reset seed.
        on_step: Called after every step with its :class:`Step`; returning ``False`` stops
            the rollout after that step.
        max_steps: Stop after this many steps, wherever the episode is (``None``: no limit).
        masked: Pass the mask to ``predict`` as ``action_masks``.
        deterministic: Passed to ``predict``.
        reset: ``False`` continues the running episode from its current state (``seed`` is
            then unused and the agent is not reset), e.g. on a fork of the environment.
        obs: The current observation when ``reset`` is ``False`` (the heuristics need none).
        start_return: Where the return starts (the rewards are added to it in order).
        step_finished: Step once even when the episode is over at the start (every job
            resolved at the reset); that step reports the episode's final ``info``, as
            after any last step. Off, such an episode takes no step (the evaluation's way).

    Returns:
        The steps, the return, how the episode ended, the last ``info`` and the time taken.
    """
    base = env.unwrapped
    sim_of = base if hasattr(base, "sim") else None
    # The outermost mask (a wrapper's own, e.g. the canonical layout's), else the env's.
    masks_of = getattr(env, "action_masks", None) or getattr(base, "action_masks", None)
    act = as_act(agent, masked=masked, deterministic=deterministic)
    episode_return = start_return
    if reset:
        obs, info = env.reset(seed=seed)
        if hasattr(agent, "predict") and callable(getattr(agent, "reset", None)):
            agent.reset()
        episode_return += info.get("reset_reward", 0.0)
    else:
        info = {}
    terminated = sim_of is not None and sim_of.sim.done and not step_finished
    truncated = False
    steps = 0
    began = time.perf_counter()
    while not (terminated or truncated) and (max_steps is None or steps < max_steps):
        mask = None if masks_of is None else masks_of()
        # Nothing to decide when the mask allows nothing (e.g. the episode is draining).
        action = 0 if mask is not None and not mask.any() else act(obs, mask)
        if on_step is None:
            obs, reward, terminated, truncated, info = env.step(action)
            episode_return += reward
            steps += 1
            continue
        job = sim_of.sim.head() if sim_of is not None else -1
        next_obs, reward, terminated, truncated, info = env.step(action)
        episode_return += reward
        stop = on_step(Step(steps, obs, mask, action, job, reward, next_obs, terminated,
                            truncated, info)) is False  # fmt: skip
        obs = next_obs
        steps += 1
        if stop:
            break
    seconds = time.perf_counter() - began
    return RolloutResult(steps, episode_return, bool(terminated), bool(truncated), info, seconds)
