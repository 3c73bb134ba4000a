"""Element-set files in any accepted format: TLE (2- or 3-line) or CelesTrak OMM.

`load_elements` is what every reader of a constellation file calls (``--tle``,
``constellation.tle_file``). The format comes from the content (a JSON list or object, an
XML document, a CSV header of OMM field names, TLE lines) and, when the content does not
tell, from the file extension, so that a broken file is reported by the parser of the format
it was meant to be in.
"""

from __future__ import annotations

import os
from pathlib import Path

from envs.errors import TLEError
from envs.orbits.omm import parse_omm_csv, parse_omm_json, parse_omm_xml
from envs.orbits.tle import TLE, load_tles, parse_tles

__all__ = ["ELEMENT_FORMATS", "element_format", "load_elements"]

#: Format name → how users recognise it, as listed in the unknown-format error.
ELEMENT_FORMATS: dict[str, str] = {
    "tle": "TLE (2- or 3-line, .tle/.txt/.3le/.2le)",
    "omm-json": "CelesTrak OMM JSON (.json)",
    "omm-csv": "CelesTrak OMM CSV (.csv)",
    "omm-xml": "CelesTrak OMM XML (.xml)",
}
_BY_EXTENSION = {
    ".tle": "tle",
    ".txt": "tle",
    ".3le": "tle",
    ".2le": "tle",
    ".json": "omm-json",
    ".csv": "omm-csv",
    ".xml": "omm-xml",
}
_PARSERS = {
    "tle": parse_tles,
    "omm-json": parse_omm_json,
    "omm-csv": parse_omm_csv,
    "omm-xml": parse_omm_xml,
}


def element_format(text: str, suffix: str = "") -> str | None:
    r"""The format of an element-set file's text (a key of `ELEMENT_FORMATS`), or ``None``.

    Args:
        text: The file's contents.
        suffix: The file extension, consulted when the content does not tell.

    >>> element_format('[{"OBJECT_NAME": "ISS (ZARYA)"}]')
    'omm-json'
    >>> element_format("OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,NORAD_CAT_ID\n")
    'omm-csv'
    >>> element_format("", ".tle"), element_format("hello", ".kml")
    ('tle', None)
    """
    lines = [line.strip() for line in text.removeprefix("\ufeff").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first[:1] in ("[", "{"):
        return "omm-json"
    if first[:1] == "<":
        return "omm-xml"
    if "," in first and "NORAD_CAT_ID" in first.upper():
        return "omm-csv"
    if any(line[:2] in ("1 ", "2 ") for line in lines[:3]):
        return "tle"
    return _BY_EXTENSION.get(suffix.lower())


def load_elements(path: str | os.PathLike[str]) -> list[TLE]:
    """Read a TLE or CelesTrak OMM (JSON, CSV, XML) file; every satellite as a `TLE`.

    Args:
        path: The file; its format is detected (see `element_format`).

    Returns:
        The element sets in file order.

    Raises:
        TLEError: A missing or unreadable file, a format that is none of `ELEMENT_FORMATS`
            (the message lists them), or the first problem in the file (one line naming the
            file, the line or record, the field and the value).

    >>> import tempfile, pathlib
    >>> record = ('[{"OBJECT_NAME": "SAT-A", "NORAD_CAT_ID": 90001, "EPOCH": '
    ...           '"2025-06-01T00:00:00", "MEAN_MOTION": 15.05491974, "ECCENTRICITY": 0, '
    ...           '"INCLINATION": 53, "RA_OF_ASC_NODE": 0, "ARG_OF_PERICENTER": 0, '
    ...           '"MEAN_ANOMALY": 0, "BSTAR": 0}]')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp, "sats.json")
    ...     _ = file.write_text(record)
    ...     [(t.name, t.catnr) for t in load_elements(file)]
    [('SAT-A', 90001)]
    """
    source = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise TLEError(f"{source}: element-set file not found") from None
    except OSError as exc:
        raise TLEError(f"{source}: cannot read element-set file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" in text:
        text = None
    suffix = Path(path).suffix
    kind = element_format(text, suffix) if text is not None else None
    if kind is None:
        kind = _BY_EXTENSION.get(suffix.lower())
        if kind == "tle":
            return load_tles(path)  # its message for binary content
        if kind is None:
            raise TLEError(
                f"{source}: unknown element-set format; accepted: "
                + ", ".join(ELEMENT_FORMATS.values())
            )
        if text is None:
            raise TLEError(f"{source}: not UTF-8 text; expected {ELEMENT_FORMATS[kind]}")
    return _PARSERS[kind](text.removeprefix("\ufeff"), source)
