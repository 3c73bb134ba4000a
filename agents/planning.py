"""Planning on forks: the rollout agent ``rollout:BASE[:H][:fN]`` and policy switching.

The simulator is deterministic and its future arrivals are part of the episode's state, so
``env.unwrapped.fork()`` answers "what does sending this job to candidate i cost, all jobs
included?" exactly. :class:`RolloutAgent` forks the environment once per valid candidate,
dispatches the job there, lets a base heuristic play the next ``H`` decisions (or to the
end) and picks the candidate whose branch costs least: one step of policy iteration on the
base (Bertsekas' rollout). Branches share arrivals, fault draws and a random base's numbers
(common random numbers), so candidates are compared without noise from the future. A
branch costs minus its undiscounted return in seconds (job-seconds plus drop penalties); a
truncated one then stops arrivals (``Sim.stop_arrivals``) and drains under the base until
every job in the system resolves, so only jobs arriving after the horizon are left out.

Several bases, ``rollout:A+B[:H]``, give each candidate its cheapest branch (parallel
rollout, Chang, Givan & Chong 2004): at least as good as every base where branches are
exact. ``fN`` prices candidates on ``N`` sampled futures (``fork(future_seed=…)``) instead
of the real one, which a plain fork knows: a planner without clairvoyance.
:class:`SwitchingAgent` (``switch:…``) chooses among whole rules per segment instead.

These are *references* and teachers (``agents.iteration``), not deployable policies: a
decision costs ``K × (H + drain)`` simulated decisions per base and future, about 0.1–0.3 s
on ``star_compute_12`` at load 1 with ``H = 200``; the full horizon costs the rest of the
episode per candidate.

Size: about 415 lines, just above the house's ~400, because both planners price branches
the same way (the pricing fork, sampled futures, the ``:fN`` name grammar); one module keeps
those helpers private instead of exporting them to a second one.

>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None)
>>> agent = RolloutAgent(env, base="ect", horizon=20)
>>> obs, _ = env.reset(seed=0)
>>> action, _ = agent.predict(obs, action_masks=env.action_masks())
>>> bool(env.action_masks()[action])
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.heuristics import HEURISTICS, HeuristicAgent, make_heuristic
from agents.rollout import rollout
from envs.errors import ConfigError
from envs.reward import TimeInSystem

__all__ = [
    "ROLLOUT_PREFIX",
    "SWITCH_PREFIX",
    "RolloutAgent",
    "SwitchingAgent",
    "best_branch_cost_s",
    "branch_cost_s",
    "parse_bases",
    "parse_rollout_name",
    "parse_switch_name",
    "play_then_drain",
    "policy_cost_s",
]

ROLLOUT_PREFIX = "rollout"
SWITCH_PREFIX = "switch"


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


def parse_rollout_name(name: str) -> tuple[str, int | None, int]:
    """``"rollout:BASE[:H][:fN]"`` → ``(BASE, H or None, N or 0)``; ``ConfigError`` if bad.

    ``BASE`` is one heuristic or several joined by ``+`` (parallel rollout). ``fN`` prices
    every candidate on ``N`` sampled futures instead of the real one (no clairvoyance; see
    :class:`RolloutAgent`).

    >>> parse_rollout_name("rollout:ect:200")
    ('ect', 200, 0)
    >>> parse_rollout_name("rollout:least_loaded")
    ('least_loaded', None, 0)
    >>> parse_rollout_name("rollout:ect_queue+earliest_uplink:30")
    ('ect_queue+earliest_uplink', 30, 0)
    >>> parse_rollout_name("rollout:ect_queue:f4")
    ('ect_queue', None, 4)
    """
    parts = name.split(":")
    if parts[0] != ROLLOUT_PREFIX or len(parts) not in (2, 3, 4):
        raise ConfigError(f"agent: expected rollout:BASE[:H][:fN], got {name!r}")
    base = parts[1]
    parse_bases(base, f"agent {name!r}")
    horizon = None
    rest = parts[2:]
    futures = _pop_futures(name, rest)
    if len(rest) > 1:
        raise ConfigError(f"agent: expected rollout:BASE[:H][:fN], got {name!r}")
    if rest:
        horizon = _positive(name, "horizon H", rest[0])
    return base, horizon, futures


def _pop_futures(name: str, rest: list[str]) -> int:
    """``N`` of a trailing ``fN`` part of an agent name (removed from ``rest``), else 0."""
    if rest and rest[-1].startswith("f"):
        return _positive(name, "the number of sampled futures N (fN)", rest.pop()[1:])
    return 0


def _futures_suffix(futures: int) -> str:
    """The ``:fN`` part of an agent's name (empty on the real future)."""
    return f":f{futures}" if futures else ""


