"""Ground-station files besides YAML: GeoJSON site lists and CSV tables.

`envs.ground.load_stations` hands every file that is not YAML to `load_other_stations`, so
``--stations`` and ``ground.station_files`` accept all three formats:

- **GeoJSON**: a FeatureCollection of Point features. ``geometry.coordinates`` is
  ``[lon, lat]`` or ``[lon, lat, alt_m]`` (GeoJSON order; a missing height is 0 m, the
  ellipsoid); the name comes from ``properties.name``; properties named like the YAML fields
  (``alt_m``, ``min_elevation_deg``, ``network``, ``uplink_bps``, ``downlink_bps``) are used,
  others (``provider``, ``frequency_bands``, ...) are ignored. The network is the ``network``
  property, else the file stem.
- **CSV**: a header with at least ``name,lat_deg,lon_deg`` and optionally ``alt_m``
  (default 0), ``min_elevation_deg``, ``network`` (default: the file stem), ``uplink_bps``
  and ``downlink_bps``; an empty cell takes the default, lines starting with ``#`` are
  comments.

The format comes from the content (a JSON document, a CSV header naming ``lat_deg``) and
then from the extension; anything else is a one-line error listing the accepted formats.
Errors name the file and the feature or line, the field and the value, like the YAML ones.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envs.errors import ConfigError, show_value
from envs.station import STATION_KEYS, Station
from envs.yamlio import DuplicateKeyError, parse_yaml

__all__ = [
    "CSV_REQUIRED_COLUMNS",
    "STATION_FORMATS",
    "load_csv_stations",
    "load_geojson_stations",
    "load_other_stations",
    "name_field",
    "read_station_file",
    "station_file_format",
]

#: Format name → how users recognise it, as listed in the unknown-format error.
STATION_FORMATS: dict[str, str] = {
    "yaml": "YAML (.yaml/.yml, configs/ground_stations format)",
    "geojson": "GeoJSON FeatureCollection of Points (.geojson/.json)",
    "csv": "CSV with columns name,lat_deg,lon_deg[,alt_m,...] (.csv)",
}
CSV_REQUIRED_COLUMNS: tuple[str, ...] = ("name", "lat_deg", "lon_deg")
_BY_EXTENSION = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
}
# GeoJSON properties used as Station fields (lat/lon come from the geometry).
_PROPERTIES = ("alt_m", "min_elevation_deg", "network", "uplink_bps", "downlink_bps")
_NUMERIC = ("lat_deg", "lon_deg", "alt_m", "min_elevation_deg", "uplink_bps", "downlink_bps")


def _read_text(path: Path) -> str | None:
    """The file as text (``None`` if it is not UTF-8 text); I/O errors are one line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text.removeprefix("\ufeff")


def station_file_format(text: str | None, suffix: str = "") -> str | None:
    r"""The format of a station file (a key of `STATION_FORMATS`), or ``None`` if unknown.

    A ``.yaml``/``.yml`` file is YAML whatever it holds (its errors come from the YAML
    reader); otherwise JSON content is GeoJSON (unless it is a ``stations`` mapping, which is
    the YAML schema written as JSON), a first line naming ``lat_deg`` between commas is CSV,
    then the extension decides, and text that YAML reads as a mapping is YAML.

    Args:
        text: The file's contents (``None``: not text).
        suffix: The file extension.

    >>> station_file_format('{"type": "FeatureCollection", "features": []}')
    'geojson'
    >>> station_file_format("name,lat_deg,lon_deg\nA,1,2\n")
    'csv'
    >>> station_file_format("stations: []", ".txt"), station_file_format("<kml/>", ".kml")
    ('yaml', None)
    """
    by_extension = _BY_EXTENSION.get(suffix.lower())
    if by_extension == "yaml" or text is None:
        return by_extension
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return by_extension or "geojson"
        is_yaml_schema = isinstance(data, Mapping) and "stations" in data and "type" not in data
        return "yaml" if is_yaml_schema else "geojson"
    if "," in first and "lat_deg" in first and ":" not in first:
        return "csv"
    if by_extension is not None:
        return by_extension
    try:
        data = parse_yaml(text)
    except DuplicateKeyError:
        return "yaml"  # a YAML mapping: reading it reports the repeated key
    except ConfigError:
        return None
    return "yaml" if isinstance(data, Mapping) else None


