"""Benchmarks that report ratios against a reference measured in the same run.

Subcommands:
    env           Environment decisions per second with a random valid policy or a heuristic
                  (``--policy ect``; contact plan cached), against gymnasium ``CartPole-v1``
                  steps per second in the same run.
    contact-plan  This project's contact plan (cold, every satellite of ``--tle``) vs
                  skyfield ``EarthSatellite.find_events`` on a random ``--satellites`` of
                  them, per satellite-station-day, plus the full-scale run (2,800 generated
                  satellites × every shipped station × 24 h: time and peak memory).
    soak          10^6 decisions over many short episodes with resets (random faults on by
                  default), resident memory after a warm-up and at the end: growth must stay
                  within 5 %.

Results are printed and written as JSON (``--out``). Wall-clock figures vary between
machines and runs; ratios measured in one run are the comparable numbers.

``python scripts/benchmark.py`` is the same command (same options) in a checkout.

Size: about 630 lines, above the house's ~400, because it is one command with three
benchmarks (contact plan, environment, fork), each with the reference it is measured against
in the same run, its child process for a clean peak RSS, and its printed table.
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
    cpu_began, began = _cpu_s(), time.perf_counter()
    plan = compute_contact_plan(cons, stations, EPOCH, hours * 3600.0, progress=True)
    seconds, cpu_s = time.perf_counter() - began, _cpu_s() - cpu_began
    queue.put(
        {
            "satellites": len(cons),
            "stations": len(stations),
            "hours": hours,
            "passes": len(plan),
            "seconds": seconds,
            "cpu_s": cpu_s,
            "peak_rss_mb": _peak_rss_mb(),
            # The largest of the search's worker processes (each holds one chunk at a time).
            "peak_rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
            "rss_before_mb": base_rss,
        }
    )


def _benchmark_tles(args: argparse.Namespace) -> tuple[list, str, datetime]:
    """The element sets to plan (``--tle`` file, else the generated shell), and the epoch.

    A file's horizon starts at ``--epoch`` or at midnight UTC of its newest element epoch,
    so real element sets are propagated where they are valid.
    """
    from envs.orbits import Shell, load_elements, shells_tles
    from envs.timeutil import parse_utc

    if args.tle:
        tles = load_elements(args.tle)
        newest = max(t.epoch for t in tles)
        epoch = newest.replace(hour=0, minute=0, second=0, microsecond=0)
        source = str(args.tle)
    else:
        epoch = EPOCH
        shell = Shell(
            550.0, planes=10, sats_per_plane=10, inclination_deg=53.0, phasing=1, name_prefix="WD"
        )
        tles = shells_tles([shell], epoch)[: args.satellites]
        source = "generated Walker 53:100/10/1 at 550 km"
    if args.epoch:
        epoch = parse_utc(args.epoch, "--epoch")
    return list(tles), source, epoch


def _skyfield_subset(n_total: int, n_wanted: int, seed: int) -> list[int]:
    """Sorted indices of the satellites skyfield is timed on: a seeded random sample."""
    import numpy as np

    if n_wanted >= n_total:
        return list(range(n_total))
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(n_total, size=n_wanted, replace=False).tolist())


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the search's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _time_ours(
    cons, stations, epoch, horizon_s, ts, repeats: int, workers
) -> tuple[list, list, object]:
    """Wall-clock and CPU seconds of each cold ``compute_contact_plan`` run (no cache), the plan.

    CPU seconds (workers included) do not grow when other work shares the cores, so their
    ratio is the steadier one on a busy machine.
    """
    from envs.contact_plan import compute_contact_plan

    times, cpu = [], []
    for _ in range(repeats):
        cpu_began, began = _cpu_s(), time.perf_counter()
        plan = compute_contact_plan(cons, stations, epoch, horizon_s, ts=ts, workers=workers)
        times.append(time.perf_counter() - began)
        cpu.append(_cpu_s() - cpu_began)
    return times, cpu, plan


def _time_skyfield(tles, stations, epoch, horizon_s, ts) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds of skyfield ``find_events``, and its passes.

    Every (satellite, station) pair is searched. A pass is a rise, or the first event of a
    pair when the satellite is already up at the start (it then begins with a culmination or
    a set), as the plan counts them.
    """
    from skyfield.api import EarthSatellite, wgs84

    t0 = ts.from_datetime(epoch)
    t1 = ts.from_datetime(epoch + timedelta(seconds=horizon_s))
    cpu_began, began = _cpu_s(), time.perf_counter()
    passes = 0
    for tle in tles:
        sat = EarthSatellite(tle.line1, tle.line2, tle.name, ts)
        for st in stations:
            topos = wgs84.latlon(st.lat_deg, st.lon_deg, elevation_m=st.alt_m)
            _, events = sat.find_events(topos, t0, t1, altitude_degrees=st.min_elevation_deg)
            passes += int((events == 0).sum()) + int(len(events) > 0 and events[0] != 0)
    return time.perf_counter() - began, _cpu_s() - cpu_began, passes


