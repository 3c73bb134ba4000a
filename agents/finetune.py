"""Policy-gradient fine-tuning of the distilled student, with Decima's variance reduction.

The distilled student (``agents.iteration``) imitates heuristics and rollout labels; this
module asks whether rewards can then improve it, the last step of the recipe. Plain PPO
could not (``docs/history.md``): a dispatch changes costs hours of decisions later, and the
return of one episode mostly measures its arrivals. Two of Decima's remedies (Mao et al.,
SIGCOMM 2019) are applied:

* **A baseline that depends on the input.** For one arrival sequence (a reset seed),
  ``rollouts`` episodes are sampled from the stochastic student. All of them see the same
  jobs at the same times, so the cost still to come at simulated time ``t`` differs between
  them only through the actions taken. A decision's advantage is its return-to-go minus the
  mean return-to-go *at the same simulated time* of the other rollouts of its sequence
  (leave-one-out, so the baseline does not depend on the decision's own action).
* **A differential reward.** Each step's reward has the average cost rate of the policy
  times the step's duration added back (``reward + rho × dt``, with ``rho`` a running mean
  of cost per simulated second), so returns-to-go measure cost relative to the average rate
  rather than growing with the time left in the episode.

The update is PPO's clipped surrogate on those advantages (normalised per sequence, so
scenarios with long turnarounds do not drown short ones), with a small entropy bonus; no
value network is needed. After every iteration the greedy student is evaluated on held-out
seeds of the same cells and compared, cell by cell, with the starting student; the best
iterate is kept (:func:`finetune` returns its mean cost ratio, so a run that does not help
says so and keeps the student it started from).

``scripts/finetune.py`` (``constellation-dispatch finetune``) is the command line.

Size: about 410 lines, at the house's ~400: trajectory sampling, the input-dependent
baseline, the PPO update and the driver are one algorithm.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.iteration import Cell
from agents.lifeline import run_ordered
from agents.rollout import Step, rollout
from agents.scoring import greedy_action
from envs.errors import ConfigError
from envs.reward import TimeInSystem

__all__ = ["Trajectory", "advantages", "finetune", "greedy_cost_s", "sample_trajectory"]


@dataclass(frozen=True, slots=True)
class Trajectory:
    """One sampled episode of a cell, in the canonical layout.

    Attributes:
        obs: Observations ``(n, obs_dim)``.
        masks: Valid actions ``(n, n_actions)``.
        actions: Sampled actions ``(n,)``.
        logp: Their log-probabilities under the sampling policy ``(n,)``.
        times_s: Simulated time of each decision ``(n,)``.
        costs_s: Cost accrued by each step (minus its reward, seconds) ``(n,)``.
        end_s: Simulated time when the episode ended.
        group: ``(cell index, arrival seed)``: trajectories sharing it share their arrivals.
    """

    obs: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    logp: np.ndarray
    times_s: np.ndarray
    costs_s: np.ndarray
    end_s: float
    group: tuple[int, int]

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def total_cost_s(self) -> float:
        """The episode's cost after its first decision (its jobs' time in system, drops)."""
        return float(self.costs_s.sum())


def _cell_env(cell: Cell, k_max: int, cap: int | None) -> Any:
    """The cell's canonical env, priced in seconds, played past ``max_decisions`` (drained)."""
    env = cell.make_env(k_max)
    base = env.unwrapped
    base.reward_fn = TimeInSystem("s")
    base.truncate = False
    return env, (base.scenario.episode.max_decisions if cap is None else cap)


def _play(env: Any, act: Callable, seed: int, cap: int | None, on_step: Callable) -> None:
    """Play ``seed`` to the end; after ``cap`` decisions arrivals stop and the system drains."""
    last: list[Any] = [None]

    def record(step: Step) -> None:
        last[0] = step.next_obs
        on_step(step)

    played = rollout(env, act, seed, on_step=record, max_steps=cap)
    if not played.done and not env.unwrapped.sim.done:
        env.unwrapped.sim.stop_arrivals()
        rollout(env, act, None, reset=False, obs=last[0], on_step=record)


