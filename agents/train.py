"""Training runs of SB3 / sb3-contrib agents: vector envs, warm starts, the run's folder.

Hyperparameters come from ``configs/agents/<algo>.yaml`` (RL Zoo style, :mod:`agents.hyperparams`)
with command-line ``key=value`` overrides; the exact configuration used is written next to the
model. The checkpoints and the evaluations against ECT are :mod:`agents.callbacks`.
:func:`train` sets no process-wide state: the scripts give torch one thread
(``agents.cli._common.one_torch_thread``), these networks being tiny.

Tracking: TensorBoard event files and CSV logs go to the run's ``logs/`` (``tensorboard:
false`` in the config keeps only the CSV), the periodic evaluations against ECT are logged
as ``eval/*`` scalars, every training episode's return and cost per job are written as
``learning_curve.csv`` and drawn as ``learning_curve.png``, and a ``VecNormalize``'s
statistics are saved beside every model file and restored by ``--resume``
(``agents.normalize``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.callbacks import Checkpoints, EvalAgainstECT, save_model, scenario_overrides
from agents.curves import LearningCurve, curve_rows, write_learning_curve
from agents.hyperparams import META_KEYS, algo_class, check_hyperparams, load_hyperparams
from envs.atomic import atomic_write, staged_folder
from envs.errors import ConfigError, first_line

__all__ = [
    "BC_DEFAULTS",
    "TRAINING_FILES",
    "close_vec_env",
    "make_vec_env",
    "train",
]

#: Files that mark a training output folder (``train`` may replace it).
TRAINING_FILES = ("config.yaml", "model.zip", "best_model.zip", "evaluations.csv",
                  "learning_curve.csv")  # fmt: skip
#: Behaviour-cloning settings (``bc:`` in the agent YAML) and their defaults.
BC_DEFAULTS = {
    "teacher": "ect", "loads": [0.5, 1.0, 1.5, 2.0], "seeds": [0], "epochs": 4,
    "batch_size": 512, "learning_rate": 1e-3, "target": "imitate", "explore": 0.0,
    "temperature_s": 1800.0,
}  # fmt: skip


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
    load_scenario(scenario, scenario_overrides(env_overrides) or None)

    parent = os.getpid()

    def factory(rank: int):
        def make():
            if os.getpid() != parent:  # a SubprocVecEnv worker: end with the parent
                from agents.lifeline import die_with

                die_with(parent)
            extra = {} if loads is None else {"load": float(loads[rank % len(loads)])}
            # SB3's policies read one vector: the flat form (what FlattenDispatch gives).
            env = ConstellationDispatchEnv(scenario, observation="flat", **env_overrides, **extra)
            env = Monitor(env)
            env.reset(seed=seed + rank)
            return env

        return make

    fns = [factory(i) for i in range(n_envs)]
    return SubprocVecEnv(fns, start_method="forkserver") if n_envs > 1 else DummyVecEnv(fns)


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
    meta = {k: params.pop(k) for k in META_KEYS if k in params}
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
    policy_name = meta.get("policy", "mlp")
    policy, policy_kwargs = _policy(policy_name, vec, params)
    if resume is not None:
        model = _resumed(algo, resume, vec, normalized and not restored)
    else:
        model = _new_model(algo, policy, vec, seed, policy_kwargs, params)
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


def _policy(name: str, vec: Any, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The policy (``candidate`` or ``mlp``) and its keyword arguments (``params`` loses them)."""
    policy_kwargs = dict(params.pop("policy_kwargs", None) or {})
    if name == "candidate":
        from agents.policy import CandidateScoringPolicy, policy_kwargs_for

        return CandidateScoringPolicy, {**policy_kwargs_for(vec), **policy_kwargs}
    if name == "mlp":
        return "MlpPolicy", policy_kwargs
    raise ConfigError(f"policy: expected 'candidate' or 'mlp', got {name!r}")


def _resumed(algo: str, resume: Any, vec: Any, stats_missing: bool) -> Any:
    """The checkpoint ``resume`` on ``vec``; says so when its normalisation is not beside it."""
    model = _load_checkpoint(algo_class(algo), algo, Path(resume), vec)
    if stats_missing:
        from agents.normalize import stats_path

        missing = stats_path(resume).name
        print(f"--resume: no VecNormalize statistics beside {resume} ({missing}); "
              "starting them afresh", file=sys.stderr)  # fmt: skip
    return model


def _new_model(
    algo: str, policy: Any, vec: Any, seed: int, policy_kwargs: dict[str, Any],
    params: dict[str, Any],
) -> Any:  # fmt: skip
    """A fresh ``algo`` model on ``vec``; ``ConfigError`` naming bad hyperparameters."""
    cls = algo_class(algo)
    check_hyperparams(cls, algo, params)
    try:
        return cls(
            policy, vec, seed=seed, device="cpu", policy_kwargs=policy_kwargs, verbose=0,
            **params,
        )  # fmt: skip
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"{algo}: bad hyperparameters {params}: {first_line(exc)}") from None


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
