"""Training glue for SB3 / sb3-contrib agents: hyperparameters, vector envs, callbacks.

Hyperparameters come from ``configs/agents/<algo>.yaml`` (RL Zoo style) with command-line
``key=value`` overrides; the exact configuration used is written next to the model.

Tracking: TensorBoard event files and CSV logs go to the run's ``logs/`` (``tensorboard:
false`` in the config keeps only the CSV), the periodic evaluations against ECT are logged
as ``eval/*`` scalars, every training episode's return and cost per job are written as
``learning_curve.csv`` and drawn as ``learning_curve.png``, and a ``VecNormalize``'s
statistics are saved beside every model file and restored by ``--resume``
(``agents.normalize``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.curves import LearningCurve, curve_rows, write_learning_curve
from envs.atomic import atomic_write, staged_folder
from envs.errors import ConfigError, first_line
from envs.resources import configs_dir
from envs.yamlio import parse_yaml, read_yaml

__all__ = [
    "AGENT_CONFIG_DIR",
    "ALGOS",
    "TRAINING_FILES",
    "EvalAgainstECT",
    "load_hyperparams",
    "make_vec_env",
    "train",
]

#: Hyperparameter files ``<algo>.yaml`` (the shipped ``configs/agents``, see ``envs.resources``).
AGENT_CONFIG_DIR = configs_dir() / "agents"
ALGOS = ("maskable_ppo", "ppo", "dqn", "a2c")
#: Files that mark a training output folder (``train`` may replace it).
TRAINING_FILES = ("config.yaml", "model.zip", "best_model.zip", "evaluations.csv",
                  "learning_curve.csv")  # fmt: skip
_META_KEYS = (
    "policy", "env_overrides", "eval_freq", "eval_seeds", "eval_load", "checkpoint_freq",
    "train_loads", "normalize_reward", "normalize_obs", "bc", "tensorboard",
)  # fmt: skip
# Keyword arguments of ConstellationDispatchEnv that are not scenario overrides.
_ENV_ARGS = ("render_mode", "invalid_action", "cache_dir", "check_invariants", "reward")
# Constructor arguments that train() sets itself.
_SET_BY_TRAIN = ("self", "policy", "env", "seed", "device", "policy_kwargs", "verbose",
                 "_init_setup_model", "tensorboard_log")  # fmt: skip
#: Behaviour-cloning settings (``bc:`` in the agent YAML) and their defaults.
BC_DEFAULTS = {
    "teacher": "ect", "loads": [0.5, 1.0, 1.5, 2.0], "seeds": [0], "epochs": 4,
    "batch_size": 512, "learning_rate": 1e-3, "target": "imitate", "explore": 0.0,
    "temperature_s": 1800.0,
}  # fmt: skip


def _scenario_overrides(env_overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The scenario overrides among ``env_overrides`` (without the env's own arguments)."""
    return {k: v for k, v in (env_overrides or {}).items() if k not in _ENV_ARGS}


def _algo_class(algo: str) -> Any:
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    return {"ppo": sb3.PPO, "dqn": sb3.DQN, "a2c": sb3.A2C}[algo]