def _mean_over_futures(cost_of: Callable[[int | None], float], futures: Sequence[int]) -> float:
    """``cost_of(future_seed)`` averaged over ``futures``; the real future when there are none."""
    return float(np.mean([cost_of(f) for f in futures or (None,)]))


def _pricing_fork(env: gym.Env, future_seed: int | None) -> gym.Env:
    """A fork that prices a branch: rewards in seconds, no observations, played to its end."""
    branch = env.unwrapped.fork(future_seed)
    branch.reward_fn = TimeInSystem("s")  # priced in seconds, whatever the env's reward
    branch.observe_features = False  # the base heuristic reads the view, not observations
    branch.truncate = False  # a branch is priced to its end, past episode.max_decisions
    return branch


def _positive(name: str, what: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"agent {name!r}: {what} must be an integer >= 1, got {text!r}")
    return value


def branch_cost_s(
    env: gym.Env,
    action: int,
    base: str,
    horizon: int | None,
    seed: int | None = None,
    future_seed: int | None = None,
) -> float:
    """Cost (seconds) of taking ``action`` now and following ``base`` afterwards.

    ``env`` is forked and left untouched. ``horizon`` decisions after ``action`` are played
    in full, then arrivals stop and the system drains under ``base`` (``None``: play to the
    end of the episode). The cost is minus the return, in seconds. ``future_seed`` prices
    the branch on a sampled future instead of the real one
    (``ConstellationDispatchEnv.fork``).
    """
    branch = _pricing_fork(env, future_seed)
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
    future_seeds: Sequence[int] = (),
) -> float:
    """The cheapest expected :func:`branch_cost_s` of ``action`` over ``bases``.

    Without ``future_seeds`` each base is priced on the real future; with them, a base's
    cost is its mean over those sampled futures (the same futures for every base and for
    every action priced with the same seeds), and the cheapest base's mean is returned.
    """
    return min(
        _mean_over_futures(partial(branch_cost_s, env, action, b, horizon, seed), future_seeds)
        for b in bases
    )


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
        futures: ``0`` prices each candidate on the real future (clairvoyant: the forks
            know which jobs will arrive). ``N >= 1`` prices it on ``N`` futures sampled from
            the arrival process (``fork(future_seed=…)``), drawn anew at each decision and
            shared by every candidate, and takes the mean: what a dispatcher that knows the
            arrival process, not the arrivals, can plan. The gap between the two is how
            much of a planner's gain comes from knowing the future.
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
        futures: int = 0,
    ):
        super().__init__(env, seed)
        self.base, self.horizon, self.futures = base, horizon, futures
        parse_rollout_name(self.spec)
        self.bases = parse_bases(base)
        self.last_costs_s: dict[int, float] = {}

    @property
    def spec(self) -> str:
        """The agent's name, ``rollout:BASE[:H][:fN]``."""
        h = "" if self.horizon is None else f":{self.horizon}"
        return f"{ROLLOUT_PREFIX}:{self.base}{h}{_futures_suffix(self.futures)}"

    def __repr__(self) -> str:
        return f"RolloutAgent({self.spec}, seed={self.seed})"

    def choose(self, valid: Sequence[int]) -> int:
        """The valid candidate of least branch cost; ties by candidate order."""
        actions = [*valid, self.k] if self._can_defer else list(valid)
        if len(actions) == 1:
            self.last_costs_s = {}
            return actions[0]
        crn = int(self.rng.integers(2**31))  # one draw per decision, shared by all branches
        futures = [int(x) for x in self.rng.integers(2**31, size=self.futures)]
        costs = [best_branch_cost_s(self.env, a, self.bases, self.horizon, crn, futures)
                 for a in actions]  # fmt: skip
        self.last_costs_s = dict(zip(actions, costs, strict=True))
        return actions[int(np.argmin(costs))]


