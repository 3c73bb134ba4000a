"""The inter-satellite link study: turnaround with links off versus on, on the same episodes.

Each agent plays the same seeds (paired) in the scenario without inter-satellite links and
with them (``isl.enabled=true``) at each ``max_hops`` (:func:`variants`), through
:func:`agents.evaluate.run_episode` (:func:`run_study`). Per episode: the mean, median and
95th percentile of the turnaround of completed jobs, the share of arrived jobs delivered
under the threshold, the drop share and the share of delivered results that were relayed
(:func:`episode_row`); :func:`summarise` pools them over seeds and adds the paired
difference to links off with a 95 % percentile bootstrap interval over seeds
(:func:`paired_ci`). The command (``constellation-dispatch study isl``) parses the options,
shows progress and writes the files; the figure is :func:`agents.analysis.figures.plot_isl`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from agents.evaluate import run_episode
from agents.specs import AgentSpec
from envs.contact_plan import default_cache_dir
from envs.scenario import load_scenario
from envs.sim import build_world

__all__ = [
    "METRICS",
    "PAIRED",
    "RESAMPLES",
    "THRESHOLD_S",
    "episode_row",
    "paired_ci",
    "run_study",
    "summarise",
    "variants",
]

THRESHOLD_S = 120.0
RESAMPLES = 2000
#: Per-episode metrics, and those compared pairwise against links off.
METRICS = ("mean_s", "p50_s", "p95_s", "share_under", "drop_share", "relayed_share")
PAIRED = ("mean_s", "p50_s", "p95_s", "share_under")


def variants(hops: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Variant label → its ISL overrides (``off`` first)."""
    out: dict[str, dict[str, Any]] = {"off": {"isl.enabled": False}}
    for h in hops:
        out[f"isl_{h}hop"] = {"isl.enabled": True, "isl.max_hops": h}
    return out


def episode_row(jobs: dict[str, np.ndarray], threshold_s: float) -> dict[str, float]:
    """Turnaround statistics of one episode's job table."""
    done = jobs["status"] == "completed"
    turn = jobs["turnaround_s"][done]
    n = len(jobs["job"])
    stats = np.percentile(turn, [50, 95]) if len(turn) else [math.nan, math.nan]
    hops = jobs.get("isl_hops")
    return {
        "jobs": n,
        "completed": int(done.sum()),
        "mean_s": float(turn.mean()) if len(turn) else math.nan,
        "p50_s": float(stats[0]),
        "p95_s": float(stats[1]),
        "share_under": float((turn < threshold_s).sum() / n) if n else math.nan,
        "drop_share": float((jobs["status"] == "dropped").sum() / n) if n else math.nan,
        "relayed_share": float((hops[done] > 0).mean()) if hops is not None and len(turn) else 0.0,
    }


def paired_ci(diffs: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean paired difference and its 95 % percentile bootstrap interval over seeds.

    >>> paired_ci(np.array([1.0, 1.0, 1.0]), np.random.default_rng(0))
    (1.0, 1.0, 1.0)
    """
    diffs = diffs[np.isfinite(diffs)]
    if not len(diffs):
        return math.nan, math.nan, math.nan
    idx = rng.integers(0, len(diffs), size=(RESAMPLES, len(diffs)))
    means = diffs[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diffs.mean()), float(low), float(high)


def summarise(
    rows: list[dict[str, Any]], pooled: dict[tuple[str, str], list[np.ndarray]], threshold_s: float
) -> list[dict[str, Any]]:
    """One row per (variant, agent): pooled statistics and paired differences to ``off``."""
    out = []
    by = {(r["variant"], r["agent"], r["seed"]): r for r in rows}
    for (variant, agent), turns in pooled.items():
        eps = [r for r in rows if r["variant"] == variant and r["agent"] == agent]
        turn = np.concatenate(turns) if turns else np.zeros(0)
        n = sum(r["jobs"] for r in eps)
        row: dict[str, Any] = {
            "variant": variant,
            "agent": agent,
            "episodes": len(eps),
            "jobs": n,
            "completed": sum(r["completed"] for r in eps),
            "mean_s": float(turn.mean()) if len(turn) else math.nan,
            "p50_s": float(np.percentile(turn, 50)) if len(turn) else math.nan,
            "p95_s": float(np.percentile(turn, 95)) if len(turn) else math.nan,
            "share_under": float((turn < threshold_s).sum() / n) if n else math.nan,
            "drop_share": float(np.mean([r["drop_share"] for r in eps])),
            "relayed_share": float(np.mean([r["relayed_share"] for r in eps])),
        }
        rng = np.random.default_rng(0)
        for key in PAIRED:
            diffs = np.array(
                [r[key] - by[("off", agent, r["seed"])][key] for r in eps], dtype=float
            )
            row[f"d_{key}"], row[f"d_{key}_low"], row[f"d_{key}_high"] = paired_ci(diffs, rng)
        out.append(row)
    return out


def run_study(
    scenario: str | os.PathLike[str],
    specs: Sequence[AgentSpec],
    load: float,
    seeds: Sequence[int],
    labels: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, Any],
    *,
    threshold_s: float = THRESHOLD_S,
    progress: bool = False,
    on_step: Callable[[str], None] = lambda what: None,
    on_done: Callable[[], None] = lambda: None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Play every variant, agent and seed; the episode rows and :func:`summarise`'s rows.

    Args:
        scenario: Preset name or YAML path.
        specs: The agents.
        load: Workload multiplier.
        seeds: Episode seeds (the same for every variant and agent).
        labels: Variant label → its ISL overrides (:func:`variants`).
        overrides: Scenario overrides for every variant (not the ISL ones).
        threshold_s: Turnaround threshold of ``share_under``.
        progress: Show the world builder's progress bar.
        on_step: Called before each episode with what it plays (for a progress bar).
        on_done: Called after each episode.
    """
    rows: list[dict[str, Any]] = []
    pooled: dict[tuple[str, str], list[np.ndarray]] = {}
    for label, isl in labels.items():
        over = {**overrides, **isl}
        world = build_world(load_scenario(scenario, {**over, "load": load}),
                            cache_dir=default_cache_dir(), progress=progress)  # fmt: skip
        for spec in specs:
            for seed in seeds:
                on_step(f"{label} {spec.label} seed {seed}")
                r = run_episode(scenario, spec, load, seed, world=world, overrides=over)
                rows.append({"variant": label, "agent": spec.label, "seed": seed,
                             **episode_row(r.jobs, threshold_s)})  # fmt: skip
                done = r.jobs["status"] == "completed"
                pooled.setdefault((label, spec.label), []).append(r.jobs["turnaround_s"][done])
                on_done()
    return rows, summarise(rows, pooled, threshold_s)
