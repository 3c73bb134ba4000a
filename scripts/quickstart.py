"""The main job: train MaskablePPO on star_compute_12 briefly, then compare it with every heuristic.

Writes OUT/train (model.zip, config.yaml, evaluations.csv, logs) and OUT/eval (summary.csv,
jobs.csv, summary.json, turnaround_cdf.png, turnaround_vs_load.png, contact_gantt.png,
ground_tracks.png, queue_length.png) and prints the comparison table. Training is the
recipe of ``configs/agents/maskable_ppo.yaml`` (behaviour cloning from ECT, then PPO at loads
1 and 2) with a short PPO budget; under 10 minutes on 2 CPU cores with the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cli import run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--scenario", default="star_compute_12", help="Preset name or YAML path.")
    parser.add_argument(
        "--timesteps", type=int, default=20_000, help="PPO steps after the ECT warm start."
    )
    parser.add_argument("--episodes", type=int, default=4, help="Evaluation episodes per load.")
    parser.add_argument("--load", default="1,2", help="Comma-separated evaluation loads.")
    parser.add_argument("--seed", type=int, default=0, help="Training seed.")
    parser.add_argument("--eval-seed", type=int, default=100, help="First evaluation seed.")
    parser.add_argument("--workers", type=int, default=2, help="Evaluation processes.")
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"), help="Output folder.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from agents.evaluate import (
        EVALUATION_FILES,
        compare_with,
        evaluate,
        print_comparison,
        print_table,
        run_episode,
        write_results,
    )
    from agents.heuristics import HEURISTICS
    from agents.plots import plot_episode
    from agents.train import train
    from envs.atomic import staged_folder
    from envs.contact_plan import default_cache_dir
    from envs.errors import ConfigError
    from envs.scenario import load_scenario
    from envs.sim import build_world

    args = build_parser().parse_args(argv)
    try:
        loads = [float(x) for x in args.load.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--load: expected numbers like 1,2, got {args.load!r}") from None
    began = time.perf_counter()
    print(f"[1/3] training MaskablePPO on {args.scenario} for {args.timesteps:,} steps")
    train(args.scenario, "maskable_ppo", args.timesteps, args.seed, 2, args.out / "train")
    model = f"maskable_ppo:{args.out / 'train' / 'best_model.zip'}"  # best of the evaluations
    print(f"[2/3] evaluating against the heuristics ({args.episodes} paired episodes per load)")
    result = evaluate(
        args.scenario, [*HEURISTICS, model], loads, args.episodes, args.eval_seed,
        workers=args.workers,
    )  # fmt: skip
    print_table(result.summary)
    print_comparison(compare_with(result, "ect"))
    print("[3/3] drawing one episode (contact Gantt chart, ground tracks, queue lengths)")
    world = build_world(load_scenario(args.scenario), cache_dir=default_cache_dir())
    episode = run_episode(args.scenario, model, loads[0], args.eval_seed, world=world)
    with staged_folder(args.out / "eval", recognised=EVALUATION_FILES) as stage:  # one set
        write_results(result, stage, fresh=False)
        plot_episode(episode, world, stage)
    print(f"done in {time.perf_counter() - began:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
