"""The event core on hand-built contact plans: golden turnarounds and edge cases by hand.

Invariants over generated episodes (conservation, timelines, FIFO, determinism) are in
``test_properties.py``.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envs.ground import Station
from envs.jobs import JobBatch, onboard_origin
from envs.orbits import Constellation, Shell, shell_tles
from envs.scenario.schema import (
    ConstellationSpec,
    EpisodeSpec,
    GroundSpec,
    ModelSpec,
    SatelliteClass,
    Scenario,
    ShellSpec,
    WorkloadSpec,
)
from envs.sim import Sim, SimView, World, job_table, merge_max_rate, metrics, walk
from tests.hand_made import hand_plan

EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)
HORIZON = 5000.0


# fmt: off
def make_world(passes, *, servers=1, buffer_jobs=8, n_sats=2, swap_s=0.0, power="always",
               sunlit=None, up_bps=800.0, down_bps=8000.0, battery_wh=0.0,
               compute_w=100.0) -> World:
    # fmt: on
    """Station 0 ('up') only uplinks, station 1 ('down') only downlinks.

    ``passes`` = [(sat, station, rise, set), ...].
    """
    scenario = Scenario(
        name="hand",
        episode=EpisodeSpec(epoch=EPOCH, duration_s=HORIZON / 2, drain_s=HORIZON / 2),
        constellation=ConstellationSpec(shells=(ShellSpec(Shell(500.0, 1, n_sats), "inf"),)),
        classes=(
            SatelliteClass(
                "inf",
                models=("m", "n"),
                servers=servers,
                buffer_jobs=buffer_jobs,
                model_swap_s=swap_s,
                power=power,
                battery_wh=battery_wh,
                compute_w=compute_w,
            ),
        ),
        models=(ModelSpec("m", 100.0, 10.0, 1.0), ModelSpec("n", 50.0, 5.0, 1.0)),
        ground=GroundSpec(
            station_files=(), uplink_networks=("upnet",), downlink_networks=("downnet",)
        ),
        workload=WorkloadSpec(bytes_per_token=1.0, overhead_bytes=0.0),
    )
    cons = Constellation.from_tles(shell_tles(Shell(500.0, 1, n_sats), EPOCH))
    stations = [
        Station("up", 0.0, 0.0, 0.0, network="upnet", uplink_bps=up_bps, downlink_bps=down_bps),
        Station(
            "down", 10.0, 0.0, 0.0, network="downnet", uplink_bps=up_bps, downlink_bps=down_bps
        ),
    ]
    plan = hand_plan(
        passes, satellite_names=cons.names, station_names=("up", "down"),
        station_networks=("upnet", "downnet"), horizon_s=HORIZON,
    )  # fmt: skip
    return World(scenario, cons, ["inf"] * n_sats, stations, plan, sunlit)


def make_jobs(rows) -> JobBatch:
    """rows = [(arrival, origin, model, in_tokens, out_tokens, deadline), ...]."""
    a = np.array(rows, dtype=float).reshape(-1, 6)
    return JobBatch(
        arrival_s=a[:, 0],
        origin=a[:, 1].astype(np.int64),
        model=a[:, 2].astype(np.int64),
        input_tokens=a[:, 3].astype(np.int64),
        output_tokens=a[:, 4].astype(np.int64),
        input_bytes=a[:, 3].copy(),  # bytes_per_token 1, no overhead
        output_bytes=a[:, 4].copy(),
        deadline_s=a[:, 5],
    )


def run(world, jobs, actions):
    """Dispatch each decision to actions[i] (a satellite, or 'defer') until done."""
    sim = Sim(world, jobs, check=True)
    it = iter(actions)
    while True:
        sim.advance()
        if sim.head() < 0:
            break
        a = next(it)
        sim.defer() if a == "defer" else sim.dispatch(a)
    return sim


INF = float("inf")
# Satellite 0: uplink pass over 'up' at [100, 200], downlink pass over 'down' at [1000, 1100].
BASIC = [(0, 0, 100.0, 200.0), (0, 1, 1000.0, 1100.0)]


def test_single_job_turnaround_by_hand():
    # 1000 B at 100 B/s: uplink 100-110; compute 1000/100 + 50/10 = 15 s: 110-125;
    # downlink 50 B at 1000 B/s from the 1000 s pass: 1000-1000.05.
    sim = run(make_world(BASIC), make_jobs([(50, 0, 0, 1000, 50, INF)]), [0])
    t = job_table(sim)
    assert t["uplink_start_s"][0] == 100.0 and t["uplink_end_s"][0] == 110.0
    assert t["compute_start_s"][0] == 110.0 and t["compute_end_s"][0] == 125.0
    assert t["downlink_start_s"][0] == 1000.0
    assert t["delivered_s"][0] == pytest.approx(1000.05)
    assert metrics(sim)["mean_turnaround_s"] == pytest.approx(950.05)
    assert sim.completed == 1 and sim.dropped == 0 and sim.in_flight == 0


def test_transfer_larger_than_a_pass_continues_in_the_next_pass():
    passes = [(0, 0, 100.0, 200.0), (0, 0, 1000.0, 1100.0), (0, 1, 3000.0, 3100.0)]
    # 15000 B at 100 B/s: 10000 B in the first pass, the remaining 5000 B in 1000-1050.
    sim = run(make_world(passes), make_jobs([(50, 0, 0, 15000, 10, INF)]), [0])
    t = job_table(sim)
    assert t["uplink_start_s"][0] == 100.0 and t["uplink_end_s"][0] == 1050.0
    assert t["compute_end_s"][0] == pytest.approx(1050.0 + 150.0 + 1.0)
    assert t["delivered_s"][0] == pytest.approx(3000.0 + 0.01)


def test_result_larger_than_a_downlink_pass_is_split_and_never_duplicated():
    passes = [*BASIC, (0, 1, 2000.0, 2100.0)]
    # Output 150000 B at 1000 B/s: 100000 B in 1000-1100, 50000 B in 2000-2050.
    world = make_world(passes)
    jobs = make_jobs([(50, 0, 0, 100, 10, INF)])._replace(output_bytes=np.array([150000.0]))
    sim = run(world, jobs, [0])
    t = job_table(sim)
    assert t["downlink_start_s"][0] == 1000.0
    assert t["delivered_s"][0] == pytest.approx(2050.0)


def test_two_jobs_contend_for_one_uplink_in_fifo_order():
    jobs = make_jobs([(50, 0, 0, 5000, 10, INF), (60, 0, 0, 6000, 10, INF)])
    sim = run(make_world(BASIC), jobs, [0, 0])
    t = job_table(sim)
    assert (t["uplink_start_s"][0], t["uplink_end_s"][0]) == (100.0, 150.0)
    # The second job waits for the first; only 5000 of its 6000 B fit before the only
    # uplink pass ends, so it cannot finish in the horizon.
    assert sim.dropped == 1 and t["drop_reason"][1] == "no_contact"
    assert sim.completed == 1


def test_two_jobs_contend_for_one_uplink_and_the_second_finishes_next_pass():
    passes = [(0, 0, 100.0, 200.0), (0, 0, 1000.0, 1100.0), (0, 1, 3000.0, 3100.0)]
    jobs = make_jobs([(50, 0, 0, 5000, 10, INF), (60, 0, 0, 6000, 10, INF)])
    sim = run(make_world(passes), jobs, [0, 0])
    t = job_table(sim)
    assert t["uplink_end_s"][0] == 150.0
    assert t["uplink_start_s"][1] == 150.0 and t["uplink_end_s"][1] == pytest.approx(1010.0)
    # Compute is FIFO on one server: job 0 at 150 for 51 s, job 1 at 1010 for 61 s.
    assert t["compute_start_s"][1] == pytest.approx(1010.0)
    assert sim.completed == 2


def test_compute_queue_waits_for_the_server_and_swaps_models():
    passes = [(0, 0, 100.0, 200.0), (0, 1, 1000.0, 1100.0)]
    world = make_world(passes, swap_s=7.0)
    # Both uplinks finish at 101 and 102; job 1 uses another model: swap 7 s.
    jobs = make_jobs([(50, 0, 0, 100, 10, INF), (50, 0, 1, 100, 10, INF)])
    sim = run(world, jobs, [0, 0])
    t = job_table(sim)
    assert t["compute_start_s"][0] == 101.0
    assert t["compute_end_s"][0] == pytest.approx(101.0 + 7.0 + 1.0 + 1.0)  # first load swaps
    assert t["compute_start_s"][1] == pytest.approx(110.0)
    assert t["compute_end_s"][1] == pytest.approx(110.0 + 7.0 + 2.0 + 2.0)


def test_full_buffer_drops_with_a_reason():
    jobs = make_jobs([(50, 0, 0, 100, 10, INF), (50, 0, 0, 100, 10, INF)])
    sim = run(make_world(BASIC, buffer_jobs=1), jobs, [0, 0])
    assert sim.completed == 1 and sim.dropped == 1
    assert job_table(sim)["drop_reason"].tolist() == ["", "buffer_full"]


def test_deadline_drops_the_job_at_its_deadline():
    sim = run(make_world(BASIC), make_jobs([(50, 0, 0, 1000, 50, 500.0)]), [0])
    t = job_table(sim)
    assert t["drop_reason"][0] == "deadline_missed" and t["dropped_at_s"][0] == 500.0
    assert sim.onboard[0] == 0  # its buffer slot is released


def test_no_contact_in_the_horizon_is_a_drop():
    sim = run(make_world([(0, 0, 100.0, 200.0)]), make_jobs([(50, 0, 0, 100, 10, INF)]), [0])
    assert job_table(sim)["drop_reason"][0] == "no_contact"


def test_job_generated_on_board_skips_the_uplink_and_stays_on_its_satellite():
    world = make_world([*BASIC, (1, 1, 1500.0, 1600.0)])
    jobs = make_jobs([(50, onboard_origin(1), 0, 1000, 50, INF)])
    sim = Sim(world, jobs, check=True)
    sim.advance()
    view = SimView(sim, expected_output_tokens=50.0)
    assert view.candidates(0, 4) == [1]
    assert view.estimate(0, 0).delivered == INF  # no inter-satellite links
    sim.dispatch(1)
    sim.advance()
    t = job_table(sim)
    assert t["uplink_start_s"][0] == t["uplink_end_s"][0] == 50.0
    assert t["compute_start_s"][0] == 50.0 and t["compute_end_s"][0] == 65.0
    assert t["delivered_s"][0] == pytest.approx(1500.05)
    assert sim.busy_up == {}


def test_deferred_job_returns_for_a_new_decision():
    world = make_world(BASIC)
    sim = run(world, make_jobs([(50, 0, 0, 100, 10, INF)]), ["defer", 0])
    t = job_table(sim)
    assert t["dispatch_s"][0] == 50.0 + world.scenario.dispatch.defer_s
    assert sim.completed == 1


def test_battery_extends_compute_into_each_eclipse():
    sun = [([0.0, 120.0], [105.0, 5000.0], [1.0, 1.0]), ([0.0], [5000.0], [1.0])]
    # 0.5 Wh at 900 W = 2 s of compute per eclipse: 110-112 in eclipse, rest from 120.
    world = make_world(BASIC, power="battery", sunlit=sun, battery_wh=0.5, compute_w=900.0)
    starts, ends, _ = world.compute_windows[0]
    assert starts == [0.0, 120.0] and ends[0] == 107.0
    sim = run(world, make_jobs([(50, 0, 0, 1000, 50, INF)]), [0])
    t = job_table(sim)
    # Uplink ends at 110, past the battery's 105-107 budget: compute runs 120-135.
    assert t["compute_start_s"][0] == 120.0 and t["compute_end_s"][0] == 135.0
    big = make_world(BASIC, power="battery", sunlit=sun, battery_wh=10.0, compute_w=900.0)
    t = job_table(run(big, make_jobs([(50, 0, 0, 1000, 50, INF)]), [0]))
    assert t["compute_start_s"][0] == 110.0 and t["compute_end_s"][0] == 125.0


def test_sunlit_only_compute_pauses_in_eclipse():
    sun = [([0.0, 120.0], [105.0, 5000.0], [1.0, 1.0]), ([0.0], [5000.0], [1.0])]
    world = make_world(BASIC, power="sunlit_only", sunlit=sun)
    sim = run(world, make_jobs([(50, 0, 0, 1000, 50, INF)]), [0])
    t = job_table(sim)
    # Uplink ends at 110 (in eclipse): compute runs 120-135.
    assert t["compute_start_s"][0] == 120.0 and t["compute_end_s"][0] == 135.0


def test_job_seconds_accrue_to_the_total_time_in_system():
    jobs = make_jobs([(50, 0, 0, 1000, 50, INF), (70, 0, 0, 100, 10, 300.0)])
    sim = Sim(make_world(BASIC), jobs, check=True)
    total = 0.0
    while True:
        sim.advance()
        total += sim.take_accrued()[0]
        if sim.head() < 0:
            break
        sim.dispatch(0)
    t = job_table(sim)
    end = np.where(np.isnan(t["delivered_s"]), t["dropped_at_s"], t["delivered_s"])
    assert total == pytest.approx(float((end - t["arrival_s"]).sum()), rel=1e-12)


def test_view_estimates_match_what_happens_for_a_lone_job():
    world = make_world(BASIC)
    sim = Sim(world, make_jobs([(50, 0, 0, 1000, 50, INF)]))
    sim.advance()
    view = SimView(sim, expected_output_tokens=50.0)
    assert view.candidates(0, 4) == [0]  # satellite 1 never passes over 'up'
    est = view.estimate(0, 0)
    sim.dispatch(0)
    sim.advance()
    assert est.delivered == pytest.approx(job_table(sim)["delivered_s"][0])


def test_simulator_state_pickles_mid_episode():
    sim = Sim(make_world(BASIC), make_jobs([(50, 0, 0, 1000, 50, INF)] * 3))
    sim.advance()
    sim.dispatch(0)
    clone = pickle.loads(pickle.dumps(sim))
    for s in (sim, clone):
        while True:
            s.advance()
            if s.head() < 0:
                break
            s.dispatch(0)
    assert job_table(sim)["delivered_s"].tolist() == job_table(clone)["delivered_s"].tolist()


windows = st.lists(
    st.tuples(st.floats(0, 1000), st.floats(0.1, 100), st.floats(0.1, 50)), min_size=1, max_size=8
)


@given(windows, st.floats(0, 1200), st.floats(0, 3000))  # examples: the profile (conftest.py)
def test_walk_does_exactly_the_work_asked(raw, t0, amount):
    merged = merge_max_rate(
        [a for a, _, _ in raw], [a + d for a, d, _ in raw], [r for *_, r in raw]
    )
    starts, ends, rates = merged
    assert all(e > s for s, e in zip(starts, ends, strict=True))
    assert all(ends[i] <= starts[i + 1] for i in range(len(starts) - 1))
    begin, finish = walk(merged, t0, amount)
    done = sum(
        max(0.0, min(e, finish) - max(s, t0)) * r
        for s, e, r in zip(starts, ends, rates, strict=True)
    )
    if finish == INF:
        capacity = sum(max(0.0, e - max(s, t0)) * r for s, e, r in zip(*merged, strict=True))
        assert capacity < amount + 1e-6
    else:
        assert begin >= t0 and finish >= begin
        assert done == pytest.approx(amount, rel=1e-9, abs=1e-6)
