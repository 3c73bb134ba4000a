"""The scenario YAML reference, generated from the schema so that it cannot drift.

Every key the loader accepts (``envs.scenario.fields.KEY_TREE``) is listed with its type,
unit, default and meaning; the meaning is the ``Attributes:`` entry of the schema dataclass
the key fills, the unit comes from the key's suffix (``_s`` seconds, ``_deg`` degrees, ...).
``docs/scenarios.md`` is this module's output (``python -m envs.scenario.reference``);
``tests/test_docs.py`` checks that the committed page equals it, and
``tests/envs/test_reference.py`` that every key has a meaning.

>>> rows = reference_rows()
>>> next(r for r in rows if r.key == "workload.arrivals.rate_per_s").unit
'1/s'
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass

from envs.orbits.shells import Shell
from envs.scenario import fault_specs as faults
from envs.scenario import schema
from envs.scenario.fields import KEY_TREE, REQUIRED_SECTIONS

__all__ = ["ReferenceRow", "reference_markdown", "reference_rows"]

#: Which dataclass fills each section of the YAML (``*``: a mapping keyed by name).
_SECTIONS: dict[str, type] = {
    "": schema.Scenario,
    "episode": schema.EpisodeSpec,
    "constellation": schema.ConstellationSpec,
    "constellation.shells[]": Shell,
    "classes.*": schema.SatelliteClass,
    "models.*": schema.ModelSpec,
    "ground": schema.GroundSpec,
    "workload": schema.WorkloadSpec,
    "workload.arrivals": schema.ArrivalSpec,
    "workload.tokens": schema.TokenSpec,
    "dispatch": schema.DispatchSpec,
    "reward": schema.RewardSpec,
    "isl": schema.IslSpec,
    "faults": faults.FaultsSpec,
    "faults.station_outages[]": faults.StationOutage,
    "faults.random_station_outages": faults.RandomStationOutages,
    "faults.satellite_failures[]": faults.SatelliteFailure,
    "faults.random_satellite_failures": faults.RandomSatelliteFailures,
    "faults.link_degradation[]": faults.LinkDegradation,
}
#: Keys that are not dataclass fields of their section, with their meaning.
_EXTRA = {
    "name": "Scenario name (shown in tables, plots and logs).",
    "description": "Free text describing the scenario.",
    "constellation.shells[].class": "Satellite class of the shell's satellites "
    "(a key of ``classes``); default ``inference``.",
    "workload.models.*": "Share of jobs using this model (relative weights, positive sum).",
}
#: Key suffix → unit, longest first.
_UNITS = (
    ("_tokens_per_s", "tokens/s"), ("_per_day", "1/day"), ("_per_s", "1/s"), ("_bps", "bit/s"),
    ("_hours", "h"), ("_deg", "deg"), ("_km", "km"), ("_gb", "GB"), ("_wh", "Wh"), ("_w", "W"),
    ("_s", "s"), ("_m", "m"), ("_bytes", "bytes"), ("_jobs", "jobs"), ("_tokens", "tokens"),
)  # fmt: skip
_REQUIRED_KEYS = {
    *REQUIRED_SECTIONS, "episode.epoch", "ground.station_files", "classes.*.models",
    "models.*.prefill_tokens_per_s", "models.*.decode_tokens_per_s", "models.*.memory_gb",
    "constellation.shells[].altitude_km", "constellation.shells[].planes",
    "constellation.shells[].sats_per_plane",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """One YAML key of the reference.

    Attributes:
        key: Dotted path (``*``: any name, ``[]``: every list entry).
        type: The Python type the value becomes.
        unit: Unit from the key's suffix, ``""`` for none.
        default: Default when the key is left out (``required`` if it must be given).
        meaning: What the key does.
    """

    key: str
    type: str
    unit: str
    default: str
    meaning: str


def _attributes(cls: type) -> dict[str, str]:
    """``Attributes:`` entries of a Google-style class docstring, joined onto one line."""
    doc = cls.__doc__ or ""
    match = re.search(r"^\s*Attributes:\n(.*?)(?:\n\s*\n|\Z)", doc, flags=re.S | re.M)
    out: dict[str, str] = {}
    if not match:
        return out
    name = None
    for line in match.group(1).splitlines():
        entry = re.match(r"\s{8}(\w+): (.*)", line)
        if entry:
            name, out[entry.group(1)] = entry.group(1), entry.group(2).strip()
        elif name and line.strip():
            out[name] += " " + line.strip()
    return out


def _unit(key: str) -> str:
    leaf = key.rsplit(".", 1)[-1]
    return next((unit for suffix, unit in _UNITS if leaf.endswith(suffix)), "")


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "see below"
    else:
        return "required"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if value == ():
        return "none"
    return repr(value) if isinstance(value, str) else f"{value:g}" if isinstance(value, float) \
        else str(value)  # fmt: skip


def _leaves(tree: object, prefix: str) -> list[str]:
    """Dotted paths of every leaf key of the loader's tree."""
    if isinstance(tree, list):
        return _leaves(tree[0], prefix + "[]")
    if isinstance(tree, dict) and tree:
        out = []
        for key, sub in tree.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(sub, dict | list) and (sub or isinstance(sub, list)):
                if key == "models" and prefix == "workload":
                    out.append(f"{path}.*")
                else:
                    out += _leaves(sub, path)
            else:
                out.append(path)
        return out
    return [prefix]


