"""agents.analysis.turnaround on a hand-made contact plan and job tables with known answers."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from agents.analysis.turnaround import (
    SHARE_COLUMNS,
    STAGES,
    TIMING_BINS,
    classify,
    pass_timing,
    share_table,
    stage_table,
)
from envs.contact_plan import ContactPlan
from tests.hand_made import hand_plan

EPOCH = datetime(2025, 6, 1, 0, 0, tzinfo=timezone.utc)
NAN = math.nan
# (sat, station, rise_s, set_s). Stations A and B are network 0, C is network 1.
PASSES = [
    (0, 0, 100.0, 400.0),  # sat 0 over A
    (1, 0, 300.0, 700.0),  # sat 1 over A, overlapping: A sees a satellite from 100 to 700 s
    (0, 1, 380.0, 500.0),  # sat 0 over B: its contact with network 0 runs 100-500 s
    (0, 0, 520.0, 600.0),  # sat 0 over A again, inside sat 1's pass
    (0, 2, 1000.0, 1100.0),  # sat 0 over C (network 1)
    (0, 2, 10000.0, 10100.0),  # sat 0 over C again
    (1, 0, 20000.0, 20300.0),  # sat 1 over A again
]


@pytest.fixture(scope="module")
def plan() -> ContactPlan:
    return hand_plan(
        PASSES, satellite_names=("S0", "S1"), station_names=("A", "B", "C"),
        station_networks=("near", "near", "far"), horizon_s=30000.0,
    )  # fmt: skip


def test_pass_timing_counts_to_the_last_satellite_in_view_and_to_the_next_rise(plan):
    station = np.array([0, 0, 0, 0, 0, 0, 1, 2, -1])
    t = np.array([50.0, 150.0, 350.0, 650.0, 800.0, 21000.0, 0.0, 0.0, 10.0])
    left, wait = pass_timing(plan, station, t)
    np.testing.assert_allclose(left, [NAN, 250, 350, 50, NAN, NAN, NAN, NAN, NAN])
    np.testing.assert_allclose(wait, [50, 0, 0, 0, 19200, math.inf, 380, 1000, NAN])


def job_table(rows):
    """rows: (origin, sat, status, arrival, uplink start, uplink end, compute start, compute end,
    downlink start, delivered)."""
    cols = list(zip(*rows, strict=True))
    names = (
        "origin",
        "sat",
        "status",
        *(
            f"{n}_s"
            for n in (
                "arrival",
                "uplink_start",
                "uplink_end",
                "compute_start",
                "compute_end",
                "downlink_start",
                "delivered",
            )
        ),
    )
    table = {name: np.array(col) for name, col in zip(names, cols, strict=True)}
    for name in names[3:]:
        table[name] = table[name].astype(float)
    table["turnaround_s"] = table["delivered_s"] - table["arrival_s"]
    return table


JOBS = job_table(
    [
        # in a pass over A, straight up to sat 0, 10 s of compute, down at once: 10 s
        (0, 0, "completed", 150.0, 150.0, 150.02, 150.02, 160.0, 160.0, 160.001),
        # 50 s before A's first pass; queued 200 s on board, delivered over B in the same contact
        (0, 0, "completed", 50.0, 100.0, 100.02, 300.0, 450.0, 450.0, 450.1),
        # 50 s before the last satellite over A sets: done in 10 s
        (0, 1, "completed", 650.0, 650.0, 650.02, 650.02, 660.0, 660.0, 660.001),
        # from B, 380 s before its pass; computed too late for sat 0's contact, down over C
        (1, 0, "completed", 0.0, 380.0, 380.02, 380.02, 900.0, 1000.0, 1000.001),
        # dropped before dispatch, submitted long before A's next pass
        (0, -1, "dropped", 800.0, NAN, NAN, NAN, NAN, NAN, NAN),
        # generated on board sat 1 (origin -1 - 1): no uplink, 5 s queue, 10 s compute
        (-2, 1, "completed", 3600.0, NAN, NAN, 3605.0, 3615.0, 3615.0, 3615.001),
    ]
)


def test_classify_bins_submissions_and_finds_jobs_inside_one_contact(plan):
    c = classify(JOBS, plan)
    assert c["pass_timing"].tolist() == [
        "in pass, >= 2 min left",
        "pass in < 2 min",
        "in pass, < 2 min left",
        "pass in 2-60 min",
        "pass in > 4 h",
        "on board",
    ]
    assert c["origin_station"].tolist() == ["A", "A", "A", "B", "A", "on board"]
    # sat 0's contact with network 0 is merged over A and B: it ends at 500 s
    np.testing.assert_allclose(c["contact_end_s"], [500, 500, 700, 500, NAN, NAN])
    assert c["one_contact"].tolist() == [True, True, True, False, False, False]
    assert c["under_threshold"].tolist() == [True, False, True, False, False, True]
    assert c["bottleneck"].tolist() == ["compute", "queue", "compute", "compute", "", "compute"]
    np.testing.assert_allclose(c["submit_time_h"], JOBS["arrival_s"] / 3600)
    assert c["submit_hour"].tolist() == [0, 0, 0, 0, 0, 1]


def test_stage_durations_add_up_to_the_turnaround(plan):
    c = classify(JOBS, plan)
    stages = np.column_stack([c[f"{s}_s"] for s in STAGES])
    np.testing.assert_allclose(stages[1], [50.0, 0.02, 199.98, 150.0, 0.0, 0.1], atol=1e-9)
    assert np.isnan(stages[4]).all()
    np.testing.assert_allclose(stages[5], [NAN, NAN, 5.0, 10.0, 0.0, 0.001], atol=1e-9)
    done = ~np.isnan(JOBS["delivered_s"])
    np.testing.assert_allclose(np.nansum(stages[done], axis=1), JOBS["turnaround_s"][done])


def test_classify_threshold_is_strict(plan):
    c = classify(JOBS, plan, threshold_s=float(JOBS["turnaround_s"][5]))  # 15.001 s
    assert c["under_threshold"].tolist() == [True, False, True, False, False, False]
    c = classify(JOBS, plan, threshold_s=400.2)
    assert c["under_threshold"].tolist() == [True, True, True, False, False, True]


def episodes_table(plan):
    """Two agents × two seeds over the same six jobs; 'b' is slower on seed 1."""
    base = {**JOBS, **classify(JOBS, plan)}
    # contention-free bounds: jobs 1 and 3 could have made it, the dropped one could not
    base["bound_turnaround_s"] = np.array([10.0, 60.0, 10.0, 110.0, 19500.0, 15.0])
    parts = []
    for agent, seed, slow in (("b", 0, False), ("b", 1, True), ("a", 0, False), ("a", 1, False)):
        part = {k: v.copy() for k, v in base.items()}
        if slow:
            part["turnaround_s"] = part["turnaround_s"] + 1000.0
        part["agent"] = np.full(6, agent)
        part["seed"] = np.full(6, seed)
        parts.append(part)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def test_share_counts_every_arrival_and_bootstraps_over_episodes(plan):
    rows = share_table(episodes_table(plan), ["agent"])
    assert [r["agent"] for r in rows] == ["b", "a"]  # order of first appearance
    assert all(list(r) == ["agent", *SHARE_COLUMNS] for r in rows)
    b, a = rows
    # a: 3 of 6 under 120 s in each episode (the dropped job counts against it)
    assert (a["jobs"], a["completed"], a["dropped"], a["under"]) == (12, 10, 2, 6)
    assert a["share"] == a["share_ci_low"] == a["share_ci_high"] == 0.5
    assert a["bound_share"] == b["bound_share"] == pytest.approx(5 / 6)
    assert a["in_pass_share"] == pytest.approx(2 / 6)
    assert a["one_contact_share"] == pytest.approx(3 / 6)
    # b: 3 of 6, then 0 of 6: pooled 0.25, the bootstrap spans the two episodes
    assert (b["under"], b["share"]) == (3, 0.25)
    assert 0.0 <= b["share_ci_low"] < 0.25 < b["share_ci_high"] <= 0.5
    assert a["median_turnaround_s"] == pytest.approx(
        np.median(JOBS["turnaround_s"][[0, 1, 2, 3, 5]])
    )


def test_share_groups_follow_the_timing_bin_order(plan):
    rows = share_table(episodes_table(plan), ["agent", "pass_timing"])
    a = [r for r in rows if r["agent"] == "a"]
    assert [r["pass_timing"] for r in a] == [b for b in TIMING_BINS if b != "pass in 1-4 h"]
    got = {r["pass_timing"]: r["share"] for r in a}
    assert got == {
        "in pass, >= 2 min left": 1.0,
        "in pass, < 2 min left": 1.0,
        "pass in < 2 min": 0.0,
        "pass in 2-60 min": 0.0,
        "pass in > 4 h": 0.0,
        "on board": 1.0,
    }
    assert sum(r["jobs"] for r in rows) == 24


def test_share_without_classification_columns_reports_nan():
    rows = share_table({k: JOBS[k] for k in ("arrival_s", "status", "turnaround_s")}, [])
    assert rows[0]["jobs"] == 6 and rows[0]["under"] == 3
    assert all(
        math.isnan(rows[0][k]) for k in ("bound_share", "in_pass_share", "one_contact_share")
    )


def test_stage_table_takes_medians_over_completed_jobs(plan):
    rows = stage_table({**JOBS, **classify(JOBS, plan)}, ["under_threshold"])
    assert [(r["under_threshold"], r["completed"]) for r in rows] == [(False, 2), (True, 3)]
    slow, fast = rows
    assert slow["median_queue_s"] == pytest.approx((199.98 + 0.0) / 2)
    assert fast["median_compute_s"] == pytest.approx(np.median([9.98, 9.98, 10.0]))
    assert fast["median_wait_uplink_s"] == 0.0  # the on-board job has none: median of two
