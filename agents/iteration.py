"""Rollout policy iteration distilled into the candidate-scoring network.

Turnaround is decided hours of decisions after a dispatch, so rewards alone teach a policy
little. The simulator can say instead what every action costs: at a decision, each valid
action is tried on a fork of the episode (``agents.planning.branch_cost_s``), a base
heuristic plays on for ``horizon`` decisions with the same future arrivals, and the system
drains. Those costs label *every* action of the decision, not just the one taken.

The student is :class:`agents.policy.CandidateScoringPolicy` over the scenario-independent
layout of ``agents.votes.VotingDispatch`` (``envs.wrappers.CanonicalDispatch``'s: no model
one-hot, ``k_max`` candidate slots, a deferral slot, the queue-aware features; plus which
candidate each of ``agents.votes.VOTERS`` would choose), so one network serves every
scenario and can follow whichever rule fits the state. Training:

1. **Warm start** (:func:`imitate`): cross-entropy towards a heuristic teacher's choices
   on states the teacher visits. ``teacher="best"`` takes, in each cell, the heuristic of
   least cost on the cell's imitation episodes (:func:`best_heuristic`): no heuristic wins
   every scenario, and the warm start should not inherit one rule's blind spots.
2. **Label** (:func:`label_episode`, run in parallel by :func:`collect_labels`): the
   current student plays with exploration (DAgger: states come from the learner, labels
   from the planner); a share of its decisions is labelled with the branch costs of every
   valid action. With several bases (``base="ect_queue+earliest_uplink"``) an action's
   label is its cheapest branch over them (parallel rollout, ``agents.planning``), a
   teacher at least as good as each base.
3. **Fit** (:func:`fit_labels`): cost-sensitive classification. Each labelled decision's
   target is ``softmax(-(cost - best) / tau)`` with ``tau`` a tenth of the decision's mean
   regret, so the cheapest branch gets most of the mass; decisions are weighted by their
   mean regret relative to the typical regret of their scenario cell (decisions where the
   choice does not matter weigh nothing, and long-turnaround scenarios do not drown
   short ones). Labels of all rounds are kept (dataset aggregation).
4. Iterate 2–3 with the new student.

:func:`distill` runs the whole recipe; ``scripts/distill.py`` is its command line.

Size: about 660 lines, above the house's ~400, because it is one recipe whose parts share
its types: the training ``Cell``, the rollout labels and the teacher choices are made, fitted
and measured here, and the driver (:func:`distill`) strings them together; a split would
export those types and private helpers across modules for no reader's gain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.heuristics import HEURISTICS, make_heuristic
from agents.lifeline import run_ordered
from agents.planning import best_branch_cost_s, parse_bases, play_then_drain
from agents.rollout import Step, rollout
from agents.scoring import greedy_action
from agents.votes import VotingDispatch
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.wrappers import QUEUE_FEATURES, CanonicalDispatch

__all__ = [
    "TEACHERS",
    "Cell",
    "RolloutLabels",
    "TeacherChoices",
    "agreement",
    "best_heuristic",
    "best_teachers",
    "collect_labels",
    "dagger_seeds",
    "demonstrations",
    "distill",
    "fit_demonstrations",
    "fit_labels",
    "imitate",
    "label_episode",
    "make_student",
]

#: Index of the full-on-arrival feature in a canonical candidate block (the room rule).
ROOM_FEATURE = CanonicalDispatch.n_features - len(QUEUE_FEATURES) + 1

#: Stride of the DAgger rounds' episode seeds (:func:`dagger_seeds`).
DAGGER_SEED_STRIDE = 10_000

#: The heuristics ``teacher="best"`` chooses among, per cell.
TEACHERS = (
    "ect_queue",
    "earliest_uplink",
    "least_loaded",
    "load_aware",
    "uplink_ect",
    "regime_ect",
)


@dataclass(frozen=True, slots=True)
class Cell:
    """A scenario and load to train on, with its overrides (e.g. a short arrival window)."""

    scenario: str
    load: float | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def make_env(self, k_max: int) -> VotingDispatch:
        """The student's env for this cell (contact plans come from the disk cache).

        ``load`` ``None`` keeps the scenario's own load.
        """
        return VotingDispatch(self.make_base_env(), k_max=k_max)

    def make_base_env(self) -> ConstellationDispatchEnv:
        """The cell's plain ``ConstellationDispatchEnv``."""
        extra = {} if self.load is None else {"load": self.load}
        return ConstellationDispatchEnv(self.scenario, **{**dict(self.overrides), **extra})


