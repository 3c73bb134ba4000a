"""Invariants of the simulator and the environment over generated episodes (hypothesis).

Every episode is tiny (1-3 satellites, an uplink and a downlink station, a few hand-made
passes, up to 12 jobs) so that the ``ci`` profile's 1,000 examples per property run in
seconds; ``--hypothesis-profile=long`` runs 10,000 (profiles: ``tests/conftest.py``).

Properties:

* conservation: ``arrived == completed + dropped + in_flight`` after every event
  (``Sim(check=True)`` recounts the job statuses each time), and every job ends completed or
  dropped (with a reason) once the episode is over;
* no job timeline runs backwards (no negative stage duration);
* every queue is FIFO: an uplink link serves jobs in dispatch order, one at a time; on-board
  servers start jobs in the order they arrive on board; the downlink sends results in the
  order they were computed, one at a time;
* determinism: one seed gives an identical job table (and rewards), also when the
  environment is reused;
* the return (``reset_reward`` plus the step rewards) is minus the job table's cost
  (``envs.sim.job_costs_s``), also for episodes that end before any decision: worlds
  without an uplink pass, and every station or every satellite out for the whole episode.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from envs.dispatch_env import ConstellationDispatchEnv
from envs.jobs import onboard_origin
from envs.scenario.faults import FaultsSpec, SatelliteFailure, StationOutage
from envs.scenario.schema import ArrivalSpec, TokenSpec, WorkloadSpec
from envs.sim import Sim, job_costs_s, job_table
from tests.envs.test_sim import HORIZON, make_jobs, make_world

INF = float("inf")
EPS = 1e-9
STAGES = ("arrival_s", "dispatch_s", "uplink_start_s", "uplink_end_s", "compute_start_s",
          "compute_end_s", "downlink_start_s", "delivered_s")  # fmt: skip


def _passes(draw, n_sats: int, per_pair: int, *, least=0, max_gap=1500.0, min_length=1.0):
    """``least`` to ``per_pair`` disjoint passes of each satellite over stations 0 (up), 1 (down).

    Returns ``[(sat, station, rise_s, set_s), ...]``, never empty.
    """
    passes = []
    for sat, station in itertools.product(range(n_sats), (0, 1)):
        t = draw(st.floats(0, 300))
        for _ in range(draw(st.integers(least, per_pair))):
            length = draw(st.floats(min_length, 200))
            if t + length >= HORIZON:
                break
            passes.append((sat, station, t, t + length))
            t += length + draw(st.floats(1, max_gap))
    return passes or [(0, 0, 10.0, 20.0)]


@st.composite
def episodes(draw):
    """A hand-made world, its jobs (ground and on-board origins) and the agent's choices."""
    n_sats = draw(st.integers(1, 3))
    passes = _passes(draw, n_sats, 4)
    rows = sorted(
        (
            draw(st.floats(0, HORIZON / 2)),
            draw(st.sampled_from([0, 0, 0, onboard_origin(0), onboard_origin(n_sats - 1)])),
            draw(st.integers(0, 1)), draw(st.integers(1, 20000)), draw(st.integers(1, 2000)),
            draw(st.sampled_from([INF, 200.0, 2000.0])),
        )
        for _ in range(draw(st.integers(1, 12)))
    )  # fmt: skip
    rows = [(a, o, m, i, out, a + d) for a, o, m, i, out, d in rows]
    actions = draw(st.lists(st.integers(-1, n_sats - 1), min_size=16, max_size=16))  # cycled
    world_kw = {
        "servers": draw(st.integers(1, 2)),
        "buffer_jobs": draw(st.integers(1, 4)),
        "swap_s": draw(st.sampled_from([0.0, 5.0])),
        "n_sats": n_sats,
    }
    return passes, rows, actions, world_kw


def play(case) -> tuple[Sim, list[int]]:
    """Run a generated episode with invariant checks at every event; return the dispatch order."""
    passes, rows, actions, world_kw = case
    sim = Sim(make_world(passes, **world_kw), make_jobs(rows), check=True)
    order: list[int] = []
    i = 0
    while True:
        sim.advance()
        job = sim.head()
        if job < 0:
            break
        a = actions[i % len(actions)] if i < 200 else 0  # defers end: the episode terminates
        i += 1
        if a < 0:
            sim.defer()
        else:
            order.append(job)
            sim.dispatch(a)
    return sim, order


