"""Downlink capacity and contact statistics of a ground network, from a contact plan.

The link model is the simulator's (``envs.sim.world``): a pass carries its station's rate for
its whole length (or a range-scaled rate, ``rate_model="range"``), and a satellite has one
downlink radio, so where it sees several stations at once it uses the best link and rates
never add (``envs.sim.links.merge_max_rate``). That model lets a station serve any number of
satellites at once; ``antennas_per_station`` adds the constraint real stations have, that
each antenna tracks one satellite at a time. With the constraint, the capacity of every
instant is the best assignment of satellites to antennas (a maximum-weight bipartite
matching between the satellites and the antennas that see them), with instant hand-overs:
an upper bound on what a real schedule, which loses time slewing, can deliver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from envs.constants import DAY_S
from envs.contact_plan import ContactPlan, PassArrays
from envs.errors import ConfigError
from envs.sim.links import RATE_MODELS, merge_max_rate, pass_rates_bytes_per_s

__all__ = [
    "RATE_MODELS",
    "SUMMARY_COLUMNS",
    "NetworkCapacity",
    "network_capacity",
    "pass_rates_bytes_per_s",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Keys of ``NetworkCapacity.summary()``, in order.
SUMMARY_COLUMNS = (
    "networks",
    "antennas_per_station",
    "satellites",
    "stations",
    "passes_per_day",
    "pass_min_per_day",
    "contact_min_per_day",
    "contact_min_per_sat_day",
    "mean_gap_min",
    "max_gap_min",
    "capacity_gb_per_day",
    "capacity_gb_per_sat_day",
)


@dataclass(frozen=True, slots=True, eq=False)
class NetworkCapacity:
    """Per-satellite contact statistics and downlink capacity of one ground network.

    Contact time is the union of a satellite's passes over the network's stations; a *gap*
    is the time between two consecutive contacts (time before the first and after the last
    contact of the horizon is not a gap).

    Attributes:
        networks: Networks whose stations were used.
        antennas_per_station: Satellites a station serves at once (``None``: any number).
        horizon_s: Length of the horizon.
        n_stations: Stations in the networks.
        passes: Passes per satellite.
        pass_s: Summed pass durations per satellite (simultaneous passes each counted).
        contact_s: Time in contact with at least one station, per satellite.
        gap_count: Gaps between contacts, per satellite.
        gap_total_s: Summed gap lengths, per satellite.
        max_gap_s: Longest gap per satellite (NaN without a gap).
        capacity_bytes: Bytes each satellite can downlink over the horizon.
    """

    networks: tuple[str, ...]
    antennas_per_station: int | None
    horizon_s: float
    n_stations: int
    passes: IntArray
    pass_s: FloatArray
    contact_s: FloatArray
    gap_count: IntArray
    gap_total_s: FloatArray
    max_gap_s: FloatArray
    capacity_bytes: FloatArray

    def summary(self) -> dict[str, str | int | float]:
        """Totals per day over the constellation (keys: ``SUMMARY_COLUMNS``).

        Rates per day scale the horizon's totals by ``86400 / horizon_s``; GB are 1e9
        bytes; ``mean_gap_min`` pools every gap of every satellite and ``max_gap_min`` is
        the longest of them (both NaN when there is no gap).
        """
        per_day = DAY_S / self.horizon_s
        n_sats = len(self.passes)
        gaps = int(self.gap_count.sum())
        capacity_gb = float(self.capacity_bytes.sum()) / 1e9 * per_day
        values = (
            "+".join(self.networks),
            "unlimited" if self.antennas_per_station is None else self.antennas_per_station,
            n_sats,
            self.n_stations,
            float(self.passes.sum()) * per_day,
            float(self.pass_s.sum()) / 60.0 * per_day,
            float(self.contact_s.sum()) / 60.0 * per_day,
            float(self.contact_s.sum()) / 60.0 * per_day / n_sats if n_sats else math.nan,
            float(self.gap_total_s.sum()) / gaps / 60.0 if gaps else math.nan,
            float(np.nanmax(self.max_gap_s)) / 60.0 if gaps else math.nan,
            capacity_gb,
            capacity_gb / n_sats if n_sats else math.nan,
        )
        return dict(zip(SUMMARY_COLUMNS, values, strict=True))


def network_capacity(
    plan: ContactPlan,
    rates_bytes_per_s: ArrayLike,
    networks: Sequence[str] | None = None,
    *,
    antennas_per_station: int | None = None,
) -> NetworkCapacity:
    """Contact statistics and downlink capacity of the stations of some networks of a plan.

    Args:
        plan: The contact plan (its stations may span several networks).
        rates_bytes_per_s: Rate of every pass (see :func:`pass_rates_bytes_per_s`).
        networks: Network names whose stations are used; ``None``: every station.
        antennas_per_station: Satellites a station can serve at the same time; ``None``
            (the default, the simulator's model): any number.

    Returns:
        Per-satellite statistics over the plan's horizon.

    Raises:
        ConfigError: An unknown network, a rate array of the wrong length or a
            non-positive antenna count.

    A satellite sees a KSAT station over [0, 600) s and an AWS one over [300, 900) s, both
    at 100 Mbit/s (12.5 MB/s): 900 s of contact, not 1,200 s.

    >>> from datetime import datetime, timezone
    >>> from envs.contact_plan import ContactPlan, PassArrays
    >>> two = np.ones(2)
    >>> passes = PassArrays(np.array([0, 0]), np.array([0, 1]), np.array([0.0, 300.0]),
    ...                     np.array([600.0, 900.0]), np.array([300.0, 600.0]), 45 * two,
    ...                     800 * two, two < 0, two < 0)
    >>> plan = ContactPlan(datetime(2025, 6, 1, tzinfo=timezone.utc), 3600.0, ("SAT",),
    ...                    ("KSAT A", "AWS B"), np.array([0, 1]), ("ksat", "aws"), passes)
    >>> rates = pass_rates_bytes_per_s(plan, [1e8, 1e8])
    >>> cap = network_capacity(plan, rates)
    >>> float(cap.contact_s[0]), float(cap.capacity_bytes[0]) / 1e9
    (900.0, 11.25)
    >>> float(network_capacity(plan, rates, ["aws"]).capacity_bytes[0]) / 1e9
    7.5
    """
    rates = np.asarray(rates_bytes_per_s, dtype=float)
    p = plan.passes
    _check_inputs(rates, len(p.sat), antennas_per_station)
    names = plan.network_names if networks is None else tuple(dict.fromkeys(networks))
    use_net = np.zeros(len(plan.network_names), bool)
    use_net[[plan.network_index(n) for n in names]] = True
    use_station = use_net[plan.station_network]
    chosen = np.nonzero(use_station[p.station])[0] if len(p.sat) else np.zeros(0, np.int64)
    n_sats = len(plan.satellite_names)
    by_sat = chosen[np.argsort(p.sat[chosen], kind="stable")]
    bounds = np.searchsorted(p.sat[by_sat], np.arange(n_sats + 1))
    passes = np.diff(bounds)
    pass_s = np.bincount(p.sat[chosen], p.set_s[chosen] - p.rise_s[chosen], minlength=n_sats)
    contacts = _Contacts.zeros(n_sats)
    for sat in np.nonzero(passes)[0]:
        contacts.add(sat, p, by_sat[bounds[sat] : bounds[sat + 1]], rates)
    capacity = contacts.capacity
    if antennas_per_station is not None and len(chosen):
        capacity -= _antenna_losses(plan, chosen, rates, int(antennas_per_station))
        capacity = np.maximum(capacity, 0.0)
    return NetworkCapacity(
        networks=names,
        antennas_per_station=None if antennas_per_station is None else int(antennas_per_station),
        horizon_s=plan.horizon_s,
        n_stations=int(use_station.sum()),
        passes=passes.astype(np.int64),
        pass_s=pass_s,
        contact_s=contacts.contact_s,
        gap_count=contacts.gap_count,
        gap_total_s=contacts.gap_total_s,
        max_gap_s=contacts.max_gap_s,
        capacity_bytes=capacity,
    )


def _check_inputs(rates: FloatArray, n_passes: int, antennas_per_station: int | None) -> None:
    """``ConfigError`` for a rate array of the wrong length or a bad antenna count."""
    if rates.shape != (n_passes,):
        raise ConfigError(f"rates: need one rate per pass ({n_passes}), got {rates.shape}")
    if antennas_per_station is not None and (
        isinstance(antennas_per_station, bool)
        or not isinstance(antennas_per_station, (int, np.integer))
        or antennas_per_station < 1
    ):
        raise ConfigError(
            f"antennas_per_station: must be an integer >= 1 or None, got {antennas_per_station!r}"
        )


@dataclass(frozen=True, slots=True)
class _Contacts:
    """Per-satellite contact time, capacity (best link at each instant) and gaps, filled in."""

    contact_s: FloatArray
    capacity: FloatArray
    gap_count: IntArray
    gap_total_s: FloatArray
    max_gap_s: FloatArray

    @classmethod
    def zeros(cls, n_sats: int) -> _Contacts:
        return cls(np.zeros(n_sats), np.zeros(n_sats), np.zeros(n_sats, np.int64),
                   np.zeros(n_sats), np.full(n_sats, np.nan))  # fmt: skip

    def add(self, sat: int, p: PassArrays, idx: IntArray, rates: FloatArray) -> None:
        """Satellite ``sat``'s passes ``idx``: merged into contacts at the best rate."""
        starts, ends, best = (np.array(x) for x in merge_max_rate(
            p.rise_s[idx], p.set_s[idx], rates[idx]
        ))  # fmt: skip
        self.contact_s[sat] = (ends - starts).sum()
        self.capacity[sat] = ((ends - starts) * best).sum()
        gaps = starts[1:] - ends[:-1]
        gaps = gaps[gaps > 0.0]  # pieces at different rates touch
        self.gap_count[sat] = len(gaps)
        self.gap_total_s[sat] = gaps.sum()
        if len(gaps):
            self.max_gap_s[sat] = gaps.max()


def _antenna_losses(
    plan: ContactPlan, chosen: IntArray, rates: FloatArray, antennas: int
) -> FloatArray:
    """Bytes each satellite loses when a station serves at most ``antennas`` satellites at once.

    The horizon is cut at every rise and set of the chosen passes; within each piece the set
    of visible (satellite, station) pairs is fixed. Each piece's visibility graph splits into
    connected components (satellites and stations linked by a pass); a component where no
    station sees more than ``antennas`` satellites loses nothing. In the others the loss is
    the best link of every satellite (what ``merge_max_rate`` counted) minus a
    maximum-weight assignment of satellites to antennas. Consecutive pieces differ by one
    pass, so most components repeat and each distinct one is solved once.
    """
    p = plan.passes
    rise, set_ = p.rise_s[chosen], p.set_s[chosen]
    sat, station, rate = p.sat[chosen], p.station[chosen], rates[chosen]
    edges = np.unique(np.concatenate([rise, set_]))
    first = np.searchsorted(edges, rise)
    covered = np.searchsorted(edges, set_) - first
    member = np.repeat(np.arange(len(chosen)), covered)  # (piece, pass) incidences
    offset = np.cumsum(covered) - covered
    piece = first[member] + np.arange(len(member)) - offset[member]
    if len(member) == 0:  # only zero-length passes
        return np.zeros(len(plan.satellite_names))
    # Nodes are (piece, satellite) and (piece, station); label connected components.
    sat_node = np.unique(piece * len(plan.satellite_names) + sat[member], return_inverse=True)[1]
    station_key = piece * len(plan.station_names) + station[member]
    station_node = np.unique(station_key, return_inverse=True)[1] + sat_node.max() + 1
    label = _component_labels(sat_node, station_node)
    crowded = np.zeros(station_node.max() + 1, bool)  # by node; labels are node ids
    crowded[label[np.bincount(station_node)[station_node] > antennas]] = True
    keep = crowded[label]
    if not keep.any():
        return np.zeros(len(plan.satellite_names))
    order = np.lexsort((member[keep], label[keep]))
    member, label, piece = member[keep][order], label[keep][order], piece[keep][order]
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    bounds = np.r_[starts, len(member)].tolist()
    duration = np.diff(edges)[piece[starts]].tolist()
    members, sat_of, station_of, rate_of = member.tolist(), sat.tolist(), station.tolist(), rate
    solved: dict[tuple[int, ...], tuple[list[int], list[float]]] = {}
    lost_sat: list[int] = []
    lost_bytes: list[float] = []
    for a, b, seconds in zip(bounds[:-1], bounds[1:], duration, strict=True):
        group = tuple(members[a:b])
        if group not in solved:
            links = [(sat_of[m], station_of[m], float(rate_of[m])) for m in group]
            solved[group] = _shortfall(links, antennas)
        sats, shortfall = solved[group]
        lost_sat += sats
        lost_bytes += [x * seconds for x in shortfall]
    lost = np.asarray(lost_sat, dtype=np.int64)
    return np.bincount(lost, np.asarray(lost_bytes), minlength=len(plan.satellite_names))


def _component_labels(a: IntArray, b: IntArray) -> IntArray:
    """Connected-component label (smallest node id) of every edge ``(a[i], b[i])``."""
    n = int(max(a.max(), b.max())) + 1 if len(a) else 0
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]  # pointer jumping
        if np.array_equal(new, label):
            return label[a]
        label = new


