"""Random scenarios from a seed: the training distribution behind ``generated:SEED``.

:func:`sample_scenario_dict` draws a plain mapping of scenario YAML keys from a space file
(``envs.scenario.space``; default ``configs/distributions/default.yaml``) using
``np.random.default_rng(seed)`` alone; :func:`sample_scenario` passes it through the scenario
loader's validation (``envs.scenario.build.build_scenario``), so a sampled scenario is
always one a user could have written. It is named ``generated:SEED``;
``load_scenario("generated:SEED")`` (and so the env, ``gym.make`` and ``scripts/evaluate.py
--scenario``) returns it, with overrides applied on top.

Derived values: the arrival rate at load 1 is ``utilisation × satellites × servers / mean
service time`` (so ``load`` means the same compute utilisation in every scenario), the
arrival window is ``jobs_at_load_1 / rate`` capped at ``episode.max_duration_s``, and trace
replay runs at ``time_scale = rate / the trace's own rate``.

>>> sc = sample_scenario(17)
>>> sc.name, sc == sample_scenario(17)
('generated:17', True)
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from envs.scenario.build import build_scenario
from envs.scenario.checks import fail
from envs.scenario.schema import Scenario
from envs.scenario.space import (
    DEFAULT_SPACE,
    DISTRIBUTIONS,
    FIELDS,
    SPACE_DIR,
    Dist,
    ScenarioSpace,
    load_space,
    plain,
    space_path,
)

__all__ = [
    "DEFAULT_SPACE",
    "DISTRIBUTIONS",
    "GENERATED_PREFIX",
    "SPACE_DIR",
    "Dist",
    "ScenarioSpace",
    "load_space",
    "sample_scenario",
    "sample_scenario_dict",
    "space_path",
    "split_generated",
]

#: Scenario names ``generated:SEED[@SPACE]`` are sampled (``envs.scenario.loader``).
GENERATED_PREFIX = "generated:"
_GENERATED = re.compile(rf"{GENERATED_PREFIX}(\d+)(?:@(.+))?")


def split_generated(text: str) -> tuple[int, str | None] | None:
    """``(SEED, SPACE or None)`` of ``generated:SEED[@SPACE]``; ``None`` if ``text`` is not one.

    >>> split_generated("generated:17@dense"), split_generated("generated:3")
    ((17, 'dense'), (3, None))
    >>> split_generated("generated:x") is None
    True
    """
    match = _GENERATED.fullmatch(text)
    return None if match is None else (int(match.group(1)), match.group(2))


_MAX_TRIES = 1000  # redraws of a shell's planes x sats_per_plane to fit max_satellites
_FIRST_CATNR = 90001
_CLASS_KEYS = ("servers", "throughput_scale", "memory_gb", "model_swap_s", "buffer_jobs", "power")
_GROUND_KEYS = ("network_count", "min_elevation_deg", "uplink_rate_scale", "downlink_rate_scale")


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        fail("seed", "must be an integer >= 0", seed)
    return int(seed)


def _mean_tokens(median: float, sigma: float, max_tokens: int) -> float:
    """Mean of a lognormal token count (median × exp(σ²/2)), at most ``max_tokens``."""
    return min(median * math.exp(0.5 * sigma**2), float(max_tokens))


def _shells(space: ScenarioSpace, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The shells' YAML mappings; planes x sats_per_plane are redrawn to fit the budget."""

    def draw(field: str) -> Any:
        return space.params[f"constellation.{field}"].sample(rng)

    budget, n_shells = draw("max_satellites"), draw("shells")
    shells, catnr = [], _FIRST_CATNR
    for j in range(n_shells):
        kind, altitude = draw("kind"), draw("altitude_km")
        for _ in range(_MAX_TRIES):
            planes, per_plane = draw("planes"), draw("sats_per_plane")
            if planes * per_plane <= budget:
                break
        else:
            what = f"no planes x sats_per_plane of shell {j} fits in {budget} satellites left"
            fail("constellation.max_satellites", what, budget)
        shell = {
            "class": "inference",
            "altitude_km": altitude,
            "planes": planes,
            "sats_per_plane": per_plane,
            "name_prefix": f"G{j + 1}",
            "first_catnr": catnr,
        }
        if kind == "walker":  # Walker delta, any valid phasing F in [0, P)
            shell.update(
                inclination_deg=draw("inclination_deg"),
                phasing=int(rng.integers(0, planes)),
                raan_spread_deg=360.0,
            )
        else:
            shell.update(
                inclination_deg="sso",
                ltan_hours=draw("ltan_hours") % 24.0,
                raan_spread_deg=draw("sso_raan_spread_deg"),
            )
        shells.append(shell)
        budget -= planes * per_plane
        catnr += planes * per_plane
    return shells


def _mean_service_s(space: ScenarioSpace, w: dict[str, Any], throughput_scale: float) -> float:
    """Mean compute time of a job on one server: the model mix over the mean token counts."""
    if w["process"] == "trace":
        mean_in, mean_out = space.trace_tokens
    else:
        mean_in = _mean_tokens(w["input_median"], w["input_sigma"], w["max_tokens"])
        mean_out = _mean_tokens(w["output_median"], w["output_sigma"], w["max_tokens"])
    total = sum(w["models"].values())
    per_model = (
        share / total * (mean_in / space.models[m]["prefill_tokens_per_s"]
                         + mean_out / space.models[m]["decode_tokens_per_s"])
        for m, share in w["models"].items()
    )  # fmt: skip
    return sum(per_model) / throughput_scale


