"""Warm starts before reinforcement learning: behaviour cloning and outcome fitting.

The teacher (ECT by default) plays episodes of the scenario; every decision it makes is
recorded as ``(observation, action mask, action, reward, job, job cost)``, the job cost being
what the decided job finally cost (its time in system, plus the drop penalty if it was
dropped). With ``explore > 0`` a share of the decisions is replaced by a uniformly random
action the policy may take, so the record also shows what the teacher's alternatives cost.

Two ways to use the record (``bc.target`` in the training config):

- ``imitate`` (:func:`behaviour_clone`): cross-entropy of the teacher's action under the
  masked action distribution. The student becomes the teacher.
- ``outcome`` (:func:`fit_outcomes`): each action's logit is regressed on minus the cost of
  the job it decided, over a temperature: the candidate-scoring network learns, per
  candidate, what a job sent there ends up costing, and its greedy choice is the candidate
  with the lowest predicted cost. The teacher only supplies the states; the student can be
  better than it where the teacher's own estimates are wrong (ECT's estimate counts only
  the jobs already on board, not those still in uplink ahead of the job).

Both also regress the value head on the discounted returns (so the first PPO updates start
from a critic that already knows the scale of the returns, instead of pulling the warm-started
actor off course with noisy advantages).

>>> from sb3_contrib import MaskablePPO
>>> from agents.policy import CandidateScoringPolicy, policy_kwargs_for
>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None, observation="flat")
>>> demos = collect_demonstrations("toy", loads=[1.0], seeds=[0])
>>> model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env))
>>> stats = behaviour_clone(model, demos, epochs=2, progress=False)
>>> 0.0 <= stats["accuracy"] <= 1.0
True

Size: about 490 lines, above the house's ~400, because the two warm starts (behaviour
cloning and outcome fitting) share their data type and the training loop and batched
evaluation (:func:`fit_minibatches`, :func:`in_batches`) that the distillation also uses.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.heuristics import make_heuristic, room_rule
from agents.rollout import Step, rollout
from envs.dispatch_env import CANDIDATE_FEATURES, ConstellationDispatchEnv, unsquash_s
from envs.errors import ConfigError
from envs.sim import job_table

__all__ = [
    "Demonstrations",
    "behaviour_clone",
    "collect_demonstrations",
    "fit_minibatches",
    "fit_outcomes",
    "in_batches",
]

_ROOM = CANDIDATE_FEATURES.index("buffer_used")


@dataclass(frozen=True, slots=True)
class Demonstrations:
    """Decisions of a teacher: one row per decision, episodes concatenated in order.

    Attributes:
        obs: Observations, shape ``(n, obs_dim)``.
        masks: Valid actions, shape ``(n, n_actions)``.
        actions: The teacher's actions, shape ``(n,)``.
        rewards: Rewards received after each decision (scaled as the env scales them).
        episode_ends: Whether each decision was the last of its episode.
        job_costs_s: What the decided job finally cost, in seconds: arrival to delivery, or
            arrival to drop plus the scenario's drop penalty, or arrival to the end of the
            episode if it was still in flight (``None`` when not recorded).
    """

    obs: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    episode_ends: np.ndarray
    job_costs_s: np.ndarray | None = None

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
    explore: float = 0.0,
) -> Demonstrations:
    """Record every decision the ``teacher`` heuristic makes on ``scenario``.

    Args:
        scenario: Preset name or YAML path.
        teacher: A heuristic name (``agents.heuristics.HEURISTICS``), or a mapping from load
            to heuristic name (a teacher per load, e.g. ECT when the system is light and
            ``least_loaded`` when it is congested); the mapping's loads replace ``loads``.
        loads: Workload multipliers; every seed is played at every load.
        seeds: Reset seeds (use seeds disjoint from the evaluation seeds).
        overrides: Env arguments and scenario overrides (e.g. the reward the student learns).
        explore: Share of decisions replaced by a uniformly random valid candidate (a fully
            committed satellite only when no candidate has room, as the policy's room rule
            allows; never deferral). The teacher still sees every state; the exploring
            draws come from their own stream of each seed.
    """
    if isinstance(explore, bool) or not isinstance(explore, int | float) or not 0 <= explore < 1:
        raise ConfigError(f"bc.explore: expected a share in [0, 1), got {explore!r}")
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
    obs, masks, actions, rewards, ends, costs = [], [], [], [], [], []
    for load, name in plan:
        env = ConstellationDispatchEnv(
            scenario, observation="flat", **{**dict(overrides or {}), "load": load}
        )
        for seed in seeds:
            jobs = []
            for o, m, a, job, r, done in _demonstrate(
                env, make_heuristic(name, env, seed=seed), int(seed), explore
            ):
                obs.append(o)
                masks.append(m)
                actions.append(a)
                jobs.append(job)
                rewards.append(r)
                ends.append(done)
            if ends:
                ends[-1] = True
            costs.append(job_table(env.sim)["cost_s"][np.asarray(jobs, dtype=np.int64)])
    return Demonstrations(
        np.asarray(obs, dtype=np.float32),
        np.asarray(masks, dtype=bool),
        np.asarray(actions, dtype=np.int64),
        np.asarray(rewards, dtype=np.float64),
        np.asarray(ends, dtype=bool),
        np.concatenate(costs) if costs else np.zeros(0),
    )


def _demonstrate(
    env: ConstellationDispatchEnv, teacher: Any, seed: int, explore: float
) -> list[tuple[np.ndarray, np.ndarray, int, int, float, bool]]:
    """One episode of ``teacher`` (exploring a share ``explore``), one row per decided job.

    A row is ``(obs, mask, action, job, reward, episode ended)``.

    Steps whose mask allowed nothing (the episode draining) are played but not returned.
    The exploring draws come from the seed's own stream.
    """
    rng = np.random.default_rng([seed, 0xE7])
    teacher.reset()

    def act(o: np.ndarray, m: np.ndarray) -> int:
        a = int(teacher.predict(o, action_masks=m)[0])
        if explore and rng.random() < explore:
            allowed = _explorable(o, m, env)
            a = int(rng.choice(allowed)) if len(allowed) else a
        return a

    decided: list[tuple[np.ndarray, np.ndarray, int, int, float, bool]] = []

    def record(s: Step) -> None:
        if s.mask.any():
            decided.append((s.obs, s.mask, s.action, s.job, s.reward,
                            s.terminated or s.truncated))  # fmt: skip

    rollout(env, act, seed, on_step=record)
    return decided


def _explorable(obs: np.ndarray, mask: np.ndarray, env: ConstellationDispatchEnv) -> np.ndarray:
    """Valid dispatch actions the room rule allows (full candidates only when all are full).

    Deferral is not explored: its cost differs from dispatching a minute later by less than
    the noise of the costs, and a policy fitted to that noise can defer the same job forever.
    """
    u = env.unwrapped
    rows = obs[u.n_global :].reshape(u.k, u.n_features)
    return np.flatnonzero(room_rule(mask[: u.k] & (rows[:, 0] > 0.5), rows[:, _ROOM]))


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

    _check_fit(demos, epochs, batch_size)
    policy = model.policy
    obs = th.as_tensor(demos.obs)
    masks = th.as_tensor(demos.masks)
    actions = th.as_tensor(demos.actions)
    returns = th.as_tensor(demos.returns(float(model.gamma)) / return_scale, dtype=th.float32)
    rules = getattr(policy.mlp_extractor, "blocked_actions", None)
    if rules is not None:  # a teacher action the policy's built-in rules forbid cannot be cloned
        with th.no_grad():
            hit = rules(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        if bool(hit.any()):
            raise ConfigError(
                f"bc: the teacher chose {int(hit.sum())} of {len(demos)} actions the policy "
                "rules out (a fully committed satellite while another had room); use a teacher "
                "that avoids full buffers or set policy_kwargs room_feature: null"
            )
    # Maskable policies take the masks; plain SB3 policies rely on the mask feature.
    masked = "action_masks" in inspect.signature(policy.evaluate_actions).parameters
    kw = (lambda idx: {"action_masks": masks[idx]}) if masked else (lambda idx: {})

    def loss_of(idx: th.Tensor) -> th.Tensor:
        values, log_prob, _ = policy.evaluate_actions(obs[idx], actions[idx], **kw(idx))
        return -log_prob.mean() + value_coef * ((values.flatten() - returns[idx]) ** 2).mean()

    fit_minibatches(policy, len(demos), loss_of, epochs, batch_size, learning_rate, seed,
         "behaviour cloning", progress)  # fmt: skip

    def evaluated(rows: slice) -> tuple[Any, Any, Any]:
        values, log_prob, _ = policy.evaluate_actions(obs[rows], actions[rows], **kw(rows))
        extra = {"action_masks": masks[rows].numpy()} if masked else {}
        dist = policy.get_distribution(obs[rows], **extra).distribution
        return values, log_prob, dist.probs.argmax(dim=1)

    values, log_prob, best = in_batches(evaluated, len(demos))
    return {
        "accuracy": float((best == actions).float().mean()),
        "cross_entropy": float(-log_prob.mean()),
        "value_mse": float(((values.flatten() - returns) ** 2).mean()),
    }


def fit_outcomes(
    model: Any,
    demos: Demonstrations,
    *,
    temperature_s: float = 1800.0,
    epochs: int = 5,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    return_scale: float = 1.0,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """Fit each action's logit to minus the cost of the job it decided, in place.

    The logit of the recorded action is regressed (Huber loss) on ``-(job_cost_s - earliest_s) /
    temperature_s``, where ``earliest_s`` is the earliest estimated turnaround over the decision's
    candidates: the same for every action of a decision, so it leaves the policy unchanged (softmax
    is shift-invariant) while removing most of the variance of the costs (when the next passes
    come), which the candidates cannot change. The network is shared over candidates, so what it
    learns from the recorded choices scores every candidate, and the greedy action is the one
    predicted to cost least. Deferral, which the teacher and the exploration never choose, is taught
    to cost one temperature more than the best candidate (as no heuristic defers while it can
    dispatch). The temperature sets how peaked the
    policy is for the PPO that follows: a candidate predicted to cost ``temperature_s`` more is
    ``e`` times less likely.

    Args:
        model: A model whose policy is :class:`agents.policy.CandidateScoringPolicy`.
        demos: From :func:`collect_demonstrations` (with ``job_costs_s``; use ``explore > 0``
            so alternatives to the teacher's choices are seen too).
        temperature_s: Seconds of predicted cost per unit of logit (> 0).
        epochs: Passes over the demonstrations.
        batch_size: Decisions per gradient step.
        learning_rate: Adam step size (the model's own optimiser is untouched).
        value_coef: Weight of the value regression on the discounted returns.
        return_scale: The returns are divided by this before the regression.
        seed: Shuffling seed.
        progress: Show a progress bar.

    Returns:
        ``{"accuracy", "cost_mae_s", "value_mse"}``: the share of decisions where the greedy
        action is the recorded one, the mean absolute error of the predicted cost of the
        recorded actions, and the value regression's error.
    """
    import torch as th

    _check_fit(demos, epochs, batch_size)
    _check_outcome_inputs(model.policy, demos, temperature_s)
    policy = model.policy
    obs = th.as_tensor(demos.obs)
    masks = th.as_tensor(demos.masks)
    actions = th.as_tensor(demos.actions).unsqueeze(1)
    relative = demos.job_costs_s - _earliest_estimate_s(demos.obs, model)
    target = th.as_tensor(-relative / float(temperature_s), dtype=th.float32)
    returns = th.as_tensor(demos.returns(float(model.gamma)) / return_scale, dtype=th.float32)
    loss_of = _outcome_loss(policy, obs, masks, actions, target, returns, value_coef)
    fit_minibatches(policy, len(demos), loss_of, epochs, batch_size, learning_rate, seed,
         "fitting job costs", progress)  # fmt: skip
    return _outcome_stats(policy, obs, masks, actions, target, returns, float(temperature_s))


def _check_outcome_inputs(policy: Any, demos: Demonstrations, temperature_s: float) -> None:
    """One-line errors for what outcome fitting cannot use."""
    from agents.policy import CandidateScoringPolicy

    if not isinstance(policy, CandidateScoringPolicy):
        raise ConfigError(
            "bc: target outcome scores candidates with the candidate policy (policy: candidate), "
            f"got {type(policy).__name__}"
        )
    if demos.job_costs_s is None or len(demos.job_costs_s) != len(demos):
        raise ConfigError("bc: target outcome needs the decided jobs' costs (job_costs_s)")
    if (
        isinstance(temperature_s, bool)
        or not isinstance(temperature_s, int | float)
        or (not temperature_s > 0)
    ):
        raise ConfigError(f"bc.temperature_s: expected seconds > 0, got {temperature_s!r}")


def _outcome_loss(
    policy: Any, obs: Any, masks: Any, actions: Any, target: Any, returns: Any, value_coef: float
) -> Any:
    """The mini-batch loss of :func:`fit_outcomes`.

    Huber on the recorded action's logit, deferral (never recorded) one temperature below the
    best candidate, and the value regression.
    """
    import torch as th

    defer = policy.allow_defer and not bool((actions == masks.shape[1] - 1).any())

    def loss_of(idx: th.Tensor) -> th.Tensor:
        logits = policy.action_logits(obs[idx])
        logit = logits.gather(1, actions[idx]).squeeze(1)
        values = policy.predict_values(obs[idx]).flatten()
        fit = th.nn.functional.smooth_l1_loss(logit, target[idx])
        if defer:  # never recorded: one temperature below the best candidate's logit
            best = logits[:, :-1].masked_fill(~masks[idx, :-1], -th.inf).amax(1).detach()
            fit = fit + th.nn.functional.smooth_l1_loss(logits[:, -1], best - 1.0)
        return fit + value_coef * ((values - returns[idx]) ** 2).mean()

    return loss_of


def _outcome_stats(
    policy: Any, obs: Any, masks: Any, actions: Any, target: Any, returns: Any,
    temperature_s: float,
) -> dict[str, float]:  # fmt: skip
    """``{"accuracy", "cost_mae_s", "value_mse"}`` of a fitted policy on its demonstrations."""
    import torch as th

    def evaluated(rows: slice) -> tuple[Any, Any, Any]:
        logits = policy.action_logits(obs[rows])
        best = logits.masked_fill(~masks[rows], -th.inf).argmax(dim=1)
        chosen = logits.gather(1, actions[rows]).squeeze(1)
        return chosen, best, policy.predict_values(obs[rows]).flatten()

    chosen, best, values = in_batches(evaluated, len(obs))
    return {
        "accuracy": float((best == actions.squeeze(1)).float().mean()),
        "cost_mae_s": float((chosen - target).abs().mean()) * temperature_s,
        "value_mse": float(((values - returns) ** 2).mean()),
    }


def _earliest_estimate_s(obs: np.ndarray, model: Any) -> np.ndarray:
    """Earliest estimated turnaround over each decision's valid candidates, in seconds."""
    policy = model.policy
    g, f = policy.n_global, policy.n_features
    rows = obs[:, g:].reshape(len(obs), -1, f)
    col = CANDIDATE_FEATURES.index("est_turnaround")
    squashed = np.where(rows[..., 0] > 0.5, rows[..., col], np.inf).min(axis=1)
    return unsquash_s(np.where(np.isfinite(squashed), squashed, 0.0))


def _check_fit(demos: Demonstrations, epochs: int, batch_size: int) -> None:
    if len(demos) == 0:
        raise ConfigError("bc: the teacher made no decisions (no jobs in the episodes?)")
    if epochs < 1 or batch_size < 1:
        raise ConfigError(f"bc: epochs and batch_size must be >= 1, got {epochs}, {batch_size}")


def fit_minibatches(
    policy: Any,
    n: int,
    loss_of: Any,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    desc: str,
    progress: bool,
) -> None:
    """Minimise ``loss_of(batch indices)`` over shuffled mini-batches with its own Adam.

    The one training loop of the warm starts here and of the distillation
    (``agents.iteration``): ``n`` samples, ``epochs`` passes in a seeded order, a progress bar
    named ``desc``.
    """
    import torch as th
    from tqdm.auto import tqdm

    policy.set_training_mode(True)
    optimiser = th.optim.Adam(policy.parameters(), lr=learning_rate)
    gen = th.Generator().manual_seed(int(seed))
    steps = epochs * ((n + batch_size - 1) // batch_size)
    with tqdm(total=steps, desc=desc, disable=not progress) as bar:
        for _ in range(epochs):
            order = th.randperm(n, generator=gen)
            for start in range(0, n, batch_size):
                loss = loss_of(order[start : start + batch_size])
                optimiser.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                optimiser.step()
                bar.update()
    policy.set_training_mode(False)


#: Rows per forward pass when a fitted policy is evaluated on a whole data set: the
#: candidate-scoring network's activations are rows × K × hidden floats, so one pass over a
#: million decisions would take tens of GB (a 48-cell distillation was killed that way).
EVAL_BATCH = 32_768


def in_batches(fn: Any, n: int, batch_size: int = EVAL_BATCH) -> Any:
    """``fn(rows)`` over ``slice``s of at most ``batch_size`` of ``n`` rows, without gradients.

    ``fn`` returns a tensor or a tuple of tensors; the pieces are concatenated along the
    first axis, so the result is what ``fn(slice(None))`` would give, in bounded memory.
    """
    import torch as th

    with th.no_grad():
        parts = [fn(slice(a, min(n, a + batch_size))) for a in range(0, max(n, 1), batch_size)]
    if isinstance(parts[0], tuple):
        return tuple(th.cat(column) for column in zip(*parts, strict=True))
    return th.cat(parts)
