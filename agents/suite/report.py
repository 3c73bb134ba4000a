"""A suite's outputs: ``suite.csv``, ``suite.json``, the printed table and its readings."""

from __future__ import annotations

import csv
import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.bootstrap import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, MIN_SEEDS
from agents.html_page import figure_div, html_table, page
from agents.report import print_wide
from agents.report_html import REPORT_NAME
from agents.results import short_label
from agents.suite.run import SUITE_COLUMNS, SuiteResult, cell_folder, is_candidate_heuristic
from agents.units import time_unit
from envs.atomic import atomic_write

__all__ = ["GOOD_RATIO", "print_suite", "reading", "suite_report_html", "write_suite"]

#: The ratio to the best heuristic a reading line counts cells at or below.
GOOD_RATIO = 0.90


def _json_safe(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def write_suite(
    result: SuiteResult, out_dir: str | os.PathLike[str], *, report: bool = True
) -> list[Path]:
    """Write ``suite.csv`` (the rows, NaN as empty) and ``suite.json`` (suite, cells, rows).

    With ``report`` also ``report.html``: :func:`suite_report_html`, linking each cell's own
    ``report.html`` where the cell wrote one.

    ``suite.json`` holds the suite's name, file, agents and seeds, one entry per cell (label,
    scenario, loads, overrides, seeds, episodes, ``skipped`` reason, output ``folder``) and
    the rows (NaN as ``null``). Both files are written atomically.
    """
    out = Path(out_dir)
    paths = [out / "suite.csv", out / "suite.json"]
    with atomic_write(paths[0], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SUITE_COLUMNS)
        for row in result.rows:
            writer.writerow("" if _json_safe(row[c]) is None else row[c] for c in SUITE_COLUMNS)
    suite = result.suite
    cells = [
        {
            "cell": o.index, "label": o.cell.label, "scenario": o.cell.scenario,
            "loads": list(o.cell.loads), "overrides": dict(o.cell.overrides),
            "seeds": {"first": o.cell.seeds.first, "count": o.episodes},
            "skipped": o.skipped, "folder": "" if o.result is None else cell_folder(o),
        }
        for o in result.outcomes
    ]  # fmt: skip
    data = {
        "suite": {"name": suite.name, "description": suite.description,
                  "file": str(suite.source), "agents": list(suite.agents),
                  "seeds": {"first": suite.seeds.first, "count": suite.seeds.count}},
        "agents": list(result.agents), "extra_agents": list(result.extra),
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED,
                      "confidence": 0.95, "over": "seeds (paired)", "statistic": "cost ratio",
                      "method": "BCa (scipy.stats.bootstrap)", "min_seeds": MIN_SEEDS},
        "cells": cells,
        "rows": [{k: _json_safe(v) for k, v in r.items()} for r in result.rows],
    }  # fmt: skip
    with atomic_write(paths[1]) as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    if report:
        paths.append(out / REPORT_NAME)
        with atomic_write(paths[-1], "w", encoding="utf-8") as fh:
            fh.write(suite_report_html(result, out))
    return paths


