r"""How far a heuristic's own estimates are from what then happens to the jobs it dispatches.

At every decision the chosen candidate's estimate (``SimView.estimate``: compute start and
delivery if the job went there now) is recorded; at the end of the episode it is compared
with the job's timeline. ECT's estimate counts the compute of jobs already on board, not of
jobs still in uplink ahead of the job, so on ``star_compute_12`` many of its jobs miss the
downlink pass it expected and are delivered an orbit later.

Example:
    constellation-dispatch estimate-error --scenario star_compute_12 --agent ect --load 0.5,1 \\
        --seed 100 --out out/estimate_error.json

``python scripts/estimate_error.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agents.cli._common import add_set_option, parse_overrides
from agents.heuristics import make_heuristic
from agents.rollout import rollout
from envs.atomic import atomic_write
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.sim import job_table


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Play one episode per load with a heuristic and compare the estimate of "
        "each chosen candidate with what happened to the job; print the result and write it "
        "to --out as JSON. Bad input exits with status 2 and a one-line error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--scenario", required=True, help="Preset name or YAML path.")
    parser.add_argument("--agent", default="ect", help="Heuristic (agents.heuristics).")
    parser.add_argument("--load", default="1", help="Comma-separated workload multipliers.")
    parser.add_argument("--seed", type=int, default=100, help="Episode seed.")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write.")
    add_set_option(parser, "--set episode.duration_s=3600")
    return parser


def estimate_error(
    scenario: str, agent: str, load: float, seed: int, overrides: dict | None = None
) -> dict[str, float]:
    """Errors of the chosen candidates' estimates over the completed jobs of one episode.

    Returns the number of completed jobs, the mean delivery error (realised minus
    estimated, hours), the share of jobs delivered at least 1 h later than estimated, and
    the mean compute-start error (seconds).
    """
    env = ConstellationDispatchEnv(scenario, **{**(overrides or {}), "load": load})
    heuristic = make_heuristic(agent, env, seed=seed)
    heuristic.reset()
    est_delivery, est_compute = {}, {}

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        action = int(heuristic.predict(obs, action_masks=mask)[0])
        if action < len(env.candidates):  # the estimate of the candidate it chose, now
            view = env.view
            e = view.estimate(view.head, env.candidates[action])
            est_delivery[view.head], est_compute[view.head] = e.delivered, e.compute_start
        return action

    rollout(env, act, seed)
    table = job_table(env.sim)
    jobs = np.array([j for j in est_delivery if table["status"][j] == "completed"], dtype=int)
    if not len(jobs):
        raise ConfigError(f"{scenario}: no job was completed at load {load:g}, seed {seed}")
    late = table["delivered_s"][jobs] - np.array([est_delivery[j] for j in jobs])
    compute = table["compute_start_s"][jobs] - np.array([est_compute[j] for j in jobs])
    return {
        "load": load,
        "completed": len(jobs),
        "mean_delivery_error_h": float(late.mean() / 3600.0),
        "share_late_1h": float((late >= 3600.0).mean()),
        "mean_compute_start_error_s": float(compute.mean()),
    }


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    try:
        loads = [float(x) for x in args.load.split(",")]
    except ValueError:
        raise ConfigError(f"--load: expected comma-separated numbers, got {args.load!r}") from None
    if not loads or any(x <= 0 for x in loads):
        raise ConfigError(f"--load: loads must be > 0, got {args.load!r}")
    overrides = parse_overrides(args.set)
    rows = [estimate_error(args.scenario, args.agent, x, args.seed, overrides) for x in loads]
    for r in rows:
        print(
            f"load {r['load']:g}: {r['completed']} jobs, delivered "
            f"{r['mean_delivery_error_h']:.2f} h later than estimated on average, "
            f"{100 * r['share_late_1h']:.1f} % at least 1 h later; compute started "
            f"{r['mean_compute_start_error_s']:.0f} s later"
        )
    with atomic_write(args.out) as fh:
        json.dump({"scenario": args.scenario, "agent": args.agent, "seed": args.seed,
                   "loads": rows}, fh, indent=2)  # fmt: skip
    return 0

