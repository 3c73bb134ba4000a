r"""``study isl``: turnaround with inter-satellite links off versus on, on the same episodes.

The study itself (variants, per-episode rows, pooled rows with paired differences to links
off) is :mod:`agents.analysis.isl`; this command parses the options, shows progress, prints
the table and writes the files.

Example:
    constellation-dispatch study isl --scenario star_compute_12 --episodes 5 --seed 0 \\
        --max-hops 1,3,6 --out out/isl

``python scripts/isl_study.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agents.analysis.figures import plot_isl
from agents.analysis.isl import RESAMPLES, THRESHOLD_S, run_study, variants
from agents.cli._common import (
    add_set_option,
    check_run_options,
    one_torch_thread,
    parse_overrides,
)
from agents.cli.study_turnaround import write_rows
from agents.evaluate import parse_agents
from envs.atomic import atomic_write, staged_folder
from envs.errors import ConfigError


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run each agent on the same seeds with inter-satellite links off and on "
        "(one variant per --max-hops) and compare turnarounds. Writes DIR/episodes.csv (one "
        "row per variant, agent and seed), DIR/summary.csv (pooled over seeds: mean, p50, "
        "p95 turnaround of completed jobs, share of arrived jobs under the threshold, drop "
        "share, share of delivered results relayed, and for each of mean/p50/p95/share the "
        "mean paired difference to links off with a 95 % bootstrap interval over seeds), "
        "DIR/isl_study.json (configuration and both tables) and DIR/isl_study.png. Bad input "
        "exits with status 2 and a one-line error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--scenario", default="star_compute_12", help="Preset name or YAML path.")
    parser.add_argument("--agents", default="earliest_uplink,ect", help="Comma-separated agents.")
    parser.add_argument("--episodes", type=int, default=5, help="Episodes (seeds) per variant.")
    parser.add_argument("--seed", type=int, default=0, help="First episode seed.")
    parser.add_argument("--load", type=float, default=1.0, help="Workload multiplier.")
    parser.add_argument(
        "--max-hops", default="1,3", help="Comma-separated isl.max_hops values, one variant each."
    )
    parser.add_argument(
        "--threshold-s", type=float, default=THRESHOLD_S, help="Turnaround threshold in seconds."
    )
    add_set_option(parser, "--set episode.duration_s=600 --set isl.latency_s=0.1 (every variant)")
    parser.add_argument("--out", required=True, type=Path, help="Output folder DIR.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar and no table.")
    return parser


def parse_hops(text: str) -> list[int]:
    """``"1,3"`` → ``[1, 3]``; one-line ``ConfigError`` for anything but integers >= 1."""
    try:
        hops = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--max-hops: expected comma-separated integers, got {text!r}") from None
    if not hops or min(hops) < 1:
        raise ConfigError(f"--max-hops: expected integers >= 1, got {text!r}")
    return sorted(set(hops))


def _print_table(summary: list[dict[str, Any]], threshold_s: float) -> None:
    def f(x: float, scale: float = 1.0, digits: int = 1) -> str:
        return "-" if math.isnan(x) else f"{x / scale:.{digits}f}"

    print(f"{'variant':<12} {'agent':<16} {'mean min':>9} {'p50 min':>8} {'p95 min':>8} "
          f"{'<' + format(threshold_s, 'g') + ' s %':>9} {'drop %':>7} {'relayed %':>9} "
          f"{'d mean min [95% CI]':>26}")  # fmt: skip
    for r in summary:
        ci = f"{f(r['d_mean_s'], 60)} [{f(r['d_mean_s_low'], 60)}, {f(r['d_mean_s_high'], 60)}]"
        print(f"{r['variant']:<12} {r['agent']:<16} {f(r['mean_s'], 60):>9} "
              f"{f(r['p50_s'], 60):>8} {f(r['p95_s'], 60):>8} "
              f"{f(r['share_under'], 0.01):>9} {f(r['drop_share'], 0.01):>7} "
              f"{f(r['relayed_share'], 0.01):>9} {ci:>26}")  # fmt: skip


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    overrides = parse_overrides(args.set)
    specs = parse_agents(args.agents)
    args.workers = 1
    check_run_options(args)
    if not 0 < args.load < math.inf:
        raise ConfigError(f"--load: must be a positive number, got {args.load}")
    if not 0 < args.threshold_s < math.inf:
        raise ConfigError(f"--threshold-s: must be a positive number, got {args.threshold_s}")
    for key in overrides:
        if key == "isl.enabled" or key == "isl.max_hops" or key == "isl":
            raise ConfigError(f"--set {key}: set by the study's variants (use --max-hops)")
    labels = variants(parse_hops(args.max_hops))
    seeds = list(range(args.seed, args.seed + args.episodes))
    if any(s.path is not None for s in specs):
        one_torch_thread()
    began = time.perf_counter()
    total = len(labels) * len(specs) * len(seeds)
    with tqdm(total=total, disable=args.quiet, unit="ep", leave=False) as bar:
        rows, summary = run_study(
            args.scenario, specs, args.load, seeds, labels, overrides,
            threshold_s=args.threshold_s, progress=not args.quiet,
            on_step=bar.set_description, on_done=bar.update,
        )  # fmt: skip
    final = args.out
    recognised = ("isl_study.json", "summary.csv", "episodes.csv")
    with staged_folder(final, recognised=recognised) as stage:
        args.out = stage  # every file goes into the fresh folder, swapped in at the end
        args.out.mkdir(parents=True, exist_ok=True)
        paths = [write_rows(args.out / "episodes.csv", rows),
                 write_rows(args.out / "summary.csv", summary)]  # fmt: skip
        config = {
            "scenario": args.scenario, "agents": [s.label for s in specs], "seeds": seeds,
            "load": args.load, "max_hops": parse_hops(args.max_hops), "overrides": overrides,
            "threshold_s": args.threshold_s, "variants": labels,
            "definitions": {
                "mean_s/p50_s/p95_s": "turnaround of completed jobs, pooled over seeds",
                "share_under": "completed jobs with turnaround < threshold_s / jobs arrived",
                "relayed_share": "delivered results relayed over >= 1 link (mean over seeds)",
                "d_*": f"mean over seeds of (variant - off), 95 % bootstrap over seeds "
                f"({RESAMPLES} resamples)",
            },
        }  # fmt: skip
        clean = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
                 for r in summary]  # fmt: skip
        with atomic_write(args.out / "isl_study.json") as fh:
            json.dump({"config": config, "summary": clean}, fh, indent=2)
            fh.write("\n")
        paths.append(args.out / "isl_study.json")
        paths.append(plot_isl(summary, args.out / "isl_study.png", args.threshold_s))
    args.out = final
    paths = [final / p.relative_to(stage) for p in paths]
    if not args.quiet:
        _print_table(summary, args.threshold_s)
        print(f"{len(rows)} episodes in {time.perf_counter() - began:.1f} s -> "
              + ", ".join(str(p) for p in paths))  # fmt: skip
    return 0

