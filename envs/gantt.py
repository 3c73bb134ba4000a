"""Contact-plan Gantt charts: every pass per station, or in-view counts per plane and network.

Drawn with matplotlib's object-oriented API (a ``Figure`` on no global pyplot state) and
written atomically; :func:`plot_contact_gantt_grouped` is the readable one for large
constellations (above :data:`GANTT_GROUP_ABOVE` satellites). ``envs.render`` re-exports these.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from envs.atomic import atomic_write
from envs.constants import HOUR_S
from envs.contact_plan import ContactPlan

__all__ = ["GANTT_GROUP_ABOVE", "plot_contact_gantt", "plot_contact_gantt_grouped"]

#: Satellites above which a per-satellite colour is unreadable: group by plane instead.
GANTT_GROUP_ABOVE = 20


def plot_contact_gantt(
    plan: ContactPlan,
    path: str | os.PathLike[str],
    *,
    max_stations: int = 60,
    title: str | None = None,
) -> Path:
    """Draw a contact Gantt chart: one row per station, one bar per pass, coloured by satellite.

    Args:
        plan: The contact plan.
        path: Output image (the extension picks the format, e.g. ``.png``).
        max_stations: Stations beyond this many (by pass count) are left out, and the title says so.
        title: Figure title (default: a summary of the plan).

    Returns:
        The written path.
    """
    p = plan.passes
    counts = np.bincount(p.station, minlength=len(plan.station_names))
    shown = np.argsort(-counts, kind="stable")[:max_stations]
    shown = np.sort(shown)
    row = np.full(len(plan.station_names), -1)
    row[shown] = np.arange(len(shown))
    sel = row[p.station] >= 0
    hours = HOUR_S
    x0, x1 = p.rise_s[sel] / hours, p.set_s[sel] / hours
    y = row[p.station[sel]]
    verts = np.stack(
        [np.c_[x0, y - 0.4], np.c_[x1, y - 0.4], np.c_[x1, y + 0.4], np.c_[x0, y + 0.4]], axis=1
    )
    n_sat = len(plan.satellite_names)
    cmap = matplotlib.colormaps["tab20" if n_sat <= 20 else "turbo"]
    colors = cmap((p.sat[sel] % 20) / 19.0 if n_sat <= 20 else p.sat[sel] / max(n_sat - 1, 1))
    height = max(3.0, 0.28 * len(shown) + 1.5)
    fig = Figure(figsize=(12, height), layout="constrained")
    ax = fig.subplots()
    ax.add_collection(PolyCollection(verts, facecolors=colors, edgecolors="none"))
    ax.set_xlim(0, plan.horizon_s / hours)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    ax.set_yticks(np.arange(len(shown)))
    ax.set_yticklabels([plan.station_names[g] for g in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"hours since {plan.epoch.strftime('%Y-%m-%d %H:%M UTC')}")
    ax.grid(axis="x", alpha=0.3)
    note = (
        ""
        if len(shown) == len(plan.station_names)
        else f" ({len(shown)} of {len(plan.station_names)} stations shown)"
    )
    ax.set_title(title or f"Contact plan: {len(p.sat)} passes, {n_sat} satellites{note}")
    if n_sat <= 20:
        handles = [Rectangle((0, 0), 1, 1, color=cmap((s % 20) / 19.0)) for s in range(n_sat)]
        ax.legend(
            handles,
            plan.satellite_names,
            fontsize=6,
            ncol=1,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
        )
    else:
        sm = ScalarMappable(cmap=cmap, norm=Normalize(0, n_sat - 1))
        fig.colorbar(sm, ax=ax, label="satellite index")
    return _save(fig, path)


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Render in memory, then write atomically (the format comes from the suffix)."""
    out = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=out.suffix.lstrip(".").lower() or None, dpi=120)
    with atomic_write(out, "wb") as fh:
        fh.write(buf.getvalue())
    return out


