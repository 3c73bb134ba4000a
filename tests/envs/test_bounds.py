"""The contention-free lower bound (envs.sim.bounds) against played episodes."""

from __future__ import annotations

import numpy as np
import pytest

from agents.evaluate import evaluate, run_episode
from agents.results import BOUND_LABEL


@pytest.mark.parametrize(
    ("scenario", "agent", "load", "overrides"),
    [
        ("toy", "random", 1.0, None),
        ("toy", "ect", 3.0, None),
        ("star_compute_12", "ect", 2.0, {"duration_s": 3600}),
        ("star_compute_12", "random", 2.0, {"duration_s": 3600}),
        (
            "star_compute_12",
            "least_loaded",
            1.0,
            {"duration_s": 3600, "workload.onboard_fraction": 0.3},
        ),
    ],
)
def test_no_completed_job_beats_its_bound(scenario, agent, load, overrides):
    r = run_episode(scenario, agent, load, seed=3, overrides=overrides)
    jobs = r.jobs
    done = jobs["status"] == "completed"
    assert done.sum() > 0
    bound = jobs["bound_turnaround_s"]
    assert np.isfinite(bound[done]).all()
    assert (jobs["turnaround_s"][done] >= bound[done] - 1e-6).all()
    assert (bound[np.isfinite(bound)] > 0).all()


def test_a_job_alone_with_the_oracle_meets_its_bound_exactly():
    # The first job finds an empty constellation; the oracle knows its true output length and
    # picks the earliest delivery among the candidates, which in toy are all satellites.
    r = run_episode("toy", "oracle", 1.0, seed=0)
    first = int(np.argmin(r.jobs["arrival_s"]))
    assert r.jobs["status"][first] == "completed"
    assert r.jobs["turnaround_s"][first] == pytest.approx(
        r.jobs["bound_turnaround_s"][first], abs=1e-6
    )


def test_summary_has_a_bound_row_per_load_below_every_agent():
    res = evaluate("toy", ["random", "ect"], loads=[0.5, 1.0], episodes=2, seed=0, progress=False)
    bounds = [r for r in res.summary if r["agent"] == BOUND_LABEL]
    assert [r["load"] for r in bounds] == [0.5, 1.0]
    for b in bounds:
        assert b["reference_bound"] and b["dropped"] == 0
        others = [r for r in res.summary if r["load"] == b["load"] and r["agent"] != BOUND_LABEL]
        for r in others:
            assert r["drop_rate"] == 0  # toy drops nothing, so the means compare like for like
            assert b["mean_turnaround_s"] <= r["mean_turnaround_s"] + 1e-9
            assert b["cost_per_job_s"] <= r["cost_per_job_s"] + 1e-9


def test_cost_per_job_is_time_in_system_plus_drop_penalties():
    r = run_episode("star_compute_12", "ect", 2.0, seed=5, overrides={"duration_s": 3600})
    jobs = r.jobs
    end = np.where(np.isnan(jobs["delivered_s"]), jobs["dropped_at_s"], jobs["delivered_s"])
    dropped = int((jobs["status"] == "dropped").sum())
    assert dropped > 0  # the case must exercise the penalty
    expected = np.nansum(end - jobs["arrival_s"]) + 86400.0 * dropped
    assert r.metrics["cost_s"] == pytest.approx(expected, rel=1e-9)


ALL_FAILED = {"faults": {"satellite_failures": [{"satellite": 0, "time_s": 0},
                                                {"satellite": 1, "time_s": 0}]}}  # fmt: skip


def test_jobs_dropped_before_the_first_decision_are_charged_in_the_cost():
    r = run_episode("toy", "random", 1.0, seed=0, overrides=ALL_FAILED)
    arrived = r.metrics["jobs_arrived"]
    assert arrived > 0 and r.metrics["jobs_dropped"] == arrived and r.decisions == 0
    assert r.metrics["cost_s"] == pytest.approx(86400.0 * arrived)
    assert r.metrics["return"] == pytest.approx(-24.0 * arrived)  # hours: the env lost nothing
    assert r.metrics["bound_cost_s"] == pytest.approx(86400.0 * arrived)


def test_summary_charges_drops_before_the_first_decision_and_in_the_bound_row():
    res = evaluate("toy", ["random"], episodes=1, seed=0, progress=False, overrides=ALL_FAILED)
    agent, bound = res.summary
    assert agent["cost_per_job_s"] == pytest.approx(86400.0)
    assert bound["agent"] == BOUND_LABEL and bound["completed"] == 0
    assert bound["dropped"] == agent["dropped"] > 0
    assert bound["cost_per_job_s"] == pytest.approx(86400.0)


def test_the_bound_drops_every_job_it_cannot_deliver_by_its_deadline():
    r = run_episode("toy", "ect", 1.0, seed=0, overrides={"deadline_s": 1e-9})
    assert np.isinf(r.jobs["bound_turnaround_s"]).all()
    res = evaluate("toy", ["ect"], episodes=1, seed=0, progress=False,
                   overrides={"deadline_s": 1e-9})  # fmt: skip
    bound = res.summary[-1]
    assert bound["completed"] == 0 and bound["dropped"] == r.metrics["jobs_arrived"]
    assert bound["cost_per_job_s"] == pytest.approx(86400.0)
    # A loose deadline changes nothing: the bound is below every delivery that meets it.
    loose = run_episode("toy", "ect", 1.0, seed=0, overrides={"deadline_s": 86400.0})
    assert np.isfinite(loose.jobs["bound_turnaround_s"]).all()
