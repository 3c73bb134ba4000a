r"""``study turnaround``: the share of jobs delivered within two minutes, and when that happens.

The study itself (paired episodes, each job classified against the contact plan, the share
tables) is :mod:`agents.analysis.turnaround_study`; this command parses the options, prints
the tables and writes the files and figures: the shares of jobs with turnaround under the
threshold by policy, origin station, submission time relative to the passes over the origin,
and hour of submission.

Example:
    constellation-dispatch study turnaround --scenario star_compute_12 --episodes 5 --seed 0 \\
        --out out/turnaround --workers 1

``python scripts/turnaround_study.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.analysis.figures import plot_shares, plot_turnaround_vs_submission
from agents.analysis.turnaround import SHARE_COLUMNS, STAGES, THRESHOLD_S, TIMING_BINS
from agents.analysis.turnaround_study import TurnaroundStudy, run_study
from agents.cli._common import (
    add_set_option,
    check_run_options,
    one_torch_thread,
    parse_overrides,
)
from agents.evaluate import parse_agents
from agents.plots import plot_turnaround_cdf
from agents.report import EVALUATION_FILES, write_results
from envs.atomic import atomic_write, staged_folder
from envs.errors import ConfigError

DEFAULT_AGENTS = "random,round_robin,earliest_uplink,least_loaded,ect,oracle"

def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run every agent on the same episodes (paired seeds) and measure the share "
        "of jobs whose turnaround (query upload to result on the ground) is under the "
        "threshold. Writes the evaluation files of scripts/evaluate.py (DIR/summary.csv, "
        "DIR/summary.json, DIR/turnaround_cdf.png and DIR/jobs.csv, whose rows also carry each "
        "job's classification: origin_station, submit_time_h, pass_left_s, to_pass_s, "
        "pass_timing, contact_end_s, one_contact, under_threshold, the six stage durations "
        "and the bottleneck stage), the shares by policy, pass timing, origin station and hour "
        "of submission (DIR/share_by_*.csv: jobs, completed, dropped, under, share = under / "
        "jobs with a 95 % bootstrap interval over episodes, bound_share (jobs whose "
        "contention-free earliest delivery is under the threshold: the most any policy could "
        "reach), in_pass_share, one_contact_share, median_turnaround_s), median stage "
        "durations (DIR/stages.csv), all of it with the "
        "configuration in DIR/turnaround_study.json, and two figures: "
        "DIR/turnaround_vs_submission.png and DIR/share_under_threshold.png. Bad input exits "
        "with status 2 and a one-line error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--scenario", default="star_compute_12", help="Preset name or YAML path.")
    parser.add_argument(
        "--agents",
        default=DEFAULT_AGENTS,
        help="Comma-separated agents, as scripts/evaluate.py takes them.",
    )
    parser.add_argument("--episodes", type=int, default=5, help="Episodes (seeds) per agent.")
    parser.add_argument("--seed", type=int, default=0, help="First episode seed.")
    parser.add_argument("--load", type=float, default=1.0, help="Workload multiplier.")
    parser.add_argument(
        "--threshold-s", type=float, default=THRESHOLD_S, help="Turnaround threshold in seconds."
    )
    add_set_option(
        parser, "--set duration_s=86400 --set networks=[china,ksat,aws] "
        "--set ground.backhaul_delay_s=0.05"
    )
    parser.add_argument("--out", required=True, type=Path, help="Output folder DIR.")
    parser.add_argument("--workers", type=int, default=1, help="Worker processes.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar and no tables.")
    return parser


def write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write dict rows as CSV atomically (NaN as an empty cell); return ``path``."""
    with atomic_write(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: "" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            )
    return path


