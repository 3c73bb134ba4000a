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
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from envs.ground import load_networks
from envs.orbits.elements import load_elements
from envs.orbits.shells import shells_tles

if TYPE_CHECKING:
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


@dataclass(frozen=True, slots=True)
class StationOutage:
    """A scheduled outage: ``station`` neither uplinks nor downlinks in ``[start_s, end_s)``.

    Attributes:
        station: Name of a station the scenario uses.
        start_s: Start of the outage, seconds since the episode epoch.
        end_s: End of the outage (exclusive), seconds since the episode epoch.
    """

    station: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RandomStationOutages:
    """Outages (weather, equipment) drawn per episode, independently for every station.

    Attributes:
        rate_per_day: Mean outages per station per day (a Poisson process over the horizon).
        mean_duration_s: Mean outage length (exponentially distributed).
    """

    rate_per_day: float
    mean_duration_s: float


@dataclass(frozen=True, slots=True)
class SatelliteFailure:
    """A satellite (index in the scenario's satellite order, or name) failing at ``time_s``.

    Attributes:
        satellite: Index in the scenario's satellite order (TLE file first, then shells) or
            the satellite's name.
        time_s: Time of the failure, seconds since the episode epoch.
    """

    satellite: int | str
    time_s: float


@dataclass(frozen=True, slots=True)
class RandomSatelliteFailures:
    """Failures drawn per episode: each satellite fails at an exponential time of this rate.

    Attributes:
        rate_per_day: Failures per satellite per day (e.g. 0.001: one in a thousand a day).
    """

    rate_per_day: float


@dataclass(frozen=True, slots=True)
class LinkDegradation:
    """Link rates of a station (or of every station of a network) multiplied by ``factor``.

    Attributes:
        start_s: Start of the degradation.
        end_s: End of the degradation (exclusive).
        factor: Rate multiplier in (0, 1]; overlapping degradations multiply.
        station: The station (exactly one of ``station`` and ``network`` is set).
        network: Every station of this network.
        direction: ``both``, ``uplink`` or ``downlink``.
    """

    start_s: float
    end_s: float
    factor: float
    station: str | None = None
    network: str | None = None
    direction: str = "both"


@dataclass(frozen=True, slots=True)
class FaultsSpec:
    """Every fault of a scenario (the default has none).

    Attributes:
        station_outages: Scheduled station outages.
        random_station_outages: Random station outages (``None``: none).
        satellite_failures: Scheduled satellite failures.
        random_satellite_failures: Random satellite failures (``None``: none).
        on_satellite_failure: ``drop``: every job assigned to the failed satellite and not
            delivered is dropped (``satellite_failure``); ``redispatch``: jobs whose input is
            still on the ground (uplink not finished) return to the pending queue for a new
            decision, the others (input on board) are dropped.
        link_degradation: Degraded links.
    """

    station_outages: tuple[StationOutage, ...] = ()
    random_station_outages: RandomStationOutages | None = None
    satellite_failures: tuple[SatelliteFailure, ...] = ()
    random_satellite_failures: RandomSatelliteFailures | None = None
    on_satellite_failure: str = "drop"
    link_degradation: tuple[LinkDegradation, ...] = ()

    @property
    def enabled(self) -> bool:
        """Whether any fault is configured (a zero random rate counts as none)."""
        rso, rsf = self.random_station_outages, self.random_satellite_failures
        return bool(
            self.station_outages
            or self.satellite_failures
            or self.link_degradation
            or (rso is not None and rso.rate_per_day > 0)
            or (rsf is not None and rsf.rate_per_day > 0)
        )


def _keys(cls: type) -> dict[str, None]:
    return dict.fromkeys(f.name for f in fields(cls))


#: Keys scenario overrides may address under ``faults`` (same shape as the loader's tree).
FAULTS_TREE: dict[str, Any] = {
    "station_outages": [_keys(StationOutage)],
    "random_station_outages": _keys(RandomStationOutages),
    "satellite_failures": [_keys(SatelliteFailure)],
    "random_satellite_failures": _keys(RandomSatelliteFailures),
    "on_satellite_failure": None,
    "link_degradation": [_keys(LinkDegradation)],
}


