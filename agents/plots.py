"""Pictures of evaluations (matplotlib's object API; every file written atomically).

* :func:`plot_turnaround_cdf`, :func:`plot_turnaround_vs_load`: an ``EvaluationResult``
  (the ``*_figure`` functions return the figure unsaved). Curves of agents that coincide stay
  visible (dashes, markers, narrowing widths) and legends say when two agents are identical.
* :func:`save_figure`, :func:`agent_colors`, :func:`distinct_colors`,
  :func:`format_duration`: what every figure of the project shares (the episode's figures,
  :mod:`agents.episode_plots`, and the studies', :mod:`agents.analysis.figures`).

It reads the records of :mod:`agents.results` and imports nothing that runs episodes.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from agents.results import BOUND_LABEL, EpisodeResult, EvaluationResult, short_label
from envs.atomic import atomic_write
from envs.constants import HOUR_S

if TYPE_CHECKING:
    pass

__all__ = [
    "HOUR_S",
    "agent_colors",
    "distinct_colors",
    "format_duration",
    "identical_agents",
    "plot_turnaround_cdf",
    "plot_turnaround_vs_load",
    "save_figure",
    "turnaround_cdf_figure",
    "turnaround_vs_load_figure",
]

_TICKS_H = (1 / 360, 1 / 60, 1 / 6, 1.0, 4.0, 12.0, 48.0)  # 10 s, 1 min, 10 min, 1 h, ...
_FINE_TICKS_H = (1 / 60, 5 / 60, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0)


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
    return dict(zip(labels, distinct_colors(len(labels)), strict=True))


def distinct_colors(n: int) -> list[tuple]:
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
