"""Benchmarks that report ratios against a reference measured in the same run.

Subcommands:
    env           Environment decisions per second with a random valid policy or a heuristic
                  (``--policy ect``; contact plan cached), against gymnasium ``CartPole-v1``
                  steps per second in the same run.
    contact-plan  This project's contact plan vs skyfield ``EarthSatellite.find_events`` on
                  the same satellites and stations, plus the full-scale run (2,800 generated
                  satellites × every shipped station × 24 h: time and peak memory).
    soak          10^6 decisions over many short episodes with resets (random faults on by
                  default), resident memory after a warm-up and at the end: growth must stay
                  within 5 %.

Results are printed and written as JSON (``--out``). Wall-clock figures vary between
machines and runs; ratios measured in one run are the comparable numbers.

``python scripts/benchmark.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from agents.cli._common import parse_overrides
from envs.resources import configs_dir

STATION_FILES = [configs_dir() / "ground_stations" / f"{n}.yaml" for n in ("ksat", "aws", "china")]
EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)


def full_scale_shells():
    """2,400 inference + 400 training satellites in three shells (the star_compute_2800 layout)."""
    from envs.orbits import Shell

    return [
        Shell(
            500.0,
            planes=30,
            sats_per_plane=40,
            inclination_deg=None,
            ltan_hours=10.5,
            raan_spread_deg=360.0,
            name_prefix="INF-A",
            first_catnr=60001,
        ),
        Shell(
            550.0,
            planes=30,
            sats_per_plane=40,
            inclination_deg=53.0,
            phasing=1,
            name_prefix="INF-B",
            first_catnr=62001,
        ),
        Shell(
            600.0,
            planes=10,
            sats_per_plane=40,
            inclination_deg=None,
            ltan_hours=13.5,
            raan_spread_deg=360.0,
            name_prefix="TRN",
            first_catnr=64001,
        ),
    ]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _full_scale_child(queue: mp.Queue, hours: float, parent: int) -> None:
    """Run in a fresh process so peak RSS belongs to the contact plan alone."""
    from agents.lifeline import die_with

    die_with(parent)  # a killed benchmark leaves no child behind
    from envs.contact_plan import compute_contact_plan
    from envs.ground import load_networks
    from envs.orbits import Constellation, shells_tles

    base_rss = _peak_rss_mb()
    stations = load_networks(STATION_FILES)
    cons = Constellation.from_tles(shells_tles(full_scale_shells(), EPOCH))
    began = time.perf_counter()
    plan = compute_contact_plan(cons, stations, EPOCH, hours * 3600.0, progress=True)
    seconds = time.perf_counter() - began
    queue.put(
        {
            "satellites": len(cons),
            "stations": len(stations),
            "hours": hours,
            "passes": len(plan),
            "seconds": seconds,
            "peak_rss_mb": _peak_rss_mb(),
            "rss_before_mb": base_rss,
        }
    )


def bench_contact_plan(args: argparse.Namespace) -> dict:
    """``benchmark contact-plan``: this project's contact plan against skyfield."""
    from skyfield.api import EarthSatellite, wgs84

    from envs.contact_plan import compute_contact_plan
    from envs.ground import load_networks
    from envs.orbits import Constellation, Shell, load_elements, shells_tles
    from envs.timeutil import builtin_timescale

    ts = builtin_timescale()
    stations = load_networks(STATION_FILES)[: args.stations]
    if args.tle:
        tles = load_elements(args.tle)[: args.satellites]
        source = str(args.tle)
    else:
        tles = shells_tles(
            [
                Shell(
                    550.0,
                    planes=10,
                    sats_per_plane=10,
                    inclination_deg=53.0,
                    phasing=1,
                    name_prefix="WD",
                )
            ],
            EPOCH,
        )[: args.satellites]
        source = "generated Walker 53:100/10/1 at 550 km"
    cons = Constellation.from_tles(tles)
    horizon_s = args.hours * 3600.0
    # Ours (best of 5; no cache).
    ours = []
    for _ in range(5):
        began = time.perf_counter()
        plan = compute_contact_plan(cons, stations, EPOCH, horizon_s, ts=ts)
        ours.append(time.perf_counter() - began)
    # skyfield find_events, one call per (satellite, station), same masks.
    t0 = ts.from_datetime(EPOCH)
    t1 = ts.from_datetime(EPOCH + timedelta(seconds=horizon_s))
    began = time.perf_counter()
    n_rise = 0
    for tle in tles:
        sat = EarthSatellite(tle.line1, tle.line2, tle.name, ts)
        for st in stations:
            topos = wgs84.latlon(st.lat_deg, st.lon_deg, elevation_m=st.alt_m)
            _, events = sat.find_events(topos, t0, t1, altitude_degrees=st.min_elevation_deg)
            n_rise += int((events == 0).sum())
    skyfield_s = time.perf_counter() - began
    pairs = len(tles) * len(stations) * args.hours / 24.0
    result = {
        "source": source,
        "satellites": len(tles),
        "stations": len(stations),
        "hours": args.hours,
        "passes_ours": len(plan),
        "rises_skyfield": n_rise,
        "ours_s": min(ours),
        "skyfield_s": skyfield_s,
        "skyfield_ms_per_sat_station_day": 1000.0 * skyfield_s / pairs,
        "speedup_vs_skyfield": skyfield_s / min(ours),
    }
    per_pair_ms = result["skyfield_ms_per_sat_station_day"]
    speedup = result["speedup_vs_skyfield"]
    print(f"same inputs ({source}):")
    print(f"  {len(tles)} satellites × {len(stations)} stations × {args.hours:g} h")
    print(f"  skyfield find_events:   {skyfield_s:8.3f} s ({per_pair_ms:.2f} ms/sat-station-day)")
    print(f"  constellation-dispatch: {min(ours):8.3f} s -> {speedup:.0f}x faster")
    if not args.skip_full:
        queue: mp.Queue = mp.get_context("spawn").Queue()
        proc = mp.get_context("spawn").Process(
            target=_full_scale_child, args=(queue, 24.0, os.getpid()), daemon=True
        )
        proc.start()
        full = queue.get()
        proc.join()
        result["full_scale"] = full
        print(
            f"full scale: {full['satellites']} satellites × {full['stations']} stations × 24 h: "
            f"{full['seconds']:.1f} s, {full['passes']} passes, "
            f"peak RSS {full['peak_rss_mb']:.0f} MB"
        )
    return result


