"""Random scenarios from a seed (``envs.scenario.sampling``, ``generated:SEED``)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

from agents.heuristics import make_heuristic
from envs.dispatch_env import ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.scenario import load_scenario
from envs.scenario.sampling import (
    DEFAULT_SPACE,
    load_space,
    sample_scenario,
    sample_scenario_dict,
)

SHORT = {"duration_s": 30.0, "episode.drain_s": 6 * 3600.0}  # a cheap episode


@pytest.fixture(scope="module")
def space():
    return load_space(DEFAULT_SPACE)


@pytest.fixture(scope="module")
def sampled(space):
    """200 sampled scenarios, through the loader."""
    return [sample_scenario(seed, space) for seed in range(200)]


def _space_yaml(tmp_path: Path, edit) -> Path:
    """A copy of the default space with ``edit(data)`` applied, in ``tmp_path``."""
    data = yaml.safe_load(DEFAULT_SPACE.read_text())
    data["workload"]["trace_file"] = str(DEFAULT_SPACE.parent / data["workload"]["trace_file"])
    edit(data)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_an_equal_scenario_and_other_seeds_differ(space):
    for seed in (0, 17, 123456789):
        assert sample_scenario(seed, space) == sample_scenario(seed, space)
        assert sample_scenario_dict(seed, space) == sample_scenario_dict(seed, space)
    dicts = [sample_scenario_dict(seed, space) for seed in range(20)]
    for d in dicts:
        d.pop("name")
        d.pop("description")
    assert all(dicts[i] != dicts[j] for i in range(20) for j in range(i))


def test_sampling_does_not_touch_global_random_state(space):
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global generator)
    sample_scenario(5, space)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_sampled_scenario_is_named_after_its_seed_and_records_its_space(space):
    sc = sample_scenario(42, space)
    assert sc.name == "generated:42"
    assert sc.source == DEFAULT_SPACE.resolve()


# --- ranges -----------------------------------------------------------------------------------


def test_every_sampled_field_stays_in_its_range_over_200_seeds(sampled):
    networks = {"china", "ksat", "aws"}
    for sc in sampled:
        shells = [s.shell for s in sc.constellation.shells]
        n_sats = sum(s.size for s in shells)
        assert len(shells) == 1 and 4 <= n_sats <= 600, sc.name
        for sh in shells:
            assert 1 <= sh.planes <= 30 and 4 <= sh.sats_per_plane <= 60
            assert 400 <= sh.altitude_km <= 1200
            if sh.inclination_deg is None:  # SSO
                assert 0 <= sh.ltan_hours < 24 and sh.raan_spread_deg in (360, 180, 60)
            else:  # Walker delta
                assert 45 <= sh.inclination_deg <= 98 and 0 <= sh.phasing < sh.planes
                assert sh.raan_spread_deg == 360 and sh.ltan_hours is None
        (cls,) = sc.classes
        assert 1 <= cls.servers <= 4 and 0.5 <= cls.throughput_scale <= 4
        assert 16 <= cls.buffer_jobs <= 512 and cls.model_swap_s in (0, 30, 120)
        g = sc.ground
        assert (
            g.networks and set(g.networks) <= networks and len(set(g.networks)) == len(g.networks)
        )
        assert 0.5 <= g.uplink_rate_scale <= 4 and 0.5 <= g.downlink_rate_scale <= 4
        w = sc.workload
        assert 0.25 <= w.load <= 3
        assert w.origins and len(set(w.origins)) == len(w.origins) <= 12
        assert w.origin_weights is None or len(w.origin_weights) == len(w.origins)
        assert w.arrivals.process in ("poisson", "diurnal", "trace")
        if w.arrivals.process == "trace":
            assert w.arrivals.trace_start == "random" and w.arrivals.trace_file.is_file()
        assert 700 <= w.tokens.input_median <= 1400 and 90 <= w.tokens.output_median <= 180
        d = sc.dispatch
        assert 4 <= d.candidates <= 12 and 30 <= d.defer_s <= 600
        assert sc.episode.drain_s == 86400 and 0 < sc.episode.duration_s <= 21600
        jobs = w.arrivals.rate_per_s * sc.episode.duration_s
        capped = sc.episode.duration_s == 21600
        assert (jobs <= 3000 + 1e-6) if capped else (300 - 1e-6 <= jobs <= 3000 + 1e-6)
    # Both kinds, all processes, each network count and both defer settings occur.
    assert {s.constellation.shells[0].shell.inclination_deg is None for s in sampled} == {
        True,
        False,
    }
    assert {s.workload.arrivals.process for s in sampled} == {"poisson", "diurnal", "trace"}
    assert {len(s.ground.networks) for s in sampled} == {1, 2, 3}
    assert {s.dispatch.allow_defer for s in sampled} == {True, False}


def test_origins_are_stations_of_the_used_networks(sampled):
    from envs.sim.world import scenario_stations

    for sc in sampled[:20]:
        names = {s.name for s in scenario_stations(sc)}
        assert set(sc.workload.origins) <= names, sc.name


def test_load_one_means_thirty_percent_compute_utilisation(sampled):
    for sc in sampled:
        if sc.workload.arrivals.process == "trace":
            continue
        (cls,) = sc.classes
        tok = sc.workload.tokens
        mean_in = tok.input_median * math.exp(tok.input_sigma**2 / 2)
        mean_out = tok.output_median * math.exp(tok.output_sigma**2 / 2)
        models = {m.name: m for m in sc.models}
        total = sum(share for _, share in sc.workload.models)
        service = sum(
            share
            / total
            * (
                mean_in / (models[m].prefill_tokens_per_s * cls.throughput_scale)
                + mean_out / (models[m].decode_tokens_per_s * cls.throughput_scale)
            )
            for m, share in sc.workload.models
        )
        n_servers = sum(s.shell.size for s in sc.constellation.shells) * cls.servers
        assert sc.workload.arrivals.rate_per_s * service / n_servers == pytest.approx(0.3)


def test_trace_replay_speed_gives_the_capacity_rate(space):
    from envs.jobs import load_trace

    trace = load_trace(space.trace_file)
    own_rate = (trace.size - 1) / trace.span_s
    seeds = [s for s in range(60) if sample_scenario_dict(s, space)["workload"]["arrivals"]
             ["process"] == "trace"]  # fmt: skip
    assert seeds
    for seed in seeds[:5]:
        a = sample_scenario(seed, space).workload.arrivals
        assert a.time_scale * own_rate == pytest.approx(a.rate_per_s)


# --- the loader path --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7, 19])
def test_sampled_dict_written_as_yaml_loads_as_the_same_scenario(tmp_path, seed, space):
    path = tmp_path / "sampled.yaml"
    path.write_text(yaml.safe_dump(sample_scenario_dict(seed, space), sort_keys=False))
    from_file = load_scenario(path)
    expected = sample_scenario(seed, space)
    assert from_file == dataclasses.replace(expected, source=path.resolve())


def test_generated_name_gives_the_sampled_scenario_with_overrides_on_top(space):
    plain = load_scenario("generated:17")
    assert plain == sample_scenario(17, space)
    over = load_scenario("generated:17", {"load": 2.0, "candidates": 5})
    assert over.workload.load == 2.0 and over.dispatch.candidates == 5
    assert over.constellation == plain.constellation
    assert over.workload.arrivals == plain.workload.arrivals


def test_generated_at_path_samples_from_another_space_file(tmp_path):
    def small(data):
        data["constellation"]["planes"] = 2
        data["constellation"]["sats_per_plane"] = {"dist": "choice", "values": [4, 5]}
        data["workload"]["process"] = "poisson"

    path = _space_yaml(tmp_path, small)
    for seed in range(5):
        sc = load_scenario(f"generated:{seed}@{path}")
        assert sc.name == f"generated:{seed}" and sc.source == path.resolve()
        shell = sc.constellation.shells[0].shell
        assert shell.planes == 2 and shell.sats_per_plane in (4, 5)
        assert sc.workload.arrivals.process == "poisson"
        assert sc == sample_scenario(seed, load_space(path))
    assert load_scenario("generated:3@default") == load_scenario("generated:3")


def test_the_dense_space_is_the_default_one_with_busier_windows_only():
    dense_space = load_space(DEFAULT_SPACE.parent / "dense.yaml")
    default_space = load_space(DEFAULT_SPACE)
    jobs = dense_space.params["workload.jobs_at_load_1"]
    assert jobs.low >= 10 * 300 and jobs.high >= 10 * 3000
    key = "workload.jobs_at_load_1"
    assert {k: v for k, v in dense_space.params.items() if k != key} == {
        k: v for k, v in default_space.params.items() if k != key
    }
    for seed in (0, 1, 2):
        busy, plain = sample_scenario(seed, dense_space), sample_scenario(seed)
        assert busy.constellation == plain.constellation  # the same draws, in the same order
        # 10x the jobs at load 1: a longer window at the same rate, up to the 6 h cap
        assert busy.episode.duration_s >= min(plain.episode.duration_s * 9.99, 21600.0) - 1e-6


def _space_file(folder, name: str, text: str):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_space_file_extends_another_and_overrides_only_what_it_names(tmp_path):
    # Outside the shipped folder: default.yaml's relative trace path still resolves.
    one = _space_file(tmp_path, "one.yaml", (
        "extends: default\n"
        "workload:\n"
        "  load: {dist: choice, values: [0.5, 2]}   # a choice over a uniform: replaced\n"
        "constellation:\n"
        "  planes: 3\n"
    ))  # fmt: skip
    text = "extends: ../one.yaml\nepisode:\n  drain_s: 3600\n"
    two = _space_file(tmp_path / "sub", "two.yaml", text)
    base = load_space(DEFAULT_SPACE)
    for path in (one, two):
        space = load_space(path)
        assert space.params["workload.load"].kind == "choice"
        assert space.params["workload.load"].values == (0.5, 2)
        assert space.params["constellation.planes"].values == (3,)  # a constant
        assert space.params["constellation.altitude_km"] == base.params["constellation.altitude_km"]
        assert space.trace_file == base.trace_file
    assert load_space(two).params["episode.drain_s"].values == (3600,)
    assert load_space(one).params["episode.drain_s"] == base.params["episode.drain_s"]
    sc = sample_scenario(5, load_space(two))
    assert sc.workload.load in (0.5, 2) and sc.constellation.shells[0].shell.planes == 3


LOOP = r"extends: space files extend each other in a loop \(a.yaml -> b.yaml -> a.yaml\)"
BAD_EXTENDS = [
    ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}, LOOP),
    ({"a.yaml": "extends: a.yaml\n"}, "in a loop"),
    ({"a.yaml": "extends: nowhere.yaml\n"},
     r"a.yaml: extends: space file not found: .*nowhere.yaml, got 'nowhere.yaml'"),
    ({"a.yaml": "extends: nope\n"},
     r"extends: space file not found: .*distributions.nope.yaml, got 'nope'"),
    ({"a.yaml": "extends: 3\n"}, r"a.yaml: extends: must be the name or path of a space file"),
    ({"a.yaml": "extends: default\nworkload:\n  lode: 2\n"},
     r"a.yaml: workload.lode: unknown key 'lode'"),
    ({"a.yaml": "extends: default\nworkload:\n  load: {dist: uniform, low: 3, high: 1}\n"},
     r"a.yaml: workload.load: low must be <= high"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "message"), BAD_EXTENDS)
def test_bad_extends_gets_one_line_naming_the_file_and_the_value(tmp_path, files, message):
    for name, text in files.items():
        _space_file(tmp_path, name, text)
    with pytest.raises(ConfigError, match=message):
        load_space(tmp_path / "a.yaml")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("generated:", "scenario: expected generated:SEED"),
        ("generated:-1", "scenario: expected generated:SEED"),
        ("generated:abc", "got 'generated:abc'"),
        ("generated:1@/no/such/space.yaml", "/no/such/space.yaml: space file not found"),
        ("generated:1@nosuchspace", "nosuchspace.yaml: space file not found"),
    ],
)
def test_bad_generated_names_raise_one_line_config_errors(name, message):
    with pytest.raises(ConfigError) as info:
        load_scenario(name)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_bad_seeds_raise_one_line_config_errors(seed, space):
    with pytest.raises(ConfigError, match=r"^seed: must be an integer >= 0, got"):
        sample_scenario(seed, space)


def test_bad_override_on_a_generated_scenario_names_the_seed_and_field():
    with pytest.raises(ConfigError, match=r"^generated:3: workload\.load: must be > 0, got -1$"):
        load_scenario("generated:3", {"load": -1})


# --- bad space files --------------------------------------------------------------------------


def _set(section, key, value):
    def edit(data):
        (data[section] if section else data)[key] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("constellation", "colour", 3), "constellation.colour: unknown key 'colour'"),
        (_set("", "extras", {}), "extras: unknown key 'extras'"),
        (
            _set("constellation", "planes", {"dist": "int_uniform", "low": 9, "high": 2}),
            "constellation.planes: low must be <= high, got {'low': 9, 'high': 2}",
        ),
        (
            _set("workload", "load", {"dist": "gauss", "low": 1, "high": 2}),
            "workload.load.dist: unknown distribution (known: uniform, log_uniform, "
            "int_uniform, choice), got 'gauss'",
        ),
        (
            _set("workload", "load", {"dist": "uniform", "low": 1, "hi": 2}),
            "workload.load.hi: unknown key 'hi'",
        ),
        (
            _set("workload", "load", {"dist": "uniform", "low": 1}),
            "workload.load.high: required key missing",
        ),
        (
            _set("classes", "throughput_scale", {"dist": "log_uniform", "low": 0, "high": 2}),
            "classes.throughput_scale.low: must be > 0, got 0",
        ),
        (
            _set("constellation", "altitude_km", {"dist": "uniform", "low": 100, "high": 900}),
            "constellation.altitude_km.low: must be in [150, 5000], got 100",
        ),
        (
            _set("constellation", "planes", {"dist": "int_uniform", "low": 1.5, "high": 3}),
            "constellation.planes.low: must be an integer, got 1.5",
        ),
        (
            _set("workload", "process", {"dist": "choice", "values": ["poisson", "burst"]}),
            "workload.process.values[1]: must be one of poisson, diurnal, trace, got 'burst'",
        ),
        (
            _set("dispatch", "candidates", {"dist": "choice", "values": [4, 8], "weights": [1]}),
            "dispatch.candidates.weights: must have one weight per value (2), got [1.0]",
        ),
        (
            _set("dispatch", "candidates", {"dist": "choice", "values": []}),
            "dispatch.candidates.values: must be a non-empty list, got []",
        ),
        (
            _set("workload", "models", {"dist": "choice", "values": [{"llm-70b": 1.0}]}),
            "workload.models.values[0].llm-70b: unknown model (known: llm-8b, llm-3b)",
        ),
        (
            _set("constellation", "max_satellites", 3),
            "constellation.max_satellites: must be >= shells x planes x sats_per_plane at "
            "their smallest (4), got 3",
        ),
        (_set("workload", "trace_file", "missing.csv"), "workload.trace_file: file not found"),
        (
            lambda data: data["episode"].pop("drain_s"),
            "episode.drain_s: required key missing",
        ),
    ],
)
def test_bad_space_file_raises_one_line_error_naming_field_and_value(tmp_path, edit, message):
    path = _space_yaml(tmp_path, edit)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    text = str(info.value)
    assert text.startswith("space.yaml: ") and message in text and "\n" not in text, text


def test_missing_space_file_raises_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="space file not found"):
        load_space(tmp_path / "nope.yaml")


# --- episodes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 17])
def test_sampled_scenario_runs_an_ect_episode_and_accounts_for_every_job(seed):
    env = ConstellationDispatchEnv(f"generated:{seed}", cache_dir=None, **SHORT)
    obs, info = env.reset(seed=3)
    agent = make_heuristic("ect", env)
    done, steps = False, 0
    while not done:
        action, _ = agent.predict(obs, action_masks=env.action_masks())
        obs, _, terminated, truncated, info = env.step(action)
        done, steps = terminated or truncated, steps + 1
    assert info["jobs_arrived"] > 0
    assert info["jobs_completed"] + info["jobs_dropped"] == info["jobs_arrived"]
    assert (
        env.action_space.n == env.scenario.dispatch.candidates + env.scenario.dispatch.allow_defer
    )


def test_gym_make_accepts_a_generated_scenario():
    env = gym.make("ConstellationDispatch-v1", scenario="generated:17", cache_dir=None, **SHORT)
    assert env.unwrapped.scenario.name == "generated:17"
    assert (
        env.unwrapped.scenario.dispatch.candidates
        == load_scenario("generated:17").dispatch.candidates
    )
    env.close()


def test_trace_start_differs_between_reset_seeds_and_repeats_for_one_seed(space):
    seed = next(
        s for s in range(100)
        if sample_scenario_dict(s, space)["workload"]["arrivals"]["process"] == "trace"
    )  # fmt: skip
    env = ConstellationDispatchEnv(f"generated:{seed}", cache_dir=None, **SHORT)

    def first_job(reset_seed):
        env.reset(seed=reset_seed)
        return int(env.sim.in_tokens[0]), int(env.sim.out_tokens[0])

    firsts = [first_job(s) for s in range(6)]
    assert first_job(0) == firsts[0] and first_job(4) == firsts[4]
    assert len(set(firsts)) >= 5