def sample_trajectory(
    model: Any,
    cell: Cell,
    seed: int,
    *,
    sample_seed: int,
    group: tuple[int, int] = (0, 0),
    k_max: int = 16,
    temperature: float = 1.0,
    cap: int | None = None,
) -> Trajectory:
    """One episode of ``cell`` (arrivals from ``seed``) with actions sampled from ``model``.

    Actions are drawn from ``softmax(logits / temperature)`` over the valid ones, with a
    generator seeded by ``sample_seed``. ``cap`` (default: the cell's ``max_decisions``)
    stops arrivals after that many decisions; the system then drains, so every arrived job
    is priced to its end.
    """
    import torch as th

    env, cap = _cell_env(cell, k_max, cap)
    sim = env.unwrapped
    rng = np.random.default_rng([int(sample_seed), 0xF1E])
    obs_l, mask_l, act_l, logp_l, time_l, cost_l = [], [], [], [], [], []
    policy = model.policy

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        with th.no_grad():
            logits = policy.action_logits(th.as_tensor(obs[None], dtype=th.float32))[0]
        z = np.where(mask, logits.numpy().astype(np.float64) / temperature, -np.inf)
        z -= z.max()
        p = np.exp(z)
        p /= p.sum()
        a = int(rng.choice(len(p), p=p))
        obs_l.append(obs)
        mask_l.append(mask)
        act_l.append(a)
        logp_l.append(np.log(p[a]))
        time_l.append(sim.sim.now)
        return a

    def on_step(step: Step) -> None:
        if len(cost_l) < len(act_l):  # steps taken without asking (no valid action) add on
            cost_l.append(-float(step.reward))
        elif cost_l:
            cost_l[-1] -= float(step.reward)

    _play(env, act, int(seed), cap, on_step)
    n = len(act_l)
    if n == 0:
        raise ConfigError(f"finetune: {cell.scenario} seed {seed} has no decisions")
    return Trajectory(
        np.asarray(obs_l, dtype=np.float32).reshape(n, -1),
        np.asarray(mask_l, dtype=bool).reshape(n, -1),
        np.asarray(act_l, dtype=np.int64),
        np.asarray(logp_l, dtype=np.float64),
        np.asarray(time_l, dtype=np.float64),
        np.asarray(cost_l, dtype=np.float64),
        float(sim.sim.now),
        (int(group[0]), int(group[1])),
    )


