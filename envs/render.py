"""Pictures: episode frames for ``render()``; contact-plan Gantt charts (``envs.gantt``).

The Gantt charts live in ``envs.gantt`` and are re-exported here.

Everything is drawn with matplotlib's object-oriented API (a ``Figure`` on a ``FigureCanvasAgg``
canvas), so library code never touches pyplot's global state or the backend; only
``render_mode="human"`` opens a window, through pyplot, when it is asked to.

An episode frame (:class:`EpisodeRenderer`) shows, from state the environment already has:

* a map (longitude × latitude): the satellites at the current time (SGP4 propagation of the
  world's constellation) with the ground tracks of the satellites that matter for the
  decision (the candidates and the last dispatch target), the stations (used networks
  filled), and lines for the contacts in progress (passes of the contact plan);
* the per-satellite queues: jobs on board and jobs still in uplink, as a fill of the
  on-board buffer;
* the pending job, the candidates with their estimated turnaround, and the last action.

Nothing is drawn until ``render()`` asks for a frame: stepping costs the same with or without
a render mode.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from envs.constants import HOUR_S
from envs.gantt import GANTT_GROUP_ABOVE, plot_contact_gantt, plot_contact_gantt_grouped
from envs.orbits.propagate import ecef_to_lat_lon, propagate_ecef, time_grid
from envs.timeutil import builtin_timescale, format_utc

__all__ = [
    "GANTT_GROUP_ABOVE",
    "EpisodeRenderer",
    "plot_contact_gantt",
    "plot_contact_gantt_grouped",
]

#: Ground tracks span this long before and after the current time (about one orbit in all).
TRACK_HALF_S = 2700.0
#: Ground-track sample step.
TRACK_STEP_S = 60.0
#: At most this many satellites get a ground track and a queue bar.
MAX_DETAILED = 24
_CANDIDATE = "tab:blue"
_CHOSEN = "tab:red"


def _break_wraps(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN where a track crosses the ±180° meridian, so no line spans the map."""
    cut = np.flatnonzero(np.abs(np.diff(lon)) > 180.0) + 1
    return np.insert(lon, cut, np.nan), np.insert(lat, cut, np.nan)


def _map_axes(ax):
    """Longitude × latitude axes with their fixed limits, ticks, grid and title."""
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_autoscale_on(False)
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-90, 91, 30))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.set_title("satellites, ground tracks (±45 min), stations and contacts", fontsize=9)
    return ax


def _clear(ax) -> None:
    """Remove the data a frame drew (lines, markers, bars, texts, legend); keep the axes."""
    for container in list(ax.containers):  # bars: their patches and the legend entry
        container.remove()
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.relim()


def _hours(seconds: float) -> str:
    return "—" if not math.isfinite(seconds) else f"{seconds / HOUR_S:.2f} h"


