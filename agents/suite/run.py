"""Running a suite: each cell through :func:`agents.evaluate.evaluate`, then the suite rows."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.evaluate import evaluate
from agents.report import write_results
from agents.results import BOUND_LABEL, EvaluationResult
from agents.specs import parse_agents
from agents.stats import compare_with
from agents.suite.spec import Cell, Suite, check_int, is_candidate_heuristic
from envs.errors import ConfigError
from envs.scenario import load_scenario

__all__ = [
    "SUITE_COLUMNS",
    "CellOutcome",
    "SuiteResult",
    "best_heuristics",
    "cell_folder",
    "cell_rows",
    "check_cell",
    "run_cell",
    "run_suite",
    "suite_agents",
]

SUITE_COLUMNS = (
    "cell", "label", "scenario", "load", "agent", "episodes", "cost_per_job_s", "mean_s",
    "p95_s", "drop_rate", "ratio_to_best_heuristic", "ratio_low", "ratio_high",
    "best_heuristic", "gap_closed", "bound_cost_per_job_s", "bound_mean_s", "bound_p95_s",
    "skipped", "ci_method", "few_seeds",
)  # fmt: skip


# --- running a cell ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellOutcome:
    """A cell's evaluation, or the reason it was skipped (``result`` is then ``None``)."""

    index: int
    cell: Cell
    agents: tuple[str, ...]
    episodes: int
    result: EvaluationResult | None = None
    skipped: str = ""


def check_cell(index: int, cell: Cell) -> str:
    """Load the cell's scenario at every load: ``""``, or why it is skipped (missing files).

    Raises:
        ConfigError: Any other problem, naming the cell.
    """
    for load in cell.loads:
        try:
            load_scenario(cell.scenario, {**cell.overrides, "load": load})
        except ConfigError as exc:
            if "file not found" in str(exc):
                return f"missing file: {exc}"
            raise ConfigError(f"cells[{index}] ({cell.label}): {exc}") from None
    return ""


def run_cell(
    index: int,
    cell: Cell,
    agents: Sequence[str],
    *,
    episodes: int | None = None,
    workers: int = 1,
    backend: str = "process",
    progress: bool = True,
    skipped: str | None = None,
) -> CellOutcome:
    """Evaluate ``agents`` on one cell (its seeds; ``episodes`` replaces their count).

    ``skipped`` is :func:`check_cell`'s answer when already known.
    """
    count = cell.seeds.count if episodes is None else episodes
    skipped = check_cell(index, cell) if skipped is None else skipped
    if skipped:
        return CellOutcome(index, cell, tuple(agents), count, skipped=skipped)
    result = evaluate(
        cell.scenario, list(agents), cell.loads, episodes=count, seed=cell.seeds.first,
        workers=workers, backend=backend, progress=progress, overrides=dict(cell.overrides),
    )  # fmt: skip
    return CellOutcome(index, cell, tuple(agents), count, result)


def best_heuristics(result: EvaluationResult) -> dict[float, str]:
    """Per load, the candidate heuristic with the lowest cost per job (ties: the first)."""
    best = {}
    for load in result.config["loads"]:
        rows = [r for r in result.summary if r["load"] == load]
        costs = [
            (r["cost_per_job_s"], i, r["agent"])
            for i, r in enumerate(rows)
            if is_candidate_heuristic(r["agent"]) and not math.isnan(r["cost_per_job_s"])
        ]
        if costs:
            best[load] = min(costs)[2]
    return best


