"""Planning on forks of the simulator: the one-step rollout agent ``rollout:BASE[:H]``.

The simulator is deterministic and its future arrivals are part of the episode's state, so
``env.unwrapped.fork()`` can answer "what does sending this job to candidate i cost, all
jobs included?" exactly. :class:`RolloutAgent` forks the environment once per valid
candidate, dispatches the job there, lets a base heuristic play the next ``H`` decisions
(or to the end of the episode) and picks the candidate whose branch costs least: one step
of policy iteration on top of the base policy (Bertsekas' rollout algorithm). Every branch
sees the same arrivals and fault draws, and a random base draws the same numbers in every
branch (common random numbers), so the comparison between candidates carries no noise
from the future.

The cost of a branch is minus its undiscounted return in seconds: job-seconds accrued
plus the drop penalties. A truncated branch (``H`` decisions) also needs what the jobs still
in the system will cost; it is measured rather than guessed: the branch stops arrivals
(``Sim.stop_arrivals``) and drains, the base policy dispatching the jobs still pending,
until every job in the system is delivered or dropped. Jobs arriving after the horizon are
left out, so the terminal estimate ignores the effect of today's choice on them only.

Several bases, ``rollout:A+B[:H]``, give each candidate the cheapest of its branches, one per
base (parallel rollout, Chang, Givan & Chong 2004): the result is at least as good as the
best of the bases wherever the branches are exact, which is what a policy that should beat
*every* heuristic needs as a teacher. It costs one branch per base and candidate.

This is a *reference*, not a deployable policy: each decision costs ``K × (H + drain)``
simulated decisions. On ``star_compute_12`` at load 1 with ``H = 200`` that is about
0.1–0.3 s a decision (~1,300 decisions per episode-hour of arrivals); the full horizon costs
the rest of the episode per candidate. Its use is as the teacher of the learned policy
(``agents.iteration``) and as the yardstick of what planning buys.

>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None)
>>> agent = RolloutAgent(env, base="ect", horizon=20)
>>> obs, _ = env.reset(seed=0)
>>> action, _ = agent.predict(obs, action_masks=env.action_masks())
>>> bool(env.action_masks()[action])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.heuristics import HEURISTICS, HeuristicAgent, make_heuristic
from agents.rollout import rollout
from envs.errors import ConfigError
from envs.reward import TimeInSystem

__all__ = [
    "ROLLOUT_PREFIX",
    "RolloutAgent",
    "best_branch_cost_s",
    "branch_cost_s",
    "parse_bases",
    "parse_rollout_name",
    "play_then_drain",
]

ROLLOUT_PREFIX = "rollout"


def parse_bases(base: str | Sequence[str], where: str = "base") -> tuple[str, ...]:
    """Base heuristics from ``"A"``, ``"A+B"`` or a list; ``ConfigError`` naming a bad one.

    >>> parse_bases("ect_queue+earliest_uplink")
    ('ect_queue', 'earliest_uplink')
    """
    names = base.split("+") if isinstance(base, str) else list(base)
    if not names:
        raise ConfigError(f"{where}: give at least one base heuristic")
    for name in names:
        if not isinstance(name, str) or name not in HEURISTICS or HEURISTICS[name].reference_bound:
            known = ", ".join(k for k, v in HEURISTICS.items() if not v.reference_bound)
            raise ConfigError(f"{where}: unknown base heuristic {name!r} (known: {known})")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a base heuristic is listed twice in {base!r}")
    return tuple(names)


def parse_rollout_name(name: str) -> tuple[str, int | None]:
    """``"rollout:BASE[:H]"`` → ``(BASE, H or None)``; ``ConfigError`` naming what is wrong.

    ``BASE`` is one heuristic or several joined by ``+`` (parallel rollout).

    >>> parse_rollout_name("rollout:ect:200")
    ('ect', 200)
    >>> parse_rollout_name("rollout:least_loaded")
    ('least_loaded', None)
    >>> parse_rollout_name("rollout:ect_queue+earliest_uplink:30")
    ('ect_queue+earliest_uplink', 30)
    """
    parts = name.split(":")
    if parts[0] != ROLLOUT_PREFIX or len(parts) not in (2, 3):
        raise ConfigError(f"agent: expected rollout:BASE[:H], got {name!r}")
    base = parts[1]
    parse_bases(base, f"agent {name!r}")
    if len(parts) == 2:
        return base, None
    try:
        horizon = int(parts[2])
    except ValueError:
        horizon = 0
    if horizon < 1:
        raise ConfigError(f"agent {name!r}: horizon H must be an integer >= 1, got {parts[2]!r}")
    return base, horizon


def branch_cost_s(
    env: gym.Env,
    action: int,
    base: str,
    horizon: int | None,
    seed: int | None = None,
) -> float:
    """Cost (seconds) of taking ``action`` now and following ``base`` afterwards.

    ``env`` is forked and left untouched. ``horizon`` decisions after ``action`` are played
    in full, then arrivals stop and the system drains under ``base`` (``None``: play to the
    end of the episode). The cost is minus the return, in seconds.
    """
    root = env.unwrapped
    branch = root.fork()
    branch.reward_fn = TimeInSystem("s")  # priced in seconds, whatever the env's reward
    branch.observe_features = False  # the base heuristic reads the view, not observations
    branch.truncate = False  # a branch is priced to its end, past episode.max_decisions
    agent = make_heuristic(base, branch, seed=seed)
    _, reward, _, _, _ = branch.step(action)
    return play_then_drain(branch, agent, horizon, cost=-reward)


def play_then_drain(env: gym.Env, agent: Any, horizon: int | None, *, cost: float = 0.0) -> float:
    """Let ``agent`` play ``horizon`` decisions, then stop arrivals and drain to the end.

    ``env`` is an unwrapped env that ignores ``episode.max_decisions`` (``truncate`` off);
    ``horizon`` ``None`` plays the episode out. Returns ``cost`` minus every reward received
    (summed in step order). States with no valid action are stepped through without asking.
    Both phases are :func:`agents.rollout.rollout` continuing the running episode.
    """
    played = rollout(env, agent, None, reset=False, max_steps=horizon, start_return=-cost)
    if not env.sim.done:  # the horizon is reached: drain until the jobs in the system resolve
        env.sim.stop_arrivals()
        played = rollout(env, agent, None, reset=False, start_return=played.episode_return)
    return -played.episode_return  # the same number as subtracting each reward from ``cost``


def best_branch_cost_s(
    env: gym.Env,
    action: int,
    bases: Sequence[str],
    horizon: int | None,
    seed: int | None = None,
) -> float:
    """The cheapest :func:`branch_cost_s` of ``action`` over ``bases`` (same random numbers)."""
    return min(branch_cost_s(env, action, b, horizon, seed=seed) for b in bases)


class RolloutAgent(HeuristicAgent):
    """One-step rollout of a base heuristic: the action whose branch costs least.

    The actions tried are the valid candidates and, when the mask allows it, deferral.

    Args:
        env: The environment (forked at every decision; never stepped here).
        seed: Seed of the common random numbers handed to a random base.
        base: Name of the base heuristic (any non-reference heuristic), or several joined
            by ``+``: each candidate then costs its cheapest branch over them.
        horizon: Decisions played after the candidate before draining (``None``: to the
            end of the episode).
    """

    name: ClassVar[str] = ROLLOUT_PREFIX
    reference_bound: ClassVar[bool] = False

    def __init__(
        self,
        env: gym.Env,
        seed: int | None = None,
        *,
        base: str = "ect",
        horizon: int | None = None,
    ):
        super().__init__(env, seed)
        parse_rollout_name(f"{ROLLOUT_PREFIX}:{base}" + ("" if horizon is None else f":{horizon}"))
        self.base, self.horizon = base, horizon
        self.bases = parse_bases(base)
        self.last_costs_s: dict[int, float] = {}

    def __repr__(self) -> str:
        h = "" if self.horizon is None else f":{self.horizon}"
        return f"RolloutAgent({ROLLOUT_PREFIX}:{self.base}{h}, seed={self.seed})"

    def choose(self, valid: Sequence[int]) -> int:
        """The valid candidate of least branch cost; ties by candidate order."""
        actions = [*valid, self.k] if self._can_defer else list(valid)
        if len(actions) == 1:
            self.last_costs_s = {}
            return actions[0]
        crn = int(self.rng.integers(2**31))  # one draw per decision, shared by all branches
        costs = [best_branch_cost_s(self.env, a, self.bases, self.horizon, seed=crn)
                 for a in actions]  # fmt: skip
        self.last_costs_s = dict(zip(actions, costs, strict=True))
        return actions[int(np.argmin(costs))]


def make_agent(name: str, env: gym.Env, seed: int | None = None) -> Any:
    """A heuristic by name, or a rollout agent for ``rollout:BASE[:H]``."""
    if name.startswith(ROLLOUT_PREFIX + ":"):
        base, horizon = parse_rollout_name(name)
        return RolloutAgent(env, seed, base=base, horizon=horizon)
    return make_heuristic(name, env, seed)
