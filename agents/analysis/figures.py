"""The figures of the studies: turnaround against submission, shares, capacity, links.

Every figure is a ``matplotlib.figure.Figure`` on an Agg canvas, written as PNG through
:func:`agents.plots.save_figure`: no pyplot state and no backend is chosen, so drawing a
figure changes nothing in the process. The numbers come from the study modules
(:mod:`agents.analysis.turnaround`, :mod:`agents.analysis.ground_network`,
:mod:`agents.analysis.isl`); this module only draws them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from agents.analysis.turnaround import THRESHOLD_S, day_offset_s, group_codes, pass_timing
from agents.plots import HOUR_S, agent_colors, format_duration, save_figure
from envs.contact_plan import ContactPlan

__all__ = [
    "plot_capacity",
    "plot_isl",
    "plot_shares",
    "plot_turnaround_vs_submission",
]


def _figure(**kwargs: Any) -> Figure:
    """A figure on its own Agg canvas (no pyplot)."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


# ------------------------------------------------------------------------------ turnaround
def _coverage(plan: ContactPlan, origin: NDArray, t_s: NDArray) -> NDArray:
    """At each time, the share of jobs (by origin) whose origin station has a pass going on."""
    stations, counts = np.unique(origin[origin >= 0], return_counts=True)
    cover = np.zeros(len(t_s))
    for g, n in zip(stations, counts, strict=True):
        left, _ = pass_timing(plan, np.full(len(t_s), g), t_s)
        cover += n / counts.sum() * np.isfinite(left)
    return cover


def plot_turnaround_vs_submission(
    table: Mapping[str, NDArray],
    plan: ContactPlan,
    path: Any,
    *,
    threshold_s: float = THRESHOLD_S,
    max_points: int = 4000,
) -> Any:
    """Turnaround (log) against submission time, one panel per agent; returns the path.

    Dots are completed jobs (at most ``max_points`` per panel, a fixed random subset),
    coloured by whether they beat ``threshold_s``; the line is the median per 15 minutes of
    submission; the shaded area's height (as a fraction of the panel) is the share of jobs
    whose origin station has a satellite in view at that time.
    """
    agents, codes = group_codes(table["agent"], None)
    day_s = day_offset_s(plan)
    arrival = np.asarray(table["arrival_s"], dtype=np.float64)
    x = (arrival + day_s) / HOUR_S
    y = np.asarray(table["turnaround_s"], dtype=np.float64) / HOUR_S
    done = np.asarray(table["status"]) == "completed"
    fast = np.asarray(table["under_threshold"], bool)
    grid = np.arange(arrival.min(initial=0.0), arrival.max(initial=0.0) + 30.0, 30.0)
    cover = _coverage(plan, np.asarray(table["origin"]), grid)
    ncols = min(len(agents), 3)
    nrows = -(-len(agents) // ncols)
    fig = _figure(figsize=(4.3 * ncols + 0.4, 3.1 * nrows + 0.7), constrained_layout=True)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    rng = np.random.default_rng(0)
    edges = np.arange(np.floor(x.min(initial=0) * 4) / 4, x.max(initial=0) + 0.25, 0.25)
    for i, ax in enumerate(axes.flat):
        if i >= len(agents):
            ax.set_visible(False)
            continue
        mine = np.nonzero((codes == i) & done & (y > 0))[0]
        shown = np.sort(rng.choice(mine, min(len(mine), max_points), replace=False))
        ax.fill_between((grid + day_s) / HOUR_S, 0, cover, step="post", lw=0, alpha=0.15,
                        color="tab:blue", transform=ax.get_xaxis_transform())  # fmt: skip
        ax.scatter(x[shown], y[shown], s=3, lw=0, alpha=0.5,
                   c=np.where(fast[shown], "tab:green", "0.45"), rasterized=True)  # fmt: skip
        _median_line(ax, x[mine], y[mine], edges)
        ax.axhline(threshold_s / HOUR_S, color="tab:red", ls="--", lw=1)
        share = fast[codes == i].mean() if (codes == i).any() else math.nan
        ax.set_title(f"{agents[i]}: {100 * share:.1f} % under {threshold_s:g} s", fontsize=9)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(format_duration))
        ax.grid(alpha=0.3)
    _label_submission_axes(fig, axes, len(agents), threshold_s)
    return save_figure(fig, path)


def _median_line(ax: Axes, x: NDArray, y: NDArray, edges: NDArray) -> None:
    """The median of ``y`` per bin of ``x`` (``edges``) as a step line."""
    which = np.digitize(x, edges)
    med = [
        np.median(y[which == b]) if (which == b).any() else np.nan for b in range(1, len(edges))
    ]
    if med:
        ax.step(edges, [*med, med[-1]], where="post", color="black", lw=1.2)


