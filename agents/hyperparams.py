"""Hyperparameters of a training run: the shipped ``configs/agents/<algo>.yaml`` and overrides.

:func:`load_hyperparams` reads an algorithm's file and applies ``key=value`` overrides;
:func:`check_hyperparams` refuses keys the algorithm's constructor does not take and values
of the wrong type. The keys in :data:`META_KEYS` are the run's own settings (policy,
evaluations, normalisation, warm start), not constructor arguments: :mod:`agents.train`
takes them out before building the model; the sweep (``agents.cli.sweep``) checks trials
with the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envs.errors import ConfigError
from envs.resources import configs_dir
from envs.yamlio import parse_yaml, read_yaml

__all__ = [
    "AGENT_CONFIG_DIR",
    "ALGOS",
    "META_KEYS",
    "algo_class",
    "check_hyperparams",
    "load_hyperparams",
]

#: Hyperparameter files ``<algo>.yaml`` (the shipped ``configs/agents``, see ``envs.resources``).
AGENT_CONFIG_DIR = configs_dir() / "agents"
ALGOS = ("maskable_ppo", "ppo", "dqn", "a2c")
#: Settings of the run itself in an agent YAML (not constructor arguments).
META_KEYS = (
    "policy", "env_overrides", "eval_freq", "eval_seeds", "eval_load", "checkpoint_freq",
    "train_loads", "normalize_reward", "normalize_obs", "bc", "tensorboard",
)  # fmt: skip
# Constructor arguments that train() sets itself.
_SET_BY_TRAIN = ("self", "policy", "env", "seed", "device", "policy_kwargs", "verbose",
                 "_init_setup_model", "tensorboard_log")  # fmt: skip

def algo_class(algo: str) -> Any:
    """The SB3 / sb3-contrib class of ``algo`` (one of :data:`ALGOS`)."""
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
