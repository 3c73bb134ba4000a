"""The bad-input catalog: what a user sees for each kind of bad input.

Every case pins the exception type and fragments of its message, which is one line naming the
field path or the file and line, and the bad value. The script cases run each script's
``main()`` through ``scripts/_cli.run_cli`` (and once per script as a real subprocess) and pin
the exit status 2, a single ``error: ...`` line on stderr, and no traceback. The ids are meant to
be read: ``pytest tests/test_bad_inputs.py -v`` lists what is covered.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError, TLEError
from envs.ground import load_stations
from envs.jobs import TraceTokensWarning, load_trace
from envs.orbits import load_elements
from envs.orbits.tle import TLEEpochWarning, load_tles, tle_checksum
from envs.scenario import PRESET_DIR, load_scenario
from tests.omm_files import omm_records, write_omm

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
TOY = PRESET_DIR / "toy.yaml"
CHINA = REPO / "configs" / "ground_stations" / "china.yaml"
TLE_LINES = (REPO / "configs" / "tle" / "star_compute_12.tle").read_text().splitlines()
NAME, LINE1, LINE2 = TLE_LINES[:3]  # STAR-01-01, epoch 2025-06-01T00:00:00Z
TRACE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
_OMM = omm_records(load_tles(REPO / "configs" / "tle" / "star_compute_12.tle")[:2])
_OMM_NO_MEAN_MOTION = json.dumps([{k: v for k, v in _OMM[0].items() if k != "MEAN_MOTION"}])


def message(info: pytest.ExceptionInfo, *fragments: str) -> str:
    """The exception's message: one line containing every fragment."""
    text = str(info.value)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


def with_checksum(line: str) -> str:
    """``line`` (68 or 69 characters) with a correct checksum in column 69."""
    return line[:68] + str(tle_checksum(line))


# --- scenario files ------------------------------------------------------------------------


def _assign(data: dict, dotted: str, value: Any) -> None:
    """Set ``a.b[0].c`` in a nested mapping (the last part may be a new key)."""
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        name, _, index = part.partition("[")
        node = node[name] if not index else node[name][int(index[:-1])]
    node[last] = value


def scenario(
    edits: dict[str, Any] | None = None, *, text: str | None = None, files: dict | None = None
) -> Callable[[Path], Path]:
    """A case: write ``bad.yaml`` (toy.yaml with dotted ``edits``, or ``text``) and ``files``."""

    def write(tmp: Path) -> Path:
        for name, content in (files or {}).items():
            (tmp / name).write_text(content, encoding="utf-8")
        path = tmp / "bad.yaml"
        if text is None:
            data = yaml.safe_load(TOY.read_text(encoding="utf-8"))
            for dotted, value in (edits or {}).items():
                _assign(data, dotted, value)
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def stations(entry: str) -> Callable[[Path], Path]:
    """A case: the toy scenario with a one-station file ``st.yaml`` holding ``entry``."""
    return scenario(
        {"ground.station_files": ["st.yaml"], "ground.networks": None,
         "ground.uplink_networks": None, "ground.downlink_networks": None,
         "workload.origins": None},
        files={"st.yaml": f"stations:\n  - {{{entry}}}\n"},
    )  # fmt: skip


def tle_scenario(*lines: str) -> Callable[[Path], Path]:
    """A case: the toy scenario flying the satellites of a TLE file ``sats.tle``."""
    return scenario(
        {"constellation": {"tle_file": "sats.tle", "tle_class": "inference"}},
        files={"sats.tle": "".join(line + "\n" for line in lines)},
    )


_BAD_CHECKSUM = LINE1[:68] + str((int(LINE1[68]) + 2) % 10)
_STATION = "name: X, lat_deg: 10, lon_deg: 80, alt_m: 0"