@dataclass(frozen=True, slots=True)
class RolloutLabels:
    """Labelled decisions in the canonical layout.

    Attributes:
        obs: Canonical observations ``(n, obs_dim)``.
        masks: Valid canonical actions ``(n, k_max + 1)``.
        costs_s: Branch cost of each valid action minus the decision's cheapest, seconds
            (``nan`` where invalid).
        cell: Index of the decision's training cell (for per-cell normalisation).
        chosen: The canonical action the player took (its exploration included).
    """

    obs: np.ndarray
    masks: np.ndarray
    costs_s: np.ndarray
    cell: np.ndarray
    chosen: np.ndarray

    def __len__(self) -> int:
        return len(self.cell)

    @staticmethod
    def concat(parts: Sequence[RolloutLabels]) -> RolloutLabels:
        """One set from several (empty parts are allowed)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ConfigError("labels: no labelled decisions (no jobs in the episodes?)")
        return RolloutLabels(*(np.concatenate([getattr(p, f) for p in parts])
                               for f in RolloutLabels.__slots__))  # fmt: skip


def make_student(env: VotingDispatch, *, hidden: int = 64, seed: int = 0) -> Any:
    """A MaskablePPO holding a fresh :class:`CandidateScoringPolicy` for the canonical layout."""
    from sb3_contrib import MaskablePPO

    from agents.policy import CandidateScoringPolicy

    kwargs = {"n_global": env.n_global, "n_features": env.n_features, "allow_defer": True,
              "room_feature": ROOM_FEATURE, "hidden": hidden}  # fmt: skip
    return MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=kwargs, seed=seed,
                       device="cpu", verbose=0)  # fmt: skip


def _teacher_action(agent: Any, env: CanonicalDispatch) -> int:
    """A heuristic's choice for the current decision, as a canonical action."""
    base = env.unwrapped
    a = int(agent.predict(None, action_masks=base.action_masks())[0])
    return env.k_max if a == base.k else a