def _shortfall(links: list[tuple[int, int, float]], antennas: int) -> tuple[list[int], list[float]]:
    """Satellites of a component and what each loses (bytes/s) to the antenna limit.

    Args:
        links: ``(satellite, station, rate)`` of every visible pair of the component.
        antennas: Satellites each station serves at once.
    """
    sats = sorted({s for s, _, _ in links})
    stations = sorted({g for _, g, _ in links})
    row = {s: i for i, s in enumerate(sats)}
    col = {g: i * antennas for i, g in enumerate(stations)}
    weight = [[0.0] * (len(stations) * antennas) for _ in sats]
    for s, g, r in links:
        for k in range(antennas):
            weight[row[s]][col[g] + k] = r
    got = [0.0] * len(sats)
    for i, j in _max_weight_matching(weight):
        got[i] = weight[i][j]
    return sats, [max(w) - x for w, x in zip(weight, got, strict=True)]


def _max_weight_matching(weight: list[list[float]]) -> list[tuple[int, int]]:
    """``(row, column)`` pairs of a maximum-weight matching of a non-negative weight matrix.

    Pairs of zero weight are left out. Shortest augmenting paths with potentials (the
    Hungarian method, O(n² m)) on plain lists: the matrices here are small, where Python
    scalars beat numpy calls.
    """
    n, m = len(weight), len(weight[0]) if weight else 0
    if n > m:
        return sorted(
            (i, j) for j, i in _max_weight_matching([list(c) for c in zip(*weight, strict=True)])
        )
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: row (1-based) assigned to column j, 0: none
    way = [0] * (m + 1)
    columns = range(1, m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [math.inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = owner[j0]
            row, u0 = weight[i0 - 1], u[i0]
            delta, j1 = math.inf, 0
            for j in columns:
                if not used[j]:
                    reduced = -row[j - 1] - u0 - v[j]  # cost = -weight
                    if reduced < minv[j]:
                        minv[j] = reduced
                        way[j] = j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    return sorted(
        (owner[j] - 1, j - 1) for j in columns if owner[j] and weight[owner[j] - 1][j - 1] > 0
    )
