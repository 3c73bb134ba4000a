"""Space files: the distributions random scenarios are drawn from, as validated data.

A *space file* (``configs/distributions/default.yaml``) says, for every knob of a scenario,
either a constant or a distribution written as data::

    altitude_km: {dist: uniform, low: 400, high: 1200}
    planes: {dist: int_uniform, low: 1, high: 30}
    throughput_scale: {dist: log_uniform, low: 0.5, high: 4}
    process: {dist: choice, values: [poisson, diurnal, trace], weights: [2, 1, 1]}

:func:`load_space` validates it once with the scenario loader's checkers (unknown keys,
unknown distributions, ``low > high``, bounds or choices outside a field's range: one
:class:`~envs.errors.ConfigError` line naming the file, the field path and the value) and
returns a frozen :class:`ScenarioSpace`; ``envs.scenario.sampling`` draws from it.

>>> load_space(DEFAULT_SPACE).params["workload.load"]
Dist(kind='uniform', low=0.25, high=3.0, values=(), weights=None, integer=False)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from envs.errors import ConfigError
from envs.ground import load_networks
from envs.scenario.build import PRESET_DIR, STATION_DIR
from envs.scenario.checks import (
    COUNT,
    NONNEG,
    POS,
    Conv,
    check_keys,
    choice,
    epoch,
    fail,
    is_file_path,
    list_of,
    mapping,
    named,
    number,
    resolve_file,
    section,
    weights,
)
from envs.scenario.fields import (
    ARRIVAL_FIELDS,
    CLASS_FIELDS,
    DISPATCH_FIELDS,
    EPISODE_FIELDS,
    GROUND_FIELDS,
    MODEL_FIELDS,
    REWARD_FIELDS,
    TOKEN_FIELDS,
    WORKLOAD_FIELDS,
)
from envs.traces import load_trace
from envs.yamlio import read_yaml

__all__ = [
    "DEFAULT_SPACE",
    "DISTRIBUTIONS",
    "FIELDS",
    "SPACE_DIR",
    "Dist",
    "ScenarioSpace",
    "load_space",
    "space_path",
]

#: Folder of the shipped space files; a bare name in ``generated:SEED@NAME`` is looked up here.
SPACE_DIR = PRESET_DIR.parent / "distributions"
#: The space ``generated:SEED`` samples from.
DEFAULT_SPACE = SPACE_DIR / "default.yaml"
#: Distribution kinds a space file may use.
DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")


def _shares(field: str, value: Any) -> dict[str, float]:
    shares = {n: NONNEG(f"{field}.{n}", w) for n, w in named(field, value)}
    if sum(shares.values()) <= 0:
        fail(field, "shares must have a positive sum", value)
    return shares


def _in(low: float, high: float, *, high_open: bool = False) -> Conv:
    right = ")" if high_open else "]"
    return number(
        f"in [{low:g}, {high:g}{right}",
        lambda x: low <= x < high if high_open else low <= x <= high,
    )


_A, _T, _W = ARRIVAL_FIELDS, TOKEN_FIELDS, WORKLOAD_FIELDS
_TABLES: dict[str, dict[str, tuple[Conv, bool]]] = {
    "": {"epoch": (epoch, False)},
    "episode": {
        "max_duration_s": (POS, False),
        "drain_s": (NONNEG, False),
        "contact_step_s": (EPISODE_FIELDS["contact_step_s"], False),
    },
    "constellation": {
        "max_satellites": (COUNT, True),
        "shells": (COUNT, True),
        "kind": (choice("walker", "sso"), False),
        "altitude_km": (_in(150, 5000), False),
        "planes": (COUNT, True),
        "sats_per_plane": (COUNT, True),
        "inclination_deg": (_in(0, 180), False),
        "ltan_hours": (_in(0, 24), False),
        "sso_raan_spread_deg": (number("in (0, 360]", lambda x: 0 < x <= 360), False),
    },
    "classes": {
        **{
            k: (CLASS_FIELDS[k], k in ("servers", "buffer_jobs"))
            for k in ("servers", "throughput_scale", "memory_gb", "model_swap_s", "buffer_jobs")
        },
        "power": (choice("always", "sunlit_only"), False),
    },
    "ground": {
        "network_count": (COUNT, True),
        **{
            k: (GROUND_FIELDS[k], False)
            for k in ("min_elevation_deg", "uplink_rate_scale", "downlink_rate_scale")
        },
    },
    "workload": {
        "load": (POS, False),
        "utilisation": (POS, False),
        "jobs_at_load_1": (POS, False),
        **{k: (_A[k], False) for k in ("process", "amplitude", "peak_hour", "trace_start")},
        **{
            k: (_T[k], k == "max_tokens")
            for k in ("input_median", "input_sigma", "output_median", "output_sigma", "max_tokens")
        },
        "models": (_shares, False),
        "origin_count": (COUNT, True),
        "origin_weights": (choice("equal", "random"), False),
        **{k: (_W[k], False) for k in ("bytes_per_token", "overhead_bytes", "deadline_s")},
    },
    "dispatch": {k: (c, k == "candidates") for k, c in DISPATCH_FIELDS.items()},
    "reward": {k: (c, False) for k, c in REWARD_FIELDS.items()},
}
#: Section → key → (checker of one value, integer field), read-only; the checkers are the
#: loader's, so a space accepts exactly the values a scenario file may hold.
FIELDS: Mapping[str, Mapping[str, tuple[Conv, bool]]] = MappingProxyType(
    {section: MappingProxyType(table) for section, table in _TABLES.items()}
)
# Keys that are constants, never distributions: read by load_space itself.
_FIXED = {"": ("models",), "ground": ("station_files",), "workload": ("trace_file",)}


@dataclass(frozen=True, slots=True)
class Dist:
    """One field of a space: a constant or a distribution, already validated.

    Attributes:
        kind: ``constant`` or one of :data:`DISTRIBUTIONS`.
        low: Lower bound (``uniform``, ``log_uniform``, ``int_uniform``).
        high: Upper bound (excluded for ``uniform`` and ``log_uniform``, included for
            ``int_uniform``).
        values: The constant (one value) or the ``choice`` values.
        weights: ``choice`` probabilities (normalised), ``None`` for equal.
        integer: Round ``uniform`` and ``log_uniform`` draws to the nearest integer.
    """

    kind: str
    low: float = 0.0
    high: float = 0.0
    values: tuple[Any, ...] = ()
    weights: tuple[float, ...] | None = None
    integer: bool = False

    def sample(self, rng: np.random.Generator) -> Any:
        """One draw (a constant draws nothing from ``rng``).

        >>> Dist("int_uniform", 1, 3).sample(np.random.default_rng(0)) in (1, 2, 3)
        True
        """
        if self.kind == "constant":
            return plain(self.values[0])
        if self.kind == "choice":
            return plain(self.values[int(rng.choice(len(self.values), p=self.weights))])
        if self.kind == "int_uniform":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.kind == "log_uniform":
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            x = float(rng.uniform(self.low, self.high))
        x = min(max(x, self.low), self.high)  # exp/log rounding never leaves [low, high]
        return round(x) if self.integer else x

    @property
    def lowest(self) -> float:
        """Smallest value the field can take (numeric fields)."""
        return min(self.values) if self.kind in ("constant", "choice") else self.low

    @property
    def highest(self) -> float:
        """Largest value the field can take (numeric fields)."""
        return max(self.values) if self.kind in ("constant", "choice") else self.high


@dataclass(frozen=True, slots=True)
class ScenarioSpace:
    """A validated space file: what :func:`sample_scenario` draws from.

    Attributes:
        params: Dotted field (``constellation.planes``) → its :class:`Dist`.
        models: Model name → its fields (scenario YAML syntax, constant).
        station_files: Station files (absolute paths).
        networks: ``(network, station names)`` in file order.
        trace_file: Trace for ``process: trace`` (absolute), or ``None``.
        trace_tokens: Mean (input, output) tokens of the trace rows (clipped to >= 1).
        trace_rate_per_s: The trace's own request rate, (rows - 1) / span.
        source: The space file.
    """

    params: Mapping[str, Dist]
    models: Mapping[str, Mapping[str, float]]
    station_files: tuple[Path, ...]
    networks: tuple[tuple[str, tuple[str, ...]], ...]
    trace_file: Path | None
    trace_tokens: tuple[float, float]
    trace_rate_per_s: float
    source: Path


def plain(value: Any) -> Any:
    """A fresh copy of a YAML value (choices may be lists or mappings).

    >>> plain({"a": (1, 2)})
    {'a': [1, 2]}
    """
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _dist(field: str, raw: Any, conv: Conv, integer: bool) -> Dist:
    """Parse and check one field: a constant, or ``{dist: ..., ...}``."""
    if not (isinstance(raw, Mapping) and "dist" in raw):
        return Dist("constant", values=(conv(field, raw),), integer=integer)
    kind = raw["dist"]
    if kind not in DISTRIBUTIONS:
        fail(
            f"{field}.dist", f"unknown distribution (known: {', '.join(DISTRIBUTIONS)})", kind
        )
    if kind == "choice":
        check_keys(field, raw, ("dist", "values", "weights"))
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            fail(f"{field}.values", "must be a non-empty list", values)
        checked = tuple(conv(f"{field}.values[{i}]", v) for i, v in enumerate(values))
        shares = weights(f"{field}.weights", raw.get("weights"))
        if shares is not None and len(shares) != len(values):
            what = f"must have one weight per value ({len(values)})"
            fail(f"{field}.weights", what, list(shares))
        p = None if shares is None else tuple(w / sum(shares) for w in shares)
        return Dist("choice", values=checked, weights=p, integer=integer)
    check_keys(field, raw, ("dist", "low", "high"))
    bounds = []
    for key in ("low", "high"):
        if key not in raw:
            raise ConfigError(f"{field}.{key}: required key missing")
        number("a number", lambda x: True, integer=kind == "int_uniform")(
            f"{field}.{key}", raw[key]
        )
        bounds.append(conv(f"{field}.{key}", raw[key]))
    low, high = bounds
    if low > high:
        fail(field, "low must be <= high", {"low": low, "high": high})
    if kind == "log_uniform" and low <= 0:
        fail(f"{field}.low", "must be > 0 for log_uniform", low)
    return Dist(kind, float(low), float(high), integer=integer)


def space_path(name: str | os.PathLike[str] | None) -> Path:
    """The space file ``generated:SEED@NAME`` names.

    ``None`` → :data:`DEFAULT_SPACE`, a bare name (no folder, no ``.yaml``) →
    ``SPACE_DIR/NAME.yaml``, otherwise the path itself.

    >>> space_path(None).name, space_path("default") == DEFAULT_SPACE
    ('default.yaml', True)
    """
    if name is None:
        return DEFAULT_SPACE
    text = os.fspath(name)
    if isinstance(name, str) and not is_file_path(text):
        return SPACE_DIR / f"{text}.yaml"
    return Path(text).expanduser()


def load_space(path: str | os.PathLike[str]) -> ScenarioSpace:
    """Read and validate a space file (see the module docstring and ``default.yaml``).

    Args:
        path: The YAML file.

    Returns:
        The validated space.

    Raises:
        ConfigError: One line ``"{file}: {field}: {problem}, got {value}"``.

    Example:
        >>> space = load_space(DEFAULT_SPACE)
        >>> space.params["constellation.planes"]
        Dist(kind='int_uniform', low=1.0, high=30.0, values=(), weights=None, integer=True)
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: space file not found")
    path = path.resolve()
    raw = _read_space(path, ())
    try:
        return _space(raw, path)
    except ConfigError as exc:
        raise ConfigError(f"{path.name}: {exc}") from None


