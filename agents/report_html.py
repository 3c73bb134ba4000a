"""``report.html``: one self-contained page of an evaluation, with interactive figures.

The page holds the summary and comparison tables and five plotly figures: turnaround CDFs per
load, cost per job / mean / drop rate against load, a per-job Gantt chart of one episode
(the first agent's first seed at the first load) and the ground tracks of the scenario's
satellites with its stations and the contacts in progress at one instant. plotly's JavaScript
is inlined once (no CDN, no other file): the page works offline. The map draws no coastlines,
which plotly would download; it shows a latitude/longitude grid instead.

Figures get fixed element ids, so the same evaluation gives the same file. The page's
building blocks (document, tables, figure divisions) are :mod:`agents.html_page`, which the
suite's page shares.

>>> from agents.evaluate import evaluate
>>> res = evaluate("toy", ["random", "ect"], loads=[1.0], episodes=1, seed=0, progress=False)
>>> page = report_html(res)
>>> page.startswith("<!DOCTYPE html>") and 'id="fig-gantt"' in page
True
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.html_page import figure_div, html_table, note, page, section
from agents.results import BOUND_LABEL, EvaluationResult, short_label
from agents.units import TimeUnit, time_unit
from envs.atomic import atomic_write
from envs.errors import ConfigError

if TYPE_CHECKING:
    from envs.sim import World

__all__ = [
    "MAX_GANTT_JOBS",
    "MAX_MAP_SATS",
    "REPORT_NAME",
    "report_html",
    "scenario_world",
    "write_report",
]

REPORT_NAME = "report.html"
#: The Gantt chart shows at most this many jobs (the first to arrive).
MAX_GANTT_JOBS = 300
#: The map draws the ground tracks of at most this many satellites (evenly spaced indices).
MAX_MAP_SATS = 60
TRACK_S = 3600.0
TRACK_STEP_S = 60.0
_STAGES = (  # Gantt bars: (name, start column, end column, colour)
    ("waiting for uplink", "arrival_s", "uplink_start_s", "#d9d9d9"),
    ("uplink", "uplink_start_s", "uplink_end_s", "#1f77b4"),
    ("waiting for compute", "uplink_end_s", "compute_start_s", "#ffbb78"),
    ("compute", "compute_start_s", "compute_end_s", "#d62728"),
    ("waiting for downlink", "compute_end_s", "downlink_start_s", "#98df8a"),
    ("downlink", "downlink_start_s", "delivered_s", "#2ca02c"),
)
# ------------------------------------------------------------------------------ tables
def _summarysection(summary: Sequence[Mapping[str, Any]]) -> str:
    keys = ("mean_turnaround_s", "p50_turnaround_s", "p95_turnaround_s", "p99_turnaround_s",
            "cost_per_job_s")  # fmt: skip
    unit = time_unit(r[k] for r in summary for k in keys)
    few = any(r.get("few_seeds") for r in summary)
    header = ("agent", "load", "episodes", f"mean ({unit.name})", "95 % CI", "p50", "p95",
              "p99", "done", "dropped", "drop %", f"cost/job ({unit.name})")  # fmt: skip
    rows, classes = [], []
    for r in summary:
        f = unit.format
        rows.append([
            short_label(r["agent"]) + (" *" if r["reference_bound"] else ""), f"{r['load']:g}",
            str(r["episodes"]), f(r["mean_turnaround_s"]),
            f"{f(r['mean_ci_low_s'])}-{f(r['mean_ci_high_s'])}", f(r["p50_turnaround_s"]),
            f(r["p95_turnaround_s"]), f(r["p99_turnaround_s"]), str(r["completed"]),
            str(r["dropped"]), _pct(r["drop_rate"]), f(r["cost_per_job_s"]),
        ])  # fmt: skip
        classes.append("bound" if r["agent"] == "bound" else "")
    caption = (
        f"Turnaround of completed jobs in {unit.long_name}. CI: 95 % BCa bootstrap over episodes"
        + (" (fewer than 5 episodes: the intervals mean little). " if few else ". ")
        + "cost/job: time in system plus drop penalties per arrived job (the environment's "
        "objective). * reference bound (oracle: true output lengths; bound: no other job in "
        "the way)."
    )
    return section("summary", "Summary", html_table(header, rows, caption=caption,
                                                     classes=classes))  # fmt: skip


def _comparisonsection(comparison: Sequence[Mapping[str, Any]]) -> str:
    if not comparison:
        why = "No comparison: one agent, or the reference was not evaluated."
        return section("comparison", "Comparison", note(why))

    def ratio(r: Mapping[str, Any], key: str) -> str:
        if not math.isfinite(r[f"{key}_ratio"]):
            return "-"
        return f"{r[f'{key}_ratio']:.3f} [{r[f'{key}_ratio_low']:.3f}-{r[f'{key}_ratio_high']:.3f}]"

    header = ("agent", "reference", "load", "seeds", "mean ratio", "p95 ratio", "cost/job ratio",
              "drop %", "reference drop %")  # fmt: skip
    rows = [
        [short_label(r["agent"]), short_label(r["reference"]), f"{r['load']:g}",
         str(r["episodes"]), ratio(r, "mean"), ratio(r, "p95"), ratio(r, "cost"),
         _pct(r["drop_rate"]), _pct(r["reference_drop_rate"])]
        for r in comparison
    ]  # fmt: skip
    few = comparison[0].get("few_seeds")
    few = " (fewer than 5 seeds: the intervals mean little)" if few else ""
    caption = ("Agent / reference on the same episodes; [low-high]: 95 % paired BCa bootstrap over "
               f"seeds{few}. Below 1 favours the agent.")  # fmt: skip
    return section("comparison", "Comparison", html_table(header, rows, caption=caption))


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:.1f}"


# ------------------------------------------------------------------------------ figures
def _colors(labels: Sequence[str]) -> dict[str, str]:
    from plotly.colors import qualitative

    palette = qualitative.Plotly + qualitative.D3
    return {a: palette[i % len(palette)] for i, a in enumerate(labels)}


def _thin(x: np.ndarray, y: np.ndarray, most: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` points of a step curve (evenly spaced ranks, the last one kept)."""
    if len(x) <= most:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, most).astype(int))
    return x[keep], y[keep]


