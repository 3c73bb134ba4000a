"""Evaluation harness: agents × loads × paired seeds on one scenario, with summary tables.

Every agent plays the same episodes: for a given ``(load, seed)`` the environment draws its
jobs (arrival times, origins, models, token counts) from the reset seed alone, so all agents
see identical arrivals and differences in turnaround come from dispatching only (paired
seeds). Heuristics get their own generator seed derived from the episode seed
(:func:`agent_seed`), so ``random`` is reproducible too.

Summary statistics per (agent, load) pool the completed jobs of all episodes:
``mean_turnaround_s`` is the mean over all completed jobs, ``p50/p95/p99`` are percentiles
of the pooled turnarounds, ``drop_rate = dropped / (completed + dropped)``.
``cost_per_job_s`` is the environment's objective per arrived job (time in system of every
job plus ``drop_penalty_s`` per drop: minus the return, ``reset_reward`` included), the
number that charges a policy for the jobs it drops; it is computed from the job table
(``envs.sim.job_costs_s``), so it is right also when every job is dropped before the first
decision. After each load's agents comes a ``bound`` row (a reference bound): every job's
contention-free earliest delivery (``envs.sim.bounds``), which no policy beats; a job it
cannot deliver within the horizon or by its deadline counts as dropped, and its cost is
``contention_free_cost_s`` (a lower bound of every policy's cost).
``mean_ci_low_s``/``mean_ci_high_s`` are a 95 % BCa bootstrap over *episodes*
(``scipy.stats.bootstrap`` through :mod:`agents.bootstrap`): :data:`BOOTSTRAP_RESAMPLES`
resamples of the episodes with replacement, statistic = pooled mean turnaround of the
resample (total turnaround / completed jobs). The generator seed (:data:`BOOTSTRAP_SEED`) is
fixed and the same for every row, so agents are resampled in pairs and results repeat
exactly. ``ci_method`` says how the interval was obtained (``BCa``; ``percentile`` where BCa
is undefined; ``point`` where every resample agrees, e.g. one episode: the interval is the
mean). ``few_seeds`` is true below :data:`agents.bootstrap.MIN_SEEDS` episodes, where an
interval means little.

>>> res = evaluate("toy", ["random", "ect"], loads=[1.0], episodes=2, seed=0, progress=False)
>>> [(r["agent"], r["episodes"]) for r in res.summary]
[('random', 2), ('ect', 2), ('bound', 2)]
>>> len(paired_differences(res, "ect", "random"))
2
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from agents.bootstrap import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    MIN_SEEDS,
    Interval,
    episode_interval,
    episode_weights,
)
from agents.heuristics import HEURISTICS
from agents.lifeline import run_in_workers
from agents.planning import ROLLOUT_PREFIX, make_agent, parse_rollout_name
from agents.scoring import PRETRAINED, ScoringAgent, load_scoring_model
from agents.shipped import shipped_model_path
from envs.atomic import atomic_write, staged_folder
from envs.contact_plan import default_cache_dir
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError, first_line
from envs.limits import check_count
from envs.scenario import load_scenario
from envs.sim import World, build_world, job_costs_s, job_table
from envs.sim.bounds import contention_free_cost_s, contention_free_delivery_s

__all__ = [
    "BACKENDS",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "BOUND_LABEL",
    "COMPARISON_COLUMNS",
    "EVALUATION_FILES",
    "MODEL_KINDS",
    "SUMMARY_COLUMNS",
    "AgentSpec",
    "EpisodeResult",
    "EvaluationResult",
    "PairedDifference",
    "agent_seed",
    "bootstrap_ci",
    "compare_with",
    "evaluate",
    "load_model",
    "paired_differences",
    "parse_agents",
    "pooled_mean_interval",
    "print_comparison",
    "print_table",
    "print_wide",
    "run_episode",
    "short_label",
    "summarize",
    "write_results",
]

#: Learned-policy prefixes: ``kind:PATH`` → (module, class) whose ``.load`` reads the zip.
MODEL_KINDS = {
    "maskable_ppo": ("sb3_contrib", "MaskablePPO"),
    "ppo": ("stable_baselines3", "PPO"),
    "dqn": ("stable_baselines3", "DQN"),
    "a2c": ("stable_baselines3", "A2C"),
}
SUMMARY_COLUMNS = (
    "agent", "scenario", "load", "episodes", "mean_turnaround_s", "p50_turnaround_s",
    "p95_turnaround_s", "p99_turnaround_s", "completed", "dropped", "drop_rate",
    "mean_ci_low_s", "mean_ci_high_s", "in_flight", "cost_per_job_s", "reference_bound",
    "ci_method", "few_seeds",
)  # fmt: skip
#: Files that mark an evaluation output folder (``write_results`` may replace it).
EVALUATION_FILES = ("summary.csv", "summary.json", "jobs.csv")
#: Label of the contention-free lower bound rows (``envs.sim.bounds``) in the summary.
BOUND_LABEL = "bound"
BACKENDS = ("process", "ray")


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent named on the command line: a heuristic, or ``kind:PATH`` for a saved model.

    >>> AgentSpec.parse("ect")
    AgentSpec(kind='ect', path=None)
    >>> AgentSpec.parse("maskable_ppo:runs/model.zip").label
    'maskable_ppo:runs/model.zip'
    """

    kind: str
    path: str | None = None

    @classmethod
    def parse(cls, text: str | AgentSpec) -> AgentSpec:
        """Parse ``"ect"`` or ``"maskable_ppo:PATH"``; ``ConfigError`` naming unknown agents."""
        if isinstance(text, AgentSpec):
            return text
        if not isinstance(text, str):
            raise ConfigError(f"agent: expected a name, got {text!r}")
        kind, sep, path = text.strip().partition(":")
        if sep and kind in MODEL_KINDS and path.strip():
            return cls(kind, path.strip())
        if not sep and kind in HEURISTICS:
            return cls(kind)
        if not sep and kind == "pretrained":
            return cls(kind)
        if sep and kind == "scoring" and path.strip():
            return cls(kind, path.strip())
        if sep and kind == ROLLOUT_PREFIX:
            parse_rollout_name(text.strip())  # one-line error naming the bad part
            return cls(text.strip())
        known = ", ".join(
            [*HEURISTICS, f"{ROLLOUT_PREFIX}:BASE[:H]", "pretrained", "scoring:PATH",
             *(f"{k}:PATH" for k in MODEL_KINDS)]
        )
        raise ConfigError(f"agent: unknown agent {text!r} (known: {known})")

    @property
    def label(self) -> str:
        """The name used in tables and files (the text it was parsed from)."""
        return self.kind if self.path is None else f"{self.kind}:{self.path}"

    @property
    def reference_bound(self) -> bool:
        """True for agents that use information a real dispatcher lacks (``oracle``)."""
        cls = HEURISTICS.get(self.kind) if self.path is None else None
        return cls is not None and cls.reference_bound


