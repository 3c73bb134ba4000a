r"""Compute every satellite–ground-station pass over a horizon and write it as CSV.

Example:
    constellation-dispatch plan --tle configs/tle/star_compute_12.tle \\
        --stations configs/ground_stations/china.yaml --start 2025-06-01T00:00:00Z \\
        --hours 24 --min-elevation 10 --out passes.csv --plot passes.png

``python scripts/contact_plan.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

from agents.cli._common import add_cache_options, cache_dir_of, check_plan_options
from envs.atomic import atomic_write
from envs.contact_plan import CSV_COLUMNS, compute_contact_plan
from envs.contact_plan.search import MAX_STEP_S, check_grid
from envs.errors import ConfigError
from envs.ground import load_networks
from envs.orbits import Constellation, load_elements
from envs.orbits.tle import check_epoch_age, check_epoch_distance
from envs.timeutil import check_sgp4_range, parse_utc


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Compute the contact plan (all passes above each station's elevation mask) "
        "of a constellation over a ground network and write it as CSV with columns "
        + ",".join(CSV_COLUMNS)
        + " (UTC ISO 8601, sorted by rise).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--tle",
        required=True,
        type=Path,
        help="Element-set file: TLE (CelesTrak 2-line or 3-line format) or CelesTrak OMM as "
        "JSON, CSV or XML (detected from the content, else the extension). Satellites are "
        "named by the name line or OBJECT_NAME, else by catalogue number; a name used twice "
        "is an error naming both (CSV rows are told apart by name).",
    )
    parser.add_argument(
        "--stations",
        required=True,
        type=Path,
        nargs="+",
        help="Ground-station file(s): YAML (configs/ground_stations/*.yaml format), GeoJSON "
        "(a FeatureCollection of Points, [lon, lat(, alt_m)], properties.name) or CSV "
        "(columns name,lat_deg,lon_deg and optionally alt_m,min_elevation_deg,network,"
        "uplink_bps,downlink_bps).",
    )
    parser.add_argument(
        "--start",
        required=True,
        help="Start of the horizon, ISO 8601 UTC, e.g. 2025-06-01T00:00:00Z; the horizon must "
        "lie in 1957-2056 (the years a TLE epoch can name) and within a year of every TLE "
        "epoch (more than 14 days away is a warning).",
    )
    parser.add_argument("--hours", type=float, default=24.0, help="Length of the horizon in hours.")
    parser.add_argument(
        "--min-elevation",
        type=float,
        default=None,
        help="Elevation mask in degrees applied to every station "
        "(default: each station's own min_elevation_deg).",
    )
    parser.add_argument("--out", type=Path, default=Path("passes.csv"), help="Output CSV path.")
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="Also draw a contact Gantt chart (stations × time) to this image file.",
    )
    parser.add_argument(
        "--step",
        type=float,
        default=180.0,
        help="Coarse search grid step in seconds (results do not depend on it; "
        "short passes between grid points are still found).",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Processes searching chunks of satellites at once (default: every core, at most "
        "8, for a large job; 1 for a small one). The passes do not depend on it.",
    )
    add_cache_options(parser)
    parser.add_argument("--quiet", action="store_true", help="No progress bar or summary.")
    return parser


def write_csv(path: Path, rows: Sequence[tuple]) -> None:
    """Write rows under CSV_COLUMNS atomically (temp file in the same folder, then rename)."""
    with atomic_write(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    check_plan_options(args)
    horizon_s = args.hours * 3600.0
    start = check_sgp4_range(parse_utc(args.start, "--start"), horizon_s, "--start")
    tles = load_elements(args.tle)
    check_epoch_distance(tles, start, horizon_s, f"--tle {args.tle}")
    check_epoch_age(tles, start, f"--tle {args.tle}")
    constellation = Constellation.from_tles(tles)
    stations = load_networks(args.stations)
    if args.min_elevation is not None:
        stations = [dataclasses.replace(s, min_elevation_deg=args.min_elevation) for s in stations]
    if not 0 < args.step <= MAX_STEP_S:
        raise ConfigError(f"--step: must be in (0, {MAX_STEP_S:g}] seconds, got {args.step:g}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: must be at least 1, got {args.workers}")
    check_grid(
        args.hours * 3600.0, args.step, len(constellation), len(stations),
        fields=("--hours", "--step"), horizon_unit_s=3600.0,
    )  # fmt: skip
    began = time.perf_counter()
    plan = compute_contact_plan(
        constellation,
        stations,
        start,
        horizon_s,
        step_s=args.step,
        cache_dir=cache_dir_of(args),
        progress=not args.quiet,
        workers=args.workers,
    )
    write_csv(args.out, plan.rows())
    if args.plot is not None:
        from envs.render import plot_contact_gantt

        plot_contact_gantt(plan, args.plot)
    if not args.quiet:
        print(
            f"{len(plan)} passes of {len(constellation)} satellites over {len(stations)} stations "
            f"in {args.hours:g} h ({time.perf_counter() - began:.2f} s) -> {args.out}"
            + (f", {args.plot}" if args.plot else "")
        )
    return 0

