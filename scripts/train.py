"""Train a dispatcher with stable-baselines3 / sb3-contrib.

Example:
    python scripts/train.py --scenario star_compute_12 --algo maskable_ppo --timesteps 200000 \
        --seed 0 --n-envs 2 --out runs/sc12
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cli import run_cli

from agents.train import ALGOS, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train a dispatch policy on a scenario. Hyperparameters come from "
        "configs/agents/<algo>.yaml and can be overridden with --set key=value. Writes "
        "DIR/model.zip, DIR/best_model.zip (best evaluation against ECT), DIR/config.yaml (the "
        "exact configuration), DIR/evaluations.csv, DIR/learning_curve.csv and .png, DIR/logs "
        "(TensorBoard and csv) and DIR/checkpoints. Load the model in scripts/evaluate.py as "
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
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a hyperparameter (repeatable), e.g. --set learning_rate=1e-4 "
        "--set policy=mlp --set env_overrides.workload.load=2.",
    )
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    train(
        args.scenario,
        args.algo,
        args.timesteps,
        args.seed,
        args.n_envs,
        args.out,
        resume=args.resume,
        overrides=args.overrides,
        progress=not args.no_progress,
    )
    print(f"wrote {args.out / 'model.zip'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