def suite_report_html(result: SuiteResult, out_dir: str | os.PathLike[str] | None = None) -> str:
    """The suite as one self-contained HTML page: the table and the ratios with their intervals.

    Turnarounds and costs are in one unit for the whole table (:func:`agents.units.time_unit`).
    With ``out_dir``, each cell links to ``cells/NN_label/report.html`` when that file exists.
    """
    import plotly.graph_objects as go

    suite = result.suite
    keys = ("cost_per_job_s", "mean_s", "p95_s", "bound_cost_per_job_s")
    unit = time_unit(r[k] for r in result.rows for k in keys)
    f = unit.format
    header = ("cell", "load", "seeds", "agent", f"cost/job ({unit.name})", "ratio [95 %]", "gap",
              f"mean ({unit.name})", f"p95 ({unit.name})", "drop %")  # fmt: skip
    rows, classes, links = [], [], []
    for o in result.outcomes:
        folder = "" if o.result is None else cell_folder(o)
        if out_dir is not None and folder and (Path(out_dir) / folder / REPORT_NAME).is_file():
            links.append(f'<li><a href="{folder}/{REPORT_NAME}">{html.escape(o.cell.label)}</a>'
                         "</li>")  # fmt: skip
    for r in result.rows:
        if r["skipped"]:
            rows.append([r["label"], f"{r['load']:g}", "", short_label(r["agent"]),
                         "skipped: " + r["skipped"], *[""] * 5])  # fmt: skip
            classes.append("")
            continue
        best = r["agent"] == r["best_heuristic"]
        ratio = "= best" if best else (
            f"{r['ratio_to_best_heuristic']:.3f} [{r['ratio_low']:.3f}-{r['ratio_high']:.3f}]"
            if math.isfinite(r["ratio_to_best_heuristic"]) else "-"
        )  # fmt: skip
        rows.append([
            r["label"], f"{r['load']:g}", str(r["episodes"]), short_label(r["agent"]),
            f(r["cost_per_job_s"]), ratio,
            "-" if math.isnan(r["gap_closed"]) else f"{r['gap_closed']:+.2f}",
            f(r["mean_s"]), f(r["p95_s"]),
            "-" if math.isnan(r["drop_rate"]) else f"{100 * r['drop_rate']:.1f}",
        ])  # fmt: skip
        classes.append("")
    caption = (f"Costs and turnarounds in {unit.long_name}. ratio: cost per job / the cell's "
               "best heuristic's, [low-high] 95 % paired bootstrap over seeds; gap: share of the "
               "best heuristic's gap to the contention-free bound closed.")  # fmt: skip
    fig = go.Figure()
    ran = [r for r in result.rows if not r["skipped"]]
    for agent in result.agents:
        mine = [r for r in ran if r["agent"] == agent]
        fig.add_scatter(
            x=[f"{r['label']} @ {r['load']:g}" for r in mine],
            y=[r["ratio_to_best_heuristic"] for r in mine], mode="markers",
            name=short_label(agent),
            error_y={"type": "data",
                     "array": [r["ratio_high"] - r["ratio_to_best_heuristic"] for r in mine],
                     "arrayminus": [r["ratio_to_best_heuristic"] - r["ratio_low"] for r in mine]},
        )  # fmt: skip
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    fig.update_layout(height=460, yaxis_title="cost per job / best heuristic's",
                      title="Ratio to the best heuristic of each cell and load (95 % paired "
                      "bootstrap over seeds); below 1 is better")  # fmt: skip
    cells = (f"<p>Each cell's own report:</p><ul>{''.join(links)}</ul>" if links
             else '<p class="note">No cell wrote its own report.</p>')  # fmt: skip
    sections = [
        f'<p class="note">{html.escape(suite.description or "")} ({suite.source.name})</p>',
        '<section id="suite"><h2>Against the best heuristic of each cell</h2>'
        + html_table(header, rows, caption=caption, classes=classes) + "</section>",
        '<section id="ratios"><h2>Ratios</h2>' + figure_div(fig, "ratios") + "</section>",
        f'<section id="cells"><h2>Cells</h2>{cells}</section>',
    ]  # fmt: skip
    return page(f"suite {suite.name}", sections)


def reading(rows: Sequence[dict[str, Any]], agent: str) -> str:
    """One line on ``agent`` against the best heuristics of the cells (loads ≥ 1 if any).

    >>> rows = [{"agent": "x", "label": "a", "load": ld, "ratio_to_best_heuristic": r,
    ...          "ratio_high": r + 0.01, "drop_rate": 0.0, "skipped": ""}
    ...         for ld, r in ((0.5, 0.5), (1.0, 0.8), (2.0, 1.04))]
    >>> reading(rows, "x")
    'x: ≤ 0.90× the best heuristic in 1 of 2 cells at load ≥ 1; worst 1.04× (a, load 2); \
interval below 1 in 1; drop rate at most 0.0 %'
    """
    run = [r for r in rows if r["agent"] == agent and not r["skipped"]
           and math.isfinite(r["ratio_to_best_heuristic"])]  # fmt: skip
    if not run:
        return f"{short_label(agent)}: no cell ran"
    high = [r for r in run if r["load"] >= 1]
    where = "at load ≥ 1" if high else "(all loads below 1)"
    chosen = high or run
    good = sum(r["ratio_to_best_heuristic"] <= GOOD_RATIO for r in chosen)
    below = sum(r["ratio_high"] < 1 for r in chosen)
    worst = max(chosen, key=lambda r: r["ratio_to_best_heuristic"])
    drops = max(r["drop_rate"] for r in chosen)
    return (
        f"{short_label(agent)}: ≤ {GOOD_RATIO:.2f}× the best heuristic in {good} of "
        f"{len(chosen)} cells {where}; worst {worst['ratio_to_best_heuristic']:.2f}× "
        f"({worst['label']}, load {worst['load']:g}); interval below 1 in {below}; "
        f"drop rate at most {100 * drops:.1f} %"
    )


