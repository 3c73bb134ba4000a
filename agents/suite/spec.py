"""The suite file: validated once into frozen :class:`Suite` / :class:`Cell` records.

>>> suite = load_suite(SUITE_DIR / "smoke.yaml")
>>> suite.name, [c.label for c in suite.cells], suite.seeds
('smoke', ['toy', 'star_compute_12'], Seeds(first=100, count=2))
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from agents.heuristics import HEURISTICS
from agents.specs import parse_agents
from envs.errors import ConfigError
from envs.scenario import list_presets
from envs.scenario.checks import is_file_path
from envs.scenario.sampling import GENERATED_PREFIX, split_generated
from envs.scenario.space import space_path
from envs.yamlio import read_yaml

__all__ = [
    "GENERATED_PREFIX",
    "HELD_OUT_SEED",
    "SHARED_DATA_VAR",
    "SUITE_DIR",
    "Cell",
    "Seeds",
    "Suite",
    "check_int",
    "default_agents",
    "is_candidate_heuristic",
    "load_suite",
    "shared_data_dir",
]

REPO = Path(__file__).resolve().parents[2]
#: Folder of the shipped suites.
SUITE_DIR = REPO / "configs" / "suites"
#: The one variable suite strings may use, and where it points when unset.
SHARED_DATA_VAR = "CONSTELLATION_DISPATCH_SHARED_DATA"
#: Generated-scenario seeds from here on are held out from training (evaluation only).
HELD_OUT_SEED = 900_000
_TOP = ("name", "description", "agents", "seeds", "cells")
_CELL = ("scenario", "loads", "overrides", "seeds", "label")
_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class Seeds:
    """Episode seeds ``first, first + 1, …, first + count - 1`` (paired across agents)."""

    first: int
    count: int


@dataclass(frozen=True, slots=True)
class Cell:
    """One scenario at some loads: ``scenario`` is a preset name, a YAML path or ``generated:N``.

    ``overrides`` are dotted scenario overrides (``load_scenario``), ``${...}`` expanded.
    """

    label: str
    scenario: str
    loads: tuple[float, ...]
    seeds: Seeds
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suite:
    """A validated suite file: default agents, default seeds and the cells."""

    name: str
    description: str
    agents: tuple[str, ...]
    seeds: Seeds
    cells: tuple[Cell, ...]
    source: Path


def shared_data_dir() -> Path:
    """``$CONSTELLATION_DISPATCH_SHARED_DATA``, else ``shared/data`` beside the repository."""
    value = os.environ.get(SHARED_DATA_VAR)
    return Path(value).expanduser() if value else REPO.parent / "shared" / "data"


def is_candidate_heuristic(label: str) -> bool:
    """True for a heuristic that may be a cell's best (not ``oracle``, a reference bound)."""
    cls = HEURISTICS.get(label)
    return cls is not None and not cls.reference_bound


def default_agents() -> tuple[str, ...]:
    """Every non-reference heuristic, in :data:`agents.heuristics.HEURISTICS` order."""
    return tuple(name for name in HEURISTICS if is_candidate_heuristic(name))


# --- the suite file ----------------------------------------------------------------------


def _fail(field: str, what: str, value: Any) -> NoReturn:
    raise ConfigError(f"{field}: {what}, got {value!r}")


