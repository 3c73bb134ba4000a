"""Generate TLEs for a Walker-delta or sun-synchronous shell (the project's own data).

Example (the file shipped as configs/tle/star_compute_12.tle):
    constellation-dispatch generate-tles --altitude-km 500 --planes 1 --sats-per-plane 12 \
        --inclination sso --ltan-hours 10.5 --epoch 2025-06-01T00:00:00Z \
        --name-prefix STAR --first-catnr 90001 --out configs/tle/star_compute_12.tle

``python scripts/generate_tles.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from envs.errors import ConfigError
from envs.orbits import Shell, shell_tles, write_tles
from envs.timeutil import parse_utc


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Generate a shell of circular orbits (Walker i:T/P/F, or sun-synchronous) "
        "and write it as a CelesTrak-style 3-line TLE file.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--altitude-km", type=float, required=True, help="Circular altitude.")
    parser.add_argument("--planes", type=int, required=True, help="Orbital planes P.")
    parser.add_argument("--sats-per-plane", type=int, required=True, help="Satellites per plane.")
    parser.add_argument(
        "--inclination",
        default="sso",
        help="Inclination in degrees, or 'sso' for the sun-synchronous inclination (J2).",
    )
    parser.add_argument("--phasing", type=int, default=0, help="Walker phasing F (0 <= F < P).")
    parser.add_argument(
        "--raan-spread-deg", type=float, default=360.0, help="360 = Walker delta, 180 = star."
    )
    parser.add_argument("--raan0-deg", type=float, default=0.0, help="RAAN of the first plane.")
    parser.add_argument(
        "--ltan-hours",
        type=float,
        default=None,
        help="Local time of the ascending node (sets the first plane's RAAN at the epoch).",
    )
    parser.add_argument("--epoch", required=True, help="Element epoch, ISO 8601 UTC.")
    parser.add_argument("--name-prefix", default="SAT", help="Satellite name prefix.")
    parser.add_argument("--first-catnr", type=int, default=90001, help="First catalogue number.")
    parser.add_argument("--out", type=Path, required=True, help="Output TLE file.")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    if args.inclination.strip().lower() == "sso":
        inclination = None
    else:
        try:
            inclination = float(args.inclination)
        except ValueError:
            raise ConfigError(
                f"--inclination: expected degrees or 'sso', got {args.inclination!r}"
            ) from None
    shell = Shell(
        args.altitude_km,
        planes=args.planes,
        sats_per_plane=args.sats_per_plane,
        inclination_deg=inclination,
        phasing=args.phasing,
        raan_spread_deg=args.raan_spread_deg,
        raan0_deg=args.raan0_deg,
        ltan_hours=args.ltan_hours,
        name_prefix=args.name_prefix,
        first_catnr=args.first_catnr,
    )
    tles = shell_tles(shell, parse_utc(args.epoch, "--epoch"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_tles(args.out, tles)
    print(f"wrote {len(tles)} TLEs to {args.out}")
    return 0