#: The top-level key of a space file that builds on another one.
EXTENDS = "extends"


def _read_space(path: Path, chain: tuple[Path, ...]) -> Any:
    """The raw mapping of a space file, with the file it ``extends`` merged under it.

    ``extends: NAME`` names the base: a name without folder or suffix (``default``) is a
    shipped file of ``configs/distributions``, anything else (``base.yaml``,
    ``../spaces/base.yaml``, an absolute path) a path relative to this file's folder.
    The file's keys are merged over the base's, section by section (:func:`_merge`); bases
    may extend others, and a loop is an error. Relative file paths in every file are
    resolved against that file's own folder before the merge (:func:`_anchor`).
    """
    raw = read_yaml(path, path.name)
    if not isinstance(raw, Mapping):
        return raw
    raw = _anchor(raw, path.parent)
    if EXTENDS not in raw:
        return raw
    name = raw[EXTENDS]
    where = f"{path.name}: {EXTENDS}"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: must be the name or path of a space file, got {name!r}")
    shipped = not is_file_path(name)
    base = space_path(name) if shipped else path.parent / Path(name).expanduser()
    if not base.is_file():
        raise ConfigError(f"{where}: space file not found: {base}, got {name!r}")
    base = base.resolve()
    if base == path or base in chain:
        loop = " -> ".join(p.name for p in (*chain, path, base))
        raise ConfigError(f"{where}: space files extend each other in a loop ({loop})")
    merged = _merge(_read_space(base, (*chain, path)), raw)
    merged.pop(EXTENDS, None)
    return merged


