"""The turnaround study: every agent on the same episodes, each job classified, the shares.

:func:`run_study` evaluates the agents on paired seeds (:func:`agents.evaluate.evaluate`),
classifies every job against the contact plan (:func:`agents.analysis.turnaround.classify`)
and pools the jobs into the share tables of :data:`TABLES` (by policy, pass timing, origin
station and hour of submission) and the median stage durations. The command
(``constellation-dispatch study turnaround``) parses the options, shows progress, prints the
tables and writes the files and figures (:mod:`agents.analysis.figures`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.analysis.turnaround import (
    THRESHOLD_S,
    classify,
    pool,
    share_table,
    stage_table,
)
from agents.evaluate import evaluate
from agents.results import EvaluationResult
from agents.specs import AgentSpec
from envs.contact_plan import ContactPlan, default_cache_dir
from envs.scenario import load_scenario
from envs.sim import build_world

__all__ = ["TABLES", "TurnaroundStudy", "pass_facts", "run_study"]

#: Output tables: file stem → grouping columns (after ``agent``).
TABLES = {
    "share_by_policy": [],
    "share_by_pass_timing": ["pass_timing"],
    "share_by_origin": ["origin_station"],
    "share_by_hour": ["submit_hour"],
}


@dataclass(frozen=True, slots=True)
class TurnaroundStudy:
    """The evaluation (jobs classified), the pooled job table, the tables and the passes.

    ``tables`` maps each name of :data:`TABLES` to its share rows, and ``stages`` to the
    median stage durations; ``passes_over_origins`` is :func:`pass_facts` of the origins.
    """

    result: EvaluationResult
    plan: ContactPlan
    table: dict[str, NDArray]
    tables: dict[str, list[dict[str, Any]]]
    passes_over_origins: list[dict[str, Any]]


def pass_facts(plan: Any, origins: np.ndarray, horizon_s: float) -> list[dict[str, Any]]:
    """Per origin station: passes rising before ``horizon_s`` and their durations (s)."""
    p = plan.passes
    rows = []
    for g in origins:
        idx = plan.station_passes(int(g))
        idx = idx[p.rise_s[idx] < horizon_s]
        dur = p.set_s[idx] - p.rise_s[idx]
        rows.append(
            {
                "station": plan.station_names[g],
                "passes": len(idx),
                "median_pass_s": float(np.median(dur)) if len(dur) else math.nan,
                "max_pass_s": float(dur.max()) if len(dur) else math.nan,
                "first_rise_h": float(p.rise_s[idx].min() / 3600) if len(idx) else math.nan,
            }
        )
    return rows


def run_study(
    scenario: str | os.PathLike[str],
    specs: Sequence[AgentSpec],
    load: float,
    *,
    episodes: int,
    seed: int,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    threshold_s: float = THRESHOLD_S,
    progress: bool = False,
) -> TurnaroundStudy:
    """Evaluate ``specs`` on ``episodes`` paired seeds from ``seed``, classify, pool, tabulate."""
    overrides = dict(overrides or {})
    result = evaluate(
        scenario,
        specs,
        loads=[load],
        episodes=episodes,
        seed=seed,
        workers=workers,
        progress=progress,
        overrides=overrides,
    )
    sc = load_scenario(scenario, {**overrides, "load": load})
    plan = build_world(sc, cache_dir=default_cache_dir()).plan
    classified = [
        dataclasses.replace(e, jobs={**e.jobs, **classify(e.jobs, plan, threshold_s=threshold_s)})
        for e in result.episodes
    ]
    result = dataclasses.replace(result, episodes=classified)
    table = pool(classified)
    tables = {
        name: share_table(table, ["agent", *by], threshold_s=threshold_s)
        for name, by in TABLES.items()
    }
    tables["stages"] = stage_table(table, ["agent", "pass_timing", "under_threshold"])
    origins = np.unique(table["origin"][table["origin"] >= 0])
    passes = pass_facts(plan, origins, sc.episode.duration_s)
    return TurnaroundStudy(result, plan, table, tables, passes)
