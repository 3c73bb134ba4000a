"""The soak run of ``benchmark.py soak``: many decisions over many episodes, memory sampled.

One environment plays ``decisions`` decisions over short episodes, resetting after each
(seeds 0, 1, 2, ...), with the random valid policy or the ECT heuristic and, by default,
random faults (``--set faults=...`` replaces them, ``--set faults.<key>=...`` edits them).
Resident memory is sampled (after a garbage collection) once the warm-up
decisions are done, every 2 % of the run and at the end; the run passes when the end
sample is within ``GROWTH_TARGET_PCT`` of the warm-up one.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from typing import Any

#: Faults of the soak run (``--no-faults`` turns them off): weather-like station outages,
#: satellites failing with their ground-side jobs re-dispatched, and a degraded downlink.
SOAK_FAULTS = {
    "random_station_outages": {"rate_per_day": 2.0, "mean_duration_s": 1800.0},
    "random_satellite_failures": {"rate_per_day": 0.5},
    "on_satellite_failure": "redispatch",
    "link_degradation": [
        {"network": "china", "start_s": 0.0, "end_s": 1.0e6, "factor": 0.8,
         "direction": "downlink"}
    ],
}  # fmt: skip
GROWTH_TARGET_PCT = 5.0


def soak_overrides(duration_s: float, faults: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    """The scenario overrides of the soak: its arrival window and faults, then the user's.

    The user's ``--set`` wins: ``faults=...`` replaces :data:`SOAK_FAULTS` (also with
    ``--no-faults``), ``faults.<key>=...`` edits them (applied after them).

    >>> soak_overrides(600.0, True, {"faults": {}})["faults"]
    {}
    >>> list(soak_overrides(600.0, True, {"faults.on_satellite_failure": "drop"}))
    ['episode.duration_s', 'faults', 'faults.on_satellite_failure']
    """
    base: dict[str, Any] = {"episode.duration_s": duration_s}
    if faults:
        base["faults"] = SOAK_FAULTS
    return {**base, **overrides}


def faults_source(faults: bool, overrides: dict[str, Any]) -> str:
    """Where the soak's faults came from: ``soak``, ``--set``, ``soak + --set`` or ``none``.

    >>> faults_source(True, {"faults": {}}), faults_source(True, {"load": 2})
    ('--set', 'soak')
    """
    if "faults" in overrides:  # replaces the soak's
        return "--set"
    edited = any(k.startswith("faults.") for k in overrides)
    if faults:
        return "soak + --set" if edited else "soak"
    return "--set" if edited else "none"


def rss_mb() -> tuple[float, str]:
    """Current resident memory (MB) and how it was read: psutil, else ``/proc/self/statm``."""
    try:
        import psutil
    except ImportError:
        pass
    else:
        return psutil.Process().memory_info().rss / 2**20, "psutil"
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, "/proc/self/statm"
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return peak, "getrusage ru_maxrss (peak, not current)"


class _Memory:
    """Resident-memory samples of the soak: ``(decisions done, MB)``, after a collection."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, float]] = []
        self.source = ""

    def sample(self, done: int) -> float:
        """Sample now, after ``done`` decisions; the MB."""
        gc.collect()  # live memory, not garbage awaiting a cycle collection
        mb, self.source = rss_mb()
        self.samples.append((done, round(mb, 2)))
        return mb

    @property
    def last_mb(self) -> float:
        """The latest sample (0 before the first)."""
        return self.samples[-1][1] if self.samples else 0.0


def _soak_env(scenario: str, overrides: dict[str, Any]) -> tuple[Any, Any]:
    """The soak's environment (world built once, contact plan cached) and its scenario."""
    from envs.contact_plan import default_cache_dir
    from envs.dispatch_env import ConstellationDispatchEnv
    from envs.scenario import load_scenario
    from envs.sim import build_world

    scenario_spec = load_scenario(scenario, overrides)
    world = build_world(scenario_spec, cache_dir=default_cache_dir())
    return ConstellationDispatchEnv(scenario, world=world, **overrides), scenario_spec


def _soak_agent(env: Any, policy: str) -> Any:
    """``ect``, or the random valid policy of ``benchmark.py env`` (generator seeded 0)."""
    import numpy as np

    from agents.heuristics import make_heuristic
    from agents.rollout import random_valid

    if policy == "ect":
        return make_heuristic("ect", env)
    return random_valid(np.random.default_rng(0))


