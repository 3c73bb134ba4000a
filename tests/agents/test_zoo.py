"""The RL Zoo trains the env from the shipped configs/zoo files (``agents.zoo``).

The runs are tiny (a few hundred steps of ``toy`` without deferral, so the untrained
deterministic policy cannot defer one job for thousands of decisions in the Zoo's
evaluations); they check the plumbing, not learning.
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import envs
from agents.zoo import ZOO_ALGOS, ZOO_CONFIG_DIR, zoo_config
from envs.errors import ConfigError
from envs.wrappers import FlattenDispatch

REPO = Path(__file__).resolve().parents[2]
needs_zoo = pytest.mark.skipif(
    importlib.util.find_spec("rl_zoo3") is None or importlib.util.find_spec("optuna") is None,
    reason="rl_zoo3/optuna not installed (pip install -e '.[zoo]'; the dev extra has them)",
)
# Keys of a Zoo hyperparameter entry that are the Zoo's own, not the algorithm's.
ZOO_KEYS = {"n_envs", "n_timesteps", "policy", "normalize", "env_wrapper", "frame_stack",
            "callback", "vec_env_wrapper", "policy_kwargs"}  # fmt: skip
SMALL = ["--env-kwargs", "scenario:'toy'", "dispatch.allow_defer:False", "--seed", "0",
         "--device", "cpu", "--num-threads", "1"]  # fmt: skip


def _algo_class(algo: str):
    import sb3_contrib
    import stable_baselines3 as sb3

    return {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN, "qrdqn": sb3_contrib.QRDQN,
            "trpo": sb3_contrib.TRPO, "ppo_lstm": sb3_contrib.RecurrentPPO,
            "maskable_ppo": sb3_contrib.MaskablePPO}[algo]  # fmt: skip


@pytest.mark.parametrize("algo", ZOO_ALGOS)
def test_every_zoo_file_is_keyed_by_the_env_id_and_takes_only_known_hyperparameters(algo):
    entries = yaml.safe_load(zoo_config(algo).read_text())
    assert list(entries) == [envs.ENV_ID]
    params = entries[envs.ENV_ID]
    known = set(inspect.signature(_algo_class(algo).__init__).parameters)
    assert set(params) - ZOO_KEYS <= known, sorted(set(params) - ZOO_KEYS - known)
    assert params["n_envs"] >= 1 and params["n_timesteps"] > 0


def test_the_zoo_files_are_the_algorithms_listed():
    assert sorted(p.stem for p in ZOO_CONFIG_DIR.glob("*.yaml")) == sorted(ZOO_ALGOS)
    with pytest.raises(ConfigError, match="sac"):
        zoo_config("sac")


def _zoo(module: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    run = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def _play(model) -> None:
    env = FlattenDispatch(gym.make(envs.ENV_ID, scenario="toy", cache_dir=None))  # as trained
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(np.asarray(action).item()))


@needs_zoo
def test_zoo_trains_ppo_from_the_shipped_file_and_saves_a_model(tmp_path):
    from stable_baselines3 import PPO

    _zoo("rl_zoo3.train", ["--algo", "ppo", "--env", envs.ENV_ID, "--gym-packages", "envs",
                           "-conf", str(zoo_config("ppo")), *SMALL, "-n", "256",
                           "--hyperparams", "n_envs:1", "n_steps:128", "batch_size:64",
                           "--eval-freq", "-1", "-f", "logs"], tmp_path)  # fmt: skip
    (saved,) = (tmp_path / "logs" / "ppo").glob(f"{envs.ENV_ID}_1/{envs.ENV_ID}.zip")
    model = PPO.load(saved, device="cpu")
    assert model.num_timesteps >= 256
    _play(model)


@needs_zoo
def test_zoo_optimize_runs_a_two_trial_optuna_study(tmp_path):
    _zoo("rl_zoo3.train", ["--algo", "ppo", "--env", envs.ENV_ID, "--gym-packages", "envs",
                           "-conf", str(zoo_config("ppo")), *SMALL, "--hyperparams", "n_envs:1",
                           "--optimize", "--n-trials", "2", "--n-timesteps", "256",
                           "--n-jobs", "1", "--sampler", "random", "--pruner", "none",
                           "--eval-episodes", "1", "-f", "logs"], tmp_path)  # fmt: skip
    (report,) = (tmp_path / "logs" / "ppo").glob("report_*.csv")
    rows = list(csv.DictReader(report.open()))
    assert len(rows) == 2 and {r["state"] for r in rows} == {"COMPLETE"}


@needs_zoo
def test_maskable_ppo_trains_through_the_zoo_once_registered(tmp_path):
    from sb3_contrib import MaskablePPO

    _zoo("agents.zoo", ["--algo", "maskable_ppo", "--env", envs.ENV_ID, "--gym-packages", "envs",
                        "-conf", str(zoo_config("maskable_ppo")), *SMALL, "-n", "128",
                        "--hyperparams", "n_envs:1", "n_steps:64", "batch_size:64",
                        "--eval-freq", "-1", "-f", "logs"], tmp_path)  # fmt: skip
    (saved,) = (tmp_path / "logs" / "maskable_ppo").glob(f"{envs.ENV_ID}_1/{envs.ENV_ID}.zip")
    _play(MaskablePPO.load(saved, device="cpu"))
