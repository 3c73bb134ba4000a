"""``constellation-dispatch sweep``: trials on Ray Tune, one CSV, the best configuration."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import pytest
import yaml

from agents.cli import main
from agents.cli.sweep import Sweep, best_config, load_sweep
from envs.errors import ConfigError
from envs.resources import configs_dir

TINY = {
    "algo": "maskable_ppo",
    "timesteps": 128,
    "seeds": [0],
    "scenarios": ["toy"],
    "grid": {"learning_rate": [1.0e-4, 3.0e-4]},
    "fixed": {"bc": None, "n_steps": 64, "batch_size": 64, "n_epochs": 1, "eval_freq": 128,
              "eval_load": 1.0},
}  # fmt: skip


def _write(tmp_path: Path, data: dict, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_a_two_trial_sweep_writes_one_row_per_trial_and_the_best_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    out = tmp_path / "out"
    argv = ["sweep", "--file", _write(tmp_path, TINY), "--out", out, "--cpus", "2", "--quiet"]
    assert main([str(a) for a in argv]) == 0
    with (out / "sweep.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["trial"], r["scenario"], r["seed"], r["learning_rate"]) for r in rows] == [
        ("0", "toy", "0", "0.0001"), ("1", "toy", "0", "0.0003")
    ]  # fmt: skip
    for r in rows:
        assert float(r["cost_per_job_s"]) > 0 and float(r["ect_cost_per_job_s"]) > 0
        assert 0 <= float(r["drop_rate"]) <= 1 and float(r["wall_time_s"]) > 0
        assert int(r["evaluated_at"]) >= 128
        assert (out / r["folder"] / "model.zip").is_file()
    best = yaml.safe_load((out / "best.yaml").read_text())
    cheapest = min(rows, key=lambda r: float(r["cost_per_job_s"]))
    assert best["hyperparameters"] == {"learning_rate": float(cheapest["learning_rate"])}
    assert best["mean_cost_per_job_s"] == pytest.approx(float(cheapest["cost_per_job_s"]))
    assert f"learning_rate={cheapest['learning_rate']}" in best["hp"]


def test_the_best_config_has_the_lowest_mean_cost_over_seeds():
    sweep = Sweep("ppo", 10, (0, 1), ("toy",), (("gamma", (0.9, 0.99)),))
    rows = [  # gamma 0.9 wins one seed by a little, loses the other by a lot
        {"gamma": 0.9, "seed": 0, "cost_per_job_s": 100.0},
        {"gamma": 0.99, "seed": 0, "cost_per_job_s": 110.0},
        {"gamma": 0.9, "seed": 1, "cost_per_job_s": 300.0},
        {"gamma": 0.99, "seed": 1, "cost_per_job_s": 120.0},
    ]
    best = best_config(sweep, rows)
    assert best["hyperparameters"] == {"gamma": 0.99}
    assert best["mean_cost_per_job_s"] == 115.0 and best["trials"] == 2
    assert best["hp"] == ["gamma=0.99"]
    rows[3]["cost_per_job_s"] = math.nan  # a trial without a cost does not count
    assert best_config(sweep, rows)["mean_cost_per_job_s"] == 110.0


def test_the_shipped_example_sweep_is_valid_package_data():
    sweep = load_sweep(configs_dir() / "sweeps" / "example.yaml")
    assert len(sweep.trials()) == len(sweep.scenarios) * len(sweep.seeds) * len(
        sweep.combinations()
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"grids": {}}, "unknown key(s) ['grids']"),
        ({"grid": {}}, "grid: expected a non-empty mapping"),
        ({"grid": {"learning_rate": []}}, "grid.learning_rate: expected a non-empty list"),
        ({"grid": {"learning_rat": [1]}}, "unknown hyperparameter(s) ['learning_rat']"),
        ({"grid": {"load": [1, 2]}}, "load is a scenario override"),
        ({"seeds": [0, -1]}, "seeds: expected a list of distinct integers >= 0"),
        ({"timesteps": 0}, "timesteps: expected an integer >= 1"),
        ({"algo": "sac"}, "algo: expected one of"),
        ({"scenarios": ["toyy"]}, "toyy"),
    ],
)
def test_a_bad_sweep_file_is_a_one_line_error(change, fragment, tmp_path):
    path = _write(tmp_path, {**TINY, **change})
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--address", "head"], "--address: expected auto, HOST:PORT or ray://HOST:PORT"),
        (["--address", "auto", "--cpus", "2"], "--cpus: only for a local instance"),
        (["--cpus", "0"], "--cpus: must be >= 1, got 0"),
    ],
)
def test_bad_options_exit_2_with_one_error_line(extra, fragment, tmp_path, capsys):
    argv = ["sweep", "--file", str(_write(tmp_path, TINY)), "--out", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert not (tmp_path / "o").exists()
