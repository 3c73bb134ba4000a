"""envs.render: contact Gantt charts, including the grouped one for large plans."""

from __future__ import annotations

import numpy as np
import pytest

from envs.gantt import _in_view_count, plot_contact_gantt, plot_contact_gantt_grouped
from envs.scenario import load_scenario
from envs.sim import build_world
from envs.sim.isl import plane_structure

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def walker_world(tmp_path_factory):
    sc = load_scenario("walker_100", {"episode.duration_s": 600, "episode.drain_s": 3000})
    return build_world(sc, cache_dir=tmp_path_factory.mktemp("cache"))


def test_in_view_count_counts_a_satellite_seen_by_two_stations_once():
    t, n = _in_view_count(np.array([0, 0, 1]), np.array([0.0, 1.0, 1.5]),
                          np.array([2.0, 3.0, 2.5]))  # fmt: skip
    assert t.tolist() == [0.0, 1.5, 2.5, 3.0]
    assert n.tolist() == [1, 2, 1, 0]


def test_grouped_gantt_has_one_row_per_network_and_plane(walker_world, tmp_path):
    planes = plane_structure(walker_world.scenario, walker_world.constellation).plane
    out = plot_contact_gantt_grouped(walker_world.plan, tmp_path / "g.png", planes)
    assert out.read_bytes()[:8] == PNG
    # 10 planes, at most 4 a row -> 3 rows per network
    out = plot_contact_gantt_grouped(walker_world.plan, tmp_path / "h.png", planes,
                                     max_plane_rows=4)  # fmt: skip
    assert out.stat().st_size > 10_000


def test_grouped_gantt_rejects_a_plane_list_of_the_wrong_length(walker_world, tmp_path):
    with pytest.raises(ValueError, match=r"plane: expected one plane id per satellite \(100\)"):
        plot_contact_gantt_grouped(walker_world.plan, tmp_path / "g.png", [0, 1])


def test_small_gantt_is_still_drawn_per_satellite(walker_world, tmp_path):
    assert plot_contact_gantt(walker_world.plan, tmp_path / "s.png").read_bytes()[:8] == PNG
