"""Faults: station outages, degraded links and satellite failures, by hand and as properties."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from agents.heuristics import HEURISTICS, make_heuristic
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.jobs import onboard_origin
from envs.scenario import (
    FaultsSpec,
    LinkDegradation,
    RandomSatelliteFailures,
    RandomStationOutages,
    SatelliteFailure,
    StationOutage,
    load_scenario,
)
from envs.sim import FaultedWorld, Sim, SimView, build_world, job_table, sample_fault_plan
from envs.wrappers import flatten_observation
from tests.envs.test_sim import BASIC, HORIZON, make_jobs, make_world

INF = float("inf")
# star_compute_12 with one hour of arrivals: ~1,300 decisions an episode.
SHORT = {"episode.duration_s": 3600.0}
RANDOM_FAULTS = {
    "random_station_outages": {"rate_per_day": 4.0, "mean_duration_s": 3600.0},
    "random_satellite_failures": {"rate_per_day": 1.0},
    "on_satellite_failure": "redispatch",
    "link_degradation": [{"network": "china", "start_s": 0, "end_s": 20000, "factor": 0.5}],
}


def faulted(world, **spec):
    """The world under the faults of ``FaultsSpec(**spec)`` (random ones drawn with seed 0)."""
    plan = sample_fault_plan(FaultsSpec(**spec), world, np.random.default_rng(0))
    return FaultedWorld(world, plan)


def drive(sim, actions):
    """Dispatch each decision to the next satellite of ``actions`` until the episode ends."""
    it = iter(actions)
    while True:
        sim.advance()
        if sim.head() < 0:
            return sim
        sim.dispatch(next(it))


def lone_job(world, in_bytes=1000, out_tokens=50):
    """One job arriving at 50 s at station 'up', sent to satellite 0; its estimate and table."""
    sim = Sim(world, make_jobs([(50, 0, 0, in_bytes, out_tokens, INF)]), check=True)
    sim.advance()
    estimate = SimView(sim, expected_output_tokens=out_tokens).estimate(0, 0)
    drive(sim, [0])
    return estimate, job_table(sim)


# ---------------------------------------------------------------- hand-computed cases
def test_outage_covering_a_pass_delays_the_uplink_to_the_next_pass_exactly():
    passes = [(0, 0, 100.0, 200.0), (0, 0, 1000.0, 1100.0), (0, 1, 3000.0, 3100.0)]
    world = make_world(passes)
    _, clear = lone_job(world)
    outage = StationOutage("up", 90.0, 250.0)
    estimate, down = lone_job(faulted(world, station_outages=(outage,)))
    # 1000 B at 100 B/s: 100-110 without the outage, 1000-1010 in the next pass with it.
    assert (clear["uplink_start_s"][0], clear["uplink_end_s"][0]) == (100.0, 110.0)
    assert (down["uplink_start_s"][0], down["uplink_end_s"][0]) == (1000.0, 1010.0)
    assert down["uplink_end_s"][0] - clear["uplink_end_s"][0] == 900.0
    assert estimate.uplink_end == 1010.0 and estimate.delivered == down["delivered_s"][0]


def test_job_is_never_lost_when_station_goes_down():
    passes = [(0, 0, 100.0, 200.0), (0, 0, 1000.0, 1100.0), (0, 1, 3000.0, 3100.0)]
    # 8000 B at 100 B/s; the station goes down 50 s into the transfer (5000 B sent) and is
    # back at 1020 s: the remaining 3000 B go in 1020-1050. The result waits out an outage
    # of the downlink station too: 50 B at 1000 B/s from 3050.
    world = faulted(
        make_world(passes),
        station_outages=(StationOutage("up", 150.0, 1020.0), StationOutage("down", 2000.0, 3050.0)),
    )
    estimate, t = lone_job(world, in_bytes=8000)
    assert t["status"][0] == "completed"
    assert (t["uplink_start_s"][0], t["uplink_end_s"][0]) == (100.0, 1050.0)
    assert t["compute_start_s"][0] == 1050.0 and t["compute_end_s"][0] == 1050.0 + 80.0 + 5.0
    assert t["downlink_start_s"][0] == 3050.0
    assert t["delivered_s"][0] == pytest.approx(3050.05)
    assert estimate.delivered == t["delivered_s"][0]


def test_outage_over_the_only_pass_drops_the_job_for_no_contact_not_silently():
    world = faulted(make_world(BASIC), station_outages=(StationOutage("up", 0.0, 500.0),))
    sim = Sim(world, make_jobs([(50, 0, 0, 1000, 50, INF)]), check=True)
    sim.advance()
    view = SimView(sim, expected_output_tokens=50.0)
    assert view.candidates(0, 4) == [] and view.estimate(0, 0).delivered == INF
    sim.reject(sim.unserved_reason(0))
    sim.advance()
    assert sim.done and sim.dropped == 1 and job_table(sim)["drop_reason"][0] == "no_contact"


@pytest.mark.parametrize("direction", ["uplink", "downlink", "both"])
def test_degraded_link_at_half_rate_doubles_the_transfer_time(direction):
    world = make_world(BASIC)
    _, clear = lone_job(world)
    degraded = (
        LinkDegradation(0.0, HORIZON, 0.5, station="up", direction=direction),
        LinkDegradation(0.0, HORIZON, 0.5, station="down", direction=direction),
    )
    estimate, slow = lone_job(faulted(world, link_degradation=degraded))
    up = slow["uplink_end_s"][0] - slow["uplink_start_s"][0]
    down = slow["delivered_s"][0] - slow["downlink_start_s"][0]
    assert up == (20.0 if direction != "downlink" else 10.0)  # 1000 B at 100 (50) B/s
    assert down == pytest.approx(0.1 if direction != "uplink" else 0.05)  # 50 B at 1000 B/s
    assert estimate.delivered == slow["delivered_s"][0]
    assert clear["uplink_end_s"][0] - clear["uplink_start_s"][0] == 10.0


def test_overlapping_degradations_multiply_and_only_inside_their_interval():
    # 0.5 × 0.5 over 100-105, then 0.5 over 105-110, full rate after: 1000 B at 100 B/s
    # moves 125 + 250 B by 110 s and the last 625 B in 6.25 s.
    degraded = (
        LinkDegradation(0.0, 110.0, 0.5, station="up"),
        LinkDegradation(50.0, 105.0, 0.5, station="up"),
    )
    estimate, t = lone_job(faulted(make_world(BASIC), link_degradation=degraded))
    assert t["uplink_end_s"][0] == pytest.approx(116.25)
    assert estimate.uplink_end == t["uplink_end_s"][0]


# Satellite 0: uplink passes at 100-200 and 1000-1100, downlink at 3000-3100.
# Satellite 1: uplink pass at 1500-1600, downlink at 2000-2100.
TWO_SATS = [
    (0, 0, 100.0, 200.0),
    (0, 0, 1000.0, 1100.0),
    (0, 1, 3000.0, 3100.0),
    (1, 0, 1500.0, 1600.0),
    (1, 1, 2000.0, 2100.0),
]
# Job 0 is on board satellite 0 at 500 s (uplinked 100-110, computed 110-125, awaiting the
# 3000 s downlink); job 1 waits on the ground for satellite 0's 1000 s pass; job 2 is on
# satellite 1 (uplink at 1500 s). Satellite 0 fails at 500 s.
FAILURE_JOBS = [(50, 0, 0, 1000, 50, INF), (300, 0, 0, 1000, 50, INF), (310, 0, 0, 1000, 50, INF)]


@pytest.mark.parametrize("mode", ["drop", "redispatch"])
def test_satellite_failure_drops_exactly_its_jobs_or_redispatches_the_ground_side(mode):
    world = faulted(
        make_world(TWO_SATS),
        satellite_failures=(SatelliteFailure(0, 500.0),),
        on_satellite_failure=mode,
    )
    sim = Sim(world, make_jobs(FAILURE_JOBS), check=True)
    view = SimView(sim, expected_output_tokens=50.0)
    decisions = []
    while True:
        sim.advance()
        if sim.head() < 0:
            break
        cands = view.candidates(sim.head(), 4)
        decisions.append((sim.now, sim.head(), cands))
        sim.dispatch(cands[0] if sim.now >= 500.0 else [0, 0, 1][sim.head()])
    t = job_table(sim)
    assert sim.arrived == 3 == sim.completed + sim.dropped and world.failed == {0}
    assert t["status"][2] == "completed" and t["sat"][2] == 1  # satellite 1 is unaffected
    assert t["drop_reason"][0] == "satellite_failure" and t["dropped_at_s"][0] == 500.0
    if mode == "drop":
        assert t["drop_reason"].tolist() == ["satellite_failure", "satellite_failure", ""]
        assert sim.redispatched == 0
    else:
        # Job 1 comes back at 500 s and only satellite 1 is offered. It queues behind job 2
        # (up 1500-1510, compute 1510-1525, down 2000-2000.05): up 1510-1520, compute
        # 1525-1540, down 2000.05-2000.10.
        assert decisions[-1] == (500.0, 1, [1])
        assert t["status"][1] == "completed" and t["sat"][1] == 1 and t["dispatch_s"][1] == 500.0
        assert (t["uplink_start_s"][1], t["uplink_end_s"][1]) == (1510.0, 1520.0)
        assert t["compute_start_s"][1] == 1525.0
        assert t["delivered_s"][1] == pytest.approx(2000.10)
        assert sim.redispatched == 1
    assert list(sim.committed) == [0, 0] and list(sim.onboard) == [0, 0]


def test_sim_fail_resolves_the_satellites_jobs_itself_once_and_only_in_a_faulted_world():
    world = faulted(make_world(TWO_SATS))  # no scheduled failure: the simulator is told
    sim = Sim(world, make_jobs(FAILURE_JOBS), check=True)
    for sat in (0, 0, 1):
        sim.advance()
        sim.dispatch(sat)
    # at 310 s: job 2 goes to satellite 1; job 0 waits on board satellite 0 for a downlink
    # pass, job 1 for its uplink pass
    sim.fail(0)
    sim.fail(0)  # a second failure of the same satellite changes nothing
    sim.check_invariants()
    assert world.failed == {0} and sim.dropped == 2
    assert world.uplink_windows(0, 0) == ([], [], [])
    t = job_table(drive(sim, []))
    assert t["drop_reason"].tolist() == ["satellite_failure", "satellite_failure", ""]
    assert t["status"][2] == "completed"
    with pytest.raises(TypeError, match="shared world"):
        Sim(make_world(TWO_SATS), make_jobs(FAILURE_JOBS)).fail(0)
    with pytest.raises(ValueError, match="reason"):
        sim.fail(1, "meteor")


def test_failed_satellite_has_no_windows_and_its_onboard_jobs_drop_for_the_failure():
    world = faulted(make_world(TWO_SATS), satellite_failures=(SatelliteFailure("SAT-01-01", 40),))
    jobs = make_jobs([(50, onboard_origin(0), 0, 1000, 50, INF), (60, 0, 0, 1000, 50, INF)])
    sim = Sim(world, jobs, check=True)
    sim.advance()
    view = SimView(sim, expected_output_tokens=50.0)
    assert view.failed == {0} and view.candidates(0, 4) == []
    assert sim.unserved_reason(0) == "satellite_failure"
    assert view.estimate(0, 0).delivered == INF
    assert world.uplink_windows(0, 0) == ([], [], []) and world.downlink_windows(0) == ([], [], [])
    sim.dispatch(0)  # bypassing the candidates: dropped at once, for the failure
    sim.advance()
    assert view.candidates(1, 4) == [1] and view.estimate(1, 0).delivered == INF
    sim.dispatch(1)
    sim.advance()
    t = job_table(sim)
    assert t["drop_reason"].tolist() == ["satellite_failure", ""]
    assert sim.done and t["status"][1] == "completed"


def test_faulted_episode_leaves_the_shared_world_untouched_and_pickles():
    base = make_world(TWO_SATS)
    before = (base.uplink_windows(0, 0), base.downlink_windows(0), base.station_pass_lists(0))
    world = faulted(
        base,
        station_outages=(StationOutage("up", 0.0, 150.0),),
        satellite_failures=(SatelliteFailure(0, 500.0),),
    )
    sim = Sim(world, make_jobs(FAILURE_JOBS), check=True)
    sim.advance()
    sim.dispatch(0)
    clone = pickle.loads(pickle.dumps(sim))
    for s in (sim, clone):
        drive(s, itertools.repeat(1))
    a, b = job_table(sim), job_table(clone)
    assert np.array_equal(a["delivered_s"], b["delivered_s"], equal_nan=True)
    assert a["drop_reason"].tolist() == b["drop_reason"].tolist() == ["satellite_failure", "", ""]
    assert world.station_pass_lists(0)[2] == [1]  # satellite 0 failed
    after = (base.uplink_windows(0, 0), base.downlink_windows(0), base.station_pass_lists(0))
    assert after == before and base.failed == frozenset()


# ---------------------------------------------------------------- configuration
def test_faults_section_loads_into_frozen_specs():
    sc = load_scenario(
        "star_compute_12",
        {
            "faults": {
                **RANDOM_FAULTS,
                "station_outages": [{"station": "RSGS Kashi", "start_s": 0, "end_s": 60}],
                "satellite_failures": [{"satellite": "STAR-01-03", "time_s": 10}],
            }
        },
    )
    f = sc.faults
    assert f.enabled and f.on_satellite_failure == "redispatch"
    assert f.station_outages == (StationOutage("RSGS Kashi", 0.0, 60.0),)
    assert f.satellite_failures == (SatelliteFailure("STAR-01-03", 10.0),)
    assert f.random_station_outages == RandomStationOutages(4.0, 3600.0)
    assert f.random_satellite_failures == RandomSatelliteFailures(1.0)
    assert f.link_degradation == (LinkDegradation(0.0, 20000.0, 0.5, network="china"),)
    assert not load_scenario("star_compute_12").faults.enabled


WINDOW = {"start_s": 0, "end_s": 1}


@pytest.mark.parametrize(
    ("override", "path", "shown"),
    [
        ({"faults.bogus": 1}, "faults.bogus", "'bogus'"),
        ({"faults": {"bogus": 1}}, "faults.bogus", "'bogus'"),
        ({"faults.on_satellite_failure": "retry"}, "faults.on_satellite_failure", "'retry'"),
        (
            {"faults.station_outages": [{"station": "Nowhere", **WINDOW}]},
            "faults.station_outages[0].station: unknown station",
            "'Nowhere'",
        ),
        (
            {"faults.station_outages": [{"station": "RSGS Kashi", "start_s": 5, "end_s": 5}]},
            "faults.station_outages[0].end_s: must be > start_s (5)",
            "5",
        ),
        (
            {"faults.satellite_failures": [{"satellite": 12, "time_s": 0}]},
            "faults.satellite_failures[0].satellite: must be a satellite index in [0, 11]",
            "12",
        ),
        (
            {"faults.satellite_failures": [{"satellite": "STAR-09-09", "time_s": 0}]},
            "faults.satellite_failures[0].satellite",
            "'STAR-09-09'",
        ),
        (
            {"faults.link_degradation": [{"station": "Chengdu", **WINDOW, "factor": 1.5}]},
            "faults.link_degradation[0].factor: must be in (0, 1]",
            "1.5",
        ),
        (
            {"faults.link_degradation": [{"network": "ksat", **WINDOW, "factor": 0.5}]},
            "faults.link_degradation[0].network: unknown network",
            "'ksat'",
        ),
        (
            {"faults.link_degradation": [{"station": "Chengdu", "network": "china", **WINDOW,
                                          "factor": 0.5}]},
            "faults.link_degradation[0]: needs exactly one of station and network",
            "'Chengdu'",
        ),
        (
            {"faults.random_station_outages": {"rate_per_day": -1, "mean_duration_s": 60}},
            "faults.random_station_outages.rate_per_day: must be >= 0",
            "-1",
        ),
        (
            {"faults.random_satellite_failures": {"rate_per_day": "1"}},
            "faults.random_satellite_failures.rate_per_day: must be a number",
            "'1'",
        ),
    ],
)
def test_bad_fault_config_is_one_line_naming_the_path_and_value(override, path, shown):
    with pytest.raises(ConfigError) as err:
        load_scenario("star_compute_12", override)
    text = str(err.value)
    assert text.startswith("star_compute_12.yaml: ") and "\n" not in text
    assert path in text and shown in text.split(path, 1)[1]


# ---------------------------------------------------------------- environment
def faulty_env(world, faults=RANDOM_FAULTS, **kw):
    return ConstellationDispatchEnv("star_compute_12", world=world, **SHORT, faults=faults, **kw)


def rollout(env, seed, steps=400):
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    out = [flatten_observation(obs)]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(
            int(rng.choice(np.flatnonzero(env.action_masks())))
        )
        out.append(np.append(flatten_observation(obs), reward))
        if terminated or truncated:
            break
    return np.concatenate(out)


def test_random_faults_repeat_under_one_seed_and_differ_between_seeds(sc12_world):
    a, b = faulty_env(sc12_world), faulty_env(sc12_world)
    plans = []
    for env in (a, b):
        env.reset(seed=3)
        plans.append(env.sim.world.fault_plan)
        env.reset()  # the next episode of the seeded sequence
        plans.append(env.sim.world.fault_plan)
    assert plans[0] == plans[2] and plans[1] == plans[3] and plans[0] != plans[1]
    assert plans[0].outages and plans[0].failures
    assert np.array_equal(rollout(a, 3), rollout(b, 3))
    a.reset(seed=4)
    assert a.sim.world.fault_plan != plans[0]


def test_turning_faults_on_leaves_the_arrivals_unchanged(sc12_world):
    plain = ConstellationDispatchEnv("star_compute_12", world=sc12_world, **SHORT)
    faulty = faulty_env(sc12_world)
    for seed in (0, 1):
        plain.reset(seed=seed)
        faulty.reset(seed=seed)
        for name in ("arrival", "origin", "model", "in_tokens", "out_tokens"):
            assert getattr(plain.sim, name) == getattr(faulty.sim, name), name
    assert plain.sim.world is sc12_world and isinstance(faulty.sim.world, FaultedWorld)


@pytest.mark.parametrize("backhaul", [None, 0.5])
def test_env_never_offers_a_failed_satellite_and_conserves_jobs(sc12_world, backhaul):
    faults = {**RANDOM_FAULTS, "random_satellite_failures": {"rate_per_day": 12.0}}
    if backhaul is None:
        env = faulty_env(sc12_world, faults, check_invariants=True)
    else:
        over = {**SHORT, "ground.backhaul_delay_s": backhaul, "faults": faults}
        world = build_world(load_scenario("star_compute_12", over))
        env = ConstellationDispatchEnv("star_compute_12", world=world, check_invariants=True,
                                       **over)  # fmt: skip
    rng = np.random.default_rng(0)
    env.reset(seed=1)
    failed_seen = 0
    while True:
        failed = env.sim.world.failed
        failed_seen = max(failed_seen, len(failed))
        assert not failed & set(env.candidates)
        info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))[-1]
        if env.sim.done:
            break
    assert failed_seen >= 2
    assert info["jobs_arrived"] == info["jobs_completed"] + info["jobs_dropped"]
    assert info["satellites_failed"] == len(env.sim.world.failed) >= failed_seen


@pytest.mark.parametrize("name", list(HEURISTICS))
def test_heuristics_never_choose_a_failed_satellite(sc12_world, name):
    faults = {"random_satellite_failures": {"rate_per_day": 12.0}}
    env = faulty_env(sc12_world, faults, invalid_action="raise")
    agent = make_heuristic(name, env, seed=0)
    obs, _ = env.reset(seed=2)
    agent.reset()
    chose_after_failure = 0
    while True:
        action = int(agent.predict(obs, action_masks=env.action_masks())[0])
        if action < len(env.candidates):
            assert env.candidates[action] not in env.sim.world.failed
            chose_after_failure += bool(env.sim.world.failed)
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    assert chose_after_failure > 50 and info["satellites_failed"] >= 3


def test_batched_estimates_equal_single_estimates_under_faults(sc12_world):
    env = faulty_env(sc12_world)
    env.reset(seed=5)
    view, rng = env.view, np.random.default_rng(0)
    for _ in range(200):
        job, sats = view.head, list(range(env.world.n_sats))
        assert view.estimates(job, sats) == [view.estimate(job, s) for s in sats]
        env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))


# ---------------------------------------------------------------- property
@st.composite
def faulty_episode(draw):
    n_sats = draw(st.integers(1, 3))
    passes = []
    for sat, station in itertools.product(range(n_sats), (0, 1)):
        t = draw(st.floats(0, 300))
        for _ in range(draw(st.integers(0, 4))):
            length = draw(st.floats(1, 200))
            if t + length >= HORIZON:
                break
            passes.append((sat, station, t, t + length))
            t += length + draw(st.floats(1, 800))
    rows = sorted(
        (draw(st.floats(0, HORIZON / 4)), draw(st.sampled_from([0, 0, -1, -2])),
         draw(st.integers(0, 1)), draw(st.integers(1, 8000)), draw(st.integers(1, 2000)),
         draw(st.sampled_from([INF, 2000.0])))
        for _ in range(draw(st.integers(1, 8)))
    )  # fmt: skip
    rows = [(a, o if -o <= n_sats else 0, m, i, out, a + d) for a, o, m, i, out, d in rows]
    interval = st.tuples(st.floats(0, HORIZON), st.floats(1, 2000))
    outages = tuple(
        StationOutage(draw(st.sampled_from(["up", "down"])), s, s + d)
        for s, d in draw(st.lists(interval, max_size=3))
    )
    degraded = tuple(
        LinkDegradation(s, s + d, draw(st.floats(0.05, 1.0)), station=draw(
            st.sampled_from(["up", "down"])), direction=draw(st.sampled_from(["both", "uplink"])))
        for s, d in draw(st.lists(interval, max_size=2))
    )  # fmt: skip
    # Failures soon after an arrival, while jobs are likely queued for their uplink.
    failures = tuple(
        SatelliteFailure(sat, rows[j % len(rows)][0] + dt)
        for sat, j, dt in draw(
            st.lists(st.tuples(st.integers(0, n_sats - 1), st.integers(0, 7), st.floats(0, 600)),
                     min_size=1, max_size=2)
        )
    )  # fmt: skip
    spec = FaultsSpec(
        station_outages=outages,
        link_degradation=degraded,
        satellite_failures=failures,
        on_satellite_failure=draw(st.sampled_from(["drop", "redispatch"])),
        random_station_outages=RandomStationOutages(draw(st.sampled_from([0.0, 20.0])), 300.0),
    )
    # -1 defers, -2 picks the satellite failing first (if offered), i >= 0 candidate i.
    actions = draw(st.lists(st.integers(-2, n_sats - 1), min_size=20, max_size=20))
    kw = {"buffer_jobs": draw(st.integers(1, 3)), "n_sats": n_sats}
    return passes or [(0, 0, 10.0, 20.0)], rows, spec, actions, kw, draw(st.integers(0, 9))


@settings(deadline=None)
@given(faulty_episode())
def test_jobs_are_conserved_and_durations_non_negative_through_random_faults(case):
    passes, rows, spec, actions, kw, seed = case
    base = make_world(passes, **kw)
    world = FaultedWorld(base, sample_fault_plan(spec, base, np.random.default_rng(seed)))
    sim = Sim(world, make_jobs(rows), check=True)  # conservation checked at every event
    view = SimView(sim, expected_output_tokens=100.0)
    doomed = world.failures[0][1] if world.failures else 0
    i = 0
    while True:
        sim.advance()
        job = sim.head()
        if job < 0:
            break
        cands = view.candidates(job, 4)
        assert not set(cands) & world.failed
        for e in view.estimates(job, cands):
            times = [sim.now, *e[1:]]
            assert all(b >= a for a, b in itertools.pairwise(times) if b < INF)
        a = actions[i % len(actions)] if i < 100 else 0
        i += 1
        if a == -1 and sim.now + sim.defer_s <= sim.horizon_s:
            sim.defer()
        elif a == -2 and doomed in cands:
            sim.dispatch(doomed)
        elif cands:
            sim.dispatch(cands[a % len(cands)])
        else:
            sim.reject(sim.unserved_reason(job))
    assert sim.done and sim.arrived == len(rows) == sim.completed + sim.dropped
    t = job_table(sim)
    event(f"redispatched: {sim.redispatched > 0}")
    event(f"dropped for a failure: {'satellite_failure' in t['drop_reason']}")
    event(f"completed: {sim.completed > 0}")
    order = ["arrival_s", "dispatch_s", "uplink_start_s", "uplink_end_s", "compute_start_s",
             "compute_end_s", "downlink_start_s", "delivered_s"]  # fmt: skip
    for a, b in itertools.pairwise(order):
        both = ~np.isnan(t[a]) & ~np.isnan(t[b])
        assert np.all(t[b][both] >= t[a][both]), (a, b)
    ended = np.where(np.isnan(t["delivered_s"]), t["dropped_at_s"], t["delivered_s"])
    assert np.all(ended >= t["arrival_s"])
    failed_at = dict((sat, time) for time, sat in world.failures)
    for job in np.flatnonzero(t["status"] == "completed"):
        assert t["delivered_s"][job] <= failed_at.get(int(t["sat"][job]), INF)
    reasons = set(t["drop_reason"][t["status"] == "dropped"])
    assert reasons <= {"deadline_missed", "no_contact", "buffer_full", "satellite_failure"}
    assert all(x == 0 for x in sim.onboard) and all(x == 0 for x in sim.committed)


def test_env_with_faults_passes_gymnasium_check_env():
    from gymnasium.utils.env_checker import check_env

    faults = {"random_station_outages": {"rate_per_day": 6.0, "mean_duration_s": 900.0},
              "satellite_failures": [{"satellite": 1, "time_s": 900}]}  # fmt: skip
    check_env(ConstellationDispatchEnv("toy", faults=faults), skip_render_check=True)