def _run_full_scale() -> dict:
    """The 2,800 × every-station × 24 h run, in a fresh process (its own peak RSS)."""
    context = mp.get_context("spawn")
    queue: mp.Queue = context.Queue()
    # Not daemonic, so the search may start its worker processes; die_with ends it with us.
    proc = context.Process(target=_full_scale_child, args=(queue, 24.0, os.getpid()))
    proc.start()
    full = queue.get()
    proc.join()
    return full


def _print_contact_plan(result: dict) -> None:
    print(f"same inputs ({result['source']}), {result['stations']} stations × "
          f"{result['hours']:g} h from {result['epoch']}:")  # fmt: skip
    print(f"  skyfield find_events:   {result['skyfield_s']:8.3f} s for "
          f"{result['skyfield_satellites']} satellites "
          f"({result['skyfield_ms_per_sat_station_day']:.3f} ms/sat-station-day), "
          f"{result['passes_skyfield']} passes")  # fmt: skip
    print(f"  constellation-dispatch: {result['ours_s']:8.3f} s for {result['satellites']} "
          f"satellites, min of {result['repeats']} ({result['ours_ms_per_sat_station_day']:.4f} "
          f"ms/sat-station-day), {result['passes_ours']} passes, "
          f"{result['passes_ours_on_subset']} on skyfield's satellites")  # fmt: skip
    if result["satellites"] != result["skyfield_satellites"]:
        same = result["speedup_same_satellites"]
        print(f"    on skyfield's {result['skyfield_satellites']} satellites alone: "
              f"{result['ours_subset_s']:.3f} s -> {same:.0f}x")  # fmt: skip
    print(f"  -> {result['speedup_vs_skyfield']:.0f}x faster per satellite-station-day "
          f"({result['cpu_speedup_vs_skyfield']:.0f}x in CPU seconds: ours "
          f"{result['ours_cpu_s']:.2f} s, workers included; skyfield "
          f"{result['skyfield_cpu_s']:.2f} s)")  # fmt: skip
    full = result.get("full_scale")
    if full:
        print(
            f"full scale: {full['satellites']} satellites × {full['stations']} stations × 24 h: "
            f"{full['seconds']:.1f} s ({full['cpu_s']:.1f} CPU s), {full['passes']} passes, "
            f"peak RSS {full['peak_rss_mb']:.0f} MB (largest worker process "
            f"{full['peak_rss_worker_mb']:.0f} MB)"
        )


