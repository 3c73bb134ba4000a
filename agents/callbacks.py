"""The callbacks of a training run: checkpoints and the periodic evaluation against ECT.

:class:`Checkpoints` saves the model every few steps; :class:`EvalAgainstECT` plays the
fixed evaluation seeds with the model and with ECT (:func:`agents.evaluate.run_episode`),
logs the ratios, keeps ``best_model.zip`` and appends to ``evaluations.csv``. Both write
model files through :func:`save_model` (atomic, with the ``VecNormalize`` statistics beside
them). :mod:`agents.train` builds the run around them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.atomic import atomic_write

__all__ = ["ENV_ARGS", "Checkpoints", "EvalAgainstECT", "save_model", "scenario_overrides"]

#: Keyword arguments of ConstellationDispatchEnv that are not scenario overrides.
ENV_ARGS = ("render_mode", "invalid_action", "cache_dir", "check_invariants", "reward")


def scenario_overrides(env_overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The scenario overrides among ``env_overrides`` (without the env's own arguments)."""
    return {k: v for k, v in (env_overrides or {}).items() if k not in ENV_ARGS}


def _callback_base() -> type:
    from stable_baselines3.common.callbacks import BaseCallback

    return BaseCallback


def save_model(model: Any, path: Path) -> None:
    """``model.save`` to a temporary file renamed over ``path``: never a half-written zip.

    A model trained in a ``VecNormalize`` gets its statistics beside it
    (``agents.normalize.stats_path``), written first so a model file never lacks them.
    """
    from agents.normalize import save_stats

    save_stats(model, path)
    with atomic_write(path, "wb") as fh:
        model.save(fh)


class Checkpoints(_callback_base()):
    """Save ``DIR/rl_model_<steps>_steps.zip`` every ``every`` calls (atomically)."""

    def __init__(self, every: int, folder: Path):
        super().__init__()
        self.every, self.folder = max(int(every), 1), Path(folder)

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            save_model(self.model, self.folder / f"rl_model_{self.num_timesteps}_steps.zip")
        return True


class EvalAgainstECT(_callback_base()):
    """Every ``eval_freq`` steps, play the fixed eval seeds (at every eval load) against ECT.

    Logs ``eval/mean_turnaround_s``, ``eval/drop_rate``, ``eval/return_per_job_h``, ECT's
    values of the same (``eval/ect_*``) and the ratios of the model to ECT on the same seeds
    (``eval/turnaround_vs_ect``, ``eval/cost_vs_ect``: cost per job, drops charged) as
    scalars of the run's logger (TensorBoard and CSV), written at the evaluation's timestep;
    keeps the best model (by return per job, which charges drops) as ``best_model.zip`` and
    appends every evaluation to ``evaluations.csv``.
    """

    def __init__(
        self,
        scenario: str,
        seeds: Sequence[int],
        eval_freq: int,
        out: Path,
        label: str,
        env_overrides: dict[str, Any] | None = None,
        loads: Sequence[float] = (1.0,),
    ):
        super().__init__()
        self.loads = [float(x) for x in loads]
        from agents.evaluate import run_episode
        from envs.scenario import load_scenario
        from envs.sim import build_world

        self._run = run_episode
        self.scenario, self.seeds, self.eval_freq = scenario, list(seeds), max(int(eval_freq), 1)
        self.out, self.label = out, label
        # Evaluate in the scenario the agent is trained in (overrides included).
        self.overrides = scenario_overrides(env_overrides)
        trained = load_scenario(scenario, self.overrides or None)
        self.world = build_world(trained)
        self.drop_penalty_s = trained.reward.drop_penalty_s
        self.ect = self._score("ect", {})
        self.best = -np.inf
        self._last = 0
        self._rows: list[list[Any]] = []

    def _score(self, spec: str, models: dict[str, Any]) -> dict[str, float]:
        results = [
            self._run(
                self.scenario,
                spec,
                load,
                s,
                world=self.world,
                models=models,
                overrides=self.overrides,
            )
            for load in self.loads
            for s in self.seeds
        ]
        turn = np.concatenate([r.turnarounds_s for r in results]) if results else np.zeros(0)
        done = sum(r.metrics["jobs_completed"] for r in results)
        dropped = sum(r.metrics["jobs_dropped"] for r in results)
        arrived = max(sum(r.metrics["jobs_arrived"] for r in results), 1)
        cost = sum(r.metrics["cost_s"] for r in results)  # from the job tables, drops included
        return {
            "mean_turnaround_s": float(turn.mean()) if len(turn) else float("nan"),
            "drop_rate": dropped / max(done + dropped, 1),
            "return_per_job_h": -cost / arrived / 3600.0,
        }

    def _on_training_start(self) -> None:
        # Score the starting point too (e.g. the policy cloned from ECT), so best_model.zip
        # is never worse than where training began.
        self._evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps - self._last < self.eval_freq:
            return True
        self._last = self.num_timesteps
        self._evaluate()
        return True

    def _evaluate(self) -> None:
        from agents.normalize import normalized_for_play

        # The eval episodes run outside the training VecNormalize: normalise like it does.
        player = normalized_for_play(self.model, self.training_env)
        score = self._score(self.label, {self.label: player})
        ratio = score["mean_turnaround_s"] / self.ect["mean_turnaround_s"]
        for key, value in score.items():
            self.logger.record(f"eval/{key}", value)
            self.logger.record(f"eval/ect_{key}", self.ect[key])
        self.logger.record("eval/turnaround_vs_ect", ratio)
        self.logger.record(
            "eval/cost_vs_ect", score["return_per_job_h"] / self.ect["return_per_job_h"]
        )
        self.logger.dump(self.num_timesteps)  # at the evaluation's step, like SB3's EvalCallback
        if score["return_per_job_h"] > self.best:
            self.best = score["return_per_job_h"]
            save_model(self.model, self.out / "best_model.zip")
        path = self.out / "evaluations.csv"
        if not self._rows:
            # Resuming into the same folder keeps the earlier evaluations.
            old = path.read_text().splitlines() if path.exists() else []
            self._rows = [row.split(",") for row in old] or [
                ["timesteps", *score, "ect_mean_turnaround_s", "ect_return_per_job_h",
                 "turnaround_vs_ect"]
            ]  # fmt: skip
        self._rows.append(
            [self.num_timesteps, *score.values(), self.ect["mean_turnaround_s"],
             self.ect["return_per_job_h"], ratio]
        )  # fmt: skip
        with atomic_write(path, newline="") as fh:  # rewritten whole: never half a row
            csv.writer(fh).writerows(self._rows)
