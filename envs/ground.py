"""Ground stations: typed records, network files, and Earth-fixed geometry.

A ground-station network file (``configs/ground_stations/*.yaml``) is validated once, here,
into :class:`Station` records; :func:`station_arrays` turns them into the numpy batches the
contact-plan code works on. Positions are WGS84 geodetic in the files and Earth-fixed (ITRS)
Cartesian kilometres in the arrays. The :class:`Station` record itself lives in
:mod:`envs.station` (re-exported here); GeoJSON and CSV station lists are read by
:mod:`envs.ground_formats`, which builds stations without importing this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from envs.constants import WGS84_A_KM, WGS84_E2, WGS84_F
from envs.errors import ConfigError, show_value
from envs.ground_formats import load_other_stations, name_field, read_station_file
from envs.station import (
    DEFAULT_DOWNLINK_BPS,
    DEFAULT_MIN_ELEVATION_DEG,
    DEFAULT_UPLINK_BPS,
    REQUIRED_STATION_KEYS,
    STATION_KEYS,
    Station,
)
from envs.yamlio import parse_yaml, read_yaml

__all__ = [
    "DEFAULT_DOWNLINK_BPS",
    "DEFAULT_MIN_ELEVATION_DEG",
    "DEFAULT_UPLINK_BPS",
    "FILE_KEYS",
    "REQUIRED_STATION_KEYS",
    "STATION_KEYS",
    "WGS84_A_KM",
    "WGS84_F",
    "Station",
    "StationArrays",
    "load_networks",
    "load_stations",
    "station_arrays",
    "stations_ecef_km",
    "stations_up",
]

StrPath = str | os.PathLike[str]

# Keys of a network file (only ``stations`` is required).
FILE_KEYS: tuple[str, ...] = ("stations", "network", "source")


def _check_keys(where: str, entry: Mapping[Any, Any], allowed: Sequence[str]) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(f"{where}{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def load_stations(path: StrPath) -> list[Station]:
    """Load and validate one ground-station network file: YAML, GeoJSON or CSV.

    GeoJSON and CSV files are read by :func:`envs.ground_formats.load_other_stations`; a
    YAML file is a mapping with a non-empty ``stations`` list, an optional ``network`` (the
    default network of its stations; default: the file stem) and an optional free-text
    ``source``. Each station is a mapping of :data:`STATION_KEYS` (see :class:`Station`).

    Args:
        path: The YAML file.

    Returns:
        The stations in file order.

    Raises:
        ConfigError: A missing file, malformed YAML (with its line), an unknown or missing key,
            a wrong type or range, or a duplicate name; the message names the file, field path
            and value, e.g. ``china.yaml: stations[2].lat_deg: must be in [-90, 90], got 95.0``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp) / "polar.yaml"
        ...     _ = path.write_text("stations: [{name: Troll, lat_deg: -72, lon_deg: 2.53,"
        ...                         " alt_m: 1270, min_elevation_deg: 5}]")
        ...     [(s.name, s.network, s.lat_deg, s.min_elevation_deg) for s in load_stations(path)]
        [('Troll', 'polar', -72.0, 5.0)]
    """
    path = Path(path)
    read = read_station_file(path)  # the file is read once, whatever its format
    other = load_other_stations(path, read)
    if other is not None:
        return other
    text = read[1]
    data = read_yaml(path) if text is None else parse_yaml(text, str(path))
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: top level must be a mapping with a 'stations' list, got {show_value(data)}"
        )
    _check_keys(f"{path}: ", data, FILE_KEYS)
    if "stations" not in data:
        raise ConfigError(f"{path}: stations: required key missing")
    entries = data["stations"]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{path}: stations: must be a non-empty list of mappings, got {show_value(entries)}"
        )
    network = data.get("network", path.stem)
    for key, value in (("network", network), ("source", data.get("source", "-"))):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: {key}: must be a non-empty string, got {show_value(value)}")

    stations: list[Station] = []
    first_index: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: stations[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a mapping, got {show_value(entry)}")
        _check_keys(f"{where}.", entry, STATION_KEYS)
        for key in REQUIRED_STATION_KEYS:
            if key not in entry:
                raise ConfigError(f"{where}.{key}: required key missing")
        try:
            station = Station(**{"network": network, **entry})
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None
        if station.name in first_index:
            raise ConfigError(
                f"{where}.name: duplicate station name {station.name!r} "
                f"(first at stations[{first_index[station.name]}])"
            )
        first_index[station.name] = i
        stations.append(station)
    return stations


def load_networks(paths: Sequence[StrPath]) -> list[Station]:
    """Load several network files and concatenate their stations, in the given order.

    Args:
        paths: Network files, YAML, GeoJSON or CSV (see :func:`load_stations`).

    Returns:
        All stations, file by file.

    Raises:
        ConfigError: Any error of :func:`load_stations`, or a station name that occurs in two
            files (the message names both).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     for net, lon in (("a", 20), ("b", 200)):
        ...         _ = (Path(tmp) / f"{net}.yaml").write_text(
        ...             f"stations: [{{name: {net}1, lat_deg: 0, lon_deg: {lon}, alt_m: 0}}]")
        ...     stations = load_networks([Path(tmp) / "a.yaml", Path(tmp) / "b.yaml"])
        >>> [(s.name, s.network, s.lon_deg) for s in stations]
        [('a1', 'a', 20.0), ('b1', 'b', -160.0)]
    """
    stations: list[Station] = []
    origin: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        for i, station in enumerate(load_stations(path)):
            if station.name in origin:
                raise ConfigError(
                    f"{path}: {name_field(path, i)}: station name {station.name!r} "
                    f"is already defined in {origin[station.name]}"
                )
            origin[station.name] = path
            stations.append(station)
    return stations


def _column(stations: Sequence[Station], field: str) -> np.ndarray:
    return np.array([getattr(s, field) for s in stations], dtype=float)


def stations_ecef_km(stations: Sequence[Station]) -> np.ndarray:
    """Earth-fixed (ITRS) Cartesian positions of stations on the WGS84 ellipsoid.

    Args:
        stations: M stations.

    Returns:
        Array of shape (M, 3), kilometres.

    Example:
        >>> stations_ecef_km([Station("Null Island", 0, 0, 0)]).round(3).tolist()
        [[6378.137, 0.0, 0.0]]
    """
    lat, lon = np.radians(_column(stations, "lat_deg")), np.radians(_column(stations, "lon_deg"))
    h_km = _column(stations, "alt_m") / 1000.0
    sin_lat = np.sin(lat)
    n_km = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)  # prime-vertical radius
    xy = (n_km + h_km) * np.cos(lat)
    z = (n_km * (1.0 - WGS84_E2) + h_km) * sin_lat
    return np.stack([xy * np.cos(lon), xy * np.sin(lon), z], axis=-1).reshape(-1, 3)


def stations_up(stations: Sequence[Station]) -> np.ndarray:
    """Unit vectors of the local geodetic vertical (the ellipsoid normal) in the ITRS frame.

    The elevation of a point ``p`` seen from station ``i`` is
    ``asin(dot(p - ecef[i], up[i]) / norm(p - ecef[i]))``.

    Args:
        stations: M stations.

    Returns:
        Array of shape (M, 3) of unit vectors.

    Example:
        >>> stations_up([Station("North Pole", 90, 0, 0)]).round(12).tolist()
        [[0.0, 0.0, 1.0]]
    """
    lat, lon = np.radians(_column(stations, "lat_deg")), np.radians(_column(stations, "lon_deg"))
    cos_lat = np.cos(lat)
    up = np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)
    return up.reshape(-1, 3)


class StationArrays(NamedTuple):
    """Stations as read-only numpy arrays; row ``i`` describes station ``i`` of M.

    Attributes:
        ecef_km: (M, 3) Earth-fixed (ITRS) positions, km.
        up: (M, 3) unit vectors of the local geodetic vertical.
        min_elevation_rad: (M,) elevation masks, radians.
        network_index: (M,) integer index into ``networks``.
        networks: Network names, each once, in order of first appearance.
        uplink_bps: (M,) uplink rates, bit/s.
        downlink_bps: (M,) downlink rates, bit/s.
        names: The M station names.
    """

    ecef_km: np.ndarray
    up: np.ndarray
    min_elevation_rad: np.ndarray
    network_index: np.ndarray
    networks: tuple[str, ...]
    uplink_bps: np.ndarray
    downlink_bps: np.ndarray
    names: tuple[str, ...]


def station_arrays(stations: Sequence[Station]) -> StationArrays:
    """Batch stations into read-only arrays for vectorised geometry.

    Args:
        stations: M stations.

    Returns:
        The arrays; ``networks`` lists each network once, in order of first appearance.

    Example:
        >>> arrays = station_arrays([
        ...     Station("A", 0, 0, 0, network="ksat"),
        ...     Station("B", 0, 90, 0, network="aws"),
        ...     Station("C", 0, 180, 0, network="ksat"),
        ... ])
        >>> arrays.networks, arrays.network_index.tolist(), arrays.ecef_km.shape
        (('ksat', 'aws'), [0, 1, 0], (3, 3))
    """
    networks = tuple(dict.fromkeys(s.network for s in stations))
    arrays = StationArrays(
        ecef_km=stations_ecef_km(stations),
        up=stations_up(stations),
        min_elevation_rad=np.radians(_column(stations, "min_elevation_deg")),
        network_index=np.array([networks.index(s.network) for s in stations], dtype=np.intp),
        networks=networks,
        uplink_bps=_column(stations, "uplink_bps"),
        downlink_bps=_column(stations, "downlink_bps"),
        names=tuple(s.name for s in stations),
    )
    for value in arrays:
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return arrays
