"""Build a validated :class:`~envs.scenario.schema.Scenario` from its YAML mapping.

This is the one place where a scenario mapping is checked: :func:`build_scenario` applies
overrides, resolves file names, checks every section against the tables of
``envs.scenario.fields`` with the checkers of ``envs.scenario.checks``, cross-checks the
references between sections, parses the faults and checks the run's budget. The YAML mirrors
the schema's dataclasses (keys are field names), with these conveniences: ``classes`` and
``models`` are mappings name → fields; ``workload.models`` maps model name → share of jobs; a
shell's satellite class is its ``class`` key and ``inclination_deg: sso`` means
sun-synchronous.

The element-set, station and trace files are read here once and kept on the scenario
(``ConstellationSpec.loaded``, ``GroundSpec.loaded``, ``ArrivalSpec.loaded``,
``TokenSpec.loaded``), so the world built from it (``envs.sim.build_world``) and the
episodes drawn from it (``envs.jobs.generate_jobs``) do not read them again.

Every problem is one :class:`~envs.errors.ConfigError` line naming the source, the dotted
field path (with list indices) and the offending value, e.g.
``star_compute_12.yaml: workload.arrivals.rate_per_s: must be > 0, got -1``.
``envs.scenario.loader`` finds the files (presets, paths, ``generated:SEED``) and calls this.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from envs.errors import ConfigError, show_value
from envs.ground import load_networks
from envs.orbits.elements import load_elements
from envs.orbits.shells import Shell
from envs.orbits.tle import check_epoch_age
from envs.resources import configs_dir
from envs.scenario.budget import check_budget
from envs.scenario.checks import (
    FILE,
    REMOVED_KEYS,
    TEXT,
    check_keys,
    fail,
    mapping,
    named,
    resolve_file,
    satisfies,
    section,
)
from envs.scenario.faults import parse_faults
from envs.scenario.fields import (
    CLASS_FIELDS,
    DISPATCH_FIELDS,
    EPISODE_FIELDS,
    GROUND_FIELDS,
    ISL_FIELDS,
    KEY_TREE,
    MODEL_FIELDS,
    REQUIRED_SECTIONS,
    REWARD_FIELDS,
    SHELL_KEYS,
    WORKLOAD_FIELDS,
)
from envs.scenario.schema import (
    ConstellationSpec,
    DispatchSpec,
    EpisodeSpec,
    GroundSpec,
    IslSpec,
    ModelSpec,
    RewardSpec,
    SatelliteClass,
    Scenario,
    ShellSpec,
    WorkloadSpec,
)
from envs.traces import Trace, load_trace

__all__ = ["PRESET_DIR", "SHORTCUTS", "STATION_DIR", "build_scenario"]

#: Folder of the preset scenarios (the shipped ``configs/scenarios``, see ``envs.resources``).
PRESET_DIR = configs_dir() / "scenarios"
#: Folder searched first for a bare station file name in ``ground.station_files``.
STATION_DIR = PRESET_DIR.parent / "ground_stations"
#: Top-level override shortcuts and the dotted paths they stand for.
SHORTCUTS = MappingProxyType(
    {
        "load": "workload.load",
        "candidates": "dispatch.candidates",
        "duration_s": "episode.duration_s",
        "deadline_s": "workload.deadline_s",
        "networks": "ground.networks",
    }
)
_FILES = ("constellation.tle_file", "workload.arrivals.trace_file", "workload.tokens.trace_file")


# --- overrides and file paths (on the raw YAML mapping) ------------------------------------


def _apply_override(data: dict, dotted: Any, value: Any) -> None:
    """Set ``dotted`` (``a.b[2].c``) in ``data``, creating missing mappings on the way."""
    where = f"override {dotted!r}"
    if not isinstance(dotted, str) or not re.fullmatch(r"[^.\[\]]+(\[\d+\]|\.[^.\[\]]+)*", dotted):
        raise ConfigError(f"{where}: malformed path (expected e.g. workload.load or a[0].b)")
    parts = [int(p[1:-1]) if p[0] == "[" else p for p in re.findall(r"\[\d+\]|[^.\[\]]+", dotted)]
    tree: Any = KEY_TREE
    node: Any = data
    for i, part in enumerate(parts):
        if isinstance(part, int):
            if not isinstance(tree, list):
                raise ConfigError(f"{where}: not a list, cannot index [{part}]")
            if not isinstance(node, list) or part >= len(node):
                raise ConfigError(f"{where}: the scenario has no entry [{part}]")
            tree = tree[0]
        else:
            if isinstance(tree, list):
                raise ConfigError(f"{where}: {parts[i - 1]!r} is a list: index it, as in a[0].b")
            if not isinstance(tree, dict):
                raise ConfigError(f"{where}: {parts[i - 1]!r} is a value, it has no key {part!r}")
            if part not in tree and "*" not in tree:
                dotted_so_far = ".".join(str(p) for p in parts[: i + 1])
                if dotted_so_far in REMOVED_KEYS:
                    raise ConfigError(f"{where}: {REMOVED_KEYS[dotted_so_far]}")
                known = ", ".join(k for k in tree if k != "*")
                raise ConfigError(f"{where}: unknown key {part!r} (allowed: {known})")
            tree = tree.get(part, tree.get("*"))
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: cannot set {part!r} inside {show_value(node)}")
            if i < len(parts) - 1 and node.get(part) is None:
                node[part] = [] if isinstance(tree, list) else {}
        if i == len(parts) - 1:
            node[part] = value
        node = node[part]


def _resolve_files(data: dict, base: Path) -> None:
    """Replace file names in the raw mapping by existing absolute paths (or fail)."""
    for dotted in _FILES:
        *parents, key = dotted.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(key) is not None:
            node[key] = resolve_file(dotted, node[key], base)
    ground = data.get("ground")
    if isinstance(ground, dict) and isinstance(ground.get("station_files"), list):
        ground["station_files"] = [
            resolve_file(f"ground.station_files[{i}]", name, base, STATION_DIR)
            for i, name in enumerate(ground["station_files"])
        ]


# --- the scenario --------------------------------------------------------------------------


def _shells(field: str, raw: Any) -> tuple[ShellSpec, ...]:
    if not isinstance(raw, list):
        fail(field, "must be a list of shell mappings", raw)
    specs = []
    for i, entry in enumerate(raw):
        where = f"{field}[{i}]"
        kwargs = dict(mapping(where, entry))
        check_keys(where, kwargs, SHELL_KEYS)
        for key in ("altitude_km", "planes", "sats_per_plane"):
            if key not in kwargs:
                raise ConfigError(f"{where}.{key}: required key missing")
        sat_class = TEXT(f"{where}.class", kwargs.pop("class", "inference"))
        incl = kwargs.get("inclination_deg")
        if isinstance(incl, str) and incl.strip().lower() == "sso":
            kwargs["inclination_deg"] = None
        try:
            specs.append(ShellSpec(Shell(**kwargs), sat_class))
        except ConfigError as exc:  # "Shell.planes: ..." -> "constellation.shells[1].planes: ..."
            text = str(exc)
            where += f".{text[6:]}" if text.startswith("Shell.") else f": {text}"
            raise ConfigError(where) from None
    return tuple(specs)


def _constellation(raw: Any, epoch: datetime, label: str) -> ConstellationSpec:
    """The constellation: a TLE file and/or shells with disjoint catalogue numbers.

    TLEs far from the episode ``epoch`` are allowed but warned about (``TLEEpochWarning``
    naming ``label``, the file, the satellite and its age in days).
    """
    table = {"tle_file": FILE, "tle_class": TEXT, "shells": _shells}
    spec = ConstellationSpec(**section("constellation", raw, table))
    catnrs: list[int] = []
    if spec.tle_file is not None:
        try:
            tles = load_elements(spec.tle_file)
        except ConfigError as exc:
            raise ConfigError(f"constellation.tle_file: {exc}") from None
        catnrs = sorted({t.catnr for t in tles})
        check_epoch_age(tles, epoch, f"{label}: constellation.tle_file: {spec.tle_file.name}")
        spec = dataclasses.replace(spec, loaded=(spec.tle_file, tuple(tles)))
    if not catnrs and not spec.shells:
        fail("constellation", "no satellites: give a non-empty tle_file and/or shells", raw)
    seen = [(c, c + 1, "tle_file") for c in catnrs]
    for j, s in enumerate(spec.shells):
        lo, hi = s.shell.first_catnr, s.shell.first_catnr + s.shell.size
        for a, b, what in seen:
            if max(a, lo) < min(b, hi):
                what = f"catalogue numbers {lo}-{hi - 1} overlap {what} ({a}-{b - 1})"
                fail(f"constellation.shells[{j}].first_catnr", what, lo)
        seen.append((lo, hi, f"shells[{j}]"))
    return spec


def _isl(raw: Any) -> IslSpec:
    """The ``isl`` section (absent or null: links off); enabled links need a link kind."""
    spec = IslSpec(**section("isl", raw if raw is not None else {}, ISL_FIELDS))
    if spec.enabled and not (spec.in_plane or spec.cross_plane):
        fail("isl.enabled", "needs isl.in_plane or isl.cross_plane (both are false)", True)
    return spec


def _check_models(sc: Scenario) -> None:
    """References between sections: classes and models."""
    models = {m.name: m for m in sc.models}
    classes = {c.name: c for c in sc.classes}
    known_models = f"unknown model (known: {', '.join(models)})"
    c = sc.constellation
    used = [(f"constellation.shells[{i}].class", s.sat_class) for i, s in enumerate(c.shells)]
    used += [("constellation.tle_class", c.tle_class)] if c.tle_file is not None else []
    for field, name in used:
        if name not in classes:
            fail(field, f"unknown class (known: {', '.join(classes)})", name)
    for cls in sc.classes:
        for i, name in enumerate(cls.models):
            if name not in models:
                fail(f"classes.{cls.name}.models[{i}]", known_models, name)
        if all(models[m].memory_gb > cls.memory_gb for m in cls.models):
            m = min((models[m] for m in cls.models), key=lambda m: m.memory_gb)
            what = f"no model of class {cls.name!r} fits ({m.name!r} needs {m.memory_gb:g} GB)"
            fail(f"classes.{cls.name}.memory_gb", what, cls.memory_gb)
    flying = [classes[name] for _, name in used]
    for name, _ in sc.workload.models:
        field = f"workload.models.{name}"
        if name not in models:
            fail(field, known_models, name)
        if not any(name in k.models and models[name].memory_gb <= k.memory_gb for k in flying):
            fail(field, "no satellite of the constellation serves this model", name)


def _read_stations(g: GroundSpec) -> GroundSpec:
    """The ground spec with its station files read (once per scenario: ``GroundSpec.loaded``)."""
    try:
        stations = load_networks(g.station_files)
    except ConfigError as exc:
        raise ConfigError(f"ground.station_files: {exc}") from None
    return dataclasses.replace(g, loaded=(g.station_files, tuple(stations)))


def _check_ground(sc: Scenario) -> None:
    """References to the stations: networks, origin stations; and the trace files."""
    g = sc.ground
    stations = g.file_stations()
    loaded = list(dict.fromkeys(s.network for s in stations))
    used_nets = loaded if g.networks is None else list(g.networks)
    for key in ("networks", "uplink_networks", "downlink_networks"):
        allowed, where = (loaded, "station files") if key == "networks" else (used_nets, "use")
        for i, net in enumerate(getattr(g, key) or ()):
            if net not in allowed:
                what = f"unknown network (networks in {where}: {', '.join(allowed)})"
                fail(f"ground.{key}[{i}]", what, net)
    up = [n for n in used_nets if g.uplink_networks is None or n in g.uplink_networks]
    uplink_names = [s.name for s in stations if s.network in up]
    w = sc.workload
    for i, name in enumerate(w.origins or ()):
        if name not in uplink_names:
            what = f"not a station of the uplink networks ({', '.join(up)})"
            fail(f"workload.origins[{i}]", what, name)
    n_origins = len(w.origins) if w.origins is not None else len(uplink_names)
    if w.origin_weights is not None and len(w.origin_weights) != n_origins:
        what = f"must have one weight per origin ({n_origins})"
        fail("workload.origin_weights", what, list(w.origin_weights))
    if w.arrivals.process == "trace" and w.arrivals.trace_file is None:
        fail("workload.arrivals.trace_file", "required when process is trace", None)
    if w.tokens.source == "trace" and w.tokens.trace_file is None:
        fail("workload.tokens.trace_file", "required when source is trace", None)


def _read_traces(w: WorkloadSpec) -> WorkloadSpec:
    """The workload with the traces it replays read (once per scenario: ``*.loaded``)."""
    arrivals, tokens = w.arrivals, w.tokens
    if arrivals.process == "trace":
        trace = _trace("workload.arrivals.trace_file", arrivals.trace_file)
        arrivals = dataclasses.replace(arrivals, loaded=(arrivals.trace_file, trace))
    elif tokens.source == "trace":
        trace = _trace("workload.tokens.trace_file", tokens.trace_file)
        tokens = dataclasses.replace(tokens, loaded=(tokens.trace_file, trace))
    return dataclasses.replace(w, arrivals=arrivals, tokens=tokens)


def _trace(field: str, path: Path) -> Trace:
    try:
        return load_trace(path)
    except ConfigError as exc:
        raise ConfigError(f"{field}: {exc}") from None


def _build(data: dict, base: Path, source: Path) -> Scenario:
    """The scenario of a raw mapping (overrides applied): every section checked, in order."""
    check_keys("", data, KEY_TREE)
    for key in REQUIRED_SECTIONS:
        if key not in data:
            raise ConfigError(f"{key}: required key missing")
    _resolve_files(data, base)
    name = TEXT("name", data["name"])
    episode = EpisodeSpec(**section("episode", data["episode"], EPISODE_FIELDS, ("epoch",)))
    sc = Scenario(
        name=name,
        description=satisfies("must be a string", lambda v: isinstance(v, str))(
            "description", data.get("description", "")
        ),
        episode=episode,
        constellation=_constellation(data["constellation"], episode.epoch, source.name),
        classes=tuple(
            SatelliteClass(name, **section(f"classes.{name}", raw, CLASS_FIELDS, ("models",)))
            for name, raw in named("classes", data["classes"])
        ),
        models=tuple(
            ModelSpec(name, **section(f"models.{name}", raw, MODEL_FIELDS, tuple(MODEL_FIELDS)))
            for name, raw in named("models", data["models"])
        ),
        ground=GroundSpec(**section("ground", data["ground"], GROUND_FIELDS, ("station_files",))),
        workload=WorkloadSpec(**section("workload", data["workload"], WORKLOAD_FIELDS)),
        dispatch=DispatchSpec(**section("dispatch", data.get("dispatch") or {}, DISPATCH_FIELDS)),
        reward=RewardSpec(**section("reward", data.get("reward") or {}, REWARD_FIELDS)),
        isl=_isl(data.get("isl")),
        source=source,
    )
    if sc.workload.models and sum(share for _, share in sc.workload.models) <= 0:
        fail("workload.models", "shares must have a positive sum", dict(sc.workload.models))
    _check_models(sc)
    sc = dataclasses.replace(sc, ground=_read_stations(sc.ground))
    _check_ground(sc)
    sc = dataclasses.replace(sc, workload=_read_traces(sc.workload))
    sc = dataclasses.replace(sc, faults=parse_faults(data.get("faults"), sc))
    check_budget(sc)  # what the run would allocate (envs.limits)
    return sc


def build_scenario(
    data: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    base_dir: Path,
    source: Path | None,
    label: str,
) -> Scenario:
    """Validate a scenario given as the mapping its YAML file parses to (the loader's one path).

    ``envs.scenario.loader.load_scenario`` reads a file and calls this;
    ``envs.scenario.sampling`` calls it with a sampled mapping, so a sampled scenario is one a
    user could have written.

    Args:
        data: The scenario mapping (not modified: overrides apply to a deep copy).
        overrides: Dotted paths and values, as for ``envs.scenario.loader.load_scenario``.
        base_dir: Folder that relative file names in ``data`` are resolved against.
        source: Recorded as the scenario's ``source``.
        label: Prefix of error messages (a file name, or ``generated:SEED``).

    Raises:
        ConfigError: ``"{label}: {field}: {problem}, got {value}"`` on one line.
    """
    try:
        if not isinstance(data, dict):
            fail("top level", "must be a mapping of scenario sections", data)
        data = copy.deepcopy(data)
        if overrides is not None and not isinstance(overrides, Mapping):
            fail("overrides", "must be a mapping of dotted path to value", overrides)
        for key, value in (overrides or {}).items():
            # a copy: file names in the value are resolved in place, the caller keeps its own
            _apply_override(data, SHORTCUTS.get(key, key), copy.deepcopy(value))
        return _build(data, base_dir, source if source is not None else base_dir / label)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