def read_station_file(path: Path) -> tuple[str, str | None]:
    """A station file's format (a key of `STATION_FORMATS`) and text, reading it once.

    The text is ``None`` when the file is not UTF-8 text.

    Raises:
        ConfigError: The file is missing or of an unknown format (the message lists
            `STATION_FORMATS`).
    """
    text = _read_text(path)
    kind = station_file_format(text, path.suffix)
    if kind is None:
        raise ConfigError(
            f"{path}: unknown station file format; accepted: " + ", ".join(STATION_FORMATS.values())
        )
    return kind, text


def load_other_stations(
    path: Path, read: tuple[str, str | None] | None = None
) -> list[Station] | None:
    """Stations of a GeoJSON or CSV file; ``None`` for a YAML file (the caller reads it).

    ``read`` is what `read_station_file` returned for ``path`` (default: read it now).

    Raises:
        ConfigError: The file is missing, of an unknown format (the message lists
            `STATION_FORMATS`), or malformed (see `load_geojson_stations`,
            `load_csv_stations`).
    """
    kind, text = read_station_file(path) if read is None else read
    if kind == "yaml":
        return None
    if text is None:
        raise ConfigError(f"{path}: not UTF-8 text; expected {STATION_FORMATS[kind]}")
    return (load_geojson_stations if kind == "geojson" else load_csv_stations)(path, text)


def name_field(path: Path, index: int) -> str:
    """Where the name of station ``index`` of a station file is, for error messages.

    >>> name_field(Path("sites.csv"), 2), name_field(Path("aws.yaml"), 2)
    ('row 3 name', 'stations[2].name')
    """
    kind = station_file_format(_read_text(path) if path.is_file() else None, path.suffix)
    if kind == "geojson":
        return f"features[{index}].properties.name"
    return f"row {index + 1} name" if kind == "csv" else f"stations[{index}].name"


def _station(where: str, fields: dict[str, Any], locate: Mapping[str, str]) -> Station:
    """A `Station` from ``fields``; a field error is re-raised naming ``where`` + its place."""
    try:
        return Station(**fields)
    except ConfigError as exc:
        field, _, problem = str(exc).partition(": ")
        problem = problem.split(" (YAML 1.1")[0]  # ground's hint for YAML files only
        raise ConfigError(f"{where}{locate.get(field, field)}: {problem}") from None


def _unique(stations: list[Station], places: list[str], name_at: str, labels: list[str]) -> None:
    """Refuse a repeated name: ``<places[i]><name_at>: duplicate ... (first at <labels[j]>)``."""
    first: dict[str, int] = {}
    for i, station in enumerate(stations):
        if station.name in first:
            raise ConfigError(
                f"{places[i]}{name_at}: duplicate station name {station.name!r} "
                f"(first at {labels[first[station.name]]})"
            )
        first[station.name] = i


