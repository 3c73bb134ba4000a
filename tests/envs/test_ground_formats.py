"""Tests for envs.ground_formats: GeoJSON and CSV station lists read like the YAML ones."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from envs.errors import ConfigError
from envs.ground import STATION_KEYS, Station, load_networks, load_stations
from envs.ground_formats import load_csv_stations, load_geojson_stations, station_file_format
from envs.scenario import PRESET_DIR, load_scenario

REPO = Path(__file__).resolve().parents[2]
GROUND = REPO / "configs" / "ground_stations"
# The YAML files prefix the operator; the shared GeoJSON spells Tsukuba "Tuskuba".
PREFIX = {"aws": "AWS ", "ksat": "KSAT "}
ALIASES = {"Tuskuba": "Tsukuba"}


def _feature(name: str, coordinates: list, **properties) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coordinates},
        "properties": {"name": name, **properties},
    }


def _geojson(path: Path, *features: dict) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def _csv(path: Path, stations: list[Station], columns=STATION_KEYS) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([getattr(s, c) for c in columns] for s in stations)
    return path


@pytest.mark.parametrize("network", ["aws", "ksat"])
def test_shared_geojson_gives_the_stations_of_the_shipped_yaml(shared_data, network):
    geojson = shared_data / "ground_stations" / f"{network}.json"
    if not geojson.is_file():
        pytest.skip(f"shared GeoJSON missing: {geojson}")
    got = load_stations(geojson)
    want = load_stations(GROUND / f"{network}.yaml")
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert PREFIX[network] + ALIASES.get(g.name, g.name) == w.name
        assert g.lat_deg == pytest.approx(w.lat_deg, abs=1e-6), w.name
        assert g.lon_deg == pytest.approx(w.lon_deg, abs=1e-6), w.name
        assert (g.alt_m, g.min_elevation_deg, g.network, g.uplink_bps, g.downlink_bps) == (
            w.alt_m, w.min_elevation_deg, w.network, w.uplink_bps, w.downlink_bps
        )  # fmt: skip


def test_geojson_height_and_matching_properties_are_used(tmp_path):
    path = _geojson(
        tmp_path / "sites.geojson",
        _feature("Troll", [2.53, -72.0, 1270], min_elevation_deg=5, uplink_bps=1e6,
                 downlink_bps=4e8, provider="KSAT", frequency_bands=["S", "X"]),
        _feature("Leased", [200.0, 10.0], network="partner", alt_m=12),
    )  # fmt: skip
    troll, leased = load_stations(path)
    assert troll == Station("Troll", -72.0, 2.53, 1270.0, 5.0, "sites", 1e6, 4e8)
    assert leased == Station("Leased", 10.0, -160.0, 12.0, network="partner")


def test_geojson_height_may_repeat_in_properties_when_it_agrees(tmp_path):
    path = _geojson(tmp_path / "s.json", _feature("A", [0, 0, 5], alt_m=5))
    assert load_stations(path)[0].alt_m == 5.0


def test_csv_reads_every_station_field_and_defaults_empty_cells(tmp_path):
    china = load_stations(GROUND / "china.yaml")
    assert load_stations(_csv(tmp_path / "china.csv", china)) == china
    path = tmp_path / "own.csv"
    path.write_text(
        "# sites we lease\n"
        "name , lat_deg,lon_deg,alt_m,network\n"
        "\n"
        "A,10,20,,\n"
        "B,-10.5,200,3,partner\n"
    )
    assert load_stations(path) == [
        Station("A", 10.0, 20.0, 0.0, network="own"),
        Station("B", -10.5, -160.0, 3.0, network="partner"),
    ]


def test_csv_needs_only_name_and_position(tmp_path):
    ksat = load_stations(GROUND / "ksat.yaml")
    path = _csv(tmp_path / "ksat.csv", ksat, columns=("name", "lat_deg", "lon_deg"))
    assert load_stations(path) == ksat


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("s.txt", '{"type": "FeatureCollection", "features": []}', "geojson"),
        ("s", "name,lat_deg,lon_deg\nA,1,2\n", "csv"),
        ("s.dat", "stations:\n  - {name: A, lat_deg: 1, lon_deg: 2, alt_m: 0}\n", "yaml"),
        ("s.json", '{"stations": [{"name": "A", "lat_deg": 1, "lon_deg": 2, "alt_m": 0}]}',
         "yaml"),
        ("s.yaml", '{"type": "FeatureCollection"}', "yaml"),
        ("s.csv", "anything", "csv"),
        ("s.kml", "<kml></kml>", None),
        ("s", "just words", None),
    ],
)  # fmt: skip
def test_station_file_format_comes_from_content_then_extension(name, text, kind):
    assert station_file_format(text, Path(name).suffix) == kind


def test_yaml_written_as_json_still_loads(tmp_path):
    path = tmp_path / "own.json"
    path.write_text('{"stations": [{"name": "A", "lat_deg": 1, "lon_deg": 2, "alt_m": 0}]}')
    assert load_stations(path) == [Station("A", 1.0, 2.0, 0.0, network="own")]


def test_unknown_station_format_lists_the_accepted_ones(tmp_path):
    path = tmp_path / "sites.kml"
    path.write_text("<kml><Placemark/></kml>")
    with pytest.raises(ConfigError) as info:
        load_stations(path)
    text = str(info.value)
    assert text.startswith(f"{path}: unknown station file format; accepted: YAML")
    assert "GeoJSON FeatureCollection of Points" in text and "CSV with columns name," in text


def test_networks_mix_yaml_geojson_and_csv(tmp_path):
    geo = _geojson(tmp_path / "geo.json", _feature("G", [10, 20]))
    table = _csv(tmp_path / "table.csv", [Station("C", 1, 2, 0)], ("name", "lat_deg", "lon_deg"))
    stations = load_networks([GROUND / "china.yaml", geo, table])
    assert [s.network for s in stations[-2:]] == ["geo", "table"]
    assert stations[0].network == "china"


def test_scenario_station_files_accept_geojson_and_csv(tmp_path):
    data = yaml.safe_load((PRESET_DIR / "toy.yaml").read_text())
    _geojson(tmp_path / "geo.geojson", _feature("G1", [116.0, 40.0]), _feature("G2", [0, 51.5]))
    _csv(tmp_path / "table.csv", [Station("C1", -33.9, 18.4, 0)], ("name", "lat_deg", "lon_deg"))
    data["ground"].update(station_files=["geo.geojson", "table.csv"], networks=None,
                          uplink_networks=None, downlink_networks=None)  # fmt: skip
    data["workload"]["origins"] = ["G1", "C1"]
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(data))
    scenario = load_scenario(path)
    stations = load_networks(scenario.ground.station_files)
    assert [(s.name, s.network) for s in stations] == [
        ("G1", "geo"), ("G2", "geo"), ("C1", "table")
    ]  # fmt: skip


def test_loaders_take_text_already_read(tmp_path):
    path = tmp_path / "never_written.csv"
    assert load_csv_stations(path, "name,lat_deg,lon_deg\nA,1,2\n")[0].name == "A"
    text = json.dumps({"type": "FeatureCollection", "features": [_feature("B", [1, 2])]})
    assert load_geojson_stations(tmp_path / "x.json", text)[0].lat_deg == 2.0


def test_a_name_in_two_files_is_refused_naming_the_feature_or_row(tmp_path):
    geo = _geojson(tmp_path / "geo.json", _feature("A", [10, 20]), _feature("B", [1, 2]))
    table = _csv(tmp_path / "t.csv", [Station("C", 1, 2, 0), Station("B", 3, 4, 0)])
    with pytest.raises(ConfigError) as info:
        load_networks([table, geo])
    assert str(info.value) == (
        f"{geo}: features[1].properties.name: station name 'B' is already defined in {table}"
    )
    with pytest.raises(ConfigError) as info:
        load_networks([geo, table])
    assert str(info.value).startswith(f"{table}: row 2 name: station name 'B' is already")