def print_suite(result: SuiteResult, *, console: Any = None) -> None:
    """Print one table of the suite (one time unit by size), skipped cells, and readings.

    Readings are given for every extra agent and every suite agent that is not a candidate
    heuristic (e.g. ``oracle`` or ``rollout:…`` when the suite lists them).
    """
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    keys = ("cost_per_job_s", "mean_s", "p95_s", "bound_cost_per_job_s")
    unit = time_unit(r[k] for r in result.rows for k in keys)
    m = unit.format

    def pct(x: float) -> str:
        return "-" if math.isnan(x) else f"{100 * x:.1f}"

    suite = result.suite
    table = Table(
        title=escape(f"suite {suite.name}: cost per job against the best heuristic of each cell "
                     f"({unit.long_name})"),
        caption=escape(
            "ratio: cost per job / the cell's best heuristic's (= best), [low-high] 95 % paired "
            "BCa bootstrap over seeds; gap: share of the best heuristic's gap to the bound "
            "closed; cost/job: time in system plus drop penalties per job; bound *: "
            "contention-free, no drops"
            + ("; seeds < 5: the intervals mean little" if any(r["few_seeds"] for r in result.rows)
               else "")
        ),
        box=box.SIMPLE_HEAD,
    )
    names = ("cell", "load", "seeds", "agent", "cost/job", "ratio [95 %]", "gap", "mean",
             "p95", "drop%")  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name in ("cell", "agent") else "right",
                         no_wrap=True)  # fmt: skip
    by_cell: dict[tuple[int, float], list[dict[str, Any]]] = {}
    for r in result.rows:
        by_cell.setdefault((r["cell"], r["load"]), []).append(r)
    skipped = []
    for (_, load), rows in by_cell.items():
        first = rows[0]
        if first["skipped"]:
            if not skipped or skipped[-1][0] != first["label"]:
                skipped.append((first["label"], first["skipped"]))
                table.add_row(escape(first["label"]), "", "", "skipped (see below)", *[""] * 6)
                table.add_section()
            continue
        for i, r in enumerate(rows):
            best = r["agent"] == r["best_heuristic"]
            ratio = "= best" if best else escape(
                f"{r['ratio_to_best_heuristic']:.3f} [{r['ratio_low']:.3f}-{r['ratio_high']:.3f}]"
                if math.isfinite(r["ratio_to_best_heuristic"]) else "-"
            )  # fmt: skip
            table.add_row(
                escape(first["label"]) if i == 0 else "", f"{load:g}" if i == 0 else "",
                str(r["episodes"]) if i == 0 else "", escape(short_label(r["agent"])),
                m(r["cost_per_job_s"]), ratio,
                "-" if math.isnan(r["gap_closed"]) else f"{r['gap_closed']:+.2f}",
                m(r["mean_s"]), m(r["p95_s"]), pct(r["drop_rate"]),
            )  # fmt: skip
        table.add_row("", "", "", "bound *", m(first["bound_cost_per_job_s"]), "", "",
                      m(first["bound_mean_s"]), m(first["bound_p95_s"]), "0.0")  # fmt: skip
        table.add_section()
    console = console or Console()
    print_wide(table, console)
    for label, reason in skipped:
        console.print(f"skipped {label}: {reason}", markup=False, highlight=False, soft_wrap=True)
    for agent in result.agents:
        if agent in result.extra or not is_candidate_heuristic(agent):
            console.print(
                reading(result.rows, agent), markup=False, highlight=False, soft_wrap=True
            )
