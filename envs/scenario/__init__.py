"""Scenarios: the typed, validated configuration and its YAML loader.

``load_scenario("star_compute_12")`` reads a preset from ``configs/scenarios`` (see
:data:`PRESET_DIR`) or any YAML path and returns a frozen :class:`Scenario`;
``load_scenario("generated:17")`` is the scenario :func:`sample_scenario` draws from seed 17
out of the space file ``configs/distributions/default.yaml`` (see :func:`load_space`).

>>> from envs.scenario import load_scenario
>>> load_scenario("star_compute_12").dispatch.candidates
8
"""

from envs.scenario.faults import (
    FaultsSpec,
    LinkDegradation,
    RandomSatelliteFailures,
    RandomStationOutages,
    SatelliteFailure,
    StationOutage,
)
from envs.scenario.loader import PRESET_DIR, list_presets, load_scenario
from envs.scenario.sampling import ScenarioSpace, load_space, sample_scenario
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

__all__ = [
    "PRESET_DIR",
    "ArrivalSpec",
    "ConstellationSpec",
    "DispatchSpec",
    "EpisodeSpec",
    "FaultsSpec",
    "GroundSpec",
    "IslSpec",
    "LinkDegradation",
    "ModelSpec",
    "RandomSatelliteFailures",
    "RandomStationOutages",
    "RewardSpec",
    "SatelliteClass",
    "SatelliteFailure",
    "Scenario",
    "ScenarioSpace",
    "ShellSpec",
    "StationOutage",
    "TokenSpec",
    "WorkloadSpec",
    "list_presets",
    "load_scenario",
    "load_space",
    "sample_scenario",
]
