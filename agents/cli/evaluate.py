r"""Evaluate dispatch agents on a scenario over loads and paired seeds; write tables and plots.

Example:
    constellation-dispatch evaluate --scenario star_compute_12 \\
        --agents random,round_robin,earliest_uplink,least_loaded,ect,oracle \\
        --episodes 3 --load 0.5,1,2 --seed 100 --out out/eval --workers 2

Or a whole suite (``configs/suites/*.yaml``), every agent judged against the best heuristic
of each cell (``docs/evaluation-suites.md``):
    constellation-dispatch evaluate --suite configs/suites/benchmark.yaml \\
        --agents maskable_ppo:PATH --workers 2 --out out/benchmark

``python scripts/evaluate.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from agents.bootstrap import BOOTSTRAP_RESAMPLES, MIN_SEEDS, few_seeds_warning
from agents.cli._common import (
    add_set_option,
    check_run_options,
    one_torch_thread,
    parse_overrides,
)
from agents.evaluate import BACKENDS, EVALUATION_SEED, evaluate, parse_agents
from agents.heuristics import HEURISTICS
from agents.report import EVALUATION_FILES, print_comparison, print_table, write_results
from agents.results import MODEL_KINDS
from agents.stats import compare_with
from envs.atomic import check_output_folder, staged_folder
from envs.errors import ConfigError


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run every agent on the same episodes (paired seeds: for a given load and "
        "seed all agents see identical job arrivals) at every load, and write DIR/summary.csv "
        "(one row per agent and load: mean/p50/p95/p99 turnaround in seconds over the pooled "
        "completed jobs, completed, dropped, drop_rate = dropped / (completed + dropped), and "
        f"a 95 % BCa bootstrap interval of the mean over episodes, {BOOTSTRAP_RESAMPLES} "
        f"resamples; fewer than {MIN_SEEDS} seeds are flagged: few_seeds, and a warning on "
        "stderr), "
        "DIR/jobs.csv (one row per job and episode: agent, load, seed, then the simulator's job "
        "table; times in seconds since the scenario epoch), DIR/summary.json (the table and "
        "the exact configuration), DIR/comparison.csv (with ect among several agents: each agent "
        "/ ect for mean, p95 and cost per job, with 95 % paired-bootstrap intervals over "
        "seeds), DIR/turnaround_cdf.png, DIR/turnaround_vs_load.png and DIR/report.html (one "
        "self-contained page that works offline: the tables, interactive turnaround CDFs, cost "
        "against load, a job-by-job Gantt chart of one episode, ground tracks with station "
        "contacts). DIR is written as a "
        "set: into a fresh folder that replaces DIR when everything is written (an earlier "
        "run's files do not stay beside the new ones; DIR must be new, empty or an earlier "
        "run's folder). "
        "Bad input exits with status 2 and a one-line error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        help="Preset name (e.g. toy, star_compute_12), YAML path or generated:SEED[@SPACE].",
    )
    parser.add_argument(
        "--suite",
        type=Path,
        help="Instead of --scenario: a suite file (configs/suites/*.yaml) of cells (scenario x "
        "loads x seeds). Runs the suite's agents plus --agents in every cell and writes "
        "DIR/suite.csv and DIR/suite.json (one row per cell, load and agent: cost per job, mean, "
        "p95, drop rate, ratio to the cell's best heuristic with a 95%% paired-bootstrap "
        "interval, share of the heuristic-to-bound gap closed), DIR/report.html (that table "
        "and the ratios as one page, linking each cell's report.html) and each cell's usual "
        "outputs in DIR/cells/NN_LABEL. The suite sets loads and seeds (--episodes overrides "
        "the count).",
    )
    parser.add_argument(
        "--agents",
        help="Comma-separated agents (required with --scenario; with --suite, extra agents): "
        "heuristics ("
        + ", ".join(HEURISTICS)
        + "; oracle is a reference bound that sees the true output lengths), "
        "rollout:BASE[:H][:fN] and switch:BASES[:SEGMENT[:WINDOW]][:fN] (planning "
        "references on forks of the episode, fN: on N sampled futures instead of the real "
        "one; slow) and/or saved "
        "models as KIND:PATH with KIND one of "
        + ", ".join(MODEL_KINDS)
        + " (a Stable-Baselines3 / sb3-contrib zip, loaded on the CPU).",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=None,
        help="Episodes (seeds) per agent and load (default: 10, or the suite's count).",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="First episode seed; episodes use seed, seed+1, ... (default: 100, the suites' "
        "first: the shipped policies trained on other seeds; not with --suite).",
    )
    parser.add_argument("--out", required=True, type=Path, help="Output folder DIR.")
    parser.add_argument(
        "--load",
        default=None,
        help="Comma-separated workload multipliers (scenario override workload.load; "
        "default: 1; not with --suite).",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Worker processes (1: run in this process)."
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="process",
        help="Parallel backend for --workers > 1: a local process pool, or ray "
        "(pip install -e .[ray]).",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="With --backend ray: a running Ray cluster (auto, HOST:PORT or ray://HOST:10001) "
        "instead of a local instance of --workers CPUs.",
    )
    parser.add_argument(
        "--plots",
        action="store_true",
        help="Also draw one episode (first seed, first load, first non-random agent): "
        "DIR/contact_gantt.png, DIR/ground_tracks.png and DIR/queue_length.png.",
    )
    add_set_option(parser, "--set episode.duration_s=3600 --set isl.enabled=true")
    parser.add_argument("--quiet", action="store_true", help="No progress bar and no table.")
    return parser


def parse_loads(text: str) -> list[float]:
    """``"0.5,1,2"`` → ``[0.5, 1.0, 2.0]``; ``ConfigError`` for anything else."""
    try:
        loads = [float(x) for x in text.split(",")]
    except ValueError:
        loads = []
    if not loads or not all(0 < x < math.inf for x in loads) or len(set(loads)) != len(loads):
        raise ConfigError(
            f"--load: expected distinct positive numbers separated by commas, got {text!r}"
        )
    return loads


def ray_cluster(args: argparse.Namespace) -> AbstractContextManager[Any]:
    """``--address``: the Ray session the run uses (``--backend ray`` only); else nothing."""
    if args.address is None:
        return nullcontext()
    if args.backend != "ray":
        raise ConfigError(f"--address: only with --backend ray, got --backend {args.backend}")
    from agents.distributed import check_address, ray_session

    return ray_session(check_address(args.address))


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    if (args.scenario is None) == (args.suite is None):
        raise ConfigError("give either --scenario or --suite (one of them)")
    if args.suite is not None:
        return run_suite_cli(args)
    if args.agents is None:
        raise ConfigError("--agents: required with --scenario")
    args.episodes = 10 if args.episodes is None else args.episodes
    args.seed = EVALUATION_SEED if args.seed is None else args.seed
    loads = parse_loads("1" if args.load is None else args.load)
    specs = parse_agents(args.agents)
    check_run_options(args)
    check_output_folder(args.out, EVALUATION_FILES)  # before the run, not after it
    if any(s.path is not None for s in specs):
        one_torch_thread()
    began = time.perf_counter()
    with ray_cluster(args):
        result = evaluate(
            args.scenario,
            specs,
            loads=loads,
            episodes=args.episodes,
            seed=args.seed,
            workers=args.workers,
            backend=args.backend,
            progress=not args.quiet,
            overrides=parse_overrides(args.set),
        )
    with staged_folder(args.out, recognised=EVALUATION_FILES) as stage:  # one set of files
        paths = write_results(result, stage, fresh=False)
        if args.plots:
            from agents.episode_plots import plot_episode
            from envs.contact_plan import default_cache_dir
            from envs.scenario import load_scenario
            from envs.sim import build_world

            chosen = next((s for s in specs if s.kind != "random"), specs[0])
            episode = result.episodes_of(chosen.label, loads[0])[0]
            overrides = {**parse_overrides(args.set), "load": loads[0]}
            world = build_world(
                load_scenario(args.scenario, overrides), cache_dir=default_cache_dir()
            )
            paths += plot_episode(episode, world, stage)
    paths = [args.out / p.relative_to(stage) for p in paths]
    warning = few_seeds_warning(args.episodes)
    if warning:
        print(warning, file=sys.stderr)
    if not args.quiet:
        print_table(result.summary)
        if "ect" in result.config["agents"] and len(specs) > 1:
            print_comparison(compare_with(result, "ect"))
        print(
            f"{len(result.episodes)} episodes in {time.perf_counter() - began:.1f} s -> "
            + ", ".join(str(p) for p in paths)
        )
    return 0


def run_suite_cli(args: argparse.Namespace) -> int:
    """``--suite FILE``: every cell, one table, ``DIR/suite.csv`` and ``DIR/suite.json``."""
    from agents.suite import load_suite, print_suite, run_suite, suite_agents, write_suite

    for flag, value in (("--seed", args.seed), ("--load", args.load), ("--set", args.set)):
        if value:  # None, or an empty --set list
            raise ConfigError(f"{flag}: the suite file sets it for each cell, got {value!r}")
    if args.plots:
        raise ConfigError("--plots: not available with --suite (each cell draws its figures)")
    if args.episodes is not None and args.episodes < 1:
        raise ConfigError(f"--episodes: must be >= 1, got {args.episodes}")
    if args.workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {args.workers}")
    began = time.perf_counter()
    suite = load_suite(args.suite)
    extra = [] if args.agents is None else args.agents.split(",")
    if any(s.path is not None for s in parse_agents(suite_agents(suite, extra))):
        one_torch_thread()
    with ray_cluster(args):
        result = run_suite(
            suite, extra, episodes=args.episodes, workers=args.workers, backend=args.backend,
            progress=not args.quiet, out_dir=args.out,
        )  # fmt: skip
    paths = write_suite(result, args.out)
    ran = [o.episodes for o in result.outcomes if o.result is not None]
    warning = few_seeds_warning(min(ran), "in a cell") if ran else None
    if warning:
        print(warning, file=sys.stderr)
    if not args.quiet:
        print_suite(result)
        episodes = sum(len(o.result.episodes) for o in result.outcomes if o.result is not None)
        print(
            f"{episodes} episodes in {time.perf_counter() - began:.1f} s -> "
            + ", ".join(str(p) for p in paths)
            + f" and {args.out / 'cells'}"
        )
    return 0