def load_hyperparams(algo: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Hyperparameters of ``algo`` from its YAML file, with ``key=value`` overrides applied.

    Values of overrides are parsed as YAML (``1e-4`` → float, ``[1, 2]`` → list); dotted keys
    reach into mappings (``env_overrides.workload.load=2`` sets ``env_overrides['workload.load']``).

    >>> load_hyperparams("maskable_ppo", ["learning_rate=1e-4"])["learning_rate"]
    0.0001
    """
    if algo not in ALGOS:
        raise ConfigError(f"--algo: unknown algorithm {algo!r}; known: {', '.join(ALGOS)}")
    path = AGENT_CONFIG_DIR / f"{algo}.yaml"
    params = read_yaml(path, path.name)
    if not isinstance(params, dict):
        raise ConfigError(f"{path.name}: expected a mapping of hyperparameters")
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set: expected key=value, got {item!r}")
        value = _parse_value(key, raw)
        if key.startswith("env_overrides."):
            params.setdefault("env_overrides", {})[key.split(".", 1)[1]] = value
        elif key.startswith("policy_kwargs."):
            params.setdefault("policy_kwargs", {})[key.split(".", 1)[1]] = value
        else:
            params[key] = value
    return params


def _parse_value(key: str, raw: str) -> Any:
    """A number if it reads as one (YAML would keep ``1e-4`` a string), else YAML."""
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return parse_yaml(raw, f"--set {key}")


def make_vec_env(
    scenario: str,
    n_envs: int,
    seed: int,
    env_overrides: dict[str, Any],
    loads: Sequence[float] | None = None,
) -> Any:
    """``n_envs`` monitored environments: ``SubprocVecEnv`` for several, ``DummyVecEnv`` for one.

    With ``loads``, worker ``i`` plays at ``loads[i % len(loads)]`` (a mix of loads in every
    rollout, so one policy learns the light and the heavy regime). ``SubprocVecEnv``
    workers end with this process, even when it is killed (``agents.lifeline``).
    """
    if loads is not None:
        bad = [x for x in loads if not isinstance(x, int | float) or x <= 0]
        if not loads or bad:
            raise ConfigError(f"train_loads: expected positive numbers, got {list(loads)!r}")
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from envs.dispatch_env import ConstellationDispatchEnv
    from envs.scenario import load_scenario

    # Check the scenario and its overrides here: an error inside a SubprocVecEnv worker only
    # reaches the parent as a broken pipe.
    load_scenario(scenario, _scenario_overrides(env_overrides) or None)

    parent = os.getpid()

    def factory(rank: int):
        def make():
            if os.getpid() != parent:  # a SubprocVecEnv worker: end with the parent
                from agents.lifeline import die_with

                die_with(parent)
            extra = {} if loads is None else {"load": float(loads[rank % len(loads)])}
            env = Monitor(ConstellationDispatchEnv(scenario, **env_overrides, **extra))
            env.reset(seed=seed + rank)
            return env

        return make

    fns = [factory(i) for i in range(n_envs)]
    return SubprocVecEnv(fns, start_method="forkserver") if n_envs > 1 else DummyVecEnv(fns)


def _callback_base() -> type:
    from stable_baselines3.common.callbacks import BaseCallback

    return BaseCallback


def save_model(model: Any, path: Path) -> None:
    """``model.save`` to a temporary file renamed over ``path``: never a half-written zip.

    A model trained in a ``VecNormalize`` gets its statistics beside it
    (``agents.normalize.stats_path``), written first so a model file never lacks them.
    """
    from agents.normalize import save_stats

    save_stats(model, path)
    with atomic_write(path, "wb") as fh:
        model.save(fh)


class Checkpoints(_callback_base()):
    """Save ``DIR/rl_model_<steps>_steps.zip`` every ``every`` calls (atomically)."""

    def __init__(self, every: int, folder: Path):
        super().__init__()
        self.every, self.folder = max(int(every), 1), Path(folder)

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            save_model(self.model, self.folder / f"rl_model_{self.num_timesteps}_steps.zip")
        return True


def check_hyperparams(cls: type, algo: str, params: dict[str, Any]) -> None:
    """Refuse hyperparameters ``cls`` does not take, or of the wrong type.

    The ``ConfigError`` names the key and the value; types are checked against the
    constructor's defaults.
    """
    import inspect

    signature = inspect.signature(cls.__init__).parameters
    known = sorted(set(signature) - set(_SET_BY_TRAIN))
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(f"{algo}: unknown hyperparameter(s) {unknown}; known: {known}")
    for key, value in params.items():
        default = signature[key].default
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
        elif isinstance(default, float):
            ok, want = isinstance(value, int | float) and not isinstance(value, bool), "a number"
        else:
            continue
        if not ok:
            raise ConfigError(f"{algo}: hyperparameter {key}: expected {want}, got {value!r}")


class EvalAgainstECT(_callback_base()):
    """Every ``eval_freq`` steps, play the fixed eval seeds (at every eval load) against ECT.

    Logs ``eval/mean_turnaround_s``, ``eval/drop_rate``, ``eval/return_per_job_h``, ECT's
    values of the same (``eval/ect_*``) and the ratios of the model to ECT on the same seeds
    (``eval/turnaround_vs_ect``, ``eval/cost_vs_ect``: cost per job, drops charged) as
    scalars of the run's logger (TensorBoard and CSV), written at the evaluation's timestep;
    keeps the best model (by return per job, which charges drops) as ``best_model.zip`` and
    appends every evaluation to ``evaluations.csv``.
    """

    def __init__(
        self,
        scenario: str,
        seeds: Sequence[int],
        eval_freq: int,
        out: Path,
        label: str,
        env_overrides: dict[str, Any] | None = None,
        loads: Sequence[float] = (1.0,),
    ):
        super().__init__()
        self.loads = [float(x) for x in loads]
        from agents.evaluate import run_episode
        from envs.scenario import load_scenario
        from envs.sim import build_world

        self._run = run_episode
        self.scenario, self.seeds, self.eval_freq = scenario, list(seeds), max(int(eval_freq), 1)
        self.out, self.label = out, label
        # Evaluate in the scenario the agent is trained in (overrides included).
        self.overrides = _scenario_overrides(env_overrides)
        trained = load_scenario(scenario, self.overrides or None)
        self.world = build_world(trained)
        self.drop_penalty_s = trained.reward.drop_penalty_s
        self.ect = self._score("ect", {})
        self.best = -np.inf
        self._last = 0
        self._rows: list[list[Any]] = []

    def _score(self, spec: str, models: dict[str, Any]) -> dict[str, float]:
        results = [
            self._run(
                self.scenario,
                spec,
                load,
                s,
                world=self.world,
                models=models,
                overrides=self.overrides,
            )
            for load in self.loads
            for s in self.seeds
        ]
        turn = np.concatenate([r.turnarounds_s for r in results]) if results else np.zeros(0)
        done = sum(r.metrics["jobs_completed"] for r in results)
        dropped = sum(r.metrics["jobs_dropped"] for r in results)
        arrived = max(sum(r.metrics["jobs_arrived"] for r in results), 1)
        cost = sum(r.metrics["cost_s"] for r in results)  # from the job tables, drops included
        return {
            "mean_turnaround_s": float(turn.mean()) if len(turn) else float("nan"),
            "drop_rate": dropped / max(done + dropped, 1),
            "return_per_job_h": -cost / arrived / 3600.0,
        }

    def _on_training_start(self) -> None:
        # Score the starting point too (e.g. the policy cloned from ECT), so best_model.zip
        # is never worse than where training began.
        self._evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps - self._last < self.eval_freq:
            return True
        self._last = self.num_timesteps
        self._evaluate()
        return True

    def _evaluate(self) -> None:
        from agents.normalize import normalized_for_play

        # The eval episodes run outside the training VecNormalize: normalise like it does.
        player = normalized_for_play(self.model, self.training_env)
        score = self._score(self.label, {self.label: player})
        ratio = score["mean_turnaround_s"] / self.ect["mean_turnaround_s"]
        for key, value in score.items():
            self.logger.record(f"eval/{key}", value)
            self.logger.record(f"eval/ect_{key}", self.ect[key])
        self.logger.record("eval/turnaround_vs_ect", ratio)
        self.logger.record(
            "eval/cost_vs_ect", score["return_per_job_h"] / self.ect["return_per_job_h"]
        )
        self.logger.dump(self.num_timesteps)  # at the evaluation's step, like SB3's EvalCallback
        if score["return_per_job_h"] > self.best:
            self.best = score["return_per_job_h"]
            save_model(self.model, self.out / "best_model.zip")
        path = self.out / "evaluations.csv"
        if not self._rows:
            # Resuming into the same folder keeps the earlier evaluations.
            old = path.read_text().splitlines() if path.exists() else []
            self._rows = [row.split(",") for row in old] or [
                ["timesteps", *score, "ect_mean_turnaround_s", "ect_return_per_job_h",
                 "turnaround_vs_ect"]
            ]  # fmt: skip
        self._rows.append(
            [self.num_timesteps, *score.values(), self.ect["mean_turnaround_s"],
             self.ect["return_per_job_h"], ratio]
        )  # fmt: skip
        with atomic_write(path, newline="") as fh:  # rewritten whole: never half a row
            csv.writer(fh).writerows(self._rows)


def _eval_loads(value: Any) -> list[float]:
    loads = value if isinstance(value, list) else [value]
    if not loads or any(not isinstance(x, int | float) or x <= 0 for x in loads):
        raise ConfigError(f"eval_load: expected a positive number or a list of them, got {value!r}")
    return [float(x) for x in loads]


def _warm_start(
    model: Any,
    scenario: str,
    meta: dict[str, Any],
    env_overrides: dict[str, Any],
    out: Path,
    progress: bool,
) -> None:
    """Warm-start ``model`` from the heuristic teacher of ``meta["bc"]`` (``agents.bc``).

    ``target: imitate`` clones the teacher's actions; ``target: outcome`` fits every action's
    logit to the cost of the job it decided (``explore`` > 0 shows it the alternatives).
    """
    from agents.bc import behaviour_clone, collect_demonstrations, fit_outcomes

    settings = meta["bc"] if isinstance(meta["bc"], dict) else {}
    unknown = sorted(set(settings) - set(BC_DEFAULTS))
    if unknown:
        raise ConfigError(f"bc: unknown key(s) {unknown}; known: {sorted(BC_DEFAULTS)}")
    cfg = {**BC_DEFAULTS, **settings}
    if not hasattr(model.policy, "evaluate_actions") or not hasattr(model, "gamma"):
        raise ConfigError("bc: behaviour cloning needs an actor-critic algorithm (ppo, a2c)")
    if cfg["target"] not in ("imitate", "outcome"):
        raise ConfigError(f"bc.target: expected imitate or outcome, got {cfg['target']!r}")
    demos = collect_demonstrations(
        scenario, teacher=cfg["teacher"], loads=cfg["loads"], seeds=cfg["seeds"],
        overrides=env_overrides, explore=cfg["explore"],
    )  # fmt: skip
    scale = 1.0
    vec = model.get_env()
    if getattr(vec, "norm_reward", False):  # VecNormalize: seed its return statistics
        running = demos.running_returns(float(model.gamma))
        vec.ret_rms.mean, vec.ret_rms.var = float(running.mean()), float(running.var())
        vec.ret_rms.count = float(len(running))
        scale = float(np.sqrt(vec.ret_rms.var + vec.epsilon))
    common = dict(
        epochs=int(cfg["epochs"]), batch_size=int(cfg["batch_size"]),
        learning_rate=float(cfg["learning_rate"]), return_scale=scale, progress=progress,
    )  # fmt: skip
    if cfg["target"] == "outcome":
        stats = fit_outcomes(model, demos, temperature_s=cfg["temperature_s"], **common)
    else:
        stats = behaviour_clone(model, demos, **common)
    stats["return_scale"] = scale
    stats["decisions"] = len(demos)
    meta["bc"] = {**cfg, "result": stats}
    with atomic_write(out / "bc.json") as fh:
        json.dump(meta["bc"], fh, indent=2)


def _normalized(
    vec: Any, meta: dict[str, Any], params: dict[str, Any], resume: Any
) -> tuple[Any, bool]:
    """``VecNormalize`` around ``vec``: the checkpoint's statistics when resuming, else fresh.

    Returns the wrapped env and whether the statistics were restored from ``resume``.

    Rewards: returns span hours to days of job time; a running scale keeps the critic's
    targets near unit size. Observations are already in [0, 2] and stay raw unless
    ``normalize_obs`` (then the model needs the statistics to act: they are saved with it).
    """
    from stable_baselines3.common.vec_env import VecNormalize

    from agents.normalize import restore_stats, stats_path

    for key in ("normalize_reward", "normalize_obs"):
        if not isinstance(meta.get(key, False), bool):
            raise ConfigError(f"{key}: expected true or false, got {meta[key]!r}")
    if resume is not None and stats_path(resume).is_file():
        return restore_stats(stats_path(resume), vec), True
    fresh = VecNormalize(
        vec,
        norm_obs=bool(meta.get("normalize_obs", False)),
        norm_reward=bool(meta.get("normalize_reward", False)),
        gamma=params.get("gamma", 0.99),
    )
    return fresh, False


def _load_checkpoint(cls: type, algo: str, path: Path, vec: Any) -> Any:
    """Load a checkpoint to resume; ``ConfigError`` naming the file if it is missing or bad."""
    if not path.is_file():
        raise ConfigError(f"--resume: checkpoint not found: {path}")
    try:
        return cls.load(path, env=vec, device="cpu")
    except Exception as exc:  # corrupt zip, wrong algorithm, other spaces: all one line
        why = first_line(exc)
        raise ConfigError(f"--resume: cannot load {algo} checkpoint {path}: {why}") from None


def train(
    scenario: str,
    algo: str,
    timesteps: int,
    seed: int,
    n_envs: int,
    out: str | os.PathLike[str],
    *,
    resume: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    progress: bool = True,
) -> Any:
    """Train ``algo`` on ``scenario``; writes model.zip, config.yaml, logs and checkpoints.

    The run is written into a fresh folder ``OUT.partial-<pid>-…`` (marked ``INCOMPLETE``)
    that replaces ``out`` once ``model.zip`` and ``config.yaml`` are written
    (``envs.atomic.staged_folder``), so ``out`` always holds one complete run. With
    ``resume`` the previous folder's files are copied in first (its checkpoints and
    ``evaluations.csv`` carry on). A run stopped after writing checkpoints keeps its partial
    folder (named on stderr) to resume from; ``out`` is left as it was. Worker processes
    are terminated on an interruption (``SIGTERM``, ``Ctrl-C``) and die with this process.
    """
    if timesteps < 1 or n_envs < 1:
        raise ConfigError(f"--timesteps and --n-envs must be >= 1, got {timesteps}, {n_envs}")
    import torch

    # These networks are tiny: one intra-op thread is faster than several (and the
    # environment workers need the other cores).
    torch.set_num_threads(1)
    stage: Path | None = None
    try:
        with staged_folder(
            out, recognised=TRAINING_FILES, start_from_previous=resume is not None,
            keep_partial=True,
        ) as stage:  # fmt: skip
            return _train_into(
                stage, scenario, algo, timesteps, seed, n_envs, resume, overrides, progress
            )
    except BaseException:
        if stage is not None and stage.exists():
            if any((stage / "checkpoints").glob("*.zip")):
                print(f"training stopped: partial output kept in {stage} (INCOMPLETE; resume "
                      f"from its checkpoints); {out} is unchanged", file=sys.stderr)  # fmt: skip
            else:  # nothing worth resuming from
                shutil.rmtree(stage, ignore_errors=True)
        raise


def _train_into(
    out: Path,
    scenario: str,
    algo: str,
    timesteps: int,
    seed: int,
    n_envs: int,
    resume: str | os.PathLike[str] | None,
    overrides: Sequence[str],
    progress: bool,
) -> Any:
    """The body of :func:`train`, writing into the staged folder ``out``."""
    params = load_hyperparams(algo, overrides)
    meta = {k: params.pop(k) for k in _META_KEYS if k in params}
    env_overrides = dict(meta.get("env_overrides") or {})
    vec = make_vec_env(scenario, n_envs, seed, env_overrides, meta.get("train_loads"))
    try:
        model = _learn(out, vec, scenario, algo, timesteps, seed, n_envs, resume, params, meta,
                       env_overrides, progress)  # fmt: skip
    except BaseException:
        close_vec_env(vec, interrupted=True)
        raise
    close_vec_env(vec)
    return model


def _learn(
    out: Path, vec: Any, scenario: str, algo: str, timesteps: int, seed: int, n_envs: int,
    resume: Any, params: dict[str, Any], meta: dict[str, Any], env_overrides: dict[str, Any],
    progress: bool,
) -> Any:  # fmt: skip
    """Build (or load) the model on ``vec``, train it and write the run's files into ``out``."""
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import configure

    tensorboard = meta.get("tensorboard", True)
    if not isinstance(tensorboard, bool):
        raise ConfigError(f"tensorboard: expected true or false, got {tensorboard!r}")
    normalized = bool(meta.get("normalize_reward") or meta.get("normalize_obs"))
    restored = False
    if normalized:
        vec, restored = _normalized(vec, meta, params, resume)
    cls = _algo_class(algo)
    policy_name = meta.get("policy", "mlp")
    policy_kwargs = dict(params.pop("policy_kwargs", None) or {})
    if policy_name == "candidate":
        from agents.policy import CandidateScoringPolicy, policy_kwargs_for

        policy: Any = CandidateScoringPolicy
        policy_kwargs = {**policy_kwargs_for(vec), **policy_kwargs}
    elif policy_name == "mlp":
        policy = "MlpPolicy"
    else:
        raise ConfigError(f"policy: expected 'candidate' or 'mlp', got {policy_name!r}")
    if resume is not None:
        model = _load_checkpoint(cls, algo, Path(resume), vec)
        if normalized and not restored:
            from agents.normalize import stats_path

            missing = stats_path(resume).name
            print(f"--resume: no VecNormalize statistics beside {resume} ({missing}); "
                  "starting them afresh", file=sys.stderr)  # fmt: skip
    else:
        check_hyperparams(cls, algo, params)
        try:
            model = cls(
                policy, vec, seed=seed, device="cpu", policy_kwargs=policy_kwargs, verbose=0,
                **params,
            )  # fmt: skip
        except (TypeError, ValueError, AssertionError) as exc:
            raise ConfigError(f"{algo}: bad hyperparameters {params}: {first_line(exc)}") from None
        if meta.get("bc"):
            _warm_start(model, scenario, meta, env_overrides, out, progress)
    # TensorBoard event files and CSV in OUT/logs (tensorboard --logdir OUT/logs).
    model.tensorboard_log = str(out / "logs") if tensorboard else None
    formats = ["csv", "tensorboard"] if tensorboard else ["csv"]
    model.set_logger(configure(str(out / "logs"), formats))
    curve = LearningCurve()
    callbacks = CallbackList(
        [
            curve,
            Checkpoints(int(meta.get("checkpoint_freq", 50000)) // n_envs, out / "checkpoints"),
            EvalAgainstECT(
                scenario,
                meta.get("eval_seeds", [1000]),
                int(meta.get("eval_freq", 10000)),
                out,
                f"{algo}:in-memory",
                env_overrides,
                _eval_loads(meta.get("eval_load", 1.0)),
            ),
        ]
    )
    model.learn(
        total_timesteps=timesteps,
        callback=callbacks,
        progress_bar=progress,
        reset_num_timesteps=resume is None,
    )
    save_model(model, out / "model.zip")
    write_learning_curve(curve_rows(curve, out), out, f"{algo} on {scenario}")
    config = {
        "scenario": scenario, "algo": algo, "timesteps": timesteps, "seed": seed, "n_envs": n_envs,
        "resume": None if resume is None else str(resume),
        "hyperparameters": params, "policy": policy_name, "policy_kwargs": policy_kwargs, **meta,
    }  # fmt: skip
    with atomic_write(out / "config.yaml") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)
    model.logger.close()  # flush and close the log files before the folder moves
    return model


def close_vec_env(vec: Any, *, interrupted: bool = False) -> None:
    """Close a vector env; when ``interrupted``, terminate its worker processes first.

    ``SubprocVecEnv.close`` asks every worker to finish its step; after a ``SIGTERM`` or an
    error the workers are terminated instead (they may be mid-episode).
    """
    inner = vec
    while hasattr(inner, "venv"):  # VecNormalize and other wrappers
        inner = inner.venv
    if interrupted and hasattr(inner, "processes"):
        from agents.lifeline import stop_processes

        stop_processes(inner.processes)
        inner.closed = True
        return
    vec.close()
