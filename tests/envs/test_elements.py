"""Tests for envs.orbits.elements: the format of an element-set file comes from its content."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.errors import TLEError
from envs.orbits import load_elements, load_tles
from tests.omm_files import KINDS, omm_records, write_omm

REPO = Path(__file__).resolve().parents[2]
STAR_TLE = REPO / "configs" / "tle" / "star_compute_12.tle"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", ["", ".txt", ".tle", ".dat"])
def test_omm_is_recognised_by_its_content_whatever_the_extension(tmp_path, kind, suffix):
    tles = load_tles(STAR_TLE)
    path = write_omm(tmp_path / f"sats{suffix}", omm_records(tles), kind)
    assert [t.name for t in load_elements(path)] == [t.name for t in tles]


@pytest.mark.parametrize("suffix", ["", ".json", ".csv", ".xml"])
def test_tle_lines_are_read_as_tles_whatever_the_extension(tmp_path, suffix):
    path = tmp_path / f"sats{suffix}"
    path.write_text(STAR_TLE.read_text())
    assert load_elements(path) == load_tles(STAR_TLE)


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bad.tle", "hello\n", "bad.tle line 1: name line 'hello' is not followed by a TLE"),
        ("bad.json", "nothing here\n", "bad.json: line 1, column 1: malformed JSON"),
        ("bad.xml", "nothing here\n", "bad.xml: line 1, column 1: malformed XML"),
        ("bad.csv", "a,b\n1,2\n", "bad.csv line 1: OMM CSV header lacks NORAD_CAT_ID"),
    ],
)
def test_undetectable_content_is_reported_by_the_parser_of_its_extension(
    tmp_path, name, text, fragment
):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TLEError) as info:
        load_elements(path)
    assert fragment in str(info.value)


@pytest.mark.parametrize("name", ["sats.kml", "sats", "sats.yaml"])
def test_unknown_format_lists_the_accepted_ones(tmp_path, name):
    path = tmp_path / name
    path.write_text("satellites: many\n")
    with pytest.raises(TLEError) as info:
        load_elements(path)
    text = str(info.value)
    assert text.startswith(f"{path}: unknown element-set format; accepted: TLE")
    for fragment in ("OMM JSON", "OMM CSV", "OMM XML"):
        assert fragment in text


def test_binary_file_is_an_unknown_format_unless_named_as_one(tmp_path):
    path = tmp_path / "sats.bin"
    path.write_bytes(b"\x89PNG\x00\x01")
    with pytest.raises(TLEError, match="unknown element-set format"):
        load_elements(path)
    path = path.rename(tmp_path / "sats.tle")
    with pytest.raises(TLEError, match=r"sats\.tle line 1: NUL byte"):
        load_elements(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(TLEError, match=r"gone\.json: element-set file not found"):
        load_elements(tmp_path / "gone.json")
