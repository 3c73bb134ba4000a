"""agents.bootstrap: BCa intervals from scipy over episodes, their fallbacks and the seed flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from agents.bootstrap import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    MIN_SEEDS,
    Interval,
    episode_interval,
    few_seeds_warning,
)
from agents.evaluate import evaluate
from agents.stats import compare_with, pooled_mean_interval

EVALUATE = Path(__file__).resolve().parents[2] / "scripts" / "evaluate.py"


def test_the_pooled_mean_interval_is_scipys_bca_with_the_fixed_seed():
    # With one job per episode the pooled mean is the mean of the episodes' values.
    values = np.array([3.0, 9.0, 4.0, 30.0, 5.0, 6.0, 12.0, 4.5])
    mine = pooled_mean_interval(values, np.ones(len(values)))
    theirs = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="BCa",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    ).confidence_interval
    assert mine.method == "BCa"
    assert (mine.low, mine.high) == pytest.approx((theirs.low, theirs.high), rel=1e-12)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, len(values), (BOOTSTRAP_RESAMPLES, len(values)))
    percentile = np.percentile(values[idx].mean(axis=1), [2.5, 97.5])
    assert (mine.low, mine.high) != pytest.approx(tuple(percentile), rel=1e-3)  # skewed: BCa moves
    assert pooled_mean_interval(values, np.ones(len(values))) == mine  # seeded: repeats exactly


def test_an_interval_without_spread_is_the_point_and_one_episode_gives_the_point():
    same = episode_interval(lambda i, axis=-1: np.full(np.shape(i)[:-1], 0.8), 6)
    assert same == Interval(0.8, 0.8, "point")
    assert pooled_mean_interval(np.array([7.0]), np.array([2.0])) == Interval(3.5, 3.5, "point")
    equal = pooled_mean_interval(np.full(5, 4.0), np.full(5, 2.0))
    assert equal == Interval(2.0, 2.0, "point")


def test_bca_falls_back_to_the_percentile_interval_when_resamples_lack_jobs():
    # Episodes 0-2 completed nothing: some resamples have no job (0/0), where BCa is undefined.
    sums, counts = np.array([0.0, 0.0, 0.0, 5.0, 9.0]), np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    interval = pooled_mean_interval(sums, counts)
    assert interval.method == "percentile"
    assert 5.0 <= interval.low < interval.high <= 9.0
    assert pooled_mean_interval(np.zeros(3), np.zeros(3)).method == "none"


def test_rows_name_their_interval_method_and_flag_fewer_than_five_seeds():
    few = evaluate("toy", ["random", "ect"], [1.0], episodes=2, seed=0, progress=False)
    assert all(r["few_seeds"] for r in few.summary)
    assert {r["ci_method"] for r in few.summary} <= {"BCa", "percentile", "point"}
    (row,) = compare_with(few, "ect")
    assert row["few_seeds"] and row["ci_method"] in ("BCa", "percentile")
    enough = evaluate("toy", ["ect"], [1.0], episodes=MIN_SEEDS, seed=0, progress=False)
    assert not any(r["few_seeds"] for r in enough.summary)
    assert enough.config["bootstrap"]["method"].startswith("BCa")


def test_the_cli_warns_in_one_line_below_five_seeds_and_not_from_five(tmp_path):
    def run(episodes: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(EVALUATE), "--scenario", "toy", "--agents", "ect",
             "--episodes", str(episodes), "--out", str(tmp_path / f"out{episodes}"), "--quiet"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    proc = run(2)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [few_seeds_warning(2)]
    proc = run(MIN_SEEDS)
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    assert few_seeds_warning(MIN_SEEDS) is None and "3 seeds" in few_seeds_warning(3)


def test_degenerate_data_raises_no_warning():
    # A warning filter set to silence scipy would reset Python's once-only registry, so the
    # scenario's own warnings (stale TLEs) would print again: no warning may escape instead.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pooled_mean_interval(np.full(5, 4.0), np.full(5, 2.0)).method == "point"
        lacking = pooled_mean_interval(np.array([0.0, 0, 0, 5, 9]), np.array([0.0, 0, 0, 1, 1]))
        assert lacking.method == "percentile"
        two = pooled_mean_interval(np.array([1.0, 3.0]), np.ones(2))
        assert two.method in ("BCa", "percentile") and two.low <= 2.0 <= two.high
