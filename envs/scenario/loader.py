"""Load ``configs/scenarios/*.yaml`` into a validated :class:`~envs.scenario.schema.Scenario`.

The entry point of the scenario package: :func:`load_scenario` finds the scenario (a preset
name, a YAML path, or ``generated:SEED[@SPACE]``, sampled by ``envs.scenario.sampling``),
reads it once and hands the mapping to ``envs.scenario.build.build_scenario``, which checks
it. The layers, bottom up: ``checks`` (value checkers), ``fault_specs`` and ``schema``
(records), ``fields`` (the section tables), ``faults`` and ``budget``, ``build``, ``space``
and ``sampling``, then this module; none imports one above it.

Every problem is one :class:`~envs.errors.ConfigError` line naming the file, the dotted field
path (with list indices) and the offending value, e.g.
``star_compute_12.yaml: workload.arrivals.rate_per_s: must be > 0, got -1``.

Presets are the shipped ``configs/scenarios`` folder, found by ``envs.resources.configs_dir``
(``<repo>/configs`` in a checkout or an editable install, ``envs/configs`` in an installed
wheel).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envs.errors import ConfigError
from envs.scenario.build import PRESET_DIR, SHORTCUTS, STATION_DIR, build_scenario
from envs.scenario.checks import fail, is_file_path
from envs.scenario.sampling import (
    GENERATED_PREFIX,
    load_space,
    sample_scenario_dict,
    space_path,
    split_generated,
)
from envs.scenario.schema import Scenario
from envs.yamlio import read_yaml

__all__ = [
    "GENERATED_PREFIX",
    "PRESET_DIR",
    "SHORTCUTS",
    "STATION_DIR",
    "build_scenario",
    "list_presets",
    "load_scenario",
]


def list_presets() -> list[str]:
    """Names of the preset scenarios in :data:`PRESET_DIR`, sorted.

    >>> list_presets()
    ['star_compute_12', 'star_compute_2800', 'toy', 'walker_100']
    """
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _source(name_or_path: Any) -> Path:
    if not isinstance(name_or_path, (str, os.PathLike)):
        fail("scenario", "must be a preset name or a YAML path", name_or_path)
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and not is_file_path(text):
        path = PRESET_DIR / f"{text}.yaml"
        if not path.is_file():
            fail("scenario", f"unknown preset (known: {', '.join(list_presets())})", text)
        return path
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"{path}: scenario file not found")
    return path.resolve()


def load_scenario(
    name_or_path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Load, override and validate a scenario.

    Relative paths in the file (``constellation.tle_file``, ``ground.station_files``,
    ``workload.arrivals.trace_file``, ``workload.tokens.trace_file``, also when set by an
    override) are resolved against the scenario file's folder; a bare station file name
    (``china.yaml``) is looked up in :data:`STATION_DIR` first. Every file must exist.

    Args:
        name_or_path: A preset name (see :func:`list_presets`), a path to a YAML file, or
            ``generated:SEED`` / ``generated:SEED@SPACE``: the scenario
            ``envs.scenario.sampling.sample_scenario`` draws from seed ``SEED`` (an integer
            >= 0) out of the default space file or ``SPACE`` (a path, or a name in
            ``configs/distributions``); overrides then apply on top of the sampled values.
        overrides: Dotted paths into the YAML mapping and their new values, applied before
            validation, e.g. ``{"workload.load": 2.0, "constellation.shells[0].planes": 2}``.
            A path must exist in the schema (names containing dots cannot be addressed:
            override the enclosing mapping instead). The keys of :data:`SHORTCUTS` (``load``,
            ``candidates``, ``duration_s``, ``deadline_s``, ``networks``) stand for their
            full paths.

    Returns:
        The validated scenario; ``source`` is the file it came from (the space file for a
        generated scenario).

    Raises:
        ConfigError: One line naming the file, the field path and the bad value.

    Example:
        >>> sc = load_scenario("toy", {"load": 2.0})
        >>> sc.name, sc.workload.load, sum(s.shell.size for s in sc.constellation.shells)
        ('toy', 2.0, 2)
        >>> load_scenario("toy", {"workload.arrivals.rate_per_s": -1})
        Traceback (most recent call last):
        ...
        envs.errors.ConfigError: toy.yaml: workload.arrivals.rate_per_s: must be > 0, got -1
    """
    if isinstance(name_or_path, str) and name_or_path.startswith(GENERATED_PREFIX):
        return _generated(name_or_path, overrides)
    path = _source(name_or_path)
    data = read_yaml(path, path.name)
    return build_scenario(data, overrides, base_dir=path.parent, source=path, label=path.name)


def _generated(text: str, overrides: Mapping[str, Any] | None) -> Scenario:
    """``generated:SEED`` or ``generated:SEED@SPACE``: a sampled scenario, then overrides."""
    parts = split_generated(text)
    if parts is None:
        fail(
            "scenario",
            "expected generated:SEED or generated:SEED@SPACE with SEED an integer >= 0",
            text,
        )
    seed, space_name = parts
    space = load_space(space_path(space_name))
    data = sample_scenario_dict(seed, space)
    label = f"{GENERATED_PREFIX}{seed}"
    return build_scenario(
        data, overrides, base_dir=space.source.parent, source=space.source, label=label
    )