def _print_tables(
    tables: dict[str, list[dict[str, Any]]], episodes: int, threshold_s: float
) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)

    def pct(x: float) -> str:
        return "-" if math.isnan(x) else f"{100 * x:.1f}"

    policy = Table(title=f"% of jobs under {threshold_s:g} s", box=box.SIMPLE_HEAD)
    names = ("agent", "jobs", "dropped", "under", "share", "95 % CI", "bound", "in pass",
             "one contact", "median (h)")  # fmt: skip
    for name in names:
        policy.add_column(name, justify="left" if name == "agent" else "right")
    for r in tables["share_by_policy"]:
        ci = f"{pct(r['share_ci_low'])}-{pct(r['share_ci_high'])}"
        policy.add_row(r["agent"], str(r["jobs"]), str(r["dropped"]), str(r["under"]),
                       pct(r["share"]), ci, pct(r["bound_share"]), pct(r["in_pass_share"]),
                       pct(r["one_contact_share"]),
                       f"{r['median_turnaround_s'] / 3600:.2f}")  # fmt: skip
    console.print(policy)
    agents = [r["agent"] for r in tables["share_by_policy"]]
    for name, key in (
        ("share_by_pass_timing", "pass_timing"),
        ("share_by_origin", "origin_station"),
    ):
        grid = Table(title=f"% of jobs under {threshold_s:g} s by {key} (bound: contention-free)",
                     box=box.SIMPLE_HEAD)  # fmt: skip
        for col in (key, "jobs/episode", "bound", *agents):
            grid.add_column(col, justify="left" if col == key else "right")
        cell = {(r[key], r["agent"]): r for r in tables[name]}
        for cat in dict.fromkeys(r[key] for r in tables[name]):
            first = next(cell[cat, a] for a in agents if (cat, a) in cell)
            shares = [pct(cell[cat, a]["share"]) if (cat, a) in cell else "-" for a in agents]
            grid.add_row(str(cat), f"{first['jobs'] / episodes:.0f}",
                         pct(first["bound_share"]), *shares)  # fmt: skip
        console.print(grid)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    overrides = parse_overrides(args.set)
    specs = parse_agents(args.agents)
    check_run_options(args)
    if not 0 < args.load < math.inf:
        raise ConfigError(f"--load: must be a positive number, got {args.load}")
    if not 0 < args.threshold_s < math.inf:
        raise ConfigError(f"--threshold-s: must be a positive number, got {args.threshold_s}")
    if any(s.path is not None for s in specs):
        one_torch_thread()
    began = time.perf_counter()
    study = run_study(
        args.scenario, specs, args.load, episodes=args.episodes, seed=args.seed,
        workers=args.workers, overrides=overrides, threshold_s=args.threshold_s,
        progress=not args.quiet,
    )  # fmt: skip
    recognised = ("turnaround_study.json", *EVALUATION_FILES)
    with staged_folder(args.out, recognised=recognised) as stage:  # swapped in at the end
        paths = [args.out / p.relative_to(stage)
                 for p in write_outputs(study, stage, args.threshold_s)]  # fmt: skip
    if not args.quiet:
        _print_tables(study.tables, args.episodes, args.threshold_s)
        print(
            f"{len(study.result.episodes)} episodes in {time.perf_counter() - began:.1f} s -> "
            + ", ".join(str(p) for p in paths)
        )
    return 0


def write_outputs(study: TurnaroundStudy, out: Path, threshold_s: float) -> list[Path]:
    """The evaluation files, the tables as CSV, ``turnaround_study.json`` and the figures."""
    result, tables = study.result, study.tables
    paths = write_results(result, out, plots=False, fresh=False)
    paths.append(plot_turnaround_cdf(result, out / "turnaround_cdf.png"))
    paths += [write_rows(out / f"{name}.csv", rows) for name, rows in tables.items()]
    clean = {
        name: [
            {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
            for r in rows
        ]
        for name, rows in tables.items()
    }
    summary = {
        "config": {**result.config, "threshold_s": threshold_s},
        "definitions": {
            "share": "jobs with turnaround < threshold_s / all jobs that arrived "
            "(dropped ones included); 95 % percentile bootstrap over episodes",
            "pass_timing": list(TIMING_BINS),
            "stages": list(STAGES),
            "share_columns": list(SHARE_COLUMNS),
        },
        "passes_over_origins": study.passes_over_origins,
        **clean,
    }
    with atomic_write(out / "turnaround_study.json") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    paths.append(out / "turnaround_study.json")
    paths.append(plot_turnaround_vs_submission(
        study.table, study.plan, out / "turnaround_vs_submission.png", threshold_s=threshold_s
    ))  # fmt: skip
    panels = [
        ("by submission time relative to the passes over the origin station", "pass_timing",
         tables["share_by_pass_timing"]),
        ("by origin station", "origin_station", tables["share_by_origin"]),
    ]  # fmt: skip
    paths.append(plot_shares(panels, out / "share_under_threshold.png", threshold_s=threshold_s))
    return paths