def _cost_to_go(traj: Trajectory, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(times, cost still to come)`` of a trajectory, differential reward applied.

    The cost accrued between decisions is spread linearly (job-seconds grow linearly while
    nothing happens), so the cost to come at any time is an interpolation of these knots.
    """
    times = np.append(traj.times_s, traj.end_s)
    steps = traj.costs_s - rho * np.diff(times)
    to_go = np.append(np.cumsum(steps[::-1])[::-1], 0.0)
    return times, to_go


def advantages(trajectories: Sequence[Trajectory], rho: float) -> list[np.ndarray]:
    """Per decision: minus (its cost to come − the other rollouts' cost to come then).

    Trajectories are grouped by ``group`` (same arrivals); each decision's baseline is the
    mean over the *other* trajectories of its group of the cost to come at the decision's
    simulated time (Decima's input-dependent baseline, leave-one-out). Advantages are then
    scaled by the standard deviation of their group, so every sequence weighs alike. A group
    of one trajectory has no baseline and gets zero advantages.
    """
    knots = [_cost_to_go(t, rho) for t in trajectories]
    out: list[np.ndarray] = [np.zeros(len(t)) for t in trajectories]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(trajectories):
        groups.setdefault(t.group, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        for i in members:
            t = trajectories[i]
            others = [np.interp(t.times_s, *knots[j]) for j in members if j != i]
            out[i] = np.mean(others, axis=0) - knots[i][1][:-1]  # cheaper than others: > 0
        scale = np.std(np.concatenate([out[i] for i in members]))
        for i in members:
            out[i] = out[i] / scale if scale > 0 else out[i] * 0.0
    return out


def _sample_task(
    n: int, model_path: str, cell: Cell, seed: int, sample_seed: int, group: tuple[int, int],
    kwargs: dict,
) -> tuple[int, Trajectory]:  # fmt: skip
    """Task ``n`` of :func:`_sample` (in a worker process)."""
    import torch as th

    th.set_num_threads(1)
    from sb3_contrib import MaskablePPO

    model = MaskablePPO.load(model_path, device="cpu")
    return n, sample_trajectory(model, cell, seed, sample_seed=sample_seed, group=group, **kwargs)


def greedy_cost_s(model: Any, cell: Cell, seed: int, k_max: int = 16, cap: int | None = None):
    """Cost per arrived job of the greedy student on one episode of ``cell`` (drained)."""
    from envs.sim.metrics import job_table

    env, cap = _cell_env(cell, k_max, cap)
    _play(env, lambda o, m: greedy_action(model, o, m), int(seed), cap, lambda s: None)
    sim = env.unwrapped.sim
    return float(job_table(sim)["cost_s"].sum() / max(sim.arrived, 1))


def _greedy_task(
    n: int, model_path: str, cell: Cell, seed: int, k_max: int, cap: int | None
) -> tuple[int, float]:
    import torch as th

    th.set_num_threads(1)
    from sb3_contrib import MaskablePPO

    return n, greedy_cost_s(MaskablePPO.load(model_path, device="cpu"), cell, seed, k_max, cap)


def _update(
    model: Any,
    trajectories: Sequence[Trajectory],
    adv: Sequence[np.ndarray],
    *,
    temperature: float,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    clip: float,
    entropy: float,
    seed: int,
) -> dict[str, float]:
    """PPO's clipped surrogate on the sampled decisions; returns the last epoch's means."""
    import torch as th

    obs = th.as_tensor(np.concatenate([t.obs for t in trajectories]))
    masks = th.as_tensor(np.concatenate([t.masks for t in trajectories]))
    acts = th.as_tensor(np.concatenate([t.actions for t in trajectories]))
    old = th.as_tensor(np.concatenate([t.logp for t in trajectories]), dtype=th.float32)
    a_t = th.as_tensor(np.concatenate(adv), dtype=th.float32)
    policy = model.policy
    opt = th.optim.Adam(policy.parameters(), lr=learning_rate)
    gen = th.Generator().manual_seed(int(seed))
    stats: dict[str, float] = {}
    for _ in range(epochs):
        order = th.randperm(len(acts), generator=gen)
        sums = {"loss": 0.0, "clipped": 0.0, "entropy": 0.0}
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logits = policy.action_logits(obs[idx]) / temperature
            logits = logits.masked_fill(~masks[idx], -1e9)
            logp_all = th.log_softmax(logits, dim=1)
            logp = logp_all.gather(1, acts[idx, None])[:, 0]
            ratio = th.exp(logp - old[idx])
            surr = th.min(ratio * a_t[idx], th.clamp(ratio, 1 - clip, 1 + clip) * a_t[idx])
            ent = -(logp_all.exp() * logp_all.masked_fill(~masks[idx], 0.0)).sum(1)
            loss = -(surr.mean() + entropy * ent.mean())
            opt.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            opt.step()
            w = len(idx) / len(order)
            sums["loss"] += float(loss.detach()) * w
            sums["clipped"] += float(((ratio.detach() - 1).abs() > clip).float().mean()) * w
            sums["entropy"] += float(ent.mean().detach()) * w
        stats = sums
    return stats


def finetune(
    model: Any,
    cells: Sequence[Cell],
    *,
    out_dir: str | os.PathLike[str],
    iterations: int = 12,
    seeds_per_iteration: int = 1,
    rollouts: int = 4,
    eval_seeds: Sequence[int] = (50, 51),
    k_max: int = 16,
    temperature: float = 5.0,
    epochs: int = 4,
    batch_size: int = 2048,
    learning_rate: float = 1e-4,
    clip: float = 0.2,
    entropy: float = 1e-3,
    cap: int | None = None,
    workers: int = 1,
    seed: int = 0,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> tuple[Any, list[dict[str, Any]]]:
    """Fine-tune ``model`` in place for ``iterations`` and keep its best iterate.

    The defaults of the sampling and update settings are those of
    ``configs/agents/finetune.yaml`` (a test keeps them equal).

    Iteration ``i`` samples, for every cell and each of ``seeds_per_iteration`` arrival
    seeds (``seed + 1000 i + j``, never the evaluation seeds), ``rollouts`` episodes of the
    stochastic student, updates it (:func:`advantages`, PPO's clip), and evaluates the
    greedy student on ``eval_seeds`` of every cell. The score of an iterate is the mean over
    cells of its cost per job divided by the starting student's (below 1: better). The best
    iterate is saved as ``out_dir/model.zip`` (the starting student when none is better)
    and every iterate as ``out_dir/iter_I.zip``. Returns the best model and one row per
    iteration (``iteration``, ``score``, ``rho``, ``loss``, ``clipped``, ``entropy``,
    ``decisions``, ``cost_<cell>``).
    """
    from pathlib import Path

    from sb3_contrib import MaskablePPO

    from envs.atomic import atomic_write

    if iterations < 0 or rollouts < 2 or seeds_per_iteration < 1:
        raise ConfigError(
            f"finetune: iterations >= 0, rollouts >= 2, seeds_per_iteration >= 1; got "
            f"{iterations}, {rollouts}, {seeds_per_iteration}"
        )
    if temperature <= 0:
        raise ConfigError(f"finetune: temperature must be > 0, got {temperature!r}")
    if set(int(s) for s in eval_seeds) & {
        int(seed) + 1000 * i + j
        for i in range(1, iterations + 1)
        for j in range(seeds_per_iteration)
    }:  # fmt: skip
        raise ConfigError("finetune: eval_seeds overlap the training seeds; choose others")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def write_model(m: Any, name: str) -> str:
        path = out / name
        with atomic_write(path, "wb") as fh:
            m.save(fh, exclude=["policy.optimizer"])
        return str(path)

    def evaluate(path: str) -> list[float]:
        tasks = [(n, path, c, int(s), k_max, cap)
                 for n, (c, s) in enumerate((c, s) for c in cells for s in eval_seeds)]  # fmt: skip
        costs = run_ordered(_greedy_task, tasks, workers, progress=False)
        costs = np.asarray(costs).reshape(len(cells), -1)
        return costs.mean(axis=1).tolist()

    start_path = write_model(model, "start.zip")
    reference = evaluate(start_path)
    names = [f"{c.scenario}@{'own' if c.load is None else f'{c.load:g}'}" for c in cells]
    shown = ", ".join(f"{n} {c / 60:.2f}" for n, c in zip(names, reference, strict=True))
    log(f"starting student, cost per job (min): {shown}")
    rows: list[dict[str, Any]] = [
        {"iteration": 0, "score": 1.0, **_per_cell("cost", names, reference)}
    ]
    best_score, best_path = 1.0, start_path
    rho: float | None = None
    path = start_path
    sampling = {"k_max": k_max, "temperature": temperature, "cap": cap}
    for it in range(1, iterations + 1):
        tasks = []
        for ci, cell in enumerate(cells):
            for j in range(seeds_per_iteration):
                s = int(seed) + 1000 * it + j
                for r in range(rollouts):
                    tasks.append((len(tasks), path, cell, s, s * 100 + r, (ci, s), sampling))
        trajs: list[Trajectory] = run_ordered(
            _sample_task, tasks, workers, desc=f"finetune iteration {it}", progress=progress
        )
        rate = float(np.mean([t.total_cost_s / max(t.end_s - t.times_s[0], 1.0) for t in trajs]))
        rho = rate if rho is None else 0.9 * rho + 0.1 * rate
        stats = _update(model, trajs, advantages(trajs, rho), temperature=temperature,
                        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                        clip=clip, entropy=entropy, seed=int(seed) + it)  # fmt: skip
        path = write_model(model, f"iter_{it}.zip")
        costs = evaluate(path)
        ratios = [c / r for c, r in zip(costs, reference, strict=True)]
        score = float(np.mean(ratios))
        decisions = sum(len(t) for t in trajs)
        rows.append({"iteration": it, "score": score, "rho": rho, "decisions": decisions,
                     **stats, **_per_cell("cost", names, costs)})  # fmt: skip
        log(f"iteration {it}: cost per job {score:.4f} x the starting student's (per cell: "
            f"{', '.join(f'{x:.3f}' for x in ratios)}); {decisions} decisions, "
            f"clipped {stats['clipped']:.3f}")  # fmt: skip
        if score < best_score:
            best_score, best_path = score, path
    best = MaskablePPO.load(best_path, device="cpu")
    write_model(best, "model.zip")
    verdict = "kept" if best_path != start_path else "not kept: no iterate beat the start"
    log(f"best: {Path(best_path).name}, {best_score:.4f} x the starting student ({verdict})")
    return best, rows


def _per_cell(prefix: str, names: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    return {f"{prefix}_{n}": float(v) for n, v in zip(names, values, strict=True)}
