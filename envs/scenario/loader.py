"""Load ``configs/scenarios/*.yaml`` into a validated :class:`~envs.scenario.schema.Scenario`.

This is the one place where scenario YAML is read and checked. The YAML mirrors the schema's
dataclasses (keys are field names), with these conveniences: ``classes`` and ``models`` are
mappings name → fields; ``workload.models`` maps model name → share of jobs; a shell's
satellite class is its ``class`` key and ``inclination_deg: sso`` means sun-synchronous.

Every problem is one :class:`~envs.errors.ConfigError` line naming the file, the dotted field
path (with list indices) and the offending value, e.g.
``star_compute_12.yaml: workload.arrivals.rate_per_s: must be > 0, got -1``.

Presets are the shipped ``configs/scenarios`` folder, found by ``envs.resources.configs_dir``
(``<repo>/configs`` in a checkout or an editable install, ``envs/configs`` in an installed
wheel).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from numbers import Integral, Real
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from envs.errors import ConfigError
from envs.ground import load_networks
from envs.orbits.elements import load_elements
from envs.orbits.shells import Shell
from envs.orbits.tle import check_epoch_age
from envs.resources import configs_dir
from envs.scenario.budget import check_budget
from envs.scenario.faults import FAULTS_TREE, parse_faults
from envs.scenario.schema import (
    ArrivalSpec,
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
    TokenSpec,
    WorkloadSpec,
)
from envs.timeutil import check_sgp4_range, parse_utc
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

#: Folder of the preset scenarios (the shipped ``configs/scenarios``, see ``envs.resources``).
PRESET_DIR = configs_dir() / "scenarios"
#: Folder searched first for a bare station file name in ``ground.station_files``.
STATION_DIR = PRESET_DIR.parent / "ground_stations"
#: Scenario names ``generated:SEED[@SPACE]`` are sampled (``envs.scenario.sampling``).
GENERATED_PREFIX = "generated:"
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

Conv = Callable[[str, Any], Any]  # (dotted field path, raw YAML value) -> checked value
_SHOW = 60
_FLOAT_TEXT = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
_FILES = ("constellation.tle_file", "workload.arrivals.trace_file", "workload.tokens.trace_file")


def _show(value: object) -> str:
    """``repr`` of a bad value, shortened so that messages stay on one line."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def _fail(field: str, what: str, value: object, hint: str = "") -> NoReturn:
    raise ConfigError(f"{field}: {what}, got {_show(value)}{hint}")


# --- value checkers: (field, raw value) -> checked value -----------------------------------


def _is(what: str, ok: Callable[[Any], bool], *, null: bool = False) -> Conv:
    """Accept values for which ``ok`` holds (and ``None`` if ``null``)."""

    def conv(field: str, value: Any) -> Any:
        if not (value is None and null) and not ok(value):
            _fail(field, what + (" or null" if null else ""), value)
        return value

    return conv


def _num(
    rule: str, ok: Callable[[float], bool], *, integer: bool = False, null: bool = False
) -> Conv:
    """A finite number (an int if ``integer``; never a bool or a string) for which ``ok`` holds."""
    kind = "an integer" if integer else "a number"

    def conv(field: str, value: Any) -> float | int | None:
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, Integral if integer else Real):
            hint = ""
            if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
                hint = " (quoted numbers are text; YAML 1.1 reads 1e8 as text: write 1.0e+8)"
            _fail(field, f"must be {kind}" + (" or null" if null else ""), value, hint)
        if not math.isfinite(value):
            _fail(field, "must be a finite number", value)
        if not ok(value):
            _fail(field, f"must be {rule}", value)
        return int(value) if integer else float(value)

    return conv


def _choice(*options: str) -> Conv:
    return _is(
        f"must be one of {', '.join(options)}", lambda v: isinstance(v, str) and v in options
    )


