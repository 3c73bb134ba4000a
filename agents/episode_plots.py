"""Pictures of one episode and its ``World`` (matplotlib's object API; files written atomically).

:func:`plot_ground_tracks` (with station labels placed so none overlap),
:func:`plot_queue_length` (jobs on board per satellite) and :func:`plot_episode` (both, and
the contact Gantt chart via ``envs.render.plot_contact_gantt``). The colours, durations and
the atomic PNG writer are :mod:`agents.plots`'.
"""

from __future__ import annotations

import math
import os
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from agents.plots import HOUR_S, distinct_colors, save_figure
from agents.results import EpisodeResult, short_label
from envs.atomic import atomic_copy
from envs.orbits.propagate import ecef_to_lat_lon, propagate_ecef, time_grid
from envs.render import GANTT_GROUP_ABOVE, plot_contact_gantt, plot_contact_gantt_grouped

if TYPE_CHECKING:
    from envs.sim import World

__all__ = [
    "ecef_to_lat_lon",
    "merge_close_stations",
    "onboard_counts",
    "place_station_labels",
    "plot_episode",
    "plot_ground_tracks",
    "plot_queue_length",
    "queue_length_figure",
]

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
    palette = distinct_colors(len(sats))
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
    palette = distinct_colors(len(order))
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
        atomic_copy(drawn, gantt)
    label = (f"{episode.scenario}, {short_label(episode.agent)}, load {episode.load:g}, "
             f"seed {episode.seed}: jobs on board per satellite")  # fmt: skip
    return [
        gantt,
        plot_ground_tracks(world, out / "ground_tracks.png"),
        plot_queue_length(episode.jobs, world, out / "queue_length.png", title=label),
    ]
