"""Tests for envs.ground: station records, network files, and Earth-fixed geometry."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from skyfield.api import load, wgs84
from skyfield.toposlib import ITRSPosition
from skyfield.units import Distance

from envs.errors import ConfigError
from envs.ground import (
    Station,
    load_networks,
    load_stations,
    station_arrays,
    stations_ecef_km,
    stations_up,
)

GROUND_DIR = Path(__file__).resolve().parents[2] / "configs" / "ground_stations"
SHIPPED = {"ksat": 36, "aws": 12, "china": 6}  # china: at least 6
# The shared GeoJSON spells Tsukuba "Tuskuba"; the YAML corrects it.
GEOJSON_ALIASES = {"Tsukuba": "Tuskuba"}


def _shipped(network: str) -> Path:
    return GROUND_DIR / f"{network}.yaml"


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_stations(path)
    message = str(info.value)
    assert "\n" not in message, "error messages must be one line"
    assert path.name in message, "error messages must name the file"
    return message


# --- shipped network files -------------------------------------------------------------


@pytest.mark.parametrize("network", sorted(SHIPPED))
def test_shipped_network_file_loads_with_expected_station_count(network: str) -> None:
    stations = load_stations(_shipped(network))
    if network == "china":
        assert len(stations) >= SHIPPED[network]
    else:
        assert len(stations) == SHIPPED[network]
    assert {s.network for s in stations} == {network}


@pytest.mark.parametrize("network", sorted(SHIPPED))
def test_shipped_network_file_cites_its_source(network: str) -> None:
    path = _shipped(network)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data["source"], str) and len(data["source"]) > 20
    assert path.read_text(encoding="utf-8").startswith("#"), "header comment with the source"


def test_shipped_station_names_are_unique_across_all_networks() -> None:
    stations = load_networks([_shipped(n) for n in sorted(SHIPPED)])
    names = [s.name for s in stations]
    assert len(names) == len(set(names))
    assert len(stations) >= sum(SHIPPED.values())


def test_shipped_coordinates_are_in_range() -> None:
    stations = load_networks([_shipped(n) for n in sorted(SHIPPED)])
    lat = np.array([s.lat_deg for s in stations])
    lon = np.array([s.lon_deg for s in stations])
    alt = np.array([s.alt_m for s in stations])
    assert np.all((lat >= -90) & (lat <= 90))
    assert np.all((lon > -180) & (lon <= 180))
    assert np.all((alt >= -500) & (alt <= 9000))
    # Null Island (0, 0) is the classic placeholder of a missing coordinate.
    assert not np.any((np.abs(lat) < 0.5) & (np.abs(lon) < 0.5))


@pytest.mark.parametrize(
    ("name", "lat_deg", "lon_deg"),
    [("KSAT Svalbard", 78.23, 15.41), ("KSAT Troll", -72.0, 2.53)],
)
def test_ksat_polar_sites_are_at_their_published_positions(
    name: str, lat_deg: float, lon_deg: float
) -> None:
    by_name = {s.name: s for s in load_stations(_shipped("ksat"))}
    assert by_name[name].lat_deg == pytest.approx(lat_deg, abs=0.05)
    assert by_name[name].lon_deg == pytest.approx(lon_deg, abs=0.05)


def test_china_network_has_the_remote_sensing_and_deep_space_sites() -> None:
    names = " ".join(s.name for s in load_stations(_shipped("china")))
    for site in ("Miyun", "Kashi", "Sanya", "Kunming", "Jiamusi", "Chengdu"):
        assert site in names


@pytest.mark.parametrize(("network", "prefix"), [("ksat", "KSAT "), ("aws", "AWS ")])
def test_shipped_sites_agree_with_shared_geojson(
    shared_data: Path, network: str, prefix: str
) -> None:
    geojson_path = shared_data / "ground_stations" / f"{network}.json"
    if not geojson_path.is_file():
        pytest.skip(f"shared GeoJSON missing: {geojson_path}")
    features = json.loads(geojson_path.read_text(encoding="utf-8"))["features"]
    expected = {}
    for feature in features:
        lon, lat = feature["geometry"]["coordinates"][:2]  # GeoJSON order: [lon, lat]
        expected[feature["properties"]["name"]] = (lat, lon)
    stations = load_stations(_shipped(network))
    assert len(stations) == len(expected)
    for station in stations:
        assert station.name.startswith(prefix)
        short = station.name.removeprefix(prefix)
        lat, lon = expected[GEOJSON_ALIASES.get(short, short)]
        assert station.lat_deg == pytest.approx(lat, abs=0.01), station.name
        assert station.lon_deg == pytest.approx(lon, abs=0.01), station.name


# --- loading rules -----------------------------------------------------------------------

GOOD = "{name: A, lat_deg: 10.0, lon_deg: 20.0, alt_m: 0}"


def test_network_defaults_to_file_stem_and_can_be_overridden(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "stations:\n"
        f"  - {GOOD}\n"
        "  - {name: B, lat_deg: 1, lon_deg: 2, alt_m: 3, network: leased}\n",
        name="mynet.yaml",
    )
    assert [s.network for s in load_stations(path)] == ["mynet", "leased"]
    path.write_text(f"network: own\nstations: [{GOOD}]\n", encoding="utf-8")
    assert [s.network for s in load_stations(path)] == ["own"]


def test_optional_station_keys_are_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "source: test\nstations:\n  - {name: A, lat_deg: 1, lon_deg: 2, alt_m: 3,"
        " min_elevation_deg: 5, uplink_bps: 1.0e+5, downlink_bps: 400000000}\n",
    )
    (station,) = load_stations(path)
    assert station == Station("A", 1.0, 2.0, 3.0, 5.0, "bad", 1e5, 4e8)
    assert isinstance(station.lat_deg, float)


@pytest.mark.parametrize(
    ("lon_in", "lon_out"), [(200.0, -160.0), (359.5, -0.5), (180.0, 180.0), (-180.0, 180.0)]
)
def test_longitude_is_normalised_to_half_open_range(lon_in: float, lon_out: float) -> None:
    assert Station("A", 0.0, lon_in, 0.0).lon_deg == pytest.approx(lon_out)


def test_station_is_frozen() -> None:
    station = Station("A", 0.0, 0.0, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        station.lat_deg = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param("network: x\n", ["stations: required key missing"], id="no-stations"),
        pytest.param("stations: []\n", ["stations: must be a non-empty list", "[]"], id="empty"),
        pytest.param("stations: 3\n", ["stations: must be a non-empty list", "3"], id="scalar"),
        pytest.param("- 1\n- 2\n", ["top level must be a mapping", "[1, 2]"], id="top-list"),
        pytest.param("", ["top level must be a mapping", "None"], id="empty-file"),
        pytest.param(f"stations: [{GOOD}]\nstation: []\n", ["station: unknown key"], id="top-key"),
        pytest.param(
            f"stations: [{GOOD}]\nnetwork: 7\n",
            ["network: must be a non-empty string", "7"],
            id="network-int",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: 2, alt_m: 0, elevation: 5}]\n",
            ["stations[0].elevation: unknown key"],
            id="station-key",
        ),
        pytest.param("stations: [7]\n", ["stations[0]: must be a mapping", "7"], id="not-map"),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, alt_m: 0}]\n",
            ["stations[0].lon_deg: required key missing"],
            id="missing-lon",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: '12.5', lon_deg: 2, alt_m: 0}]\n",
            ["stations[0].lat_deg: must be a number", "'12.5'"],
            id="string-lat",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: true, alt_m: 0}]\n",
            ["stations[0].lon_deg: must be a number", "True"],
            id="bool-lon",
        ),
        pytest.param(
            f"stations:\n  - {GOOD}\n  - {{name: B, lat_deg: 95.0, lon_deg: 2, alt_m: 0}}\n",
            ["stations[1].lat_deg: must be in [-90, 90]", "95.0"],
            id="lat-95",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: 400, alt_m: 0}]\n",
            ["stations[0].lon_deg: must be in [-180, 360)", "400"],
            id="lon-400",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: 2, alt_m: 12000}]\n",
            ["stations[0].alt_m: must be in [-500, 9000]", "12000"],
            id="alt",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: 2, alt_m: 0, min_elevation_deg: 90}]\n",
            ["stations[0].min_elevation_deg: must be in [0, 90)", "90"],
            id="mask-90",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: 2, alt_m: 0, downlink_bps: -1.0e+6}]\n",
            ["stations[0].downlink_bps: must be finite and > 0", "-1000000.0"],
            id="neg-rate",
        ),
        pytest.param(
            "stations: [{name: A, lat_deg: 1, lon_deg: 2, alt_m: 0, uplink_bps: .inf}]\n",
            ["stations[0].uplink_bps: must be finite and > 0", "inf"],
            id="inf-rate",
        ),
        pytest.param(
            "stations: [{name: '', lat_deg: 1, lon_deg: 2, alt_m: 0}]\n",
            ["stations[0].name: must be a non-empty string", "''"],
            id="empty-name",
        ),
        pytest.param(
            f"stations:\n  - {GOOD}\n  - {GOOD}\n",
            ["stations[1].name: duplicate station name 'A'", "stations[0]"],
            id="dup-name",
        ),
    ],
)
def test_invalid_file_raises_config_error_naming_file_field_and_value(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    message = _error(_write(tmp_path, text))
    for fragment in fragments:
        assert fragment in message


def test_exponent_read_as_text_by_yaml_gets_a_hint(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads 1e8 without a dot and a signed exponent as the string '1e8'.
    path = _write(
        tmp_path, "stations: [{name: A, lat_deg: 1, lon_deg: 2, alt_m: 0, downlink_bps: 1e8}]\n"
    )
    message = _error(path)
    assert "stations[0].downlink_bps: must be a number, got '1e8'" in message
    assert "write 1.0e+8" in message


def test_malformed_yaml_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, f"source: x\nstations:\n  - {GOOD}\n  - {{name: B, lat_deg: [\n")
    message = _error(path)
    assert "malformed YAML" in message
    assert "line 5" in message


def test_missing_file_raises_config_error(tmp_path: Path) -> None:
    message = _error(tmp_path / "nope.yaml")
    assert "file not found" in message


def test_duplicate_name_across_files_names_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path, f"stations: [{GOOD}]\n", name="first.yaml")
    second = _write(
        tmp_path,
        "stations: [{name: Z, lat_deg: 0, lon_deg: 1, alt_m: 0}, " + GOOD + "]\n",
        name="second.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_networks([first, second])
    message = str(info.value)
    assert "second.yaml: stations[1].name" in message
    assert "'A'" in message and "first.yaml" in message


def test_load_networks_concatenates_in_order(tmp_path: Path) -> None:
    first = _write(tmp_path, f"stations: [{GOOD}]\n", name="first.yaml")
    second = _write(
        tmp_path, "stations: [{name: B, lat_deg: 0, lon_deg: 1, alt_m: 0}]\n", name="second.yaml"
    )
    stations = load_networks([second, first])
    assert [(s.name, s.network) for s in stations] == [("B", "second"), ("A", "first")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat_deg", float("nan")),
        ("lat_deg", True),
        ("alt_m", "0"),
        ("min_elevation_deg", -1.0),
        ("uplink_bps", 0.0),
        ("downlink_bps", float("nan")),
        ("name", " "),
        ("network", None),
    ],
)
def test_station_rejects_bad_field_naming_it(field: str, value: object) -> None:
    fields = {"name": "A", "lat_deg": 0.0, "lon_deg": 0.0, "alt_m": 0.0, field: value}
    with pytest.raises(ConfigError, match=rf"^{field}: .*got {repr(value)[:3]}"):
        Station(**fields)  # type: ignore[arg-type]


# --- geometry ------------------------------------------------------------------------------

GEOMETRY_SITES = [
    Station("Svalbard", 78.23, 15.41, 500.0),
    Station("Troll", -72.0, 2.53, 1270.0),
    Station("Kunming", 25.0273, 102.7959, 1974.0),
    Station("Hawaii", 21.32, -157.84, 0.0),
    Station("Dead Sea", 31.5, 35.5, -430.0),
    Station("Pole", 90.0, 0.0, 0.0),
]


def test_ecef_positions_match_skyfield_wgs84_to_a_millimetre() -> None:
    ecef = stations_ecef_km(GEOMETRY_SITES)
    assert ecef.shape == (len(GEOMETRY_SITES), 3)
    for row, s in zip(ecef, GEOMETRY_SITES, strict=True):
        expected = wgs84.latlon(s.lat_deg, s.lon_deg, elevation_m=s.alt_m).itrs_xyz.km
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-6)


def test_up_vector_is_the_ellipsoid_normal() -> None:
    up = stations_up(GEOMETRY_SITES)
    np.testing.assert_allclose(np.linalg.norm(up, axis=1), 1.0, atol=1e-15)
    # The gradient of x^2/a^2 + y^2/a^2 + z^2/b^2 at the surface point is the normal.
    a, f = 6378.137, 1 / 298.257223563
    b = a * (1 - f)
    on_surface = [dataclasses.replace(s, alt_m=0.0) for s in GEOMETRY_SITES]
    p = stations_ecef_km(on_surface)
    grad = p / np.array([a**2, a**2, b**2])
    np.testing.assert_allclose(up, grad / np.linalg.norm(grad, axis=1, keepdims=True), atol=1e-12)


def test_elevation_from_up_vector_matches_skyfield_altitude() -> None:
    ts = load.timescale(builtin=True)
    t = ts.tt_jd(2461000.5)
    arrays = station_arrays(GEOMETRY_SITES)
    rng = np.random.default_rng(7)
    directions = rng.normal(size=(20, 3))
    targets_km = 7000.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    for i, s in enumerate(GEOMETRY_SITES):
        topos = wgs84.latlon(s.lat_deg, s.lon_deg, elevation_m=s.alt_m)
        for target in targets_km:
            rel = target - arrays.ecef_km[i]
            ours = math.degrees(math.asin(rel @ arrays.up[i] / np.linalg.norm(rel)))
            alt, _, distance = (ITRSPosition(Distance(km=target)) - topos).at(t).altaz()
            assert ours == pytest.approx(alt.degrees, abs=1e-6)
            assert np.linalg.norm(rel) == pytest.approx(distance.km, abs=1e-6)


def test_station_arrays_batch_fields_and_are_read_only() -> None:
    stations = [
        Station("A", 0.0, 0.0, 0.0, 5.0, "ksat", 1e6, 2e8),
        Station("B", 10.0, 20.0, 0.0, 10.0, "aws"),
        Station("C", -10.0, 30.0, 0.0, 15.0, "ksat"),
    ]
    arrays = station_arrays(stations)
    assert arrays.networks == ("ksat", "aws")
    assert arrays.network_index.tolist() == [0, 1, 0]
    assert arrays.network_index.dtype.kind == "i"
    assert arrays.names == ("A", "B", "C")
    np.testing.assert_allclose(arrays.min_elevation_rad, np.radians([5.0, 10.0, 15.0]))
    np.testing.assert_allclose(arrays.uplink_bps, [1e6, 2e6, 2e6])
    np.testing.assert_allclose(arrays.downlink_bps, [2e8, 1e8, 1e8])
    np.testing.assert_allclose(arrays.ecef_km, stations_ecef_km(stations))
    np.testing.assert_allclose(arrays.up, stations_up(stations))
    with pytest.raises(ValueError, match="read-only"):
        arrays.ecef_km[0, 0] = 0.0


def test_empty_station_list_gives_empty_arrays() -> None:
    arrays = station_arrays([])
    assert arrays.ecef_km.shape == (0, 3)
    assert arrays.up.shape == (0, 3)
    assert arrays.network_index.shape == (0,)
    assert arrays.networks == ()