@given(episodes())
def test_jobs_are_conserved_at_every_event(case):
    sim, _ = play(case)  # check=True: statuses recounted against the counters after each event
    rows = case[1]
    assert sim.done
    assert sim.arrived == len(rows) == sim.completed + sim.dropped and sim.in_flight == 0
    t = job_table(sim)
    done, dropped = t["status"] == "completed", t["status"] == "dropped"
    assert np.all(done | dropped)
    event(f"completed: {min(int(done.sum()), 3)}+, dropped: {min(int(dropped.sum()), 3)}+")
    assert np.all(t["drop_reason"][dropped] != "") and np.all(t["drop_reason"][done] == "")
    assert all(x == 0 for x in sim.onboard) and all(x == 0 for x in sim.committed)


@given(episodes())
def test_no_job_timeline_has_a_negative_duration(case):
    sim, _ = play(case)
    t = job_table(sim)
    stages = np.stack([t[name] for name in STAGES], axis=1)
    for job, times in enumerate(stages):
        seen = times[~np.isnan(times)]  # stages a job never reached are NaN
        assert np.all(np.diff(seen) >= -EPS), (job, dict(zip(STAGES, times, strict=True)))
        dropped_at = t["dropped_at_s"][job]
        if not np.isnan(dropped_at):
            assert dropped_at >= t["arrival_s"][job]
            assert np.isnan(t["dispatch_s"][job]) or dropped_at >= t["dispatch_s"][job]
    done = t["status"] == "completed"
    assert np.all(t["turnaround_s"][done] > 0)


@given(episodes())
def test_every_queue_is_served_in_fifo_order(case):
    sim, order = play(case)
    t = job_table(sim)
    sat, origin = t["sat"], t["origin"]
    up_start, up_end = t["uplink_start_s"], t["uplink_end_s"]
    # Uplink: one FIFO link per (satellite, origin station), in dispatch order, one at a time.
    ground = [j for j in order if origin[j] >= 0 and not np.isnan(up_start[j])]
    for i, j in itertools.combinations(ground, 2):  # i dispatched before j
        if sat[i] == sat[j] and origin[i] == origin[j]:
            assert up_start[j] >= up_start[i]
            assert np.isnan(up_end[i]) or up_start[j] >= up_end[i] - EPS
    # Compute: jobs start in the order they arrive on board (ties: any order).
    start = t["compute_start_s"]
    onboard = np.flatnonzero(~np.isnan(start))
    for i, j in itertools.permutations(onboard, 2):
        if sat[i] == sat[j] and up_end[i] < up_end[j]:
            assert start[i] <= start[j] + EPS
    # Downlink: one transmitter per satellite, results in order of completion, one at a time.
    end, down, delivered = t["compute_end_s"], t["downlink_start_s"], t["delivered_s"]
    sent = np.flatnonzero(~np.isnan(down))
    for i, j in itertools.permutations(sent, 2):
        if sat[i] == sat[j] and end[i] < end[j]:
            assert down[i] <= down[j] + EPS
            assert np.isnan(delivered[i]) or delivered[i] <= down[j] + EPS


#: Whole-episode blackouts: none, no uplink pass at all, every station out, every satellite
#: failed at 0 (the last three end most episodes before the first decision).
BLACKOUTS = (None, None, "no_uplink", "stations_out", "satellites_failed")


def _blackout(kind: str | None, n_sats: int) -> FaultsSpec:
    if kind == "stations_out":
        return FaultsSpec(
            station_outages=tuple(StationOutage(s, 0.0, HORIZON) for s in ("up", "down"))
        )
    if kind == "satellites_failed":
        return FaultsSpec(satellite_failures=tuple(SatelliteFailure(i, 0.0) for i in range(n_sats)))
    return FaultsSpec()


