"""Inter-satellite links: neighbour graphs, relayed deliveries by hand, invariants, config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings

from envs.errors import ConfigError
from envs.orbits import Constellation, Shell, load_tles, shell_tles
from envs.scenario import load_scenario
from envs.scenario.schema import ConstellationSpec, IslSpec, ShellSpec
from envs.sim import FaultedWorld, FaultPlan, Sim, SimView, World, build_world, job_table
from envs.sim.bounds import contention_free_delivery_s
from envs.sim.isl import IslGraph, plane_structure
from envs.sim.world import scenario_tles
from tests.envs.test_properties import episodes
from tests.envs.test_sim import make_jobs, make_world, run

INF = float("inf")
# Per hop: 0.25 s latency + 50 B * 8 / 1600 bit/s = 0.5 s (exact in binary).
LINKS = IslSpec(enabled=True, rate_bps=1600.0, latency_s=0.25, max_hops=1)
# One job: uplink 100-110 on satellite 0, compute 110-125, a 50-byte result at 1000 B/s.
JOB = [(50.0, 0, 0, 1000, 50, INF)]
UP = (0, 0, 100.0, 200.0)


def isl_world(passes, isl: IslSpec, **kw) -> World:
    """``make_world`` (one plane of ``n_sats``) with inter-satellite links ``isl``."""
    base = make_world(passes, **kw)
    sc = dataclasses.replace(base.scenario, isl=isl)
    return World(sc, base.constellation, ["inf"] * base.n_sats, base.stations, base.plan, None)


def ring(n: int, hops: int) -> IslSpec:
    return dataclasses.replace(LINKS, max_hops=hops)


# ---------------------------------------------------------------- hand-computed deliveries
def test_result_is_relayed_to_the_neighbour_that_meets_a_station_hours_sooner():
    # Satellite 0 next sees the downlink station at 3000 s, its neighbour 1 at 500 s.
    passes = [UP, (0, 1, 3000.0, 3100.0), (1, 1, 500.0, 600.0)]
    off = job_table(run(make_world(passes, n_sats=3), make_jobs(JOB), [0]))
    on = job_table(run(isl_world(passes, LINKS, n_sats=3), make_jobs(JOB), [0]))
    assert off["delivered_s"][0] == pytest.approx(3000.05) and "relay_sat" not in off
    assert on["compute_end_s"][0] == 125.0
    assert on["relay_sat"][0] == 1 and on["isl_hops"][0] == 1 and on["sat"][0] == 0
    assert on["relay_arrival_s"][0] == 125.5
    assert on["downlink_start_s"][0] == 500.0
    assert on["delivered_s"][0] == pytest.approx(500.05)


def test_relay_time_is_latency_plus_serialisation_per_hop_exactly():
    # Satellite 2 is in contact from 120 s: the result is sent as soon as it arrives, after
    # 2 hops of 0.25 s + 50 * 8 / 1600 s = 1.0 s.
    passes = [UP, (0, 1, 3000.0, 3100.0), (2, 1, 120.0, 600.0)]
    t = job_table(run(isl_world(passes, ring(5, 2), n_sats=5), make_jobs(JOB), [0]))
    assert (t["relay_sat"][0], t["isl_hops"][0]) == (2, 2)
    assert t["relay_arrival_s"][0] == t["downlink_start_s"][0] == 126.0
    assert t["delivered_s"][0] == pytest.approx(126.05)


@pytest.mark.parametrize(("hops", "relay", "delivered"), [(1, 0, 3000.05), (2, 2, 500.05)])
def test_max_hops_limits_how_far_a_result_travels(hops, relay, delivered):
    # Ring of 5: satellite 2 is 2 hops from satellite 0 (via 1), the only one with a pass.
    passes = [UP, (0, 1, 3000.0, 3100.0), (2, 1, 500.0, 600.0)]
    t = job_table(run(isl_world(passes, ring(5, hops), n_sats=5), make_jobs(JOB), [0]))
    assert t["relay_sat"][0] == relay
    assert t["delivered_s"][0] == pytest.approx(delivered)


def test_a_result_stays_put_when_relaying_gains_nothing():
    # Both satellites meet the station at 500 s: a tie goes to the computing satellite.
    passes = [UP, (0, 1, 500.0, 600.0), (1, 1, 500.0, 600.0)]
    t = job_table(run(isl_world(passes, LINKS, n_sats=3), make_jobs(JOB), [0]))
    assert (t["relay_sat"][0], t["isl_hops"][0]) == (0, 0)
    assert t["downlink_start_s"][0] == 500.0


def test_relay_joins_the_fifo_queue_of_the_neighbours_transmitter():
    # Two 500-byte results (0.5 s each at 1000 B/s; compute 10 + 50 s each) both go to
    # satellite 1, whose transmitter sends them in the order they were relayed.
    passes = [UP, (0, 1, 3000.0, 3100.0), (1, 1, 500.0, 600.0)]
    jobs = make_jobs([(50.0, 0, 0, 1000, 500, INF), (51.0, 0, 0, 1000, 500, INF)])
    t = job_table(run(isl_world(passes, LINKS, n_sats=3), jobs, [0, 0]))
    assert t["relay_sat"].tolist() == [1, 1]
    assert t["relay_arrival_s"].tolist() == [172.75, 232.75]  # + 0.25 + 500 * 8 / 1600
    assert t["downlink_start_s"].tolist() == [500.0, 500.5]
    assert t["delivered_s"].tolist() == [500.5, 501.0]


def test_view_estimate_and_bound_include_the_relay():
    passes = [UP, (0, 1, 3000.0, 3100.0), (1, 1, 500.0, 600.0)]
    sim = Sim(isl_world(passes, LINKS, n_sats=3), make_jobs(JOB), check=True)
    sim.advance()
    est = SimView(sim, expected_output_tokens=50).estimate(sim.head(), 0)
    assert est.downlink_start == 500.0 and est.delivered == pytest.approx(500.05)
    assert contention_free_delivery_s(sim)[0] == pytest.approx(500.05)
    sim.dispatch(0)
    sim.advance()
    assert job_table(sim)["delivered_s"][0] == est.delivered


# ---------------------------------------------------------------- satellite failures
def _faulted(passes, failures, hops=2):
    base = isl_world(passes, ring(5, hops), n_sats=5)
    return FaultedWorld(base, FaultPlan(failures=failures))


def test_no_relay_through_a_failed_satellite():
    # Satellite 1 (the path 0 -> 1 -> 2) fails at once: the result waits for satellite 0.
    passes = [UP, (0, 1, 3000.0, 3100.0), (2, 1, 500.0, 600.0)]
    t = job_table(run(_faulted(passes, ((0.0, 1),)), make_jobs(JOB), [0]))
    assert t["relay_sat"][0] == 0 and t["delivered_s"][0] == pytest.approx(3000.05)


def test_no_relay_to_a_failed_satellite():
    passes = [UP, (0, 1, 3000.0, 3100.0), (2, 1, 500.0, 600.0)]
    t = job_table(run(_faulted(passes, ((0.0, 2),)), make_jobs(JOB), [0]))
    assert t["relay_sat"][0] == 0 and t["delivered_s"][0] == pytest.approx(3000.05)


def test_a_relayed_result_is_lost_with_its_relay_not_with_the_computing_satellite():
    passes = [UP, (0, 1, 3000.0, 3100.0), (2, 1, 500.0, 600.0)]
    kept = job_table(run(_faulted(passes, ((300.0, 0),)), make_jobs(JOB), [0]))
    assert kept["status"][0] == "completed" and kept["delivered_s"][0] == pytest.approx(500.05)
    lost = job_table(run(_faulted(passes, ((300.0, 2),)), make_jobs(JOB), [0]))
    assert lost["status"][0] == "dropped" and lost["drop_reason"][0] == "satellite_failure"


# ---------------------------------------------------------------- invariants
@settings(max_examples=300)
@given(episodes())
def test_jobs_are_conserved_and_timelines_consistent_with_links(case):
    passes, rows, actions, world_kw = case
    hops = 1 + len(rows) % 3
    sim = Sim(isl_world(passes, ring(3, hops), **world_kw), make_jobs(rows), check=True)
    i = 0
    while True:  # Sim(check=True) recounts statuses against the counters after every event
        sim.advance()
        if sim.head() < 0:
            break
        a = actions[i % len(actions)] if i < 200 else 0
        i += 1
        sim.defer() if a < 0 else sim.dispatch(a)
    assert sim.done and sim.arrived == len(rows) == sim.completed + sim.dropped
    assert not any(sim.onboard) and not any(sim.committed)
    t = job_table(sim)
    done = t["status"] == "completed"
    assert (t["isl_hops"][done] <= hops).all() and (t["relay_sat"][done] >= 0).all()
    per_hop = LINKS.latency_s + t["output_tokens"][done] * 8.0 / LINKS.rate_bps
    arrival = t["compute_end_s"][done] + t["isl_hops"][done] * per_hop
    assert np.array_equal(t["relay_arrival_s"][done], arrival)
    assert (t["downlink_start_s"][done] >= t["relay_arrival_s"][done]).all()
    assert (t["delivered_s"][done] >= t["downlink_start_s"][done]).all()


def test_links_off_in_yaml_leave_the_toy_episode_unchanged_and_on_add_only_columns():
    from agents.evaluate import run_episode

    base = run_episode("toy", "ect", 1.0, seed=3)
    off = run_episode("toy", "ect", 1.0, seed=3, overrides={"isl.enabled": False})
    on = run_episode("toy", "ect", 1.0, seed=3, overrides={"isl.enabled": True})
    assert list(off.jobs) == list(base.jobs)
    for key, col in base.jobs.items():
        np.testing.assert_array_equal(off.jobs[key], col)
        np.testing.assert_array_equal(on.jobs[key], col)  # toy: the two never gain by relaying
    assert set(on.jobs) - set(base.jobs) == {"relay_sat", "isl_hops", "relay_arrival_s"}


def test_a_world_built_without_links_is_refused_for_a_scenario_with_links():
    from envs.dispatch_env import ConstellationDispatchEnv

    world = build_world(load_scenario("toy"))
    with pytest.raises(ConfigError, match="different isl"):
        ConstellationDispatchEnv("toy", world=world, **{"isl.enabled": True})


# ---------------------------------------------------------------- neighbour graphs
def _graph(scenario, constellation=None, **isl) -> IslGraph:
    if constellation is None:
        constellation = Constellation.from_tles(scenario_tles(scenario)[0])
    spec = dataclasses.replace(IslSpec(enabled=True), **isl)
    return IslGraph(spec, plane_structure(scenario, constellation))


def test_walker_delta_grid_has_two_in_plane_and_two_cross_plane_neighbours():
    sc = load_scenario("walker_100")  # 10 planes x 10, phasing 1, RAAN spread 360
    g = _graph(sc, max_hops=1)
    plane, slot = np.arange(100) // 10, np.arange(100) % 10
    assert g.neighbours.shape == (100, 4) and (g.neighbours >= 0).all()
    for s in range(100):
        nb = g.neighbours[s]
        same = nb[plane[nb] == plane[s]]
        assert sorted(slot[same]) == sorted({(slot[s] + 1) % 10, (slot[s] - 1) % 10})
        assert sorted(plane[nb[plane[nb] != plane[s]]]) == sorted(
            {(plane[s] + 1) % 10, (plane[s] - 1) % 10}
        )
    assert (g.hops[:, 0] == 0).all() and (g.relay[:, 0] == np.arange(100)).all()
    assert g.relay.shape == (100, 5)  # itself and its 4 neighbours
    assert (g.neighbours[g.neighbours] == np.arange(100)[:, None, None]).any(axis=2).all()


def test_walker_star_has_a_seam_and_link_kinds_can_be_switched_off():
    sc = load_scenario("walker_100", {"constellation.shells[0].raan_spread_deg": 180})
    g = _graph(sc, max_hops=1)
    degree = (g.neighbours >= 0).sum(axis=1)
    plane = np.arange(100) // 10
    assert (degree[(plane == 0) | (plane == 9)] == 3).all() and (degree[plane == 4] == 4).all()
    only_in = _graph(sc, max_hops=1, cross_plane=False)
    assert (plane[np.where(only_in.neighbours >= 0, only_in.neighbours, 0)] == plane[:, None]).all()
    only_cross = _graph(sc, max_hops=1, in_plane=False)
    assert ((only_cross.neighbours >= 0).sum(axis=1) == degree - 2).all()


def test_hop_limited_neighbourhood_of_a_grid_has_2h2_plus_2h_plus_1_satellites():
    sc = load_scenario("walker_100")
    for h in (1, 2, 3):
        g = _graph(sc, max_hops=h)
        assert ((g.relay >= 0).sum(axis=1) == 2 * h * h + 2 * h + 1).all()
        assert g.hops.max() == h and (np.diff(g.hops, axis=1)[g.relay[:, 1:] >= 0] >= 0).all()


@pytest.mark.parametrize("spread", [360.0, 180.0])
def test_planes_from_tles_match_the_shell_structure(spread):
    shell = Shell(550.0, planes=6, sats_per_plane=8, inclination_deg=53.0, phasing=2,
                  raan_spread_deg=spread)  # fmt: skip
    sc = load_scenario("walker_100")
    sc = dataclasses.replace(
        sc, constellation=ConstellationSpec(shells=(ShellSpec(shell, "inference"),))
    )
    cons = Constellation.from_tles(shell_tles(shell, sc.episode.epoch))
    from_shell = _graph(sc, cons, max_hops=2)
    from_tles = _graph(dataclasses.replace(sc, constellation=ConstellationSpec()), cons, max_hops=2)
    np.testing.assert_array_equal(from_tles.neighbours, from_shell.neighbours)
    np.testing.assert_array_equal(from_tles.relay, from_shell.relay)


def test_star_compute_12_tle_file_is_one_ring_of_twelve(repo_root: Path):
    tles = load_tles(repo_root / "configs" / "tle" / "star_compute_12.tle")
    sc = load_scenario("star_compute_12")
    sc = dataclasses.replace(sc, constellation=ConstellationSpec())
    g = _graph(sc, Constellation.from_tles(tles), max_hops=6)
    assert len(set(plane_structure(sc, Constellation.from_tles(tles)).plane.tolist())) == 1
    assert g.neighbours.shape == (12, 2)
    assert ((g.relay >= 0).sum(axis=1) == 12).all() and g.hops.max() == 6


def test_iridium_next_tles_group_into_six_planes_of_eleven_with_a_seam(iridium_tle_path):
    from collections import Counter
    from datetime import datetime, timezone

    sc = load_scenario("walker_100")
    sc = dataclasses.replace(
        sc,
        constellation=ConstellationSpec(),
        episode=dataclasses.replace(sc.episode, epoch=datetime(2026, 1, 3, tzinfo=timezone.utc)),
    )
    cons = Constellation.from_tles(load_tles(iridium_tle_path))
    planes = plane_structure(sc, cons)
    assert sorted(Counter(planes.plane.tolist()).values()) == [11] * 6
    assert len(planes.shells) == 1 and planes.shells[0][1] is False  # a Walker star: seam
    degree = (_graph(sc, cons, max_hops=1).neighbours >= 0).sum(axis=1)
    assert Counter(degree.tolist()) == {4: 44, 3: 22}  # the two seam planes: one side only


# ---------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("isl.rate_bps", 0, "toy.yaml: isl.rate_bps: must be > 0, got 0"),
        ("isl.latency_s", -0.1, "toy.yaml: isl.latency_s: must be >= 0, got -0.1"),
        ("isl.max_hops", 0, "toy.yaml: isl.max_hops: must be >= 1, got 0"),
        ("isl.max_hops", 1.5, "toy.yaml: isl.max_hops: must be an integer, got 1.5"),
        ("isl.enabled", "yes", "toy.yaml: isl.enabled: must be true or false, got 'yes'"),
        ("isl.hops", 2, "toy.yaml: override 'isl.hops': unknown key 'hops'"),
    ],
)
def test_bad_isl_settings_are_one_line_errors_naming_field_and_value(key, value, message):
    with pytest.raises(ConfigError) as err:
        load_scenario("toy", {key: value})
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_isl_section_in_yaml_is_checked_and_loaded(tmp_path, repo_root):
    raw = yaml.safe_load((repo_root / "configs" / "scenarios" / "toy.yaml").read_text())
    raw["isl"] = {"enabled": True, "rate_bps": 1.0e9, "max_hops": 2, "laser": True}
    path = tmp_path / "links.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"^links.yaml: isl.laser: unknown key 'laser'"):
        load_scenario(path)
    del raw["isl"]["laser"]
    path.write_text(yaml.safe_dump(raw))
    assert load_scenario(path).isl == IslSpec(enabled=True, rate_bps=1.0e9, max_hops=2)
    assert load_scenario("toy").isl == IslSpec()  # off by default
    with pytest.raises(ConfigError, match=r"isl\.enabled: needs isl\.in_plane or isl\.cross_plane"):
        load_scenario(path, {"isl.in_plane": False, "isl.cross_plane": False})