def _union(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge intervals into disjoint sorted ones.

    >>> s, e = _union(np.array([0.0, 1.0, 5.0]), np.array([2.0, 3.0, 6.0]))
    >>> s.tolist(), e.tolist()
    ([0.0, 5.0], [3.0, 6.0])
    """
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.r_[True, s[1:] > reach[:-1]]
    idx = np.flatnonzero(new)
    return s[idx], np.maximum.reduceat(e, idx) if len(idx) else e[:0]


def _in_view_count(
    sat: np.ndarray, rise: np.ndarray, set_: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Step function: how many distinct satellites are in some pass at each time.

    Overlapping passes of one satellite (several stations at once) count once.

    >>> t, n = _in_view_count(np.array([0, 0, 1]), np.array([0.0, 1.0, 1.5]),
    ...                       np.array([2.0, 3.0, 2.5]))
    >>> t.tolist(), n.tolist()
    ([0.0, 1.5, 2.5, 3.0], [1, 2, 1, 0])
    """
    starts, ends = [], []
    for s in np.unique(sat):
        a, b = _union(rise[sat == s], set_[sat == s])
        starts.append(a)
        ends.append(b)
    if not starts:
        return np.zeros(1), np.zeros(1, np.int64)
    times = np.concatenate([*starts, *ends])
    delta = np.concatenate([np.ones(sum(map(len, starts)), np.int64),
                            -np.ones(sum(map(len, ends)), np.int64)])  # fmt: skip
    t, inv = np.unique(times, return_inverse=True)
    return t, np.cumsum(np.bincount(inv, weights=delta, minlength=len(t)).astype(np.int64))


def plot_contact_gantt_grouped(
    plan: ContactPlan,
    path: str | os.PathLike[str],
    plane: Sequence[int] | np.ndarray,
    *,
    max_plane_rows: int = 12,
    title: str | None = None,
) -> Path:
    """Contact Gantt chart for large plans: one row per (network, orbital plane).

    Each row is filled in proportion to how many of the plane's satellites are in view of at
    least one station of the network at each instant (full height: all of them), coloured
    by network. With many satellites and stations this replaces a wall of per-satellite
    colours by a few readable rows: which plane reaches which network, and how much of it.

    Args:
        plan: The contact plan.
        path: Output image (the extension picks the format).
        plane: Orbital plane id of every satellite (``envs.sim.isl.plane_structure``).
        max_plane_rows: Rows per network at most; beyond it, consecutive planes share a row.
        title: Figure title (default: a summary of the plan).

    Returns:
        The written path.
    """
    p = plan.passes
    plane = np.asarray(plane, dtype=np.int64)
    if plane.shape != (len(plan.satellite_names),):
        raise ValueError(
            f"plane: expected one plane id per satellite ({len(plan.satellite_names)}), "
            f"got shape {plane.shape}"
        )
    ids = np.unique(plane)
    per_row = -(-len(ids) // max_plane_rows)  # planes per row, so at most max_plane_rows rows
    group = np.searchsorted(ids, plane) // per_row
    groups = np.unique(group)
    names = {
        g: f"plane {ids[g * per_row]}" if per_row == 1
        else f"planes {ids[g * per_row]}-{ids[min((g + 1) * per_row, len(ids)) - 1]}"
        for g in groups
    }  # fmt: skip
    sats_in = {g: int((group == g).sum()) for g in groups}
    net_of_pass = np.asarray(plan.station_network)[p.station]
    plane_of_pass = group[p.sat]
    planes = groups
    rows: list[tuple[int, int]] = [(n, q) for n in range(len(plan.network_names)) for q in planes]
    cmap = matplotlib.colormaps["tab10"]
    hours = HOUR_S
    fig = Figure(figsize=(12, max(3.0, 0.26 * len(rows) + 1.6)), constrained_layout=True)
    ax = fig.subplots()
    for y, (n, q) in enumerate(rows):
        sel = (net_of_pass == n) & (plane_of_pass == q)
        t_h, count = _in_view_count(p.sat[sel], p.rise_s[sel] / hours, p.set_s[sel] / hours)
        top = y + 0.4 - 0.8 * count / sats_in[q]  # the row fills as more satellites are in view
        ax.fill_between(t_h, y + 0.4, top, step="post", color=cmap(n % 10), lw=0)
    for y in range(len(planes), len(rows), len(planes)):
        ax.axhline(y - 0.5, color="black", lw=0.6)
    ax.set_xlim(0, plan.horizon_s / hours)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(np.arange(len(rows)))
    ax.set_yticklabels(
        [f"{plan.network_names[n]} · {names[q]} ({sats_in[q]} sats)" for n, q in rows], fontsize=7
    )
    ax.invert_yaxis()
    ax.set_xlabel(f"hours since {plan.epoch.strftime('%Y-%m-%d %H:%M UTC')}")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=cmap(n % 10), label=name) for n, name in enumerate(plan.network_names)]
    ax.legend(handles=handles, fontsize=7, title="network", loc="center left",
              bbox_to_anchor=(1.0, 0.5))  # fmt: skip
    ax.set_title(title or (
        f"Contact plan: {len(p.sat)} passes, {len(plan.satellite_names)} satellites in "
        f"{len(ids)} planes, {len(plan.station_names)} stations\nrow height = share of the "
        "plane's satellites in view of the network (full row: all of them)"
    ), fontsize=10)  # fmt: skip
    return _save(fig, path)