def label_episode(
    cell: Cell,
    seed: int,
    *,
    cell_index: int = 0,
    student: Any = None,
    teacher: str = "ect_queue",
    base: str | Sequence[str] = "ect_queue",
    horizon: int | None = 50,
    futures: int = 0,
    label_share: float = 0.1,
    explore: float = 0.1,
    max_labels: int | None = None,
    labels_per_episode: int | None = None,
    k_max: int = 16,
) -> RolloutLabels:
    """Play one episode of ``cell`` and label a share of its decisions with branch costs.

    Args:
        cell: Scenario, load and overrides.
        seed: Reset seed (arrivals); also seeds exploration and the choice of decisions.
        cell_index: Stored with each label.
        student: A model from :func:`make_student` that plays (``None``: ``teacher`` plays).
        teacher: Heuristic that plays when there is no student.
        base: Heuristic the branches follow after the labelled action; several (a list or
            ``"A+B"``): an action's label is its cheapest branch over them.
        horizon: Decisions a branch plays before draining (``None``: to the end).
        futures: ``0``: branches see the episode's real future arrivals (clairvoyant
            labels). ``N``: each action is priced on ``N`` sampled futures, the same for
            every action of the decision, and labelled with the mean (``agents.planning``):
            labels a dispatcher that cannot see the future can learn.
        label_share: Share of decisions labelled (chosen with the seed's generator).
        explore: Share of decisions where the player takes a random valid action.
        max_labels: Stop the episode after this many labels.
        labels_per_episode: Lower the labelling share so that an episode yields about this
            many labels (long episodes are labelled sparsely, not cut short; ``None``: no
            cap).
        k_max: Candidate slots of the canonical layout.
    """
    if not 0 < label_share <= 1 or not 0 <= explore < 1:
        raise ConfigError(
            f"labels: label_share in (0, 1] and explore in [0, 1), got {label_share}, {explore}"
        )
    if labels_per_episode is not None and labels_per_episode < 1:
        raise ConfigError(f"labels_per_episode: must be >= 1, got {labels_per_episode!r}")
    if isinstance(futures, bool) or not isinstance(futures, int) or futures < 0:
        raise ConfigError(f"futures: must be an integer >= 0, got {futures!r}")
    bases = parse_bases(base)
    env = cell.make_env(k_max)
    base_env = env.unwrapped
    rng = np.random.default_rng([int(seed), 0x1AB])
    share: list[float] = []  # the episode's labelling share, fixed at its first decision
    player = None if student is not None else make_heuristic(teacher, base_env, seed=seed)
    out: dict[str, list] = {"obs": [], "masks": [], "costs_s": [], "chosen": []}

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        if student is not None:
            action = greedy_action(student, obs, mask)
        else:
            action = _teacher_action(player, env)
        valid = np.flatnonzero(mask)
        if not share:
            share.append(_episode_share(base_env, label_share, labels_per_episode))
        if rng.random() < explore:
            action = int(rng.choice(valid))
        if len(valid) > 1 and rng.random() < share[0]:
            costs = np.full(env.k_max + 1, np.nan)
            sampled = [int(x) for x in rng.integers(2**31, size=futures)]  # shared by actions
            for a in valid:
                crn = int(rng.integers(2**31))
                costs[a] = best_branch_cost_s(base_env, env.to_env_action(int(a)), bases,
                                              horizon, crn, sampled)  # fmt: skip
            costs[valid] -= np.nanmin(costs)
            for key, value in zip(out, (obs, mask.copy(), costs, action), strict=True):
                out[key].append(value)
        return action

    def more(_: Step) -> bool:  # stop once max_labels are in (after that decision's step)
        return len(out["obs"]) < max_labels

    rollout(env, act, int(seed), on_step=None if max_labels is None else more)
    n = len(out["obs"])
    dim = env.observation_space.shape[0]
    return RolloutLabels(
        np.asarray(out["obs"], dtype=np.float32).reshape(n, dim),
        np.asarray(out["masks"], dtype=bool).reshape(n, env.k_max + 1),
        np.asarray(out["costs_s"], dtype=np.float64).reshape(n, env.k_max + 1),
        np.full(n, cell_index, dtype=np.int64),
        np.asarray(out["chosen"], dtype=np.int64),
    )


def _episode_share(
    env: ConstellationDispatchEnv, label_share: float, per_episode: int | None
) -> float:
    """``label_share``, lowered so an episode of this many jobs gives ``per_episode`` labels."""
    if per_episode is None:
        return label_share
    limit = env.scenario.episode.max_decisions
    decisions = env.sim.n_jobs if limit is None else min(env.sim.n_jobs, limit)
    return min(label_share, per_episode / max(decisions, 1))


def heuristic_cost_s(cell: Cell, name: str, seed: int) -> float:
    """Cost per arrived job of heuristic ``name`` on one episode of ``cell``.

    An episode cut by ``episode.max_decisions`` is not priced at the cut (that would favour
    a rule that keeps jobs waiting): arrivals stop there and the heuristic drains the
    system, so every arrived job's cost is final.
    """
    from envs.sim.metrics import job_table

    env = cell.make_base_env()
    env.reset(seed=int(seed))
    env.observe_features = False
    env.truncate = False
    play_then_drain(env, make_heuristic(name, env, seed=int(seed)),
                    env.scenario.episode.max_decisions)  # fmt: skip
    total = job_table(env.sim)["cost_s"].sum()
    return float(total / max(env.sim.arrived, 1))


def best_heuristic(
    cell: Cell, seeds: Sequence[int], candidates: Sequence[str] = TEACHERS
) -> tuple[str, dict[str, float]]:
    """The heuristic of least mean cost per job on ``cell``'s ``seeds``, and every cost.

    Ties go to the first in ``candidates``.
    """
    costs = {
        name: float(np.mean([heuristic_cost_s(cell, name, int(s)) for s in seeds]))
        for name in candidates
    }
    return min(candidates, key=costs.__getitem__), costs


