"""Pictures of evaluations and episodes (matplotlib, Agg backend; every file written atomically).

* :func:`plot_turnaround_cdf`, :func:`plot_turnaround_vs_load`: an ``EvaluationResult``.
* :func:`plot_ground_tracks`, :func:`plot_queue_length`, :func:`plot_episode`: one episode
  and its ``World`` (contact Gantt chart via ``envs.render.plot_contact_gantt``).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D

from envs.atomic import atomic_write
from envs.orbits import propagate_ecef, time_grid
from envs.render import plot_contact_gantt

if TYPE_CHECKING:
    from agents.evaluate import EpisodeResult, EvaluationResult
    from envs.sim import World

__all__ = [
    "HOUR_S",
    "agent_colors",
    "ecef_to_lat_lon",
    "format_duration",
    "onboard_counts",
    "plot_episode",
    "plot_ground_tracks",
    "plot_queue_length",
    "plot_turnaround_cdf",
    "plot_turnaround_vs_load",
    "save_figure",
]

HOUR_S = 3600.0
_TICKS_H = (1 / 360, 1 / 60, 1 / 6, 1.0, 4.0, 12.0, 48.0)  # 10 s, 1 min, 10 min, 1 h, ...
_FINE_TICKS_H = (1 / 60, 5 / 60, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0)
_WGS84_A_KM = 6378.137
_WGS84_F = 1.0 / 298.257223563


def save_figure(fig: plt.Figure, path: str | os.PathLike[str]) -> Path:
    """Render ``fig`` as PNG in memory, then write it atomically; close the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
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
        cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
        return [cmap(i) for i in range(n)]
    return [plt.get_cmap("turbo")(i / (n - 1)) for i in range(n)]


def format_duration(hours: float, _pos: int = 0) -> str:
    """Tick label for a duration given in hours: seconds, minutes or hours."""
    if hours < 1.0 / 60.0:
        return f"{hours * 3600:.3g} s"
    return f"{hours * 60:.3g} min" if hours < 1.0 else f"{hours:.3g} h"


def _time_ticks(ax: plt.Axes, lo_h: float, hi_h: float) -> None:
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
def plot_turnaround_cdf(result: EvaluationResult, path: str | os.PathLike[str]) -> Path:
    """Empirical CDF of completed jobs' turnaround per agent, one panel per load (log x)."""
    loads, agents = result.config["loads"], result.config["agents"]
    colors = agent_colors(agents)
    fig, axes = plt.subplots(
        1, len(loads), figsize=(max(4.2 * len(loads) + 1.0, 6.5), 3.8), squeeze=False, sharey=True,
        constrained_layout=True,
    )  # fmt: skip
    for ax, load in zip(axes[0], loads, strict=True):
        lo, hi = math.inf, 0.0
        for agent in agents:
            eps = result.episodes_of(agent, load)
            t = np.sort(np.concatenate([e.turnarounds_s for e in eps])) / HOUR_S
            t = t[t > 0]
            if len(t):
                ax.step(t, np.arange(1, len(t) + 1) / len(t), where="post",
                        color=colors[agent], label=agent)  # fmt: skip
            lo, hi = min(lo, t[0]) if len(t) else lo, max(hi, t[-1]) if len(t) else hi
        ax.set_xscale("log")
        if lo <= hi:
            _time_ticks(ax, lo / 1.1, hi * 1.1)
        ax.set_title(f"load {load:g}")
        ax.set_xlabel("turnaround (log scale)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of completed jobs")
    from agents.evaluate import short_label

    handles, labels = axes[0][0].get_legend_handles_labels()
    # Centred on the right, so a long legend never runs into the title.
    fig.legend(handles, [short_label(x) for x in labels], fontsize=7, loc="outside right center")
    n = result.config["episodes"]
    fig.suptitle(f"{result.config['scenario']}: turnaround CDF of completed jobs "
                 f"({n} episode{'s' * (n != 1)} per panel)")  # fmt: skip
    return save_figure(fig, path)


def plot_turnaround_vs_load(result: EvaluationResult, path: str | os.PathLike[str]) -> Path:
    """Mean turnaround with its 95 % bootstrap CI (solid) and p95 (dashed) per agent vs load."""
    agents = result.config["agents"]
    colors = agent_colors(agents)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    for agent in agents:
        rows = sorted((r for r in result.summary if r["agent"] == agent), key=lambda r: r["load"])
        x = np.array([r["load"] for r in rows])
        mean = np.array([r["mean_turnaround_s"] for r in rows]) / HOUR_S
        low = np.array([r["mean_ci_low_s"] for r in rows]) / HOUR_S
        high = np.array([r["mean_ci_high_s"] for r in rows]) / HOUR_S
        p95 = np.array([r["p95_turnaround_s"] for r in rows]) / HOUR_S
        err = np.nan_to_num(np.vstack([mean - low, high - mean]).clip(min=0))
        ax.errorbar(x, mean, yerr=err, marker="o", capsize=3, color=colors[agent])
        ax.plot(x, p95, ls="--", marker="x", color=colors[agent], alpha=0.7)
    ax.set_xlabel("load (multiple of the scenario's arrival rate)")
    ax.set_ylabel("turnaround (h)")
    ax.set_xticks(result.config["loads"])
    ax.grid(alpha=0.3)
    from agents.evaluate import short_label

    handles = [
        Line2D([], [], color=colors[a], marker="o", label=short_label(a)) for a in agents
    ] + [
        Line2D([], [], color="grey", marker="o", label="mean, 95 % CI"),
        Line2D([], [], color="grey", marker="x", ls="--", label="p95"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{result.config['scenario']}: mean turnaround (95 % CI over episodes) and p95")
    return save_figure(fig, path)


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
    fig, ax = plt.subplots(figsize=(12, 6.4), constrained_layout=True)
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
    for s in world.stations:
        ax.annotate(s.name, (s.lon_deg, s.lat_deg), xytext=(3, 3), textcoords="offset points",
                    fontsize=6)  # fmt: skip
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xticks(np.arange(-180, 181, 30))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_aspect("equal")
    ax.grid(alpha=0.4)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("geodetic latitude (deg)")
    shown = "" if len(sats) == world.n_sats else f" ({len(sats)} of {world.n_sats} shown)"
    ax.set_title(f"{world.scenario.name}: ground tracks, first {hours:g} h after "
                 f"{epoch:%Y-%m-%d %H:%M} UTC (dot = start){shown}")  # fmt: skip
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_figure(fig, path)


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
    """Per-satellite on-board jobs over the episode (top) and jobs not yet on board (bottom).

    With more than ``max_sats`` satellites the ones with the highest peak are drawn.
    """
    t_s, counts = onboard_counts(jobs, world.n_sats)
    order = np.argsort(-counts.max(axis=0), kind="stable")[:max_sats]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, height_ratios=[3, 1],
                                  constrained_layout=True)  # fmt: skip
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
    ax.set_title((title or "Jobs on board per satellite") + shown + "; dotted: buffer size")
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
    return save_figure(fig, path)


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
        drawn = plot_contact_gantt(world.plan, Path(tmp) / gantt.name)
        with atomic_write(gantt, "wb") as fh:
            fh.write(drawn.read_bytes())
    label = (f"{episode.scenario}, {episode.agent}, load {episode.load:g}, seed {episode.seed}: "
             "jobs on board per satellite")  # fmt: skip
    return [
        gantt,
        plot_ground_tracks(world, out / "ground_tracks.png"),
        plot_queue_length(episode.jobs, world, out / "queue_length.png", title=label),
    ]
