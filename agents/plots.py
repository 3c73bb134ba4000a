"""Pictures of evaluations and episodes (matplotlib's object API; every file written atomically).

* :func:`plot_turnaround_cdf`, :func:`plot_turnaround_vs_load`: an ``EvaluationResult``
  (the ``*_figure`` functions return the figure unsaved). Curves of agents that coincide stay
  visible (dashes, markers, narrowing widths) and legends say when two agents are identical.
* :func:`plot_ground_tracks`, :func:`plot_queue_length`, :func:`plot_episode`: one episode
  and its ``World`` (contact Gantt chart via ``envs.render.plot_contact_gantt``).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from agents.results import BOUND_LABEL, EpisodeResult, EvaluationResult, short_label
from envs.atomic import atomic_write
from envs.orbits import propagate_ecef, time_grid
from envs.render import GANTT_GROUP_ABOVE, plot_contact_gantt, plot_contact_gantt_grouped

if TYPE_CHECKING:
    from envs.sim import World

__all__ = [
    "HOUR_S",
    "agent_colors",
    "ecef_to_lat_lon",
    "format_duration",
    "identical_agents",
    "merge_close_stations",
    "onboard_counts",
    "place_station_labels",
    "plot_episode",
    "plot_ground_tracks",
    "plot_queue_length",
    "plot_turnaround_cdf",
    "plot_turnaround_vs_load",
    "queue_length_figure",
    "save_figure",
    "turnaround_cdf_figure",
    "turnaround_vs_load_figure",
]

HOUR_S = 3600.0
_TICKS_H = (1 / 360, 1 / 60, 1 / 6, 1.0, 4.0, 12.0, 48.0)  # 10 s, 1 min, 10 min, 1 h, ...
_FINE_TICKS_H = (1 / 60, 5 / 60, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0)
_WGS84_A_KM = 6378.137
_WGS84_F = 1.0 / 298.257223563


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Render ``fig`` as PNG in memory, then write it atomically; close it if pyplot made it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    if fig.canvas.manager is not None:  # created through pyplot: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    out = Path(path)
    with atomic_write(out, "wb") as fh:
        fh.write(buf.getvalue())
    return out


def agent_colors(labels: list[str]) -> dict[str, tuple]:
    """One colour per label, the same label order giving the same colours in every figure."""
    return dict(zip(labels, _palette(len(labels)), strict=True))


def _palette(n: int) -> list[tuple]:
    """``n`` distinct colours: tab10, tab20, then samples of a continuous map."""
    if n <= 20:
        cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
        return [cmap(i) for i in range(n)]
    return [matplotlib.colormaps["turbo"](i / (n - 1)) for i in range(n)]


def format_duration(hours: float, _pos: int = 0) -> str:
    """Tick label for a duration given in hours: seconds, minutes or hours."""
    if hours < 1.0 / 60.0:
        return f"{hours * 3600:.3g} s"
    return f"{hours * 60:.3g} min" if hours < 1.0 else f"{hours:.3g} h"


def _time_ticks(ax: Axes, lo_h: float, hi_h: float) -> None:
    """Readable ticks on a log time axis in hours: round durations, or linear steps if narrow."""
    ticks = [t for t in _TICKS_H if lo_h <= t <= hi_h]
    if len(ticks) < 3:
        ticks = [t for t in _FINE_TICKS_H if lo_h <= t <= hi_h]
    if len(ticks) < 3:
        ticks = [t for t in ticker.MaxNLocator(5).tick_values(lo_h, hi_h) if lo_h <= t <= hi_h]
    ax.set_xlim(lo_h, hi_h)
    ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(format_duration))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


# ------------------------------------------------------------------------------ evaluation
#: Line styles and markers cycled over agents, so that agents whose curves coincide stay visible.
_DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")


def _style(i: int) -> dict:
    """Colour-independent style of the ``i``-th agent: dashes, a marker, a narrowing width.

    Later agents are drawn thinner on top of earlier ones, so coinciding curves stay visible.
    """
    return {"ls": _DASHES[i % len(_DASHES)], "marker": _MARKERS[i % len(_MARKERS)],
            "lw": max(2.6 - 0.35 * i, 0.9)}  # fmt: skip


def _same_episode(a: EpisodeResult, b: EpisodeResult) -> bool:
    return (
        a.metrics["jobs_dropped"] == b.metrics["jobs_dropped"]
        and a.metrics["jobs_completed"] == b.metrics["jobs_completed"]
        and np.array_equal(a.turnarounds_s, b.turnarounds_s)
    )


def identical_agents(result: EvaluationResult, loads: list[float] | None = None) -> dict[str, str]:
    """Agents whose results equal an earlier agent's on every episode of ``loads``.

    Two agents are identical when every paired episode has the same completed and dropped
    counts and the same turnarounds; their curves would hide each other, so legends say so.

    Args:
        result: An evaluation.
        loads: Loads to compare on (default: all of them).

    Returns:
        ``{agent: first earlier agent it is identical to}`` (agents with no twin are absent).
    """
    loads = result.config["loads"] if loads is None else loads
    agents = result.config["agents"]
    twins: dict[str, str] = {}
    for j, b in enumerate(agents):
        for a in agents[:j]:
            if a in twins:
                continue
            pairs = [
                (x, y)
                for load in loads
                for x, y in zip(result.episodes_of(a, load), result.episodes_of(b, load),
                                strict=True)
            ]  # fmt: skip
            if pairs and all(_same_episode(x, y) for x, y in pairs):
                twins[b] = a
                break
    return twins


def _label(agent: str, twins: Mapping[str, str], extra: str = "") -> str:
    text = short_label(agent) + extra
    return text + (f" (identical to {short_label(twins[agent])})" if agent in twins else "")


def _bound_turnarounds_s(result: EvaluationResult, load: float) -> np.ndarray:
    """Every job's contention-free turnaround at ``load`` (the same jobs for every agent)."""
    eps = result.episodes_of(result.config["agents"][0], load)
    t = [e.jobs["bound_turnaround_s"] for e in eps if "bound_turnaround_s" in e.jobs]
    pooled = np.concatenate(t) if t else np.zeros(0)
    return pooled[np.isfinite(pooled)]


