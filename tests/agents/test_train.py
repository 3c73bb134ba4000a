"""Training smoke tests: a few hundred steps give a model that loads and evaluates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import agents.train
from agents.evaluate import run_episode
from agents.hyperparams import load_hyperparams
from agents.train import train
from envs.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
FAST = ["n_steps=64", "batch_size=32", "n_epochs=2", "eval_freq=128", "eval_seeds=[1000]"]


@pytest.mark.parametrize(
    ("algo", "policy"), [("maskable_ppo", "candidate"), ("maskable_ppo", "mlp"), ("ppo", "mlp")]
)
def test_short_training_produces_a_model_the_harness_evaluates(tmp_path, algo, policy):
    out = tmp_path / algo
    train("toy", algo, 256, 0, 1, out, overrides=[*FAST, f"policy={policy}"], progress=False)
    for name in ("model.zip", "best_model.zip", "config.yaml", "evaluations.csv"):
        assert (out / name).is_file(), name
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["algo"] == algo and config["hyperparameters"]["n_steps"] == 64
    assert "reward.scale" not in config["env_overrides"]  # the env's rewards are in hours
    assert len((out / "evaluations.csv").read_text().splitlines()) >= 2
    result = run_episode("toy", f"{algo}:{out / 'model.zip'}", 1.0, seed=3)
    assert (
        result.metrics["jobs_arrived"]
        == result.metrics["jobs_completed"] + result.metrics["jobs_dropped"]
    )


def test_resume_continues_from_a_checkpoint(tmp_path):
    first = tmp_path / "a"
    train("toy", "maskable_ppo", 128, 0, 1, first, overrides=[*FAST, "policy=mlp"], progress=False)
    second = tmp_path / "b"
    model = train(
        "toy", "maskable_ppo", 128, 0, 1, second, resume=first / "model.zip",
        overrides=[*FAST, "policy=mlp"], progress=False,
    )  # fmt: skip
    assert model.num_timesteps >= 256


def test_hyperparameter_overrides_and_errors():
    params = load_hyperparams("ppo", ["learning_rate=1e-4", "env_overrides.workload.load=2"])
    assert params["learning_rate"] == 1e-4 and params["env_overrides"]["workload.load"] == 2
    with pytest.raises(ConfigError, match="unknown algorithm"):
        load_hyperparams("sac")
    with pytest.raises(ConfigError, match="key=value"):
        load_hyperparams("ppo", ["learning_rate"])


def test_train_cli_help_and_bad_algorithm():
    script = str(REPO / "scripts" / "train.py")
    ok = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--timesteps" in ok.stdout and "--resume" in ok.stdout
    bad = subprocess.run(
        [sys.executable, script, "--out", "/tmp/x", "--set", "oops"], capture_output=True, text=True
    )
    assert (
        bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    )


@pytest.mark.expensive
def test_quickstart_trains_evaluates_and_draws(tmp_path):
    script = str(REPO / "scripts" / "quickstart.py")
    out = tmp_path / "qs"
    proc = subprocess.run(
        [sys.executable, script, "--scenario", "toy", "--label-share", "1", "--episodes", "1",
         "--load", "8", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ect_queue" in proc.stdout and "pretrained" in proc.stdout and "scoring" in proc.stdout
    assert "reading: shipped policy costs" in proc.stdout
    assert "reading: this run's policy costs" in proc.stdout
    for name in ("summary.csv", "turnaround_cdf.png", "ground_tracks.png", "queue_length.png"):
        assert (out / "eval" / name).is_file(), name
    assert (out / "train" / "model.zip").is_file()


def test_candidate_policy_trained_at_one_k_evaluates_at_another(tmp_path):
    out = tmp_path / "k2"
    train("toy", "maskable_ppo", 128, 0, 1, out, overrides=[*FAST, "policy=candidate"],
          progress=False)  # fmt: skip
    wider = tmp_path / "toy_k3.yaml"
    wider.write_text((REPO / "configs/scenarios/toy.yaml").read_text().replace(
        "candidates: 2", "candidates: 3"))  # fmt: skip
    result = run_episode(str(wider), f"maskable_ppo:{out / 'model.zip'}", 1.0, seed=0)
    assert result.metrics["jobs_arrived"] > 0


def test_evaluation_scores_with_the_penalty_the_agent_trains_on(tmp_path):
    from agents.callbacks import EvalAgainstECT

    cb = EvalAgainstECT("toy", [1000], 1, tmp_path, "x", {"reward.drop_penalty_s": 7.0})
    assert cb.drop_penalty_s == 7.0
    assert EvalAgainstECT("toy", [1000], 1, tmp_path, "x").drop_penalty_s == 86400.0


def test_checkpoints_load_and_resuming_in_place_keeps_the_evaluations(tmp_path):
    from sb3_contrib import MaskablePPO

    out = tmp_path / "run"
    fast = [*FAST, "policy=mlp", "checkpoint_freq=64"]
    train("toy", "maskable_ppo", 128, 0, 1, out, overrides=fast, progress=False)
    checkpoints = sorted((out / "checkpoints").glob("rl_model_*_steps.zip"))
    assert [p.name for p in checkpoints] == ["rl_model_128_steps.zip", "rl_model_64_steps.zip"]
    assert MaskablePPO.load(checkpoints[0], device="cpu").num_timesteps == 128
    before = (out / "evaluations.csv").read_text().splitlines()
    curve = (out / "learning_curve.csv").read_text().splitlines()
    train("toy", "maskable_ppo", 128, 0, 1, out, overrides=fast, progress=False,
          resume=checkpoints[0])  # fmt: skip
    resumed = (out / "learning_curve.csv").read_text().splitlines()
    assert resumed[: len(curve)] == curve and len(resumed) > len(curve)  # appended
    after = (out / "evaluations.csv").read_text().splitlines()
    assert after[: len(before)] == before and len(after) > len(before)
    assert sum(line.startswith("timesteps") for line in after) == 1
    assert not list(out.glob(".*.tmp")), "no temporary files are left behind"


def test_evaluation_runs_in_the_overridden_scenario(tmp_path):
    from agents.callbacks import EvalAgainstECT

    overrides = {"ground.min_elevation_deg": 30.0, "dispatch.defer_s": 120.0}
    cb = EvalAgainstECT("toy", [1000], 1, tmp_path, "x", overrides)
    assert cb.world.scenario.ground.min_elevation_deg == 30.0
    plain = EvalAgainstECT("toy", [1000], 1, tmp_path, "x")
    assert cb.ect["mean_turnaround_s"] != plain.ect["mean_turnaround_s"]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_crash_before_the_model_is_written_leaves_the_previous_run(tmp_path, monkeypatch):
    out, quick = tmp_path / "run", [*FAST, "policy=mlp", "bc=null"]
    train("toy", "maskable_ppo", 128, 0, 1, out, overrides=[*quick, "checkpoint_freq=64"],
          progress=False)  # fmt: skip
    before = _files(out)
    assert any(name.startswith("checkpoints/") for name in before)
    real = agents.train.save_model

    def killed_at_the_end(model, path):
        if path.name == "model.zip":
            raise KeyboardInterrupt
        real(model, path)

    monkeypatch.setattr(agents.train, "save_model", killed_at_the_end)
    with pytest.raises(KeyboardInterrupt):
        train("toy", "maskable_ppo", 128, 1, 1, out, overrides=[*quick, "checkpoint_freq=64"],
              progress=False)  # fmt: skip
    assert _files(out) == before
    (partial,) = tmp_path.glob("run.partial-*")  # kept: it has checkpoints to resume from
    assert (partial / "INCOMPLETE").is_file() and list((partial / "checkpoints").glob("*.zip"))
    monkeypatch.undo()
    # A new run into the folder replaces it whole: the old checkpoints do not stay beside it.
    train("toy", "maskable_ppo", 64, 2, 1, out, overrides=quick, progress=False)
    assert not (out / "checkpoints").exists() and (out / "model.zip").is_file()
    assert not (out / "INCOMPLETE").exists()


def _scalars(logs: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the TensorBoard event files in ``logs``: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = logs.glob("events.out.tfevents.*")
    acc = EventAccumulator(str(events))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_training_logs_tensorboard_scalars_with_the_evaluations_against_ect(tmp_path):
    out = tmp_path / "run"
    train("toy", "ppo", 256, 0, 1, out, overrides=FAST, progress=False)
    scalars = _scalars(out / "logs")
    for tag in ("eval/return_per_job_h", "eval/ect_return_per_job_h", "eval/cost_vs_ect",
                "eval/turnaround_vs_ect", "eval/drop_rate", "train/value_loss"):  # fmt: skip
        assert tag in scalars, sorted(scalars)
    steps = [step for step, _ in scalars["eval/return_per_job_h"]]
    assert steps[0] == 0 and steps[-1] >= 128  # the starting point, then every eval_freq
    model_cost = [-v for _, v in scalars["eval/return_per_job_h"]]
    ect_cost = [-v for _, v in scalars["eval/ect_return_per_job_h"]]
    ratio = [v for _, v in scalars["eval/cost_vs_ect"]]
    assert ratio == pytest.approx([m / e for m, e in zip(model_cost, ect_cost, strict=True)])
    quiet = tmp_path / "quiet"
    train("toy", "ppo", 64, 0, 1, quiet, overrides=[*FAST, "tensorboard=false"], progress=False)
    assert not list((quiet / "logs").glob("events.out.tfevents.*"))
    with pytest.raises(ConfigError, match="tensorboard: expected true or false, got 'maybe'"):
        train("toy", "ppo", 64, 0, 1, tmp_path / "x", overrides=[*FAST, "tensorboard=maybe"],
              progress=False)  # fmt: skip


def test_learning_curve_rows_are_the_training_episodes_in_hours(tmp_path):
    import csv

    out = tmp_path / "run"
    train("toy", "ppo", 256, 0, 1, out, overrides=FAST, progress=False)
    rows = list(csv.DictReader((out / "learning_curve.csv").open()))
    assert len(rows) >= 3 and (out / "learning_curve.png").stat().st_size > 10_000
    steps = [int(r["timesteps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] <= 256
    for r in rows:  # toy drops nothing before the first decision: return = -cost, in hours
        cost_h = float(r["cost_per_job_h"]) * int(r["jobs_arrived"])
        # Monitor rounds the return to 6 decimals.
        assert cost_h > 0 and float(r["return"]) == pytest.approx(-cost_h, abs=1e-6)


def test_vecnormalize_statistics_follow_every_model_file_resume_and_evaluation(tmp_path, capsys):
    from sb3_contrib import MaskablePPO

    from agents.evaluate import AgentSpec, load_model
    from agents.normalize import ObservationNormalized, load_stats, stats_path
    from envs.dispatch_env import ConstellationDispatchEnv

    out = tmp_path / "run"
    fast = [*FAST, "policy=mlp", "checkpoint_freq=64", "normalize_obs=true", "bc=null"]
    train("toy", "maskable_ppo", 128, 0, 1, out, overrides=fast, progress=False)
    models = ["model.zip", "best_model.zip", "checkpoints/rl_model_64_steps.zip",
              "checkpoints/rl_model_128_steps.zip"]  # fmt: skip
    for name in models:
        stats = load_stats(stats_path(out / name))
        assert stats.norm_obs and stats.norm_reward and stats.obs_count > 0, name
    saved = load_stats(stats_path(out / "checkpoints/rl_model_64_steps.zip")).obs_count
    model = train("toy", "maskable_ppo", 64, 0, 1, tmp_path / "resumed", overrides=fast,
                  progress=False, resume=out / "checkpoints/rl_model_64_steps.zip")  # fmt: skip
    assert model.get_vec_normalize_env().obs_rms.count > saved  # carried on, not restarted
    stats_path(out / "checkpoints/rl_model_128_steps.zip").unlink()
    capsys.readouterr()
    train("toy", "maskable_ppo", 64, 0, 1, tmp_path / "afresh", overrides=fast, progress=False,
          resume=out / "checkpoints/rl_model_128_steps.zip")  # fmt: skip
    assert "rl_model_128_steps.vecnormalize.npz); starting them afresh" in capsys.readouterr().err
    env = ConstellationDispatchEnv("toy", observation="flat", cache_dir=None)
    player = load_model(AgentSpec("maskable_ppo", str(out / "model.zip")), env)
    assert isinstance(player, ObservationNormalized)
    obs, _ = env.reset(seed=0)
    raw = MaskablePPO.load(out / "model.zip", device="cpu")
    stats = load_stats(stats_path(out / "model.zip"))
    expected = raw.predict(stats.normalize_obs(obs), deterministic=True)[0]
    assert player.predict(obs, deterministic=True)[0] == expected
    assert run_episode("toy", f"maskable_ppo:{out / 'model.zip'}", 1.0, seed=3).decisions > 0


def test_a_run_without_normalisation_saves_no_statistics(tmp_path):
    out = tmp_path / "run"
    train("toy", "ppo", 64, 0, 1, out, overrides=FAST, progress=False)
    assert not list(out.rglob("*.vecnormalize.npz"))
