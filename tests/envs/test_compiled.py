"""The compiled observation (``envs.sim.compiled``) against the Python reference, bit for bit.

Each case plays one episode twice with the same random valid actions, once with the compiled
path and once with it switched off, and compares every observation, mask, candidate list,
estimate, reward and the final job table byte for byte.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings

from envs.dispatch_env import CANDIDATE_FEATURES, GLOBAL_FEATURES, ConstellationDispatchEnv
from envs.sim import compiled, job_table
from envs.wrappers import flatten_observation
from tests.envs.test_properties import same_table, seeded_envs

pytest.importorskip("numba", reason="the compiled observation needs numba (the fast extra)")

SHORT = {"episode.duration_s": 1800.0}
# Presets and overrides the compiled path covers: power models, deferral, K, deadlines,
# on-board jobs (which take the Python path decision by decision), other constellations.
COVERED = {
    "toy": ("toy", {}),
    "star": ("star_compute_12", SHORT),
    "star_sunlit_only": ("star_compute_12", {**SHORT, "classes.inference.power": "sunlit_only"}),
    "star_battery": ("star_compute_12", {**SHORT, "classes.inference.power": "battery"}),
    "star_no_defer_k3": (
        "star_compute_12", {**SHORT, "dispatch.allow_defer": False, "dispatch.candidates": 3}
    ),
    "star_k16_deadline": (
        "star_compute_12", {**SHORT, "dispatch.candidates": 16, "workload.deadline_s": 1200.0}
    ),
    "star_onboard": ("star_compute_12", {**SHORT, "workload.onboard_fraction": 0.3}),
    "star_overloaded": ("star_compute_12", {**SHORT, "workload.load": 3.0}),
    "walker": ("walker_100", {"episode.duration_s": 900.0}),
    "generated": ("generated:7", {}),
}
# Cases the compiled path leaves to Python (``compiled.applies`` is false).
FALLBACK = {
    "faults": {**SHORT, "faults": {"satellite_failures": [{"satellite": 3, "time_s": 600.0}]}},
    "isl": {**SHORT, "isl.enabled": True},
    "backhaul": {**SHORT, "ground.backhaul_delay_s": 2.0},
}


@pytest.fixture
def python_path(monkeypatch):
    """A function that plays with the compiled path on or off."""

    def play(enabled: bool, *args, **kwargs):
        monkeypatch.setattr(compiled, "ENABLED", enabled)
        return _play(*args, **kwargs)

    return play


def _decision(env) -> tuple:
    base = env.unwrapped
    return (env.action_masks().tobytes(), list(base.candidates), list(base.decision_estimates))


def _play(scenario, seed: int = 3, steps: int = 400, world=None, observation="flat", **over):
    """One episode of random valid actions: (compiled used, trace, job table)."""
    env = ConstellationDispatchEnv(scenario, world=world, observation=observation, **over)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    trace = [(flatten_observation(obs).tobytes(), info["reset_reward"], _decision(env))]
    for _ in range(steps):
        valid = np.flatnonzero(env.action_masks())
        action = int(valid[rng.integers(len(valid))]) if valid.size else 0
        obs, reward, terminated, truncated, _ = env.step(action)
        trace.append((flatten_observation(obs).tobytes(), reward, _decision(env)))
        if terminated or truncated:
            break
    return env._compiled, trace, job_table(env.sim)


@pytest.mark.parametrize("case", sorted(COVERED))
def test_compiled_observation_is_bit_identical_to_the_python_one(python_path, case):
    scenario, over = COVERED[case]
    used, trace, table = python_path(True, scenario, **over)
    off, reference, reference_table = python_path(False, scenario, **over)
    assert used and not off
    assert len(trace) > 5  # decisions were compared (toy episodes are short)
    for i, (got, want) in enumerate(zip(trace, reference, strict=True)):
        assert got == want, f"{case}: step {i} differs"
    assert same_table(table, reference_table)


def test_the_dict_observation_is_the_same_too(python_path):
    used, trace, _ = python_path(True, "star_compute_12", observation="dict", **SHORT)
    _, reference, _ = python_path(False, "star_compute_12", observation="dict", **SHORT)
    assert used and trace == reference


@pytest.mark.parametrize("case", sorted(FALLBACK))
def test_faults_isl_and_backhaul_keep_the_python_path(python_path, case):
    used, trace, _ = python_path(True, "star_compute_12", steps=50, **FALLBACK[case])
    assert not used
    assert trace == python_path(False, "star_compute_12", steps=50, **FALLBACK[case])[1]


@settings(max_examples=25, deadline=None)
@given(seeded_envs())
def test_hand_made_worlds_and_random_workloads_agree(case):
    scenario, world, seed, _ = case
    previous = compiled.ENABLED
    try:
        compiled.ENABLED = True
        used, trace, table = _play(scenario, seed=seed % 2**31, world=world, steps=200)
        compiled.ENABLED = False
        _, reference, reference_table = _play(scenario, seed=seed % 2**31, world=world, steps=200)
    finally:
        compiled.ENABLED = previous
    assert used
    assert trace == reference and same_table(table, reference_table)


def test_forks_and_deep_copies_read_their_own_state():
    # Views of the simulator's arrays are per episode: a fork or a deep copy that kept the
    # original's would see the other's queues.
    env = ConstellationDispatchEnv("star_compute_12", observation="flat", **SHORT)
    env.reset(seed=1)
    assert env._compiled
    rng = np.random.default_rng(0)
    for _ in range(150):
        env.step(int(np.flatnonzero(env.action_masks())[0]))
    twins = [env.fork(), copy.deepcopy(env)]
    actions = [int(rng.integers(8)) for _ in range(150)]

    def continue_(e):
        out = []
        for a in actions:
            valid = np.flatnonzero(e.action_masks())
            obs, r, term, trunc, _ = e.step(int(valid[a % len(valid)]))
            out.append((obs.tobytes(), r, _decision(e)))
            if term or trunc:
                break
        return out

    reference = continue_(env)
    for twin in twins:
        assert continue_(twin) == reference


def test_the_kernel_layout_matches_the_environment():
    from envs.sim import kernel

    assert len(GLOBAL_FEATURES) == kernel.N_SYSTEM
    assert len(CANDIDATE_FEATURES) == kernel.N_FEATURES


def test_window_pool_grows_and_keeps_what_it_packed(sc12_world):
    pool = compiled.WindowPool(sc12_world)
    first = pool._add([1.0, 2.0], [1.5, 2.5], [10.0, 20.0])
    big = np.arange(3000.0)
    second = pool._add(big, big + 0.5, np.ones(3000))
    assert first == (0, 2) and second == (2, 3000) and pool.win.shape[1] >= 3002
    assert pool.win[:3, :2].tolist() == [[1.0, 2.0], [1.5, 2.5], [10.0, 20.0]]
    assert np.array_equal(pool.win[1, 2:3002], big + 0.5)


def test_a_real_fleet_from_tles_agrees(python_path, iridium_tle_path):
    # The learning suite's Iridium NEXT cell: 66 real satellites over the KSAT and AWS networks.
    over = {
        "constellation": {"tle_file": str(iridium_tle_path), "tle_class": "inference"},
        "episode.epoch": "2026-01-03T12:00:00Z",
        "episode.duration_s": 1200.0,
        "ground.networks": ["ksat", "aws"],
        "workload.origins": ["AWS Ohio", "KSAT Long Beach", "AWS Ireland", "KSAT Tokyo"],
    }
    used, trace, table = python_path(True, "walker_100", **over)
    _, reference, reference_table = python_path(False, "walker_100", **over)
    assert used and len(trace) > 100
    assert trace == reference and same_table(table, reference_table)


def test_an_unusable_numba_falls_back_to_python_with_one_warning(monkeypatch):
    import builtins
    import sys

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "numba" or name.startswith("numba."):
            raise ImportError("Numba needs NumPy 2.3 or less")
        return real_import(name, *args, **kwargs)

    import envs.sim

    monkeypatch.delitem(sys.modules, "envs.sim.kernel", raising=False)
    monkeypatch.delattr(envs.sim, "kernel", raising=False)
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    monkeypatch.setattr(builtins, "__import__", broken)
    compiled.kernel.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="observation stays in Python"):
            assert compiled.kernel() is None
        env = ConstellationDispatchEnv("toy", observation="flat")
        env.reset(seed=0)
        assert not env.compiled_observation
        env.step(int(np.flatnonzero(env.action_masks())[0]))
    finally:
        monkeypatch.undo()
        compiled.kernel.cache_clear()
    assert compiled.kernel() is not None