def _play(env: Any, agent: Any, decisions: int, warmup: int, memory: _Memory) -> dict[str, Any]:
    """Play ``decisions`` decisions over episodes of seeds 0, 1, 2, …, sampling memory.

    Memory is sampled once the ``warmup`` decisions are done, and every 2 % of the run.
    Returns the episodes, resets, episode totals (``jobs_*``, ``dropped_*``,
    ``satellites_*`` of every ended episode), the time taken and when the warm-up ended.
    """
    from tqdm import tqdm

    from agents.rollout import Step, rollout

    every = max(1, decisions // 50)
    state: dict[str, Any] = {"done": 0, "episodes": 0, "totals": {}, "warm": (0.0, 0.0)}

    def on_step(step: Step) -> None:
        state["done"] = done = state["done"] + 1
        if step.terminated or step.truncated:
            state["episodes"] += 1
            for key, value in step.info.items():
                if key.startswith(("jobs_", "dropped_", "satellites_")):
                    state["totals"][key] = state["totals"].get(key, 0) + value
        if done == warmup:
            state["warm"] = (memory.sample(done), time.perf_counter())
        elif done % every == 0 and done < decisions:
            memory.sample(done)
        if done % 1000 == 0:
            bar.update(1000)
            bar.set_postfix(episodes=state["episodes"], rss_mb=f"{memory.last_mb:.0f}")

    obs, _ = env.reset(seed=0)  # before the clock starts
    resets, ended = 1, False
    began = time.perf_counter()
    with tqdm(total=decisions, unit="dec", unit_scale=True, mininterval=1.0) as bar:
        while state["done"] < decisions:
            played = rollout(env, agent, state["episodes"], on_step=on_step, reset=ended,
                             obs=obs, max_steps=decisions - state["done"],
                             step_finished=True)  # fmt: skip
            resets += ended
            ended = played.done
    if ended:  # as every ended episode, the last one is followed by a reset
        env.reset(seed=state["episodes"])
        resets += 1
    seconds = time.perf_counter() - began
    rss_warm, warm_at = state["warm"]
    return {"episodes": state["episodes"], "resets": resets, "totals": state["totals"],
            "seconds": seconds, "rss_warm_mb": rss_warm, "warm_at": warm_at,
            "ended_at": began + seconds}  # fmt: skip


def soak(
    scenario: str,
    *,
    decisions: int,
    warmup: int,
    duration_s: float,
    policy: str,
    faults: bool,
    overrides: dict[str, Any],
) -> dict[str, Any]:
    """Run the soak and return its figures (see the module docstring)."""
    given, overrides = overrides, soak_overrides(duration_s, faults, overrides)
    env, scenario_spec = _soak_env(scenario, overrides)
    memory = _Memory()
    run = _play(env, _soak_agent(env, policy), decisions, warmup, memory)
    rss_warm, rss_end = run["rss_warm_mb"], memory.sample(decisions)
    growth = 100.0 * (rss_end - rss_warm) / rss_warm
    return {
        "scenario": scenario,
        "overrides": overrides,
        "policy": policy,
        "faults": scenario_spec.faults.enabled,
        "faults_from": faults_source(faults, given),
        "decisions": decisions,
        "warmup_decisions": warmup,
        "episodes": run["episodes"],
        "resets": run["resets"],
        "seconds": run["seconds"],
        "decisions_per_s": decisions / run["seconds"],
        "decisions_per_s_after_warmup": (decisions - warmup) / (run["ended_at"] - run["warm_at"]),
        "rss_source": memory.source,
        "rss_after_warmup_mb": rss_warm,
        "rss_end_mb": rss_end,
        "rss_growth_pct": growth,
        "rss_growth_target_pct": GROWTH_TARGET_PCT,
        "rss_growth_met": growth <= GROWTH_TARGET_PCT,
        "rss_samples": memory.samples,
        "episode_totals": run["totals"],
    }


def print_soak(res: dict[str, Any]) -> None:
    """Print the soak figures in three lines."""
    met = "met" if res["rss_growth_met"] else "MISSED"
    t = res["episode_totals"]
    faults = f"on ({res['faults_from']})" if res["faults"] else "off"
    print(
        f"{res['scenario']} soak ({res['policy']} policy, faults {faults}): "
        f"{res['decisions']:,} decisions in {res['seconds']:.0f} s = "
        f"{res['decisions_per_s']:,.0f} decisions/s; {res['episodes']:,} episodes, "
        f"{res['resets']:,} resets"
    )
    print(
        f"  RSS after {res['warmup_decisions']:,} warm-up decisions "
        f"{res['rss_after_warmup_mb']:.1f} MB, at the end {res['rss_end_mb']:.1f} MB: "
        f"growth {res['rss_growth_pct']:+.2f} % (target <= {GROWTH_TARGET_PCT:g} %: {met}; "
        f"{res['rss_source']})"
    )
    print(
        f"  jobs: {t.get('jobs_arrived', 0):,.0f} arrived, {t.get('jobs_completed', 0):,.0f} "
        f"completed, {t.get('jobs_dropped', 0):,.0f} dropped "
        f"({t.get('dropped_satellite_failure', 0):,.0f} for satellite failures), "
        f"{t.get('jobs_redispatched', 0):,.0f} re-dispatched; "
        f"{t.get('satellites_failed', 0):,.0f} satellite failures"
    )