def plot_turnaround_cdf(result: EvaluationResult, path: str | os.PathLike[str]) -> Path:
    """Write :func:`turnaround_cdf_figure` as a PNG."""
    return save_figure(turnaround_cdf_figure(result), path)


def turnaround_cdf_figure(result: EvaluationResult) -> Figure:
    """Share of *arrived* jobs delivered within a time, per agent, one panel per load (log x).

    Each curve ends at the agent's completed share, so drops show as the gap below 1; the
    legend gives each agent's drop rate and names agents identical to another. The black
    curve is the contention-free bound (``envs.sim.bounds``), which no dispatcher beats.
    """
    loads, agents = result.config["loads"], result.config["agents"]
    colors = agent_colors(agents)
    fig = Figure(figsize=(max(4.6 * len(loads), 6.5), 5.2), constrained_layout=True)
    axes = fig.subplots(1, len(loads), squeeze=False, sharey=True)[0]
    for ax, load in zip(axes, loads, strict=True):
        lo, hi = math.inf, 0.0
        twins = identical_agents(result, [load])
        for i, agent in enumerate(agents):
            eps = result.episodes_of(agent, load)
            arrived = sum(e.metrics["jobs_arrived"] for e in eps)
            dropped = sum(e.metrics["jobs_dropped"] for e in eps)
            t = np.sort(np.concatenate([e.turnarounds_s for e in eps])) / HOUR_S
            t = t[t > 0]
            if not arrived:
                continue
            share = np.arange(1, len(t) + 1) / arrived
            label = _label(agent, twins, f": {100 * dropped / arrived:.1f} % dropped")
            if not len(t):  # nothing completed: keep the agent (and its drops) in the legend
                ax.plot([], [], color=colors[agent], ls=_style(i)["ls"], label=label)
                continue
            ax.step(t, share, where="post", color=colors[agent], lw=_style(i)["lw"],
                    ls=_style(i)["ls"], label=label)  # fmt: skip
            ax.plot(t, share, ls="none", marker=_style(i)["marker"], ms=4, mfc="none",
                    color=colors[agent], markevery=(0.02 + 0.03 * (i % 5), 0.15))  # fmt: skip
            lo, hi = min(lo, t[0]), max(hi, t[-1])
        bound = np.sort(_bound_turnarounds_s(result, load)) / HOUR_S
        bound = bound[bound > 0]
        if len(bound):
            ax.step(bound, np.arange(1, len(bound) + 1) / len(bound), where="post", color="black",
                    lw=1.0, label="bound (contention-free, no drops)")  # fmt: skip
            lo, hi = min(lo, bound[0]), max(hi, bound[-1])
        ax.set_xscale("log")
        if lo <= hi:
            _time_ticks(ax, lo / 1.1, hi * 1.1)
        ax.set_ylim(0.0, 1.02)
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.set_title(f"load {load:g}")
        ax.set_xlabel("turnaround, query upload to result on the ground (log scale)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    axes[0].set_ylabel("share of arrived jobs delivered within t")
    n = result.config["episodes"]
    fig.suptitle(
        f"{result.config['scenario']}: turnaround CDF over all arrived jobs "
        f"({n} episode{'s' * (n != 1)} per panel)\na curve ends at the agent's completed share; "
        "the gap above it is the jobs it dropped"
    )
    return fig


def plot_turnaround_vs_load(result: EvaluationResult, path: str | os.PathLike[str]) -> Path:
    """Write :func:`turnaround_vs_load_figure` as a PNG."""
    return save_figure(turnaround_vs_load_figure(result), path)


def turnaround_vs_load_figure(result: EvaluationResult) -> Figure:
    """Mean and p95 turnaround, cost per job and drop rate per agent against load.

    Four panels: mean turnaround of completed jobs with its 95 % bootstrap CI; p95; cost per
    arrived job (the environment's objective: time in system plus the drop penalty); the
    share of jobs dropped. The contention-free bound (black) is drawn where it applies.
    """
    agents = result.config["agents"]
    colors = agent_colors(agents)
    twins = identical_agents(result)
    fig = Figure(figsize=(12.5, 8.0), constrained_layout=True)
    (ax_mean, ax_p95), (ax_cost, ax_drop) = fig.subplots(2, 2, sharex=True)

    def rows_of(agent: str) -> list[dict]:
        return sorted((r for r in result.summary if r["agent"] == agent), key=lambda r: r["load"])

    for i, agent in enumerate([*agents, BOUND_LABEL]):
        rows = rows_of(agent)
        if not rows:
            continue
        x = np.array([r["load"] for r in rows])
        col = {k: np.array([r[k] for r in rows], float) for k in rows[0] if k.endswith("_s")}
        mean = col["mean_turnaround_s"] / HOUR_S
        if agent == BOUND_LABEL:
            style = {"color": "black", "ls": "-", "marker": "", "lw": 1.2}
        else:
            style = {"color": colors[agent], "mfc": "none", **_style(i)}
        err = np.vstack([mean - col["mean_ci_low_s"] / HOUR_S,
                         col["mean_ci_high_s"] / HOUR_S - mean])  # fmt: skip
        ax_mean.errorbar(x, mean, yerr=np.nan_to_num(err).clip(min=0), capsize=3, **style)
        ax_p95.plot(x, col["p95_turnaround_s"] / HOUR_S, **style)
        ax_cost.plot(x, col["cost_per_job_s"] / HOUR_S, **style)
        if agent != BOUND_LABEL:
            ax_drop.plot(x, 100 * np.array([r["drop_rate"] for r in rows], float), **style)
    ax_mean.set_title("mean turnaround of completed jobs (95 % CI over episodes)")
    ax_mean.set_ylabel("turnaround (h)")
    ax_p95.set_title("p95 turnaround of completed jobs")
    ax_p95.set_ylabel("turnaround (h)")
    ax_cost.set_title("cost per arrived job: time in system + drop penalty")
    ax_cost.set_ylabel("cost per job (h)")
    ax_drop.set_title("jobs dropped")
    ax_drop.set_ylabel("dropped (% of finished jobs)")
    for ax in (ax_mean, ax_p95, ax_cost, ax_drop):
        ax.grid(alpha=0.3)
        ax.set_xticks(result.config["loads"])
        ax.set_ylim(bottom=0)
    for ax in (ax_cost, ax_drop):
        ax.set_xlabel("load (multiple of the scenario's arrival rate)")
    handles = [
        Line2D([], [], color=colors[a], mfc="none", label=_label(a, twins), **_style(i))
        for i, a in enumerate(agents)
    ] + [Line2D([], [], color="black", label="bound (contention-free)")]
    fig.legend(handles=handles, fontsize=8, loc="outside right center")
    fig.suptitle(f"{result.config['scenario']}: turnaround, cost and drops against load "
                 "(a falling mean can hide rising drops: read the panels together)")  # fmt: skip
    return fig


# ------------------------------------------------------------------------------ one episode
def ecef_to_lat_lon(r_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic (WGS84) latitude and longitude in degrees of Earth-fixed positions (..., 3).

    >>> lat, lon = ecef_to_lat_lon(np.array([[0.0, 7000.0, 0.0], [0.0, 0.0, 7000.0]]))
    >>> np.round(lat, 6).tolist(), np.round(lon, 6).tolist()
    ([0.0, 90.0], [90.0, 0.0])
    """
    x, y, z = np.moveaxis(np.asarray(r_km, dtype=float), -1, 0)
    e2 = _WGS84_F * (2.0 - _WGS84_F)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - e2))
    for _ in range(4):  # fixed-point iteration; converges to < 1e-9 rad for LEO altitudes
        n = _WGS84_A_KM / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
        lat = np.arctan2(z + e2 * n * np.sin(lat), p)
    return np.degrees(lat), np.degrees(np.arctan2(y, x))


def plot_ground_tracks(
    world: World,
    path: str | os.PathLike[str],
    *,
    hours: float = 3.0,
    step_s: float = 30.0,
    max_sats: int = 48,
) -> Path:
    """Sub-satellite tracks over the first ``hours`` and the stations, on a lat/lon grid.

    Equirectangular projection without a basemap (no coastlines: nothing is downloaded).
    With more than ``max_sats`` satellites an evenly spaced subset is drawn.
    """
    t = np.arange(0.0, hours * HOUR_S + step_s / 2, step_s)
    epoch = world.scenario.episode.epoch
    sats = np.unique(np.linspace(0, world.n_sats - 1, min(world.n_sats, max_sats)).astype(int))
    states = propagate_ecef(world.constellation, time_grid(epoch, t))
    lat, lon = ecef_to_lat_lon(states.r_km[sats])
    fig = Figure(figsize=(12, 6.4), constrained_layout=True)
    ax = fig.subplots()
    palette = _palette(len(sats))
    names = world.constellation.names
    for j, s in enumerate(sats):
        la, lo = lat[j].copy(), lon[j].copy()
        wrap = np.flatnonzero(np.abs(np.diff(lo)) > 180.0) + 1
        la, lo = np.insert(la, wrap, np.nan), np.insert(lo, wrap, np.nan)
        color = palette[j]
        ax.plot(lo, la, lw=1.0, color=color, label=names[s] if len(sats) <= 20 else None)
        ax.plot(lo[0], la[0], "o", ms=4, color=color)
    st_lon = [s.lon_deg for s in world.stations]
    st_lat = [s.lat_deg for s in world.stations]
    ax.plot(st_lon, st_lat, "^", color="black", ms=6, label="ground station")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xticks(np.arange(-180, 181, 30))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_aspect("equal")
    place_station_labels(ax, [(s.name, s.lon_deg, s.lat_deg) for s in world.stations])
    ax.grid(alpha=0.4)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("geodetic latitude (deg)")
    shown = "" if len(sats) == world.n_sats else f" ({len(sats)} of {world.n_sats} shown)"
    ax.set_title(f"{world.scenario.name}: ground tracks, first {hours:g} h after "
                 f"{epoch:%Y-%m-%d %H:%M} UTC (dot = start){shown}")  # fmt: skip
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_figure(fig, path)


#: Label offsets tried in turn (points from the station): close first, then with a leader line.
_LABEL_DIRECTIONS = ((5, 4), (5, -11), (-5, 4), (-5, -11), (0, 7), (0, -15), (8, -3), (-8, -3),
                     (6, 9), (-6, 9), (6, -16), (-6, -16))  # fmt: skip
_LABEL_OFFSETS = tuple(
    (r * dx, r * dy) for r in (1.0, 2.0, 3.0, 4.5, 6.0, 8.0) for dx, dy in _LABEL_DIRECTIONS
)
_NEAR = len(_LABEL_DIRECTIONS)  # offsets past this many get a leader line


def merge_close_stations(
    stations: list[tuple[str, float, float]], within_deg: float = 0.5
) -> list[tuple[str, float, float]]:
    """Stations closer than ``within_deg`` in latitude and longitude share one label.

    >>> merge_close_stations([("RSGS Miyun", 116.86, 40.45), ("NAOC Miyun", 116.98, 40.56),
    ...                       ("Kashi", 75.9, 39.5)])
    [('RSGS Miyun / NAOC Miyun', 116.86, 40.45), ('Kashi', 75.9, 39.5)]
    """
    groups: list[list[tuple[str, float, float]]] = []
    for st in stations:
        for g in groups:
            if abs(g[0][1] - st[1]) < within_deg and abs(g[0][2] - st[2]) < within_deg:
                g.append(st)
                break
        else:
            groups.append([st])
    return [(" / ".join(n for n, _, _ in g), g[0][1], g[0][2]) for g in groups]


def place_station_labels(
    ax: Axes, stations: list[tuple[str, float, float]], *, fontsize: float = 6.5
) -> list:
    """Label ``(name, lon, lat)`` points on ``ax`` so that no two labels overlap.

    Co-located stations share a label (:func:`merge_close_stations`). Each label takes the
    first offset of a fixed list whose box, inside the axes, overlaps neither a placed label
    nor a station marker (else the offset that overlaps least); far offsets get a leader
    line. The axes limits must be set first.

    Returns:
        The annotation artists, in the order placed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.figure
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # settle the layout, so positions are final
    renderer = canvas.get_renderer()
    merged = merge_close_stations(stations)
    pts = ax.transData.transform([(lon, lat) for _, lon, lat in merged])
    taken = [(x - 2, y - 2, x + 2, y + 2) for x, y in pts]  # the markers themselves
    scale = fig.dpi / 72.0
    out = []
    for name, lon, lat in merged:
        best: tuple[float, Any, tuple] | None = None
        for k, (dx, dy) in enumerate(_LABEL_OFFSETS):
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            text = ax.annotate(
                name, (lon, lat), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                ha=ha, va="bottom",
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "grey"} if k >= _NEAR else None,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
                zorder=5,
            )  # fmt: skip
            text.update_positions(renderer)
            box = Text.get_window_extent(text, renderer).padded(0.5 * scale)  # text, no leader
            rect = (box.x0, box.y0, box.x1, box.y1)
            inside = (ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1
                      and ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1)  # fmt: skip
            clash = sum(_overlap_area(rect, other) for other in taken) + (0 if inside else 1e6)
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, text, rect)
            else:
                text.remove()
            if clash == 0:
                break
        assert best is not None
        taken.append(best[2])
        out.append(best[1])
    return out


