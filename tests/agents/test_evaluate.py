"""agents.evaluate (the runner), scripts/evaluate.py and scripts/plot_episode.py on toy."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from agents.evaluate import AgentSpec, evaluate, run_episode
from agents.results import BOUND_LABEL
from agents.stats import SUMMARY_COLUMNS
from envs.errors import ConfigError
from tests.scripts_loader import read_csv

LOADS = [1.0, 2.0]  # the loads of the toy_eval fixture (tests/agents/conftest.py)

REPO = Path(__file__).resolve().parents[2]
EVALUATE = REPO / "scripts" / "evaluate.py"
PLOT_EPISODE = REPO / "scripts" / "plot_episode.py"
PNG = b"\x89PNG\r\n\x1a\n"


def run(script: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_harness_writes_sane_tables_and_plots(toy_eval):
    result, out = toy_eval
    rows = read_csv(out / "summary.csv")
    assert list(rows[0]) == list(SUMMARY_COLUMNS)
    assert [(r["agent"], float(r["load"])) for r in rows] == [
        (a, load) for load in LOADS for a in ("random", "ect", BOUND_LABEL)
    ]
    bounds = [r for r in rows if r["agent"] == BOUND_LABEL]
    rows = [r for r in rows if r["agent"] != BOUND_LABEL]
    assert all(r["reference_bound"] == "True" for r in bounds)
    jobs = read_csv(out / "jobs.csv")
    per_key = defaultdict(int)
    for j in jobs:
        per_key[j["agent"], float(j["load"])] += 1
    for r in rows:
        mean, low, high = (float(r[k]) for k in ("mean_turnaround_s", "mean_ci_low_s",
                                                 "mean_ci_high_s"))  # fmt: skip
        completed, dropped = int(r["completed"]), int(r["dropped"])
        assert r["scenario"] == "toy" and int(r["episodes"]) == 2
        assert 0.0 <= float(r["drop_rate"]) <= 1.0
        assert completed > 0
        assert low <= mean * (1 + 1e-12) and mean <= high * (1 + 1e-12)
        p50, p95, p99 = (float(r[f"p{q}_turnaround_s"]) for q in (50, 95, 99))
        assert 0 < p50 <= p95 <= p99
        assert completed + dropped == per_key[r["agent"], float(r["load"])]
    # every job row carries the job_table columns, and completed ones their turnaround in s
    done = [j for j in jobs if j["status"] == "completed"]
    assert done and all(
        math.isclose(float(j["turnaround_s"]), float(j["delivered_s"]) - float(j["arrival_s"]))
        for j in done
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["scenario"] == "toy"
    assert summary["config"]["agents"] == ["random", "ect"]
    assert summary["config"]["loads"] == LOADS
    assert (summary["config"]["episodes"], summary["config"]["seed"]) == (2, 0)
    assert summary["config"]["package_version"]
    assert len(summary["summary"]) == len(rows) + len(bounds)
    for name in ("turnaround_cdf.png", "turnaround_vs_load.png"):
        assert (out / name).read_bytes()[:8] == PNG


def test_every_agent_sees_the_same_arrivals_for_a_load_and_seed(toy_eval):
    _, out = toy_eval
    arrivals = defaultdict(dict)
    for j in read_csv(out / "jobs.csv"):
        arrivals[j["load"], j["seed"]].setdefault(j["agent"], []).append(j["arrival_s"])
    assert len(arrivals) == len(LOADS) * 2
    for by_agent in arrivals.values():
        assert by_agent["random"] == by_agent["ect"]
    seeds = {(ld, sd): v["ect"] for (ld, sd), v in arrivals.items()}
    assert seeds["1.0", "0"] != seeds["1.0", "1"]  # different seeds, different episodes


def test_without_a_seed_evaluation_starts_where_the_suites_do():
    """Not seed 0: the shipped recipe imitates its teachers on seed 0 of its cells."""
    result = evaluate("toy", ["ect"], episodes=2, progress=False, overrides={"duration_s": 30})
    assert [e.seed for e in result.episodes] == [100, 101]


def test_process_pool_gives_the_same_summary_as_serial(toy_eval):
    serial, _ = toy_eval
    pooled = evaluate("toy", ["random", "ect"], LOADS, episodes=2, seed=0, workers=2,
                      progress=False)  # fmt: skip
    assert json.dumps(pooled.summary) == json.dumps(serial.summary)
    assert pooled.config == serial.config


def test_agent_specs_parse_and_reject_unknown_names():
    assert AgentSpec.parse("ect") == AgentSpec("ect")
    assert AgentSpec.parse("ppo:m.zip") == AgentSpec("ppo", "m.zip")
    for bad in ("fastest", "ect:x.zip", "maskable_ppo:", "sac:m.zip"):
        with pytest.raises(ConfigError, match="unknown agent"):
            AgentSpec.parse(bad)
    with pytest.raises(ConfigError, match="twice"):
        evaluate("toy", "ect,ect", [1.0], episodes=1, progress=False)
    with pytest.raises(ConfigError, match="load"):
        evaluate("toy", "ect", [0.0], episodes=1, progress=False)


def test_a_saved_maskable_ppo_model_plays_an_episode(tmp_path):
    from sb3_contrib import MaskablePPO

    from envs.dispatch_env import ConstellationDispatchEnv

    path = tmp_path / "model.zip"
    MaskablePPO(
        "MlpPolicy", ConstellationDispatchEnv("toy", observation="flat"), n_steps=16, seed=0
    ).save(path)
    ep = run_episode("toy", f"maskable_ppo:{path}", 1.0, seed=0)
    assert ep.agent == f"maskable_ppo:{path}"
    assert ep.metrics["jobs_completed"] + ep.metrics["jobs_dropped"] == len(ep.jobs["job"])
    heuristic = run_episode("toy", "ect", 1.0, seed=0)
    assert np.array_equal(ep.jobs["arrival_s"], heuristic.jobs["arrival_s"])


def test_cli_help_documents_the_options():
    proc = run(EVALUATE, "--help")
    assert proc.returncode == 0
    for option in ("--scenario", "--agents", "--episodes", "--seed", "--out", "--load",
                   "--workers", "--backend", "--plots", "maskable_ppo", "report.html"):  # fmt: skip
        assert option in proc.stdout
    assert "%%" not in proc.stdout and "95 %" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--agents", "ect,fastest"], "'fastest'"),
        (["--agents", "ect", "--load", "1,x"], "--load"),
        (["--agents", "ect", "--scenario", "no_such_scenario"], "no_such_scenario"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, args, needle):
    base = ["--scenario", "toy", "--episodes", "1", "--out", tmp_path / "out"]
    proc = run(EVALUATE, *base, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], proc.stderr


def test_cli_corrupt_model_file_exits_2_naming_the_file(tmp_path):
    model = tmp_path / "x.zip"
    model.write_bytes(b"not a zip file")
    proc = run(EVALUATE, "--scenario", "toy", "--agents", f"ect,maskable_ppo:{model}",
               "--episodes", "1", "--out", tmp_path / "out")  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(model) in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_cli_ray_backend_without_ray_gives_the_install_hint(tmp_path):
    proc = run(EVALUATE, "--scenario", "toy", "--agents", "ect", "--episodes", "1",
               "--backend", "ray", "--out", tmp_path / "out")  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e" in lines[0] and "[ray]" in lines[0], proc.stderr


def test_cli_end_to_end_with_episode_plots(tmp_path):
    out = tmp_path / "out"
    proc = run(EVALUATE, "--scenario", "toy", "--agents", "random,ect", "--episodes", "1",
               "--load", "1,2", "--seed", "3", "--out", out, "--plots")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ect" in proc.stdout and "random" in proc.stdout
    assert "paired against ect" in proc.stdout
    names = ("summary.csv", "jobs.csv", "summary.json", "comparison.csv", "turnaround_cdf.png",
             "turnaround_vs_load.png", "contact_gantt.png", "ground_tracks.png",
             "queue_length.png", "report.html")  # fmt: skip
    for name in names:
        assert (out / name).stat().st_size > 0, name
    assert {r["seed"] for r in read_csv(out / "jobs.csv")} == {"3"}


def test_plot_episode_writes_three_pngs(tmp_path):
    proc = run(PLOT_EPISODE, "--scenario", "toy", "--agent", "ect", "--seed", "0",
               "--out", tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("contact_gantt.png", "ground_tracks.png", "queue_length.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, name


def test_cli_scenario_overrides_reach_every_episode(tmp_path):
    out = tmp_path / "out"
    proc = run(EVALUATE, "--scenario", "toy", "--agents", "ect", "--episodes", "2", "--seed",
               "0", "--set", "episode.duration_s=600", "--out", out, "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    arrivals = [float(r["arrival_s"]) for r in read_csv(out / "jobs.csv")]
    assert arrivals and max(arrivals) < 600.0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["overrides"] == {"episode.duration_s": 600}
