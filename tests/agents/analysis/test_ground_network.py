"""agents.analysis.ground_network: network choices and ratios to the best single network."""

from __future__ import annotations

import math

import pytest

from agents.analysis.ground_network import add_ratios, resolve_choices
from envs.errors import ConfigError
from envs.ground import Station


def _station(name: str, network: str) -> Station:
    return Station(name=name, lat_deg=0.0, lon_deg=0.0, alt_m=0.0, network=network)


def test_choices_are_single_networks_joined_ones_or_all():
    stations = [_station("A", "ksat"), _station("B", "aws")]
    assert resolve_choices(["ksat", "aws+ksat", "all"], stations) == [
        ("ksat", ("ksat",)), ("aws+ksat", ("aws", "ksat")), ("all", None),
    ]  # fmt: skip


def test_an_unknown_network_names_itself_and_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown network 'kast' in 'aws\+kast' .*ksat, aws"):
        resolve_choices(["aws+kast"], [_station("A", "ksat"), _station("B", "aws")])


def _row(option: str, antennas: object, gb: float) -> dict:
    return {"scenario": "s", "option": option, "networks": option,
            "antennas_per_station": antennas, "capacity_gb_per_day": gb}  # fmt: skip


def test_ratios_are_to_the_best_single_network_of_the_same_antenna_count():
    rows = [
        _row("aws", "unlimited", 10.0),
        _row("ksat", "unlimited", 20.0),
        _row("aws+ksat", "unlimited", 25.0),
        _row("aws", 1, 4.0),
        _row("aws+ksat", 1, 6.0),
    ]
    add_ratios(rows, hours=24.0)
    assert [r["best_single"] for r in rows] == ["ksat", "ksat", "ksat", "aws", "aws"]
    assert [r["ratio_to_best_single"] for r in rows] == [0.5, 1.0, 1.25, 1.0, 1.5]
    assert all(r["hours"] == 24.0 for r in rows)


def test_no_single_network_option_gives_no_ratio():
    rows = [_row("aws+ksat", "unlimited", 25.0)]
    add_ratios(rows, hours=1.0)
    assert rows[0]["best_single"] == "" and math.isnan(rows[0]["ratio_to_best_single"])