def cdf_figure(result: EvaluationResult, unit: TimeUnit) -> Any:
    """Share of *arrived* jobs delivered within t, one panel per load, one trace per agent."""
    from plotly.subplots import make_subplots

    loads, agents = result.config["loads"], result.config["agents"]
    colors = _colors(agents)
    fig = make_subplots(rows=1, cols=len(loads), shared_yaxes=True,
                        subplot_titles=[f"load {x:g}" for x in loads])  # fmt: skip
    for col, load in enumerate(loads, start=1):
        for agent in agents:
            eps = result.episodes_of(agent, load)
            arrived = sum(e.metrics["jobs_arrived"] for e in eps)
            if not arrived:
                continue
            t = np.sort(np.concatenate([e.turnarounds_s for e in eps]))
            x, y = _thin(unit.value(t), np.arange(1, len(t) + 1) / arrived)
            dropped = sum(e.metrics["jobs_dropped"] for e in eps) / arrived
            fig.add_scatter(
                x=x, y=y, mode="lines", line={"shape": "hv", "color": colors[agent]},
                name=f"{short_label(agent)} ({100 * dropped:.1f} % dropped)",
                legendgroup=agent, showlegend=col == 1, row=1, col=col,
            )  # fmt: skip
        eps = result.episodes_of(agents[0], load)
        bound = np.concatenate([e.jobs.get("bound_turnaround_s", np.zeros(0)) for e in eps])
        bound = np.sort(bound[np.isfinite(bound)])
        if len(bound):
            x, y = _thin(unit.value(bound), np.arange(1, len(bound) + 1) / len(bound))
            fig.add_scatter(x=x, y=y, mode="lines", line={"shape": "hv", "color": "black"},
                            name="bound (contention-free)", legendgroup="bound",
                            showlegend=col == 1, row=1, col=col)  # fmt: skip
        fig.update_xaxes(type="log", title_text=f"turnaround ({unit.name}, log)", row=1, col=col)
    fig.update_yaxes(title_text="share of arrived jobs delivered within t", range=[0, 1.02],
                     row=1, col=1)  # fmt: skip
    fig.update_layout(height=480, title="Turnaround CDF: a curve ends at the agent's completed "
                      "share; the gap above it is the jobs it dropped")  # fmt: skip
    return fig


