"""Tests for envs.orbits.omm: OMM records give the satellites their TLEs give."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from envs.contact_plan import compute_contact_plan
from envs.errors import TLEError
from envs.ground import load_networks
from envs.orbits import Constellation, load_elements, load_tles, propagate_ecef, time_grid
from envs.orbits.omm import (
    OMM_MAX_CATNR,
    omm_to_tle,
    parse_omm_csv,
    parse_omm_json,
    parse_omm_xml,
)
from tests.omm_files import KINDS, omm_records, omm_xml, write_omm

REPO = Path(__file__).resolve().parents[2]
STAR_TLE = REPO / "configs" / "tle" / "star_compute_12.tle"
GROUND = REPO / "configs" / "ground_stations"
STAR_EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)
IRIDIUM_START = datetime(2026, 1, 3, 12, tzinfo=timezone.utc)
# The satrec fields SGP4 propagates from.
ELEMENTS = ("satnum", "jdsatepoch", "jdsatepochF", "no_kozai", "ecco", "inclo", "nodeo",
            "argpo", "mo", "bstar", "ndot", "nddot")  # fmt: skip


def _elements(tle) -> tuple[float, ...]:
    sat = Satrec.twoline2rv(tle.line1, tle.line2)
    return tuple(getattr(sat, name) for name in ELEMENTS)


def _positions(tles, start: datetime, hours: float = 24.0) -> np.ndarray:
    grid = time_grid(start, np.arange(0.0, hours * 3600.0 + 1.0, 60.0))
    return propagate_ecef(Constellation.from_tles(tles), grid).r_km


@pytest.fixture(params=["star_compute_12", "iridium_next"])
def tle_file(request) -> tuple[Path, datetime]:
    """The project's TLE file, and the shared Iridium NEXT snapshot (skips when absent)."""
    if request.param == "star_compute_12":
        return STAR_TLE, STAR_EPOCH
    return request.getfixturevalue("iridium_tle_path"), IRIDIUM_START


@pytest.mark.parametrize("kind", KINDS)
def test_omm_written_from_tles_reads_back_the_same_satellites(tmp_path, tle_file, kind):
    path, _ = tle_file
    tles = load_tles(path)
    omm = write_omm(tmp_path / f"sats.{kind}", omm_records(tles), kind)
    back = load_elements(omm)
    assert [(t.name, t.catnr, t.epoch) for t in back] == [(t.name, t.catnr, t.epoch) for t in tles]
    assert [_elements(t) for t in back] == [_elements(t) for t in tles]


def test_celestrak_omm_of_real_tles_converts_back_to_the_same_lines(tmp_path, iridium_tle_path):
    tles = load_tles(iridium_tle_path)
    back = load_elements(write_omm(tmp_path / "iridium.json", omm_records(tles), "json"))
    assert [(t.line1, t.line2) for t in back] == [(t.line1, t.line2) for t in tles]


@pytest.mark.parametrize("kind", KINDS)
def test_omm_satellites_propagate_to_the_positions_of_their_tles(tmp_path, tle_file, kind):
    path, start = tle_file
    tles = load_tles(path)
    omm = load_elements(write_omm(tmp_path / f"sats.{kind}", omm_records(tles), kind))
    assert np.array_equal(_positions(omm, start), _positions(tles, start), equal_nan=True)


def test_positions_agree_with_sgp4s_own_omm_reader(tmp_path, tle_file):
    path, start = tle_file
    tles = load_tles(path)
    omm_path = write_omm(tmp_path / "sats.csv", omm_records(tles), "csv")
    with omm_path.open(newline="") as fh:
        reference = []
        for fields in sgp4_omm.parse_csv(fh):
            sat = Satrec()
            sgp4_omm.initialize(sat, {"OBJECT_ID": "2000-000A", **fields})
            reference.append(sat)
    ours = Constellation.from_tles(load_elements(omm_path))
    grid = time_grid(start, np.arange(0.0, 86401.0, 600.0))
    got = propagate_ecef(ours, grid).r_km
    want = propagate_ecef(Constellation(ours.tles, tuple(reference)), grid).r_km
    assert np.nanmax(np.abs(got - want)) < 1e-3  # km: epoch representation only


@pytest.mark.parametrize("kind", KINDS)
def test_omm_gives_the_contact_plan_of_its_tles(tmp_path, tle_file, kind):
    path, start = tle_file
    tles = load_tles(path)
    omm = load_elements(write_omm(tmp_path / f"sats.{kind}", omm_records(tles), kind))
    stations = load_networks([GROUND / "ksat.yaml", GROUND / "aws.yaml"])
    plans = [
        compute_contact_plan(Constellation.from_tles(sats), stations, start, 6 * 3600.0).rows()
        for sats in (tles, omm)
    ]
    assert len(plans[0]) > 20
    assert plans[1] == plans[0]


def _record(**changes) -> dict:
    (record,) = omm_records(load_tles(STAR_TLE)[:1])
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


@pytest.mark.parametrize(("catnr", "field"), [(100001, "A0001"), (339999, "Z9999"),
                                              (188123, "J8123"), (99999, "99999")])  # fmt: skip
