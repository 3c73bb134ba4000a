"""CelesTrak OMM (CCSDS Orbit Mean-Elements Message) records as JSON, CSV or XML.

CelesTrak recommends OMM over TLE because catalogue numbers outgrow the TLE's five columns.
Each record is validated here (one-line `TLEError` naming the file, the record by its 1-based
index and ``OBJECT_NAME``, the field and the value, e.g.
``iridium.json record 3 ('IRIDIUM 103'): MEAN_MOTION: required field missing``) and turned
into a `TLE` with the same elements, so the rest of the project (propagation, the contact
plan and its cache) handles OMM and TLE satellites alike. The conversion keeps the TLE's
precision (1e-4 deg angles, 7 eccentricity digits, 1e-8 rev/day, 1e-8 day epoch): OMM
generated from TLEs, as CelesTrak's is, converts back exactly. Catalogue numbers 100000 to
339999 are written in the Alpha-5 form (``A0001`` is 100001); larger ones are refused.

CSV is read with `sgp4.omm.parse_csv` and XML with `sgp4.omm.parse_xml`; JSON is a list of
records (or one record) of CelesTrak's ``FORMAT=json``.
"""

from __future__ import annotations

import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from sgp4 import omm as sgp4_omm

from envs.constants import DAY_S
from envs.errors import TLEError
from envs.orbits.tle import MAX_CATNR, TLE, check_unique_names, format_catnr, tle_checksum

__all__ = [
    "OMM_MAX_CATNR",
    "OMM_REQUIRED_FIELDS",
    "omm_to_tle",
    "parse_omm_csv",
    "parse_omm_json",
    "parse_omm_xml",
]

#: Fields every record needs: the SGP4 mean elements, the epoch, the catalogue number, BSTAR.
OMM_REQUIRED_FIELDS: tuple[str, ...] = (
    "NORAD_CAT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "BSTAR",
)
#: The largest catalogue number a TLE line can hold (Alpha-5 ``Z9999``).
OMM_MAX_CATNR = MAX_CATNR
# Metadata that, when present, must have this value: other frames or theories (e.g. SGP4-XP)
# would be propagated wrongly by SGP4.
_METADATA = {
    "CENTER_NAME": "EARTH",
    "REF_FRAME": "TEME",
    "TIME_SYSTEM": "UTC",
    "MEAN_ELEMENT_THEORY": "SGP4",
}
_EPOCH = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z?", re.ASCII)
_OBJECT_ID = re.compile(r"\d{2}(\d{2})-(\d{3}[A-Z]{0,3})", re.ASCII)
_SHOW = 40


def _show(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def _value(record: Mapping[str, Any], field: str, default: Any = None) -> Any:
    """The field's value; blank text counts as absent (CSV and XML write empty cells)."""
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return value.strip() if isinstance(value, str) else value


def _float(record: Mapping[str, Any], field: str, default: float | None = None) -> float:
    value = _value(record, field)
    if value is None:
        if default is None:
            raise ValueError(f"{field}: required field missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{field}: must be a number, got {_show(value)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{field}: must be a number, got {_show(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{field}: must be finite, got {_show(value)}")
    return number


def _int(record: Mapping[str, Any], field: str, default: int | None = None) -> int:
    number = _float(record, field, None if default is None else float(default))
    if number != int(number):
        raise ValueError(f"{field}: must be an integer, got {_show(_value(record, field))}")
    return int(number)


def _epoch(record: Mapping[str, Any]) -> tuple[datetime, float]:
    """The epoch's whole seconds (UTC) and its fraction of a second."""
    text = _value(record, "EPOCH")
    if text is None:
        raise ValueError("EPOCH: required field missing")
    match = _EPOCH.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"EPOCH: expected YYYY-MM-DDThh:mm:ss[.ffffff] (UTC), got {_show(text)}")
    fraction = match.group(7) or ".0"
    try:
        whole = datetime(*map(int, match.groups()[:6]), tzinfo=timezone.utc)
    except ValueError as exc:
        raise ValueError(f"EPOCH: not a date and time ({exc}), got {_show(text)}") from None
    if not 1957 <= whole.year <= 2056:
        raise ValueError(f"EPOCH: year outside 1957-2056 (what a TLE can hold), got {text!r}")
    return whole, float(fraction)