def sample_scenario_dict(seed: int, space: ScenarioSpace | None = None) -> dict[str, Any]:
    """Draw the scenario YAML mapping of ``seed``.

    The values are plain Python, as ``yaml.safe_load`` would give; file names are absolute.

    Every draw comes from ``np.random.default_rng(seed)``, in a fixed order, so the same
    seed and space give the same mapping. Writing it with ``yaml.safe_dump`` gives a
    scenario file :func:`~envs.scenario.load_scenario` accepts.

    Args:
        seed: An integer >= 0.
        space: The space (default: :data:`DEFAULT_SPACE`).

    Raises:
        ConfigError: A bad seed, or no shell fits ``constellation.max_satellites``.

    Example:
        >>> data = sample_scenario_dict(3)
        >>> arrivals = data["workload"].get("arrivals")
        >>> data["name"], arrivals["process"]
        ('generated:3', 'diurnal')
    """
    seed = _seed(seed)
    space = load_space(DEFAULT_SPACE) if space is None else space
    rng = np.random.default_rng(seed)

    def draw(field: str) -> Any:
        return space.params[field].sample(rng)

    shells = _shells(space, rng)
    n_sats = sum(s["planes"] * s["sats_per_plane"] for s in shells)
    cls = {k: draw(f"classes.{k}") for k in _CLASS_KEYS}
    ground = {k: draw(f"ground.{k}") for k in _GROUND_KEYS}

    # Networks and origins: subsets drawn without repeats, kept in file order.
    count = min(ground.pop("network_count"), len(space.networks))
    chosen = sorted(rng.choice(len(space.networks), size=count, replace=False).tolist())
    networks = [space.networks[i][0] for i in chosen]
    stations = [name for i in chosen for name in space.networks[i][1]]
    w = {k: draw(f"workload.{k}") for k in FIELDS["workload"]}
    count = min(w["origin_count"], len(stations))
    origins = [stations[i] for i in sorted(rng.choice(len(stations), size=count, replace=False))]
    weights = None
    if w["origin_weights"] == "random":
        weights = [float(x) for x in rng.uniform(0.1, 1.0, size=count)]

    # Rate: `utilisation` of the constellation's compute at load 1 (docs/training-distribution).
    service_s = _mean_service_s(space, w, cls["throughput_scale"])
    rate = w["utilisation"] * n_sats * cls["servers"] / service_s
    arrivals = {
        "process": w["process"],
        "rate_per_s": rate,
        "amplitude": w["amplitude"],
        "peak_hour": w["peak_hour"],
    }
    if w["process"] == "trace":
        arrivals.update(
            trace_file=str(space.trace_file),
            time_scale=rate / space.trace_rate_per_s,
            loop=True,
            trace_start=w["trace_start"],
        )
    episode = {k: draw(f"episode.{k}") for k in FIELDS["episode"]}
    duration = min(w["jobs_at_load_1"] / rate, episode.pop("max_duration_s"))
    desc = (
        f"Sampled from {space.source.name} with seed {seed}: {n_sats} satellites in "
        f"{len(shells)} shell(s), networks {'+'.join(networks)}, {len(origins)} origin(s), "
        f"{w['process']} arrivals at load {w['load']:.2f}."
    )
    return {
        "name": f"{GENERATED_PREFIX}{seed}",
        "description": desc,
        "episode": {"epoch": draw("epoch"), "duration_s": duration, **episode},
        "constellation": {"shells": shells},
        "classes": {"inference": {"models": list(space.models), **cls}},
        "models": plain(space.models),
        "ground": {
            "station_files": [str(p) for p in space.station_files],
            "networks": networks,
            "rate_model": "fixed",
            **ground,
        },
        "workload": {
            "arrivals": arrivals,
            "tokens": {
                "source": "lognormal",
                **{k: w[k] for k in FIELDS["workload"] if "_median" in k or "_sigma" in k},
                "max_tokens": w["max_tokens"],
            },
            "models": w["models"],
            "origins": origins,
            "origin_weights": weights,
            **{k: w[k] for k in ("bytes_per_token", "overhead_bytes", "deadline_s", "load")},
        },
        "dispatch": {k: draw(f"dispatch.{k}") for k in FIELDS["dispatch"]},
        "reward": {k: draw(f"reward.{k}") for k in FIELDS["reward"]},
    }


def sample_scenario(seed: int, space: ScenarioSpace | None = None) -> Scenario:
    """The scenario ``generated:SEED``: :func:`sample_scenario_dict` through the loader.

    Args:
        seed: An integer >= 0; the same seed (and space) gives an equal :class:`Scenario`.
        space: The space (default: :data:`DEFAULT_SPACE`).

    Returns:
        The validated scenario, named ``generated:SEED``; its ``source`` is the space file.

    Raises:
        ConfigError: One line naming the field and the value.

    Example:
        >>> sc = sample_scenario(5)
        >>> sc.name, 1 <= sum(s.shell.size for s in sc.constellation.shells) <= 600
        ('generated:5', True)
    """
    space = load_space(DEFAULT_SPACE) if space is None else space
    data = sample_scenario_dict(seed, space)
    return build_scenario(
        data, base_dir=space.source.parent, source=space.source, label=data["name"]
    )
