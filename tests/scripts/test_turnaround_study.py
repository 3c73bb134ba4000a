"""scripts/turnaround_study.py end to end on a short star_compute_12 episode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.analysis.turnaround import SHARE_COLUMNS, STAGES, TIMING_BINS
from tests import scripts_loader

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
AGENTS = ["earliest_uplink", "random"]
# 30 min of arrivals from 00:00 UTC, when the first satellites pass over CLTC Jiamusi and
# RSGS Miyun; 90 min of drain keeps the contact plan short.
SHORT = ["--set", "duration_s=1800", "--set", "episode.drain_s=5400"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("turnaround")
    argv = [
        "--agents",
        ",".join(AGENTS),
        "--episodes",
        "2",
        "--seed",
        "3",
        "--out",
        str(out),
        "--quiet",
        *SHORT,
    ]
    assert scripts_loader.load_script("turnaround_study").main(argv) == 0
    return out


def test_study_writes_every_table_and_figure(study):
    for name in ("summary.csv", "summary.json", "jobs.csv", "stages.csv", "turnaround_study.json"):
        assert (study / name).stat().st_size > 0
    for name in ("turnaround_cdf.png", "turnaround_vs_submission.png", "share_under_threshold.png"):
        assert (study / name).read_bytes()[:8] == PNG
    keys = {
        "share_by_policy": [],
        "share_by_pass_timing": ["pass_timing"],
        "share_by_origin": ["origin_station"],
        "share_by_hour": ["submit_hour"],
    }
    for name, by in keys.items():
        rows = scripts_loader.read_csv(study / f"{name}.csv")
        assert rows and list(rows[0]) == ["agent", *by, *SHARE_COLUMNS]
        for r in rows:
            low, share, high = (float(r[k]) for k in ("share_ci_low", "share", "share_ci_high"))
            assert 0.0 <= low <= share <= high <= 1.0
            assert share <= float(r["bound_share"])  # no policy beats the contention-free bound
            assert int(r["under"]) <= int(r["completed"]) <= int(r["jobs"])
    stages = scripts_loader.read_csv(study / "stages.csv")
    assert list(stages[0]) == [
        "agent",
        "pass_timing",
        "under_threshold",
        "completed",
        *(f"median_{s}_s" for s in STAGES),
    ]


def test_tables_partition_the_same_jobs_for_every_agent(study):
    policy = {r["agent"]: r for r in scripts_loader.read_csv(study / "share_by_policy.csv")}
    assert list(policy) == AGENTS
    for name, key in (
        ("share_by_pass_timing", "pass_timing"),
        ("share_by_origin", "origin_station"),
    ):
        rows = scripts_loader.read_csv(study / f"{name}.csv")
        for agent in AGENTS:
            mine = [r for r in rows if r["agent"] == agent]
            assert sum(int(r["jobs"]) for r in mine) == int(policy[agent]["jobs"])
            assert sum(int(r["under"]) for r in mine) == int(policy[agent]["under"])
        # paired seeds: every agent sees the same submissions in every group
        jobs = {(r[key], r["agent"]): r["jobs"] for r in rows}
        assert all(jobs[cat, AGENTS[0]] == jobs[cat, AGENTS[1]] for cat, _ in jobs)
    timing = scripts_loader.read_csv(study / "share_by_pass_timing.csv")
    order = [r["pass_timing"] for r in timing if r["agent"] == AGENTS[0]]
    assert order == sorted(order, key=TIMING_BINS.index)


def test_nothing_beats_two_minutes_without_a_pass_within_two_minutes(study):
    """Without backhaul a job goes up only over its origin: no pass soon, no fast result."""
    rows = scripts_loader.read_csv(study / "share_by_pass_timing.csv")
    later = [r for r in rows if r["pass_timing"] in TIMING_BINS[3:6]]
    assert later and all(int(r["under"]) == 0 for r in later)
    policy = {r["agent"]: r for r in scripts_loader.read_csv(study / "share_by_policy.csv")}
    assert int(policy["earliest_uplink"]["under"]) > 0  # in-pass jobs do come back fast


def test_jobs_csv_carries_the_classification(study):
    jobs = scripts_loader.read_csv(study / "jobs.csv")
    assert {
        "pass_timing",
        "one_contact",
        "under_threshold",
        "bottleneck",
        "origin_station",
        *(f"{s}_s" for s in STAGES),
    } <= set(jobs[0])
    for j in jobs:
        fast = j["status"] == "completed" and float(j["turnaround_s"]) < 120.0
        assert j["under_threshold"] == str(fast)
        assert float(j["arrival_s"]) < 1800.0  # the override reached the episodes
    study_json = json.loads((study / "turnaround_study.json").read_text())
    assert study_json["config"]["overrides"] == {"duration_s": 1800, "episode.drain_s": 5400}
    assert study_json["config"]["threshold_s"] == 120.0
    assert {p["station"] for p in study_json["passes_over_origins"]} == {
        j["origin_station"] for j in jobs
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "duration_s"], "--set: expected KEY=VALUE"),
        (["--agents", "nobody"], "unknown agent 'nobody'"),
        (["--set", "load=2"], "set by the load argument"),
        (["--episodes", "0"], "--episodes: must be >= 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    module = scripts_loader.load_script("turnaround_study")
    assert module.run_cli(module.main, [*argv, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
