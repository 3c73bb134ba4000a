"""Limits on what one run may allocate, checked before anything is allocated.

A number can pass every range check and still describe a run that cannot finish: an arrival
rate that draws billions of jobs, an episode whose contact-plan grid has more points than
memory holds, a satellite with a hundred million servers. Each such number is compared with
the quantity the run would allocate (jobs, grid points, servers, outages), and a run over a
limit fails at once with one line naming the field, the values and the estimate, instead of
a traceback or a run that never ends.

Every limit has a default sized well above the shipped presets and an environment variable
that raises (or lowers) it, read when the check runs (no global state):

| Limit | Default | Environment variable | What it bounds |
|---|---|---|---|
| ``max_jobs`` | 2,000,000 | ``CONSTELLATION_DISPATCH_MAX_JOBS`` | expected jobs per episode |
| ``max_grid_steps`` | 200,000 | ``CONSTELLATION_DISPATCH_MAX_GRID_STEPS`` | time points of
  the contact-plan grid (about 100 bytes per station each) and of the sunlit grid |
| ``max_grid_cells`` | 1,000,000,000 | ``CONSTELLATION_DISPATCH_MAX_GRID_CELLS`` | time points
  × satellites × stations searched for passes (run time) |
| ``max_servers`` | 1,000,000 | ``CONSTELLATION_DISPATCH_MAX_SERVERS`` | on-board servers over
  the constellation |
| ``max_candidates`` | 4,096 | ``CONSTELLATION_DISPATCH_MAX_CANDIDATES`` | candidates per
  decision (observation size) |
| ``max_outages`` | 100,000 | ``CONSTELLATION_DISPATCH_MAX_OUTAGES`` | expected random station
  outages per episode |
| ``max_isl_paths`` | 50,000,000 | ``CONSTELLATION_DISPATCH_MAX_ISL_PATHS`` | relay-path
  entries of the inter-satellite links (satellites × neighbours × hops, 8 bytes each) |
| ``max_episodes`` | 20,000 | ``CONSTELLATION_DISPATCH_MAX_EPISODES`` | episodes per agent and
  load of an evaluation (its paired bootstrap holds 2,001 weights per episode) |

For comparison, ``star_compute_2800`` draws about 126,000 jobs per episode on a grid of 130
time points × 2,800 satellites × 58 stations (21 million cells).

>>> check_count("jobs", 7.2e9, "workload.arrivals.rate_per_s", "2e+06 jobs/s × 3600 s",
...             environ={})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
envs.errors.ConfigError: workload.arrivals.rate_per_s: ... above the limit of 2,000,000 ...
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from envs.errors import ConfigError

__all__ = ["LIMITS", "Limit", "check_count", "limit_of"]


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: what it counts, its default and the environment variable that sets it."""

    what: str
    default: int
    variable: str


#: The limits by name (see the module docstring).
LIMITS = {
    "jobs": Limit("jobs per episode", 2_000_000, "CONSTELLATION_DISPATCH_MAX_JOBS"),
    "grid_steps": Limit("grid time points", 200_000, "CONSTELLATION_DISPATCH_MAX_GRID_STEPS"),
    "grid_cells": Limit(
        "grid cells (time points × satellites × stations)",
        1_000_000_000,
        "CONSTELLATION_DISPATCH_MAX_GRID_CELLS",
    ),
    "servers": Limit("on-board servers", 1_000_000, "CONSTELLATION_DISPATCH_MAX_SERVERS"),
    "candidates": Limit("candidates per decision", 4096, "CONSTELLATION_DISPATCH_MAX_CANDIDATES"),
    "outages": Limit("random station outages per episode", 100_000,
                     "CONSTELLATION_DISPATCH_MAX_OUTAGES"),
    "isl_paths": Limit("relay-path entries (satellites × neighbours × hops)", 50_000_000,
                       "CONSTELLATION_DISPATCH_MAX_ISL_PATHS"),
    "episodes": Limit("episodes per agent and load", 20_000,
                      "CONSTELLATION_DISPATCH_MAX_EPISODES"),
}  # fmt: skip


def limit_of(name: str, environ: Mapping[str, str] | None = None) -> float:
    """The limit ``name`` (a key of :data:`LIMITS`): its environment variable, else the default.

    >>> limit_of("jobs", {"CONSTELLATION_DISPATCH_MAX_JOBS": "5e6"})
    5000000.0
    """
    spec = LIMITS[name]
    env = os.environ if environ is None else environ
    raw = env.get(spec.variable)
    if raw is None or not raw.strip():
        return float(spec.default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ConfigError(f"{spec.variable}: expected a positive number, got {raw!r}")
    return value


def check_count(
    name: str,
    estimate: float,
    field: str,
    detail: str,
    *,
    hint: str = "",
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise a one-line ``ConfigError`` when ``estimate`` exceeds the limit ``name``.

    Args:
        name: A key of :data:`LIMITS`.
        estimate: What the run would allocate (NaN or inf count as over the limit).
        field: The field (or command-line option) to change, first in the message.
        detail: The values the estimate comes from, e.g. ``"1e+06 jobs/s × 3600 s"``
            (empty when the field is the estimate itself).
        hint: Optional advice appended to the message.
        environ: Environment to read the limit from (default ``os.environ``).
    """
    spec = LIMITS[name]
    limit = limit_of(name, environ)
    if math.isfinite(estimate) and estimate <= limit:
        return
    extra = f"; {hint}" if hint else ""
    amount = f"{detail} is about {estimate:.3g}" if detail else f"{estimate:.4g}"
    shown = f"{limit:,.0f}" if limit == round(limit) and limit < 1e15 else f"{limit:.4g}"
    raise ConfigError(
        f"{field}: {amount} {spec.what}, above the limit of {shown} "
        f"(raise it with {spec.variable}){extra}"
    )
