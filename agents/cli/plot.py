r"""Run one episode with one agent and draw it: contact plan, ground tracks, on-board queues.

Example:
    constellation-dispatch plot --scenario star_compute_12 --agent ect --seed 0 \\
        --out out/episode --load 1 --set episode.duration_s=3600

(or ``python scripts/plot_episode.py`` with the same options).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from agents.cli._common import add_set_option, one_torch_thread, parse_overrides
from agents.episode_plots import plot_episode
from agents.evaluate import AgentSpec, run_episode
from agents.heuristics import HEURISTICS
from agents.results import MODEL_KINDS
from envs.contact_plan import default_cache_dir
from envs.errors import ConfigError
from envs.scenario import load_scenario
from envs.sim import build_world


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run one episode and write DIR/contact_gantt.png (every pass, one row per "
        "station), DIR/ground_tracks.png (sub-satellite tracks over the first 3 hours and the "
        "stations, on a latitude/longitude grid) and DIR/queue_length.png (jobs on board each "
        "satellite over the episode, from the end of uplink to delivery or drop, and jobs "
        "still on the ground). Bad input exits with status 2 and a one-line error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--scenario", required=True, help="Preset name (e.g. toy, star_compute_12) or YAML path."
    )
    parser.add_argument(
        "--agent",
        default="ect",
        help="A heuristic ("
        + ", ".join(HEURISTICS)
        + ") or a saved model KIND:PATH with KIND one of "
        + ", ".join(MODEL_KINDS)
        + ".",
    )
    parser.add_argument("--seed", type=int, default=0, help="Episode seed (job arrivals).")
    parser.add_argument("--out", required=True, type=Path, help="Output folder DIR.")
    parser.add_argument(
        "--load", type=float, default=1.0, help="Workload multiplier (workload.load)."
    )
    add_set_option(parser, "--set episode.duration_s=3600 --set isl.enabled=true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the episode, draw it, print one line with its numbers and the files written."""
    args = build_parser(prog).parse_args(argv)
    overrides = parse_overrides(args.set)
    if not 0 < args.load < math.inf:
        raise ConfigError(f"--load: must be a positive number, got {args.load}")
    if args.seed < 0:
        raise ConfigError(f"--seed: must be >= 0, got {args.seed}")
    spec = AgentSpec.parse(args.agent)
    if spec.path is not None:
        one_torch_thread()
    world = build_world(
        load_scenario(args.scenario, {**overrides, "load": args.load}),
        cache_dir=default_cache_dir(),
    )
    episode = run_episode(
        args.scenario, spec, args.load, args.seed, world=world, overrides=overrides
    )
    paths = plot_episode(episode, world, args.out)
    m = episode.metrics
    print(
        f"{episode.scenario} load {args.load:g} seed {args.seed} {spec.label}: "
        f"{m['jobs_completed']} completed, {m['jobs_dropped']} dropped, mean turnaround "
        f"{m['mean_turnaround_s'] / 3600:.2f} h -> " + ", ".join(str(p) for p in paths)
    )
    return 0