SCENARIOS = {
    "malformed-yaml": (
        scenario(text="name: toy\nepisode: [1,\n"),
        ["bad.yaml: line 3, column 1: malformed YAML"],
    ),
    "python-yaml-tag-is-refused": (
        scenario(text="name: !!python/object/apply:os.system ['echo hi']\n"),
        ["bad.yaml: line 1", "python/object/apply:os.system"],
    ),
    "duplicate-top-level-key": (
        scenario(text=TOY.read_text(encoding="utf-8") + "name: other\n"),
        ["bad.yaml:", ": duplicate key 'name' (first at bad.yaml:15)"],
    ),
    "duplicate-nested-key": (
        scenario(text="name: toy\nepisode:\n  duration_s: 60\n  duration_s: 3600\n"),
        ["bad.yaml:4: duplicate key 'duration_s' (first at bad.yaml:3)"],
    ),
    "duplicate-key-in-a-station-file": (
        scenario(
            {"ground.station_files": ["st.yaml"]},
            files={"st.yaml": "stations:\n  - name: X\n    lat_deg: 10\n    lat_deg: 20\n"},
        ),
        ["st.yaml:4: duplicate key 'lat_deg' (first at", "st.yaml:3)"],
    ),
    "duplicate-station-file-top-level-key": (
        scenario(
            {"ground.station_files": ["st.yaml"]},
            files={"st.yaml": "network: a\nstations: []\nnetwork: b\n"},
        ),
        ["st.yaml:3: duplicate key 'network' (first at", "st.yaml:1)"],
    ),
    "unknown-top-level-key": ({"colour": "blue"}, ["bad.yaml: colour: unknown key 'colour'"]),
    "unknown-nested-key": (
        {"workload.arrivals.rate": 0.1},
        ["workload.arrivals.rate: unknown key 'rate'", "rate_per_s"],
    ),
    "quoted-number": ({"episode.duration_s": "3600"}, ["episode.duration_s", "'3600'"]),
    "exponent-read-as-text": (
        {"models.toy-llm.prefill_tokens_per_s": "1e3"},
        ["models.toy-llm.prefill_tokens_per_s: must be a number, got '1e3'", "1.0e+8"],
    ),
    "text-for-an-integer": ({"classes.inference.servers": "two"}, ["inference.servers", "'two'"]),
    "negative-arrival-rate": (
        {"workload.arrivals.rate_per_s": -1},
        ["workload.arrivals.rate_per_s: must be > 0, got -1"],
    ),
    "zero-arrival-rate": (
        {"workload.arrivals.rate_per_s": 0},
        ["workload.arrivals.rate_per_s: must be > 0, got 0"],
    ),
    "zero-satellites": ({"constellation.shells": []}, ["constellation: no satellites"]),
    "zero-satellites-per-plane": (
        {"constellation.shells[0].sats_per_plane": 0},
        ["constellation.shells[0].sats_per_plane", "got 0"],
    ),
    "no-station-files": ({"ground.station_files": []}, ["ground.station_files", "got []"]),
    "empty-station-list": (
        scenario({"ground.station_files": ["st.yaml"]}, files={"st.yaml": "stations: []\n"}),
        ["ground.station_files", "st.yaml: stations: must be a non-empty list", "got []"],
    ),
    "latitude-out-of-range": (
        stations("name: X, lat_deg: 95, lon_deg: 0, alt_m: 0"),
        ["st.yaml: stations[0].lat_deg: must be in [-90, 90], got 95"],
    ),
    "station-elevation-mask-90": (
        stations(_STATION + ", min_elevation_deg: 90"),
        ["st.yaml: stations[0].min_elevation_deg: must be in [0, 90), got 90"],
    ),
    "scenario-elevation-mask-90": (
        {"ground.min_elevation_deg": 90},
        ["ground.min_elevation_deg: must be in [0, 90), got 90"],
    ),
    "negative-station-rate": (
        stations(_STATION + ", uplink_bps: -5"),
        ["st.yaml: stations[0].uplink_bps", "got -5"],
    ),
    "tle-file-missing": (
        {"constellation": {"tle_file": "gone.tle", "tle_class": "inference"}},
        ["constellation.tle_file: file not found", "'gone.tle'"],
    ),
    "tle-checksum-error": (
        tle_scenario(NAME, _BAD_CHECKSUM, LINE2),
        ["constellation.tle_file", "sats.tle line 2: checksum mismatch (expected 7, found 9)"],
    ),
    "epoch-in-year-1": (
        {"episode.epoch": "0001-01-01T00:00:00Z"},
        ["bad.yaml: episode.epoch: 0001-01-01T00:00:00.000Z is outside 1957-01-01..2056-12-31"],
    ),
    "epoch-in-year-9999": (
        {"episode.epoch": "9999-12-31T23:00:00Z"},
        ["bad.yaml: episode.epoch: 9999-12-31T23:00:00.000Z is outside 1957-01-01..2056-12-31"],
    ),
    "epoch-years-from-the-tle-epoch": (
        scenario(
            {
                "constellation": {"tle_file": "sats.tle", "tle_class": "inference"},
                "episode.epoch": "2030-06-01T00:00:00Z",
            },
            files={"sats.tle": f"{NAME}\n{LINE1}\n{LINE2}\n"},
        ),
        ["sats.tle: TLE 'STAR-01-01'", "1826.0 days from the horizon 2030-06-01T00:00:00"],
    ),
    "tle-satellite-named-twice": (
        tle_scenario(NAME, LINE1, LINE2, NAME, *TLE_LINES[4:6]),
        ["constellation.tle_file", "sats.tle line 4: satellite name 'STAR-01-01'", "line 1"],
    ),
    "tle-truncated-line": (
        tle_scenario(NAME, LINE1, LINE2[:60]),
        ["sats.tle line 3: line 2 has 60 characters, expected 69 (truncated)"],
    ),
    "csv-station-file-with-a-bad-latitude": (
        scenario({"ground.station_files": ["st.csv"], "ground.networks": None,
                  "ground.uplink_networks": None, "ground.downlink_networks": None,
                  "workload.origins": None},
                 files={"st.csv": "name,lat_deg,lon_deg\nX,95,80\n"}),
        ["ground.station_files", "st.csv line 2: lat_deg: must be in [-90, 90], got 95.0"],
    ),
    "unknown-station-file-format": (
        scenario({"ground.station_files": ["st.kml"]}, files={"st.kml": "<kml/>"}),
        ["ground.station_files", "st.kml: unknown station file format; accepted: YAML"],
    ),
    "omm-record-without-mean-motion": (
        scenario({"constellation": {"tle_file": "o.json", "tle_class": "inference"}},
                 files={"o.json": _OMM_NO_MEAN_MOTION}),
        ["constellation.tle_file", "o.json record 1 ('STAR-01-01'): MEAN_MOTION: required field"],
    ),
    "unknown-constellation-file-format": (
        scenario({"constellation": {"tle_file": "sats.kml", "tle_class": "inference"}},
                 files={"sats.kml": "placemarks\n"}),
        ["constellation.tle_file", "sats.kml: unknown element-set format; accepted: TLE",
         "CelesTrak OMM JSON (.json)"],
    ),
    # Numbers that pass the range checks but describe a run that cannot finish (envs.limits).
    "episode-longer-than-any-grid": (
        {"episode.duration_s": 1.0e308},
        [
            "episode.duration_s: duration_s 1e+308 s + drain_s 43200 s at contact_step_s 60 s",
            "grid time points, above the limit of 200,000",
            "CONSTELLATION_DISPATCH_MAX_GRID_STEPS",
        ],
    ),
    "drain-of-thirty-years": (
        {"episode.drain_s": 1.0e9},
        ["episode.drain_s: duration_s 3600 s + drain_s 1e+09 s", "1.67e+07 grid time points"],
    ),
    "power-model-over-a-month": (  # the 10 s sunlit grid, not the 60 s contact grid
        {"episode.duration_s": 3.0e6, "classes.inference.power": "sunlit_only"},
        [
            "episode.duration_s:",
            "on the 10 s sunlit grid of a power model",
            "3.04e+05 grid time points",
        ],
    ),
    "a-million-satellites-over-the-grid": (
        {"constellation.shells[0].planes": 200, "constellation.shells[0].sats_per_plane": 1000},
        [
            "over 200000 satellites × 10 stations",
            "grid cells",
            "CONSTELLATION_DISPATCH_MAX_GRID_CELLS",
        ],
    ),
    "arrival-rate-of-a-million-a-second": (
        {"workload.arrivals.rate_per_s": 1.0e6},
        [
            "workload.arrivals.rate_per_s: 1e+06 jobs/s × load 1 × duration_s 3600 s is about "
            "3.6e+09 jobs per episode",
            "CONSTELLATION_DISPATCH_MAX_JOBS",
        ],
    ),
    "diurnal-peak-rate-counts": (
        {"workload.arrivals": {"process": "diurnal", "rate_per_s": 400.0, "amplitude": 0.5}},
        ["workload.arrivals.rate_per_s: 400 jobs/s × peak 1.5 × load 1", "2.16e+06 jobs"],
    ),
    "hundred-million-servers": (
        {"classes.inference.servers": 100_000_000},
        [
            "classes.inference.servers: 100000000 servers × 2 satellites is about 2e+08 on-board "
            "servers",
            "CONSTELLATION_DISPATCH_MAX_SERVERS",
        ],
    ),
    "hundred-million-candidates": (
        {"dispatch.candidates": 100_000_000},
        ["dispatch.candidates: 1e+08 candidates per decision, above the limit of 4,096"],
    ),
    "relay-paths-of-a-hundred-million-hops": (
        {"isl": {"enabled": True, "in_plane": True, "max_hops": 100_000_000}},
        [
            "isl.max_hops: 100000000 hops over 2 satellites (up to 2 neighbours each)",
            "relay-path entries",
            "CONSTELLATION_DISPATCH_MAX_ISL_PATHS",
        ],
    ),
    "billions-of-random-outages": (
        {"faults": {"random_station_outages": {"rate_per_day": 1.0e9, "mean_duration_s": 60}}},
        [
            "faults.random_station_outages.rate_per_day: 1e+09 a day",
            "10 stations",
            "CONSTELLATION_DISPATCH_MAX_OUTAGES",
        ],
    ),
}


@pytest.mark.parametrize("case", SCENARIOS, ids=list(SCENARIOS))
def test_bad_scenario_file(tmp_path, case):
    setup, fragments = SCENARIOS[case]
    if isinstance(setup, dict):
        setup = scenario(setup)
    with pytest.raises(ConfigError) as info:
        load_scenario(setup(tmp_path))
    assert message(info, *fragments).startswith("bad.yaml:")


LOAD_CALLS = {
    "unknown-preset": (("toyy",), ["scenario: unknown preset", "toy, walker_100", "'toyy'"]),
    "override-outside-the-schema": (
        ("toy", {"workload.lod": 1}),
        ["toy.yaml: override 'workload.lod': unknown key 'lod'"],
    ),
}


def test_a_limit_is_raised_with_its_environment_variable(monkeypatch):
    fast = {"workload.arrivals.rate_per_s": 1.0e3}  # 3.6e6 jobs in toy's hour
    with pytest.raises(ConfigError) as info:
        load_scenario("toy", fast)
    message(info, "3.6e+06 jobs per episode", "CONSTELLATION_DISPATCH_MAX_JOBS")
    monkeypatch.setenv("CONSTELLATION_DISPATCH_MAX_JOBS", "1e7")
    assert load_scenario("toy", fast).workload.arrivals.rate_per_s == 1.0e3
    monkeypatch.setenv("CONSTELLATION_DISPATCH_MAX_JOBS", "many")
    with pytest.raises(ConfigError) as info:
        load_scenario("toy")
    message(info, "CONSTELLATION_DISPATCH_MAX_JOBS: expected a positive number, got 'many'")


@pytest.mark.parametrize("case", LOAD_CALLS, ids=list(LOAD_CALLS))
def test_bad_scenario_name_or_override(case):
    args, fragments = LOAD_CALLS[case]
    with pytest.raises(ConfigError) as info:
        load_scenario(*args)
    message(info, *fragments)


