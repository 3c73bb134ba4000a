"""scripts/ground_network_study.py, run as a user would, on a short horizon."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests import scripts_loader

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "scripts" / "ground_network_study.py"
COLUMNS = [
    "scenario", "option", "networks", "antennas_per_station", "satellites", "stations",
    "passes_per_day", "pass_min_per_day", "contact_min_per_day", "contact_min_per_sat_day",
    "mean_gap_min", "max_gap_min", "capacity_gb_per_day", "capacity_gb_per_sat_day", "hours",
    "best_single", "ratio_to_best_single",
]  # fmt: skip
OPTIONS = ["china", "aws", "ksat", "aws+ksat", "all"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLI), *map(str, args)], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("study")
    proc = run("--scenarios", "star_compute_12,walker_100", "--networks", ",".join(OPTIONS),
               "--hours", "1", "--antennas", "unlimited,1", "--out", out, "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out, proc


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_one_row_per_scenario_option_and_antenna_assumption(study):
    out, proc = study
    assert proc.stdout == ""
    assert (out / "ground_network.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    rows = read_rows(out / "ground_network.csv")
    keys = [(r["scenario"], r["antennas_per_station"], r["option"]) for r in rows]
    assert keys == [
        (s, a, o) for s in ("star_compute_12", "walker_100") for a in ("unlimited", "1")
        for o in OPTIONS
    ]  # fmt: skip
    stations = {r["option"]: int(r["stations"]) for r in rows}
    assert stations == {"china": 10, "aws": 12, "ksat": 36, "aws+ksat": 48, "all": 58}
    assert {r["networks"] for r in rows if r["option"] == "all"} == {"china+ksat+aws"}
    assert {int(r["satellites"]) for r in rows} == {12, 100}
    assert {r["hours"] for r in rows} == {"1.0"}
    doc = json.loads((out / "ground_network.json").read_text())
    assert len(doc["rows"]) == len(rows) and doc["config"]["hours"] == 1.0
    assert [s["scenario"] for s in doc["config"]["scenarios"]] == ["star_compute_12", "walker_100"]
    png = (out / "ground_network.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_capacities_are_non_negative_and_multi_vendor_never_below_the_best_single(study):
    rows = read_rows(study[0] / "ground_network.csv")
    groups: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["antennas_per_station"]), {})[r["option"]] = r
    for group in groups.values():
        cap = {o: float(r["capacity_gb_per_day"]) for o, r in group.items()}
        assert all(c >= 0 for c in cap.values())
        best = max(cap["china"], cap["aws"], cap["ksat"])
        assert cap["aws+ksat"] >= max(cap["aws"], cap["ksat"]) and cap["all"] >= best
        for o, r in group.items():
            assert r["best_single"] == max(("china", "aws", "ksat"), key=cap.get)
            assert float(r["ratio_to_best_single"]) == pytest.approx(cap[o] / best)
            assert float(r["contact_min_per_day"]) <= float(r["pass_min_per_day"]) + 1e-6
            # A satellite downlinks at most at 100 Mbit/s while in contact.
            most = float(r["contact_min_per_day"]) * 60 * 12.5e6 / 1e9
            assert float(r["capacity_gb_per_day"]) <= most * (1 + 1e-9)
    for scenario in ("star_compute_12", "walker_100"):
        one, free = groups[(scenario, "1")], groups[(scenario, "unlimited")]
        for o in OPTIONS:
            assert float(one[o]["capacity_gb_per_day"]) <= float(free[o]["capacity_gb_per_day"])
            assert one[o]["contact_min_per_day"] == free[o]["contact_min_per_day"]
    # 12 satellites 30 deg apart in one plane never share a station (10 deg mask): no loss.
    sc = groups[("star_compute_12", "1")], groups[("star_compute_12", "unlimited")]
    assert [sc[0][o]["capacity_gb_per_day"] for o in OPTIONS] == [
        sc[1][o]["capacity_gb_per_day"] for o in OPTIONS
    ]
    w = groups[("walker_100", "1")]["ksat"], groups[("walker_100", "unlimited")]["ksat"]
    assert float(w[0]["capacity_gb_per_day"]) < float(w[1]["capacity_gb_per_day"])


def test_prints_the_table_with_ratios(tmp_path):
    proc = run("--scenarios", "star_compute_12", "--networks", "aws,ksat,aws+ksat", "--hours",
               "1", "--antennas", "1", "--out", tmp_path, "--no-cache")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "× best" in proc.stdout and "aws+ksat" in proc.stdout
    rows = read_rows(tmp_path / "ground_network.csv")
    assert [r["option"] for r in rows] == ["aws", "ksat", "aws+ksat"]
    assert not math.isnan(float(rows[2]["ratio_to_best_single"]))


def test_help_documents_every_option():
    proc = run("--help")
    assert proc.returncode == 0
    for option in ("--scenarios", "--networks", "--hours", "--antennas", "--rate-model",
                   "--min-elevation", "--out", "--cache-dir", "--no-cache", "--quiet"):  # fmt: skip
        assert option in proc.stdout


def load_cli_module():
    """The script as a module, to call ``main`` in this process (no interpreter start-up)."""
    return scripts_loader.load_script(CLI.stem)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--networks", "aws+kast"], "'kast'"),
        (["--networks", "aws,aws"], "--networks"),
        (["--antennas", "0"], "--antennas"),
        (["--antennas", "two"], "--antennas"),
        (["--hours", "-1"], "--hours"),
        (["--min-elevation", "95"], "--min-elevation"),
        (["--scenarios", "nowhere"], "nowhere"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_error(tmp_path, capsys, args, fragment):
    cli = load_cli_module()
    argv = ["--scenarios", "star_compute_12", "--hours", "1", "--out", str(tmp_path), *args]
    assert cli.run_cli(cli.main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ground_network.csv").exists()


def test_a_bad_network_fails_as_a_process_before_any_work(tmp_path):
    proc = run("--scenarios", "star_compute_12", "--networks", "ksat,aws+kast", "--out", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --networks: unknown network 'kast' in 'aws+kast'")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_rerun_replaces_the_output_folder_whole(tmp_path, capsys):
    study = scripts_loader.load_script("ground_network_study")
    argv = ["--scenarios", "star_compute_12", "--networks", "aws", "--hours", "1", "--antennas",
            "1", "--quiet", "--out", str(tmp_path / "out")]  # fmt: skip
    assert study.main(argv) == 0
    (tmp_path / "out" / "stale_plot.png").write_bytes(b"from an earlier run")
    assert study.main(argv) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [".constellation-dispatch-run", "ground_network.csv", "ground_network.json",
                     "ground_network.png"]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial folder left
