"""The evaluation runner: agents × loads × paired seeds on one scenario.

Every agent plays the same episodes: for a given ``(load, seed)`` the environment draws its
jobs (arrival times, origins, models, token counts) from the reset seed alone, so all agents
see identical arrivals and differences in turnaround come from dispatching only (paired
seeds). Heuristics get their own generator seed derived from the episode seed
(:func:`agent_seed`), so ``random`` is reproducible too.

This module plays the episodes (:func:`run_episode`; serially, on a process pool or on Ray)
and returns an :class:`~agents.results.EvaluationResult`; the statistics of its summary rows
are :mod:`agents.stats` (see there for what each column means), the printed tables and the
output folder :mod:`agents.report`. It is a little over 400 lines because everything that
plays episodes stays together: the model loading, the one episode, the argument checks and
the three ways to run them (serially, the process pool, Ray) share the worker task.

>>> res = evaluate("toy", ["random", "ect"], loads=[1.0], episodes=2, seed=0, progress=False)
>>> [(r["agent"], r["episodes"]) for r in res.summary]
[('random', 2), ('ect', 2), ('bound', 2)]
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from agents.bootstrap import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, MIN_SEEDS
from agents.lifeline import run_in_workers
from agents.planning import make_agent
from agents.results import MODEL_KINDS, EpisodeResult, EvaluationResult
from agents.rollout import Step, rollout
from agents.scoring import PRETRAINED, ScoringAgent, load_scoring_model
from agents.shipped import shipped_model_path
from agents.specs import AgentSpec, parse_agents
from agents.stats import summarize
from envs.contact_plan import default_cache_dir
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError, first_line
from envs.limits import check_count
from envs.scenario import load_scenario
from envs.sim import World, build_world, job_table
from envs.sim.bounds import contention_free_cost_s, contention_free_delivery_s

__all__ = [
    "BACKENDS",
    "EVALUATION_SEED",
    "AgentSpec",
    "EpisodeResult",
    "EvaluationResult",
    "agent_seed",
    "evaluate",
    "load_model",
    "parse_agents",
    "run_episode",
]

BACKENDS = ("process", "ray")


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
    env = ConstellationDispatchEnv(
        scenario, world=world, observation=_observation_for(spec), **_with_load(overrides, load)
    )
    agent = _make_agent(spec, env, seed, {} if models is None else models)
    masked = spec.path is None or spec.kind in ("maskable_ppo", "scoring")  # SB3 takes none
    invalid = 0

    def count_invalid(step: Step) -> None:
        nonlocal invalid
        invalid += step.info["invalid_action"]

    played = rollout(env, agent, seed, masked=masked, on_step=count_invalid)
    jobs = job_table(env.sim)
    jobs["bound_turnaround_s"] = contention_free_delivery_s(env.sim) - jobs["arrival_s"]
    # The environment's objective: time in system of every job plus the drop penalties,
    # from the job table (it equals minus the return, reset_reward included, in seconds).
    penalty = env.scenario.reward.drop_penalty_s
    arrived = jobs["status"] != "future"
    bound_cost = contention_free_cost_s(jobs["bound_turnaround_s"], penalty, arrived)
    metrics = {
        **env.metrics(),
        "cost_s": float(jobs["cost_s"].sum()),
        "bound_cost_s": float(bound_cost.sum()),
        "return": played.episode_return,
    }
    return EpisodeResult(
        spec.label, env.scenario.name, float(load), int(seed), metrics,
        jobs, played.steps, played.truncated, invalid,
    )  # fmt: skip


def _observation_for(spec: AgentSpec) -> str:
    """The env's observation form for an agent.

    SB3 models saved by ``agents.train`` read the flat vector they were trained on;
    heuristics and distilled policies take either form.
    """
    saved_sb3 = spec.path is not None and spec.kind not in ("pretrained", "scoring")
    return "flat" if saved_sb3 else "dict"


def _make_agent(
    spec: AgentSpec, env: ConstellationDispatchEnv, seed: int, models: dict[str, Any]
) -> Any:
    """The agent of ``spec`` on ``env``; saved models are loaded once into ``models``."""
    if spec.kind in ("pretrained", "scoring"):  # distilled policies (agents.scoring)
        if spec.label not in models:
            models[spec.label] = load_scoring_model(spec.path or PRETRAINED)
        return ScoringAgent(models[spec.label], env)
    if spec.path is None:
        return make_agent(spec.kind, env, seed=agent_seed(seed))
    if spec.label not in models:
        models[spec.label] = load_model(spec, env)
    return models[spec.label]


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
    """Worker task: build the World once for ``(scenario, load)``, play ``items`` in order.

    It runs in a worker process of the pool (or Ray), which is the runner's own: there it
    gives torch one intra-op thread when a saved model plays. One decision is one tiny
    forward pass: more threads only add synchronisation, and on a busy machine they spin
    against the simulator (tens of ms a decision, not 0.2 ms). A script sets the same for
    its own process (``agents.cli._common.one_torch_thread``).
    """
    if any(spec.path is not None for _, spec, _ in items):
        import torch

        torch.set_num_threads(1)
    runner = _Runner(overrides)
    return [runner(scenario, load, item) for item in items]


def _check_loads(loads: Iterable[float]) -> list[float]:
    out = []
    for x in loads:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < math.inf:
            raise ConfigError(f"load: must be a positive finite number, got {x!r}")
        out.append(float(x))
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"load: give one or more distinct loads, got {out}")
    return out


#: First evaluation seed by default (the command line's and :func:`evaluate`'s): the suites'
#: first seed. The shipped recipe's training episodes play other seeds
#: (``tests/agents/test_finetune.py`` checks it).
EVALUATION_SEED = 100


def evaluate(
    scenario: str | os.PathLike[str],
    agents: Iterable[str | AgentSpec] | str,
    loads: Iterable[float] = (1.0,),
    episodes: int = 10,
    seed: int = EVALUATION_SEED,
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
        seed: First episode seed (default :data:`EVALUATION_SEED`, 100: the suites' first,
            which the shipped recipe does not train on).
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
    _check_counts(episodes, workers, seed, backend)
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
    _load_models_once(specs, where, _with_load(overrides, loads[0]))  # fail fast
    seeds = list(range(seed, seed + episodes))
    order = [(load, sd, spec) for load in loads for sd in seeds for spec in specs]
    chunks = []
    for load in loads:
        items = [(i, spec, sd) for i, (ld, sd, spec) in enumerate(order) if ld == load]
        n = 1 if workers == 1 else min(workers, len(items))
        chunks += [(where, load, items[j::n], overrides) for j in range(n)]
    done = _run_chunks(chunks, workers, backend, overrides, progress=progress, desc=sc.name)
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


def _check_counts(episodes: int, workers: int, seed: int, backend: str) -> None:
    """``ConfigError`` naming a bad count, seed or backend (and a missing ``ray``)."""
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


def _load_models_once(specs: Sequence[AgentSpec], where: str, kwargs: dict[str, Any]) -> None:
    """Load every saved model once here, so a bad file fails before any episode is played."""
    if any(s.path is not None or s.kind == "pretrained" for s in specs):
        env = ConstellationDispatchEnv(where, observation="flat", **kwargs)
        for s in specs:
            if s.kind in ("pretrained", "scoring"):
                load_scoring_model(s.path or PRETRAINED)
            elif s.path is not None:
                load_model(s, env)


def _run_chunks(
    chunks: list,
    workers: int,
    backend: str,
    overrides: dict[str, Any],
    *,
    progress: bool,
    desc: str,
) -> dict[int, EpisodeResult]:
    """Play the chunks serially, on the process pool or on Ray: episodes by their index."""
    done: dict[int, EpisodeResult] = {}
    total = sum(len(items) for _, _, items, _ in chunks)
    with tqdm(total=total, disable=not progress, desc=desc, unit="ep", leave=False) as bar:

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
    return done


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