def parse_switch_name(name: str) -> tuple[str, int, int | None, int]:
    """``"switch:BASES[:SEGMENT[:WINDOW]][:fN]"`` → ``(BASES, SEGMENT, WINDOW or None, N or 0)``.

    ``BASES`` is one heuristic or several joined by ``+``; ``SEGMENT`` (default 1000) is how
    many decisions a chosen base keeps control, ``WINDOW`` how many decisions each base is
    played on its fork before the drain (default: to the end of the episode); ``fN`` prices
    the bases on ``N`` sampled futures instead of the real one.

    >>> parse_switch_name("switch:ect_queue+least_loaded:100:400")
    ('ect_queue+least_loaded', 100, 400, 0)
    >>> parse_switch_name("switch:ect_queue+earliest_uplink")
    ('ect_queue+earliest_uplink', 1000, None, 0)
    >>> parse_switch_name("switch:ect+least_loaded:200:f3")
    ('ect+least_loaded', 200, None, 3)
    """
    parts = name.split(":")
    if parts[0] != SWITCH_PREFIX or len(parts) not in (2, 3, 4, 5):
        raise ConfigError(f"agent: expected switch:BASES[:SEGMENT[:WINDOW]][:fN], got {name!r}")
    parse_bases(parts[1], f"agent {name!r}")
    rest = parts[2:]
    futures = _pop_futures(name, rest)
    if len(rest) > 2:
        raise ConfigError(f"agent: expected switch:BASES[:SEGMENT[:WINDOW]][:fN], got {name!r}")
    numbers = [_positive(name, what, text)
               for what, text in zip(("SEGMENT", "WINDOW"), rest, strict=False)]  # fmt: skip
    segment = numbers[0] if numbers else SwitchingAgent.default_segment
    return parts[1], segment, numbers[1] if len(numbers) > 1 else None, futures


def policy_cost_s(
    env: gym.Env,
    base: str,
    window: int | None,
    seed: int | None = None,
    future_seed: int | None = None,
) -> float:
    """Cost (seconds) of following ``base`` from the current decision on.

    ``env`` is forked and left untouched; ``base`` plays ``window`` decisions (``None``: to
    the end of the episode), then arrivals stop and the system drains under ``base``. The
    cost is minus the return, in seconds: every job in the system and every arrival within
    the window, to its delivery or drop. ``future_seed`` plays on a sampled future instead
    of the real one (``ConstellationDispatchEnv.fork``).
    """
    branch = _pricing_fork(env, future_seed)
    return play_then_drain(branch, make_heuristic(base, branch, seed=seed), window)


