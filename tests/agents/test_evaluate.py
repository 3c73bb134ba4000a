"""agents.evaluate, scripts/evaluate.py and scripts/plot_episode.py on the toy scenario."""

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
from agents.report import write_results
from agents.results import BOUND_LABEL, EpisodeResult, EvaluationResult
from agents.stats import COMPARISON_COLUMNS, SUMMARY_COLUMNS, compare_with, paired_differences
from envs.errors import ConfigError
from tests.scripts_loader import read_csv

REPO = Path(__file__).resolve().parents[2]
EVALUATE = REPO / "scripts" / "evaluate.py"
PLOT_EPISODE = REPO / "scripts" / "plot_episode.py"
PNG = b"\x89PNG\r\n\x1a\n"
LOADS = [1.0, 2.0]


def run(script: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def toy_eval(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    result = evaluate("toy", ["random", "ect"], LOADS, episodes=2, seed=0, progress=False)
    write_results(result, out)
    return result, out


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


def test_paired_differences_match_the_episodes(toy_eval):
    result, _ = toy_eval
    diffs = paired_differences(result, "ect", "random")
    assert [(d.load, d.seed) for d in diffs] == [(ld, s) for ld in LOADS for s in (0, 1)]
    for d in diffs:
        assert math.isclose(d.difference_s, d.mean_a_s - d.mean_b_s)
    with pytest.raises(ConfigError, match="oracle"):
        paired_differences(result, "oracle", "random")


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
    MaskablePPO("MlpPolicy", ConstellationDispatchEnv("toy"), n_steps=16, seed=0).save(path)
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


def test_comparison_with_ect_matches_the_summary_and_is_written(toy_eval):
    result, out = toy_eval
    rows = compare_with(result, "ect")
    assert [(r["agent"], r["load"]) for r in rows] == [("random", x) for x in LOADS]
    summary = {(r["agent"], r["load"]): r for r in result.summary}
    for r in rows:
        mine, ect = summary["random", r["load"]], summary["ect", r["load"]]
        mean = mine["mean_turnaround_s"] / ect["mean_turnaround_s"]
        assert r["mean_ratio"] == pytest.approx(mean)
        assert r["cost_ratio"] == pytest.approx(mine["cost_per_job_s"] / ect["cost_per_job_s"])
        turn = [np.concatenate([e.turnarounds_s for e in result.episodes_of(a, r["load"])])
                for a in ("random", "ect")]  # fmt: skip
        p95 = [np.percentile(t, 95, method="inverted_cdf") for t in turn]
        assert r["p95_ratio"] == pytest.approx(p95[0] / p95[1])
        for key in ("mean", "p95", "cost"):
            assert r[f"{key}_ratio_low"] <= r[f"{key}_ratio"] <= r[f"{key}_ratio_high"]
    written = read_csv(out / "comparison.csv")
    assert list(written[0]) == list(COMPARISON_COLUMNS) and len(written) == len(rows)
    with pytest.raises(ConfigError, match="'oracle' was not evaluated"):
        compare_with(result, "oracle")


def _episode(agent: str, seed: int, turnarounds: np.ndarray) -> EpisodeResult:
    jobs = {"turnaround_s": turnarounds, "status": np.array(["completed"] * len(turnarounds))}
    metrics = {"jobs_completed": len(turnarounds), "jobs_dropped": 0,
               "cost_s": float(turnarounds.sum())}  # fmt: skip
    return EpisodeResult(agent, "x", 1.0, seed, metrics, jobs, len(turnarounds), False, 0)


def test_the_comparison_interval_is_paired_over_seeds():
    # Episodes differ tenfold in workload, but b is exactly 0.8 x a in every one of them:
    # a paired interval is the point itself; an unpaired one would be wide.
    rng = np.random.default_rng(0)
    base = [rng.exponential(scale, 50) for scale in (100.0, 1000.0, 3000.0, 300.0, 30.0)]
    episodes = [_episode(a, s, t * f) for s, t in enumerate(base)
                for a, f in (("a", 1.0), ("b", 0.8))]  # fmt: skip
    result = EvaluationResult({"agents": ["a", "b"], "loads": [1.0]}, episodes, [])
    (row,) = compare_with(result, "a", resamples=500)
    for key in ("mean", "p95", "cost"):
        assert row[f"{key}_ratio"] == pytest.approx(0.8)
        assert row[f"{key}_ratio_low"] == pytest.approx(0.8)
        assert row[f"{key}_ratio_high"] == pytest.approx(0.8)
    other_seeds = [_episode(e.agent, e.seed + (e.agent == "b"), e.turnarounds_s) for e in episodes]
    with pytest.raises(ConfigError, match="not paired"):
        compare_with(EvaluationResult({"agents": ["a", "b"], "loads": [1.0]}, other_seeds, []), "a")


def test_comparison_takes_a_reference_per_load_and_can_include_it(toy_eval):
    result, _ = toy_eval
    rows = compare_with(result, {1.0: "random", 2.0: "ect"}, include_reference=True)
    assert [(r["agent"], r["reference"], r["load"]) for r in rows] == [
        ("random", "random", 1.0), ("ect", "random", 1.0),
        ("random", "ect", 2.0), ("ect", "ect", 2.0),
    ]  # fmt: skip
    for r in rows:
        if r["agent"] == r["reference"]:  # exactly 1 with a degenerate interval
            for key in ("mean", "p95", "cost"):
                assert r[f"{key}_ratio"] == r[f"{key}_ratio_low"] == r[f"{key}_ratio_high"] == 1
    same = [r for r in compare_with(result, "ect") if r["load"] == 2.0]
    assert same == [r for r in rows if r["load"] == 2.0 and r["agent"] != "ect"]
    assert [r["load"] for r in compare_with(result, {2.0: "ect"})] == [2.0]
    with pytest.raises(ConfigError, match="'oracle' was not evaluated"):
        compare_with(result, {1.0: "oracle"})


def test_cli_scenario_overrides_reach_every_episode(tmp_path):
    out = tmp_path / "out"
    proc = run(EVALUATE, "--scenario", "toy", "--agents", "ect", "--episodes", "2", "--seed",
               "0", "--set", "episode.duration_s=600", "--out", out, "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    arrivals = [float(r["arrival_s"]) for r in read_csv(out / "jobs.csv")]
    assert arrivals and max(arrivals) < 600.0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["overrides"] == {"episode.duration_s": 600}


def test_printed_tables_name_models_by_file_and_keep_every_column(toy_eval):
    from io import StringIO

    from rich.console import Console

    from agents.report import print_comparison, print_table

    result, _ = toy_eval
    long = "maskable_ppo:/a/very/long/folder/name/that/would/squeeze/the/table/best_model.zip"
    rows = [dict(r, agent=long if r["agent"] == "random" else r["agent"]) for r in result.summary]
    buffer = StringIO()
    console = Console(file=buffer, width=80)  # not a terminal: the tables widen themselves
    print_table(rows, console=console)
    print_comparison([dict(r, agent=long) for r in compare_with(result, "ect")], console=console)
    text = buffer.getvalue()
    assert "maskable_ppo:best_model.zip" in text and "/a/very" not in text
    assert "cost/job" in text and "…" not in text


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_crash_mid_write_leaves_the_previous_run_whole(toy_eval, tmp_path, monkeypatch):
    result, _ = toy_eval
    out = tmp_path / "out"
    write_results(result, out, plots=False)
    before = _listing(out)
    assert "comparison.csv" in before and ".constellation-dispatch-run" in before

    def killed(*args, **kwargs):  # after summary.csv and jobs.csv, before comparison.csv
        raise KeyboardInterrupt

    monkeypatch.setattr("agents.report.compare_with", killed)
    with pytest.raises(KeyboardInterrupt):
        write_results(result, out, plots=False)
    assert _listing(out) == before  # no new summary.csv beside the old jobs.csv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial or 0-byte file


def test_reusing_an_output_folder_leaves_no_file_of_the_previous_run(toy_eval, tmp_path):
    result, _ = toy_eval
    out = tmp_path / "out"
    write_results(result, out)  # random and ect: comparison.csv and plots
    alone = evaluate("toy", ["random"], [1.0], episodes=1, seed=0, progress=False)
    stale = tmp_path / f".out.partial-{_dead_pid()}-x"  # left by a killed run
    stale.mkdir()
    (stale / ".summary.csv.tmp").write_text("")
    paths = write_results(alone, out, plots=False)
    assert sorted(p.name for p in out.iterdir()) == [
        ".constellation-dispatch-run",
        "jobs.csv",
        "summary.csv",
        "summary.json",
    ]
    assert paths == [out / "summary.csv", out / "jobs.csv", out / "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_that_is_not_a_run_is_never_replaced(toy_eval, tmp_path):
    result, _ = toy_eval
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="output folder exists and is not a previous run's"):
        write_results(result, tmp_path, plots=False)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def _printed(print_fn, rows) -> str:
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    print_fn(rows, console=Console(file=buffer, width=80))  # a file: not a terminal
    return buffer.getvalue()


def test_the_comparison_caption_keeps_its_brackets(toy_eval):
    from agents.report import print_comparison

    result, _ = toy_eval
    text = _printed(print_comparison, compare_with(result, "ect"))
    assert "[low-high]: 95 % paired BCa bootstrap" in text  # not eaten as rich markup
    assert "(fewer than 5 seeds: the intervals mean little)" in text


def test_a_label_of_any_length_keeps_every_column_whole_in_a_log(toy_eval):
    from agents.report import print_table

    result, _ = toy_eval
    long = "rollout:" + "x" * 140  # no file name to shorten it to
    rows = [dict(r, agent=long if r["agent"] == "random" else r["agent"]) for r in result.summary]
    text = _printed(print_table, rows)
    assert long in text and "…" not in text
    header = next(line for line in text.splitlines() if "agent" in line and "load" in line)
    for name in ("95 % CI", "p50", "p95", "p99", "done", "drop%", "cost/job"):
        assert name in header, name


def test_the_summary_table_gives_minute_long_turnarounds_in_minutes(toy_eval):
    from agents.report import print_table

    result, _ = toy_eval
    hours = _printed(print_table, result.summary)
    assert "turnaround in hours" in hours
    fast = [dict(r, **{k: r[k] / 100 for k in r if k.endswith("_s")}) for r in result.summary]
    text = _printed(print_table, fast)
    assert "turnaround in minutes" in text and "0.0" not in text.split("cost/job")[1][:60]
    ect = next(r for r in fast if r["agent"] == "ect" and r["load"] == 1.0)
    row = next(line for line in text.splitlines() if line.strip().startswith("ect "))
    assert f"{ect['mean_turnaround_s'] / 60:.2f}" in row