def parse_agents(agents: Iterable[str | AgentSpec] | str) -> list[AgentSpec]:
    """Parse a list (or a comma-separated string) of agents; rejects unknown and repeated ones."""
    items = agents.split(",") if isinstance(agents, str) else list(agents)
    specs = [AgentSpec.parse(a) for a in items if not (isinstance(a, str) and not a.strip())]
    if not specs:
        raise ConfigError("agents: give at least one agent")
    twice = [s.label for i, s in enumerate(specs) if s in specs[:i]]
    if twice:
        raise ConfigError(f"agents: {twice[0]!r} is listed twice")
    return specs


def agent_seed(episode_seed: int) -> int:
    """Seed of a heuristic's own generator for an episode (independent of the env's stream)."""
    return int(np.random.SeedSequence([episode_seed, 0xA6E]).generate_state(1)[0])


def load_model(spec: AgentSpec, env: ConstellationDispatchEnv) -> Any:
    """Load a saved model on the CPU; ``ConfigError`` naming the file if it is missing or bad.

    A path that is not a file but names a shipped pretrained policy (``star_compute_12_outcome``
    or ``agents/pretrained/star_compute_12_outcome.zip``, see ``agents.shipped``) loads that
    policy, so the documented commands also work from an installed wheel.
    """
    path = Path(spec.path).expanduser()
    if not path.is_file():
        path = shipped_model_path(spec.path) or path
    if not path.is_file():
        raise ConfigError(f"{spec.kind}: model file not found: {path}")
    module, name = MODEL_KINDS[spec.kind]
    cls = getattr(__import__(module, fromlist=[name]), name)
    import torch

    # One decision is one tiny forward pass: intra-op threads only add synchronisation, and
    # on a busy machine they spin against the simulator (tens of ms a decision, not 0.2 ms).
    torch.set_num_threads(1)
    try:
        model = cls.load(path, device="cpu")
    except Exception as exc:  # corrupt zip, wrong class, pickle errors: all one line
        raise ConfigError(
            f"{spec.kind}: cannot load model file {path}: {first_line(exc)}"
        ) from None
    want, got = env.observation_space.shape, getattr(model.observation_space, "shape", None)
    from agents.normalize import with_saved_normalization
    from agents.policy import CandidateScoringPolicy, adapt_to_env

    if isinstance(getattr(model, "policy", None), CandidateScoringPolicy) and got != want:
        # The candidate-scoring policy is size-independent: it runs at any K.
        try:
            return with_saved_normalization(adapt_to_env(model, env), path)
        except ValueError as exc:
            raise ConfigError(f"{spec.kind}: model file {path}: {exc}") from None
    if got != want or getattr(model.action_space, "n", None) != env.action_space.n:
        raise ConfigError(
            f"{spec.kind}: model file {path} was trained for observations {got} and "
            f"{model.action_space}, the scenario has {want} and {env.action_space}"
        )
    return with_saved_normalization(model, path)  # VecNormalize statistics saved beside it


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """One episode: who played, where, the env's metrics and the ``job_table`` rows.

    ``invalid_actions`` counts masked actions the env replaced by its fallback (only policies
    that ignore the mask, e.g. plain ``ppo``, produce them).
    """

    agent: str
    scenario: str
    load: float
    seed: int
    metrics: dict[str, Any]
    jobs: dict[str, np.ndarray]
    decisions: int
    truncated: bool
    invalid_actions: int

    @property
    def turnarounds_s(self) -> np.ndarray:
        """Turnarounds of the completed jobs."""
        return self.jobs["turnaround_s"][self.jobs["status"] == "completed"]


