r"""Inter-satellite link study: turnaround with links off versus on, on the same episodes.

Runs each agent on the same seeds (paired) in the scenario without inter-satellite links and
with them (``isl.enabled=true``) at each ``--max-hops``, through the evaluation harness
(``agents.evaluate.run_episode``), and reports the mean, median and 95th percentile of the
turnaround of completed jobs, the share of arrived jobs delivered under the threshold
(120 s), the share of delivered results that were relayed, and the paired difference to
links off with a 95 % bootstrap interval over seeds.

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

import numpy as np
from tqdm import tqdm

from agents.cli._common import add_set_option, check_run_options, parse_overrides
from agents.cli.study_turnaround import write_rows
from agents.evaluate import parse_agents, run_episode
from envs.atomic import atomic_write, staged_folder
from envs.contact_plan import default_cache_dir
from envs.errors import ConfigError
from envs.scenario import load_scenario
from envs.sim import build_world

THRESHOLD_S = 120.0
RESAMPLES = 2000
#: Per-episode metrics, and those compared pairwise against links off.
METRICS = ("mean_s", "p50_s", "p95_s", "share_under", "drop_share", "relayed_share")
PAIRED = ("mean_s", "p50_s", "p95_s", "share_under")


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


def variants(hops: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Variant label → its ISL overrides (``off`` first)."""
    out: dict[str, dict[str, Any]] = {"off": {"isl.enabled": False}}
    for h in hops:
        out[f"isl_{h}hop"] = {"isl.enabled": True, "isl.max_hops": h}
    return out


def episode_row(jobs: dict[str, np.ndarray], threshold_s: float) -> dict[str, float]:
    """Turnaround statistics of one episode's job table."""
    done = jobs["status"] == "completed"
    turn = jobs["turnaround_s"][done]
    n = len(jobs["job"])
    stats = np.percentile(turn, [50, 95]) if len(turn) else [math.nan, math.nan]
    hops = jobs.get("isl_hops")
    return {
        "jobs": n,
        "completed": int(done.sum()),
        "mean_s": float(turn.mean()) if len(turn) else math.nan,
        "p50_s": float(stats[0]),
        "p95_s": float(stats[1]),
        "share_under": float((turn < threshold_s).sum() / n) if n else math.nan,
        "drop_share": float((jobs["status"] == "dropped").sum() / n) if n else math.nan,
        "relayed_share": float((hops[done] > 0).mean()) if hops is not None and len(turn) else 0.0,
    }


def paired_ci(diffs: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean paired difference and its 95 % percentile bootstrap interval over seeds.

    >>> paired_ci(np.array([1.0, 1.0, 1.0]), np.random.default_rng(0))
    (1.0, 1.0, 1.0)
    """
    diffs = diffs[np.isfinite(diffs)]
    if not len(diffs):
        return math.nan, math.nan, math.nan
    idx = rng.integers(0, len(diffs), size=(RESAMPLES, len(diffs)))
    means = diffs[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diffs.mean()), float(low), float(high)


def summarise(
    rows: list[dict[str, Any]], pooled: dict[tuple[str, str], list[np.ndarray]], threshold_s: float
) -> list[dict[str, Any]]:
    """One row per (variant, agent): pooled statistics and paired differences to ``off``."""
    out = []
    by = {(r["variant"], r["agent"], r["seed"]): r for r in rows}
    for (variant, agent), turns in pooled.items():
        eps = [r for r in rows if r["variant"] == variant and r["agent"] == agent]
        turn = np.concatenate(turns) if turns else np.zeros(0)
        n = sum(r["jobs"] for r in eps)
        row: dict[str, Any] = {
            "variant": variant,
            "agent": agent,
            "episodes": len(eps),
            "jobs": n,
            "completed": sum(r["completed"] for r in eps),
            "mean_s": float(turn.mean()) if len(turn) else math.nan,
            "p50_s": float(np.percentile(turn, 50)) if len(turn) else math.nan,
            "p95_s": float(np.percentile(turn, 95)) if len(turn) else math.nan,
            "share_under": float((turn < threshold_s).sum() / n) if n else math.nan,
            "drop_share": float(np.mean([r["drop_share"] for r in eps])),
            "relayed_share": float(np.mean([r["relayed_share"] for r in eps])),
        }
        rng = np.random.default_rng(0)
        for key in PAIRED:
            diffs = np.array(
                [r[key] - by[("off", agent, r["seed"])][key] for r in eps], dtype=float
            )
            row[f"d_{key}"], row[f"d_{key}_low"], row[f"d_{key}_high"] = paired_ci(diffs, rng)
        out.append(row)
    return out


def plot(summary: list[dict[str, Any]], path: Path, threshold_s: float) -> Path:
    """Mean and p95 turnaround, and the share under the threshold, per variant and agent."""
    import matplotlib.pyplot as plt

    from agents.plots import save_figure

    labels = list(dict.fromkeys(r["variant"] for r in summary))
    agents = list(dict.fromkeys(r["agent"] for r in summary))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    width = 0.8 / max(len(agents), 1)
    x = np.arange(len(labels))
    panels = (("mean_s", "mean turnaround (min)", 60.0), ("p95_s", "p95 turnaround (min)", 60.0),
              ("share_under", f"share under {threshold_s:g} s (%)", 0.01))  # fmt: skip
    for ax, (key, title, unit) in zip(axes, panels, strict=True):
        for i, agent in enumerate(agents):
            vals = [
                next((r[key] / unit for r in summary if r["variant"] == v and r["agent"] == agent),
                     math.nan)
                for v in labels
            ]  # fmt: skip
            ax.bar(x + i * width, vals, width, label=agent)
        ax.set_xticks(x + width * (len(agents) - 1) / 2, labels)
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    return save_figure(fig, path)


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
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    pooled: dict[tuple[str, str], list[np.ndarray]] = {}
    total = len(labels) * len(specs) * len(seeds)
    with tqdm(total=total, disable=args.quiet, unit="ep", leave=False) as bar:
        for label, isl in labels.items():
            over = {**overrides, **isl}
            scenario = load_scenario(args.scenario, {**over, "load": args.load})
            world = build_world(scenario, cache_dir=default_cache_dir(), progress=not args.quiet)
            for spec in specs:
                for seed in seeds:
                    bar.set_description(f"{label} {spec.label} seed {seed}")
                    r = run_episode(
                        args.scenario, spec, args.load, seed, world=world, overrides=over
                    )
                    rows.append({"variant": label, "agent": spec.label, "seed": seed,
                                 **episode_row(r.jobs, args.threshold_s)})  # fmt: skip
                    done = r.jobs["status"] == "completed"
                    pooled.setdefault((label, spec.label), []).append(r.jobs["turnaround_s"][done])
                    bar.update()
    summary = summarise(rows, pooled, args.threshold_s)
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
        paths.append(plot(summary, args.out / "isl_study.png", args.threshold_s))
    args.out = final
    paths = [final / p.relative_to(stage) for p in paths]
    if not args.quiet:
        _print_table(summary, args.threshold_s)
        print(f"{len(rows)} episodes in {time.perf_counter() - began:.1f} s -> "
              + ", ".join(str(p) for p in paths))  # fmt: skip
    return 0