def _list(item: Conv, *, null: bool = False) -> Conv:
    """A non-empty list whose entries pass ``item``; returned as a tuple."""

    def conv(field: str, value: Any) -> tuple | None:
        if value is None and null:
            return None
        if not isinstance(value, list) or not value:
            _fail(field, "must be a non-empty list" + (" or null" if null else ""), value)
        return tuple(item(f"{field}[{i}]", v) for i, v in enumerate(value))

    return conv


def _epoch(field: str, value: Any) -> datetime:
    """An ISO 8601 UTC time within the years SGP4 serves (``check_sgp4_range``)."""
    return check_sgp4_range(_utc(field, value), field=field)


def _utc(field: str, value: Any) -> datetime:
    if isinstance(value, datetime):  # YAML reads unquoted ISO times itself; naive means UTC
        tz = value.tzinfo
        try:
            return (
                value.replace(tzinfo=timezone.utc) if tz is None else value.astimezone(timezone.utc)
            )
        except OverflowError:
            _fail(field, "is outside the years 1-9999 in UTC", value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        _fail(field, "must be an ISO 8601 UTC time like 2025-06-01T00:00:00Z", value)
    return parse_utc(value, field)


def _weights(field: str, value: Any) -> tuple[float, ...] | None:
    weights = _list(_NONNEG, null=True)(field, value)
    if weights is not None and sum(weights) <= 0:
        _fail(field, "must have a positive sum", value)
    return weights


def _resolve(field: str, value: Any, base: Path, search: Path | None = None) -> Path:
    """An existing file: absolute, or relative to ``base`` (bare names: ``search`` first)."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        _fail(field, "must be a file path", value)
    raw = Path(value).expanduser()
    tries = [raw] if raw.is_absolute() else [base / raw]
    if search is not None and not raw.is_absolute() and len(raw.parts) == 1:
        tries.insert(0, search / raw)
    for path in tries:
        if path.is_file():
            return path.resolve()
    _fail(field, f"file not found (looked for {', '.join(map(str, tries))})", value)


_POS = _num("> 0", lambda x: x > 0)
_NONNEG = _num(">= 0", lambda x: x >= 0)
_COUNT = _num(">= 1", lambda x: x >= 1, integer=True)
_BOOL = _is("must be true or false", lambda v: isinstance(v, bool))
_TEXT = _is("must be a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
_FILE = _is("must be a file path", lambda v: isinstance(v, Path), null=True)  # resolved before
_NAMES = _list(_TEXT, null=True)

# --- sections: key -> checker (the keys are the schema's field names) ----------------------

_EPISODE = {
    "epoch": _epoch,
    "duration_s": _POS,
    "drain_s": _NONNEG,
    "contact_step_s": _num("in (0, 300]", lambda x: 0 < x <= 300),
    "max_decisions": _num(">= 1", lambda x: x >= 1, integer=True, null=True),
}
_SHELL_KEYS = (*(f.name for f in dataclasses.fields(Shell)), "class")
_CLASS = {
    "models": _list(_TEXT),
    "servers": _COUNT,
    "throughput_scale": _POS,
    "memory_gb": _POS,
    "model_swap_s": _NONNEG,
    "buffer_jobs": _COUNT,
    "power": _choice("always", "sunlit_only", "battery"),
    "battery_wh": _NONNEG,
    "compute_w": _POS,
}
_MODEL = {"prefill_tokens_per_s": _POS, "decode_tokens_per_s": _POS, "memory_gb": _POS}
_GROUND = {
    "station_files": _list(_FILE),
    "networks": _NAMES,
    "uplink_networks": _NAMES,
    "downlink_networks": _NAMES,
    "min_elevation_deg": _num("in [0, 90)", lambda x: 0 <= x < 90, null=True),
    "backhaul_delay_s": _num(">= 0", lambda x: x >= 0, null=True),
    "rate_model": _choice("fixed", "range"),
    "reference_range_km": _POS,
    "uplink_rate_scale": _POS,
    "downlink_rate_scale": _POS,
}
_ARRIVALS = {
    "process": _choice("poisson", "diurnal", "trace"),
    "rate_per_s": _POS,
    "amplitude": _num("in [0, 1]", lambda x: 0 <= x <= 1),
    "peak_hour": _num("in [0, 24)", lambda x: 0 <= x < 24),
    "trace_file": _FILE,
    "time_scale": _POS,
    "loop": _BOOL,
    "trace_start": _choice("first", "random"),
}
_TOKENS = {
    "source": _choice("lognormal", "trace"),
    "input_median": _POS,
    "input_sigma": _NONNEG,
    "output_median": _POS,
    "output_sigma": _NONNEG,
    "max_tokens": _COUNT,
    "trace_file": _FILE,
}
_WORKLOAD = {
    "arrivals": lambda f, v: ArrivalSpec(**_section(f, v, _ARRIVALS)),
    "tokens": lambda f, v: TokenSpec(**_section(f, v, _TOKENS)),
    "models": lambda f, v: tuple((n, _NONNEG(f"{f}.{n}", w)) for n, w in _named(f, v)),
    "origins": _NAMES,
    "origin_weights": _weights,
    "bytes_per_token": _POS,
    "overhead_bytes": _NONNEG,
    "deadline_s": _num("> 0", lambda x: x > 0, null=True),
    "load": _POS,
    "onboard_fraction": _num("in [0, 1]", lambda x: 0 <= x <= 1),
}
_DISPATCH = {"candidates": _COUNT, "allow_defer": _BOOL, "defer_s": _POS}
_REWARD = {"drop_penalty_s": _NONNEG}
# Keys that once existed: a one-line pointer to what replaced them.
_REMOVED = {
    "reward.scale": "removed: rewards are in hours by default; choose the unit with the "
    "env's reward= argument (envs.reward, e.g. reward='time_in_system_s' for seconds)",
}
_ISL = {"enabled": _BOOL, "in_plane": _BOOL, "cross_plane": _BOOL, "rate_bps": _POS,
        "latency_s": _NONNEG, "max_hops": _COUNT}  # fmt: skip
_REQUIRED = ("name", "episode", "constellation", "classes", "models", "ground", "workload")
# What overrides may address: dict = mapping ("*": any name), [x] = list of x, else a leaf.
_TREE: dict[str, Any] = {
    **dict.fromkeys(("name", "description")),
    "episode": _EPISODE,
    "constellation": {"tle_file": 0, "tle_class": 0, "shells": [dict.fromkeys(_SHELL_KEYS)]},
    "classes": {"*": _CLASS},
    "models": {"*": _MODEL},
    "ground": _GROUND,
    "workload": {**_WORKLOAD, "arrivals": _ARRIVALS, "tokens": _TOKENS, "models": {"*": 0}},
    "dispatch": _DISPATCH,
    "reward": _REWARD,
    "faults": FAULTS_TREE,
    "isl": _ISL,
}


def _mapping(field: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        _fail(field, "must be a mapping", value)
    return value


def _check_keys(field: str, raw: Mapping, allowed: Any) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{field}.{key}" if field else str(key)
            if where in _REMOVED:
                raise ConfigError(f"{where}: {_REMOVED[where]}")
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def _section(field: str, raw: Any, table: Mapping[str, Conv], required: tuple = ()) -> dict:
    """Check a mapping against ``table`` and return the checked values of the keys present."""
    _check_keys(field, _mapping(field, raw), table)
    for key in required:
        if key not in raw:
            raise ConfigError(f"{field}.{key}: required key missing")
    return {key: table[key](f"{field}.{key}", value) for key, value in raw.items()}


def _named(field: str, raw: Any) -> list[tuple[str, Any]]:
    """Entries of a non-empty mapping name → value, in file order."""
    if not isinstance(raw, Mapping) or not raw:
        _fail(field, "must be a non-empty mapping keyed by name", raw)
    for name in raw:
        _TEXT(f"{field} name", name)
    return list(raw.items())


# --- overrides and file paths (on the raw YAML mapping) ------------------------------------


def _apply_override(data: dict, dotted: Any, value: Any) -> None:
    """Set ``dotted`` (``a.b[2].c``) in ``data``, creating missing mappings on the way."""
    where = f"override {dotted!r}"
    if not isinstance(dotted, str) or not re.fullmatch(r"[^.\[\]]+(\[\d+\]|\.[^.\[\]]+)*", dotted):
        raise ConfigError(f"{where}: malformed path (expected e.g. workload.load or a[0].b)")
    parts = [int(p[1:-1]) if p[0] == "[" else p for p in re.findall(r"\[\d+\]|[^.\[\]]+", dotted)]
    tree: Any = _TREE
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
                if dotted_so_far in _REMOVED:
                    raise ConfigError(f"{where}: {_REMOVED[dotted_so_far]}")
                known = ", ".join(k for k in tree if k != "*")
                raise ConfigError(f"{where}: unknown key {part!r} (allowed: {known})")
            tree = tree.get(part, tree.get("*"))
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: cannot set {part!r} inside {_show(node)}")
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
            node[key] = _resolve(dotted, node[key], base)
    ground = data.get("ground")
    if isinstance(ground, dict) and isinstance(ground.get("station_files"), list):
        ground["station_files"] = [
            _resolve(f"ground.station_files[{i}]", name, base, STATION_DIR)
            for i, name in enumerate(ground["station_files"])
        ]


# --- the scenario --------------------------------------------------------------------------


def _shells(field: str, raw: Any) -> tuple[ShellSpec, ...]:
    if not isinstance(raw, list):
        _fail(field, "must be a list of shell mappings", raw)
    specs = []
    for i, entry in enumerate(raw):
        where = f"{field}[{i}]"
        kwargs = dict(_mapping(where, entry))
        _check_keys(where, kwargs, _SHELL_KEYS)
        for key in ("altitude_km", "planes", "sats_per_plane"):
            if key not in kwargs:
                raise ConfigError(f"{where}.{key}: required key missing")
        sat_class = _TEXT(f"{where}.class", kwargs.pop("class", "inference"))
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
    table = {"tle_file": _FILE, "tle_class": _TEXT, "shells": _shells}
    spec = ConstellationSpec(**_section("constellation", raw, table))
    catnrs: list[int] = []
    if spec.tle_file is not None:
        try:
            tles = load_elements(spec.tle_file)
        except ConfigError as exc:
            raise ConfigError(f"constellation.tle_file: {exc}") from None
        catnrs = sorted({t.catnr for t in tles})
        check_epoch_age(tles, epoch, f"{label}: constellation.tle_file: {spec.tle_file.name}")
    if not catnrs and not spec.shells:
        _fail("constellation", "no satellites: give a non-empty tle_file and/or shells", raw)
    seen = [(c, c + 1, "tle_file") for c in catnrs]
    for j, s in enumerate(spec.shells):
        lo, hi = s.shell.first_catnr, s.shell.first_catnr + s.shell.size
        for a, b, what in seen:
            if max(a, lo) < min(b, hi):
                what = f"catalogue numbers {lo}-{hi - 1} overlap {what} ({a}-{b - 1})"
                _fail(f"constellation.shells[{j}].first_catnr", what, lo)
        seen.append((lo, hi, f"shells[{j}]"))
    return spec


def _isl(raw: Any) -> IslSpec:
    """The ``isl`` section (absent or null: links off); enabled links need a link kind."""
    spec = IslSpec(**_section("isl", raw if raw is not None else {}, _ISL))
    if spec.enabled and not (spec.in_plane or spec.cross_plane):
        _fail("isl.enabled", "needs isl.in_plane or isl.cross_plane (both are false)", True)
    return spec


def _cross_check(sc: Scenario) -> None:
    """References between sections: classes, models, networks, origin stations, traces."""
    models = {m.name: m for m in sc.models}
    classes = {c.name: c for c in sc.classes}
    known_models = f"unknown model (known: {', '.join(models)})"
    c = sc.constellation
    used = [(f"constellation.shells[{i}].class", s.sat_class) for i, s in enumerate(c.shells)]
    used += [("constellation.tle_class", c.tle_class)] if c.tle_file is not None else []
    for field, name in used:
        if name not in classes:
            _fail(field, f"unknown class (known: {', '.join(classes)})", name)
    for cls in sc.classes:
        for i, name in enumerate(cls.models):
            if name not in models:
                _fail(f"classes.{cls.name}.models[{i}]", known_models, name)
        if all(models[m].memory_gb > cls.memory_gb for m in cls.models):
            m = min((models[m] for m in cls.models), key=lambda m: m.memory_gb)
            what = f"no model of class {cls.name!r} fits ({m.name!r} needs {m.memory_gb:g} GB)"
            _fail(f"classes.{cls.name}.memory_gb", what, cls.memory_gb)
    flying = [classes[name] for _, name in used]
    for name, _ in sc.workload.models:
        field = f"workload.models.{name}"
        if name not in models:
            _fail(field, known_models, name)
        if not any(name in k.models and models[name].memory_gb <= k.memory_gb for k in flying):
            _fail(field, "no satellite of the constellation serves this model", name)

    g = sc.ground
    try:
        stations = load_networks(g.station_files)
    except ConfigError as exc:
        raise ConfigError(f"ground.station_files: {exc}") from None
    loaded = list(dict.fromkeys(s.network for s in stations))
    used_nets = loaded if g.networks is None else list(g.networks)
    for key in ("networks", "uplink_networks", "downlink_networks"):
        allowed, where = (loaded, "station files") if key == "networks" else (used_nets, "use")
        for i, net in enumerate(getattr(g, key) or ()):
            if net not in allowed:
                what = f"unknown network (networks in {where}: {', '.join(allowed)})"
                _fail(f"ground.{key}[{i}]", what, net)
    up = [n for n in used_nets if g.uplink_networks is None or n in g.uplink_networks]
    uplink_names = [s.name for s in stations if s.network in up]
    w = sc.workload
    for i, name in enumerate(w.origins or ()):
        if name not in uplink_names:
            what = f"not a station of the uplink networks ({', '.join(up)})"
            _fail(f"workload.origins[{i}]", what, name)
    n_origins = len(w.origins) if w.origins is not None else len(uplink_names)
    if w.origin_weights is not None and len(w.origin_weights) != n_origins:
        what = f"must have one weight per origin ({n_origins})"
        _fail("workload.origin_weights", what, list(w.origin_weights))
    if w.arrivals.process == "trace" and w.arrivals.trace_file is None:
        _fail("workload.arrivals.trace_file", "required when process is trace", None)
    if w.tokens.source == "trace" and w.tokens.trace_file is None:
        _fail("workload.tokens.trace_file", "required when source is trace", None)


def _build(data: dict, base: Path, source: Path) -> Scenario:
    _check_keys("", data, _TREE)
    for key in _REQUIRED:
        if key not in data:
            raise ConfigError(f"{key}: required key missing")
    _resolve_files(data, base)
    name = _TEXT("name", data["name"])
    episode = EpisodeSpec(**_section("episode", data["episode"], _EPISODE, ("epoch",)))
    sc = Scenario(
        name=name,
        description=_is("must be a string", lambda v: isinstance(v, str))(
            "description", data.get("description", "")
        ),
        episode=episode,
        constellation=_constellation(data["constellation"], episode.epoch, source.name),
        classes=tuple(
            SatelliteClass(name, **_section(f"classes.{name}", raw, _CLASS, ("models",)))
            for name, raw in _named("classes", data["classes"])
        ),
        models=tuple(
            ModelSpec(name, **_section(f"models.{name}", raw, _MODEL, tuple(_MODEL)))
            for name, raw in _named("models", data["models"])
        ),
        ground=GroundSpec(**_section("ground", data["ground"], _GROUND, ("station_files",))),
        workload=WorkloadSpec(**_section("workload", data["workload"], _WORKLOAD)),
        dispatch=DispatchSpec(**_section("dispatch", data.get("dispatch") or {}, _DISPATCH)),
        reward=RewardSpec(**_section("reward", data.get("reward") or {}, _REWARD)),
        isl=_isl(data.get("isl")),
        source=source,
    )
    if sc.workload.models and sum(share for _, share in sc.workload.models) <= 0:
        _fail("workload.models", "shares must have a positive sum", dict(sc.workload.models))
    _cross_check(sc)
    sc = dataclasses.replace(sc, faults=parse_faults(data.get("faults"), sc))
    check_budget(sc)  # what the run would allocate (envs.limits)
    return sc


# --- public API ----------------------------------------------------------------------------


def list_presets() -> list[str]:
    """Names of the preset scenarios in :data:`PRESET_DIR`, sorted.

    >>> list_presets()
    ['star_compute_12', 'star_compute_2800', 'toy', 'walker_100']
    """
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _source(name_or_path: Any) -> Path:
    if not isinstance(name_or_path, (str, os.PathLike)):
        _fail("scenario", "must be a preset name or a YAML path", name_or_path)
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and not re.search(r"[/\\]|\.ya?ml$", text):
        path = PRESET_DIR / f"{text}.yaml"
        if not path.is_file():
            _fail("scenario", f"unknown preset (known: {', '.join(list_presets())})", text)
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


def build_scenario(
    data: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    base_dir: Path,
    source: Path | None,
    label: str,
) -> Scenario:
    """Validate a scenario given as the mapping its YAML file parses to (the loader's one path).

    :func:`load_scenario` reads a file and calls this; ``envs.scenario.sampling`` calls it
    with a sampled mapping, so a sampled scenario is one a user could have written.

    Args:
        data: The scenario mapping (not modified: overrides apply to a deep copy).
        overrides: Dotted paths and values, as for :func:`load_scenario`.
        base_dir: Folder that relative file names in ``data`` are resolved against.
        source: Recorded as the scenario's ``source``.
        label: Prefix of error messages (a file name, or ``generated:SEED``).

    Raises:
        ConfigError: ``"{label}: {field}: {problem}, got {value}"`` on one line.
    """
    try:
        if not isinstance(data, dict):
            _fail("top level", "must be a mapping of scenario sections", data)
        data = copy.deepcopy(data)
        if overrides is not None and not isinstance(overrides, Mapping):
            _fail("overrides", "must be a mapping of dotted path to value", overrides)
        for key, value in (overrides or {}).items():
            # a copy: file names in the value are resolved in place, the caller keeps its own
            _apply_override(data, SHORTCUTS.get(key, key), copy.deepcopy(value))
        return _build(data, base_dir, source if source is not None else base_dir / label)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None


def _generated(text: str, overrides: Mapping[str, Any] | None) -> Scenario:
    """``generated:SEED`` or ``generated:SEED@SPACE``: a sampled scenario, then overrides."""
    from envs.scenario.sampling import load_space, sample_scenario_dict, space_path

    match = re.fullmatch(rf"{GENERATED_PREFIX}(\d+)(?:@(.+))?", text)
    if match is None:
        _fail(
            "scenario",
            "expected generated:SEED or generated:SEED@SPACE with SEED an integer >= 0",
            text,
        )
    space = load_space(space_path(match.group(2)))
    data = sample_scenario_dict(int(match.group(1)), space)
    label = f"{GENERATED_PREFIX}{match.group(1)}"
    return build_scenario(
        data, overrides, base_dir=space.source.parent, source=space.source, label=label
    )
