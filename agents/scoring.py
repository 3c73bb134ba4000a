"""Run a distilled candidate-scoring policy in any scenario: the ``pretrained`` agent.

Policies trained by ``agents.iteration`` read a scenario-independent layout:
``agents.votes.VotingDispatch`` (the canonical layout of ``envs.wrappers.CanonicalDispatch``
plus the heuristics' votes) or, for older files, ``CanonicalDispatch`` itself; the layout is
recognised from the network's candidate-block width. :class:`ScoringAgent` wraps such a model for an
ordinary ``ConstellationDispatchEnv``: at each decision it builds the canonical observation
from the env's own, takes one forward pass of the network, and maps the chosen slot back
to the env's action. Any ``K`` works (the network scores each candidate with the same
weights; ``k_max`` grows to the env's ``K`` when needed), and so do scenarios without
deferral (the deferral slot is masked) or with several models.

The room rule's deferral (``defer_when_full``, on by default): when the scenario allows
deferral and no valid candidate has room for the job by ``ect_room``'s rule
(``SimView.no_room``: its buffer would be full on the job's arrival, or the job would push a
later arrival into a full buffer), the agent defers the job without asking the network, as
the ``ect_wait`` heuristic does: a job sent into a full buffer is dropped (24 h of cost by
default), while a deferred one comes back after ``defer_s`` and meets the satellites that
have passed over since. The network was distilled without deferral, so its deferral score
is never used. (Before 0.2.0 the rule also required free buffer slots in the constellation
as a whole, ``SimView.worth_waiting``; under sustained overload it then never deferred.)

The overfill guard (``avoid_overfill``, on by default): the network's choice is taken unless
``SimView.overfills`` says the job would push an arrival at that satellite into a full
buffer (it overtakes jobs sent there earlier that then find no slot, or finds none itself);
then the next candidate in the network's order that does not overfill is taken, and the
network's first choice when every candidate overfills. The scores come from the same single
forward pass. The network never sees the jobs queued behind its choice, and distillation
from teachers whose room rule does not see them either cannot teach it; dropped jobs cost
24 h each, so a rule that costs nothing when it does not fire is kept outside the network.

The shipped policy is ``agents/pretrained/dispatch_policy.zip``; the evaluation harness and
``scripts/plot_episode.py`` take it as the agent name ``pretrained``, and any other file of
the kind as ``scoring:PATH``.

>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None, **{"dispatch.allow_defer": False})
>>> agent = ScoringAgent(load_scoring_model(PRETRAINED), env)
>>> obs, _ = env.reset(seed=0)
>>> action, _ = agent.predict(obs)
>>> bool(env.action_masks()[action])
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.votes import layout_for
from envs.errors import ConfigError, first_line
from envs.wrappers import CanonicalDispatch, flatten_observation

__all__ = ["PRETRAINED", "ScoringAgent", "action_logits", "greedy_action", "load_scoring_model"]

#: Name of the shipped distilled policy (``agents/pretrained/<name>.zip``).
PRETRAINED = "dispatch_policy"


def load_scoring_model(path_or_name: str | os.PathLike[str]) -> Any:
    """Load a distilled policy file (or a shipped one by name) on the CPU.

    Torch's thread count is left alone: entry points (the command line, worker processes)
    choose it, a library call does not.
    """
    from sb3_contrib import MaskablePPO

    from agents.shipped import shipped_model_path

    path = shipped_model_path(path_or_name) or Path(path_or_name).expanduser()
    if not path.is_file():
        raise ConfigError(f"scoring: model file not found: {path}")
    try:
        model = MaskablePPO.load(path, device="cpu")
    except Exception as exc:  # corrupt zip, wrong class: one line
        raise ConfigError(f"scoring: cannot load model file {path}: {first_line(exc)}") from None
    policy = model.policy
    n_features = getattr(policy, "n_features", None)
    if getattr(policy, "n_global", None) != CanonicalDispatch.n_global or (
        not isinstance(n_features, int) or layout_for(n_features) is None
    ):
        raise ConfigError(
            f"scoring: model file {path} is not a candidate-scoring policy of a canonical "
            f"layout ({CanonicalDispatch.n_global} global features, {CanonicalDispatch.n_features} "
            "or more candidate features); load it with its own kind (e.g. maskable_ppo:PATH)"
        )
    return model


class ScoringAgent:
    """SB3-style ``predict`` for a distilled policy in an ordinary env (see the module).

    Args:
        model: From :func:`load_scoring_model` or ``agents.iteration.make_student``.
        env: The environment it acts in (any wrapper of ``ConstellationDispatchEnv``).
        defer_when_full: Defer the job when no valid candidate has room for it and the
            scenario allows deferral (see the module docstring); ``False`` always asks the
            network.
        avoid_overfill: Pass over a choice that ``SimView.overfills`` (see the module
            docstring); ``False`` takes the network's choice as it is.
    """

    def __init__(
        self,
        model: Any,
        env: gym.Env,
        *,
        defer_when_full: bool = True,
        avoid_overfill: bool = True,
    ):
        self.model = model
        base = env.unwrapped
        policy = model.policy
        k_model = (int(model.observation_space.shape[0]) - policy.n_global) // policy.n_features
        layout = layout_for(policy.n_features) or CanonicalDispatch
        self.defer_when_full = bool(defer_when_full)
        self.avoid_overfill = bool(avoid_overfill)
        self.canonical = layout(base, k_max=max(k_model, base.k))
        self.env = base

    def reset(self) -> None:
        """Nothing to forget between episodes."""

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, None]:
        """The env's action for its current decision (``observation`` is the env's own)."""
        obs = self.canonical.canonical(
            np.asarray(flatten_observation(observation), dtype=np.float32)
        )
        mask = self.canonical.action_masks()
        if not mask.any():
            return np.array(0, dtype=np.int64), None
        if self.defer_when_full and self._no_room_anywhere(mask):
            return np.array(self.env.k, dtype=np.int64), None
        scores = np.where(mask, action_logits(self.model, obs), -np.inf)
        action = int(np.argmax(scores))
        if self.avoid_overfill:
            action = self._without_overfill(scores, action)
        return np.array(self.canonical.to_env_action(action), dtype=np.int64), None

    def _no_room_anywhere(self, mask: np.ndarray) -> bool:
        """Deferral is offered and no valid candidate has room (``SimView.no_room``)."""
        env = self.env
        if not (env.scenario.dispatch.allow_defer and env.action_masks()[env.k]):
            return False
        view, cands = env.view, env.candidates
        estimates, taken = view.queue_estimates(view.head, cands)  # the layout's own (memoised)
        valid = [i for i in range(len(cands)) if mask[i]]
        return bool(valid) and all(
            view.no_room(cands[i], estimates[i].uplink_end, taken[i]) for i in valid
        )

    def _without_overfill(self, scores: np.ndarray, action: int) -> int:
        """The best-scored valid candidate that does not overfill; ``action`` if none."""
        env = self.env
        view, cands, k = env.view, env.candidates, env.k
        if action >= k:
            return action
        estimates, _ = view.queue_estimates(view.head, cands)  # the layout's own (memoised)
        if not view.overfills(cands[action], estimates[action].uplink_end):
            return action  # the usual case: no sort
        for slot in np.argsort(-scores[:k], kind="stable").tolist():
            if scores[slot] == -np.inf:
                break
            if not view.overfills(cands[slot], estimates[slot].uplink_end):
                return slot
        return action


def action_logits(model: Any, obs: np.ndarray) -> np.ndarray:
    """The network's score of every canonical action: one forward pass."""
    import torch as th

    with th.no_grad():
        logits = model.policy.action_logits(th.as_tensor(obs[None], dtype=th.float32))[0]
    return logits.numpy().astype(np.float64)


def greedy_action(model: Any, obs: np.ndarray, mask: np.ndarray) -> int:
    """The valid canonical action of highest logit: one forward pass of the network."""
    return int(np.argmax(np.where(mask, action_logits(model, obs), -np.inf)))
