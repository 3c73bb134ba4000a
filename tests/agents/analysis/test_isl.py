"""agents.analysis.isl: the study's variants, per-episode rows and paired summary, by hand."""

from __future__ import annotations

import math

import numpy as np

from agents.analysis.isl import PAIRED, episode_row, summarise, variants


def test_links_off_comes_first_then_one_variant_per_hop_count():
    assert variants([1, 3]) == {
        "off": {"isl.enabled": False},
        "isl_1hop": {"isl.enabled": True, "isl.max_hops": 1},
        "isl_3hop": {"isl.enabled": True, "isl.max_hops": 3},
    }


def _jobs(turnaround_s, status, hops):
    return {"job": np.arange(len(status)), "turnaround_s": np.array(turnaround_s, float),
            "status": np.array(status), "isl_hops": np.array(hops)}  # fmt: skip


def test_an_episode_row_counts_drops_in_the_share_under_the_threshold():
    jobs = _jobs([60.0, 300.0, math.nan, 100.0], ["completed", "completed", "dropped",
                                                  "completed"], [0, 2, 0, 1])  # fmt: skip
    row = episode_row(jobs, threshold_s=120.0)
    assert row["jobs"] == 4 and row["completed"] == 3
    assert row["share_under"] == 0.5  # 60 s and 100 s of four arrived jobs
    assert row["drop_share"] == 0.25
    assert row["relayed_share"] == 2 / 3  # two of the three delivered went over a link
    assert row["mean_s"] == (60.0 + 300.0 + 100.0) / 3


def test_the_paired_difference_to_links_off_is_per_seed():
    rows, pooled = [], {}
    for variant, turn in (("off", [100.0, 200.0]), ("isl_1hop", [50.0, 150.0])):
        for seed, t in enumerate(turn):
            jobs = _jobs([t], ["completed"], [0])
            rows.append({"variant": variant, "agent": "ect", "seed": seed,
                         **episode_row(jobs, 120.0)})  # fmt: skip
            pooled.setdefault((variant, "ect"), []).append(np.array([t]))
    summary = {r["variant"]: r for r in summarise(rows, pooled, 120.0)}
    assert summary["off"]["d_mean_s"] == 0.0
    assert summary["isl_1hop"]["d_mean_s"] == -50.0  # every seed 50 s faster: no spread
    assert summary["isl_1hop"]["d_mean_s_low"] == summary["isl_1hop"]["d_mean_s_high"] == -50.0
    assert all(f"d_{k}" in summary["off"] for k in PAIRED)
