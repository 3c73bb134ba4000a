"""Faults of a scenario as frozen records: station outages, satellite failures, degraded links.

The data only: ``envs.scenario.faults`` parses a scenario's ``faults:`` YAML section into
these records (and re-exports them); ``envs.sim.faults`` resolves them into an episode. These
records sit at the bottom of the scenario package beside ``schema.py`` (which holds a
:class:`FaultsSpec`); ``envs.scenario.faults`` parses the YAML into them and re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "FAULTS_TREE",
    "FaultsSpec",
    "LinkDegradation",
    "RandomSatelliteFailures",
    "RandomStationOutages",
    "SatelliteFailure",
    "StationOutage",
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
