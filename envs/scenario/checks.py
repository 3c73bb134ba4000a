"""The scenario loader's checkers: ``(field path, raw YAML value) -> checked value``.

Every check of a scenario value (``envs.scenario.build``), of its faults
(``envs.scenario.faults``) and of a space file (``envs.scenario.space``) goes through these, so
every problem is one :class:`~envs.errors.ConfigError` line of the same form:
``{field}: {problem}, got {value}``. This module sits at the bottom of the scenario package:
it imports nothing from it.

>>> POS("episode.duration_s", 60)
60.0
>>> section("dispatch", {"candidates": 0}, {"candidates": COUNT})
Traceback (most recent call last):
...
envs.errors.ConfigError: dispatch.candidates: must be >= 1, got 0
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from numbers import Integral, Real
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from envs.errors import ConfigError, show_value
from envs.timeutil import check_sgp4_range, parse_utc

__all__ = [
    "BOOL",
    "COUNT",
    "FILE",
    "NAMES",
    "NONNEG",
    "POS",
    "REMOVED_KEYS",
    "TEXT",
    "Conv",
    "check_keys",
    "choice",
    "epoch",
    "fail",
    "is_file_path",
    "list_of",
    "mapping",
    "named",
    "number",
    "resolve_file",
    "satisfies",
    "section",
    "utc",
    "weights",
]

Conv = Callable[[str, Any], Any]  # (dotted field path, raw YAML value) -> checked value
_FLOAT_TEXT = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
#: Keys that once existed: a one-line pointer to what replaced them.
REMOVED_KEYS = MappingProxyType(
    {
        "reward.scale": "removed: rewards are in hours by default; choose the unit with the "
        "env's reward= argument (envs.reward, e.g. reward='time_in_system_s' for seconds)",
    }
)


def fail(field: str, what: str, value: object, hint: str = "") -> NoReturn:
    """Raise ``ConfigError("{field}: {what}, got {value}{hint}")``, the loader's one error form."""
    raise ConfigError(f"{field}: {what}, got {show_value(value)}{hint}")


# --- value checkers: (field, raw value) -> checked value -----------------------------------


def satisfies(what: str, ok: Callable[[Any], bool], *, null: bool = False) -> Conv:
    """Accept values for which ``ok`` holds (and ``None`` if ``null``)."""

    def conv(field: str, value: Any) -> Any:
        if not (value is None and null) and not ok(value):
            fail(field, what + (" or null" if null else ""), value)
        return value

    return conv


def number(
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
            fail(field, f"must be {kind}" + (" or null" if null else ""), value, hint)
        if not math.isfinite(value):
            fail(field, "must be a finite number", value)
        if not ok(value):
            fail(field, f"must be {rule}", value)
        return int(value) if integer else float(value)

    return conv


def choice(*options: str) -> Conv:
    """One of the strings ``options``."""
    return satisfies(
        f"must be one of {', '.join(options)}", lambda v: isinstance(v, str) and v in options
    )


def list_of(item: Conv, *, null: bool = False) -> Conv:
    """A non-empty list whose entries pass ``item``; returned as a tuple."""

    def conv(field: str, value: Any) -> tuple | None:
        if value is None and null:
            return None
        if not isinstance(value, list) or not value:
            fail(field, "must be a non-empty list" + (" or null" if null else ""), value)
        return tuple(item(f"{field}[{i}]", v) for i, v in enumerate(value))

    return conv


def epoch(field: str, value: Any) -> datetime:
    """An ISO 8601 UTC time within the years SGP4 serves (``check_sgp4_range``)."""
    return check_sgp4_range(utc(field, value), field=field)


def utc(field: str, value: Any) -> datetime:
    """A UTC time: a YAML timestamp (naive means UTC), a date, or ISO 8601 text."""
    if isinstance(value, datetime):  # YAML reads unquoted ISO times itself; naive means UTC
        tz = value.tzinfo
        try:
            return (
                value.replace(tzinfo=timezone.utc) if tz is None else value.astimezone(timezone.utc)
            )
        except OverflowError:
            fail(field, "is outside the years 1-9999 in UTC", value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        fail(field, "must be an ISO 8601 UTC time like 2025-06-01T00:00:00Z", value)
    return parse_utc(value, field)


def weights(field: str, value: Any) -> tuple[float, ...] | None:
    """Non-negative weights with a positive sum (or ``None``), as a tuple."""
    values = list_of(NONNEG, null=True)(field, value)
    if values is not None and sum(values) <= 0:
        fail(field, "must have a positive sum", value)
    return values


def is_file_path(text: str) -> bool:
    """Whether a name is written as a file path (a folder separator or a YAML suffix).

    Scenario, space and suite names share the rule: ``walker_100`` and ``dense`` are
    shipped files found by name, ``my.yaml`` and ``configs/x`` are paths.

    >>> is_file_path("dense"), is_file_path("dense.yaml"), is_file_path("../spaces/d")
    (False, True, True)
    """
    return re.search(r"[/\\]|\.ya?ml$", text) is not None


def resolve_file(field: str, value: Any, base: Path, search: Path | None = None) -> Path:
    """An existing file: absolute, or relative to ``base`` (bare names: ``search`` first)."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        fail(field, "must be a file path", value)
    raw = Path(value).expanduser()
    tries = [raw] if raw.is_absolute() else [base / raw]
    if search is not None and not raw.is_absolute() and len(raw.parts) == 1:
        tries.insert(0, search / raw)
    for path in tries:
        if path.is_file():
            return path.resolve()
    fail(field, f"file not found (looked for {', '.join(map(str, tries))})", value)


POS = number("> 0", lambda x: x > 0)
NONNEG = number(">= 0", lambda x: x >= 0)
COUNT = number(">= 1", lambda x: x >= 1, integer=True)
BOOL = satisfies("must be true or false", lambda v: isinstance(v, bool))
TEXT = satisfies("must be a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
FILE = satisfies("must be a file path", lambda v: isinstance(v, Path), null=True)  # resolved before
NAMES = list_of(TEXT, null=True)


def mapping(field: str, value: Any) -> Mapping:
    """``value`` itself if it is a mapping."""
    if not isinstance(value, Mapping):
        fail(field, "must be a mapping", value)
    return value


def check_keys(field: str, raw: Mapping, allowed: Any) -> None:
    """Refuse a key of ``raw`` not in ``allowed`` (a removed key names its replacement)."""
    for key in raw:
        if key not in allowed:
            where = f"{field}.{key}" if field else str(key)
            if where in REMOVED_KEYS:
                raise ConfigError(f"{where}: {REMOVED_KEYS[where]}")
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def section(field: str, raw: Any, table: Mapping[str, Conv], required: tuple = ()) -> dict:
    """Check a mapping against ``table`` and return the checked values of the keys present."""
    check_keys(field, mapping(field, raw), table)
    for key in required:
        if key not in raw:
            raise ConfigError(f"{field}.{key}: required key missing")
    return {key: table[key](f"{field}.{key}", value) for key, value in raw.items()}


def named(field: str, raw: Any) -> list[tuple[str, Any]]:
    """Entries of a non-empty mapping name → value, in file order."""
    if not isinstance(raw, Mapping) or not raw:
        fail(field, "must be a non-empty mapping keyed by name", raw)
    for name in raw:
        TEXT(f"{field} name", name)
    return list(raw.items())
