"""Scenario loading: presets, overrides, path resolution and one-line validation errors."""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from envs.errors import ConfigError
from envs.orbits import load_tles, shell_tles
from envs.scenario import (
    PRESET_DIR,
    ArrivalSpec,
    DispatchSpec,
    EpisodeSpec,
    GroundSpec,
    RewardSpec,
    Scenario,
    TokenSpec,
    WorkloadSpec,
    list_presets,
    load_scenario,
)

REPO = Path(__file__).resolve().parents[2]
TOY = PRESET_DIR / "toy.yaml"


def satellite_count(sc: Scenario) -> int:
    tle = len(load_tles(sc.constellation.tle_file)) if sc.constellation.tle_file else 0
    return tle + sum(s.shell.size for s in sc.constellation.shells)


def toy_dict() -> dict:
    return yaml.safe_load(TOY.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: object, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def config_error(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_scenario(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- presets -------------------------------------------------------------------------------


def test_list_presets_names_the_four_shipped_scenarios():
    assert list_presets() == ["star_compute_12", "star_compute_2800", "toy", "walker_100"]


@pytest.mark.parametrize(
    ("name", "satellites", "classes", "candidates"),
    [
        ("toy", 2, ["inference"], 2),
        ("star_compute_12", 12, ["inference"], 8),
        ("walker_100", 100, ["inference"], 8),
        ("star_compute_2800", 2800, ["inference", "training"], 8),
    ],
)
def test_every_preset_loads_with_its_satellites_classes_and_candidates(
    name, satellites, classes, candidates
):
    sc = load_scenario(name)
    assert sc.name == name
    assert satellite_count(sc) == satellites
    assert [c.name for c in sc.classes] == classes
    assert sc.dispatch.candidates == candidates
    assert sc.source == PRESET_DIR / f"{name}.yaml"
    assert all(p.is_absolute() and p.is_file() for p in sc.ground.station_files)


def test_star_compute_12_shell_generates_exactly_the_shipped_tle_file():
    sc = load_scenario("star_compute_12")
    (spec,) = sc.constellation.shells
    generated = shell_tles(spec.shell, sc.episode.epoch)
    shipped = load_tles(REPO / "configs" / "tle" / "star_compute_12.tle")
    assert [(t.name, t.line1, t.line2) for t in generated] == [
        (t.name, t.line1, t.line2) for t in shipped
    ]


def test_star_compute_2800_shells_are_the_benchmark_full_scale_shells():
    from agents.cli import benchmark as bench

    sc = load_scenario("star_compute_2800")
    assert [s.shell for s in sc.constellation.shells] == bench.full_scale_shells()
    per_class = {}
    for s in sc.constellation.shells:
        per_class[s.sat_class] = per_class.get(s.sat_class, 0) + s.shell.size
    assert per_class == {"inference": 2400, "training": 400}


def _mean_service_s(sc: Scenario, model_name: str, class_name: str) -> float:
    tok = sc.workload.tokens
    mean_in = tok.input_median * math.exp(tok.input_sigma**2 / 2)
    mean_out = tok.output_median * math.exp(tok.output_sigma**2 / 2)
    model = sc.models[sc.model_index(model_name)]
    scale = sc.classes[sc.class_index(class_name)].throughput_scale
    return mean_in / (model.prefill_tokens_per_s * scale) + mean_out / (
        model.decode_tokens_per_s * scale
    )


@pytest.mark.parametrize(
    ("name", "model", "sat_class", "low", "high"),
    [
        ("star_compute_12", "llm-8b", "inference", 0.2, 0.6),
        ("walker_100", "llm-8b", "inference", 0.2, 0.6),
        ("star_compute_2800", "llm-8b", "inference", 0.2, 0.6),
        ("star_compute_2800", "finetune", "training", 0.2, 0.6),
    ],
)
def test_presets_load_compute_to_their_documented_utilisation(name, model, sat_class, low, high):
    sc = load_scenario(name)
    share = dict(sc.workload.models)[model] / sum(dict(sc.workload.models).values())
    servers = sum(
        s.shell.size * sc.classes[sc.class_index(s.sat_class)].servers
        for s in sc.constellation.shells
        if s.sat_class == sat_class
    )
    rate = sc.workload.arrivals.rate_per_s * sc.workload.load * share
    utilisation = rate * _mean_service_s(sc, model, sat_class) / servers
    assert low <= utilisation <= high


def test_toy_jobs_have_fixed_tokens_and_an_eleven_second_service():
    sc = load_scenario("toy")
    assert sc.workload.tokens.input_sigma == sc.workload.tokens.output_sigma == 0
    assert _mean_service_s(sc, "toy-llm", "inference") == pytest.approx(11.0)
    assert sc.workload.origins == ("RSGS Kashi",)


# --- overrides -----------------------------------------------------------------------------


def test_dotted_override_and_top_level_shortcut_set_the_same_field():
    full = load_scenario("toy", {"workload.load": 2.0})
    short = load_scenario("toy", {"load": 2.0})
    assert full.workload.load == short.workload.load == 2.0
    assert full == short
    assert load_scenario("toy").workload.load == 1.0


def test_a_mapping_override_naming_a_file_is_not_changed_for_the_caller():
    tle = str(Path(__file__).resolve().parents[2] / "configs" / "tle" / "star_compute_12.tle")
    overrides = {"constellation": {"tle_file": tle, "tle_class": "inference"}}
    sc = load_scenario("toy", overrides)
    assert sc.constellation.tle_file == Path(tle)
    assert overrides == {"constellation": {"tle_file": tle, "tle_class": "inference"}}
    assert isinstance(overrides["constellation"]["tle_file"], str)  # still JSON-ready


def test_overrides_reach_list_entries_named_entries_and_missing_sections(tmp_path):
    sc = load_scenario(
        "toy",
        {
            "constellation.shells[0].planes": 3,
            "classes.inference.servers": 4,
            "candidates": 5,
            "episode.duration_s": 600,
        },
    )
    assert satellite_count(sc) == 6
    assert sc.classes[0].servers == 4
    assert (sc.dispatch.candidates, sc.episode.duration_s) == (5, 600.0)
    data = toy_dict()
    del data["dispatch"], data["reward"]
    path = write(tmp_path, data, "minimal.yaml")
    assert load_scenario(path, {"dispatch.defer_s": 5}).dispatch == DispatchSpec(defer_s=5.0)


def test_star_compute_12_switches_ground_network_by_override():
    sc = load_scenario("star_compute_12", {"networks": ["ksat"], "workload.origins": None})
    assert sc.ground.networks == ("ksat",)
    message = config_error("star_compute_12", {"networks": ["ksat"]})
    assert "workload.origins[0]" in message and "'RSGS Miyun'" in message


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("workload.lod", "'lod'"),
        ("lod", "'lod'"),
        ("classes.inference.gpus", "'gpus'"),
        ("constellation.shells[5].planes", "[5]"),
        ("episode.epoch.hour", "'hour'"),
        ("constellation.shells.planes", "'shells'"),
        ("workload..load", "workload..load"),
    ],
)
def test_override_path_outside_the_schema_is_an_error_naming_it(path, named):
    message = config_error("toy", {path: 1})
    assert message.startswith(f"toy.yaml: override {path!r}")
    assert named in message


_SECTIONS = [
    ("episode", EpisodeSpec),
    ("ground", GroundSpec),
    ("workload", WorkloadSpec),
    ("workload.arrivals", ArrivalSpec),
    ("workload.tokens", TokenSpec),
    ("dispatch", DispatchSpec),
    ("reward", RewardSpec),
]


@pytest.mark.parametrize(
    "path",
    # every configurable field (``compare=False`` ones, like ``GroundSpec.loaded``, hold what
    # the loader read, not configuration)
    [
        f"{prefix}.{f.name}"
        for prefix, cls in _SECTIONS
        for f in dataclasses.fields(cls)
        if f.compare
    ]
    + ["classes.inference.power", "models.toy-llm.memory_gb", "constellation.tle_class"],
)
def test_every_schema_field_can_be_set_by_override(path):
    """Setting a field to a wrong type fails validation of that field, never the path."""
    with pytest.raises(ConfigError) as info:
        load_scenario("toy", {path: {"not": "valid"}})
    assert "override" not in str(info.value)
    assert path.rsplit(".", 1)[0] in str(info.value)


# --- files ---------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path):
    shutil.copy(REPO / "configs" / "tle" / "star_compute_12.tle", tmp_path / "sats.tle")
    (tmp_path / "stations").mkdir()
    (tmp_path / "stations" / "mine.yaml").write_text(
        "network: mine\nstations: [{name: Home, lat_deg: 30.0, lon_deg: 104.0, alt_m: 500}]\n"
    )
    data = toy_dict()
    data["constellation"] = {"tle_file": "sats.tle", "tle_class": "inference"}
    data["ground"] = {"station_files": ["china.yaml", "stations/mine.yaml"], "networks": ["mine"]}
    data["workload"]["origins"] = ["Home"]
    sc = load_scenario(write(tmp_path, data, "local.yaml"))
    assert sc.constellation.tle_file == tmp_path / "sats.tle"
    assert sc.ground.station_files == (
        REPO / "configs" / "ground_stations" / "china.yaml",
        tmp_path / "stations" / "mine.yaml",
    )
    assert satellite_count(sc) == 12


def test_unquoted_yaml_timestamps_and_dates_are_utc_epochs(tmp_path):
    text = TOY.read_text(encoding="utf-8")
    assert '"2025-06-01T00:00:00Z"' in text
    for epoch in ("2025-06-01T00:00:00Z", "2025-06-01 00:00:00", "2025-06-01"):
        path = tmp_path / "dated.yaml"
        path.write_text(text.replace('"2025-06-01T00:00:00Z"', epoch), encoding="utf-8")
        sc = load_scenario(path)
        assert sc.episode.epoch == datetime(2025, 6, 1, tzinfo=timezone.utc)
        assert sc.episode.epoch.tzinfo is not None


# --- invalid scenarios ---------------------------------------------------------------------


def _set(path: str, value: object) -> Callable[[dict], None]:
    """A mutation setting a dotted path (``a.b[0].c``) of the toy dict."""

    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            name, _, index = part.partition("[")
            node = node[name] if not index else node[name][int(index[:-1])]
        node[last] = value

    return mutate


def _delete(section: str, key: str) -> Callable[[dict], None]:
    return lambda data: data[section].pop(key)


def _second_shell(data: dict) -> None:
    shell = dict(data["constellation"]["shells"][0], planes=0, first_catnr=98001)
    data["constellation"]["shells"].append(shell)


def _overlapping_shell(data: dict) -> None:
    data["constellation"]["shells"].append(dict(data["constellation"]["shells"][0]))


def _unused_network_origin(data: dict) -> None:
    data["ground"]["station_files"] = ["china.yaml", "ksat.yaml"]
    data["workload"]["origins"] = ["KSAT Svalbard"]


INVALID = {
    "unknown top-level key": (_set("colour", "blue"), ["colour", "unknown key"]),
    "unknown nested key": (_set("workload.arrivals.rate", 0.1), ["workload.arrivals.rate"]),
    "unknown shell key": (_set("constellation.shells[0].planez", 1), ["shells[0].planez"]),
    "missing epoch": (_delete("episode", "epoch"), ["episode.epoch", "required"]),
    "bad epoch": (_set("episode.epoch", "yesterday"), ["episode.epoch", "'yesterday'"]),
    "negative rate": (_set("workload.arrivals.rate_per_s", -1), ["arrivals.rate_per_s", "-1"]),
    "zero servers": (_set("classes.inference.servers", 0), ["inference.servers", "got 0"]),
    "float servers": (_set("classes.inference.servers", 1.5), ["inference.servers", "1.5"]),
    "zero buffer": (_set("classes.inference.buffer_jobs", 0), ["inference.buffer_jobs", "0"]),
    "bool as number": (_set("models.toy-llm.memory_gb", True), ["toy-llm.memory_gb", "True"]),
    "string as number": (_set("episode.duration_s", "3600"), ["episode.duration_s", "'3600'"]),
    "contact step 500": (_set("episode.contact_step_s", 500), ["contact_step_s", "500"]),
    "infinite drain": (_set("episode.drain_s", float("inf")), ["episode.drain_s", "inf"]),
    "unknown shell class": (_set("constellation.shells[0].class", "gpu"), ["[0].class", "'gpu'"]),
    "shell field by index": (_second_shell, ["constellation.shells[1].planes", "got 0"]),
    "shell inclination": (
        _set("constellation.shells[0].inclination_deg", "polar"),
        ["constellation.shells[0].inclination_deg", "'polar'"],
    ),
    "overlapping catalogue": (_overlapping_shell, ["shells[1].first_catnr", "99001"]),
    "unknown model in class": (
        _set("classes.inference.models", ["llm-70b"]),
        ["classes.inference.models[0]", "'llm-70b'"],
    ),
    "model too large": (
        _set("models.toy-llm.memory_gb", 40),
        ["classes.inference.memory_gb", "toy-llm", "32"],
    ),
    "unknown workload model": (_set("workload.models", {"gpt": 1}), ["workload.models.gpt"]),
    "negative model share": (_set("workload.models", {"toy-llm": -1}), ["toy-llm", "-1"]),
    "unknown network": (_set("ground.networks", ["nasa"]), ["ground.networks[0]", "'nasa'"]),
    "unused uplink network": (
        _set("ground.uplink_networks", ["ksat"]),
        ["ground.uplink_networks[0]", "'ksat'"],
    ),
    "unknown origin": (_set("workload.origins", ["Atlantis"]), ["origins[0]", "'Atlantis'"]),
    "origin outside used networks": (
        _unused_network_origin,
        ["workload.origins[0]", "'KSAT Svalbard'"],
    ),
    "origin weights count": (_set("workload.origin_weights", [1, 2]), ["origin_weights", "2.0"]),
    "trace without file": (
        _set("workload.arrivals.process", "trace"),
        ["workload.arrivals.trace_file", "None"],
    ),
    "token trace without file": (_set("workload.tokens.source", "trace"), ["tokens.trace_file"]),
    "unknown process": (_set("workload.arrivals.process", "bursty"), ["process", "'bursty'"]),
    "unknown token source": (_set("workload.tokens.source", "normal"), ["source", "'normal'"]),
    "unknown rate model": (_set("ground.rate_model", "free"), ["ground.rate_model", "'free'"]),
    "unknown power": (_set("classes.inference.power", "solar"), ["inference.power", "'solar'"]),
    "amplitude 1.5": (_set("workload.arrivals.amplitude", 1.5), ["arrivals.amplitude", "1.5"]),
    "peak hour 24": (_set("workload.arrivals.peak_hour", 24), ["peak_hour", "24"]),
    "mask 90": (_set("ground.min_elevation_deg", 90), ["ground.min_elevation_deg", "90"]),
    "zero deadline": (_set("workload.deadline_s", 0), ["workload.deadline_s", "got 0"]),
    "zero load": (_set("workload.load", 0), ["workload.load", "got 0"]),
    "zero bytes per token": (_set("workload.bytes_per_token", 0), ["bytes_per_token", "0"]),
    "zero time scale": (_set("workload.arrivals.time_scale", 0), ["time_scale", "0"]),
    "zero candidates": (_set("dispatch.candidates", 0), ["dispatch.candidates", "got 0"]),
    "zero defer": (_set("dispatch.defer_s", 0), ["dispatch.defer_s", "got 0"]),
    "defer not bool": (_set("dispatch.allow_defer", "yes"), ["allow_defer", "'yes'"]),
    "negative drop penalty": (_set("reward.drop_penalty_s", -1), ["drop_penalty_s", "-1"]),
    "removed reward scale": (_set("reward.scale", 1), ["reward.scale", "removed", "reward="]),
    "zero satellites": (_set("constellation", {"shells": []}), ["constellation", "no satellites"]),
    "missing station file": (
        _set("ground.station_files", ["atlantis.yaml"]),
        ["ground.station_files[0]", "'atlantis.yaml'"],
    ),
    "missing tle file": (_set("constellation.tle_file", "gone.tle"), ["tle_file", "'gone.tle'"]),
    "station files not a list": (
        _set("ground.station_files", "china.yaml"),
        ["ground.station_files", "'china.yaml'"],
    ),
    "classes not a mapping": (_set("classes", ["inference"]), ["classes", "['inference']"]),
    "missing workload": (lambda d: d.pop("workload"), ["workload", "required"]),
    "empty name": (_set("name", ""), ["name", "''"]),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_invalid_scenario_is_one_line_naming_file_field_and_value(tmp_path, case):
    mutate, expected = INVALID[case]
    data = toy_dict()
    mutate(data)
    message = config_error(write(tmp_path, data))
    assert message.startswith("bad.yaml: ")
    for text in expected:
        assert text in message


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nepisode:\n  epoch: [unclosed\nworkload: {}\n")
    message = config_error(path)
    assert message.startswith("broken.yaml: line 4")
    assert "malformed YAML" in message


def test_python_yaml_tags_are_refused_by_safe_load(tmp_path):
    path = tmp_path / "tagged.yaml"
    path.write_text("name: !!python/object/apply:os.getcwd []\n")
    assert "tagged.yaml: line 1" in config_error(path)


def test_top_level_list_is_an_error(tmp_path):
    message = config_error(write(tmp_path, [1, 2], "list.yaml"))
    assert message.startswith("list.yaml: top level: must be a mapping")
    assert "[1, 2]" in message


def test_unknown_preset_lists_the_known_ones():
    message = config_error("toyy")
    assert "'toyy'" in message
    assert all(name in message for name in list_presets())


def test_missing_scenario_file_names_the_path(tmp_path):
    assert str(tmp_path / "nowhere.yaml") in config_error(tmp_path / "nowhere.yaml")


def test_trace_start_defaults_to_first_and_rejects_other_words_naming_the_field():
    assert load_scenario("toy").workload.arrivals.trace_start == "first"
    with pytest.raises(ConfigError, match=r"workload\.arrivals\.trace_start: must be one of first"):
        load_scenario("toy", {"workload.arrivals.trace_start": "middle"})


def test_the_removed_reward_scale_override_points_to_the_reward_argument():
    with pytest.raises(ConfigError, match=r"reward\.scale.*removed.*reward="):
        load_scenario("toy", {"reward.scale": 2.777777777777778e-04})