@st.composite
def seeded_envs(draw, blackouts=(None,)):
    """A hand-made world, a random workload on it, an episode seed and a policy seed."""
    n_sats = draw(st.integers(1, 3))
    passes = _passes(draw, n_sats, 6, least=2, max_gap=600.0, min_length=30.0)
    blackout = draw(st.sampled_from(blackouts))
    if blackout == "no_uplink":
        passes = [p for p in passes if p[1] != 0] or [(0, 1, 10.0, 20.0)]
    world = make_world(passes, n_sats=n_sats, buffer_jobs=draw(st.integers(1, 4)), up_bps=8000.0)
    workload = WorkloadSpec(
        arrivals=ArrivalSpec(
            draw(st.sampled_from(["poisson", "diurnal"])), rate_per_s=draw(st.floats(0.001, 0.006))
        ),
        tokens=TokenSpec(input_sigma=draw(st.floats(0, 1.5)), output_sigma=draw(st.floats(0, 1))),
        models=(("m", 1.0), ("n", draw(st.floats(0, 1)))),
        bytes_per_token=1.0,
        overhead_bytes=0.0,
        deadline_s=draw(st.sampled_from([None, 300.0, 2000.0])),
        onboard_fraction=draw(st.sampled_from([0.0, 0.3])),
    )
    faults = _blackout(blackout, n_sats)
    scenario = dataclasses.replace(world.scenario, workload=workload, faults=faults)
    event(f"blackout: {blackout}")
    return scenario, world, draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))


def episode(env: ConstellationDispatchEnv, seed: int, policy_seed: int):
    """Random valid actions; the job table and the rewards (the reset's first)."""
    rng = np.random.default_rng(policy_seed)
    _, info = env.reset(seed=seed)
    rewards = [info["reset_reward"]]
    for _ in range(1000):
        action = int(rng.choice(np.flatnonzero(env.action_masks()))) if env.sim.head() >= 0 else 0
        _, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        if terminated or truncated:
            break
    return job_table(env.sim), rewards


def same_table(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a
    )


@given(seeded_envs())
def test_same_seed_gives_an_identical_job_table(case):
    scenario, world, seed, policy_seed = case
    first = ConstellationDispatchEnv(scenario, world=world, check_invariants=True)
    table, rewards = episode(first, seed, policy_seed)
    event(f"jobs: {min(len(table['job']), 10)}+, decisions: {min(len(rewards), 10)}+")
    episode(first, seed + 1, policy_seed)  # a different episode in between: nothing leaks
    again, again_rewards = episode(first, seed, policy_seed)
    fresh_env = ConstellationDispatchEnv(scenario, world=world)
    fresh, fresh_rewards = episode(fresh_env, seed, policy_seed)
    assert same_table(table, again) and same_table(table, fresh)
    assert rewards == again_rewards == fresh_rewards


@given(seeded_envs(blackouts=BLACKOUTS), st.sampled_from(["time_in_system", "time_in_system_s"]))
def test_return_is_minus_the_job_table_cost_even_without_a_decision(case, reward):
    scenario, world, seed, policy_seed = case
    env = ConstellationDispatchEnv(scenario, world=world, check_invariants=True, reward=reward)
    unit_s = env.reward_fn.unit_s  # the return is in the reward's unit (hours by default)
    table, rewards = episode(env, seed, policy_seed)
    rw = scenario.reward
    cost = float(job_costs_s(table, env.sim.now, rw.drop_penalty_s).sum())
    assert sum(rewards) == pytest.approx(-cost / unit_s, rel=1e-9, abs=1e-9)
    dropped = int((table["status"] == "dropped").sum())
    assert cost >= rw.drop_penalty_s * dropped
    _, info = env.reset(seed=seed)
    no_decision = not env.action_masks().any()
    event(f"jobs: {min(len(table['job']), 3)}+, ends before a decision: {no_decision}")
    if no_decision:  # the whole cost is the reset's; the one step only terminates
        assert info["reset_reward"] == pytest.approx(-cost / unit_s, rel=1e-9, abs=1e-9)
        _, reward, terminated, truncated, _ = env.step(0)
        assert reward == 0.0 and terminated and not truncated
        if dropped:
            assert info["reset_reward"] < 0