def _label_task(
    n: int, cell: Cell, seed: int, index: int, student_path: str | None, kwargs: dict
) -> tuple[int, RolloutLabels]:
    """Task ``n`` of :func:`collect_labels` (in a worker process): ``(n, labels)``."""
    import torch as th

    th.set_num_threads(1)
    student = None
    if student_path is not None:
        from sb3_contrib import MaskablePPO

        student = MaskablePPO.load(student_path, device="cpu")
    return n, label_episode(cell, seed, cell_index=index, student=student, **kwargs)


def collect_labels(
    cells: Sequence[Cell],
    seeds: Sequence[int],
    *,
    student_path: str | os.PathLike[str] | None = None,
    workers: int = 1,
    progress: bool = True,
    backend: str = "process",
    **kwargs: Any,
) -> RolloutLabels:
    """:func:`label_episode` for every cell × seed, on ``workers`` processes or Ray tasks.

    ``backend="ray"`` runs the tasks with :func:`agents.distributed.run_on_ray` (the open Ray
    session, else a local instance of ``workers`` CPUs); the labels do not depend on it.
    """
    if backend not in ("process", "ray"):
        raise ConfigError(f"backend: must be process or ray, got {backend!r}")
    path = None if student_path is None else os.fspath(student_path)
    tasks = [(c, int(s), i, path, kwargs) for i, c in enumerate(cells) for s in seeds]
    tasks = [(n, *t) for n, t in enumerate(tasks)]  # results are put back in task order
    run = None
    if backend == "ray":
        from agents.distributed import run_on_ray as run
    parts = run_ordered(_label_task, tasks, workers, desc="labelling", progress=progress, run=run)
    return RolloutLabels.concat(parts)


