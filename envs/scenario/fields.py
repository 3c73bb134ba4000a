"""The scenario YAML's sections as tables ``key -> checker`` (the keys are schema field names).

``envs.scenario.build`` checks a scenario file with these tables, ``envs.scenario.space`` a
space file's bounds and ``envs.scenario.reference`` writes the key reference from
:data:`KEY_TREE`. Data only: the checkers are ``envs.scenario.checks``.

>>> sorted(KEY_TREE["dispatch"])
['allow_defer', 'candidates', 'defer_s']
"""

from __future__ import annotations

import dataclasses
from typing import Any

from envs.orbits.shells import Shell
from envs.scenario.checks import (
    BOOL,
    COUNT,
    FILE,
    NAMES,
    NONNEG,
    POS,
    TEXT,
    choice,
    epoch,
    list_of,
    named,
    number,
    section,
    weights,
)
from envs.scenario.fault_specs import FAULTS_TREE
from envs.scenario.schema import ArrivalSpec, TokenSpec

__all__ = [
    "ARRIVAL_FIELDS",
    "CLASS_FIELDS",
    "DISPATCH_FIELDS",
    "EPISODE_FIELDS",
    "GROUND_FIELDS",
    "ISL_FIELDS",
    "KEY_TREE",
    "MODEL_FIELDS",
    "REQUIRED_SECTIONS",
    "REWARD_FIELDS",
    "SHELL_KEYS",
    "TOKEN_FIELDS",
    "WORKLOAD_FIELDS",
]

EPISODE_FIELDS = {
    "epoch": epoch,
    "duration_s": POS,
    "drain_s": NONNEG,
    "contact_step_s": number("in (0, 300]", lambda x: 0 < x <= 300),
    "max_decisions": number(">= 1", lambda x: x >= 1, integer=True, null=True),
}
SHELL_KEYS = (*(f.name for f in dataclasses.fields(Shell)), "class")
CLASS_FIELDS = {
    "models": list_of(TEXT),
    "servers": COUNT,
    "throughput_scale": POS,
    "memory_gb": POS,
    "model_swap_s": NONNEG,
    "buffer_jobs": COUNT,
    "power": choice("always", "sunlit_only", "battery"),
    "battery_wh": NONNEG,
    "compute_w": POS,
}
MODEL_FIELDS = {"prefill_tokens_per_s": POS, "decode_tokens_per_s": POS, "memory_gb": POS}
GROUND_FIELDS = {
    "station_files": list_of(FILE),
    "networks": NAMES,
    "uplink_networks": NAMES,
    "downlink_networks": NAMES,
    "min_elevation_deg": number("in [0, 90)", lambda x: 0 <= x < 90, null=True),
    "backhaul_delay_s": number(">= 0", lambda x: x >= 0, null=True),
    "rate_model": choice("fixed", "range"),
    "reference_range_km": POS,
    "uplink_rate_scale": POS,
    "downlink_rate_scale": POS,
}
ARRIVAL_FIELDS = {
    "process": choice("poisson", "diurnal", "trace"),
    "rate_per_s": POS,
    "amplitude": number("in [0, 1]", lambda x: 0 <= x <= 1),
    "peak_hour": number("in [0, 24)", lambda x: 0 <= x < 24),
    "trace_file": FILE,
    "time_scale": POS,
    "loop": BOOL,
    "trace_start": choice("first", "random"),
}
TOKEN_FIELDS = {
    "source": choice("lognormal", "trace"),
    "input_median": POS,
    "input_sigma": NONNEG,
    "output_median": POS,
    "output_sigma": NONNEG,
    "max_tokens": COUNT,
    "trace_file": FILE,
}
WORKLOAD_FIELDS = {
    "arrivals": lambda f, v: ArrivalSpec(**section(f, v, ARRIVAL_FIELDS)),
    "tokens": lambda f, v: TokenSpec(**section(f, v, TOKEN_FIELDS)),
    "models": lambda f, v: tuple((n, NONNEG(f"{f}.{n}", w)) for n, w in named(f, v)),
    "origins": NAMES,
    "origin_weights": weights,
    "bytes_per_token": POS,
    "overhead_bytes": NONNEG,
    "deadline_s": number("> 0", lambda x: x > 0, null=True),
    "load": POS,
    "onboard_fraction": number("in [0, 1]", lambda x: 0 <= x <= 1),
}
DISPATCH_FIELDS = {"candidates": COUNT, "allow_defer": BOOL, "defer_s": POS}
REWARD_FIELDS = {"drop_penalty_s": NONNEG}
ISL_FIELDS = {"enabled": BOOL, "in_plane": BOOL, "cross_plane": BOOL, "rate_bps": POS,
        "latency_s": NONNEG, "max_hops": COUNT}  # fmt: skip
#: Top-level keys every scenario file has.
REQUIRED_SECTIONS = ("name", "episode", "constellation", "classes", "models", "ground", "workload")
#: What overrides may address: dict = mapping ("*": any name), [x] = list of x, else a leaf.
KEY_TREE: dict[str, Any] = {
    **dict.fromkeys(("name", "description")),
    "episode": EPISODE_FIELDS,
    "constellation": {"tle_file": 0, "tle_class": 0, "shells": [dict.fromkeys(SHELL_KEYS)]},
    "classes": {"*": CLASS_FIELDS},
    "models": {"*": MODEL_FIELDS},
    "ground": GROUND_FIELDS,
    "workload": {
        **WORKLOAD_FIELDS,
        "arrivals": ARRIVAL_FIELDS,
        "tokens": TOKEN_FIELDS,
        "models": {"*": 0},
    },
    "dispatch": DISPATCH_FIELDS,
    "reward": REWARD_FIELDS,
    "faults": FAULTS_TREE,
    "isl": ISL_FIELDS,
}