def load_geojson_stations(path: Path, text: str | None = None) -> list[Station]:
    """Stations of a GeoJSON FeatureCollection of Points (see the module description).

    Args:
        path: The file (its stem is the default network).
        text: Its contents, if already read.

    Raises:
        ConfigError: Naming the file, the feature and the field, e.g.
            ``ksat.json: features[3].geometry.coordinates[1] (lat_deg): must be in
            [-90, 90], got 95``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp) / "polar.geojson"
        ...     _ = path.write_text('{"type": "FeatureCollection", "features": [{"type": '
        ...         '"Feature", "geometry": {"type": "Point", "coordinates": [2.53, -72, 1270]},'
        ...         ' "properties": {"name": "Troll", "min_elevation_deg": 5}}]}')
        ...     [(s.name, s.network, s.lat_deg, s.lon_deg, s.alt_m, s.min_elevation_deg)
        ...      for s in load_geojson_stations(path)]
        [('Troll', 'polar', -72.0, 2.53, 1270.0, 5.0)]
    """
    path = Path(path)
    text = _read_text(path) if text is None else text
    try:
        data = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: line {exc.lineno}, column {exc.colno}: malformed JSON: {exc.msg}"
        ) from None
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        got = data.get("type") if isinstance(data, Mapping) else data
        raise ConfigError(
            f"{path}: type: expected a GeoJSON 'FeatureCollection' of Point features, "
            f"got {show_value(got)}"
        )
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise ConfigError(f"{path}: features: must be a non-empty list, got {show_value(features)}")
    stations, places = [], []
    for i, feature in enumerate(features):
        where = f"{path}: features[{i}]"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise ConfigError(f"{where}: must be a GeoJSON Feature, got {show_value(feature)}")
        geometry = feature.get("geometry")
        if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
            got = geometry.get("type") if isinstance(geometry, Mapping) else geometry
            raise ConfigError(f"{where}.geometry: must be a Point, got {show_value(got)}")
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) not in (2, 3):
            raise ConfigError(
                f"{where}.geometry.coordinates: must be [lon, lat] or [lon, lat, alt_m], "
                f"got {show_value(coords)}"
            )
        props = feature.get("properties")
        if not isinstance(props, Mapping):
            raise ConfigError(f"{where}.properties: must be a mapping, got {show_value(props)}")
        if "name" not in props:
            raise ConfigError(f"{where}.properties.name: required key missing")
        fields: dict[str, Any] = {"network": path.stem, "alt_m": 0.0}
        fields.update((k, props[k]) for k in _PROPERTIES if k in props)
        fields.update(name=props["name"], lon_deg=coords[0], lat_deg=coords[1])
        c = ".geometry.coordinates"
        locate = {"lon_deg": f"{c}[0] (lon_deg)", "lat_deg": f"{c}[1] (lat_deg)"}
        locate.update((k, f".properties.{k}") for k in ("name", *_PROPERTIES))
        if len(coords) == 3:
            locate["alt_m"] = f"{c}[2] (alt_m)"
            if "alt_m" in props and props["alt_m"] != coords[2]:
                raise ConfigError(
                    f"{where}.properties.alt_m: {show_value(props['alt_m'])} contradicts "
                    f"geometry.coordinates[2] {show_value(coords[2])}"
                )
            fields["alt_m"] = coords[2]
        stations.append(_station(where, fields, locate))
        places.append(where)
    _unique(stations, places, ".properties.name", [f"features[{i}]" for i in range(len(places))])
    return stations


def load_csv_stations(path: Path, text: str | None = None) -> list[Station]:
    r"""Stations of a CSV table (see the module description).

    Args:
        path: The file (its stem is the default network).
        text: Its contents, if already read.

    Raises:
        ConfigError: Naming the file, the line, the column and the value, e.g.
            ``sites.csv line 4: lat_deg: must be a number, got 'north'``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp) / "own.csv"
        ...     _ = path.write_text("name,lat_deg,lon_deg,min_elevation_deg\n"
        ...                         "Troll,-72,2.53,5\nSvalbard,78.23,15.41,\n")
        ...     [(s.name, s.network, s.alt_m, s.min_elevation_deg)
        ...      for s in load_csv_stations(path)]
        [('Troll', 'own', 0.0, 5.0), ('Svalbard', 'own', 0.0, 10.0)]
    """
    path = Path(path)
    text = _read_text(path) if text is None else text
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text or "", newline="")), start=1)
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")
    ]
    if not rows:
        raise ConfigError(f"{path}: no header line (expected {','.join(CSV_REQUIRED_COLUMNS)},...)")
    header_line, header = rows[0]
    columns = [cell.strip() for cell in header]
    for column in columns:
        if column not in STATION_KEYS:
            raise ConfigError(
                f"{path} line {header_line}: unknown column {column!r} "
                f"(allowed: {', '.join(STATION_KEYS)})"
            )
        if columns.count(column) > 1:
            raise ConfigError(f"{path} line {header_line}: column {column!r} appears twice")
    missing = [c for c in CSV_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ConfigError(
            f"{path} line {header_line}: missing column(s) {', '.join(missing)} "
            f"(header {show_value(','.join(columns))})"
        )
    if len(rows) == 1:
        raise ConfigError(f"{path}: no stations below the header")
    stations, places, lines = [], [], []
    for number, row in rows[1:]:
        where = f"{path} line {number}: "
        if len(row) != len(columns):
            raise ConfigError(f"{where}{len(row)} cells for a header of {len(columns)}")
        fields: dict[str, Any] = {"network": path.stem, "alt_m": 0.0}
        for column, cell in zip(columns, row, strict=True):
            value = cell.strip()
            if not value:
                if column in CSV_REQUIRED_COLUMNS:
                    raise ConfigError(f"{where}{column}: required value missing")
                continue
            fields[column] = _csv_number(where, column, value) if column in _NUMERIC else value
        stations.append(_station(where, fields, {}))
        places.append(where)
        lines.append(f"line {number}")
    _unique(stations, places, "name", lines)
    return stations


def _csv_number(where: str, column: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{where}{column}: must be a number, got {value!r}") from None
