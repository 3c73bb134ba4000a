"""Learning curves of a training run: every training episode's return and cost per job.

:class:`LearningCurve` (an SB3 callback) reads the episodes the ``Monitor`` wrappers close
(``info["episode"]``) and the env's last-step ``info`` (``jobs_arrived``, ``cost_s``);
:func:`write_learning_curve` writes them as ``learning_curve.csv`` and draws
``learning_curve.png`` (return and cost per job against timesteps, each episode a dot and a
moving mean as a line). A resumed run appends to the rows already in the folder.

>>> rows = [{"timesteps": 10 * i, "return": -float(i), "length": 5, "jobs_arrived": 4,
...          "cost_per_job_h": i / 4} for i in range(1, 4)]
>>> smooth([r["return"] for r in rows], 2).tolist()
[-1.0, -1.5, -2.5]
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.atomic import atomic_write

__all__ = ["CURVE_COLUMNS", "LearningCurve", "curve_rows", "read_learning_curve", "smooth",
           "write_learning_curve"]  # fmt: skip

#: Columns of ``learning_curve.csv``: timesteps at the episode's end, its return (the sum of
#: its step rewards, in the reward's unit), decisions, jobs arrived, and the env's objective
#: per arrived job in hours (time in system plus drop penalties, ``info["cost_s"]``).
CURVE_COLUMNS = ("timesteps", "return", "length", "jobs_arrived", "cost_per_job_h")
_INT_COLUMNS = ("timesteps", "length", "jobs_arrived")


def _callback_base() -> type:
    from stable_baselines3.common.callbacks import BaseCallback

    return BaseCallback


class LearningCurve(_callback_base()):
    """Collect one row per finished training episode (see :data:`CURVE_COLUMNS`)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, float]] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            episode = info.get("episode")
            if episode is None:
                continue
            arrived = int(info.get("jobs_arrived", 0))
            cost_s = float(info.get("cost_s", math.nan))
            self.rows.append({
                "timesteps": int(self.num_timesteps),
                "return": float(episode["r"]),
                "length": int(episode["l"]),
                "jobs_arrived": arrived,
                "cost_per_job_h": cost_s / arrived / 3600.0 if arrived else math.nan,
            })  # fmt: skip
        return True


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (fewer at the start)."""
    x = np.asarray(values, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(i - int(window), 0)
    return (c[i] - c[lo]) / (i - lo)


def read_learning_curve(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """The rows of a ``learning_curve.csv`` (empty if the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return [
            {k: int(v) if k in _INT_COLUMNS else float(v) for k, v in row.items()}
            for row in csv.DictReader(fh)
        ]


def write_learning_curve(
    rows: Sequence[dict[str, float]], folder: str | os.PathLike[str], title: str = ""
) -> tuple[Path, Path]:
    """Write ``learning_curve.csv`` and ``learning_curve.png`` into ``folder``.

    Returns:
        The paths of the CSV file and the figure.
    """
    from matplotlib.figure import Figure

    from agents.plots import save_figure

    folder = Path(folder)
    csv_path, png_path = folder / "learning_curve.csv", folder / "learning_curve.png"
    with atomic_write(csv_path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CURVE_COLUMNS)
        writer.writeheader()
        writer.writerows({k: row[k] for k in CURVE_COLUMNS} for row in rows)
    fig = Figure(figsize=(8.0, 5.6), constrained_layout=True)
    top, bottom = fig.subplots(2, 1, sharex=True)
    steps = [row["timesteps"] for row in rows]
    window = max(len(rows) // 10, 1)
    for ax, key, label in (
        (top, "return", "episode return (reward units)"),
        (bottom, "cost_per_job_h", "cost per job (h)"),
    ):
        values = [row[key] for row in rows]
        ax.plot(steps, values, ".", alpha=0.35, color="tab:blue", label="episode")
        if rows:
            ax.plot(steps, smooth(values, window), "-", color="tab:blue",
                    label=f"mean of the last {window}")  # fmt: skip
            ax.legend(loc="best", fontsize="small")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    bottom.set_xlabel("timesteps")
    top.set_title(title or f"learning curve ({len(rows)} training episodes)")
    save_figure(fig, png_path)
    return csv_path, png_path


def curve_rows(callback: LearningCurve, folder: Path) -> list[dict[str, Any]]:
    """The earlier rows in ``folder`` (a resumed run) followed by the callback's."""
    return [*read_learning_curve(folder / "learning_curve.csv"), *callback.rows]