def _epoch_field(whole: datetime, fraction_s: float) -> str:
    """Columns 19-32 of line 1: two-digit year and day of year to 1e-8 day."""
    start = datetime(whole.year, 1, 1, tzinfo=timezone.utc)
    day = 1.0 + ((whole - start).total_seconds() + fraction_s) / DAY_S
    text = f"{day:012.8f}"
    days_in_year = (datetime(whole.year + 1, 1, 1, tzinfo=timezone.utc) - start).days
    year = whole.year
    if float(text) >= days_in_year + 1:  # rounded up into the next year
        year, text = year + 1, "001.00000000"
    return f"{year % 100:02d}{text}"


def _exponent_field(field: str, value: float, zero: str) -> str:
    """An 8-column ``±NNNNN±E`` field (assumed leading decimal point), e.g. ``-21908-4``."""
    if value == 0.0:
        return f" 00000{zero}"
    exponent = math.floor(math.log10(abs(value))) + 1
    mantissa = round(abs(value) / 10.0**exponent * 1e5)
    if mantissa >= 100000:
        mantissa, exponent = 10000, exponent + 1
    if exponent < -9:
        return f" 00000{zero}"
    if exponent > 9:
        raise ValueError(f"{field}: too large for a TLE (|value| < 1e9), got {value!r}")
    return f"{'-' if value < 0 else ' '}{mantissa:05d}{'-' if exponent < 0 else '+'}{abs(exponent)}"


def _angle(record: Mapping[str, Any], field: str, high: float) -> str:
    value = _float(record, field)
    if not 0.0 <= value <= high:
        shown = _show(_value(record, field))
        raise ValueError(f"{field}: must be in [0, {high:g}] deg, got {shown}")
    rounded = round(value, 4)
    if high == 360.0:
        rounded %= 360.0
    return f"{rounded:8.4f}"


def _catnr_field(catnr: int) -> str:
    if catnr < 100000:
        return f"{catnr:5d}"
    return format_catnr(catnr)  # Alpha-5, shared with the TLE reader and shell_tles


def _with_checksum(line: str) -> str:
    return line + str(tle_checksum(line))