def reference_rows() -> list[ReferenceRow]:
    """Every key the loader accepts, in the loader's order, with what the schema says of it."""
    rows = []
    for key in _leaves(KEY_TREE, ""):
        section, _, leaf = key.rpartition(".")
        cls = _SECTIONS.get(section)
        fields = {f.name: f for f in dataclasses.fields(cls)} if cls else {}
        if key in _EXTRA:
            f = None
            meaning = _EXTRA[key]
        else:
            if cls is None or leaf not in fields:
                raise KeyError(f"{key}: no schema field documents this key")
            f = fields[leaf]
            meaning = _attributes(cls).get(leaf, "")
        kind = str(f.type) if f else ("str" if key in ("name", "description") else "float")
        kind = re.sub(r"tuple\[(.*?), \.\.\.\]", r"list[\1]", kind).replace("Path", "file path")
        if key == "constellation.shells[].class":
            kind = "str"
        default = "required" if key in _REQUIRED_KEYS else _default(f) if f else "''"
        if key == "constellation.shells[].class":
            default = "'inference'"
        rows.append(ReferenceRow(key, kind, _unit(key), default, meaning))
    return rows


def reference_markdown() -> str:
    """The scenario reference page (Markdown)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Scenario reference",
        "",
        "<!-- Generated by `python -m envs.scenario.reference > docs/scenarios.md`; do not edit."
        " tests/test_docs.py fails when this page and the schema disagree. -->",
        "",
        "A scenario is one YAML file (`configs/scenarios/*.yaml`, or any path given to "
        "`--scenario`). It is read and checked once by `envs.scenario.load_scenario`: unknown "
        "keys and bad values stop with one line naming the file, the dotted key and the value. "
        "Any key below can be overridden from the command line with `--set key=value` (list "
        "entries as `constellation.shells[0].planes`), or from Python as "
        '`gym.make("ConstellationDispatch-v1", scenario=..., **{"key": value})`.',
        "",
        "`*` stands for a name you choose (a satellite class, a model); `[]` for every entry "
        "of a list. Relative file paths are resolved against the scenario file's folder; a "
        "bare station file name (`china.yaml`) is looked up in `configs/ground_stations/` "
        "first. Units come from the key's suffix: `_s` seconds, `_deg` degrees, `_km` "
        "kilometres, `_bps` bit/s, `_gb` gigabytes.",
        "",
    ]
    section = None
    for row in reference_rows():
        top = row.key.split(".")[0].split("[")[0]
        top = "top level" if top in ("name", "description") else top
        if top != section:
            section = top
            lines += ["", f"## `{section}`" if section != "top level" else "## Top level", "",
                      "| key | type | unit | default | meaning |",
                      "|---|---|---|---|---|"]  # fmt: skip
        lines.append(
            f"| `{row.key}` | {cell(row.type)} | {row.unit or '—'} | {cell(row.default)} | "
            f"{cell(row.meaning)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(reference_markdown())