def _expand(field: str, value: Any) -> Any:
    """``${CONSTELLATION_DISPATCH_SHARED_DATA}`` in every string of ``value`` (nested)."""
    if isinstance(value, str):

        def sub(m: re.Match) -> str:
            if m.group(1) != SHARED_DATA_VAR:
                _fail(field, f"unknown variable (only ${{{SHARED_DATA_VAR}}})", m.group(0))
            return str(shared_data_dir())

        return _VAR.sub(sub, value)
    if isinstance(value, Mapping):
        return {k: _expand(f"{field}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(f"{field}[{i}]", v) for i, v in enumerate(value)]
    return value


def _mapping(field: str, raw: Any, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        _fail(field, "must be a mapping", raw)
    for key in raw:
        if key not in allowed:
            _fail(field, f"unknown key (allowed: {', '.join(allowed)})", key)
    return raw


def check_int(field: str, value: Any, low: int) -> int:
    """``value`` if an integer >= ``low``, else a one-line ``ConfigError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        _fail(field, f"must be an integer >= {low}", value)
    return value


def _seeds(field: str, raw: Any) -> Seeds:
    raw = _mapping(field, raw, ("first", "count"))
    for key in ("first", "count"):
        if key not in raw:
            _fail(field, f"missing key {key!r}", dict(raw))
    return Seeds(
        check_int(f"{field}.first", raw["first"], 0), check_int(f"{field}.count", raw["count"], 1)
    )


def _loads(field: str, raw: Any) -> tuple[float, ...]:
    if not isinstance(raw, list) or not raw:
        _fail(field, "must be a non-empty list of loads", raw)
    for i, x in enumerate(raw):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < math.inf:
            _fail(f"{field}[{i}]", "must be a positive finite number", x)
    if len(set(raw)) != len(raw):
        _fail(field, "loads must be distinct", raw)
    return tuple(float(x) for x in raw)


def _scenario(field: str, raw: Any, base: Path) -> str:
    """A preset name, ``generated:SEED`` (passed through) or a YAML path made absolute."""
    if not isinstance(raw, str) or not raw.strip():
        _fail(field, "must be a preset name, a YAML path or generated:SEED", raw)
    text = _expand(field, raw.strip())
    if text.startswith(GENERATED_PREFIX):
        return _generated(field, raw, text, base)
    if is_file_path(text):
        path = (base / Path(text).expanduser()).resolve()
        if not path.is_file() and SHARED_DATA_VAR not in raw:  # shared data: skipped if absent
            _fail(field, f"unknown scenario: file not found (looked for {path})", raw)
        return str(path)
    if text not in list_presets():
        known = ", ".join(list_presets())
        _fail(field, f"unknown scenario (presets: {known}; or a YAML path, or generated:SEED)", raw)
    return text


def _generated(field: str, raw: Any, text: str, base: Path) -> str:
    """``generated:SEED`` as is; ``generated:SEED@SPACE`` with its space file checked.

    A bare SPACE name is a file of ``configs/distributions``; any other SPACE is a path,
    relative to the suite file's folder, made absolute.
    """
    parts = split_generated(text)
    if parts is None:
        _fail(field, "generated scenarios are generated:SEED[@SPACE] with an integer SEED >= 0",
              raw)  # fmt: skip
    seed, space = parts
    if space is None:
        return text
    bare = not is_file_path(space)
    path = space_path(space) if bare else (base / Path(space).expanduser()).resolve()
    if not path.is_file():
        _fail(field, f"unknown space file: not found (looked for {path})", raw)
    return f"{GENERATED_PREFIX}{seed}@{space if bare else path}"


def _default_label(scenario: str) -> str:
    return Path(scenario).stem if re.search(r"[/\\]", scenario) else scenario


def _cell(field: str, raw: Any, base: Path, seeds: Seeds) -> Cell:
    raw = _mapping(field, raw, _CELL)
    for key in ("scenario", "loads"):
        if key not in raw:
            _fail(field, f"missing key {key!r}", dict(raw))
    scenario = _scenario(f"{field}.scenario", raw["scenario"], base)
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, Mapping) or not all(isinstance(k, str) for k in overrides):
        _fail(f"{field}.overrides", "must be a mapping of dotted path to value", overrides)
    for key in ("load", "workload.load"):
        if key in overrides:
            _fail(f"{field}.overrides", "the load is set by 'loads', not an override", key)
    label = raw.get("label", _default_label(scenario))
    if not isinstance(label, str) or not label.strip():
        _fail(f"{field}.label", "must be a non-empty string", label)
    return Cell(
        label.strip(),
        scenario,
        _loads(f"{field}.loads", raw["loads"]),
        _seeds(f"{field}.seeds", raw["seeds"]) if "seeds" in raw else seeds,
        _expand(f"{field}.overrides", dict(overrides)),
    )


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read and validate a suite file; every problem is one line naming the field and value.

    Args:
        path: The suite YAML; relative scenario paths are read from its folder.

    Returns:
        The suite, with ``${CONSTELLATION_DISPATCH_SHARED_DATA}`` expanded and scenario paths
        made absolute. Scenarios are loaded (and missing data files found) when it runs.

    Raises:
        ConfigError: ``FILE: FIELD: what is wrong, got VALUE`` (unknown keys, bad loads or
            seeds, no cells, unknown scenarios or agents, repeated labels).

    >>> load_suite(SUITE_DIR / "benchmark.yaml").cells[0].loads
    (0.5, 1.0, 2.0)
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise ConfigError(f"{source}: suite file not found")
    data = read_yaml(source, source.name)
    try:
        data = _mapping("top level", data, _TOP)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            _fail("name", "must be a non-empty string", name)
        description = data.get("description", "")
        if not isinstance(description, str):
            _fail("description", "must be a string", description)
        agents = data.get("agents", list(default_agents()))
        if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
            _fail("agents", "must be a list of agent names", agents)
        try:
            labels = tuple(s.label for s in parse_agents(agents))
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("agent:", "agents:", 1)) from None
        if not any(is_candidate_heuristic(a) for a in labels):
            known = ", ".join(default_agents())
            _fail("agents", f"must include a heuristic to compare with (one of {known})", agents)
        if "seeds" not in data:
            _fail("top level", "missing key 'seeds'", sorted(data))
        seeds = _seeds("seeds", data["seeds"])
        cells_raw = data.get("cells")
        if not isinstance(cells_raw, list) or not cells_raw:
            _fail("cells", "must be a non-empty list of cells", cells_raw)
        base = source.resolve().parent
        cells = tuple(_cell(f"cells[{i}]", c, base, seeds) for i, c in enumerate(cells_raw))
        seen: dict[str, int] = {}
        for i, cell in enumerate(cells):
            if cell.label in seen:
                _fail(f"cells[{i}].label", f"already used by cells[{seen[cell.label]}]", cell.label)
            seen[cell.label] = i
    except ConfigError as exc:
        raise ConfigError(f"{source.name}: {exc}") from None
    return Suite(name.strip(), description.strip(), labels, seeds, cells, source.resolve())