def test_stale_tle_epoch_warns_with_the_age_in_days(tmp_path):
    path = tle_scenario(NAME, LINE1, LINE2)(tmp_path)  # TLE epoch 2025-06-01
    with pytest.warns(TLEEpochWarning) as record:
        load_scenario(path, {"episode.epoch": "2025-08-01T00:00:00Z"})
    (warning,) = record
    text = str(warning.message)
    assert "\n" not in text
    for fragment in ("bad.yaml: constellation.tle_file: sats.tle", "'STAR-01-01'", "90001",
                     "61.0 days before the start 2025-08-01T00:00:00Z"):  # fmt: skip
        assert fragment in text, text
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a day away is fine: no warning
        load_scenario(path, {"episode.epoch": "2025-06-02T00:00:00Z"})


# --- TLE files -----------------------------------------------------------------------------

_NO_NUMBER = LINE2[:52] + "15.2193x835" + LINE2[63:]
TLES = {
    "checksum-error": (
        [NAME, _BAD_CHECKSUM, LINE2],
        "t.tle line 2: checksum mismatch (expected 7, found 9)",
    ),
    "truncated-line": (
        [NAME, LINE1[:50], LINE2],
        "t.tle line 2: line 1 has 50 characters, expected 69 (truncated)",
    ),
    "line-2-missing": (
        [NAME, LINE1],
        "t.tle line 2: line 1 is not followed by a line 2 (end of file)",
    ),
    "field-not-a-number": (
        [NAME, LINE1, with_checksum(_NO_NUMBER)],
        "t.tle line 3: mean motion (columns 53-63) is not a number: '15.2193x835'",
    ),
    "empty-file": ([], "t.tle: no TLEs found"),
    "same-name-twice": (
        [NAME, LINE1, LINE2, *TLE_LINES[3:6], NAME, *TLE_LINES[7:9]],
        "t.tle line 7: satellite name 'STAR-01-01' (catalogue number 90003) repeats line 1 "
        "(catalogue number 90001)",
    ),
    "same-two-line-set-twice": (
        [LINE1, LINE2, LINE1, LINE2],
        "t.tle line 3: satellite name '90001' (catalogue number 90001) repeats line 1",
    ),
}


@pytest.mark.parametrize("case", TLES, ids=list(TLES))
def test_bad_tle_file(tmp_path, case):
    lines, expected = TLES[case]
    path = tmp_path / "t.tle"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(TLEError) as info:
        load_tles(path)
    message(info, expected)


# --- OMM files (CelesTrak JSON, CSV, XML) --------------------------------------------------

def omm(kind: str, **changes: Any) -> Callable[[Path], Path]:
    """A case: ``o.<kind>`` holding two OMM records, the first with ``changes`` (None: drop)."""

    def write(tmp: Path) -> Path:
        first = {k: v for k, v in {**_OMM[0], **changes}.items() if v is not None}
        return write_omm(tmp / f"o.{kind}", [first, _OMM[1]], kind)

    return write


def text_file(name: str, text: str) -> Callable[[Path], Path]:
    """A case: a file ``name`` holding ``text``."""

    def write(tmp: Path) -> Path:
        (tmp / name).write_text(text, encoding="utf-8")
        return tmp / name

    return write


def _append(path: Path, text: str) -> Path:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)
    return path


_REC = "record 1 ('STAR-01-01')"
OMMS = {
    "json-missing-mean-motion": (
        omm("json", MEAN_MOTION=None), f"o.json {_REC}: MEAN_MOTION: required field missing"
    ),
    "csv-epoch-not-a-date": (
        omm("csv", EPOCH="2025-13-01T00:00:00"),
        f"o.csv {_REC}: EPOCH: not a date and time (month must be in 1..12)",
    ),
    "xml-epoch-in-another-format": (
        omm("xml", EPOCH="01/06/2025"),
        f"o.xml {_REC}: EPOCH: expected YYYY-MM-DDThh:mm:ss[.ffffff] (UTC), got '01/06/2025'",
    ),
    "xml-eccentricity-out-of-range": (
        omm("xml", ECCENTRICITY=1.2), f"o.xml {_REC}: ECCENTRICITY: must be in [0, 1), got '1.2'"
    ),
    "json-negative-eccentricity": (
        omm("json", ECCENTRICITY=-0.1), f"o.json {_REC}: ECCENTRICITY: must be in [0, 1), got -0.1"
    ),
    "json-text-for-a-number": (
        omm("json", INCLINATION="high"), f"o.json {_REC}: INCLINATION: must be a number, got 'high'"
    ),
    "csv-inclination-out-of-range": (
        omm("csv", INCLINATION=200),
        f"o.csv {_REC}: INCLINATION: must be in [0, 180] deg, got '200'",
    ),
    "json-mean-motion-zero": (
        omm("json", MEAN_MOTION=0),
        f"o.json {_REC}: MEAN_MOTION: must be in (0, 100) rev/day, got 0",
    ),
    "json-catalogue-number-beyond-alpha5": (
        omm("json", NORAD_CAT_ID=400000),
        f"o.json {_REC}: NORAD_CAT_ID: must be in [1, 339999] (the Alpha-5 range",
    ),
    "json-catalogue-number-not-an-integer": (
        omm("json", NORAD_CAT_ID=90001.5),
        f"o.json {_REC}: NORAD_CAT_ID: must be an integer, got 90001.5",
    ),
    "json-sgp4-xp-elements": (
        omm("json", MEAN_ELEMENT_THEORY="SGP4-XP"),
        f"o.json {_REC}: MEAN_ELEMENT_THEORY: must be 'SGP4' for SGP4 elements, got 'SGP4-XP'",
    ),
    "json-record-without-a-name-is-named-by-index": (
        omm("json", OBJECT_NAME=None, BSTAR=None), "o.json record 1: BSTAR: required field missing"
    ),
    "json-name-that-reads-as-a-tle-line": (
        omm("json", OBJECT_NAME="1 STAR"),
        "o.json record 1 ('1 STAR'): OBJECT_NAME: name must not start with '0 ', '1 ' or '2 '",
    ),
    "json-name-that-is-a-number": (
        omm("json", OBJECT_NAME=106), "o.json record 1: OBJECT_NAME: must be text, got 106"
    ),
    "json-two-records-with-one-name": (
        omm("json", OBJECT_NAME="STAR-01-02"),
        "o.json record 2: satellite name 'STAR-01-02' (catalogue number 90002) repeats record 1 "
        "(catalogue number 90001)",
    ),
    "csv-two-records-with-one-name": (
        omm("csv", OBJECT_NAME="STAR-01-02"), "o.csv record 2: satellite name 'STAR-01-02'"
    ),
    "json-malformed": (
        text_file("o.json", '[{"OBJECT_NAME": "X",\n'),
        "o.json: line 2, column 1: malformed JSON: Expecting property name",
    ),
    "json-not-a-list-of-records": (
        text_file("o.json", '"IRIDIUM"'),
        "o.json: OMM JSON must be a list of records, got 'IRIDIUM'",
    ),
    "json-geojson-given-as-a-constellation": (
        text_file("o.json", '{"type": "FeatureCollection", "features": []}'),
        "o.json: OMM JSON must be a list of records, got a GeoJSON 'FeatureCollection' "
        "(a station file?",
    ),
    "json-record-not-a-mapping": (
        text_file("o.json", "[1]"), "o.json record 1: must be a mapping of OMM fields, got 1"
    ),
    "json-empty-list": (text_file("o.json", "[]"), "o.json: no OMM records found"),
    "csv-header-without-elements": (
        text_file("o.csv", "OBJECT_NAME,NORAD_CAT_ID\nX,5\n"),
        "o.csv line 1: OMM CSV header lacks EPOCH, MEAN_MOTION",
    ),
    "csv-row-longer-than-the-header": (
        lambda tmp: _append(omm("csv")(tmp), "1,2," * 20 + "\n"),
        "o.csv line 4: 41 cells for a header of 20",
    ),
    "xml-malformed": (text_file("o.xml", "<ndm><omm>\n"), "o.xml: line 2, column 1: malformed XML"),
    "xml-segment-without-data": (
        text_file("o.xml", "<ndm><omm><body><segment><metadata/></segment></body></omm></ndm>"),
        "o.xml record 1: an OMM segment needs metadata and data with meanElements",
    ),
    "unknown-format": (
        text_file("sats.kml", "placemarks\n"),
        "sats.kml: unknown element-set format; accepted: TLE (2- or 3-line, .tle/.txt/.3le/.2le),"
        " CelesTrak OMM JSON (.json), CelesTrak OMM CSV (.csv), CelesTrak OMM XML (.xml)",
    ),
}


