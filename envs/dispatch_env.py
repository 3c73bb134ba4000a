"""``ConstellationDispatch-v1``: the Gymnasium adapter around the simulator.

Size: about 830 lines, above the house's ~400, because it is the one class users meet: its
spaces, the observation (flat or ``Dict``, built per decision without loops over the
constellation), the action and mask, reset options, faults, rendering hooks and ``fork`` are
the environment's public surface and are documented where they are defined.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.constants import DAY_S, HOUR_S
from envs.contact_plan import default_cache_dir
from envs.errors import ConfigError
from envs.jobs import JobBatch, clip_trace_tokens, generate_jobs
from envs.reward import Reward, make_reward
from envs.scenario import Scenario, load_scenario
from envs.sim import (
    Estimate,
    FaultedWorld,
    Sim,
    SimView,
    World,
    build_world,
    compiled,
    job_table,
    metrics,
    sample_fault_plan,
    world_key,
)
from envs.sim.links import INF

__all__ = [
    "CANDIDATE_FEATURES",
    "GLOBAL_FEATURES",
    "OBSERVATIONS",
    "SYSTEM_FEATURES",
    "ConstellationDispatchEnv",
    "squash_s",
    "unsquash_s",
]

_LOG_DAY = math.log1p(DAY_S)
_INV_LOG_DAY = 1.0 / _LOG_DAY
#: Pending jobs that make the ``pending`` feature 1.
PENDING_SCALE = 10.0
#: Input tokens that make the ``input_tokens`` feature 1 (log scale).
_LOG_TOKENS = math.log1p(16384.0)
CANDIDATE_FEATURES = (
    "valid",
    "uplink_wait",
    "uplink_duration",
    "uplink_backlog",
    "compute_wait",
    "compute_duration",
    "downlink_wait",
    "downlink_duration",
    "downlink_backlog",
    "est_turnaround",
    "can_compute",
    "buffer_used",
    "delivery_vs_best",
    "queued_compute",
)
#: The observation forms: one flat ``Box`` (SB3's MLP policies) or a ``Dict`` of its parts.
OBSERVATIONS = ("flat", "dict")
GLOBAL_FEATURES = (
    "time_of_day_sin",
    "time_of_day_cos",
    "episode_progress",
    "pending",
    "in_flight",
    "input_tokens",
    "waited",
    "deadline_slack",
)
#: The leading ``GLOBAL_FEATURES`` that describe the system; the rest describe the job.
SYSTEM_FEATURES = GLOBAL_FEATURES[:5]


def squash_s(seconds: float) -> float:
    """Squash a duration into [0, 2]: log1p(seconds) / log1p(1 day), capped.

    >>> squash_s(86400.0), squash_s(-1.0), squash_s(float("inf"))
    (1.0, 0.0, 2.0)
    """
    if seconds <= 0.0:
        return 0.0
    if seconds == INF:
        return 2.0
    return min(math.log1p(seconds) / _LOG_DAY, 2.0)


_t = squash_s


def unsquash_s(features: np.ndarray) -> np.ndarray:
    """Seconds back from squashed duration features (the inverse of the squash below 2).

    >>> float(unsquash_s(np.array([_t(3600.0)]))[0])  # doctest: +ELLIPSIS
    3600.0...
    """
    return np.expm1(np.asarray(features, dtype=np.float64) * _LOG_DAY)


class ConstellationDispatchEnv(gym.Env):
    """Dispatch inference jobs to satellites of a computing constellation.

    ## Description
    Jobs (LLM queries) arrive at ground stations over an episode. Each query must be
    uplinked to a satellite during a pass over its origin station, computed on board, and
    its result downlinked during a contact with any permitted station. At every decision the
    agent sends the job at the head of the pending queue to one of ``K`` candidate
    satellites (ranked by earliest uplink opportunity) or defers it. The simulator
    (``envs.sim``) advances between decisions; turnaround = delivery − arrival.

    ## Action Space
    ``Discrete(K + 1)`` (``Discrete(K)`` if deferral is disabled): action ``i < K`` sends
    the job to candidate ``i``; action ``K`` defers it by ``dispatch.defer_s``.
    ``action_masks()`` marks valid actions (padding and unreachable candidates are invalid;
    deferral is valid only when some candidate is). A job that no candidate can deliver
    within the horizon is dropped (``no_contact``) without asking the agent.
    A failed satellite (scenario ``faults``) is never a candidate.
    A masked action falls back to the first valid candidate when
    ``invalid_action="fallback"`` (default; ``info["invalid_action"]`` is set) and raises
    ``ValueError`` when ``invalid_action="raise"``. An action outside the space always raises.

    ## Observation Space
    A ``Dict`` (the default, ``observation="dict"``, like spark-sched-sim's Decima wrapper):
    ``global`` (``Box(0, 2, (5,))``: the first 5 features of the table below,
    ``SYSTEM_FEATURES``), ``job`` (the job's 3 features and its model one-hot), ``candidates``
    (``Box(0, 2, (K, 14))``, one row per candidate) and ``action_mask``
    (``MultiBinary(K [+ 1])``, as ``action_masks()``), all ``float32`` but the mask (int8).
    The parts of one decision are never changed by later steps.

    Flat, for SB3's ``MlpPolicy``: ``Box(0, 2, (8 + n_models + 14 K,), float32)``, the parts
    concatenated (``global``, ``job``, the candidate rows; not the mask), numbered as in the
    table. ``envs.wrappers.FlattenDispatch`` turns the ``Dict`` into it, bit for bit;
    ``observation="flat"`` returns it directly, without building the parts (cheaper inside
    training loops). Durations are squashed as ``min(log1p(seconds) / log1p(86400), 2)``.

    | Num | Field | Min | Max | Units |
    |---|---|---|---|---|
    | 0–1 | time of day (sin, cos), shifted to [0, 1] | 0 | 1 | — |
    | 2 | episode progress (now / arrival window) | 0 | 2 | — |
    | 3 | pending jobs / 10 | 0 | 2 | — |
    | 4 | jobs in flight / (satellites × buffer) | 0 | 2 | — |
    | 5 | job input tokens, log1p / log1p(16384) | 0 | 2 | — |
    | 6 | time the job has waited | 0 | 2 | squashed s |
    | 7 | deadline slack (2 without deadline) | 0 | 2 | squashed s |
    | 8 … 7+n_models | model one-hot | 0 | 1 | — |
    | 8+n_models+14i+j | candidate i, feature j (below) | 0 | 2 | see below |

    Candidate features ``j``: 0 valid, 1 uplink wait, 2 uplink duration, 3 uplink backlog,
    4 compute wait, 5 compute duration, 6 downlink wait, 7 downlink duration, 8 downlink
    backlog, 9 estimated turnaround (all squashed seconds), 10 power allows compute now (0/1),
    11 buffer commitment (jobs dispatched to the satellite and not finished / buffer size)
    (fraction; 1 or more means a full buffer, which ECT avoids), 12 estimated delivery minus
    the earliest over the valid candidates (squashed s; 0 for the ECT choice), 13 compute
    the jobs still in uplink to the satellite will take ahead of this one (their count times
    this job's estimated compute time, squashed s: the estimates' compute wait counts only
    jobs already on board). Invalid candidates are all zeros.

    Estimates use the expected output length (the true one is hidden until completion).

    ## Rewards
    Pluggable (``reward=``, ``envs.reward``). The default, ``TimeInSystem("h")`` (Decima's
    form), is ``-(job-seconds accrued since the previous decision + drop_penalty_s × drops) /
    3600``: rewards in hours (``reward="time_in_system_s"`` for seconds). Undiscounted, the
    episode return is minus the sum over jobs of time in system plus penalties, in that unit:
    the total turnaround of completed jobs plus the time dropped jobs spent before their drop.
    What accrues before the first decision (jobs dropped because no satellite can deliver
    them, before any action) is not in any step's reward: ``reset()`` reports it as
    ``info["reset_reward"]``, so the return is ``reset_reward`` plus the step rewards.
    The job table's ``cost_s`` column (``envs.sim.job_table``) gives the same cost per job,
    in seconds.

    ## Starting State
    Jobs are drawn for the episode from ``reset(seed=...)`` (arrivals, origins, models,
    token lengths); with scenario ``faults``, random outages and failures are drawn from a
    separate stream of the same seed (``envs.sim.faults``). The simulator runs to the first
    arrival. ``reset(options={"load": x})`` draws that episode's arrivals at load ``x``
    instead of the scenario's (one environment and one world serve a sweep over loads).

    ## Episode End
    Termination: every job has arrived and been completed or dropped (the last step's reward
    includes everything that happens after the last decision). Truncation: the
    ``episode.max_decisions`` limit is reached; jobs in flight stay unresolved.
    Calling ``step()`` after either raises ``RuntimeError``. When every job is resolved
    before the first decision (all dropped, e.g. every station in outage), ``reset()``
    returns an all-zero mask and the next ``step()`` (any action) only terminates, with
    reward 0: the episode's cost is ``info["reset_reward"]`` of the reset.

    Heuristic agents read ``env.unwrapped.view`` (``envs.sim.SimView``, a documented
    read-only view of the simulator) and ``env.unwrapped.candidates``.

    ## Information
    Every step: ``jobs_arrived``, ``jobs_completed``, ``jobs_dropped``, ``jobs_in_flight``,
    ``time_s``, ``invalid_action``. After ``reset()`` also ``reset_reward`` (the reward
    accrued before the first decision, ≤ 0; part of the return). On the last step also
    ``mean_turnaround_s``, ``p50/p95/p99_turnaround_s``, ``dropped_<reason>``,
    ``jobs_redispatched`` and ``satellites_failed`` (``metrics()`` returns them any time),
    and ``cost_s``: the episode's total cost in seconds (the job table's ``cost_s``; jobs still
    in flight at a truncation count their time so far), whatever the reward.

    ## Arguments
    | Argument | Default | Meaning |
    |---|---|---|
    | ``scenario`` | ``"star_compute_12"`` | preset, YAML path, ``generated:SEED`` or ``Scenario`` |
    | ``render_mode`` | ``None`` | ``"ansi"`` text, ``"rgb_array"`` frame, ``"human"`` window |
    | ``invalid_action`` | ``"fallback"`` | ``"fallback"`` or ``"raise"`` for masked actions |
    | ``cache_dir`` | default cache | contact-plan cache folder (``None`` disables) |
    | ``check_invariants`` | ``False`` | verify job conservation at every event |
    | ``world`` | ``None`` | a prebuilt ``World`` for this scenario (shares the contact plan) |
    | ``reward`` | ``"time_in_system"`` | an ``envs.reward.Reward`` or its name (see Rewards) |
    | ``observation`` | ``"dict"`` | ``"dict"`` (the parts) or ``"flat"`` (one ``Box``) |
    | ``**overrides`` | | scenario overrides, e.g. ``load=2.0``, ``candidates=4`` |

    ## Version History
    * v1: the observation is a ``Dict`` of its parts by default (``observation="dict"``).
    * v0: initial version, a flat ``Box`` observation (still registered, as
      ``observation="flat"``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "rgb_array", "human"],
        "render_fps": 4,
    }

    def __init__(
        self,
        scenario: str | os.PathLike[str] | Scenario = "star_compute_12",
        *,
        render_mode: str | None = None,
        invalid_action: str = "fallback",
        cache_dir: str | os.PathLike[str] | None = "default",
        check_invariants: bool = False,
        world: World | None = None,
        reward: Reward | str = "time_in_system",
        observation: str = "dict",
        **overrides: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = ", ".join(repr(m) for m in self.metadata["render_modes"])
            raise ConfigError(f"render_mode: expected None or one of {modes}, got {render_mode!r}")
        if invalid_action not in ("fallback", "raise"):
            raise ConfigError(
                f"invalid_action: expected 'fallback' or 'raise', got {invalid_action!r}"
            )
        if observation not in OBSERVATIONS:
            raise ConfigError(f"observation: expected 'flat' or 'dict', got {observation!r}")
        if isinstance(scenario, Scenario):
            if overrides:
                raise ConfigError("overrides: pass a preset name or path to apply overrides")
            self.scenario = scenario
        else:
            self.scenario = load_scenario(scenario, overrides or None)
        cache = default_cache_dir() if cache_dir == "default" else cache_dir
        if world is not None:
            _check_world(world, self.scenario)
        self.world = world if world is not None else build_world(self.scenario, cache_dir=cache)
        self.render_mode = render_mode
        self.invalid_action = invalid_action
        #: The reward object (``envs.reward``): called at ``reset()`` and every ``step()``.
        self.reward_fn = make_reward(reward)
        self.check_invariants = check_invariants
        sc = self.scenario
        self.k = sc.dispatch.candidates
        self.n_models = len(sc.models)
        self.n_global = len(GLOBAL_FEATURES) + self.n_models
        self.n_features = len(CANDIDATE_FEATURES)
        size = self.n_global + self.k * self.n_features
        self.action_space = spaces.Discrete(self.k + (1 if sc.dispatch.allow_defer else 0))
        self._n_actions = int(self.action_space.n)
        #: ``"flat"`` or ``"dict"`` (see the Observation Space section).
        self.observation = observation
        #: The flat form's ``Box`` (the ``observation_space`` with ``observation="flat"``).
        self.flat_observation_space = spaces.Box(0.0, 2.0, shape=(size,), dtype=np.float32)
        self.observation_space = (
            self.flat_observation_space if observation == "flat" else self._dict_space()
        )
        self._expected_out = _expected_output_tokens(sc)
        self._capacity = float(self.world.total_buffer_jobs)
        self._day_fraction = _day_fraction(sc)
        self._buffer_of_sat = self.world.sat_buffer_jobs
        # Satellites that can host on-board (Earth-observation) jobs: they serve a model the
        # workload uses.
        used = [sc.model_index(m) for m, w in sc.workload.models if w > 0] or [0]
        serving = self.world.serves[:, used].any(axis=1)
        self._onboard_sats = [i for i, c in enumerate(self.world.sat_class_list) if serving[c]]
        self.sim: Sim | None = None
        self.view: SimView | None = None
        self._cands: list[int] = []
        self._mask = np.zeros(self._n_actions, dtype=bool)
        self._any_valid = False
        self._decisions = 0
        self._over = True
        self._fault_seeds: np.random.SeedSequence | None = None
        self._decision_estimates: list[Estimate] | None = []
        # The compiled observation (``envs.sim.compiled``): whether it runs this episode, its
        # candidate and estimate buffers, and views of the running simulator's arrays.
        self._compiled = False
        self._cand_array = np.zeros(self.k, dtype=np.int64)
        self._estimate_array = np.zeros((self.k, 7))
        self._sim_views: tuple[np.ndarray, ...] | None = None
        self._obs_size = size
        self._blank_obs = np.zeros(size, dtype=np.float32)
        #: Build observation vectors (``False`` on planning forks, which heuristics drive:
        #: observations are then all zeros, the mask and candidates stay exact).
        self.observe_features = True
        #: Apply ``episode.max_decisions`` (``False`` on planning forks, which must reach the
        #: end of their branch to price it).
        self.truncate = True
        #: ``(job, candidates, action)`` of the last step (the action after any fallback).
        self.last_decision: tuple[int, list[int], int] | None = None
        self._renderer = None  # envs.render.EpisodeRenderer, made by the first render()
        #: ``(future_seed, scenario, jobs)`` of the last sampled future: a planner forks once
        #: per candidate with the same seed, and the draw depends on nothing else.
        self._future_memo: tuple[int, Scenario, JobBatch] | None = None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Draw a new episode's jobs and run to the first decision.

        ``options`` may hold ``load``: the arrival-rate multiplier of this episode only (the
        scenario's ``workload.load`` otherwise), so one environment, and one world, serves a
        sweep over loads. Any other key is an error.
        """
        super().reset(seed=seed)
        sc = self._episode_scenario(options)
        jobs = self._draw_jobs(sc, self.np_random)
        self.sim = Sim(self._episode_world(seed), jobs, check=self.check_invariants, scenario=sc)
        self.view = SimView(self.sim, self._expected_out)
        self._compiled = compiled.applies(self.sim.world, self.sim)
        if self._compiled:
            self._compiled_consts = np.array([
                self._day_fraction, self.scenario.episode.duration_s, self._capacity,
                self.sim.world.plan.max_pass_duration_s, _INV_LOG_DAY, _LOG_DAY, PENDING_SCALE,
                _LOG_TOKENS,
            ])  # fmt: skip
        self._decisions = 0
        self._over = False
        self.last_decision = None
        obs = self._emit(self._next_decision())
        # Cost accrued before the first decision (e.g. jobs dropped because no satellite can
        # serve them): no action can change it, so it is reported here, not in a step reward.
        job_seconds, drops = self.sim.take_accrued()
        info = self._info(invalid=False)
        info["reset_reward"] = float(
            self.reward_fn.reset(
                self, job_seconds, drops, drop_penalty_s=sc.reward.drop_penalty_s
            )
        )
        return obs, info

    def step(self, action):
        """Dispatch (or defer) the head job, then run the simulator to the next decision."""
        if self.sim is None or self._over:
            raise RuntimeError("step() called after the episode ended; call reset() first")
        n_actions = self._n_actions
        if not (  # plain ints skip Discrete.contains, the step's costliest check
            0 <= action < n_actions
            if type(action) is int
            else self.action_space.contains(action)
        ):
            raise ValueError(
                f"action: must be an integer in [0, {self.action_space.n - 1}], got {action!r}"
            )
        action = int(action)
        sim = self.sim
        invalid = False
        if sim.head() >= 0:
            if not self._mask[action]:
                if self.invalid_action == "raise":
                    raise ValueError(
                        f"action: {action} is masked (valid: {np.flatnonzero(self._mask).tolist()})"
                    )
                invalid = True
                action = int(np.flatnonzero(self._mask)[0])
            self.last_decision = (sim.head(), self._cands, action)
            if action < self.k:
                sim.dispatch(self._cands[action])
            else:
                sim.defer()
            self._decisions += 1
        obs = self._emit(self._next_decision())
        job_seconds, drops = sim.take_accrued()
        reward = self.reward_fn.step(
            self, job_seconds, drops, drop_penalty_s=self.scenario.reward.drop_penalty_s
        )
        terminated = sim.done
        limit = self.scenario.episode.max_decisions
        truncated = (
            not terminated and limit is not None and self._decisions >= limit and self.truncate
        )
        self._over = terminated or truncated
        info = self._info(invalid=invalid)
        if self._over:
            info.update(self.metrics())
            # The episode's objective in seconds, whatever the reward (for learning curves).
            info["cost_s"] = float(
                job_table(sim)["cost_s"].sum()
            )
        return obs, float(reward), terminated, truncated, info

    def _draw_jobs(self, sc: Scenario, rng: np.random.Generator) -> JobBatch:
        """One draw of the episode's jobs under ``sc``, origins indexed into the world."""
        networks = self._uplink_networks()
        stations = [s for s in self.world.stations if s.network in networks]
        jobs = generate_jobs(
            sc.workload,
            station_names=[s.name for s in stations],
            station_lon_deg=[s.lon_deg for s in stations],
            model_names=[m.name for m in sc.models],
            epoch=sc.episode.epoch,
            duration_s=sc.episode.duration_s,
            rng=rng,
            onboard_satellites=self._onboard_sats,
        )
        return _map_origins(jobs, self.world, networks)

    def _future_jobs(self, seed: int) -> JobBatch:
        """The episode's jobs drawn with ``seed`` (a sampled future), kept for the next fork."""
        sc, memo = self.sim.scenario, self._future_memo
        if memo is None or memo[0] != seed or memo[1] is not sc:
            memo = self._future_memo = (seed, sc, self._draw_jobs(sc, np.random.default_rng(seed)))
        return memo[2]

    def fork(self, future_seed: int | None = None) -> ConstellationDispatchEnv:
        """An independent copy of the running episode, for planning and rollout labelling.

        Under the same actions the fork and the original produce the same observations,
        rewards, infos and job tables bit for bit: the future arrivals and the fault plan are
        part of the episode's state, and the random generators are copied. The world's static
        data (contact plan, windows) is shared; only the simulator's mutable state is copied
        (``envs.sim.Sim.fork``), so a fork costs far less than ``copy.deepcopy(env)``.
        Stepping one never affects the other. Call it on ``env.unwrapped``.

        ``future_seed`` (an int) gives the fork *another* future: the jobs that have not
        arrived are replaced by the arrivals after the current time of a new draw of the
        episode's arrival process, seeded by ``future_seed`` (``Sim.replace_future``). Such a
        fork prices a decision against a future the dispatcher could have expected, without
        knowing the real one; the same seed gives the same future, so candidates compared on
        forks of one seed share their arrivals. Poisson and diurnal futures are exact draws
        of the process (its increments are independent of the past); a trace replay draws
        another start row, so the future is a plausible stretch of the trace, not the one
        that follows, and with ``trace_start: first`` it is the real future.

        >>> env = ConstellationDispatchEnv("toy", cache_dir=None)
        >>> _ = env.reset(seed=0)
        >>> twin = env.fork()
        >>> env.step(0)[1] == twin.step(0)[1]
        True
        """
        if self.sim is None:
            raise RuntimeError("fork() called before reset()")
        new = copy.copy(self)
        new.sim = self.sim.fork()
        if future_seed is not None:
            integer = isinstance(future_seed, (int, np.integer))
            if not integer or isinstance(future_seed, bool) or future_seed < 0:
                raise ValueError(f"future_seed: must be an integer >= 0, got {future_seed!r}")
            new.sim.replace_future(self._future_jobs(int(future_seed)))
        new.view = SimView(new.sim, self._expected_out)
        new._cands = list(self._cands)
        new._mask = self._mask.copy()
        new._cand_array = self._cand_array.copy()
        new._estimate_array = self._estimate_array.copy()
        new._sim_views = None
        new._np_random = copy.deepcopy(self._np_random)
        new._fault_seeds = copy.deepcopy(self._fault_seeds)
        new.reward_fn = copy.deepcopy(self.reward_fn)  # a stateful reward goes on separately
        new._renderer = None  # a fork draws its own frames
        return new

    @property
    def candidates(self) -> list[int]:
        """Satellite behind each candidate action of the current decision (padding excluded)."""
        return list(self._cands)

    def action_masks(self) -> np.ndarray:
        """Valid actions for the current decision (sb3-contrib ``MaskablePPO`` convention)."""
        return self._mask.copy()

    def metrics(self) -> dict[str, Any]:
        """Episode metrics so far (see ``envs.sim.metrics``)."""
        if self.sim is None:
            raise RuntimeError("metrics() called before reset()")
        return metrics(self.sim)

    def render(self) -> str | np.ndarray | None:
        """The episode so far in the ``render_mode`` (``None`` without one or before reset).

        ``"ansi"``: a one-line text summary. ``"rgb_array"``: an ``H × W × 3`` ``uint8`` frame
        (``envs.render.EpisodeRenderer``). ``"human"``: the same frame in a window.
        """
        if self.render_mode is None or self.sim is None:
            return None
        if self.render_mode != "ansi":
            if self._renderer is None:
                from envs.render import EpisodeRenderer

                self._renderer = EpisodeRenderer()
            frame = self._renderer.frame(self)
            if self.render_mode == "human":
                self._renderer.show(frame, self.metadata["render_fps"])
                return None
            return frame
        m = self.metrics()
        return (
            f"t={self.sim.now / HOUR_S:.2f} h  arrived={m['jobs_arrived']} "
            f"completed={m['jobs_completed']} dropped={m['jobs_dropped']} "
            f"in_flight={m['jobs_in_flight']} mean_turnaround={m['mean_turnaround_s']:.1f} s"
        )

    def close(self) -> None:
        """Close the ``render_mode="human"`` window, if one is open."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------------ internals
    def _dict_space(self) -> spaces.Dict:
        """The ``Dict`` observation space (``observation="dict"``)."""
        n_sys = len(SYSTEM_FEATURES)
        n_job = self.n_global - n_sys
        return spaces.Dict(
            {
                "global": spaces.Box(0.0, 2.0, shape=(n_sys,), dtype=np.float32),
                "job": spaces.Box(0.0, 2.0, shape=(n_job,), dtype=np.float32),
                "candidates": spaces.Box(
                    0.0, 2.0, shape=(self.k, self.n_features), dtype=np.float32
                ),
                "action_mask": spaces.MultiBinary(self._n_actions),
            }
        )

    def _emit(self, flat: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
        """The observation in the env's form, from the flat vector of the decision."""
        if self.observation == "flat":
            return flat
        if flat is self._blank_obs:  # shared between decisions; the parts must not be
            flat = flat.copy()
        n_sys = len(SYSTEM_FEATURES)
        return {
            "global": flat[:n_sys],
            "job": flat[n_sys : self.n_global],
            "candidates": flat[self.n_global :].reshape(self.k, self.n_features),
            "action_mask": self._mask.astype(np.int8),
        }

    def _episode_world(self, seed: int | None) -> World:
        """The shared world, or this episode's ``FaultedWorld`` when the scenario has faults.

        Random faults come from their own stream: children of ``SeedSequence(seed)`` spawned
        one per episode (the arrivals use the root stream), so turning faults on leaves a
        seed's arrivals unchanged and a seeded sequence of resets repeats its faults.
        """
        faults = self.scenario.faults
        if not faults.enabled:
            return self.world
        if seed is not None or self._fault_seeds is None:
            root = self.np_random_seed  # the entropy Gymnasium drew when ``seed`` is None
            self._fault_seeds = np.random.SeedSequence(root if root >= 0 else None)
        rng = np.random.default_rng(self._fault_seeds.spawn(1)[0])
        return FaultedWorld(self.world, sample_fault_plan(faults, self.world, rng))

    def _episode_scenario(self, options: dict[str, Any] | None) -> Scenario:
        """The scenario of the episode ``reset(options=...)`` starts (see ``reset``)."""
        if not options:
            return self.scenario
        unknown = sorted(set(options) - _RESET_OPTIONS)
        if unknown:
            known = ", ".join(sorted(_RESET_OPTIONS))
            raise ConfigError(f"options: unknown key {unknown[0]!r} (known: {known})")
        load = options.get("load")
        if load is None:
            return self.scenario
        real = (int, float, np.integer, np.floating)
        number = isinstance(load, real) and not isinstance(load, bool)
        if not (number and math.isfinite(load) and load > 0):
            raise ConfigError(f"options.load: must be a number > 0, got {load!r}")
        sc = self.scenario
        return dataclasses.replace(sc, workload=dataclasses.replace(sc.workload, load=float(load)))

    def _uplink_networks(self) -> set[str]:
        nets = self.scenario.ground.uplink_networks
        return set(self.world.networks) if nets is None else set(nets)

    def _info(self, *, invalid: bool) -> dict[str, Any]:
        s = self.sim
        return {
            "jobs_arrived": s.arrived,
            "jobs_completed": s.completed,
            "jobs_dropped": s.dropped,
            "jobs_in_flight": s.in_flight,
            "time_s": s.now,
            "invalid_action": invalid,
        }

    def _next_decision(self) -> np.ndarray:
        """Advance to a decision that has at least one valid action; build its observation."""
        sim = self.sim
        while True:
            sim.advance()
            job = sim.head()
            if job < 0:
                self._cands = []
                self._mask[:] = False
                return np.zeros(self._obs_size, dtype=np.float32)
            obs = self._observe(job)
            if self._any_valid:
                return obs
            # No satellite can deliver the job within the horizon; waiting cannot help (queues
            # only grow and windows only pass), so it is dropped instead of asking the agent.
            sim.reject(sim.unserved_reason(job))

    def _observe(self, job: int) -> np.ndarray:
        if self._compiled and self.observe_features and self.sim.origin[job] >= 0:
            return self._observe_compiled(job)
        view = self.view
        cands = view.candidates(job, self.k)
        self._cands = cands
        estimates = view.estimates(job, cands)
        self._decision_estimates = estimates
        valid = [i for i, e in enumerate(estimates) if e.delivered < INF]
        if not self.observe_features:  # planning branches: the mask only, heuristics decide
            return self._masked_blank(valid)
        self._set_mask(valid)
        out = np.zeros(self._obs_size, dtype=np.float32)
        self._global_features(out, job)
        if valid:
            rows = out[self.n_global :].reshape(self.k, self.n_features)
            feats = self._candidate_rows(job, [estimates[i] for i in valid])
            rows[valid] = np.array(feats, dtype=np.float32).reshape(len(valid), self.n_features)
        return out

    def _observe_compiled(self, job: int) -> np.ndarray:
        """``_observe`` by ``envs.sim.compiled``: the same floats, estimates made on demand."""
        sim, view = self.sim, self.view
        views = self._sim_views
        if views is None or views[1].base is None or views[1].base.obj is not sim.busy_down:
            views = self._sim_views = compiled.sim_arrays(sim)  # a new episode, fork or copy
        out = np.zeros(self._obs_size, dtype=np.float32)
        job_data = (sim.now, sim.origin[job], sim.in_bytes[job], sim.in_tokens[job],
                    sim.model[job], view.expected_output_tokens, view.expected_output_bytes,
                    sim.arrival[job], sim.deadline[job], len(sim.pending),
                    sim.arrived - sim.completed - sim.dropped)  # fmt: skip
        n, valid = compiled.observe(
            compiled.WindowPool.of(sim.world), views, job_data, self.k, self._compiled_consts,
            self._cand_array, self._estimate_array, out, self._mask,
        )  # fmt: skip
        self._cands = self._cand_array[:n].tolist()
        self._decision_estimates = None
        self._any_valid = valid > 0
        if valid and self.scenario.dispatch.allow_defer:
            self._mask[self.k] = sim.now + self.scenario.dispatch.defer_s <= sim.horizon_s
        return out

    def _global_features(self, out: np.ndarray, job: int) -> None:
        """Write the global and job features and the model one-hot into ``out[:n_global]``."""
        sim, sc = self.sim, self.scenario
        now = sim.now
        hour = 2.0 * math.pi * ((now / DAY_S + self._day_fraction) % 1.0)
        deadline = sim.deadline[job]
        out[: len(GLOBAL_FEATURES)] = (
            0.5 + 0.5 * math.sin(hour),
            0.5 + 0.5 * math.cos(hour),
            min(now / sc.episode.duration_s, 2.0),
            min(len(sim.pending) / PENDING_SCALE, 2.0),
            min(sim.in_flight / self._capacity, 2.0),
            min(math.log1p(sim.in_tokens[job]) / _LOG_TOKENS, 2.0),
            _t(now - sim.arrival[job]),
            2.0 if deadline == INF else _t(deadline - now),
        )
        out[len(GLOBAL_FEATURES) + sim.model[job]] = 1.0

    def _candidate_rows(self, job: int, estimates: list[Estimate]) -> list[float]:
        """Feature rows (``CANDIDATE_FEATURES``) of the valid candidates, concatenated.

        Scalar Python on purpose: for the handful of candidates of a decision it is faster
        than numpy's per-call overhead, and it fixes the float operations (and so the
        observation, bit for bit) independently of numpy's SIMD kernels.
        """
        sim = self.sim
        now = sim.now
        arrival = sim.arrival[job]
        link, busy_up, busy_down = sim.uplink_link, sim.busy_up, sim.busy_down
        committed, onboard, buffers = sim.committed, sim.onboard, self._buffer_of_sat
        can_compute = self.view.can_compute_now
        log1p, inv, log_day = math.log1p, _INV_LOG_DAY, _LOG_DAY
        best = min(e.delivered for e in estimates)
        values: list[float] = []
        append, extend = values.append, values.extend
        for sat, up_s, up_e, c_s, c_e, d_s, delivered in estimates:
            service = c_e - c_s
            append(1.0)
            extend([
                0.0 if x <= 0.0 else (y if (y := log1p(x) * inv) < 2.0 else 2.0)
                for x in (
                    up_s - now,
                    up_e - up_s,
                    busy_up.get(link(job, sat), 0.0) - now,
                    c_s - up_e,
                    service,
                    d_s - c_e,
                    delivered - d_s,
                    busy_down[sat] - now,
                    delivered - arrival,
                )
            ])
            fill = committed[sat] / buffers[sat]
            # squash_s inlined (every value here is finite): the gap to the best delivery and
            # the compute of the jobs still in uplink ahead.
            gap = delivered - best
            queued = (committed[sat] - onboard[sat]) * service
            extend((
                1.0 if can_compute(sat) else 0.0,
                fill if fill < 2.0 else 2.0,
                0.0 if gap <= 0.0 else (y if (y := log1p(gap) / log_day) < 2.0 else 2.0),
                0.0 if queued <= 0.0 else (y if (y := log1p(queued) / log_day) < 2.0 else 2.0),
            ))  # fmt: skip
        return values

    def _set_mask(self, valid: list[int]) -> None:
        """The action mask: the valid candidates, and deferral if it returns in the horizon."""
        mask = self._mask
        mask[:] = False
        self._any_valid = bool(valid)
        if valid:
            mask[valid] = True
            if self.scenario.dispatch.allow_defer:
                mask[self.k] = self.sim.now + self.scenario.dispatch.defer_s <= self.sim.horizon_s

    def _masked_blank(self, valid: list[int]) -> np.ndarray:
        self._set_mask(valid)
        return self._blank_obs

    @property
    def compiled_observation(self) -> bool:
        """Whether this episode's observations come from ``envs.sim.compiled`` (numba).

        True with numba installed, outside faults, inter-satellite links and backhaul; the
        observations are the same bit for bit either way, only faster.
        """
        return self._compiled

    @property
    def decision_estimates(self) -> list[Estimate]:
        """``SimView.estimates`` of the current decision, one per candidate (computed once).

        The observation is built from them, and heuristics read them instead of asking the
        view again. Empty when no decision is pending.
        """
        if not self._cands:
            return []
        if self._decision_estimates is None:  # the compiled observation fills an array
            rows = self._estimate_array[: len(self._cands)].tolist()
            self._decision_estimates = [Estimate(int(r[0]), *r[1:]) for r in rows]
        return self._decision_estimates


def _day_fraction(sc: Scenario) -> float:
    e = sc.episode.epoch
    return (e.hour * HOUR_S + e.minute * 60 + e.second) / DAY_S


#: Keys ``reset(options=...)`` accepts.
_RESET_OPTIONS = frozenset({"load"})

#: What ``envs.sim.world_key`` holds, in order, but the horizon (checked on its own).
_STATIC_NAMES = ("constellation", "classes", "models", "ground", "episode.epoch",
                 "episode.contact_step_s", "isl")  # fmt: skip


def _check_world(world: World, scenario: Scenario) -> None:
    """A prebuilt world must come from the same static scenario as the environment's.

    A shorter arrival window than the world was built for is allowed (the episode then runs
    to the world's horizon); one that ends after the world's horizon is not.
    """
    mine, theirs = world_key(scenario)[:-1], world_key(world.scenario)[:-1]
    diff = [n for n, a, b in zip(_STATIC_NAMES, mine, theirs, strict=True) if a != b]
    if diff:
        raise ConfigError(
            f"world: built for scenario {world.scenario.name!r} with different {', '.join(diff)}; "
            "build it from the same scenario and overrides as the environment"
        )
    if scenario.episode.duration_s > world.horizon_s:
        raise ConfigError(
            f"episode.duration_s: {scenario.episode.duration_s:g} s of arrivals, but the world's "
            f"contact plan ends at {world.horizon_s:g} s; build the world from this scenario"
        )


def _expected_output_tokens(sc: Scenario) -> float:
    """Mean output length the dispatcher may assume (the true one is hidden)."""
    tok = sc.workload.tokens
    arrivals = sc.workload.arrivals
    if arrivals.process == "trace" or tok.source == "trace":
        # Read once by the loader; rows above max_tokens are clipped, as the jobs' are.
        trace = arrivals.trace() if arrivals.process == "trace" else tok.trace()
        out = clip_trace_tokens(
            trace.generated_tokens, tok.max_tokens, source=trace.source, column="GeneratedTokens"
        )
        return float(out.mean())
    mean = tok.output_median * math.exp(0.5 * tok.output_sigma**2)
    return float(min(mean, tok.max_tokens))


def _map_origins(jobs, world: World, networks: set[str]):
    """Re-index station origins from the uplink-station list to the world's station indices.

    Negative origins (jobs generated on board) are satellite codes and stay as they are.
    """
    idx = np.array([i for i, s in enumerate(world.stations) if s.network in networks])
    ground = jobs.origin >= 0
    origin = jobs.origin.copy()
    origin[ground] = idx[jobs.origin[ground]]
    return jobs._replace(origin=origin)
