"""The static world built from a preset: contact windows and power windows."""

from __future__ import annotations

import collections
import pathlib

import numpy as np
import pytest

from envs import resources
from envs.dispatch_env import ConstellationDispatchEnv
from envs.scenario import load_scenario
from envs.sim import NoContactWarning, WorldCache, build_world, job_table, world_key
from envs.sim.world import origins_without_contact

#: toy's two satellites moved to a 20 deg orbit: they never rise over Kashi (39.5 N).
LOW_SHELL = {"class": "inference", "altitude_km": 500, "planes": 1, "sats_per_plane": 2,
             "inclination_deg": 20, "name_prefix": "TOY", "first_catnr": 99001}  # fmt: skip


def test_an_origin_no_satellite_passes_over_is_named_and_its_jobs_are_dropped():
    sc = load_scenario("toy", {"constellation.shells": [LOW_SHELL]})
    with pytest.warns(NoContactWarning, match="RSGS Kashi"):
        world = build_world(sc)
    assert len(world.plan) > 0  # the Chinese stations further south do see the shell
    assert origins_without_contact(world) == ["RSGS Kashi"]
    # With a backhaul a job reaches the stations of Kashi's network that see the shell.
    relayed = load_scenario("toy", {"constellation.shells": [LOW_SHELL],
                                    "ground.backhaul_delay_s": 5.0})  # fmt: skip
    assert origins_without_contact(build_world(relayed)) == []
    env = ConstellationDispatchEnv(sc, world=world)
    env.reset(seed=0)
    while not env.step(0)[2]:
        pass
    table = job_table(env.unwrapped.sim)
    assert len(table["drop_reason"]) > 0
    assert set(table["drop_reason"]) == {"no_contact"}


def test_origins_that_see_a_pass_raise_no_warning(recwarn):
    world = build_world(load_scenario("toy"))
    assert origins_without_contact(world) == []
    assert not [w for w in recwarn if issubclass(w.category, NoContactWarning)]


def test_sunlit_windows_give_the_eclipse_fraction_of_a_dawn_dusk_leaning_sso():
    world = build_world(
        load_scenario("star_compute_12", {"classes.inference.power": "sunlit_only"})
    )
    horizon = world.horizon_s
    for sat in range(world.n_sats):
        starts, ends, _ = world.compute_windows[sat]
        lit = sum(e - s for s, e in zip(starts, ends, strict=True)) / horizon
        # 500 km SSO, 10:30 node, June: eclipse ~ 30-36 % of each orbit.
        assert 0.62 < lit < 0.72, lit
        assert all(e > s for s, e in zip(starts, ends, strict=True))


def test_battery_budget_lengthens_compute_windows():
    lit = build_world(load_scenario("star_compute_12", {"classes.inference.power": "sunlit_only"}))
    bat = build_world(
        load_scenario(
            "star_compute_12",
            {"classes.inference.power": "battery", "classes.inference.battery_wh": 50.0,
             "classes.inference.compute_w": 300.0},
        )
    )  # fmt: skip
    total = lambda w: sum(sum(np.subtract(e, s)) for s, e, _ in w.compute_windows)  # noqa: E731
    # 50 Wh at 300 W: 600 s more per eclipse, 15-16 eclipses a day.
    gained = (total(bat) - total(lit)) / bat.n_sats / (bat.horizon_s / 86400.0)
    assert 8000 < gained < 10000, gained


def test_downlink_windows_merge_overlapping_passes_without_double_counting():
    world = build_world(load_scenario("walker_100"))
    for sat in range(0, 100, 17):
        starts, ends, rates = world.downlink_windows(sat)
        assert all(ends[i] <= starts[i + 1] for i in range(len(starts) - 1))
        p = world.plan.passes
        mine = p.sat == sat
        union = sum(e - s for s, e in zip(starts, ends, strict=True))
        assert union <= float((p.set_s[mine] - p.rise_s[mine]).sum()) + 1e-6
        assert max(rates) <= max(s.downlink_bps for s in world.stations) / 8.0


def test_rate_scales_multiply_every_station_rate_and_default_to_the_file_rates():
    from envs.sim.world import scenario_stations

    base = scenario_stations(load_scenario("walker_100"))
    scaled = scenario_stations(
        load_scenario(
            "walker_100", {"ground.uplink_rate_scale": 2.0, "ground.downlink_rate_scale": 0.5}
        )
    )
    assert [s.name for s in scaled] == [s.name for s in base]
    assert [s.uplink_bps for s in scaled] == [2.0 * s.uplink_bps for s in base]
    assert [s.downlink_bps for s in scaled] == [0.5 * s.downlink_bps for s in base]


def _count_file_opens(monkeypatch) -> collections.Counter:
    """Count ``Path.open`` calls per file name (``read_bytes``/``read_text`` go through it)."""
    opened: collections.Counter = collections.Counter()
    real_open = pathlib.Path.open

    def counting_open(self, *args, **kwargs):
        opened[self.name] += 1
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", counting_open)
    return opened


@pytest.mark.filterwarnings("ignore::envs.sim.NoContactWarning")  # a 1,200 s horizon
def test_each_input_file_is_read_once_while_loading_a_scenario_and_building_its_world(
    monkeypatch,
):
    tle = resources.configs_dir() / "tle" / "star_compute_12.tle"
    overrides = {
        "constellation": {"tle_file": str(tle)},  # a TLE file, no shells
        "faults.satellite_failures": [{"satellite": "STAR-01-03", "time_s": 60}],
        "duration_s": 600.0,
        "episode.drain_s": 600.0,
    }
    opened = _count_file_opens(monkeypatch)
    scenario = load_scenario("toy", overrides)
    build_world(scenario, cache_dir=None)
    assert opened == {"toy.yaml": 1, "star_compute_12.tle": 1, "china.yaml": 1}


def test_scenarios_differing_only_per_episode_share_one_world_and_play_the_same():
    worlds = WorldCache()
    per_episode = {
        "load": 2.0,
        "workload.deadline_s": 7200.0,
        "candidates": 1,
        "reward.drop_penalty_s": 10.0,
        "ground.backhaul_delay_s": 5.0,
        "faults.random_station_outages": {"rate_per_day": 2.0, "mean_duration_s": 600.0},
    }
    other = load_scenario("toy", per_episode)
    shared = worlds.get(load_scenario("toy"))
    assert world_key(other) == world_key(shared.scenario)
    assert worlds.get(other) is shared and len(worlds) == 1
    assert worlds.get(load_scenario("toy", {"duration_s": 1800.0})) is not shared  # horizon
    assert worlds.get(load_scenario("toy", {"ground.min_elevation_deg": 20.0})) is not shared
    assert len(worlds) == 3

    def play(world):
        env = ConstellationDispatchEnv(other, world=world)
        env.reset(seed=3)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
        return job_table(env.sim)

    own, on_shared = play(build_world(other)), play(shared)
    assert own.keys() == on_shared.keys() and len(own["status"]) > 0
    for name in own:
        np.testing.assert_array_equal(own[name], on_shared[name], err_msg=name)
