"""``constellation-dispatch train``: train a dispatcher with stable-baselines3 / sb3-contrib.

Example:
    constellation-dispatch train --scenario star_compute_12 --algo maskable_ppo \
        --timesteps 200000 --seed 0 --n-envs 2 --out runs/sc12 --hp learning_rate=1e-4 \
        --set workload.load=2

(or ``python scripts/train.py`` with the same options). ``--hp`` sets hyperparameters of
``configs/agents/<algo>.yaml``; ``--set`` is a scenario override of the training and
evaluation environments (it becomes the hyperparameter ``env_overrides.KEY``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from agents.cli._common import (
    add_hp_option,
    add_set_option,
    one_torch_thread,
    parse_hyperparameters,
    parse_overrides,
)
from agents.hyperparams import ALGOS
from agents.train import train


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train a dispatch policy on a scenario. Hyperparameters come from "
        "configs/agents/<algo>.yaml and can be overridden with --hp KEY=VALUE; --set KEY=VALUE "
        "overrides the scenario (training and evaluation environments). Writes "
        "DIR/model.zip, DIR/best_model.zip (best evaluation against ECT), DIR/config.yaml (the "
        "exact configuration), DIR/evaluations.csv, DIR/learning_curve.csv and .png, DIR/logs "
        "(TensorBoard and csv) and DIR/checkpoints. Evaluate the model with evaluate --agents "
        "maskable_ppo:DIR/model.zip.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        default="star_compute_12",
        help="Preset name, YAML path or generated:SEED[@SPACE].",
    )
    parser.add_argument("--algo", default="maskable_ppo", choices=ALGOS, help="Algorithm.")
    parser.add_argument("--timesteps", type=int, default=100_000, help="Environment steps.")
    parser.add_argument("--seed", type=int, default=0, help="Seed (model and environments).")
    parser.add_argument("--n-envs", type=int, default=2, help="Parallel environments.")
    parser.add_argument("--out", type=Path, required=True, help="Output folder.")
    parser.add_argument("--resume", type=Path, default=None, help="Checkpoint .zip to resume.")
    add_hp_option(
        parser,
        "configs/agents/<algo>.yaml",
        "--hp learning_rate=1e-4 --hp policy=mlp --hp bc=null",
    )
    add_set_option(parser, "--set workload.load=2 --set episode.duration_s=3600")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    return parser


def hyperparameter_overrides(hp: Sequence[str], scenario: Sequence[str]) -> list[str]:
    """``--hp`` and ``--set`` items as the ``key=value`` list ``agents.train.train`` takes.

    A scenario override ``KEY=VALUE`` becomes ``env_overrides.KEY=VALUE``; both lists are
    checked first (malformed items and keys given to the wrong flag are one-line errors).

    >>> hyperparameter_overrides(["gamma=0.9"], ["load=2"])
    ['gamma=0.9', 'env_overrides.load=2']
    """
    parse_hyperparameters(hp)
    parse_overrides(scenario)
    return [*hp, *(f"env_overrides.{item.strip()}" for item in scenario)]


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Train; print the path of the model written."""
    args = build_parser(prog).parse_args(argv)
    overrides = hyperparameter_overrides(args.hp, args.set)
    one_torch_thread()  # these networks are tiny: one intra-op thread is faster than several
    train(
        args.scenario,
        args.algo,
        args.timesteps,
        args.seed,
        args.n_envs,
        args.out,
        resume=args.resume,
        overrides=overrides,
        progress=not args.no_progress,
    )
    print(f"wrote {args.out / 'model.zip'}")
    return 0

