"""Rewards of the dispatch environment: pluggable objects, minus time in system in hours by default.

Between two decisions the simulator accrues *job-seconds* (every job in the system adds the
time it spent there) and counts the jobs it dropped. The environment hands both to its reward
object, chosen with ``ConstellationDispatchEnv(reward=...)`` (an object or a name), once at
``reset()`` (what accrued before the first decision, reported as ``info["reset_reward"]``) and
once per ``step()``:

* :class:`TimeInSystem` (the default, ``unit="h"``): Decima's reward, minus the job time
  accrued plus ``reward.drop_penalty_s`` per drop, in hours (``"s"``: seconds). The episode's
  return is minus the total cost of its jobs (``envs.sim.job_costs_s``) in that unit, so a
  plain ``gym.make`` + PPO sees returns of tens to hundreds, not millions.

A reward of your own subclasses :class:`Reward`; it must be picklable (vector-env workers
build the env from its arguments) and is deep-copied by ``env.fork()``.

>>> import gymnasium as gym
>>> import envs
>>> env = gym.make("ConstellationDispatch-v1", scenario="toy", cache_dir=None,
...                reward="time_in_system_s")
>>> env.unwrapped.reward_fn
TimeInSystem(unit='s')
>>> make_reward("time_in_system").step(None, 7200.0, 0, drop_penalty_s=86400.0)
-2.0
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from gymnasium import Env

from envs.constants import HOUR_S
from envs.errors import ConfigError

__all__ = ["REWARD_NAMES", "UNITS_S", "Reward", "TimeInSystem", "make_reward"]

#: Seconds per unit of :class:`TimeInSystem`.
UNITS_S = {"s": 1.0, "h": HOUR_S}
#: Names ``make_reward`` (and the env's ``reward=`` argument) accepts.
REWARD_NAMES = ("time_in_system", "time_in_system_h", "time_in_system_s")


class Reward(ABC):
    """What the environment pays for the job time and drops accrued since the last call.

    ``env`` is the environment calling it (a ``ConstellationDispatchEnv``; ``None`` when
    called outside one); ``drop_penalty_s`` is the scenario's ``reward.drop_penalty_s``. This
    module knows the environment only as a ``gymnasium.Env``, so it imports nothing from
    ``envs.dispatch_env``.
    """

    def reset(
        self,
        env: Env | None,
        job_seconds: float,
        drops: int,
        *,
        drop_penalty_s: float,
    ) -> float:
        """Reward for what accrued before the first decision (``info["reset_reward"]``).

        Called at the start of every episode; a stateful reward resets its state here. The
        default prices it like a step.
        """
        return self.step(env, job_seconds, drops, drop_penalty_s=drop_penalty_s)

    @abstractmethod
    def step(
        self,
        env: Env | None,
        job_seconds: float,
        drops: int,
        *,
        drop_penalty_s: float,
    ) -> float:
        """Reward of one step: ``job_seconds`` accrued and ``drops`` jobs dropped since the last."""


@dataclass(frozen=True, slots=True)
class TimeInSystem(Reward):
    """Decima's reward: ``-(job_seconds + drop_penalty_s × drops) / unit``.

    Summed over an episode (``reset_reward`` included) it is minus the total time in system
    of its jobs plus the drop penalties, in ``unit`` (``"h"`` hours, ``"s"`` seconds).

    >>> TimeInSystem("s").step(None, 30.0, 1, drop_penalty_s=100.0)
    -130.0
    """

    unit: str = "h"

    def __post_init__(self) -> None:
        if self.unit not in UNITS_S:
            known = ", ".join(repr(u) for u in UNITS_S)
            raise ConfigError(f"reward unit: expected one of {known}, got {self.unit!r}")

    @property
    def unit_s(self) -> float:
        """Seconds per unit of reward."""
        return UNITS_S[self.unit]

    def step(
        self,
        env: Env | None,
        job_seconds: float,
        drops: int,
        *,
        drop_penalty_s: float,
    ) -> float:
        """Minus the job time and the drop penalties accrued, in ``unit``."""
        return -(job_seconds + drop_penalty_s * drops) / UNITS_S[self.unit]


def make_reward(spec: Reward | str) -> Reward:
    """A reward object from itself or a name of :data:`REWARD_NAMES`.

    ``"time_in_system"`` is ``TimeInSystem("h")``; ``"time_in_system_s"`` is in seconds.

    >>> make_reward("time_in_system_s")
    TimeInSystem(unit='s')
    """
    if isinstance(spec, Reward):
        return spec
    if isinstance(spec, str) and spec in REWARD_NAMES:
        return TimeInSystem("s" if spec.endswith("_s") else "h")
    known = ", ".join(REWARD_NAMES)
    raise ConfigError(f"reward: expected a Reward object or one of {known}, got {_show(spec)}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
