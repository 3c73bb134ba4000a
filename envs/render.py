"""Pictures of contact plans (matplotlib, written to files; no display needed)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection

from envs.atomic import atomic_write
from envs.contact_plan import ContactPlan

__all__ = ["plot_contact_gantt"]


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
    hours = 3600.0
    x0, x1 = p.rise_s[sel] / hours, p.set_s[sel] / hours
    y = row[p.station[sel]]
    verts = np.stack(
        [np.c_[x0, y - 0.4], np.c_[x1, y - 0.4], np.c_[x1, y + 0.4], np.c_[x0, y + 0.4]], axis=1
    )
    n_sat = len(plan.satellite_names)
    cmap = plt.get_cmap("tab20" if n_sat <= 20 else "turbo")
    colors = cmap((p.sat[sel] % 20) / 19.0 if n_sat <= 20 else p.sat[sel] / max(n_sat - 1, 1))
    height = max(3.0, 0.28 * len(shown) + 1.5)
    fig, ax = plt.subplots(figsize=(12, height), constrained_layout=True)
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
        handles = [plt.Rectangle((0, 0), 1, 1, color=cmap((s % 20) / 19.0)) for s in range(n_sat)]
        ax.legend(
            handles,
            plan.satellite_names,
            fontsize=6,
            ncol=1,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
        )
    else:
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, n_sat - 1))
        fig.colorbar(sm, ax=ax, label="satellite index")
    out = Path(path)
    buf = io.BytesIO()  # render in memory, then write atomically (format from the suffix)
    fig.savefig(buf, format=out.suffix.lstrip(".").lower() or None, dpi=120)
    plt.close(fig)
    with atomic_write(out, "wb") as fh:
        fh.write(buf.getvalue())
    return out
