"""The ground-network study: contacts, gaps and downlink capacity for each choice of networks.

For a scenario, every network of its station files is loaded (:func:`load_study_scenario`),
the contact plan is computed once over the horizon, and each choice of networks (a name,
several joined by ``+``, or ``all``) under each antenna assumption gives one row of
:func:`agents.analysis.capacity.network_capacity` statistics (:func:`study_rows`).
:func:`add_ratios` divides each row's capacity by the best single-network option of its
scenario. The command (``constellation-dispatch study ground-network``) parses the options,
shows progress and writes the files; the figure is :func:`agents.analysis.figures.plot_capacity`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.analysis.capacity import SUMMARY_COLUMNS, network_capacity, pass_rates_bytes_per_s
from envs.contact_plan import compute_contact_plan
from envs.errors import ConfigError
from envs.ground import Station
from envs.orbits import Constellation
from envs.scenario import Scenario, load_scenario
from envs.sim.world import scenario_stations, scenario_tles

__all__ = [
    "COLUMNS",
    "Choice",
    "add_ratios",
    "load_study_scenario",
    "resolve_choices",
    "study_rows",
]

#: Columns of the study's rows (``ground_network.csv``).
COLUMNS = (
    "scenario",
    "option",
    *SUMMARY_COLUMNS,
    "hours",
    "best_single",
    "ratio_to_best_single",
)
Choice = tuple[str, tuple[str, ...] | None]  # label, networks (None: all)


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


def load_study_scenario(
    name: str,
    overrides: Mapping[str, Any],
    *,
    rate_model: str | None = None,
    min_elevation_deg: float | None = None,
) -> Scenario:
    """The scenario with every network of its station files in use, and the overrides."""
    over: dict[str, Any] = {
        **overrides,
        "networks": None,
        "ground.uplink_networks": None,
        "ground.downlink_networks": None,
    }
    if rate_model is not None:
        over["ground.rate_model"] = rate_model
    if min_elevation_deg is not None:
        over["ground.min_elevation_deg"] = min_elevation_deg
    return load_scenario(name, over)


def study_rows(
    scenario: Scenario,
    labels: Sequence[str],
    antennas: Sequence[int | None],
    hours: float,
    *,
    cache_dir: Path | None = None,
    on_step: Callable[[str], None] = lambda what: None,
    on_option: Callable[[], None] = lambda: None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows (one per network choice and antenna assumption) and the scenario's settings.

    ``on_step`` hears what is being computed (for a progress bar's description),
    ``on_option`` each finished row.
    """
    tles, _ = scenario_tles(scenario)
    stations = scenario_stations(scenario)
    choices = resolve_choices(labels, stations)
    on_step(f"{scenario.name}: contact plan")
    plan = compute_contact_plan(
        Constellation.from_tles(tles),
        stations,
        scenario.episode.epoch,
        hours * 3600.0,
        step_s=scenario.episode.contact_step_s,
        cache_dir=cache_dir,
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
            on_step(f"{scenario.name}: {label}, antennas {n_antennas or 'unlimited'}")
            cap = network_capacity(plan, rates, networks, antennas_per_station=n_antennas)
            rows.append({"scenario": scenario.name, "option": label, **cap.summary()})
            on_option()
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
