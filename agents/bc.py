"""Behaviour cloning: warm-start a policy from a heuristic teacher before reinforcement learning.

The teacher (ECT by default) plays episodes of the scenario; every decision it makes is
recorded as ``(observation, action mask, action, reward)``. The student policy is then trained
by supervised learning on those decisions: cross-entropy of the teacher's action under the
masked action distribution, plus a regression of the value head on the teacher's discounted
returns (so the first PPO updates start from a critic that already knows the scale of the
returns, instead of pulling a cloned actor off course with noisy advantages).

>>> from sb3_contrib import MaskablePPO
>>> from agents.policy import CandidateScoringPolicy, policy_kwargs_for
>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None)
>>> demos = collect_demonstrations("toy", loads=[1.0], seeds=[0])
>>> model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env))
>>> stats = behaviour_clone(model, demos, epochs=2, progress=False)
>>> 0.0 <= stats["accuracy"] <= 1.0
True
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.heuristics import make_heuristic
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError

__all__ = ["Demonstrations", "behaviour_clone", "collect_demonstrations"]


@dataclass(frozen=True, slots=True)
class Demonstrations:
    """Decisions of a teacher: one row per decision, episodes concatenated in order.

    Attributes:
        obs: Observations, shape ``(n, obs_dim)``.
        masks: Valid actions, shape ``(n, n_actions)``.
        actions: The teacher's actions, shape ``(n,)``.
        rewards: Rewards received after each decision (scaled as the env scales them).
        episode_ends: Whether each decision was the last of its episode.
    """

    obs: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    episode_ends: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    def running_returns(self, gamma: float) -> np.ndarray:
        """Forward discounted sums ``g_t = gamma * g_{t-1} + r_t`` within each episode.

        The statistic SB3's ``VecNormalize`` scales rewards by (the standard deviation of
        these), so a critic cloned on :meth:`returns` divided by it matches normalised training.
        """
        out = np.zeros(len(self.rewards))
        acc = 0.0
        for i, r in enumerate(self.rewards):
            acc = gamma * acc + r
            out[i] = acc
            if self.episode_ends[i]:
                acc = 0.0
        return out

    def returns(self, gamma: float) -> np.ndarray:
        """Discounted return from every decision to the end of its episode."""
        out = np.zeros(len(self.rewards))
        acc = 0.0
        for i in range(len(self.rewards) - 1, -1, -1):
            if self.episode_ends[i]:
                acc = 0.0
            acc = self.rewards[i] + gamma * acc
            out[i] = acc
        return out


def collect_demonstrations(
    scenario: str,
    *,
    teacher: str | Mapping[float, str] = "ect",
    loads: Sequence[float] = (1.0,),
    seeds: Sequence[int] = (0,),
    overrides: Mapping[str, Any] | None = None,
) -> Demonstrations:
    """Record every decision the ``teacher`` heuristic makes on ``scenario``.

    Args:
        scenario: Preset name or YAML path.
        teacher: A heuristic name (``agents.heuristics.HEURISTICS``), or a mapping from load
            to heuristic name (a teacher per load, e.g. ECT when the system is light and
            ``least_loaded`` when it is congested); the mapping's loads replace ``loads``.
        loads: Workload multipliers; every seed is played at every load.
        seeds: Reset seeds (use seeds disjoint from the evaluation seeds).
        overrides: Scenario overrides (e.g. the reward scale the student is trained with).
    """
    if isinstance(teacher, Mapping):
        bad = [x for x in teacher if isinstance(x, bool) or not isinstance(x, int | float)]
        if not teacher or bad or any(x <= 0 for x in teacher if x not in bad):
            raise ConfigError(
                f"bc.teacher: expected a heuristic or positive loads -> heuristics, got {teacher!r}"
            )
        plan = [(float(x), str(name)) for x, name in teacher.items()]
    else:
        plan = [(float(x), str(teacher)) for x in loads]
    if not plan or not seeds:
        raise ConfigError(f"bc: loads and seeds must not be empty, got {loads!r} and {seeds!r}")
    obs, masks, actions, rewards, ends = [], [], [], [], []
    for load, name in plan:
        env = ConstellationDispatchEnv(scenario, **{**dict(overrides or {}), "load": load})
        for seed in seeds:
            agent = make_heuristic(name, env, seed=seed)
            o, _ = env.reset(seed=int(seed))
            agent.reset()
            done = env.sim.done
            while not done:
                m = env.action_masks()
                if not m.any():  # nothing to decide (the episode is draining)
                    o, _, term, trunc, _ = env.step(0)
                    done = term or trunc
                    continue
                a = int(agent.predict(o, action_masks=m)[0])
                obs.append(o)
                masks.append(m)
                actions.append(a)
                o, r, term, trunc, _ = env.step(a)
                done = term or trunc
                rewards.append(r)
                ends.append(done)
            if ends:
                ends[-1] = True
    return Demonstrations(
        np.asarray(obs, dtype=np.float32),
        np.asarray(masks, dtype=bool),
        np.asarray(actions, dtype=np.int64),
        np.asarray(rewards, dtype=np.float64),
        np.asarray(ends, dtype=bool),
    )


def behaviour_clone(
    model: Any,
    demos: Demonstrations,
    *,
    epochs: int = 5,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    return_scale: float = 1.0,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """Fit ``model.policy`` (a maskable actor-critic) to the teacher's decisions in place.

    Args:
        model: An actor-critic model (``MaskablePPO`` with masks, or ``PPO``/``A2C``).
        demos: From :func:`collect_demonstrations`.
        epochs: Passes over the demonstrations.
        batch_size: Decisions per gradient step.
        learning_rate: Adam step size for cloning (the model's own optimiser is untouched).
        value_coef: Weight of the value regression on the discounted returns.
        return_scale: The returns are divided by this before the regression (the reward
            scale the student will be trained with, e.g. ``VecNormalize``'s).
        seed: Shuffling seed.
        progress: Show a progress bar.

    Returns:
        ``{"accuracy", "cross_entropy", "value_mse"}`` on the demonstrations after training
        (accuracy: share of decisions where the policy's most likely action is the teacher's).
    """
    import torch as th
    from tqdm.auto import tqdm

    if len(demos) == 0:
        raise ConfigError("bc: the teacher made no decisions (no jobs in the episodes?)")
    if epochs < 1 or batch_size < 1:
        raise ConfigError(f"bc: epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    policy = model.policy
    policy.set_training_mode(True)
    obs = th.as_tensor(demos.obs)
    masks = th.as_tensor(demos.masks)
    actions = th.as_tensor(demos.actions)
    returns = th.as_tensor(demos.returns(float(model.gamma)) / return_scale, dtype=th.float32)
    # Maskable policies take the masks; plain SB3 policies rely on the mask feature.
    masked = "action_masks" in inspect.signature(policy.evaluate_actions).parameters
    kw = (lambda idx: {"action_masks": masks[idx]}) if masked else (lambda idx: {})
    optimiser = th.optim.Adam(policy.parameters(), lr=learning_rate)
    gen = th.Generator().manual_seed(int(seed))
    n = len(demos)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    bar = tqdm(total=steps, desc="behaviour cloning", disable=not progress)
    for _ in range(epochs):
        order = th.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            values, log_prob, _ = policy.evaluate_actions(obs[idx], actions[idx], **kw(idx))
            loss = -log_prob.mean() + value_coef * ((values.flatten() - returns[idx]) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimiser.step()
            bar.update()
    bar.close()
    policy.set_training_mode(False)
    with th.no_grad():
        every = slice(None)
        values, log_prob, _ = policy.evaluate_actions(obs, actions, **kw(every))
        extra = {"action_masks": masks.numpy()} if masked else {}
        best = policy.get_distribution(obs, **extra).distribution.probs.argmax(dim=1)
    return {
        "accuracy": float((best == actions).float().mean()),
        "cross_entropy": float(-log_prob.mean()),
        "value_mse": float(((values.flatten() - returns) ** 2).mean()),
    }