def bench_contact_plan(args: argparse.Namespace) -> dict:
    """``benchmark contact-plan``: this project's contact plan against skyfield.

    Ours is timed on every satellite (of ``--tle``, or the generated shell), skyfield on a
    seeded random ``--satellites`` of them; the ratio compares time per
    satellite-station-day. With a file larger than the sample, ours is also timed on the
    sample alone (``speedup_same_satellites``), and the pass counts are compared there.
    """
    import numpy as np

    from envs.errors import ConfigError
    from envs.ground import load_networks
    from envs.orbits import Constellation
    from envs.timeutil import builtin_timescale

    for name in ("satellites", "stations", "repeats", "workers"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ConfigError(f"--{name}: must be at least 1, got {getattr(args, name)}")
    if not 0 < args.hours <= 24.0 * 366:
        raise ConfigError(f"--hours: must be in (0, 8784], got {args.hours:g}")
    ts = builtin_timescale()
    stations = load_networks(STATION_FILES)[: args.stations]
    tles, source, epoch = _benchmark_tles(args)
    horizon_s = args.hours * 3600.0
    subset = _skyfield_subset(len(tles), args.satellites, args.seed)
    sample = [tles[i] for i in subset]
    cons = Constellation.from_tles(tles)
    ours, ours_cpu, plan = _time_ours(
        cons, stations, epoch, horizon_s, ts, args.repeats, args.workers
    )
    if len(sample) < len(tles):
        ours_subset, _, _ = _time_ours(
            Constellation.from_tles(sample), stations, epoch, horizon_s, ts, args.repeats,
            args.workers,
        )  # fmt: skip
    else:
        ours_subset = ours
    skyfield_s, skyfield_cpu, skyfield_passes = _time_skyfield(
        sample, stations, epoch, horizon_s, ts
    )
    days = args.hours / 24.0
    sky_unit = skyfield_s / (len(sample) * len(stations) * days)
    ours_unit = min(ours) / (len(tles) * len(stations) * days)
    result = {
        "source": source,
        "epoch": epoch.isoformat(),
        "satellites": len(tles),
        "skyfield_satellites": len(sample),
        "skyfield_seed": args.seed,
        "stations": len(stations),
        "hours": args.hours,
        "repeats": args.repeats,
        "workers": args.workers,
        "passes_ours": len(plan),
        "passes_ours_on_subset": int(np.isin(plan.passes.sat, subset).sum()),
        "passes_skyfield": skyfield_passes,
        "ours_s": min(ours),
        "ours_all_s": ours,
        "ours_subset_s": min(ours_subset),
        "skyfield_s": skyfield_s,
        "skyfield_ms_per_sat_station_day": 1000.0 * sky_unit,
        "ours_ms_per_sat_station_day": 1000.0 * ours_unit,
        "speedup_vs_skyfield": sky_unit / ours_unit,
        "speedup_same_satellites": skyfield_s / min(ours_subset),
        "ours_cpu_s": min(ours_cpu),
        "skyfield_cpu_s": skyfield_cpu,
        "cpu_speedup_vs_skyfield": (skyfield_cpu / len(sample)) / (min(ours_cpu) / len(tles)),
    }
    if not args.skip_full:
        result["full_scale"] = _run_full_scale()
    _print_contact_plan(result)
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
            "per_s": done_steps / seconds,
            "compiled": bool(getattr(env.unwrapped, "compiled_observation", False))}  # fmt: skip


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
            "per_s": played.steps / played.seconds,
            "compiled": bool(env.unwrapped.compiled_observation)}  # fmt: skip


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
            f"peak RSS {res['peak_rss_mb']:.0f} MB, "
            f"{'compiled' if res.get('compiled') else 'Python'} observation"
        )
    if not all(res.get("compiled") for res in out["scenarios"]):
        print("(Python observation: numba is not installed (the fast extra compiles the "
              "observation, about 2.8x the decisions per second), CONSTELLATION_DISPATCH_COMPILED"
              "=0 switched it off, or the scenario has faults, inter-satellite links or "
              "backhaul, which the compiled path leaves to Python)")  # fmt: skip
    return out


def bench_fork(args: argparse.Namespace) -> dict:
    """``env.fork()`` against ``copy.deepcopy(env)`` mid-episode (ECT choosing), per scenario."""
    import copy
    import itertools
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
        seeds = itertools.count(1)  # a new future each time: the draw, not the kept one
        future_s = timed(lambda e=env, s=seeds: e.fork(next(s)), max(1, args.repeats // 10))
        deep_s = timed(partial(copy.deepcopy, env), max(1, args.repeats // 20))
        res = {"scenario": scenario, "jobs": env.sim.n_jobs, "satellites": world.n_sats,
               "decisions_before": args.decisions, "fork_ms": 1e3 * fork_s,
               "fork_sampled_future_ms": 1e3 * future_s,
               "deepcopy_ms": 1e3 * deep_s, "speedup_vs_deepcopy": deep_s / fork_s}  # fmt: skip
        out["scenarios"].append(res)
        print(f"{scenario}: fork {res['fork_ms']:.3f} ms, deepcopy {res['deepcopy_ms']:.1f} ms "
              f"({res['speedup_vs_deepcopy']:.0f}× faster), with a sampled future "
              f"{res['fork_sampled_future_ms']:.2f} ms; {res['jobs']:,} jobs, "
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
        "--satellites",
        type=int,
        default=100,
        help="satellites skyfield is timed on: a seeded random sample of the file (ours is "
        "timed on all of them; the ratio is per satellite-station-day)",
    )
    cp.add_argument("--seed", type=int, default=0, help="seed of that sample")
    cp.add_argument("--stations", type=int, default=10, help="stations for the skyfield comparison")
    cp.add_argument("--hours", type=float, default=24.0, help="horizon for the skyfield comparison")
    cp.add_argument(
        "--epoch",
        default=None,
        help="start of the horizon, ISO 8601 UTC (default: 2025-06-01 for the generated "
        "shell, midnight UTC of the newest element epoch of --tle)",
    )
    cp.add_argument("--repeats", type=int, default=3, help="cold runs of ours; the minimum counts")
    cp.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for our search (default: chosen by the size of the job)",
    )
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