@pytest.mark.parametrize("case", OMMS, ids=list(OMMS))
def test_bad_omm_file(tmp_path, case):
    write, expected = OMMS[case]
    with pytest.raises(TLEError) as info:
        load_elements(write(tmp_path))
    message(info, expected)


# --- station files: GeoJSON and CSV --------------------------------------------------------


def feature(name: Any = "X", coordinates: Any = (80, 10), **properties: Any) -> dict:
    """A GeoJSON Point feature (``coordinates`` in GeoJSON order: lon, lat[, alt])."""
    coords = list(coordinates) if isinstance(coordinates, tuple) else coordinates
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
            "properties": {"name": name, **properties}}  # fmt: skip


def geojson(*features: Any, **top: Any) -> Callable[[Path], Path]:
    """A case: ``s.geojson``, a FeatureCollection of ``features`` (``top`` replaces keys)."""
    data = {"type": "FeatureCollection", "features": list(features), **top}
    return text_file("s.geojson", json.dumps(data))


STATION_FILES = {
    "geojson-malformed": (
        text_file("s.geojson", '{"type": "FeatureCollection",\n  features: []}'),
        "s.geojson: line 2, column 3: malformed JSON: Expecting property name",
    ),
    "geojson-not-a-feature-collection": (
        text_file("s.json", json.dumps(feature())),
        "s.json: type: expected a GeoJSON 'FeatureCollection' of Point features, got 'Feature'",
    ),
    "geojson-no-features": (geojson(), "s.geojson: features: must be a non-empty list, got []"),
    "geojson-polygon-feature": (
        geojson({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}}),
        "s.geojson: features[0].geometry: must be a Point, got 'Polygon'",
    ),
    "geojson-one-coordinate": (
        geojson(feature(coordinates=[80])),
        "s.geojson: features[0].geometry.coordinates: must be [lon, lat] or [lon, lat, alt_m], "
        "got [80]",
    ),
    "geojson-latitude-out-of-range": (
        geojson(feature(), feature("Y", (80, 95))),
        "s.geojson: features[1].geometry.coordinates[1] (lat_deg): must be in [-90, 90], got 95",
    ),
    "geojson-latitude-as-text": (
        geojson(feature(coordinates=[80, "10"])),
        "s.geojson: features[0].geometry.coordinates[1] (lat_deg): must be a number, got '10'",
    ),
    "geojson-height-out-of-range": (
        geojson(feature(coordinates=[80, 10, 12000])),
        "s.geojson: features[0].geometry.coordinates[2] (alt_m): must be in [-500, 9000], "
        "got 12000",
    ),
    "geojson-heights-disagree": (
        geojson(feature(coordinates=[80, 10, 100], alt_m=200)),
        "s.geojson: features[0].properties.alt_m: 200 contradicts geometry.coordinates[2] 100",
    ),
    "geojson-name-missing": (
        geojson({"type": "Feature", "geometry": {"type": "Point", "coordinates": [80, 10]},
                 "properties": {"title": "X"}}),
        "s.geojson: features[0].properties.name: required key missing",
    ),
    "geojson-properties-null": (
        geojson({"type": "Feature", "geometry": {"type": "Point", "coordinates": [80, 10]},
                 "properties": None}),
        "s.geojson: features[0].properties: must be a mapping, got None",
    ),
    "geojson-elevation-mask-90": (
        geojson(feature(min_elevation_deg=90)),
        "s.geojson: features[0].properties.min_elevation_deg: must be in [0, 90), got 90",
    ),
    "geojson-empty-network": (
        geojson(feature(network="")),
        "s.geojson: features[0].properties.network: must be a non-empty string, got ''",
    ),
    "geojson-duplicate-name": (
        geojson(feature(), feature("Y"), feature(coordinates=(81, 11))),
        "s.geojson: features[2].properties.name: duplicate station name 'X' (first at features[0])",
    ),
    "csv-missing-column": (
        text_file("s.csv", "name,lat_deg\nX,10\n"),
        "s.csv line 1: missing column(s) lon_deg (header 'name,lat_deg')",
    ),
    "csv-unknown-column": (
        text_file("s.csv", "name,lat_deg,lon_deg,elevation\nX,10,80,5\n"),
        "s.csv line 1: unknown column 'elevation' (allowed: name, lat_deg, lon_deg, alt_m,",
    ),
    "csv-column-twice": (
        text_file("s.csv", "name,lat_deg,lon_deg,lat_deg\nX,10,80,5\n"),
        "s.csv line 1: column 'lat_deg' appears twice",
    ),
    "csv-header-only": (
        text_file("s.csv", "name,lat_deg,lon_deg\n"), "s.csv: no stations below the header"
    ),
    "csv-text-for-a-number": (
        text_file("s.csv", "name,lat_deg,lon_deg\nX,10,80\nY,north,80\n"),
        "s.csv line 3: lat_deg: must be a number, got 'north'",
    ),
    "csv-latitude-out-of-range": (
        text_file("s.csv", "name,lat_deg,lon_deg\nX,95,80\n"),
        "s.csv line 2: lat_deg: must be in [-90, 90], got 95.0",
    ),
    "csv-negative-rate": (
        text_file("s.csv", "name,lat_deg,lon_deg,uplink_bps\nX,10,80,-5\n"),
        "s.csv line 2: uplink_bps: must be finite and > 0, got -5.0",
    ),
    "csv-short-row": (
        text_file("s.csv", "name,lat_deg,lon_deg\nX,10\n"),
        "s.csv line 2: 2 cells for a header of 3",
    ),
    "csv-name-missing": (
        text_file("s.csv", "name,lat_deg,lon_deg\n,10,80\n"),
        "s.csv line 2: name: required value missing",
    ),
    "csv-duplicate-name": (
        text_file("s.csv", "name,lat_deg,lon_deg\nX,10,80\n# comment\nX,11,81\n"),
        "s.csv line 4: name: duplicate station name 'X' (first at line 2)",
    ),
    "unknown-format": (
        text_file("sites.kml", "<kml><Placemark/></kml>"),
        "sites.kml: unknown station file format; accepted: YAML (.yaml/.yml, configs/"
        "ground_stations format), GeoJSON FeatureCollection of Points (.geojson/.json), "
        "CSV with columns name,lat_deg,lon_deg[,alt_m,...] (.csv)",
    ),
    "binary-file": (
        text_file("s.xlsx", "PK\x03\x04\x00"),
        "s.xlsx: unknown station file format; accepted: YAML",
    ),
}


@pytest.mark.parametrize("case", STATION_FILES, ids=list(STATION_FILES))
def test_bad_station_file(tmp_path, case):
    write, expected = STATION_FILES[case]
    with pytest.raises(ConfigError) as info:
        load_stations(write(tmp_path))
    message(info, expected)


# --- request traces ------------------------------------------------------------------------

