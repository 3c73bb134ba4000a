"""The report of an evaluation: printed tables, the CSV/JSON files, the figures and the page.

:func:`print_table` and :func:`print_comparison` print the rows of :mod:`agents.stats` as
rich tables; :func:`write_results` writes an evaluation's folder (``summary.csv``,
``jobs.csv``, ``summary.json``, ``comparison.csv``) and calls the figures
(:mod:`agents.plots`) and the HTML page (:mod:`agents.report_html`). This is the top of
the evaluation's modules: it reads the runner's records (:mod:`agents.results`) and runs
no episodes.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.results import EvaluationResult, short_label
from agents.stats import COMPARISON_COLUMNS, SUMMARY_COLUMNS, compare_with
from envs.atomic import atomic_write, staged_folder

__all__ = [
    "EVALUATION_FILES",
    "print_comparison",
    "print_table",
    "print_wide",
    "write_results",
]

#: Files that mark an evaluation output folder (``write_results`` may replace it).
EVALUATION_FILES = ("summary.csv", "summary.json", "jobs.csv")


def _references(rows: Sequence[dict[str, Any]]) -> str:
    """The reference of a comparison, or one per load when they differ.

    >>> _references([{"reference": "ect", "load": 1.0}, {"reference": "ect", "load": 2.0}])
    'ect'
    >>> _references([{"reference": "a", "load": 1.0}, {"reference": "b", "load": 2.0}])
    'a at load 1, b at load 2'
    """
    per_load = {r["load"]: r["reference"] for r in rows}
    if len(set(per_load.values())) == 1:
        return next(iter(per_load.values()))
    return ", ".join(f"{ref} at load {load:g}" for load, ref in per_load.items())


def print_comparison(rows: Sequence[dict[str, Any]], *, console: Any = None) -> None:
    """Print :func:`compare_with` rows: each ratio with its paired 95 % interval."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    if not rows:
        return
    few = " (fewer than 5 seeds: the intervals mean little)" if rows[0].get("few_seeds") else ""
    table = Table(
        title=escape(f"paired against {_references(rows)} ({rows[0]['episodes']} seeds per "
                     "load): agent / reference"),
        caption=escape(f"[low-high]: 95 % paired BCa bootstrap over seeds{few}; below 1 "
                       "favours the agent"),
        box=box.SIMPLE_HEAD,
    )  # fmt: skip
    for name in ("agent", "load", "mean", "p95", "cost/job", "drop%", "ref drop%"):
        table.add_column(name, justify="left" if name == "agent" else "right", no_wrap=True)

    def ratio(r: dict[str, Any], key: str) -> str:
        return escape(
            f"{r[key + '_ratio']:.3f} [{r[key + '_ratio_low']:.3f}-{r[key + '_ratio_high']:.3f}]"
        )

    for r in rows:
        table.add_row(
            escape(short_label(r["agent"])), f"{r['load']:g}", ratio(r, "mean"),
            ratio(r, "p95"), ratio(r, "cost"),
            f"{100 * r['drop_rate']:.1f}", f"{100 * r['reference_drop_rate']:.1f}",
        )  # fmt: skip
    print_wide(table, console)


def print_wide(table: Any, console: Any = None) -> None:
    """Print a rich table; into a log or a pipe as wide as it needs (no column squeezed).

    A terminal keeps its width (rich wraps or shortens cells there); a file has no width,
    so the console takes the table's natural width rather than rich's default 80 columns.
    """
    from rich.console import Console
    from rich.measure import Measurement

    console = console or Console()
    if not console.is_terminal:
        wide = console.options.update(max_width=1000)
        console.width = max(console.width, Measurement.get(console, wide, table).maximum)
    console.print(table)