class SwitchingAgent(HeuristicAgent):
    """Policy switching over base heuristics: every ``segment`` decisions, follow the cheapest.

    At the first decision of each segment the episode is forked once per base; each base
    plays ``window`` decisions on its fork, then arrivals stop and the system drains
    (:func:`policy_cost_s`). The base whose fork costs least chooses the segment's
    decisions. With exact values, switching at every state is at least as good as the best
    base from that state on (Chang, Givan & Chong 2004's policy switching); per segment it
    follows the rule that fits the phase of the episode (e.g. the queue-aware ECT while
    queues are short, the earliest uplink once they build up) rather than one rule per
    scenario. It is a *reference*, not a deployable policy: each segment costs
    ``len(bases) × (window + drain)`` simulated decisions, times ``futures`` with sampled
    futures.

    Args:
        env: The environment (forked at each segment start; never stepped here).
        seed: Seed of the common random numbers handed to a random base.
        base: Base heuristics joined by ``+`` (or one).
        segment: Decisions a chosen base keeps control.
        window: Decisions each base plays on its fork before the drain (``None``: to the end
            of the episode, the exact value of following the base from here).
        futures: ``0`` plays each base on the real future (clairvoyant); ``N`` on ``N``
            futures sampled at each segment start, shared by every base, and takes the mean.
    """

    name: ClassVar[str] = SWITCH_PREFIX
    reference_bound: ClassVar[bool] = False
    default_segment: ClassVar[int] = 1000

    def __init__(
        self,
        env: gym.Env,
        seed: int | None = None,
        *,
        base: str | Sequence[str] = "ect_queue+earliest_uplink+least_loaded+load_aware",
        segment: int = default_segment,
        window: int | None = None,
        futures: int = 0,
    ):
        super().__init__(env, seed)
        self.bases = parse_bases(base)
        if int(segment) < 1 or (window is not None and int(window) < 1) or int(futures) < 0:
            raise ConfigError(
                f"switch: segment and window must be >= 1 and futures >= 0, got {segment}, "
                f"{window}, {futures}"
            )
        self.segment = int(segment)
        self.window = None if window is None else int(window)
        self.futures = int(futures)
        self.delegates = {b: make_heuristic(b, self.env, seed=seed) for b in self.bases}
        self.current = self.bases[0]
        self.last_costs_s: dict[str, float] = {}
        self._left = 0

    def __repr__(self) -> str:
        w = "" if self.window is None else f":{self.window}"
        name = f"{SWITCH_PREFIX}:{'+'.join(self.bases)}:{self.segment}{w}"
        name += _futures_suffix(self.futures)
        return f"SwitchingAgent({name}, seed={self.seed})"

    def reset(self) -> None:
        """Start the next episode with a fresh choice."""
        self._left = 0
        for agent in self.delegates.values():
            agent.reset()

    def choose(self, valid: Sequence[int]) -> int:
        """The current base's choice; a new base is picked at each segment start."""
        if self._left <= 0:
            self.current = self.pick()
            self._left = self.segment
        self._left -= 1
        agent = self.delegates[self.current]
        agent._can_defer = self._can_defer
        return agent.choose(valid)

    def pick(self) -> str:
        """The base of least :func:`policy_cost_s` from the current decision (ties: first)."""
        if len(self.bases) == 1:
            return self.bases[0]
        crn = int(self.rng.integers(2**31))  # one draw per segment, shared by all forks
        futures = [int(x) for x in self.rng.integers(2**31, size=self.futures)]
        costs = [_mean_over_futures(partial(policy_cost_s, self.env, b, self.window, crn), futures)
                 for b in self.bases]  # fmt: skip
        self.last_costs_s = dict(zip(self.bases, costs, strict=True))
        return self.bases[int(np.argmin(costs))]


def make_agent(name: str, env: gym.Env, seed: int | None = None) -> Any:
    """An agent by name: a heuristic, ``rollout:BASE[:H][:fN]`` or ``switch:BASES[:S[:W]][:fN]``."""
    if name.startswith(ROLLOUT_PREFIX + ":"):
        base, horizon, futures = parse_rollout_name(name)
        return RolloutAgent(env, seed, base=base, horizon=horizon, futures=futures)
    if name.startswith(SWITCH_PREFIX + ":"):
        bases, segment, window, futures = parse_switch_name(name)
        return SwitchingAgent(env, seed, base=bases, segment=segment, window=window,
                              futures=futures)  # fmt: skip
    return make_heuristic(name, env, seed)
