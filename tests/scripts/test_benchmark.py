"""scripts/benchmark.py env: the environment's rate under a random policy or a heuristic."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import scripts_loader

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("policy", ["random", "ect"])
def test_env_benchmark_times_the_chosen_policy(tmp_path, policy):
    out = tmp_path / "b.json"
    argv = ["env", "--scenarios", "toy", "--decisions", "300", "--policy", policy, "--out", out]
    script = str(REPO / "scripts" / "benchmark.py")
    proc = subprocess.run([sys.executable, script, *map(str, argv)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"toy ({policy})" in proc.stdout
    result = json.loads(out.read_text())
    (row,) = result["scenarios"]
    assert row["scenario"] == "toy" and row["policy"] == policy
    assert row["decisions"] == 300 and row["episodes"] >= 1
    # Whether the observation was compiled (numba, envs.sim.compiled) is said and recorded.
    assert row["compiled"] == (importlib.util.find_spec("numba") is not None)
    assert ("compiled observation" if row["compiled"] else "Python observation") in proc.stdout
    assert row["per_s"] > 0 and row["ratio_vs_cartpole"] == pytest.approx(
        row["per_s"] / result["cartpole"]["per_s"]
    )


def test_fork_benchmark_reports_plain_sampled_future_and_deepcopy(tmp_path):
    out = tmp_path / "f.json"
    argv = ["fork", "--scenarios", "toy", "--decisions", "20", "--repeats", "20", "--out", out]
    script = str(REPO / "scripts" / "benchmark.py")
    proc = subprocess.run([sys.executable, script, *map(str, argv)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "toy: fork" in proc.stdout and "with a sampled future" in proc.stdout
    (row,) = json.loads(out.read_text())["scenarios"]
    assert row["fork_ms"] > 0 and row["fork_sampled_future_ms"] > 0 and row["deepcopy_ms"] > 0
    assert row["speedup_vs_deepcopy"] == pytest.approx(row["deepcopy_ms"] / row["fork_ms"])


def test_the_heuristic_drives_the_episode(monkeypatch):
    from agents import heuristics
    from agents.cli import benchmark as bench
    from envs.dispatch_env import ConstellationDispatchEnv

    chosen = []
    real = heuristics.ECTAgent.choose

    def spy(self, valid):
        chosen.append(real(self, valid))
        return chosen[-1]

    monkeypatch.setattr(heuristics.ECTAgent, "choose", spy)
    rate = bench._env_rate(lambda: ConstellationDispatchEnv("toy"), 50, 0, "ect")
    assert rate["decisions"] == 50 and len(chosen) == 50


@pytest.mark.parametrize(
    ("extra", "enabled", "source"),
    [
        ([], True, "soak"),
        (["--set", "faults={}"], False, "--set"),  # the user's faults replace the soak's
        (["--no-faults", "--set", "faults={satellite_failures: [{satellite: 0, time_s: 0}]}"],
         True, "--set"),
        (["--set", "faults.on_satellite_failure=drop"], True, "soak + --set"),
    ],
)  # fmt: skip
def test_soak_honours_faults_given_with_set(tmp_path, capsys, monkeypatch, extra, enabled, source):
    bench = scripts_loader.load_script("benchmark")
    out = tmp_path / "s.json"
    argv = ["soak", "--scenario", "toy", "--decisions", "40", "--warmup", "10",
            "--duration-s", "600", "--out", str(out), *extra]  # fmt: skip
    assert bench.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["faults"] is enabled and result["faults_from"] == source
    if "faults={}" in extra:
        assert result["overrides"]["faults"] == {}
    if "--no-faults" in extra:
        assert result["overrides"]["faults"]["satellite_failures"][0]["satellite"] == 0
    assert ("faults on" in capsys.readouterr().out) is enabled