def _env_rate(make, decisions: int, seed: int, policy: str = "random") -> dict:
    """Decisions per second of ``policy`` (resets included), after warm-up.

    ``policy`` is ``random`` (a random valid action) or a heuristic of ``agents.heuristics``,
    whose choices are part of the time.
    """
    import numpy as np

    from agents.rollout import random_valid, rollout

    env = make()
    if policy == "random":
        agent = random_valid(np.random.default_rng(seed), int(env.action_space.n))
    else:
        from agents.heuristics import make_heuristic

        agent = make_heuristic(policy, env, seed=seed)
    obs, _ = env.reset(seed=seed)  # the first reset is not timed; the others are
    done_steps, episodes, reset = 0, 0, False
    began = time.perf_counter()
    while done_steps < decisions:
        played = rollout(env, agent, seed + episodes, max_steps=decisions - done_steps,
                         reset=reset, obs=obs, step_finished=True)  # fmt: skip
        done_steps, episodes, reset = done_steps + played.steps, episodes + played.done, True
    seconds = time.perf_counter() - began
    return {"decisions": done_steps, "episodes": episodes, "seconds": seconds,
            "per_s": done_steps / seconds}  # fmt: skip


def _first_valid(obs, mask) -> int:
    """The policy of ``benchmark env --full-episode``: the first valid candidate."""
    import numpy as np

    return int(np.flatnonzero(mask)[0])


def _full_episode(env) -> dict:
    """One whole episode (seed 0), always dispatching to the first valid candidate."""
    from agents.rollout import rollout

    obs, _ = env.reset(seed=0)  # not timed
    jobs = env.sim.n_jobs
    played = rollout(env, _first_valid, None, reset=False, obs=obs, step_finished=True)
    return {"decisions": played.steps, "jobs": jobs, "episodes": 1, "seconds": played.seconds,
            "per_s": played.steps / played.seconds}  # fmt: skip


def _env_child(
    queue: mp.Queue,
    scenario: str,
    decisions: int,
    overrides: dict,
    full_episode: bool,
    policy: str = "random",
    parent: int | None = None,
) -> None:
    """Run `_env_measure` in a fresh process; bad input comes back as ``{"error": message}``.

    The process ends with ``parent`` (``agents.lifeline``), also when it is killed.
    """
    from agents.lifeline import die_with
    from envs.errors import ConstellationDispatchError

    if parent is not None:
        die_with(parent)

    try:
        queue.put(_env_measure(scenario, decisions, overrides, full_episode, policy))
    except ConstellationDispatchError as exc:
        queue.put({"error": str(exc)})