def parse_faults(raw: Any, scenario: Scenario) -> FaultsSpec:
    """Check the raw ``faults`` mapping against a scenario and build the spec.

    Station and network names must be used by the scenario; satellites are indices into
    its satellite order (TLE file first, then shells) or names. Errors are
    ``ConfigError`` lines naming the dotted path and the value, like the rest of the loader.

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
    # The loader's checkers; imported here because the loader imports this module.
    from envs.scenario import loader as ld

    if raw is None:
        return FaultsSpec()
    stations, networks = _ground(scenario)
    n_sats, sat_names = _satellites(scenario)
    station = ld._is(
        f"unknown station (stations in use: {', '.join(stations)})",
        lambda v: isinstance(v, str) and v in stations,
    )
    network = ld._is(
        f"unknown network (networks in use: {', '.join(networks)})",
        lambda v: isinstance(v, str) and v in networks,
    )

    def satellite(field: str, value: Any) -> int | str:
        if isinstance(value, str) and value in sat_names():
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n_sats:
            return value
        what = f"must be a satellite index in [0, {n_sats - 1}] or a satellite name"
        ld._fail(field, what, value)

    def entries(cls: type, table: dict, required: tuple[str, ...]) -> Callable[[str, Any], Any]:
        def conv(field: str, value: Any) -> tuple:
            if not isinstance(value, list):
                ld._fail(field, "must be a list of mappings", value)
            out = []
            for i, entry in enumerate(value):
                where = f"{field}[{i}]"
                kwargs = ld._section(where, entry, table, required)
                if "end_s" in kwargs and kwargs["end_s"] <= kwargs["start_s"]:
                    what = f"must be > start_s ({kwargs['start_s']:g})"
                    ld._fail(f"{where}.end_s", what, entry["end_s"])
                if cls is LinkDegradation and ("station" in kwargs) == ("network" in kwargs):
                    ld._fail(where, "needs exactly one of station and network", entry)
                out.append(cls(**kwargs))
            return tuple(out)

        return conv

    def optional(cls: type, table: dict) -> Callable[[str, Any], Any]:
        def conv(field: str, value: Any) -> Any:
            return None if value is None else cls(**ld._section(field, value, table, tuple(table)))

        return conv

    window = {"start_s": ld._NONNEG, "end_s": ld._NONNEG}
    degradation = {
        **window,
        "factor": ld._num("in (0, 1]", lambda x: 0 < x <= 1),
        "station": station,
        "network": network,
        "direction": ld._choice("both", "uplink", "downlink"),
    }
    table = {
        "station_outages": entries(
            StationOutage, {"station": station, **window}, ("station", "start_s", "end_s")
        ),
        "random_station_outages": optional(
            RandomStationOutages, {"rate_per_day": ld._NONNEG, "mean_duration_s": ld._POS}
        ),
        "satellite_failures": entries(
            SatelliteFailure,
            {"satellite": satellite, "time_s": ld._NONNEG},
            ("satellite", "time_s"),
        ),
        "random_satellite_failures": optional(
            RandomSatelliteFailures, {"rate_per_day": ld._NONNEG}
        ),
        "on_satellite_failure": ld._choice("drop", "redispatch"),
        "link_degradation": entries(LinkDegradation, degradation, ("start_s", "end_s", "factor")),
    }
    return FaultsSpec(**ld._section("faults", raw, table))


def _ground(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Names of the stations and networks the scenario uses."""
    g = scenario.ground
    stations = [
        s for s in load_networks(g.station_files) if g.networks is None or s.network in g.networks
    ]
    return [s.name for s in stations], list(dict.fromkeys(s.network for s in stations))


def _satellites(scenario: Scenario) -> tuple[int, Callable[[], set[str]]]:
    """Number of satellites and a function returning their names (generated once, on demand)."""
    spec = scenario.constellation
    tles = load_elements(spec.tle_file) if spec.tle_file is not None else []
    n = len(tles) + sum(s.shell.size for s in spec.shells)
    found: list[set[str]] = []

    def names() -> set[str]:
        if not found:
            shells = shells_tles([s.shell for s in spec.shells], scenario.episode.epoch)
            found.append({t.name for t in (*tles, *shells)})
        return found[0]

    return n, names
