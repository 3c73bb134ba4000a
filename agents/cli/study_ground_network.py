r"""``study ground-network``: contacts, gaps and downlink capacity for each choice of networks.

The study itself is :mod:`agents.analysis.ground_network`; this command parses the options,
shows progress, prints the table and writes the files.

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

from agents.analysis.capacity import RATE_MODELS
from agents.analysis.figures import plot_capacity
from agents.analysis.ground_network import (
    COLUMNS,
    add_ratios,
    load_study_scenario,
    resolve_choices,
    study_rows,
)
from agents.cli._common import (
    add_cache_options,
    add_set_option,
    cache_dir_of,
    check_plan_options,
    parse_overrides,
)
from envs.atomic import atomic_write, staged_folder
from envs.errors import ConfigError
from envs.sim.world import scenario_stations

DEFAULT_NETWORKS = "china,aws,ksat,aws+ksat,all"


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
    overrides = parse_overrides(args.set)
    loaded = [
        load_study_scenario(name, overrides, rate_model=args.rate_model,
                            min_elevation_deg=args.min_elevation)
        for name in scenarios
    ]  # fmt: skip
    for scenario in loaded:  # bad choices fail before any work
        resolve_choices(labels, scenario_stations(scenario))
    rows: list[dict[str, Any]] = []
    settings = []
    total = len(scenarios) * len(labels) * len(antennas)
    with tqdm(total=total, disable=args.quiet, unit="option") as bar:
        for scenario in loaded:
            scenario_rows, scenario_settings = study_rows(
                scenario, labels, antennas, args.hours, cache_dir=cache_dir_of(args),
                on_step=bar.set_description, on_option=bar.update,
            )  # fmt: skip
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