def _env_result(queue: mp.Queue, proc: mp.Process, scenario: str) -> dict:
    """The child's result; its bad-input error is raised here. Never waits on a dead child."""
    import queue as queues

    from envs.errors import ConfigError

    while True:
        try:
            res = queue.get(timeout=1.0)
            break
        except queues.Empty:
            if not proc.is_alive():
                raise RuntimeError(
                    f"{scenario}: benchmark process exited with code {proc.exitcode}"
                ) from None
    proc.join()
    if "error" in res:
        raise ConfigError(res["error"])
    return res


def _env_measure(
    scenario: str, decisions: int, overrides: dict, full_episode: bool, policy: str = "random"
) -> dict:
    """One scenario: build (contact plan cached), then time decisions."""
    from envs.contact_plan import default_cache_dir
    from envs.dispatch_env import ConstellationDispatchEnv
    from envs.scenario import load_scenario
    from envs.sim import build_world

    began = time.perf_counter()
    world = build_world(
        load_scenario(scenario, overrides or None), cache_dir=default_cache_dir(), progress=True
    )
    build_s = time.perf_counter() - began

    def make():
        return ConstellationDispatchEnv(scenario, world=world, **overrides)

    rate = _full_episode(make()) if full_episode else _env_rate(make, decisions, 0, policy)
    rate.update(scenario=scenario, policy=policy, build_s=build_s, peak_rss_mb=_peak_rss_mb())
    return rate


def bench_env(args: argparse.Namespace) -> dict:
    """``benchmark env``: decisions per second against CartPole-v1 steps per second."""
    import gymnasium as gym

    from envs.errors import ConfigError
    from envs.scenario import load_scenario

    if args.decisions < 1:
        raise ConfigError(f"--decisions: must be >= 1, got {args.decisions}")
    for scenario in args.scenarios.split(","):  # bad names and overrides fail here, in one line
        load_scenario(scenario, parse_overrides(args.set) or None)
    cartpole = _env_rate(lambda: gym.make("CartPole-v1"), args.decisions, 0)
    print(f"CartPole-v1: {cartpole['per_s']:,.0f} steps/s")
    out = {"cartpole": cartpole, "scenarios": []}
    ctx = mp.get_context("spawn")
    for scenario in args.scenarios.split(","):
        queue: mp.Queue = ctx.Queue()
        proc = ctx.Process(
            target=_env_child,
            args=(queue, scenario, args.decisions, parse_overrides(args.set),
                  args.full_episode, args.policy, os.getpid()),
            daemon=True,  # terminated, not waited for, when the benchmark is stopped
        )
        proc.start()
        res = _env_result(queue, proc, scenario)
        res["ratio_vs_cartpole"] = res["per_s"] / cartpole["per_s"]
        out["scenarios"].append(res)
        print(
            f"{scenario} ({args.policy}): {res['per_s']:,.0f} decisions/s "
            f"({res['ratio_vs_cartpole']:.3f}× "
            f"CartPole), {res['decisions']:,} decisions, {res['episodes']} episodes, world "
            f"built in {res['build_s']:.1f} s, "
            f"peak RSS {res['peak_rss_mb']:.0f} MB"
        )
    return out