def _merge(base: Any, over: Any) -> Any:
    """``over`` merged into ``base``: mappings key by key, anything else replaced.

    A distribution (a mapping with ``dist``) is one value and replaces what the base has, so
    ``{dist: uniform, ...}`` over ``{dist: choice, values: [...]}`` keeps no ``values``.
    """
    if not isinstance(base, Mapping) or not isinstance(over, Mapping) or "dist" in over:
        return over
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(base[key], value) if key in base else value
    return out


def _anchor(raw: Mapping, folder: Path) -> dict:
    """``raw`` with its relative file paths made absolute against ``folder`` where they exist.

    The station files (a bare name is a shipped network first) and the trace file; a path
    that does not exist is left as written, for the validation to name.
    """
    out = dict(raw)

    def fix(value: Any, bare_first: bool) -> Any:
        if not isinstance(value, str) or not value.strip() or Path(value).is_absolute():
            return value
        if bare_first and Path(value).name == value and (STATION_DIR / value).is_file():
            return value
        here = folder / Path(value).expanduser()
        return str(here.resolve()) if here.is_file() else value

    ground, workload = out.get("ground"), out.get("workload")
    if isinstance(ground, Mapping) and isinstance(ground.get("station_files"), list):
        files = [fix(v, True) for v in ground["station_files"]]
        out["ground"] = {**ground, "station_files": files}
    if isinstance(workload, Mapping) and "trace_file" in workload:
        out["workload"] = {**workload, "trace_file": fix(workload["trace_file"], False)}
    return out