def run_episode(
    scenario: str | os.PathLike[str],
    agent_spec: str | AgentSpec,
    load: float,
    seed: int,
    *,
    world: World | None = None,
    models: dict[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> EpisodeResult:
    """Play one episode of ``scenario`` at ``load`` with jobs drawn from ``seed``.

    Args:
        scenario: Preset name, YAML path or ``generated:SEED[@SPACE]``.
        agent_spec: ``AgentSpec`` or its text (``"ect"``, ``"maskable_ppo:PATH"``).
        load: Workload multiplier (``workload.load``).
        seed: The reset seed (arrivals); a heuristic's own seed is ``agent_seed(seed)``.
        world: A prebuilt ``World`` of the scenario, shared across episodes.
        models: Cache of loaded models by label (filled on first use).
        overrides: Scenario overrides (dotted paths or shortcuts, as ``load_scenario``),
            applied under ``load``; ``world`` must be built with the same overrides.

    >>> r = run_episode("toy", "ect", 1.0, seed=0)
    >>> r.metrics["jobs_completed"] + r.metrics["jobs_dropped"] == len(r.jobs["job"])
    True
    """
    spec = AgentSpec.parse(agent_spec)
    env = ConstellationDispatchEnv(scenario, world=world, **_with_load(overrides, load))
    if spec.kind in ("pretrained", "scoring"):  # distilled policies (agents.scoring)
        models = {} if models is None else models
        if spec.label not in models:
            models[spec.label] = load_scoring_model(spec.path or PRETRAINED)
        agent = ScoringAgent(models[spec.label], env)
    elif spec.path is None:
        agent = make_agent(spec.kind, env, seed=agent_seed(seed))
    else:
        models = {} if models is None else models
        if spec.label not in models:
            models[spec.label] = load_model(spec, env)
        agent = models[spec.label]
    obs, info = env.reset(seed=seed)
    if spec.path is None or spec.kind == "scoring":
        agent.reset()
    masked = spec.path is None or spec.kind in ("maskable_ppo", "scoring")  # SB3 takes none
    decisions, invalid, terminated, truncated = 0, 0, env.sim.done, False
    total_reward = info["reset_reward"]  # what accrued before the first decision
    while not (terminated or truncated):
        masks = env.action_masks()
        extra = {"action_masks": masks} if masked else {}
        action = agent.predict(obs, deterministic=True, **extra)[0] if masks.any() else 0
        obs, reward, terminated, truncated, info = env.step(int(np.asarray(action).item()))
        decisions, invalid = decisions + 1, invalid + info["invalid_action"]
        total_reward += reward
    jobs = job_table(env.sim)
    jobs["bound_turnaround_s"] = contention_free_delivery_s(env.sim) - jobs["arrival_s"]
    # The environment's objective: time in system of every job plus the drop penalties,
    # from the job table (it equals minus the return, reset_reward included, in seconds).
    penalty = env.scenario.reward.drop_penalty_s
    arrived = jobs["status"] != "future"
    bound_cost = contention_free_cost_s(jobs["bound_turnaround_s"], penalty, arrived)
    metrics = {
        **env.metrics(),
        "cost_s": float(job_costs_s(jobs, env.sim.now, penalty).sum()),
        "bound_cost_s": float(bound_cost.sum()),
        "return": total_reward,
    }
    return EpisodeResult(
        spec.label, env.scenario.name, float(load), int(seed), metrics,
        jobs, decisions, bool(truncated), invalid,
    )  # fmt: skip


def _with_load(overrides: Mapping[str, Any] | None, load: float) -> dict[str, Any]:
    """Scenario overrides plus the load (which only ``load``/``loads`` may set)."""
    overrides = dict(overrides or {})
    for key in ("load", "workload.load"):
        if key in overrides:
            raise ConfigError(f"overrides: {key!r} is set by the load argument, not an override")
    return {**overrides, "load": load}


class _Runner:
    """Worlds (one per scenario and load) and loaded models, shared by a run of episodes."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        self.worlds: dict[tuple[str, float], World] = {}
        self.models: dict[str, Any] = {}
        self.overrides = dict(overrides or {})

    def __call__(self, scenario: str, load: float, item: tuple[int, AgentSpec, int]):
        key = (scenario, load)
        if key not in self.worlds:
            sc = load_scenario(scenario, _with_load(self.overrides, load))
            self.worlds[key] = build_world(sc, cache_dir=default_cache_dir())
        i, spec, seed = item
        world = self.worlds[key]
        return i, run_episode(
            scenario, spec, load, seed, world=world, models=self.models, overrides=self.overrides
        )


def _run_chunk(
    scenario: str,
    load: float,
    items: Sequence[tuple[int, AgentSpec, int]],
    overrides: Mapping[str, Any] | None = None,
) -> list[tuple[int, EpisodeResult]]:
    """Worker task: build the World once for ``(scenario, load)``, play ``items`` in order."""
    runner = _Runner(overrides)
    return [runner(scenario, load, item) for item in items]


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """The configuration, the episodes (ordered by load, seed, agent) and the summary rows."""

    config: dict[str, Any]
    episodes: list[EpisodeResult]
    summary: list[dict[str, Any]]

    def episodes_of(self, agent: str, load: float) -> list[EpisodeResult]:
        """This agent's episodes at this load, in seed order."""
        return [e for e in self.episodes if e.agent == agent and e.load == load]


def _check_loads(loads: Iterable[float]) -> list[float]:
    out = []
    for x in loads:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < math.inf:
            raise ConfigError(f"load: must be a positive finite number, got {x!r}")
        out.append(float(x))
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"load: give one or more distinct loads, got {out}")
    return out


def evaluate(
    scenario: str | os.PathLike[str],
    agents: Iterable[str | AgentSpec] | str,
    loads: Iterable[float] = (1.0,),
    episodes: int = 10,
    seed: int = 0,
    workers: int = 1,
    backend: str = "process",
    progress: bool = True,
    overrides: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Run every agent on ``episodes`` paired seeds (``seed, seed + 1, …``) at every load.

    Args:
        scenario: Preset name, YAML path or ``generated:SEED[@SPACE]``.
        agents: Agent names / specs, or one comma-separated string.
        loads: Workload multipliers.
        episodes: Episodes per (agent, load).
        seed: First episode seed.
        workers: Parallel worker processes (1: run serially in this process). Each load's
            episodes are split into ``workers`` tasks; a task builds the scenario's World
            once (the contact plan comes from the disk cache) and plays its episodes.
            Results do not depend on ``workers``: they are ordered by (load, seed, agent).
        backend: ``"process"`` (a forkserver, else spawn, ``ProcessPoolExecutor``) or
            ``"ray"`` (the same tasks as ``ray.remote`` functions; ``pip install -e .[ray]``).
        progress: Show a progress bar over episodes (on stderr).
        overrides: Scenario overrides for every episode (dotted paths or shortcuts such as
            ``{"networks": ["china", "ksat"]}``, as ``load_scenario``); not the load.

    Returns:
        The episodes and the summary (see the module docstring for the statistics).

    Raises:
        ConfigError: Bad agents, loads, counts, scenario, model files or a missing backend.
    """
    specs = parse_agents(agents)
    loads = _check_loads(loads)
    for name, value, low in (("episodes", episodes, 1), ("workers", workers, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name}: must be an integer >= {low}, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed: must be an integer >= 0, got {seed!r}")
    check_count("episodes", episodes, "episodes", "")  # envs.limits: the bootstrap's memory
    if backend not in BACKENDS:
        raise ConfigError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "ray":
        _import_ray()
    overrides = dict(overrides or {})
    # As given: the loader resolves file paths inside mapping values in place (Path objects).
    given = copy.deepcopy(overrides)
    sc = load_scenario(scenario, _with_load(overrides, loads[0]))
    for load in loads[1:]:
        load_scenario(scenario, _with_load(overrides, load))
    # A name (a preset, generated:SEED) stays a name; a path is made absolute so workers in
    # any folder find it.
    named = isinstance(scenario, str) and not re.search(r"[/\\]|\.ya?ml$", scenario)
    where = scenario if named else str(sc.source)
    if any(s.path is not None or s.kind == "pretrained" for s in specs):  # fail fast
        env = ConstellationDispatchEnv(where, **_with_load(overrides, loads[0]))
        for s in specs:
            if s.kind in ("pretrained", "scoring"):
                load_scoring_model(s.path or PRETRAINED)
            elif s.path is not None:
                load_model(s, env)
    seeds = list(range(seed, seed + episodes))
    order = [(load, sd, spec) for load in loads for sd in seeds for spec in specs]
    chunks = []
    for load in loads:
        items = [(i, spec, sd) for i, (ld, sd, spec) in enumerate(order) if ld == load]
        n = 1 if workers == 1 else min(workers, len(items))
        chunks += [(where, load, items[j::n], overrides) for j in range(n)]
    done: dict[int, EpisodeResult] = {}
    with tqdm(total=len(order), disable=not progress, desc=sc.name, unit="ep", leave=False) as bar:

        def collect(pairs: list[tuple[int, EpisodeResult]]) -> None:
            done.update(pairs)
            bar.update(len(pairs))

        if backend == "ray":
            _run_ray(chunks, workers, collect)
        elif workers == 1:
            runner = _Runner(overrides)
            for where_, load, items, _ in chunks:
                for item in items:  # one at a time, so the bar moves per episode
                    collect([runner(where_, load, item)])
        else:
            _run_pool(chunks, workers, collect)
    config = {
        "scenario": sc.name, "scenario_file": str(sc.source), "agents": [s.label for s in specs],
        "loads": loads, "episodes": episodes, "seed": seed, "seeds": seeds,
        "overrides": given,
        "package_version": metadata.version("constellation-dispatch"),
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED,
                      "confidence": 0.95, "over": "episodes", "statistic": "pooled mean",
                      "method": "BCa (scipy.stats.bootstrap)", "min_seeds": MIN_SEEDS},
    }  # fmt: skip
    played = [done[i] for i in range(len(order))]
    return EvaluationResult(config, played, summarize(config, played))


def _run_pool(chunks: list, workers: int, collect: Callable[[list], None]) -> None:
    """Run the chunks on a process pool whose workers end with this process.

    Workers run :func:`agents.lifeline.die_with` first, so a ``SIGKILL`` of this process
    leaves none behind; on any interruption here (``SIGTERM`` raised as ``SystemExit`` by
    the scripts, ``Ctrl-C``, an error) the workers are terminated instead of finishing
    their episodes.
    """
    run_in_workers(_run_chunk, chunks, workers, collect)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "backend 'ray': ray is not installed; install it with: pip install -e '.[ray]'"
        ) from None
    return ray


def _run_ray(chunks: list, workers: int, collect: Callable[[list], None]) -> None:
    """The chunks as Ray tasks: on the open session, else a local instance of ``workers`` CPUs."""
    from agents.distributed import run_on_ray

    run_on_ray(_run_chunk, chunks, workers, collect)


# ------------------------------------------------------------------------------ statistics
def pooled_mean_interval(sums: np.ndarray, counts: np.ndarray) -> Interval:
    """95 % BCa bootstrap over episodes of the pooled mean ``sum(sums) / sum(counts)``."""
    sums, counts = np.asarray(sums, dtype=float), np.asarray(counts, dtype=float)
    if counts.sum() == 0:
        return Interval(math.nan, math.nan, "none")

    def pooled(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums[idx].sum(axis=axis) / counts[idx].sum(axis=axis)

    return episode_interval(pooled, len(sums))


def bootstrap_ci(sums: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """The bounds of :func:`pooled_mean_interval` (NaN when nothing was counted)."""
    interval = pooled_mean_interval(sums, counts)
    return interval.low, interval.high


def summarize(config: dict[str, Any], episodes: Sequence[EpisodeResult]) -> list[dict[str, Any]]:
    """One row per (agent, load) with :data:`SUMMARY_COLUMNS` (see the module docstring).

    Each load ends with a :data:`BOUND_LABEL` row: the contention-free lower bound of every
    job's turnaround (``envs.sim.bounds``) over the load's jobs (the same for every agent,
    the seeds being paired), marked as a reference bound.
    """
    rows = []
    for load in config["loads"]:
        for spec in parse_agents(config["agents"]):
            eps = [e for e in episodes if e.agent == spec.label and e.load == load]
            rows.append(_summary_row(config, spec.label, load, eps, spec.reference_bound))
        first = parse_agents(config["agents"])[0].label
        eps = [e for e in episodes if e.agent == first and e.load == load]
        if eps:
            rows.append(_summary_row(config, BOUND_LABEL, load, eps, True, bound=True))
    return rows


def _summary_row(
    config: dict[str, Any],
    label: str,
    load: float,
    eps: Sequence[EpisodeResult],
    reference: bool,
    *,
    bound: bool = False,
) -> dict[str, Any]:
    if bound:  # every arrived job at its bound; one it cannot deliver is dropped by all
        arrived_jobs = [e.jobs["status"] != "future" for e in eps]
        finite = [np.isfinite(e.jobs["bound_turnaround_s"]) for e in eps]
        pairs = zip(eps, finite, arrived_jobs, strict=True)
        turn = [e.jobs["bound_turnaround_s"][f & a] for e, f, a in pairs]
        completed, in_flight = sum(len(t) for t in turn), 0
        dropped = sum(int((~f & a).sum()) for f, a in zip(finite, arrived_jobs, strict=True))
        cost = sum(e.metrics.get("bound_cost_s", math.nan) for e in eps)
    else:
        turn = [e.turnarounds_s for e in eps]
        completed = sum(e.metrics["jobs_completed"] for e in eps)
        dropped = sum(e.metrics["jobs_dropped"] for e in eps)
        in_flight = sum(e.metrics["jobs_in_flight"] for e in eps)
        cost = sum(e.metrics.get("cost_s", math.nan) for e in eps)
    pooled = np.concatenate(turn) if turn else np.zeros(0)
    if len(pooled):
        mean = float(pooled.mean())
        p50, p95, p99 = (float(x) for x in np.percentile(pooled, [50, 95, 99]))
    else:
        mean = p50 = p95 = p99 = math.nan
    sums = np.array([t.sum() for t in turn])
    interval = pooled_mean_interval(sums, np.array([len(t) for t in turn]))
    arrived = sum(e.metrics["jobs_arrived"] for e in eps)
    values = (
        label, config["scenario"], load, len(eps), mean, p50, p95, p99,
        completed, dropped, dropped / (completed + dropped) if completed + dropped
        else math.nan, interval.low, interval.high, in_flight,
        cost / arrived if arrived else math.nan, reference, interval.method, len(eps) < MIN_SEEDS,
    )  # fmt: skip
    return dict(zip(SUMMARY_COLUMNS, values, strict=True))


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Mean turnaround of agents ``a`` and ``b`` on the same episode, and ``a − b``."""

    load: float
    seed: int
    mean_a_s: float
    mean_b_s: float
    difference_s: float


def paired_differences(result: EvaluationResult, a: str, b: str) -> list[PairedDifference]:
    """Per-(load, seed) difference in mean turnaround ``a − b`` (negative: ``a`` is faster).

    Both agents played the same jobs in each episode, so these differences cancel the
    episode-to-episode variation of the workload.
    """
    labels = result.config["agents"]
    for name in (a, b):
        if name not in labels:
            raise ConfigError(f"agent: {name!r} was not evaluated (agents: {', '.join(labels)})")
    out = []
    for load in result.config["loads"]:
        for ea, eb in zip(result.episodes_of(a, load), result.episodes_of(b, load), strict=True):
            ma, mb = ea.metrics["mean_turnaround_s"], eb.metrics["mean_turnaround_s"]
            out.append(PairedDifference(load, ea.seed, ma, mb, ma - mb))
    return out


#: Columns of :func:`compare_with` (``comparison.csv``): ratios agent / reference.
COMPARISON_COLUMNS = (
    "agent", "reference", "load", "episodes", "mean_ratio", "mean_ratio_low", "mean_ratio_high",
    "p95_ratio", "p95_ratio_low", "p95_ratio_high", "cost_ratio", "cost_ratio_low",
    "cost_ratio_high", "drop_rate", "reference_drop_rate", "ci_method", "few_seeds",
)  # fmt: skip


def _weighted_p95(values: np.ndarray, episode: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """95th percentile (inverted CDF) of pooled ``values`` for each row of episode ``weights``.

    ``values`` is sorted and ``episode[i]`` is the episode of ``values[i]``; a resample that
    takes an episode ``w`` times counts each of its jobs ``w`` times.
    """
    out = np.full(len(weights), math.nan)
    for row, w in enumerate(weights):
        cum = np.cumsum(w[episode])
        if len(cum) and cum[-1] > 0:
            out[row] = values[np.searchsorted(cum, 0.95 * cum[-1])]
    return out


class _EpisodeStats:
    """An agent's pooled statistics for any episode weights ``(..., n)`` (a resample each)."""

    def __init__(self, eps: Sequence[EpisodeResult]) -> None:
        turn = [e.turnarounds_s for e in eps]
        self.sums = np.array([t.sum() for t in turn], dtype=float)
        self.counts = np.array([len(t) for t in turn], dtype=float)
        self.costs = np.array([e.metrics.get("cost_s", math.nan) for e in eps], dtype=float)
        pooled = np.concatenate(turn) if turn else np.zeros(0)
        episode = np.repeat(np.arange(len(eps)), [len(t) for t in turn])
        order = np.argsort(pooled, kind="stable")
        self.values, self.episode = pooled[order], episode[order]
        done = sum(e.metrics["jobs_completed"] for e in eps)
        dropped = sum(e.metrics["jobs_dropped"] for e in eps)
        self.drop_rate = dropped / max(done + dropped, 1)

    def mean(self, w: np.ndarray) -> np.ndarray:
        return (w @ self.sums) / (w @ self.counts)

    def p95(self, w: np.ndarray) -> np.ndarray:
        flat = w.reshape(-1, w.shape[-1])
        return _weighted_p95(self.values, self.episode, flat).reshape(w.shape[:-1])

    def cost(self, w: np.ndarray) -> np.ndarray:
        return w @ self.costs


def compare_with(
    result: EvaluationResult,
    reference: str | Mapping[float, str] = "ect",
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    include_reference: bool = False,
) -> list[dict[str, Any]]:
    """Every other agent against ``reference`` on the same episodes, one row per agent and load.

    ``mean_ratio`` and ``p95_ratio`` are the agent's pooled mean and 95th-percentile
    turnaround (completed jobs) over the reference's; ``cost_ratio`` is the same for the
    objective (time in system plus drop penalties, summed over the episodes). The intervals
    are a 95 % *paired* BCa bootstrap (:func:`agents.bootstrap.episode_interval`): resample
    the seeds with replacement and recompute both agents' statistics on the same resampled
    episodes, so the workload's variation cancels. Ratios below 1 favour the agent; an
    interval that excludes 1 is a difference the seeds support. The p95 here is the
    inverted-CDF percentile (the summary's interpolates). ``ci_method`` is the weakest method
    of the three intervals (``BCa``, else ``percentile``, else ``point``: every resample gave
    the same ratio); ``few_seeds`` is true below :data:`agents.bootstrap.MIN_SEEDS` seeds.

    Args:
        result: An evaluation with the reference among its agents.
        reference: One agent label for every load, or a mapping load → label (e.g. the best
            heuristic of each load); loads the mapping leaves out are not compared.
        resamples: Bootstrap resamples.
        include_reference: Also give the reference's own row (every ratio exactly 1, with
            a degenerate interval).
    """
    agents = result.config["agents"]
    if isinstance(reference, str):
        refs = {load: reference for load in result.config["loads"]}
    else:
        refs = {load: reference[load] for load in result.config["loads"] if load in reference}
    for name in refs.values():
        if name not in agents:
            raise ConfigError(
                f"reference: {name!r} was not evaluated (agents: {', '.join(agents)})"
            )
    rows = []
    for load, ref_label in refs.items():
        labels = [a for a in agents if include_reference or a != ref_label]
        ref = result.episodes_of(ref_label, load)
        n = len(ref)
        if n == 0:
            continue
        stats = {}
        for label in dict.fromkeys([ref_label, *labels]):
            eps = result.episodes_of(label, load)
            if [e.seed for e in eps] != [e.seed for e in ref]:
                raise ConfigError(f"agent {label!r}: episodes are not paired with {ref_label!r}")
            stats[label] = _EpisodeStats(eps)
        for label in labels:
            row = {"agent": label, "reference": ref_label, "load": load, "episodes": n}
            methods = []
            for key in ("mean", "p95", "cost"):
                a, b = getattr(stats[label], key), getattr(stats[ref_label], key)

                def ratio(idx: np.ndarray, axis: int = -1, a=a, b=b, n=n) -> np.ndarray:
                    w = episode_weights(idx, n)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        return a(w) / b(w)

                interval = episode_interval(ratio, n, resamples=resamples)
                point = float(ratio(np.arange(n)))
                methods.append(interval.method)
                row |= {f"{key}_ratio": point, f"{key}_ratio_low": interval.low,
                        f"{key}_ratio_high": interval.high}  # fmt: skip
            row["drop_rate"] = stats[label].drop_rate
            row["reference_drop_rate"] = stats[ref_label].drop_rate
            row["ci_method"] = next((m for m in ("none", "percentile", "BCa") if m in methods),
                                    "point")  # fmt: skip
            row["few_seeds"] = n < MIN_SEEDS
            rows.append(row)
    return rows


def short_label(label: str) -> str:
    """A saved model's label as ``kind:file name`` (the full path stays in the CSV files).

    >>> short_label("scoring:runs/a/best.zip"), short_label("rollout:ect:10")
    ('scoring:best.zip', 'rollout:ect:10')
    """
    kind, sep, path = label.partition(":")
    saved = kind in MODEL_KINDS or kind == "scoring"
    return f"{kind}:{Path(path).name}" if sep and saved else label


def _references(rows: Sequence[dict[str, Any]]) -> str:
    """The reference of a comparison, or one per load when they differ.

    >>> _references([{"reference": "ect", "load": 1.0}, {"reference": "ect", "load": 2.0}])
    'ect'
    >>> _references([{"reference": "a", "load": 1.0}, {"reference": "b", "load": 2.0}])
    'a at load 1, b at load 2'
    """
    per_load = {r["load"]: r["reference"] for r in rows}
    if len(set(per_load.values())) == 1:
        return next(iter(per_load.values()))
    return ", ".join(f"{ref} at load {load:g}" for load, ref in per_load.items())


def print_comparison(rows: Sequence[dict[str, Any]], *, console: Any = None) -> None:
    """Print :func:`compare_with` rows: each ratio with its paired 95 % interval."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    if not rows:
        return
    few = " (fewer than 5 seeds: the intervals mean little)" if rows[0].get("few_seeds") else ""
    table = Table(
        title=escape(f"paired against {_references(rows)} ({rows[0]['episodes']} seeds per "
                     "load): agent / reference"),
        caption=escape(f"[low-high]: 95 % paired BCa bootstrap over seeds{few}; below 1 "
                       "favours the agent"),
        box=box.SIMPLE_HEAD,
    )  # fmt: skip
    for name in ("agent", "load", "mean", "p95", "cost/job", "drop%", "ref drop%"):
        table.add_column(name, justify="left" if name == "agent" else "right", no_wrap=True)

    def ratio(r: dict[str, Any], key: str) -> str:
        return escape(
            f"{r[key + '_ratio']:.3f} [{r[key + '_ratio_low']:.3f}-{r[key + '_ratio_high']:.3f}]"
        )

    for r in rows:
        table.add_row(
            escape(short_label(r["agent"])), f"{r['load']:g}", ratio(r, "mean"),
            ratio(r, "p95"), ratio(r, "cost"),
            f"{100 * r['drop_rate']:.1f}", f"{100 * r['reference_drop_rate']:.1f}",
        )  # fmt: skip
    print_wide(table, console)


def print_wide(table: Any, console: Any = None) -> None:
    """Print a rich table; into a log or a pipe as wide as it needs (no column squeezed).

    A terminal keeps its width (rich wraps or shortens cells there); a file has no width,
    so the console takes the table's natural width rather than rich's default 80 columns.
    """
    from rich.console import Console
    from rich.measure import Measurement

    console = console or Console()
    if not console.is_terminal:
        wide = console.options.update(max_width=1000)
        console.width = max(console.width, Measurement.get(console, wide, table).maximum)
    console.print(table)


# ------------------------------------------------------------------------------ outputs
def _cells(values: Any) -> list[Any]:
    """CSV cells of a column: shortest round-tripping text for floats, empty for NaN."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return np.where(np.isnan(arr), "", arr.astype(str)).tolist()
    return arr.tolist()


def write_results(
    result: EvaluationResult,
    out_dir: str | os.PathLike[str],
    *,
    plots: bool = True,
    reference: str | Mapping[float, str] = "ect",
    fresh: bool = True,
    report: bool | None = None,
) -> list[Path]:
    """Write ``summary.csv``, ``jobs.csv``, ``summary.json`` and (``plots``) the two figures.

    With ``report`` (default: as ``plots``) also ``report.html``, one self-contained page of
    the tables and interactive figures (:mod:`agents.report_html`).

    When ``reference`` (one label, or a label per load) was evaluated with other agents,
    ``comparison.csv`` holds :func:`compare_with` against it.

    ``jobs.csv`` has one row per job of every episode: ``agent, load, seed`` followed by the
    ``envs.sim.job_table`` columns (times in seconds since the scenario epoch, empty where a
    stage did not happen). ``summary.json`` holds the configuration and the summary rows
    (NaN as ``null``).

    The folder is written as a set (``envs.atomic.staged_folder``): into a fresh folder that
    then replaces ``out_dir`` whole, so an interrupted write leaves the previous run intact
    and no file of an earlier run (a ``comparison.csv``, plots) stays beside the new ones.
    ``out_dir`` must be missing, empty or a previous run's folder. With ``fresh=False`` the
    files go straight into ``out_dir`` (a folder the caller stages itself).
    """
    if fresh:
        with staged_folder(out_dir, recognised=EVALUATION_FILES) as stage:
            written = write_results(result, stage, plots=plots, reference=reference,
                                    fresh=False, report=report)  # fmt: skip
        return [Path(out_dir) / p.relative_to(stage) for p in written]
    out = Path(out_dir)
    paths = [out / "summary.csv", out / "jobs.csv", out / "summary.json"]
    with atomic_write(paths[0], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SUMMARY_COLUMNS)
        cols = [_cells([r[c] for r in result.summary]) for c in SUMMARY_COLUMNS]
        writer.writerows(zip(*cols, strict=True))
    with atomic_write(paths[1], "w", newline="") as fh:
        writer = csv.writer(fh)
        columns = list(result.episodes[0].jobs) if result.episodes else []
        writer.writerow(["agent", "load", "seed", *columns])
        for e in result.episodes:
            cols = [_cells(e.jobs[c]) for c in columns]
            writer.writerows((e.agent, e.load, e.seed, *row) for row in zip(*cols, strict=True))
    refs = {reference} if isinstance(reference, str) else set(reference.values())
    comparison = None
    if refs and refs <= set(result.config["agents"]) and len(result.config["agents"]) > 1:
        comparison = compare_with(result, reference)
        paths.append(out / "comparison.csv")
        with atomic_write(paths[-1], "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COMPARISON_COLUMNS)
            cols = [_cells([r[c] for r in comparison]) for c in COMPARISON_COLUMNS]
            writer.writerows(zip(*cols, strict=True))
    rows = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
            for r in result.summary]  # fmt: skip
    with atomic_write(paths[2]) as fh:
        json.dump({"config": result.config, "summary": rows}, fh, indent=2)
        fh.write("\n")
    if plots:
        from agents.plots import plot_turnaround_cdf, plot_turnaround_vs_load

        paths.append(plot_turnaround_cdf(result, out / "turnaround_cdf.png"))
        paths.append(plot_turnaround_vs_load(result, out / "turnaround_vs_load.png"))
    if plots if report is None else report:
        from agents.report_html import REPORT_NAME, write_report

        paths.append(write_report(result, out / REPORT_NAME, comparison=comparison))
    return paths


def print_table(summary: Sequence[dict[str, Any]], *, console: Any = None) -> None:
    """Print the summary rows as a rich table, turnarounds in one unit chosen by their size.

    The unit (seconds, minutes or hours: :func:`agents.units.time_unit`) is named in the
    title; a table of minute-long turnarounds is not printed as ``0.02`` hours.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from agents.units import time_unit

    keys = ("mean_turnaround_s", "p50_turnaround_s", "p95_turnaround_s", "p99_turnaround_s",
            "cost_per_job_s")  # fmt: skip
    unit = time_unit(r[k] for r in summary for k in keys)
    h = unit.format
    first = summary[0] if summary else {"scenario": "", "episodes": 0, "few_seeds": False}
    few = " (fewer than 5: the intervals mean little)" if first.get("few_seeds") else ""
    table = Table(
        title=escape(f"{first['scenario']}: turnaround in {unit.long_name}, {first['episodes']} "
                     f"episodes per row{few}"),
        caption=escape(
            "CI: 95 % BCa bootstrap over episodes; cost/job: time in system plus drop penalties "
            "per job; * reference bound (oracle: true output lengths; bound: no other job in the "
            "way)"
        ),
        box=box.SIMPLE_HEAD,
    )  # fmt: skip
    names = ("agent", "load", "mean", "95 % CI", "p50", "p95", "p99", "done", "drop", "drop%",
             "cost/job")  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name == "agent" else "right", no_wrap=True)
    for r in summary:
        table.add_row(
            escape(short_label(r["agent"])) + (" *" if r["reference_bound"] else ""),
            f"{r['load']:g}",
            h(r["mean_turnaround_s"]), f"{h(r['mean_ci_low_s'])}-{h(r['mean_ci_high_s'])}",
            h(r["p50_turnaround_s"]), h(r["p95_turnaround_s"]), h(r["p99_turnaround_s"]),
            str(r["completed"]), str(r["dropped"]),
            "-" if math.isnan(r["drop_rate"]) else f"{100 * r['drop_rate']:.1f}",
            h(r["cost_per_job_s"]),
        )  # fmt: skip
    print_wide(table, console)