def fit_labels(
    model: Any,
    labels: RolloutLabels,
    *,
    epochs: int = 20,
    batch_size: int = 256,
    learning_rate: float = 5e-4,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """Cost-sensitive classification of the labelled decisions, in place (see the module).

    Returns ``{"agreement", "regret_share"}``: the share of decisions whose greedy action is
    the cheapest branch, and the greedy actions' mean regret over the mean regret of a
    uniformly random valid action (0 is perfect, 1 is random).
    """
    import torch as th

    from agents.bc import fit_minibatches, in_batches

    policy = model.policy
    costs = np.where(labels.masks, np.nan_to_num(labels.costs_s, nan=0.0), 0.0)
    n_valid = labels.masks.sum(1)
    mean_regret = costs.sum(1) / np.maximum(n_valid, 1)
    typical = np.ones(len(labels))
    for c in np.unique(labels.cell):
        sel = labels.cell == c
        scale = float(np.mean(mean_regret[sel])) if sel.any() else 1.0
        typical[sel] = scale if scale > 0 else 1.0
    weight = np.clip(mean_regret / typical, 0.0, 5.0)
    tau = np.maximum(0.1 * mean_regret, 1e-6)[:, None]
    z = np.where(labels.masks, -costs / tau, -np.inf)
    z -= z.max(1, keepdims=True)
    target = np.exp(z)
    target /= target.sum(1, keepdims=True)
    obs = th.as_tensor(labels.obs)
    masks = th.as_tensor(labels.masks)
    tgt = th.as_tensor(target, dtype=th.float32)
    w = th.as_tensor(weight / max(weight.mean(), 1e-12), dtype=th.float32)

    def loss_of(idx: th.Tensor) -> th.Tensor:
        logits = policy.action_logits(obs[idx]).masked_fill(~masks[idx], -1e9)
        logp = th.log_softmax(logits, dim=1)
        ce = -(tgt[idx] * logp.masked_fill(~masks[idx], 0.0)).sum(1)
        return (w[idx] * ce).mean()

    fit_minibatches(policy, len(labels), loss_of, epochs, batch_size, learning_rate, seed,
         "fitting rollout labels", progress)  # fmt: skip
    greedy = in_batches(
        lambda rows: policy.action_logits(obs[rows]).masked_fill(~masks[rows], -th.inf).argmax(1),
        len(labels),
    ).numpy()
    picked = costs[np.arange(len(labels)), greedy]
    best = np.nanargmin(np.where(labels.masks, costs, np.inf), axis=1)
    random_regret = float(mean_regret.mean())
    return {
        "agreement": float((greedy == best).mean()),
        "regret_share": float(picked.mean() / random_regret) if random_regret > 0 else 0.0,
    }


@dataclass(frozen=True, slots=True)
class TeacherChoices:
    """Teacher choices in the canonical layout: ``obs``, ``masks``, ``actions``, ``cell``.

    (``agents.bc.Demonstrations`` also records rewards, for the value regression of
    behaviour cloning; the distillation needs only the choices and their cells.)
    """

    obs: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    cell: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    def cell_weights(self) -> np.ndarray:
        """Per-decision weights, mean 1, giving every cell's decisions the same total."""
        weight = 1.0 / np.bincount(self.cell)[self.cell]
        return weight * (len(self) / weight.sum())

    @staticmethod
    def concat(parts: Sequence[TeacherChoices]) -> TeacherChoices:
        """One set from several."""
        return TeacherChoices(*(np.concatenate([getattr(p, f) for p in parts])
                                for f in TeacherChoices.__slots__))  # fmt: skip


def _teachers(teacher: str | Sequence[str], n_cells: int) -> list[str]:
    teachers = [teacher] * n_cells if isinstance(teacher, str) else list(teacher)
    if len(teachers) != n_cells:
        raise ConfigError(f"teacher: expected one per cell ({n_cells}), got {len(teachers)}")
    for name in teachers:
        if name not in HEURISTICS:
            raise ConfigError(f"teacher: unknown heuristic {name!r}")
    return teachers


def demonstrations(
    cells: Sequence[Cell],
    seeds: Sequence[int],
    *,
    teacher: str | Sequence[str] = "ect_queue",
    k_max: int = 16,
    student: Any = None,
    explore: float = 0.0,
) -> TeacherChoices:
    """The teacher's choice at every decision of ``cells`` × ``seeds``.

    Without ``student`` the teacher plays (its own states); with one, the student plays
    (greedy, plus a share ``explore`` of random valid actions) and the teacher only says what
    it would do: DAgger's states of the learner, labels of the expert. ``teacher`` is one
    heuristic for every cell or one per cell (e.g. from :func:`best_heuristic`).
    """
    teachers = _teachers(teacher, len(cells))
    if not 0 <= explore < 1:
        raise ConfigError(f"explore: must be in [0, 1), got {explore!r}")
    obs, masks, actions, cell_of = [], [], [], []
    for index, (cell, name) in enumerate(zip(cells, teachers, strict=True)):
        env = cell.make_env(k_max)
        for s in seeds:
            agent = make_heuristic(name, env.unwrapped, seed=int(s))
            rng = np.random.default_rng([int(s), 0xDA6])

            def act(o: np.ndarray, m: np.ndarray, agent: Any = agent, env: Any = env,
                    rng: Any = rng, index: int = index) -> int:  # fmt: skip
                a = _teacher_action(agent, env)
                obs.append(o)
                masks.append(m)
                actions.append(a)
                cell_of.append(index)
                if student is None:
                    return a
                if rng.random() < explore:
                    return int(rng.choice(np.flatnonzero(m)))
                return greedy_action(student, o, m)

            rollout(env, act, int(s))
    if not actions:
        raise ConfigError("imitate: the teacher made no decisions")
    dim = int(np.asarray(obs[0]).shape[0])
    return TeacherChoices(
        np.asarray(obs, dtype=np.float32).reshape(len(obs), dim),
        np.asarray(masks, dtype=bool).reshape(len(obs), -1),
        np.asarray(actions, dtype=np.int64),
        np.asarray(cell_of, dtype=np.int64),
    )


def dagger_seeds(imitation_seeds: Sequence[int], round_: int) -> list[int]:
    """Episode seeds of DAgger round ``round_`` (from 0): imitation seeds + 10,000 (round_ + 1).

    The stride keeps training episodes away from the seeds policies are judged on (the
    suites' and the quickstart's, from 100): a student that played an evaluation episode
    while its teachers labelled it would be scored on a sequence it was fitted to.

    >>> dagger_seeds([0], 0), dagger_seeds([0, 1], 1)
    ([10000], [20000, 20001])
    """
    return [int(s) + DAGGER_SEED_STRIDE * (round_ + 1) for s in imitation_seeds]


def fit_demonstrations(
    model: Any,
    data: TeacherChoices,
    *,
    epochs: int = 5,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
    desc: str = "imitating",
) -> dict[str, float]:
    """Cross-entropy towards the teacher's choices, in place; every cell weighs the same.

    A cell's decisions share one unit of weight, so a dense scenario's 20,000 decisions do
    not drown a sparse one's few hundred. Returns ``{"decisions", "agreement"}`` (agreement
    averaged over cells, the same weighting).
    """
    import torch as th

    from agents.bc import fit_minibatches

    weight = data.cell_weights()
    o_t = th.as_tensor(data.obs)
    m_t = th.as_tensor(data.masks)
    a_t = th.as_tensor(data.actions)
    w_t = th.as_tensor(weight, dtype=th.float32)
    policy = model.policy

    def loss_of(idx: th.Tensor) -> th.Tensor:
        logits = policy.action_logits(o_t[idx]).masked_fill(~m_t[idx], -1e9)
        ce = th.nn.functional.cross_entropy(logits, a_t[idx], reduction="none")
        return (w_t[idx] * ce).mean()

    fit_minibatches(
        policy, len(data), loss_of, epochs, batch_size, learning_rate, seed, desc, progress
    )
    return {"decisions": float(len(data)), "agreement": agreement(model, data)}


def agreement(model: Any, data: TeacherChoices) -> float:
    """Share of ``data``'s decisions whose greedy action is the teacher's.

    Every cell weighs the same (:meth:`TeacherChoices.cell_weights`).
    """
    import torch as th

    from agents.bc import in_batches

    obs, masks = th.as_tensor(data.obs), th.as_tensor(data.masks)
    greedy = in_batches(
        lambda rows: model.policy.action_logits(obs[rows]).masked_fill(~masks[rows], -th.inf)
        .argmax(1),
        len(data),
    ).numpy()  # fmt: skip
    hit = (greedy == data.actions).astype(np.float64)
    return float((hit * data.cell_weights()).sum() / len(data))


def imitate(
    model: Any,
    cells: Sequence[Cell],
    seeds: Sequence[int],
    *,
    teacher: str | Sequence[str] = "ect_queue",
    k_max: int = 16,
    epochs: int = 5,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """Warm start: :func:`fit_demonstrations` on the states the teacher visits."""
    data = demonstrations(cells, seeds, teacher=teacher, k_max=k_max)
    names = ", ".join(sorted(set(_teachers(teacher, len(cells)))))
    return fit_demonstrations(model, data, epochs=epochs, batch_size=batch_size,
                              learning_rate=learning_rate, seed=seed, progress=progress,
                              desc=f"imitating {names}")  # fmt: skip


def _best_task(
    n: int, cell: Cell, seeds: Sequence[int]
) -> tuple[int, tuple[str, dict[str, float]]]:
    """Task ``n`` of :func:`best_teachers` (in a worker process)."""
    return n, best_heuristic(cell, seeds)


def best_teachers(
    cells: Sequence[Cell], seeds: Sequence[int], *, workers: int = 1, progress: bool = True
) -> list[tuple[str, dict[str, float]]]:
    """:func:`best_heuristic` of every cell, on ``workers`` processes, in cell order."""
    tasks = [(n, c, [int(s) for s in seeds]) for n, c in enumerate(cells)]
    return run_ordered(_best_task, tasks, workers, desc="best heuristic per cell",
                       progress=progress)  # fmt: skip


def distill(
    cells: Sequence[Cell],
    *,
    out_dir: str | os.PathLike[str],
    rounds: int = 2,
    imitation_seeds: Sequence[int] = (0,),
    label_seeds: Sequence[int] = (1, 2),
    teacher: str = "ect_queue",
    dagger_rounds: int = 0,
    base: str | Sequence[str] = "ect_queue",
    horizon: int | None = 50,
    futures: int = 0,
    label_share: float = 0.1,
    labels_per_episode: int | None = None,
    explore: float = 0.1,
    k_max: int = 16,
    epochs: int = 20,
    workers: int = 1,
    seed: int = 0,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> tuple[Any, list[dict[str, Any]]]:
    """The recipe: imitate ``teacher``, then ``rounds`` of label → fit (labels aggregated).

    ``teacher="best"`` imitates, in each cell, the heuristic of least cost on the cell's
    imitation episodes. ``dagger_rounds`` rounds then let the student play (with ``explore``)
    while the teachers say what they would do, and refit on all demonstrations (DAgger with
    the heuristics as experts; seeds :func:`dagger_seeds`). Every rollout round labels
    states the current student visits (round 0: the imitated student, saved as
    ``out_dir/imitation.zip``). The student is saved as
    ``out_dir/round_R.zip`` after each round and ``out_dir/model.zip`` at the end. Returns
    the model and one stats row per round.
    """
    from pathlib import Path

    from envs.atomic import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if rounds < 0 or dagger_rounds < 0:
        raise ConfigError(f"rounds, dagger_rounds: must be >= 0, got {rounds}, {dagger_rounds}")
    parse_bases(base)
    if teacher == "best":
        found = best_teachers(cells, imitation_seeds, workers=workers, progress=progress)
        teachers: str | list[str] = [name for name, _ in found]
        for cell, (name, costs) in zip(cells, found, strict=True):
            load = "own load" if cell.load is None else f"load {cell.load:g}"
            table = ", ".join(f"{k} {v / 60:.1f}" for k, v in costs.items())
            log(f"teacher for {cell.scenario} ({load}): {name}  [cost/job, min: {table}]")
    elif teacher in HEURISTICS:
        teachers = teacher
    else:
        raise ConfigError(f"teacher: unknown heuristic {teacher!r} (or 'best')")
    model = make_student(cells[0].make_env(k_max), seed=seed)
    data = demonstrations(cells, imitation_seeds, teacher=teachers, k_max=k_max)
    stats = fit_demonstrations(model, data, seed=seed, progress=progress,
                               desc=f"imitating {teacher}")  # fmt: skip
    log(f"imitation of {teacher}: {int(stats['decisions'])} decisions, "
        f"agreement {stats['agreement']:.3f}")  # fmt: skip
    rows: list[dict[str, Any]] = [{"round": "imitation", **stats}]
    for d in range(dagger_rounds):
        seeds = dagger_seeds(imitation_seeds, d)
        more = demonstrations(cells, seeds, teacher=teachers, k_max=k_max, student=model,
                              explore=explore)  # fmt: skip
        before = agreement(model, more)
        data = TeacherChoices.concat([data, more])
        stats = fit_demonstrations(model, data, seed=seed + d + 1, progress=progress,
                                   desc=f"dagger round {d}")  # fmt: skip
        rows.append({"round": f"dagger_{d}", "agreement_before": before, **stats})
        log(f"dagger round {d}: the student agreed with its teachers on {before:.3f} of the "
            f"states it visits; refit on {int(stats['decisions'])} decisions, agreement "
            f"{stats['agreement']:.3f}")  # fmt: skip
    with atomic_write(out / "imitation.zip", "wb") as fh:
        model.save(fh, exclude=["policy.optimizer"])
    parts: list[RolloutLabels] = []
    for r in range(rounds):
        student_path = out / ("imitation.zip" if r == 0 else f"round_{r - 1}.zip")
        seeds = [s + 1000 * r for s in label_seeds]
        labels = collect_labels(cells, seeds, student_path=student_path, workers=workers,
                                progress=progress, base=base, horizon=horizon, futures=futures,
                                label_share=label_share, labels_per_episode=labels_per_episode,
                                explore=explore, k_max=k_max)  # fmt: skip
        parts.append(labels)
        data = RolloutLabels.concat(parts)
        fit = fit_labels(model, data, epochs=epochs, seed=seed + r, progress=progress)
        path = out / f"round_{r}.zip"
        with atomic_write(path, "wb") as fh:
            model.save(fh, exclude=["policy.optimizer"])
        row = {"round": r, "labels": len(labels), "labels_total": len(data), **fit}
        rows.append(row)
        log(f"round {r}: {len(labels)} new labels ({len(data)} in all); greedy agrees with the "
            f"cheapest branch on {fit['agreement']:.3f}, regret {fit['regret_share']:.3f} of "
            "random's")  # fmt: skip
    with atomic_write(out / "model.zip", "wb") as fh:
        model.save(fh, exclude=["policy.optimizer"])
    return model, rows