TRACES = {
    "missing-column": (
        "TIMESTAMP,ContextTokens\n2025-06-01 00:00:00,10\n",
        "t.csv:1: missing column(s) GeneratedTokens ('TIMESTAMP,ContextTokens')",
    ),
    "timestamps-go-back": (
        TRACE_HEADER + "2025-06-01 00:00:05,10,5\n2025-06-01 00:00:01,10,5\n",
        "t.csv:3: TIMESTAMP: '2025-06-01 00:00:01' is earlier than line 2",
    ),
    "negative-token-count": (
        TRACE_HEADER + "2025-06-01 00:00:00,-5,5\n",
        "t.csv:2: ContextTokens: negative token count: '-5'",
    ),
    "unreadable-timestamp": (
        TRACE_HEADER + "yesterday,10,5\n",
        "t.csv:2: TIMESTAMP: cannot parse 'yesterday'",
    ),
}


@pytest.mark.parametrize("case", TRACES, ids=list(TRACES))
def test_bad_trace_file(tmp_path, case):
    text, expected = TRACES[case]
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_trace(path)
    message(info, expected)


# --- the environment -----------------------------------------------------------------------


def test_scenario_with_a_bad_trace_fails_when_the_env_is_built(tmp_path, toy_world):
    path = scenario(
        {"workload.arrivals": {"process": "trace", "trace_file": "t.csv"}},
        files={"t.csv": TRACE_HEADER + "2025-06-01 00:00:00,10,-5\n"},
    )(tmp_path)
    with pytest.raises(ConfigError) as info:
        ConstellationDispatchEnv(path, world=toy_world)
    message(info, "t.csv:2: GeneratedTokens: negative token count: '-5'")


def test_looping_a_trace_of_a_tenth_of_a_microsecond_is_refused_at_reset(tmp_path, toy_world):
    path = scenario(
        {"workload.arrivals": {"process": "trace", "trace_file": "t.csv"}},
        files={"t.csv": TRACE_HEADER + "2025-06-01 00:00:00.0000000,10,5\n"
               "2025-06-01 00:00:00.0000001,10,5\n"},
    )(tmp_path)  # fmt: skip
    env = ConstellationDispatchEnv(path, world=toy_world)
    with pytest.raises(ConfigError) as info:
        env.reset(seed=0)  # unchecked, it would allocate 3.6e10 arrival times (~270 GiB)
    message(info, "t.csv: 2 rows spanning 1e-07 s, looped over 3600 s", "3.6e+10 jobs",
            "CONSTELLATION_DISPATCH_MAX_JOBS", "longer span")  # fmt: skip


def test_trace_tokens_above_max_tokens_are_clipped_with_one_warning(tmp_path, toy_world):
    path = scenario(
        {"workload.arrivals": {"process": "trace", "trace_file": "t.csv"}},
        files={"t.csv": TRACE_HEADER + "2025-06-01 00:00:00,10,5\n"
               "2025-06-01 00:00:10,10,100000000000000000\n2025-06-01 00:00:20,10,5\n"},
    )(tmp_path)  # fmt: skip
    with pytest.warns(TraceTokensWarning) as record:
        env = ConstellationDispatchEnv(path, world=toy_world)
        env.reset(seed=0)
    text = str(record[0].message)
    assert "t.csv: GeneratedTokens: 1 row(s) above workload.tokens.max_tokens 16384" in text
    assert env.sim.n_jobs > 0 and max(env.sim.out_tokens) == 16384
    # The dispatcher's estimate uses the clipped mean, so jobs are not all no_contact.
    assert env.action_masks().any()


def _finished(env: ConstellationDispatchEnv) -> ConstellationDispatchEnv:
    env.reset(seed=0)
    while not any(env.step(int(np.flatnonzero(env.action_masks())[0]))[2:4]):
        pass
    return env


def _after_reset(act: Callable[[ConstellationDispatchEnv], Any]):
    return lambda env: (env.reset(seed=0), act(env))


ENV_CASES = {
    "action-out-of-range": ({}, _after_reset(lambda env: env.step(3)), ValueError,
                            "action: must be an integer in [0, 2], got 3"),
    "negative-action": ({}, _after_reset(lambda env: env.step(-1)), ValueError, "got -1"),
    "non-integer-action": ({}, _after_reset(lambda env: env.step(1.5)), ValueError, "got 1.5"),
    "masked-candidate-with-invalid_action-raise": (
        {"invalid_action": "raise", "candidates": 3},  # 2 satellites: candidate 2 is padding
        _after_reset(lambda env: env.step(2)), ValueError, "action: 2 is masked (valid: [0,"),
    "step-after-the-episode-ended": (
        {}, lambda env: _finished(env).step(0), RuntimeError,
        "step() called after the episode ended; call reset() first"),
    "step-before-reset": ({}, lambda env: env.step(0), RuntimeError, "call reset() first"),
    "unknown-invalid_action-mode": (
        {"invalid_action": "ignore"}, None, ConfigError,
        "invalid_action: expected 'fallback' or 'raise', got 'ignore'"),
    "unknown-render-mode": (
        {"render_mode": "video"}, None, ConfigError,
        "render_mode: expected None or one of 'ansi', 'rgb_array', 'human', got 'video'"),
}  # fmt: skip


@pytest.mark.parametrize("case", ENV_CASES, ids=list(ENV_CASES))
def test_bad_env_use(toy_world, case):
    kwargs, act, error, expected = ENV_CASES[case]
    with pytest.raises(error) as info:
        env = ConstellationDispatchEnv("toy", world=toy_world, **kwargs)
        if act is not None:
            act(env)
    message(info, expected)


def test_masked_candidate_falls_back_to_the_first_valid_one_by_default(toy_world):
    """Documented behaviour: the first valid candidate is used and ``info`` says so."""
    env = ConstellationDispatchEnv("toy", world=toy_world, candidates=3)
    env.reset(seed=0)
    mask = env.action_masks()
    assert not mask[2]
    first = env.candidates[int(np.flatnonzero(mask)[0])]
    job = env.sim.head()
    *_, info = env.step(2)
    assert info["invalid_action"] is True
    assert env.sim.sat[job] == first


# --- saved models --------------------------------------------------------------------------


def _model_file(tmp: Path, kind: str) -> Path:
    path = tmp / "model.zip"
    if kind == "not-a-zip":
        path.write_bytes(b"PK\x03\x04 this is not a zip file")
    elif kind == "zip-without-a-model":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data", "{}")
    return path


MODELS = {
    "not-a-zip": ("maskable_ppo", "cannot load model file {path}: ", "wasn't a zip-file"),
    "zip-without-a-model": ("ppo", "ppo: cannot load model file {path}: ", "observation_space"),
    "missing": ("dqn", "dqn: model file not found: {path}", ""),
}


@pytest.mark.parametrize("case", MODELS, ids=list(MODELS))
def test_bad_model_file_for_evaluation(tmp_path, toy_world, case):
    from agents.evaluate import AgentSpec, load_model

    kind, expected, detail = MODELS[case]
    path = _model_file(tmp_path, case)
    with pytest.raises(ConfigError) as info:
        load_model(AgentSpec(kind, str(path)), ConstellationDispatchEnv("toy", world=toy_world))
    message(info, expected.format(path=path), detail)


# --- evaluation suites ---------------------------------------------------------------------

_SUITE = {"name": "s", "seeds": {"first": 0, "count": 1},
          "cells": [{"scenario": "toy", "loads": [1]}]}  # fmt: skip


def suite(edits: dict[str, Any] | None = None, *, text: str | None = None):
    """A case: write ``bad_suite.yaml`` (a one-cell suite with dotted ``edits``, or ``text``)."""

    def write(tmp: Path) -> Path:
        path = tmp / "bad_suite.yaml"
        if text is None:
            data = json.loads(json.dumps(_SUITE))
            for dotted, value in (edits or {}).items():
                _assign(data, dotted, value)
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


