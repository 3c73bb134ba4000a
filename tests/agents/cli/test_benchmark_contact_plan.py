"""``benchmark contact-plan``: ours on the whole file, skyfield on a seeded sample of it."""

from __future__ import annotations

import json

import pytest

from agents.cli import benchmark
from envs.resources import configs_dir

TLE = configs_dir() / "tle" / "star_compute_12.tle"


def run(tmp_path, *extra: str) -> dict:
    out = tmp_path / "b.json"
    argv = ["contact-plan", "--tle", str(TLE), "--stations", "3", "--hours", "3",
            "--repeats", "1", "--skip-full", "--out", str(out), *extra]  # fmt: skip
    assert benchmark.main(argv) == 0
    return json.loads(out.read_text())


def test_ours_runs_on_every_satellite_and_skyfield_on_a_sample_per_satellite_station_day(
    tmp_path,
):
    r = run(tmp_path, "--satellites", "4")
    assert (r["satellites"], r["skyfield_satellites"], r["stations"]) == (12, 4, 3)
    unit = r["stations"] * r["hours"] / 24.0
    assert r["ours_ms_per_sat_station_day"] == pytest.approx(1000 * r["ours_s"] / (12 * unit))
    assert r["skyfield_ms_per_sat_station_day"] == pytest.approx(
        1000 * r["skyfield_s"] / (4 * unit)
    )
    assert r["speedup_vs_skyfield"] == pytest.approx(
        r["skyfield_ms_per_sat_station_day"] / r["ours_ms_per_sat_station_day"]
    )
    # No pass missed: on skyfield's satellites both count the same passes.
    assert r["passes_ours_on_subset"] == r["passes_skyfield"] > 0
    assert r["passes_ours"] >= r["passes_ours_on_subset"]
    assert r["epoch"].endswith("T00:00:00+00:00")  # midnight of the file's newest epoch


def test_the_sample_is_seeded_and_never_larger_than_the_file():
    assert benchmark._skyfield_subset(12, 4, 0) == benchmark._skyfield_subset(12, 4, 0)
    assert benchmark._skyfield_subset(12, 4, 0) != benchmark._skyfield_subset(12, 4, 1)
    assert benchmark._skyfield_subset(12, 50, 0) == list(range(12))


@pytest.mark.parametrize("option", ["--satellites", "--repeats", "--workers", "--stations"])
def test_a_count_below_one_is_a_one_line_error(tmp_path, option, capsys):
    from envs.errors import ConfigError

    with pytest.raises(ConfigError, match=option):
        run(tmp_path, option, "0")
