r"""Ground-network study: contacts, gaps and downlink capacity for each choice of networks.

Example:
    constellation-dispatch study ground-network --scenarios star_compute_12,walker_100 \\
        --networks china,aws,ksat,aws+ksat,all --hours 24 --out out/ground_network

``python scripts/ground_network_study.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agents.cli._common import (
    add_cache_options,
    add_set_option,
    cache_dir_of,
    check_plan_options,
    parse_overrides,
)
from envs.atomic import atomic_write, staged_folder
from envs.capacity import RATE_MODELS, SUMMARY_COLUMNS, network_capacity, pass_rates_bytes_per_s
from envs.contact_plan import compute_contact_plan
from envs.errors import ConfigError
from envs.ground import Station
from envs.orbits import Constellation
from envs.scenario import Scenario, load_scenario
from envs.sim.world import scenario_stations, scenario_tles

DEFAULT_NETWORKS = "china,aws,ksat,aws+ksat,all"
COLUMNS = (
    "scenario",
    "option",
    *SUMMARY_COLUMNS,
    "hours",
    "best_single",
    "ratio_to_best_single",
)
Choice = tuple[str, tuple[str, ...] | None]  # label, networks (None: all)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="For each scenario and each choice of ground networks, compute per day: "
        "passes, contact minutes (a satellite's passes over several stations merged), mean "
        "and max gap between contacts, and downlink capacity in GB/day (1e9 bytes; each "
        "pass at its station's downlink rate under the scenario's rate model, a satellite "
        "using its best link when it sees several stations, as the simulator does). Writes "
        "DIR/ground_network.csv, DIR/ground_network.json and DIR/ground_network.png, and "
        "prints a table with the capacity of each option divided by that of the best "
        "single-network option. Bad input exits with status 2 and a one-line error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--scenarios",
        default="star_compute_12,walker_100",
        help="Comma-separated preset names or YAML paths. Every network of the scenario's "
        "station files is loaded, whatever its ground.networks says.",
    )
    parser.add_argument(
        "--networks",
        default=DEFAULT_NETWORKS,
        help="Comma-separated network choices: a network name (china, ksat, aws), several "
        "joined by '+', or 'all' (every network of the station files).",
    )
    parser.add_argument(
        "--hours", type=float, default=24.0, help="Horizon from the scenario's epoch, hours."
    )
    parser.add_argument(
        "--antennas",
        default="unlimited,1",
        help="Comma-separated station antenna assumptions: 'unlimited' (a station serves any "
        "number of satellites at once, the simulator's model) or N (at most N at once; "
        "instant hand-overs, so an upper bound for real scheduling).",
    )
    parser.add_argument(
        "--rate-model",
        choices=RATE_MODELS,
        default=None,
        help="Link-rate model (default: each scenario's ground.rate_model).",
    )
    parser.add_argument(
        "--min-elevation",
        type=float,
        default=None,
        help="Elevation mask in degrees for every station (default: the scenario's).",
    )
    parser.add_argument("--out", type=Path, default=Path("out/ground_network"), help="DIR.")
    add_cache_options(parser)
    add_set_option(parser, "--set episode.epoch=2025-07-01T00:00:00Z (every scenario; the "
                   "study's network choices apply over it)")
    parser.add_argument("--quiet", action="store_true", help="No progress bars and no table.")
    return parser


def parse_list(option: str, text: str) -> list[str]:
    """Comma-separated, non-empty, distinct items."""
    items = [x.strip() for x in text.split(",")]
    if not all(items) or len(set(items)) != len(items):
        raise ConfigError(f"{option}: expected distinct names separated by commas, got {text!r}")
    return items


def parse_antennas(text: str) -> list[int | None]:
    """``"unlimited,1"`` → ``[None, 1]``."""
    out: list[int | None] = []
    for item in parse_list("--antennas", text):
        if item == "unlimited":
            out.append(None)
        elif item.isdigit() and int(item) >= 1:
            out.append(int(item))
        else:
            raise ConfigError(f"--antennas: expected 'unlimited' or an integer >= 1, got {item!r}")
    return out


def resolve_choices(labels: Sequence[str], stations: Sequence[Station]) -> list[Choice]:
    """Network choices from ``--networks`` labels, checked against the stations' networks."""
    known = list(dict.fromkeys(s.network for s in stations))
    out: list[Choice] = []
    for label in labels:
        if label == "all":
            out.append((label, None))
            continue
        names = tuple(label.split("+"))
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"--networks: unknown network {name!r} in {label!r} "
                    f"(networks of the station files: {', '.join(known)})"
                )
        out.append((label, names))
    return out


