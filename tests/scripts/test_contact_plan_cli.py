"""scripts/contact_plan.py and scripts/generate_tles.py, run as a user would."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "scripts" / "contact_plan.py"
TLE = REPO / "configs" / "tle" / "star_compute_12.tle"
CHINA = REPO / "configs" / "ground_stations" / "china.yaml"
KSAT = REPO / "configs" / "ground_stations" / "ksat.yaml"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_sorted_csv_with_the_documented_columns(tmp_path):
    out, plot = tmp_path / "passes.csv", tmp_path / "passes.png"
    proc = run(
        "--tle", TLE, "--stations", CHINA, KSAT, "--start", "2025-06-01T00:00:00Z",
        "--hours", "12", "--min-elevation", "10", "--out", out, "--plot", plot,
        "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header = out.read_text().splitlines()[0]
    assert header == "satellite,station,rise_utc,set_utc,max_elevation_deg"
    rows = read_rows(out)
    assert len(rows) > 50
    rises = [r["rise_utc"] for r in rows]
    assert rises == sorted(rises)
    for r in rows:
        assert r["rise_utc"].endswith("Z") and r["set_utc"].endswith("Z")
        rise = datetime.fromisoformat(r["rise_utc"].replace("Z", "+00:00"))
        set_ = datetime.fromisoformat(r["set_utc"].replace("Z", "+00:00"))
        assert rise <= set_
        assert 10.0 <= float(r["max_elevation_deg"]) <= 90.0
        assert r["satellite"].startswith("STAR-01-")
    assert {r["station"] for r in rows} & {"KSAT Svalbard", "RSGS Kashi"}
    assert plot.stat().st_size > 10_000
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_line_files_name_satellites_by_catalogue_number(tmp_path):
    lines = [ln for ln in TLE.read_text().splitlines() if ln[:2] in ("1 ", "2 ")]
    two_line = tmp_path / "two.tle"
    two_line.write_text("\n".join(lines[:4]) + "\n")
    out = tmp_path / "p.csv"
    proc = run(
        "--tle", two_line, "--stations", KSAT, "--start", "2025-06-01T00:00:00Z",
        "--hours", "6", "--out", out, "--no-cache", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert {r["satellite"] for r in read_rows(out)} <= {"90001", "90002"}
    assert proc.stdout == ""


def test_omm_and_geojson_inputs_give_the_plan_of_their_tle_and_yaml(tmp_path, shared_data):
    from envs.orbits import load_tles
    from tests.omm_files import omm_records, write_omm

    geojson = shared_data / "ground_stations" / "ksat.json"
    if not geojson.is_file():
        pytest.skip(f"shared GeoJSON missing: {geojson}")
    omm = write_omm(tmp_path / "sats.xml", omm_records(load_tles(TLE)), "xml")
    common = ("--start", "2025-06-01T00:00:00Z", "--hours", "6", "--no-cache", "--quiet")
    runs = {"tle-yaml": (TLE, KSAT), "omm-geojson": (omm, geojson)}
    rows = {}
    for label, (sats, stations) in runs.items():
        out = tmp_path / f"{label}.csv"
        proc = run("--tle", sats, "--stations", stations, "--out", out, *common)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        rows[label] = read_rows(out)
    for row in rows["omm-geojson"]:  # the YAML prefixes the operator and corrects a spelling
        row["station"] = "KSAT " + {"Tuskuba": "Tsukuba"}.get(row["station"], row["station"])
    assert len(rows["tle-yaml"]) > 20
    assert rows["omm-geojson"] == rows["tle-yaml"]


def test_help_documents_every_option():
    proc = run("--help")
    assert proc.returncode == 0
    for option in ("--tle", "--stations", "--start", "--hours", "--min-elevation", "--out",
                   "--plot", "--step", "--cache-dir", "--no-cache"):  # fmt: skip
        assert option in proc.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--start", "yesterday"], "--start"),
        (["--start", "2025-06-01T00:00:00Z", "--hours", "-1"], "--hours"),
        (["--start", "2025-06-01T00:00:00Z", "--min-elevation", "95"], "--min-elevation"),
        (["--start", "2025-06-01T00:00:00Z", "--step", "301"], "--step: must be in (0, 300]"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_error(tmp_path, args, fragment):
    proc = run("--tle", TLE, "--stations", CHINA, "--out", tmp_path / "x.csv", *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and fragment in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_tle_and_station_files_exit_2_naming_the_file(tmp_path):
    bad_tle = tmp_path / "bad.tle"
    text = TLE.read_text().splitlines()
    text[1] = text[1][:-1] + str((int(text[1][-1]) + 1) % 10)  # break the checksum
    bad_tle.write_text("\n".join(text) + "\n")
    proc = run("--tle", bad_tle, "--stations", CHINA, "--start", "2025-06-01T00:00:00Z",
               "--out", tmp_path / "x.csv")  # fmt: skip
    assert proc.returncode == 2
    assert "bad.tle line 2" in proc.stderr and "checksum" in proc.stderr
    assert "Traceback" not in proc.stderr

    bad_yaml = tmp_path / "st.yaml"
    bad_yaml.write_text("stations:\n  - {name: X, lat_deg: 95, lon_deg: 0, alt_m: 0}\n")
    proc = run("--tle", TLE, "--stations", bad_yaml, "--start", "2025-06-01T00:00:00Z",
               "--out", tmp_path / "x.csv")  # fmt: skip
    assert proc.returncode == 2
    assert "st.yaml" in proc.stderr and "lat_deg" in proc.stderr and "95" in proc.stderr

    proc = run("--tle", tmp_path / "missing.tle", "--stations", CHINA,
               "--start", "2025-06-01T00:00:00Z", "--out", tmp_path / "x.csv")  # fmt: skip
    assert proc.returncode == 2 and "missing.tle" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_shipped_star_compute_tles_are_reproducible_from_the_generator(tmp_path):
    out = tmp_path / "sc12.tle"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_tles.py"),
         "--altitude-km", "500", "--planes", "1", "--sats-per-plane", "12",
         "--inclination", "sso", "--ltan-hours", "10.5", "--epoch", "2025-06-01T00:00:00Z",
         "--name-prefix", "STAR", "--first-catnr", "90001", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == TLE.read_text()


def test_no_pass_writes_the_header_only_and_an_empty_chart(tmp_path):
    """The reported crash: nothing clears an 89 deg mask in six minutes."""
    out, plot = tmp_path / "x.csv", tmp_path / "x.png"
    proc = run(
        "--tle", TLE, "--stations", CHINA, "--start", "2025-06-01T00:00:00Z", "--hours", "0.1",
        "--min-elevation", "89", "--out", out, "--plot", plot, "--no-cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines() == [",".join(
        ("satellite", "station", "rise_utc", "set_utc", "max_elevation_deg")
    )]  # fmt: skip
    assert read_rows(out) == []
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "0 passes" in proc.stdout
