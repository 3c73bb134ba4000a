"""Plain records of an evaluation and the labels every table and figure shows.

This module sits below the runner (:mod:`agents.evaluate`), the statistics
(:mod:`agents.stats`), the report (:mod:`agents.report`) and the figures (:mod:`agents.plots`,
:mod:`agents.report_html`): they all read these records, and it imports none of them, so the
figures never import the runner (no import cycle). An :class:`EpisodeResult` is one played
episode (the env's metrics and the ``envs.sim.job_table`` rows); an :class:`EvaluationResult`
is the configuration of a run, its episodes and its summary rows.

>>> short_label("maskable_ppo:runs/a/best.zip"), BOUND_LABEL
('maskable_ppo:best.zip', 'bound')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BOUND_LABEL", "MODEL_KINDS", "EpisodeResult", "EvaluationResult", "short_label"]

#: Learned-policy prefixes: ``kind:PATH`` → (module, class) whose ``.load`` reads the zip.
MODEL_KINDS = {
    "maskable_ppo": ("sb3_contrib", "MaskablePPO"),
    "ppo": ("stable_baselines3", "PPO"),
    "dqn": ("stable_baselines3", "DQN"),
    "a2c": ("stable_baselines3", "A2C"),
}
#: Label of the contention-free lower bound rows (``envs.sim.bounds``) in the summary.
BOUND_LABEL = "bound"


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """One episode: who played, where, the env's metrics and the ``job_table`` rows.

    ``invalid_actions`` counts masked actions the env replaced by its fallback (only policies
    that ignore the mask, e.g. plain ``ppo``, produce them).
    """

    agent: str
    scenario: str
    load: float
    seed: int
    metrics: dict[str, Any]
    jobs: dict[str, np.ndarray]
    decisions: int
    truncated: bool
    invalid_actions: int

    @property
    def turnarounds_s(self) -> np.ndarray:
        """Turnarounds of the completed jobs."""
        return self.jobs["turnaround_s"][self.jobs["status"] == "completed"]


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """The configuration, the episodes (ordered by load, seed, agent) and the summary rows."""

    config: dict[str, Any]
    episodes: list[EpisodeResult]
    summary: list[dict[str, Any]]

    def episodes_of(self, agent: str, load: float) -> list[EpisodeResult]:
        """This agent's episodes at this load, in seed order."""
        return [e for e in self.episodes if e.agent == agent and e.load == load]


def short_label(label: str) -> str:
    """A saved model's label as ``kind:file name`` (the full path stays in the CSV files).

    >>> short_label("scoring:runs/a/best.zip"), short_label("rollout:ect:10")
    ('scoring:best.zip', 'rollout:ect:10')
    """
    kind, sep, path = label.partition(":")
    saved = kind in MODEL_KINDS or kind == "scoring"
    return f"{kind}:{Path(path).name}" if sep and saved else label