# ------------------------------------------------------------------------------ outputs
def _cells(values: Any) -> list[Any]:
    """CSV cells of a column: shortest round-tripping text for floats, empty for NaN."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return np.where(np.isnan(arr), "", arr.astype(str)).tolist()
    return arr.tolist()


def write_results(
    result: EvaluationResult,
    out_dir: str | os.PathLike[str],
    *,
    plots: bool = True,
    reference: str | Mapping[float, str] = "ect",
    fresh: bool = True,
    report: bool | None = None,
) -> list[Path]:
    """Write ``summary.csv``, ``jobs.csv``, ``summary.json`` and (``plots``) the two figures.

    With ``report`` (default: as ``plots``) also ``report.html``, one self-contained page of
    the tables and interactive figures (:mod:`agents.report_html`).

    When ``reference`` (one label, or a label per load) was evaluated with other agents,
    ``comparison.csv`` holds :func:`compare_with` against it.

    ``jobs.csv`` has one row per job of every episode: ``agent, load, seed`` followed by the
    ``envs.sim.job_table`` columns (times in seconds since the scenario epoch, empty where a
    stage did not happen). ``summary.json`` holds the configuration and the summary rows
    (NaN as ``null``).

    The folder is written as a set (``envs.atomic.staged_folder``): into a fresh folder that
    then replaces ``out_dir`` whole, so an interrupted write leaves the previous run intact
    and no file of an earlier run (a ``comparison.csv``, plots) stays beside the new ones.
    ``out_dir`` must be missing, empty or a previous run's folder. With ``fresh=False`` the
    files go straight into ``out_dir`` (a folder the caller stages itself).
    """
    if fresh:
        with staged_folder(out_dir, recognised=EVALUATION_FILES) as stage:
            written = write_results(result, stage, plots=plots, reference=reference,
                                    fresh=False, report=report)  # fmt: skip
        return [Path(out_dir) / p.relative_to(stage) for p in written]
    out = Path(out_dir)
    paths = [out / "summary.csv", out / "jobs.csv", out / "summary.json"]
    with atomic_write(paths[0], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SUMMARY_COLUMNS)
        cols = [_cells([r[c] for r in result.summary]) for c in SUMMARY_COLUMNS]
        writer.writerows(zip(*cols, strict=True))
    with atomic_write(paths[1], "w", newline="") as fh:
        writer = csv.writer(fh)
        columns = list(result.episodes[0].jobs) if result.episodes else []
        writer.writerow(["agent", "load", "seed", *columns])
        for e in result.episodes:
            cols = [_cells(e.jobs[c]) for c in columns]
            writer.writerows((e.agent, e.load, e.seed, *row) for row in zip(*cols, strict=True))
    refs = {reference} if isinstance(reference, str) else set(reference.values())
    comparison = None
    if refs and refs <= set(result.config["agents"]) and len(result.config["agents"]) > 1:
        comparison = compare_with(result, reference)
        paths.append(out / "comparison.csv")
        with atomic_write(paths[-1], "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COMPARISON_COLUMNS)
            cols = [_cells([r[c] for r in comparison]) for c in COMPARISON_COLUMNS]
            writer.writerows(zip(*cols, strict=True))
    rows = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
            for r in result.summary]  # fmt: skip
    with atomic_write(paths[2]) as fh:
        json.dump({"config": result.config, "summary": rows}, fh, indent=2)
        fh.write("\n")
    if plots:
        from agents.plots import plot_turnaround_cdf, plot_turnaround_vs_load

        paths.append(plot_turnaround_cdf(result, out / "turnaround_cdf.png"))
        paths.append(plot_turnaround_vs_load(result, out / "turnaround_vs_load.png"))
    if plots if report is None else report:
        from agents.report_html import REPORT_NAME, write_report

        paths.append(write_report(result, out / REPORT_NAME, comparison=comparison))
    return paths


def print_table(summary: Sequence[dict[str, Any]], *, console: Any = None) -> None:
    """Print the summary rows as a rich table, turnarounds in one unit chosen by their size.

    The unit (seconds, minutes or hours: :func:`agents.units.time_unit`) is named in the
    title; a table of minute-long turnarounds is not printed as ``0.02`` hours.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from agents.units import time_unit

    keys = ("mean_turnaround_s", "p50_turnaround_s", "p95_turnaround_s", "p99_turnaround_s",
            "cost_per_job_s")  # fmt: skip
    unit = time_unit(r[k] for r in summary for k in keys)
    h = unit.format
    first = summary[0] if summary else {"scenario": "", "episodes": 0, "few_seeds": False}
    few = " (fewer than 5: the intervals mean little)" if first.get("few_seeds") else ""
    table = Table(
        title=escape(f"{first['scenario']}: turnaround in {unit.long_name}, {first['episodes']} "
                     f"episodes per row{few}"),
        caption=escape(
            "CI: 95 % BCa bootstrap over episodes; cost/job: time in system plus drop penalties "
            "per job; * reference bound (oracle: true output lengths; bound: no other job in the "
            "way)"
        ),
        box=box.SIMPLE_HEAD,
    )  # fmt: skip
    names = ("agent", "load", "mean", "95 % CI", "p50", "p95", "p99", "done", "drop", "drop%",
             "cost/job")  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name == "agent" else "right", no_wrap=True)
    for r in summary:
        table.add_row(
            escape(short_label(r["agent"])) + (" *" if r["reference_bound"] else ""),
            f"{r['load']:g}",
            h(r["mean_turnaround_s"]), f"{h(r['mean_ci_low_s'])}-{h(r['mean_ci_high_s'])}",
            h(r["p50_turnaround_s"]), h(r["p95_turnaround_s"]), h(r["p99_turnaround_s"]),
            str(r["completed"]), str(r["dropped"]),
            "-" if math.isnan(r["drop_rate"]) else f"{100 * r['drop_rate']:.1f}",
            h(r["cost_per_job_s"]),
        )  # fmt: skip
    print_wide(table, console)
