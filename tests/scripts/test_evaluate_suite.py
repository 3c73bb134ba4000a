"""scripts/evaluate.py --suite: the smoke suite end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agents.heuristics import HEURISTICS
from agents.suite import SUITE_COLUMNS
from tests.scripts_loader import read_csv

REPO = Path(__file__).resolve().parents[2]
EVALUATE = REPO / "scripts" / "evaluate.py"


def test_smoke_suite_runs_end_to_end_and_reads_each_extra_agent(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(EVALUATE), "--suite", str(REPO / "configs/suites/smoke.yaml"),
         "--agents", "oracle", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "suite smoke" in proc.stdout and "bound *" in proc.stdout
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("oracle: ")]
    assert "the best heuristic in" in line and "of 3 cells at load ≥ 1; worst" in line
    rows = read_csv(out / "suite.csv")
    assert list(rows[0]) == list(SUITE_COLUMNS)
    agents = [a for a in HEURISTICS if a != "oracle"] + ["oracle"]
    assert [(r["label"], float(r["load"]), r["agent"]) for r in rows] == [
        (label, load, a) for label, load in (("toy", 1.0), ("toy", 2.0), ("star_compute_12", 1.0))
        for a in agents
    ]  # fmt: skip
    assert {r["episodes"] for r in rows} == {"2"}
    data = json.loads((out / "suite.json").read_text())
    assert data["extra_agents"] == ["oracle"]
    for folder in ("00_toy", "01_star_compute_12"):
        for name in ("summary.csv", "jobs.csv", "comparison.csv", "turnaround_cdf.png",
                     "report.html"):  # fmt: skip
            assert (out / "cells" / folder / name).stat().st_size > 0, (folder, name)
        assert f'href="cells/{folder}/report.html"' in (out / "report.html").read_text()