def _overlap_area(a: tuple, b: tuple) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def onboard_counts(jobs: Mapping[str, np.ndarray], n_sats: int) -> tuple[np.ndarray, np.ndarray]:
    """Jobs on board each satellite over time, from a ``job_table``.

    A job occupies its satellite's buffer from the end of its uplink (when the simulator
    accepts it for compute; ``compute_start`` is set) until it is delivered or dropped.

    Returns:
        ``(t_s, counts)``: event times (sorted, starting at 0) and the count of each satellite
        just after each time, shape ``(len(t_s), n_sats)``.

    >>> nan = float("nan")
    >>> table = {"sat": np.array([0, 0, 1]), "uplink_end_s": np.array([1.0, 2.0, 2.0]),
    ...          "compute_start_s": np.array([1.0, 2.5, nan]),
    ...          "delivered_s": np.array([5.0, nan, nan]),
    ...          "dropped_at_s": np.array([nan, 4.0, 2.0])}
    >>> t, c = onboard_counts(table, 2)
    >>> t.tolist(), c[:, 0].tolist(), c[:, 1].tolist()
    ([0.0, 1.0, 2.0, 4.0, 5.0], [0, 1, 2, 1, 0], [0, 0, 0, 0, 0])
    """
    sat = np.asarray(jobs["sat"])
    start = np.asarray(jobs["uplink_end_s"], dtype=float)
    end = np.fmin(np.asarray(jobs["delivered_s"], float), np.asarray(jobs["dropped_at_s"], float))
    ok = (sat >= 0) & ~np.isnan(start) & ~np.isnan(np.asarray(jobs["compute_start_s"], float))
    end = np.where(np.isnan(end), np.inf, end)[ok]
    times = np.concatenate([start[ok], end[np.isfinite(end)]])
    sats = np.concatenate([sat[ok], sat[ok][np.isfinite(end)]])
    delta = np.concatenate([np.ones(ok.sum(), int), -np.ones(np.isfinite(end).sum(), int)])
    t_s = np.unique(np.concatenate([[0.0], times]))
    steps = np.zeros((len(t_s), n_sats), dtype=int)
    np.add.at(steps, (np.searchsorted(t_s, times), sats), delta)
    return t_s, np.cumsum(steps, axis=0)