def load_study_scenario(name: str, args: argparse.Namespace) -> Scenario:
    """The scenario with every network of its station files in use, and the CLI overrides."""
    overrides: dict[str, Any] = {
        **parse_overrides(args.set),
        "networks": None,
        "ground.uplink_networks": None,
        "ground.downlink_networks": None,
    }
    if args.rate_model is not None:
        overrides["ground.rate_model"] = args.rate_model
    if args.min_elevation is not None:
        overrides["ground.min_elevation_deg"] = args.min_elevation
    return load_scenario(name, overrides)


def study_scenario(
    scenario: Scenario,
    labels: Sequence[str],
    antennas: Sequence[int | None],
    args: argparse.Namespace,
    bar: tqdm,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows (one per network choice and antenna assumption) and the scenario's settings."""
    tles, _ = scenario_tles(scenario)
    stations = scenario_stations(scenario)
    choices = resolve_choices(labels, stations)
    bar.set_description(f"{scenario.name}: contact plan")
    plan = compute_contact_plan(
        Constellation.from_tles(tles),
        stations,
        scenario.episode.epoch,
        args.hours * 3600.0,
        step_s=scenario.episode.contact_step_s,
        cache_dir=cache_dir_of(args),
    )
    g = scenario.ground
    rates = pass_rates_bytes_per_s(
        plan,
        [s.downlink_bps for s in stations],
        rate_model=g.rate_model,
        reference_range_km=g.reference_range_km,
    )
    rows = []
    for n_antennas in antennas:
        for label, networks in choices:
            bar.set_description(f"{scenario.name}: {label}, antennas {n_antennas or 'unlimited'}")
            cap = network_capacity(plan, rates, networks, antennas_per_station=n_antennas)
            rows.append({"scenario": scenario.name, "option": label, **cap.summary()})
            bar.update()
    settings = {
        "scenario": scenario.name,
        "source": str(scenario.source),
        "epoch": scenario.episode.epoch.isoformat(),
        "satellites": len(plan.satellite_names),
        "stations": {n: sum(s.network == n for s in stations) for n in plan.network_names},
        "passes": len(plan),
        "rate_model": g.rate_model,
        "reference_range_km": g.reference_range_km,
        "min_elevation_deg": g.min_elevation_deg,
        "downlink_bps": sorted({s.downlink_bps for s in stations}),
        "contact_step_s": scenario.episode.contact_step_s,
    }
    return rows, settings


def add_ratios(rows: list[dict[str, Any]], hours: float) -> None:
    """Capacity over the best single-network option of the same scenario and antenna count."""
    for row in rows:
        group = [
            r
            for r in rows
            if r["scenario"] == row["scenario"]
            and r["antennas_per_station"] == row["antennas_per_station"]
            and "+" not in r["networks"]
        ]
        best = max(group, key=lambda r: r["capacity_gb_per_day"], default=None)
        row["hours"] = hours
        row["best_single"] = best["option"] if best else ""
        row["ratio_to_best_single"] = (
            row["capacity_gb_per_day"] / best["capacity_gb_per_day"]
            if best and best["capacity_gb_per_day"] > 0
            else math.nan
        )


def write_outputs(rows: list[dict[str, Any]], config: dict[str, Any], out: Path) -> list[Path]:
    """``ground_network.csv`` (empty cells for NaN), ``.json`` (NaN as null) and ``.png``."""
    paths = [out / "ground_network.csv", out / "ground_network.json", out / "ground_network.png"]
    clean = [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
        for r in rows
    ]
    with atomic_write(paths[0], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows([("" if r[c] is None else r[c]) for c in COLUMNS] for r in clean)
    with atomic_write(paths[1]) as fh:
        json.dump({"config": config, "rows": clean}, fh, indent=2)
        fh.write("\n")
    plot_capacity(rows, paths[2], config["hours"])
    return paths


def plot_capacity(rows: list[dict[str, Any]], path: Path, hours: float) -> None:
    """Grouped bars: capacity per network choice, one panel per scenario, one bar per antenna."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    kinds = list(dict.fromkeys(r["antennas_per_station"] for r in rows))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.5 * len(scenarios), 4.2), squeeze=False)
    width = 0.8 / len(kinds)
    for ax, name in zip(axes[0], scenarios, strict=True):
        options = list(dict.fromkeys(r["option"] for r in rows if r["scenario"] == name))
        x = np.arange(len(options))
        for k, kind in enumerate(kinds):
            by = {
                r["option"]: r
                for r in rows
                if r["scenario"] == name and r["antennas_per_station"] == kind
            }
            heights = [by[o]["capacity_gb_per_day"] for o in options]
            label = "any number of satellites" if kind == "unlimited" else f"{kind} at a time"
            bars = ax.bar(x + (k - (len(kinds) - 1) / 2) * width, heights, width, label=label)
            for bar, o in zip(bars, options, strict=True):
                ratio = by[o]["ratio_to_best_single"]
                if "+" in by[o]["networks"] and not math.isnan(ratio):
                    ax.annotate(
                        f"×{ratio:.2f}",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                    )
        ax.set_xticks(x)
        ax.set_xticklabels(options, fontsize=8)
        ax.set_ylabel("downlink capacity, GB/day")
        ax.set_title(f"{name} ({hours:g} h)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(title="a station antenna serves", fontsize=7, title_fontsize=7)
    fig.suptitle("×: capacity / best single network", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a rich table (per-day figures)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    def num(x: float, digits: int = 1) -> str:
        return "-" if isinstance(x, float) and math.isnan(x) else f"{x:,.{digits}f}"

    table = Table(
        title="Ground networks: contacts and downlink capacity per day",
        caption="contact and gaps per satellite; × best: capacity / best single network",
        box=box.SIMPLE_HEAD,
    )
    heads = ("scenario", "networks", "antennas", "stations", "passes", "contact min/sat",
             "mean gap min", "max gap min", "GB/day", "× best")  # fmt: skip
    for head in heads:
        table.add_column(head, justify="left" if head in heads[:3] else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            r["scenario"], r["option"], str(r["antennas_per_station"]), str(r["stations"]),
            num(r["passes_per_day"], 0), num(r["contact_min_per_sat_day"]),
            num(r["mean_gap_min"]), num(r["max_gap_min"]), num(r["capacity_gb_per_day"], 0),
            num(r["ratio_to_best_single"], 2),
        )  # fmt: skip
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 130)
    console.print(table)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    check_plan_options(args)
    scenarios = parse_list("--scenarios", args.scenarios)
    labels = parse_list("--networks", args.networks)
    antennas = parse_antennas(args.antennas)
    began = time.perf_counter()
    loaded = [load_study_scenario(name, args) for name in scenarios]
    for scenario in loaded:  # bad choices fail before any work
        resolve_choices(labels, scenario_stations(scenario))
    rows: list[dict[str, Any]] = []
    settings = []
    total = len(scenarios) * len(labels) * len(antennas)
    with tqdm(total=total, disable=args.quiet, unit="option") as bar:
        for scenario in loaded:
            scenario_rows, scenario_settings = study_scenario(scenario, labels, antennas, args, bar)
            rows += scenario_rows
            settings.append(scenario_settings)
    add_ratios(rows, args.hours)
    config = {
        "command": (prog or "python scripts/ground_network_study.py") + " "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "hours": args.hours,
        "networks": labels,
        "antennas_per_station": ["unlimited" if a is None else a for a in antennas],
        "gigabyte": 1e9,
        "scenarios": settings,
    }
    recognised = ("ground_network.csv", "ground_network.json")
    with staged_folder(args.out, recognised=recognised) as stage:  # swapped in whole
        paths = [args.out / p.relative_to(stage) for p in write_outputs(rows, config, stage)]
    if not args.quiet:
        print_table(rows)
        print(f"{len(rows)} rows in {time.perf_counter() - began:.1f} s -> "
              + ", ".join(str(p) for p in paths))  # fmt: skip
    return 0