def load_figure(result: EvaluationResult, unit: TimeUnit) -> Any:
    """Cost per job, mean turnaround (95 % CI) and drop rate against load, one trace per agent."""
    from plotly.subplots import make_subplots

    agents = result.config["agents"]
    colors = {**_colors(agents), BOUND_LABEL: "black"}
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        f"cost per arrived job ({unit.name})", f"mean turnaround ({unit.name}, 95 % CI)",
        "dropped (% of finished jobs)"))  # fmt: skip
    for agent in [*agents, BOUND_LABEL]:
        rows = sorted((r for r in result.summary if r["agent"] == agent), key=lambda r: r["load"])
        if not rows:
            continue
        x = [r["load"] for r in rows]
        mean = np.array([r["mean_turnaround_s"] for r in rows], float)
        low = np.array([r["mean_ci_low_s"] for r in rows], float)
        high = np.array([r["mean_ci_high_s"] for r in rows], float)
        style = {"mode": "lines+markers", "line": {"color": colors[agent]}, "legendgroup": agent,
                 "name": short_label(agent)}  # fmt: skip
        cost = [unit.value(r["cost_per_job_s"]) for r in rows]
        fig.add_scatter(x=x, y=cost, showlegend=True, row=1, col=1, **style)
        err = {"type": "data", "array": unit.value(np.nan_to_num(high - mean)).clip(min=0),
               "arrayminus": unit.value(np.nan_to_num(mean - low)).clip(min=0)}  # fmt: skip
        fig.add_scatter(x=x, y=unit.value(mean), error_y=err, showlegend=False, row=1, col=2,
                        **style)  # fmt: skip
        if agent != BOUND_LABEL:
            drops = [100 * r["drop_rate"] for r in rows]
            fig.add_scatter(x=x, y=drops, showlegend=False, row=1, col=3, **style)
    fig.update_xaxes(title_text="load", tickvals=result.config["loads"])
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(height=420, title="Against load: a falling mean can hide rising drops")
    return fig


def gantt_figure(episode: Any, unit: TimeUnit) -> Any:
    """One bar per job and stage (from the job table), crosses where jobs were dropped."""
    import plotly.graph_objects as go

    jobs = episode.jobs
    arrived = np.flatnonzero(jobs["status"] != "future")
    arrived = arrived[np.argsort(jobs["arrival_s"][arrived], kind="stable")][:MAX_GANTT_JOBS]
    fig = go.Figure()
    for name, start_col, end_col, color in _STAGES:
        start, end = jobs[start_col][arrived], jobs[end_col][arrived]
        ok = np.isfinite(start) & np.isfinite(end)
        fig.add_bar(
            y=jobs["job"][arrived][ok], base=unit.value(start[ok]),
            x=unit.value(end[ok] - start[ok]), orientation="h", name=name,
            marker={"color": color, "line": {"width": 0}},
            customdata=np.column_stack([jobs["sat"][arrived][ok], unit.value(end[ok] - start[ok])]),
            hovertemplate=f"job %{{y}} on satellite %{{customdata[0]}}<br>{name}: "
            f"%{{customdata[1]:.3g}} {unit.name}<extra></extra>",
        )  # fmt: skip
    dropped = jobs["dropped_at_s"][arrived]
    gone = np.isfinite(dropped)
    if gone.any():
        fig.add_scatter(x=unit.value(dropped[gone]), y=jobs["job"][arrived][gone], mode="markers",
                        marker={"symbol": "x", "color": "black", "size": 7},
                        name="dropped")  # fmt: skip
    total = int((jobs["status"] != "future").sum())
    shown = "" if len(arrived) == total else f", first {len(arrived)} of {total} jobs"
    fig.update_layout(
        barmode="overlay", bargap=0.15, height=max(360, min(1600, 14 * len(arrived) + 160)),
        title=f"{episode.agent}, load {episode.load:g}, seed {episode.seed}: each job's stages"
        f"{shown}",
        xaxis_title=f"time since the scenario epoch ({unit.name})", yaxis_title="job",
        yaxis={"autorange": "reversed"},
    )  # fmt: skip
    return fig


