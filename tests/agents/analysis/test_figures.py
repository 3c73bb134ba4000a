"""agents.analysis.figures draws without pyplot and without choosing a backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

PNG = b"\x89PNG\r\n\x1a\n"


def test_study_figures_leave_pyplot_and_the_backend_alone(tmp_path):
    # A fresh interpreter: another test may have imported pyplot already.
    code = textwrap.dedent(
        f"""
        import math, sys
        from pathlib import Path
        import matplotlib
        raw = lambda: dict.__getitem__(matplotlib.rcParams, "backend")  # no resolving
        before = raw()
        from agents.analysis.figures import plot_capacity, plot_isl
        rows = [
            {{"scenario": "s", "option": "a", "networks": "a", "antennas_per_station": 1,
              "capacity_gb_per_day": 2.0, "ratio_to_best_single": 1.0}},
            {{"scenario": "s", "option": "a+b", "networks": "a+b", "antennas_per_station": 1,
              "capacity_gb_per_day": 3.0, "ratio_to_best_single": 1.5}},
        ]
        plot_capacity(rows, Path({str(tmp_path)!r}) / "capacity.png", 24.0)
        summary = [{{"variant": v, "agent": "ect", "mean_s": 60.0, "p95_s": 120.0,
                     "share_under": 0.5}} for v in ("off", "isl_1hop")]
        plot_isl(summary, Path({str(tmp_path)!r}) / "isl.png", 120.0)
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        assert raw() == before, (before, raw())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("MPLBACKEND", None)  # no backend chosen from outside either
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("capacity.png", "isl.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