def _lines(record: Mapping[str, Any]) -> tuple[int, str, str]:
    """Catalogue number and the two TLE lines of one record; ValueError names the field."""
    for field, expected in _METADATA.items():
        value = _value(record, field)
        if value is not None and str(value).upper() != expected:
            raise ValueError(f"{field}: must be {expected!r} for SGP4 elements, got {_show(value)}")
    catnr = _int(record, "NORAD_CAT_ID")
    if not 0 < catnr <= OMM_MAX_CATNR:
        raise ValueError(
            f"NORAD_CAT_ID: must be in [1, {OMM_MAX_CATNR}] (the Alpha-5 range a TLE line can "
            f"hold), got {catnr}"
        )
    whole, fraction = _epoch(record)
    mean_motion = _float(record, "MEAN_MOTION")
    if not 0.0 < mean_motion < 100.0:
        raise ValueError(f"MEAN_MOTION: must be in (0, 100) rev/day, got {mean_motion!r}")
    ecc = _float(record, "ECCENTRICITY")
    ecc_digits = round(ecc * 1e7)
    if not (0.0 <= ecc < 1.0 and ecc_digits < 10_000_000):
        shown = _show(_value(record, "ECCENTRICITY"))
        raise ValueError(f"ECCENTRICITY: must be in [0, 1), got {shown}")
    ndot = _float(record, "MEAN_MOTION_DOT", 0.0)
    if not abs(round(ndot, 8)) < 1.0:
        raise ValueError(f"MEAN_MOTION_DOT: must be in (-1, 1) rev/day^2, got {ndot!r}")
    nddot = _exponent_field("MEAN_MOTION_DDOT", _float(record, "MEAN_MOTION_DDOT", 0.0), "+0")
    bstar = _exponent_field("BSTAR", _float(record, "BSTAR"), "+0")
    classification = str(_value(record, "CLASSIFICATION_TYPE", "U"))
    if len(classification) != 1 or not classification.isalpha():
        raise ValueError(f"CLASSIFICATION_TYPE: must be one letter, got {_show(classification)}")
    ephemeris_type = _int(record, "EPHEMERIS_TYPE", 0)
    if not 0 <= ephemeris_type <= 9:
        raise ValueError(f"EPHEMERIS_TYPE: must be a digit, got {ephemeris_type}")
    element_set = _int(record, "ELEMENT_SET_NO", 999) % 10000
    revolutions = _int(record, "REV_AT_EPOCH", 0) % 100000
    object_id = _OBJECT_ID.fullmatch(str(_value(record, "OBJECT_ID", "")))
    designator = "".join(object_id.groups()) if object_id else ""
    sat = _catnr_field(catnr)
    ndot_text = f"{ndot: .8f}".replace("0.", ".", 1)
    line1 = (
        f"1 {sat}{classification.upper()} {designator:8} {_epoch_field(whole, fraction)} "
        f"{ndot_text} {nddot} {bstar} {ephemeris_type} {element_set:4d}"
    )
    line2 = (
        f"2 {sat} {_angle(record, 'INCLINATION', 180.0)} {_angle(record, 'RA_OF_ASC_NODE', 360.0)} "
        f"{ecc_digits:07d} {_angle(record, 'ARG_OF_PERICENTER', 360.0)} "
        f"{_angle(record, 'MEAN_ANOMALY', 360.0)} {mean_motion:11.8f}{revolutions:5d}"
    )
    return catnr, _with_checksum(line1), _with_checksum(line2)


def omm_to_tle(record: Mapping[str, Any], where: str = "<OMM>") -> TLE:
    """Validate one OMM record (field name → value) and return the equivalent `TLE`.

    Values may be numbers or text (JSON has numbers, CSV and XML text). ``OBJECT_NAME`` names
    the satellite (default: the catalogue number, as for 2-line TLEs);
    ``MEAN_MOTION_DOT``, ``MEAN_MOTION_DDOT``, ``CLASSIFICATION_TYPE``, ``OBJECT_ID``,
    ``EPHEMERIS_TYPE``, ``ELEMENT_SET_NO`` and ``REV_AT_EPOCH`` are optional.

    Args:
        record: One OMM record.
        where: How messages name the record, e.g. ``"iridium.json record 3"``.

    Raises:
        TLEError: ``"<where> ('<OBJECT_NAME>'): <FIELD>: <problem>, got <value>"``.

    >>> record = {"OBJECT_NAME": "SAT-A", "NORAD_CAT_ID": 100001,
    ...           "EPOCH": "2025-06-01T00:00:00.000000", "MEAN_MOTION": 15.05491974,
    ...           "ECCENTRICITY": 0.0001, "INCLINATION": 53, "RA_OF_ASC_NODE": 0,
    ...           "ARG_OF_PERICENTER": 0, "MEAN_ANOMALY": 0, "BSTAR": 0}
    >>> tle = omm_to_tle(record)
    >>> tle.name, tle.catnr, tle.epoch.isoformat()
    ('SAT-A', 100001, '2025-06-01T00:00:00+00:00')
    >>> print(tle.line2)
    2 A0001  53.0000   0.0000 0001000   0.0000   0.0000 15.05491974    07
    """
    if not isinstance(record, Mapping):
        raise TLEError(f"{where}: must be a mapping of OMM fields, got {_show(record)}")
    name = _value(record, "OBJECT_NAME")
    if name is not None and not isinstance(name, str):
        raise TLEError(f"{where}: OBJECT_NAME: must be text, got {_show(name)}")
    label = f"{where} ({name!r})" if name is not None else where
    try:
        catnr, line1, line2 = _lines(record)
    except ValueError as exc:
        raise TLEError(f"{label}: {exc}") from None
    try:
        return TLE(name if isinstance(name, str) else str(catnr), line1, line2)
    except TLEError as exc:
        text = str(exc).split(": ", 1)[-1]
        raise TLEError(f"{label}: OBJECT_NAME: {text}") from None