class EpisodeRenderer:
    """Draws RGB frames of a ``ConstellationDispatchEnv`` episode.

    One renderer belongs to one environment (it keeps the figure, the canvas and the skyfield
    timescale between frames; nothing module-level). Frames are ``height_px × width_px × 3``
    ``uint8`` arrays.

    Args:
        width_px: Frame width in pixels.
        height_px: Frame height in pixels.
        dpi: Resolution of the drawing (text size scales with it).

    >>> from envs.dispatch_env import ConstellationDispatchEnv
    >>> env = ConstellationDispatchEnv("toy", render_mode="rgb_array")
    >>> _ = env.reset(seed=0)
    >>> frame = env.render()
    >>> frame.shape, frame.dtype.name
    ((540, 960, 3), 'uint8')
    """

    def __init__(self, *, width_px: int = 960, height_px: int = 540, dpi: int = 80):
        if width_px < 64 or height_px < 64:
            raise ValueError(f"frame size: must be at least 64x64 px, got {width_px}x{height_px}")
        self.width_px, self.height_px, self.dpi = int(width_px), int(height_px), int(dpi)
        self._fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
        self._canvas = FigureCanvasAgg(self._fig)
        # The axes and their fixed parts are made once; a frame redraws only the data.
        grid = self._fig.add_gridspec(
            2,
            2,
            width_ratios=(1.9, 1.0),
            left=0.05,
            right=0.985,
            bottom=0.08,
            top=0.92,
            wspace=0.16,
            hspace=0.42,
        )
        self._axes = (
            _map_axes(self._fig.add_subplot(grid[:, 0])),
            self._fig.add_subplot(grid[0, 1]),
            self._fig.add_subplot(grid[1, 1]),
        )
        self._ts = builtin_timescale()
        self._window: Any = None  # pyplot figure of render_mode="human", opened on first show

    # ------------------------------------------------------------------ public
    def frame(self, env: Any) -> np.ndarray:
        """Draw the current state of ``env`` (after ``reset()``) as an RGB array.

        Reads ``env.world``, ``env.sim``, ``env.view``, ``env.candidates``, ``env.scenario``,
        ``env.metrics()`` and ``env.last_decision`` (``(job, candidates, action)`` of the
        last step, or ``None``).
        """
        fig = self._fig
        world, sim, view = env.world, env.sim, env.view
        job = view.head
        cands = env.candidates if job >= 0 else []
        last = env.last_decision
        chosen = last[1][last[2]] if last is not None and last[2] < len(last[1]) else -1
        now = sim.now
        m = env.metrics()
        fig.suptitle(
            f"{env.scenario.name}   {format_utc(env.scenario.episode.epoch, now)[:19]} UTC"
            f"   arrived {m['jobs_arrived']}  completed {m['jobs_completed']}"
            f"  dropped {m['jobs_dropped']}  in flight {m['jobs_in_flight']}"
            f"   mean turnaround {_hours(m['mean_turnaround_s'])}",
            fontsize=10,
        )
        for ax in self._axes:
            _clear(ax)
        map_ax, queue_ax, decision_ax = self._axes
        self._draw_map(map_ax, world, view, now, cands, chosen)
        self._draw_queues(queue_ax, world, view, cands, chosen)
        self._draw_decision(decision_ax, env, job, cands, last)
        self._canvas.draw()
        rgba = np.asarray(self._canvas.buffer_rgba())
        return np.ascontiguousarray(rgba[..., :3])

    def show(self, frame: np.ndarray, fps: float) -> None:
        """Show ``frame`` in a window (``render_mode="human"``), pausing ``1 / fps`` seconds."""
        import matplotlib.pyplot as plt  # only here: the one place that wants a display

        if self._window is None or not plt.fignum_exists(self._window[0].number):
            window = plt.figure(figsize=(self.width_px / self.dpi, self.height_px / self.dpi))
            ax = window.add_axes((0.0, 0.0, 1.0, 1.0))
            ax.set_axis_off()
            self._window = (window, ax.imshow(frame))
        else:
            self._window[1].set_data(frame)
        plt.pause(1.0 / fps)

    def close(self) -> None:
        """Close the window of ``render_mode="human"``, if one is open."""
        if self._window is not None:
            import matplotlib.pyplot as plt

            plt.close(self._window[0])
            self._window = None

    # ------------------------------------------------------------------ panels
    def _draw_map(self, ax, world, view, now: float, cands: list[int], chosen: int) -> None:
        n = world.n_sats
        focus = list(dict.fromkeys([*cands, *([chosen] if chosen >= 0 else [])]))[:MAX_DETAILED]
        epoch = world.scenario.episode.epoch
        times = np.arange(now - TRACK_HALF_S, now + TRACK_HALF_S + 1.0, TRACK_STEP_S)
        here = propagate_ecef(world.constellation, time_grid(epoch, [now], ts=self._ts))
        lat, lon = ecef_to_lat_lon(here.r_km[:, 0])
        if focus:
            grid = time_grid(epoch, times, ts=self._ts)
            for sat in focus:
                track = propagate_ecef(world.constellation, grid, start=sat, stop=sat + 1)
                tlat, tlon = ecef_to_lat_lon(track.r_km[0])
                tlon, tlat = _break_wraps(tlon, tlat)
                color = _CHOSEN if sat == chosen else _CANDIDATE
                ax.plot(tlon, tlat, color=color, lw=0.8, alpha=0.6)
        st_lat = np.array([s.lat_deg for s in world.stations])
        st_lon = (np.array([s.lon_deg for s in world.stations]) + 180.0) % 360.0 - 180.0
        p = world.plan.passes
        live = (p.rise_s <= now) & (now < p.set_s)
        segments = [
            ((st_lon[g], st_lat[g]), (lon[s], lat[s]))
            for s, g in zip(p.sat[live].tolist(), p.station[live].tolist(), strict=True)
            if abs(st_lon[g] - lon[s]) < 180.0
        ]
        if segments:
            ax.add_collection(LineCollection(segments, colors="tab:green", linewidths=1.0))
        ax.scatter(
            st_lon,
            st_lat,
            marker="^",
            s=18,
            c="tab:green",
            edgecolors="k",
            linewidths=0.4,
            label="station",
            zorder=3,
        )
        failed = sorted(view.failed)
        others = np.setdiff1d(np.arange(n), [*focus, *failed])
        ax.scatter(
            lon[others], lat[others], s=6 if n > 200 else 14, c="0.35", label="satellite", zorder=4
        )
        if cands:
            ax.scatter(lon[cands], lat[cands], s=30, c=_CANDIDATE, label="candidate", zorder=5)
        if chosen >= 0:
            ax.scatter(
                lon[chosen],
                lat[chosen],
                s=60,
                marker="*",
                c=_CHOSEN,
                label="last dispatch",
                zorder=6,
            )
        if failed:
            ax.scatter(lon[failed], lat[failed], s=30, marker="x", c="k", label="failed", zorder=6)
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        ax.text(
            0.99,
            0.02,
            f"{int(live.sum())} contacts",
            transform=ax.transAxes,
            ha="right",
            fontsize=7,
        )

    def _draw_queues(self, ax, world, view, cands: list[int], chosen: int) -> None:
        n = world.n_sats
        committed = np.array([view.committed(s) for s in range(n)])
        onboard = np.array([view.onboard(s) for s in range(n)])
        size = np.array([view.buffer_jobs(s) for s in range(n)], dtype=float)
        if n <= MAX_DETAILED:
            shown = list(range(n))
        else:  # the decision's satellites, then the fullest
            focus = list(dict.fromkeys([*cands, *([chosen] if chosen >= 0 else [])]))
            rest = [
                s for s in np.argsort(-committed / size, kind="stable").tolist() if s not in focus
            ]
            shown = sorted((focus + rest)[:MAX_DETAILED])
        x = np.arange(len(shown))
        fill_on = onboard[shown] / size[shown]
        fill_up = (committed[shown] - onboard[shown]) / size[shown]
        edge = [_CHOSEN if s == chosen else _CANDIDATE if s in cands else "none" for s in shown]
        ax.bar(x, fill_on, color="tab:orange", label="on board", edgecolor=edge, linewidth=1.2)
        ax.bar(x, fill_up, bottom=fill_on, color="tab:gray", alpha=0.6, label="in uplink")
        ax.axhline(1.0, color="k", lw=0.6, ls="--")
        ax.set_ylim(0, max(1.1, float((fill_on + fill_up).max(initial=0.0)) * 1.05))
        ax.set_xticks(x)
        names = world.constellation.names
        ax.set_xticklabels([names[s] for s in shown], rotation=90, fontsize=5)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("buffer fill", fontsize=8)
        note = "" if len(shown) == n else f" ({len(shown)} of {n})"
        ax.set_title(f"per-satellite queues{note}", fontsize=9)
        ax.legend(loc="upper right", fontsize=6)

    def _draw_decision(self, ax, env, job: int, cands: list[int], last) -> None:
        ax.set_axis_off()
        world, view, sim = env.world, env.view, env.sim
        names = world.constellation.names
        lines = [f"pending jobs: {len(sim.pending)}"]
        if last is None:
            lines.append("last action: — (episode start)")
        else:
            ljob, lcands, action = last
            if action < len(lcands):
                lines.append(
                    f"last action: job {ljob} -> candidate {action} ({names[lcands[action]]})"
                )
            else:
                lines.append(f"last action: job {ljob} deferred")
        if job < 0:
            lines.append("no job awaits a decision")
        else:
            info = view.job(job)
            origin = info["origin"]
            where = world.station_names[origin] if origin >= 0 else "on board"
            model = env.scenario.models[info["model"]].name
            lines += [
                f"job {job}: {model}, {info['input_tokens']} tokens in",
                f"  from {where}, waited {_hours(sim.now - info['arrival_s'])}",
                "candidates (estimated turnaround):",
            ]
            mask = env.action_masks()
            for i, e in enumerate(view.estimates(job, cands)):
                mark = "" if mask[i] else "  (masked)"
                lines.append(
                    f"  {i}: {names[e.sat]:<14} {_hours(e.delivered - info['arrival_s'])}{mark}"
                )
        ax.text(
            0.0,
            1.0,
            "\n".join(lines),
            va="top",
            ha="left",
            family="monospace",
            fontsize=7,
            transform=ax.transAxes,
        )
        ax.set_title("decision", fontsize=9, loc="left")