def plot_queue_length(
    jobs: Mapping[str, np.ndarray],
    world: World,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    max_sats: int = 12,
) -> Path:
    """Write :func:`queue_length_figure` as a PNG."""
    return save_figure(queue_length_figure(jobs, world, title=title, max_sats=max_sats), path)


#: Characters per title line of the queue-length figure (its 11-inch width, 12 pt text).
_TITLE_CHARS = 90


def queue_length_figure(
    jobs: Mapping[str, np.ndarray], world: World, *, title: str = "", max_sats: int = 12
) -> Figure:
    """Per-satellite on-board jobs over the episode (top) and jobs not yet on board (bottom).

    With more than ``max_sats`` satellites the ones with the highest peak are drawn. A long
    title is wrapped so that it stays inside the figure.
    """
    t_s, counts = onboard_counts(jobs, world.n_sats)
    order = np.argsort(-counts.max(axis=0), kind="stable")[:max_sats]
    fig = Figure(figsize=(11, 6.5), constrained_layout=True)
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    palette = _palette(len(order))
    names = world.constellation.names
    for j, s in enumerate(sorted(order)):
        ax.step(t_s / HOUR_S, counts[:, s], where="post", lw=1.0, color=palette[j],
                label=names[s])  # fmt: skip
    buffers = {world.buffer_jobs[c] for c in world.sat_class_list}
    for b in buffers:
        ax.axhline(b, color="grey", ls=":", lw=1)
    ax.set_ylabel("jobs on board")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    shown = "" if len(order) == world.n_sats else f" (busiest {len(order)} of {world.n_sats})"
    text = (title or "Jobs on board per satellite") + shown + "; dotted: buffer size"
    ax.set_title(textwrap.fill(text, _TITLE_CHARS, break_on_hyphens=False))
    arrival = np.asarray(jobs["arrival_s"], float)
    left = np.fmin(np.asarray(jobs["uplink_end_s"], float), np.asarray(jobs["dropped_at_s"], float))
    left = np.where(np.isnan(left), np.inf, left)
    times = np.concatenate([arrival, left[np.isfinite(left)]])
    delta = np.concatenate([np.ones(len(arrival)), -np.ones(np.isfinite(left).sum())])
    order_t = np.argsort(times, kind="stable")
    ax2.step(np.r_[0.0, times[order_t]] / HOUR_S, np.r_[0.0, np.cumsum(delta[order_t])],
             where="post", color="black", lw=1.0)  # fmt: skip
    ax2.set_ylabel("jobs on ground")
    ax2.set_xlabel(f"hours since {world.scenario.episode.epoch:%Y-%m-%d %H:%M} UTC")
    ax2.grid(alpha=0.3)
    ax2.set_xlim(0, max(1, math.ceil(max(t_s[-1], times.max(initial=0.0)) / HOUR_S)))
    return fig


def plot_episode(
    episode: EpisodeResult, world: World, out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Write ``contact_gantt.png``, ``ground_tracks.png`` and ``queue_length.png`` for an episode.

    Returns:
        The three written paths.
    """
    out = Path(out_dir)
    gantt = out / "contact_gantt.png"
    with tempfile.TemporaryDirectory() as tmp:  # plot_contact_gantt writes in place: copy
        if world.n_sats > GANTT_GROUP_ABOVE:  # a colour per satellite is unreadable: planes
            from envs.sim.isl import plane_structure

            planes = plane_structure(world.scenario, world.constellation).plane
            drawn = plot_contact_gantt_grouped(world.plan, Path(tmp) / gantt.name, planes)
        else:
            drawn = plot_contact_gantt(world.plan, Path(tmp) / gantt.name)
        with atomic_write(gantt, "wb") as fh:
            fh.write(drawn.read_bytes())
    label = (f"{episode.scenario}, {short_label(episode.agent)}, load {episode.load:g}, "
             f"seed {episode.seed}: jobs on board per satellite")  # fmt: skip
    return [
        gantt,
        plot_ground_tracks(world, out / "ground_tracks.png"),
        plot_queue_length(episode.jobs, world, out / "queue_length.png", title=label),
    ]
