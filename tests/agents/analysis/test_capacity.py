"""Downlink capacity and contact statistics of ground networks (agents.analysis.capacity)."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import numpy as np
import pytest

from agents.analysis.capacity import (
    SUMMARY_COLUMNS,
    _max_weight_matching,
    network_capacity,
    pass_rates_bytes_per_s,
)
from envs.contact_plan import ContactPlan, compute_contact_plan
from envs.errors import ConfigError
from envs.ground import load_networks
from envs.orbits import Constellation
from envs.orbits.shells import Shell, shell_tles
from envs.scenario import load_scenario
from envs.sim import build_world
from tests.hand_made import hand_plan

EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)
MB = 1e6  # bytes


def make_plan(
    passes: list[tuple[int, int, float, float]],
    networks: tuple[str, ...] = ("ksat", "aws"),
    *,
    n_sats: int = 2,
    horizon_s: float = 3600.0,
    range_km: float = 800.0,
) -> ContactPlan:
    """A plan from ``(satellite, station, rise_s, set_s)``; station i is in ``networks[i]``."""
    return hand_plan(
        passes, satellite_names=[f"S{i}" for i in range(n_sats)],
        station_names=[f"G{i}" for i in range(len(networks))], station_networks=networks,
        horizon_s=horizon_s, range_km=range_km,
    )  # fmt: skip


# ------------------------------------------------------------------ hand-computed cases
def test_overlapping_passes_of_one_satellite_are_not_double_counted():
    # Station 0 (100 Mbit/s = 12.5 MB/s) over [0, 600), station 1 (200 Mbit/s) over [300, 900):
    # 300 s at 12.5 MB/s, then the better link for 600 s at 25 MB/s.
    plan = make_plan([(0, 0, 0.0, 600.0), (0, 1, 300.0, 900.0)])
    cap = network_capacity(plan, pass_rates_bytes_per_s(plan, [1e8, 2e8]))
    assert cap.capacity_bytes.tolist() == [300 * 12.5 * MB + 600 * 25 * MB, 0.0]
    assert cap.contact_s.tolist() == [900.0, 0.0]
    assert cap.pass_s.tolist() == [1200.0, 0.0]
    assert cap.passes.tolist() == [2, 0]
    assert cap.gap_count.tolist() == [0, 0]  # pieces at two rates touch: no gap


def test_capacity_of_one_network_uses_only_its_stations():
    plan = make_plan([(0, 0, 0.0, 600.0), (0, 1, 300.0, 900.0)])
    rates = pass_rates_bytes_per_s(plan, [1e8, 2e8])
    assert network_capacity(plan, rates, ["ksat"]).capacity_bytes[0] == 600 * 12.5 * MB
    assert network_capacity(plan, rates, ["aws"]).capacity_bytes[0] == 600 * 25 * MB
    assert network_capacity(plan, rates, ["aws", "ksat"]).capacity_bytes[0] == 18_750 * MB
    assert network_capacity(plan, rates, []).capacity_bytes.sum() == 0.0


def test_gaps_are_the_times_between_merged_contacts():
    plan = make_plan(
        [(0, 0, 0.0, 100.0), (0, 0, 400.0, 500.0), (0, 1, 450.0, 700.0), (0, 1, 1300.0, 1400.0),
         (1, 0, 200.0, 300.0)]
    )  # fmt: skip
    cap = network_capacity(plan, pass_rates_bytes_per_s(plan, [1e8, 1e8]))
    assert cap.gap_count.tolist() == [2, 0]  # 100 -> 400 and 700 -> 1300
    assert cap.gap_total_s.tolist() == [900.0, 0.0]
    assert cap.max_gap_s[0] == 600.0 and np.isnan(cap.max_gap_s[1])
    row = cap.summary()
    assert list(row) == list(SUMMARY_COLUMNS)
    assert row["mean_gap_min"] == 7.5 and row["max_gap_min"] == 10.0


def test_summary_scales_the_horizon_to_a_day():
    plan = make_plan([(0, 0, 0.0, 600.0), (1, 1, 0.0, 300.0)], horizon_s=3600.0)
    row = network_capacity(plan, pass_rates_bytes_per_s(plan, [8e8, 8e8])).summary()
    # 900 s at 100 MB/s in one hour: 90 GB/h, 2,160 GB/day; 2 passes/h, 48/day.
    assert row["capacity_gb_per_day"] == pytest.approx(2160.0)
    assert row["capacity_gb_per_sat_day"] == pytest.approx(1080.0)
    assert row["passes_per_day"] == 48.0
    assert row["contact_min_per_day"] == pytest.approx(15.0 * 24)
    assert row["networks"] == "ksat+aws" and row["antennas_per_station"] == "unlimited"
    assert np.isnan(row["mean_gap_min"]) and np.isnan(row["max_gap_min"])


def test_range_rate_model_scales_each_pass_by_its_range():
    near = make_plan([(0, 0, 0.0, 100.0)], range_km=500.0)
    far = make_plan([(0, 0, 0.0, 100.0)], range_km=2000.0)
    kw = {"rate_model": "range", "reference_range_km": 1000.0}
    assert pass_rates_bytes_per_s(near, [8e6, 8e6], **kw).tolist() == [1e6]  # capped at 1
    assert pass_rates_bytes_per_s(far, [8e6, 8e6], **kw).tolist() == [0.25e6]


# ------------------------------------------------------------------ one antenna per station
def test_one_antenna_serves_one_of_two_satellites_during_their_overlap():
    plan = make_plan([(0, 0, 0.0, 600.0), (1, 0, 300.0, 900.0)])
    rates = pass_rates_bytes_per_s(plan, [1e8, 1e8])
    free = network_capacity(plan, rates).capacity_bytes.sum()
    one = network_capacity(plan, rates, antennas_per_station=1).capacity_bytes.sum()
    two = network_capacity(plan, rates, antennas_per_station=2).capacity_bytes.sum()
    assert free == two == 1200 * 12.5 * MB
    assert one == pytest.approx(900 * 12.5 * MB)


def test_antennas_are_assigned_for_the_most_bytes_not_greedily():
    # Satellite 0 sees the fast station 0 and the slow station 1; satellite 1 only station 0.
    # Best: satellite 1 on station 0, satellite 0 on station 1 (12.5 + 6.25 MB/s).
    plan = make_plan([(0, 0, 0.0, 600.0), (0, 1, 0.0, 600.0), (1, 0, 0.0, 600.0)])
    rates = pass_rates_bytes_per_s(plan, [1e8, 5e7])
    cap = network_capacity(plan, rates, antennas_per_station=1)
    assert cap.capacity_bytes.tolist() == pytest.approx([600 * 6.25 * MB, 600 * 12.5 * MB])


def _brute_force_capacity(plan: ContactPlan, rates: np.ndarray, antennas: int) -> float:
    """Integrate the best assignment over every piece between pass edges, by enumeration."""
    p = plan.passes
    edges = np.unique(np.r_[p.rise_s, p.set_s])
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        mid = 0.5 * (lo + hi)
        seen = (p.rise_s <= mid) & (mid < p.set_s)
        links: dict[int, list[tuple[int, float]]] = {}
        for j in np.nonzero(seen)[0]:
            links.setdefault(int(p.sat[j]), []).append((int(p.station[j]), float(rates[j])))
        best = 0.0
        sats = list(links)
        for pick in itertools.product(*[[None, *links[s]] for s in sats]):
            used = [x[0] for x in pick if x is not None]
            if all(used.count(g) <= antennas for g in used):
                best = max(best, sum(x[1] for x in pick if x is not None))
        total += best * (hi - lo)
    return total


@pytest.mark.parametrize("seed", range(12))
def test_antenna_limited_capacity_matches_brute_force_on_random_plans(seed):
    rng = np.random.default_rng(seed)
    n_sats, n_sta = 5, 3
    passes = []
    for _ in range(14):
        rise = float(rng.integers(0, 30)) * 100.0
        passes.append((int(rng.integers(n_sats)), int(rng.integers(n_sta)), rise,
                       rise + float(rng.integers(1, 8)) * 100.0))  # fmt: skip
    # A satellite's passes over one station never overlap: keep the first of a clash.
    kept: list[tuple[int, int, float, float]] = []
    for s, g, a, b in passes:
        if all(not (s == s2 and g == g2 and a < b2 and a2 < b) for s2, g2, a2, b2 in kept):
            kept.append((s, g, a, b))
    plan = make_plan(kept, ("ksat", "aws", "ksat"), n_sats=n_sats, horizon_s=4000.0)
    rates = pass_rates_bytes_per_s(plan, rng.uniform(1e7, 1e8, n_sta))
    for antennas in (1, 2):
        got = network_capacity(plan, rates, antennas_per_station=antennas).capacity_bytes.sum()
        assert got == pytest.approx(_brute_force_capacity(plan, rates, antennas), rel=1e-9)
    unlimited = network_capacity(plan, rates).capacity_bytes.sum()
    assert unlimited == pytest.approx(_brute_force_capacity(plan, rates, n_sats), rel=1e-9)


@pytest.mark.parametrize("seed", range(200))
def test_matching_is_maximal_against_enumeration(seed):
    rng = np.random.default_rng(seed)
    n, m = (int(x) for x in rng.integers(1, 6, 2))
    weight = rng.random((n, m)) * (rng.random((n, m)) < 0.6)
    if seed % 3 == 0:
        weight = (weight > 0).astype(float)  # equal rates: a maximum-cardinality matching
    pairs = _max_weight_matching(weight.tolist())
    rows, cols = [i for i, _ in pairs], [j for _, j in pairs]
    assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
    best = max(
        sum(weight[i, j] for i, j in zip(range(n), perm, strict=False) if j is not None)
        for perm in itertools.permutations([*range(m), *[None] * n], n)
    )
    assert sum(weight[i, j] for i, j in pairs) == pytest.approx(best)
    assert all(weight[i, j] > 0 for i, j in pairs)


# ------------------------------------------------------------------ a real constellation
@pytest.fixture(scope="module")
def walker_plan(repo_root):
    """20 satellites (4 planes) over every shipped station for 3 h: stations see several."""
    sats = Constellation.from_tles(shell_tles(Shell(550.0, 4, 5, inclination_deg=53.0), EPOCH))
    stations = load_networks(sorted((repo_root / "configs" / "ground_stations").glob("*.yaml")))
    plan = compute_contact_plan(sats, stations, EPOCH, 3 * 3600.0)
    return plan, pass_rates_bytes_per_s(plan, [s.downlink_bps for s in stations])


def test_capacity_never_falls_when_networks_or_antennas_are_added(walker_plan):
    plan, rates = walker_plan
    options = [("china",), ("aws",), ("ksat",), ("aws", "ksat"), None]
    for antennas in (None, 1, 2):
        caps = {o: network_capacity(plan, rates, o, antennas_per_station=antennas) for o in options}
        for c in caps.values():
            assert (c.capacity_bytes >= 0).all() and (c.contact_s <= c.pass_s + 1e-9).all()
            assert (c.capacity_bytes <= c.contact_s * rates.max() * (1 + 1e-12)).all()
        single = max(caps[o].capacity_bytes.sum() for o in options[:3])
        assert caps[("aws", "ksat")].capacity_bytes.sum() >= max(
            caps[("aws",)].capacity_bytes.sum(), caps[("ksat",)].capacity_bytes.sum()
        )
        assert caps[None].capacity_bytes.sum() >= single
    one, two, free = (
        network_capacity(plan, rates, antennas_per_station=a).capacity_bytes for a in (1, 2, None)
    )
    assert (one <= two + 1e-6).all() and (two <= free + 1e-6).all()
    assert one.sum() < free.sum()  # the constraint binds for this shell and network


@pytest.mark.parametrize("rate_model", ["fixed", "range"])
def test_capacity_equals_what_the_simulator_can_downlink(rate_model):
    world = build_world(
        load_scenario(
            "star_compute_12",
            {"networks": None, "duration_s": 3600, "episode.drain_s": 3600,
             "ground.rate_model": rate_model, "ground.reference_range_km": 900.0},
        )
    )  # fmt: skip
    rates = pass_rates_bytes_per_s(
        world.plan,
        [s.downlink_bps for s in world.stations],
        rate_model=rate_model,
        reference_range_km=900.0,
    )
    cap = network_capacity(world.plan, rates)
    for sat in range(world.n_sats):
        starts, ends, sim_rates = world.downlink_windows(sat)
        expected = sum((e - s) * r for s, e, r in zip(starts, ends, sim_rates, strict=True))
        assert cap.capacity_bytes[sat] == pytest.approx(expected, rel=1e-12)
    assert cap.capacity_bytes.sum() > 0
    if rate_model == "range":
        assert len(set(rates.tolist())) > 1


# ------------------------------------------------------------------ errors
def test_bad_arguments_raise_one_line_config_errors():
    plan = make_plan([(0, 0, 0.0, 600.0)])
    rates = pass_rates_bytes_per_s(plan, [1e8, 1e8])
    cases = [
        (lambda: network_capacity(plan, rates, ["kast"]), "unknown network 'kast'"),
        (lambda: network_capacity(plan, rates[:0]), "one rate per pass"),
        (lambda: network_capacity(plan, rates, antennas_per_station=0), "antennas_per_station"),
        (lambda: network_capacity(plan, rates, antennas_per_station=True), "antennas_per_station"),
        (lambda: pass_rates_bytes_per_s(plan, [1e8]), "one rate per station"),
        (lambda: pass_rates_bytes_per_s(plan, [1e8, 1e8], rate_model="free"), "rate_model"),
    ]
    for call, fragment in cases:
        with pytest.raises(ConfigError, match=fragment) as info:
            call()
        assert "\n" not in str(info.value)