def bench_fork(args: argparse.Namespace) -> dict:
    """``env.fork()`` against ``copy.deepcopy(env)`` mid-episode (ECT choosing), per scenario."""
    import copy
    from functools import partial

    from agents.heuristics import make_heuristic
    from agents.rollout import rollout
    from envs.contact_plan import default_cache_dir
    from envs.dispatch_env import ConstellationDispatchEnv
    from envs.scenario import load_scenario
    from envs.sim import build_world

    overrides = parse_overrides(args.set)
    out = {"scenarios": []}
    for scenario in args.scenarios.split(","):
        world = build_world(load_scenario(scenario, overrides or None),
                            cache_dir=default_cache_dir(), progress=True)  # fmt: skip
        env = ConstellationDispatchEnv(scenario, world=world, **overrides)
        # Into the episode: queues and the heap are full.
        rollout(env, make_heuristic("ect", env), 0, max_steps=args.decisions)

        def timed(fn, reps: int) -> float:
            began = time.perf_counter()
            for _ in range(reps):
                fn()
            return (time.perf_counter() - began) / reps

        fork_s = timed(env.fork, args.repeats)
        deep_s = timed(partial(copy.deepcopy, env), max(1, args.repeats // 20))
        res = {"scenario": scenario, "jobs": env.sim.n_jobs, "satellites": world.n_sats,
               "decisions_before": args.decisions, "fork_ms": 1e3 * fork_s,
               "deepcopy_ms": 1e3 * deep_s, "speedup_vs_deepcopy": deep_s / fork_s}  # fmt: skip
        out["scenarios"].append(res)
        print(f"{scenario}: fork {res['fork_ms']:.3f} ms, deepcopy {res['deepcopy_ms']:.1f} ms "
              f"({res['speedup_vs_deepcopy']:.0f}× faster), {res['jobs']:,} jobs, "
              f"{res['satellites']:,} satellites")  # fmt: skip
    return out


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cp = sub.add_parser("contact-plan", help="contact plan vs skyfield find_events; full-scale run")
    cp.add_argument(
        "--tle",
        type=Path,
        default=None,
        help="TLE or OMM file (default: a generated 100-satellite Walker shell)",
    )
    cp.add_argument(
        "--satellites", type=int, default=100, help="satellites for the skyfield comparison"
    )
    cp.add_argument("--stations", type=int, default=10, help="stations for the skyfield comparison")
    cp.add_argument("--hours", type=float, default=24.0, help="horizon for the skyfield comparison")
    cp.add_argument("--skip-full", action="store_true", help="skip the 2,800-satellite run")
    cp.add_argument(
        "--out", type=Path, default=Path("benchmark_contact_plan.json"), help="JSON output"
    )
    ev = sub.add_parser("env", help="environment decisions/s vs CartPole-v1 steps/s")
    ev.add_argument("--scenarios", default="star_compute_12,star_compute_2800",
                    help="comma-separated presets")  # fmt: skip
    ev.add_argument("--decisions", type=int, default=20000, help="decisions timed per scenario")
    ev.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="scenario override, e.g. episode.duration_s=86400")  # fmt: skip
    from agents.heuristics import HEURISTICS

    ev.add_argument("--policy", choices=tuple(HEURISTICS), default="random",
                    help="random valid action, or a heuristic (its choices are timed)")  # fmt: skip
    ev.add_argument("--full-episode", action="store_true",
                    help="time one whole episode (seed 0, first valid candidate)")  # fmt: skip
    ev.add_argument("--out", type=Path, default=Path("benchmark_env.json"), help="JSON output")
    fk = sub.add_parser("fork", help="env.fork() vs copy.deepcopy(env), mid-episode")
    fk.add_argument("--scenarios", default="star_compute_12,star_compute_2800",
                    help="comma-separated presets")  # fmt: skip
    fk.add_argument("--decisions", type=int, default=2000, help="ECT decisions before forking")
    fk.add_argument("--repeats", type=int, default=200, help="forks timed per scenario")
    fk.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="scenario override, e.g. episode.duration_s=600")  # fmt: skip
    fk.add_argument("--out", type=Path, default=Path("benchmark_fork.json"), help="JSON output")
    so = sub.add_parser("soak", help="10^6 decisions with resets: speed and memory growth")
    so.add_argument("--scenario", default="star_compute_12", help="preset")
    so.add_argument("--decisions", type=int, default=1_000_000, help="decisions in all")
    so.add_argument("--warmup", type=int, default=100_000,
                    help="decisions before the reference memory sample")  # fmt: skip
    so.add_argument("--duration-s", type=float, default=3600.0,
                    help="episode.duration_s (arrival window) of each episode")  # fmt: skip
    so.add_argument("--policy", choices=("random", "ect"), default="random",
                    help="random valid action, or the ECT heuristic")  # fmt: skip
    so.add_argument("--no-faults", action="store_true",
                    help="run without the soak's random faults")  # fmt: skip
    so.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="scenario override, e.g. workload.load=2; faults=... replaces the "
                    "soak's faults and faults.KEY=... edits them")  # fmt: skip
    so.add_argument("--out", type=Path, default=Path("benchmark_soak.json"), help="JSON output")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    result = {
        "command": args.command,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    if args.command == "contact-plan":
        result.update(bench_contact_plan(args))
    elif args.command == "env":
        result.update(bench_env(args))
    elif args.command == "fork":
        result.update(bench_fork(args))
    elif args.command == "soak":
        if not 0 < args.warmup < args.decisions:
            from envs.errors import ConfigError

            raise ConfigError(f"--warmup: must be in (0, --decisions), got {args.warmup}")
        from agents.cli._soak import print_soak, soak

        result.update(
            soak(
                args.scenario,
                decisions=args.decisions,
                warmup=args.warmup,
                duration_s=args.duration_s,
                policy=args.policy,
                faults=not args.no_faults,
                overrides=parse_overrides(args.set),
            )
        )
        print_soak(result)
    from envs.atomic import atomic_write

    with atomic_write(args.out) as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.out}")
    return 0

