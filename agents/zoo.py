r"""The RL Zoo (``rl_zoo3``) with this project's environment, and MaskablePPO registered in it.

``configs/zoo/<algo>.yaml`` hold hyperparameters in the Zoo's format (keyed by the env id)
for the algorithms that fit a discrete action space: ``ppo``, ``a2c``, ``dqn`` and, from
sb3-contrib, ``qrdqn``, ``trpo``, ``ppo_lstm``; plus ``maskable_ppo``, which the Zoo does not
know. Train with the Zoo itself::

    python -m rl_zoo3.train --algo ppo --env ConstellationDispatch-v1 --gym-packages envs \
        -conf configs/zoo/ppo.yaml --env-kwargs scenario:"'toy'"

or through :func:`main` (``python -m agents.zoo``, the same arguments), which first adds
``maskable_ppo`` to the Zoo's algorithms and to its Optuna samplers (PPO's search space),
then runs ``rl_zoo3.train``. MaskablePPO collects its rollouts with the env's
``action_masks()``; the Zoo's own evaluations (``--eval-freq``, ``--optimize``) call
``predict`` without masks, so a masked choice there falls back to the first valid
candidate inside the env (``invalid_action="fallback"``, the default).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from envs.errors import ConfigError
from envs.resources import configs_dir

__all__ = ["ZOO_ALGOS", "ZOO_CONFIG_DIR", "main", "register_maskable_ppo"]

#: The shipped ``configs/zoo`` folder (``<algo>.yaml`` per algorithm).
ZOO_CONFIG_DIR = configs_dir() / "zoo"
#: Algorithms with a hyperparameter file in :data:`ZOO_CONFIG_DIR`.
ZOO_ALGOS = ("ppo", "a2c", "dqn", "qrdqn", "trpo", "ppo_lstm", "maskable_ppo")


def zoo_config(algo: str) -> Path:
    """The shipped Zoo hyperparameter file of ``algo``.

    >>> zoo_config("ppo").name
    'ppo.yaml'
    """
    if algo not in ZOO_ALGOS:
        known = ", ".join(ZOO_ALGOS)
        raise ConfigError(f"--algo: no zoo configuration for {algo!r}; known: {known}")
    return ZOO_CONFIG_DIR / f"{algo}.yaml"


def register_maskable_ppo() -> None:
    """Add ``maskable_ppo`` to the Zoo's algorithms and Optuna samplers (in this process)."""
    try:
        from rl_zoo3 import hyperparams_opt, utils
    except ImportError:
        raise ConfigError(
            "rl_zoo3: not installed; pip install -e \".[zoo]\" (or the dev extra)"
        ) from None
    from sb3_contrib import MaskablePPO

    utils.ALGOS.setdefault("maskable_ppo", MaskablePPO)
    samplers = hyperparams_opt.HYPERPARAMS_SAMPLER
    samplers.setdefault("maskable_ppo", hyperparams_opt.sample_ppo_params)


def main(argv: Sequence[str] | None = None) -> None:
    """``rl_zoo3.train`` with ``maskable_ppo`` registered; ``argv`` as on its command line."""
    register_maskable_ppo()
    from rl_zoo3.train import train

    old = sys.argv
    sys.argv = [old[0] if old else "agents.zoo", *(sys.argv[1:] if argv is None else argv)]
    try:
        train()
    finally:
        sys.argv = old


if __name__ == "__main__":
    main()