SUITES = {
    "unknown-top-level-key": (suite({"cell": []}), ["top level: unknown key", "'cell'"]),
    "unknown-cell-key": (suite({"cells[0].load": 1}), ["cells[0]: unknown key", "'load'"]),
    "negative-load": (suite({"cells[0].loads": [1, -2]}),
                      ["cells[0].loads[1]: must be a positive finite number, got -2"]),
    "load-not-a-list": (suite({"cells[0].loads": 1}),
                        ["cells[0].loads: must be a non-empty list of loads, got 1"]),
    "repeated-load": (suite({"cells[0].loads": [1, 1.0]}), ["cells[0].loads: loads must be "
                                                            "distinct, got [1, 1.0]"]),
    "no-cells": (suite({"cells": []}), ["cells: must be a non-empty list of cells, got []"]),
    "unknown-scenario": (suite({"cells[0].scenario": "toyy"}),
                         ["cells[0].scenario: unknown scenario (presets: ", "'toyy'"]),
    "scenario-file-not-found": (suite({"cells[0].scenario": "nope.yaml"}),
                                ["cells[0].scenario: unknown scenario: file not found",
                                 "'nope.yaml'"]),
    "generated-without-a-seed": (suite({"cells[0].scenario": "generated:abc"}),
                                 ["cells[0].scenario: generated scenarios are generated:SEED",
                                  "'generated:abc'"]),
    "zero-seed-count": (suite({"seeds.count": 0}), ["seeds.count: must be an integer >= 1, got 0"]),
    "cell-seeds-without-first": (suite({"cells[0].seeds": {"count": 2}}),
                                 ["cells[0].seeds: missing key 'first'"]),
    "unknown-agent": (suite({"agents": ["ect", "fastest"]}),
                      ["agents: unknown agent 'fastest'"]),
    "no-heuristic-to-compare-with": (suite({"agents": ["oracle"]}),
                                     ["agents: must include a heuristic to compare with"]),
    "load-as-an-override": (suite({"cells[0].overrides": {"workload.load": 2}}),
                            ["cells[0].overrides: the load is set by 'loads'", "'workload.load'"]),
    "unknown-variable": (suite({"cells[0].overrides": {"constellation.tle_file": "${HOME}/x"}}),
                         ["cells[0].overrides.constellation.tle_file: unknown variable",
                          "'${HOME}'"]),
    "repeated-label": (suite({"cells": [{"scenario": "toy", "loads": [1]},
                                        {"scenario": "toy", "loads": [2]}]}),
                       ["cells[1].label: already used by cells[0], got 'toy'"]),
    "not-a-mapping": (suite(text="- toy\n"), ["top level: must be a mapping, got ['toy']"]),
    "malformed-yaml": (suite(text="name: [s\n"), ["bad_suite.yaml: line 2", "malformed YAML"]),
}  # fmt: skip


@pytest.mark.parametrize("case", SUITES, ids=list(SUITES))
def test_bad_suite_file(tmp_path, case):
    from agents.suite import load_suite

    setup, fragments = SUITES[case]
    with pytest.raises(ConfigError) as info:
        load_suite(setup(tmp_path))
    assert message(info, *fragments).startswith("bad_suite.yaml: ")


def test_suite_cell_the_loader_rejects_names_the_suite_and_the_cell(tmp_path):
    from agents.suite import load_suite, run_suite

    path = suite({"cells[0].overrides": {"episode.duration_s": -1}})(tmp_path)
    with pytest.raises(ConfigError) as info:
        run_suite(load_suite(path), progress=False)
    message(info, "bad_suite.yaml: cells[0] (toy): toy.yaml: episode.duration_s: must be > 0")


# --- the scripts, through main() -----------------------------------------------------------


