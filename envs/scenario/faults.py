"""Faults of a scenario: station outages, satellite failures and degraded links.

The ``faults:`` section of a scenario YAML parses into a frozen :class:`FaultsSpec`; every
field is optional and a scenario without the section has no faults. Times are seconds since
the episode epoch. The simulator resolves the spec into one episode's faults
(``envs.sim.faults``): scheduled entries as given, random ones sampled per episode from a
stream of their own, so turning faults on leaves the arrivals of a seed unchanged.

.. code-block:: yaml

    faults:
      station_outages:                        # scheduled maintenance
        - {station: RSGS Kashi, start_s: 3600, end_s: 10800}
      random_station_outages: {rate_per_day: 0.5, mean_duration_s: 1800}  # per station
      satellite_failures:
        - {satellite: STAR-01-03, time_s: 7200}   # name or index
      random_satellite_failures: {rate_per_day: 0.01}                     # per satellite
      on_satellite_failure: redispatch        # or drop (default)
      link_degradation:
        - {network: china, start_s: 0, end_s: 21600, factor: 0.5, direction: downlink}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from envs.orbits.shells import shells_tles
from envs.scenario.checks import (
    NONNEG,
    POS,
    Conv,
    choice,
    fail,
    number,
    satisfies,
    section,
)
from envs.scenario.fault_specs import (
    FAULTS_TREE,
    FaultsSpec,
    LinkDegradation,
    RandomSatelliteFailures,
    RandomStationOutages,
    SatelliteFailure,
    StationOutage,
)
from envs.scenario.schema import Scenario

__all__ = [
    "FAULTS_TREE",
    "FaultsSpec",
    "LinkDegradation",
    "RandomSatelliteFailures",
    "RandomStationOutages",
    "SatelliteFailure",
    "StationOutage",
    "parse_faults",
]

#: The checkers of a fault window's start and end.
_WINDOW = {"start_s": NONNEG, "end_s": NONNEG}


def parse_faults(raw: Any, scenario: Scenario) -> FaultsSpec:
    """Check the raw ``faults`` mapping against a scenario and build the spec.

    Station and network names must be used by the scenario; satellites are indices into
    its satellite order (TLE file first, then shells) or names. Errors are
    ``ConfigError`` lines naming the dotted path and the value, like the rest of the loader.
    The records are ``envs.scenario.fault_specs`` (re-exported here).

    Args:
        raw: The YAML value of ``faults`` (``None`` or missing: no faults).
        scenario: The scenario, already checked, the faults belong to.

    Returns:
        The validated spec.

    Example:
        >>> from envs.scenario import load_scenario
        >>> sc = load_scenario("toy", {"faults.random_satellite_failures": {"rate_per_day": 1}})
        >>> sc.faults.random_satellite_failures, sc.faults.enabled
        (RandomSatelliteFailures(rate_per_day=1.0), True)
        >>> load_scenario("toy", {"faults.station_outages": [{"station": "Atlantis",
        ...     "start_s": 0, "end_s": 60}]})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        envs.errors.ConfigError: toy.yaml: faults.station_outages[0].station: unknown station ...
    """
    if raw is None:
        return FaultsSpec()
    return FaultsSpec(**section("faults", raw, _faults_table(scenario)))


def _faults_table(scenario: Scenario) -> dict[str, Conv]:
    """The checker of every key of ``faults``, knowing the scenario's stations and satellites."""
    stations, networks = _ground(scenario)
    station = _one_of("station", stations)
    degradation = {
        **_WINDOW,
        "factor": number("in (0, 1]", lambda x: 0 < x <= 1),
        "station": station,
        "network": _one_of("network", networks),
        "direction": choice("both", "uplink", "downlink"),
    }
    failure = {"satellite": _satellite_checker(scenario), "time_s": NONNEG}
    return {
        "station_outages": _entries(
            StationOutage, {"station": station, **_WINDOW}, ("station", "start_s", "end_s")
        ),
        "random_station_outages": _optional(
            RandomStationOutages, {"rate_per_day": NONNEG, "mean_duration_s": POS}
        ),
        "satellite_failures": _entries(SatelliteFailure, failure, ("satellite", "time_s")),
        "random_satellite_failures": _optional(RandomSatelliteFailures, {"rate_per_day": NONNEG}),
        "on_satellite_failure": choice("drop", "redispatch"),
        "link_degradation": _entries(LinkDegradation, degradation, ("start_s", "end_s", "factor")),
    }


def _one_of(what: str, names: list[str]) -> Conv:
    """A station or network name among ``names`` (the ones the scenario uses)."""
    return satisfies(
        f"unknown {what} ({what}s in use: {', '.join(names)})",
        lambda v: isinstance(v, str) and v in names,
    )


def _satellite_checker(scenario: Scenario) -> Conv:
    """A satellite index into the scenario's satellite order, or a satellite name."""
    n_sats, sat_names = _satellites(scenario)

    def satellite(field: str, value: Any) -> int | str:
        if isinstance(value, str) and value in sat_names():
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n_sats:
            return value
        what = f"must be a satellite index in [0, {n_sats - 1}] or a satellite name"
        fail(field, what, value)

    return satellite


def _entries(cls: type, table: dict, required: tuple[str, ...]) -> Conv:
    """A list of mappings, each checked against ``table`` and built into a ``cls``."""

    def conv(field: str, value: Any) -> tuple:
        if not isinstance(value, list):
            fail(field, "must be a list of mappings", value)
        out = []
        for i, entry in enumerate(value):
            where = f"{field}[{i}]"
            kwargs = section(where, entry, table, required)
            if "end_s" in kwargs and kwargs["end_s"] <= kwargs["start_s"]:
                what = f"must be > start_s ({kwargs['start_s']:g})"
                fail(f"{where}.end_s", what, entry["end_s"])
            if cls is LinkDegradation and ("station" in kwargs) == ("network" in kwargs):
                fail(where, "needs exactly one of station and network", entry)
            out.append(cls(**kwargs))
        return tuple(out)

    return conv


def _optional(cls: type, table: dict) -> Conv:
    """``None``, or a mapping with every key of ``table`` built into a ``cls``."""

    def conv(field: str, value: Any) -> Any:
        return None if value is None else cls(**section(field, value, table, tuple(table)))

    return conv


def _ground(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Names of the stations and networks the scenario uses."""
    g = scenario.ground
    stations = [s for s in g.file_stations() if g.networks is None or s.network in g.networks]
    return [s.name for s in stations], list(dict.fromkeys(s.network for s in stations))


def _satellites(scenario: Scenario) -> tuple[int, Callable[[], set[str]]]:
    """Number of satellites and a function returning their names (generated once, on demand)."""
    spec = scenario.constellation
    tles = spec.file_tles()
    n = len(tles) + sum(s.shell.size for s in spec.shells)
    found: list[set[str]] = []

    def names() -> set[str]:
        if not found:
            shells = shells_tles([s.shell for s in spec.shells], scenario.episode.epoch)
            found.append({t.name for t in (*tles, *shells)})
        return found[0]

    return n, names