def cell_rows(outcome: CellOutcome) -> list[dict[str, Any]]:
    """The :data:`SUITE_COLUMNS` rows of a cell: one per load and agent."""
    cell, nan = outcome.cell, math.nan
    base = {"cell": outcome.index, "label": cell.label, "scenario": cell.scenario}
    if outcome.result is None:
        return [
            {**dict.fromkeys(SUITE_COLUMNS, nan), **base, "load": load, "agent": agent,
             "episodes": 0, "best_heuristic": "", "skipped": outcome.skipped,
             "ci_method": "", "few_seeds": False}
            for load in cell.loads for agent in outcome.agents
        ]  # fmt: skip
    result = outcome.result
    base["scenario"] = result.config["scenario"]
    best = best_heuristics(result)
    ratios = {
        (r["agent"], r["load"]): r for r in compare_with(result, best, include_reference=True)
    }
    summary = {(r["agent"], r["load"]): r for r in result.summary}
    rows = []
    for load in result.config["loads"]:
        bound = summary.get((BOUND_LABEL, load), {})
        bound_cost = bound.get("cost_per_job_s", nan)
        ref = best.get(load, "")
        ref_cost = summary[ref, load]["cost_per_job_s"] if ref else nan
        for agent in result.config["agents"]:
            s, c = summary[agent, load], ratios.get((agent, load), {})
            gap = ref_cost - bound_cost
            rows.append({
                **base, "load": load, "agent": agent, "episodes": s["episodes"],
                "cost_per_job_s": s["cost_per_job_s"], "mean_s": s["mean_turnaround_s"],
                "p95_s": s["p95_turnaround_s"], "drop_rate": s["drop_rate"],
                "ratio_to_best_heuristic": c.get("cost_ratio", nan),
                "ratio_low": c.get("cost_ratio_low", nan),
                "ratio_high": c.get("cost_ratio_high", nan), "best_heuristic": ref,
                "gap_closed": (ref_cost - s["cost_per_job_s"]) / gap if gap > 0 else nan,
                "bound_cost_per_job_s": bound_cost,
                "bound_mean_s": bound.get("mean_turnaround_s", nan),
                "bound_p95_s": bound.get("p95_turnaround_s", nan), "skipped": "",
                "ci_method": c.get("ci_method", ""), "few_seeds": s["few_seeds"],
            })  # fmt: skip
    return rows


def suite_agents(suite: Suite, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The suite's agents followed by ``extra`` ones it does not already run (validated)."""
    extra = [e for e in extra if isinstance(e, str) and e.strip()]
    labels = [s.label for s in parse_agents(extra)] if extra else []
    return tuple(dict.fromkeys([*suite.agents, *labels]))


def cell_folder(outcome: CellOutcome) -> str:
    """The cell's output subfolder: ``cells/NN_label`` (label made safe for file names)."""
    return f"cells/{outcome.index:02d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', outcome.cell.label)}"


# --- the whole suite ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """Every cell's outcome and the suite rows (:data:`SUITE_COLUMNS`)."""

    suite: Suite
    agents: tuple[str, ...]
    extra: tuple[str, ...]
    outcomes: tuple[CellOutcome, ...]
    rows: tuple[dict[str, Any], ...]


def run_suite(
    suite: Suite,
    extra: Iterable[str] = (),
    *,
    episodes: int | None = None,
    workers: int = 1,
    backend: str = "process",
    progress: bool = True,
    out_dir: str | os.PathLike[str] | None = None,
    plots: bool = True,
) -> SuiteResult:
    """Run every cell with the suite's agents plus ``extra`` ones.

    Every cell's scenario is loaded first (a bad one stops the run before any episode; one
    with missing files is skipped). With ``out_dir``, each cell's normal outputs
    (:func:`agents.report.write_results`, ``comparison.csv`` against the best heuristic of
    each load) go to ``out_dir/cells/NN_label`` as soon as it finishes.

    Args:
        suite: A suite from :func:`load_suite`.
        extra: More agents (``maskable_ppo:PATH``, ``rollout:ect:100``, …).
        episodes: Seeds per cell instead of the suite's counts.
        workers: Worker processes for each cell's episodes.
        backend: ``"process"`` or ``"ray"``, as :func:`agents.evaluate.evaluate`.
        progress: Progress bars.
        out_dir: Where the cells' own outputs go (none without it).
        plots: Also draw each cell's two figures.
    """
    agents = suite_agents(suite, extra)
    if episodes is not None:
        check_int("episodes", episodes, 1)
    try:
        skips = [check_cell(i, cell) for i, cell in enumerate(suite.cells)]
    except ConfigError as exc:
        raise ConfigError(f"{suite.source.name}: {exc}") from None
    outcomes = []
    for i, (cell, skipped) in enumerate(zip(suite.cells, skips, strict=True)):
        outcome = run_cell(
            i, cell, agents, episodes=episodes, workers=workers, backend=backend,
            progress=progress, skipped=skipped,
        )  # fmt: skip
        if out_dir is not None and outcome.result is not None:
            where = Path(out_dir) / cell_folder(outcome)
            write_results(outcome.result, where, plots=plots,
                          reference=best_heuristics(outcome.result))  # fmt: skip
        outcomes.append(outcome)
    rows = tuple(r for o in outcomes for r in cell_rows(o))
    return SuiteResult(suite, agents, tuple(a for a in agents if a not in suite.agents),
                       tuple(outcomes), rows)  # fmt: skip