def _space(raw: Any, path: Path) -> ScenarioSpace:
    sections = [s for s in FIELDS if s]
    top = mapping("top level", raw)
    check_keys("", top, ["epoch", "models", *sections])
    params: dict[str, Dist] = {}
    fixed: dict[str, Any] = {}
    for part, table in FIELDS.items():
        node = top if not part else mapping(part, top.get(part))
        allowed = (*table, *_FIXED.get(part, ()))
        if part:
            check_keys(part, node, allowed)
        for key in allowed:
            field = f"{part}.{key}" if part else key
            if key not in node:
                raise ConfigError(f"{field}: required key missing")
            if key in table:
                params[field] = _dist(field, node[key], *table[key])
            elif key not in table:
                fixed[field] = node[key]
    models = {
        name: section(f"models.{name}", m, MODEL_FIELDS, tuple(MODEL_FIELDS))
        for name, m in named("models", fixed["models"])
    }
    for i, shares in enumerate(params["workload.models"].values):
        for name in shares:
            if name not in models:
                what = f"unknown model (known: {', '.join(models)})"
                fail(f"workload.models.values[{i}].{name}", what, name)
    files = list_of(lambda f, v: resolve_file(f, v, path.parent, STATION_DIR))(
        "ground.station_files", fixed["ground.station_files"]
    )
    try:
        stations = load_networks(files)
    except ConfigError as exc:
        raise ConfigError(f"ground.station_files: {exc}") from None
    names = list(dict.fromkeys(s.network for s in stations))
    networks = tuple((n, tuple(s.name for s in stations if s.network == n)) for n in names)
    trace_file, tokens, rate = None, (0.0, 0.0), 0.0
    if fixed["workload.trace_file"] is not None:
        trace_file = resolve_file("workload.trace_file", fixed["workload.trace_file"], path.parent)
        trace = load_trace(trace_file)
        if trace.size < 2 or trace.span_s <= 0:
            fail("workload.trace_file", "needs >= 2 rows and a positive span", trace.size)
        tokens = (
            float(np.maximum(trace.context_tokens, 1).mean()),
            float(np.maximum(trace.generated_tokens, 1).mean()),
        )
        rate = (trace.size - 1) / trace.span_s
    elif "trace" in params["workload.process"].values:
        fail("workload.trace_file", "required when process can be trace", None)
    c = {k.split(".")[1]: d for k, d in params.items() if k.startswith("constellation.")}
    need = c["shells"].highest * c["planes"].lowest * c["sats_per_plane"].lowest
    if c["max_satellites"].lowest < need:
        what = f"must be >= shells x planes x sats_per_plane at their smallest ({need:g})"
        fail("constellation.max_satellites", what, c["max_satellites"].lowest)
    return ScenarioSpace(
        params=MappingProxyType(params),
        models=MappingProxyType(models),
        station_files=tuple(files),
        networks=networks,
        trace_file=trace_file,
        trace_tokens=tokens,
        trace_rate_per_s=rate,
        source=path,
    )