@functools.cache
def script(name: str):
    """Import ``scripts/<name>.py`` as a module (its ``main`` and ``run_cli``)."""
    spec = importlib.util.spec_from_file_location(f"_catalog_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(name: str, argv: list, capsys) -> tuple[int, str]:
    module = script(name)
    code = module.run_cli(module.main, [str(a) for a in argv])
    return code, capsys.readouterr().err


def _files(tmp: Path) -> dict[str, Path]:
    bad_tle = tmp / "bad.tle"
    bad_tle.write_text(f"{NAME}\n{_BAD_CHECKSUM}\n{LINE2}\n")
    good_tle = tmp / "good.tle"
    good_tle.write_text(f"{NAME}\n{LINE1}\n{LINE2}\n")
    empty = tmp / "empty.yaml"
    empty.write_text("stations: []\n")
    (tmp / "folder").mkdir()
    (tmp / "a_file").write_text("x")
    model = _model_file(tmp, "not-a-zip")
    twice_tle = tmp / "twice.tle"
    twice_tle.write_text(
        "".join(f"{line}\n" for line in (NAME, LINE1, LINE2, NAME, *TLE_LINES[4:6]))
    )
    dup_stations = tmp / "dup.yaml"
    dup_stations.write_text("stations:\n  - name: A\n    name: B\n    lat_deg: 1\n")
    (tmp / "bad_omm.json").write_text(_OMM_NO_MEAN_MOTION)
    bad_suite = suite({"cells[0].scenario": "toyy"})(tmp)
    (tmp / "sats.kml").write_text("placemarks\n")
    (tmp / "sites.kml").write_text("<kml/>")
    (tmp / "st.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [feature(coordinates=[80, 95])]}))  # fmt: skip
    return {"bad_tle": bad_tle, "good_tle": good_tle, "empty": empty, "folder": tmp / "folder",
            "a_file": tmp / "a_file", "model": model, "tmp": tmp,
            "bad_omm": tmp / "bad_omm.json", "kml": tmp / "sats.kml",
            "sites_kml": tmp / "sites.kml", "bad_geojson": tmp / "st.geojson",
            "dup_stations": dup_stations, "twice_tle": twice_tle,
            "bad_suite": bad_suite}  # fmt: skip


START = "2025-06-01T00:00:00Z"
SCRIPT_CASES = {
    "contact_plan-tle-checksum-error": (
        "contact_plan", "--tle {bad_tle} --stations " + str(CHINA) + f" --start {START}",
        ["bad.tle line 2: checksum mismatch (expected 7, found 9)"]),
    "contact_plan-omm-record-without-mean-motion": (
        "contact_plan", "--tle {bad_omm} --stations " + str(CHINA) + f" --start {START}",
        ["bad_omm.json record 1 ('STAR-01-01'): MEAN_MOTION: required field missing"]),
    "contact_plan-unknown-constellation-format": (
        "contact_plan", "--tle {kml} --stations " + str(CHINA) + f" --start {START}",
        ["sats.kml: unknown element-set format; accepted: TLE", "OMM XML (.xml)"]),
    "contact_plan-unknown-station-format": (
        "contact_plan", f"--tle {{good_tle}} --stations {{sites_kml}} --start {START}",
        ["sites.kml: unknown station file format; accepted: YAML", "GeoJSON", "CSV"]),
    "contact_plan-geojson-latitude-out-of-range": (
        "contact_plan", f"--tle {{good_tle}} --stations {{bad_geojson}} --start {START}",
        ["st.geojson: features[0].geometry.coordinates[1] (lat_deg): must be in [-90, 90]"]),
    "contact_plan-empty-station-list": (
        "contact_plan", f"--tle {{good_tle}} --stations {{empty}} --start {START}",
        ["empty.yaml: stations: must be a non-empty list of mappings, got []"]),
    "contact_plan-start-not-a-time": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA) + " --start yesterday",
        ["--start", "'yesterday'"]),
    "contact_plan-step-of-a-microsecond": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + f" --start {START} --step 1e-6 --no-cache --out {{tmp}}/p.csv",
        ["--step: 24 h at a step of 1e-06 s is about 8.64e+10 grid time points",
         "CONSTELLATION_DISPATCH_MAX_GRID_STEPS"]),
    "contact_plan-step-not-a-number": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + f" --start {START} --step nan --no-cache --out {{tmp}}/p.csv",
        ["--step: must be in (0, 300] seconds, got nan"]),
    "contact_plan-output-is-a-folder": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + f" --start {START} --hours 1 --no-cache --quiet --out {{folder}}",
        ["Is a directory: {folder}"]),
    "contact_plan-start-in-year-1": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA) + " --start 0001-01-01",
        ["--start: 0001-01-01T00:00:00.000Z is outside 1957-01-01..2056-12-31"]),
    "contact_plan-start-in-year-9999": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + " --start 9999-12-31T23:00:00Z", ["--start: 9999-12-31T23:00:00.000Z is outside"]),
    "contact_plan-start-before-1957": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + " --start 1956-12-31T23:59:59Z", ["--start: 1956-12-31T23:59:59.000Z is outside"]),
    "contact_plan-horizon-ends-after-2056": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + " --start 2056-12-31T23:00:00Z --hours 2",
        ["--start: the horizon from 2056-12-31T23:00:00.000Z for 7200 s ends after 2056-12-31"]),
    "contact_plan-start-overflows-utc": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA)
        + " --start 0001-01-01T00:00:00+05:00", ["--start: '0001-01-01T00:00:00+05:00'"]),
    "contact_plan-start-years-from-the-tle-epoch": (
        "contact_plan", "--tle {good_tle} --stations " + str(CHINA) + " --start 2040-01-01",
        ["good.tle: TLE 'STAR-01-01' (catalogue number 90001): epoch 2025-06-01T00:00:00Z",
         "days from the horizon 2040-01-01", "366 days"]),
    "contact_plan-satellite-named-twice": (
        "contact_plan", "--tle {twice_tle} --stations " + str(CHINA) + f" --start {START}",
        ["twice.tle line 4: satellite name 'STAR-01-01' (catalogue number 90002) repeats line 1"]),
    "evaluate-corrupt-model-file": (
        "evaluate", "--scenario toy --agents ect,maskable_ppo:{model} --episodes 1 --out {tmp}/o",
        ["maskable_ppo: cannot load model file {model}"]),
    "evaluate-unknown-agent": (
        "evaluate", "--scenario toy --agents ect,fastest --out {tmp}/o",
        ["agent: unknown agent 'fastest'"]),
    "evaluate-unknown-preset": (
        "evaluate", "--scenario toyy --agents ect --out {tmp}/o",
        ["scenario: unknown preset", "'toyy'"]),
    "evaluate-generated-seed-not-a-number": (
        "evaluate", "--scenario generated:seven --agents ect --out {tmp}/o",
        ["scenario: expected generated:SEED", "'generated:seven'"]),
    "evaluate-generated-space-file-missing": (
        "evaluate", "--scenario generated:7@{tmp}/nope.yaml --agents ect --out {tmp}/o",
        ["{tmp}/nope.yaml: space file not found"]),
    "evaluate-generated-bad-override": (
        "evaluate", "--scenario generated:7 --agents ect --episodes 1 --set dispatch.defer_s=-1 "
        "--out {tmp}/o", ["generated:7: dispatch.defer_s: must be > 0, got -1"]),
    "evaluate-zero-episodes": (
        "evaluate", "--scenario toy --agents ect --episodes 0 --out {tmp}/o",
        ["--episodes: must be >= 1, got 0"]),
    "evaluate-bad-override": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --set episode.duration_s=-1 "
        "--out {tmp}/o", ["toy.yaml: episode.duration_s: must be > 0, got -1"]),
    "evaluate-override-with-a-duplicate-key": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --out {tmp}/o "
        '--set workload.models={{"a":1,"a":2}}',
        ["--set workload.models:1: duplicate key 'a' (first at --set workload.models:1)"]),
    "contact_plan-station-file-with-a-duplicate-key": (
        "contact_plan", "--tle {good_tle} --stations {dup_stations} --start " + START,
        ["dup.yaml:3: duplicate key 'name' (first at", "dup.yaml:2)"]),
    "evaluate-hyperparameter-given-to-set": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --set gamma=0.9 --out {tmp}/o",
        ["--set gamma=0.9: gamma is a hyperparameter, not a scenario override; give it with "
         "--hp gamma=0.9 (train, distill, quickstart)"]),
    "plot_episode-bad-override": (
        "plot_episode", "--scenario toy --set episode.duration_s=-1 --out {tmp}/p",
        ["toy.yaml: episode.duration_s: must be > 0, got -1"]),
    "distill-hyperparameter-given-to-set": (
        "distill", "--set rounds=2 --out {tmp}/d", ["--set rounds=2: rounds is a hyperparameter"]),
    "distill-bad-override-of-every-cell": (
        "distill",
        '--hp generated=[] --hp cells=[{{"scenario":"toy"}}] --set load=-1 --out {tmp}/d',
        ["toy.yaml: workload.load: must be > 0, got -1"]),
    "quickstart-setting-it-does-not-have": (
        "quickstart", "--hp lerning_rate=1 --out {tmp}/q",
        ["--hp lerning_rate: not a setting of the quickstart's distillation (allowed: rounds"]),
    "quickstart-negative-evaluation-window": (
        "quickstart", "--eval-window-s -5 --out {tmp}/q",
        ["--eval-window-s: must be a number >= 0, got -5.0"]),
    "quickstart-scenario-override-given-to-hp": (
        "quickstart", "--hp load=2 --out {tmp}/q", ["--hp load=2: load is a scenario override"]),
    "evaluate-override-without-value": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --set episode --out {tmp}/o",
        ["--set: expected KEY=VALUE, got 'episode'"]),
    "evaluate-arrival-rate-too-high": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --out {tmp}/o "
        "--set workload.arrivals.rate_per_s=1e6",
        ["toy.yaml: workload.arrivals.rate_per_s: 1e+06 jobs/s",
         "CONSTELLATION_DISPATCH_MAX_JOBS"]),
    "evaluate-drain-too-long": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --out {tmp}/o "
        "--set episode.drain_s=1e9",
        ["toy.yaml: episode.drain_s: duration_s 3600 s + drain_s 1e+09 s"]),
    "evaluate-episode-of-1e308-seconds": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --out {tmp}/o "
        "--set episode.duration_s=1.0e+308", ["toy.yaml: episode.duration_s: duration_s 1e+308 s"]),
    "evaluate-a-million-episodes": (
        "evaluate", "--scenario toy --agents ect --episodes 1000000 --out {tmp}/o",
        ["episodes: 1e+06 episodes per agent and load, above the limit of 20,000",
         "CONSTELLATION_DISPATCH_MAX_EPISODES"]),
    "evaluate-output-is-a-folder-of-other-files": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --out {tmp}",
        ["{tmp}: output folder exists and is not a previous run's (a_file, "]),
    "evaluate-suite-unknown-scenario": (
        "evaluate", "--suite {bad_suite} --out {tmp}/o",
        ["bad_suite.yaml: cells[0].scenario: unknown scenario", "'toyy'"]),
    "evaluate-suite-and-scenario": (
        "evaluate", "--suite {bad_suite} --scenario toy --agents ect --out {tmp}/o",
        ["give either --scenario or --suite"]),
    "evaluate-suite-with-a-load": (
        "evaluate", "--suite {bad_suite} --load 2 --out {tmp}/o",
        ["--load: the suite file sets it for each cell, got '2'"]),
    "evaluate-scenario-without-agents": (
        "evaluate", "--scenario toy --out {tmp}/o", ["--agents: required with --scenario"]),
    "evaluate-output-is-a-file": (
        "evaluate", "--scenario toy --agents ect --episodes 1 --quiet --out {a_file}",
        ["File exists: {a_file}"]),
    "train-unknown-preset": (
        "train", "--scenario toyy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress",
        ["scenario: unknown preset", "'toyy'"]),
    "train-bad-hp-syntax": (
        "train", "--scenario toy --timesteps 10 --hp learning_rate --out {tmp}/r",
        ["--hp: expected KEY=VALUE, got 'learning_rate'"]),
    "train-bad-set-syntax": (
        "train", "--scenario toy --timesteps 10 --set workload.load --out {tmp}/r",
        ["--set: expected KEY=VALUE, got 'workload.load'"]),
    "train-hyperparameter-given-to-set": (
        "train", "--scenario toy --timesteps 10 --set learning_rate=1e-4 --out {tmp}/r",
        ["--set learning_rate=1e-4: learning_rate is a hyperparameter, not a scenario override; "
         "give it with --hp learning_rate=1e-4"]),
    "train-scenario-override-given-to-hp": (
        "train", "--scenario toy --timesteps 10 --hp workload.load=2 --out {tmp}/r",
        ["--hp workload.load=2: workload.load is a scenario override, not a hyperparameter; "
         "give it with --set workload.load=2"]),
    "train-bad-scenario-override": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--set workload.load=-1", ["toy.yaml: workload.load: must be > 0, got -1"]),
    "train-zero-timesteps": (
        "train", "--scenario toy --timesteps 0 --out {tmp}/r", ["--timesteps", "got 0"]),
    "train-bad-env-override": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--hp env_overrides.workload.load=-1", ["toy.yaml: workload.load: must be > 0, got -1"]),
    "train-unknown-preset-with-worker-processes": (
        "train", "--scenario toyy --n-envs 2 --timesteps 10 --out {tmp}/r --no-progress",
        ["scenario: unknown preset", "'toyy'"]),
    "train-corrupt-resume-checkpoint": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--resume {model}", ["--resume: cannot load maskable_ppo checkpoint {model}"]),
    "train-missing-resume-checkpoint": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--resume {tmp}/nope.zip", ["--resume: checkpoint not found: {tmp}/nope.zip"]),
    "train-unknown-hyperparameter": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--hp lerning_rate=0.001", ["unknown hyperparameter(s) ['lerning_rate']"]),
    "train-hyperparameter-of-the-wrong-type": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--hp learning_rate=fast",
        ["hyperparameter learning_rate: expected a number, got 'fast'"]),
    "train-integer-hyperparameter-given-a-fraction": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        "--hp n_steps=64.5", ["hyperparameter n_steps: expected an integer, got 64.5"]),
    "train-unknown-warm-start-target": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        '--hp bc={{"target":"best"}}', ["bc.target: expected imitate or outcome, got 'best'"]),
    "train-exploration-share-of-one": (
        "train", "--scenario toy --n-envs 1 --timesteps 10 --out {tmp}/r --no-progress "
        '--hp bc={{"explore":1}}', ["bc.explore: expected a share in [0, 1), got 1"]),
    "benchmark-unknown-scenario": (
        "benchmark", "env --scenarios toyy --out {tmp}/b.json",
        ["scenario: unknown preset", "'toyy'"]),
    "benchmark-zero-decisions": (
        "benchmark", "env --scenarios toy --decisions 0 --out {tmp}/b.json",
        ["--decisions: must be >= 1, got 0"]),
    "benchmark-bad-override": (
        "benchmark", "env --scenarios toy --set workload.load=-1 --out {tmp}/b.json",
        ["toy.yaml: workload.load: must be > 0, got -1"]),
    "benchmark-bad-tle-file": (
        "benchmark", "contact-plan --tle {bad_tle} --skip-full --out {tmp}/b.json",
        ["bad.tle line 2: checksum mismatch"]),
}  # fmt: skip


