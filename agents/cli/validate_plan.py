"""Compare the contact plan with skyfield ``find_events`` and print the worst differences.

Examples (the figures quoted in docs/concepts.md, "Contact plan"):
    constellation-dispatch validate-plan --tle ../shared/data/tle/iridium_next_20260103.tle
    constellation-dispatch validate-plan --step 300

``python scripts/validate_contact_plan.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from envs.contact_plan import compute_contact_plan
from envs.contact_plan.validate import REFERENCE_STATIONS, compare_with_skyfield
from envs.orbits import Constellation, Shell, load_elements, shells_tles
from envs.timeutil import builtin_timescale, parse_utc

EPOCH = datetime(2026, 1, 3, 12, 0, tzinfo=timezone.utc)


def generated_tles(epoch: datetime):
    """The project's own shells used by the tests: an SSO string of pearls and a Walker shell."""
    return shells_tles(
        [
            Shell(500.0, planes=1, sats_per_plane=12, inclination_deg=None, ltan_hours=10.5,
                  name_prefix="SC", first_catnr=91001),
            Shell(550.0, planes=4, sats_per_plane=5, inclination_deg=53.0, phasing=1,
                  name_prefix="WD", first_catnr=92001),
        ],
        epoch,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tle", type=Path, default=None,
                        help="TLE or OMM file (default: the tests' generated shells)")  # fmt: skip
    parser.add_argument("--start", default=EPOCH.isoformat(), help="Start, ISO 8601 UTC.")
    parser.add_argument("--hours", type=float, default=24.0, help="Horizon in hours.")
    parser.add_argument("--step", type=float, default=None, help="Grid step (default: library).")
    args = parser.parse_args(argv)
    start = parse_utc(args.start, "--start")
    tles = load_elements(args.tle) if args.tle else generated_tles(start)
    ts = builtin_timescale()
    kwargs = {} if args.step is None else {"step_s": args.step}
    plan = compute_contact_plan(
        Constellation.from_tles(tles), REFERENCE_STATIONS, start, args.hours * 3600.0, ts=ts,
        **kwargs,
    )  # fmt: skip
    c = compare_with_skyfield(plan, tles, REFERENCE_STATIONS, ts)
    size = f"{len(tles)} satellites x {len(REFERENCE_STATIONS)} stations x {args.hours:g} h"
    print(f"{size}: {c.passes} complete passes compared, {len(c.count_mismatches)} pairs differ")
    for line in c.count_mismatches[:10]:
        print("  " + line)
    print(f"  max |rise/set - skyfield|           {c.worst_time_s:.3f} s")
    print(f"  max |max elevation - skyfield|      {c.worst_max_el_deg:.4f} deg")
    print(
        f"  skyfield altitude at our rise/set   within {c.worst_alt_at_event_deg:.1e} deg of mask"
    )
    print(f"  skyfield altitude at our peak       within {c.worst_alt_at_peak_deg:.1e} deg of ours")
    print(f"  min (our peak - skyfield's peak)    {c.min_peak_margin_deg:.4f} deg")
    return 1 if c.count_mismatches else 0