def _label_submission_axes(fig: Figure, axes: Any, n_agents: int, threshold_s: float) -> None:
    """Time axis on the lowest panel of each column, turnaround on the first; the title."""
    ncols = axes.shape[1]
    for col in range(ncols):  # the lowest panel of each column carries the time axis
        ax = axes[(n_agents - 1 - col) // ncols, col]
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("submission time (h after 00:00 UTC)")
    for ax in axes[:, 0]:
        ax.set_ylabel("turnaround (log)")
    fig.suptitle(
        "Turnaround of completed jobs against submission time (green: under "
        f"{threshold_s:g} s; line: median per 15 min; blue area height: share of jobs whose "
        "origin has a satellite in view)",
        fontsize=9,
    )


def plot_shares(
    panels: Sequence[tuple[str, str, Sequence[Mapping[str, Any]]]],
    path: Any,
    *,
    threshold_s: float = THRESHOLD_S,
) -> Any:
    """Grouped bars of ``share_table`` rows (per ``agent``) with their 95 % intervals.

    A dotted black line over each category marks its ``bound_share`` (the contention-free
    bound, the same for every agent) when the rows have one.

    Args:
        panels: ``(title, key column, rows)`` per panel, stacked vertically; categories in
            the rows' order.
        path: PNG file to write (atomically); returned.
        threshold_s: For the axis label.
    """
    fig = _figure(figsize=(12.0, 3.4 * len(panels) + 0.4), constrained_layout=True)
    axes = fig.subplots(len(panels), 1, squeeze=False)
    for ax, (title, key, rows) in zip(axes[:, 0], panels, strict=True):
        cats = list(dict.fromkeys(r[key] for r in rows))
        agents = list(dict.fromkeys(r["agent"] for r in rows))
        colors = agent_colors(agents)
        width = 0.8 / max(len(agents), 1)
        for j, agent in enumerate(agents):
            got = {r[key]: r for r in rows if r["agent"] == agent}
            xs = [c for c, cat in enumerate(cats) if cat in got]
            share = np.array([got[cats[c]]["share"] for c in xs]) * 100
            low = np.array([got[cats[c]]["share_ci_low"] for c in xs]) * 100
            high = np.array([got[cats[c]]["share_ci_high"] for c in xs]) * 100
            err = np.nan_to_num(np.vstack([share - low, high - share]).clip(min=0))
            ax.bar(np.array(xs) + (j - (len(agents) - 1) / 2) * width, share, width, yerr=err,
                   capsize=2, color=colors[agent], label=agent)  # fmt: skip
        bounds = {r[key]: r.get("bound_share", math.nan) for r in rows}
        for c, cat in enumerate(cats):
            if np.isfinite(bounds[cat]):
                ax.hlines(100 * bounds[cat], c - 0.45, c + 0.45, color="black", ls=":", lw=1.5,
                          label="contention-free bound" if c == 0 else None)  # fmt: skip
        ax.set_xticks(range(len(cats)), [str(c) for c in cats], fontsize=8)
        ax.set_ylabel(f"% of jobs under {threshold_s:g} s")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="outside right upper")
    return save_figure(fig, path)


# ------------------------------------------------------------------------------ ground network
def plot_capacity(rows: Sequence[Mapping[str, Any]], path: Path, hours: float) -> Path:
    """Grouped bars: capacity per network choice, one panel per scenario, one bar per antenna.

    ``rows`` are :func:`agents.analysis.ground_network.study_rows` rows with their ratios
    (:func:`agents.analysis.ground_network.add_ratios`).
    """
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    kinds = list(dict.fromkeys(r["antennas_per_station"] for r in rows))
    fig = _figure(figsize=(5.5 * len(scenarios), 4.2))
    axes = fig.subplots(1, len(scenarios), squeeze=False)
    width = 0.8 / len(kinds)
    for ax, name in zip(axes[0], scenarios, strict=True):
        options = list(dict.fromkeys(r["option"] for r in rows if r["scenario"] == name))
        x = np.arange(len(options))
        for k, kind in enumerate(kinds):
            by = {r["option"]: r for r in rows
                  if r["scenario"] == name and r["antennas_per_station"] == kind}  # fmt: skip
            heights = [by[o]["capacity_gb_per_day"] for o in options]
            label = "any number of satellites" if kind == "unlimited" else f"{kind} at a time"
            bars = ax.bar(x + (k - (len(kinds) - 1) / 2) * width, heights, width, label=label)
            for bar, o in zip(bars, options, strict=True):
                ratio = by[o]["ratio_to_best_single"]
                if "+" in by[o]["networks"] and not math.isnan(ratio):
                    top = (bar.get_x() + bar.get_width() / 2, bar.get_height())
                    ax.annotate(f"×{ratio:.2f}", top, ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x)
        ax.set_xticklabels(options, fontsize=8)
        ax.set_ylabel("downlink capacity, GB/day")
        ax.set_title(f"{name} ({hours:g} h)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(title="a station antenna serves", fontsize=7, title_fontsize=7)
    fig.suptitle("×: capacity / best single network", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path)


# ------------------------------------------------------------------------------ links
def plot_isl(summary: Sequence[Mapping[str, Any]], path: Path, threshold_s: float) -> Path:
    """Mean and p95 turnaround, and the share under the threshold, per variant and agent.

    ``summary`` is :func:`agents.analysis.isl.summarise`'s rows.
    """
    labels = list(dict.fromkeys(r["variant"] for r in summary))
    agents = list(dict.fromkeys(r["agent"] for r in summary))
    fig = _figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    width = 0.8 / max(len(agents), 1)
    x = np.arange(len(labels))
    panels = (("mean_s", "mean turnaround (min)", 60.0), ("p95_s", "p95 turnaround (min)", 60.0),
              ("share_under", f"share under {threshold_s:g} s (%)", 0.01))  # fmt: skip
    for ax, (key, title, unit) in zip(axes, panels, strict=True):
        for i, agent in enumerate(agents):
            vals = [
                next((r[key] / unit for r in summary if r["variant"] == v and r["agent"] == agent),
                     math.nan)
                for v in labels
            ]  # fmt: skip
            ax.bar(x + i * width, vals, width, label=agent)
        ax.set_xticks(x + width * (len(agents) - 1) / 2, labels)
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    return save_figure(fig, path)