def _argv(template: str, files: dict[str, Path]) -> list[str]:
    return [part.format(**files) for part in template.split()]


@pytest.mark.parametrize("case", SCRIPT_CASES, ids=list(SCRIPT_CASES))
def test_script_exits_2_with_one_error_line(tmp_path, capsys, case):
    name, template, fragments = SCRIPT_CASES[case]
    files = _files(tmp_path)
    code, err = run_main(name, _argv(template, files), capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment.format(**files) in lines[0], err


def test_stale_tle_is_one_warning_line_and_the_script_carries_on(tmp_path, capsys):
    path = tle_scenario(NAME, LINE1, LINE2)(tmp_path)
    argv = ["--scenario", path, "--agents", "ect", "--episodes", "1", "--quiet",
            "--out", tmp_path / "o"]  # fmt: skip
    data = yaml.safe_load(path.read_text())
    data["episode"]["epoch"] = "2025-07-01T00:00:00Z"
    path.write_text(yaml.safe_dump(data))
    code, err = run_main("evaluate", argv, capsys)
    assert code == 0, err
    # The stale TLE is one line; the other is the one-seed warning (agents.bootstrap).
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: bad.yaml: constellation.tle_file"), err
    assert "30.0 days before the start 2025-07-01T00:00:00Z" in lines[0]
    assert lines[1].startswith("warning: 1 seed per load")


def test_contact_plan_warns_in_one_line_for_a_stale_tle_and_carries_on(tmp_path, capsys):
    files = _files(tmp_path)
    argv = ["--tle", files["good_tle"], "--stations", CHINA, "--start", "2025-07-01T00:00:00Z",
            "--hours", "1", "--no-cache", "--quiet", "--out", tmp_path / "p.csv"]  # fmt: skip
    code, err = run_main("contact_plan", argv, capsys)
    assert code == 0, err
    assert (tmp_path / "p.csv").is_file()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: --tle {files['good_tle']}: "), err
    for fragment in ("'STAR-01-01' (catalogue number 90001)",
                     "30.0 days before the start 2025-07-01T00:00:00Z"):  # fmt: skip
        assert fragment in lines[0], err


CACHE_CASES = {
    "zero-byte-entry": lambda entry: entry.write_bytes(b""),
    "truncated-entry": lambda entry: entry.write_bytes(entry.read_bytes()[:100]),
}


@pytest.mark.parametrize("case", CACHE_CASES, ids=list(CACHE_CASES))
def test_bad_cache_entry_is_one_warning_line_and_the_plan_is_rewritten(tmp_path, capsys, case):
    cache, out = tmp_path / "cache", tmp_path / "p.csv"
    argv = ["--tle", REPO / "configs" / "tle" / "star_compute_12.tle", "--stations", CHINA,
            "--start", START, "--hours", "2", "--quiet", "--cache-dir", cache,
            "--out", out]  # fmt: skip
    assert run_main("contact_plan", argv, capsys) == (0, "")
    want = out.read_text()
    (entry,) = cache.glob("*.npz")
    CACHE_CASES[case](entry)
    code, err = run_main("contact_plan", argv, capsys)
    assert code == 0 and out.read_text() == want
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: contact-plan cache: "), err
    assert entry.name in lines[0] and "recomputing" in lines[0]
    assert run_main("contact_plan", argv, capsys) == (0, "")  # rewritten: read back silently


def test_unwritable_cache_folder_is_one_warning_line_naming_it(tmp_path, capsys):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    argv = ["--tle", REPO / "configs" / "tle" / "star_compute_12.tle", "--stations", CHINA,
            "--start", START, "--hours", "1", "--quiet", "--cache-dir", blocker,
            "--out", tmp_path / "p.csv"]  # fmt: skip
    code, err = run_main("contact_plan", argv, capsys)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines == [f"warning: contact-plan cache folder {blocker}: cannot write (File exists); "
                     "continuing without the cache"]  # fmt: skip


def test_argparse_errors_exit_2_with_usage_and_no_traceback(capsys):
    with pytest.raises(SystemExit) as info:
        run_main("evaluate", ["--scenario", "toy", "--agents", "ect", "--out", "o",
                              "--episodes", "three"], capsys)  # fmt: skip
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert err.startswith("usage: ")
    assert "error: argument --episodes: invalid int value: 'three'" in err


# --- the scripts, as a user runs them ------------------------------------------------------

SUBPROCESS_CASES = {
    "contact_plan": ("contact_plan", SCRIPT_CASES["contact_plan-tle-checksum-error"][1]),
    "evaluate": ("evaluate", SCRIPT_CASES["evaluate-corrupt-model-file"][1]),
    "train": ("train", SCRIPT_CASES["train-unknown-preset"][1]),
    "benchmark": ("benchmark", SCRIPT_CASES["benchmark-unknown-scenario"][1]),
}


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=list(SUBPROCESS_CASES))
def test_script_process_exits_2_without_a_traceback(tmp_path, case):
    name, template = SUBPROCESS_CASES[case]
    argv = _argv(template, _files(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *argv],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