def test_catalogue_numbers_beyond_five_digits_are_written_as_alpha5(catnr, field):
    tle = omm_to_tle(_record(NORAD_CAT_ID=catnr))
    assert tle.catnr == catnr
    assert tle.line1[2:7] == field and tle.line2[2:7] == field
    assert Satrec.twoline2rv(tle.line1, tle.line2).satnum == catnr


def test_six_digit_catalogue_numbers_fly_like_five_digit_ones(tmp_path):
    records = [_record(NORAD_CAT_ID=n, OBJECT_NAME=f"S{n}") for n in (90001, 270000)]
    for kind in KINDS:
        tles = load_elements(write_omm(tmp_path / f"big.{kind}", records, kind))
        assert [t.catnr for t in tles] == [90001, 270000]
        r_km = _positions(tles, STAR_EPOCH, hours=2.0)
        assert np.array_equal(r_km[0], r_km[1])


def test_catalogue_numbers_beyond_alpha5_are_refused_naming_the_limit():
    with pytest.raises(TLEError, match=r"NORAD_CAT_ID: must be in \[1, 339999\].*got 340000"):
        omm_to_tle(_record(NORAD_CAT_ID=340000), "x.json record 1")


def test_missing_object_name_names_the_satellite_by_catalogue_number():
    assert omm_to_tle(_record(OBJECT_NAME=None)).name == "90001"


def test_optional_fields_take_the_tle_defaults():
    required = ("NORAD_CAT_ID", "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
                "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY", "BSTAR")  # fmt: skip
    record = {k: v for k, v in _record().items() if k in required}
    tle = omm_to_tle(record)
    assert _elements(tle) == _elements(load_tles(STAR_TLE)[0])


def test_values_given_as_text_read_like_numbers():
    text = {k: str(v) for k, v in _record().items()}
    assert omm_to_tle(text) == omm_to_tle(_record())


def test_precision_beyond_the_tle_is_rounded_to_it():
    tle = omm_to_tle(_record(INCLINATION=97.40194999, MEAN_MOTION=15.219378351234))
    assert tle.line2[8:16] == " 97.4019" and tle.line2[52:63] == "15.21937835"


def test_an_epoch_that_rounds_into_the_next_year_is_written_as_day_one():
    tle = omm_to_tle(_record(EPOCH="2025-12-31T23:59:59.9999999"))
    assert tle.line1[18:32] == "26001.00000000"


def test_single_json_record_and_a_byte_order_mark_are_accepted(tmp_path):
    import json

    path = tmp_path / "one.json"
    path.write_text("\ufeff" + json.dumps(_record()), encoding="utf-8")
    assert [t.name for t in load_elements(path)] == ["STAR-01-01"]


def test_parsers_name_the_source_in_errors():
    for parse, text in ((parse_omm_json, "[]"), (parse_omm_xml, "<ndm></ndm>")):
        with pytest.raises(TLEError, match=r"^s\.x: no OMM records found$"):
            parse(text, "s.x")
    with pytest.raises(TLEError, match=r"^s\.csv line 1: OMM CSV header lacks"):
        parse_omm_csv("OBJECT_NAME,EPOCH\nX,2025-01-01T00:00:00\n", "s.csv")
    assert omm_xml([]).endswith("</ndm>\n")


def test_scenario_constellation_file_may_be_omm_and_its_age_is_checked(tmp_path):
    import yaml

    from envs.orbits.tle import TLEEpochWarning
    from envs.scenario import PRESET_DIR, load_scenario
    from envs.sim.world import scenario_tles

    write_omm(tmp_path / "sats.csv", omm_records(load_tles(STAR_TLE)), "csv")
    data = yaml.safe_load((PRESET_DIR / "toy.yaml").read_text())
    data["constellation"] = {"tle_file": "sats.csv", "tle_class": "inference"}
    path = tmp_path / "omm.yaml"
    path.write_text(yaml.safe_dump(data))
    scenario = load_scenario(path, {"episode.epoch": "2025-06-01T00:00:00Z"})
    tles, classes = scenario_tles(scenario)
    assert [_elements(t) for t in tles] == [_elements(t) for t in load_tles(STAR_TLE)]
    assert classes == ["inference"] * 12
    with pytest.warns(TLEEpochWarning, match="sats.csv: TLE 'STAR-01-01'.*20.0 days before"):
        load_scenario(path, {"episode.epoch": "2025-06-21T00:00:00Z"})


@settings(max_examples=300, deadline=None)
@given(st.integers(1, OMM_MAX_CATNR))
def test_any_valid_catalogue_number_round_trips_from_omm_through_the_tle(catnr):
    tle = omm_to_tle(_record(NORAD_CAT_ID=catnr))
    assert tle.catnr == catnr and tle.line1[2] not in "IO"
    assert Satrec.twoline2rv(tle.line1, tle.line2).satnum == catnr


@pytest.mark.parametrize("catnr", [180000, 189999, 230000, 239999])
def test_catalogue_numbers_where_alpha5_skips_i_and_o_convert(catnr):
    assert_field = {180000: "J0000", 189999: "J9999", 230000: "P0000", 239999: "P9999"}[catnr]
    assert omm_to_tle(_record(NORAD_CAT_ID=catnr)).line2[2:7] == assert_field