def scenario_world(config: Mapping[str, Any]) -> World:
    """The ``World`` of an evaluation's scenario (its overrides, the first load), from cache.

    The evaluation already gave the scenario's warnings (e.g. stale TLEs): rebuilding it
    here repeats none of them.
    """
    from envs.contact_plan import default_cache_dir
    from envs.scenario import load_scenario
    from envs.sim import build_world

    name = config["scenario"]
    where = name if name.startswith("generated:") else config["scenario_file"]
    overrides = {**config.get("overrides", {}), "load": config["loads"][0]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_world(load_scenario(where, overrides), cache_dir=default_cache_dir())


def map_figure(world: World) -> Any:
    """Ground tracks over the first hour, stations, and the contacts in progress at one instant.

    The instant is the track sample with the most contacts in progress (the first such one).
    """
    import plotly.graph_objects as go

    from agents.episode_plots import ecef_to_lat_lon
    from envs.orbits import propagate_ecef, time_grid

    n = world.n_sats
    epoch = world.scenario.episode.epoch
    t = np.arange(0.0, TRACK_S + TRACK_STEP_S / 2, TRACK_STEP_S)
    lat, lon = ecef_to_lat_lon(propagate_ecef(world.constellation, time_grid(epoch, t)).r_km)
    drawn = np.unique(np.linspace(0, n - 1, min(n, MAX_MAP_SATS)).astype(int))
    p = world.plan.passes
    live = (p.rise_s[:, None] <= t) & (t < p.set_s[:, None])  # passes x samples
    k = int(np.argmax(live.sum(axis=0)))
    names = world.constellation.names
    fig = go.Figure()
    tr_lat = np.concatenate([np.append(lat[s], np.nan) for s in drawn])
    tr_lon = np.concatenate([np.append(lon[s], np.nan) for s in drawn])
    fig.add_scattergeo(lat=tr_lat, lon=tr_lon, mode="lines", name="ground tracks",
                       line={"width": 1, "color": "#7f7f7f"}, hoverinfo="skip")  # fmt: skip
    st_lat = [s.lat_deg for s in world.stations]
    st_lon = [s.lon_deg for s in world.stations]
    c_lat, c_lon = [], []
    for sat, st in zip(p.sat[live[:, k]].tolist(), p.station[live[:, k]].tolist(), strict=True):
        c_lat += [st_lat[st], lat[sat, k], None]
        c_lon += [st_lon[st], lon[sat, k], None]
    fig.add_scattergeo(lat=c_lat, lon=c_lon, mode="lines", name="contact in progress",
                       line={"width": 2, "color": "#2ca02c"}, hoverinfo="skip")  # fmt: skip
    fig.add_scattergeo(lat=lat[drawn, k], lon=lon[drawn, k], mode="markers", name="satellite",
                       text=[names[s] for s in drawn], marker={"size": 6, "color": "#1f77b4"},
                       hoverinfo="text")  # fmt: skip
    fig.add_scattergeo(lat=st_lat, lon=st_lon, mode="markers", name="ground station",
                       text=[f"{s.name} ({s.network})" for s in world.stations], hoverinfo="text",
                       marker={"symbol": "triangle-up", "size": 9, "color": "black"})  # fmt: skip
    shown = f"all {n}" if len(drawn) == n else f"{len(drawn)} of {n} (evenly spaced)"
    at = epoch.timestamp() + t[k]
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    fig.update_geos(
        projection_type="equirectangular", showcoastlines=False, showland=False,
        showcountries=False, showocean=False, showlakes=False, showrivers=False, showframe=True,
        projection_rotation={"lon": 0.0, "lat": 0.0}, center={"lon": 0.0, "lat": 0.0},
        lataxis={"showgrid": True, "dtick": 30, "range": [-90, 90]},
        lonaxis={"showgrid": True, "dtick": 30, "range": [-180, 180]},
    )  # fmt: skip
    fig.update_layout(
        height=560, title=f"{world.scenario.name}: ground tracks of {shown} satellites over the "
        f"first {TRACK_S / 3600:g} h<br><sub>{int(live[:, k].sum())} contacts in progress at "
        f"{when} UTC (satellites drawn there); no coastlines: the page loads nothing</sub>",
    )  # fmt: skip
    return fig


# ------------------------------------------------------------------------------ the page
def report_html(
    result: EvaluationResult,
    *,
    comparison: Sequence[Mapping[str, Any]] | None = None,
    world: World | None = None,
) -> str:
    """The report of an evaluation as one HTML document (see the module docstring).

    Args:
        result: The evaluation.
        comparison: :func:`agents.stats.compare_with` rows (none: the section says so).
        world: The scenario's world for the map (default: rebuilt with
            :func:`scenario_world`; when that fails the map section says why).
    """
    config = result.config
    agents, loads = config["agents"], config["loads"]
    pooled = [t for e in result.episodes for t in e.turnarounds_s.tolist()]
    unit = time_unit(pooled)
    n = config["episodes"]
    meta = (f"scenario {config['scenario']}; agents {', '.join(agents)}; loads "
            f"{', '.join(f'{x:g}' for x in loads)}; {n} episode{'s' * (n != 1)} (seeds "
            f"{config['seed']}..{config['seed'] + n - 1}) per agent and load; package "
            f"{config.get('package_version', '?')}")  # fmt: skip
    sections = [note(meta), _summarysection(result.summary),
                _comparisonsection(comparison or [])]  # fmt: skip
    sections.append(section("cdf", "Turnaround CDF per load", figure_div(
        cdf_figure(result, unit), "cdf")))  # fmt: skip
    sections.append(section("load", "Cost per job, mean and drops against load", figure_div(
        load_figure(result, unit), "load")))  # fmt: skip
    eps = result.episodes_of(agents[0], loads[0])
    if eps:
        gantt = figure_div(gantt_figure(eps[0], time_unit(eps[0].turnarounds_s.tolist())), "gantt")
    else:
        gantt = note("No episode to draw.")
    sections.append(section("gantt", "One episode, job by job", gantt))
    try:
        world = scenario_world(config) if world is None else world
        drawn = figure_div(map_figure(world), "map")
    except (ConfigError, KeyError, OSError) as exc:
        drawn = note(f"No map: the scenario could not be rebuilt ({exc}).")
    sections.append(section("map", "Ground tracks and contacts", drawn))
    return page(f"{config['scenario']}: evaluation report", sections)


def write_report(
    result: EvaluationResult,
    path: str | os.PathLike[str],
    *,
    comparison: Sequence[Mapping[str, Any]] | None = None,
    world: World | None = None,
) -> Path:
    """Write :func:`report_html` to ``path`` atomically; returns the path."""
    text = report_html(result, comparison=comparison, world=world)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)