def _convert(records: Iterable[Mapping[str, Any]], source: str) -> list[TLE]:
    tles = [omm_to_tle(record, f"{source} record {i}") for i, record in enumerate(records, 1)]
    if not tles:
        raise TLEError(f"{source}: no OMM records found")
    check_unique_names(tles, [f"record {i}" for i in range(1, len(tles) + 1)], source)
    return tles


def parse_omm_json(text: str, source: str = "<string>") -> list[TLE]:
    """Parse CelesTrak OMM JSON (a list of records, or one record) into `TLE` records.

    Raises:
        TLEError: Malformed JSON (with its line), a top level that is not records, or a bad
            record (see `omm_to_tle`).

    >>> parse_omm_json('[{"NORAD_CAT_ID": 5}]', "x.json")
    Traceback (most recent call last):
    ...
    envs.errors.TLEError: x.json record 1: EPOCH: required field missing
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TLEError(
            f"{source}: line {exc.lineno}, column {exc.colno}: malformed JSON: {exc.msg}"
        ) from None
    if isinstance(data, dict) and "type" in data and "NORAD_CAT_ID" not in data:
        raise TLEError(
            f"{source}: OMM JSON must be a list of records, got a GeoJSON {_show(data['type'])} "
            "(a station file? those go to --stations / ground.station_files)"
        )
    records = [data] if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise TLEError(f"{source}: OMM JSON must be a list of records, got {_show(data)}")
    return _convert(records, source)


def parse_omm_csv(text: str, source: str = "<string>") -> list[TLE]:
    """Parse CelesTrak OMM CSV (a header of OMM field names, one record a row).

    Raises:
        TLEError: A header without the required fields, a row with more cells than the
            header, or a bad record (see `omm_to_tle`).
    """
    reader = sgp4_omm.parse_csv(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [f for f in OMM_REQUIRED_FIELDS if f not in header]
    if missing:
        raise TLEError(
            f"{source} line 1: OMM CSV header lacks {', '.join(missing)} "
            f"(found {_show(','.join(header))})"
        )
    records = []
    for row in reader:
        if None in row:
            raise TLEError(
                f"{source} line {reader.line_num}: {len(header) + len(row[None])} cells "
                f"for a header of {len(header)}"
            )
        records.append(row)
    return _convert(records, source)


def parse_omm_xml(text: str, source: str = "<string>") -> list[TLE]:
    """Parse CelesTrak OMM XML (an ``ndm`` of ``omm`` segments) into `TLE` records.

    Raises:
        TLEError: Malformed XML (with its line), a segment without ``metadata``, ``data``,
            ``meanElements`` or ``tleParameters``, or a bad record (see `omm_to_tle`).
    """
    records = []
    try:
        records.extend(sgp4_omm.parse_xml(io.StringIO(text)))
    except ET.ParseError as exc:
        line, column = exc.position
        raise TLEError(f"{source}: line {line}, column {column + 1}: malformed XML") from None
    except (AttributeError, TypeError):  # a missing element: find() returned None
        raise TLEError(
            f"{source} record {len(records) + 1}: an OMM segment needs metadata and data with "
            "meanElements and tleParameters"
        ) from None
    return _convert(records, source)
