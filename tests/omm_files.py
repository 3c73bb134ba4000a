"""OMM files written from TLEs in a test's tmp folder (never committed: the data is theirs).

``omm_records`` takes the fields from sgp4's own reading of the TLE lines
(``sgp4.exporter.export_omm``), independently of ``envs.orbits.omm``; ``write_omm`` lays them
out as CelesTrak does for ``FORMAT=json``, ``csv`` and ``xml``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from sgp4.api import Satrec
from sgp4.exporter import export_omm

from envs.orbits.tle import TLE

KINDS = ("json", "csv", "xml")
_METADATA = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
             "MEAN_ELEMENT_THEORY")  # fmt: skip
_MEAN = ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
         "ARG_OF_PERICENTER", "MEAN_ANOMALY")  # fmt: skip


def omm_records(tles: Sequence[TLE]) -> list[dict]:
    """One CelesTrak-style OMM record per TLE (no OBJECT_ID when the TLE has none)."""
    records = []
    for tle in tles:
        sat = Satrec.twoline2rv(tle.line1, tle.line2)
        blank = not sat.intldesg.strip()
        if blank:
            sat.intldesg = "00000A"  # export_omm needs one
        record = export_omm(sat, tle.name)
        if blank:
            del record["OBJECT_ID"]
        records.append(record)
    return records


def write_omm(path: Path, records: Sequence[dict], kind: str) -> Path:
    """Write ``records`` to ``path`` as OMM ``kind`` (json, csv or xml); return ``path``."""
    if kind == "json":
        path.write_text(json.dumps(list(records), indent=1), encoding="utf-8")
    elif kind == "csv":
        fields = list(dict.fromkeys(k for r in records for k in r))
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fields)
            writer.writeheader()
            writer.writerows(records)
    elif kind == "xml":
        path.write_text(omm_xml(records), encoding="utf-8")
    else:
        raise ValueError(kind)
    return path


def omm_xml(records: Sequence[dict]) -> str:
    """CelesTrak's XML layout: ndm > omm > body > segment > metadata / data."""

    def tags(record: dict, names: Sequence[str]) -> str:
        return "".join(f"<{n}>{escape(str(record[n]))}</{n}>" for n in names if n in record)

    rest = [k for k in records[0] if k not in _METADATA + _MEAN] if records else []
    segments = "".join(
        '<omm id="CCSDS_OMM_VERS" version="2.0"><header><CREATION_DATE/><ORIGINATOR/></header>'
        f"<body><segment><metadata>{tags(r, _METADATA)}</metadata><data>"
        f"<meanElements>{tags(r, _MEAN)}</meanElements>"
        f"<tleParameters>{tags(r, rest)}</tleParameters></data></segment></body></omm>\n"
        for r in records
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<ndm>\n{segments}</ndm>\n'
