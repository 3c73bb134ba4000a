"""agents.stats: paired differences and paired ratios on the toy evaluation and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.results import EpisodeResult, EvaluationResult
from agents.stats import COMPARISON_COLUMNS, compare_with, paired_differences
from envs.errors import ConfigError
from tests.scripts_loader import read_csv

LOADS = [1.0, 2.0]  # the loads of the toy_eval fixture (tests/agents/conftest.py)


def test_paired_differences_match_the_episodes(toy_eval):
    result, _ = toy_eval
    diffs = paired_differences(result, "ect", "random")
    assert [(d.load, d.seed) for d in diffs] == [(ld, s) for ld in LOADS for s in (0, 1)]
    for d in diffs:
        assert math.isclose(d.difference_s, d.mean_a_s - d.mean_b_s)
    with pytest.raises(ConfigError, match="oracle"):
        paired_differences(result, "oracle", "random")


def test_comparison_with_ect_matches_the_summary_and_is_written(toy_eval):
    result, out = toy_eval
    rows = compare_with(result, "ect")
    assert [(r["agent"], r["load"]) for r in rows] == [("random", x) for x in LOADS]
    summary = {(r["agent"], r["load"]): r for r in result.summary}
    for r in rows:
        mine, ect = summary["random", r["load"]], summary["ect", r["load"]]
        mean = mine["mean_turnaround_s"] / ect["mean_turnaround_s"]
        assert r["mean_ratio"] == pytest.approx(mean)
        assert r["cost_ratio"] == pytest.approx(mine["cost_per_job_s"] / ect["cost_per_job_s"])
        turn = [np.concatenate([e.turnarounds_s for e in result.episodes_of(a, r["load"])])
                for a in ("random", "ect")]  # fmt: skip
        p95 = [np.percentile(t, 95, method="inverted_cdf") for t in turn]
        assert r["p95_ratio"] == pytest.approx(p95[0] / p95[1])
        for key in ("mean", "p95", "cost"):
            assert r[f"{key}_ratio_low"] <= r[f"{key}_ratio"] <= r[f"{key}_ratio_high"]
    written = read_csv(out / "comparison.csv")
    assert list(written[0]) == list(COMPARISON_COLUMNS) and len(written) == len(rows)
    with pytest.raises(ConfigError, match="'oracle' was not evaluated"):
        compare_with(result, "oracle")


def _episode(agent: str, seed: int, turnarounds: np.ndarray) -> EpisodeResult:
    jobs = {"turnaround_s": turnarounds, "status": np.array(["completed"] * len(turnarounds))}
    metrics = {"jobs_completed": len(turnarounds), "jobs_dropped": 0,
               "cost_s": float(turnarounds.sum())}  # fmt: skip
    return EpisodeResult(agent, "x", 1.0, seed, metrics, jobs, len(turnarounds), False, 0)


def test_the_comparison_interval_is_paired_over_seeds():
    # Episodes differ tenfold in workload, but b is exactly 0.8 x a in every one of them:
    # a paired interval is the point itself; an unpaired one would be wide.
    rng = np.random.default_rng(0)
    base = [rng.exponential(scale, 50) for scale in (100.0, 1000.0, 3000.0, 300.0, 30.0)]
    episodes = [_episode(a, s, t * f) for s, t in enumerate(base)
                for a, f in (("a", 1.0), ("b", 0.8))]  # fmt: skip
    result = EvaluationResult({"agents": ["a", "b"], "loads": [1.0]}, episodes, [])
    (row,) = compare_with(result, "a", resamples=500)
    for key in ("mean", "p95", "cost"):
        assert row[f"{key}_ratio"] == pytest.approx(0.8)
        assert row[f"{key}_ratio_low"] == pytest.approx(0.8)
        assert row[f"{key}_ratio_high"] == pytest.approx(0.8)
    other_seeds = [_episode(e.agent, e.seed + (e.agent == "b"), e.turnarounds_s) for e in episodes]
    with pytest.raises(ConfigError, match="not paired"):
        compare_with(EvaluationResult({"agents": ["a", "b"], "loads": [1.0]}, other_seeds, []), "a")


def test_comparison_takes_a_reference_per_load_and_can_include_it(toy_eval):
    result, _ = toy_eval
    rows = compare_with(result, {1.0: "random", 2.0: "ect"}, include_reference=True)
    assert [(r["agent"], r["reference"], r["load"]) for r in rows] == [
        ("random", "random", 1.0), ("ect", "random", 1.0),
        ("random", "ect", 2.0), ("ect", "ect", 2.0),
    ]  # fmt: skip
    for r in rows:
        if r["agent"] == r["reference"]:  # exactly 1 with a degenerate interval
            for key in ("mean", "p95", "cost"):
                assert r[f"{key}_ratio"] == r[f"{key}_ratio_low"] == r[f"{key}_ratio_high"] == 1
    same = [r for r in compare_with(result, "ect") if r["load"] == 2.0]
    assert same == [r for r in rows if r["load"] == 2.0 and r["agent"] != "ect"]
    assert [r["load"] for r in compare_with(result, {2.0: "ect"})] == [2.0]
    with pytest.raises(ConfigError, match="'oracle' was not evaluated"):
        compare_with(result, {1.0: "oracle"})
